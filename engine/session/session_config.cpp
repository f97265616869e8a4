#include "session/session_config.hpp"

#include "session/protocol.hpp"

namespace fgbi::session {
namespace {

struct ParamInfo {
  fgbi_session_param param;
  const char* name;
  int64_t min, max, def;
  SessionParamSide side;
};

constexpr ParamInfo kParams[] = {
#define FGBI_SESSION_PARAM_ROW(param, field, type, min, max, def, side) \
  {param, #param, min, max, def, SessionParamSide::side},
    FGBI_SESSION_PARAM_TABLE(FGBI_SESSION_PARAM_ROW)
#undef FGBI_SESSION_PARAM_ROW
};

constexpr const ParamInfo* find(fgbi_session_param param) {
  for (const auto& p : kParams)
    if (p.param == param) return &p;
  return nullptr;
}

// A chunk travels in one data frame.
static_assert(find(FGBI_SP_CHUNK_BYTES)->max == static_cast<int64_t>(kMaxDataPayload));

bool applies(const ParamInfo& p, Side side) {
  return p.side == SessionParamSide::kBoth ||
         p.side == (side == Side::kLink ? SessionParamSide::kLink : SessionParamSide::kBackup);
}

// True for every statistic that has a row. A switch without a default:
// -Wswitch turns a statistic that fgbi_session.h gains without a row into a compile
// error.
constexpr bool has_row(fgbi_session_stat stat) {
  switch (stat) {
#define FGBI_SESSION_STAT_CASE(stat) case stat:
    FGBI_SESSION_STAT_TABLE(FGBI_SESSION_STAT_CASE)
#undef FGBI_SESSION_STAT_CASE
    return true;
  }
  return false;
}
static_assert(has_row(FGBI_SS_CONNECTIONS));

// session_stat_name() and SessionStats index by value: the rows must run
// from FGBI_SESSION_STAT_FIRST to FGBI_SESSION_STAT_LAST without a gap.
#define FGBI_SESSION_STAT_ROW(stat) stat,
constexpr fgbi_session_stat kStats[] = {FGBI_SESSION_STAT_TABLE(FGBI_SESSION_STAT_ROW)};
#undef FGBI_SESSION_STAT_ROW
static_assert(rows_in_value_order(kStats, FGBI_SESSION_STAT_FIRST, FGBI_SESSION_STAT_LAST));

constexpr const char* kStatNames[] = {
#define FGBI_SESSION_STAT_NAME(stat) #stat,
    FGBI_SESSION_STAT_TABLE(FGBI_SESSION_STAT_NAME)
#undef FGBI_SESSION_STAT_NAME
};

}  // namespace

// Switches without a default: -Wswitch makes a parameter of fgbi_session.h that the
// table lacks a compile error.
fgbi_status SessionConfig::set(Side side, fgbi_session_param param, int64_t value) {
  const ParamInfo* p = find(param);
  if (p == nullptr || !applies(*p, side)) return FGBI_E_PARAM_UNKNOWN;
  if (value < p->min || value > p->max) return FGBI_E_PARAM_OUT_OF_BOUNDS;
  switch (param) {
#define FGBI_SET_FIELD(param, field, type, min, max, def, side) \
  case param: field = static_cast<type>(value); break;
    FGBI_SESSION_PARAM_TABLE(FGBI_SET_FIELD)
#undef FGBI_SET_FIELD
  }
  return FGBI_OK;
}

fgbi_status SessionConfig::get(Side side, fgbi_session_param param, int64_t* value) const {
  const ParamInfo* p = find(param);
  if (p == nullptr || !applies(*p, side)) return FGBI_E_PARAM_UNKNOWN;
  switch (param) {
#define FGBI_GET_FIELD(param, field, type, min, max, def, side) \
  case param: *value = static_cast<int64_t>(field); break;
    FGBI_SESSION_PARAM_TABLE(FGBI_GET_FIELD)
#undef FGBI_GET_FIELD
  }
  return FGBI_OK;
}

fgbi_status session_param_bounds(fgbi_session_param param, int64_t* min_value, int64_t* max_value,
                                 int64_t* default_value) {
  const ParamInfo* p = find(param);
  if (p == nullptr) return FGBI_E_PARAM_UNKNOWN;
  if (min_value) *min_value = p->min;
  if (max_value) *max_value = p->max;
  if (default_value) *default_value = p->def;
  return FGBI_OK;
}

const char* session_param_name(fgbi_session_param param) {
  const ParamInfo* p = find(param);
  return p ? p->name : nullptr;
}

const char* session_stat_name(fgbi_session_stat stat) {
  if (stat < FGBI_SESSION_STAT_FIRST || stat > FGBI_SESSION_STAT_LAST) return nullptr;
  return kStatNames[stat - FGBI_SESSION_STAT_FIRST];
}

}  // namespace fgbi::session
