#pragma once

#include <CLI/CLI.hpp>

namespace fgbi::cli {

// Registers `remus-tx` and `remus-rx`, the stream proxy pair that puts fgbi
// between an unmodified `xl remus` and `xl migrate-receive`; when one runs,
// its exit status is stored in exit_code.
void add_remus_proxy_commands(CLI::App& app, int& exit_code);

}  // namespace fgbi::cli
