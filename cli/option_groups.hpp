// Options several commands share, each defined once: the dirty source
// (--source), the overrides of a synthetic workload (--pages, --dirty ...)
// and the output (--json, --report). Lists are comma-separated everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "workload.hpp"

namespace fgbi::cli {

// --source SPEC: any dirty source instead of the synthetic workloads; `instead`
// says of what, for the help text ("the synthetic workloads").
void add_source_option(CLI::App* cmd, std::string& source, const std::string& instead);

// Which overrides a command offers: the sizes and the seed, or also how pages are edited.
enum class Overrides { kSizes, kSizesAndEdits };
// --pages (at least min_pages), --seed and, with kSizesAndEdits, --dirty,
// --working-set, --edits, --edit-bytes, --zero-share, --unchanged-share.
void add_workload_overrides(CLI::App* cmd, eval::WorkloadOverrides& o, Overrides which,
                            uint64_t min_pages = 1);

// --json, and --report FILE when `report` is given (`report_help` says what it holds).
void add_output_options(CLI::App* cmd, bool& json, std::string* report = nullptr,
                        const std::string& report_help = "");

}  // namespace fgbi::cli
