#include "session/epoch_pages.hpp"

#include <algorithm>

#include "uleb128.hpp"
#include "wire/format.hpp"

namespace fgbi::session {

void EpochPages::reset() {
  pfns_.clear();
  seen_ = 0;
  segments_left_ = 0;
  expect(Unit::kHeader, wire::kHeaderBytes);
}

void EpochPages::expect(Unit unit, size_t bytes) {
  unit_ = unit;
  buffer_.clear();
  needed_ = bytes;
}

bool EpochPages::append(std::span<const uint8_t> bytes) {
  seen_ += bytes.size();
  if (seen_ > max_epoch_bytes_) unit_ = Unit::kBad;
  while (!bytes.empty() && unit_ != Unit::kBad) {
    if (unit_ == Unit::kDone) {
      unit_ = Unit::kBad;  // bytes after the trailer
      break;
    }
    const size_t n = std::min(bytes.size(), needed_ - buffer_.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (buffer_.size() == needed_ && !complete_unit()) unit_ = Unit::kBad;
  }
  return unit_ != Unit::kBad;
}

bool EpochPages::complete_unit() {
  switch (unit_) {
    case Unit::kHeader: {
      wire::EpochHeader h;
      if (wire::decode_header(buffer_.data(), &h) != FGBI_OK) return false;
      segments_left_ = h.segment_count;
      if (segments_left_ == 0)
        expect(Unit::kTrailer, wire::kTrailerBytes);
      else
        expect(Unit::kSegmentHeader, wire::kSegmentHeaderBytes);
      return true;
    }
    case Unit::kSegmentHeader: {
      wire::SegmentHeader s;
      if (wire::decode_segment_header(buffer_.data(), &s) != FGBI_OK ||
          s.records_bytes > max_epoch_bytes_)
        return false;
      expect(Unit::kRecords, static_cast<size_t>(s.records_bytes));
      return true;
    }
    case Unit::kRecords:
      if (!scan_records()) return false;
      if (--segments_left_ == 0)
        expect(Unit::kTrailer, wire::kTrailerBytes);
      else
        expect(Unit::kSegmentHeader, wire::kSegmentHeaderBytes);
      return true;
    case Unit::kTrailer: expect(Unit::kDone, 0); return true;
    case Unit::kDone:
    case Unit::kBad: break;
  }
  return false;
}

bool EpochPages::scan_records() {
  const uint8_t* p = buffer_.data();
  const uint8_t* const end = p + buffer_.size();
  auto add = [&](uint64_t pfn) {
    if (pfn >= tracked_pages_ || pfns_.size() >= tracked_pages_) return false;  // no page twice
    pfns_.push_back(pfn);
    return true;
  };
  while (p < end) {
    wire::RecordHeader rh;
    if (static_cast<size_t>(end - p) < wire::kRecordHeaderBytes ||
        wire::decode_record_header(p, &rh) != FGBI_OK)
      return false;
    p += wire::kRecordHeaderBytes;
    if (rh.payload_bytes > static_cast<size_t>(end - p)) return false;
    const uint8_t* const payload_end = p + rh.payload_bytes;
    switch (rh.kind) {
      case wire::kRecordFullPage:
      case wire::kRecordBlocks:
      case wire::kRecordCodedPage:
        if (!add(rh.pfn)) return false;
        break;
      case wire::kRecordXorPages: {
        uint64_t pfn = rh.pfn;
        const uint8_t* q = p;
        while (q < payload_end) {
          uint64_t zigzag = 0, length = 0;
          if (!kernels::load_uleb128(&q, payload_end, &zigzag) ||
              !kernels::load_uleb128(&q, payload_end, &length) ||
              length > static_cast<uint64_t>(payload_end - q))
            return false;
          pfn += static_cast<uint64_t>(kernels::zigzag_decode(zigzag));  // wraps: checked by add
          if (!add(pfn)) return false;
          q += length;
        }
        break;
      }
      case wire::kRecordCleanList: break;  // dirtied but unchanged: written by nothing
      default:
        // Optional kinds are skipped by receivers; an unknown mandatory kind
        // is rejected by the receiver.
        if (rh.kind < wire::kFirstOptionalKind) return false;
        break;
    }
    p = payload_end;
  }
  return true;
}

bool EpochPages::finish(std::vector<uint64_t>* pfns) {
  if (unit_ != Unit::kDone) return false;
  std::sort(pfns_.begin(), pfns_.end());
  pfns_.erase(std::unique(pfns_.begin(), pfns_.end()), pfns_.end());
  *pfns = pfns_;
  return true;
}

}  // namespace fgbi::session
