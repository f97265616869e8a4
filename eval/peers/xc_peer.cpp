// Remus xc_compression: pages delta-encoded against an LRU cache of the
// pages last sent; a page not in the cache goes whole and enters it.
#include <cstring>

#include "page_cache.hpp"
#include "page_diff.hpp"
#include "peer_factories.hpp"
#include "remus_xc.hpp"

namespace fgbi::peers {
namespace {

class XcEncoder final : public PeerEncoder {
 public:
  XcEncoder(const PeerOptions& options, size_t cache_slots)
      : PeerEncoder(options.tracked_pages),
        cache_(cache_slots, options.tracked_pages),
        kernels_(page_diff_kernels()) {}

 private:
  size_t payload_bound() const override { return xc::kMaxEncodedBytes; }
  size_t encode_payload(const DirtyPage& page, uint8_t* out) override {
    if (uint8_t* cached = cache_.find(page.pfn)) {
      ++stats_.cache_hits;
      WordDiff diff;
      kernels_.diff_words(cached, page.data, &diff);
      return xc::encode_delta(diff, page.data, out);
    }
    ++stats_.cache_misses;
    ++stats_.raw_pages;
    std::memcpy(cache_.replace_lru(page.pfn), page.data, kPeerPageSize);
    return xc::encode_full(page.data, out);
  }

  LruPageCache cache_;
  const PageDiffKernels& kernels_;
};

class XcDecoder final : public PeerDecoder {
  size_t apply_payload(std::span<const uint8_t> in, uint8_t* page, const char** error) override {
    const size_t used = xc::decode_page(in, page);
    if (used == 0) *error = "malformed or cut xc_compression page";
    return used;
  }
};

}  // namespace

Peer make_xc_peer(const PeerOptions& options, size_t cache_slots) {
  return {PeerKind::kRemusXcCompression, std::make_unique<XcEncoder>(options, cache_slots),
          std::make_unique<XcDecoder>()};
}

}  // namespace fgbi::peers
