// XOR + zero-run delta format ("XOR-RLE"), shared by every backend.
//
// A delta turns `previous` (size bytes the receiver already holds) into
// `current`. Let x = current XOR previous, byte by byte. The delta is a
// sequence of pairs, nothing else (no header, no terminator):
//
//   pair    := zero_run:ULEB128  literal_length:ULEB128  literal[literal_length]
//
// Decoding starts at offset 0; each pair skips zero_run bytes (x is zero
// there: previous stays as it is), then XORs the literal_length literal
// bytes into the data. Bytes after the last pair are unchanged. The empty
// delta means "no change".
//
// Rules a decoder enforces (anything else is rejected, data untouched):
//   - literal_length >= 1;
//   - offset + zero_run + literal_length <= size for every pair;
//   - each ULEB128 is canonical (no redundant trailing 0x00 groups) and at
//     most 10 bytes, and the delta ends exactly after a literal.
//
// Encoding is canonical, so every backend emits identical bytes: a literal
// starts at a nonzero byte of x and ends at the last nonzero byte before
// a run of kXorRleMinZeroRun or more zero bytes (or before the end of the
// data, which counts as zeros). Shorter zero runs stay inside the literal:
// splitting there would cost two header bytes to save at most two literal
// bytes. Consequently every zero_run after the first pair is >= 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "uleb128.hpp"

namespace fgbi::kernels {

inline constexpr size_t kXorRleMinZeroRun = 3;

// Returned by encoders when the delta would not fit the output capacity.
inline constexpr size_t kXorRleTooLarge = ~size_t{0};

// Worst-case delta size for `size` input bytes. The first pair's header
// costs at most 2 * uleb128_size(size); every later pair skips >= 3 zero
// bytes, which pays for its own header unless its literal is >= 16384
// bytes long (then the header is at most one byte over, once per 16384
// literal bytes).
inline constexpr size_t xor_rle_bound(size_t size) {
  return size + 2 * uleb128_size(size) + size / 16384;
}

// Walks the pairs of a delta for `size` data bytes, calling
// apply(offset, literal, length) for each literal. The first pass only
// validates, so a malformed delta leaves the data untouched. Backends
// differ only in how they XOR a literal into the data.
template <class ApplyLiteral>
bool xor_rle_walk(const uint8_t* in, size_t in_size, size_t size, ApplyLiteral&& apply) {
  const uint8_t* const end = in + in_size;
  for (const bool validating : {true, false}) {
    const uint8_t* p = in;
    uint64_t offset = 0;
    while (p < end) {
      uint64_t zero_run, length;
      if (!load_uleb128(&p, end, &zero_run) || !load_uleb128(&p, end, &length)) return false;
      if (length == 0 || zero_run > size - offset || length > size - offset - zero_run ||
          length > static_cast<size_t>(end - p))
        return false;
      offset += zero_run;
      if (!validating) apply(static_cast<size_t>(offset), p, static_cast<size_t>(length));
      offset += length;
      p += length;
    }
  }
  return true;
}

}  // namespace fgbi::kernels
