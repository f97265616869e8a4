// fgbi-engine: the command-line front end of libfgbi.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "bench_command.hpp"
#include "capture_command.hpp"
#include "downtime_command.hpp"
#include "fgbi.h"
#include "option_checks.hpp"
#include "remus_proxy_command.hpp"
#include "replication_commands.hpp"
#include "trace_command.hpp"

namespace {

// The first word that names no subcommand where one is required, so that
// `fgbi-engine bogus` says so instead of CLI11's "A subcommand is required".
std::string unknown_subcommand(CLI::App& app, int argc, char** argv, std::string* known) {
  CLI::App* level = &app;
  for (int i = 1; i < argc && level->get_require_subcommand_min() > 0; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return {};
    CLI::App* next = nullptr;
    known->clear();
    for (CLI::App* sub : level->get_subcommands({})) {
      if (sub->get_name() == word) next = sub;
      *known += (known->empty() ? "" : ", ") + sub->get_name();
    }
    if (next == nullptr) return word;
    level = next;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fgbi::cli;
  CLI::App app{
      "fgbi-engine - fine-grained block identification for VM checkpoint replication.\n"
      "Ships only the 64-byte blocks of dirty pages that changed since the backup's copy."};
  app.footer(
      "Exit status: 0 success; 1 a runtime failure (e.g. a replica that differs, an I/O "
      "error); 2 bad arguments (an option, a file or a source that cannot be used); 3 recv: "
      "failover was declared; 4 send: the final replica check could not run (not verified); "
      "128+N stopped by signal N (send, after telling the backup).");
  app.set_version_flag("--version", std::string("fgbi-engine ") + fgbi_version_string() +
                                        " (wire format " + std::to_string(FGBI_WIRE_VERSION) + ")");
  app.require_subcommand(1);
  int exit_code = kExitOk;
  add_bench_command(app, exit_code);
  add_downtime_command(app, exit_code);
  add_trace_command(app, exit_code);
  add_capture_command(app, exit_code);
  add_send_command(app, exit_code);
  add_recv_command(app, exit_code);
  add_remus_proxy_commands(app, exit_code);
  std::string known;
  if (const std::string word = unknown_subcommand(app, argc, argv, &known); !word.empty()) {
    std::fprintf(stderr, "fgbi-engine: unknown command '%s' (commands: %s; see --help)\n",
                 word.c_str(), known.c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with status 0; every other parse
    // error is an argument error, whatever CLI11's own code for it.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}
