#include "process/pfn_map.hpp"

#include <algorithm>

#include "source.hpp"

namespace fgbi::adapters::process {

uint64_t VirtualRange::pages() const { return (end - start) / kPageSize; }

bool PfnMap::update(const std::vector<VirtualRange>& ranges, std::vector<uint64_t>& fresh,
                    std::string& error) {
  uint64_t total = 0;
  for (const VirtualRange& r : ranges) total += r.pages();
  if (total > max_pages_) {
    error = "the process maps " + std::to_string(total) + " writable pages, more than the " +
            std::to_string(max_pages_) + " tracked (raise max-pages)";
    return false;
  }

  std::vector<MappedRange> next(ranges.size());
  for (size_t j = 0; j < ranges.size(); ++j) {
    next[j].range = ranges[j];
    next[j].pfns.assign(ranges[j].pages(), kNoPfn);
  }
  // Both lists are sorted: sweep them together, moving the pfns of every page
  // that stays mapped from the old range to the new one.
  for (size_t i = 0, j = 0; i < ranges_.size() && j < next.size();) {
    MappedRange& old = ranges_[i];
    MappedRange& now = next[j];
    const uint64_t lo = std::max(old.range.start, now.range.start);
    const uint64_t hi = std::min(old.range.end, now.range.end);
    for (uint64_t a = lo; a < hi; a += kPageSize) {
      uint64_t& from = old.pfns[(a - old.range.start) / kPageSize];
      now.pfns[(a - now.range.start) / kPageSize] = from;
      from = kNoPfn;
    }
    if (old.range.end <= now.range.end)
      ++i;
    else
      ++j;
  }
  for (const MappedRange& old : ranges_)
    for (uint64_t pfn : old.pfns)
      if (pfn != kNoPfn) free_.push_back(pfn);
  for (MappedRange& now : next) {
    for (uint64_t& pfn : now.pfns) {
      if (pfn != kNoPfn) continue;
      if (!free_.empty()) {
        pfn = free_.back();
        free_.pop_back();
      } else {
        pfn = next_unused_++;  // total <= max_pages_ keeps this in range
      }
      fresh.push_back(pfn);
    }
  }
  ranges_ = std::move(next);
  mapped_ = total;
  return true;
}

std::optional<uint64_t> PfnMap::pfn_of(uint64_t address) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const MappedRange& r) { return a < r.range.start; });
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (address >= it->range.end) return std::nullopt;
  return it->pfns[(address - it->range.start) / kPageSize];
}

}  // namespace fgbi::adapters::process
