// The sender's index of blocks the receiver holds: block hash -> where the
// receiver has that content (pfn, block). It lets a changed block travel as
// a reference to the replica (FGBI_SHARE_REPLICA) instead of its bytes.
//
// Lossy by design: a fixed-size, direct-mapped table (FGBI_P_INDEX_BYTES)
// whose newer entries replace older ones, so memory is bounded whatever the
// guest does. An entry records the epoch it was made in; it is trusted only
// while that location still holds that content (see Sender::replica_ref).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/buffers.hpp"

namespace fgbi {

class ContentIndex {
 public:
  struct Entry {
    uint64_t hash;  // full FGBH64 of the content
    uint64_t pfn;
    uint32_t block;
    uint32_t unused;
    uint64_t epoch;  // epoch that sent this content there; 0 = empty slot
  };

  // Sizes the table to the largest power of two of entries within bytes.
  bool configure(size_t bytes);
  bool enabled() const { return slots_.size() != 0; }

  const Entry* find(uint64_t hash) const {
    const Entry& e = slots_[hash & mask_];
    return e.epoch != 0 && e.hash == hash ? &e : nullptr;
  }
  void prefetch(uint64_t hash) const { prefetch_line(&slots_[hash & mask_]); }
  void insert(uint64_t hash, uint64_t pfn, uint32_t block, uint64_t epoch) {
    slots_[hash & mask_] = Entry{hash, pfn, block, 0, epoch};
  }
  size_t bytes() const { return slots_.bytes(); }

 private:
  ZeroedArray<Entry> slots_;
  uint64_t mask_ = 0;
};

}  // namespace fgbi
