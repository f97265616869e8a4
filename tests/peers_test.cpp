// Peer codecs (bench/peers): the page-diff kernels against a byte-by-byte
// reference, the XBZRLE and xc_compression encodings against hand-computed
// examples, each codec's cache policy, round trips over randomized epochs,
// and decoders fed cut, corrupted and out-of-bounds streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "page_diff.hpp"
#include "peer_codec.hpp"
#include "remus_xc.hpp"
#include "workload.hpp"
#include "xbzrle.hpp"

namespace fgbi::peers {
namespace {

using eval::Rng;
using Bytes = std::vector<uint8_t>;
constexpr size_t kPage = kPeerPageSize;

// A page-aligned page buffer, as the caches hold them.
struct alignas(64) PageBuf {
  uint8_t bytes[kPage];
};

void fill_random(uint8_t* p, size_t n, Rng& rng) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng.next());
}

// ---------------------------------------------------------------- kernels

void expect_byte_diff_matches(const PageDiffKernels& k, const uint8_t* old_page,
                              const uint8_t* fresh) {
  PageBuf cached;
  std::memcpy(cached.bytes, old_page, kPage);
  ByteDiff diff;
  k.diff_bytes(cached.bytes, fresh, &diff);
  uint64_t chunks = 0;
  bool zero = true;
  for (size_t i = 0; i < kPage; ++i) {
    const bool changed = old_page[i] != fresh[i];
    ASSERT_EQ(changed, ((diff.changed[i / 64] >> (i % 64)) & 1) != 0) << k.name << " byte " << i;
    if (changed) chunks |= uint64_t{1} << (i / 64);
    zero = zero && fresh[i] == 0;
  }
  EXPECT_EQ(chunks, diff.changed_chunks) << k.name;
  EXPECT_EQ(zero, diff.fresh_is_zero) << k.name;
  EXPECT_EQ(0, std::memcmp(cached.bytes, fresh, kPage)) << k.name << ": cache not updated";
}

void expect_word_diff_matches(const PageDiffKernels& k, const uint8_t* old_page,
                              const uint8_t* fresh) {
  PageBuf cached;
  std::memcpy(cached.bytes, old_page, kPage);
  WordDiff diff;
  k.diff_words(cached.bytes, fresh, &diff);
  bool any = false;
  for (size_t w = 0; w < kWordsPerPage; ++w) {
    const bool changed = std::memcmp(old_page + 4 * w, fresh + 4 * w, 4) != 0;
    ASSERT_EQ(changed, ((diff.changed[w / 64] >> (w % 64)) & 1) != 0) << k.name << " word " << w;
    any = any || changed;
  }
  EXPECT_EQ(any, diff.any) << k.name;
  EXPECT_EQ(0, std::memcmp(cached.bytes, fresh, kPage)) << k.name << ": cache not updated";
}

TEST(PageDiff, EveryVariantMatchesTheByteReference) {
  ASSERT_GE(page_diff_variants().size(), 1u);
  EXPECT_STREQ("portable", page_diff_variants()[0]->name);
  Rng rng(7);
  // One extra byte so the fresh page can sit at an unaligned address.
  std::vector<uint8_t> old_page(kPage), fresh_buf(kPage + 1);
  for (int round = 0; round < 64; ++round) {
    uint8_t* fresh = fresh_buf.data() + (round % 2);
    fill_random(old_page.data(), kPage, rng);
    std::memcpy(fresh, old_page.data(), kPage);
    switch (round % 4) {
      case 0: break;                                  // unchanged
      case 1: std::memset(fresh, 0, kPage); break;    // zero page
      case 2: fill_random(fresh, kPage, rng); break;  // rewritten
      default:                                        // scattered bytes
        for (int e = 0; e < 1 + round; ++e) fresh[rng.below(kPage)] ^= 1 + rng.below(255);
    }
    for (const PageDiffKernels* k : page_diff_variants()) {
      expect_byte_diff_matches(*k, old_page.data(), fresh);
      expect_word_diff_matches(*k, old_page.data(), fresh);
    }
  }
}

TEST(PageDiff, ZeroPageCheck) {
  std::vector<uint8_t> page(kPage, 0);
  EXPECT_TRUE(page_is_zero(page.data()));
  page[kPage - 1] = 1;
  EXPECT_FALSE(page_is_zero(page.data()));
  page[kPage - 1] = 0;
  page[0] = 0x80;
  EXPECT_FALSE(page_is_zero(page.data()));
}

// ------------------------------------------------------ XBZRLE page format

// Encodes fresh against old as the codec does; returns the encoding, or an
// empty vector with *overflow set.
Bytes xbzrle_encode(const Bytes& old_page, const Bytes& fresh, bool* overflow = nullptr) {
  PageBuf cached;
  std::memcpy(cached.bytes, old_page.data(), kPage);
  ByteDiff diff;
  page_diff_kernels().diff_bytes(cached.bytes, fresh.data(), &diff);
  Bytes out(xbzrle::kMaxEncodedBytes + xbzrle::kEncodeSlack);
  const size_t n = xbzrle::encode_runs(diff, fresh.data(), out.data());
  if (overflow) *overflow = n == xbzrle::kOverflow;
  out.resize(n == xbzrle::kOverflow ? 0 : n);
  return out;
}

void expect_decodes_to(const Bytes& encoding, const Bytes& old_page, const Bytes& fresh) {
  Bytes page = old_page;
  ASSERT_TRUE(xbzrle::decode_page(encoding, page.data()));
  EXPECT_EQ(fresh, page);
}

TEST(XbzrleFormat, FirstByteChanged) {
  const Bytes old_page(kPage, 0xAA);
  Bytes fresh = old_page;
  fresh[0] = 0x01;
  // zrun 0, nzrun 1, the new byte; the trailing zero run is not sent.
  const Bytes expected = {0x00, 0x01, 0x01};
  EXPECT_EQ(expected, xbzrle_encode(old_page, fresh));
  expect_decodes_to(expected, old_page, fresh);
}

TEST(XbzrleFormat, TwoRunsWithTwoByteLengths) {
  const Bytes old_page(kPage, 0x00);
  Bytes fresh = old_page;
  fresh[200] = 0x11;
  fresh[201] = 0x22;
  fresh[202] = 0x33;
  fresh[4095] = 0x44;
  // zrun 200 = ULEB C8 01; nzrun 3; zrun 4095 - 203 = 3892 = ULEB B4 1E; nzrun 1.
  const Bytes expected = {0xC8, 0x01, 0x03, 0x11, 0x22, 0x33, 0xB4, 0x1E, 0x01, 0x44};
  EXPECT_EQ(expected, xbzrle_encode(old_page, fresh));
  expect_decodes_to(expected, old_page, fresh);
}

TEST(XbzrleFormat, LengthsAroundTheOneByteLimit) {
  const Bytes old_page(kPage, 0x10);
  Bytes fresh = old_page;
  fresh[127] = 0x01;  // zrun 127: one byte, 0x7F
  fresh[256] = 0x02;  // zrun 256 - 128 = 128: two bytes, 80 01
  const Bytes expected = {0x7F, 0x01, 0x01, 0x80, 0x01, 0x01, 0x02};
  EXPECT_EQ(expected, xbzrle_encode(old_page, fresh));
  expect_decodes_to(expected, old_page, fresh);
}

TEST(XbzrleFormat, UnchangedPageEncodesToNothing) {
  const Bytes page(kPage, 0x5A);
  bool overflow = true;
  EXPECT_TRUE(xbzrle_encode(page, page, &overflow).empty());
  EXPECT_FALSE(overflow);
}

TEST(XbzrleFormat, OverflowStartsOneBytePastThePageSize) {
  const Bytes old_page(kPage, 0x00);
  Bytes fresh = old_page;
  // One run of n changed bytes from byte 0 costs 1 + 2 + n bytes.
  std::fill(fresh.begin(), fresh.begin() + 4093, 0xEE);
  bool overflow = true;
  const Bytes fits = xbzrle_encode(old_page, fresh, &overflow);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(kPage, fits.size());
  expect_decodes_to(fits, old_page, fresh);
  fresh[4093] = 0xEE;
  EXPECT_TRUE(xbzrle_encode(old_page, fresh, &overflow).empty());
  EXPECT_TRUE(overflow);
  // Every other byte changed: 3 bytes per changed byte, far past a page.
  Bytes alternate = old_page;
  for (size_t i = 1; i < kPage; i += 2) alternate[i] = 0x01;
  xbzrle_encode(old_page, alternate, &overflow);
  EXPECT_TRUE(overflow);
}

TEST(XbzrleFormat, EncoderNeverWritesPastItsSlack) {
  // A long run then alternating bytes: the lead run's length moves the
  // overflow to every position within a 64-byte chunk, including those with
  // many runs still to come in the chunk.
  constexpr size_t kLimit = xbzrle::kMaxEncodedBytes + xbzrle::kEncodeSlack;
  constexpr uint8_t kGuard = 0xCC;
  const Bytes old_page(kPage, 0);
  for (size_t lead = 1; lead <= 192; ++lead) {
    Bytes fresh = old_page;
    std::fill(fresh.begin(), fresh.begin() + static_cast<ptrdiff_t>(lead), 0x01);
    for (size_t i = lead + 1; i < kPage; i += 2) fresh[i] = 0x02;
    PageBuf cached;
    std::memcpy(cached.bytes, old_page.data(), kPage);
    ByteDiff diff;
    page_diff_kernels().diff_bytes(cached.bytes, fresh.data(), &diff);
    Bytes out(kLimit + 256, kGuard);
    EXPECT_EQ(xbzrle::kOverflow, xbzrle::encode_runs(diff, fresh.data(), out.data()));
    const bool guard_intact =
        std::all_of(out.begin() + kLimit, out.end(), [](uint8_t b) { return b == kGuard; });
    ASSERT_TRUE(guard_intact) << "lead run " << lead;
  }
}

TEST(XbzrleFormat, RandomPagesRoundTrip) {
  Rng rng(11);
  Bytes old_page(kPage), fresh(kPage);
  for (int round = 0; round < 200; ++round) {
    fill_random(old_page.data(), kPage, rng);
    fresh = old_page;
    const int edits = 1 + static_cast<int>(rng.below(40));
    for (int e = 0; e < edits; ++e) {
      const size_t len = 1 + rng.below(32), at = rng.below(kPage - len + 1);
      for (size_t i = 0; i < len; ++i) fresh[at + i] ^= 1 + rng.below(255);
    }
    bool overflow = false;
    const Bytes encoding = xbzrle_encode(old_page, fresh, &overflow);
    ASSERT_FALSE(overflow);
    expect_decodes_to(encoding, old_page, fresh);
  }
}

TEST(XbzrleFormat, DecoderRejectsMalformedEncodings) {
  const std::vector<Bytes> bad = {
      {0x00},                                // zrun without an nzrun
      {0x00, 0x00},                          // empty nzrun
      {0x00, 0x02, 0x01},                    // nzrun longer than the bytes left
      {0x01, 0x01, 0x05, 0x00, 0x01, 0x06},  // a second zrun of length 0
      {0x80, 0x20, 0x01, 0x07},              // zrun 4096 then a byte past the page
      {0xFF, 0x1F, 0x01, 0x07},              // valid: zrun 4095, nzrun 1 (the last byte)
      {0x00, 0x81, 0x80, 0x01},              // a three-byte ULEB128
      {0x00, 0x80},                          // a ULEB128 cut in half
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Bytes page(kPage, 0);
    const bool ok = xbzrle::decode_page(bad[i], page.data());
    // Entry 5 is the one valid encoding: it writes the page's last byte.
    EXPECT_EQ(i == 5, ok) << "case " << i;
  }
}

// ------------------------------------------------- xc_compression format

Bytes xc_encode(const Bytes& old_page, const Bytes& fresh) {
  PageBuf cached;
  std::memcpy(cached.bytes, old_page.data(), kPage);
  WordDiff diff;
  page_diff_kernels().diff_words(cached.bytes, fresh.data(), &diff);
  Bytes out(xc::kMaxEncodedBytes);
  out.resize(xc::encode_delta(diff, fresh.data(), out.data()));
  return out;
}

TEST(XcFormat, UnchangedPageIsTheEmptyMarker) {
  const Bytes page(kPage, 3);
  EXPECT_EQ(Bytes{0x00}, xc_encode(page, page));
}

TEST(XcFormat, OneWordChangedThenSkipRunsSplitAt127) {
  const Bytes old_page(kPage, 0);
  Bytes fresh = old_page;
  fresh[1] = 0xAB;  // word 0
  // copy 1 word; skip 1023 words = 8 x 127 + 7.
  const Bytes expected = {0x01, 0x00, 0xAB, 0x00, 0x00, 0xFF, 0xFF,
                          0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x87};
  const Bytes encoding = xc_encode(old_page, fresh);
  EXPECT_EQ(expected, encoding);
  Bytes page = old_page;
  EXPECT_EQ(encoding.size(), xc::decode_page(encoding, page.data()));
  EXPECT_EQ(fresh, page);
}

TEST(XcFormat, EveryWordChangedCosts4105Bytes) {
  const Bytes old_page(kPage, 0);
  Bytes fresh(kPage);
  for (size_t i = 0; i < kPage; ++i) fresh[i] = static_cast<uint8_t>(i | 1);
  const Bytes encoding = xc_encode(old_page, fresh);
  ASSERT_EQ(xc::kMaxEncodedBytes, encoding.size());
  for (size_t run = 0; run < 8; ++run) EXPECT_EQ(0x7F, encoding[run * (1 + 127 * 4)]);
  EXPECT_EQ(0x08, encoding[8 * (1 + 127 * 4)]);  // the last 8 words
  Bytes page = old_page;
  EXPECT_EQ(encoding.size(), xc::decode_page(encoding, page.data()));
  EXPECT_EQ(fresh, page);
}

TEST(XcFormat, FullPageMarker) {
  Rng rng(3);
  Bytes fresh(kPage);
  fill_random(fresh.data(), kPage, rng);
  Bytes encoding(xc::kFullPageBytes);
  ASSERT_EQ(xc::kFullPageBytes, xc::encode_full(fresh.data(), encoding.data()));
  EXPECT_EQ(0x80, encoding[0]);
  Bytes page(kPage, 0);
  EXPECT_EQ(xc::kFullPageBytes, xc::decode_page(encoding, page.data()));
  EXPECT_EQ(fresh, page);
}

TEST(XcFormat, DecoderRejectsMalformedPages) {
  const std::vector<Bytes> bad = {
      {},                  // nothing
      {0x80, 0x01},        // full page cut short
      {0x02, 0x11, 0x22},  // copy run cut short
      {0x81, 0x00},        // zero-length run after the first
      Bytes(7, 0xFF),      // runs end after 889 of the 1024 words
      {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x89},  // 1016 + 9 words
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Bytes page(kPage, 0);
    EXPECT_EQ(0u, xc::decode_page(bad[i], page.data())) << "case " << i;
  }
}

// -------------------------------------------------------------- codecs

// A primary memory, its replica, and one peer's encoder/decoder between them.
class Harness {
 public:
  Harness(PeerKind kind, const PeerOptions& options)
      : peer_(make_peer(kind, options)),
        primary_(options.tracked_pages * kPage),
        replica_(options.tracked_pages * kPage) {}

  uint8_t* page(uint64_t pfn) { return primary_.data() + pfn * kPage; }
  PeerEncoder& encoder() { return *peer_.encoder; }
  PeerDecoder& decoder() { return *peer_.decoder; }
  Bytes& replica() { return replica_; }
  bool replica_matches() const { return primary_ == replica_; }

  Bytes encode(const std::vector<uint64_t>& pfns) {
    std::vector<DirtyPage> pages;
    for (uint64_t pfn : pfns) pages.push_back({pfn, page(pfn)});
    Bytes wire(encoder().epoch_bound(pages.size()));
    size_t written = 0;
    const PeerStatus st = encoder().encode_epoch(pages, wire, &written);
    EXPECT_TRUE(st.ok()) << st.error;
    wire.resize(written);
    return wire;
  }
  PeerStatus apply(const Bytes& wire) { return decoder().apply_epoch(wire, replica_); }
  void replicate(const std::vector<uint64_t>& pfns) {
    const PeerStatus st = apply(encode(pfns));
    ASSERT_TRUE(st.ok()) << st.error << " at " << st.where;
  }

 private:
  Peer peer_;
  Bytes primary_, replica_;
};

std::vector<uint64_t> all_pfns(uint64_t n) {
  std::vector<uint64_t> pfns(n);
  for (uint64_t i = 0; i < n; ++i) pfns[i] = i;
  return pfns;
}

// One random change to a page, from untouched to rewritten.
void mutate(uint8_t* page, Rng& rng) {
  switch (rng.below(8)) {
    case 0: break;  // dirtied but rewritten with the same content
    case 1: std::memset(page, 0, kPage); break;
    case 2: fill_random(page, kPage, rng); break;
    case 3:  // dense: about a quarter of the bytes
      for (size_t i = 0; i < kPage; ++i)
        if (rng.below(4) == 0) page[i] ^= 1 + rng.below(255);
      break;
    case 4:  // every other byte: overflows XBZRLE
      for (size_t i = rng.below(2); i < kPage; i += 2) page[i] ^= 1 + rng.below(255);
      break;
    case 5:  // the first and last bytes
      page[0] ^= 1 + rng.below(255);
      page[kPage - 1] ^= 1 + rng.below(255);
      break;
    case 6:  // one 64-byte block
      fill_random(page + 64 * rng.below(64), 64, rng);
      break;
    default:  // a few short edits
      for (uint64_t e = 0, n = 1 + rng.below(4); e < n; ++e) {
        const size_t len = 1 + rng.below(24), at = rng.below(kPage - len + 1);
        for (size_t i = 0; i < len; ++i) page[at + i] ^= 1 + rng.below(255);
      }
  }
}

struct RoundTripCase {
  PeerKind kind;
  bool tiny_caches;
};

std::string case_name(const testing::TestParamInfo<RoundTripCase>& info) {
  std::string name(peer_name(info.param.kind));
  std::replace(name.begin(), name.end(), '-', '_');
  return name + (info.param.tiny_caches ? "_tiny_caches" : "_default_caches");
}

class PeerRoundTrip : public testing::TestWithParam<RoundTripCase> {};

TEST_P(PeerRoundTrip, ReplicaEqualsPrimaryAfterEveryEpoch) {
  constexpr uint64_t kPages = 96;
  PeerOptions options{.tracked_pages = kPages};
  if (GetParam().tiny_caches) {
    options.xc_cache_bytes = 3 * kPage;
    options.xbzrle_cache_bytes = 4 * kPage;
  }
  Harness h(GetParam().kind, options);
  Rng rng(42);
  for (uint64_t pfn = 0; pfn < kPages; ++pfn)
    if (pfn % 5 != 0) fill_random(h.page(pfn), kPage, rng);
  h.replicate(all_pfns(kPages));  // the initial full copy
  ASSERT_TRUE(h.replica_matches());

  for (int epoch = 0; epoch < 60; ++epoch) {
    // Mostly a hot set that fits the tiny caches, sometimes pages beyond it.
    std::vector<uint64_t> dirty;
    const uint64_t span = epoch % 3 == 0 ? kPages : 8;
    for (uint64_t pfn = 0; pfn < span; ++pfn)
      if (rng.below(3) == 0) dirty.push_back(pfn);
    for (uint64_t pfn : dirty) mutate(h.page(pfn), rng);
    h.replicate(dirty);
    ASSERT_TRUE(h.replica_matches()) << "epoch " << epoch;
  }
  const EncoderStats& stats = h.encoder().stats();
  EXPECT_EQ(61u, stats.epochs);
  if (GetParam().kind == PeerKind::kRemusXcCompression || GetParam().kind == PeerKind::kXbzrle) {
    EXPECT_GT(stats.cache_hits, 0u);
    EXPECT_GE(stats.cache_misses, kPages);
    if (GetParam().tiny_caches)
      EXPECT_GT(stats.cache_misses, kPages);
    else
      EXPECT_EQ(stats.cache_misses, kPages);  // the initial copy only
  }
}

std::vector<RoundTripCase> round_trip_cases() {
  std::vector<RoundTripCase> cases;
  for (PeerKind kind : all_peer_kinds())
    for (bool tiny : {false, true}) cases.push_back({kind, tiny});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllPeers, PeerRoundTrip, testing::ValuesIn(round_trip_cases()), case_name);

TEST(Peers, NamesAndOptions) {
  std::vector<std::string> names;
  for (PeerKind kind : all_peer_kinds()) names.emplace_back(peer_name(kind));
  EXPECT_EQ((std::vector<std::string>{"remus-full", "remus-xc", "xbzrle", "lz4", "zstd-1"}), names);
  EXPECT_THROW(make_peer(PeerKind::kLz4, {.tracked_pages = 0}), std::invalid_argument);
  EXPECT_THROW(make_peer(PeerKind::kXbzrle, {.tracked_pages = 1, .xbzrle_cache_bytes = kPage - 1}),
               std::invalid_argument);
  EXPECT_THROW(make_peer(PeerKind::kRemusXcCompression, {.tracked_pages = 1, .xc_cache_bytes = 0}),
               std::invalid_argument);
}

TEST(Peers, EncoderRejectsBadCallsWithoutSideEffects) {
  Harness h(PeerKind::kXbzrle, {.tracked_pages = 4});
  std::memset(h.page(0), 1, kPage);
  const DirtyPage pages[] = {{0, h.page(0)}, {4, h.page(0)}};
  Bytes wire(h.encoder().epoch_bound(2));
  size_t written = 1;
  PeerStatus st = h.encoder().encode_epoch(pages, wire, &written);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(1u, st.where);
  EXPECT_EQ(0u, written);
  st = h.encoder().encode_epoch(std::span(pages, 1), std::span(wire).first(100), &written);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(0u, h.encoder().stats().pages);
  // Nothing was cached, so page 0 still goes raw.
  h.replicate({0});
  EXPECT_EQ(1u, h.encoder().stats().cache_misses);
}

// ---------------------------------------------------------- cache policy

TEST(Peers, XcCacheEvictsTheLeastRecentlyUsedPage) {
  Harness h(PeerKind::kRemusXcCompression, {.tracked_pages = 8, .xc_cache_bytes = 2 * kPage});
  const EncoderStats& s = h.encoder().stats();
  h.replicate({0, 1});  // both miss
  EXPECT_EQ(2u, s.cache_misses);
  h.replicate({0});  // hit: 0 is now the most recent
  h.replicate({2});  // miss: evicts 1
  EXPECT_EQ(1u, s.cache_hits);
  EXPECT_EQ(3u, s.cache_misses);
  h.replicate({0});  // still cached
  EXPECT_EQ(2u, s.cache_hits);
  h.replicate({1});  // evicted earlier: a miss
  EXPECT_EQ(4u, s.cache_misses);
  EXPECT_TRUE(h.replica_matches());
}

TEST(Peers, XcSendsEmptyAndDeltaPagesOnHits) {
  Harness h(PeerKind::kRemusXcCompression, {.tracked_pages = 1});
  std::memset(h.page(0), 7, kPage);
  EXPECT_EQ(4u + 8 + xc::kFullPageBytes, h.encode({0}).size());
  EXPECT_EQ(4u + 8 + 1, h.encode({0}).size());  // unchanged: the empty marker
  h.page(0)[kPage - 1] = 0;
  // 1023 words skipped (8 x 127 + 7: 9 headers), then 1 word copied.
  EXPECT_EQ(4u + 8 + 9 + 1 + 4, h.encode({0}).size());
}

TEST(Peers, XbzrleCacheIsDirectMappedWithQemuLifetime) {
  // 3 pages round down to 2 slots: pfns 0 and 2 share slot 0.
  Harness h(PeerKind::kXbzrle, {.tracked_pages = 4, .xbzrle_cache_bytes = 3 * kPage});
  for (uint64_t pfn : {0, 2}) std::memset(h.page(pfn), static_cast<int>(pfn + 1), kPage);
  const EncoderStats& s = h.encoder().stats();
  h.replicate({0});  // epoch 1: miss, cached
  h.replicate({2});  // epoch 2: miss; 0 was used within 2 epochs, so 2 stays uncached
  h.replicate({0});  // epoch 3: hit
  EXPECT_EQ(1u, s.cache_hits);
  EXPECT_EQ(2u, s.cache_misses);
  h.replicate({2});  // epoch 4: refused again (0 used at epoch 3)
  h.replicate({});   // epoch 5
  h.replicate({2});  // epoch 6: 0 is stale now; 2 takes the slot
  h.replicate({2});  // epoch 7: hit
  h.replicate({0});  // epoch 8: 0 was evicted
  EXPECT_EQ(2u, s.cache_hits);
  EXPECT_EQ(5u, s.cache_misses);
  EXPECT_TRUE(h.replica_matches());
}

TEST(Peers, XbzrleRecords) {
  Harness h(PeerKind::kXbzrle, {.tracked_pages = 2});
  std::memset(h.page(0), 9, kPage);
  h.replicate({0, 1});  // page 0 raw, page 1 (zero) as a zero record
  EXPECT_EQ(1u, h.encoder().stats().raw_pages);
  // Unchanged pages send nothing; an unchanged zero page still sends its
  // zero record, as QEMU checks for zero pages first.
  EXPECT_EQ((Bytes{0, 0, 0, 0}), h.encode({0}));
  EXPECT_EQ(4u + 8 + 1, h.encode({1}).size());
  // An overflowing page goes raw, and the cache follows it: the next small
  // edit is a delta against the new content.
  for (size_t i = 0; i < kPage; i += 2) h.page(0)[i] ^= 0xFF;
  Bytes wire = h.encode({0});
  EXPECT_EQ(4u + 8 + 1 + kPage, wire.size());
  EXPECT_EQ(0, wire[12]);  // raw
  ASSERT_TRUE(h.apply(wire).ok());
  h.page(0)[100] ^= 1;
  wire = h.encode({0});
  // kind, length, zrun 100 (1 byte), nzrun 1, one byte.
  EXPECT_EQ(4u + 8 + 3 + 3, wire.size());
  EXPECT_EQ(1, wire[12]);
  ASSERT_TRUE(h.apply(wire).ok());
  EXPECT_TRUE(h.replica_matches());
}

TEST(Peers, CompressorsStoreIncompressiblePagesRaw) {
  for (PeerKind kind : {PeerKind::kLz4, PeerKind::kZstd}) {
    Harness h(kind, {.tracked_pages = 2});
    Rng rng(5);
    fill_random(h.page(0), kPage, rng);      // incompressible
    std::memset(h.page(1), 'x', kPage / 2);  // compressible
    const Bytes wire = h.encode({0, 1});
    EXPECT_EQ(1u, h.encoder().stats().raw_pages) << peer_name(kind);
    EXPECT_LT(wire.size(), 4u + 2 * 8 + 1 + kPage + 200) << peer_name(kind);
    ASSERT_TRUE(h.apply(wire).ok());
    EXPECT_TRUE(h.replica_matches());
  }
}

// --------------------------------------------------- hostile streams

// Two epochs so the second holds deltas as well as full pages.
Bytes second_epoch_stream(Harness& h, uint64_t pages) {
  Rng rng(99);
  for (uint64_t pfn = 0; pfn < pages; ++pfn) fill_random(h.page(pfn), kPage, rng);
  h.replicate(all_pfns(pages));
  for (uint64_t pfn = 0; pfn < pages; ++pfn) h.page(pfn)[pfn * 97 % kPage] ^= 0x5A;
  std::memset(h.page(1), 0, kPage);
  return h.encode(all_pfns(pages));
}

class PeerHostileStream : public testing::TestWithParam<PeerKind> {};

TEST_P(PeerHostileStream, EveryTruncationIsRejected) {
  Harness h(GetParam(), {.tracked_pages = 3});
  const Bytes wire = second_epoch_stream(h, 3);
  for (size_t len = 0; len < wire.size(); ++len) {
    const Bytes cut(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_FALSE(h.apply(cut).ok()) << "cut at " << len;
  }
  ASSERT_TRUE(h.apply(wire).ok());
  EXPECT_TRUE(h.replica_matches());
}

TEST_P(PeerHostileStream, TrailingBytesAndBadPfnsAreRejected) {
  Harness h(GetParam(), {.tracked_pages = 3});
  Bytes wire = second_epoch_stream(h, 3);
  Bytes longer = wire;
  longer.push_back(0);
  PeerStatus st = h.apply(longer);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(wire.size(), st.where);
  Bytes bad_pfn = wire;
  bad_pfn[4] = 3;  // the first record's pfn, one past the replica
  st = h.apply(bad_pfn);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(4u, st.where);
  Bytes odd_replica(kPage + 1);
  EXPECT_FALSE(h.decoder().apply_epoch(wire, odd_replica).ok());
}

// Where each record of a valid stream starts, and (last) where the stream
// ends: the end of record r - 1 is the shortest prefix that decodes once its
// record count says r, since a decoder takes only whole records and refuses
// bytes after the last one.
std::vector<size_t> record_bounds(PeerDecoder& decoder, const Bytes& wire, size_t replica_bytes) {
  Bytes scratch(replica_bytes);
  std::vector<size_t> bounds;
  size_t from = sizeof(uint32_t);
  for (uint32_t r = 0; r <= load_le<uint32_t>(wire.data()); ++r) {
    for (size_t len = from; len <= wire.size(); ++len) {
      Bytes prefix(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(len));
      store_le<uint32_t>(prefix.data(), r);
      if (decoder.apply_epoch(prefix, scratch).ok()) {
        bounds.push_back(len);
        break;
      }
    }
    if (bounds.size() != r + 1) return {};
    from = bounds.back() + 1;
  }
  return bounds;
}

// Every byte of the stream corrupted in turn, with a one-bit and an
// all-bit flip. Without checksums, what a peer decoder can catch is
// structure: a changed record count or a pfn beyond the replica is always
// refused, at the record it names, and an error is never blamed on bytes
// before the corruption. What it accepts changes no page but the one the
// corrupted record names (and, for a pfn that still fits, the page it now
// names). Full pages carry no structure at all: a flip in one arrives in the
// replica as exactly that flip.
TEST_P(PeerHostileStream, CorruptionsAreRefusedOrConfinedToTheirPage) {
  constexpr uint64_t kPages = 3;
  Harness h(GetParam(), {.tracked_pages = kPages});
  const Bytes before = h.replica();
  const Bytes wire = second_epoch_stream(h, kPages);
  Bytes clean = before;
  ASSERT_TRUE(h.decoder().apply_epoch(wire, clean).ok());
  const std::vector<size_t> bounds = record_bounds(h.decoder(), wire, before.size());
  ASSERT_EQ(bounds.size(), kPages + 1);
  ASSERT_EQ(bounds.back(), wire.size());
  const bool full_pages = GetParam() == PeerKind::kRemusFullPages;

  size_t refused = 0, accepted = 0;
  for (size_t at = 0; at < wire.size(); ++at) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0xFF}}) {
      SCOPED_TRACE("byte " + std::to_string(at) + " ^ " + std::to_string(flip));
      Bytes bad = wire;
      bad[at] ^= flip;
      Bytes replica = before;
      const PeerStatus st = h.decoder().apply_epoch(bad, replica);
      st.ok() ? ++accepted : ++refused;
      if (at < sizeof(uint32_t)) {
        EXPECT_FALSE(st.ok()) << "record count changed";
        continue;
      }
      // The record the byte belongs to, its pfn (records follow the pfns
      // 0, 1, 2) and where its payload starts.
      const uint64_t r = static_cast<uint64_t>(std::upper_bound(bounds.begin(), bounds.end(), at) -
                                               bounds.begin() - 1);
      const size_t payload = bounds[r] + sizeof(uint64_t);
      uint64_t named = r;
      if (at < payload) {
        named = load_le<uint64_t>(bad.data() + bounds[r]);
        if (named >= kPages) {
          ASSERT_FALSE(st.ok());
          EXPECT_EQ(st.where, bounds[r]);
          EXPECT_STREQ(st.error, "record pfn beyond the replica");
          continue;
        }
      } else if (!st.ok()) {
        EXPECT_GE(st.where, payload) << st.error;
        continue;
      }
      if (!st.ok()) continue;
      for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
        if (pfn == r || pfn == named) continue;
        EXPECT_EQ(0, std::memcmp(replica.data() + pfn * kPage, clean.data() + pfn * kPage, kPage))
            << "page " << pfn << " changed";
      }
      if (full_pages && at >= payload) {
        Bytes expected = clean;
        expected[r * kPage + (at - payload)] ^= flip;
        EXPECT_TRUE(replica == expected);
      }
    }
  }
  // Both outcomes occur: the test reaches structure and data alike.
  EXPECT_GT(refused, 0u);
  EXPECT_GT(accepted, 0u);
}

INSTANTIATE_TEST_SUITE_P(AllPeers, PeerHostileStream, testing::ValuesIn(all_peer_kinds()),
                         [](const testing::TestParamInfo<PeerKind>& info) {
                           std::string name(peer_name(info.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace fgbi::peers
