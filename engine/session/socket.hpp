// TCP for the session layer: non-blocking sockets whose every wait goes
// through poll() with a deadline and a stop signal, so that no call can
// block longer than its caller allows.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fgbi.h"
#include "fgbi_session.h"
#include "posix/fd.hpp"

namespace fgbi::session {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline after_ms(int64_t ms) {
  return ms < 0 ? Deadline::max() : Clock::now() + std::chrono::milliseconds(ms);
}
inline uint64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

using posix::Fd;

// A stop request that wakes poll(): raise() is async-signal-safe.
class StopSignal {
 public:
  StopSignal();
  void raise();
  bool raised() const { return raised_.load(std::memory_order_acquire); }
  int fd() const { return event_.get(); }

 private:
  Fd event_;  // eventfd, readable once raised
  std::atomic<bool> raised_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
};

// Wakes a thread blocked in poll() on fd(); each notify is consumed by drain().
class Wakeup {
 public:
  Wakeup();
  void notify();
  void drain();
  int fd() const { return event_.get(); }

 private:
  Fd event_;
};

// Waits until fd is ready for `events` (POLLIN/POLLOUT). FGBI_E_TIMEOUT at
// the deadline, FGBI_E_STOPPED once stop (may be null) is raised.
fgbi_status wait_ready(int fd, short events, Deadline deadline, const StopSignal* stop);

// Connects to host:port (numeric address or name) within the deadline.
fgbi_status connect_tcp(const char* host, uint16_t port, Deadline deadline, const StopSignal* stop,
                        Fd* out, std::string* why);
// Binds and listens; *bound receives the port in use.
fgbi_status listen_tcp(const char* host, uint16_t port, Fd* out, uint16_t* bound, std::string* why);
// Accepts one connection; *peer describes it ("127.0.0.1:40512").
fgbi_status accept_tcp(int listener, Deadline deadline, const StopSignal* stop, Fd* out,
                       std::string* peer);
// True when host resolves only to loopback addresses.
bool is_loopback_host(const char* host);

// Writes all of iov (modified as it goes) before the deadline.
fgbi_status send_all(int fd, iovec* iov, int iov_count, Deadline deadline, const StopSignal* stop);
// Writes what the socket takes now; *sent bytes (0 when it would block).
fgbi_status send_some(int fd, const iovec* iov, int iov_count, size_t* sent);
// Reads what has arrived (up to capacity) without blocking; *got = 0 when
// nothing is there. FGBI_E_DISCONNECTED when the peer closed.
fgbi_status recv_some(int fd, uint8_t* buffer, size_t capacity, size_t* got);
// Advances iov past n written bytes; returns the first iov still pending.
int consume_iov(iovec* iov, int iov_count, size_t n);

}  // namespace fgbi::session
