#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace fgbi::cli {

// Registers `trace` (`trace record`, `trace info`); exit status into exit_code.
void add_trace_command(CLI::App& app, int& exit_code);

// Records the epochs of a dirty source into a trace file and reports the
// capture figures; shared by `trace record` and `capture`.
struct RecordOptions {
  std::string tool;    // "trace record" or "capture", for messages
  std::string source;  // an open_source() spec
  std::string output;
  std::string codec = "zstd";
  int level = 1;
  uint64_t expected_epochs = 0;  // for the progress bar; 0 = unknown
  bool json = false;
};
int record_trace(const RecordOptions& options);

}  // namespace fgbi::cli
