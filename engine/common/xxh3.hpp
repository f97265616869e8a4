// XXH3-64, the checksum and digest function of the wire format, through
// libxxhash. Xxh3Stream hashes data that arrives in pieces. On x86-64 the
// library's runtime-dispatched entry points pick AVX2/AVX-512 code (the
// plain ones are built for the SSE2 baseline); the bits are the same.
// Debian's dispatched code returns with the upper vector state dirty, which
// makes every SSE instruction after it (ours, libc's, LZ4's) several times
// slower until a vzeroupper: each call here ends with one.
#pragma once

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>  // maps XXH3_64bits* to the *_dispatch variants
#endif

#include <cstddef>
#include <cstdint>

namespace fgbi {

// Clears the upper halves of the vector registers after AVX code.
inline void leave_avx() {
#if defined(__x86_64__)
  static const bool has_avx = __builtin_cpu_supports("avx");
  if (has_avx) asm volatile("vzeroupper");
#endif
}

inline uint64_t xxh3(const void* data, size_t size) {
  const uint64_t h = XXH3_64bits(data, size);
  leave_avx();
  return h;
}

class Xxh3Stream {
 public:
  Xxh3Stream() { XXH3_64bits_reset(&state_); }
  void update(const void* data, size_t size) {
    XXH3_64bits_update(&state_, data, size);
    leave_avx();
  }
  // Hashes n zero bytes without a buffer of n: the holes of a sparse memory.
  void update_zeros(uint64_t n) {
    static constexpr uint8_t kZeros[64 * 1024] = {};
    for (; n > sizeof kZeros; n -= sizeof kZeros) update(kZeros, sizeof kZeros);
    update(kZeros, static_cast<size_t>(n));
  }
  uint64_t digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace fgbi
