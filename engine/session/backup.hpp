// The backup end of a replication session: accepts one primary at a time,
// authenticates it, journals and commits its epochs through a ReplicaStore,
// acknowledges them, and declares failover when the primary falls silent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "session/connection.hpp"
#include "session/log.hpp"
#include "session/replica_store.hpp"
#include "session/session_config.hpp"
#include "session/socket.hpp"

namespace fgbi::session {

class Backup {
 public:
  explicit Backup(fgbi_receiver* receiver) : receiver_(receiver), store_(receiver, &log_) {}
  Backup(const Backup&) = delete;
  Backup& operator=(const Backup&) = delete;

  fgbi_status set_parameter(fgbi_session_param param, int64_t value);
  fgbi_status get_parameter(fgbi_session_param param, int64_t* value) const {
    return config_.get(Side::kBackup, param, value);
  }
  fgbi_status set_key(const void* key, size_t size);
  void set_log(fgbi_log_fn fn, void* user) { log_.set_sink(fn, user); }
  fgbi_status open_replica(const char* path);
  fgbi_status listen(const char* host, uint16_t port);
  uint16_t port() const { return port_; }
  fgbi_status run(fgbi_backup_outcome* outcome);
  void stop() { stop_.raise(); }
  fgbi_status get_stat(fgbi_session_stat stat, uint64_t* value) const;
  std::string last_error() const { return log_.last_error(); }

 private:
  // Why serving a primary ended.
  // kDiskFault: the replica's files cannot be written; serving stops
  // rather than accept epochs it cannot keep.
  enum class End { kLost, kGoodbye, kStopped, kFailover, kDiskFault };

  fgbi_status handshake(Connection& c, const std::string& peer);
  End serve(Connection& c, const std::string& peer, Clock::time_point* last_heard);
  End serve_frames(Connection& c, const std::string& peer, Clock::time_point* last_heard);
  // Handles one frame; sets *end when the session is over.
  fgbi_status on_frame(Connection& c, bool* end);
  fgbi_status on_epoch_end(Connection& c);
  // Best effort: tells the peer why, before closing.
  void send_error(Connection& c, fgbi_status status, const std::string& text);
  // Drops the epoch in progress, if any (the replica keeps its epoch).
  void discard_epoch();
  fgbi_status finish(fgbi_backup_outcome outcome, fgbi_backup_outcome* out);
  Deadline io_deadline() const { return after_ms(config_.io_timeout_ms); }

  fgbi_receiver* receiver_;
  Log log_;
  SessionConfig config_;
  SessionStats stats_;
  StopSignal stop_;
  ReplicaStore store_;
  PresharedKey psk_;
  Fd listener_;
  uint16_t port_ = 0;
  bool running_ = false;

  // The session being served.
  StreamId stream_{};
  uint32_t epoch_frames_ = 0;
  uint64_t epoch_bytes_ = 0;
};

}  // namespace fgbi::session
