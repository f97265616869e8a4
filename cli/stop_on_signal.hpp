// SIGINT and SIGTERM for the commands that run until told to stop.
#pragma once

#include <signal.h>

#include <csignal>

namespace fgbi::cli {

// While alive, SIGINT and SIGTERM are recorded (signal()) and call stop(),
// which must be async-signal-safe, when one is given; the previous handlers
// come back on destruction.
class StopOnSignal {
 public:
  explicit StopOnSignal(void (*stop)() = nullptr) {
    stop_ = stop;
    signal_ = 0;
    struct sigaction sa {};
    sa.sa_handler = [](int sig) {
      signal_ = sig;
      if (stop_ != nullptr) stop_();
    };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  // The signal that arrived, 0 if none.
  static int signal() { return signal_; }

 private:
  static inline void (*stop_)() = nullptr;
  static inline volatile std::sig_atomic_t signal_ = 0;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace fgbi::cli
