#include "common/params.hpp"

#include <bit>
#include <cstdint>

namespace fgbi {
namespace {

struct ParamInfo {
  fgbi_param param;
  const char* name;
  ParamBounds bounds;
  ParamSide side;
};

constexpr ParamInfo kParams[] = {
#define FGBI_PARAM_ROW(param, field, type, min, max, def, side) \
  {param, #param, {min, max, def}, ParamSide::side},
    FGBI_PARAM_TABLE(FGBI_PARAM_ROW)
#undef FGBI_PARAM_ROW
};

const ParamInfo* find(fgbi_param param) {
  for (const auto& info : kParams)
    if (info.param == param) return &info;
  return nullptr;
}

}  // namespace

const ParamBounds* param_bounds(fgbi_param param) {
  const ParamInfo* info = find(param);
  return info ? &info->bounds : nullptr;
}

bool param_applies(fgbi_param param, ParamSide side) {
  const ParamInfo* info = find(param);
  return info != nullptr && (info->side == ParamSide::kBoth || info->side == side);
}

const char* param_name(fgbi_param param) {
  const ParamInfo* info = find(param);
  return info ? info->name : nullptr;
}

fgbi_status check_param(fgbi_param param, int64_t value) {
  const ParamBounds* b = param_bounds(param);
  if (b == nullptr) return FGBI_E_PARAM_UNKNOWN;
  if (value < b->min || value > b->max) return FGBI_E_PARAM_OUT_OF_BOUNDS;
  if (param == FGBI_P_BLOCK_SIZE && !std::has_single_bit(static_cast<uint64_t>(value)))
    return FGBI_E_PARAM_OUT_OF_BOUNDS;
  return FGBI_OK;
}

// Switches without a default: -Wswitch makes a parameter of fgbi.h that the
// table lacks a compile error.
fgbi_status Config::set(fgbi_param param, int64_t value) {
  if (fgbi_status st = check_param(param, value); st != FGBI_OK) return st;
  switch (param) {
#define FGBI_SET_FIELD(param, field, type, min, max, def, side) \
  case param: field = static_cast<type>(value); break;
    FGBI_PARAM_TABLE(FGBI_SET_FIELD)
#undef FGBI_SET_FIELD
  }
  return FGBI_OK;
}

fgbi_status Config::get(fgbi_param param, int64_t* value) const {
  switch (param) {
#define FGBI_GET_FIELD(param, field, type, min, max, def, side) \
  case param: *value = static_cast<int64_t>(field); return FGBI_OK;
    FGBI_PARAM_TABLE(FGBI_GET_FIELD)
#undef FGBI_GET_FIELD
  }
  return FGBI_E_PARAM_UNKNOWN;
}

}  // namespace fgbi
