// Storage helpers for the engine's large and hot buffers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace fgbi {

// Zero-filled memory for ZeroedArray (buffers.cpp): a huge-page-advised
// mapping for large sizes, calloc below; nullptr when out of memory.
void* allocate_zeroed(size_t bytes);
void release_zeroed(void* p, size_t bytes);

// Starts loading the cache line at p without waiting for it, for a use a
// few pages later. An asm statement rather than __builtin_prefetch: GCC
// deems a function whose only effect is a prefetch pure and removes calls
// to it. That is likely why prefetches once came and went between builds
// (sparse encode 1.6 times slower in some), which made the sender use real
// loads for a while; those wait for memory to answer.
inline void prefetch_line(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const uint8_t*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// prefetch_line for each cache line of [p, p + bytes), p 64-byte aligned.
inline void prefetch_lines(const void* p, size_t bytes) {
  for (size_t at = 0; at < bytes; at += 64) prefetch_line(static_cast<const uint8_t*>(p) + at);
}

// A growable byte buffer whose new bytes are left uninitialised: the sender
// writes every byte it appends, so zero-filling would be a wasted pass. It
// can also write into memory of its caller's for a while (write_to).
class ByteBuffer {
 public:
  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }
  void clear() { size_ = 0; }
  // Gives back the last n bytes (n <= size()).
  void drop_back(size_t n) { size_ -= n; }
  // Grows by n bytes and returns where they start.
  uint8_t* append(size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }
  void append(const void* src, size_t n) {
    if (n != 0) std::memcpy(append(n), src, n);
  }
  // Makes room for n bytes in total. Large buffers come from fresh mappings,
  // so reserving address space costs no memory until it is written.
  void reserve(size_t n) {
    if (n > capacity_) grow(n);
  }
  size_t capacity() const { return capacity_; }
  // Empties the buffer and writes into [external, external + capacity),
  // which the caller keeps valid, until clear_and_trim: the sender encodes
  // a segment straight into its caller's output. Should the bytes outgrow
  // it, they move to memory of the buffer's own, as growth does.
  void write_to(uint8_t* external, size_t capacity) {
    data_ = external;
    capacity_ = capacity;
    size_ = 0;
  }
  // Empties the buffer, back in memory of its own, giving memory back when
  // it has far more room than its last use needed (after an unusually
  // large epoch such as the initial synchronisation), while a steady load
  // keeps its allocation.
  void clear_and_trim() {
    constexpr size_t kKeep = 64 * 1024;
    const size_t wanted = std::max(size_, kKeep);
    size_ = 0;
    if (own_capacity_ > 4 * wanted) {
      own_ = std::make_unique_for_overwrite<uint8_t[]>(wanted);
      own_capacity_ = wanted;
    }
    data_ = own_.get();
    capacity_ = own_capacity_;
  }

 private:
  void grow(size_t needed) {
    size_t cap = capacity_ ? capacity_ * 2 : 4096;
    if (cap < needed) cap = needed;
    auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap);
    if (size_ != 0) std::memcpy(fresh.get(), data_, size_);
    own_ = std::move(fresh);
    own_capacity_ = cap;
    data_ = own_.get();
    capacity_ = cap;
  }
  std::unique_ptr<uint8_t[]> own_;
  size_t own_capacity_ = 0;
  uint8_t* data_ = nullptr;  // own_, or the caller's memory after write_to
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// A large zero-initialised array. Large ones are fresh anonymous mappings:
// the kernel supplies zero pages lazily, so tracking a large memory costs
// only what is touched, and they ask for transparent huge pages, because
// the sender and receiver touch them at random (block hashes, the page
// cache) and 4 KiB pages would spend the time in TLB misses.
template <typename T>
class ZeroedArray {
 public:
  ZeroedArray() = default;
  // False when the allocation failed (the array is then empty).
  bool allocate(size_t count) {
    data_.reset();
    count_ = 0;
    if (count == 0) return true;
    if (count > SIZE_MAX / sizeof(T)) return false;
    void* p = allocate_zeroed(count * sizeof(T));
    if (p == nullptr) return false;
    data_ = std::unique_ptr<T, Release>(static_cast<T*>(p), Release{count * sizeof(T)});
    count_ = count;
    return true;
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  struct Release {
    size_t bytes = 0;
    void operator()(T* p) const { release_zeroed(p, bytes); }
  };
  std::unique_ptr<T, Release> data_;
  size_t count_ = 0;
};

}  // namespace fgbi
