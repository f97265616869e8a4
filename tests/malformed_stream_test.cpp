// Invariant 2 (DESIGN.md §6): a cut, truncated, corrupted, replayed or
// out-of-order stream never changes the replica beyond the last committed
// epoch; the receiver returns a precise error and never crashes or hangs.
// Invariant 3: untrusted counts and lengths never drive work past limits.
#include <gtest/gtest.h>

#include <cstring>

#include "common/bytes.hpp"
#include "support/replication.hpp"
#include "support/stream_editor.hpp"
#include "workload.hpp"

namespace fgbi::test {
namespace {

class MalformedStream : public ::testing::Test {
 protected:
  // The plain record kinds; coded records have their own suite.
  void SetUp() override { init(plain_options()); }

  void init(PairOptions opt) {
    opt.pages = 40;
    pair_ = std::make_unique<Pair>(opt);
    eval::Rng rng(2024);
    for (auto& b : pair_->primary()) b = static_cast<uint8_t>(rng.next());
    pair_->replicate(all_pages(opt.pages));
    // Epoch 2: a rewritten page (full record), sparse edits (block records)
    // and an unchanged dirty page (clean list).
    for (size_t i = 0; i < kPage; ++i) pair_->page(7)[i] = static_cast<uint8_t>(rng.next());
    pair_->page(3)[10] ^= 1;
    pair_->page(3)[3000] ^= 1;
    pair_->page(20)[64] ^= 0x80;
    committed_replica_ = pair_->replica();
    epoch2_ = pair_->encode({3, 7, 20, 21});
  }

  // Feeds a bad stream and checks the error and that nothing changed.
  void expect_rejected(const std::vector<uint8_t>& stream, fgbi_status expected,
                       size_t piece = SIZE_MAX) {
    EXPECT_EQ(pair_->feed(stream, piece), expected) << fgbi_error_name(expected);
    expect_untouched();
    EXPECT_EQ(fgbi_receiver_feed(pair_->receiver(), stream.data(), 1), FGBI_E_STREAM_FAILED);
    ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
  }
  void expect_untouched() {
    EXPECT_EQ(pair_->committed(), 1u);
    EXPECT_TRUE(pair_->replica() == committed_replica_) << "replica changed";
  }
  // After any rejection the genuine epoch still commits.
  void expect_recovers() {
    ASSERT_EQ(pair_->feed(epoch2_), FGBI_OK);
    EXPECT_EQ(pair_->committed(), 2u);
    EXPECT_TRUE(pair_->replica_matches_primary());
  }
  EditableEpoch editable() const { return EditableEpoch::parse(epoch2_); }

  std::unique_ptr<Pair> pair_;
  std::vector<uint8_t> committed_replica_;
  std::vector<uint8_t> epoch2_;
};

TEST_F(MalformedStream, TheEpochUnderTestHasEveryRecordKind) {
  const EditableEpoch e = editable();
  ASSERT_EQ(e.segments.size(), 1u);
  EXPECT_EQ(e.trailer.record_count, 4u);  // full, 2 x blocks, clean list
  std::vector<uint8_t> kinds;
  for (size_t i = 0; i < 4; ++i)
    kinds.push_back(e.segments[0].records[EditableEpoch::record_offset(e.segments[0], i)]);
  EXPECT_EQ(kinds, (std::vector<uint8_t>{wire::kRecordBlocks, wire::kRecordFullPage,
                                         wire::kRecordBlocks, wire::kRecordCleanList}));
  expect_recovers();
}

TEST_F(MalformedStream, TruncatedAtEveryOffset) {
  for (size_t cut = 1; cut < epoch2_.size(); ++cut) {
    const std::vector<uint8_t> prefix(epoch2_.begin(), epoch2_.begin() + cut);
    ASSERT_EQ(pair_->feed(prefix), FGBI_OK) << "cut " << cut;
    ASSERT_EQ(fgbi_receiver_end_stream(pair_->receiver()), FGBI_E_TRUNCATED) << "cut " << cut;
    expect_untouched();
    ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
  }
  EXPECT_EQ(fgbi_receiver_end_stream(pair_->receiver()), FGBI_OK);  // at a boundary
  uint64_t rejected = 0;
  ASSERT_EQ(fgbi_receiver_get_stat(pair_->receiver(), FGBI_S_EPOCHS_REJECTED, &rejected), FGBI_OK);
  EXPECT_EQ(rejected, epoch2_.size() - 1);
  expect_recovers();
}

TEST_F(MalformedStream, EverySingleBitFlipIsRejected) {
  eval::Rng rng(77);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bad = epoch2_;
    const size_t bit = rng.below(bad.size() * 8);
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const size_t piece = 1 + rng.below(700);
    const fgbi_status st = pair_->feed(bad, piece);
    ASSERT_NE(st, FGBI_OK) << "flip of bit " << bit << " accepted";
    expect_untouched();
    ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
  }
  expect_recovers();
}

TEST_F(MalformedStream, WrongMagicAndVersion) {
  std::vector<uint8_t> bad = epoch2_;
  bad[0] = 'X';
  expect_rejected(bad, FGBI_E_BAD_MAGIC);
  bad = epoch2_;
  bad[4] = 1;  // a wire-format v1 epoch
  expect_rejected(bad, FGBI_E_BAD_VERSION);
  bad[4] = 3;
  expect_rejected(bad, FGBI_E_BAD_VERSION);
  bad = epoch2_;
  bad[6] = 65;  // header length
  expect_rejected(bad, FGBI_E_BAD_VERSION);
  expect_recovers();
}

TEST_F(MalformedStream, OversizedCountsAreRefusedBeforeAnyWork) {
  EditableEpoch e = editable();
  // A correctly sealed segment header that claims a terabyte of records.
  e.segments[0].header.records_bytes = uint64_t{1} << 40;
  expect_rejected(e.serialize(false), FGBI_E_LIMIT_EXCEEDED);

  e = editable();
  e.segments[0].header.record_count = 1000000;  // more than its bytes can hold
  expect_rejected(e.serialize(), FGBI_E_BAD_SEGMENT);

  e = editable();
  e.trailer.record_count += 1;  // totals that disagree with the segments
  expect_rejected(e.serialize(), FGBI_E_BAD_TRAILER);

  e = editable();
  e.segments[0].header.record_count = 0;
  expect_rejected(e.serialize(), FGBI_E_BAD_SEGMENT);

  e = editable();
  e.segments[0].header.record_count = 3;  // one record left over in the bytes
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);
  expect_recovers();
}

TEST_F(MalformedStream, EpochLargerThanTheReceiverLimit) {
  // A receiver limited to 1 MiB refuses an epoch of 1024 full pages (four
  // segments of 256 pages, just over 1 MiB each) as soon as the first
  // segment header takes it past the limit, without buffering that segment.
  Pair big({.pages = 1024});
  eval::Rng rng(3);
  for (auto& b : big.primary()) b = static_cast<uint8_t>(rng.next());
  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  ASSERT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, 1024), FGBI_OK);
  ASSERT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, 1 << 20), FGBI_OK);
  std::vector<uint8_t> mem(1024 * kPage, 0xAA);
  ASSERT_EQ(fgbi_receiver_attach_memory(r, mem.data(), mem.size()), FGBI_OK);
  const auto stream = big.encode(all_pages(1024));
  uint64_t before = 0, held = 0;
  ASSERT_EQ(fgbi_receiver_get_stat(r, FGBI_S_MEMORY_BYTES, &before), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_feed(r, stream.data(), stream.size()), FGBI_E_LIMIT_EXCEEDED);
  EXPECT_EQ(mem, std::vector<uint8_t>(1024 * kPage, 0xAA));
  ASSERT_EQ(fgbi_receiver_get_stat(r, FGBI_S_MEMORY_BYTES, &held), FGBI_OK);
  EXPECT_LT(held - before, 64u * 1024) << "the receiver buffered an epoch it should have refused";
}

TEST_F(MalformedStream, PfnOutOfRangeAndDuplicates) {
  EditableEpoch e = editable();
  auto& recs = e.segments[0].records;
  store_le<uint64_t>(recs.data() + EditableEpoch::record_offset(e.segments[0], 0) + 8, 40);
  expect_rejected(e.serialize(), FGBI_E_PFN_OUT_OF_RANGE);

  e = editable();
  // Second record (page 7, full) renamed to page 3, which the first record has.
  store_le<uint64_t>(
      e.segments[0].records.data() + EditableEpoch::record_offset(e.segments[0], 1) + 8, 3);
  expect_rejected(e.serialize(), FGBI_E_DUPLICATE_PFN);

  e = editable();
  // The clean list's first pfn beyond the tracked pages.
  store_le<uint64_t>(
      e.segments[0].records.data() + EditableEpoch::record_offset(e.segments[0], 3) + 8,
      1ull << 60);
  expect_rejected(e.serialize(), FGBI_E_PFN_OUT_OF_RANGE);
  expect_recovers();
}

TEST_F(MalformedStream, BadRecordShapes) {
  EditableEpoch e = editable();
  const size_t full = EditableEpoch::record_offset(e.segments[0], 1);
  const size_t blocks = EditableEpoch::record_offset(e.segments[0], 0);

  e.segments[0].records[blocks + wire::kRecordHeaderBytes] ^= 0x04;  // bitmap vs length
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);

  e = editable();
  e.segments[0].records[blocks + 1] = 1;  // record flags are reserved
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);

  e = editable();
  // A full-page record one byte short: shrink the payload and its length.
  auto& recs = e.segments[0].records;
  store_le<uint32_t>(recs.data() + full + 4, 4095);
  recs.erase(recs.begin() + static_cast<long>(full + wire::kRecordHeaderBytes));
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);

  e = editable();
  store_le<uint32_t>(e.segments[0].records.data() + full + 4, 0x7FFFFFFF);  // past the segment
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);

  e = editable();
  e.segments[0].records[full] = 0x7E;  // unknown mandatory kind
  expect_rejected(e.serialize(), FGBI_E_UNKNOWN_RECORD);
  expect_recovers();
}

// Pages sent whole one after another share one FULL_PAGE record: the first
// at the record's pfn, each further one after the ULEB128 of its zigzag pfn
// step.
class MalformedFullPageRun : public MalformedStream {
 protected:
  void SetUp() override {
    PairOptions opt = plain_options();
    opt.pages = 40;
    pair_ = std::make_unique<Pair>(opt);
    eval::Rng rng(77);
    for (auto& b : pair_->primary()) b = static_cast<uint8_t>(rng.next());
    pair_->replicate(all_pages(opt.pages));
    for (uint64_t pfn : {9, 5, 30})
      for (size_t i = 0; i < kPage; ++i) pair_->page(pfn)[i] = static_cast<uint8_t>(rng.next());
    committed_replica_ = pair_->replica();
    epoch2_ = pair_->encode({9, 5, 30});
  }
  // The epoch with its run's pfn steps replaced by `steps` (raw bytes).
  std::vector<uint8_t> with_steps(const std::vector<std::vector<uint8_t>>& steps) const {
    EditableEpoch e = editable();
    auto& recs = e.segments[0].records;
    wire::RecordHeader rh;
    EXPECT_EQ(wire::decode_record_header(recs.data(), &rh), FGBI_OK);
    std::vector<const uint8_t*> pages;
    EXPECT_EQ(wire::for_each_full_page(rh, recs.data() + wire::kRecordHeaderBytes, kPage,
                                       [&](uint64_t, const uint8_t* content) {
                                         pages.push_back(content);
                                         return FGBI_OK;
                                       }),
              FGBI_OK);
    EXPECT_EQ(pages.size(), steps.size() + 1);
    std::vector<uint8_t> out(recs.begin(), recs.begin() + wire::kRecordHeaderBytes);
    for (size_t i = 0; i < pages.size(); ++i) {
      if (i != 0) out.insert(out.end(), steps[i - 1].begin(), steps[i - 1].end());
      out.insert(out.end(), pages[i], pages[i] + kPage);
    }
    store_le<uint32_t>(out.data() + 4,
                       static_cast<uint32_t>(out.size() - wire::kRecordHeaderBytes));
    recs = std::move(out);
    return e.serialize();
  }
};

TEST_F(MalformedFullPageRun, OneRecordCarriesTheRun) {
  const EditableEpoch e = editable();
  ASSERT_EQ(e.segments.size(), 1u);
  EXPECT_EQ(e.trailer.record_count, 1u);
  wire::RecordHeader rh;
  ASSERT_EQ(wire::decode_record_header(e.segments[0].records.data(), &rh), FGBI_OK);
  EXPECT_EQ(rh.kind, wire::kRecordFullPage);
  EXPECT_EQ(rh.pfn, 9u);
  // Steps 5 - 9 = -4 and 30 - 5 = 25: zigzag 7 and 50, a byte each.
  EXPECT_EQ(rh.payload_bytes, 3 * kPage + 2);
  const uint8_t* steps = e.segments[0].records.data() + wire::kRecordHeaderBytes + kPage;
  EXPECT_EQ(steps[0], 7);
  EXPECT_EQ(steps[1 + kPage], 50);
  expect_recovers();
}

TEST_F(MalformedFullPageRun, BadRunsAreRejected) {
  EditableEpoch e = editable();
  auto& recs = e.segments[0].records;
  recs.pop_back();  // the last page one byte short
  store_le<uint32_t>(recs.data() + 4, load_le<uint32_t>(recs.data() + 4) - 1);
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);
  // A step cut off: the payload ends inside its ULEB128.
  e = editable();
  e.segments[0].records.resize(wire::kRecordHeaderBytes + kPage + 1);
  e.segments[0].records.back() = 0x80;
  store_le<uint32_t>(e.segments[0].records.data() + 4, kPage + 1);
  expect_rejected(e.serialize(), FGBI_E_BAD_RECORD);
  expect_rejected(with_steps({{0x87, 0x00}, {50}}), FGBI_E_BAD_RECORD);  // not canonical
  expect_rejected(with_steps({{80}, {50}}), FGBI_E_PFN_OUT_OF_RANGE);    // 9 + 40
  expect_rejected(with_steps({{19}, {50}}), FGBI_E_PFN_OUT_OF_RANGE);    // 9 - 10 wraps
  expect_rejected(with_steps({{1}, {50}}), FGBI_E_DIGEST_MISMATCH);      // pages 8 and 33
  expect_rejected(with_steps({{0}, {50}}), FGBI_E_DUPLICATE_PFN);        // 9 again
  // The genuine steps rebuilt byte for byte commit.
  ASSERT_EQ(pair_->feed(with_steps({{7}, {50}})), FGBI_OK);
  EXPECT_TRUE(pair_->replica_matches_primary());
}

TEST_F(MalformedStream, UnknownOptionalRecordsAreSkipped) {
  EditableEpoch e = editable();
  uint8_t rec[wire::kRecordHeaderBytes + 5];
  wire::RecordHeader rh;
  rh.kind = 0x90;
  rh.payload_bytes = 5;
  rh.pfn = 12345678;  // meaningless for an optional record
  wire::encode_record_header(rh, rec);
  std::memcpy(rec + wire::kRecordHeaderBytes, "hello", 5);
  auto& recs = e.segments[0].records;
  recs.insert(recs.begin(), rec, rec + sizeof rec);
  e.segments[0].header.record_count += 1;
  e.trailer.record_count += 1;
  ASSERT_EQ(pair_->feed(e.serialize()), FGBI_OK);
  EXPECT_TRUE(pair_->replica_matches_primary());
}

TEST_F(MalformedStream, ReplayedAndOutOfOrderEpochs) {
  const auto epoch3 = [&] {
    pair_->page(9)[9] ^= 9;
    return pair_->encode({9});
  }();
  const auto epoch4 = [&] {
    pair_->page(11)[11] ^= 11;
    return pair_->encode({11});
  }();
  expect_rejected(epoch3, FGBI_E_EPOCH_GAP);  // epoch 3 before 2
  expect_rejected(epoch4, FGBI_E_EPOCH_GAP);
  ASSERT_EQ(pair_->feed(epoch2_), FGBI_OK);
  EXPECT_EQ(pair_->feed(epoch2_), FGBI_E_EPOCH_REPLAYED);
  ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
  ASSERT_EQ(pair_->feed(epoch3), FGBI_OK);
  ASSERT_EQ(pair_->feed(epoch4), FGBI_OK);
  EXPECT_EQ(pair_->committed(), 4u);
  EXPECT_TRUE(pair_->replica_matches_primary());
}

TEST_F(MalformedStream, SealedContentChangeIsCaughtByTheDigest) {
  EditableEpoch e = editable();
  const size_t full = EditableEpoch::record_offset(e.segments[0], 1);
  e.segments[0].records[full + wire::kRecordHeaderBytes + 100] ^= 1;
  const auto bad = e.serialize();  // every checksum valid
  expect_rejected(bad, FGBI_E_DIGEST_MISMATCH);
  expect_recovers();
}

TEST_F(MalformedStream, WithoutTheDigestASealedChangeGoesThrough) {
  // The control for the test above: the digest is what catches it.
  PairOptions opt = plain_options();
  opt.digest = false;
  init(opt);
  EditableEpoch e = editable();
  const size_t full = EditableEpoch::record_offset(e.segments[0], 1);
  e.segments[0].records[full + wire::kRecordHeaderBytes + 100] ^= 1;
  EXPECT_EQ(pair_->feed(e.serialize()), FGBI_OK);
  EXPECT_FALSE(pair_->replica_matches_primary());
}

// A changed byte of a segment's records, in a record header (which may no
// longer parse) or in a page, is rejected whether one thread or several
// check the segment. With the digest the records carry no checksum (the
// digest stands for it), and the damage shows as what it breaks: a record's
// shape, a pfn, or the digest. Without it, as a failed records checksum.
TEST_F(MalformedStream, ADamagedSegmentIsRejectedForAnyThreadCount) {
  for (const bool digest : {true, false}) {
    for (const int64_t threads : {1, 2}) {
      PairOptions opt = plain_options();
      opt.digest = digest;
      opt.receiver_threads = threads;
      init(opt);
      const EditableEpoch e = editable();
      EXPECT_EQ((e.header.flags & wire::kFlagNoRecordsChecksum) != 0, digest);
      EXPECT_EQ(e.segments[0].header.records_checksum == 0, digest);
      const size_t records = e.segments[0].records.size();
      for (size_t at = 0; at < records; at += at < 64 ? 1 : 61) {
        EditableEpoch bad = e;
        bad.segments[0].records[at] ^= 0x40;
        const std::vector<uint8_t> stream = bad.serialize(/*reseal=*/false);
        if (digest) {
          EXPECT_NE(pair_->feed(stream), FGBI_OK);
          expect_untouched();
          ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
        } else {
          expect_rejected(stream, FGBI_E_SEGMENT_CHECKSUM);
        }
        if (HasFailure())
          FAIL() << "digest " << digest << ", threads " << threads << ", byte " << at << " of "
                 << records;
      }
      expect_recovers();
    }
  }
}

// An epoch with the digest whose records do carry their checksum, as a
// sender before the NO_RECORDS_CHECKSUM flag wrote it, is still read and
// its checksum still checked.
TEST_F(MalformedStream, RecordsChecksumsAreCheckedWhereTheFlagIsClear) {
  EditableEpoch e = editable();
  ASSERT_NE(e.header.flags & wire::kFlagNoRecordsChecksum, 0u);
  e.header.flags &= ~wire::kFlagNoRecordsChecksum;
  const std::vector<uint8_t> checksummed = e.serialize();  // resealed with the checksum
  EditableEpoch damaged = EditableEpoch::parse(checksummed);
  ASSERT_NE(damaged.segments[0].header.records_checksum, 0u);
  damaged.segments[0].records[wire::kRecordHeaderBytes] ^= 1;
  expect_rejected(damaged.serialize(/*reseal=*/false), FGBI_E_SEGMENT_CHECKSUM);
  ASSERT_EQ(pair_->feed(checksummed), FGBI_OK);
  EXPECT_TRUE(pair_->replica_matches_primary());
}

// The flag is refused without the digest that stands for the checksum, and
// a segment under it must carry a zero checksum.
TEST_F(MalformedStream, NoRecordsChecksumNeedsTheDigestAndZeroChecksums) {
  EditableEpoch e = editable();
  e.header.flags &= ~wire::kFlagDigest;
  expect_rejected(e.serialize(), FGBI_E_UNSUPPORTED_FLAGS);
  e = editable();
  e.segments[0].header.records_checksum = 1;
  expect_rejected(e.serialize(/*reseal=*/false), FGBI_E_BAD_SEGMENT);
  expect_recovers();
}

TEST_F(MalformedStream, DigestRequiredAndGeometryMismatch) {
  Pair no_digest({.pages = 40, .digest = false});
  const auto stream = no_digest.encode({1});
  expect_rejected(stream, FGBI_E_DIGEST_REQUIRED);
  Pair other_block({.pages = 40, .block_size = 128});
  expect_rejected(other_block.encode({1}), FGBI_E_GEOMETRY_MISMATCH);
  Pair other_size({.pages = 41});
  expect_rejected(other_size.encode({1}), FGBI_E_GEOMETRY_MISMATCH);
  expect_recovers();
}

TEST_F(MalformedStream, GarbageNeverHangsOrCrashes) {
  eval::Rng rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<uint8_t> junk(1 + rng.below(3000));
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next());
    if (trial % 2) std::memcpy(junk.data(), "FGBI", std::min<size_t>(4, junk.size()));
    const fgbi_status st = pair_->feed(junk, 1 + rng.below(64));
    if (st == FGBI_OK) {
      EXPECT_EQ(fgbi_receiver_end_stream(pair_->receiver()), FGBI_E_TRUNCATED);
    }
    expect_untouched();
    ASSERT_EQ(fgbi_receiver_reset_stream(pair_->receiver()), FGBI_OK);
  }
  expect_recovers();
}

}  // namespace
}  // namespace fgbi::test
