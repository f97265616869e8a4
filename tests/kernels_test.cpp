// Kernel backends against the scalar reference: every SIMD function, every
// compiled Highway target, every block size, unaligned pointers; plus the
// XOR-RLE delta format for both backends against a byte-by-byte reference
// encoder (canonical bytes, exact capacities, round trip, bounds, rejection).
#include <gtest/gtest.h>
#include <hwy/tests/hwy_gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "block_hash.hpp"
#include "kernels.hpp"
#include "support/identify_case.hpp"

namespace fgbi::kernels {
namespace {

using test::fill_random;
using test::IdentifyCase;
using test::UnalignedBuffer;

constexpr uint32_t kBlockSizes[] = {32, 64, 128, 256};

// Random bitmap over the blocks of a page, about `density` of them set.
std::vector<uint64_t> random_bitmap(uint32_t block_size, double density, std::mt19937_64& rng) {
  std::vector<uint64_t> bitmap(kBitmapWords, 0);
  std::bernoulli_distribution set(density);
  for (uint32_t b = 0; b < kPageSize / block_size; ++b)
    if (set(rng)) bitmap[b / 64] |= 1ull << (b % 64);
  return bitmap;
}

size_t popcount(const std::vector<uint64_t>& bitmap) {
  size_t n = 0;
  for (uint64_t w : bitmap) n += static_cast<size_t>(__builtin_popcountll(w));
  return n;
}

TEST(KernelDispatch, AutoPicksSimd) {
  ASSERT_NE(simd_kernels(), nullptr);
  EXPECT_EQ(find_kernels(Backend::kAuto), simd_kernels());
  EXPECT_EQ(find_kernels(Backend::kSimd), simd_kernels());
  EXPECT_EQ(find_kernels(Backend::kScalar), scalar_kernels());
  EXPECT_STREQ(simd_kernels()->name, "simd");
  ASSERT_NE(simd_target_name(), nullptr);
}

// Runs on each Highway target this build compiled and the CPU supports,
// for each block size.
class SimdVsScalar : public hwy::TestWithParamTargetAndT<uint32_t> {
 protected:
  const KernelTable& simd() const { return *simd_kernels(); }
  const KernelTable& scalar() const { return *scalar_kernels(); }
  uint32_t block_size() { return GetParam(); }
  uint32_t blocks_per_page() { return kPageSize / block_size(); }
  std::mt19937_64 rng_{0x5EED0000ull + GetParam()};
};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P_T(SimdVsScalar, testing::ValuesIn(kBlockSizes));

TEST_P(SimdVsScalar, RunsTheSelectedTarget) {
  const int64_t target =
      std::get<0>(testing::TestWithParam<std::tuple<int64_t, uint32_t>>::GetParam());
  EXPECT_STREQ(simd_target_name(), hwy::TargetName(target));
}

TEST_P(SimdVsScalar, HashBlocks) {
  const uint64_t masks[] = {~0ull, 0xFFFFFFFFull, 0xFull};
  for (size_t n_blocks : {size_t{0}, size_t{1}, size_t{3}, size_t{8}, size_t{9}, size_t{67}}) {
    for (size_t misalign : {0, 1, 7, 33}) {
      UnalignedBuffer buffer(n_blocks * block_size(), misalign);
      fill_random(buffer.data(), n_blocks * block_size(), rng_);
      for (uint64_t mask : masks) {
        std::vector<uint64_t> expected(n_blocks + 1, 0xAA), actual(n_blocks + 1, 0xAA);
        scalar().hash_blocks(buffer.data(), n_blocks, block_size(), mask, expected.data());
        simd().hash_blocks(buffer.data(), n_blocks, block_size(), mask, actual.data());
        ASSERT_EQ(actual, expected) << n_blocks << " blocks, misalign " << misalign;
      }
    }
  }
}

// Every Highway target's page check, over any count of blocks (the lanes'
// sums and the tail), is the scalar reference's.
TEST_P(SimdVsScalar, PageCheck) {
  std::vector<uint64_t> hashes(kMaxBlocksPerPage);
  for (int trial = 0; trial < 8; ++trial) {
    for (auto& h : hashes) h = rng_();
    for (uint32_t blocks = 0; blocks <= kMaxBlocksPerPage; ++blocks)
      ASSERT_EQ(simd().page_check(hashes.data(), blocks),
                scalar().page_check(hashes.data(), blocks))
          << blocks << " blocks";
  }
}

TEST_P(SimdVsScalar, Identify) {
  for (uint64_t mask : {~0ull, 0xFFFFull, 0x7ull}) {
    IdentifyCase c(23, block_size(), mask, rng_);
    for (bool want_zero : {false, true}) {
      const auto expected = c.run(scalar(), block_size(), mask, want_zero);
      // Staged with cached stores, and around the cache (a large epoch's).
      for (bool stream : {false, true}) {
        const auto actual = c.run(simd(), block_size(), mask, want_zero, stream);
        EXPECT_EQ(actual.hashes, expected.hashes) << "mask " << mask << ", stream " << stream;
        EXPECT_EQ(actual.changed, expected.changed) << "mask " << mask << ", stream " << stream;
        EXPECT_EQ(actual.zero, expected.zero) << "mask " << mask << ", stream " << stream;
        EXPECT_TRUE(actual.staged == expected.staged) << "mask " << mask << ", stream " << stream;
      }
    }
  }
}

TEST_P(SimdVsScalar, IdentifyReportsEditsZerosAndUnknownPages) {
  IdentifyCase c(6, block_size(), ~0ull, rng_);
  const auto r = c.run(simd(), block_size(), ~0ull, true);
  for (size_t p = 0; p < c.pages.size(); ++p) {
    for (uint32_t b = 0; b < blocks_per_page(); ++b) {
      const uint8_t* block = c.page_ptrs[p] + b * block_size();
      const uint64_t now = block_hash_reference(block, block_size());
      const bool edited = now != c.hashes[p][b];
      const bool zero = std::all_of(block, block + block_size(), [](uint8_t v) { return v == 0; });
      const uint64_t bit = 1ull << (b % 64);
      EXPECT_EQ((r.changed[p * kBitmapWords + b / 64] & bit) != 0, edited || !c.known[p]);
      EXPECT_EQ((r.zero[p * kBitmapWords + b / 64] & bit) != 0, zero);
      EXPECT_EQ(r.hashes[p][b], now);
    }
    for (uint32_t b = blocks_per_page(); b < kBitmapWords * 64; ++b) {
      EXPECT_EQ(r.changed[p * kBitmapWords + b / 64] & (1ull << (b % 64)), 0u);
      EXPECT_EQ(r.zero[p * kBitmapWords + b / 64] & (1ull << (b % 64)), 0u);
    }
    // The capture's copy: the changed blocks (all of an unknown page or of
    // one to stage whole) in order, and nothing past them.
    std::vector<uint8_t> expected;
    for (uint32_t b = 0; b < blocks_per_page(); ++b) {
      const bool changed = (r.changed[p * kBitmapWords + b / 64] >> (b % 64)) & 1;
      if (!changed && !c.copy_all[p]) continue;
      const uint8_t* block = c.page_ptrs[p] + b * block_size();
      expected.insert(expected.end(), block, block + block_size());
    }
    expected.resize(kPageSize, IdentifyCase::kUnstaged);
    EXPECT_TRUE(r.staged[p] == expected) << "page " << p;
  }
}

// Stores around the cache write what scatter_blocks writes, on a page
// aligned for them (0) and on pages they cannot take (the scatter's path).
TEST_P(SimdVsScalar, StreamWritesWhatScatterWrites) {
  for (size_t misalign : {0, 8, 16, 41}) {
    for (double density : {0.02, 0.5, 1.0}) {
      const auto bitmap = random_bitmap(block_size(), density, rng_);
      std::vector<uint8_t> packed(popcount(bitmap) * block_size());
      fill_random(packed.data(), packed.size(), rng_);
      UnalignedBuffer target(kPageSize, misalign), reference(kPageSize, 0);
      fill_random(target.data(), kPageSize, rng_);
      std::memcpy(reference.data(), target.data(), kPageSize);
      scalar().scatter_blocks(reference.data(), bitmap.data(), block_size(), packed.data());
      simd().stream_blocks(target.data(), bitmap.data(), block_size(), packed.data());
      kernels::end_streamed_writes();
      ASSERT_EQ(0, std::memcmp(target.data(), reference.data(), kPageSize))
          << "misalign " << misalign << ", density " << density;
    }
  }
}

TEST_P(SimdVsScalar, GatherAndScatter) {
  for (double density : {0.0, 0.02, 0.3, 0.9, 1.0}) {
    const auto bitmap = random_bitmap(block_size(), density, rng_);
    const size_t bytes = popcount(bitmap) * block_size();
    UnalignedBuffer page(kPageSize, 5), packed(bytes, 19);
    fill_random(page.data(), kPageSize, rng_);

    std::vector<uint8_t> expected(bytes + 1, 0x5A);
    scalar().gather_blocks(page.data(), bitmap.data(), block_size(), expected.data());
    std::memset(packed.data(), 0x5A, bytes);
    simd().gather_blocks(page.data(), bitmap.data(), block_size(), packed.data());
    ASSERT_EQ(0, std::memcmp(packed.data(), expected.data(), bytes)) << density;

    // Scatter the gathered blocks into a different page: the selected
    // blocks become the source's, the rest stay.
    UnalignedBuffer target(kPageSize, 41), reference(kPageSize, 0);
    fill_random(target.data(), kPageSize, rng_);
    std::memcpy(reference.data(), target.data(), kPageSize);
    scalar().scatter_blocks(reference.data(), bitmap.data(), block_size(), packed.data());
    simd().scatter_blocks(target.data(), bitmap.data(), block_size(), packed.data());
    ASSERT_EQ(0, std::memcmp(target.data(), reference.data(), kPageSize)) << density;
    for (uint32_t b = 0; b < blocks_per_page(); ++b) {
      const bool selected = (bitmap[b / 64] >> (b % 64)) & 1;
      if (selected) {
        ASSERT_EQ(0, std::memcmp(target.data() + b * block_size(), page.data() + b * block_size(),
                                 block_size()));
      }
    }
  }
}

// ---------------------------------------------------------------- XOR-RLE

// The canonical delta, byte by byte, straight from the rules in xor_rle.hpp
// (the backends use a bitmap walk instead): a literal starts at a nonzero
// byte of x and runs while fewer than 3 zero bytes follow before the next
// nonzero one; a zero run reaching the end ends it.
std::vector<uint8_t> reference_xor_rle(const uint8_t* current, const uint8_t* previous,
                                       size_t size) {
  const auto differs = [&](size_t i) { return current[i] != previous[i]; };
  std::vector<uint8_t> delta;
  auto put_uleb128 = [&](uint64_t v) {
    for (; v >= 0x80; v >>= 7) delta.push_back(static_cast<uint8_t>(v | 0x80));
    delta.push_back(static_cast<uint8_t>(v));
  };
  size_t offset = 0;
  for (size_t start = 0; start < size; ++start) {
    if (!differs(start)) continue;
    size_t end = start + 1;  // one past the last nonzero byte so far
    for (size_t next = end; next < size && next - end < kXorRleMinZeroRun; ++next)
      if (differs(next)) end = next + 1;
    put_uleb128(start - offset);
    put_uleb128(end - start);
    for (size_t i = start; i < end; ++i) delta.push_back(current[i] ^ previous[i]);
    offset = end;
    start = end - 1;
  }
  return delta;
}

using XorRleCase = std::pair<std::vector<uint8_t>, std::vector<uint8_t>>;  // current, previous

// Pairs (current, previous) whose differences have the shapes the encoder
// must split or merge: none, all, sparse bytes, gaps of 1..4 equal bytes
// (also across 64-byte words), runs crossing words, differences at both
// ends and right at the end, edits like a guest's, random densities.
std::vector<XorRleCase> xor_rle_cases(std::mt19937_64& rng) {
  std::vector<XorRleCase> cases;
  auto add = [&](size_t size, auto&& differs) {
    std::vector<uint8_t> previous(size), current(size);
    fill_random(previous.data(), size, rng);
    for (size_t i = 0; i < size; ++i)
      current[i] = differs(i) ? static_cast<uint8_t>(previous[i] ^ (1 + rng() % 255)) : previous[i];
    cases.emplace_back(std::move(current), std::move(previous));
  };
  for (size_t size : {0, 1, 2, 3, 5, 32, 63, 64, 65, 96, 127, 128, 200, 4095, 4096, 20000}) {
    add(size, [](size_t) { return false; });
    add(size, [](size_t) { return true; });
    add(size, [&](size_t i) { return i == 0 || i + 1 == size; });
    add(size, [&](size_t i) { return i + 1 == size; });
    add(size, [&](size_t i) { return i + 3 >= size; });
    for (size_t gap = 1; gap <= 4; ++gap) {
      add(size, [gap](size_t i) { return i % (gap + 1) == 0; });
      // One gap of `gap` equal bytes in each word, ending at its last byte,
      // straddling its end or starting the next word.
      for (size_t end_in_word : {63, 64, 65})
        add(size, [=](size_t i) {
          const size_t at = (i + 64 - end_in_word % 64) % 64;  // 0 where a gap ends
          return at == 0 || at == 63 - gap;
        });
    }
    add(size, [](size_t i) { return i % 64 == 63 || i % 64 == 0; });
    add(size, [](size_t i) { return i % 64 >= 60 || i % 64 < 5; });  // runs across words
    add(size, [](size_t i) { return i % 128 < 70; });                // literals longer than a word
    for (size_t edits : {1, 2, 16, 64}) {  // edits of 1..31 bytes at random places
      std::vector<bool> edited(size, false);
      for (size_t e = 0; e < edits && size > 0; ++e) {
        const size_t length = 1 + rng() % 31, at = rng() % size;
        for (size_t i = at; i < std::min(size, at + length); ++i) edited[i] = true;
      }
      add(size, [&](size_t i) { return edited[i]; });
    }
    for (double density : {0.001, 0.05, 0.25, 0.5, 0.95}) {
      std::bernoulli_distribution d(density);
      add(size, [&](size_t) { return d(rng); });
    }
  }
  // One long literal past the two-byte ULEB128 range (>= 16384 bytes), and
  // zero runs that long.
  add(70000, [](size_t i) { return i >= 10 && i < 69990; });
  add(70000, [](size_t i) { return i == 5 || i == 30000 || i == 69999; });
  return cases;
}

// The backend's delta must be the reference's bytes, fit a buffer of exactly
// that size (and not one byte less) and decode back to current. Every
// buffer is allocated at its exact size, so sanitizers catch any access
// past an end.
void check_xor_rle(const KernelTable& kernels, const uint8_t* current_bytes,
                   const uint8_t* previous_bytes, size_t size) {
  const std::vector<uint8_t> current(current_bytes, current_bytes + size);
  const std::vector<uint8_t> previous(previous_bytes, previous_bytes + size);
  const std::vector<uint8_t> expected = reference_xor_rle(current.data(), previous.data(), size);
  const size_t n = expected.size();
  ASSERT_LE(n, xor_rle_bound(size));

  std::vector<uint8_t> roomy(xor_rle_bound(size) + 64);
  ASSERT_EQ(
      kernels.xor_rle_encode(current.data(), previous.data(), size, roomy.data(), roomy.size()), n)
      << kernels.name << " size " << size;
  ASSERT_TRUE(std::equal(expected.begin(), expected.end(), roomy.begin()))
      << kernels.name << " size " << size;

  std::vector<uint8_t> exact(n);
  ASSERT_EQ(kernels.xor_rle_encode(current.data(), previous.data(), size, exact.data(), n), n)
      << kernels.name << " size " << size;
  ASSERT_EQ(exact, expected) << kernels.name << " size " << size;
  if (n > 0) {
    // Too small by one byte: refused, and nothing written past the end.
    std::vector<uint8_t> short_by_one(n - 1);
    EXPECT_EQ(
        kernels.xor_rle_encode(current.data(), previous.data(), size, short_by_one.data(), n - 1),
        kXorRleTooLarge)
        << kernels.name << " size " << size;
  }

  std::vector<uint8_t> data = previous;
  ASSERT_TRUE(kernels.xor_rle_decode(exact.data(), n, data.data(), size)) << kernels.name;
  ASSERT_EQ(data, current) << kernels.name << " size " << size;
}

void check_xor_rle_cases(const KernelTable& kernels, std::mt19937_64& rng) {
  for (const auto& [current, previous] : xor_rle_cases(rng)) {
    check_xor_rle(kernels, current.data(), previous.data(), current.size());
    if (::testing::Test::HasFailure()) return;
  }
}

// Every pattern of differences in 12 consecutive bytes placed across a
// 64-byte word boundary and at the very end of short data, and in 8 bytes
// across word boundaries of longer data, the encoders' 4 KiB chunk boundary
// and the end of a page: all gap lengths and literal ends the bitmap walk
// must get right, on its word-by-word path (up to 512 bytes) and its
// chunked one.
void check_every_small_pattern(const KernelTable& kernels) {
  struct Placement {
    size_t size, at, width;
  } const placements[] = {{12, 0, 12},   {64, 52, 12},    {100, 88, 12},
                          {128, 58, 12}, {512, 252, 8},   {600, 252, 8},
                          {600, 592, 8}, {4096, 4088, 8}, {4160, 4092, 8}};
  for (const Placement& place : placements) {
    std::vector<uint8_t> previous(place.size, 0x5C);
    for (uint32_t pattern = 0; pattern < (1u << place.width); ++pattern) {
      std::vector<uint8_t> current = previous;
      for (size_t i = 0; i < place.width; ++i)
        if ((pattern >> i) & 1) current[place.at + i] ^= static_cast<uint8_t>(0x11 * (i + 1));
      check_xor_rle(kernels, current.data(), previous.data(), place.size);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(XorRleReference, DocumentedEncoding) {
  // x = 00 00 05 00 00 07 00 00 00 09: the two-zero gap stays inside the
  // literal; the three-zero gap ends it; trailing bytes are not coded.
  const std::vector<uint8_t> previous(12, 0xF0);
  std::vector<uint8_t> current = previous;
  current[2] ^= 0x05;
  current[5] ^= 0x07;
  current[9] ^= 0x09;
  const std::vector<uint8_t> expected = {2, 4, 0x05, 0, 0, 0x07, 3, 1, 0x09};
  EXPECT_EQ(reference_xor_rle(current.data(), previous.data(), 12), expected);
  for (const KernelTable* kernels : {scalar_kernels(), simd_kernels()}) {
    uint8_t delta[32];
    const size_t n =
        kernels->xor_rle_encode(current.data(), previous.data(), 12, delta, sizeof delta);
    EXPECT_EQ(std::vector<uint8_t>(delta, delta + std::min(n, sizeof delta)), expected)
        << kernels->name;
  }
}

TEST(XorRleScalar, MatchesReference) {
  std::mt19937_64 rng(7);
  check_xor_rle_cases(*scalar_kernels(), rng);
}

TEST(XorRleScalar, EverySmallPattern) { check_every_small_pattern(*scalar_kernels()); }

TEST(XorRleScalar, BoundHoldsForWorstCases) {
  // The densest header pattern is one differing byte per four.
  for (size_t size : {1, 4, 100, 4096, 16384, 16387, 100000}) {
    std::vector<uint8_t> previous(size, 0), current(size, 0);
    for (size_t i = 0; i < size; i += 4) current[i] = 1;
    std::vector<uint8_t> delta(xor_rle_bound(size));
    EXPECT_NE(scalar_kernels()->xor_rle_encode(current.data(), previous.data(), size, delta.data(),
                                               delta.size()),
              kXorRleTooLarge)
        << size;
    std::fill(current.begin(), current.end(), 1);
    EXPECT_NE(scalar_kernels()->xor_rle_encode(current.data(), previous.data(), size, delta.data(),
                                               delta.size()),
              kXorRleTooLarge)
        << size;
  }
}

// Malformed deltas for 16 data bytes: each must be rejected with the data
// left as it was, by every backend.
const std::vector<std::vector<uint8_t>> kMalformedDeltas = {
    {0x00},                    // zero run without literal length
    {0x00, 0x01},              // literal cut off
    {0x00, 0x00},              // empty literal
    {0x10, 0x01, 0xAA},        // zero run reaches the end
    {0x0F, 0x02, 0xAA, 0xBB},  // literal passes the end
    {0x80},                    // ULEB128 cut off
    {0x81, 0x00, 0x01, 0xAA},  // redundant trailing zero group
    {0x00, 0x01, 0xAA, 0x00},  // trailing byte after a pair
    {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0xAA},  // > 64 bits
    {0x01, 0x01, 0xAA, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01, 0xBB},
};

void check_rejects_malformed(const KernelTable& kernels) {
  for (const auto& delta : kMalformedDeltas) {
    std::vector<uint8_t> data(16, 0x33);
    EXPECT_FALSE(kernels.xor_rle_decode(delta.data(), delta.size(), data.data(), data.size()))
        << kernels.name << " delta of " << delta.size() << " bytes";
    EXPECT_EQ(data, std::vector<uint8_t>(16, 0x33)) << kernels.name;
  }
  // A valid first pair followed by a bad one must not be half applied.
  const std::vector<uint8_t> delta = {0x00, 0x01, 0xAA, 0x20, 0x01, 0xBB};
  std::vector<uint8_t> data(16, 0x33);
  EXPECT_FALSE(kernels.xor_rle_decode(delta.data(), delta.size(), data.data(), data.size()));
  EXPECT_EQ(data, std::vector<uint8_t>(16, 0x33));
}

TEST(XorRleScalar, RejectsMalformedDeltas) { check_rejects_malformed(*scalar_kernels()); }

// The one-pass scan the receiver uses: it rejects every malformed delta, and
// visits exactly the pairs before the first bad one.
TEST(XorRleScan, StopsAtTheFirstMalformedPair) {
  for (const auto& delta : kMalformedDeltas)
    EXPECT_FALSE(
        xor_rle_scan(delta.data(), delta.size(), 16, [](size_t, const uint8_t*, size_t) {}))
        << "delta of " << delta.size() << " bytes";
  const std::vector<uint8_t> delta = {0x00, 0x01, 0xAA, 0x02, 0x03, 0xBB,
                                      0xCC, 0xDD, 0x20, 0x01, 0xEE};
  std::vector<std::pair<size_t, size_t>> seen;
  EXPECT_FALSE(xor_rle_scan(delta.data(), delta.size(), 16,
                            [&](size_t at, const uint8_t* literal, size_t n) {
                              EXPECT_EQ(literal[0], at == 0 ? 0xAA : 0xBB);
                              seen.emplace_back(at, n);
                            }));
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{0, 1}, {3, 3}}));
  seen.clear();
  EXPECT_TRUE(xor_rle_scan(delta.data(), 8, 16,
                           [&](size_t at, const uint8_t*, size_t n) { seen.emplace_back(at, n); }));
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{0, 1}, {3, 3}}));
}

// The word XOR the decoders use: exact at every length, in place or not,
// with no byte outside [0, n) written (a literal's neighbours in the data).
TEST(XorRleXorExact, EveryLengthInPlaceAndNot) {
  std::mt19937_64 rng(11);
  for (size_t n = 0; n <= 80; ++n) {
    std::vector<uint8_t> a(n + 16), b(n + 16);
    for (auto& x : a) x = static_cast<uint8_t>(rng());
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    std::vector<uint8_t> expected = a;
    for (size_t i = 0; i < n; ++i) expected[8 + i] = a[8 + i] ^ b[8 + i];
    std::vector<uint8_t> out(n + 16, 0xEE);
    xor_rle_xor_exact(out.data() + 8, a.data() + 8, b.data() + 8, n);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_EQ(out[i], i >= 8 && i < 8 + n ? expected[i] : 0xEE) << "n " << n << " byte " << i;
    xor_rle_xor_exact(a.data() + 8, a.data() + 8, b.data() + 8, n);
    ASSERT_EQ(a, expected) << "in place, n " << n;
  }
}

// Joining the deltas of the changed blocks' runs gives the whole page's
// canonical delta: gaps of unchanged blocks are at least a block long, more
// than the zero run that ends a literal.
TEST(XorRleJoin, RunsOfChangedBlocksGiveTheWholePageDelta) {
  std::mt19937_64 rng(7);
  constexpr size_t kPage = 4096;
  for (const size_t block : {32, 64, 256}) {
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> previous(kPage), current(kPage);
      for (auto& b : previous) b = static_cast<uint8_t>(rng());
      current = previous;
      std::vector<bool> changed(kPage / block);
      for (size_t b = 0; b < changed.size(); ++b) {
        if (rng() % 3 != 0) continue;
        changed[b] = true;
        // A few edits, some at the block's very edges.
        for (int e = 0, n = 1 + static_cast<int>(rng() % 4); e < n; ++e) {
          const size_t at = b * block + (e == 0 ? 0 : e == 1 ? block - 1 : rng() % block);
          current[at] = static_cast<uint8_t>(current[at] + 1 + rng() % 255);
        }
      }
      std::vector<uint8_t> joined(kPage);
      XorRleJoin join(joined.data(), joined.size());
      std::vector<uint8_t> delta(xor_rle_bound(kPage));
      for (size_t b = 0; b < changed.size();) {
        if (!changed[b]) {
          ++b;
          continue;
        }
        size_t e = b;
        while (e < changed.size() && changed[e]) ++e;
        const size_t n = scalar_kernels()->xor_rle_encode(
            current.data() + b * block, previous.data() + b * block, (e - b) * block, delta.data(),
            delta.size());
        ASSERT_TRUE(join.append(b * block, delta.data(), n));
        b = e;
      }
      const std::vector<uint8_t> expected =
          reference_xor_rle(current.data(), previous.data(), kPage);
      ASSERT_EQ(std::vector<uint8_t>(joined.begin(), joined.begin() + join.size()), expected)
          << "block " << block << " trial " << trial;
      // One byte too little room is refused.
      if (!expected.empty()) {
        XorRleJoin tight(joined.data(), expected.size() - 1);
        bool fits = true;
        for (size_t b = 0; b < changed.size() && fits; ++b) {
          if (!changed[b] || (b > 0 && changed[b - 1])) continue;
          size_t e = b;
          while (e < changed.size() && changed[e]) ++e;
          const size_t n = scalar_kernels()->xor_rle_encode(
              current.data() + b * block, previous.data() + b * block, (e - b) * block,
              delta.data(), delta.size());
          fits = tight.append(b * block, delta.data(), n);
        }
        EXPECT_FALSE(fits) << "block " << block << " trial " << trial;
      }
    }
  }
}

class SimdXorRle : public hwy::TestWithParamTarget {
 protected:
  std::mt19937_64 rng_{99};
};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(SimdXorRle);

TEST_P(SimdXorRle, MatchesReference) { check_xor_rle_cases(*simd_kernels(), rng_); }

TEST_P(SimdXorRle, EverySmallPattern) { check_every_small_pattern(*simd_kernels()); }

TEST_P(SimdXorRle, SameBytesAsScalarUnaligned) {
  for (const auto& [current, previous] : xor_rle_cases(rng_)) {
    const size_t size = current.size();
    UnalignedBuffer cur(size, 3), prev(size, 7);
    if (size) {
      std::memcpy(cur.data(), current.data(), size);
      std::memcpy(prev.data(), previous.data(), size);
    }
    std::vector<uint8_t> expected(xor_rle_bound(size)), actual(xor_rle_bound(size));
    const size_t n = scalar_kernels()->xor_rle_encode(cur.data(), prev.data(), size,
                                                      expected.data(), expected.size());
    const size_t m =
        simd_kernels()->xor_rle_encode(cur.data(), prev.data(), size, actual.data(), actual.size());
    ASSERT_EQ(m, n) << "size " << size;
    ASSERT_TRUE(
        std::equal(actual.begin(), actual.begin() + static_cast<ptrdiff_t>(n), expected.begin()));
    // Decoding into unaligned data, from an unaligned delta.
    UnalignedBuffer delta(n, 5);
    if (n) std::memcpy(delta.data(), actual.data(), n);
    ASSERT_TRUE(simd_kernels()->xor_rle_decode(delta.data(), n, prev.data(), size));
    ASSERT_TRUE(size == 0 || std::memcmp(prev.data(), current.data(), size) == 0) << size;
  }
}

TEST_P(SimdXorRle, RejectsMalformedDeltas) { check_rejects_malformed(*simd_kernels()); }

// xor_ranges applies placed literals of every length from 1 to past two
// vectors, back to back or apart, at unaligned places, and writes no byte
// outside them.
void check_xor_ranges(const KernelTable& kernels, std::mt19937_64& rng) {
  for (size_t misalign : {0, 1, 13}) {
    std::vector<uint8_t> literals(1 << 16);
    for (auto& x : literals) x = static_cast<uint8_t>(rng());
    std::vector<XorRange> ranges;
    size_t at = 0, from = 0;
    for (uint32_t bytes = 1; bytes <= 160; ++bytes) {
      at += rng() % 3 == 0 ? 0 : 1 + rng() % 70;  // adjacent to the last one, or apart
      ranges.push_back({literals.data() + from, static_cast<uint32_t>(at), bytes});
      at += bytes;
      from += bytes;
    }
    UnalignedBuffer out(at + 64, misalign);
    for (size_t i = 0; i < at + 64; ++i) out.data()[i] = static_cast<uint8_t>(rng());
    std::vector<uint8_t> expected(out.data(), out.data() + at + 64);
    for (const XorRange& r : ranges)
      for (uint32_t i = 0; i < r.bytes; ++i) expected[r.at + i] ^= r.literal[i];
    kernels.xor_ranges(out.data(), ranges.data(), ranges.size());
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), out.data()))
        << kernels.name << ", misalign " << misalign;
    kernels.xor_ranges(out.data(), ranges.data(), 0);  // none: nothing changes
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), out.data())) << kernels.name;
  }
}

TEST(XorRanges, ScalarPlacesEveryLiteralExactly) {
  std::mt19937_64 rng(5);
  check_xor_ranges(*scalar_kernels(), rng);
}

TEST_P(SimdXorRle, XorRangesPlacesEveryLiteralExactly) { check_xor_ranges(*simd_kernels(), rng_); }

}  // namespace
}  // namespace fgbi::kernels
