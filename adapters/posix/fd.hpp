// File descriptors for the adapters: an owning handle and read/write loops
// that finish short transfers and retry on EINTR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace fgbi::adapters {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Closes now; false (with errno) if close() reports an error.
  bool close();

 private:
  int fd_ = -1;
};

// Reads up to n bytes at offset; returns the bytes read (less at end of file)
// or -1 with errno set.
long long pread_full(int fd, void* buf, size_t n, uint64_t offset);
// Writes all n bytes; false with errno set.
bool write_full(int fd, const void* buf, size_t n);
// "what PATH: strerror(errno)".
std::string errno_message(const std::string& what, const std::string& path);

}  // namespace fgbi::adapters
