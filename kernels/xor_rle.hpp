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

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// Which of 64 consecutive bytes belong to literals (bit i for byte i),
// given their difference bits (bit i set where byte i of x is nonzero) and
// those of the 64 bytes before and after them (zero outside the data). A zero byte joins a literal
// when it lies in a gap of at most two zero bytes with nonzero bytes on
// both sides: it has a nonzero byte 1 or 2 before it and 1 or 2 after it,
// and not zero bytes on both sides (that gap would be >= 3 long).
inline constexpr uint64_t xor_rle_literal_bits(uint64_t before, uint64_t word, uint64_t after) {
  static_assert(kXorRleMinZeroRun == 3, "the masks below assume gaps of at most 2 join");
  const uint64_t back1 = word << 1 | before >> 63, back2 = word << 2 | before >> 62;
  const uint64_t ahead1 = word >> 1 | after << 63, ahead2 = word >> 2 | after << 62;
  return word | ((back1 | back2) & (ahead1 | ahead2) & (back1 | ahead1));
}

// out[i] = a[i] ^ b[i] for i < n, with sizeof(Word) <= n <= 2 * sizeof(Word),
// touching no other byte (out may be a): a word at each end, both loaded
// before either is stored.
template <class Word>
inline void xor_rle_xor_ends(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t n) {
  constexpr size_t kBytes = sizeof(Word);
  Word head_a, head_b, tail_a, tail_b;
  std::memcpy(&head_a, a, kBytes);
  std::memcpy(&head_b, b, kBytes);
  std::memcpy(&tail_a, a + n - kBytes, kBytes);
  std::memcpy(&tail_b, b + n - kBytes, kBytes);
  const Word head = static_cast<Word>(head_a ^ head_b), tail = static_cast<Word>(tail_a ^ tail_b);
  std::memcpy(out, &head, kBytes);
  std::memcpy(out + n - kBytes, &tail, kBytes);
}

// The same for any n <= 16: no length loop, no byte loop.
inline void xor_rle_xor_small(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t n) {
  if (n >= 8) return xor_rle_xor_ends<uint64_t>(out, a, b, n);
  if (n >= 4) return xor_rle_xor_ends<uint32_t>(out, a, b, n);
  if (n >= 2) return xor_rle_xor_ends<uint16_t>(out, a, b, n);
  if (n == 1) out[0] = a[0] ^ b[0];
}

// out[i] = a[i] ^ b[i] for i < n, touching no other byte (out may be a):
// 8-byte words, the last one ending at n and loaded before any store, so
// that no byte loop's length mispredicts on literals of every length.
inline void xor_rle_xor_exact(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t n) {
  if (n <= 16) return xor_rle_xor_small(out, a, b, n);
  uint64_t last_a, last_b;
  std::memcpy(&last_a, a + n - 8, 8);
  std::memcpy(&last_b, b + n - 8, 8);
  for (size_t i = 0; i + 8 < n; i += 8) {
    uint64_t wa, wb;
    std::memcpy(&wa, a + i, 8);
    std::memcpy(&wb, b + i, 8);
    wa ^= wb;
    std::memcpy(out + i, &wa, 8);
  }
  const uint64_t last = last_a ^ last_b;
  std::memcpy(out + n - 8, &last, 8);
}

// Appends the positions of the set bits of `bits`, plus `base`, at out and
// returns the new end. Four are stored per step whether they exist or not
// (up to 3 stores past the end; the caller leaves room), so words with few
// bits take one step and one well-predicted branch.
inline uint16_t* xor_rle_append_bits(uint16_t* out, uint64_t bits, size_t base) {
  uint16_t* const end = out + std::popcount(bits);
  for (;; out += 4) {
    for (size_t i = 0; i < 4; ++i) {
      out[i] = static_cast<uint16_t>(base + static_cast<size_t>(std::countr_zero(bits)));
      bits &= bits - 1;
    }
    if (bits == 0) return end;
  }
}

// Calls emit(start, end) for each literal [start, end) of the canonical
// encoding of `size` bytes, in order, from diff_word(k): the difference bits
// of bytes [64k, 64k + 64), clear past size. Stops and returns false when
// emit does. Up to kDirectWords words go word by word. Longer data goes by
// chunks of up to 64 words: the difference bitmap, then the literal bits and
// edge bits of the words in plain loops over arrays (which the compiler
// vectorizes), then the edge positions of the words that can hold any, then
// the pairs: the emitting loop does not branch on where edges lie.
// Always inlined so that backends' lambdas (compiled for a SIMD target)
// inline into it and the loops are vectorized for that target.
template <class DiffWord, class Emit>
[[gnu::always_inline]] inline bool xor_rle_for_each_literal(size_t size, DiffWord&& diff_word,
                                                            Emit&& emit) {
  constexpr size_t kDirectWords = 8;
  const size_t words = size / 64 + (size % 64 != 0);
  if (words <= kDirectWords) {
    // A few words (a sender's run of changed blocks): word by word, no
    // arrays; a literal's end may lie in a later word than its start.
    uint64_t before = 0, word = words == 0 ? 0 : diff_word(0), open = 0;
    size_t start = 0;
    for (size_t k = 0; k < words; ++k) {
      const uint64_t after = k + 1 < words ? diff_word(k + 1) : 0;
      const uint64_t literal = xor_rle_literal_bits(before, word, after);
      uint64_t bits = literal ^ (literal << 1 | open);
      const size_t base = k * 64;
      if (open != 0 && bits != 0) {  // the literal open at the word's start ends first
        if (!emit(start, base + static_cast<size_t>(std::countr_zero(bits)))) return false;
        bits &= bits - 1;
      }
      open = literal >> 63;
      while (bits != 0) {
        start = base + static_cast<size_t>(std::countr_zero(bits));
        bits &= bits - 1;
        if (bits == 0) break;  // open: it ends in a later word or at the end
        if (!emit(start, base + static_cast<size_t>(std::countr_zero(bits)))) return false;
        bits &= bits - 1;
      }
      before = word;
      word = after;
    }
    return open == 0 || emit(start, size);
  }
  constexpr size_t kChunkWords = 64;
  // diff[1 + k] and literal[1 + k] belong to chunk word k; diff[0] and
  // literal[0] to the word before the chunk, diff[1 + n] to the word after.
  uint64_t diff[kChunkWords + 2], literal[kChunkWords + 1], edge_bits[kChunkWords];
  // Literal starts and ends, alternating, relative to the chunk: at most
  // one per byte, plus room for xor_rle_append_bits.
  uint16_t edges[kChunkWords * 64 + 4];
  diff[0] = 0;
  literal[0] = 0;
  size_t open_start = 0;  // of a literal running past the previous chunk
  for (size_t first = 0; first < words; first += kChunkWords) {
    const size_t n = words - first < kChunkWords ? words - first : kChunkWords;
    uint64_t nonzero = 0;
    for (size_t k = 0; k < n; ++k) {
      diff[1 + k] = diff_word(first + k);
      nonzero |= uint64_t{diff[1 + k] != 0} << k;
    }
    diff[1 + n] = first + n < words ? diff_word(first + n) : 0;
    // Edges lie only in words with a difference and in the word after each
    // (where a literal may end), the chunk's first word included. A word
    // without a difference has no literal bits, so only the span from the
    // first to the last of those words needs computing.
    const bool open_at_start = literal[0] >> 63;
    const uint64_t in_chunk = n == kChunkWords ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    const uint64_t todo = (nonzero | nonzero << 1 | uint64_t{open_at_start}) & in_chunk;
    const size_t lo = todo == 0 ? 0 : static_cast<size_t>(std::countr_zero(todo));
    const size_t hi = todo == 0 ? 0 : 64 - static_cast<size_t>(std::countl_zero(todo));
    if (lo > 0) literal[lo] = 0;
    for (size_t k = lo; k < hi; ++k)
      literal[1 + k] = xor_rle_literal_bits(diff[k], diff[1 + k], diff[2 + k]);
    // Set where a literal starts or ends; they alternate.
    for (size_t k = lo; k < hi; ++k)
      edge_bits[k] = literal[1 + k] ^ (literal[1 + k] << 1 | literal[k] >> 63);
    uint16_t* edges_end = edges;
    for (uint64_t rest = todo; rest != 0; rest &= rest - 1) {
      const size_t k = static_cast<size_t>(std::countr_zero(rest));
      edges_end = xor_rle_append_bits(edges_end, edge_bits[k], k * 64);
    }
    const size_t base = first * 64, count = static_cast<size_t>(edges_end - edges);
    size_t i = 0;
    if (open_at_start && count != 0) {  // the literal open at the chunk's start ends first
      if (!emit(open_start, base + edges[0])) return false;
      i = 1;
    }
    for (; i + 1 < count; i += 2)
      if (!emit(base + edges[i], base + edges[i + 1])) return false;
    if (i < count) open_start = base + edges[i];
    diff[0] = diff[n];
    literal[0] = hi == n ? literal[n] : 0;
  }
  return (literal[0] >> 63) == 0 || emit(open_start, size);
}

// The encoder shared by the backends, which supply diff_word (as above)
// and xor_literal(out, start, length, room): store x[start, start + length)
// at out, where `room` >= length bytes may be written and may be read at
// current + start and previous + start (the excess is overwritten by what
// follows or lies past the delta's end). Returns the delta's size, or
// kXorRleTooLarge when it would exceed capacity.
template <class DiffWord, class XorLiteral>
[[gnu::always_inline]] inline size_t xor_rle_encode_with(size_t size, uint8_t* out, size_t capacity,
                                                         DiffWord&& diff_word,
                                                         XorLiteral&& xor_literal) {
  size_t used = 0, offset = 0;
  const bool fits = xor_rle_for_each_literal(
      size, diff_word, [&](size_t start, size_t end) __attribute__((always_inline)) {
        const size_t zero_run = start - offset, length = end - start;
        const bool short_pair = (zero_run | length) < 0x80;  // one byte each
        const size_t header = short_pair ? 2 : uleb128_size(zero_run) + uleb128_size(length);
        if (header + length > capacity - used) return false;
        if (short_pair) {
          out[used] = static_cast<uint8_t>(zero_run);
          out[used + 1] = static_cast<uint8_t>(length);
        } else {
          store_uleb128(out + used + store_uleb128(out + used, zero_run), length);
        }
        used += header;
        const size_t out_room = capacity - used, in_room = size - start;
        xor_literal(out + used, start, length, out_room < in_room ? out_room : in_room);
        used += length;
        offset = end;
        return true;
      });
  return fits ? used : kXorRleTooLarge;
}

// Walks the pairs of a delta for `size` data bytes in one pass, calling
// apply(offset, literal, length) for each literal as it is checked. Returns
// false at the first malformed pair, after calling apply for the pairs
// before it: for a caller that only notes where the literals fall, or that
// walks a delta already checked.
template <class ApplyLiteral>
[[gnu::always_inline]] inline bool xor_rle_scan(const uint8_t* in, size_t in_size, size_t size,
                                                ApplyLiteral&& apply) {
  const uint8_t* const end = in + in_size;
  const uint8_t* p = in;
  for (size_t offset = 0; p < end;) {
    uint64_t zero_run, length;
    if (!load_uleb128(&p, end, &zero_run) || !load_uleb128(&p, end, &length)) return false;
    if (length == 0 || zero_run > size - offset || length > size - offset - zero_run ||
        length > static_cast<size_t>(end - p))
      return false;
    offset += static_cast<size_t>(zero_run);
    apply(offset, p, static_cast<size_t>(length));
    offset += static_cast<size_t>(length);
    p += length;
  }
  return true;
}

// xor_rle_scan, but a malformed delta leaves the data untouched: the first
// pass only checks. Backends differ only in how they XOR a literal into the
// data (always inlined, as above).
template <class ApplyLiteral>
[[gnu::always_inline]] inline bool xor_rle_walk(const uint8_t* in, size_t in_size, size_t size,
                                                ApplyLiteral&& apply) {
  if (!xor_rle_scan(in, in_size, size, [](size_t, const uint8_t*, size_t) {})) return false;
  xor_rle_scan(in, in_size, size, apply);
  return true;
}

// Joins the canonical deltas of ranges of one buffer into the canonical
// delta of the whole buffer, for an encoder that only reads the ranges that
// may differ (the rest is known to be equal). Ranges come in ascending
// order and at least kXorRleMinZeroRun bytes apart, so the zero bytes
// between them always end a literal: each range's delta is copied with its
// first zero run re-anchored to the end of the previous literal, and
// nothing else changes.
class XorRleJoin {
 public:
  XorRleJoin(uint8_t* out, size_t capacity) : out_(out), capacity_(capacity) {}
  // Appends the delta (n bytes, as the encoder made it) of the range that
  // starts at `start`; false when the result would exceed the capacity.
  bool append(size_t start, const uint8_t* delta, size_t n) {
    if (n == 0) return true;  // the range is unchanged
    const uint8_t* p = delta;
    const uint8_t* const end = delta + n;
    uint64_t zero_run = 0, literal = 0;
    load_uleb128(&p, end, &zero_run);
    const uint64_t anchored = zero_run + start - literal_end_;
    const size_t rest = static_cast<size_t>(end - p);
    if (used_ + uleb128_size(anchored) + rest > capacity_) return false;
    used_ += store_uleb128(out_ + used_, anchored);
    std::memcpy(out_ + used_, p, rest);
    used_ += rest;
    // Where this range's last literal ends, in buffer coordinates.
    size_t offset = start + static_cast<size_t>(zero_run);
    for (;;) {
      load_uleb128(&p, end, &literal);
      offset += static_cast<size_t>(literal);
      p += literal;
      if (p == end) break;
      load_uleb128(&p, end, &zero_run);
      offset += static_cast<size_t>(zero_run);
    }
    literal_end_ = offset;
    return true;
  }
  size_t size() const { return used_; }

 private:
  uint8_t* out_;
  size_t capacity_;
  size_t used_ = 0;
  size_t literal_end_ = 0;
};

}  // namespace fgbi::kernels
