// The one writer of an epoch's framing (docs/wire-format.md). A segment is
// built in a ByteBuffer: open_segment() reserves its header, append_record()
// adds records, seal_segment() fills the header in. An EpochWriter then
// frames sealed segments in the order they are emitted - the header first,
// each segment as soon as it is ready, the trailer with the totals and the
// epoch checksum last - so an epoch streams while it is still being encoded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/buffers.hpp"
#include "common/xxh3.hpp"
#include "wire/format.hpp"

namespace fgbi::wire {

// Starts a segment in `segment` (cleared).
void open_segment(ByteBuffer& segment);
// Appends a record header for `kind` and pfn; returns where its
// payload_bytes of payload go.
uint8_t* append_record(ByteBuffer& segment, uint8_t kind, uint64_t pfn, size_t payload_bytes);
// Extends the segment's last record, whose header starts at header_offset,
// by n payload bytes; returns where they go. The caller keeps the payload
// within kMaxPayloadBytes.
uint8_t* extend_last_record(ByteBuffer& segment, size_t header_offset, size_t n);
// Fills in the segment's header for its `records` records, of which
// `bytes_elsewhere` bytes are not in `segment` (the caller puts them in
// place when it copies the segment out: only under kFlagNoRecordsChecksum,
// which leaves the records checksum 0).
void seal_segment(ByteBuffer& segment, uint32_t records, uint32_t epoch_flags,
                  size_t bytes_elsewhere = 0);

class EpochWriter {
 public:
  // Encodes the header into out and starts the epoch checksum.
  void begin(const EpochHeader& header, uint8_t out[kHeaderBytes]);
  // Accounts for a sealed segment about to be emitted (header + records).
  void add_segment(const uint8_t* segment, size_t size);
  // Encodes the trailer with the totals, the digest and the epoch checksum.
  void finish(uint64_t digest, uint8_t out[kTrailerBytes]);
  uint64_t body_bytes() const { return trailer_.body_bytes; }

 private:
  Trailer trailer_;
  Xxh3Stream sum_;
};

}  // namespace fgbi::wire
