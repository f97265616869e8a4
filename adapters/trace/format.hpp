// Trace file format v1: layouts, constants and the pure encode/decode of its
// fixed-size parts. docs/trace-format.md is the specification; this file
// follows it. All integers are little-endian.
//
//   file   = file header, description, epoch*, index, footer
//   epoch  = epoch header, chunk*
//   chunk  = chunk header, stored payload (the raw payload, compressed)
//   raw payload of a chunk = n pfns (u64 each), then n pages
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "source.hpp"
#include "trace/codec.hpp"

namespace fgbi::adapters::trace {

inline constexpr uint64_t kFileMagic = 0x4543415254424746;  // "FGBTRACE"
inline constexpr uint32_t kEpochMagic = 0x45544746;         // "FGTE"
inline constexpr uint32_t kChunkMagic = 0x43544746;         // "FGTC"
inline constexpr uint32_t kIndexMagic = 0x49544746;         // "FGTI"
inline constexpr uint32_t kFooterMagic = 0x46544746;        // "FGTF"
inline constexpr uint16_t kVersion = 1;

inline constexpr size_t kFileHeaderBytes = 64;
inline constexpr size_t kEpochHeaderBytes = 32;
inline constexpr size_t kChunkHeaderBytes = 32;
inline constexpr size_t kIndexHeaderBytes = 16;
inline constexpr size_t kIndexEntryBytes = 24;
inline constexpr size_t kIndexChecksumBytes = 8;
inline constexpr size_t kFooterBytes = 32;

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint32_t kMaxChunkPages = 1024;
inline constexpr uint32_t kMaxDescriptionBytes = 4096;

struct FileHeader {
  uint32_t page_size = kPageSize;
  uint64_t tracked_pages = 0;
  uint64_t created_unix_seconds = 0;
  uint32_t description_bytes = 0;
};

struct EpochHeader {
  uint32_t chunk_count = 0;
  uint64_t number = 0;
  uint64_t page_count = 0;
};

struct ChunkHeader {
  Codec codec = Codec::kNone;
  uint32_t page_count = 0;
  uint32_t stored_bytes = 0;
  uint64_t raw_checksum = 0;  // XXH3-64 of the raw payload
};

struct IndexEntry {
  uint64_t number = 0;
  uint64_t offset = 0;  // of the epoch header, from the start of the file
  uint64_t page_count = 0;
};

struct Footer {
  uint64_t index_offset = 0;
  uint64_t epoch_count = 0;
};

// Raw payload bytes of a chunk of n pages.
constexpr size_t raw_chunk_bytes(uint32_t pages) { return size_t{pages} * (8 + kPageSize); }

// The file header checksum covers header bytes [0, 56) and the description.
void encode_file_header(const FileHeader& h, const std::string& description,
                        uint8_t out[kFileHeaderBytes]);
// Checks everything but the checksum, which needs the description: see
// file_header_checksum_ok().
bool decode_file_header(const uint8_t in[kFileHeaderBytes], FileHeader& h, std::string& error);
bool file_header_checksum_ok(const uint8_t in[kFileHeaderBytes], const std::string& description);

void encode_epoch_header(const EpochHeader& h, uint8_t out[kEpochHeaderBytes]);
bool decode_epoch_header(const uint8_t in[kEpochHeaderBytes], EpochHeader& h, std::string& error);

void encode_chunk_header(const ChunkHeader& h, uint8_t out[kChunkHeaderBytes]);
bool decode_chunk_header(const uint8_t in[kChunkHeaderBytes], ChunkHeader& h, std::string& error);

void encode_index_header(uint64_t epoch_count, uint8_t out[kIndexHeaderBytes]);
bool decode_index_header(const uint8_t in[kIndexHeaderBytes], uint64_t& epoch_count,
                         std::string& error);
void encode_index_entry(const IndexEntry& e, uint8_t out[kIndexEntryBytes]);
IndexEntry decode_index_entry(const uint8_t in[kIndexEntryBytes]);

void encode_footer(const Footer& f, uint8_t out[kFooterBytes]);
bool decode_footer(const uint8_t in[kFooterBytes], Footer& f, std::string& error);

}  // namespace fgbi::adapters::trace
