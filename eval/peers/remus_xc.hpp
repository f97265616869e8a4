// The page encoding of Remus checkpoint compression as Xen 4.2-4.13 shipped
// it (libxenctrl xc_compression), written from its published description:
//
//   empty page  0x00                    unchanged since the cached copy
//   full page   0x80, 4096 bytes        not in the cache (or unencodable)
//   delta page  run...                  runs covering exactly 4096 bytes
//   run         header [words]          header bit 7: skip (1) or copy (0);
//                                       bits 0-6: run length in 32-bit
//                                       words, 1..127; a copy run carries
//                                       the new words
//
// The delta unit is Xen's 32-bit word (sizeof(uint32_t) in xc_compression),
// runs longer than 127 words are split, and the final run of the page, skip
// or copy, is sent too. A page whose every word changed costs 9 copy
// headers + 4096 bytes = 4105 bytes: Xen accepted that rather than pay a
// second copy to fall back to a full page, and so do we.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "page_diff.hpp"

namespace fgbi::peers::xc {

inline constexpr uint8_t kEmptyPage = 0x00;
inline constexpr uint8_t kFullPage = 0x80;
inline constexpr uint8_t kSkipFlag = 0x80;
inline constexpr size_t kMaxRunWords = 127;
inline constexpr size_t kFullPageBytes = 1 + kPeerPageSize;
inline constexpr size_t kMaxEncodedBytes = kPeerPageSize + 9;

// Writes a full-page encoding of fresh (kFullPageBytes) to out.
size_t encode_full(const uint8_t* fresh, uint8_t* out);
// Writes the delta encoding of the words `diff` marks (kMaxEncodedBytes
// free at out) and returns its size; 1 (the empty marker) when none changed.
size_t encode_delta(const WordDiff& diff, const uint8_t* fresh, uint8_t* out);
// Applies the page encoding at the start of `in` to page; returns the bytes
// it spans, 0 when malformed (page may then be partly written).
size_t decode_page(std::span<const uint8_t> in, uint8_t* page);

}  // namespace fgbi::peers::xc
