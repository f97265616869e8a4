// Test support: a single wire-format epoch taken apart into editable pieces
// and put back together with fresh checksums, so tests can craft streams
// that are well sealed but semantically wrong.
#pragma once

#include <cstdint>
#include <vector>

#include "wire/format.hpp"

namespace fgbi::test {

struct EditableEpoch {
  struct Segment {
    wire::SegmentHeader header;
    std::vector<uint8_t> records;
  };
  wire::EpochHeader header;
  std::vector<Segment> segments;
  wire::Trailer trailer;

  // Parses one complete epoch; fails the test if the stream is malformed.
  static EditableEpoch parse(const std::vector<uint8_t>& stream);
  // Rebuilds the stream. With reseal, every checksum and byte count is
  // recomputed from the pieces (record counts are left as they are; the
  // trailer's segment count and body bytes follow the segments).
  std::vector<uint8_t> serialize(bool reseal = true) const;
  // Byte offset of the n-th record header inside a segment's records.
  static size_t record_offset(const Segment& segment, size_t n);
};

}  // namespace fgbi::test
