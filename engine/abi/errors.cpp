// Names and messages of error codes, parameters and statistics, from the
// tables of common/metadata.hpp.

#include "codec/compressor.hpp"
#include "common/metadata.hpp"
#include "common/params.hpp"
#include "fgbi.h"
#include "fgbi_session.h"

namespace {

struct ErrorInfo {
  fgbi_status code;
  const char* name;
  const char* message;
};

constexpr ErrorInfo kErrors[] = {
#define FGBI_ERROR_ROW(code, message) {code, #code, message},
    FGBI_ERROR_TABLE(FGBI_ERROR_ROW) FGBI_SESSION_ERROR_TABLE(FGBI_ERROR_ROW)
#undef FGBI_ERROR_ROW
};

const ErrorInfo* find_error(fgbi_status status) {
  for (const auto& e : kErrors)
    if (e.code == status) return &e;
  return nullptr;
}

// True for every enumerator that has a row. Switches without a default:
// -Wswitch turns an enumerator that fgbi.h or fgbi_session.h gains without a row into a compile
// error.
#define FGBI_CASE(code, ...) case code:
constexpr bool has_row(fgbi_error code) {
  switch (code) { FGBI_ERROR_TABLE(FGBI_CASE) return true; }
  return false;
}
constexpr bool has_row(fgbi_session_error code) {
  switch (code) { FGBI_SESSION_ERROR_TABLE(FGBI_CASE) return true; }
  return false;
}
constexpr bool has_row(fgbi_stat stat) {
  switch (stat) { FGBI_STAT_TABLE(FGBI_CASE) return true; }
  return false;
}
#undef FGBI_CASE
static_assert(has_row(FGBI_OK) && has_row(FGBI_E_CONNECT) && has_row(FGBI_S_EPOCHS));

// fgbi_stat_name() indexes the names by value: the rows must run from
// FGBI_STAT_FIRST to FGBI_STAT_LAST without a gap.
#define FGBI_STAT_ROW(stat) stat,
constexpr fgbi_stat kStats[] = {FGBI_STAT_TABLE(FGBI_STAT_ROW)};
#undef FGBI_STAT_ROW
static_assert(fgbi::rows_in_value_order(kStats, FGBI_STAT_FIRST, FGBI_STAT_LAST));

constexpr const char* kStatNames[] = {
#define FGBI_STAT_NAME(stat) #stat,
    FGBI_STAT_TABLE(FGBI_STAT_NAME)
#undef FGBI_STAT_NAME
};

// The sender keeps one counter per codec and reports codec c's as
// FGBI_S_CHOSEN_RAW + c and FGBI_S_BYTES_RAW + c: the statistics must follow
// the wire values of codec::Codec.
using fgbi::codec::Codec;
#define FGBI_CODEC_STATS_MATCH(kCodec, NAME)                                                  \
  static_assert(FGBI_S_CHOSEN_##NAME == FGBI_S_CHOSEN_RAW + static_cast<int>(Codec::kCodec)); \
  static_assert(FGBI_S_BYTES_##NAME == FGBI_S_BYTES_RAW + static_cast<int>(Codec::kCodec));
FGBI_CODEC_STATS_MATCH(kRaw, RAW)
FGBI_CODEC_STATS_MATCH(kXor, XOR)
FGBI_CODEC_STATS_MATCH(kLz4, LZ4)
FGBI_CODEC_STATS_MATCH(kZlib, ZLIB)
FGBI_CODEC_STATS_MATCH(kZstd, ZSTD)
#undef FGBI_CODEC_STATS_MATCH
static_assert(FGBI_S_CHOSEN_ZSTD - FGBI_S_CHOSEN_RAW + 1 == fgbi::codec::kCodecCount &&
              FGBI_S_BYTES_ZSTD - FGBI_S_BYTES_RAW + 1 == fgbi::codec::kCodecCount);

}  // namespace

extern "C" {

FGBI_API const char* fgbi_error_name(fgbi_status status) {
  const ErrorInfo* e = find_error(status);
  return e ? e->name : "FGBI_E_UNKNOWN_CODE";
}

FGBI_API const char* fgbi_error_message(fgbi_status status) {
  const ErrorInfo* e = find_error(status);
  return e ? e->message : "unknown error code";
}

FGBI_API fgbi_status fgbi_param_bounds(fgbi_param param, int64_t* min_value, int64_t* max_value,
                                       int64_t* default_value) {
  const fgbi::ParamBounds* b = fgbi::param_bounds(param);
  if (b == nullptr) return FGBI_E_PARAM_UNKNOWN;
  if (min_value) *min_value = b->min;
  if (max_value) *max_value = b->max;
  if (default_value) *default_value = b->def;
  return FGBI_OK;
}

FGBI_API const char* fgbi_param_name(fgbi_param param) { return fgbi::param_name(param); }

FGBI_API const char* fgbi_stat_name(fgbi_stat stat) {
  if (stat < FGBI_STAT_FIRST || stat > FGBI_STAT_LAST) return nullptr;
  return kStatNames[stat - FGBI_STAT_FIRST];
}

}  // extern "C"
