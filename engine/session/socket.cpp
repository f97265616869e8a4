#include "session/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

namespace fgbi::session {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoFree>;

fgbi_status resolve(const char* host, uint16_t port, bool passive, AddrInfo* out,
                    std::string* why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
  const std::string service = std::to_string(port);
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host, service.c_str(), &hints, &result);
  if (rc != 0) {
    *why = std::string("cannot resolve ") + (host ? host : "(any)") + ": " + gai_strerror(rc);
    return FGBI_E_CONNECT;
  }
  out->reset(result);
  return FGBI_OK;
}

std::string describe(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void set_nodelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int poll_timeout_ms(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Round up so that a wait never ends just before its deadline.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

}  // namespace

StopSignal::StopSignal() : event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void StopSignal::raise() {
  raised_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  if (event_.valid()) {
    // Only write(2) here: this runs in signal handlers.
    [[maybe_unused]] const ssize_t n = write(event_.get(), &one, sizeof one);
  }
}

Wakeup::Wakeup() : event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void Wakeup::notify() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(event_.get(), &one, sizeof one);
}

void Wakeup::drain() {
  uint64_t count;
  [[maybe_unused]] const ssize_t n = read(event_.get(), &count, sizeof count);
}

fgbi_status wait_ready(int fd, short events, Deadline deadline, const StopSignal* stop) {
  for (;;) {
    if (stop && stop->raised()) return FGBI_E_STOPPED;
    pollfd fds[2] = {{fd, events, 0}, {stop ? stop->fd() : -1, POLLIN, 0}};
    const int rc = poll(fds, 2, poll_timeout_ms(deadline));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return FGBI_E_INTERNAL;
    }
    if (stop && stop->raised()) return FGBI_E_STOPPED;
    if (fds[0].revents != 0) return FGBI_OK;  // ready, or an error the next call reports
    if (rc == 0 && Clock::now() >= deadline) return FGBI_E_TIMEOUT;
  }
}

fgbi_status connect_tcp(const char* host, uint16_t port, Deadline deadline, const StopSignal* stop,
                        Fd* out, std::string* why) {
  AddrInfo addrs;
  if (fgbi_status st = resolve(host, port, false, &addrs, why); st != FGBI_OK) return st;
  fgbi_status last = FGBI_E_CONNECT;
  for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    const std::string target = describe(a->ai_addr);
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        *why = "cannot connect to " + target + ": " + std::strerror(errno);
        continue;
      }
      last = wait_ready(fd.get(), POLLOUT, deadline, stop);
      if (last == FGBI_E_TIMEOUT) {
        *why = "connecting to " + target + " timed out";
        return last;
      }
      if (last != FGBI_OK) return last;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        *why = "cannot connect to " + target + ": " + std::strerror(err);
        last = FGBI_E_CONNECT;
        continue;
      }
    }
    set_nodelay(fd.get());
    *out = std::move(fd);
    return FGBI_OK;
  }
  if (why->empty()) *why = std::string("no usable address for ") + (host ? host : "(null)");
  return last == FGBI_OK ? FGBI_E_CONNECT : last;
}

fgbi_status listen_tcp(const char* host, uint16_t port, Fd* out, uint16_t* bound,
                       std::string* why) {
  AddrInfo addrs;
  if (fgbi_status st = resolve(host, port, true, &addrs, why); st != FGBI_OK) return st;
  for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), 8) != 0) {
      *why = "cannot listen on " + describe(a->ai_addr) + ": " + std::strerror(errno);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    *bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    *out = std::move(fd);
    return FGBI_OK;
  }
  if (why->empty()) *why = "no usable address to listen on";
  return FGBI_E_CONNECT;
}

fgbi_status accept_tcp(int listener, Deadline deadline, const StopSignal* stop, Fd* out,
                       std::string* peer) {
  for (;;) {
    if (fgbi_status st = wait_ready(listener, POLLIN, deadline, stop); st != FGBI_OK) return st;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    Fd fd(accept4(listener, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      return FGBI_E_CONNECT;
    }
    set_nodelay(fd.get());
    *peer = describe(reinterpret_cast<const sockaddr*>(&ss));
    *out = std::move(fd);
    return FGBI_OK;
  }
}

bool is_loopback_host(const char* host) {
  if (host == nullptr) return false;
  AddrInfo addrs;
  std::string why;
  if (resolve(host, 0, false, &addrs, &why) != FGBI_OK) return false;
  for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) return false;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return false;
    } else {
      return false;
    }
  }
  return true;
}

int consume_iov(iovec* iov, int iov_count, size_t n) {
  int i = 0;
  while (i < iov_count && n >= iov[i].iov_len) {
    n -= iov[i].iov_len;
    iov[i].iov_len = 0;
    ++i;
  }
  if (i < iov_count) {
    iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + n;
    iov[i].iov_len -= n;
  }
  return i;
}

fgbi_status send_some(int fd, const iovec* iov, int iov_count, size_t* sent) {
  *sent = 0;
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iov_count);
  for (;;) {
    const ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      *sent = static_cast<size_t>(n);
      return FGBI_OK;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return FGBI_OK;
    return FGBI_E_DISCONNECTED;
  }
}

fgbi_status send_all(int fd, iovec* iov, int iov_count, Deadline deadline, const StopSignal* stop) {
  int first = 0;
  while (first < iov_count) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    size_t sent = 0;
    if (fgbi_status st = send_some(fd, iov + first, iov_count - first, &sent); st != FGBI_OK)
      return st;
    if (sent == 0) {
      if (fgbi_status st = wait_ready(fd, POLLOUT, deadline, stop); st != FGBI_OK) return st;
      continue;
    }
    first += consume_iov(iov + first, iov_count - first, sent);
  }
  return FGBI_OK;
}

fgbi_status recv_some(int fd, uint8_t* buffer, size_t capacity, size_t* got) {
  *got = 0;
  for (;;) {
    const ssize_t n = recv(fd, buffer, capacity, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return FGBI_OK;
    }
    if (n == 0) return FGBI_E_DISCONNECTED;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return FGBI_OK;
    return FGBI_E_DISCONNECTED;
  }
}

}  // namespace fgbi::session
