#include "session/session_config.hpp"

#include "session/protocol.hpp"

namespace fgbi::session {
namespace {

struct ParamInfo {
  fgbi_session_param param;
  const char* name;
  int64_t min, max, def;
  bool link, backup;  // applies to
};

constexpr ParamInfo kParams[] = {
    {FGBI_SP_IO_TIMEOUT_MS, "FGBI_SP_IO_TIMEOUT_MS", 10, 3600000, 2000, true, true},
    {FGBI_SP_HEARTBEAT_MS, "FGBI_SP_HEARTBEAT_MS", 1, 600000, 100, true, true},
    {FGBI_SP_FAILOVER_MS, "FGBI_SP_FAILOVER_MS", 10, 86400000, 3000, false, true},
    {FGBI_SP_QUEUE_BYTES, "FGBI_SP_QUEUE_BYTES", int64_t{1} << 20, int64_t{1} << 40,
     int64_t{64} << 20, true, false},
    {FGBI_SP_CHUNK_BYTES, "FGBI_SP_CHUNK_BYTES", 4096, static_cast<int64_t>(kMaxDataPayload),
     int64_t{256} << 10, true, false},
    {FGBI_SP_LISTEN_ANY, "FGBI_SP_LISTEN_ANY", 0, 1, 0, false, true},
    {FGBI_SP_SYNC, "FGBI_SP_SYNC", 0, 1, 0, false, true},
    {FGBI_SP_LINK_MBPS, "FGBI_SP_LINK_MBPS", 0, 10000000, 0, true, false},
};

const ParamInfo* find(fgbi_session_param param) {
  for (const auto& p : kParams)
    if (p.param == param) return &p;
  return nullptr;
}

constexpr const char* kStatNames[] = {
    nullptr,
    "FGBI_SS_CONNECTIONS",
    "FGBI_SS_EPOCHS",
    "FGBI_SS_EPOCHS_ACKED",
    "FGBI_SS_EPOCH_BYTES",
    "FGBI_SS_SOCKET_BYTES",
    "FGBI_SS_RESUMES",
    "FGBI_SS_FULL_SYNCS",
    "FGBI_SS_DISCONNECTS",
    "FGBI_SS_EPOCHS_DISCARDED",
    "FGBI_SS_PEERS_REJECTED",
    "FGBI_SS_STOP_COPY_NS",
    "FGBI_SS_STOP_COPY_MAX_NS",
    "FGBI_SS_LATENCY_NS",
    "FGBI_SS_LATENCY_MAX_NS",
    "FGBI_SS_COMMITTED_EPOCH",
    "FGBI_SS_ROLLBACKS",
    "FGBI_SS_CLOSED",
    "FGBI_SS_LINK_MBPS",
};
static_assert(sizeof kStatNames / sizeof kStatNames[0] == FGBI_SESSION_STAT_LAST + 1);

}  // namespace

SessionConfig::SessionConfig() {
  for (const auto& p : kParams) assign(p.param, p.def);
}

fgbi_status SessionConfig::set(Side side, fgbi_session_param param, int64_t value) {
  const ParamInfo* p = find(param);
  if (p == nullptr || !(side == Side::kLink ? p->link : p->backup)) return FGBI_E_PARAM_UNKNOWN;
  if (value < p->min || value > p->max) return FGBI_E_PARAM_OUT_OF_BOUNDS;
  assign(param, value);
  return FGBI_OK;
}

void SessionConfig::assign(fgbi_session_param param, int64_t value) {
  switch (param) {
    case FGBI_SP_IO_TIMEOUT_MS: io_timeout_ms = value; break;
    case FGBI_SP_HEARTBEAT_MS: heartbeat_ms = value; break;
    case FGBI_SP_FAILOVER_MS: failover_ms = value; break;
    case FGBI_SP_QUEUE_BYTES: queue_bytes = value; break;
    case FGBI_SP_CHUNK_BYTES: chunk_bytes = value; break;
    case FGBI_SP_LISTEN_ANY: listen_any = value != 0; break;
    case FGBI_SP_SYNC: sync = value != 0; break;
    case FGBI_SP_LINK_MBPS: link_mbps = value; break;
  }
}

fgbi_status SessionConfig::get(Side side, fgbi_session_param param, int64_t* value) const {
  const ParamInfo* p = find(param);
  if (p == nullptr || !(side == Side::kLink ? p->link : p->backup)) return FGBI_E_PARAM_UNKNOWN;
  switch (param) {
    case FGBI_SP_IO_TIMEOUT_MS: *value = io_timeout_ms; break;
    case FGBI_SP_HEARTBEAT_MS: *value = heartbeat_ms; break;
    case FGBI_SP_FAILOVER_MS: *value = failover_ms; break;
    case FGBI_SP_QUEUE_BYTES: *value = queue_bytes; break;
    case FGBI_SP_CHUNK_BYTES: *value = chunk_bytes; break;
    case FGBI_SP_LISTEN_ANY: *value = listen_any; break;
    case FGBI_SP_SYNC: *value = sync; break;
    case FGBI_SP_LINK_MBPS: *value = link_mbps; break;
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
  return kStatNames[stat];
}

}  // namespace fgbi::session
