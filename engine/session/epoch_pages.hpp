// Which pages a wire-format v2 epoch writes (docs/wire-format.md, Records),
// found from its bytes as they arrive, holding at most one segment. The
// backup saves those pages' current content before the receiver applies
// the epoch in place: some records (XOR_PAGES, CODED_PAGE) are deltas
// against the committed replica and cannot be applied twice, so a crash in
// the middle of an apply is undone, not redone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wire/epoch_reader.hpp"

namespace fgbi::session {

class EpochPages {
 public:
  EpochPages(uint64_t tracked_pages, uint64_t max_epoch_bytes)
      : tracked_pages_(tracked_pages), reader_(max_epoch_bytes, tracked_pages) {}
  void reset();
  // Consumes the next bytes of the epoch. False once they cannot be a
  // well-formed epoch (the receiver rejects such an epoch as well).
  bool append(std::span<const uint8_t> bytes);
  // After the epoch's last byte: the pages it writes, ascending. False if
  // the epoch is incomplete or malformed.
  bool finish(std::vector<uint64_t>* pfns);

 private:
  bool scan_records();

  uint64_t tracked_pages_;
  wire::EpochReader reader_;
  std::vector<uint8_t> buffer_;  // the unit being collected
  bool bad_ = false;
  std::vector<uint64_t> pfns_;
};

}  // namespace fgbi::session
