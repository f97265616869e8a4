// Test harness for the replication session: a primary (synthetic workload,
// sender, link), a backup running in a thread on a replica file, and a TCP
// proxy between them that cuts, corrupts or stalls the primary's bytes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "workload.hpp"

namespace fgbi::test::net {

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Collects log lines from a link or backup (any thread).
class LogLines {
 public:
  static void sink(void* user, fgbi_log_level level, const char* message);
  std::vector<std::string> lines() const;
  bool contains(const std::string& text) const;
  std::string joined() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

inline const std::string kKeyA = "0123456789abcdef-primary-key-A";
inline const std::string kKeyB = "fedcba9876543210-another-key-B";

struct PrimaryOptions {
  uint64_t pages = 128;
  uint64_t dirty = 24;
  uint64_t seed = 7;
  std::string key;
  int64_t io_timeout_ms = 3000;  // generous: a loaded CI machine stalls processes
  int64_t heartbeat_ms = 50;
  int64_t chunk_bytes = 16384;  // many frames per epoch
};

// A primary: workload memory, a sender and a link. Each epoch applies the
// workload's next writes and replicates the pages they dirtied (plus what a
// resynchronisation needs, which the link adds itself).
class Primary {
 public:
  explicit Primary(const PrimaryOptions& options = {});
  ~Primary();
  fgbi_link* link() { return link_; }
  fgbi_sender* sender() { return sender_; }
  eval::SyntheticWorkload& workload() { return workload_; }
  const LogLines& log() const { return log_; }

  fgbi_status connect(uint16_t port, fgbi_sync* sync = nullptr);
  // Runs one epoch; *epoch gets its number even when sending fails.
  fgbi_status epoch(uint64_t* epoch);
  // epoch() then waits for its ack.
  fgbi_status replicate(uint64_t* epoch = nullptr, int64_t timeout_ms = 5000);
  uint64_t memory_digest() const;
  // Digest of the memory captured by the latest epoch with this number.
  uint64_t digest_of_epoch(uint64_t epoch) const;
  uint64_t stat(fgbi_session_stat stat) const;
  std::string last_error() const;

 private:
  static const void* page(void* user, uint64_t pfn);
  PrimaryOptions options_;
  eval::SyntheticWorkload workload_;
  fgbi_sender* sender_ = nullptr;
  fgbi_link* link_ = nullptr;
  LogLines log_;
  std::map<uint64_t, uint64_t> digests_;
  std::vector<const void*> pages_;
};

struct BackupOptions {
  uint64_t pages = 128;
  std::string key;
  int64_t io_timeout_ms = 3000;
  int64_t heartbeat_ms = 50;
  int64_t failover_ms = 600000;
  bool sync = false;
  int64_t max_epoch_bytes = 0;  // 0: the receiver's default
};

// A backup serving from a thread: fgbi_backup_run until failover or stop.
class BackupRunner {
 public:
  BackupRunner(const std::string& replica, const BackupOptions& options = {});
  ~BackupRunner();
  fgbi_backup* backup() { return backup_; }
  uint16_t port() const { return port_; }
  const LogLines& log() const { return log_; }
  void start();
  // Stops (if still running) and joins; returns the outcome.
  fgbi_backup_outcome stop();
  // Waits for run() to return by itself (failover); false on timeout.
  bool wait_finished(std::chrono::milliseconds timeout);
  fgbi_backup_outcome outcome() const { return outcome_; }
  fgbi_status run_status() const { return run_status_; }
  uint64_t stat(fgbi_session_stat stat) const;
  // Replica content (only meaningful while no epoch is being applied).
  uint64_t replica_digest() const;
  std::vector<uint8_t> replica() const;
  // Waits until every TCP connection it accepted is closed again and at
  // least `accepted` were; false on timeout.
  bool wait_idle(uint64_t accepted, std::chrono::milliseconds timeout) const;

 private:
  fgbi_receiver* receiver_ = nullptr;
  fgbi_backup* backup_ = nullptr;
  uint16_t port_ = 0;
  LogLines log_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  fgbi_backup_outcome outcome_{};
  fgbi_status run_status_ = FGBI_OK;
};

// Forwards one TCP connection at a time from port() to 127.0.0.1:target,
// applying the faults set for the primary -> backup direction. Offsets
// count that direction's bytes on the current connection.
class Proxy {
 public:
  explicit Proxy(uint16_t target);
  ~Proxy();
  uint16_t port() const { return port_; }

  // Forward `offset` bytes, then call on_cut and close both sides.
  void cut_at(uint64_t offset, std::function<void()> on_cut = {});
  // XOR the byte at `offset` with mask.
  void flip_at(uint64_t offset, uint8_t mask);
  // Stop forwarding in both directions (the connections stay open).
  void stall(bool stalled);
  void clear_faults();
  // Records the primary -> backup bytes of each connection.
  std::vector<std::vector<uint8_t>> recorded() const;
  uint64_t connections() const { return connections_.load(); }
  uint64_t cuts() const { return cuts_.load(); }
  // Bytes of the current connection forwarded primary -> backup so far.
  uint64_t forwarded() const { return forwarded_.load(); }
  // Closes the current connection pair (both sides).
  void drop();

 private:
  void loop();
  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> connections_{0}, cuts_{0}, forwarded_{0};
  mutable std::mutex mutex_;
  uint64_t cut_ = UINT64_MAX;
  std::function<void()> on_cut_;
  uint64_t flip_ = UINT64_MAX;
  uint8_t mask_ = 0;
  bool stalled_ = false;
  bool drop_ = false;
  std::vector<std::vector<uint8_t>> recorded_;
};

// A socket listening on 127.0.0.1 at a free port (written to *port).
int listen_loopback(uint16_t* port);

// Model used by the primaries above (deterministic for a seed).
eval::WorkloadModel model(uint64_t pages, uint64_t dirty, uint64_t seed);

}  // namespace fgbi::test::net
