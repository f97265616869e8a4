#include "process/freezer.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

namespace fgbi::adapters::process {
namespace {

using Clock = std::chrono::steady_clock;
// A process that does not stop within this time is reported, not waited for.
constexpr auto kStopTimeout = std::chrono::seconds(2);

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> tids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return tids;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') tids.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return tids;
}

// The state letter of a thread from /proc/PID/task/TID/stat ('R', 'S', 'T', 't', 'Z'...),
// or 0 when the thread is gone.
char thread_state(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // "tid (comm) S ..." where comm may contain spaces and parentheses.
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : 0;
}

class NoFreezer final : public Freezer {
 public:
  bool freeze(std::string&) override { return true; }
  void thaw() override {}
  StopMethod method() const override { return StopMethod::kNone; }
};

class SignalFreezer final : public Freezer {
 public:
  explicit SignalFreezer(pid_t pid) : pid_(pid) {}
  bool freeze(std::string& error) override {
    already_stopped_ = thread_state(pid_, pid_) == 'T';
    if (::kill(pid_, SIGSTOP) != 0) {
      error = "cannot stop process " + std::to_string(pid_) + ": " + std::strerror(errno);
      return false;
    }
    const auto deadline = Clock::now() + kStopTimeout;
    for (pid_t tid : list_threads(pid_)) {
      while (true) {
        const char s = thread_state(pid_, tid);
        if (s == 0 || s == 'T' || s == 't' || s == 'Z' || s == 'X') break;
        if (Clock::now() > deadline) {
          thaw();
          error = "process " + std::to_string(pid_) + " did not stop within 2 s of SIGSTOP";
          return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    return true;
  }
  void thaw() override {
    if (!already_stopped_) ::kill(pid_, SIGCONT);
  }
  StopMethod method() const override { return StopMethod::kSignal; }

 private:
  pid_t pid_;
  bool already_stopped_ = false;
};

class PtraceFreezer final : public Freezer {
 public:
  explicit PtraceFreezer(pid_t pid) : pid_(pid) {}
  ~PtraceFreezer() override { thaw(); }

  bool freeze(std::string& error) override {
    const auto deadline = Clock::now() + kStopTimeout;
    // Threads may start while others are being stopped: repeat until a pass
    // over the thread list finds none that is not stopped yet.
    while (true) {
      bool added = false;
      for (pid_t tid : list_threads(pid_)) {
        if (std::any_of(seized_.begin(), seized_.end(),
                        [&](const Seized& s) { return s.tid == tid; }))
          continue;
        if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
          if (errno == ESRCH) continue;  // exited meanwhile
          error = "cannot ptrace-seize thread " + std::to_string(tid) + " of process " +
                  std::to_string(pid_) + ": " + std::strerror(errno);
          thaw();
          return false;
        }
        seized_.push_back({tid, 0});
        ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
        added = true;
      }
      if (!added) return true;
      if (!wait_stopped(deadline, error)) {
        thaw();
        return false;
      }
    }
  }

  void thaw() override {
    // A thread that has not reached its stop yet cannot be detached; it stays
    // listed and is detached by the next thaw (the kernel detaches it anyway
    // when this process exits).
    std::erase_if(seized_, [](const Seized& s) {
      return ::ptrace(PTRACE_DETACH, s.tid, nullptr,
                      reinterpret_cast<void*>(static_cast<long>(s.signal))) == 0 ||
             errno != ESRCH || ::kill(s.tid, 0) != 0;
    });
  }
  StopMethod method() const override { return StopMethod::kPtrace; }

 private:
  struct Seized {
    pid_t tid;
    int signal;  // a signal that arrived during the stop, re-delivered on detach
    bool stopped = false;
  };

  bool wait_stopped(Clock::time_point deadline, std::string& error) {
    for (Seized& s : seized_) {
      while (!s.stopped) {
        int status = 0;
        const pid_t r = ::waitpid(s.tid, &status, __WALL | WNOHANG);
        if (r == s.tid && WIFSTOPPED(status)) {
          const bool event_stop = (status >> 16) == PTRACE_EVENT_STOP;
          if (!event_stop) s.signal = WSTOPSIG(status);  // signal-delivery-stop
          s.stopped = true;
        } else if (r == s.tid || (r < 0 && errno == ECHILD)) {
          s.stopped = true;  // exited; nothing to stop
          s.tid = -1;
        } else if (Clock::now() > deadline) {
          error = "thread " + std::to_string(s.tid) + " of process " + std::to_string(pid_) +
                  " did not stop within 2 s of PTRACE_INTERRUPT";
          return false;
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
      }
    }
    std::erase_if(seized_, [](const Seized& s) { return s.tid < 0; });
    return true;
  }

  pid_t pid_;
  std::vector<Seized> seized_;
};

}  // namespace

bool process_alive(pid_t pid) {
  const char s = thread_state(pid, pid);
  return s != 0 && s != 'Z' && s != 'X';
}

const char* stop_method_name(StopMethod method) {
  switch (method) {
    case StopMethod::kAuto: return "auto";
    case StopMethod::kPtrace: return "ptrace";
    case StopMethod::kSignal: return "signal";
    case StopMethod::kNone: return "none";
  }
  return "?";
}

std::unique_ptr<Freezer> make_freezer(pid_t pid, StopMethod method, std::string& note,
                                      std::string& error) {
  if (method == StopMethod::kNone) return std::make_unique<NoFreezer>();
  if (method == StopMethod::kSignal) return std::make_unique<SignalFreezer>(pid);
  // Probe ptrace with one full stop and release.
  auto probe = std::make_unique<PtraceFreezer>(pid);
  std::string why;
  if (probe->freeze(why)) {
    probe->thaw();
    return probe;
  }
  if (method == StopMethod::kPtrace) {
    error = why + " (try stop=signal or stop=none)";
    return nullptr;
  }
  note = "ptrace unavailable (" + why + "), stopping with SIGSTOP instead";
  return std::make_unique<SignalFreezer>(pid);
}

}  // namespace fgbi::adapters::process
