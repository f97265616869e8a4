// /proc/PID/maps: which parts of a process's address space are captured.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fgbi::adapters::process {

struct Mapping {
  uint64_t start = 0, end = 0;  // [start, end), page-aligned
  bool readable = false, writable = false, private_ = false;
  std::string name;  // path, "[heap]", "[stack]", ... or empty for anonymous
};

// Parses one maps line ("start-end perms offset dev inode [name]").
std::optional<Mapping> parse_maps_line(std::string_view line);

// The mappings a replica needs: readable, writable and private (anonymous
// memory, heap, stacks, and the written copies of file data). Shared
// mappings are left out: their content lives in a file or segment that other
// processes write too. The kernel's [vvar]/[vsyscall] are left out as well.
bool captured(const Mapping& m);

// Reads /proc/PID/maps. nullopt with `error` set when it cannot be read;
// an empty list when the process has exited (its maps are empty).
std::optional<std::vector<Mapping>> read_maps(pid_t pid, std::string& error);

}  // namespace fgbi::adapters::process
