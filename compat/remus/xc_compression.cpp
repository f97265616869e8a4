// The Remus xc_compression_* API on fgbi's sender (see xc_compression.h).
//
// Stream format, one entry per added page, in the order pages were added
// (docs/adapters.md "Remus shim"):
//   0x00                                   unchanged: the backup's page is current
//   0x01, page[4096], check[4]             the whole page
//   0x02, block_shift, record, check[4]    a wire-format kRecordBlocks record
//                                          (16-byte header, bitmap, changed blocks)
// check = low 32 bits (little-endian) of XXH3-64 of the bytes between the
// tag and the check. The uncompress side has no context (the old API gives
// it none), so every entry is self-contained.
#pragma GCC visibility push(default)
#include "xc_compression.h"
#pragma GCC visibility pop

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "fgbi.h"
#include "pfn_set.hpp"
#include "wire/epoch_reader.hpp"

namespace {

using fgbi::adapters::PfnSet;
namespace wire = fgbi::wire;

constexpr size_t kPage = 4096;
constexpr size_t kBufferPages = FGBI_XC_COMPRESSION_BUFFER_PAGES;
constexpr uint8_t kTagUnchanged = 0x00;
constexpr uint8_t kTagWhole = 0x01;
constexpr uint8_t kTagBlocks = 0x02;
constexpr size_t kCheckBytes = 4;
constexpr int64_t kBlockSize = 64;

static_assert(FGBI_XC_COMPRESSION_MAX_PAGE_BYTES ==
              2 + wire::kRecordHeaderBytes + (kPage - 1) + kCheckBytes);

thread_local std::string last_error;

int fail(int rc, std::string why) {
  last_error = std::move(why);
  return rc;
}

uint32_t check_of(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(fgbi::xxh3(data, size));
}

struct SenderFree {
  void operator()(fgbi_sender* s) const { fgbi_sender_free(s); }
};

// A wire record found in the sender's epoch stream.
struct RecordRef {
  uint64_t pfn;
  size_t offset;  // of the record header in the stream (of the page, in a FULL_PAGE run)
  size_t bytes;   // header and payload (the page)
  uint8_t kind;
};

}  // namespace

struct compression_ctx {
  std::unique_ptr<fgbi_sender, SenderFree> sender;
  unsigned long p2m_size = 0;
  uint8_t block_shift = 0;

  // The page buffer: pages [0, count) added; [0, encoded) have their stream
  // entry in `entries`; [0, emitted) were written to a caller's buffer.
  std::unique_ptr<uint8_t[]> input;
  std::vector<uint64_t> pfns;
  std::vector<uint8_t> raw;
  size_t count = 0, encoded = 0, emitted = 0;
  std::vector<uint8_t> entries;
  std::vector<size_t> entry_end;  // entry i is [entry_end[i-1], entry_end[i])

  // Pfns whose backup copy is not what fgbi's hashes describe (sent raw, or
  // encoded but never handed out): their next non-raw copy goes whole.
  PfnSet stale;
  PfnSet in_run;
  std::vector<uint8_t> stream;
  std::vector<RecordRef> records;

  const uint8_t* page(size_t i) const { return input.get() + i * kPage; }
};

// The work is done by free functions: members of compression_ctx, a type
// the public header declares, would be exported with it.
namespace {

void append_whole(compression_ctx& c, const uint8_t* data) {
  std::vector<uint8_t>& entries = c.entries;
  const size_t at = entries.size();
  entries.resize(at + 1 + kPage + kCheckBytes);
  uint8_t* out = entries.data() + at;
  out[0] = kTagWhole;
  std::memcpy(out + 1, data, kPage);
  fgbi::store_le<uint32_t>(out + 1 + kPage, check_of(data, kPage));
}

// Lists the records of the epoch in `stream` (our own sender's output, still
// checked: a mismatch here is a bug, not bad input).
bool index_records(compression_ctx& c, size_t size) {
  std::vector<RecordRef>& records = c.records;
  records.clear();
  const uint8_t* const s = c.stream.data();
  wire::EpochReader reader(size, UINT64_MAX);
  size_t used = 0;
  const fgbi_status st = reader.read_whole(
      s, size, &used, [&](wire::EpochReader::Event event, const uint8_t* unit, size_t bytes) {
        if (event != wire::EpochReader::Event::kRecords) return fgbi_status{FGBI_OK};
        return wire::for_each_record(
            unit, bytes, reader.segment().record_count,
            [&](const wire::RecordHeader& r, const uint8_t* payload) -> fgbi_status {
              if (r.kind == wire::kRecordFullPage)  // a run of pages, each sent whole
                return wire::for_each_full_page(
                    r, payload, 1u << reader.header().page_shift,
                    [&](uint64_t pfn, const uint8_t* content) -> fgbi_status {
                      records.push_back({pfn, static_cast<size_t>(content - s),
                                         size_t{1} << reader.header().page_shift, r.kind});
                      return FGBI_OK;
                    });
              const size_t begin = static_cast<size_t>(payload - wire::kRecordHeaderBytes - s);
              records.push_back({r.pfn, begin, wire::kRecordHeaderBytes + r.payload_bytes, r.kind});
              return FGBI_OK;
            });
      });
  if (st != FGBI_OK || used != size) return false;
  std::sort(records.begin(), records.end(),
            [](const RecordRef& a, const RecordRef& b) { return a.pfn < b.pfn; });
  return true;
}

// One fgbi epoch over pages [first, end), whose non-raw pfns are distinct.
bool encode_run(compression_ctx& c, size_t first, size_t end) {
  fgbi_sender* s = c.sender.get();
  const auto& raw = c.raw;
  const auto& pfns = c.pfns;
  auto& stream = c.stream;
  std::vector<uint64_t> run_pfns;
  std::vector<const void*> run_pages;
  // Decide each page's fate in order: raw pages make their pfn stale; a
  // stale pfn's non-raw copy still goes through fgbi (to refresh its hashes)
  // but is shipped whole.
  std::vector<bool> whole(end - first);
  for (size_t i = first; i < end; ++i) {
    if (raw[i]) {
      c.stale.insert(pfns[i]);
      whole[i - first] = true;
      continue;
    }
    whole[i - first] = c.stale.contains(pfns[i]);
    if (whole[i - first]) c.stale.erase({&pfns[i], 1});
    run_pfns.push_back(pfns[i]);
    run_pages.push_back(c.page(i));
  }
  size_t written = 0;
  if (fgbi_status st = fgbi_sender_begin_epoch(s, nullptr); st != FGBI_OK)
    return fail(false, std::string("fgbi_sender_begin_epoch: ") + fgbi_error_name(st));
  if (fgbi_status st =
          fgbi_sender_add_pages(s, run_pfns.data(), run_pages.data(), run_pfns.size(), nullptr);
      st != FGBI_OK)
    return fail(false, std::string("fgbi_sender_add_pages: ") + fgbi_error_name(st));
  stream.resize(fgbi_sender_epoch_bound(s, run_pfns.size()));
  if (fgbi_status st = fgbi_sender_end_epoch(s, stream.data(), stream.size(), &written);
      st != FGBI_OK)
    return fail(false, std::string("fgbi_sender_end_epoch: ") + fgbi_error_name(st));
  if (!index_records(c, written)) return fail(false, "internal: unreadable sender stream");

  for (size_t i = first; i < end; ++i) {
    if (whole[i - first]) {
      append_whole(c, c.page(i));
    } else {
      auto it = std::lower_bound(c.records.begin(), c.records.end(), pfns[i],
                                 [](const RecordRef& r, uint64_t pfn) { return r.pfn < pfn; });
      if (it == c.records.end() || it->pfn != pfns[i]) {
        c.entries.push_back(kTagUnchanged);
      } else if (it->kind == wire::kRecordFullPage) {
        append_whole(c, c.page(i));
      } else if (it->kind == wire::kRecordBlocks) {
        const size_t at = c.entries.size();
        c.entries.resize(at + 2 + it->bytes + kCheckBytes);
        uint8_t* out = c.entries.data() + at;
        out[0] = kTagBlocks;
        out[1] = c.block_shift;
        std::memcpy(out + 2, stream.data() + it->offset, it->bytes);
        fgbi::store_le<uint32_t>(out + 2 + it->bytes, check_of(out + 1, 1 + it->bytes));
      } else {
        return fail(false, "internal: sender record kind " + std::to_string(it->kind) +
                               " has no per-page form");
      }
    }
    c.entry_end.push_back(c.entries.size());
  }
  return true;
}

bool encode_pending(compression_ctx& c) {
  // fgbi takes each pfn once per epoch: a pfn added twice starts a new run.
  while (c.encoded < c.count) {
    size_t end = c.encoded;
    std::vector<uint64_t> added;
    while (end < c.count && (c.raw[end] || c.in_run.insert(c.pfns[end]))) {
      if (!c.raw[end]) added.push_back(c.pfns[end]);
      ++end;
    }
    c.in_run.erase(added);
    if (!encode_run(c, c.encoded, end)) return false;
    c.encoded = end;
  }
  return true;
}

}  // namespace

extern "C" {

comp_ctx* xc_compression_create_context(xc_interface*, unsigned long p2m_size) {
  last_error.clear();
  if (p2m_size == 0) {
    fail(0, "p2m_size is 0");
    return nullptr;
  }
  try {
    auto ctx = std::make_unique<compression_ctx>();
    fgbi_sender* s = nullptr;
    if (fgbi_sender_create(&s) != FGBI_OK) throw std::bad_alloc();
    ctx->sender.reset(s);
    ctx->p2m_size = p2m_size;
    ctx->block_shift = static_cast<uint8_t>(std::countr_zero(static_cast<uint64_t>(kBlockSize)));
    for (auto [param, value] : {std::pair{FGBI_P_TRACKED_PAGES, static_cast<int64_t>(p2m_size)},
                                {FGBI_P_BLOCK_SIZE, kBlockSize},
                                {FGBI_P_DIGEST, int64_t{0}},
                                // Shared blocks reference other pages and coded
                                // pages need the receiver's decoder; the old
                                // API decodes each page alone, into its own
                                // old content, so pages travel as changed blocks.
                                {FGBI_P_SHARING, int64_t{0}},
                                {FGBI_P_CODECS, int64_t{0}}}) {
      if (fgbi_status st = fgbi_sender_set_parameter(s, param, value); st != FGBI_OK) {
        fail(0, std::string("fgbi_sender_set_parameter: ") + fgbi_error_name(st));
        return nullptr;
      }
    }
    // An empty first epoch makes the sender allocate its state now, so that
    // a shortage shows here rather than mid-checkpoint.
    size_t written = 0;
    ctx->stream.resize(fgbi_sender_epoch_bound(s, 0));
    if (fgbi_sender_begin_epoch(s, nullptr) != FGBI_OK ||
        fgbi_sender_end_epoch(s, ctx->stream.data(), ctx->stream.size(), &written) != FGBI_OK) {
      fail(0, "no memory for the sender state of " + std::to_string(p2m_size) + " pages");
      return nullptr;
    }
    ctx->input = std::make_unique_for_overwrite<uint8_t[]>(kBufferPages * kPage);
    ctx->pfns.resize(kBufferPages);
    ctx->raw.resize(kBufferPages);
    ctx->stale = PfnSet(p2m_size);
    ctx->in_run = PfnSet(p2m_size);
    return ctx.release();
  } catch (const std::bad_alloc&) {
    fail(0, "out of memory");
    return nullptr;
  }
}

void xc_compression_free_context(xc_interface*, comp_ctx* ctx) { delete ctx; }

int xc_compression_add_page(xc_interface*, comp_ctx* ctx, char* page, unsigned long pfn,
                            int israw) {
  if (ctx == nullptr || page == nullptr) return fail(-2, "NULL context or page");
  if (pfn >= ctx->p2m_size)
    return fail(-2, "pfn " + std::to_string(pfn) + " >= p2m_size " + std::to_string(ctx->p2m_size));
  if (ctx->count == kBufferPages)
    return fail(-1, "page buffer full: compress_pages must drain it first");
  std::memcpy(ctx->input.get() + ctx->count * kPage, page, kPage);
  ctx->pfns[ctx->count] = pfn;
  ctx->raw[ctx->count] = israw != 0;
  ++ctx->count;
  return ctx->count == kBufferPages ? -1 : 0;
}

int xc_compression_compress_pages(xc_interface*, comp_ctx* ctx, char* compbuf,
                                  unsigned long compbuf_size, unsigned long* compbuf_len) {
  if (ctx == nullptr) return fail(0, "NULL context");
  if (ctx->emitted == ctx->count) {
    xc_compression_reset_pagebuf(nullptr, ctx);
    return 0;  // like Xen's, leaves *compbuf_len alone
  }
  if (compbuf_len) *compbuf_len = 0;
  if (compbuf == nullptr) return fail(-1, "NULL compression buffer");
  try {
    if (!encode_pending(*ctx)) return -1;
  } catch (const std::bad_alloc&) {
    return fail(-1, "out of memory");
  }
  unsigned long pos = 0;
  while (ctx->emitted < ctx->count) {
    const size_t begin = ctx->emitted == 0 ? 0 : ctx->entry_end[ctx->emitted - 1];
    const size_t size = ctx->entry_end[ctx->emitted] - begin;
    if (size > compbuf_size - pos) break;
    std::memcpy(compbuf + pos, ctx->entries.data() + begin, size);
    pos += size;
    ++ctx->emitted;
  }
  if (compbuf_len) *compbuf_len = pos;
  if (ctx->emitted < ctx->count && pos == 0)
    return fail(-1, "compbuf_size " + std::to_string(compbuf_size) +
                        " is below FGBI_XC_COMPRESSION_MAX_PAGE_BYTES");
  return ctx->emitted == ctx->count ? 1 : -1;
}

void xc_compression_reset_pagebuf(xc_interface*, comp_ctx* ctx) {
  if (ctx == nullptr) return;
  // Encoded but never handed out: fgbi believes the backup has these.
  for (size_t i = ctx->emitted; i < ctx->encoded; ++i)
    if (!ctx->raw[i]) ctx->stale.insert(ctx->pfns[i]);
  ctx->count = ctx->encoded = ctx->emitted = 0;
  ctx->entries.clear();
  ctx->entry_end.clear();
}

int xc_compression_uncompress_page(xc_interface*, char* compbuf, unsigned long compbuf_size,
                                   unsigned long* compbuf_pos, char* dest) {
  if (compbuf == nullptr || compbuf_pos == nullptr || dest == nullptr)
    return fail(-1, "NULL argument");
  const auto* buf = reinterpret_cast<const uint8_t*>(compbuf);
  const unsigned long pos = *compbuf_pos;
  if (pos >= compbuf_size)
    return fail(-1, "read position " + std::to_string(pos) + " is past the buffer end " +
                        std::to_string(compbuf_size));
  const unsigned long left = compbuf_size - pos;
  const uint8_t* p = buf + pos;
  switch (p[0]) {
    case kTagUnchanged: *compbuf_pos = pos + 1; return 0;
    case kTagWhole: {
      if (left < 1 + kPage + kCheckBytes) return fail(-1, "whole page cut short");
      if (fgbi::load_le<uint32_t>(p + 1 + kPage) != check_of(p + 1, kPage))
        return fail(-1, "whole page check mismatch (corrupt buffer)");
      std::memcpy(dest, p + 1, kPage);
      *compbuf_pos = pos + 1 + kPage + kCheckBytes;
      return 0;
    }
    case kTagBlocks: {
      if (left < 2 + wire::kRecordHeaderBytes + kCheckBytes)
        return fail(-1, "block record cut short");
      const unsigned shift = p[1];
      if (shift < 5 || shift > 8)
        return fail(-1, "block size 2^" + std::to_string(shift) + " invalid");
      const size_t block = size_t{1} << shift;
      wire::RecordHeader r;
      if (wire::decode_record_header(p + 2, &r) != FGBI_OK || r.kind != wire::kRecordBlocks)
        return fail(-1, "malformed block record header");
      const size_t bitmap_bytes = wire::bitmap_bytes(kPage, static_cast<uint32_t>(block));
      const size_t body = 2 + wire::kRecordHeaderBytes + size_t{r.payload_bytes};
      if (r.payload_bytes < bitmap_bytes || r.payload_bytes >= kPage || left < body + kCheckBytes)
        return fail(-1, "block record length invalid or cut short");
      if (fgbi::load_le<uint32_t>(p + body) != check_of(p + 1, body - 1))
        return fail(-1, "block record check mismatch (corrupt buffer)");
      uint64_t words[kPage / 32 / 64] = {};
      const uint8_t* payload = p + 2 + wire::kRecordHeaderBytes;
      wire::load_bitmap(payload, bitmap_bytes, words, (bitmap_bytes + 7) / 8);
      size_t changed = 0;
      for (uint64_t w : words) changed += static_cast<size_t>(std::popcount(w));
      if (r.payload_bytes != bitmap_bytes + changed * block)
        return fail(-1, "block record length does not match its bitmap");
      const uint8_t* blocks = payload + bitmap_bytes;
      for (size_t b = 0; b < kPage / block; ++b) {
        if ((words[b / 64] >> (b % 64)) & 1) {
          std::memcpy(dest + b * block, blocks, block);
          blocks += block;
        }
      }
      *compbuf_pos = pos + body + kCheckBytes;
      return 0;
    }
    default:
      return fail(-1, "unknown page tag " + std::to_string(p[0]) + " at " + std::to_string(pos));
  }
}

const char* fgbi_xc_compression_last_error(void) { return last_error.c_str(); }

}  // extern "C"
