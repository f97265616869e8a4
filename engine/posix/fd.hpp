// POSIX helpers shared by the session library and the adapters: an owning
// file descriptor, read and write loops that finish short transfers and
// retry on EINTR, and errno as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace fgbi::posix {

// An owned file descriptor (-1: none), closed when destroyed.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: the caller closes the descriptor.
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor held, if any, and holds fd.
  void reset(int fd = -1);
  // Closes now; false (with errno) if close() reports an error.
  bool close();

 private:
  int fd_ = -1;
};

// Reads up to n bytes at offset; returns the bytes read (less at end of file)
// or -1 with errno set.
long long pread_full(int fd, void* buf, size_t n, uint64_t offset);
// Writes all n bytes at offset; false with errno set (or unchanged when the
// file takes no more bytes).
bool pwrite_full(int fd, const void* buf, size_t n, uint64_t offset);
// Writes all n bytes; false with errno set.
bool write_full(int fd, const void* buf, size_t n);
// "what PATH: strerror(errno)".
std::string errno_message(const std::string& what, const std::string& path);
// "strerror (ENAME)" for errno value e.
std::string errno_text(int e);

}  // namespace fgbi::posix
