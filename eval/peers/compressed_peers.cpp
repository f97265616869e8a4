// General-purpose compressors, one page per call: LZ4 (LZ4_compress_default)
// and zstd level 1 (ZSTD_compressCCtx with a reused context). No state is
// kept between pages beyond the contexts.
//
// Record payload: kind u8, then
//   kRaw        (0): the 4096-byte page (when compression would not save bytes)
//   kCompressed (1): u16 LE compressed length, the compressed page
#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <new>

#include "common/bytes.hpp"
#include "peer_factories.hpp"

namespace fgbi::peers {
namespace {

enum RecordKind : uint8_t { kRaw = 0, kCompressed = 1 };
constexpr size_t kHeaderBytes = 3;
// Compressed records are kept only when smaller than a raw one.
constexpr size_t kCompressedCapacity = kPeerPageSize - kHeaderBytes;

class CompressedPageEncoder : public PeerEncoder {
 public:
  using PeerEncoder::PeerEncoder;

 protected:
  // Compresses one page into dst (capacity bytes); 0 when it does not fit.
  virtual size_t compress(const uint8_t* page, uint8_t* dst, size_t capacity) = 0;

 private:
  size_t payload_bound() const override { return 1 + kPeerPageSize; }
  size_t encode_payload(const DirtyPage& page, uint8_t* out) override {
    const size_t size = compress(page.data, out + kHeaderBytes, kCompressedCapacity);
    if (size == 0) {
      ++stats_.raw_pages;
      out[0] = kRaw;
      std::memcpy(out + 1, page.data, kPeerPageSize);
      return 1 + kPeerPageSize;
    }
    out[0] = kCompressed;
    store_le<uint16_t>(out + 1, static_cast<uint16_t>(size));
    return kHeaderBytes + size;
  }
};

class CompressedPageDecoder : public PeerDecoder {
 protected:
  // Decompresses src into page; true only when it yields exactly one page.
  virtual bool decompress(std::span<const uint8_t> src, uint8_t* page) = 0;

 private:
  size_t apply_payload(std::span<const uint8_t> in, uint8_t* page, const char** error) override {
    if (in.empty()) {
      *error = "record cut before its kind";
      return 0;
    }
    if (in[0] == kRaw) {
      if (in.size() < 1 + kPeerPageSize) {
        *error = "raw page cut short";
        return 0;
      }
      std::memcpy(page, in.data() + 1, kPeerPageSize);
      return 1 + kPeerPageSize;
    }
    if (in[0] != kCompressed) {
      *error = "unknown record kind";
      return 0;
    }
    if (in.size() < kHeaderBytes) {
      *error = "record cut inside its header";
      return 0;
    }
    const size_t size = load_le<uint16_t>(in.data() + 1);
    if (size > in.size() - kHeaderBytes) {
      *error = "compressed page beyond the stream";
      return 0;
    }
    if (!decompress(in.subspan(kHeaderBytes, size), page)) {
      *error = "compressed page does not decode to one page";
      return 0;
    }
    return kHeaderBytes + size;
  }
};

class Lz4Encoder final : public CompressedPageEncoder {
 public:
  using CompressedPageEncoder::CompressedPageEncoder;

 private:
  size_t compress(const uint8_t* page, uint8_t* dst, size_t capacity) override {
    const int size =
        LZ4_compress_default(reinterpret_cast<const char*>(page), reinterpret_cast<char*>(dst),
                             kPeerPageSize, static_cast<int>(capacity));
    return size > 0 ? static_cast<size_t>(size) : 0;
  }
};

class Lz4Decoder final : public CompressedPageDecoder {
  bool decompress(std::span<const uint8_t> src, uint8_t* page) override {
    return LZ4_decompress_safe(reinterpret_cast<const char*>(src.data()),
                               reinterpret_cast<char*>(page), static_cast<int>(src.size()),
                               kPeerPageSize) == static_cast<int>(kPeerPageSize);
  }
};

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class ZstdEncoder final : public CompressedPageEncoder {
 public:
  static constexpr int kLevel = 1;
  explicit ZstdEncoder(uint64_t tracked_pages)
      : CompressedPageEncoder(tracked_pages), context_(ZSTD_createCCtx()) {
    if (!context_) throw std::bad_alloc();
  }

 private:
  size_t compress(const uint8_t* page, uint8_t* dst, size_t capacity) override {
    const size_t size =
        ZSTD_compressCCtx(context_.get(), dst, capacity, page, kPeerPageSize, kLevel);
    return ZSTD_isError(size) ? 0 : size;
  }
  std::unique_ptr<ZSTD_CCtx, CCtxFree> context_;
};

class ZstdDecoder final : public CompressedPageDecoder {
 public:
  ZstdDecoder() : context_(ZSTD_createDCtx()) {
    if (!context_) throw std::bad_alloc();
  }

 private:
  bool decompress(std::span<const uint8_t> src, uint8_t* page) override {
    const size_t size =
        ZSTD_decompressDCtx(context_.get(), page, kPeerPageSize, src.data(), src.size());
    return size == kPeerPageSize;
  }
  std::unique_ptr<ZSTD_DCtx, DCtxFree> context_;
};

}  // namespace

Peer make_lz4_peer(const PeerOptions& options) {
  return {PeerKind::kLz4, std::make_unique<Lz4Encoder>(options.tracked_pages),
          std::make_unique<Lz4Decoder>()};
}

Peer make_zstd_peer(const PeerOptions& options) {
  return {PeerKind::kZstd, std::make_unique<ZstdEncoder>(options.tracked_pages),
          std::make_unique<ZstdDecoder>()};
}

}  // namespace fgbi::peers
