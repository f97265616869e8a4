// The sender engine: turns each epoch's dirty pages into a wire-format v1
// epoch carrying only the blocks the receiver does not hold yet.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/buffers.hpp"
#include "common/params.hpp"
#include "common/thread_pool.hpp"
#include "fgbi.h"
#include "kernels.hpp"

namespace fgbi {

class Sender {
 public:
  fgbi_status set_parameter(fgbi_param param, int64_t value);
  fgbi_status get_parameter(fgbi_param param, int64_t* value) const;
  fgbi_status begin_epoch(uint64_t* epoch);
  fgbi_status add_pages(const uint64_t* pfns, const void* const* pages, size_t n,
                        fgbi_status* per_page_status);
  size_t epoch_bound(size_t n_pages) const;
  fgbi_status end_epoch(uint8_t* dst, size_t capacity, size_t* written);
  fgbi_status end_epoch(fgbi_write_fn write, void* user);
  fgbi_status rewind(uint64_t committed);
  fgbi_status pending_pages(uint64_t* pfns, size_t capacity, size_t* count) const;
  fgbi_status get_stat(fgbi_stat stat, uint64_t* value) const;

 private:
  enum class Stage { kConfiguring, kIdle, kOpen, kEncoded };

  struct DirtyPage {
    uint64_t pfn;
    const uint8_t* data;
  };
  struct Counters {
    uint64_t pages_full = 0, pages_partial = 0, pages_unchanged = 0;
    uint64_t blocks_scanned = 0, blocks_changed = 0;
    void add(const Counters& o);
  };
  // One segment of the epoch being encoded; reused from epoch to epoch.
  struct Segment {
    ByteBuffer bytes;                                  // segment header + records
    ByteBuffer digest_entries;                         // end-to-end digest entries, in record order
    std::vector<std::pair<uint64_t, uint64_t>> clean;  // (pfn, page hash)
    uint32_t records = 0;
    Counters counters;
  };

  fgbi_status start();
  fgbi_status check_page(uint64_t pfn, const void* page) const;
  void encode_epoch();
  void encode_segment(size_t index);
  void append_record(Segment& seg, uint8_t kind, uint64_t pfn, size_t payload_bytes,
                     uint8_t** payload);
  fgbi_status emit(fgbi_write_fn write, void* user);
  void finish_epoch();

  Config config_;
  Stage stage_ = Stage::kConfiguring;
  const kernels::KernelTable* kernels_ = nullptr;
  std::unique_ptr<ThreadPool> pool_;

  // Per tracked page: the block hashes of the receiver's copy, and the last
  // epoch that carried the page (0 = the receiver's copy is unknown).
  ZeroedArray<uint64_t> hashes_;
  ZeroedArray<uint64_t> sent_epoch_;
  ZeroedArray<uint64_t> in_epoch_;  // bitmap: added to the open epoch

  uint64_t epoch_ = 0;       // the open (or last) epoch
  uint64_t last_epoch_ = 0;  // the last epoch produced
  std::vector<DirtyPage> dirty_;
  std::vector<Segment> segments_;
  std::vector<uint64_t> pending_;  // pfns to resend after a rewind, ascending
  size_t encoded_bytes_ = 0;
  ByteBuffer header_and_trailer_;

  uint64_t epochs_ = 0, bytes_in_ = 0, bytes_out_ = 0, pages_ = 0;
  Counters totals_;
};

}  // namespace fgbi
