// Little-endian loads and stores, and the ULEB128 helpers, for the wire
// format. Every multi-byte integer on the wire goes through these.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "uleb128.hpp"

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

using kernels::kMaxUleb128Bytes;
using kernels::load_uleb128;
using kernels::store_uleb128;
using kernels::uleb128_size;
using kernels::zigzag_decode;
using kernels::zigzag_encode;

}  // namespace fgbi
