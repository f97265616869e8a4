#include "trace/codec.hpp"

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <cstring>

namespace fgbi::adapters::trace {

std::optional<Codec> parse_codec(std::string_view name) {
  if (name == "none") return Codec::kNone;
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  return std::nullopt;
}

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kNone: return "none";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
  }
  return "unknown";
}

bool codec_known(uint8_t value) { return value <= static_cast<uint8_t>(Codec::kZstd); }

size_t stored_bound(Codec codec, size_t raw_bytes) {
  switch (codec) {
    case Codec::kNone: return raw_bytes;
    case Codec::kLz4:
      return raw_bytes > LZ4_MAX_INPUT_SIZE
                 ? 0
                 : static_cast<size_t>(LZ4_compressBound(static_cast<int>(raw_bytes)));
    case Codec::kZstd: return ZSTD_compressBound(raw_bytes);
  }
  return 0;
}

bool compress(Codec codec, int level, const uint8_t* src, size_t size, std::vector<uint8_t>& dst,
              std::string& error) {
  const size_t bound = stored_bound(codec, size);
  if (bound == 0 && size != 0) {
    error = std::string("input too large for ") + codec_name(codec);
    return false;
  }
  dst.resize(bound);
  switch (codec) {
    case Codec::kNone:
      if (size != 0) std::memcpy(dst.data(), src, size);
      return true;
    case Codec::kLz4: {
      const int n = LZ4_compress_default(reinterpret_cast<const char*>(src),
                                         reinterpret_cast<char*>(dst.data()),
                                         static_cast<int>(size), static_cast<int>(bound));
      if (n <= 0) {
        error = "LZ4 compression failed";
        return false;
      }
      dst.resize(static_cast<size_t>(n));
      return true;
    }
    case Codec::kZstd: {
      const size_t n = ZSTD_compress(dst.data(), bound, src, size, level);
      if (ZSTD_isError(n)) {
        error = std::string("zstd compression failed: ") + ZSTD_getErrorName(n);
        return false;
      }
      dst.resize(n);
      return true;
    }
  }
  error = "unknown codec";
  return false;
}

bool decompress(Codec codec, const uint8_t* src, size_t size, uint8_t* dst, size_t raw_bytes,
                std::string& error) {
  switch (codec) {
    case Codec::kNone:
      if (size != raw_bytes) {
        error = "uncompressed chunk size differs from its page count";
        return false;
      }
      if (size != 0) std::memcpy(dst, src, size);
      return true;
    case Codec::kLz4: {
      if (size > INT_MAX || raw_bytes > INT_MAX) {
        error = "LZ4 chunk too large";
        return false;
      }
      const int n =
          LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                              static_cast<int>(size), static_cast<int>(raw_bytes));
      if (n < 0 || static_cast<size_t>(n) != raw_bytes) {
        error = "LZ4 chunk is corrupt";
        return false;
      }
      return true;
    }
    case Codec::kZstd: {
      const size_t n = ZSTD_decompress(dst, raw_bytes, src, size);
      if (ZSTD_isError(n)) {
        error = std::string("zstd chunk is corrupt: ") + ZSTD_getErrorName(n);
        return false;
      }
      if (n != raw_bytes) {
        error = "zstd chunk decodes to the wrong size";
        return false;
      }
      return true;
    }
  }
  error = "unknown codec";
  return false;
}

}  // namespace fgbi::adapters::trace
