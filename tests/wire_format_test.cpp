// Wire format v2: fixed-size parts round-trip, reject what they must, and
// the canonical byte layout is little-endian as docs/wire-format.md says.
#include <gtest/gtest.h>

#include <cstring>

#include "common/bytes.hpp"
#include "kernels.hpp"
#include "wire/format.hpp"

namespace fgbi::wire {
namespace {

EpochHeader sample_header() {
  EpochHeader h;
  h.flags = kFlagDigest;
  h.page_shift = 12;
  h.block_shift = 6;
  h.epoch = 0x0102030405060708ull;
  h.tracked_pages = 1 << 20;
  h.stream_id = 0x1122334455667788ull;
  return h;
}

TEST(WireFormat, HeaderRoundTripsAndIsLittleEndian) {
  uint8_t buf[kHeaderBytes];
  encode_header(sample_header(), buf);
  EXPECT_EQ(std::memcmp(buf, "FGBI", 4), 0);
  EXPECT_EQ(buf[4], 2);  // version, LE
  EXPECT_EQ(buf[5], 0);
  EXPECT_EQ(buf[16], 0x08);  // epoch, LE
  EXPECT_EQ(buf[23], 0x01);
  EpochHeader out;
  ASSERT_EQ(decode_header(buf, &out), FGBI_OK);
  EXPECT_EQ(out.epoch, sample_header().epoch);
  EXPECT_EQ(out.tracked_pages, sample_header().tracked_pages);
  EXPECT_EQ(out.stream_id, sample_header().stream_id);
  EXPECT_EQ(buf[32], 0x88);  // stream id, LE
  EXPECT_EQ(out.flags, kFlagDigest);
}

TEST(WireFormat, HeaderRejectsMagicVersionChecksumFlagsReserved) {
  uint8_t good[kHeaderBytes];
  encode_header(sample_header(), good);
  EpochHeader out;
  uint8_t buf[kHeaderBytes];

  std::memcpy(buf, good, sizeof buf);
  buf[0] = 'X';
  EXPECT_EQ(decode_header(buf, &out), FGBI_E_BAD_MAGIC);

  std::memcpy(buf, good, sizeof buf);
  buf[4] = 1;  // a v1 stream
  EXPECT_EQ(decode_header(buf, &out), FGBI_E_BAD_VERSION);

  for (size_t byte = 8; byte < 40; ++byte) {  // any field change breaks the checksum
    std::memcpy(buf, good, sizeof buf);
    buf[byte] ^= 0x10;
    EXPECT_EQ(decode_header(buf, &out), FGBI_E_HEADER_CHECKSUM) << "byte " << byte;
  }

  EpochHeader h = sample_header();
  h.flags = 0x80;  // unknown flag, correctly checksummed
  encode_header(h, buf);
  EXPECT_EQ(decode_header(buf, &out), FGBI_E_UNSUPPORTED_FLAGS);

  // Records left unchecked only where the digest stands for their checksum.
  h.flags = kFlagNoRecordsChecksum;
  encode_header(h, buf);
  EXPECT_EQ(decode_header(buf, &out), FGBI_E_UNSUPPORTED_FLAGS);
  h.flags = kFlagNoRecordsChecksum | kFlagDigest;
  encode_header(h, buf);
  EXPECT_EQ(decode_header(buf, &out), FGBI_OK);
  EXPECT_EQ(out.flags, kFlagNoRecordsChecksum | kFlagDigest);
}

TEST(WireFormat, SegmentRecordTrailerRoundTrip) {
  SegmentHeader s{5, 999, 0xABCDEF};
  uint8_t sb[kSegmentHeaderBytes];
  encode_segment_header(s, sb);
  SegmentHeader s2;
  ASSERT_EQ(decode_segment_header(sb, &s2), FGBI_OK);
  EXPECT_EQ(s2.record_count, 5u);
  EXPECT_EQ(s2.records_bytes, 999u);
  EXPECT_EQ(s2.records_checksum, 0xABCDEFu);
  for (size_t byte = 4; byte < kSegmentHeaderBytes; ++byte) {
    uint8_t bad[kSegmentHeaderBytes];
    std::memcpy(bad, sb, sizeof bad);
    bad[byte] ^= 0x40;
    EXPECT_EQ(decode_segment_header(bad, &s2), FGBI_E_SEGMENT_CHECKSUM) << "byte " << byte;
  }
  sb[1] ^= 1;
  EXPECT_EQ(decode_segment_header(sb, &s2), FGBI_E_BAD_SEGMENT);

  RecordHeader r;
  r.kind = kRecordBlocks;
  r.payload_bytes = 66;
  r.pfn = 77;
  uint8_t rb[kRecordHeaderBytes];
  encode_record_header(r, rb);
  RecordHeader r2;
  ASSERT_EQ(decode_record_header(rb, &r2), FGBI_OK);
  EXPECT_EQ(r2.kind, kRecordBlocks);
  EXPECT_EQ(r2.payload_bytes, 66u);
  EXPECT_EQ(r2.pfn, 77u);
  rb[2] = 1;  // reserved
  EXPECT_EQ(decode_record_header(rb, &r2), FGBI_E_BAD_RECORD);

  Trailer t;
  t.record_count = 9;
  t.segment_count = 2;
  t.epoch = 10;
  t.body_bytes = 13;
  t.digest = 11;
  uint8_t tb[kTrailerBytes];
  encode_trailer_prefix(t, tb);
  Trailer t2;
  ASSERT_EQ(decode_trailer(tb, &t2), FGBI_OK);
  EXPECT_EQ(t2.record_count, 9u);
  EXPECT_EQ(t2.segment_count, 2u);
  EXPECT_EQ(t2.epoch, 10u);
  EXPECT_EQ(t2.body_bytes, 13u);
  EXPECT_EQ(t2.digest, 11u);
  EXPECT_EQ(tb[32], 11);  // digest, LE
  tb[12] = 1;             // reserved
  EXPECT_EQ(decode_trailer(tb, &t2), FGBI_E_BAD_TRAILER);
  tb[12] = 0;
  tb[3] = 0;
  EXPECT_EQ(decode_trailer(tb, &t2), FGBI_E_BAD_TRAILER);
}

TEST(WireFormat, BitmapBytesAreLittleEndianBitOrder) {
  uint64_t words[2] = {0x8000000000000001ull, 0x2ull};
  uint8_t bytes[16];
  store_bitmap(words, 16, bytes);
  EXPECT_EQ(bytes[0], 0x01);  // block 0
  EXPECT_EQ(bytes[7], 0x80);  // block 63
  EXPECT_EQ(bytes[8], 0x02);  // block 65
  uint64_t back[2];
  load_bitmap(bytes, 16, back, 2);
  EXPECT_EQ(back[0], words[0]);
  EXPECT_EQ(back[1], words[1]);
  EXPECT_EQ(bitmap_bytes(4096, 32), 16u);
  EXPECT_EQ(bitmap_bytes(4096, 256), 2u);
}

TEST(WireFormat, Uleb128RoundTripAndRejectsOverlongCutOrNonCanonical) {
  uint8_t buf[16];
  for (uint64_t v :
       {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, (1ull << 35) + 7, ~0ull}) {
    const size_t n = store_uleb128(buf, v);
    EXPECT_EQ(n, uleb128_size(v));
    const uint8_t* p = buf;
    uint64_t out = 0;
    EXPECT_TRUE(load_uleb128(&p, buf + n, &out));
    EXPECT_EQ(p, buf + n);
    EXPECT_EQ(out, v);
    if (n > 1) {
      p = buf;
      EXPECT_FALSE(load_uleb128(&p, buf + n - 1, &out)) << "cut value accepted";
    }
  }
  uint64_t out;
  uint8_t too_big[10];
  std::memset(too_big, 0xFF, 9);
  too_big[9] = 0x02;  // bit 64 set
  const uint8_t* p = too_big;
  EXPECT_FALSE(load_uleb128(&p, too_big + 10, &out));
  uint8_t too_long[11];
  std::memset(too_long, 0x80, 10);
  too_long[10] = 0;
  p = too_long;
  EXPECT_FALSE(load_uleb128(&p, too_long + 11, &out));
  const uint8_t padded[2] = {0x81, 0x00};  // 1 with a redundant zero group
  p = padded;
  EXPECT_FALSE(load_uleb128(&p, padded + 2, &out));
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-1000000}, INT64_MAX, INT64_MIN})
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
}

// The page check is canonical (both ends compute it) and a sum of per-block
// terms, so one block's new hash changes it by exactly its own term.
TEST(WireFormat, PageCheckIsASumOfPositionedBlockTermsWithFixedValues) {
  uint64_t hashes[64];
  for (uint32_t b = 0; b < 64; ++b) hashes[b] = 0x0123456789abcdefull * (b + 1);
  EXPECT_EQ(check_term(0, 0), 0u);
  EXPECT_EQ(check_term(3, 0x0123456789abcdefull), 0x4fc9874aab32ef5cu);
  EXPECT_EQ(page_check(hashes, 64), 0xa04b00310fba46e8u);
  const uint64_t before = page_check(hashes, 64);
  const uint64_t old = hashes[17];
  hashes[17] ^= 1;
  EXPECT_EQ(page_check(hashes, 64), before - check_term(17, old) + check_term(17, hashes[17]));
  // The same hash at another position counts differently: a block moved
  // within the page changes the check.
  EXPECT_NE(check_term(1, old), check_term(2, old));
}

// The engine sums whole pages with the page_check kernel: each backend gives
// the reference's fixed value, and its sum over any count of blocks.
TEST(WireFormat, EveryBackendsPageCheckIsTheReference) {
  uint64_t hashes[kernels::kMaxBlocksPerPage];
  for (uint32_t b = 0; b < kernels::kMaxBlocksPerPage; ++b)
    hashes[b] = 0x0123456789abcdefull * (b + 1);
  for (const kernels::KernelTable* k :
       {kernels::scalar_kernels(), kernels::simd_kernels(), kernels::cuda_kernels()}) {
    if (k == nullptr) continue;  // CUDA: not built, or no GPU
    EXPECT_EQ(k->page_check(hashes, 64), 0xa04b00310fba46e8u) << k->name;
    for (uint32_t blocks = 0; blocks <= kernels::kMaxBlocksPerPage; ++blocks)
      ASSERT_EQ(k->page_check(hashes, blocks), page_check(hashes, blocks))
          << k->name << " over " << blocks << " blocks";
  }
}

}  // namespace
}  // namespace fgbi::wire
