// Invariant 1 (DESIGN.md §6): after every committed epoch the replica equals
// the primary byte for byte - for random dirty sets and edits, every block
// size, one and several threads, digest on and off, any feed piece size.
// Also: the sender's output does not depend on its thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "support/replication.hpp"
#include "workload.hpp"

namespace fgbi::test {
namespace {

// Mutates a random subset of pages the way guests do and returns it.
std::vector<uint64_t> random_epoch(Pair& pair, eval::Rng& rng) {
  const uint64_t pages = pair.options().pages;
  std::vector<uint64_t> dirty;
  const double density = rng.unit();
  for (uint64_t pfn = 0; pfn < pages; ++pfn)
    if (rng.unit() < density * 0.5) dirty.push_back(pfn);
  // Dirty logs need not be sorted.
  for (size_t i = dirty.size(); i > 1; --i) std::swap(dirty[i - 1], dirty[rng.below(i)]);
  for (uint64_t pfn : dirty) {
    uint8_t* page = pair.page(pfn);
    switch (rng.below(5)) {
      case 0: break;  // rewritten with the same content
      case 1:         // whole page rewritten
        for (size_t i = 0; i < kPage; ++i) page[i] = static_cast<uint8_t>(rng.next());
        break;
      case 2:  // a zeroed region
        std::memset(page + rng.below(kPage / 2), 0, rng.below(kPage / 2));
        break;
      default: {  // a few sparse byte edits
        const uint64_t edits = 1 + rng.below(6);
        for (uint64_t e = 0; e < edits; ++e) page[rng.below(kPage)] ^= 1 + rng.below(255);
      }
    }
  }
  return dirty;
}

void fill_random(Pair& pair, uint64_t seed) {
  eval::Rng rng(seed);
  for (auto& b : pair.primary()) b = rng.below(3) == 0 ? 0 : static_cast<uint8_t>(rng.next());
}

using Params = std::tuple<int64_t /*block*/, int64_t /*threads*/, bool /*digest*/>;

class RoundTrip : public ::testing::TestWithParam<Params> {};

TEST_P(RoundTrip, ReplicaEqualsPrimaryAfterEveryEpoch) {
  const auto [block, threads, digest] = GetParam();
  PairOptions opt;
  opt.pages = 600;  // more than two segments of 256 pages
  opt.block_size = block;
  opt.threads = threads;
  opt.receiver_threads = threads;
  opt.digest = digest;
  Pair pair(opt);
  eval::Rng rng(static_cast<uint64_t>(block * 31 + threads * 7 + digest));
  fill_random(pair, rng.next());
  pair.replicate(all_pages(opt.pages));
  ASSERT_TRUE(pair.replica_matches_primary());
  for (int epoch = 0; epoch < 25; ++epoch) {
    const auto dirty = random_epoch(pair, rng);
    const size_t piece = rng.below(2) ? 1 + rng.below(5000) : SIZE_MAX;
    pair.replicate(dirty, piece);
    ASSERT_TRUE(pair.replica_matches_primary()) << "epoch " << pair.committed();
  }
}

INSTANTIATE_TEST_SUITE_P(AllGeometries, RoundTrip,
                         ::testing::Combine(::testing::Values(32, 64, 128, 256),
                                            ::testing::Values(1, 3), ::testing::Bool()),
                         [](const auto& info) {
                           return "block" + std::to_string(std::get<0>(info.param)) + "_threads" +
                                  std::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_digest" : "_nodigest");
                         });

// One buffer may hold several epochs and end inside the next. The receiver
// parses an epoch it is fed from its start where it lies; the one the
// buffer cuts short is copied and completed by the next buffer.
TEST(RoundTripFeed, BuffersHoldingSeveralEpochsOrEndingInsideOne) {
  PairOptions opt;
  opt.pages = 600;
  Pair pair(opt);
  eval::Rng rng(2026);
  fill_random(pair, 77);
  pair.replicate(all_pages(opt.pages));
  for (int round = 0; round < 12; ++round) {
    std::vector<uint8_t> joined;
    for (int e = 0; e < 3; ++e) {
      const auto stream = pair.encode(random_epoch(pair, rng));
      joined.insert(joined.end(), stream.begin(), stream.end());
    }
    const uint64_t before = pair.committed();
    // Round 0: all three epochs in one buffer; then a cut anywhere, after
    // which the rest comes in one buffer.
    const size_t cut = round == 0 ? joined.size() : 1 + rng.below(joined.size() - 1);
    ASSERT_EQ(fgbi_receiver_feed(pair.receiver(), joined.data(), cut), FGBI_OK);
    ASSERT_EQ(fgbi_receiver_feed(pair.receiver(), joined.data() + cut, joined.size() - cut),
              FGBI_OK);
    ASSERT_EQ(pair.committed(), before + 3) << "round " << round << ", cut at " << cut;
    ASSERT_TRUE(pair.replica_matches_primary()) << "round " << round << ", cut at " << cut;
  }
}

// The synchronisation (1,100 random pages, 4.5 MB) is large enough for the
// segments to be copied out by every thread; the later epochs are not.
TEST(RoundTripThreads, StreamIsByteIdenticalForAnyThreadCount) {
  std::vector<std::vector<std::vector<uint8_t>>> streams;
  for (int64_t threads : {1, 2, 4, 7}) {
    PairOptions opt;
    opt.pages = 1100;
    opt.threads = threads;
    opt.adaptive = 0;
    Pair pair(opt);
    eval::Rng rng(99);
    fill_random(pair, 1234);
    std::vector<std::vector<uint8_t>> run;
    run.push_back(pair.encode(all_pages(opt.pages)));
    for (int epoch = 0; epoch < 6; ++epoch) run.push_back(pair.encode(random_epoch(pair, rng)));
    streams.push_back(std::move(run));
  }
  for (size_t t = 1; t < streams.size(); ++t)
    for (size_t e = 0; e < streams[0].size(); ++e)
      EXPECT_TRUE(streams[t][e] == streams[0][e]) << "thread variant " << t << ", epoch " << e + 1;
}

TEST(RoundTripThreads, OnlyChangedBlocksTravel) {
  Pair pair(plain_options({.pages = 8}));
  fill_random(pair, 5);
  pair.replicate(all_pages(8));
  pair.page(2)[64 * 3 + 1] ^= 0xFF;  // block 3
  pair.page(2)[64 * 9] ^= 0xFF;      // block 9
  const auto stream = pair.encode({2});
  // header + segment header + one record (16 + 8-byte bitmap + 2 blocks) + trailer
  EXPECT_EQ(stream.size(), 48u + 32 + 16 + 8 + 2 * 64 + 48);
  ASSERT_EQ(pair.feed(stream), FGBI_OK);
  EXPECT_TRUE(pair.replica_matches_primary());
}

}  // namespace
}  // namespace fgbi::test
