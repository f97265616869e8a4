// fgbi-engine: the command-line front end of libfgbi.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "bench_command.hpp"
#include "capture_command.hpp"
#include "downtime_command.hpp"
#include "fgbi.h"
#include "replication_commands.hpp"
#include "trace_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "fgbi-engine - fine-grained block identification for VM checkpoint replication.\n"
      "Ships only the 64-byte blocks of dirty pages that changed since the backup's copy."};
  app.set_version_flag("--version", std::string("fgbi-engine ") + fgbi_version_string() +
                                        " (wire format " + std::to_string(FGBI_WIRE_VERSION) + ")");
  app.require_subcommand(1);
  int exit_code = 0;
  fgbi::cli::add_bench_command(app, exit_code);
  fgbi::cli::add_downtime_command(app, exit_code);
  fgbi::cli::add_trace_command(app, exit_code);
  fgbi::cli::add_capture_command(app, exit_code);
  fgbi::cli::add_send_command(app, exit_code);
  fgbi::cli::add_recv_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
