// The sender's cache of recently sent pages: for a page it holds the
// content the receiver had after a given epoch, so that changed blocks can
// travel as an XOR delta against it (FGBI_CODEC_XOR).
//
// FGBI_P_CACHE_BYTES / 4 KiB slots with CLOCK (second-chance) replacement:
// a hit sets a slot's reference bit; inserting sweeps the hand past
// referenced slots, clearing their bits, and takes the first unreferenced
// one. A page sent for the first time enters only while there are free
// slots, so the initial synchronisation of a memory larger than the cache
// warms it without flushing it; a page sent again always enters.
//
// Each slot records the epoch whose send it equals. A lookup names the
// epoch that last carried the page: a copy of an older epoch is stale (the
// page was sent while nothing kept the cache current) and is never
// returned, so an epoch that does not use the cache need not touch it.
// A stale copy is never marked referenced again, and one that a lookup
// finds loses its mark: CLOCK takes its slot before those of copies in use.
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

  // pfn's content as sent in epoch `sent` (the last epoch that carried the
  // page), marking it referenced; nullptr on a miss or a stale copy.
  // A stale copy found loses its reference bit: CLOCK takes it first.
  uint8_t* find(uint64_t pfn, uint64_t sent) {
    if (!enabled()) return nullptr;
    const uint32_t slot = slot_of_[pfn];
    if (slot == 0) return nullptr;
    const bool current = synced_[slot - 1] == sent;
    referenced_[slot - 1] = current;
    return current ? data_.data() + size_t{slot - 1} * page_size_ : nullptr;
  }
  // The same without marking it referenced (for prefetching and admission).
  const uint8_t* peek(uint64_t pfn, uint64_t sent) const {
    const uint32_t slot = current_slot(pfn, sent);
    return slot == 0 ? nullptr : data_.data() + size_t{slot - 1} * page_size_;
  }
  // Records that pfn's copy, current as of epoch `sent` (and refreshed in
  // place since, or unchanged), equals what epoch `epoch` sent.
  void advance(uint64_t pfn, uint64_t sent, uint64_t epoch) {
    if (const uint32_t slot = current_slot(pfn, sent)) synced_[slot - 1] = epoch;
  }
  // Stores a copy of page as pfn's content as sent in `epoch`, evicting by
  // CLOCK if needed; with only_if_free, only when a slot is free (and
  // returns whether it did).
  bool insert(uint64_t pfn, const uint8_t* page, uint64_t epoch, bool only_if_free);
  void invalidate(uint64_t pfn);
  size_t bytes() const { return data_.bytes() + slot_of_.bytes() + owner_.size() * 17; }

 private:
  // pfn's slot + 1 if it holds the page as sent in epoch `sent`, else 0.
  uint32_t current_slot(uint64_t pfn, uint64_t sent) const {
    if (!enabled()) return 0;
    const uint32_t slot = slot_of_[pfn];
    return slot != 0 && synced_[slot - 1] == sent ? slot : 0;
  }

  uint32_t page_size_ = 0;
  ZeroedArray<uint8_t> data_;
  ZeroedArray<uint32_t> slot_of_;  // per tracked page: slot + 1, 0 = not cached
  std::vector<uint64_t> owner_;    // per slot: pfn, or kFree
  std::vector<uint8_t> referenced_;
  std::vector<uint64_t> synced_;  // per slot: the epoch whose send it equals
  size_t hand_ = 0;
  size_t free_slots_ = 0;
};

}  // namespace fgbi
