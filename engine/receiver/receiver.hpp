// The receiver engine: parses a wire-format v1 stream in pieces of any
// size, validates each epoch completely (structure, limits, checksums, the
// end-to-end digest) and only then writes it to the replica, all or nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/buffers.hpp"
#include "common/params.hpp"
#include "common/thread_pool.hpp"
#include "fgbi.h"
#include "kernels.hpp"
#include "receiver/replica_memory.hpp"
#include "wire/format.hpp"

namespace fgbi {

class Receiver {
 public:
  fgbi_status set_parameter(fgbi_param param, int64_t value);
  fgbi_status get_parameter(fgbi_param param, int64_t* value) const;
  fgbi_status attach_memory(void* memory, size_t size);
  fgbi_status map_file(const char* path);
  fgbi_status replica(const void** memory, size_t* size) const;
  fgbi_status set_committed_epoch(uint64_t committed);
  fgbi_status feed(const uint8_t* data, size_t size);
  fgbi_status end_stream();
  fgbi_status reset_stream();
  uint64_t committed_epoch() const { return committed_; }
  fgbi_status get_stat(fgbi_stat stat, uint64_t* value) const;

 private:
  // What the bytes being collected are.
  enum class Phase { kHeader, kSegmentHeader, kRecords, kTrailer, kFailed };

  // A page the epoch updates or vouches for; payload is an offset into epoch_.
  struct Entry {
    uint64_t pfn;
    size_t payload;
    uint8_t kind;
    uint32_t blocks;  // blocks the record writes
  };

  fgbi_status prepare();
  fgbi_status complete_unit();
  fgbi_status on_header();
  fgbi_status on_segment_header();
  fgbi_status on_records();
  fgbi_status on_trailer();
  fgbi_status add_entry(uint64_t pfn, uint8_t kind, size_t payload, uint32_t blocks);
  const uint8_t* block_payload(const Entry& e, uint64_t* bitmap) const;
  fgbi_status parse_clean_list(uint64_t first, const uint8_t* p, const uint8_t* end);
  uint64_t compute_digest();
  void apply();
  void expect(Phase phase, size_t bytes);
  void discard_epoch();
  void for_each_entry_chunk(const std::function<void(size_t, size_t)>& fn);

  Config config_;
  ReplicaMemory replica_;
  const kernels::KernelTable* kernels_ = nullptr;
  std::unique_ptr<ThreadPool> pool_;
  ZeroedArray<uint64_t> in_epoch_;  // bitmap of pfns the current epoch names

  uint64_t committed_ = 0;
  Phase phase_ = Phase::kHeader;
  ByteBuffer epoch_;     // every byte of the current epoch received so far
  size_t unit_end_ = 0;  // epoch_ offset where the unit being collected ends
  wire::EpochHeader header_;
  wire::SegmentHeader segment_;
  uint32_t segments_seen_ = 0;
  uint32_t records_seen_ = 0;
  uint64_t body_seen_ = 0;
  std::vector<size_t> segment_offsets_;  // epoch_ offsets of segment headers
  std::vector<Entry> entries_;
  std::vector<uint64_t> page_hashes_;

  uint64_t epochs_ = 0, bytes_in_ = 0, bytes_out_ = 0, pages_full_ = 0, pages_partial_ = 0;
  uint64_t pages_unchanged_ = 0, blocks_written_ = 0, rejected_ = 0;
};

}  // namespace fgbi
