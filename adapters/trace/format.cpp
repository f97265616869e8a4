#include "trace/format.hpp"

#include <cstring>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi::adapters::trace {
namespace {

constexpr size_t kFileChecksumOffset = 56;
// Epoch headers, chunk headers and the footer end in a checksum of their
// first 24 bytes.
constexpr size_t kSelfChecksumOffset = 24;

void seal(uint8_t* out) {
  store_le<uint64_t>(out + kSelfChecksumOffset, xxh3(out, kSelfChecksumOffset));
}
bool sealed(const uint8_t* in) {
  return load_le<uint64_t>(in + kSelfChecksumOffset) == xxh3(in, kSelfChecksumOffset);
}

uint64_t file_header_checksum(const uint8_t* header, const std::string& description) {
  Xxh3Stream sum;
  sum.update(header, kFileChecksumOffset);
  sum.update(description.data(), description.size());
  return sum.digest();
}

}  // namespace

void encode_file_header(const FileHeader& h, const std::string& description,
                        uint8_t out[kFileHeaderBytes]) {
  std::memset(out, 0, kFileHeaderBytes);
  store_le<uint64_t>(out + 0, kFileMagic);
  store_le<uint16_t>(out + 8, kVersion);
  store_le<uint16_t>(out + 10, static_cast<uint16_t>(kFileHeaderBytes));
  store_le<uint32_t>(out + 12, h.page_size);
  store_le<uint64_t>(out + 16, h.tracked_pages);
  store_le<uint64_t>(out + 24, h.created_unix_seconds);
  store_le<uint32_t>(out + 36, static_cast<uint32_t>(description.size()));
  store_le<uint64_t>(out + kFileChecksumOffset, file_header_checksum(out, description));
}

bool decode_file_header(const uint8_t in[kFileHeaderBytes], FileHeader& h, std::string& error) {
  if (load_le<uint64_t>(in) != kFileMagic) {
    error = "not an fgbi trace (bad magic)";
    return false;
  }
  const uint16_t version = load_le<uint16_t>(in + 8);
  if (version != kVersion || load_le<uint16_t>(in + 10) != kFileHeaderBytes) {
    error = "unsupported trace version " + std::to_string(version) + " (this build reads " +
            std::to_string(kVersion) + ")";
    return false;
  }
  h.page_size = load_le<uint32_t>(in + 12);
  h.tracked_pages = load_le<uint64_t>(in + 16);
  h.created_unix_seconds = load_le<uint64_t>(in + 24);
  h.description_bytes = load_le<uint32_t>(in + 36);
  bool reserved_zero = load_le<uint32_t>(in + 32) == 0;
  for (size_t i = 40; i < kFileChecksumOffset; ++i) reserved_zero = reserved_zero && in[i] == 0;
  if (!reserved_zero) {
    error = "trace header has flags or reserved bytes this version does not know";
    return false;
  }
  if (h.page_size != kPageSize) {
    error = "unsupported page size " + std::to_string(h.page_size);
    return false;
  }
  if (h.tracked_pages == 0 || h.tracked_pages > kMaxTrackedPages) {
    error = "tracked page count " + std::to_string(h.tracked_pages) + " out of range";
    return false;
  }
  if (h.description_bytes > kMaxDescriptionBytes) {
    error = "description longer than " + std::to_string(kMaxDescriptionBytes) + " bytes";
    return false;
  }
  return true;
}

bool file_header_checksum_ok(const uint8_t in[kFileHeaderBytes], const std::string& description) {
  return load_le<uint64_t>(in + kFileChecksumOffset) == file_header_checksum(in, description);
}

void encode_epoch_header(const EpochHeader& h, uint8_t out[kEpochHeaderBytes]) {
  store_le<uint32_t>(out + 0, kEpochMagic);
  store_le<uint32_t>(out + 4, h.chunk_count);
  store_le<uint64_t>(out + 8, h.number);
  store_le<uint64_t>(out + 16, h.page_count);
  seal(out);
}

bool decode_epoch_header(const uint8_t in[kEpochHeaderBytes], EpochHeader& h, std::string& error) {
  if (load_le<uint32_t>(in) != kEpochMagic) {
    error = "bad epoch header magic";
    return false;
  }
  if (!sealed(in)) {
    error = "epoch header checksum mismatch";
    return false;
  }
  h.chunk_count = load_le<uint32_t>(in + 4);
  h.number = load_le<uint64_t>(in + 8);
  h.page_count = load_le<uint64_t>(in + 16);
  return true;
}

void encode_chunk_header(const ChunkHeader& h, uint8_t out[kChunkHeaderBytes]) {
  std::memset(out, 0, kChunkHeaderBytes);
  store_le<uint32_t>(out + 0, kChunkMagic);
  out[4] = static_cast<uint8_t>(h.codec);
  store_le<uint32_t>(out + 8, h.page_count);
  store_le<uint32_t>(out + 12, h.stored_bytes);
  store_le<uint64_t>(out + 16, h.raw_checksum);
  seal(out);
}

bool decode_chunk_header(const uint8_t in[kChunkHeaderBytes], ChunkHeader& h, std::string& error) {
  if (load_le<uint32_t>(in) != kChunkMagic) {
    error = "bad chunk header magic";
    return false;
  }
  if (!sealed(in)) {
    error = "chunk header checksum mismatch";
    return false;
  }
  if (!codec_known(in[4])) {
    error = "unknown chunk codec " + std::to_string(in[4]);
    return false;
  }
  if (in[5] != 0 || in[6] != 0 || in[7] != 0) {
    error = "chunk header reserved bytes are not zero";
    return false;
  }
  h.codec = static_cast<Codec>(in[4]);
  h.page_count = load_le<uint32_t>(in + 8);
  h.stored_bytes = load_le<uint32_t>(in + 12);
  h.raw_checksum = load_le<uint64_t>(in + 16);
  if (h.page_count == 0 || h.page_count > kMaxChunkPages) {
    error = "chunk page count " + std::to_string(h.page_count) + " out of range";
    return false;
  }
  if (h.stored_bytes > stored_bound(h.codec, raw_chunk_bytes(h.page_count))) {
    error = "chunk stored size larger than its codec can produce";
    return false;
  }
  return true;
}

void encode_index_header(uint64_t epoch_count, uint8_t out[kIndexHeaderBytes]) {
  store_le<uint32_t>(out + 0, kIndexMagic);
  store_le<uint32_t>(out + 4, 0);
  store_le<uint64_t>(out + 8, epoch_count);
}

bool decode_index_header(const uint8_t in[kIndexHeaderBytes], uint64_t& epoch_count,
                         std::string& error) {
  if (load_le<uint32_t>(in) != kIndexMagic || load_le<uint32_t>(in + 4) != 0) {
    error = "bad index header";
    return false;
  }
  epoch_count = load_le<uint64_t>(in + 8);
  return true;
}

void encode_index_entry(const IndexEntry& e, uint8_t out[kIndexEntryBytes]) {
  store_le<uint64_t>(out + 0, e.number);
  store_le<uint64_t>(out + 8, e.offset);
  store_le<uint64_t>(out + 16, e.page_count);
}

IndexEntry decode_index_entry(const uint8_t in[kIndexEntryBytes]) {
  return {load_le<uint64_t>(in), load_le<uint64_t>(in + 8), load_le<uint64_t>(in + 16)};
}

void encode_footer(const Footer& f, uint8_t out[kFooterBytes]) {
  store_le<uint32_t>(out + 0, kFooterMagic);
  store_le<uint32_t>(out + 4, 0);
  store_le<uint64_t>(out + 8, f.index_offset);
  store_le<uint64_t>(out + 16, f.epoch_count);
  seal(out);
}

bool decode_footer(const uint8_t in[kFooterBytes], Footer& f, std::string& error) {
  if (load_le<uint32_t>(in) != kFooterMagic) {
    error =
        "no trace footer: the recording did not finish (interrupted or still running) "
        "or the file was cut";
    return false;
  }
  if (!sealed(in) || load_le<uint32_t>(in + 4) != 0) {
    error = "trace footer is corrupt";
    return false;
  }
  f.index_offset = load_le<uint64_t>(in + 8);
  f.epoch_count = load_le<uint64_t>(in + 16);
  return true;
}

}  // namespace fgbi::adapters::trace
