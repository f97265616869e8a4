// Validators shared by every fgbi-engine command, so that each numeric
// option has explicit bounds. CLI11 converts text with strtoull/strtod: on
// its own it reads "-1" as 2^64-1, and lets "nan" through CLI::Range (every
// comparison with NaN is false). These check the text itself first.
#pragma once

#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

// The items of a comma list, empty ones included ("1,,10" has three).
inline std::vector<std::string> comma_items(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    items.push_back(text.substr(start, comma - start));
  items.push_back(text.substr(start));
  return items;
}

// A comma list of 1 to max_count distinct numbers, each one as real_number
// checks it. The whole list is checked as one text so that an empty item
// ("1,,10") or a repeated value is refused rather than dropped or run twice.
inline CLI::Validator real_number_list(double min, double max, size_t max_count) {
  const CLI::Validator item = real_number(min, max);
  return CLI::Validator(
      [item, max_count](std::string& text) -> std::string {
        std::vector<std::string> items = comma_items(text);
        if (items.size() > max_count)
          return "at most " + std::to_string(max_count) + " values, not " +
                 std::to_string(items.size());
        std::vector<double> seen;
        for (std::string& value : items) {
          if (std::string problem = item(value); !problem.empty()) return problem;
          const double v = std::strtod(value.c_str(), nullptr);
          if (std::find(seen.begin(), seen.end(), v) != seen.end())
            return value + " is listed twice";
          seen.push_back(v);
        }
        return {};
      },
      "NUMBER[,NUMBER...]");
}

// The numbers of a list real_number_list accepted, in ascending order.
inline std::vector<double> parse_number_list(const std::string& text) {
  std::vector<double> values;
  for (const std::string& item : comma_items(text))
    values.push_back(std::strtod(item.c_str(), nullptr));
  std::sort(values.begin(), values.end());
  return values;
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
