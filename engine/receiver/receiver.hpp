// The receiver engine: parses a wire-format v2 stream in pieces of any
// size, validates each epoch completely (structure, limits, checksums, the
// stream's identity, the end-to-end digest) and only then writes it to the
// replica, all or nothing. It keeps the full block hashes of the replica's
// pages and each page's check, so the digest is computed from the blocks an
// epoch writes and the hashes of those blocks only, without reading the
// rest of a page.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "codec/compressor.hpp"
#include "common/buffers.hpp"
#include "common/params.hpp"
#include "common/thread_pool.hpp"
#include "fgbi.h"
#include "kernels.hpp"
#include "receiver/replica_memory.hpp"
#include "wire/coded_page.hpp"
#include "wire/epoch_reader.hpp"
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
  void set_before_apply(fgbi_before_apply_fn hook, void* user) {
    before_apply_ = hook;
    before_apply_user_ = user;
  }

 private:
  // A page the epoch updates or vouches for. The new content of the blocks
  // set in `bitmap` lies consecutively at `offset` in the epoch's bytes
  // (epoch_base(): full-page and block records) or in staged_ (coded and
  // XOR records, decoded on arrival); their full hashes go to new_hashes_
  // at hash_offset.
  struct Entry {
    uint64_t pfn;
    size_t offset;
    size_t hash_offset;
    uint64_t bitmap[kernels::kBitmapWords];
    uint32_t blocks;  // bits set in bitmap
    uint8_t kind;
    bool staged;
  };
  // Counts of the epoch being received, added to the totals on commit.
  struct EpochCounts {
    uint64_t blocks_zero = 0, blocks_shared_epoch = 0, blocks_shared_replica = 0;
  };

  fgbi_status prepare();
  fgbi_status feed_in_place(const uint8_t* data, size_t size, size_t* used);
  fgbi_status complete_unit();
  fgbi_status on_header();
  fgbi_status on_records(const uint8_t* records, size_t size);
  fgbi_status parse_records(const uint8_t* records, size_t size);
  fgbi_status on_trailer();
  void forget_block_hashes();
  fgbi_status check_pfn(uint64_t pfn) const;
  void add_entry(const Entry& entry);
  fgbi_status decode_coded_page(uint64_t pfn, const uint8_t* payload, size_t size);
  fgbi_status parse_xor_pages(uint64_t first, size_t offset, size_t size);
  fgbi_status check_xor_run(const uint8_t** at_entry, const uint8_t* end, uint64_t* last_pfn);
  void apply_xor_run();
  fgbi_status resolve_reference(const wire::BlockRef& ref, bool in_epoch, const uint8_t** source);
  // Where the current epoch's bytes start.
  const uint8_t* epoch_base() const { return in_place_ != nullptr ? in_place_ : epoch_.data(); }
  const uint8_t* entry_data(const Entry& e) const {
    return (e.staged ? staged_.data() : epoch_base()) + e.offset;
  }
  fgbi_status parse_clean_list(uint64_t first, const uint8_t* p, const uint8_t* end);
  uint64_t compute_digest();
  fgbi_status call_before_apply();
  void apply();
  void discard_epoch();
  // Calls fn on chunks of entries [first, end), in parallel with threads.
  void for_each_entry_chunk(size_t first, const std::function<void(size_t, size_t)>& fn);
  void check_new_entries();

  Config config_;
  ReplicaMemory replica_;
  const kernels::KernelTable* kernels_ = nullptr;
  std::unique_ptr<ThreadPool> pool_;
  ZeroedArray<uint64_t> in_epoch_;  // bitmap of pfns the current epoch names

  uint64_t committed_ = 0;
  bool failed_ = false;  // a stream error; reset before more input
  ByteBuffer epoch_;     // every byte of the current epoch received so far
  // The caller's buffer, during a feed call that holds the epoch from its
  // start: its units are parsed there, and copied to epoch_ only if the
  // buffer ends inside the epoch.
  const uint8_t* in_place_ = nullptr;
  size_t unit_start_ = 0;  // offset in the epoch where the unit being collected starts
  wire::EpochReader reader_{0, 0};
  // The stream being received: fixed by its first committed epoch.
  uint64_t stream_id_ = 0;
  bool stream_known_ = false;
  // Full block hashes and the check (wire::page_check) of every replica
  // page, valid where hash_known_ is set (taken from the replica the first
  // time a page is needed).
  ZeroedArray<uint64_t> block_hashes_;
  ZeroedArray<uint64_t> page_checks_;
  ZeroedArray<uint8_t> hash_known_;
  std::vector<uint64_t> new_hashes_;
  std::vector<Entry> entries_;
  // pfn -> entries_ index, built on the first in-epoch reference of an epoch.
  std::unordered_map<uint64_t, uint32_t> entry_of_pfn_;
  bool entry_map_live_ = false;
  ByteBuffer staged_;  // decoded blocks of coded records
  // Parse scratch for a run of XOR_PAGES entries (parse_xor_pages): its
  // literals in order, placed among the blocks each page gathers as the
  // check found them (pointing into the epoch's bytes), and where each
  // page's literals begin (one more: the end), so that applying them
  // decodes nothing again.
  std::vector<kernels::XorRange> xor_literals_;
  std::vector<size_t> xor_page_literals_;
  codec::Decompressor decompressor_;
  wire::CodedPage coded_;  // parse scratch, reused
  alignas(64) uint8_t literal_scratch_[kernels::kPageSize];
  EpochCounts epoch_counts_;
  std::vector<uint64_t> entry_checks_;
  size_t entries_checked_ = 0;  // entries whose checks are in entry_checks_
  fgbi_before_apply_fn before_apply_ = nullptr;
  void* before_apply_user_ = nullptr;
  std::vector<uint64_t> written_pfns_;  // what the hook is given

  uint64_t epochs_ = 0, bytes_in_ = 0, bytes_out_ = 0, pages_full_ = 0, pages_partial_ = 0;
  uint64_t pages_unchanged_ = 0, pages_coded_ = 0, blocks_written_ = 0, rejected_ = 0;
  EpochCounts totals_;
};

}  // namespace fgbi
