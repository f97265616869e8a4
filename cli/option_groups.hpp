// Options several commands share, each defined once: lists of names
// (--workload, --schemes), the dirty source (--source), the overrides of a
// synthetic workload (--pages, --dirty ...), --epochs and the output
// (--json, --report). Lists are comma-separated everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "option_checks.hpp"
#include "workload.hpp"

namespace fgbi::cli {

// Accepts "all", "none" (when allowed) or a comma list of `names`.
CLI::Validator name_list(std::vector<std::string> names, bool allow_none);

// --OPTION LIST: which of `names` to run, "all" or a comma list (the option
// may be given more than once); `help` starts the help text, the names follow.
CLI::Option* add_name_list(CLI::App* cmd, const std::string& option, std::vector<std::string>& into,
                           const std::vector<std::string>& names, const std::string& help);
// The names a list asks for, in the order asked, "all" as every name in its
// order; each once.
std::vector<std::string> expand_names(const std::vector<std::string>& asked,
                                      const std::vector<std::string>& names);

// --epochs N: epochs after the initial synchronisation, N in [min, max];
// `more` adds to the help text.
template <typename T>
CLI::Option* add_epochs_option(CLI::App* cmd, T& epochs, uint64_t min, uint64_t max,
                               const std::string& more = "") {
  return cmd->add_option("--epochs", epochs, "Epochs after the initial synchronisation" + more)
      ->check(whole_number(min, max));
}

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
