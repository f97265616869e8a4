#include "xbzrle.hpp"

#include <bit>
#include <cstring>

namespace fgbi::peers::xbzrle {
namespace {

// Run lengths are at most 4096: one or two ULEB128 bytes. Both bytes are
// always stored (the next write covers a spare one), which keeps this
// branch-free.
inline size_t put_uleb(uint8_t* p, size_t v) {
  const size_t two = v >= 0x80;
  p[0] = static_cast<uint8_t>(v | (two << 7));
  p[1] = static_cast<uint8_t>(v >> 7);
  return 1 + two;
}
// Reads a one- or two-byte ULEB128 from [p, p + avail); 0 when cut or longer.
inline size_t get_uleb(const uint8_t* p, size_t avail, size_t* v) {
  if (avail == 0) return 0;
  if (p[0] < 0x80) {
    *v = p[0];
    return 1;
  }
  if (avail < 2 || p[1] >= 0x80) return 0;
  *v = (p[0] & 0x7Fu) | size_t{p[1]} << 7;
  return 2;
}

}  // namespace

size_t encode_runs(const ByteDiff& diff, const uint8_t* fresh, uint8_t* out) {
  constexpr size_t kShortRun = kEncodeSlack;
  size_t d = 0, zrun_start = 0, nzrun_start = 0;
  bool overflow = false;
  // Appends the pair for the nonzero run [nzrun_start, end).
  // The length stores reach at most 4 bytes past an in-bounds encoding.
  auto emit = [&](size_t end) {
    const size_t nzrun = end - nzrun_start;
    d += put_uleb(out + d, nzrun_start - zrun_start);
    d += put_uleb(out + d, nzrun);
    if (d + nzrun > kMaxEncodedBytes) {
      overflow = true;
      return;
    }
    // Most runs are short: one fixed-size move, its excess overwritten by
    // what follows or left in the slack.
    if (nzrun <= kShortRun && nzrun_start + kShortRun <= kPeerPageSize)
      std::memcpy(out + d, fresh + nzrun_start, kShortRun);
    else
      std::memcpy(out + d, fresh + nzrun_start, nzrun);
    d += nzrun;
    zrun_start = end;
  };
  // Run boundaries are where a bit differs from the one before it. Only
  // changed words, and the word after each (where a run may end), have any.
  bool in_run = false;
  uint64_t words = diff.changed_chunks | diff.changed_chunks << 1;
  while (words != 0 && !overflow) {
    const size_t w = static_cast<size_t>(std::countr_zero(words));
    words &= words - 1;
    const uint64_t bits = diff.changed[w];
    const uint64_t before = w == 0 ? 0 : diff.changed[w - 1] >> 63;
    uint64_t boundaries = bits ^ (bits << 1 | before);
    // Stop at an overflow: each further run would store past the slack.
    while (boundaries != 0 && !overflow) {
      const size_t at = w * 64 + static_cast<size_t>(std::countr_zero(boundaries));
      boundaries &= boundaries - 1;
      if (in_run)
        emit(at);
      else
        nzrun_start = at;
      in_run = !in_run;
    }
  }
  if (in_run && !overflow) emit(kPeerPageSize);  // a run reaching the page's end
  return overflow ? kOverflow : d;
}

bool decode_page(std::span<const uint8_t> in, uint8_t* page) {
  const uint8_t* p = in.data();
  const size_t n = in.size();
  size_t i = 0, at = 0;
  while (i < n) {
    size_t zrun = 0, nzrun = 0;
    size_t k = get_uleb(p + i, n - i, &zrun);
    // Runs are maximal: only the first zero run may be empty.
    if (k == 0 || (zrun == 0 && i != 0) || zrun > kPeerPageSize - at) return false;
    i += k;
    at += zrun;
    k = get_uleb(p + i, n - i, &nzrun);
    if (k == 0 || nzrun == 0) return false;
    i += k;
    if (nzrun > kPeerPageSize - at || nzrun > n - i) return false;
    std::memcpy(page + at, p + i, nzrun);
    i += nzrun;
    at += nzrun;
  }
  return true;
}

}  // namespace fgbi::peers::xbzrle
