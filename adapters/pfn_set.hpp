// A set of pfns below a bound, as a bitmap: checks "each pfn at most once per
// epoch" in O(1) per pfn, and is cleared by the pfns that were inserted.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fgbi::adapters {

class PfnSet {
 public:
  explicit PfnSet(uint64_t bound = 0) : words_((bound + 63) / 64) {}
  // False when pfn was already in the set.
  bool insert(uint64_t pfn) {
    uint64_t& w = words_[pfn / 64];
    const uint64_t bit = uint64_t{1} << (pfn % 64);
    if (w & bit) return false;
    w |= bit;
    return true;
  }
  bool contains(uint64_t pfn) const { return (words_[pfn / 64] >> (pfn % 64)) & 1; }
  void erase(std::span<const uint64_t> pfns) {
    for (uint64_t pfn : pfns) words_[pfn / 64] &= ~(uint64_t{1} << (pfn % 64));
  }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace fgbi::adapters
