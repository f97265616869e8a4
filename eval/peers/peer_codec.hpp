// Peer codecs: the replication schemes `fgbi-engine bench` measures fgbi
// against, each implemented from its published format (docs/peers.md).
//
// How the bench drives a peer, once per epoch:
//
//   Peer peer = make_peer(PeerKind::kXbzrle, {.tracked_pages = n});
//   std::vector<uint8_t> wire(peer.encoder->epoch_bound(dirty.size()));
//   size_t bytes = 0;
//   // time this: encode GB/s = dirty.size() * kPeerPageSize / seconds
//   PeerStatus st = peer.encoder->encode_epoch(dirty, wire, &bytes);
//   // time this: decode GB/s over the same input bytes; wire bytes = `bytes`
//   st = peer.decoder->apply_epoch({wire.data(), bytes}, replica);
//   // then replica == primary, byte for byte
//
// Every peer gets the same DirtyPage list (pfn + pointer to the page's 4 KiB
// content at capture time). The encoder keeps whatever sender state its
// scheme keeps (page caches, compression contexts); the decoder holds only
// what the receiver of that scheme holds and applies the epoch to the replica
// memory in place (page pfn at replica.data() + pfn * kPeerPageSize).
//
// An epoch's stream is: u32 LE record count, then that many records, each a
// u64 LE pfn followed by the codec's payload. Unchanged pages a scheme does
// not send at all (XBZRLE) have no record.
//
// Encoders and decoders are single-threaded objects: one per thread.
// Decoders check every length, offset and pfn against the stream and replica
// bounds and return an error on a cut or corrupted stream; they never write
// outside the replica. Like the peers themselves (QEMU aborts the migration),
// pages applied before the error are left applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace fgbi::peers {

inline constexpr size_t kPeerPageSize = 4096;

enum class PeerKind {
  kRemusFullPages,      // "remus-full": pfn + raw page
  kRemusXcCompression,  // "remus-xc": Xen 4.2-4.13 xc_compression page delta, LRU cache
  kXbzrle,              // "xbzrle": QEMU XBZRLE, direct-mapped page cache
  kLz4,                 // "lz4": LZ4_compress_default, one page per call
  kZstd,                // "zstd-1": zstd level 1, one page per call, reused context
};

// Every kind, in the order reports list them.
std::span<const PeerKind> all_peer_kinds();
std::string_view peer_name(PeerKind kind);

struct PeerOptions {
  // Pages of guest memory; encoders reject pfns at or beyond it (Xen sizes
  // its pfn-to-cache index by it, as xc_compression did with p2m_size).
  uint64_t tracked_pages = 0;
  size_t xc_cache_bytes = size_t{32} << 20;      // remus-xc LRU cache (Xen's fixed 8192 pages)
  size_t xbzrle_cache_bytes = size_t{64} << 20;  // QEMU's default; rounded down to 2^k pages
};

struct DirtyPage {
  uint64_t pfn;
  const uint8_t* data;  // kPeerPageSize bytes
};

// Success, or a static description of what went wrong and where (a byte
// offset in the stream for decoders, a page index for encoders).
struct PeerStatus {
  const char* error = nullptr;
  size_t where = 0;
  bool ok() const { return error == nullptr; }
};

struct EncoderStats {
  uint64_t epochs = 0;
  uint64_t pages = 0;         // dirty pages handed in
  uint64_t cache_hits = 0;    // encoded against a cached copy
  uint64_t cache_misses = 0;  // not cached: sent whole (caching codecs only)
  uint64_t raw_pages = 0;     // sent as a raw page (misses, overflows, incompressible)
  uint64_t wire_bytes = 0;    // every byte written, headers included
};

class PeerEncoder {
 public:
  explicit PeerEncoder(uint64_t tracked_pages) : tracked_pages_(tracked_pages) {}
  virtual ~PeerEncoder() = default;
  // The most bytes encode_epoch may write for an epoch of `pages` pages (it
  // may use all of them as scratch, so size the output to this).
  size_t epoch_bound(size_t pages) const;
  // Encodes one epoch's dirty pages into out, which must hold at least
  // epoch_bound(pages.size()) bytes; *written receives the stream size.
  PeerStatus encode_epoch(std::span<const DirtyPage> pages, std::span<uint8_t> out,
                          size_t* written);
  const EncoderStats& stats() const { return stats_; }

 protected:
  // Worst-case bytes of one record's payload (after its pfn), plus any
  // scratch slack the codec writes past the payload's end.
  virtual size_t payload_bound() const = 0;
  // Writes the payload for one page at out (payload_bound() bytes free) and
  // returns its size; 0 when the page needs no record at all.
  virtual size_t encode_payload(const DirtyPage& page, uint8_t* out) = 0;
  // Called before the first page of each epoch.
  virtual void begin_epoch() {}

  EncoderStats stats_;

 private:
  uint64_t tracked_pages_;
};

class PeerDecoder {
 public:
  virtual ~PeerDecoder() = default;
  // Applies one epoch's stream to the replica (a whole number of pages).
  PeerStatus apply_epoch(std::span<const uint8_t> stream, std::span<uint8_t> replica);

 protected:
  // Applies the payload of one record, which starts at in[0] (in runs to the
  // end of the stream), to `page`; returns the payload bytes consumed, or 0
  // with *error set.
  virtual size_t apply_payload(std::span<const uint8_t> in, uint8_t* page, const char** error) = 0;
};

struct Peer {
  PeerKind kind;
  std::unique_ptr<PeerEncoder> encoder;
  std::unique_ptr<PeerDecoder> decoder;
};

// Throws std::invalid_argument for unusable options (no tracked pages, a
// cache smaller than one page) and std::bad_alloc when memory runs out.
Peer make_peer(PeerKind kind, const PeerOptions& options);

}  // namespace fgbi::peers
