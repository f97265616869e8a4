// FGBH64, the fixed block hash (docs/block-hash.md): golden vectors, an
// independent implementation written from the document, and quality checks
// (avalanche, no collisions on structured inputs).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <random>
#include <string_view>
#include <vector>

#include "block_hash.hpp"
#include "kernels.hpp"

namespace fgbi::kernels {
namespace {

// docs/block-hash.md, transcribed without reusing block_hash.hpp: keys are
// consecutive splitmix64 outputs seeded with "FGBH64v1" read little-endian,
// words are assembled byte by byte.
uint64_t independent_fgbh64(const uint8_t* block, size_t size) {
  const std::string_view seed_text = "FGBH64v1";
  uint64_t state = 0;
  for (size_t i = 0; i < 8; ++i) state |= uint64_t{uint8_t(seed_text[i])} << (8 * i);
  uint64_t acc = 0x9E3779B97F4A7C15ull * size;
  for (size_t i = 0; i < size / 8; ++i) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t key = state;
    key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9ull;
    key = (key ^ (key >> 27)) * 0x94D049BB133111EBull;
    key ^= key >> 31;
    uint64_t word = 0;
    for (size_t j = 0; j < 8; ++j) word |= uint64_t{block[8 * i + j]} << (8 * j);
    const uint64_t keyed = word ^ key;
    acc += (keyed & 0xFFFFFFFFull) * (keyed >> 32) + word;
  }
  acc ^= acc >> 33;
  acc *= 0xFF51AFD7ED558CCDull;
  acc ^= acc >> 33;
  acc *= 0xC4CEB9FE1A85EC53ull;
  acc ^= acc >> 33;
  return acc;
}

std::vector<const KernelTable*> backends() {
  std::vector<const KernelTable*> tables = {scalar_kernels()};
  if (simd_kernels() != nullptr) tables.push_back(simd_kernels());
  return tables;
}

uint64_t backend_hash(const KernelTable& kernels, const uint8_t* block, uint32_t size,
                      uint64_t mask = ~0ull) {
  uint64_t h;
  kernels.hash_blocks(block, 1, size, mask, &h);
  return h;
}

TEST(BlockHash, KeysFollowTheDefinition) {
  EXPECT_EQ(kBlockKeys[0], 0xB7CD51A55CDD9B66ull);
  EXPECT_EQ(kBlockKeys[31], 0xBE6A97B7DB47BE98ull);
  std::vector<uint8_t> unit(256, 0);
  // With one nonzero word the hash isolates that word's key: check all 32
  // against the independent derivation through the full hash.
  for (size_t i = 0; i < 32; ++i) {
    std::fill(unit.begin(), unit.end(), 0);
    unit[8 * i] = 1;
    EXPECT_EQ(block_hash_reference(unit.data(), 256), independent_fgbh64(unit.data(), 256)) << i;
  }
}

struct Golden {
  const char* pattern;
  uint32_t size;
  uint64_t hash;
};

uint8_t pattern_byte(std::string_view pattern, size_t i) {
  if (pattern == "zero") return 0;
  if (pattern == "ones") return 0xFF;
  if (pattern == "iota") return static_cast<uint8_t>(i);
  return static_cast<uint8_t>(i * 37 + 11);  // "mix"
}

// Pinned once (from independent_fgbh64, and again from a Python transcription
// of the document); also listed in docs/block-hash.md.
constexpr Golden kGolden[] = {
    {"zero", 32, 0x2BDE26275E157477ull},  {"zero", 64, 0x62DE6ACC35BF62ABull},
    {"zero", 128, 0xB7B6DFE0F1A11C6Eull}, {"zero", 256, 0x1D57D1E3BD4F6183ull},
    {"ones", 32, 0xDB4697A9978F04E2ull},  {"ones", 64, 0xB7940E0DBACFB5ABull},
    {"ones", 128, 0x21A01FB62FEE990Cull}, {"ones", 256, 0x046D7837218D3EDEull},
    {"iota", 32, 0xE44C47A7F25D5C1Cull},  {"iota", 64, 0x58D1BD4391F69491ull},
    {"iota", 128, 0xDFE32805837EDD3Full}, {"iota", 256, 0xA8A4D7C0BF46CB13ull},
    {"mix", 32, 0xF2A02288A8989C15ull},   {"mix", 64, 0x90A3A0096C0FD4BDull},
    {"mix", 128, 0x7715C7F5AA1DC616ull},  {"mix", 256, 0x7A74BDFF187F6A14ull},
};

TEST(BlockHash, GoldenVectors) {
  for (const Golden& g : kGolden) {
    std::vector<uint8_t> block(g.size);
    for (size_t i = 0; i < g.size; ++i) block[i] = pattern_byte(g.pattern, i);
    EXPECT_EQ(independent_fgbh64(block.data(), g.size), g.hash) << g.pattern << " " << g.size;
    EXPECT_EQ(block_hash_reference(block.data(), g.size), g.hash) << g.pattern << " " << g.size;
    for (const KernelTable* k : backends()) {
      EXPECT_EQ(backend_hash(*k, block.data(), g.size), g.hash) << k->name << " " << g.pattern;
      EXPECT_EQ(backend_hash(*k, block.data(), g.size, 0xFFFFF), g.hash & 0xFFFFF) << k->name;
    }
  }
}

TEST(BlockHash, ReferenceMatchesIndependentOnRandomBlocks) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> block(256);
  for (uint32_t size : {32u, 64u, 128u, 256u}) {
    for (int n = 0; n < 2000; ++n) {
      for (auto& b : block) b = static_cast<uint8_t>(rng());
      ASSERT_EQ(block_hash_reference(block.data(), size), independent_fgbh64(block.data(), size));
    }
  }
}

// Flipping any input bit flips each output bit with probability ~1/2.
TEST(BlockHash, Avalanche) {
  std::mt19937_64 rng(2);
  for (uint32_t size : {32u, 64u, 128u, 256u}) {
    const size_t input_bits = size * 8;
    const int samples = 64;
    std::vector<uint32_t> flips(input_bits * 64, 0);  // [input bit][output bit]
    std::vector<uint8_t> block(size);
    for (int s = 0; s < samples; ++s) {
      for (auto& b : block) b = static_cast<uint8_t>(rng());
      const uint64_t base = block_hash_reference(block.data(), size);
      for (size_t i = 0; i < input_bits; ++i) {
        block[i / 8] ^= uint8_t(1u << (i % 8));
        const uint64_t diff = base ^ block_hash_reference(block.data(), size);
        block[i / 8] ^= uint8_t(1u << (i % 8));
        for (int o = 0; o < 64; ++o) flips[i * 64 + o] += (diff >> o) & 1;
      }
    }
    double worst = 0;
    for (int o = 0; o < 64; ++o) {
      uint64_t total = 0;
      for (size_t i = 0; i < input_bits; ++i) {
        const uint32_t f = flips[i * 64 + o];
        // Stuck would mean an input bit that never (or always) reaches o.
        ASSERT_GT(f, 0u) << "size " << size << " input bit " << i << " output bit " << o;
        ASSERT_LT(f, uint32_t(samples)) << "size " << size << " input " << i << " output " << o;
        total += f;
      }
      const double p = double(total) / double(input_bits * samples);
      worst = std::max(worst, std::abs(p - 0.5));
      EXPECT_GT(p, 0.45) << "size " << size << " output bit " << o;
      EXPECT_LT(p, 0.55) << "size " << size << " output bit " << o;
    }
    RecordProperty("worst_bias_" + std::to_string(size), std::to_string(worst));
  }
}

// Hashes `count` blocks produced by make(index, block) and fails on two
// different blocks with the same hash. Blocks are regenerated to tell a
// true collision from a repeated block.
void expect_no_collisions(const char* family, uint32_t size, size_t count,
                          const std::function<void(size_t, uint8_t*)>& make) {
  const KernelTable& kernels = *find_kernels(Backend::kAuto);
  constexpr size_t kChunk = 4096;
  std::vector<uint8_t> blocks(kChunk * size);
  std::vector<std::pair<uint64_t, size_t>> hashes(count);
  std::vector<uint64_t> chunk_hashes(kChunk);
  for (size_t first = 0; first < count; first += kChunk) {
    const size_t n = std::min(kChunk, count - first);
    for (size_t i = 0; i < n; ++i) make(first + i, blocks.data() + i * size);
    kernels.hash_blocks(blocks.data(), n, size, ~0ull, chunk_hashes.data());
    for (size_t i = 0; i < n; ++i) hashes[first + i] = {chunk_hashes[i], first + i};
  }
  std::sort(hashes.begin(), hashes.end());
  std::vector<uint8_t> a(size), b(size);
  size_t repeats = 0;
  for (size_t i = 1; i < count; ++i) {
    if (hashes[i].first != hashes[i - 1].first) continue;
    make(hashes[i - 1].second, a.data());
    make(hashes[i].second, b.data());
    if (a == b) {
      ++repeats;
      continue;
    }
    ADD_FAILURE() << family << ": blocks " << hashes[i - 1].second << " and " << hashes[i].second
                  << " collide";
  }
  testing::Test::RecordProperty(std::string(family) + "_repeated_blocks", std::to_string(repeats));
}

constexpr size_t kFamilySize = size_t{1} << 20;

uint64_t mix64(uint64_t x) {  // a stateless generator for regenerable blocks
  x ^= x >> 31;
  x *= 0x7FB5D329728EA185ull;
  x ^= x >> 27;
  x *= 0x81DADEF4BC2DD44Dull;
  return x ^ (x >> 33);
}

void store_words(uint8_t* block, size_t words, const std::function<uint64_t(size_t)>& word) {
  for (size_t w = 0; w < words; ++w) {
    const uint64_t v = word(w);
    for (size_t j = 0; j < 8; ++j) block[8 * w + j] = uint8_t(v >> (8 * j));
  }
}

TEST(BlockHashCollisions, Counters) {
  // A memory of consecutive 64-bit counters, and blocks where only one word
  // counts while the rest stay fixed.
  expect_no_collisions("counter_stream", 64, kFamilySize, [](size_t i, uint8_t* block) {
    store_words(block, 8, [i](size_t w) { return uint64_t(i * 8 + w); });
  });
  expect_no_collisions("one_counting_word", 64, kFamilySize, [](size_t i, uint8_t* block) {
    store_words(block, 8, [i](size_t w) { return w == 3 ? uint64_t(i) : 0x1234u; });
  });
}

TEST(BlockHashCollisions, TextLikeBytes) {
  static constexpr std::string_view kLetters = "etaoinshrdlucmfwypvbgkqjxz   ,.\n";
  expect_no_collisions("text", 64, kFamilySize, [](size_t i, uint8_t* block) {
    for (size_t j = 0; j < 64; j += 8) {
      const uint64_t r = mix64(i * 8 + j / 8);
      for (size_t k = 0; k < 8; ++k) block[j + k] = uint8_t(kLetters[(r >> (5 * k)) & 31]);
    }
  });
}

TEST(BlockHashCollisions, PointerLikeWords) {
  // 16-byte aligned user-space heap pointers within 64 MiB, small integers
  // and nulls, as in a structure-heavy heap page.
  expect_no_collisions("pointers", 64, kFamilySize, [](size_t i, uint8_t* block) {
    store_words(block, 8, [i](size_t w) -> uint64_t {
      const uint64_t r = mix64(i * 8 + w);
      switch (r % 4) {
        case 0: return 0;
        case 1: return (r >> 8) % 4096;
        default: return 0x00007F3A12000000ull + ((r >> 8) % (1u << 22)) * 16;
      }
    });
  });
}

TEST(BlockHashCollisions, SparseSingleByteEdits) {
  // A random walk of single-byte edits starting from one random block:
  // block i is block i-1 with one byte replaced.
  std::vector<std::array<uint8_t, 64>> walk(kFamilySize);
  std::mt19937_64 rng(3);
  for (auto& b : walk[0]) b = static_cast<uint8_t>(rng());
  for (size_t i = 1; i < kFamilySize; ++i) {
    walk[i] = walk[i - 1];
    const uint64_t r = rng();
    walk[i][r % 64] ^= uint8_t(1 + (r >> 8) % 255);
  }
  expect_no_collisions("single_byte_edits", 64, kFamilySize, [&walk](size_t i, uint8_t* block) {
    std::memcpy(block, walk[i].data(), 64);
  });
}

TEST(BlockHashCollisions, ZeroButOneOrTwoBits) {
  // Every 256-byte block with exactly one or two bits set (2,098,176 blocks):
  // all-but-zero blocks are where a weak hash (a plain sum) fails first.
  constexpr size_t kBits = 256 * 8;
  // Block kBits + row_start[a] + k has bits a and a + 1 + k set.
  std::vector<size_t> row_start(kBits);
  for (size_t a = 1; a < kBits; ++a) row_start[a] = row_start[a - 1] + (kBits - a);
  expect_no_collisions(
      "one_or_two_bits", 256, kBits + kBits * (kBits - 1) / 2,
      [&row_start](size_t i, uint8_t* block) {
        std::memset(block, 0, 256);
        if (i < kBits) {
          block[i / 8] |= uint8_t(1u << (i % 8));
          return;
        }
        const size_t pair = i - kBits;
        const size_t a = static_cast<size_t>(
            std::upper_bound(row_start.begin(), row_start.end(), pair) - row_start.begin() - 1);
        const size_t b = a + 1 + (pair - row_start[a]);
        block[a / 8] |= uint8_t(1u << (a % 8));
        block[b / 8] |= uint8_t(1u << (b % 8));
      });
}

}  // namespace
}  // namespace fgbi::kernels
