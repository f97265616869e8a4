#include "xbzrle.hpp"

#include <bit>
#include <cstring>

namespace fgbi::peers::xbzrle {
namespace {

// Run lengths are at most 4096: one or two ULEB128 bytes, written without
// the general encoder's loop.
inline size_t uleb_size(size_t v) { return v < 0x80 ? 1 : 2; }
inline size_t put_uleb(uint8_t* p, size_t v) {
  if (v < 0x80) {
    p[0] = static_cast<uint8_t>(v);
    return 1;
  }
  p[0] = static_cast<uint8_t>(v | 0x80);
  p[1] = static_cast<uint8_t>(v >> 7);
  return 2;
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

// The first changed byte at or after pos; the chunk summary skips unchanged
// chunks in one step, which is what keeps sparse pages cheap.
inline size_t next_changed(const ByteDiff& diff, size_t pos) {
  if (pos >= kPeerPageSize) return kPeerPageSize;
  size_t chunk = pos / 64;
  const uint64_t here = diff.changed[chunk] & (~uint64_t{0} << (pos % 64));
  if (here != 0) return chunk * 64 + static_cast<size_t>(std::countr_zero(here));
  // Chunks after this one (2 << 63 wraps to 0, leaving no later chunks).
  const uint64_t later = diff.changed_chunks & ~((uint64_t{2} << chunk) - 1);
  if (later == 0) return kPeerPageSize;
  chunk = static_cast<size_t>(std::countr_zero(later));
  return chunk * 64 + static_cast<size_t>(std::countr_zero(diff.changed[chunk]));
}

}  // namespace

size_t encode_runs(const ByteDiff& diff, const uint8_t* fresh, uint8_t* out) {
  size_t pos = 0, d = 0;
  for (;;) {
    const size_t start = next_changed(diff, pos);
    if (start == kPeerPageSize) return d;
    const size_t end = next_clear_bit(diff.changed, kChunksPerPage, start);
    const size_t zrun = start - pos, nzrun = end - start;
    if (d + uleb_size(zrun) + uleb_size(nzrun) + nzrun > kMaxEncodedBytes) return kOverflow;
    d += put_uleb(out + d, zrun);
    d += put_uleb(out + d, nzrun);
    std::memcpy(out + d, fresh + start, nzrun);
    d += nzrun;
    pos = end;
  }
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
