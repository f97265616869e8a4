#include "json_value.hpp"

#include <cstdlib>
#include <stdexcept>

namespace fgbi::test {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  JsonValue document() {
    JsonValue v = value();
    skip_space();
    if (at_ != text_.size()) fail("text after the document");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(at_));
  }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
  }
  char peek() {
    skip_space();
    if (at_ == text_.size()) fail("unexpected end");
    return text_[at_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  JsonValue value() {
    JsonValue v;
    const char c = peek();
    if (c == '{') {
      v.kind = JsonValue::Kind::kObject;
      ++at_;
      while (peek() != '}') {
        if (!v.object.empty()) expect(',');
        std::string key = string();
        expect(':');
        v.object.emplace_back(std::move(key), value());
      }
      ++at_;
    } else if (c == '[') {
      v.kind = JsonValue::Kind::kArray;
      ++at_;
      while (peek() != ']') {
        if (!v.array.empty()) expect(',');
        v.array.push_back(value());
      }
      ++at_;
    } else if (c == '"') {
      v.kind = JsonValue::Kind::kString;
      v.string = string();
    } else if (literal("true")) {
      v.kind = JsonValue::Kind::kBool;
      v.boolean = true;
    } else if (literal("false")) {
      v.kind = JsonValue::Kind::kBool;
    } else if (literal("null")) {
      v.kind = JsonValue::Kind::kNull;
    } else {
      const std::string rest(text_.substr(at_, 64));
      char* end = nullptr;
      v.number = std::strtod(rest.c_str(), &end);
      if (end == rest.c_str()) fail("not a value");
      v.kind = JsonValue::Kind::kNumber;
      at_ += static_cast<size_t>(end - rest.c_str());
    }
    return v;
  }

  // A string; \uXXXX escapes below 0x80 only, which is all the CLI writes.
  std::string string() {
    expect('"');
    std::string out;
    while (at_ < text_.size() && text_[at_] != '"') {
      char c = text_[at_++];
      if (c == '\\') {
        if (at_ == text_.size()) break;
        c = text_[at_++];
        if (c == 'u') {
          if (at_ + 4 > text_.size()) fail("short \\u escape");
          c = static_cast<char>(
              std::strtol(std::string(text_.substr(at_, 4)).c_str(), nullptr, 16));
          at_ += 4;
        } else if (c == 'n') {
          c = '\n';
        } else if (c == 't') {
          c = '\t';
        }
      }
      out += c;
    }
    expect('"');
    return out;
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

const JsonValue& JsonValue::operator[](std::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return v;
  throw std::out_of_range("no member " + std::string(key));
}

bool JsonValue::has(std::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return true;
  return false;
}

JsonValue parse_json(std::string_view text) { return Parser(text).document(); }

}  // namespace fgbi::test
