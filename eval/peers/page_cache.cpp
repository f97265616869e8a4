#include "page_cache.hpp"

#include <new>

namespace fgbi::peers {

PageSlots::PageSlots(size_t count)
    : memory_(static_cast<uint8_t*>(std::aligned_alloc(kPeerPageSize, count * kPeerPageSize))) {
  if (!memory_) throw std::bad_alloc();
}

LruPageCache::LruPageCache(size_t slots, uint64_t tracked_pages)
    : pages_(slots), pfn_of_slot_(slots, kNoPfn), newer_(slots), older_(slots) {
  if (!slot_of_pfn_.allocate(tracked_pages)) throw std::bad_alloc();
  // Every slot starts empty; the list runs from slot 0 (newest) to the last.
  for (size_t s = 0; s < slots; ++s) {
    newer_[s] = s == 0 ? kNone : static_cast<uint32_t>(s - 1);
    older_[s] = s + 1 == slots ? kNone : static_cast<uint32_t>(s + 1);
  }
  newest_ = 0;
  oldest_ = static_cast<uint32_t>(slots - 1);
}

void LruPageCache::unlink(uint32_t slot) {
  if (newer_[slot] == kNone)
    newest_ = older_[slot];
  else
    older_[newer_[slot]] = older_[slot];
  if (older_[slot] == kNone)
    oldest_ = newer_[slot];
  else
    newer_[older_[slot]] = newer_[slot];
}

void LruPageCache::push_front(uint32_t slot) {
  newer_[slot] = kNone;
  older_[slot] = newest_;
  if (newest_ != kNone) newer_[newest_] = slot;
  newest_ = slot;
  if (oldest_ == kNone) oldest_ = slot;
}

uint8_t* LruPageCache::find(uint64_t pfn) {
  const uint32_t entry = slot_of_pfn_[pfn];
  if (entry == 0) return nullptr;
  const uint32_t slot = entry - 1;
  if (slot != newest_) {
    unlink(slot);
    push_front(slot);
  }
  return pages_[slot];
}

uint8_t* LruPageCache::replace_lru(uint64_t pfn) {
  const uint32_t slot = oldest_;
  if (pfn_of_slot_[slot] != kNoPfn) slot_of_pfn_[pfn_of_slot_[slot]] = 0;
  pfn_of_slot_[slot] = pfn;
  slot_of_pfn_[pfn] = slot + 1;
  if (slot != newest_) {
    unlink(slot);
    push_front(slot);
  }
  return pages_[slot];
}

DirectMappedPageCache::DirectMappedPageCache(size_t slots, uint64_t lifetime)
    : pages_(slots), tags_(slots, Tag{kNoPfn, 0}), lifetime_(lifetime) {}

uint8_t* DirectMappedPageCache::find(uint64_t pfn, uint64_t epoch) {
  const size_t slot = pfn & (tags_.size() - 1);
  if (tags_[slot].pfn != pfn) return nullptr;
  tags_[slot].epoch = epoch;
  return pages_[slot];
}

uint8_t* DirectMappedPageCache::insert(uint64_t pfn, uint64_t epoch) {
  const size_t slot = pfn & (tags_.size() - 1);
  Tag& tag = tags_[slot];
  if (tag.pfn != kNoPfn && tag.pfn != pfn && tag.epoch + lifetime_ > epoch) return nullptr;
  tag = Tag{pfn, epoch};
  return pages_[slot];
}

}  // namespace fgbi::peers
