// A minimal streaming JSON writer for --json output (objects, numbers,
// strings, booleans); it escapes strings and never emits NaN or infinity.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace fgbi::cli {

class JsonWriter {
 public:
  explicit JsonWriter(std::FILE* out) : out_(out) {}
  void begin_object(std::string_view key = {}) { open(key, '{'); }
  void end_object() { close('}'); }
  void begin_array(std::string_view key = {}) { open(key, '['); }
  void end_array() { close(']'); }
  void field(std::string_view key, std::string_view value) {
    prefix(key);
    string(value);
  }
  void field(std::string_view key, const char* value) { field(key, std::string_view(value)); }
  void field(std::string_view key, bool value) {
    prefix(key);
    std::fputs(value ? "true" : "false", out_);
  }
  void field(std::string_view key, uint64_t value) {
    prefix(key);
    std::fprintf(out_, "%llu", static_cast<unsigned long long>(value));
  }
  void field(std::string_view key, double value) {
    prefix(key);
    if (std::isfinite(value))
      std::fprintf(out_, "%.6g", value);
    else
      std::fputs("null", out_);
  }
  void finish() { std::fputc('\n', out_); }

 private:
  void open(std::string_view key, char bracket) {
    prefix(key);
    std::fputc(bracket, out_);
    first_.push_back(true);
  }
  void close(char bracket) {
    first_.pop_back();
    std::fputc(bracket, out_);
  }
  void prefix(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) std::fputc(',', out_);
      first_.back() = false;
    }
    if (!key.empty()) {
      string(key);
      std::fputc(':', out_);
    }
  }
  void string(std::string_view s) {
    std::fputc('"', out_);
    for (char c : s) {
      if (c == '"' || c == '\\')
        std::fprintf(out_, "\\%c", c);
      else if (static_cast<unsigned char>(c) < 0x20)
        std::fprintf(out_, "\\u%04x", c);
      else
        std::fputc(c, out_);
    }
    std::fputc('"', out_);
  }
  std::FILE* out_;
  std::vector<bool> first_;
};

}  // namespace fgbi::cli
