// Where the session layer reports what happens: the caller's log callback,
// plus the last error kept for *_last_error().
#pragma once

#include <mutex>
#include <string>

#include "fgbi.h"
#include "fgbi_session.h"

namespace fgbi::session {

class Log {
 public:
  void set_sink(fgbi_log_fn fn, void* user) {
    std::lock_guard lock(mutex_);
    fn_ = fn;
    user_ = user;
  }
  void info(const std::string& text) { emit(FGBI_LOG_INFO, text); }
  void warning(const std::string& text) { emit(FGBI_LOG_WARNING, text); }
  // Logs and remembers the error; returns status for `return log.error(...)`.
  fgbi_status error(fgbi_status status, const std::string& text) {
    {
      std::lock_guard lock(mutex_);
      last_error_ = text + " [" + fgbi_error_name(status) + "]";
    }
    emit(FGBI_LOG_ERROR, text);
    return status;
  }
  std::string last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

 private:
  void emit(fgbi_log_level level, const std::string& text) {
    fgbi_log_fn fn;
    void* user;
    {
      std::lock_guard lock(mutex_);
      fn = fn_;
      user = user_;
    }
    if (fn) fn(user, level, text.c_str());
  }
  mutable std::mutex mutex_;
  fgbi_log_fn fn_ = nullptr;
  void* user_ = nullptr;
  std::string last_error_;
};

}  // namespace fgbi::session
