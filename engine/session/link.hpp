// The primary end of a replication session: drives a fgbi_sender. The
// caller's end_epoch returns once the epoch is captured; an encoder thread
// encodes it and queues its stream in bounded chunks for an I/O thread that
// frames, authenticates and sends them while the caller goes on, so the
// first segment is on the wire while later ones are encoded. It tracks the
// backup's acknowledgements; reconnecting rewinds the sender to what the
// backup holds.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "session/connection.hpp"
#include "session/link_rate.hpp"
#include "session/log.hpp"
#include "session/protocol.hpp"
#include "session/session_config.hpp"
#include "session/socket.hpp"

namespace fgbi::session {

class Link {
 public:
  explicit Link(fgbi_sender* sender);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  fgbi_status set_parameter(fgbi_session_param param, int64_t value);
  fgbi_status get_parameter(fgbi_session_param param, int64_t* value) const {
    return config_.get(Side::kLink, param, value);
  }
  fgbi_status set_key(const void* key, size_t size);
  void set_page_source(fgbi_page_fn fn, void* user) {
    page_fn_ = fn;
    page_user_ = user;
  }
  void set_log(fgbi_log_fn fn, void* user) { log_.set_sink(fn, user); }

  fgbi_status connect(const char* host, uint16_t port, fgbi_sync* sync);
  fgbi_status begin_epoch(uint64_t* epoch);
  fgbi_status end_epoch();
  fgbi_status wait_ack(uint64_t epoch, int64_t timeout_ms);
  fgbi_status epoch_timing(uint64_t epoch, uint64_t* stop_copy_ns, uint64_t* latency_ns) const;
  fgbi_status replica_digest(int64_t timeout_ms, uint64_t* epoch, uint64_t* digest);
  fgbi_status close();
  void stop() { stop_.raise(); }
  fgbi_status get_stat(fgbi_session_stat stat, uint64_t* value) const;
  std::string last_error() const { return log_.last_error(); }

 private:
  struct Outgoing {
    FrameType type;
    std::vector<uint8_t> payload;
  };
  struct Timing {
    uint64_t epoch = 0;
    Clock::time_point begin;
    uint64_t stop_copy_ns = 0;
    uint64_t latency_ns = 0;
  };
  static constexpr size_t kTimings = 1024;
  class Emitter;

  fgbi_status handshake(Connection& c, SyncMode* mode, uint64_t* base);
  fgbi_status add_resync_pages();
  fgbi_status drop_epoch(fgbi_status why);
  // Queues a frame; blocks while the queue is full. Fails once the
  // connection is lost, or on stop unless `even_if_stopped`.
  fgbi_status enqueue(Outgoing frame, bool even_if_stopped = false);
  std::vector<uint8_t> take_buffer();
  void disconnect();

  // Caller thread: until no epoch is being encoded (the sender is free).
  void wait_encoded();
  // Encoder thread.
  void encoder_loop();
  void encode_epoch(uint64_t epoch);
  // I/O thread.
  void io_loop();
  bool look_at_socket(Connection& c, Clock::time_point now);
  fgbi_status on_incoming(Connection& c);
  void fail(fgbi_status status, const std::string& text);

  fgbi_sender* sender_;
  SessionConfig config_;
  mutable SessionStats stats_;
  LinkRateMeter link_rate_;               // the I/O thread's
  static constexpr int kDrainLookMs = 2;  // how often it looks while the kernel drains
  uint64_t sender_link_mbps_ = 0;         // last given to the sender
  Log log_;
  StopSignal stop_;
  Wakeup wake_;
  PresharedKey psk_;
  fgbi_page_fn page_fn_ = nullptr;
  void* page_user_ = nullptr;
  StreamId stream_{};

  // Caller thread only.
  uint64_t last_epoch_ = 0;  // last epoch the sender ended (renumbered by rewinds)
  uint64_t open_epoch_ = 0;  // epoch between begin and end; 0 = none
  bool need_full_ = false;   // the next epoch must carry every tracked page
  std::vector<uint64_t> resync_pfns_;
  std::vector<const void*> resync_pages_;
  std::vector<fgbi_status> resync_status_;

  // Shared with the I/O thread, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  std::vector<std::vector<uint8_t>> spare_;  // recycled chunk buffers
  bool connected_ = false;
  bool quit_ = false;
  bool goodbye_sent_ = false;
  uint64_t acked_ = 0;
  uint64_t queued_epoch_ = 0;  // last epoch whose EpochEnd is queued
  std::array<Timing, kTimings> timings_{};
  uint64_t verify_request_ = 0;
  std::optional<VerifyReply> verify_reply_;

  uint64_t encoding_ = 0;  // captured epoch the encoder thread holds; 0 = none
  bool encoder_quit_ = false;

  std::unique_ptr<Connection> conn_;
  std::thread io_;
  std::thread encoder_;
};

}  // namespace fgbi::session
