#include "receiver/receiver.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi {
namespace {
// Entries handled per parallel work item when digesting and applying.
constexpr size_t kEntriesPerTask = 64;
}  // namespace

fgbi_status Receiver::set_parameter(fgbi_param param, int64_t value) {
  if (param == FGBI_P_TEST_HASH_BITS) return FGBI_E_PARAM_UNKNOWN;  // sender only
  if (replica_.ready()) return FGBI_E_WRONG_STAGE;
  return config_.set(param, value);
}

fgbi_status Receiver::get_parameter(fgbi_param param, int64_t* value) const {
  if (param == FGBI_P_TEST_HASH_BITS) return FGBI_E_PARAM_UNKNOWN;
  return config_.get(param, value);
}

fgbi_status Receiver::prepare() {
  kernels_ = kernels::find_kernels(static_cast<kernels::Backend>(config_.backend));
  if (kernels_ == nullptr) return FGBI_E_BACKEND_UNAVAILABLE;
  if (!in_epoch_.allocate((config_.tracked_pages + 63) / 64)) return FGBI_E_NO_MEMORY;
  if (config_.threads > 1) pool_ = std::make_unique<ThreadPool>(config_.threads);
  expect(Phase::kHeader, wire::kHeaderBytes);
  return FGBI_OK;
}

fgbi_status Receiver::attach_memory(void* memory, size_t size) {
  if (replica_.ready()) return FGBI_E_WRONG_STAGE;
  if (fgbi_status st = prepare(); st != FGBI_OK) return st;
  return replica_.attach(memory, size, config_.tracked_pages * config_.page_size);
}

fgbi_status Receiver::map_file(const char* path) {
  if (replica_.ready()) return FGBI_E_WRONG_STAGE;
  if (fgbi_status st = prepare(); st != FGBI_OK) return st;
  return replica_.map_file(path, config_.tracked_pages * config_.page_size);
}

fgbi_status Receiver::replica(const void** memory, size_t* size) const {
  if (memory == nullptr || size == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (!replica_.ready()) return FGBI_E_NO_REPLICA;
  *memory = replica_.data();
  *size = replica_.size();
  return FGBI_OK;
}

fgbi_status Receiver::set_committed_epoch(uint64_t committed) {
  if (phase_ != Phase::kHeader || epoch_.size() != 0) return FGBI_E_WRONG_STAGE;
  committed_ = committed;
  return FGBI_OK;
}

void Receiver::expect(Phase phase, size_t bytes) {
  phase_ = phase;
  unit_end_ = epoch_.size() + bytes;
}

void Receiver::discard_epoch() {
  for (const Entry& e : entries_) in_epoch_[e.pfn / 64] &= ~(1ull << (e.pfn % 64));
  entries_.clear();
  segment_offsets_.clear();
  epoch_.clear();
  segments_seen_ = records_seen_ = 0;
  body_seen_ = 0;
  expect(Phase::kHeader, wire::kHeaderBytes);
}

fgbi_status Receiver::feed(const uint8_t* data, size_t size) {
  if (!replica_.ready()) return FGBI_E_NO_REPLICA;
  if (phase_ == Phase::kFailed) return FGBI_E_STREAM_FAILED;
  if (data == nullptr && size != 0) return FGBI_E_NULL_ARGUMENT;
  bytes_in_ += size;
  while (size > 0) {
    const size_t take = std::min(size, unit_end_ - epoch_.size());
    epoch_.append(data, take);
    data += take;
    size -= take;
    if (epoch_.size() == unit_end_) {
      if (fgbi_status st = complete_unit(); st != FGBI_OK) {
        discard_epoch();
        phase_ = Phase::kFailed;
        ++rejected_;
        return st;
      }
    }
  }
  return FGBI_OK;
}

fgbi_status Receiver::end_stream() {
  if (phase_ == Phase::kFailed) return FGBI_E_STREAM_FAILED;
  if (epoch_.size() == 0) return FGBI_OK;
  discard_epoch();
  phase_ = Phase::kFailed;
  ++rejected_;
  return FGBI_E_TRUNCATED;
}

fgbi_status Receiver::reset_stream() {
  if (!replica_.ready()) return FGBI_E_NO_REPLICA;
  discard_epoch();
  return FGBI_OK;
}

fgbi_status Receiver::complete_unit() {
  switch (phase_) {
    case Phase::kHeader: return on_header();
    case Phase::kSegmentHeader: return on_segment_header();
    case Phase::kRecords: return on_records();
    case Phase::kTrailer: return on_trailer();
    case Phase::kFailed: break;
  }
  return FGBI_E_INTERNAL;
}

fgbi_status Receiver::on_header() {
  if (fgbi_status st = wire::decode_header(epoch_.data(), &header_); st != FGBI_OK) return st;
  const wire::EpochHeader& h = header_;
  if (h.page_shift != std::countr_zero(config_.page_size) ||
      h.block_shift != std::countr_zero(config_.block_size) ||
      h.tracked_pages != config_.tracked_pages)
    return FGBI_E_GEOMETRY_MISMATCH;
  if (config_.digest && (h.flags & wire::kFlagDigest) == 0) return FGBI_E_DIGEST_REQUIRED;
  if (h.epoch <= committed_) return FGBI_E_EPOCH_REPLAYED;
  if (h.epoch != committed_ + 1) return FGBI_E_EPOCH_GAP;
  if (h.body_bytes > config_.max_epoch_bytes - wire::kHeaderBytes - wire::kTrailerBytes ||
      h.record_count > config_.tracked_pages)
    return FGBI_E_LIMIT_EXCEEDED;
  // Every segment holds at least one record of at least a record header.
  if (h.segment_count > h.record_count ||
      h.body_bytes < uint64_t{h.segment_count} * wire::kSegmentHeaderBytes +
                         uint64_t{h.record_count} * wire::kRecordHeaderBytes)
    return FGBI_E_BAD_SEGMENT;
  // Bounded by FGBI_P_MAX_EPOCH_BYTES above; untouched capacity costs nothing.
  epoch_.reserve(wire::kHeaderBytes + h.body_bytes + wire::kTrailerBytes);
  if (h.segment_count == 0) {
    if (h.body_bytes != 0) return FGBI_E_BAD_SEGMENT;
    expect(Phase::kTrailer, wire::kTrailerBytes);
  } else {
    expect(Phase::kSegmentHeader, wire::kSegmentHeaderBytes);
  }
  return FGBI_OK;
}

fgbi_status Receiver::on_segment_header() {
  const size_t offset = epoch_.size() - wire::kSegmentHeaderBytes;
  if (fgbi_status st = wire::decode_segment_header(epoch_.data() + offset, &segment_);
      st != FGBI_OK)
    return st;
  const wire::SegmentHeader& s = segment_;
  const uint64_t body_left = header_.body_bytes - body_seen_;  // body_seen_ <= body_bytes
  if (s.record_count == 0 || s.record_count > header_.record_count - records_seen_ ||
      s.records_bytes < uint64_t{s.record_count} * wire::kRecordHeaderBytes ||
      body_left < wire::kSegmentHeaderBytes ||
      s.records_bytes > body_left - wire::kSegmentHeaderBytes)
    return FGBI_E_BAD_SEGMENT;
  segment_offsets_.push_back(offset);
  body_seen_ += wire::kSegmentHeaderBytes + s.records_bytes;
  expect(Phase::kRecords, s.records_bytes);
  return FGBI_OK;
}

fgbi_status Receiver::add_entry(uint64_t pfn, uint8_t kind, size_t payload, uint32_t blocks) {
  if (pfn >= config_.tracked_pages) return FGBI_E_PFN_OUT_OF_RANGE;
  uint64_t& word = in_epoch_[pfn / 64];
  const uint64_t bit = 1ull << (pfn % 64);
  if (word & bit) return FGBI_E_DUPLICATE_PFN;
  word |= bit;
  entries_.push_back({pfn, payload, kind, blocks});
  return FGBI_OK;
}

fgbi_status Receiver::parse_clean_list(uint64_t first, const uint8_t* p, const uint8_t* end) {
  uint64_t pfn = first;
  if (fgbi_status st = add_entry(pfn, wire::kRecordCleanList, 0, 0); st != FGBI_OK) return st;
  while (p < end) {
    uint64_t gap;
    const size_t used = load_uleb128(p, end, &gap);
    if (used == 0 || gap == 0) return FGBI_E_BAD_RECORD;
    if (gap >= config_.tracked_pages - pfn) return FGBI_E_PFN_OUT_OF_RANGE;
    pfn += gap;
    p += used;
    if (fgbi_status st = add_entry(pfn, wire::kRecordCleanList, 0, 0); st != FGBI_OK) return st;
  }
  return FGBI_OK;
}

fgbi_status Receiver::on_records() {
  const size_t begin = epoch_.size() - segment_.records_bytes;
  const uint8_t* base = epoch_.data();
  if (xxh3(base + begin, segment_.records_bytes) != segment_.records_checksum)
    return FGBI_E_SEGMENT_CHECKSUM;

  const size_t bitmap_bytes = wire::bitmap_bytes(config_.page_size, config_.block_size);
  size_t pos = begin;
  const size_t end = epoch_.size();
  for (uint32_t i = 0; i < segment_.record_count; ++i) {
    wire::RecordHeader rh;
    if (end - pos < wire::kRecordHeaderBytes) return FGBI_E_BAD_RECORD;
    if (fgbi_status st = wire::decode_record_header(base + pos, &rh); st != FGBI_OK) return st;
    pos += wire::kRecordHeaderBytes;
    if (rh.payload_bytes > end - pos) return FGBI_E_BAD_RECORD;
    const uint8_t* payload = base + pos;
    fgbi_status st = FGBI_OK;
    switch (rh.kind) {
      case wire::kRecordFullPage:
        if (rh.payload_bytes != config_.page_size) return FGBI_E_BAD_RECORD;
        st = add_entry(rh.pfn, rh.kind, pos, config_.blocks_per_page());
        break;
      case wire::kRecordBlocks: {
        if (rh.payload_bytes <= bitmap_bytes) return FGBI_E_BAD_RECORD;
        uint32_t changed = 0;
        for (size_t b = 0; b < bitmap_bytes; ++b) changed += std::popcount(payload[b]);
        if (rh.payload_bytes != bitmap_bytes + size_t{changed} * config_.block_size)
          return FGBI_E_BAD_RECORD;
        st = add_entry(rh.pfn, rh.kind, pos, changed);
        break;
      }
      case wire::kRecordCleanList:
        st = parse_clean_list(rh.pfn, payload, payload + rh.payload_bytes);
        break;
      default:
        if (rh.kind < wire::kFirstOptionalKind) return FGBI_E_UNKNOWN_RECORD;
        break;  // optional: skipped
    }
    if (st != FGBI_OK) return st;
    pos += rh.payload_bytes;
  }
  if (pos != end) return FGBI_E_BAD_RECORD;

  records_seen_ += segment_.record_count;
  if (++segments_seen_ < header_.segment_count) {
    expect(Phase::kSegmentHeader, wire::kSegmentHeaderBytes);
    return FGBI_OK;
  }
  if (records_seen_ != header_.record_count || body_seen_ != header_.body_bytes)
    return FGBI_E_BAD_SEGMENT;
  expect(Phase::kTrailer, wire::kTrailerBytes);
  return FGBI_OK;
}

void Receiver::for_each_entry_chunk(const std::function<void(size_t, size_t)>& fn) {
  const size_t tasks = (entries_.size() + kEntriesPerTask - 1) / kEntriesPerTask;
  auto run = [&](size_t t) {
    fn(t * kEntriesPerTask, std::min(entries_.size(), (t + 1) * kEntriesPerTask));
  };
  if (pool_)
    pool_->parallel_for(tasks, run);
  else
    for (size_t t = 0; t < tasks; ++t) run(t);
}

// The blocks of a kRecordBlocks entry; fills its bitmap words.
const uint8_t* Receiver::block_payload(const Entry& e, uint64_t* bitmap) const {
  const size_t bitmap_bytes = wire::bitmap_bytes(config_.page_size, config_.block_size);
  const uint8_t* payload = epoch_.data() + e.payload;
  wire::load_bitmap(payload, bitmap_bytes, bitmap, kernels::kBitmapWords);
  return payload + bitmap_bytes;
}

uint64_t Receiver::compute_digest() {
  page_hashes_.resize(entries_.size());
  const uint32_t page_size = config_.page_size;
  for_each_entry_chunk([&](size_t begin, size_t end) {
    alignas(64) uint8_t scratch[kernels::kPageSize];
    for (size_t i = begin; i < end; ++i) {
      const Entry& e = entries_[i];
      const uint8_t* current = replica_.data() + e.pfn * page_size;
      if (e.kind == wire::kRecordFullPage) {
        page_hashes_[i] = xxh3(epoch_.data() + e.payload, page_size);
      } else if (e.kind == wire::kRecordBlocks) {
        uint64_t bitmap[kernels::kBitmapWords];
        const uint8_t* blocks = block_payload(e, bitmap);
        std::memcpy(scratch, current, page_size);
        kernels_->scatter_blocks(scratch, bitmap, config_.block_size, blocks);
        page_hashes_[i] = xxh3(scratch, page_size);
      } else {
        page_hashes_[i] = xxh3(current, page_size);
      }
    }
  });
  Xxh3Stream state;
  for (size_t i = 0; i < entries_.size(); ++i) {
    uint8_t entry[wire::kDigestEntryBytes];
    wire::encode_digest_entry(entries_[i].pfn, page_hashes_[i], entry);
    state.update(entry, sizeof entry);
  }
  return state.digest();
}

void Receiver::apply() {
  const uint32_t page_size = config_.page_size;
  for_each_entry_chunk([&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const Entry& e = entries_[i];
      uint8_t* page = replica_.data() + e.pfn * page_size;
      if (e.kind == wire::kRecordFullPage) {
        std::memcpy(page, epoch_.data() + e.payload, page_size);
      } else if (e.kind == wire::kRecordBlocks) {
        uint64_t bitmap[kernels::kBitmapWords];
        const uint8_t* blocks = block_payload(e, bitmap);
        kernels_->scatter_blocks(page, bitmap, config_.block_size, blocks);
      }
    }
  });
  for (const Entry& e : entries_) {
    pages_full_ += e.kind == wire::kRecordFullPage;
    pages_partial_ += e.kind == wire::kRecordBlocks;
    pages_unchanged_ += e.kind == wire::kRecordCleanList;
    blocks_written_ += e.blocks;
    bytes_out_ += uint64_t{e.blocks} * config_.block_size;
  }
}

fgbi_status Receiver::on_trailer() {
  const size_t offset = epoch_.size() - wire::kTrailerBytes;
  const uint8_t* base = epoch_.data();
  wire::Trailer t;
  if (fgbi_status st = wire::decode_trailer(base + offset, &t); st != FGBI_OK) return st;
  if (t.record_count != header_.record_count || t.epoch != header_.epoch) return FGBI_E_BAD_TRAILER;
  Xxh3Stream sum;
  sum.update(base, wire::kHeaderBytes);
  for (size_t seg : segment_offsets_) sum.update(base + seg, wire::kSegmentHeaderBytes);
  sum.update(base + offset, wire::kTrailerChecksummedBytes);
  if (sum.digest() != t.checksum) return FGBI_E_EPOCH_CHECKSUM;
  if (header_.flags & wire::kFlagDigest) {
    if (compute_digest() != t.digest) return FGBI_E_DIGEST_MISMATCH;
  } else if (t.digest != 0) {
    return FGBI_E_BAD_TRAILER;
  }
  apply();
  committed_ = header_.epoch;
  ++epochs_;
  discard_epoch();
  return FGBI_OK;
}

fgbi_status Receiver::get_stat(fgbi_stat stat, uint64_t* value) const {
  switch (stat) {
    case FGBI_S_EPOCHS: *value = epochs_; return FGBI_OK;
    case FGBI_S_BYTES_IN: *value = bytes_in_; return FGBI_OK;
    case FGBI_S_BYTES_OUT: *value = bytes_out_; return FGBI_OK;
    case FGBI_S_PAGES: *value = pages_full_ + pages_partial_; return FGBI_OK;
    case FGBI_S_PAGES_FULL: *value = pages_full_; return FGBI_OK;
    case FGBI_S_PAGES_PARTIAL: *value = pages_partial_; return FGBI_OK;
    case FGBI_S_PAGES_UNCHANGED: *value = pages_unchanged_; return FGBI_OK;
    case FGBI_S_BLOCKS_SCANNED: return FGBI_E_PARAM_UNKNOWN;  // sender only
    case FGBI_S_BLOCKS_CHANGED: *value = blocks_written_; return FGBI_OK;
    case FGBI_S_EPOCHS_REJECTED: *value = rejected_; return FGBI_OK;
    case FGBI_S_MEMORY_BYTES:
      *value = epoch_.capacity() + in_epoch_.bytes() + entries_.capacity() * sizeof(Entry) +
               page_hashes_.capacity() * sizeof(uint64_t);
      return FGBI_OK;
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
