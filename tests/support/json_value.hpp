// A small JSON reader for tests that check the CLI's --json output by its
// structure (an array per link speed, an object per scheme) rather than by
// searching the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fgbi::test {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order

  // The member named key; throws std::out_of_range when there is none.
  const JsonValue& operator[](std::string_view key) const;
  const JsonValue& operator[](size_t index) const { return array.at(index); }
  bool has(std::string_view key) const;
};

// Parses one JSON document (surrounding white space allowed); throws
// std::runtime_error, with the offset, at the first thing it cannot read.
JsonValue parse_json(std::string_view text);

}  // namespace fgbi::test
