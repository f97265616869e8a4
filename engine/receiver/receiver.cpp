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
// How many entries ahead of its check a page's kept hashes are prefetched.
constexpr size_t kCheckAhead = 4;
// A partly written page's check is summed over all its blocks, not updated
// by the terms of the changed ones, once at least 1/kWholeCheckFrom of its
// blocks change (measured in docs/PERFORMANCE.md).
constexpr uint32_t kWholeCheckFrom = 4;
// XOR_PAGES entries checked, then applied, at a time: at most this many
// pages' literals are noted (16 bytes each, a page's delta holding at most
// one per byte: 4 MiB at worst, some 25 KiB on `hpc`).
constexpr size_t kXorRunPages = 64;
// How far past the record being parsed a segment's bytes are loaded: each
// record's header is a page or so past the last, farther than the hardware
// prefetcher looks, and waiting for each in turn cost a tenth of the
// backup's time on `dense` (docs/PERFORMANCE.md, eighteenth pass).
constexpr size_t kParseAheadBytes = 8192;

// Puts a page's fresh block hashes, consecutive in block order, in the
// places of the blocks set in `bitmap` among `hashes` (all of the page's).
void put_hashes(uint64_t* hashes, const uint64_t* bitmap, const uint64_t* fresh) {
  for (uint32_t w = 0; w < kernels::kBitmapWords; ++w)
    for (uint64_t bits = bitmap[w]; bits != 0; bits &= bits - 1)
      hashes[w * 64 + static_cast<uint32_t>(std::countr_zero(bits))] = *fresh++;
}

// Copies `bytes`, whole 64-byte lines, around the CPU cache: stream_blocks
// with every 64-byte block set.
void stream_lines(const kernels::KernelTable& k, void* to, const void* from, size_t bytes) {
  uint64_t all[kernels::kBitmapWords] = {};
  for (size_t line = 0; line < bytes / 64; ++line) all[line / 64] |= 1ull << (line % 64);
  k.stream_blocks(static_cast<uint8_t*>(to), all, 64, static_cast<const uint8_t*>(from));
}
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
  if (!in_epoch_.allocate((config_.tracked_pages + 63) / 64) ||
      !block_hashes_.allocate(config_.tracked_pages * config_.blocks_per_page()) ||
      !page_checks_.allocate(config_.tracked_pages) || !hash_known_.allocate(config_.tracked_pages))
    return FGBI_E_NO_MEMORY;
  reader_ = wire::EpochReader(config_.max_epoch_bytes, config_.tracked_pages);
  if (config_.threads > 1) pool_ = std::make_unique<ThreadPool>(config_.threads);
  reader_.reset();
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
  if (epoch_.size() != 0 || failed_) return FGBI_E_WRONG_STAGE;
  committed_ = committed;
  forget_block_hashes();
  return FGBI_OK;
}

// The replica may have been changed behind the receiver's back (restored
// from a journal, a new stream): its hashes are taken again as needed.
void Receiver::forget_block_hashes() {
  if (hash_known_.size() != 0) std::memset(hash_known_.data(), 0, hash_known_.bytes());
  stream_known_ = false;
}

void Receiver::discard_epoch() {
  for (const Entry& e : entries_) in_epoch_[e.pfn / 64] &= ~(1ull << (e.pfn % 64));
  entries_.clear();
  entry_of_pfn_.clear();
  entry_map_live_ = false;
  staged_.clear_and_trim();
  new_hashes_.clear();
  entries_checked_ = 0;
  epoch_counts_ = EpochCounts{};
  epoch_.clear_and_trim();
  unit_start_ = 0;
  reader_.reset();
}

fgbi_status Receiver::feed(const uint8_t* data, size_t size) {
  if (!replica_.ready()) return FGBI_E_NO_REPLICA;
  if (failed_) return FGBI_E_STREAM_FAILED;
  if (data == nullptr && size != 0) return FGBI_E_NULL_ARGUMENT;
  bytes_in_ += size;
  while (size > 0) {
    size_t take = 0;
    fgbi_status st = FGBI_OK;
    if (epoch_.size() == 0) st = feed_in_place(data, size, &take);
    if (take == 0 && st == FGBI_OK) {  // inside an epoch, or its first unit is cut short
      take = std::min(size, unit_start_ + reader_.wanted() - epoch_.size());
      epoch_.append(data, take);
      if (epoch_.size() == unit_start_ + reader_.wanted()) st = complete_unit();
    }
    data += take;
    size -= take;
    if (st != FGBI_OK) {
      discard_epoch();
      failed_ = true;
      ++rejected_;
      return st;
    }
  }
  return FGBI_OK;
}

// At an epoch's start: the units that `data` holds whole are parsed where
// they are, so an epoch fed in one call (as remus-rx feeds each checkpoint's
// pages) is never copied.
// If the data ends inside the epoch, what was parsed is copied to epoch_,
// where the entries' offsets stay valid, and the rest of the epoch is
// collected there. Sets *used to the bytes taken.
fgbi_status Receiver::feed_in_place(const uint8_t* data, size_t size, size_t* used) {
  in_place_ = data;
  size_t taken = 0;
  fgbi_status st = FGBI_OK;
  while (unit_start_ + reader_.wanted() <= size) {
    taken = unit_start_ + reader_.wanted();
    st = complete_unit();
    // After the trailer the epoch is committed and reset (unit_start_ 0).
    if (st != FGBI_OK || unit_start_ == 0) break;
  }
  if (st == FGBI_OK && unit_start_ != 0) epoch_.append(data, taken);
  in_place_ = nullptr;
  *used = taken;
  return st;
}

fgbi_status Receiver::end_stream() {
  if (failed_) return FGBI_E_STREAM_FAILED;
  if (epoch_.size() == 0) return FGBI_OK;
  discard_epoch();
  failed_ = true;
  ++rejected_;
  return FGBI_E_TRUNCATED;
}

fgbi_status Receiver::reset_stream() {
  if (!replica_.ready()) return FGBI_E_NO_REPLICA;
  discard_epoch();
  failed_ = false;
  forget_block_hashes();
  return FGBI_OK;
}

fgbi_status Receiver::complete_unit() {
  const size_t size = reader_.wanted();
  const uint8_t* unit = epoch_base() + unit_start_;
  wire::EpochReader::Event event;
  if (fgbi_status st = reader_.take(unit, &event); st != FGBI_OK) return st;
  unit_start_ += size;
  switch (event) {
    case wire::EpochReader::Event::kHeader: return on_header();
    case wire::EpochReader::Event::kRecords: return on_records(unit, size);
    case wire::EpochReader::Event::kTrailer: return on_trailer();
    case wire::EpochReader::Event::kSegment:
    case wire::EpochReader::Event::kNone: break;
  }
  return FGBI_OK;
}

fgbi_status Receiver::on_header() {
  const wire::EpochHeader& h = reader_.header();
  if (h.page_shift != std::countr_zero(config_.page_size) ||
      h.block_shift != std::countr_zero(config_.block_size) ||
      h.tracked_pages != config_.tracked_pages)
    return FGBI_E_GEOMETRY_MISMATCH;
  if (config_.digest && (h.flags & wire::kFlagDigest) == 0) return FGBI_E_DIGEST_REQUIRED;
  if (stream_known_ && h.stream_id != stream_id_) return FGBI_E_STREAM_MISMATCH;
  if (h.epoch <= committed_) return FGBI_E_EPOCH_REPLAYED;
  if (h.epoch != committed_ + 1) return FGBI_E_EPOCH_GAP;
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

// Each XOR_PAGES entry becomes the new content of the blocks its delta
// touches, taken from the committed replica and XORed on arrival, so that
// digest and apply treat it like any block record. The entries go by runs
// of kXorRunPages: each run's are checked first, and their literals noted;
// then the replica blocks are loaded a few entries ahead of their use, since
// the pages lie far apart in memory. The run bounds the literals noted (a
// delta may hold one per byte) and keeps them in the CPU cache.
fgbi_status Receiver::parse_xor_pages(uint64_t first, size_t offset, size_t size) {
  const uint8_t* p = epoch_base() + offset;
  const uint8_t* const end = p + size;
  if (p == end) return FGBI_E_BAD_RECORD;
  uint64_t pfn = first;
  while (p < end) {
    if (fgbi_status st = check_xor_run(&p, end, &pfn); st != FGBI_OK) return st;
    apply_xor_run();
  }
  return FGBI_OK;
}

// Checks the entries of the next run of an XOR_PAGES record, from
// *at_entry on, and notes their literals; the pfn steps start from
// *last_pfn. Both are left where the next run starts.
fgbi_status Receiver::check_xor_run(const uint8_t** at_entry, const uint8_t* end,
                                    uint64_t* last_pfn) {
  const uint32_t page_size = config_.page_size;
  const uint32_t block_size = config_.block_size;
  // Block sizes are powers of two: a shift, not a division per literal.
  const int block_shift = std::countr_zero(block_size);
  const uint8_t* p = *at_entry;
  uint64_t pfn = *last_pfn;
  xor_literals_.clear();
  xor_page_literals_.assign(1, 0);
  for (size_t pages = 0; p < end && pages < kXorRunPages; ++pages) {
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
    Entry e{};
    e.pfn = pfn;
    e.kind = wire::kRecordXorPages;
    e.staged = true;
    // The blocks a page gathers are consecutive, so a literal that spans
    // several stays contiguous there: it starts at its first block's rank
    // among them. They are exactly the blocks the literals span, and
    // literals come in page order, so that rank follows from the literals
    // before it: the last block touched so far, and how many were.
    size_t last_block = ~size_t{0}, next_rank = 0;
    if (!kernels::xor_rle_scan(
            p, length, page_size, [&](size_t at, const uint8_t* literal, size_t n) {
              const size_t first_block = at >> block_shift, end_block = (at + n - 1) >> block_shift;
              for (size_t w = first_block / 64; w <= end_block / 64; ++w) {
                const size_t low = w == first_block / 64 ? first_block % 64 : 0;
                const size_t high = w == end_block / 64 ? end_block % 64 : 63;
                e.bitmap[w] |= (~0ull >> (63 - high)) & (~0ull << low);
              }
              const size_t rank = first_block == last_block ? next_rank - 1 : next_rank;
              const size_t placed = (rank << block_shift) + (at & (block_size - 1));
              xor_literals_.push_back(
                  {literal, static_cast<uint32_t>(placed), static_cast<uint32_t>(n)});
              next_rank = rank + (end_block - first_block) + 1;
              last_block = end_block;
            }))
      return FGBI_E_BAD_PAYLOAD;
    xor_page_literals_.push_back(xor_literals_.size());
    e.blocks = static_cast<uint32_t>(next_rank);  // the blocks it touches
    const size_t out_bytes = size_t{e.blocks} * block_size;
    if (staged_.size() + out_bytes > config_.max_epoch_bytes) return FGBI_E_LIMIT_EXCEEDED;
    e.offset = staged_.size();
    staged_.append(out_bytes);
    add_entry(e);
    p += length;
  }
  *at_entry = p;
  *last_pfn = pfn;
  return FGBI_OK;
}

// Gathers the blocks the run's entries (the last ones added) touch from the
// committed replica and XORs their noted literals into them.
void Receiver::apply_xor_run() {
  const uint32_t page_size = config_.page_size;
  const uint32_t block_size = config_.block_size;
  const size_t pages = xor_page_literals_.size() - 1;
  const size_t first_entry = entries_.size() - pages;
  constexpr size_t kAhead = 8;
  auto load_ahead = [&](size_t k) {
    const Entry& e = entries_[first_entry + k];
    const uint8_t* page = replica_.data() + e.pfn * page_size;
    for (uint32_t w = 0; w < kernels::kBitmapWords; ++w)
      for (uint64_t bits = e.bitmap[w]; bits != 0; bits &= bits - 1)
        prefetch_line(page + (w * 64 + static_cast<size_t>(std::countr_zero(bits))) * block_size);
  };
  for (size_t k = 0; k < std::min(kAhead, pages); ++k) load_ahead(k);
  for (size_t k = 0; k < pages; ++k) {
    if (k + kAhead < pages) load_ahead(k + kAhead);
    const Entry& e = entries_[first_entry + k];
    uint8_t* out = staged_.data() + e.offset;
    kernels_->gather_blocks(replica_.data() + e.pfn * page_size, e.bitmap, block_size, out);
    kernels_->xor_ranges(out, xor_literals_.data() + xor_page_literals_[k],
                         xor_page_literals_[k + 1] - xor_page_literals_[k]);
  }
}

fgbi_status Receiver::on_records(const uint8_t* records, size_t size) {
  const fgbi_status st = parse_records(records, size);
  if (st == FGBI_OK && (reader_.header().flags & wire::kFlagDigest)) check_new_entries();
  return st;
}

fgbi_status Receiver::parse_records(const uint8_t* records, size_t size) {
  const size_t bitmap_bytes = wire::bitmap_bytes(config_.page_size, config_.block_size);
  const uint8_t* base = epoch_base();
  const uint8_t* const end = records + size;
  const uint8_t* loaded = records;  // lines before this are loading or read
  return wire::for_each_record(
      records, size, reader_.segment().record_count,
      [&](const wire::RecordHeader& rh, const uint8_t* payload) -> fgbi_status {
        // The next records' headers: from where this record ends on.
        const uint8_t* next = payload + rh.payload_bytes;
        const uint8_t* until =
            static_cast<size_t>(end - next) > kParseAheadBytes ? next + kParseAheadBytes : end;
        for (const uint8_t* at = std::max(loaded, next); at < until; at += 64) prefetch_line(at);
        loaded = std::max(loaded, until);
        const size_t pos = static_cast<size_t>(payload - base);
        fgbi_status st = FGBI_OK;
        Entry e{};
        e.pfn = rh.pfn;
        e.kind = rh.kind;
        switch (rh.kind) {
          case wire::kRecordFullPage:
            e.blocks = config_.blocks_per_page();
            for (uint32_t b = 0; b < e.blocks; ++b) e.bitmap[b / 64] |= 1ull << (b % 64);
            return wire::for_each_full_page(
                rh, payload, config_.page_size,
                [&](uint64_t pfn, const uint8_t* content) -> fgbi_status {
                  if (fgbi_status bad = check_pfn(pfn); bad != FGBI_OK) return bad;
                  e.pfn = pfn;
                  e.offset = static_cast<size_t>(content - base);
                  add_entry(e);
                  return FGBI_OK;
                });
          case wire::kRecordBlocks:
            if (rh.payload_bytes <= bitmap_bytes) return FGBI_E_BAD_RECORD;
            wire::load_bitmap(payload, bitmap_bytes, e.bitmap, kernels::kBitmapWords);
            for (uint64_t w : e.bitmap) e.blocks += static_cast<uint32_t>(std::popcount(w));
            if (rh.payload_bytes != bitmap_bytes + size_t{e.blocks} * config_.block_size)
              return FGBI_E_BAD_RECORD;
            if ((st = check_pfn(rh.pfn)) != FGBI_OK) return st;
            e.offset = pos + bitmap_bytes;
            add_entry(e);
            return FGBI_OK;
          case wire::kRecordCleanList:
            return parse_clean_list(rh.pfn, payload, payload + rh.payload_bytes);
          case wire::kRecordCodedPage: return decode_coded_page(rh.pfn, payload, rh.payload_bytes);
          case wire::kRecordXorPages: return parse_xor_pages(rh.pfn, pos, rh.payload_bytes);
          default:
            // Optional kinds are skipped.
            return rh.kind < wire::kFirstOptionalKind ? FGBI_E_UNKNOWN_RECORD : FGBI_OK;
        }
      });
}

void Receiver::for_each_entry_chunk(size_t first, const std::function<void(size_t, size_t)>& fn) {
  const size_t n = entries_.size() - first;
  const size_t tasks = (n + kEntriesPerTask - 1) / kEntriesPerTask;
  auto run = [&](size_t t, unsigned) {
    fn(first + t * kEntriesPerTask, first + std::min(n, (t + 1) * kEntriesPerTask));
  };
  parallel_for(pool_.get(), tasks, run);
}

// The checks of the entries the last segment added, from the blocks they
// write, the hashes kept of the blocks they replace and the pages' kept
// checks (or, where many blocks change, all the pages' kept hashes): the
// replica is read only for pages whose hashes are not known yet.
// Done as each segment arrives, while its bytes are still in the CPU cache
// (and, on a link, while the next segment is on its way).
void Receiver::check_new_entries() {
  const size_t first = entries_checked_;
  if (first == entries_.size()) return;
  const uint32_t blocks = config_.blocks_per_page();
  const uint32_t block_size = config_.block_size;
  size_t new_blocks = new_hashes_.size();
  for (size_t i = first; i < entries_.size(); ++i) {
    entries_[i].hash_offset = new_blocks;
    new_blocks += entries_[i].blocks;
  }
  new_hashes_.resize(new_blocks);
  entry_checks_.resize(entries_.size());
  entries_checked_ = entries_.size();
  for_each_entry_chunk(first, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      // What the check of a partly written page a few ahead reads: its
      // kept hashes and check, which left the CPU cache epochs ago.
      if (i + kCheckAhead < end) {
        const Entry& ahead = entries_[i + kCheckAhead];
        if (ahead.blocks != 0 && ahead.blocks != blocks) {
          prefetch_line(&hash_known_[ahead.pfn]);
          prefetch_line(&page_checks_[ahead.pfn]);
          prefetch_lines(block_hashes_.data() + ahead.pfn * blocks, blocks * sizeof(uint64_t));
        }
      }
      const Entry& e = entries_[i];
      uint64_t* fresh = new_hashes_.data() + e.hash_offset;
      if (e.blocks != 0) kernels_->hash_blocks(entry_data(e), e.blocks, block_size, ~0ull, fresh);
      if (e.blocks == blocks) {
        entry_checks_[i] = kernels_->page_check(fresh, blocks);
        continue;
      }
      uint64_t* kept = block_hashes_.data() + e.pfn * blocks;
      if (!hash_known_[e.pfn]) {
        // The committed content's, true whether or not this epoch commits.
        kernels_->hash_blocks(replica_.data() + e.pfn * config_.page_size, blocks, block_size,
                              ~0ull, kept);
        page_checks_.data()[e.pfn] = kernels_->page_check(kept, blocks);
        hash_known_.data()[e.pfn] = 1;
      }
      if (e.blocks * kWholeCheckFrom >= blocks) {
        // Many blocks change: the check of the page's hashes as they will
        // be, by the vector kernel, costs less than two terms per block.
        uint64_t merged[kernels::kMaxBlocksPerPage];
        std::memcpy(merged, kept, blocks * sizeof(uint64_t));
        put_hashes(merged, e.bitmap, fresh);
        entry_checks_[i] = kernels_->page_check(merged, blocks);
        continue;
      }
      uint64_t check = page_checks_[e.pfn];
      for (uint32_t w = 0; w < kernels::kBitmapWords; ++w) {
        for (uint64_t bits = e.bitmap[w]; bits != 0; bits &= bits - 1) {
          const uint32_t b = w * 64 + static_cast<uint32_t>(std::countr_zero(bits));
          check += wire::check_term(b, *fresh++) - wire::check_term(b, kept[b]);
        }
      }
      entry_checks_[i] = check;
    }
  });
}

uint64_t Receiver::compute_digest() {
  check_new_entries();
  Xxh3Stream state;
  for (size_t i = 0; i < entries_.size(); ++i) {
    uint8_t entry[wire::kDigestEntryBytes];
    wire::encode_digest_entry(entries_[i].pfn, entry_checks_[i], entry);
    state.update(entry, sizeof entry);
  }
  return state.digest();
}

// Tells the hook which pages the epoch is about to write.
fgbi_status Receiver::call_before_apply() {
  written_pfns_.clear();
  for (const Entry& e : entries_)
    if (e.blocks != 0) written_pfns_.push_back(e.pfn);
  std::sort(written_pfns_.begin(), written_pfns_.end());  // each pfn is in one entry
  return before_apply_(before_apply_user_, reader_.header().epoch, written_pfns_.data(),
                       written_pfns_.size());
}

void Receiver::apply() {
  const uint32_t page_size = config_.page_size;
  const uint32_t blocks = config_.blocks_per_page();
  const bool hashed = (reader_.header().flags & wire::kFlagDigest) != 0;
  // The replica, and the kept hashes of pages written whole, are written
  // around the CPU cache: the backup does not read them again soon (a coded
  // page read its lines just before), and a cached store would first read
  // each line from memory. Only whole lines: a partial line written that way
  // costs a read in the memory controller. Measured in docs/PERFORMANCE.md
  // (eighth and ninth passes).
  const bool around_cache = config_.block_size % 64 == 0;
  const auto write_blocks = around_cache ? kernels_->stream_blocks : kernels_->scatter_blocks;
  for_each_entry_chunk(0, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const Entry& e = entries_[i];
      if (e.blocks == 0) continue;
      uint8_t* page = replica_.data() + e.pfn * page_size;
      if (e.blocks == blocks && !around_cache)
        std::memcpy(page, entry_data(e), page_size);
      else
        write_blocks(page, e.bitmap, config_.block_size, entry_data(e));  // all set if whole
      // Keep the page's block hashes current; without a digest they were
      // not computed, and are taken from the replica when next needed.
      if (!hashed) {
        hash_known_.data()[e.pfn] = 0;
        continue;
      }
      const uint64_t* fresh = new_hashes_.data() + e.hash_offset;
      uint64_t* kept = block_hashes_.data() + e.pfn * blocks;
      page_checks_.data()[e.pfn] = entry_checks_[i];
      if (e.blocks == blocks) {
        if (around_cache && blocks % 8 == 0)  // whole lines
          stream_lines(*kernels_, kept, fresh, size_t{blocks} * sizeof(uint64_t));
        else
          std::memcpy(kept, fresh, size_t{blocks} * sizeof(uint64_t));
        hash_known_.data()[e.pfn] = 1;
      } else {
        put_hashes(kept, e.bitmap, fresh);
      }
    }
    if (around_cache) kernels::end_streamed_writes();
  });
  for (const Entry& e : entries_) {
    pages_full_ += e.kind == wire::kRecordFullPage;
    pages_partial_ += e.kind == wire::kRecordBlocks;
    pages_coded_ += e.kind == wire::kRecordCodedPage || e.kind == wire::kRecordXorPages;
    pages_unchanged_ += e.kind == wire::kRecordCleanList;
    blocks_written_ += e.blocks;
    bytes_out_ += uint64_t{e.blocks} * config_.block_size;
  }
  totals_.blocks_zero += epoch_counts_.blocks_zero;
  totals_.blocks_shared_epoch += epoch_counts_.blocks_shared_epoch;
  totals_.blocks_shared_replica += epoch_counts_.blocks_shared_replica;
}

fgbi_status Receiver::on_trailer() {
  const wire::Trailer& t = reader_.trailer();
  if (reader_.header().flags & wire::kFlagDigest) {
    if (compute_digest() != t.digest) return FGBI_E_DIGEST_MISMATCH;
  } else if (t.digest != 0) {
    return FGBI_E_BAD_TRAILER;
  }
  if (before_apply_ != nullptr) {
    if (fgbi_status st = call_before_apply(); st != FGBI_OK) return st;
  }
  apply();
  committed_ = reader_.header().epoch;
  stream_id_ = reader_.header().stream_id;
  stream_known_ = true;
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
      *value = epoch_.capacity() + staged_.capacity() + in_epoch_.bytes() + block_hashes_.bytes() +
               xor_literals_.capacity() * sizeof(kernels::XorRange) +
               xor_page_literals_.capacity() * sizeof(size_t) + page_checks_.bytes() +
               hash_known_.bytes() + entries_.capacity() * sizeof(Entry) +
               (entry_checks_.capacity() + new_hashes_.capacity() + written_pfns_.capacity()) *
                   sizeof(uint64_t);
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
