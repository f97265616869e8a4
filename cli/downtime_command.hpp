#pragma once

#include <CLI/CLI.hpp>

namespace fgbi::cli {

// Registers `downtime`; when it runs, its exit status is stored in exit_code.
void add_downtime_command(CLI::App& app, int& exit_code);

}  // namespace fgbi::cli
