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
  if (!param_applies(param, ParamSide::kReceiver)) return FGBI_E_PARAM_UNKNOWN;
  if (replica_.ready()) return FGBI_E_WRONG_STAGE;
  return config_.set(param, value);
}

fgbi_status Receiver::get_parameter(fgbi_param param, int64_t* value) const {
  if (!param_applies(param, ParamSide::kReceiver)) return FGBI_E_PARAM_UNKNOWN;
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
  entry_of_pfn_.clear();
  entry_map_live_ = false;
  staged_.clear_and_trim();
  epoch_counts_ = EpochCounts{};
  segment_offsets_.clear();
  epoch_.clear_and_trim();
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

fgbi_status Receiver::check_pfn(uint64_t pfn) const {
  if (pfn >= config_.tracked_pages) return FGBI_E_PFN_OUT_OF_RANGE;
  if ((in_epoch_[pfn / 64] >> (pfn % 64)) & 1) return FGBI_E_DUPLICATE_PFN;
  return FGBI_OK;
}

void Receiver::add_entry(const Entry& entry) {
  in_epoch_[entry.pfn / 64] |= 1ull << (entry.pfn % 64);
  if (entry_map_live_) entry_of_pfn_.emplace(entry.pfn, static_cast<uint32_t>(entries_.size()));
  entries_.push_back(entry);
}

fgbi_status Receiver::parse_clean_list(uint64_t first, const uint8_t* p, const uint8_t* end) {
  Entry e{};
  e.kind = wire::kRecordCleanList;
  e.pfn = first;
  if (fgbi_status st = check_pfn(e.pfn); st != FGBI_OK) return st;
  add_entry(e);
  while (p < end) {
    uint64_t gap;
    if (!load_uleb128(&p, end, &gap) || gap == 0) return FGBI_E_BAD_RECORD;
    if (gap >= config_.tracked_pages - e.pfn) return FGBI_E_PFN_OUT_OF_RANGE;
    e.pfn += gap;
    if (fgbi_status st = check_pfn(e.pfn); st != FGBI_OK) return st;
    add_entry(e);
  }
  return FGBI_OK;
}

// Finds the content a reference names and checks it is what the sender
// hashed. In-epoch references name a block an earlier record of this epoch
// writes; replica references name committed memory, which nothing in this
// epoch has changed yet.
fgbi_status Receiver::resolve_reference(const wire::BlockRef& ref, bool in_epoch,
                                        const uint8_t** source) {
  if (ref.pfn >= config_.tracked_pages) return FGBI_E_PFN_OUT_OF_RANGE;
  const uint32_t block_size = config_.block_size;
  if (in_epoch) {
    if (!entry_map_live_) {
      entry_of_pfn_.clear();
      entry_of_pfn_.reserve(entries_.size() * 2);
      for (size_t i = 0; i < entries_.size(); ++i)
        entry_of_pfn_.emplace(entries_[i].pfn, static_cast<uint32_t>(i));
      entry_map_live_ = true;
    }
    const auto it = entry_of_pfn_.find(ref.pfn);
    if (it == entry_of_pfn_.end()) return FGBI_E_BAD_REFERENCE;
    const Entry& e = entries_[it->second];
    const uint64_t* bm = e.bitmap;
    if (!((bm[ref.block / 64] >> (ref.block % 64)) & 1)) return FGBI_E_BAD_REFERENCE;
    uint32_t rank = 0;
    for (uint32_t w = 0; w < ref.block / 64; ++w) rank += std::popcount(bm[w]);
    rank += std::popcount(bm[ref.block / 64] & ((1ull << (ref.block % 64)) - 1));
    *source = entry_data(e) + size_t{rank} * block_size;
  } else {
    *source = replica_.data() + ref.pfn * config_.page_size + size_t{ref.block} * block_size;
  }
  uint64_t hash;
  kernels_->hash_blocks(*source, 1, block_size, ~0ull, &hash);
  return hash == ref.hash ? FGBI_OK : FGBI_E_BAD_REFERENCE;
}

fgbi_status Receiver::decode_coded_page(uint64_t pfn, const uint8_t* payload, size_t size) {
  if (fgbi_status st = check_pfn(pfn); st != FGBI_OK) return st;
  wire::CodedPage& cp = coded_;
  const uint32_t page_size = config_.page_size;
  const uint32_t block_size = config_.block_size;
  if (fgbi_status st = wire::parse_coded_page(payload, size, page_size, block_size, &cp);
      st != FGBI_OK)
    return st;
  const size_t out_bytes = size_t{cp.changed} * block_size;
  if (staged_.size() + out_bytes > config_.max_epoch_bytes) return FGBI_E_LIMIT_EXCEEDED;

  // The literal blocks, decoded.
  const size_t literal_bytes = size_t{cp.literal_blocks} * block_size;
  const uint8_t* literal = cp.literal;
  if (cp.codec == codec::Codec::kXor) {
    uint64_t literal_bitmap[kernels::kBitmapWords] = {};
    for (uint32_t b = 0, i = 0; b < page_size / block_size; ++b) {
      if (!((cp.bitmap[b / 64] >> (b % 64)) & 1)) continue;
      if (wire::block_op(cp.ops, i++) == wire::BlockOp::kLiteral)
        literal_bitmap[b / 64] |= 1ull << (b % 64);
    }
    kernels_->gather_blocks(replica_.data() + pfn * page_size, literal_bitmap, block_size,
                            literal_scratch_);
    if (!kernels_->xor_rle_decode(cp.literal, cp.literal_bytes, literal_scratch_, literal_bytes))
      return FGBI_E_BAD_PAYLOAD;
    literal = literal_scratch_;
  } else if (cp.codec != codec::Codec::kRaw) {
    if (!decompressor_.decompress(cp.codec, cp.literal, cp.literal_bytes, literal_scratch_,
                                  literal_bytes))
      return FGBI_E_BAD_PAYLOAD;
    literal = literal_scratch_;
  }

  // Every changed block's new content, in block order.
  Entry e{};
  e.pfn = pfn;
  e.kind = wire::kRecordCodedPage;
  e.staged = true;
  e.offset = staged_.size();
  std::memcpy(e.bitmap, cp.bitmap, sizeof e.bitmap);
  e.blocks = cp.changed;
  staged_.append(out_bytes);
  uint8_t* out = staged_.data() + e.offset;
  size_t next_literal = 0, next_ref = 0;
  for (uint32_t i = 0; i < cp.changed; ++i, out += block_size) {
    const wire::BlockOp op = wire::block_op(cp.ops, i);
    if (op == wire::BlockOp::kLiteral) {
      std::memcpy(out, literal + block_size * next_literal++, block_size);
    } else if (op == wire::BlockOp::kZero) {
      std::memset(out, 0, block_size);
      ++epoch_counts_.blocks_zero;
    } else {
      const bool in_epoch = op == wire::BlockOp::kRefEpoch;
      const uint8_t* source;
      if (fgbi_status st = resolve_reference(cp.refs[next_ref++], in_epoch, &source); st != FGBI_OK)
        return st;
      std::memcpy(out, source, block_size);
      ++(in_epoch ? epoch_counts_.blocks_shared_epoch : epoch_counts_.blocks_shared_replica);
    }
  }
  add_entry(e);
  return FGBI_OK;
}

fgbi_status Receiver::parse_xor_pages(uint64_t first, size_t offset, size_t size) {
  const uint8_t* const base = epoch_.data();
  const uint8_t* p = base + offset;
  const uint8_t* const end = p + size;
  if (p == end) return FGBI_E_BAD_RECORD;
  uint64_t pfn = first;
  while (p < end) {
    uint64_t zigzag, length;
    if (!load_uleb128(&p, end, &zigzag) || !load_uleb128(&p, end, &length))
      return FGBI_E_BAD_RECORD;
    const int64_t gap = zigzag_decode(zigzag);
    const uint64_t magnitude =
        gap < 0 ? 0 - static_cast<uint64_t>(gap) : static_cast<uint64_t>(gap);
    if (gap < 0 ? magnitude > pfn
                : magnitude >= config_.tracked_pages - std::min(pfn, config_.tracked_pages))
      return FGBI_E_PFN_OUT_OF_RANGE;
    pfn = gap < 0 ? pfn - magnitude : pfn + magnitude;
    if (length == 0 || length > static_cast<uint64_t>(end - p)) return FGBI_E_BAD_RECORD;
    if (fgbi_status st = check_pfn(pfn); st != FGBI_OK) return st;
    size_t changes = 0;
    if (!kernels::xor_rle_walk(p, length, config_.page_size,
                               [&](size_t, const uint8_t*, size_t n) { changes += n; }))
      return FGBI_E_BAD_PAYLOAD;
    Entry e{};
    e.pfn = pfn;
    e.kind = wire::kRecordXorPages;
    e.offset = static_cast<size_t>(p - base);
    e.delta_bytes = static_cast<uint32_t>(length);
    e.xor_bytes = static_cast<uint32_t>(changes);
    add_entry(e);
    p += length;
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
    Entry e{};
    e.pfn = rh.pfn;
    e.kind = rh.kind;
    switch (rh.kind) {
      case wire::kRecordFullPage:
        if (rh.payload_bytes != config_.page_size) return FGBI_E_BAD_RECORD;
        if ((st = check_pfn(rh.pfn)) != FGBI_OK) return st;
        e.offset = pos;
        e.blocks = config_.blocks_per_page();
        for (uint32_t b = 0; b < e.blocks; ++b) e.bitmap[b / 64] |= 1ull << (b % 64);
        add_entry(e);
        break;
      case wire::kRecordBlocks:
        if (rh.payload_bytes <= bitmap_bytes) return FGBI_E_BAD_RECORD;
        wire::load_bitmap(payload, bitmap_bytes, e.bitmap, kernels::kBitmapWords);
        for (uint64_t w : e.bitmap) e.blocks += static_cast<uint32_t>(std::popcount(w));
        if (rh.payload_bytes != bitmap_bytes + size_t{e.blocks} * config_.block_size)
          return FGBI_E_BAD_RECORD;
        if ((st = check_pfn(rh.pfn)) != FGBI_OK) return st;
        e.offset = pos + bitmap_bytes;
        add_entry(e);
        break;
      case wire::kRecordCleanList:
        st = parse_clean_list(rh.pfn, payload, payload + rh.payload_bytes);
        break;
      case wire::kRecordCodedPage: st = decode_coded_page(rh.pfn, payload, rh.payload_bytes); break;
      case wire::kRecordXorPages: st = parse_xor_pages(rh.pfn, pos, rh.payload_bytes); break;
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
  auto run = [&](size_t t, unsigned) {
    fn(t * kEntriesPerTask, std::min(entries_.size(), (t + 1) * kEntriesPerTask));
  };
  if (pool_)
    pool_->parallel_for(tasks, run);
  else
    for (size_t t = 0; t < tasks; ++t) run(t, 0);
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
        page_hashes_[i] = xxh3(entry_data(e), page_size);
      } else if (e.kind == wire::kRecordCleanList) {
        page_hashes_[i] = xxh3(current, page_size);
      } else if (e.kind == wire::kRecordXorPages) {
        std::memcpy(scratch, current, page_size);
        kernels_->xor_rle_decode(entry_data(e), e.delta_bytes, scratch, page_size);
        page_hashes_[i] = xxh3(scratch, page_size);
      } else {
        std::memcpy(scratch, current, page_size);
        kernels_->scatter_blocks(scratch, e.bitmap, config_.block_size, entry_data(e));
        page_hashes_[i] = xxh3(scratch, page_size);
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
      if (e.kind == wire::kRecordFullPage)
        std::memcpy(page, entry_data(e), page_size);
      else if (e.kind == wire::kRecordXorPages)
        kernels_->xor_rle_decode(entry_data(e), e.delta_bytes, page, page_size);
      else if (e.kind != wire::kRecordCleanList)
        kernels_->scatter_blocks(page, e.bitmap, config_.block_size, entry_data(e));
    }
  });
  for (const Entry& e : entries_) {
    pages_full_ += e.kind == wire::kRecordFullPage;
    pages_partial_ += e.kind == wire::kRecordBlocks;
    pages_coded_ += e.kind == wire::kRecordCodedPage || e.kind == wire::kRecordXorPages;
    pages_unchanged_ += e.kind == wire::kRecordCleanList;
    blocks_written_ += e.blocks;
    bytes_out_ += uint64_t{e.blocks} * config_.block_size + e.xor_bytes;
  }
  totals_.blocks_zero += epoch_counts_.blocks_zero;
  totals_.blocks_shared_epoch += epoch_counts_.blocks_shared_epoch;
  totals_.blocks_shared_replica += epoch_counts_.blocks_shared_replica;
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
    case FGBI_S_PAGES: *value = pages_full_ + pages_partial_ + pages_coded_; return FGBI_OK;
    case FGBI_S_PAGES_FULL: *value = pages_full_; return FGBI_OK;
    case FGBI_S_PAGES_PARTIAL: *value = pages_partial_; return FGBI_OK;
    case FGBI_S_PAGES_UNCHANGED: *value = pages_unchanged_; return FGBI_OK;
    case FGBI_S_BLOCKS_SCANNED: return FGBI_E_PARAM_UNKNOWN;  // sender only
    case FGBI_S_BLOCKS_CHANGED: *value = blocks_written_; return FGBI_OK;
    case FGBI_S_EPOCHS_REJECTED: *value = rejected_; return FGBI_OK;
    case FGBI_S_MEMORY_BYTES:
      *value = epoch_.capacity() + staged_.capacity() + in_epoch_.bytes() +
               entries_.capacity() * sizeof(Entry) + page_hashes_.capacity() * sizeof(uint64_t);
      return FGBI_OK;
    case FGBI_S_BLOCKS_ZERO: *value = totals_.blocks_zero; return FGBI_OK;
    case FGBI_S_BLOCKS_SHARED_EPOCH: *value = totals_.blocks_shared_epoch; return FGBI_OK;
    case FGBI_S_BLOCKS_SHARED_REPLICA: *value = totals_.blocks_shared_replica; return FGBI_OK;
    case FGBI_S_PAGES_CODED: *value = pages_coded_; return FGBI_OK;
    default: break;  // sender only
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
