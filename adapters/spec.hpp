// Parsing of source specs "KIND:VALUE[,VALUE...][,KEY=VALUE...]" (see
// source.hpp) and typed access to their options.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fgbi::adapters {

struct SourceSpec {
  std::string kind;
  std::vector<std::string> values;                           // items without '='
  std::vector<std::pair<std::string, std::string>> options;  // KEY=VALUE items
};

// False with `error` set when the text has no "KIND:" prefix, no value, an
// empty item, or the same option twice.
bool parse_spec(std::string_view text, SourceSpec& spec, std::string& error);

// Reads options of one spec, remembering which were used, so that unknown
// keys can be reported.
class SpecOptions {
 public:
  explicit SpecOptions(const SourceSpec& spec) : spec_(spec) {}
  // An unsigned integer option within [min, max]; `fallback` when absent.
  // False with `error` set when present but malformed or out of range.
  bool get_uint(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max,
                uint64_t& value, std::string& error);
  // The same, left unset when absent.
  bool get_uint(std::string_view key, uint64_t min, uint64_t max, std::optional<uint64_t>& value,
                std::string& error);
  // An option whose value must be one of `choices`; `fallback` when absent.
  bool get_choice(std::string_view key, std::string_view fallback,
                  std::initializer_list<std::string_view> choices, std::string& value,
                  std::string& error);
  // False with `error` naming the first option no getter asked for.
  bool all_used(std::string& error) const;

 private:
  const std::string* find(std::string_view key);
  const SourceSpec& spec_;
  std::vector<std::string> used_;
};

}  // namespace fgbi::adapters
