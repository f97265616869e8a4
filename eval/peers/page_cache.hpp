// The sender-side page caches of the delta peers. Both hold copies of pages
// as last sent, so they always equal what the receiver's replica holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common/buffers.hpp"
#include "peer_codec.hpp"

namespace fgbi::peers {

// `count` page-aligned 4 KiB slots in one allocation; the kernel maps them
// only when first touched, so a large cache costs what it holds.
class PageSlots {
 public:
  explicit PageSlots(size_t count);
  uint8_t* operator[](size_t slot) { return memory_.get() + slot * kPeerPageSize; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> memory_;
};

// Xen xc_compression's cache: fully associative, least recently used page
// evicted, with a pfn-indexed table to find a page's slot.
class LruPageCache {
 public:
  LruPageCache(size_t slots, uint64_t tracked_pages);
  // pfn's cached copy, now the most recently used; nullptr when not cached.
  uint8_t* find(uint64_t pfn);
  // Evicts the least recently used page and gives its slot to pfn (which
  // must not be cached), as the most recently used; returns the slot.
  uint8_t* replace_lru(uint64_t pfn);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kNoPfn = UINT64_MAX;
  void unlink(uint32_t slot);
  void push_front(uint32_t slot);

  PageSlots pages_;
  ZeroedArray<uint32_t> slot_of_pfn_;  // slot + 1; 0 = not cached
  std::vector<uint64_t> pfn_of_slot_;  // kNoPfn when empty
  std::vector<uint32_t> newer_, older_;
  uint32_t newest_ = kNone, oldest_ = kNone;
};

// QEMU's XBZRLE page cache: direct-mapped by pfn modulo a power-of-two slot
// count. A page that was hit or inserted within `lifetime` epochs keeps its
// slot against a colliding newcomer (QEMU's CACHED_PAGE_LIFETIME).
class DirectMappedPageCache {
 public:
  static constexpr uint64_t kQemuLifetime = 2;
  // slots must be a power of two.
  DirectMappedPageCache(size_t slots, uint64_t lifetime);
  // pfn's cached copy, its age refreshed to `epoch`; nullptr on a miss.
  uint8_t* find(uint64_t pfn, uint64_t epoch);
  // pfn's slot, taken from its occupant unless that one is still fresh;
  // nullptr when refused (the page then stays uncached).
  uint8_t* insert(uint64_t pfn, uint64_t epoch);

 private:
  static constexpr uint64_t kNoPfn = UINT64_MAX;
  struct Tag {
    uint64_t pfn;
    uint64_t epoch;
  };
  PageSlots pages_;
  std::vector<Tag> tags_;
  uint64_t lifetime_;
};

}  // namespace fgbi::peers
