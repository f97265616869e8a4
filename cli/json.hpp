// JSON output (--json) through nlohmann::json, keys in the order written.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

namespace fgbi::cli {

using Json = nlohmann::ordered_json;

// One object on a line of stdout; NaN and infinity come out as null, bytes
// that are not UTF-8 (a file name, a process's path) as U+FFFD.
inline void write_json(const Json& json) {
  std::printf("%s\n", json.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
}

}  // namespace fgbi::cli
