#include "wire/epoch_reader.hpp"

#include <cstring>

#include "common/bytes.hpp"

namespace fgbi::wire {

void EpochReader::reset() {
  expect(Phase::kHeader, kHeaderBytes);
  sum_ = Xxh3Stream();
  segments_ = records_ = 0;
  body_ = bytes_ = 0;
}

fgbi_status EpochReader::take(const uint8_t* unit, Event* event) {
  *event = Event::kNone;
  bytes_ += wanted_;
  switch (phase_) {
    case Phase::kHeader:
      if (fgbi_status st = decode_header(unit, &header_); st != FGBI_OK) return st;
      if (max_epoch_bytes_ < kHeaderBytes + kTrailerBytes) return FGBI_E_LIMIT_EXCEEDED;
      sum_.update(unit, kHeaderBytes);
      expect(Phase::kUnit, kUnitBytes);
      *event = Event::kHeader;
      return FGBI_OK;
    case Phase::kUnit: {
      if (load_le<uint32_t>(unit) == kTrailerMagic) {
        std::memcpy(trailer_head_, unit, kUnitBytes);
        expect(Phase::kTrailerRest, kTrailerBytes - kUnitBytes);
        return FGBI_OK;
      }
      if (fgbi_status st = decode_segment_header(unit, &segment_); st != FGBI_OK) return st;
      const SegmentHeader& s = segment_;
      // Room left for segments once header and trailer are counted.
      const uint64_t room = max_epoch_bytes_ - kHeaderBytes - kTrailerBytes - body_;
      if (s.record_count == 0 || s.records_bytes < uint64_t{s.record_count} * kRecordHeaderBytes ||
          (unchecked_records() && s.records_checksum != 0))
        return FGBI_E_BAD_SEGMENT;
      if (room < kSegmentHeaderBytes || s.records_bytes > room - kSegmentHeaderBytes ||
          s.record_count > max_records_ - records_)
        return FGBI_E_LIMIT_EXCEEDED;
      sum_.update(unit, kSegmentHeaderBytes);
      ++segments_;
      records_ += s.record_count;
      body_ += kSegmentHeaderBytes + s.records_bytes;
      expect(Phase::kRecords, static_cast<size_t>(s.records_bytes));
      *event = Event::kSegment;
      return FGBI_OK;
    }
    case Phase::kRecords:
      if (!unchecked_records() && xxh3(unit, wanted_) != segment_.records_checksum)
        return FGBI_E_SEGMENT_CHECKSUM;
      expect(Phase::kUnit, kUnitBytes);
      *event = Event::kRecords;
      return FGBI_OK;
    case Phase::kTrailerRest: {
      uint8_t whole[kTrailerBytes];
      std::memcpy(whole, trailer_head_, kUnitBytes);
      std::memcpy(whole + kUnitBytes, unit, kTrailerBytes - kUnitBytes);
      if (fgbi_status st = decode_trailer(whole, &trailer_); st != FGBI_OK) return st;
      const Trailer& t = trailer_;
      if (t.record_count != records_ || t.segment_count != segments_ || t.body_bytes != body_ ||
          t.epoch != header_.epoch)
        return FGBI_E_BAD_TRAILER;
      sum_.update(whole, kTrailerChecksummedBytes);
      if (sum_.digest() != t.checksum) return FGBI_E_EPOCH_CHECKSUM;
      expect(Phase::kDone, 0);
      *event = Event::kTrailer;
      return FGBI_OK;
    }
    case Phase::kDone: break;
  }
  return FGBI_E_BAD_TRAILER;  // bytes after the trailer: the caller should have stopped
}

}  // namespace fgbi::wire
