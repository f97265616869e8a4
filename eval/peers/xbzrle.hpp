// QEMU's XBZRLE page encoding (docs/devel/migration/xbzrle.rst), written
// from the published format:
//
//   page  = zrun nzrun | zrun nzrun page
//   zrun  = length                 bytes where new == old
//   nzrun = length byte...         the new bytes where new != old
//   length = ULEB128
//
// Runs are maximal, so the encoding of (old, new) is unique: only the first
// zrun may be 0, every nzrun is at least 1, and the zero run after the last
// change is not sent. On a 4 KiB page a length needs at most two ULEB128
// bytes (QEMU's decoder accepts no more). An encoding that would exceed the
// page size is an overflow: the caller sends the page raw instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "page_diff.hpp"

namespace fgbi::peers::xbzrle {

inline constexpr size_t kMaxEncodedBytes = kPeerPageSize;
// The encoder writes up to this many bytes past the encoding's end (short
// runs are copied with one fixed-size move).
inline constexpr size_t kEncodeSlack = 32;
inline constexpr size_t kOverflow = SIZE_MAX;

// Encodes the runs that `diff` marks in `fresh` into out (kMaxEncodedBytes +
// kEncodeSlack bytes free). Returns the size, 0 for an unchanged page, or
// kOverflow.
size_t encode_runs(const ByteDiff& diff, const uint8_t* fresh, uint8_t* out);

// Applies one page's encoding (exactly `in`) to page. False when it is
// malformed; page may then be partly written, never beyond its 4 KiB.
bool decode_page(std::span<const uint8_t> in, uint8_t* page);

}  // namespace fgbi::peers::xbzrle
