// Which pages a wire-format v1 epoch writes (docs/wire-format.md, Records),
// found from its bytes as they arrive, holding at most one segment. The
// backup saves those pages' current content before the receiver applies
// the epoch in place: some records (XOR_PAGES, CODED_PAGE) are deltas
// against the committed replica and cannot be applied twice, so a crash in
// the middle of an apply is undone, not redone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fgbi::session {

class EpochPages {
 public:
  EpochPages(uint64_t tracked_pages, uint64_t max_epoch_bytes)
      : tracked_pages_(tracked_pages), max_epoch_bytes_(max_epoch_bytes) {}
  void reset();
  // Consumes the next bytes of the epoch. False once they cannot be a
  // well-formed epoch (the receiver rejects such an epoch as well).
  bool append(std::span<const uint8_t> bytes);
  // After the epoch's last byte: the pages it writes, ascending. False if
  // the epoch is incomplete or malformed.
  bool finish(std::vector<uint64_t>* pfns);

 private:
  enum class Unit { kHeader, kSegmentHeader, kRecords, kTrailer, kDone, kBad };
  bool complete_unit();
  bool scan_records();
  void expect(Unit unit, size_t bytes);

  uint64_t tracked_pages_;
  uint64_t max_epoch_bytes_;
  Unit unit_ = Unit::kHeader;
  std::vector<uint8_t> buffer_;  // the unit being collected
  size_t needed_ = 0;
  uint32_t segments_left_ = 0;
  uint64_t seen_ = 0;
  std::vector<uint64_t> pfns_;
};

}  // namespace fgbi::session
