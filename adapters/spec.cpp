#include "spec.hpp"

#include <algorithm>
#include <charconv>

namespace fgbi::adapters {

bool parse_spec(std::string_view text, SourceSpec& spec, std::string& error) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    error = "source spec \"" + std::string(text) + "\" needs the form KIND:VALUE";
    return false;
  }
  spec = SourceSpec{};
  spec.kind = std::string(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item.empty()) {
      error = "source spec \"" + std::string(text) + "\" has an empty item";
      return false;
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      spec.values.emplace_back(item);
    } else {
      std::string key(item.substr(0, eq));
      if (key.empty() || std::any_of(spec.options.begin(), spec.options.end(),
                                     [&](const auto& kv) { return kv.first == key; })) {
        error = "source spec \"" + std::string(text) + "\": option \"" + key +
                (key.empty() ? "\" has no name" : "\" given twice");
        return false;
      }
      spec.options.emplace_back(std::move(key), std::string(item.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (spec.values.empty()) {
    error = "source spec \"" + std::string(text) + "\" names no " + spec.kind + " to open";
    return false;
  }
  return true;
}

const std::string* SpecOptions::find(std::string_view key) {
  used_.emplace_back(key);
  for (const auto& [k, v] : spec_.options)
    if (k == key) return &v;
  return nullptr;
}

bool SpecOptions::get_uint(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max,
                           uint64_t& value, std::string& error) {
  std::optional<uint64_t> given;
  if (!get_uint(key, min, max, given, error)) return false;
  value = given.value_or(fallback);
  return true;
}

bool SpecOptions::get_uint(std::string_view key, uint64_t min, uint64_t max,
                           std::optional<uint64_t>& value, std::string& error) {
  const std::string* text = find(key);
  if (text == nullptr) return true;
  const char* end = text->data() + text->size();
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || ptr != end || text->empty() || v < min || v > max) {
    error = "option " + std::string(key) + "=" + *text + " must be an integer in [" +
            std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  value = v;
  return true;
}

bool SpecOptions::get_choice(std::string_view key, std::string_view fallback,
                             std::initializer_list<std::string_view> choices, std::string& value,
                             std::string& error) {
  const std::string* text = find(key);
  value = text ? *text : std::string(fallback);
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return true;
  error = "option " + std::string(key) + "=" + value + " must be one of";
  for (std::string_view c : choices) error.append(" ").append(c);
  return false;
}

bool SpecOptions::all_used(std::string& error) const {
  for (const auto& [k, v] : spec_.options) {
    if (std::find(used_.begin(), used_.end(), k) == used_.end()) {
      error = "option \"" + k + "\" does not apply to " + spec_.kind + " sources";
      return false;
    }
  }
  return true;
}

}  // namespace fgbi::adapters
