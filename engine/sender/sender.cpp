#include "sender/sender.hpp"

#include <algorithm>
#include <bit>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "wire/format.hpp"

namespace fgbi {
namespace {

// Pages identified per kernel call: small enough that a page is still in
// L1/L2 when it is encoded and digested right after.
constexpr size_t kIdentifyBatch = 16;

uint32_t popcount(const uint64_t* bitmap) {
  uint32_t n = 0;
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) n += std::popcount(bitmap[w]);
  return n;
}

}  // namespace

void Sender::Counters::add(const Counters& o) {
  pages_full += o.pages_full;
  pages_partial += o.pages_partial;
  pages_unchanged += o.pages_unchanged;
  blocks_scanned += o.blocks_scanned;
  blocks_changed += o.blocks_changed;
}

fgbi_status Sender::set_parameter(fgbi_param param, int64_t value) {
  if (param == FGBI_P_MAX_EPOCH_BYTES) return FGBI_E_PARAM_UNKNOWN;  // receiver only
  if (stage_ != Stage::kConfiguring) return FGBI_E_WRONG_STAGE;
  return config_.set(param, value);
}

fgbi_status Sender::get_parameter(fgbi_param param, int64_t* value) const {
  if (param == FGBI_P_MAX_EPOCH_BYTES) return FGBI_E_PARAM_UNKNOWN;
  return config_.get(param, value);
}

fgbi_status Sender::start() {
  kernels_ = kernels::find_kernels(static_cast<kernels::Backend>(config_.backend));
  if (kernels_ == nullptr) return FGBI_E_BACKEND_UNAVAILABLE;
  const uint64_t pages = config_.tracked_pages;
  if (!hashes_.allocate(pages * config_.blocks_per_page()) || !sent_epoch_.allocate(pages) ||
      !in_epoch_.allocate((pages + 63) / 64))
    return FGBI_E_NO_MEMORY;
  if (config_.threads > 1) pool_ = std::make_unique<ThreadPool>(config_.threads);
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
  stage_ = Stage::kOpen;
  if (epoch) *epoch = epoch_;
  return FGBI_OK;
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
  const size_t first_new = dirty_.size();
  fgbi_status first_error = FGBI_OK;
  for (size_t i = 0; i < n; ++i) {
    const fgbi_status st = check_page(pfns[i], pages[i]);
    if (per_page_status) per_page_status[i] = st;
    if (st == FGBI_OK) {
      in_epoch_[pfns[i] / 64] |= 1ull << (pfns[i] % 64);
      dirty_.push_back({pfns[i], static_cast<const uint8_t*>(pages[i])});
      continue;
    }
    if (first_error == FGBI_OK) first_error = st;
    if (per_page_status == nullptr) {
      // All or nothing: undo this batch.
      for (size_t j = first_new; j < dirty_.size(); ++j)
        in_epoch_[dirty_[j].pfn / 64] &= ~(1ull << (dirty_[j].pfn % 64));
      dirty_.resize(first_new);
      return st;
    }
  }
  return first_error;
}

size_t Sender::epoch_bound(size_t n_pages) const {
  const size_t segments = (n_pages + wire::kSegmentPages - 1) / wire::kSegmentPages;
  // Every page as a full-page record, plus one clean-list record per segment
  // holding at most one ULEB128 gap per page.
  const size_t per_page = wire::kRecordHeaderBytes + config_.page_size + kMaxUleb128Bytes;
  if (n_pages > (SIZE_MAX / 2) / per_page) return 0;
  return wire::kHeaderBytes + wire::kTrailerBytes +
         segments * (wire::kSegmentHeaderBytes + wire::kRecordHeaderBytes) + n_pages * per_page;
}

void Sender::append_record(Segment& seg, uint8_t kind, uint64_t pfn, size_t payload_bytes,
                           uint8_t** payload) {
  uint8_t* p = seg.bytes.append(wire::kRecordHeaderBytes + payload_bytes);
  wire::RecordHeader rh;
  rh.kind = kind;
  rh.payload_bytes = static_cast<uint32_t>(payload_bytes);
  rh.pfn = pfn;
  wire::encode_record_header(rh, p);
  *payload = p + wire::kRecordHeaderBytes;
  ++seg.records;
}

void Sender::encode_segment(size_t index) {
  Segment& seg = segments_[index];
  seg.bytes.clear();
  seg.digest_entries.clear();
  seg.clean.clear();
  seg.records = 0;
  seg.counters = Counters{};
  seg.bytes.append(wire::kSegmentHeaderBytes);  // filled in at the end

  const size_t begin = index * wire::kSegmentPages;
  const size_t end = std::min(dirty_.size(), begin + wire::kSegmentPages);
  const uint32_t page_size = config_.page_size;
  const uint32_t block_size = config_.block_size;
  const uint32_t blocks = config_.blocks_per_page();
  const size_t bitmap_bytes = wire::bitmap_bytes(page_size, block_size);

  const uint8_t* page_ptrs[kIdentifyBatch];
  uint64_t* hash_ptrs[kIdentifyBatch];
  uint8_t known[kIdentifyBatch];
  uint64_t changed[kIdentifyBatch * kernels::kBitmapWords];

  for (size_t first = begin; first < end; first += kIdentifyBatch) {
    const size_t count = std::min(kIdentifyBatch, end - first);
    for (size_t j = 0; j < count; ++j) {
      const DirtyPage& d = dirty_[first + j];
      page_ptrs[j] = d.data;
      hash_ptrs[j] = hashes_.data() + d.pfn * blocks;
      known[j] = sent_epoch_[d.pfn] != 0;
    }
    kernels::IdentifyBatch batch;
    batch.count = count;
    batch.block_size = block_size;
    batch.hash_mask = config_.hash_mask();
    batch.pages = page_ptrs;
    batch.hashes = hash_ptrs;
    batch.known = known;
    batch.changed = changed;
    kernels_->identify(batch);

    for (size_t j = 0; j < count; ++j) {
      const DirtyPage& d = dirty_[first + j];
      const uint64_t* bitmap = changed + j * kernels::kBitmapWords;
      const uint32_t n_changed = popcount(bitmap);
      seg.counters.blocks_scanned += blocks;
      sent_epoch_[d.pfn] = epoch_;
      if (known[j] && n_changed == 0) {
        ++seg.counters.pages_unchanged;
        if (config_.digest) seg.clean.emplace_back(d.pfn, xxh3(d.data, page_size));
        continue;
      }
      uint8_t* payload;
      const size_t blocks_payload = bitmap_bytes + size_t{n_changed} * block_size;
      if (!known[j] || blocks_payload >= page_size) {
        append_record(seg, wire::kRecordFullPage, d.pfn, page_size, &payload);
        std::memcpy(payload, d.data, page_size);
        ++seg.counters.pages_full;
        seg.counters.blocks_changed += blocks;
      } else {
        append_record(seg, wire::kRecordBlocks, d.pfn, blocks_payload, &payload);
        wire::store_bitmap(bitmap, bitmap_bytes, payload);
        kernels_->gather_blocks(d.data, bitmap, block_size, payload + bitmap_bytes);
        ++seg.counters.pages_partial;
        seg.counters.blocks_changed += n_changed;
      }
      if (config_.digest)
        wire::encode_digest_entry(d.pfn, xxh3(d.data, page_size),
                                  seg.digest_entries.append(wire::kDigestEntryBytes));
    }
  }

  if (!seg.clean.empty()) {
    // Dirty pages whose blocks all matched still enter the digest, so that a
    // change the block hash missed cannot go unnoticed.
    std::sort(seg.clean.begin(), seg.clean.end());
    uint8_t gaps[wire::kSegmentPages * kMaxUleb128Bytes];
    size_t gap_bytes = 0;
    for (size_t i = 1; i < seg.clean.size(); ++i)
      gap_bytes += store_uleb128(gaps + gap_bytes, seg.clean[i].first - seg.clean[i - 1].first);
    uint8_t* payload;
    append_record(seg, wire::kRecordCleanList, seg.clean.front().first, gap_bytes, &payload);
    std::memcpy(payload, gaps, gap_bytes);
    for (const auto& [pfn, hash] : seg.clean)
      wire::encode_digest_entry(pfn, hash, seg.digest_entries.append(wire::kDigestEntryBytes));
  }

  wire::SegmentHeader sh;
  sh.record_count = seg.records;
  sh.records_bytes = seg.bytes.size() - wire::kSegmentHeaderBytes;
  sh.records_checksum = xxh3(seg.bytes.data() + wire::kSegmentHeaderBytes, sh.records_bytes);
  wire::encode_segment_header(sh, seg.bytes.data());
}

void Sender::encode_epoch() {
  const size_t n_segments = (dirty_.size() + wire::kSegmentPages - 1) / wire::kSegmentPages;
  if (segments_.size() < n_segments) segments_.resize(n_segments);
  if (pool_)
    pool_->parallel_for(n_segments, [this](size_t i) { encode_segment(i); });
  else
    for (size_t i = 0; i < n_segments; ++i) encode_segment(i);

  wire::EpochHeader header;
  header.flags = config_.digest ? wire::kFlagDigest : 0;
  header.page_shift = static_cast<uint8_t>(std::countr_zero(config_.page_size));
  header.block_shift = static_cast<uint8_t>(std::countr_zero(config_.block_size));
  header.epoch = epoch_;
  header.tracked_pages = config_.tracked_pages;
  Xxh3Stream digest_state;
  Counters epoch_counters;
  for (size_t i = 0; i < n_segments; ++i) {
    const Segment& seg = segments_[i];
    epoch_counters.add(seg.counters);
    digest_state.update(seg.digest_entries.data(), seg.digest_entries.size());
    if (seg.records == 0) continue;  // nothing for the receiver
    ++header.segment_count;
    header.record_count += seg.records;
    header.body_bytes += seg.bytes.size();
  }

  header_and_trailer_.clear();
  uint8_t* head = header_and_trailer_.append(wire::kHeaderBytes + wire::kTrailerBytes);
  uint8_t* trailer = head + wire::kHeaderBytes;
  wire::encode_header(header, head);
  wire::Trailer t;
  t.record_count = header.record_count;
  t.epoch = epoch_;
  t.digest = config_.digest ? digest_state.digest() : 0;
  wire::encode_trailer_prefix(t, trailer);

  Xxh3Stream sum;
  sum.update(head, wire::kHeaderBytes);
  for (size_t i = 0; i < n_segments; ++i)
    if (segments_[i].records != 0) sum.update(segments_[i].bytes.data(), wire::kSegmentHeaderBytes);
  sum.update(trailer, wire::kTrailerChecksummedBytes);
  store_le<uint64_t>(trailer + wire::kTrailerChecksummedBytes, sum.digest());

  encoded_bytes_ = wire::kHeaderBytes + header.body_bytes + wire::kTrailerBytes;
  totals_.add(epoch_counters);
  pages_ += dirty_.size();
  bytes_in_ += dirty_.size() * config_.page_size;
  stage_ = Stage::kEncoded;
}

fgbi_status Sender::emit(fgbi_write_fn write, void* user) {
  const size_t n_segments = (dirty_.size() + wire::kSegmentPages - 1) / wire::kSegmentPages;
  const uint8_t* head = header_and_trailer_.data();
  if (write(user, head, wire::kHeaderBytes) != 0) return FGBI_E_CALLBACK_FAILED;
  for (size_t i = 0; i < n_segments; ++i) {
    const Segment& seg = segments_[i];
    if (seg.records != 0 && write(user, seg.bytes.data(), seg.bytes.size()) != 0)
      return FGBI_E_CALLBACK_FAILED;
  }
  if (write(user, head + wire::kHeaderBytes, wire::kTrailerBytes) != 0)
    return FGBI_E_CALLBACK_FAILED;
  return FGBI_OK;
}

void Sender::finish_epoch() {
  for (const DirtyPage& d : dirty_) in_epoch_[d.pfn / 64] &= ~(1ull << (d.pfn % 64));
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
  if (stage_ == Stage::kOpen) encode_epoch();
  *written = encoded_bytes_;
  if (capacity < encoded_bytes_) return FGBI_E_DST_TOO_SMALL;
  uint8_t* out = dst;
  auto copy = [](void* user, const void* data, size_t size) {
    auto** cursor = static_cast<uint8_t**>(user);
    std::memcpy(*cursor, data, size);
    *cursor += size;
    return 0;
  };
  emit(copy, &out);
  finish_epoch();
  return FGBI_OK;
}

fgbi_status Sender::end_epoch(fgbi_write_fn write, void* user) {
  if (stage_ != Stage::kOpen && stage_ != Stage::kEncoded) return FGBI_E_WRONG_STAGE;
  if (write == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (stage_ == Stage::kOpen) encode_epoch();
  const fgbi_status st = emit(write, user);
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
      pending_.push_back(pfn);
    }
  }
  std::sort(pending_.begin(), pending_.end());
  pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
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
  switch (stat) {
    case FGBI_S_EPOCHS: *value = epochs_; return FGBI_OK;
    case FGBI_S_BYTES_IN: *value = bytes_in_; return FGBI_OK;
    case FGBI_S_BYTES_OUT: *value = bytes_out_; return FGBI_OK;
    case FGBI_S_PAGES: *value = pages_; return FGBI_OK;
    case FGBI_S_PAGES_FULL: *value = totals_.pages_full; return FGBI_OK;
    case FGBI_S_PAGES_PARTIAL: *value = totals_.pages_partial; return FGBI_OK;
    case FGBI_S_PAGES_UNCHANGED: *value = totals_.pages_unchanged; return FGBI_OK;
    case FGBI_S_BLOCKS_SCANNED: *value = totals_.blocks_scanned; return FGBI_OK;
    case FGBI_S_BLOCKS_CHANGED: *value = totals_.blocks_changed; return FGBI_OK;
    case FGBI_S_EPOCHS_REJECTED: return FGBI_E_PARAM_UNKNOWN;  // receiver only
    case FGBI_S_MEMORY_BYTES:
      *value = hashes_.bytes() + sent_epoch_.bytes() + in_epoch_.bytes();
      return FGBI_OK;
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
