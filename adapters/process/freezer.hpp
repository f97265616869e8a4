// Stopping a process while an epoch is copied, so that the epoch is one
// consistent instant of its memory.
//
//  - ptrace: every thread is seized and interrupted (PTRACE_SEIZE +
//    PTRACE_INTERRUPT) and detached after the copy. Invisible to the
//    process's parent and to job control; signals that arrive meanwhile are
//    re-delivered on detach. Needs ptrace permission (Yama, seccomp and
//    containers may forbid it).
//  - signal: SIGSTOP, wait until every thread is stopped, SIGCONT. Works
//    wherever signals can be sent, but the parent sees the stop (waitpid
//    WUNTRACED) and a process stopped by someone else is left stopped.
//  - none: the process keeps running; an epoch may mix moments in time, but
//    content comparison still converges once the process settles.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace fgbi::adapters::process {

enum class StopMethod { kAuto, kPtrace, kSignal, kNone };

class Freezer {
 public:
  virtual ~Freezer() = default;
  // Stops every thread; false with `error` set if the process could not be
  // stopped within a bounded time (nothing is left stopped then).
  virtual bool freeze(std::string& error) = 0;
  // Lets the process run again.
  virtual void thaw() = 0;
  virtual StopMethod method() const = 0;
};

// kAuto tries ptrace and falls back to signals, saying why in `note`.
std::unique_ptr<Freezer> make_freezer(pid_t pid, StopMethod method, std::string& note,
                                      std::string& error);

const char* stop_method_name(StopMethod method);

// False once the process has exited (including a zombie not yet reaped).
bool process_alive(pid_t pid);

}  // namespace fgbi::adapters::process
