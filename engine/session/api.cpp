// The C ABI of the replication session. Nothing throws across it: every
// entry point catches and maps to an fgbi_status.
#include <cstring>
#include <new>
#include <string>

#include "abi/guarded.hpp"
#include "fgbi.h"
#include "fgbi_session.h"
#include "session/backup.hpp"
#include "session/crypto.hpp"
#include "session/link.hpp"
#include "session/session_config.hpp"

struct fgbi_link : fgbi::session::Link {
  using Link::Link;
};
struct fgbi_backup : fgbi::session::Backup {
  using Backup::Backup;
};

namespace {

using fgbi::guarded;

fgbi_status copy_text(const std::string& text, char* buffer, size_t capacity) {
  if (buffer == nullptr || capacity == 0) return FGBI_E_NULL_ARGUMENT;
  const size_t n = std::min(text.size(), capacity - 1);
  std::memcpy(buffer, text.data(), n);
  buffer[n] = '\0';
  return FGBI_OK;
}

}  // namespace

extern "C" {

FGBI_SESSION_API unsigned fgbi_session_version_number(void) { return FGBI_SESSION_VERSION_NUMBER; }

FGBI_SESSION_API fgbi_status fgbi_read_key_file(const char* path, void* key, size_t capacity,
                                                size_t* size) {
  if (path == nullptr || key == nullptr || size == nullptr) return FGBI_E_NULL_ARGUMENT;
  try {
    std::vector<uint8_t> bytes;
    std::string why;
    if (fgbi_status st = fgbi::session::read_key_file(path, &bytes, &why); st != FGBI_OK) return st;
    if (bytes.size() > capacity) return FGBI_E_KEY;
    std::memcpy(key, bytes.data(), bytes.size());
    *size = bytes.size();
    return FGBI_OK;
  } catch (...) {
    return FGBI_E_NO_MEMORY;
  }
}

FGBI_SESSION_API fgbi_status fgbi_session_param_bounds(fgbi_session_param param, int64_t* min_value,
                                                       int64_t* max_value, int64_t* default_value) {
  return fgbi::session::session_param_bounds(param, min_value, max_value, default_value);
}

FGBI_SESSION_API const char* fgbi_session_param_name(fgbi_session_param param) {
  return fgbi::session::session_param_name(param);
}

FGBI_SESSION_API const char* fgbi_session_stat_name(fgbi_session_stat stat) {
  return fgbi::session::session_stat_name(stat);
}

/* ---- link ---- */

FGBI_SESSION_API fgbi_status fgbi_link_create(fgbi_link** out, fgbi_sender* sender) {
  if (out == nullptr || sender == nullptr) return FGBI_E_NULL_ARGUMENT;
  *out = nullptr;
  uint64_t epochs = 0;
  if (fgbi_status st = fgbi_sender_get_stat(sender, FGBI_S_EPOCHS, &epochs); st != FGBI_OK)
    return st;
  if (epochs != 0) return FGBI_E_WRONG_STAGE;  // its state must start with the link's stream
  *out = new (std::nothrow) fgbi_link(sender);
  return *out ? FGBI_OK : FGBI_E_NO_MEMORY;
}

FGBI_SESSION_API void fgbi_link_free(fgbi_link* link) { delete link; }

FGBI_SESSION_API fgbi_status fgbi_link_set_parameter(fgbi_link* l, fgbi_session_param param,
                                                     int64_t value) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.set_parameter(param, value); });
}

FGBI_SESSION_API fgbi_status fgbi_link_get_parameter(const fgbi_link* l, fgbi_session_param param,
                                                     int64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(l, [&](const fgbi::session::Link& x) { return x.get_parameter(param, value); });
}

FGBI_SESSION_API fgbi_status fgbi_link_set_key(fgbi_link* l, const void* key, size_t size) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.set_key(key, size); });
}

FGBI_SESSION_API fgbi_status fgbi_link_set_page_source(fgbi_link* l, fgbi_page_fn pages,
                                                       void* user) {
  return guarded(l, [&](fgbi::session::Link& x) {
    x.set_page_source(pages, user);
    return FGBI_OK;
  });
}

FGBI_SESSION_API fgbi_status fgbi_link_set_log(fgbi_link* l, fgbi_log_fn log, void* user) {
  return guarded(l, [&](fgbi::session::Link& x) {
    x.set_log(log, user);
    return FGBI_OK;
  });
}

FGBI_SESSION_API fgbi_status fgbi_link_connect(fgbi_link* l, const char* host, uint16_t port,
                                               fgbi_sync* sync) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.connect(host, port, sync); });
}

FGBI_SESSION_API fgbi_status fgbi_link_begin_epoch(fgbi_link* l, uint64_t* epoch) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.begin_epoch(epoch); });
}

FGBI_SESSION_API fgbi_status fgbi_link_end_epoch(fgbi_link* l) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.end_epoch(); });
}

FGBI_SESSION_API fgbi_status fgbi_link_wait_ack(fgbi_link* l, uint64_t epoch, int64_t timeout_ms) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.wait_ack(epoch, timeout_ms); });
}

FGBI_SESSION_API fgbi_status fgbi_link_epoch_timing(const fgbi_link* l, uint64_t epoch,
                                                    uint64_t* stop_copy_ns, uint64_t* latency_ns) {
  return guarded(l, [&](const fgbi::session::Link& x) {
    return x.epoch_timing(epoch, stop_copy_ns, latency_ns);
  });
}

FGBI_SESSION_API fgbi_status fgbi_link_replica_digest(fgbi_link* l, int64_t timeout_ms,
                                                      uint64_t* epoch, uint64_t* digest) {
  return guarded(
      l, [&](fgbi::session::Link& x) { return x.replica_digest(timeout_ms, epoch, digest); });
}

FGBI_SESSION_API fgbi_status fgbi_link_close(fgbi_link* l) {
  return guarded(l, [&](fgbi::session::Link& x) { return x.close(); });
}

FGBI_SESSION_API fgbi_status fgbi_link_stop(fgbi_link* l) {
  if (l == nullptr) return FGBI_E_NULL_ARGUMENT;
  l->stop();  // async-signal-safe: no allocation, no lock
  return FGBI_OK;
}

FGBI_SESSION_API fgbi_status fgbi_link_get_stat(const fgbi_link* l, fgbi_session_stat stat,
                                                uint64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(l, [&](const fgbi::session::Link& x) { return x.get_stat(stat, value); });
}

FGBI_SESSION_API fgbi_status fgbi_link_last_error(const fgbi_link* l, char* buffer,
                                                  size_t capacity) {
  return guarded(
      l, [&](const fgbi::session::Link& x) { return copy_text(x.last_error(), buffer, capacity); });
}

/* ---- backup ---- */

FGBI_SESSION_API fgbi_status fgbi_backup_create(fgbi_backup** out, fgbi_receiver* receiver) {
  if (out == nullptr || receiver == nullptr) return FGBI_E_NULL_ARGUMENT;
  *out = nullptr;
  const void* memory = nullptr;
  size_t size = 0;
  if (fgbi_receiver_replica(receiver, &memory, &size) != FGBI_E_NO_REPLICA)
    return FGBI_E_WRONG_STAGE;  // the backup maps the replica file itself
  *out = new (std::nothrow) fgbi_backup(receiver);
  return *out ? FGBI_OK : FGBI_E_NO_MEMORY;
}

FGBI_SESSION_API void fgbi_backup_free(fgbi_backup* backup) { delete backup; }

FGBI_SESSION_API fgbi_status fgbi_backup_set_parameter(fgbi_backup* b, fgbi_session_param param,
                                                       int64_t value) {
  return guarded(b, [&](fgbi::session::Backup& x) { return x.set_parameter(param, value); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_get_parameter(const fgbi_backup* b,
                                                       fgbi_session_param param, int64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(b, [&](const fgbi::session::Backup& x) { return x.get_parameter(param, value); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_set_key(fgbi_backup* b, const void* key, size_t size) {
  return guarded(b, [&](fgbi::session::Backup& x) { return x.set_key(key, size); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_set_log(fgbi_backup* b, fgbi_log_fn log, void* user) {
  return guarded(b, [&](fgbi::session::Backup& x) {
    x.set_log(log, user);
    return FGBI_OK;
  });
}

FGBI_SESSION_API fgbi_status fgbi_backup_open_replica(fgbi_backup* b, const char* path) {
  return guarded(b, [&](fgbi::session::Backup& x) { return x.open_replica(path); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_listen(fgbi_backup* b, const char* host, uint16_t port) {
  return guarded(b, [&](fgbi::session::Backup& x) { return x.listen(host, port); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_port(const fgbi_backup* b, uint16_t* port) {
  if (port == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(b, [&](const fgbi::session::Backup& x) {
    *port = x.port();
    return *port != 0 ? FGBI_OK : FGBI_E_WRONG_STAGE;
  });
}

FGBI_SESSION_API fgbi_status fgbi_backup_run(fgbi_backup* b, fgbi_backup_outcome* outcome) {
  return guarded(b, [&](fgbi::session::Backup& x) { return x.run(outcome); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_stop(fgbi_backup* b) {
  if (b == nullptr) return FGBI_E_NULL_ARGUMENT;
  b->stop();  // async-signal-safe: no allocation, no lock
  return FGBI_OK;
}

FGBI_SESSION_API fgbi_status fgbi_backup_get_stat(const fgbi_backup* b, fgbi_session_stat stat,
                                                  uint64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(b, [&](const fgbi::session::Backup& x) { return x.get_stat(stat, value); });
}

FGBI_SESSION_API fgbi_status fgbi_backup_last_error(const fgbi_backup* b, char* buffer,
                                                    size_t capacity) {
  return guarded(b, [&](const fgbi::session::Backup& x) {
    return copy_text(x.last_error(), buffer, capacity);
  });
}

}  // extern "C"
