#pragma once

#include <CLI/CLI.hpp>

namespace fgbi::cli {

// Registers `bench`; when it runs, its exit status is stored in exit_code.
void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace fgbi::cli
