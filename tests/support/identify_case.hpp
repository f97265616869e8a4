// Test support: inputs for comparing kernel backends against the scalar
// reference. Bytes at odd addresses, and identify batches whose pages mix
// random, zero and edited blocks with stored hashes and known flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels.hpp"

namespace fgbi::test {

// Bytes at a deliberately odd offset from a 64-byte boundary.
class UnalignedBuffer {
 public:
  UnalignedBuffer(size_t size, size_t misalign) : storage_(size + 128), misalign_(misalign) {}
  uint8_t* data() {
    const auto base = reinterpret_cast<uintptr_t>(storage_.data());
    return storage_.data() + ((64 - base % 64) % 64) + misalign_;
  }

 private:
  std::vector<uint8_t> storage_;
  size_t misalign_;
};

void fill_random(uint8_t* p, size_t n, std::mt19937_64& rng);

// One identify batch: pages of random blocks with zero blocks and zero pages
// mixed in, at odd addresses; stored hashes of the content (under mask)
// before a few blocks were edited; some pages unknown to the receiver.
struct IdentifyCase {
  IdentifyCase(size_t count, uint32_t block_size, uint64_t mask, std::mt19937_64& rng);

  // What one backend produced, from a copy of the stored hashes. staged[p]
  // is the page's staging slot, which starts as kUnstaged bytes.
  struct Result {
    std::vector<std::vector<uint64_t>> hashes;
    std::vector<uint64_t> changed, zero;
    std::vector<std::vector<uint8_t>> staged;
  };
  static constexpr uint8_t kUnstaged = 0xEE;
  // stream_staged: IdentifyBatch::stream_staged, into 64-byte-aligned slots.
  Result run(const kernels::KernelTable& kernels, uint32_t block_size, uint64_t mask,
             bool want_zero, bool stream_staged = false) const;

  std::vector<UnalignedBuffer> pages;
  std::vector<const uint8_t*> page_ptrs;
  std::vector<std::vector<uint64_t>> hashes;
  std::vector<uint8_t> known;
  std::vector<uint8_t> copy_all;  // pages staged whole, as the sender's cache admission asks
};

}  // namespace fgbi::test
