// Little-endian loads and stores and ULEB128, for the wire format. Every
// multi-byte integer on the wire goes through these.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fgbi {

template <typename T>
constexpr T byteswap(T v) {
  if constexpr (sizeof(T) == 1) return v;
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
}

template <typename T>
inline T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
  return v;
}

template <typename T>
inline void store_le(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
  std::memcpy(p, &v, sizeof v);
}

inline constexpr size_t kMaxUleb128Bytes = 10;

// Appends ULEB128(v) at p; returns the bytes written (1..10).
inline size_t store_uleb128(uint8_t* p, uint64_t v) {
  size_t n = 0;
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v != 0) byte |= 0x80;
    p[n++] = byte;
  } while (v != 0);
  return n;
}

// Reads a ULEB128 from [p, end). Returns the bytes consumed, or 0 when the
// value is cut off, longer than 10 bytes, or does not fit 64 bits.
inline size_t load_uleb128(const uint8_t* p, const uint8_t* end, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxUleb128Bytes && p + i < end; ++i) {
    const uint64_t bits = p[i] & 0x7F;
    if (i == 9 && bits > 1) return 0;
    result |= bits << (7 * i);
    if ((p[i] & 0x80) == 0) {
      *v = result;
      return i + 1;
    }
  }
  return 0;
}

}  // namespace fgbi
