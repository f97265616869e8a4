#include "sender/sender.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <random>
#include <span>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "wire/epoch_writer.hpp"

namespace fgbi {
namespace {

// Pages captured per kernel call: small enough that a page is still in L1/L2
// when its changed blocks are copied out right after it is hashed.
constexpr size_t kIdentifyBatch = 16;
// A page with no current copy cached is captured whole, to enter the cache, in one
// of this many of the epochs that carry it.
constexpr uint64_t kAdmitEvery = 8;
// Epochs at least this large are copied out of the segments by every thread:
// some 6 us of copying, against about 1 us for the pool's hand-off right
// after the encode (fgbi_engine_bench handoff/0us and 50us).
constexpr size_t kParallelCopyBytes = size_t{64} << 10;
// Pages whose index slots are loaded ahead of encoding, at a time.
constexpr size_t kPrefetchPages = 16;
// How many pages ahead the encoder loads a page's staged blocks and cached
// copy: 4 encoded `hpc` faster than 2 or 8 (docs/PERFORMANCE.md).
constexpr size_t kInputsAhead = 4;
// How many pages ahead the encoder prefetches a page's stored hashes for its check.
constexpr size_t kCheckAhead = 4;
// Epochs of at least this many dirty bytes are staged around the CPU cache:
// a quarter of a typical server L3 and several times an L2.
constexpr size_t kStreamEpochBytes = size_t{4} << 20;
// Every this many coded pages a segment tries every enabled codec, so the
// cost model keeps learning ratios (and, timed, speeds) of codecs it is not
// choosing at the moment.
constexpr uint32_t kExplorePeriod = 32;
// An XOR page this small (a share of the changed bytes) is taken at once.
constexpr double kXorFastPathShare = 0.5;
// Typical framing of an XOR_PAGES entry: ULEB128 pfn delta and length.
constexpr size_t kXorFraming = 3;
// On an exploration page a codec is tried if its predicted cost is within
// this factor of the best form found so far.
constexpr double kExploreReach = 2.0;
// Calls on less input are not timed: reading the clock costs tens of ns,
// which would read as a slow codec on a block or two.
constexpr size_t kMinTimedBytes = 1024;
// No codec takes this long on one page unless its thread was preempted.
constexpr double kPreemptedNs = 200'000;
// The general-purpose codecs, in the order they are tried, and the
// FGBI_P_CODECS flag that enables each.
constexpr std::pair<uint32_t, codec::Codec> kGeneralCodecs[] = {
    {FGBI_CODEC_LZ4, codec::Codec::kLz4},
    {FGBI_CODEC_ZSTD, codec::Codec::kZstd},
    {FGBI_CODEC_ZLIB, codec::Codec::kZlib}};
// Slots of the per-thread table of blocks sent earlier in the segment.
constexpr size_t kDupSlots = 4096;
// Segments share an epoch's pages evenly, in a multiple of this many while
// each keeps at least kMinSegmentPages, so that two or four threads get
// equal shares: 600 pages make four segments of 150, not 256 + 256 + 88,
// after which one thread waits through most of the last segment. The
// layout depends on the page count alone, so the stream does not depend on
// the thread count.
constexpr size_t kSegmentMultiple = 4;
constexpr size_t kMinSegmentPages = 64;

size_t segments_for(size_t pages) {
  const size_t fewest = (pages + wire::kSegmentPages - 1) / wire::kSegmentPages;
  const size_t even = (fewest + kSegmentMultiple - 1) / kSegmentMultiple * kSegmentMultiple;
  return std::max(fewest, std::min(even, pages / kMinSegmentPages));
}

// Pages in each segment but the last, which may hold fewer.
size_t pages_per_segment(size_t pages) {
  const size_t segments = segments_for(pages);
  return segments == 0 ? wire::kSegmentPages : (pages + segments - 1) / segments;
}

uint32_t popcount(const uint64_t* bitmap) {
  uint32_t n = 0;
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) n += std::popcount(bitmap[w]);
  return n;
}

bool bit(const uint64_t* bitmap, uint32_t b) { return (bitmap[b / 64] >> (b % 64)) & 1; }
void set_bit(uint64_t* bitmap, uint32_t b) { bitmap[b / 64] |= 1ull << (b % 64); }

// The first block at or after `from` whose bit equals `value`, or `limit`.
uint32_t next_block(const uint64_t* bitmap, uint32_t from, uint32_t limit, bool value) {
  if (from >= limit) return limit;
  const uint64_t flip = value ? 0 : ~0ull;
  uint32_t w = from / 64;
  uint64_t bits = (bitmap[w] ^ flip) & (~0ull << (from % 64));
  while (bits == 0) {
    if (++w * 64 >= limit) return limit;
    bits = bitmap[w] ^ flip;
  }
  return std::min(limit, w * 64 + static_cast<uint32_t>(std::countr_zero(bits)));
}

// Calls run(first, end) for each maximal run of set bits among the first
// `blocks` bits, in order, while it returns true; false if one returned false.
template <typename Run>
bool for_each_run(const uint64_t* bitmap, uint32_t blocks, Run&& run) {
  for (uint32_t b = next_block(bitmap, 0, blocks, true); b < blocks;) {
    const uint32_t e = next_block(bitmap, b, blocks, false);
    if (!run(b, e)) return false;
    b = next_block(bitmap, e, blocks, true);
  }
  return true;
}

}  // namespace

struct Sender::Worker {
  // Blocks written by earlier pages of the current segment: hash -> where.
  struct DupSlot {
    uint64_t hash;
    uint64_t generation;  // segment it belongs to; stale slots are ignored
    uint64_t pfn;
    const uint8_t* data;
    uint32_t block;
  };
  codec::Compressor compressor;
  BlockOps ops;  // the page being encoded
  std::vector<DupSlot> dup = std::vector<DupSlot>(kDupSlots);
  uint64_t generation = 0;
  uint32_t coded_pages = 0;
  uint64_t full_hashes[kernels::kMaxBlocksPerPage];
  const uint8_t* block_data[kernels::kMaxBlocksPerPage];  // changed blocks in staging
  alignas(64) uint8_t literal[kernels::kPageSize];
  alignas(64) uint8_t previous[kernels::kPageSize];
  alignas(64) uint8_t xor_out[kernels::kPageSize];
  alignas(64) uint8_t packed[kernels::kPageSize];
  alignas(64) uint8_t candidate[kernels::kPageSize];
  alignas(64) uint8_t xor_page[kernels::kPageSize];
  uint8_t run_delta[kernels::xor_rle_bound(kernels::kPageSize)];

  const DupSlot* find_dup(uint64_t hash) const {
    const DupSlot& s = dup[hash % kDupSlots];
    return s.generation == generation && s.hash == hash ? &s : nullptr;
  }
  void add_dup(uint64_t hash, uint64_t pfn, uint32_t block, const uint8_t* data) {
    dup[hash % kDupSlots] = DupSlot{hash, generation, pfn, data, block};
  }
};

Sender::Sender() = default;
Sender::~Sender() = default;

void Sender::Counters::add(const Counters& o) {
  pages_full += o.pages_full;
  pages_partial += o.pages_partial;
  pages_unchanged += o.pages_unchanged;
  pages_coded += o.pages_coded;
  blocks_scanned += o.blocks_scanned;
  blocks_changed += o.blocks_changed;
  blocks_zero += o.blocks_zero;
  blocks_shared_epoch += o.blocks_shared_epoch;
  blocks_shared_replica += o.blocks_shared_replica;
  cache_hits += o.cache_hits;
  cache_misses += o.cache_misses;
  for (int c = 0; c < codec::kCodecCount; ++c) {
    chosen[c] += o.chosen[c];
    codec_bytes[c] += o.codec_bytes[c];
  }
}

fgbi_status Sender::set_parameter(fgbi_param param, int64_t value) {
  if (!param_applies(param, ParamSide::kSender)) return FGBI_E_PARAM_UNKNOWN;
  // The link's speed may change between epochs (a sender that measures it).
  if (param == FGBI_P_LINK_MBPS && stage_ == Stage::kIdle) {
    const fgbi_status st = config_.set(param, value);
    if (st == FGBI_OK) cost_model_.set_link_mbps(config_.link_mbps);
    return st;
  }
  if (stage_ != Stage::kConfiguring) return FGBI_E_WRONG_STAGE;
  return config_.set(param, value);
}

fgbi_status Sender::get_parameter(fgbi_param param, int64_t* value) const {
  if (!param_applies(param, ParamSide::kSender)) return FGBI_E_PARAM_UNKNOWN;
  return config_.get(param, value);
}

fgbi_status Sender::start() {
  kernels_ = kernels::find_kernels(static_cast<kernels::Backend>(config_.backend));
  if (kernels_ == nullptr) return FGBI_E_BACKEND_UNAVAILABLE;
  const uint64_t pages = config_.tracked_pages;
  if (!hashes_.allocate(pages * config_.blocks_per_page()) || !sent_epoch_.allocate(pages) ||
      !in_epoch_.allocate((pages + 63) / 64))
    return FGBI_E_NO_MEMORY;
  const bool replica_sharing = (config_.sharing & FGBI_SHARE_REPLICA) != 0;
  const bool xor_codec = (config_.codecs & FGBI_CODEC_XOR) != 0;
  if (!index_.configure(replica_sharing ? config_.index_bytes : 0) ||
      !cache_.configure(xor_codec ? config_.cache_bytes : 0, config_.page_size, pages))
    return FGBI_E_NO_MEMORY;
  cost_model_.set_link_mbps(config_.link_mbps);
  staging_.configure(config_.page_size, config_.staging_bytes);
  stream_id_ = config_.stream_id;
  if (stream_id_ == 0) {
    std::random_device entropy;
    while (stream_id_ == 0) stream_id_ = (uint64_t{entropy()} << 32) ^ entropy();
  }
  if (config_.threads > 1) pool_ = std::make_unique<ThreadPool>(config_.threads);
  for (uint32_t t = 0; t < config_.threads; ++t) workers_.push_back(std::make_unique<Worker>());
  stage_ = Stage::kIdle;
  return FGBI_OK;
}

fgbi_status Sender::begin_epoch(uint64_t* epoch) {
  if (stage_ == Stage::kConfiguring) {
    if (fgbi_status st = start(); st != FGBI_OK) return st;
  }
  if (stage_ != Stage::kIdle) return FGBI_E_WRONG_STAGE;
  epoch_ = last_epoch_ + 1;
  dirty_.clear();
  plan_epoch_stages();
  stage_ = Stage::kOpen;
  if (epoch) *epoch = epoch_;
  return FGBI_OK;
}

// Decided before the capture, which admits pages to the cache only while
// XOR pages pay.
void Sender::plan_epoch_stages() {
  StageInputs in;
  in.yields = &cost_model_.stage_yields();
  in.unpaid_runs = cost_model_.unpaid_runs();
  in.ns_per_lookup = CostModel::stage_ns_per_lookup();
  in.link_ns_per_byte = cost_model_.link_ns_per_byte();
  in.epoch = epoch_;
  in.enabled[static_cast<size_t>(OptionalStage::kEpochRefs)] =
      coding() && (config_.sharing & FGBI_SHARE_EPOCH) != 0;
  in.enabled[static_cast<size_t>(OptionalStage::kReplicaRefs)] = coding() && index_.enabled();
  in.enabled[static_cast<size_t>(OptionalStage::kXorPages)] = coding() && cache_.enabled();
  // While the XOR stage is off, the cached copies of sent pages go stale:
  // one epoch before its probe admits pages again.
  in.warmup_epochs[static_cast<size_t>(OptionalStage::kXorPages)] = 1;
  in.enabled[static_cast<size_t>(OptionalStage::kZeroBlocks)] =
      coding() && (config_.sharing & FGBI_SHARE_ZERO) != 0;
  stages_ = plan_stages(in);
}

fgbi_status Sender::check_page(uint64_t pfn, const void* page) const {
  if (page == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (pfn >= config_.tracked_pages) return FGBI_E_PFN_OUT_OF_RANGE;
  if (in_epoch_[pfn / 64] & (1ull << (pfn % 64))) return FGBI_E_DUPLICATE_PFN;
  return FGBI_OK;
}

fgbi_status Sender::add_pages(const uint64_t* pfns, const void* const* pages, size_t n,
                              fgbi_status* per_page_status) {
  if (stage_ != Stage::kOpen) return FGBI_E_WRONG_STAGE;
  if (n == 0) return FGBI_OK;
  if (pfns == nullptr || pages == nullptr) return FGBI_E_NULL_ARGUMENT;
  const size_t first = dirty_.size();
  auto undo = [&] {
    for (size_t i : accepted_) in_epoch_[pfns[i] / 64] &= ~(1ull << (pfns[i] % 64));
  };
  accepted_.clear();
  fgbi_status first_error = FGBI_OK;
  for (size_t i = 0; i < n; ++i) {
    fgbi_status st = check_page(pfns[i], pages[i]);
    if (st == FGBI_OK && first + accepted_.size() >= staging_.capacity()) st = FGBI_E_STAGING_FULL;
    if (per_page_status) per_page_status[i] = st;
    if (st == FGBI_OK) {
      in_epoch_[pfns[i] / 64] |= 1ull << (pfns[i] % 64);
      accepted_.push_back(i);
      continue;
    }
    if (first_error == FGBI_OK) first_error = st;
    if (per_page_status == nullptr) {  // all or nothing: nothing captured yet
      undo();
      return st;
    }
  }
  if (!staging_.reserve(first + accepted_.size())) {
    undo();
    if (per_page_status)
      for (size_t i : accepted_) per_page_status[i] = FGBI_E_NO_MEMORY;
    return FGBI_E_NO_MEMORY;
  }
  dirty_.resize(first + accepted_.size());
  // A large epoch is staged around the CPU cache: a cached store would first
  // read each line of staging from memory, during the pause.
  const bool around_cache = dirty_.size() * size_t{config_.page_size} >= kStreamEpochBytes;
  const size_t batches = (accepted_.size() + kIdentifyBatch - 1) / kIdentifyBatch;
  auto capture = [&](size_t b, unsigned) {
    const size_t begin = b * kIdentifyBatch;
    const size_t count = std::min(kIdentifyBatch, accepted_.size() - begin);
    const uint8_t* live[kIdentifyBatch];
    for (size_t j = 0; j < count; ++j) {
      const size_t i = accepted_[begin + j];
      dirty_[first + begin + j].pfn = pfns[i];
      live[j] = static_cast<const uint8_t*>(pages[i]);
    }
    capture_batch(first + begin, count, live, around_cache);
  };
  // The guest's vCPUs are idle during the pause: capture may use every thread.
  parallel_for(pool_.get(), batches, capture);
  return first_error;
}

// The capture pass over pages [first, first + count) of the epoch, whose
// live content is at pages[]: the only reads of guest memory.
void Sender::capture_batch(size_t first, size_t count, const uint8_t* const* pages,
                           bool around_cache) {
  const uint32_t block_size = config_.block_size;
  const uint32_t blocks = config_.blocks_per_page();
  const bool find_zero = stages_.on(OptionalStage::kZeroBlocks);
  uint64_t* hashes[kIdentifyBatch];
  uint8_t known[kIdentifyBatch];
  uint8_t whole[kIdentifyBatch];
  uint8_t* staged[kIdentifyBatch];
  uint64_t changed[kIdentifyBatch * kernels::kBitmapWords];
  uint64_t zero[kIdentifyBatch * kernels::kBitmapWords];
  for (size_t j = 0; j < count; ++j) {
    const uint64_t pfn = dirty_[first + j].pfn;
    hashes[j] = hashes_.data() + pfn * blocks;
    known[j] = sent_epoch_[pfn] != 0;
    // A page the cache holds no current copy of is captured whole, so that
    // it can enter the cache (which holds what the receiver has) once it changes -
    // but only in one epoch out of kAdmitEvery for each page: a full copy
    // costs the pause what a Remus copy does, and a working set larger than
    // the cache would pay it on most pages every epoch while gaining little.
    whole[j] = known[j] && stages_.on(OptionalStage::kXorPages, pfn) &&
               (pfn + epoch_) % kAdmitEvery == 0 && cache_.peek(pfn, sent_epoch_[pfn]) == nullptr;
    staged[j] = staging_.slot(first + j);
  }
  // One pass over each page: hash, compare, copy out what changed.
  kernels::IdentifyBatch batch;
  batch.count = count;
  batch.block_size = block_size;
  batch.hash_mask = config_.hash_mask();
  batch.pages = pages;
  batch.hashes = hashes;
  batch.known = known;
  batch.changed = changed;
  batch.zero = find_zero ? zero : nullptr;
  batch.staged = staged;
  batch.copy_all = whole;
  batch.stream_staged = around_cache;
  kernels_->identify(batch);
  if (around_cache) kernels::end_streamed_writes();  // the encoder's threads read staging

  uint64_t full_hashes[kernels::kMaxBlocksPerPage];
  for (size_t j = 0; j < count; ++j) {
    DirtyPage& d = dirty_[first + j];
    std::memcpy(d.changed, changed + j * kernels::kBitmapWords, sizeof d.changed);
    if (find_zero)
      std::memcpy(d.zero, zero + j * kernels::kBitmapWords, sizeof d.zero);
    else
      std::fill(std::begin(d.zero), std::end(d.zero), 0);
    d.known = known[j] != 0;
    d.n_changed = popcount(d.changed);
    d.whole = !d.known || whole[j] || d.n_changed == blocks;
    d.data = staged[j];
    d.last_sent = sent_epoch_[d.pfn];
    sent_epoch_[d.pfn] = epoch_;
    // The check covers the full hashes, which the stored ones are, and which
    // stay as they are until the page's next capture: the encoder computes
    // it after resume. Narrowed test hashes must not hide the collisions
    // they force, so then the capture hashes the page in full.
    if (config_.digest && config_.hash_mask() != ~0ull) {
      kernels_->hash_blocks(pages[j], blocks, block_size, ~0ull, full_hashes);
      d.check = kernels_->page_check(full_hashes, blocks);
    }
  }
}

size_t Sender::segment_count() const { return segments_for(dirty_.size()); }

size_t Sender::epoch_bound(size_t n_pages) const {
  const size_t segments = segments_for(n_pages);
  // Every page as a full-page record (a coded record is only chosen when
  // smaller), plus one clean-list record per segment holding at most one
  // ULEB128 gap per page.
  const size_t per_page = wire::kRecordHeaderBytes + config_.page_size + kMaxUleb128Bytes;
  if (n_pages > (SIZE_MAX / 2) / per_page) return 0;
  return wire::kHeaderBytes + wire::kTrailerBytes +
         segments * (wire::kSegmentHeaderBytes + wire::kRecordHeaderBytes) + n_pages * per_page;
}

uint8_t* Sender::append_record(Segment& seg, uint8_t kind, uint64_t pfn, size_t payload_bytes) {
  ++seg.records;
  return wire::append_record(seg.bytes, kind, pfn, payload_bytes);
}

void Sender::gather_changed(const DirtyPage& page, const uint64_t* subset, uint8_t* out) const {
  const uint32_t block_size = config_.block_size;
  if (page.whole) {
    kernels_->gather_blocks(page.data, subset, block_size, out);
    return;
  }
  if (std::equal(subset, subset + kernels::kBitmapWords, page.changed)) {
    std::memcpy(out, page.data, size_t{page.n_changed} * block_size);
    return;
  }
  const uint8_t* block = page.data;
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) {
    for (uint64_t bits = page.changed[w]; bits != 0; bits &= bits - 1, block += block_size) {
      if (subset[w] & bits & (0 - bits)) {
        std::memcpy(out, block, block_size);
        out += block_size;
      }
    }
  }
}

bool Sender::plain_whole(const DirtyPage& page) const {
  return !page.known || wire::bitmap_bytes(config_.page_size, config_.block_size) +
                                size_t{page.n_changed} * config_.block_size >=
                            config_.page_size;
}

bool Sender::codec_may_pay(const CostModel::Local& costs) const {
  bool may_pay = false;
  for (const auto& [flag, c] : kGeneralCodecs)
    may_pay |= (config_.codecs & flag) && costs.may_pay(c);
  return may_pay;
}

void Sender::place_payload(Segment& seg, uint8_t* payload, const uint8_t* from, size_t size) const {
  if (!seg.defer_payloads) {
    std::memcpy(payload, from, size);
    return;
  }
  seg.bytes.drop_back(size);
  seg.deferred.push_back({static_cast<size_t>(payload - seg.bytes.data()), from, size});
  seg.deferred_bytes += size;
}

void Sender::emit_plain(Segment& seg, const DirtyPage& page) {
  const uint32_t page_size = config_.page_size;
  if (plain_whole(page)) {
    // Only for pages captured whole or with every block changed. A page that
    // follows another sent whole joins its FULL_PAGE record: a ULEB128 pfn
    // step of a byte or two instead of a 16-byte record header.
    const size_t run_payload =
        seg.full_run_end == 0 ? 0 : load_le<uint32_t>(seg.bytes.data() + seg.full_run_header + 4);
    const uint64_t step = kernels::zigzag_encode(static_cast<int64_t>(page.pfn - seg.full_run_pfn));
    const size_t step_bytes = kernels::uleb128_size(step);
    uint8_t* content;
    if (seg.full_run_end == seg.bytes.size() &&
        run_payload + step_bytes + page_size <= wire::kMaxPayloadBytes) {
      uint8_t* at =
          wire::extend_last_record(seg.bytes, seg.full_run_header, step_bytes + page_size);
      content = at + kernels::store_uleb128(at, step);
    } else {
      content = append_record(seg, wire::kRecordFullPage, page.pfn, page_size);
      seg.full_run_header = seg.bytes.size() - page_size - wire::kRecordHeaderBytes;
    }
    place_payload(seg, content, page.data, page_size);
    seg.full_run_end = seg.bytes.size();
    seg.full_run_pfn = page.pfn;
    ++seg.counters.pages_full;
    seg.counters.blocks_changed += config_.blocks_per_page();
    seg.counters.codec_bytes[0] += page_size;
    return;
  }
  const size_t bitmap_bytes = wire::bitmap_bytes(page_size, config_.block_size);
  const size_t block_bytes = size_t{page.n_changed} * config_.block_size;
  uint8_t* payload = append_record(seg, wire::kRecordBlocks, page.pfn, bitmap_bytes + block_bytes);
  wire::store_bitmap(page.changed, bitmap_bytes, payload);
  if (page.whole)
    gather_changed(page, page.changed, payload + bitmap_bytes);
  else  // staged together
    place_payload(seg, payload + bitmap_bytes, page.data, block_bytes);
  ++seg.counters.pages_partial;
  seg.counters.blocks_changed += page.n_changed;
  seg.counters.codec_bytes[0] += block_bytes;
}

// Whether the receiver's committed memory still holds `hash` where the
// index says. Reads only state no thread changes during the epoch: pages of
// the open epoch are never used as sources.
bool Sender::replica_holds(const ContentIndex::Entry& e, uint64_t hash) const {
  if (e.pfn >= config_.tracked_pages || (in_epoch_[e.pfn / 64] >> (e.pfn % 64)) & 1) return false;
  const uint64_t sent = sent_epoch_[e.pfn];
  if (sent == 0) return false;       // the receiver's copy is unknown
  if (sent == e.epoch) return true;  // the page has not been sent since
  // Sent again since: the block may still be the same, which the stored
  // hash tells - unless hashes are narrowed for a collision test.
  return config_.hash_mask() == ~0ull &&
         hashes_[e.pfn * config_.blocks_per_page() + e.block] == hash;
}

// Whether a reference stage has work on the page: always, unless its probe
// samples content and no changed block of the page is in the sample. With
// narrowed test hashes the stored ones cannot tell, so every page is taken
// to have one.
bool Sender::samples_a_block(OptionalStage stage, const DirtyPage& page) const {
  if (!stages_.sampled[static_cast<size_t>(stage)] || config_.hash_mask() != ~0ull) return true;
  const uint64_t* hashes = hashes_.data() + page.pfn * config_.blocks_per_page();
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w)
    for (uint64_t bits = page.changed[w]; bits != 0; bits &= bits - 1)
      if (stages_.on_block(stage, hashes[w * 64 + static_cast<uint32_t>(std::countr_zero(bits))]))
        return true;
  return false;
}

// The page-level XOR-RLE delta (kernels/xor_rle.hpp) of `page` against
// the cached copy `old`, built from the changed blocks only: unchanged
// blocks are known to be equal and are never read. Each run of adjacent
// changed blocks is encoded on its own and the runs' deltas joined. Returns
// the delta's size, or kernels::kXorRleTooLarge when it would exceed
// capacity.
size_t Sender::xor_page_delta(const DirtyPage& page, const uint8_t* old, uint8_t* out,
                              size_t capacity, Worker& w) const {
  const uint32_t block_size = config_.block_size;
  kernels::XorRleJoin join(out, capacity);
  size_t staged = 0;
  const bool fits =
      for_each_run(page.changed, config_.blocks_per_page(), [&](uint32_t b, uint32_t e) {
        const size_t start = size_t{b} * block_size, length = size_t{e - b} * block_size;
        const uint8_t* current = page.data + (page.whole ? start : staged);
        staged += length;
        const size_t n =
            kernels_->xor_rle_encode(current, old + start, length, w.run_delta, sizeof w.run_delta);
        return join.append(start, w.run_delta, n);
      });
  return fits ? join.size() : kernels::kXorRleTooLarge;
}

// Appends a page's XOR delta to the segment's XOR_PAGES record.
void Sender::emit_xor_page(Segment& seg, uint64_t pfn, const uint8_t* delta, size_t size,
                           uint32_t n_changed) const {
  const int64_t gap = seg.xor_pages_count == 0
                          ? 0
                          : static_cast<int64_t>(pfn) - static_cast<int64_t>(seg.xor_last_pfn);
  if (seg.xor_pages_count++ == 0) seg.xor_first_pfn = pfn;
  seg.xor_last_pfn = pfn;
  uint8_t head[2 * kMaxUleb128Bytes];
  size_t n = store_uleb128(head, zigzag_encode(gap));
  n += store_uleb128(head + n, size);
  seg.xor_pages.append(head, n);
  seg.xor_pages.append(delta, size);
  ++seg.counters.pages_coded;
  seg.counters.blocks_changed += n_changed;
  ++seg.counters.chosen[static_cast<size_t>(codec::Codec::kXor)];
  seg.counters.codec_bytes[static_cast<size_t>(codec::Codec::kXor)] += size;
}

// Keeps a cached copy (found where the XOR stage runs) equal to what the
// receiver will hold: refreshed with the changed blocks, and current as of
// this epoch. Where the stage is off the copy is neither read nor
// refreshed and goes stale: a refresh is a cache-missing write per changed
// block, 13-17 % of the encoder's CPU on web and hpc at fast links, and
// the lookup alone a cache miss per page.
void Sender::keep_cache_current(uint8_t* cached, const DirtyPage& page) {
  if (cached == nullptr) return;
  const uint32_t block_size = config_.block_size;
  if (!page.whole) {
    kernels_->scatter_blocks(cached, page.changed, block_size, page.data);
  } else {
    for_each_run(page.changed, config_.blocks_per_page(), [&](uint32_t b, uint32_t e) {
      std::memcpy(cached + size_t{b} * block_size, page.data + size_t{b} * block_size,
                  size_t{e - b} * block_size);
      return true;
    });
  }
  cache_.advance(page.pfn, page.last_sent, epoch_);
}

// Decides each changed block's operation: zero, a reference to a block
// sent earlier in the segment or held by the replica (where the reference
// is smaller than the block's literal), or literal. `cached` is the
// receiver's copy when XOR deltas are on, for the literal's estimate.
void Sender::share_blocks(Segment& seg, Worker& w, const DirtyPage& page, const uint64_t* zero,
                          const uint8_t* cached, bool epoch_refs, bool replica_refs,
                          BlockOps& out) const {
  const uint64_t* changed = page.changed;
  const uint32_t block_size = config_.block_size;
  const uint32_t blocks = config_.blocks_per_page();
  StageYields& yields = seg.samples.stages;
  // Where each changed block's content lies in staging.
  {
    const uint8_t* next = page.data;
    for (uint32_t word = 0; word < kernels::kBitmapWords; ++word) {
      for (uint64_t bits = changed[word]; bits != 0; bits &= bits - 1) {
        const uint32_t b = word * 64 + static_cast<uint32_t>(std::countr_zero(bits));
        w.block_data[b] = page.whole ? page.data + size_t{b} * block_size : next;
        next += block_size;
      }
    }
  }
  // Full (unmasked) hashes identify content for sharing: the stored ones,
  // or, with narrowed test hashes, hashes of the staged changed blocks.
  out.full_hashes = hashes_.data() + page.pfn * blocks;
  if (config_.hash_mask() != ~0ull) {
    for (uint32_t b = 0; b < blocks; ++b)
      if (bit(changed, b))
        kernels_->hash_blocks(w.block_data[b], 1, block_size, ~0ull, w.full_hashes + b);
    out.full_hashes = w.full_hashes;
  }
  // What a block would cost on the wire if it were not referenced: its XOR
  // delta against the cached copy, or itself.
  auto literal_estimate = [&](uint32_t b) {
    if (cached == nullptr) return static_cast<double>(block_size);
    const size_t n = kernels_->xor_rle_encode(w.block_data[b], cached + size_t{b} * block_size,
                                              block_size, w.run_delta, sizeof w.run_delta);
    return static_cast<double>(n);
  };
  out.clear();
  for (uint32_t b = 0; b < blocks; ++b) {
    if (!bit(changed, b)) continue;
    const uint8_t* block = w.block_data[b];
    const uint64_t h = out.full_hashes[b];
    wire::BlockOp op = wire::BlockOp::kLiteral;
    // A reference is taken only when it is smaller than the block's literal.
    auto reference = [&](OptionalStage stage, wire::BlockOp kind, uint64_t pfn, uint32_t block) {
      const size_t ref_bytes = uleb128_size(pfn) + 1 + sizeof h;
      const double literal = literal_estimate(b);
      if (!reference_pays(ref_bytes, literal)) return false;
      yields[static_cast<size_t>(stage)].saved_bytes += literal - static_cast<double>(ref_bytes);
      op = kind;
      out.refs[out.n_refs++] = {pfn, static_cast<uint8_t>(block), h};
      return true;
    };
    if ((config_.sharing & FGBI_SHARE_ZERO) && zero && bit(zero, b)) {
      op = wire::BlockOp::kZero;
      ++out.n_zero;
    } else if (epoch_refs && stages_.on_block(OptionalStage::kEpochRefs, h)) {
      ++yields[static_cast<size_t>(OptionalStage::kEpochRefs)].lookups;
      const Worker::DupSlot* d = w.find_dup(h);
      if (d && std::memcmp(d->data, block, block_size) == 0 &&
          reference(OptionalStage::kEpochRefs, wire::BlockOp::kRefEpoch, d->pfn, d->block))
        ++out.n_epoch;
    }
    if (op == wire::BlockOp::kLiteral && replica_refs &&
        stages_.on_block(OptionalStage::kReplicaRefs, h)) {
      ++yields[static_cast<size_t>(OptionalStage::kReplicaRefs)].lookups;
      const ContentIndex::Entry* e = index_.find(h);
      if (e && replica_holds(*e, h) &&
          reference(OptionalStage::kReplicaRefs, wire::BlockOp::kRefReplica, e->pfn, e->block))
        ++out.n_replica;
    }
    if (op == wire::BlockOp::kLiteral) {
      set_bit(out.literal_bitmap, b);
      ++out.n_literal;
    }
    out.ops[out.n_ops++] = op;
  }
}

// A CODED_PAGE record: its prefix (codec, bitmap, ops, references) and
// its literal section.
void Sender::emit_coded(Segment& seg, const DirtyPage& page, const BlockOps& shared,
                        std::span<const uint8_t> prefix, std::span<const uint8_t> section,
                        codec::Codec codec) {
  uint8_t* payload =
      append_record(seg, wire::kRecordCodedPage, page.pfn, prefix.size() + section.size());
  std::memcpy(payload, prefix.data(), prefix.size());
  std::memcpy(payload + prefix.size(), section.data(), section.size());
  ++seg.counters.pages_coded;
  seg.counters.blocks_changed += page.n_changed;
  seg.counters.blocks_zero += shared.n_zero;
  seg.counters.blocks_shared_epoch += shared.n_epoch;
  seg.counters.blocks_shared_replica += shared.n_replica;
  ++seg.counters.chosen[static_cast<size_t>(codec)];
  seg.counters.codec_bytes[static_cast<size_t>(codec)] += section.size();
}

// Records where the page's written blocks can be found again: later pages
// of the segment may reference blocks written by plain and coded records
// (in the duplicate table), later epochs any of them in the replica (index
// inserts, applied in epoch order by encode_epoch). A coded page's shared
// blocks are not new content; on a plain page every changed non-zero block
// is. XOR pages never come here: they are the working set being
// edited, whose blocks change again soon, and the index would mostly hold
// stale entries for them at the price of a random write per block.
void Sender::commit_sources(Segment& seg, Worker& w, const DirtyPage& page, const uint64_t* zero,
                            const BlockOps& shared, bool coded, bool epoch_refs,
                            bool replica_refs) const {
  if (!epoch_refs && !replica_refs) return;
  for (uint32_t word = 0; word < kernels::kBitmapWords; ++word) {
    uint64_t sources = page.changed[word] & ~(zero ? zero[word] : 0);
    if (coded) sources &= shared.literal_bitmap[word];
    for (; sources != 0; sources &= sources - 1) {
      const uint32_t b = word * 64 + static_cast<uint32_t>(std::countr_zero(sources));
      const uint64_t h = shared.full_hashes[b];
      if (epoch_refs && stages_.on_block(OptionalStage::kEpochRefs, h))
        w.add_dup(h, page.pfn, b, w.block_data[b]);
      if (replica_refs && stages_.on_block(OptionalStage::kReplicaRefs, h))
        seg.index_inserts.push_back({h, page.pfn, b});
    }
  }
}

// One page, in three steps. Plan: try the forms the planner finds worth
// trying (XOR page, shared blocks, codecs) and let it pick the cheapest at
// the link's speed. Emit: write the chosen form into the segment. Commit:
// record what the receiver will hold (in-epoch duplicates, index inserts
// applied in epoch order by encode_epoch, the cached copy). Returns true
// when the page went into the segment's XOR_PAGES record.
bool Sender::encode_page(Segment& seg, Worker& w, CostModel::Local& costs, uint32_t dirty_index) {
  const DirtyPage& page = dirty_[dirty_index];
  const uint64_t* changed = page.changed;
  const uint64_t* zero = stages_.on(OptionalStage::kZeroBlocks, page.pfn) ? page.zero : nullptr;
  const uint32_t page_size = config_.page_size;
  const uint32_t block_size = config_.block_size;
  const uint32_t blocks = config_.blocks_per_page();
  const size_t bitmap_bytes = wire::bitmap_bytes(page_size, block_size);
  const uint32_t n_changed = page.n_changed;
  const size_t changed_bytes = size_t{n_changed} * block_size;
  const size_t plain_bytes =
      wire::kRecordHeaderBytes + (plain_whole(page) ? page_size : bitmap_bytes + changed_bytes);
  StageYields& yields = seg.samples.stages;
  StageYield& xor_yield = yields[static_cast<size_t>(OptionalStage::kXorPages)];

  // Only the XOR stage reads the cache. Where it is off, a sent page's
  // cached copy goes stale, and no later lookup returns it.
  const bool xor_stage = stages_.on(OptionalStage::kXorPages, page.pfn);
  uint8_t* cached = nullptr;
  if (xor_stage) {
    if (page.known) {
      cached = cache_.find(page.pfn, page.last_sent);
      ++(cached ? seg.counters.cache_hits : seg.counters.cache_misses);
    }
    // What the receiver holds; pages captured whole are the ones to insert.
    if (!cached && (page.whole || n_changed == blocks))
      seg.cache_inserts.emplace_back(dirty_index, !page.known);
  }
  const bool use_xor = cached != nullptr;
  if (use_xor) ++xor_yield.lookups;
  StageYield& zero_yield = yields[static_cast<size_t>(OptionalStage::kZeroBlocks)];
  if (zero) zero_yield.lookups += n_changed;  // the capture tested each changed block

  const bool explore = ++w.coded_pages % kExplorePeriod == 0;
  // A stage runs only where the configuration enables it (plan_epoch_stages).
  // A content-sampled probe runs on a page only where a changed block is
  // in its sample: elsewhere it has nothing to look up or record.
  const bool epoch_refs = stages_.on(OptionalStage::kEpochRefs, page.pfn) &&
                          samples_a_block(OptionalStage::kEpochRefs, page);
  const bool replica_refs = stages_.on(OptionalStage::kReplicaRefs, page.pfn) &&
                            samples_a_block(OptionalStage::kReplicaRefs, page);
  bool zero_blocks = false;
  for (uint32_t word = 0; zero && word < kernels::kBitmapWords; ++word)
    zero_blocks |= (zero[word] & changed[word]) != 0;
  // The common case at a fast link: nothing to share or delta, and no codec
  // whose bytes are cheaper than raw ones. The page goes raw without the
  // planner, as the test below would decide for it.
  if (!use_xor && !explore && !epoch_refs && !replica_refs && !zero_blocks) {
    if (!codec_may_pay(costs)) {
      emit_plain(seg, page);
      keep_cache_current(cached, page);
      return false;
    }
  }
  auto timed = [&](codec::Codec c, size_t in_bytes, auto&& run) {
    if (!explore || in_bytes < kMinTimedBytes) return run();
    const auto t0 = std::chrono::steady_clock::now();
    const size_t out = run();
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    // A call on at most a page that took this long was preempted: no sample.
    if (ns < kPreemptedNs) {
      seg.samples.ns[static_cast<size_t>(c)] += ns;
      seg.samples.timed_bytes[static_cast<size_t>(c)] += in_bytes;
    }
    return out;
  };
  auto sample = [&](codec::Codec c, size_t in, size_t out) {
    seg.samples.in_bytes[static_cast<size_t>(c)] += in;
    seg.samples.out_bytes[static_cast<size_t>(c)] += out;
  };

  // Plan, 1: an XOR delta of the whole page against the receiver's copy, in
  // the segment's XOR_PAGES record (a few bytes of framing, no bitmap). When
  // it is a small share of the changed bytes no other form can do much
  // better, and the page skips the sharing lookups and the codecs.
  PagePlanner planner(costs, plain_bytes);
  size_t xor_page_size = kernels::kXorRleTooLarge;
  // Ships the XOR page the planner has chosen, without the work below.
  auto ship_xor_page = [&] {
    xor_yield.saved_bytes += static_cast<double>(plain_bytes - planner.plan().wire_bytes);
    emit_xor_page(seg, page.pfn, w.xor_page, xor_page_size, n_changed);
    keep_cache_current(cached, page);
    return true;
  };
  if (use_xor &&
      (explore || planner.worth_trying(codec::Codec::kXor, changed_bytes, kXorFraming))) {
    xor_page_size = timed(codec::Codec::kXor, changed_bytes, [&] {
      return xor_page_delta(page, cached, w.xor_page, page_size - 1, w);
    });
    if (xor_page_size != kernels::kXorRleTooLarge) {
      sample(codec::Codec::kXor, changed_bytes, xor_page_size);
      planner.offer_xor_page(changed_bytes, xor_page_size + kXorFraming);
      if (planner.plan().form == PageForm::kXorPage &&
          xor_page_size <= changed_bytes * kXorFastPathShare)
        return ship_xor_page();
    }
  }

  // Nothing to share and no codec worth a try (a fast link, literals that
  // do not compress): the changed blocks go raw, or the XOR page already
  // planned goes as it is, without the work below, which could only pick
  // the same. An exploration page looks further (kExploreReach), but skips
  // this work too when no codec comes within its reach.
  if (!epoch_refs && !replica_refs && !zero_blocks) {
    const size_t framing = wire::kRecordHeaderBytes + 1 + bitmap_bytes + wire::ops_bytes(n_changed);
    const double reach = explore ? kExploreReach : 1.0;
    bool worth_a_codec = false;
    for (const auto& [flag, c] : kGeneralCodecs)
      worth_a_codec |=
          (config_.codecs & flag) && planner.worth_trying(c, changed_bytes, framing, reach);
    if (!worth_a_codec) {  // the plan so far stands: plain, or the XOR page
      if (planner.plan().form == PageForm::kXorPage) return ship_xor_page();
      emit_plain(seg, page);
      keep_cache_current(cached, page);
      return false;
    }
  }

  // Plan, 2: each changed block's operation.
  BlockOps& shared = w.ops;
  share_blocks(seg, w, page, zero, use_xor ? cached : nullptr, epoch_refs, replica_refs, shared);
  const uint32_t n_literal = shared.n_literal;
  const uint64_t* literal_bitmap = shared.literal_bitmap;

  // Plan, 3: a coded record, its literal blocks raw or encoded.
  const bool all_literal = n_literal == n_changed;
  const size_t literal_bytes = size_t{n_literal} * block_size;
  uint8_t prefix[1 + 16 + 32 + kernels::kMaxBlocksPerPage * wire::kMaxRefBytes];
  const size_t prefix_bytes =
      wire::write_coded_prefix(codec::Codec::kRaw, changed, bitmap_bytes, shared.ops, n_changed,
                               shared.refs, shared.n_refs, prefix);
  const size_t framing = wire::kRecordHeaderBytes + prefix_bytes;
  const uint8_t* section_data = w.literal;
  bool literal_gathered = false;
  auto gather_literal = [&] {
    if (!literal_gathered) gather_changed(page, literal_bitmap, w.literal);
    literal_gathered = true;
  };
  auto offer = [&](codec::Codec c, const uint8_t* data, size_t size) {
    planner.offer_coded(c, framing, literal_bytes, size);
    if (planner.plan().form == PageForm::kCoded && planner.plan().section == c) section_data = data;
  };
  if (!all_literal) {
    gather_literal();
    offer(codec::Codec::kRaw, w.literal, literal_bytes);
  }
  if (n_literal != 0 && use_xor && !all_literal &&
      planner.worth_trying(codec::Codec::kXor, literal_bytes, framing)) {
    // Shared blocks plus an XOR delta of the literal ones.
    gather_literal();
    kernels_->gather_blocks(cached, literal_bitmap, block_size, w.previous);
    const size_t size =
        kernels_->xor_rle_encode(w.literal, w.previous, literal_bytes, w.xor_out, literal_bytes);
    if (size != kernels::kXorRleTooLarge) offer(codec::Codec::kXor, w.xor_out, size);
  }
  if (n_literal != 0) {
    for (const auto& general : kGeneralCodecs) {
      const uint32_t flag = general.first;
      const codec::Codec c = general.second;  // a plain variable: lambdas capture it
      if (!(config_.codecs & flag)) continue;
      // Exploration refreshes the estimates of plausible contenders only:
      // zlib on a page an XOR delta ships in a tenth of the time is not one.
      if (!planner.worth_trying(c, literal_bytes, framing, explore ? kExploreReach : 1.0)) continue;
      gather_literal();
      uint8_t* out = section_data == w.packed ? w.candidate : w.packed;
      const size_t size = timed(c, literal_bytes, [&] {
        return w.compressor.compress(c, w.literal, literal_bytes, out, literal_bytes - 1);
      });
      const size_t observed = size == 0 ? literal_bytes : size;
      costs.observe_ratio(c, literal_bytes, observed);
      sample(c, literal_bytes, observed);
      if (size != 0) offer(c, out, size);
    }
  }
  const PagePlan& plan = planner.plan();

  // Emit.
  if (plan.form == PageForm::kXorPage) {
    emit_xor_page(seg, page.pfn, w.xor_page, xor_page_size, n_changed);
  } else if (plan.form == PageForm::kCoded) {
    prefix[0] = static_cast<uint8_t>(plan.section);
    emit_coded(seg, page, shared, {prefix, prefix_bytes}, {section_data, plan.wire_bytes - framing},
               plan.section);
  } else {
    emit_plain(seg, page);
  }

  // Commit.
  if (plan.form == PageForm::kXorPage ||
      (plan.form == PageForm::kCoded && plan.section == codec::Codec::kXor))
    xor_yield.saved_bytes += static_cast<double>(plain_bytes - plan.wire_bytes);
  if (plan.form == PageForm::kCoded)  // each zero block: a 2-bit op for a literal block
    zero_yield.saved_bytes += shared.n_zero * (block_size - 0.25);
  if (plan.form != PageForm::kXorPage)
    commit_sources(seg, w, page, zero, shared, plan.form == PageForm::kCoded, epoch_refs,
                   replica_refs);
  keep_cache_current(cached, page);
  return plan.form == PageForm::kXorPage;
}

// Index slots are far apart in memory and miss the CPU cache: start loading
// those of the next pages' changed blocks before they are encoded.
void Sender::prefetch_index_slots(size_t first, size_t count) const {
  if (config_.hash_mask() != ~0ull || !stages_.on(OptionalStage::kReplicaRefs)) return;
  const uint32_t blocks = config_.blocks_per_page();
  for (size_t j = first; j < first + count; ++j) {
    const DirtyPage& d = dirty_[j];
    if (!stages_.on(OptionalStage::kReplicaRefs, d.pfn)) continue;
    const uint64_t* hashes = hashes_.data() + d.pfn * blocks;
    for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) {
      for (uint64_t bits = d.changed[w]; bits; bits &= bits - 1) {
        const uint32_t b = w * 64 + static_cast<uint32_t>(std::countr_zero(bits));
        if (stages_.on_block(OptionalStage::kReplicaRefs, hashes[b])) index_.prefetch(hashes[b]);
      }
    }
  }
}

// What encoding a page reads, loaded a few pages ahead of it: its staged
// changed blocks (an epoch of kStreamEpochBytes or more is staged around
// the CPU cache) and, where it has a cached copy to XOR against or refresh,
// that copy's blocks (tens of MiB, read at random). A page staged whole
// with no cached copy is left to the hardware prefetcher, which follows
// pages read in order.
void Sender::prefetch_inputs(const DirtyPage& d) const {
  if (d.n_changed == 0) return;
  const uint8_t* cached = nullptr;
  if (coding() && d.known && stages_.on(OptionalStage::kXorPages, d.pfn))
    cached = cache_.peek(d.pfn, d.last_sent);
  const uint32_t block_size = config_.block_size;
  if (cached == nullptr) {
    if (!d.whole) prefetch_lines(d.data, size_t{d.n_changed} * block_size);
    return;
  }
  size_t staged = 0;
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) {
    for (uint64_t bits = d.changed[w]; bits; bits &= bits - 1) {
      const size_t at = size_t{w * 64 + static_cast<uint32_t>(std::countr_zero(bits))} * block_size;
      prefetch_lines(cached + at, block_size);
      prefetch_lines(d.data + (d.whole ? at : staged), block_size);
      staged += block_size;
    }
  }
}

void Sender::encode_segment(size_t index, Worker& w) {
  Segment& seg = segments_[index];
  wire::open_segment(seg.bytes);
  seg.deferred.clear();
  seg.deferred_bytes = 0;
  seg.digest_entries.clear();
  seg.clean.clear();
  seg.xor_pages.clear();
  seg.xor_digest_entries.clear();
  seg.xor_pages_count = 0;
  seg.index_inserts.clear();
  seg.cache_inserts.clear();
  seg.records = 0;
  seg.full_run_end = 0;
  seg.counters = Counters{};
  seg.samples = CostSamples{};
  ++w.generation;  // in-epoch references stay inside the segment
  w.coded_pages = 0;
  CostModel::Local costs(cost_model_);

  const size_t per_segment = pages_per_segment(dirty_.size());
  const size_t begin = index * per_segment;
  const size_t end = std::min(dirty_.size(), begin + per_segment);
  const uint32_t blocks = config_.blocks_per_page();

  // No optional stage running this epoch and no codec able to beat raw
  // bytes at this link: encode_page would send every page but the
  // exploration ones raw, after per-page tests that cost as much as the
  // record itself on epochs of a few changed blocks a page (idle). Those
  // pages go raw here; the stream is the same.
  const bool raw_epoch =
      std::none_of(std::begin(stages_.run), std::end(stages_.run), [](bool run) { return run; });
  bool may_pay = !raw_epoch || codec_may_pay(costs);

  for (size_t i = begin; i < std::min(end, begin + kInputsAhead); ++i) prefetch_inputs(dirty_[i]);
  for (size_t i = begin; i < end; ++i) {
    if (coding() && (i - begin) % kPrefetchPages == 0)
      prefetch_index_slots(std::min(end, i + kPrefetchPages),
                           std::min(kPrefetchPages, end - std::min(end, i + kPrefetchPages)));
    if (i + kInputsAhead < end) prefetch_inputs(dirty_[i + kInputsAhead]);
    DirtyPage& d = dirty_[i];
    seg.counters.blocks_scanned += blocks;
    if (config_.digest && config_.hash_mask() == ~0ull) {
      // The stored hashes of a page a few ahead: they left the CPU cache
      // while the capture wrote the pages after them.
      if (i + kCheckAhead < end)
        prefetch_lines(hashes_.data() + dirty_[i + kCheckAhead].pfn * blocks,
                       blocks * sizeof(uint64_t));
      d.check = kernels_->page_check(hashes_.data() + d.pfn * blocks, blocks);
    }
    if (d.known && d.n_changed == 0) {
      ++seg.counters.pages_unchanged;
      // The receiver's copy is as it was: a cached copy stays current.
      if (stages_.on(OptionalStage::kXorPages, d.pfn)) cache_.advance(d.pfn, d.last_sent, epoch_);
      if (config_.digest) seg.clean.emplace_back(d.pfn, d.check);
      continue;
    }
    bool in_xor_pages = false;
    if (coding() && (!raw_epoch || may_pay || (w.coded_pages + 1) % kExplorePeriod == 0)) {
      in_xor_pages = encode_page(seg, w, costs, static_cast<uint32_t>(i));
      if (raw_epoch) may_pay = codec_may_pay(costs);  // the page may have refined a ratio
    } else {
      w.coded_pages += coding();  // exploration keeps its cadence
      emit_plain(seg, d);
    }
    // Digest entries follow record order; XOR_PAGES comes after the
    // segment's other page records.
    ByteBuffer& entries = in_xor_pages ? seg.xor_digest_entries : seg.digest_entries;
    if (config_.digest)
      wire::encode_digest_entry(d.pfn, d.check, entries.append(wire::kDigestEntryBytes));
  }

  if (seg.xor_pages_count != 0) {
    std::memcpy(append_record(seg, wire::kRecordXorPages, seg.xor_first_pfn, seg.xor_pages.size()),
                seg.xor_pages.data(), seg.xor_pages.size());
    seg.digest_entries.append(seg.xor_digest_entries.data(), seg.xor_digest_entries.size());
  }

  if (!seg.clean.empty()) {
    // Dirty pages whose blocks all matched still enter the digest, so that a
    // change the block hash missed cannot go unnoticed.
    std::sort(seg.clean.begin(), seg.clean.end());
    uint8_t gaps[wire::kSegmentPages * kMaxUleb128Bytes];
    size_t gap_bytes = 0;
    for (size_t i = 1; i < seg.clean.size(); ++i)
      gap_bytes += store_uleb128(gaps + gap_bytes, seg.clean[i].first - seg.clean[i - 1].first);
    std::memcpy(append_record(seg, wire::kRecordCleanList, seg.clean.front().first, gap_bytes),
                gaps, gap_bytes);
    for (const auto& [pfn, check] : seg.clean)
      wire::encode_digest_entry(pfn, check, seg.digest_entries.append(wire::kDigestEntryBytes));
  }
  wire::seal_segment(seg.bytes, seg.records, epoch_flags(), seg.deferred_bytes);
}

fgbi_status Sender::encode_epoch(fgbi_write_fn write, void* user, std::span<uint8_t> in_place) {
  if (stages_.sampled[static_cast<size_t>(OptionalStage::kEpochRefs)] ||
      stages_.sampled[static_cast<size_t>(OptionalStage::kReplicaRefs)]) {
    uint64_t changed_blocks = 0;
    for (const DirtyPage& d : dirty_) changed_blocks += d.n_changed;
    stages_.content_shift = content_sample_shift(changed_blocks);
    for (size_t st = 0; st < kOptionalStages; ++st)
      stages_.content_salt[st] = content_sample_salt(static_cast<OptionalStage>(st), epoch_);
  }
  const size_t n_segments = segment_count();
  if (segments_.size() < n_segments) segments_.resize(n_segments);
  wire::EpochHeader header;
  header.flags = epoch_flags();
  header.page_shift = static_cast<uint8_t>(std::countr_zero(config_.page_size));
  header.block_shift = static_cast<uint8_t>(std::countr_zero(config_.block_size));
  header.epoch = epoch_;
  header.tracked_pages = config_.tracked_pages;
  header.stream_id = stream_id_;
  wire::EpochWriter writer;
  writer.begin(header, header_);
  // After a failed write the epoch is still encoded to the end, so the
  // sender's state stays that of a sent epoch; the caller rewinds.
  fgbi_status status = FGBI_OK;
  auto out = [&](const uint8_t* data, size_t size) {
    if (write && status == FGBI_OK && write(user, data, size) != 0) status = FGBI_E_CALLBACK_FAILED;
  };
  out(header_, wire::kHeaderBytes);

  Xxh3Stream digest_state;
  // Segments are encoded in waves of one per thread so that a streaming
  // caller gets each wave's bytes as soon as they are ready; without a
  // caller to stream to, one wave takes them all, and no thread waits at a
  // wave's end for the slowest segment of it.
  const size_t wave = !pool_ ? 1 : write ? config_.threads : n_segments;
  // In place, dst (at least the epoch's bound) leaves room for every segment
  // after those before it and for the trailer.
  const size_t room = in_place.empty() ? 0 : in_place.size() - wire::kTrailerBytes;
  size_t at = wire::kHeaderBytes;
  for (size_t first = 0; first < n_segments; first += wave) {
    const size_t count = std::min(wave, n_segments - first);
    if (!in_place.empty())
      segments_[first].bytes.write_to(in_place.data() + at, room > at ? room - at : 0);
    // Segments copied out after encoding leave their staged pages where
    // they are until then; not those streamed or encoded in place, and not
    // where the records checksum must read every byte as it seals.
    for (size_t i = first; i < first + count; ++i)
      segments_[i].defer_payloads =
          !write && in_place.empty() && (epoch_flags() & wire::kFlagNoRecordsChecksum) != 0;
    parallel_for(pool_.get(), count,
                 [&](size_t i, unsigned t) { encode_segment(first + i, *workers_[t]); });
    for (size_t i = first; i < first + count; ++i) {
      const Segment& seg = segments_[i];
      digest_state.update(seg.digest_entries.data(), seg.digest_entries.size());
      if (seg.records == 0) continue;  // nothing for the receiver
      writer.add_segment(seg.bytes.data(), seg.size());
      out(seg.bytes.data(), seg.bytes.size());  // streamed segments defer nothing
      at += seg.bytes.size();
    }
  }
  writer.finish(config_.digest ? digest_state.digest() : 0, trailer_);
  out(trailer_, wire::kTrailerBytes);

  // What the receiver will hold after this epoch, in epoch order so the
  // outcome does not depend on the thread count.
  Counters epoch_counters;
  CostSamples samples;
  // Lookups in an empty index say nothing of what the stage can find.
  bool learned[kOptionalStages];
  std::copy(std::begin(stages_.run), std::end(stages_.run), learned);
  learned[static_cast<size_t>(OptionalStage::kReplicaRefs)] &= index_filled_;
  for (size_t i = 0; i < n_segments; ++i) {
    const Segment& seg = segments_[i];
    epoch_counters.add(seg.counters);
    samples.add(seg.samples);
    for (const IndexInsert& ins : seg.index_inserts)
      index_.insert(ins.hash, ins.pfn, ins.block, epoch_);
    index_filled_ |= !seg.index_inserts.empty();
    for (const auto& [d, first_send] : seg.cache_inserts)
      cache_.insert(dirty_[d].pfn, dirty_[d].data, epoch_, first_send);
  }
  // A probe saw one page (or one block's content) in 2^sample_shift: the
  // model learns what the whole epoch would have seen, so that probes and
  // full runs weigh alike.
  for (size_t st = 0; st < kOptionalStages; ++st) {
    if (!stages_.sampled[st]) continue;
    const double whole_epoch = 1 << stages_.sample_shift(st);
    samples.stages[st].lookups *= whole_epoch;
    samples.stages[st].saved_bytes *= whole_epoch;
  }
  cost_model_.learn(samples, config_.adaptive, learned);
  encoded_bytes_ = wire::kHeaderBytes + writer.body_bytes() + wire::kTrailerBytes;
  totals_.add(epoch_counters);
  pages_ += dirty_.size();
  bytes_in_ += dirty_.size() * config_.page_size;
  stage_ = Stage::kEncoded;
  return status;
}

fgbi_status Sender::emit(fgbi_write_fn write, void* user) {
  if (write(user, header_, wire::kHeaderBytes) != 0) return FGBI_E_CALLBACK_FAILED;
  for (size_t i = 0; i < segment_count(); ++i) {
    const Segment& seg = segments_[i];
    if (seg.records == 0) continue;
    bool failed = false;
    seg.for_each_piece([&](const uint8_t* data, size_t size) {
      failed = failed || (size != 0 && write(user, data, size) != 0);
    });
    if (failed) return FGBI_E_CALLBACK_FAILED;
  }
  if (write(user, trailer_, wire::kTrailerBytes) != 0) return FGBI_E_CALLBACK_FAILED;
  return FGBI_OK;
}

void Sender::finish_epoch() {
  for (const DirtyPage& d : dirty_) in_epoch_[d.pfn / 64] &= ~(1ull << (d.pfn % 64));
  // Keep the memory of a typical epoch, not of the largest one seen.
  segments_.resize(segment_count());
  for (Segment& seg : segments_) seg.bytes.clear_and_trim();
  staging_.trim(dirty_.size());
  if (!pending_.empty())
    std::erase_if(pending_, [this](uint64_t pfn) { return sent_epoch_[pfn] != 0; });
  dirty_.clear();
  last_epoch_ = epoch_;
  ++epochs_;
  bytes_out_ += encoded_bytes_;
  stage_ = Stage::kIdle;
}

fgbi_status Sender::end_epoch(uint8_t* dst, size_t capacity, size_t* written) {
  if (stage_ != Stage::kOpen && stage_ != Stage::kEncoded) return FGBI_E_WRONG_STAGE;
  if (written == nullptr || (dst == nullptr && capacity != 0)) return FGBI_E_NULL_ARGUMENT;
  const size_t bound = epoch_bound(dirty_.size());  // 0: too many pages to bound
  if (stage_ == Stage::kOpen && !pool_ && bound != 0 && capacity >= bound) {
    // One thread with room for any epoch of this size: each segment is
    // encoded where it goes in dst, which saves copying the epoch out.
    encode_epoch(nullptr, nullptr, {dst, capacity});
    std::memcpy(dst, header_, wire::kHeaderBytes);
    std::memcpy(dst + encoded_bytes_ - wire::kTrailerBytes, trailer_, wire::kTrailerBytes);
    *written = encoded_bytes_;
    finish_epoch();
    return FGBI_OK;
  }
  if (stage_ == Stage::kOpen) encode_epoch(nullptr, nullptr);
  *written = encoded_bytes_;
  if (capacity < encoded_bytes_) return FGBI_E_DST_TOO_SMALL;
  // A large epoch's segments are copied out in parallel: a copy of the
  // whole epoch on one thread is serial time that more threads would not
  // shorten. A small one is copied where it is: waking the pool would cost
  // more than the copy.
  const size_t n_segments = segment_count();
  std::vector<size_t> offsets(n_segments);
  size_t at = wire::kHeaderBytes;
  for (size_t i = 0; i < n_segments; ++i) {
    offsets[i] = at;
    if (segments_[i].records != 0) at += segments_[i].size();
  }
  auto copy_segment = [&](size_t i, unsigned) {
    const Segment& seg = segments_[i];
    if (seg.records == 0) return;
    uint8_t* to = dst + offsets[i];
    seg.for_each_piece([&](const uint8_t* data, size_t size) {
      if (size != 0) std::memcpy(to, data, size);
      to += size;
    });
  };
  parallel_for(at >= kParallelCopyBytes ? pool_.get() : nullptr, n_segments, copy_segment);
  std::memcpy(dst, header_, wire::kHeaderBytes);
  std::memcpy(dst + at, trailer_, wire::kTrailerBytes);
  finish_epoch();
  return FGBI_OK;
}

fgbi_status Sender::end_epoch(fgbi_write_fn write, void* user) {
  if (stage_ != Stage::kOpen && stage_ != Stage::kEncoded) return FGBI_E_WRONG_STAGE;
  if (write == nullptr) return FGBI_E_NULL_ARGUMENT;
  // Encoded already (after FGBI_E_DST_TOO_SMALL): emit what is held.
  const fgbi_status st = stage_ == Stage::kOpen ? encode_epoch(write, user) : emit(write, user);
  finish_epoch();
  return st;
}

fgbi_status Sender::rewind(uint64_t committed) {
  if (stage_ == Stage::kConfiguring) return committed == 0 ? FGBI_OK : FGBI_E_BAD_ARGUMENT;
  if (stage_ != Stage::kIdle) return FGBI_E_WRONG_STAGE;
  if (committed > last_epoch_) return FGBI_E_BAD_ARGUMENT;
  for (uint64_t pfn = 0; pfn < config_.tracked_pages; ++pfn) {
    if (sent_epoch_[pfn] > committed) {
      sent_epoch_[pfn] = 0;
      cache_.invalidate(pfn);
      pending_.push_back(pfn);
    }
  }
  std::sort(pending_.begin(), pending_.end());
  pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
  // Epoch numbers after `committed` will be reused: entries made by the
  // lost epochs must not look current then.
  if (!index_.configure(index_.bytes())) return FGBI_E_NO_MEMORY;
  // The index is empty and the cache lost pages: what the stages found
  // before says less now, so they are probed at the base interval again.
  cost_model_.restart_probes();
  last_epoch_ = committed;
  return FGBI_OK;
}

fgbi_status Sender::pending_pages(uint64_t* pfns, size_t capacity, size_t* count) const {
  if (count == nullptr || (pfns == nullptr && capacity != 0)) return FGBI_E_NULL_ARGUMENT;
  *count = pending_.size();
  std::copy_n(pending_.begin(), std::min(capacity, pending_.size()), pfns);
  return FGBI_OK;
}

fgbi_status Sender::get_stat(fgbi_stat stat, uint64_t* value) const {
  const Counters& c = totals_;
  switch (stat) {
    case FGBI_S_EPOCHS: *value = epochs_; return FGBI_OK;
    case FGBI_S_BYTES_IN: *value = bytes_in_; return FGBI_OK;
    case FGBI_S_BYTES_OUT: *value = bytes_out_; return FGBI_OK;
    case FGBI_S_PAGES: *value = pages_; return FGBI_OK;
    case FGBI_S_PAGES_FULL: *value = c.pages_full; return FGBI_OK;
    case FGBI_S_PAGES_PARTIAL: *value = c.pages_partial; return FGBI_OK;
    case FGBI_S_PAGES_UNCHANGED: *value = c.pages_unchanged; return FGBI_OK;
    case FGBI_S_BLOCKS_SCANNED: *value = c.blocks_scanned; return FGBI_OK;
    case FGBI_S_BLOCKS_CHANGED: *value = c.blocks_changed; return FGBI_OK;
    case FGBI_S_EPOCHS_REJECTED: return FGBI_E_PARAM_UNKNOWN;  // receiver only
    case FGBI_S_MEMORY_BYTES: {
      size_t segment_bytes = 0;
      for (const Segment& s : segments_) segment_bytes += s.bytes.capacity();
      *value = hashes_.bytes() + sent_epoch_.bytes() + in_epoch_.bytes() + index_.bytes() +
               cache_.bytes() + staging_.bytes() + segment_bytes + workers_.size() * sizeof(Worker);
      return FGBI_OK;
    }
    case FGBI_S_BLOCKS_ZERO: *value = c.blocks_zero; return FGBI_OK;
    case FGBI_S_BLOCKS_SHARED_EPOCH: *value = c.blocks_shared_epoch; return FGBI_OK;
    case FGBI_S_BLOCKS_SHARED_REPLICA: *value = c.blocks_shared_replica; return FGBI_OK;
    case FGBI_S_CACHE_HITS: *value = c.cache_hits; return FGBI_OK;
    case FGBI_S_CACHE_MISSES: *value = c.cache_misses; return FGBI_OK;
    case FGBI_S_PAGES_CODED: *value = c.pages_coded; return FGBI_OK;
    case FGBI_S_CHOSEN_RAW:
    case FGBI_S_CHOSEN_XOR:
    case FGBI_S_CHOSEN_LZ4:
    case FGBI_S_CHOSEN_ZLIB:
    case FGBI_S_CHOSEN_ZSTD: *value = c.chosen[stat - FGBI_S_CHOSEN_RAW]; return FGBI_OK;
    case FGBI_S_BYTES_RAW:
    case FGBI_S_BYTES_XOR:
    case FGBI_S_BYTES_LZ4:
    case FGBI_S_BYTES_ZLIB:
    case FGBI_S_BYTES_ZSTD: *value = c.codec_bytes[stat - FGBI_S_BYTES_RAW]; return FGBI_OK;
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
