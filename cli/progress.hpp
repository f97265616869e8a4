// A progress bar on stderr for long runs: silent for the first two seconds
// and when stderr is not a terminal, then redrawn at most ten times a second.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fgbi::cli {

class Progress {
 public:
  Progress(std::string label, uint64_t total)
      : label_(std::move(label)),
        total_(total),
        enabled_(isatty(STDERR_FILENO) != 0),
        start_(Clock::now()),
        last_draw_(start_) {}
  ~Progress() { done(); }

  void update(uint64_t current) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (now - start_ < std::chrono::seconds(2) || now - last_draw_ < std::chrono::milliseconds(100))
      return;
    last_draw_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    const int filled = total_ ? static_cast<int>(kWidth * current / total_) : kWidth;
    std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", label_.c_str(), filled,
                 "==============================", kWidth - filled, "",
                 static_cast<unsigned long long>(current), static_cast<unsigned long long>(total_));
    std::fflush(stderr);
  }
  void done() {
    if (drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace fgbi::cli
