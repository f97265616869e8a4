// General-purpose compressors for the literal section of a coded page
// record (docs/wire-format.md): LZ4 block, raw DEFLATE through zlib, and
// zstd frames. Each object keeps its library state between calls, so one
// per worker avoids a setup per page. Pure: memory in, memory out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fgbi::codec {

// How a coded page's literal blocks travel. The values are wire values.
enum class Codec : uint8_t { kRaw = 0, kXor = 1, kLz4 = 2, kZlib = 3, kZstd = 4 };
inline constexpr int kCodecCount = 5;
const char* codec_name(Codec codec);

class Compressor {
 public:
  Compressor();
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  // Compresses n bytes of src with a general codec into dst; returns the
  // compressed size, or 0 when it does not fit capacity or the library fails.
  size_t compress(Codec codec, const uint8_t* src, size_t n, uint8_t* dst, size_t capacity);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Decodes src with a general codec into exactly n bytes at dst. False when
  // the input is malformed, does not decode to exactly n bytes, or has bytes
  // left over; dst may then hold garbage.
  bool decompress(Codec codec, const uint8_t* src, size_t src_size, uint8_t* dst, size_t n);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fgbi::codec
