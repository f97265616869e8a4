// Remus without compression: every dirty page travels whole.
#include <cstring>

#include "peer_factories.hpp"

namespace fgbi::peers {
namespace {

class FullPageEncoder final : public PeerEncoder {
 public:
  using PeerEncoder::PeerEncoder;

 private:
  size_t payload_bound() const override { return kPeerPageSize; }
  size_t encode_payload(const DirtyPage& page, uint8_t* out) override {
    std::memcpy(out, page.data, kPeerPageSize);
    ++stats_.raw_pages;
    return kPeerPageSize;
  }
};

class FullPageDecoder final : public PeerDecoder {
  size_t apply_payload(std::span<const uint8_t> in, uint8_t* page, const char** error) override {
    if (in.size() < kPeerPageSize) {
      *error = "full page cut short";
      return 0;
    }
    std::memcpy(page, in.data(), kPeerPageSize);
    return kPeerPageSize;
  }
};

}  // namespace

Peer make_full_page_peer(const PeerOptions& options) {
  return {PeerKind::kRemusFullPages, std::make_unique<FullPageEncoder>(options.tracked_pages),
          std::make_unique<FullPageDecoder>()};
}

}  // namespace fgbi::peers
