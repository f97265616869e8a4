// The sender's cache of recently sent pages: for a page it holds exactly
// the content the receiver has, so that changed blocks can travel as an XOR
// delta against it (FGBI_CODEC_XOR).
//
// FGBI_P_CACHE_BYTES / 4 KiB slots with CLOCK (second-chance) replacement:
// a hit sets a slot's reference bit; inserting sweeps the hand past
// referenced slots, clearing their bits, and takes the first unreferenced
// one. A page sent for the first time enters only while there are free
// slots, so the initial synchronisation of a memory larger than the cache
// warms it without flushing it; a page sent again always enters.
//
// Threads: lookups and in-place refreshes of different pages may run in
// parallel (each page has its own slot); insert() is serial.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/buffers.hpp"

namespace fgbi {

class PageCache {
 public:
  bool configure(size_t bytes, uint32_t page_size, uint64_t tracked_pages);
  bool enabled() const { return !owner_.empty(); }

  // The cached content of pfn, marking it referenced; nullptr on a miss.
  uint8_t* find(uint64_t pfn) {
    if (!enabled()) return nullptr;
    const uint32_t slot = slot_of_[pfn];
    if (slot == 0) return nullptr;
    referenced_[slot - 1] = 1;
    return data_.data() + size_t{slot - 1} * page_size_;
  }
  // The cached content of pfn without marking it referenced (for prefetching).
  const uint8_t* peek(uint64_t pfn) const {
    if (!enabled()) return nullptr;
    const uint32_t slot = slot_of_[pfn];
    return slot == 0 ? nullptr : data_.data() + size_t{slot - 1} * page_size_;
  }
  // Stores a copy of page as pfn's content, evicting by CLOCK if needed;
  // with only_if_free, only when a slot is free (and returns whether it did).
  bool insert(uint64_t pfn, const uint8_t* page, bool only_if_free);
  void invalidate(uint64_t pfn);
  size_t bytes() const { return data_.bytes() + slot_of_.bytes() + owner_.size() * 9; }

 private:
  uint32_t page_size_ = 0;
  ZeroedArray<uint8_t> data_;
  ZeroedArray<uint32_t> slot_of_;  // per tracked page: slot + 1, 0 = not cached
  std::vector<uint64_t> owner_;    // per slot: pfn, or kFree
  std::vector<uint8_t> referenced_;
  size_t hand_ = 0;
  size_t free_slots_ = 0;
};

}  // namespace fgbi
