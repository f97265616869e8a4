#include "codec/compressor.hpp"

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>

namespace fgbi::codec {
namespace {
constexpr int kZlibLevel = 1;
constexpr int kZstdLevel = 1;
constexpr int kRawDeflateWindowBits = -15;
}  // namespace

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kRaw: return "raw";
    case Codec::kXor: return "xor";
    case Codec::kLz4: return "lz4";
    case Codec::kZlib: return "zlib";
    case Codec::kZstd: return "zstd";
  }
  return "unknown";
}

struct Compressor::State {
  LZ4_stream_t* lz4 = nullptr;
  z_stream deflate{};
  bool deflate_ready = false;
  ZSTD_CCtx* zstd = nullptr;
  ~State() {
    if (deflate_ready) deflateEnd(&deflate);
    if (lz4) LZ4_freeStream(lz4);
    ZSTD_freeCCtx(zstd);
  }
};

Compressor::Compressor() : state_(std::make_unique<State>()) {}
Compressor::~Compressor() = default;

size_t Compressor::compress(Codec codec, const uint8_t* src, size_t n, uint8_t* dst,
                            size_t capacity) {
  if (n > INT_MAX || capacity > INT_MAX) return 0;
  State& s = *state_;
  switch (codec) {
    case Codec::kLz4: {
      // A fast reset makes the next block independent without clearing
      // the whole hash table, which would cost more than a small page.
      if (s.lz4 == nullptr && (s.lz4 = LZ4_createStream()) == nullptr) return 0;
      LZ4_resetStream_fast(s.lz4);
      const int out = LZ4_compress_fast_continue(s.lz4, reinterpret_cast<const char*>(src),
                                                 reinterpret_cast<char*>(dst), static_cast<int>(n),
                                                 static_cast<int>(capacity), 1);
      return out > 0 ? static_cast<size_t>(out) : 0;
    }
    case Codec::kZlib: {
      if (!s.deflate_ready) {
        if (deflateInit2(&s.deflate, kZlibLevel, Z_DEFLATED, kRawDeflateWindowBits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
          return 0;
        s.deflate_ready = true;
      } else if (deflateReset(&s.deflate) != Z_OK) {
        return 0;
      }
      s.deflate.next_in = const_cast<Bytef*>(src);
      s.deflate.avail_in = static_cast<uInt>(n);
      s.deflate.next_out = dst;
      s.deflate.avail_out = static_cast<uInt>(capacity);
      if (deflate(&s.deflate, Z_FINISH) != Z_STREAM_END) return 0;
      return capacity - s.deflate.avail_out;
    }
    case Codec::kZstd: {
      if (s.zstd == nullptr && (s.zstd = ZSTD_createCCtx()) == nullptr) return 0;
      const size_t out = ZSTD_compressCCtx(s.zstd, dst, capacity, src, n, kZstdLevel);
      return ZSTD_isError(out) ? 0 : out;
    }
    case Codec::kRaw:
    case Codec::kXor: break;
  }
  return 0;
}

struct Decompressor::State {
  z_stream inflate{};
  bool inflate_ready = false;
  ZSTD_DCtx* zstd = nullptr;
  ~State() {
    if (inflate_ready) inflateEnd(&inflate);
    ZSTD_freeDCtx(zstd);
  }
};

Decompressor::Decompressor() : state_(std::make_unique<State>()) {}
Decompressor::~Decompressor() = default;

bool Decompressor::decompress(Codec codec, const uint8_t* src, size_t src_size, uint8_t* dst,
                              size_t n) {
  if (n > INT_MAX || src_size > INT_MAX) return false;
  State& s = *state_;
  switch (codec) {
    case Codec::kLz4:
      return LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                 static_cast<int>(src_size),
                                 static_cast<int>(n)) == static_cast<int>(n);
    case Codec::kZlib: {
      if (!s.inflate_ready) {
        if (inflateInit2(&s.inflate, kRawDeflateWindowBits) != Z_OK) return false;
        s.inflate_ready = true;
      } else if (inflateReset(&s.inflate) != Z_OK) {
        return false;
      }
      s.inflate.next_in = const_cast<Bytef*>(src);
      s.inflate.avail_in = static_cast<uInt>(src_size);
      s.inflate.next_out = dst;
      s.inflate.avail_out = static_cast<uInt>(n);
      return inflate(&s.inflate, Z_FINISH) == Z_STREAM_END && s.inflate.avail_out == 0 &&
             s.inflate.avail_in == 0;
    }
    case Codec::kZstd: {
      if (s.zstd == nullptr && (s.zstd = ZSTD_createDCtx()) == nullptr) return false;
      // The frame must declare its size, so a bomb is refused before work.
      const unsigned long long declared = ZSTD_getFrameContentSize(src, src_size);
      if (declared != n) return false;
      const size_t out = ZSTD_decompressDCtx(s.zstd, dst, n, src, src_size);
      return !ZSTD_isError(out) && out == n;
    }
    case Codec::kRaw:
    case Codec::kXor: break;
  }
  return false;
}

}  // namespace fgbi::codec
