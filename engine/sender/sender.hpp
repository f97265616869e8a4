// The sender engine: turns each epoch's dirty pages into a wire-format v2
// epoch carrying only what the receiver does not hold yet - the changed
// blocks, with zero and duplicate blocks shared and the rest encoded the
// way the cost model expects to ship fastest.
//
// Two phases. add_pages() captures: one pass over each page, while the
// guest is paused, hashes its blocks, compares them with the receiver's,
// copies the changed ones (or the whole page, where the encoder needs it)
// into the staging arena; the full block hashes it stores are what the
// end-to-end check is made of.
// end_epoch() encodes from the arena, the page cache and the sender's own
// tables only - never from the caller's pages - and streams the epoch.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/compressor.hpp"
#include "common/buffers.hpp"
#include "common/params.hpp"
#include "common/thread_pool.hpp"
#include "fgbi.h"
#include "kernels.hpp"
#include "sender/content_index.hpp"
#include "sender/cost_model.hpp"
#include "sender/page_cache.hpp"
#include "sender/page_plan.hpp"
#include "sender/staging_arena.hpp"
#include "wire/coded_page.hpp"
#include "wire/format.hpp"

namespace fgbi {

class Sender {
 public:
  Sender();
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
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

  // A dirty page as captured.
  struct DirtyPage {
    uint64_t pfn;
    // Its staging slot: the whole page (whole) or its changed blocks, in
    // block order. A page whose every block changed is whole either way.
    const uint8_t* data;
    uint64_t check;  // wire::page_check of its content at capture (digest on; set
                     // by the capture for narrowed test hashes, else by the encoder)
    uint64_t changed[kernels::kBitmapWords];
    uint64_t zero[kernels::kBitmapWords];  // all-zero blocks (zero sharing on)
    uint64_t last_sent;                    // the epoch that carried it before this one (0: never)
    uint32_t n_changed;
    bool known;  // the receiver holds a copy: changed is against it
    bool whole;
  };
  struct Counters {
    uint64_t pages_full = 0, pages_partial = 0, pages_unchanged = 0, pages_coded = 0;
    uint64_t blocks_scanned = 0, blocks_changed = 0;
    uint64_t blocks_zero = 0, blocks_shared_epoch = 0, blocks_shared_replica = 0;
    uint64_t cache_hits = 0, cache_misses = 0;
    std::array<uint64_t, codec::kCodecCount> chosen{};       // coded pages per codec
    std::array<uint64_t, codec::kCodecCount> codec_bytes{};  // block bytes per codec
    void add(const Counters& o);
  };
  struct IndexInsert {
    uint64_t hash;
    uint64_t pfn;
    uint32_t block;
  };
  // One segment of the epoch being encoded; reused from epoch to epoch.
  struct Segment {
    ByteBuffer bytes;                                  // segment header + records
    ByteBuffer digest_entries;                         // end-to-end digest entries, in record order
    std::vector<std::pair<uint64_t, uint64_t>> clean;  // (pfn, page hash)
    std::vector<IndexInsert> index_inserts;            // blocks the receiver will hold
    std::vector<std::pair<uint32_t, bool>> cache_inserts;  // (dirty_ index, first send)
    ByteBuffer xor_pages;           // entries of the segment's XOR_PAGES record
    ByteBuffer xor_digest_entries;  // their digest entries
    uint32_t xor_pages_count = 0;
    uint64_t xor_first_pfn = 0, xor_last_pfn = 0;
    uint32_t records = 0;
    // The open FULL_PAGE run: where its record header sits in `bytes`, where
    // it ends (0: none open) and its last pfn.
    size_t full_run_header = 0, full_run_end = 0;
    uint64_t full_run_pfn = 0;
    Counters counters;
    CostSamples samples;
    // Payloads left in staging, when the segment is copied out after
    // encoding (defer_payloads): each goes where `at` bytes of `bytes`
    // precede it, so one copy takes staged pages to the caller.
    struct Deferred {
      size_t at;
      const uint8_t* from;
      size_t size;
    };
    bool defer_payloads = false;
    std::vector<Deferred> deferred;
    size_t deferred_bytes = 0;
    // Bytes of the segment on the wire.
    size_t size() const { return bytes.size() + deferred_bytes; }
    // Calls fn(data, size) for the segment's bytes in wire order.
    template <typename Fn>
    void for_each_piece(Fn&& fn) const {
      size_t from = 0;
      for (const Deferred& d : deferred) {
        fn(bytes.data() + from, d.at - from);
        fn(d.from, d.size);
        from = d.at;
      }
      fn(bytes.data() + from, bytes.size() - from);
    }
  };
  // Each changed block's operation on the wire, and the references.
  struct BlockOps {
    const uint64_t* full_hashes = nullptr;  // of every block of the page
    wire::BlockOp ops[kernels::kMaxBlocksPerPage];
    wire::BlockRef refs[kernels::kMaxBlocksPerPage];
    uint64_t literal_bitmap[kernels::kBitmapWords] = {};
    uint32_t n_ops = 0, n_refs = 0, n_literal = 0, n_zero = 0, n_epoch = 0, n_replica = 0;
    void clear() {
      std::fill(std::begin(literal_bitmap), std::end(literal_bitmap), 0);
      n_ops = n_refs = n_literal = n_zero = n_epoch = n_replica = 0;
    }
  };
  // Per-thread scratch: compressor state and the in-epoch duplicate table.
  struct Worker;

  fgbi_status start();
  void plan_epoch_stages();
  bool coding() const { return config_.sharing != 0 || config_.codecs != 0; }
  fgbi_status check_page(uint64_t pfn, const void* page) const;
  void capture_batch(size_t first, size_t count, const uint8_t* const* pages, bool around_cache);
  // Encodes every segment, a wave of `threads` at a time; with write set,
  // streams the header and each wave's segments as they are done. With
  // in_place set (one thread, at least epoch_bound bytes there), each
  // segment is encoded where it lies in the finished epoch, after the header.
  fgbi_status encode_epoch(fgbi_write_fn write, void* user, std::span<uint8_t> in_place = {});
  void encode_segment(size_t index, Worker& worker);
  void prefetch_index_slots(size_t first, size_t count) const;
  void prefetch_inputs(const DirtyPage& d) const;
  // Returns true when the page went into the segment's XOR_PAGES record.
  bool encode_page(Segment& seg, Worker& worker, CostModel::Local& costs, uint32_t dirty_index);
  bool replica_holds(const ContentIndex::Entry& e, uint64_t hash) const;
  bool samples_a_block(OptionalStage stage, const DirtyPage& page) const;
  void share_blocks(Segment& seg, Worker& w, const DirtyPage& page, const uint64_t* zero,
                    const uint8_t* cached, bool epoch_refs, bool replica_refs, BlockOps& out) const;
  size_t xor_page_delta(const DirtyPage& page, const uint8_t* old, uint8_t* out, size_t capacity,
                        Worker& worker) const;
  void keep_cache_current(uint8_t* cached, const DirtyPage& page);
  // Copies the page's changed blocks that are set in `subset` (a subset of
  // its changed blocks), in order, to out.
  void gather_changed(const DirtyPage& page, const uint64_t* subset, uint8_t* out) const;
  void emit_xor_page(Segment& seg, uint64_t pfn, const uint8_t* delta, size_t size,
                     uint32_t n_changed) const;
  uint8_t* append_record(Segment& seg, uint8_t kind, uint64_t pfn, size_t payload_bytes);
  // Whether a page sent plain goes whole (FULL_PAGE) rather than as BLOCKS:
  // the receiver's copy is unknown, or a bitmap and the changed blocks
  // would be no smaller.
  bool plain_whole(const DirtyPage& page) const;
  void emit_plain(Segment& seg, const DirtyPage& page);
  // Fills `payload`, the last `size` bytes of seg.bytes, from staging, or
  // leaves them there for the copy out (Segment::defer_payloads).
  void place_payload(Segment& seg, uint8_t* payload, const uint8_t* from, size_t size) const;
  // Whether an enabled general codec could ship a page faster than raw.
  bool codec_may_pay(const CostModel::Local& costs) const;
  void emit_coded(Segment& seg, const DirtyPage& page, const BlockOps& shared,
                  std::span<const uint8_t> prefix, std::span<const uint8_t> section,
                  codec::Codec codec);
  void commit_sources(Segment& seg, Worker& w, const DirtyPage& page, const uint64_t* zero,
                      const BlockOps& shared, bool coded, bool epoch_refs, bool replica_refs) const;
  fgbi_status emit(fgbi_write_fn write, void* user);
  void finish_epoch();
  size_t segment_count() const;
  // The epoch header's flags. With the digest, which covers every page's
  // new content, the records are not checksummed as well: on an epoch of
  // whole pages that second hash at each end is a sixth of fgbi's time
  // (docs/PERFORMANCE.md, eighteenth pass).
  uint32_t epoch_flags() const {
    return config_.digest ? wire::kFlagDigest | wire::kFlagNoRecordsChecksum : 0;
  }

  Config config_;
  Stage stage_ = Stage::kConfiguring;
  const kernels::KernelTable* kernels_ = nullptr;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Per tracked page: the block hashes of the receiver's copy, and the last
  // epoch that carried the page (0 = the receiver's copy is unknown).
  ZeroedArray<uint64_t> hashes_;
  ZeroedArray<uint64_t> sent_epoch_;
  ZeroedArray<uint64_t> in_epoch_;  // bitmap: added to the open epoch
  ContentIndex index_;
  PageCache cache_;
  CostModel cost_model_;
  StagePlan stages_;           // the optional stages the open epoch runs
  bool index_filled_ = false;  // the index has held entries since an epoch began
  StagingArena staging_;
  uint64_t stream_id_ = 0;
  std::vector<size_t> accepted_;  // add_pages scratch: the batch's pages that passed

  uint64_t epoch_ = 0;       // the open (or last) epoch
  uint64_t last_epoch_ = 0;  // the last epoch produced
  std::vector<DirtyPage> dirty_;
  std::vector<Segment> segments_;
  std::vector<uint64_t> pending_;  // pfns to resend after a rewind, ascending
  size_t encoded_bytes_ = 0;
  uint8_t header_[wire::kHeaderBytes];
  uint8_t trailer_[wire::kTrailerBytes];

  uint64_t epochs_ = 0, bytes_in_ = 0, bytes_out_ = 0, pages_ = 0;
  Counters totals_;
};

}  // namespace fgbi
