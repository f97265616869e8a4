#include "sender/page_cache.hpp"

#include <cstring>

namespace fgbi {
namespace {
constexpr uint64_t kFree = ~0ull;
}

bool PageCache::configure(size_t bytes, uint32_t page_size, uint64_t tracked_pages) {
  page_size_ = page_size;
  const size_t slots = bytes / page_size;
  if (slots == 0 || slots >= (uint64_t{1} << 32)) {
    owner_.clear();
    return slots == 0;
  }
  owner_.assign(slots, kFree);
  referenced_.assign(slots, 0);
  synced_.assign(slots, 0);
  free_slots_ = slots;
  return data_.allocate(slots * page_size) && slot_of_.allocate(tracked_pages);
}

bool PageCache::insert(uint64_t pfn, const uint8_t* page, uint64_t epoch, bool only_if_free) {
  uint32_t slot = slot_of_[pfn];
  if (slot == 0) {
    if (only_if_free && free_slots_ == 0) return false;
    while (owner_[hand_] != kFree && referenced_[hand_]) {
      referenced_[hand_] = 0;
      hand_ = (hand_ + 1) % owner_.size();
    }
    if (owner_[hand_] != kFree)
      slot_of_[owner_[hand_]] = 0;
    else
      --free_slots_;
    owner_[hand_] = pfn;
    slot = static_cast<uint32_t>(hand_ + 1);
    slot_of_[pfn] = slot;
    hand_ = (hand_ + 1) % owner_.size();
  }
  referenced_[slot - 1] = 0;
  synced_[slot - 1] = epoch;
  std::memcpy(data_.data() + size_t{slot - 1} * page_size_, page, page_size_);
  return true;
}

void PageCache::invalidate(uint64_t pfn) {
  if (!enabled()) return;
  const uint32_t slot = slot_of_[pfn];
  if (slot == 0) return;
  owner_[slot - 1] = kFree;
  referenced_[slot - 1] = 0;
  slot_of_[pfn] = 0;
  ++free_slots_;
}

}  // namespace fgbi
