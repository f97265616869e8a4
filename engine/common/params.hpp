// Parameter bounds and the validated configuration shared by sender and
// receiver, both generated from FGBI_PARAM_TABLE (common/metadata.hpp).
#pragma once

#include <cstdint>

#include "common/metadata.hpp"
#include "fgbi.h"

namespace fgbi {

struct ParamBounds {
  int64_t min;
  int64_t max;
  int64_t def;
};

// True when the parameter exists and configures contexts of that side.
bool param_applies(fgbi_param param, ParamSide side);

// nullptr for an unknown parameter.
const ParamBounds* param_bounds(fgbi_param param);
const char* param_name(fgbi_param param);

// FGBI_OK when value is inside the bounds and well formed (e.g. a block
// size is a power of two).
fgbi_status check_param(fgbi_param param, int64_t value);

// The geometry and options both ends need: one field per parameter, at the
// table's default, so that no default is written twice.
struct Config {
#define FGBI_CONFIG_FIELD(param, field, type, min, max, def, side) type field = def;
  FGBI_PARAM_TABLE(FGBI_CONFIG_FIELD)
#undef FGBI_CONFIG_FIELD

  uint32_t blocks_per_page() const { return page_size / block_size; }
  uint64_t hash_mask() const { return test_hash_bits >= 64 ? ~0ull : (1ull << test_hash_bits) - 1; }
  // Sets a parameter after check_param(); FGBI_E_PARAM_UNKNOWN otherwise.
  fgbi_status set(fgbi_param param, int64_t value);
  fgbi_status get(fgbi_param param, int64_t* value) const;
};

}  // namespace fgbi
