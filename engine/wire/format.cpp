#include "wire/format.hpp"

#include <cstring>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi::wire {
namespace {
// The header checksum covers bytes 0..40; it sits in the last 8 bytes.
constexpr size_t kHeaderChecksumOffset = 40;
// The segment header checksum covers bytes 0..24.
constexpr size_t kSegmentChecksumOffset = 24;
}  // namespace

void encode_header(const EpochHeader& h, uint8_t out[kHeaderBytes]) {
  std::memset(out, 0, kHeaderBytes);
  store_le<uint32_t>(out + 0, kEpochMagic);
  store_le<uint16_t>(out + 4, h.version);
  store_le<uint16_t>(out + 6, static_cast<uint16_t>(kHeaderBytes));
  store_le<uint32_t>(out + 8, h.flags);
  out[12] = h.page_shift;
  out[13] = h.block_shift;
  store_le<uint64_t>(out + 16, h.epoch);
  store_le<uint64_t>(out + 24, h.tracked_pages);
  store_le<uint64_t>(out + 32, h.stream_id);
  store_le<uint64_t>(out + kHeaderChecksumOffset, xxh3(out, kHeaderChecksumOffset));
}

fgbi_status decode_header(const uint8_t in[kHeaderBytes], EpochHeader* h) {
  if (load_le<uint32_t>(in) != kEpochMagic) return FGBI_E_BAD_MAGIC;
  h->version = load_le<uint16_t>(in + 4);
  if (h->version != kVersion || load_le<uint16_t>(in + 6) != kHeaderBytes)
    return FGBI_E_BAD_VERSION;
  if (load_le<uint64_t>(in + kHeaderChecksumOffset) != xxh3(in, kHeaderChecksumOffset))
    return FGBI_E_HEADER_CHECKSUM;
  h->flags = load_le<uint32_t>(in + 8);
  if ((h->flags & ~kKnownFlags) != 0 ||
      (h->flags & (kFlagDigest | kFlagNoRecordsChecksum)) == kFlagNoRecordsChecksum)
    return FGBI_E_UNSUPPORTED_FLAGS;
  h->page_shift = in[12];
  h->block_shift = in[13];
  if (load_le<uint16_t>(in + 14) != 0) return FGBI_E_UNSUPPORTED_FLAGS;
  h->epoch = load_le<uint64_t>(in + 16);
  h->tracked_pages = load_le<uint64_t>(in + 24);
  h->stream_id = load_le<uint64_t>(in + 32);
  return FGBI_OK;
}

void encode_segment_header(const SegmentHeader& s, uint8_t out[kSegmentHeaderBytes]) {
  store_le<uint32_t>(out + 0, kSegmentMagic);
  store_le<uint32_t>(out + 4, s.record_count);
  store_le<uint64_t>(out + 8, s.records_bytes);
  store_le<uint64_t>(out + 16, s.records_checksum);
  store_le<uint64_t>(out + kSegmentChecksumOffset, xxh3(out, kSegmentChecksumOffset));
}

fgbi_status decode_segment_header(const uint8_t in[kSegmentHeaderBytes], SegmentHeader* s) {
  if (load_le<uint32_t>(in) != kSegmentMagic) return FGBI_E_BAD_SEGMENT;
  if (load_le<uint64_t>(in + kSegmentChecksumOffset) != xxh3(in, kSegmentChecksumOffset))
    return FGBI_E_SEGMENT_CHECKSUM;
  s->record_count = load_le<uint32_t>(in + 4);
  s->records_bytes = load_le<uint64_t>(in + 8);
  s->records_checksum = load_le<uint64_t>(in + 16);
  return FGBI_OK;
}

void encode_record_header(const RecordHeader& r, uint8_t out[kRecordHeaderBytes]) {
  out[0] = r.kind;
  out[1] = r.flags;
  store_le<uint16_t>(out + 2, r.reserved);
  store_le<uint32_t>(out + 4, r.payload_bytes);
  store_le<uint64_t>(out + 8, r.pfn);
}

fgbi_status decode_record_header(const uint8_t in[kRecordHeaderBytes], RecordHeader* r) {
  r->kind = in[0];
  r->flags = in[1];
  r->reserved = load_le<uint16_t>(in + 2);
  r->payload_bytes = load_le<uint32_t>(in + 4);
  r->pfn = load_le<uint64_t>(in + 8);
  if (r->flags != 0 || r->reserved != 0) return FGBI_E_BAD_RECORD;
  return FGBI_OK;
}

void encode_trailer_prefix(const Trailer& t, uint8_t out[kTrailerBytes]) {
  std::memset(out, 0, kTrailerBytes);
  store_le<uint32_t>(out + 0, kTrailerMagic);
  store_le<uint32_t>(out + 4, t.record_count);
  store_le<uint32_t>(out + 8, t.segment_count);
  store_le<uint64_t>(out + 16, t.epoch);
  store_le<uint64_t>(out + 24, t.body_bytes);
  store_le<uint64_t>(out + 32, t.digest);
}

fgbi_status decode_trailer(const uint8_t in[kTrailerBytes], Trailer* t) {
  if (load_le<uint32_t>(in) != kTrailerMagic) return FGBI_E_BAD_TRAILER;
  if (load_le<uint32_t>(in + 12) != 0) return FGBI_E_BAD_TRAILER;
  t->record_count = load_le<uint32_t>(in + 4);
  t->segment_count = load_le<uint32_t>(in + 8);
  t->epoch = load_le<uint64_t>(in + 16);
  t->body_bytes = load_le<uint64_t>(in + 24);
  t->digest = load_le<uint64_t>(in + 32);
  t->checksum = load_le<uint64_t>(in + kTrailerChecksummedBytes);
  return FGBI_OK;
}

void store_bitmap(const uint64_t* words, size_t bytes, uint8_t* out) {
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8)));
}

void load_bitmap(const uint8_t* in, size_t bytes, uint64_t* words, size_t n_words) {
  for (size_t w = 0; w < n_words; ++w) words[w] = 0;
  for (size_t i = 0; i < bytes; ++i) words[i / 8] |= uint64_t{in[i]} << (8 * (i % 8));
}

void encode_digest_entry(uint64_t pfn, uint64_t page_check, uint8_t out[kDigestEntryBytes]) {
  store_le<uint64_t>(out, pfn);
  store_le<uint64_t>(out + 8, page_check);
}

}  // namespace fgbi::wire
