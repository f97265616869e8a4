// The one incremental reader of an epoch's framing (docs/wire-format.md):
// header, segments, trailer. Its user collects the bytes of each unit -
// wanted() of them - and hands them over with take(); the reader checks
// every header, the records' checksums, the limits and the trailer's
// totals and epoch checksum, and says what the unit was. What the records
// mean is left to the user (for_each_record in format.hpp walks them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/xxh3.hpp"
#include "fgbi.h"
#include "wire/format.hpp"

namespace fgbi::wire {

class EpochReader {
 public:
  enum class Event {
    kNone,     // nothing to act on (the first half of the trailer)
    kHeader,   // header() is valid
    kSegment,  // segment() is valid; its records are the next unit
    kRecords,  // the unit is the current segment's records, checksum verified
               // unless the header's flags say the digest stands for it
    kTrailer,  // trailer() is valid and the whole epoch's framing checked
  };
  // An epoch may take at most max_epoch_bytes on the wire and hold at most
  // max_records records.
  EpochReader(uint64_t max_epoch_bytes, uint64_t max_records)
      : max_epoch_bytes_(max_epoch_bytes), max_records_(max_records) {}

  // Starts over: the next unit is an epoch header.
  void reset();
  // Bytes of the unit to collect next (0 once the trailer has been taken).
  size_t wanted() const { return wanted_; }
  bool done() const { return phase_ == Phase::kDone; }
  // `unit` holds exactly wanted() bytes. On an error the epoch is malformed;
  // reset() before reading another.
  fgbi_status take(const uint8_t* unit, Event* event);
  // Reads one epoch held whole in memory from its start: takes each unit and
  // calls on_unit(event, unit, bytes) for it. Returns the first error of
  // take() or on_unit, FGBI_E_TRUNCATED if data ends inside the epoch, else
  // FGBI_OK with *used = the epoch's bytes.
  template <typename OnUnit>
  fgbi_status read_whole(const uint8_t* data, size_t size, size_t* used, OnUnit&& on_unit) {
    reset();
    size_t at = 0;
    while (!done()) {
      const size_t unit = wanted_;
      if (unit > size - at) return FGBI_E_TRUNCATED;
      Event event;
      if (fgbi_status st = take(data + at, &event); st != FGBI_OK) return st;
      if (fgbi_status st = on_unit(event, data + at, unit); st != FGBI_OK) return st;
      at += unit;
    }
    *used = at;
    return FGBI_OK;
  }

  const EpochHeader& header() const { return header_; }
  const SegmentHeader& segment() const { return segment_; }
  const Trailer& trailer() const { return trailer_; }
  // Records and segments so far (the segment being read included).
  uint32_t records_seen() const { return records_; }
  uint64_t bytes_seen() const { return bytes_; }

 private:
  enum class Phase { kHeader, kUnit, kRecords, kTrailerRest, kDone };
  bool unchecked_records() const { return (header_.flags & kFlagNoRecordsChecksum) != 0; }
  void expect(Phase phase, size_t bytes) {
    phase_ = phase;
    wanted_ = bytes;
  }

  uint64_t max_epoch_bytes_;
  uint64_t max_records_;
  Phase phase_ = Phase::kHeader;
  size_t wanted_ = kHeaderBytes;
  EpochHeader header_;
  SegmentHeader segment_;
  Trailer trailer_;
  Xxh3Stream sum_;  // header, segment headers, trailer prefix
  uint8_t trailer_head_[kUnitBytes];
  uint32_t segments_ = 0, records_ = 0;
  uint64_t body_ = 0;   // segment headers + records
  uint64_t bytes_ = 0;  // every byte taken
};

}  // namespace fgbi::wire
