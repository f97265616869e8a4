#include "process/maps.hpp"

#include <charconv>
#include <fstream>

namespace fgbi::adapters::process {
namespace {

bool parse_hex(std::string_view text, uint64_t& value) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// Splits off the next space-separated field.
std::string_view field(std::string_view& rest) {
  const size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const size_t end = rest.find(' ');
  const std::string_view f = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return f;
}

}  // namespace

std::optional<Mapping> parse_maps_line(std::string_view line) {
  std::string_view rest = line;
  const std::string_view range = field(rest);
  const std::string_view perms = field(rest);
  field(rest);  // offset
  field(rest);  // device
  field(rest);  // inode
  const size_t dash = range.find('-');
  Mapping m;
  if (dash == std::string_view::npos || perms.size() != 4 ||
      !parse_hex(range.substr(0, dash), m.start) || !parse_hex(range.substr(dash + 1), m.end) ||
      m.end <= m.start)
    return std::nullopt;
  m.readable = perms[0] == 'r';
  m.writable = perms[1] == 'w';
  m.private_ = perms[3] == 'p';
  const size_t name = rest.find_first_not_of(' ');
  if (name != std::string_view::npos) m.name = std::string(rest.substr(name));
  return m;
}

bool captured(const Mapping& m) {
  return m.readable && m.writable && m.private_ && m.name != "[vvar]" && m.name != "[vsyscall]";
}

std::optional<std::vector<Mapping>> read_maps(pid_t pid, std::string& error) {
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path + " (no such process, or no permission)";
    return std::nullopt;
  }
  std::vector<Mapping> maps;
  std::string line;
  while (std::getline(in, line)) {
    auto m = parse_maps_line(line);
    if (!m) {
      error = "unexpected line in " + path + ": " + line;
      return std::nullopt;
    }
    maps.push_back(std::move(*m));
  }
  if (in.bad()) {
    error = "error reading " + path;
    return std::nullopt;
  }
  return maps;
}

}  // namespace fgbi::adapters::process
