// Wire format v2: layouts, constants and the pure encode/decode of the
// fixed-size parts (epoch header, segment header, record header, trailer).
// docs/wire-format.md is the specification; this file follows it. The
// header carries nothing that depends on the epoch's content, so a sender
// streams each segment as soon as it is encoded; counts, sizes and the
// end-to-end digest travel in the trailer. epoch_reader.hpp and
// epoch_writer.hpp are the one reader and the one writer of the framing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "block_hash.hpp"
#include "fgbi.h"
#include "uleb128.hpp"

namespace fgbi::wire {

inline constexpr uint32_t kEpochMagic = 0x49424746;    // "FGBI"
inline constexpr uint32_t kSegmentMagic = 0x53424746;  // "FGBS"
inline constexpr uint32_t kTrailerMagic = 0x54424746;  // "FGBT"
inline constexpr uint16_t kVersion = FGBI_WIRE_VERSION;

inline constexpr size_t kHeaderBytes = 48;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 16;
inline constexpr size_t kTrailerBytes = 48;
inline constexpr size_t kMaxPayloadBytes = UINT32_MAX;  // a record header's payload_bytes
// The trailer's checksum covers its first 40 bytes.
inline constexpr size_t kTrailerChecksummedBytes = 40;
// After the header, a reader takes units of this size: a segment header, or
// the first half of the trailer (told apart by their magic).
inline constexpr size_t kUnitBytes = kSegmentHeaderBytes;
static_assert(kTrailerBytes > kUnitBytes);

// Epoch header flags. Any other bit set is rejected.
inline constexpr uint32_t kFlagDigest = 1u << 0;
// Only with kFlagDigest: the segments' records checksums are zero and not
// checked. The digest, over every page's new content, stands for them, and
// the records are not hashed a second time at either end.
inline constexpr uint32_t kFlagNoRecordsChecksum = 1u << 1;
inline constexpr uint32_t kKnownFlags = kFlagDigest | kFlagNoRecordsChecksum;

// Record kinds. Kinds below 0x80 are mandatory: a receiver that does not
// know one rejects the epoch. Kinds from 0x80 are optional and skipped.
enum RecordKind : uint8_t {
  kRecordFullPage = 0x01,   // payload: one or more whole pages (for_each_full_page)
  kRecordBlocks = 0x02,     // payload: changed-block bitmap, then those blocks
  kRecordCleanList = 0x03,  // pages dirtied but unchanged (for the digest)
  kRecordCodedPage = 0x04,  // changed blocks shared or encoded (coded_page.hpp)
  kRecordXorPages = 0x05,   // pages as XOR deltas against the receiver's copy
};
inline constexpr uint8_t kFirstOptionalKind = 0x80;

// The sender closes a segment after this many dirty pages. Receivers accept
// any segment size within the epoch limits.
inline constexpr size_t kSegmentPages = 256;

struct EpochHeader {
  uint16_t version = kVersion;
  uint32_t flags = 0;
  uint8_t page_shift = 12;
  uint8_t block_shift = 6;
  uint64_t epoch = 0;
  uint64_t tracked_pages = 0;
  uint64_t stream_id = 0;  // the sender's stream: random, fixed at its creation
};

struct SegmentHeader {
  uint32_t record_count = 0;
  uint64_t records_bytes = 0;
  uint64_t records_checksum = 0;  // XXH3-64 of the segment's records
  // On the wire the header ends with XXH3-64 of its own first 24 bytes, so a
  // corrupted length is caught before the receiver waits for bytes.
};

struct RecordHeader {
  uint8_t kind = 0;
  uint8_t flags = 0;
  uint16_t reserved = 0;
  uint32_t payload_bytes = 0;
  uint64_t pfn = 0;
};

struct Trailer {
  uint32_t record_count = 0;
  uint32_t segment_count = 0;
  uint64_t epoch = 0;
  uint64_t body_bytes = 0;  // segment headers + records
  uint64_t digest = 0;
  uint64_t checksum = 0;  // XXH3-64 of header, segment headers, trailer[0..40)
};

// Encoders write exactly the fixed size; the header's own checksum is filled in.
void encode_header(const EpochHeader& h, uint8_t out[kHeaderBytes]);
void encode_segment_header(const SegmentHeader& s, uint8_t out[kSegmentHeaderBytes]);
void encode_record_header(const RecordHeader& r, uint8_t out[kRecordHeaderBytes]);
// Writes everything but the checksum field (bytes 40..48), which the caller
// fills once the epoch checksum is known.
void encode_trailer_prefix(const Trailer& t, uint8_t out[kTrailerBytes]);

// Decoders check magic, version, reserved fields and self-checksums and
// return FGBI_OK or the precise stream error; semantic limits are the
// receiver's job.
fgbi_status decode_header(const uint8_t in[kHeaderBytes], EpochHeader* h);
fgbi_status decode_segment_header(const uint8_t in[kSegmentHeaderBytes], SegmentHeader* s);
fgbi_status decode_record_header(const uint8_t in[kRecordHeaderBytes], RecordHeader* r);
fgbi_status decode_trailer(const uint8_t in[kTrailerBytes], Trailer* t);

// Bytes of a kRecordBlocks bitmap for this block size.
constexpr size_t bitmap_bytes(uint32_t page_size, uint32_t block_size) {
  return page_size / block_size / 8;
}

// A kRecordBlocks bitmap: bit b (byte b / 8, bit b % 8) marks block b.
// Converts between the wire bytes and 64-bit words (bit b of word b / 64).
void store_bitmap(const uint64_t* words, size_t bytes, uint8_t* out);
void load_bitmap(const uint8_t* in, size_t bytes, uint64_t* words, size_t n_words);

// One end-to-end digest entry: the page's pfn and its check (page_check).
// The epoch digest is XXH3-64 of all entries, in record order.
inline constexpr size_t kDigestEntryBytes = 16;
void encode_digest_entry(uint64_t pfn, uint64_t page_check, uint8_t out[kDigestEntryBytes]);

// A page's check: the sum, modulo 2^64, of one term per block mixing the
// block's index and its full 64-bit hash. A sum, so that the receiver can
// keep each page's check and update it from the blocks an epoch writes (the
// new terms less the old ones) without reading the rest of the page or its
// hashes; the sender takes the hashes from its capture pass.
// Each term is MurmurHash3's 64-bit finaliser over the hash and the block's
// index (kernels::page_check_term); the sum is kernels::page_check_reference.
// The engine sums whole pages with the page_check kernel.
constexpr uint64_t check_term(uint32_t block, uint64_t hash) {
  return kernels::page_check_term(block, hash);
}
constexpr uint64_t page_check(const uint64_t* block_hashes, uint32_t blocks) {
  return kernels::page_check_reference(block_hashes, blocks);
}

// Calls fn(header, payload) for each of the `count` records in
// records[0, bytes) and checks that they fill it exactly. Returns the first
// error fn returns, FGBI_E_BAD_RECORD on a length that does not fit.
template <typename Fn>
fgbi_status for_each_record(const uint8_t* records, size_t bytes, uint32_t count, Fn&& fn) {
  size_t pos = 0;
  for (uint32_t i = 0; i < count; ++i) {
    RecordHeader rh;
    if (bytes - pos < kRecordHeaderBytes) return FGBI_E_BAD_RECORD;
    if (fgbi_status st = decode_record_header(records + pos, &rh); st != FGBI_OK) return st;
    pos += kRecordHeaderBytes;
    if (rh.payload_bytes > bytes - pos) return FGBI_E_BAD_RECORD;
    if (fgbi_status st = fn(rh, records + pos); st != FGBI_OK) return st;
    pos += rh.payload_bytes;
  }
  return pos == bytes ? FGBI_OK : FGBI_E_BAD_RECORD;
}

// A FULL_PAGE record carries a run of whole pages: the first at the record's
// pfn, then each further one after the ULEB128 of zigzag(pfn - previous
// pfn), as XOR_PAGES entries name theirs. Calls fn(pfn, content) for each
// page in order and returns the first error fn returns, FGBI_E_BAD_RECORD on
// a payload that is not such a run (pfn ranges are the caller's to check).
template <typename Fn>
fgbi_status for_each_full_page(const RecordHeader& rh, const uint8_t* payload, uint32_t page_size,
                               Fn&& fn) {
  const uint8_t* q = payload;
  const uint8_t* const end = payload + rh.payload_bytes;
  uint64_t pfn = rh.pfn;
  for (bool first = true; first || q < end; first = false) {
    if (!first) {
      uint64_t zigzag = 0;
      if (!kernels::load_uleb128(&q, end, &zigzag)) return FGBI_E_BAD_RECORD;
      pfn += static_cast<uint64_t>(kernels::zigzag_decode(zigzag));  // wraps: the caller checks
    }
    if (static_cast<size_t>(end - q) < page_size) return FGBI_E_BAD_RECORD;
    if (fgbi_status st = fn(pfn, q); st != FGBI_OK) return st;
    q += page_size;
  }
  return FGBI_OK;
}

}  // namespace fgbi::wire
