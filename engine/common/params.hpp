// Parameter bounds and the validated configuration shared by sender and
// receiver. One table (params.cpp) defines every parameter's range.
#pragma once

#include <cstdint>

#include "fgbi.h"

namespace fgbi {

struct ParamBounds {
  int64_t min;
  int64_t max;
  int64_t def;
};

enum class ParamSide { kBoth, kSender, kReceiver };

// True when the parameter exists and configures contexts of that side.
bool param_applies(fgbi_param param, ParamSide side);

// nullptr for an unknown parameter.
const ParamBounds* param_bounds(fgbi_param param);
const char* param_name(fgbi_param param);

// FGBI_OK when value is inside the bounds and well formed (e.g. a block
// size is a power of two).
fgbi_status check_param(fgbi_param param, int64_t value);

// The geometry and options both ends need.
struct Config {
  uint32_t page_size = 4096;
  uint32_t block_size = 64;
  uint64_t tracked_pages = 65536;
  uint32_t threads = 1;
  bool digest = true;
  int backend = FGBI_BACKEND_AUTO;
  uint64_t max_epoch_bytes = 1ull << 30;
  uint32_t sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
  uint32_t codecs = FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;
  uint64_t cache_bytes = 64ull << 20;
  uint64_t index_bytes = 16ull << 20;
  uint64_t link_mbps = 1000;
  bool adaptive = true;
  uint64_t staging_bytes = 4ull << 30;
  uint64_t stream_id = 0;
  uint32_t test_hash_bits = 64;

  uint32_t blocks_per_page() const { return page_size / block_size; }
  uint64_t hash_mask() const { return test_hash_bits >= 64 ? ~0ull : (1ull << test_hash_bits) - 1; }
  // Sets a parameter after check_param(); FGBI_E_PARAM_UNKNOWN otherwise.
  fgbi_status set(fgbi_param param, int64_t value);
  fgbi_status get(fgbi_param param, int64_t* value) const;
};

}  // namespace fgbi
