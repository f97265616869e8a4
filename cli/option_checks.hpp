// Validators shared by every fgbi-engine command, so that each numeric
// option has explicit bounds. CLI11 converts text with strtoull/strtod: on
// its own it reads "-1" as 2^64-1, and lets "nan" through CLI::Range (every
// comparison with NaN is false). These check the text itself first.
#pragma once

#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace fgbi::cli {

// Exit statuses of fgbi-engine (README, --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // a runtime failure, e.g. a replica that differs
inline constexpr int kExitUsage = 2;        // bad arguments: an option, a file or a source spec
inline constexpr int kExitFailover = 3;     // recv: failover was declared
inline constexpr int kExitNotVerified = 4;  // send: the final replica check could not run

// A whole number written with digits only, from min to max inclusive.
inline CLI::Validator whole_number(uint64_t min, uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        uint64_t v = 0;
        const char* end = text.data() + text.size();
        const auto r = std::from_chars(text.data(), end, v);
        if (text.empty() || r.ec == std::errc::invalid_argument || r.ptr != end)
          return "'" + text + "' is not a whole number (digits only, " + range + ")";
        if (r.ec == std::errc::result_out_of_range || v < min || v > max)
          return text + " is out of range: " + range;
        return {};
      },
      "INT in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

// This machine's physical memory in MiB: the bound of cache sizes, so that
// a cache that could never be allocated is refused as an argument.
inline uint64_t memory_mib() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) >> 20
                               : uint64_t{1} << 20;
}

// A finite decimal number from min to max inclusive (no NaN, no infinity).
inline CLI::Validator real_number(double min, double max) {
  const std::string range = CLI::detail::to_string(min) + " to " + CLI::detail::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) ||
            errno == ERANGE)
          return "'" + text + "' is not a finite number (" + range + ")";
        if (v < min || v > max) return text + " is out of range: " + range;
        return {};
      },
      "NUMBER in [" + range + "]");
}

// Text that must not be empty (an empty --source is a mistake, not a default).
inline CLI::Validator non_empty() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return text.empty() ? std::string("must not be empty") : std::string();
      },
      "TEXT");
}

// "" when path names a regular file; else why it cannot be read as one. A
// FIFO or a device would block or never end: they are refused, not read.
inline std::string regular_file_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
  return {};
}

}  // namespace fgbi::cli
