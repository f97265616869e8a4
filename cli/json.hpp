// JSON output (--json) through nlohmann::json, keys in the order written.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

namespace fgbi::cli {

using Json = nlohmann::ordered_json;

// One object on a line of stdout; NaN and infinity come out as null.
inline void write_json(const Json& json) { std::printf("%s\n", json.dump().c_str()); }

}  // namespace fgbi::cli
