#include "peer_codec.hpp"

#include <bit>
#include <stdexcept>

#include "common/bytes.hpp"
#include "peer_factories.hpp"

namespace fgbi::peers {
namespace {

constexpr size_t kEpochHeaderBytes = 4;  // u32 LE record count
constexpr size_t kPfnBytes = 8;

constexpr PeerKind kAllKinds[] = {PeerKind::kRemusFullPages, PeerKind::kRemusXcCompression,
                                  PeerKind::kXbzrle, PeerKind::kLz4, PeerKind::kZstd};

}  // namespace

std::span<const PeerKind> all_peer_kinds() { return kAllKinds; }

std::string_view peer_name(PeerKind kind) {
  switch (kind) {
    case PeerKind::kRemusFullPages: return "remus-full";
    case PeerKind::kRemusXcCompression: return "remus-xc";
    case PeerKind::kXbzrle: return "xbzrle";
    case PeerKind::kLz4: return "lz4";
    case PeerKind::kZstd: return "zstd-1";
  }
  return "unknown";
}

size_t PeerEncoder::epoch_bound(size_t pages) const {
  return kEpochHeaderBytes + pages * (kPfnBytes + payload_bound());
}

PeerStatus PeerEncoder::encode_epoch(std::span<const DirtyPage> pages, std::span<uint8_t> out,
                                     size_t* written) {
  *written = 0;
  if (pages.size() > UINT32_MAX) return {"more pages than one epoch can carry", 0};
  if (out.size() < epoch_bound(pages.size())) return {"output smaller than epoch_bound()", 0};
  // Checked up front so that a rejected epoch leaves the caches untouched.
  for (size_t i = 0; i < pages.size(); ++i)
    if (pages[i].pfn >= tracked_pages_) return {"pfn beyond the tracked pages", i};

  begin_epoch();
  uint8_t* record = out.data() + kEpochHeaderBytes;
  uint32_t records = 0;
  for (const DirtyPage& page : pages) {
    const size_t payload = encode_payload(page, record + kPfnBytes);
    if (payload == 0) continue;
    store_le<uint64_t>(record, page.pfn);
    record += kPfnBytes + payload;
    ++records;
  }
  store_le<uint32_t>(out.data(), records);
  *written = static_cast<size_t>(record - out.data());
  ++stats_.epochs;
  stats_.pages += pages.size();
  stats_.wire_bytes += *written;
  return {};
}

PeerStatus PeerDecoder::apply_epoch(std::span<const uint8_t> stream, std::span<uint8_t> replica) {
  if (replica.size() % kPeerPageSize != 0) return {"replica is not a whole number of pages", 0};
  if (stream.size() < kEpochHeaderBytes) return {"stream cut inside its header", 0};
  const uint64_t pages = replica.size() / kPeerPageSize;
  const uint32_t records = load_le<uint32_t>(stream.data());
  size_t pos = kEpochHeaderBytes;
  for (uint32_t r = 0; r < records; ++r) {
    if (stream.size() - pos < kPfnBytes) return {"stream cut before a record's pfn", pos};
    const uint64_t pfn = load_le<uint64_t>(stream.data() + pos);
    if (pfn >= pages) return {"record pfn beyond the replica", pos};
    pos += kPfnBytes;
    const char* error = nullptr;
    const size_t used =
        apply_payload(stream.subspan(pos), replica.data() + pfn * kPeerPageSize, &error);
    if (used == 0) return {error, pos};
    pos += used;
  }
  if (pos != stream.size()) return {"bytes after the last record", pos};
  return {};
}

Peer make_peer(PeerKind kind, const PeerOptions& options) {
  if (options.tracked_pages == 0) throw std::invalid_argument("peer: tracked pages must be > 0");
  switch (kind) {
    case PeerKind::kRemusFullPages: return make_full_page_peer(options);
    case PeerKind::kRemusXcCompression: {
      const size_t slots = options.xc_cache_bytes / kPeerPageSize;
      if (slots == 0 || slots >= UINT32_MAX)
        throw std::invalid_argument("remus-xc: cache must hold 1 to 2^32 - 2 pages");
      return make_xc_peer(options, slots);
    }
    case PeerKind::kXbzrle: {
      // QEMU rounds its cache down to a power of two pages.
      const size_t slots = std::bit_floor(options.xbzrle_cache_bytes / kPeerPageSize);
      if (slots == 0) throw std::invalid_argument("xbzrle: cache must hold at least one page");
      return make_xbzrle_peer(options, slots);
    }
    case PeerKind::kLz4: return make_lz4_peer(options);
    case PeerKind::kZstd: return make_zstd_peer(options);
  }
  throw std::invalid_argument("peer: unknown kind");
}

}  // namespace fgbi::peers
