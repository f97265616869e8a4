// ULEB128, the variable-length integers of the wire format and of XOR-RLE
// deltas: 7 bits a byte, least significant group first, high bit = more.
// Readers accept only the canonical (shortest) form, so every value has
// exactly one encoding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fgbi::kernels {

inline constexpr size_t kMaxUleb128Bytes = 10;

inline constexpr size_t uleb128_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline size_t store_uleb128(uint8_t* out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

// Reads a canonical ULEB128 from [*p, end) into *v and advances *p; false
// when it is cut off, longer than 10 bytes, overflows 64 bits or carries a
// redundant trailing zero group.
inline bool load_uleb128(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  if (*p < end && **p < 0x80) {  // the common one-byte case
    *v = *(*p)++;
    return true;
  }
  // Two bytes: a page offset or length above 127 (XOR-RLE pairs, pfn steps).
  if (end - *p >= 2 && (*p)[1] < 0x80 && (*p)[1] != 0) {
    *v = ((*p)[0] & 0x7Fu) | uint64_t{(*p)[1]} << 7;
    *p += 2;
    return true;
  }
  uint64_t result = 0;
  for (unsigned i = 0; i < 10 && *p + i < end; ++i) {
    const uint8_t byte = (*p)[i];
    const uint64_t bits = byte & 0x7F;
    if (i == 9 && bits > 1) return false;
    result |= bits << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) return false;
      *p += i + 1;
      *v = result;
      return true;
    }
  }
  return false;
}

// ZigZag: signed deltas as small unsigned values (0, -1, 1, -2 -> 0, 1, 2, 3).
inline constexpr uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline constexpr int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace fgbi::kernels
