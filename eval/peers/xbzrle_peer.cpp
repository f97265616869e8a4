// QEMU's XBZRLE migration path for one page (migration/ram.c): a zero page
// is sent as a marker; a page in the cache is XBZRLE-encoded against it and
// not sent at all when unchanged; a cache miss or an overflowing encoding
// sends the raw page. The cache always ends up holding the page as sent.
//
// Record payload: kind u8, then
//   kRaw   (0): the 4096-byte page
//   kDelta (1): u16 LE encoded length (1..4096), the XBZRLE encoding
//   kZero  (2): nothing
#include <cstring>

#include "common/bytes.hpp"
#include "page_cache.hpp"
#include "page_diff.hpp"
#include "peer_factories.hpp"
#include "xbzrle.hpp"

namespace fgbi::peers {
namespace {

enum RecordKind : uint8_t { kRaw = 0, kDelta = 1, kZero = 2 };
constexpr size_t kDeltaHeaderBytes = 3;

class XbzrleEncoder final : public PeerEncoder {
 public:
  XbzrleEncoder(const PeerOptions& options, size_t cache_slots)
      : PeerEncoder(options.tracked_pages),
        cache_(cache_slots, DirectMappedPageCache::kQemuLifetime),
        kernels_(page_diff_kernels()) {}

 private:
  size_t payload_bound() const override {
    return kDeltaHeaderBytes + xbzrle::kMaxEncodedBytes + xbzrle::kEncodeSlack;
  }
  void begin_epoch() override { ++epoch_; }

  size_t encode_payload(const DirtyPage& page, uint8_t* out) override {
    uint8_t* cached = cache_.find(page.pfn, epoch_);
    if (cached == nullptr) {
      ++stats_.cache_misses;
      const bool zero = page_is_zero(page.data);
      if (uint8_t* slot = cache_.insert(page.pfn, epoch_)) {
        if (zero)
          std::memset(slot, 0, kPeerPageSize);
        else
          std::memcpy(slot, page.data, kPeerPageSize);
      }
      return zero ? zero_record(out) : raw_record(page, out);
    }
    ++stats_.cache_hits;
    ByteDiff diff;
    kernels_.diff_bytes(cached, page.data, &diff);  // the cache now holds the page
    if (diff.fresh_is_zero) return zero_record(out);
    if (diff.changed_chunks == 0) return 0;
    const size_t encoded = xbzrle::encode_runs(diff, page.data, out + kDeltaHeaderBytes);
    if (encoded == xbzrle::kOverflow) return raw_record(page, out);
    out[0] = kDelta;
    store_le<uint16_t>(out + 1, static_cast<uint16_t>(encoded));
    return kDeltaHeaderBytes + encoded;
  }

  static size_t zero_record(uint8_t* out) {
    out[0] = kZero;
    return 1;
  }
  size_t raw_record(const DirtyPage& page, uint8_t* out) {
    ++stats_.raw_pages;
    out[0] = kRaw;
    std::memcpy(out + 1, page.data, kPeerPageSize);
    return 1 + kPeerPageSize;
  }

  DirectMappedPageCache cache_;
  const PageDiffKernels& kernels_;
  uint64_t epoch_ = 0;
};

// QEMU's receiver decodes against the page it already holds: no cache.
class XbzrleDecoder final : public PeerDecoder {
  size_t apply_payload(std::span<const uint8_t> in, uint8_t* page, const char** error) override {
    if (in.empty()) {
      *error = "xbzrle record cut before its kind";
      return 0;
    }
    switch (in[0]) {
      case kZero: std::memset(page, 0, kPeerPageSize); return 1;
      case kRaw:
        if (in.size() < 1 + kPeerPageSize) {
          *error = "raw page cut short";
          return 0;
        }
        std::memcpy(page, in.data() + 1, kPeerPageSize);
        return 1 + kPeerPageSize;
      case kDelta: {
        if (in.size() < kDeltaHeaderBytes) {
          *error = "xbzrle record cut inside its header";
          return 0;
        }
        const size_t length = load_le<uint16_t>(in.data() + 1);
        if (length == 0 || length > xbzrle::kMaxEncodedBytes ||
            length > in.size() - kDeltaHeaderBytes) {
          *error = "xbzrle length out of range or beyond the stream";
          return 0;
        }
        if (!xbzrle::decode_page(in.subspan(kDeltaHeaderBytes, length), page)) {
          *error = "malformed xbzrle encoding";
          return 0;
        }
        return kDeltaHeaderBytes + length;
      }
      default: *error = "unknown xbzrle record kind"; return 0;
    }
  }
};

}  // namespace

Peer make_xbzrle_peer(const PeerOptions& options, size_t cache_slots) {
  return {PeerKind::kXbzrle, std::make_unique<XbzrleEncoder>(options, cache_slots),
          std::make_unique<XbzrleDecoder>()};
}

}  // namespace fgbi::peers
