// Where a paused guest's dirty pages are captured: one page-sized slot per
// page added to the epoch, in chunks allocated as epochs need them and kept
// for the next one. The capture pass writes only what the encoder needs
// into a slot (the changed blocks, or the whole page), so slots of unchanged
// or sparsely changed pages stay mostly untouched. Slots never move while
// an epoch is open: the encoder and its tables hold pointers into them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/buffers.hpp"

namespace fgbi {

class StagingArena {
 public:
  // Up to bound_bytes of slots of page_size bytes.
  void configure(uint32_t page_size, uint64_t bound_bytes) {
    page_size_ = page_size;
    capacity_ = static_cast<size_t>(bound_bytes / page_size);
    chunks_.clear();
  }
  // Slots an epoch may hold.
  size_t capacity() const { return capacity_; }
  // Makes slots [0, n) available; false when out of memory (or n > capacity).
  bool reserve(size_t n) {
    if (n > capacity_) return false;
    while (chunks_.size() * kChunkPages < n) {
      ZeroedArray<uint8_t> chunk;
      if (!chunk.allocate(kChunkPages * size_t{page_size_})) return false;
      chunks_.push_back(std::move(chunk));
    }
    return true;
  }
  uint8_t* slot(size_t i) {
    return chunks_[i / kChunkPages].data() + (i % kChunkPages) * size_t{page_size_};
  }
  // Keeps the memory of a typical epoch of `pages`, not of the largest seen.
  void trim(size_t pages) {
    const size_t keep = (pages + kChunkPages - 1) / kChunkPages;
    if (chunks_.size() > 2 * keep) chunks_.resize(keep);
  }
  size_t bytes() const { return chunks_.size() * kChunkPages * size_t{page_size_}; }

 private:
  static constexpr size_t kChunkPages = 512;  // 2 MiB of 4 KiB pages: one huge page
  uint32_t page_size_ = 0;
  size_t capacity_ = 0;
  std::vector<ZeroedArray<uint8_t>> chunks_;
};

}  // namespace fgbi
