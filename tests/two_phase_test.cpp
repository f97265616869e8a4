// Two-phase checkpoints and wire format v2: add_pages captures everything
// the epoch needs (the guest may write the pages right after), end_epoch
// encodes from staging and streams, the staging arena is bounded, every
// epoch carries its stream's identity, and fixed inputs give fixed bytes
// (golden vectors) on every backend and thread count.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "kernels.hpp"
#include "support/replication.hpp"
#include "wire/format.hpp"
#include "workload.hpp"

namespace fgbi::test {
namespace {

bool backend_available(int64_t backend) {
  return kernels::find_kernels(static_cast<kernels::Backend>(backend)) != nullptr;
}

std::string backend_name(int64_t backend) {
  switch (backend) {
    case FGBI_BACKEND_SCALAR: return "scalar";
    case FGBI_BACKEND_SIMD: return "simd";
    case FGBI_BACKEND_CUDA: return "cuda";
    default: return "auto";
  }
}

void fill(Pair& pair, uint64_t seed) {
  eval::Rng rng(seed);
  for (auto& b : pair.primary()) b = rng.below(3) == 0 ? 0 : static_cast<uint8_t>(rng.next());
}

// Edits a random third of the pages the way guests do (sparse bytes, zeroed
// runs, copied blocks, whole rewrites) and returns them, unsorted.
std::vector<uint64_t> edit_some(Pair& pair, eval::Rng& rng) {
  std::vector<uint64_t> dirty;
  const uint64_t pages = pair.options().pages;
  for (uint64_t pfn = 0; pfn < pages; ++pfn)
    if (rng.below(3) == 0) dirty.push_back(pfn);
  for (size_t i = dirty.size(); i > 1; --i) std::swap(dirty[i - 1], dirty[rng.below(i)]);
  for (uint64_t pfn : dirty) {
    uint8_t* page = pair.page(pfn);
    switch (rng.below(4)) {
      case 0:
        for (size_t i = 0; i < kPage; ++i) page[i] = static_cast<uint8_t>(rng.next());
        break;
      case 1: std::memset(page + rng.below(kPage / 2), 0, rng.below(kPage / 2)); break;
      case 2: std::memcpy(page + 128, pair.page((pfn + 1) % pages), 256); break;
      default:
        for (int e = 0; e < 3; ++e) page[rng.below(kPage)] ^= static_cast<uint8_t>(1 + e);
    }
  }
  return dirty;
}

// One epoch through the sender: the pages are captured, then `between`
// runs (as the resumed guest would), then the epoch is encoded and fed.
template <typename Between>
fgbi_status run_epoch(Pair& pair, const std::vector<uint64_t>& pfns, Between&& between) {
  std::vector<const void*> pages;
  for (uint64_t pfn : pfns) pages.push_back(pair.page(pfn));
  EXPECT_EQ(fgbi_sender_begin_epoch(pair.sender(), nullptr), FGBI_OK);
  EXPECT_EQ(fgbi_sender_add_pages(pair.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  between();
  std::vector<uint8_t> stream(fgbi_sender_epoch_bound(pair.sender(), pfns.size()));
  size_t n = 0;
  EXPECT_EQ(fgbi_sender_end_epoch(pair.sender(), stream.data(), stream.size(), &n), FGBI_OK);
  stream.resize(n);
  return pair.feed(stream, 1000);
}

using CaptureParams = std::tuple<int64_t /*backend*/, int64_t /*block*/, int64_t /*threads*/>;
class CaptureContract : public ::testing::TestWithParam<CaptureParams> {};

// A writer scribbles over every captured page after add_pages returns and
// before the epoch is encoded: the replica still equals the memory as it
// was at capture, and the scribbles travel in the next epoch.
TEST_P(CaptureContract, ReplicaIsTheSnapshotAtCaptureWhateverTheGuestWritesAfter) {
  const auto [backend, block, threads] = GetParam();
  if (!backend_available(backend)) GTEST_SKIP() << backend_name(backend) << " backend not present";
  PairOptions o;
  o.pages = 600;  // three segments
  o.block_size = block;
  o.threads = threads;
  o.receiver_threads = threads;
  o.backend = backend;
  o.cache_bytes = 256 * kPage;  // smaller than the memory: misses are captured whole
  Pair pair(o);
  fill(pair, 11);
  eval::Rng rng(static_cast<uint64_t>(block * 7 + threads));
  std::vector<uint64_t> dirty = all_pages(o.pages);
  for (int epoch = 1; epoch <= 8; ++epoch) {
    std::vector<uint8_t> snapshot;
    std::vector<uint64_t> scribbled;
    const fgbi_status st = run_epoch(pair, dirty, [&] {
      snapshot = pair.primary();
      for (uint64_t pfn : dirty) {
        if (rng.below(2) == 0) continue;
        uint8_t* page = pair.page(pfn);
        const size_t at = rng.below(kPage - 200);
        for (size_t i = at; i < at + 200; ++i) page[i] = static_cast<uint8_t>(rng.next());
        scribbled.push_back(pfn);
      }
    });
    ASSERT_EQ(st, FGBI_OK) << "epoch " << epoch << ": " << fgbi_error_name(st);
    ASSERT_TRUE(pair.replica() == snapshot) << "epoch " << epoch;
    // Log-dirty would report the scribbled pages too.
    dirty = edit_some(pair, rng);
    for (uint64_t pfn : scribbled)
      if (std::find(dirty.begin(), dirty.end(), pfn) == dirty.end()) dirty.push_back(pfn);
  }
  ASSERT_EQ(run_epoch(pair, dirty, [] {}), FGBI_OK);
  EXPECT_TRUE(pair.replica_matches_primary());
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CaptureContract,
    ::testing::Combine(::testing::Values(int64_t{FGBI_BACKEND_SCALAR}, int64_t{FGBI_BACKEND_SIMD},
                                         int64_t{FGBI_BACKEND_CUDA}),
                       ::testing::Values(int64_t{32}, int64_t{64}, int64_t{128}, int64_t{256}),
                       ::testing::Values(int64_t{1}, int64_t{3})),
    [](const ::testing::TestParamInfo<CaptureParams>& info) {
      return backend_name(std::get<0>(info.param)) + "_block" +
             std::to_string(std::get<1>(info.param)) + "_threads" +
             std::to_string(std::get<2>(info.param));
    });

// FGBI_P_STAGING_BYTES bounds the pages one epoch captures: past it a page
// fails with FGBI_E_STAGING_FULL and nothing of it is taken; the epoch ships
// what was captured and the rest goes into the next one.
TEST(StagingArena, FullArenaRefusesPagesAndTheRestFollowInTheNextEpoch) {
  Pair pair({.pages = 400});
  fill(pair, 5);
  fgbi_sender* s = pair.sender();
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_STAGING_BYTES, 1 << 20), FGBI_OK);  // 256 pages
  const std::vector<uint64_t> pfns = all_pages(400);
  std::vector<const void*> pages;
  for (uint64_t pfn : pfns) pages.push_back(pair.page(pfn));

  ASSERT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_OK);
  // All or nothing: the batch does not fit, nothing is captured.
  EXPECT_EQ(fgbi_sender_add_pages(s, pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_E_STAGING_FULL);
  // Page by page: the first 256 fit.
  std::vector<fgbi_status> status(pfns.size());
  EXPECT_EQ(fgbi_sender_add_pages(s, pfns.data(), pages.data(), pfns.size(), status.data()),
            FGBI_E_STAGING_FULL);
  for (size_t i = 0; i < pfns.size(); ++i)
    ASSERT_EQ(status[i], i < 256 ? FGBI_OK : FGBI_E_STAGING_FULL) << "page " << i;
  std::vector<uint8_t> stream(fgbi_sender_epoch_bound(s, 256));
  size_t n = 0;
  ASSERT_EQ(fgbi_sender_end_epoch(s, stream.data(), stream.size(), &n), FGBI_OK);
  stream.resize(n);
  ASSERT_EQ(pair.feed(stream), FGBI_OK);
  EXPECT_EQ(std::memcmp(pair.replica().data(), pair.primary().data(), 256 * kPage), 0);
  EXPECT_NE(std::memcmp(pair.replica().data() + 256 * kPage, pair.primary().data() + 256 * kPage,
                        144 * kPage),
            0);
  // The rest, in the next epoch.
  pair.replicate(std::vector<uint64_t>(pfns.begin() + 256, pfns.end()));
  EXPECT_TRUE(pair.replica_matches_primary());
}

// The header leaves before the segments, and each segment is handed over on
// its own, so a transport can send the epoch while it is being encoded.
TEST(Streaming, HeaderFirstThenEachSegmentThenTheTrailer) {
  Pair pair({.pages = 700});
  fill(pair, 8);
  const std::vector<uint64_t> pfns = all_pages(700);
  std::vector<const void*> pages;
  for (uint64_t pfn : pfns) pages.push_back(pair.page(pfn));
  ASSERT_EQ(fgbi_sender_begin_epoch(pair.sender(), nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(pair.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  std::vector<std::vector<uint8_t>> pieces;
  auto write = [](void* user, const void* data, size_t size) -> int {
    const auto* p = static_cast<const uint8_t*>(data);
    static_cast<std::vector<std::vector<uint8_t>>*>(user)->emplace_back(p, p + size);
    return 0;
  };
  ASSERT_EQ(fgbi_sender_end_epoch_cb(pair.sender(), write, &pieces), FGBI_OK);
  ASSERT_EQ(pieces.size(), 6u);  // header, 4 segments of 175 pages, trailer
  EXPECT_EQ(pieces.front().size(), 48u);
  EXPECT_EQ(load_le<uint32_t>(pieces[1].data()), 0x53424746u);  // "FGBS"
  EXPECT_EQ(pieces.back().size(), 48u);
  EXPECT_EQ(load_le<uint32_t>(pieces.back().data()), 0x54424746u);  // "FGBT"
  std::vector<uint8_t> stream;
  for (const auto& p : pieces) stream.insert(stream.end(), p.begin(), p.end());
  ASSERT_EQ(pair.feed(stream), FGBI_OK);
  EXPECT_TRUE(pair.replica_matches_primary());
}

// An epoch spliced in from another sender's stream - even one of whole
// pages, which needs nothing the receiver holds - is refused.
TEST(StreamIdentity, AnEpochFromAnotherStreamIsRefused) {
  Pair a({.pages = 32, .stream_id = 1});
  Pair b({.pages = 32, .stream_id = 2});
  fill(a, 1);
  fill(b, 2);
  a.replicate(all_pages(32));
  b.replicate(all_pages(32));
  const std::vector<uint8_t> before = a.replica();
  // b's second epoch (whole pages, the numbers a's receiver expects next).
  for (uint64_t pfn = 0; pfn < 32; ++pfn) b.page(pfn)[0] ^= 1;
  const std::vector<uint8_t> spliced = b.encode(all_pages(32));
  EXPECT_EQ(a.feed(spliced), FGBI_E_STREAM_MISMATCH);
  EXPECT_TRUE(a.replica() == before);
  // The stream goes on with a's own epoch.
  ASSERT_EQ(fgbi_receiver_reset_stream(a.receiver()), FGBI_OK);
  ASSERT_EQ(fgbi_receiver_set_committed_epoch(a.receiver(), 1), FGBI_OK);
  a.page(3)[7] ^= 0x55;
  // After a reset the receiver takes the next stream as it comes: a's.
  a.replicate({3});
  EXPECT_TRUE(a.replica_matches_primary());
}

TEST(StreamIdentity, SendersPickDistinctRandomIdsByDefault) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    Pair p({.pages = 4, .stream_id = 0});
    const std::vector<uint8_t> stream = p.encode(all_pages(4));
    ids.push_back(load_le<uint64_t>(stream.data() + 32));
    EXPECT_NE(ids.back(), 0u);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
}

// Segments share the pages evenly, four (or a multiple of four) of them
// where each can keep 64 pages or more, so that two or four threads get
// equal work: the count read from the trailer, for each epoch size.
TEST(Streaming, SegmentsShareThePagesEvenly) {
  const std::pair<uint64_t, uint32_t> cases[] = {
      {100, 1},    // too few pages for more than one segment of 64
      {200, 3},    // three of 67, 67 and 66
      {600, 4},    // four of 150, not 256 + 256 + 88
      {1024, 4},   // four of 256
      {1500, 8},   // eight of at most 188, not six
      {4097, 20},  // twenty of at most 205
  };
  for (const auto& [pages, segments] : cases) {
    Pair pair({.pages = pages});
    fill(pair, 12);
    const std::vector<uint8_t> stream = pair.encode(all_pages(pages));
    ASSERT_GE(stream.size(), wire::kTrailerBytes);
    wire::Trailer trailer;
    ASSERT_EQ(wire::decode_trailer(stream.data() + stream.size() - wire::kTrailerBytes, &trailer),
              FGBI_OK);
    EXPECT_EQ(trailer.segment_count, segments) << pages << " pages";
    ASSERT_EQ(pair.feed(stream), FGBI_OK);
    EXPECT_TRUE(pair.replica_matches_primary()) << pages << " pages";
  }
}

// Golden vectors: fixed inputs with FGBI_P_ADAPTIVE=0 and a fixed stream id
// give these epoch bytes and replica digests on every backend and thread
// count, fed whole, in random pieces or byte by byte.
struct Golden {
  uint64_t stream_xxh3;
  uint64_t replica_digest;
};
// The bytes also pin the codec libraries' output (Debian 12's LZ4, zstd and
// zlib): a different library version may change them, not the replicas.
constexpr Golden kGolden[] = {
    {0x3f8ec0ce7dce592f, 0xcb6aa97ed78d1a74},
    {0xec67a4fdec1caba5, 0x52a21e3b36150b61},
    {0x460ccc21799ac723, 0x57cdf75f06cd3d53},
    {0x3f9569bb5ff7ee5f, 0x3e76a46d04a262f4},
};

using GoldenParams = std::tuple<int64_t /*backend*/, int64_t /*threads*/>;
class GoldenVectors : public ::testing::TestWithParam<GoldenParams> {};

TEST_P(GoldenVectors, FixedInputsGiveFixedEpochsAndReplicas) {
  const auto [backend, threads] = GetParam();
  if (!backend_available(backend)) GTEST_SKIP() << backend_name(backend) << " backend not present";
  PairOptions o;
  o.pages = 300;
  o.adaptive = 0;
  o.threads = threads;
  o.backend = backend;
  o.stream_id = 0x0123456789abcdef;
  Pair pair(o);
  fill(pair, 2024);
  eval::Rng rng(7);
  std::vector<uint64_t> dirty = all_pages(o.pages);
  for (size_t epoch = 0; epoch < std::size(kGolden); ++epoch) {
    const std::vector<uint8_t> stream = pair.encode(dirty);
    const uint64_t got = xxh3(stream.data(), stream.size());
    EXPECT_EQ(got, kGolden[epoch].stream_xxh3)
        << "epoch " << epoch + 1 << " bytes: 0x" << std::hex << got;
    // Whole, in random pieces or byte by byte, epoch by epoch.
    switch (epoch % 3) {
      case 0: ASSERT_EQ(pair.feed(stream), FGBI_OK); break;
      case 1: {
        for (size_t at = 0; at < stream.size();) {
          const size_t n = std::min(stream.size() - at, size_t{1} + rng.below(5000));
          ASSERT_EQ(fgbi_receiver_feed(pair.receiver(), stream.data() + at, n), FGBI_OK);
          at += n;
        }
        break;
      }
      default: ASSERT_EQ(pair.feed(stream, 1), FGBI_OK);
    }
    ASSERT_TRUE(pair.replica_matches_primary());
    const uint64_t digest = fgbi_memory_digest(pair.replica().data(), pair.replica().size());
    EXPECT_EQ(digest, kGolden[epoch].replica_digest)
        << "epoch " << epoch + 1 << " replica: 0x" << std::hex << digest;
    dirty = edit_some(pair, rng);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GoldenVectors,
                         ::testing::Combine(::testing::Values(int64_t{FGBI_BACKEND_SCALAR},
                                                              int64_t{FGBI_BACKEND_SIMD},
                                                              int64_t{FGBI_BACKEND_CUDA}),
                                            ::testing::Values(int64_t{1}, int64_t{2}, int64_t{4})),
                         [](const ::testing::TestParamInfo<GoldenParams>& info) {
                           return backend_name(std::get<0>(info.param)) + "_threads" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace fgbi::test
