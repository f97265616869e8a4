// Storage helpers for the engine's large and hot buffers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace fgbi {

// A growable byte buffer whose new bytes are left uninitialised: the sender
// writes every byte it appends, so zero-filling would be a wasted pass.
class ByteBuffer {
 public:
  size_t size() const { return size_; }
  const uint8_t* data() const { return data_.get(); }
  uint8_t* data() { return data_.get(); }
  void clear() { size_ = 0; }
  // Grows by n bytes and returns where they start.
  uint8_t* append(size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    uint8_t* p = data_.get() + size_;
    size_ += n;
    return p;
  }
  void append(const void* src, size_t n) {
    if (n != 0) std::memcpy(append(n), src, n);  // memcpy to a null buffer is UB even for 0 bytes
  }
  // Makes room for n bytes in total. Large buffers come from fresh mappings,
  // so reserving address space costs no memory until it is written.
  void reserve(size_t n) {
    if (n > capacity_) grow(n);
  }
  size_t capacity() const { return capacity_; }
  // Empties the buffer, giving memory back when it has far more room than
  // its last use needed (after an unusually large epoch such as the
  // initial synchronisation), while a steady load keeps its allocation.
  void clear_and_trim() {
    constexpr size_t kKeep = 64 * 1024;
    const size_t wanted = std::max(size_, kKeep);
    size_ = 0;
    if (capacity_ > 4 * wanted) {
      data_ = std::make_unique_for_overwrite<uint8_t[]>(wanted);
      capacity_ = wanted;
    }
  }

 private:
  void grow(size_t needed) {
    size_t cap = capacity_ ? capacity_ * 2 : 4096;
    if (cap < needed) cap = needed;
    auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap);
    if (size_ != 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = cap;
  }
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// A large zero-initialised array from calloc: the kernel maps the pages
// lazily, so tracking a large memory costs only what is touched.
template <typename T>
class ZeroedArray {
 public:
  ZeroedArray() = default;
  // False when the allocation failed (the array is then empty).
  bool allocate(size_t count) {
    data_.reset(static_cast<T*>(std::calloc(count, sizeof(T))));
    count_ = data_ ? count : 0;
    return data_ != nullptr || count == 0;
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t count_ = 0;
};

}  // namespace fgbi
