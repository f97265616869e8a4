// `fgbi-engine send` and `fgbi-engine recv`: the two ends of a replication
// session over TCP, and what they share (keys, signals, log lines).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "option_checks.hpp"
#include "stop_on_signal.hpp"

namespace fgbi::cli {

void add_send_command(CLI::App& app, int& exit_code);
void add_recv_command(CLI::App& app, int& exit_code);

// Reads --key-file; an empty optional with a message on stderr if unusable.
inline std::optional<std::vector<uint8_t>> load_key(const char* command, const std::string& path) {
  // A FIFO would block the read until some writer appears.
  if (std::string why = regular_file_problem(path); !why.empty()) {
    std::fprintf(stderr, "fgbi-engine %s: cannot use key file %s: %s\n", command, path.c_str(),
                 why.c_str());
    return std::nullopt;
  }
  std::vector<uint8_t> key(FGBI_KEY_MAX_BYTES);
  size_t size = 0;
  if (fgbi_read_key_file(path.c_str(), key.data(), key.size(), &size) != FGBI_OK) {
    std::fprintf(stderr,
                 "fgbi-engine %s: cannot use key file %s: it must be readable and hold %d to %d "
                 "bytes (e.g. head -c 32 /dev/urandom > %s)\n",
                 command, path.c_str(), FGBI_KEY_MIN_BYTES, FGBI_KEY_MAX_BYTES, path.c_str());
    return std::nullopt;
  }
  key.resize(size);
  return key;
}

// Session log lines on stderr, prefixed with the command.
inline void log_to_stderr(void* user, fgbi_log_level level, const char* message) {
  const char* tag = level == FGBI_LOG_ERROR     ? "error: "
                    : level == FGBI_LOG_WARNING ? "warning: "
                                                : "";
  std::fprintf(stderr, "fgbi-engine %s: %s%s\n", static_cast<const char*>(user), tag, message);
}

}  // namespace fgbi::cli
