// libFuzzer: arbitrary bytes into fgbi_receiver_feed, in pieces whose size
// the first input byte picks; after a stream error the receiver is reset
// and fed the rest. It must never crash, hang, leak or write outside the
// replica, and commits never go backwards. A feed that commits nothing
// leaves the replica byte-identical: after every stream error and at the
// end, the replica equals its content at the last commit (or at the start). Mutated bytes nearly
// always fail a checksum first, so when the first byte asks for it the harness first recomputes the
// stream's checksums (docs/wire-format.md) to let the mutations reach record parsing, decoding and
// the apply.
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "fgbi.h"

namespace {

constexpr int64_t kPages = 8;
constexpr size_t kPageBytes = 4096;
constexpr uint32_t kEpochMagic = 0x49424746;

constexpr uint32_t kSegmentMagic = 0x53424746;
constexpr uint32_t kTrailerMagic = 0x54424746;

// Recomputes header, segment, record and epoch checksums of every epoch
// that the bytes still delimit (wire format v2: header, segments until the
// trailer's magic, trailer); stops where they no longer do.
void fix_checksums(std::vector<uint8_t>& b) {
  size_t pos = 0;
  while (pos + 48 <= b.size() && fgbi::load_le<uint32_t>(b.data() + pos) == kEpochMagic) {
    uint8_t* h = b.data() + pos;
    fgbi::store_le<uint64_t>(h + 40, fgbi::xxh3(h, 40));
    fgbi::Xxh3Stream epoch_sum;
    epoch_sum.update(h, 48);
    size_t p = pos + 48;
    while (p + 32 <= b.size() && fgbi::load_le<uint32_t>(b.data() + p) == kSegmentMagic) {
      uint8_t* sh = b.data() + p;
      const uint64_t records = fgbi::load_le<uint64_t>(sh + 8);
      if (records > b.size() - p - 32) return;
      fgbi::store_le<uint64_t>(sh + 16, fgbi::xxh3(sh + 32, records));
      fgbi::store_le<uint64_t>(sh + 24, fgbi::xxh3(sh, 24));
      epoch_sum.update(sh, 32);
      p += 32 + records;
    }
    if (p + 48 > b.size() || fgbi::load_le<uint32_t>(b.data() + p) != kTrailerMagic) return;
    uint8_t* t = b.data() + p;
    epoch_sum.update(t, 40);
    fgbi::store_le<uint64_t>(t + 40, epoch_sum.digest());
    pos = p + 48;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> stream(data + 1, data + size);
  if (mode & 0x40) fix_checksums(stream);
  fgbi_receiver* r = nullptr;
  if (fgbi_receiver_create(&r) != FGBI_OK) return 0;
  fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, kPages);
  fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, 1 << 20);
  fgbi_receiver_set_parameter(r, FGBI_P_DIGEST, (mode & 0x80) ? 1 : 0);
  // Not zeros: a stray write of zeros must show too.
  std::vector<uint8_t> replica(kPages * kPageBytes);
  for (size_t i = 0; i < replica.size(); ++i) replica[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  std::vector<uint8_t> at_commit = replica;
  fgbi_receiver_attach_memory(r, replica.data(), replica.size());
  const size_t bits = mode & 0x3Fu;
  const size_t piece = 1 + bits * bits * 3;
  uint64_t committed = 0;
  for (size_t off = 0; off < stream.size(); off += piece) {
    const size_t n = std::min(piece, stream.size() - off);
    const fgbi_status st = fgbi_receiver_feed(r, stream.data() + off, n);
    uint64_t now = 0;
    fgbi_receiver_committed_epoch(r, &now);
    if (now < committed) __builtin_trap();  // commits never go backwards
    if (now > committed) at_commit = replica;
    committed = now;
    if (st != FGBI_OK) {
      if (replica != at_commit) __builtin_trap();  // a refused epoch wrote to the replica
      fgbi_receiver_reset_stream(r);
    }
  }
  fgbi_receiver_end_stream(r);
  uint64_t now = 0;
  fgbi_receiver_committed_epoch(r, &now);
  if (now == committed && replica != at_commit) __builtin_trap();  // written without a commit
  fgbi_receiver_free(r);
  return 0;
}
