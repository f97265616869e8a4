// Per-chunk compression of trace payloads: none, LZ4 or zstd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fgbi::adapters::trace {

enum class Codec : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

// "none", "lz4", "zstd"; nullopt for anything else.
std::optional<Codec> parse_codec(std::string_view name);
const char* codec_name(Codec codec);
bool codec_known(uint8_t value);

// Largest stored size of `raw_bytes` of input under this codec.
size_t stored_bound(Codec codec, size_t raw_bytes);

// Compresses src into dst (resized to the stored size). `level` applies to
// zstd (1..19) and is ignored otherwise. False with `error` set on failure.
bool compress(Codec codec, int level, const uint8_t* src, size_t size, std::vector<uint8_t>& dst,
              std::string& error);
// Decompresses exactly raw_bytes into dst; false (with `error`) when the
// input is corrupt or does not decode to exactly raw_bytes.
bool decompress(Codec codec, const uint8_t* src, size_t size, uint8_t* dst, size_t raw_bytes,
                std::string& error);

}  // namespace fgbi::adapters::trace
