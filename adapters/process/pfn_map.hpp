// A stable pfn space for a process's changing virtual address space.
//
// Each captured virtual page gets a pfn when it first appears and keeps it
// for as long as it stays mapped, so that an epoch's pfns name the same
// memory from one epoch to the next. When a mapping disappears its pfns are
// released and later reused by pages that appear; such "fresh" pages are
// reported so that the source ships them whole. The pfn space is bounded by
// max_pages (the tracked page count the engine is configured with).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fgbi::adapters::process {

// A page-aligned range of virtual addresses, [start, end).
struct VirtualRange {
  uint64_t start = 0, end = 0;
  uint64_t pages() const;
};

class PfnMap {
 public:
  explicit PfnMap(uint64_t max_pages) : max_pages_(max_pages) {}

  // Moves to a new set of ranges (sorted by address, not overlapping). Pages
  // present before keep their pfns; pages no longer present release theirs;
  // new pages get pfns, which are appended to `fresh`. False with `error` set
  // (and the map unchanged) when the pages would exceed max_pages.
  bool update(const std::vector<VirtualRange>& ranges, std::vector<uint64_t>& fresh,
              std::string& error);

  size_t range_count() const { return ranges_.size(); }
  const VirtualRange& range(size_t i) const { return ranges_[i].range; }
  // The pfn of each page of range i, in address order.
  std::span<const uint64_t> pfns(size_t i) const { return ranges_[i].pfns; }
  // The pfn of the page holding this virtual address, if it is mapped.
  std::optional<uint64_t> pfn_of(uint64_t address) const;
  uint64_t mapped_pages() const { return mapped_; }
  uint64_t max_pages() const { return max_pages_; }

 private:
  struct MappedRange {
    VirtualRange range;
    std::vector<uint64_t> pfns;
  };
  static constexpr uint64_t kNoPfn = ~uint64_t{0};

  uint64_t max_pages_;
  std::vector<MappedRange> ranges_;
  std::vector<uint64_t> free_;  // released pfns, reused first
  uint64_t next_unused_ = 0;    // pfns at or above this were never handed out
  uint64_t mapped_ = 0;
};

}  // namespace fgbi::adapters::process
