// FGBH64, the fixed block hash of fgbi (specified in docs/block-hash.md).
//
// One definition serves every backend: scalar, SIMD and GPU kernels must
// produce these exact bits. The construction is a sum over the block's
// 64-bit little-endian words of a keyed 32x32->64 product plus the word
// itself, followed by a 64-bit finalizer. Addition mod 2^64 is associative
// and commutative, so a kernel may accumulate the words in any grouping
// (one block per vector, many blocks across lanes, a warp per block) and
// still agree bit for bit.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fgbi::kernels {

inline constexpr uint32_t kMinBlockSize = 32;
inline constexpr uint32_t kMaxBlockSize = 256;
inline constexpr uint32_t kMaxBlockWords = kMaxBlockSize / 8;

// splitmix64, used only to derive the key table below at compile time.
constexpr uint64_t splitmix64_next(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// KEY[i] keys word i of a block: the first 32 outputs of splitmix64 seeded
// with the ASCII bytes "FGBH64v1" read little-endian.
constexpr std::array<uint64_t, kMaxBlockWords> make_block_keys() {
  std::array<uint64_t, kMaxBlockWords> keys{};
  uint64_t state = 0x3176343648424746ull;  // "FGBH64v1"
  for (auto& key : keys) key = splitmix64_next(state);
  return keys;
}
inline constexpr std::array<uint64_t, kMaxBlockWords> kBlockKeys = make_block_keys();

// Seeds the accumulator with the block length so that a 32-byte block and
// the first half of a 64-byte block never agree by construction.
constexpr uint64_t block_hash_init(uint32_t block_size) {
  return 0x9E3779B97F4A7C15ull * block_size;
}

// One word's contribution to the accumulator.
constexpr uint64_t block_hash_term(uint64_t word, uint64_t key) {
  const uint64_t keyed = word ^ key;
  return (keyed & 0xFFFFFFFFull) * (keyed >> 32) + word;
}

// Final avalanche (the MurmurHash3 64-bit finalizer): every input bit
// reaches every output bit.
constexpr uint64_t block_hash_finalize(uint64_t acc) {
  acc ^= acc >> 33;
  acc *= 0xFF51AFD7ED558CCDull;
  acc ^= acc >> 33;
  acc *= 0xC4CEB9FE1A85EC53ull;
  acc ^= acc >> 33;
  return acc;
}

// A page check's term for block `block` of a page, whose full FGBH64 is
// `hash`: the hash mixed with the block's index by the finalizer. The wire
// format's page check (engine/wire/format.hpp) is the sum of a page's
// terms mod 2^64, which the page_check kernel computes.
inline constexpr uint64_t kPageCheckIndexKey = 0x9E3779B97F4A7C15ull;
constexpr uint64_t page_check_term(uint32_t block, uint64_t hash) {
  return block_hash_finalize(hash ^ (uint64_t{block} * kPageCheckIndexKey));
}
// Reference definition: the page check of `blocks` full hashes.
constexpr uint64_t page_check_reference(const uint64_t* hashes, uint32_t blocks) {
  uint64_t sum = 0;
  for (uint32_t b = 0; b < blocks; ++b) sum += page_check_term(b, hashes[b]);
  return sum;
}

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Reference definition: FGBH64 of one block of block_size bytes
// (32, 64, 128 or 256).
inline uint64_t block_hash_reference(const uint8_t* block, uint32_t block_size) {
  uint64_t acc = block_hash_init(block_size);
  for (uint32_t i = 0; i < block_size / 8; ++i)
    acc += block_hash_term(load_le64(block + 8 * i), kBlockKeys[i]);
  return block_hash_finalize(acc);
}

}  // namespace fgbi::kernels
