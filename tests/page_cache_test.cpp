// The sender's page cache: a copy is returned only for the epoch it was
// last made current in, and CLOCK reclaims copies that went stale.
#include "sender/page_cache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace fgbi {
namespace {

constexpr uint32_t kPageBytes = 4096;

std::array<uint8_t, kPageBytes> page_of(uint8_t fill) {
  std::array<uint8_t, kPageBytes> page;
  page.fill(fill);
  return page;
}

TEST(PageCache, ACopyIsFoundOnlyForTheEpochItEquals) {
  PageCache cache;
  ASSERT_TRUE(cache.configure(4 * kPageBytes, kPageBytes, 16));
  const auto page = page_of(7);
  ASSERT_TRUE(cache.insert(3, page.data(), /*epoch=*/5, /*only_if_free=*/false));
  const uint8_t* found = cache.find(3, 5);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(std::memcmp(found, page.data(), kPageBytes), 0);
  EXPECT_EQ(cache.peek(3, 5), found);
  // Epoch 6 sent the page without the cache: the copy of epoch 5 is stale.
  EXPECT_EQ(cache.find(3, 6), nullptr);
  EXPECT_EQ(cache.peek(3, 6), nullptr);
  EXPECT_EQ(cache.find(4, 0), nullptr) << "never cached";
  // A copy refreshed (or left unchanged) by epoch 7 is current as of 7 only.
  cache.advance(3, 5, 7);
  EXPECT_NE(cache.find(3, 7), nullptr);
  EXPECT_EQ(cache.find(3, 5), nullptr);
  // Advancing from an epoch the copy does not equal changes nothing.
  cache.advance(3, 5, 9);
  EXPECT_EQ(cache.find(3, 9), nullptr);
  EXPECT_NE(cache.find(3, 7), nullptr);
  // Inserting over a stale copy makes it current again, in the same slot:
  // with every other slot taken, an insert that needs a free one succeeds.
  for (uint64_t other : {5, 6, 7}) ASSERT_TRUE(cache.insert(other, page.data(), 9, false));
  EXPECT_FALSE(cache.insert(8, page.data(), 9, /*only_if_free=*/true)) << "the cache is full";
  const auto fresh = page_of(8);
  ASSERT_TRUE(cache.insert(3, fresh.data(), 12, /*only_if_free=*/true));
  ASSERT_NE(cache.find(3, 12), nullptr);
  EXPECT_EQ(cache.find(3, 12)[0], 8);
  cache.invalidate(3);
  EXPECT_EQ(cache.find(3, 12), nullptr);
}

TEST(PageCache, ClockTakesAStaleCopyBeforeOneInUse) {
  PageCache cache;
  ASSERT_TRUE(cache.configure(2 * kPageBytes, kPageBytes, 16));
  const auto page = page_of(1);
  ASSERT_TRUE(cache.insert(0, page.data(), 1, false));
  ASSERT_TRUE(cache.insert(1, page.data(), 1, false));
  EXPECT_FALSE(cache.insert(2, page.data(), 1, /*only_if_free=*/true)) << "no slot is free";
  // Both copies in use; then page 1 is sent without the cache (epoch 2) and
  // its next lookup finds the copy stale, while page 0's is used again.
  ASSERT_NE(cache.find(0, 1), nullptr);
  ASSERT_NE(cache.find(1, 1), nullptr);
  ASSERT_EQ(cache.find(1, 2), nullptr);
  ASSERT_NE(cache.find(0, 1), nullptr);
  // The hand starts at page 0's slot: it clears that bit and moves on to
  // the stale copy, whose bit the lookup cleared.
  ASSERT_TRUE(cache.insert(2, page.data(), 3, false));
  EXPECT_NE(cache.find(2, 3), nullptr);
  EXPECT_NE(cache.find(0, 1), nullptr) << "the copy in use stays";
  EXPECT_EQ(cache.peek(1, 1), nullptr) << "the stale copy's slot went to page 2";
}

}  // namespace
}  // namespace fgbi
