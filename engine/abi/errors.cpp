// Names and messages of error codes, parameters and statistics.
#include "common/params.hpp"
#include "fgbi.h"

namespace {

struct ErrorInfo {
  fgbi_status code;
  const char* name;
  const char* message;
};

constexpr ErrorInfo kErrors[] = {
    {FGBI_OK, "FGBI_OK", "success"},
    {FGBI_E_NULL_ARGUMENT, "FGBI_E_NULL_ARGUMENT", "a required pointer argument was NULL"},
    {FGBI_E_PARAM_UNKNOWN, "FGBI_E_PARAM_UNKNOWN",
     "unknown parameter or statistic, or one that does not apply to this context"},
    {FGBI_E_PARAM_OUT_OF_BOUNDS, "FGBI_E_PARAM_OUT_OF_BOUNDS",
     "parameter value outside the bounds fgbi_param_bounds() reports"},
    {FGBI_E_WRONG_STAGE, "FGBI_E_WRONG_STAGE", "call not valid in the context's current stage"},
    {FGBI_E_NO_MEMORY, "FGBI_E_NO_MEMORY", "out of memory"},
    {FGBI_E_PFN_OUT_OF_RANGE, "FGBI_E_PFN_OUT_OF_RANGE",
     "page frame number not below the tracked page count"},
    {FGBI_E_DUPLICATE_PFN, "FGBI_E_DUPLICATE_PFN", "the same page appears twice in one epoch"},
    {FGBI_E_DST_TOO_SMALL, "FGBI_E_DST_TOO_SMALL", "output buffer too small for the epoch"},
    {FGBI_E_CALLBACK_FAILED, "FGBI_E_CALLBACK_FAILED", "the write callback reported failure"},
    {FGBI_E_BACKEND_UNAVAILABLE, "FGBI_E_BACKEND_UNAVAILABLE",
     "kernel backend not built into this library or no device present"},
    {FGBI_E_IO, "FGBI_E_IO", "a replica, journal or metadata file could not be read or written"},
    {FGBI_E_NO_REPLICA, "FGBI_E_NO_REPLICA", "no replica memory attached to the receiver"},
    {FGBI_E_BAD_ARGUMENT, "FGBI_E_BAD_ARGUMENT", "argument outside its valid range"},
    {FGBI_E_STAGING_FULL, "FGBI_E_STAGING_FULL",
     "no staging room left to capture the page (end the epoch or raise FGBI_P_STAGING_BYTES)"},
    {FGBI_E_BAD_MAGIC, "FGBI_E_BAD_MAGIC", "stream does not start an epoch (bad magic)"},
    {FGBI_E_BAD_VERSION, "FGBI_E_BAD_VERSION", "unsupported wire format version"},
    {FGBI_E_UNSUPPORTED_FLAGS, "FGBI_E_UNSUPPORTED_FLAGS",
     "epoch header sets flags or reserved fields this version does not know"},
    {FGBI_E_GEOMETRY_MISMATCH, "FGBI_E_GEOMETRY_MISMATCH",
     "page size, block size or tracked pages differ from the receiver's"},
    {FGBI_E_HEADER_CHECKSUM, "FGBI_E_HEADER_CHECKSUM", "epoch header checksum mismatch"},
    {FGBI_E_EPOCH_REPLAYED, "FGBI_E_EPOCH_REPLAYED",
     "epoch number not above the last committed epoch (replay)"},
    {FGBI_E_EPOCH_GAP, "FGBI_E_EPOCH_GAP",
     "epoch number skips ahead of the last committed epoch + 1"},
    {FGBI_E_LIMIT_EXCEEDED, "FGBI_E_LIMIT_EXCEEDED",
     "epoch size or record count beyond the configured limits"},
    {FGBI_E_BAD_SEGMENT, "FGBI_E_BAD_SEGMENT", "segment header or segment counts inconsistent"},
    {FGBI_E_SEGMENT_CHECKSUM, "FGBI_E_SEGMENT_CHECKSUM",
     "segment header or segment records checksum mismatch"},
    {FGBI_E_UNKNOWN_RECORD, "FGBI_E_UNKNOWN_RECORD", "unknown mandatory record kind"},
    {FGBI_E_BAD_RECORD, "FGBI_E_BAD_RECORD", "record length, bitmap or reserved fields invalid"},
    {FGBI_E_BAD_TRAILER, "FGBI_E_BAD_TRAILER", "epoch trailer malformed or inconsistent"},
    {FGBI_E_EPOCH_CHECKSUM, "FGBI_E_EPOCH_CHECKSUM", "epoch checksum mismatch"},
    {FGBI_E_DIGEST_MISMATCH, "FGBI_E_DIGEST_MISMATCH",
     "end-to-end digest mismatch: applying the epoch would diverge from the primary"},
    {FGBI_E_TRUNCATED, "FGBI_E_TRUNCATED", "stream ended inside an epoch"},
    {FGBI_E_STREAM_FAILED, "FGBI_E_STREAM_FAILED",
     "an earlier stream error stopped the receiver; reset the stream first"},
    {FGBI_E_DIGEST_REQUIRED, "FGBI_E_DIGEST_REQUIRED",
     "the receiver requires an end-to-end digest and the epoch carries none"},
    {FGBI_E_BAD_REFERENCE, "FGBI_E_BAD_REFERENCE",
     "a shared-block reference points at content that is not what the sender expects"},
    {FGBI_E_BAD_PAYLOAD, "FGBI_E_BAD_PAYLOAD",
     "compressed or XOR-delta block data does not decode to the declared size"},
    {FGBI_E_STREAM_MISMATCH, "FGBI_E_STREAM_MISMATCH",
     "the epoch belongs to another sender's stream than the one being received"},
    {FGBI_E_CONNECT, "FGBI_E_CONNECT",
     "could not resolve, connect to, bind or listen on the address"},
    {FGBI_E_TIMEOUT, "FGBI_E_TIMEOUT", "the peer stayed silent longer than the I/O timeout"},
    {FGBI_E_DISCONNECTED, "FGBI_E_DISCONNECTED",
     "no connection, or the connection was lost or closed"},
    {FGBI_E_PROTOCOL, "FGBI_E_PROTOCOL",
     "the peer broke the replication protocol (garbage or a bad frame)"},
    {FGBI_E_AUTH_FAILED, "FGBI_E_AUTH_FAILED",
     "authentication failed: the keys differ, or only one end has a key"},
    {FGBI_E_MAC_MISMATCH, "FGBI_E_MAC_MISMATCH",
     "a frame failed its MAC: tampered with or corrupted in flight"},
    {FGBI_E_INCOMPATIBLE, "FGBI_E_INCOMPATIBLE",
     "the ends differ in protocol version, geometry or digest settings"},
    {FGBI_E_REJECTED, "FGBI_E_REJECTED", "the peer reported an error and closed the session"},
    {FGBI_E_STOPPED, "FGBI_E_STOPPED", "interrupted by a stop request"},
    {FGBI_E_KEY, "FGBI_E_KEY", "key unreadable or of the wrong length"},
    {FGBI_E_REPLICA_STATE, "FGBI_E_REPLICA_STATE",
     "replica metadata or journal unreadable or for another geometry"},
    {FGBI_E_NEEDS_KEY, "FGBI_E_NEEDS_KEY",
     "listening beyond loopback without a key must be allowed explicitly"},
    {FGBI_E_INTERNAL, "FGBI_E_INTERNAL", "internal error (a bug in fgbi)"},
};

const ErrorInfo* find_error(fgbi_status status) {
  for (const auto& e : kErrors)
    if (e.code == status) return &e;
  return nullptr;
}

constexpr const char* kStatNames[] = {
    nullptr,
    "FGBI_S_EPOCHS",
    "FGBI_S_BYTES_IN",
    "FGBI_S_BYTES_OUT",
    "FGBI_S_PAGES",
    "FGBI_S_PAGES_FULL",
    "FGBI_S_PAGES_PARTIAL",
    "FGBI_S_PAGES_UNCHANGED",
    "FGBI_S_BLOCKS_SCANNED",
    "FGBI_S_BLOCKS_CHANGED",
    "FGBI_S_EPOCHS_REJECTED",
    "FGBI_S_MEMORY_BYTES",
    "FGBI_S_BLOCKS_ZERO",
    "FGBI_S_BLOCKS_SHARED_EPOCH",
    "FGBI_S_BLOCKS_SHARED_REPLICA",
    "FGBI_S_CACHE_HITS",
    "FGBI_S_CACHE_MISSES",
    "FGBI_S_PAGES_CODED",
    "FGBI_S_CHOSEN_RAW",
    "FGBI_S_CHOSEN_XOR",
    "FGBI_S_CHOSEN_LZ4",
    "FGBI_S_CHOSEN_ZLIB",
    "FGBI_S_CHOSEN_ZSTD",
    "FGBI_S_BYTES_RAW",
    "FGBI_S_BYTES_XOR",
    "FGBI_S_BYTES_LZ4",
    "FGBI_S_BYTES_ZLIB",
    "FGBI_S_BYTES_ZSTD",
};
static_assert(sizeof kStatNames / sizeof kStatNames[0] == FGBI_STAT_LAST + 1);

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
  return kStatNames[stat];
}

}  // extern "C"
