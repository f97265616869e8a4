#include "session/epoch_pages.hpp"

#include <algorithm>

#include "uleb128.hpp"

namespace fgbi::session {

void EpochPages::reset() {
  pfns_.clear();
  buffer_.clear();
  bad_ = false;
  reader_.reset();
}

bool EpochPages::append(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && !bad_) {
    if (reader_.done()) {
      bad_ = true;  // bytes after the trailer
      break;
    }
    const size_t n = std::min(bytes.size(), reader_.wanted() - buffer_.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (buffer_.size() < reader_.wanted()) continue;
    wire::EpochReader::Event event;
    bad_ = reader_.take(buffer_.data(), &event) != FGBI_OK ||
           (event == wire::EpochReader::Event::kRecords && !scan_records());
    buffer_.clear();
  }
  return !bad_;
}

bool EpochPages::scan_records() {
  auto add = [&](uint64_t pfn) {
    if (pfn >= tracked_pages_ || pfns_.size() >= tracked_pages_) return false;  // no page twice
    pfns_.push_back(pfn);
    return true;
  };
  const fgbi_status st = wire::for_each_record(
      buffer_.data(), buffer_.size(), reader_.segment().record_count,
      [&](const wire::RecordHeader& rh, const uint8_t* payload) -> fgbi_status {
        switch (rh.kind) {
          case wire::kRecordFullPage:
            return wire::for_each_full_page(rh, payload, 1u << reader_.header().page_shift,
                                            [&](uint64_t pfn, const uint8_t*) -> fgbi_status {
                                              return add(pfn) ? FGBI_OK : FGBI_E_BAD_RECORD;
                                            });
          case wire::kRecordBlocks:
          case wire::kRecordCodedPage: return add(rh.pfn) ? FGBI_OK : FGBI_E_BAD_RECORD;
          case wire::kRecordXorPages: {
            uint64_t pfn = rh.pfn;
            const uint8_t* q = payload;
            const uint8_t* const end = payload + rh.payload_bytes;
            while (q < end) {
              uint64_t zigzag = 0, length = 0;
              if (!kernels::load_uleb128(&q, end, &zigzag) ||
                  !kernels::load_uleb128(&q, end, &length) ||
                  length > static_cast<uint64_t>(end - q))
                return FGBI_E_BAD_RECORD;
              pfn +=
                  static_cast<uint64_t>(kernels::zigzag_decode(zigzag));  // wraps: checked by add
              if (!add(pfn)) return FGBI_E_BAD_RECORD;
              q += length;
            }
            return FGBI_OK;
          }
          case wire::kRecordCleanList: return FGBI_OK;  // dirtied but unchanged: written by nothing
          default:
            // Optional kinds are skipped by receivers; an unknown mandatory
            // kind is rejected by the receiver.
            return rh.kind < wire::kFirstOptionalKind ? FGBI_E_UNKNOWN_RECORD : FGBI_OK;
        }
      });
  return st == FGBI_OK;
}

bool EpochPages::finish(std::vector<uint64_t>* pfns) {
  if (bad_ || !reader_.done()) return false;
  std::sort(pfns_.begin(), pfns_.end());
  pfns_.erase(std::unique(pfns_.begin(), pfns_.end()), pfns_.end());
  *pfns = pfns_;
  return true;
}

}  // namespace fgbi::session
