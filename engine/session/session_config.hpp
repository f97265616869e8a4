// Session parameters: the bounds of FGBI_SESSION_PARAM_TABLE
// (common/metadata.hpp) for both ends, and the values one end holds.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "common/metadata.hpp"
#include "fgbi.h"
#include "fgbi_session.h"

namespace fgbi::session {

enum class Side { kLink, kBackup };

// One field per parameter, at the table's default.
struct SessionConfig {
#define FGBI_SESSION_CONFIG_FIELD(param, field, type, min, max, def, side) type field = def;
  FGBI_SESSION_PARAM_TABLE(FGBI_SESSION_CONFIG_FIELD)
#undef FGBI_SESSION_CONFIG_FIELD

  // FGBI_E_PARAM_UNKNOWN for a parameter that does not apply to this side.
  fgbi_status set(Side side, fgbi_session_param param, int64_t value);
  fgbi_status get(Side side, fgbi_session_param param, int64_t* value) const;
};

// Statistics one end keeps; readable from any thread.
class SessionStats {
 public:
  void add(fgbi_session_stat stat, uint64_t n = 1) {
    values_[stat].fetch_add(n, std::memory_order_relaxed);
  }
  void set(fgbi_session_stat stat, uint64_t v) {
    values_[stat].store(v, std::memory_order_relaxed);
  }
  void raise_to(fgbi_session_stat stat, uint64_t v) {
    uint64_t old = values_[stat].load(std::memory_order_relaxed);
    while (old < v && !values_[stat].compare_exchange_weak(old, v, std::memory_order_relaxed)) {
    }
  }
  uint64_t get(fgbi_session_stat stat) const {
    return values_[stat].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, FGBI_SESSION_STAT_LAST + 1> values_{};
};

fgbi_status session_param_bounds(fgbi_session_param param, int64_t* min_value, int64_t* max_value,
                                 int64_t* default_value);
const char* session_param_name(fgbi_session_param param);
const char* session_stat_name(fgbi_session_stat stat);

}  // namespace fgbi::session
