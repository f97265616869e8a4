// Page comparison kernels for the delta peers (XBZRLE, Remus xc_compression):
// compare a cached copy with the fresh page and bring the copy up to date in
// the same pass, so the encoder reads each page once. AVX-512 and AVX2
// variants are picked at run time; a portable variant runs everywhere.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "peer_codec.hpp"

namespace fgbi::peers {

inline constexpr size_t kChunkBytes = 64;
inline constexpr size_t kChunksPerPage = kPeerPageSize / kChunkBytes;  // 64
inline constexpr size_t kWordsPerPage = kPeerPageSize / 4;             // 1024 32-bit words

// Byte granularity: bit i of changed[i / 64] (bit i % 64) is set where byte i
// differs, so changed[c] covers chunk c.
struct ByteDiff {
  uint64_t changed[kChunksPerPage];
  uint64_t changed_chunks;  // bit c set where changed[c] != 0
  bool fresh_is_zero;       // every byte of the fresh page is zero
};

// 32-bit word granularity: bit w of changed[w / 64] is set where word w differs.
struct WordDiff {
  uint64_t changed[kWordsPerPage / 64];
  bool any;
};

struct PageDiffKernels {
  const char* name;
  // Compare `cached` with `fresh` and copy every chunk of fresh that differs
  // over cached, so that cached equals fresh on return.
  void (*diff_bytes)(uint8_t* cached, const uint8_t* fresh, ByteDiff* out);
  void (*diff_words)(uint8_t* cached, const uint8_t* fresh, WordDiff* out);
};

// True when all kPeerPageSize bytes of page are zero.
bool page_is_zero(const uint8_t* page);

// The first set (clear) bit at or after pos in a bitmap of n_words words, or
// n_words * 64 when there is none.
inline size_t next_set_bit(const uint64_t* words, size_t n_words, size_t pos) {
  size_t w = pos / 64;
  if (w >= n_words) return n_words * 64;
  uint64_t bits = words[w] & (~uint64_t{0} << (pos % 64));
  while (bits == 0) {
    if (++w == n_words) return n_words * 64;
    bits = words[w];
  }
  return w * 64 + static_cast<size_t>(std::countr_zero(bits));
}
inline size_t next_clear_bit(const uint64_t* words, size_t n_words, size_t pos) {
  size_t w = pos / 64;
  if (w >= n_words) return n_words * 64;
  uint64_t bits = ~words[w] & (~uint64_t{0} << (pos % 64));
  while (bits == 0) {
    if (++w == n_words) return n_words * 64;
    bits = ~words[w];
  }
  return w * 64 + static_cast<size_t>(std::countr_zero(bits));
}

// The fastest variant this CPU runs.
const PageDiffKernels& page_diff_kernels();
// Every variant this CPU runs, portable first (tests compare them).
std::span<const PageDiffKernels* const> page_diff_variants();

}  // namespace fgbi::peers
