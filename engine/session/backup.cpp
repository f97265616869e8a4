#include "session/backup.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace fgbi::session {
namespace {

std::string describe(const Geometry& g) {
  return std::to_string(g.tracked_pages) + " pages of " + std::to_string(g.page_size) +
         " bytes in " + std::to_string(g.block_size) + "-byte blocks";
}

int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// Sends a heartbeat every interval from its own thread, so that the primary
// hears the backup even while a large epoch is being committed.
class Heartbeat {
 public:
  Heartbeat(Connection& c, std::chrono::milliseconds every, int64_t io_timeout_ms,
            const StopSignal* stop, const SessionStats& stats)
      : thread_([&c, every, io_timeout_ms, stop, &stats, this] {
          std::unique_lock lock(mutex_);
          while (!wake_.wait_for(lock, every, [this] { return done_; })) {
            lock.unlock();
            const fgbi_status st =
                c.send(FrameType::kHeartbeat, encode_u64(stats.get(FGBI_SS_COMMITTED_EPOCH)),
                       after_ms(io_timeout_ms), stop);
            lock.lock();
            if (st != FGBI_OK) return;  // the serving loop sees the broken connection
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

fgbi_status Backup::set_parameter(fgbi_session_param param, int64_t value) {
  if (running_) return FGBI_E_WRONG_STAGE;
  return config_.set(Side::kBackup, param, value);
}

fgbi_status Backup::set_key(const void* key, size_t size) {
  if (running_ || listener_.valid()) return FGBI_E_WRONG_STAGE;
  return psk_.set(key, size);
}

fgbi_status Backup::open_replica(const char* path) {
  if (path == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (store_.is_open()) return FGBI_E_WRONG_STAGE;
  const fgbi_status st = store_.open(path);
  stats_.set(FGBI_SS_COMMITTED_EPOCH, store_.metadata().committed);
  stats_.set(FGBI_SS_ROLLBACKS, store_.rollbacks());
  return st;
}

fgbi_status Backup::listen(const char* host, uint16_t port) {
  if (listener_.valid()) return FGBI_E_WRONG_STAGE;
  const bool keyed = !psk_.empty();
  if (host == nullptr) host = keyed ? "0.0.0.0" : "127.0.0.1";
  if (!keyed && !config_.listen_any && !is_loopback_host(host))
    return log_.error(FGBI_E_NEEDS_KEY, std::string("refusing to listen on ") + host +
                                            " without a key: any host could then feed the "
                                            "replica; give a key or allow it explicitly");
  std::string why;
  if (fgbi_status st = listen_tcp(host, port, &listener_, &port_, &why); st != FGBI_OK)
    return log_.error(st, why);
  log_.info(std::string("listening on ") + host + ":" + std::to_string(port_) +
            (keyed                    ? " (primaries must authenticate with the pre-shared key)"
             : is_loopback_host(host) ? " (no key: loopback only)"
                                      : " (no key: ANY host may connect, unauthenticated)"));
  return FGBI_OK;
}

fgbi_status Backup::get_stat(fgbi_session_stat stat, uint64_t* value) const {
  switch (stat) {
    case FGBI_SS_EPOCHS_ACKED:
    case FGBI_SS_STOP_COPY_NS:
    case FGBI_SS_STOP_COPY_MAX_NS:
    case FGBI_SS_LATENCY_NS:
    case FGBI_SS_LATENCY_MAX_NS: return FGBI_E_PARAM_UNKNOWN;  // primary only
    default: break;
  }
  if (stat < FGBI_SESSION_STAT_FIRST || stat > FGBI_SESSION_STAT_LAST) return FGBI_E_PARAM_UNKNOWN;
  *value = stats_.get(stat);
  return FGBI_OK;
}

void Backup::send_error(Connection& c, fgbi_status status, const std::string& text) {
  ErrorMessage m{status, text};
  c.send(FrameType::kError, encode(m), after_ms(std::min<int64_t>(config_.io_timeout_ms, 200)),
         nullptr);
}

fgbi_status Backup::handshake(Connection& c, const std::string& peer) {
  auto refuse = [&](fgbi_status st, const std::string& text) {
    send_error(c, st, text);
    return log_.error(st, "refused " + peer + ": " + text);
  };
  auto failed_read = [&](fgbi_status st, const char* waiting_for) {
    if (st == FGBI_E_STOPPED) return st;
    return log_.error(st, "refused " + peer + ": " +
                              (st == FGBI_E_TIMEOUT ? std::string("silent while the backup waited "
                                                                  "for its ") +
                                                          waiting_for
                               : st == FGBI_E_DISCONNECTED
                                   ? std::string("closed the connection before its ") + waiting_for
                                   : std::string("sent bytes that are not a ") + waiting_for));
  };

  if (fgbi_status st = c.receive(io_deadline(), &stop_); st != FGBI_OK)
    return failed_read(st, "Hello");
  if (c.type() == static_cast<uint8_t>(FrameType::kError)) {
    ErrorMessage e;
    decode(c.payload(), &e);
    return log_.error(FGBI_E_REJECTED, "refused " + peer + ": it reported " + e.text);
  }
  Hello hello;
  const std::vector<uint8_t> hello_bytes(c.payload().begin(), c.payload().end());
  if (c.type() != static_cast<uint8_t>(FrameType::kHello))
    return failed_read(FGBI_E_PROTOCOL, "Hello");
  if (fgbi_status st = decode(c.payload(), &hello); st != FGBI_OK)
    return refuse(st, st == FGBI_E_INCOMPATIBLE ? "unsupported replication protocol version"
                                                : "malformed Hello");

  const ReplicaMetadata& meta = store_.metadata();
  if (hello.geometry != meta.geometry)
    return refuse(FGBI_E_INCOMPATIBLE, "the primary tracks " + describe(hello.geometry) +
                                           ", the backup's replica " + describe(meta.geometry));
  const bool keyed = !psk_.empty();
  if (keyed && !(hello.capabilities & kCapAuth))
    return refuse(FGBI_E_AUTH_FAILED,
                  "this backup requires a pre-shared key; the primary has none");
  if (!keyed && (hello.capabilities & kCapAuth))
    return refuse(FGBI_E_AUTH_FAILED, "the primary uses a pre-shared key; this backup has none");
  int64_t need_digest = 0;
  fgbi_receiver_get_parameter(receiver_, FGBI_P_DIGEST, &need_digest);
  if (need_digest && !(hello.capabilities & kCapDigest))
    return refuse(FGBI_E_INCOMPATIBLE,
                  "this backup requires the end-to-end digest; the primary sends none");

  Welcome welcome;
  welcome.capabilities = (keyed ? kCapAuth : 0) | (need_digest ? kCapDigest : 0);
  welcome.geometry = meta.geometry;
  welcome.stream = meta.stream;
  welcome.committed = meta.committed;
  if (!random_bytes(welcome.nonce)) return log_.error(FGBI_E_INTERNAL, "no randomness");
  std::vector<uint8_t> welcome_bytes = encode(welcome);
  if (keyed) {
    const Mac proof = backup_proof(psk_.mac(), hello_bytes, welcome_bytes);
    std::copy(proof.begin(), proof.end(), welcome_bytes.begin() + kWelcomeProofOffset);
  }
  if (fgbi_status st = c.send(FrameType::kWelcome, welcome_bytes, io_deadline(), &stop_);
      st != FGBI_OK)
    return st == FGBI_E_STOPPED ? st : log_.error(st, "refused " + peer + ": cannot send Welcome");

  if (fgbi_status st = c.receive(io_deadline(), &stop_); st != FGBI_OK)
    return failed_read(st, "Auth");
  if (c.type() == static_cast<uint8_t>(FrameType::kError)) {
    ErrorMessage e;
    decode(c.payload(), &e);
    return log_.error(e.status == FGBI_E_AUTH_FAILED ? FGBI_E_AUTH_FAILED : FGBI_E_REJECTED,
                      "primary " + peer + " refused the session: " + e.text);
  }
  Auth auth;
  if (c.type() != static_cast<uint8_t>(FrameType::kAuth) || decode(c.payload(), &auth) != FGBI_OK)
    return refuse(FGBI_E_PROTOCOL, "malformed Auth");
  if (keyed) {
    const Mac expected = primary_proof(psk_.mac(), hello_bytes, welcome_bytes, c.payload());
    if (!equal_constant_time(expected, auth.proof))
      return refuse(FGBI_E_AUTH_FAILED,
                    "the primary failed authentication: its key differs from the backup's (or "
                    "the handshake was altered in flight)");
  }
  if (auth.mode == SyncMode::kResume &&
      (hello.stream != meta.stream || auth.base_epoch != meta.committed || meta.committed == 0))
    return refuse(FGBI_E_PROTOCOL, "resume from epoch " + std::to_string(auth.base_epoch) +
                                       " does not match the replica (epoch " +
                                       std::to_string(meta.committed) + ")");
  if (keyed) {
    SessionKeys keys;
    if (!derive_session_keys(psk_.mac(), hello.nonce, welcome.nonce, &keys))
      return log_.error(FGBI_E_INTERNAL, "cannot derive session keys");
    c.key(std::move(keys), false);
  }
  if (fgbi_status st = store_.start_session(auth.mode); st != FGBI_OK)
    return log_.error(st, "cannot prepare the receiver");
  Ready ready{store_.next_epoch()};
  if (fgbi_status st = c.send(FrameType::kReady, encode(ready), io_deadline(), &stop_);
      st != FGBI_OK)
    return st == FGBI_E_STOPPED ? st : log_.error(st, "refused " + peer + ": cannot send Ready");
  stream_ = hello.stream;
  stats_.add(auth.mode == SyncMode::kResume ? FGBI_SS_RESUMES : FGBI_SS_FULL_SYNCS);
  log_.info("primary " + peer + " connected" + (keyed ? " and authenticated" : "") +
            (auth.mode == SyncMode::kResume
                 ? ": resuming after epoch " + std::to_string(auth.base_epoch)
                 : ": full synchronisation from epoch 1"));
  return FGBI_OK;
}

fgbi_status Backup::on_epoch_end(Connection& c) {
  EpochEnd end;
  if (decode(c.payload(), &end) != FGBI_OK || !store_.in_epoch() ||
      end.epoch != store_.next_epoch() || end.bytes != epoch_bytes_ || end.frames != epoch_frames_)
    return FGBI_E_PROTOCOL;
  const auto t0 = Clock::now();
  if (fgbi_status st = store_.commit(config_.sync); st != FGBI_OK) return st;
  Ack ack{end.epoch, ns_between(t0, Clock::now()) / 1000};
  stats_.add(FGBI_SS_EPOCHS);
  stats_.add(FGBI_SS_EPOCH_BYTES, end.bytes);
  stats_.set(FGBI_SS_COMMITTED_EPOCH, end.epoch);
  return c.send(FrameType::kAck, encode(ack), io_deadline(), &stop_);
}

fgbi_status Backup::on_frame(Connection& c, bool* end) {
  const auto type = static_cast<FrameType>(c.type());
  uint64_t value = 0;
  switch (type) {
    case FrameType::kEpochBegin:
      if (decode_u64(c.payload(), &value) != FGBI_OK || store_.in_epoch()) return FGBI_E_PROTOCOL;
      if (value != store_.next_epoch())
        return value < store_.next_epoch() ? FGBI_E_EPOCH_REPLAYED : FGBI_E_EPOCH_GAP;
      epoch_frames_ = 0;
      epoch_bytes_ = 0;
      return store_.begin_epoch(stream_, value);
    case FrameType::kEpochData:
      if (!store_.in_epoch() || c.payload().empty()) return FGBI_E_PROTOCOL;
      ++epoch_frames_;
      epoch_bytes_ += c.payload().size();
      return store_.append(c.payload());
    case FrameType::kEpochEnd: return on_epoch_end(c);
    case FrameType::kHeartbeat: return decode_u64(c.payload(), &value);
    case FrameType::kVerify: {
      if (decode_u64(c.payload(), &value) != FGBI_OK || store_.in_epoch()) return FGBI_E_PROTOCOL;
      VerifyReply reply{value, store_.metadata().committed, store_.replica_digest()};
      return c.send(FrameType::kVerifyReply, encode(reply), io_deadline(), &stop_);
    }
    case FrameType::kBye:
      if (decode_u64(c.payload(), &value) != FGBI_OK) return FGBI_E_PROTOCOL;
      *end = true;
      return FGBI_OK;
    case FrameType::kError: {
      ErrorMessage e;
      if (decode(c.payload(), &e) != FGBI_OK) return FGBI_E_PROTOCOL;
      log_.error(FGBI_E_REJECTED,
                 std::string("the primary reported ") + fgbi_error_name(e.status) + ": " + e.text);
      return FGBI_E_REJECTED;
    }
    default: return FGBI_E_PROTOCOL;
  }
}

Backup::End Backup::serve(Connection& c, const std::string& peer, Clock::time_point* last_heard) {
  End end;
  {
    Heartbeat heartbeat(c, std::chrono::milliseconds(config_.heartbeat_ms), config_.io_timeout_ms,
                        &stop_, stats_);
    end = serve_frames(c, peer, last_heard);
    shutdown(c.fd(), SHUT_RDWR);  // the session is over: no more heartbeats either
  }
  return end;
}

Backup::End Backup::serve_frames(Connection& c, const std::string& peer,
                                 Clock::time_point* last_heard) {
  const auto io = std::chrono::milliseconds(config_.io_timeout_ms);
  const auto failover = std::chrono::milliseconds(config_.failover_ms);
  auto lost = [&](fgbi_status st, const std::string& text) {
    discard_epoch();
    log_.error(st, "primary " + peer + ": " + text + "; the replica stays at epoch " +
                       std::to_string(store_.metadata().committed));
    return End::kLost;
  };
  for (;;) {
    const auto wake = *last_heard + std::min(io, failover);
    fgbi_status waited = FGBI_OK;
    if (stop_.raised())
      waited = FGBI_E_STOPPED;
    else if (!c.has_buffered())  // bytes already read are not seen by poll()
      waited = wait_ready(c.fd(), POLLIN, wake, &stop_);
    if (waited == FGBI_E_STOPPED) {
      discard_epoch();
      return End::kStopped;
    }
    if (waited == FGBI_OK) {
      // Bounded work per wake-up, so that timers still run under a flood.
      for (int frames = 0; frames < 64; ++frames) {
        bool complete = false;
        const uint64_t before = c.bytes_read();
        fgbi_status st = c.read_frame(&complete);
        stats_.add(FGBI_SS_SOCKET_BYTES, c.bytes_read() - before);
        if (st == FGBI_E_DISCONNECTED)
          return lost(st, store_.in_epoch() ? "connection lost in the middle of epoch " +
                                                  std::to_string(store_.next_epoch())
                                            : "connection closed");
        if (st != FGBI_OK) {
          send_error(c, st, st == FGBI_E_MAC_MISMATCH ? "frame failed its MAC" : "malformed frame");
          return lost(st, st == FGBI_E_MAC_MISMATCH
                              ? "a frame failed its MAC (tampered with or corrupted in flight)"
                              : "sent a malformed frame");
        }
        if (!complete) break;
        *last_heard = Clock::now();
        const uint8_t type = c.type();
        bool end = false;
        st = on_frame(c, &end);
        if (st == FGBI_E_STOPPED) {
          discard_epoch();
          return End::kStopped;
        }
        if (st == FGBI_E_IO) {  // the store logged which file and why
          send_error(c, st, "the backup cannot write its replica files; it stops");
          discard_epoch();
          return End::kDiskFault;
        }
        if (st == FGBI_E_DISCONNECTED)  // an answer (Ack, VerifyReply) found no peer
          return lost(st, std::string("connection lost while answering ") + frame_type_name(type));
        if (st != FGBI_OK) {
          int64_t max_epoch = 0;
          fgbi_receiver_get_parameter(receiver_, FGBI_P_MAX_EPOCH_BYTES, &max_epoch);
          const std::string what =
              std::string(frame_type_name(type)) + ": " + fgbi_error_message(st) +
              (st == FGBI_E_LIMIT_EXCEEDED
                   ? " (this backup accepts epochs of up to " + std::to_string(max_epoch >> 20) +
                         " MiB, FGBI_P_MAX_EPOCH_BYTES, `recv --max-epoch-mib`; a full "
                         "synchronisation carries every page of the primary that is not a hole)"
                   : "");
          if (st != FGBI_E_REJECTED) send_error(c, st, what);
          return lost(st, "epoch " + std::to_string(store_.next_epoch()) + " rejected at " + what);
        }
        if (end) {
          discard_epoch();
          log_.info("primary " + peer + " closed the session after epoch " +
                    std::to_string(store_.metadata().committed) + "; no failover");
          return End::kGoodbye;
        }
      }
    }
    const auto now = Clock::now();
    if (now >= *last_heard + failover) {
      discard_epoch();
      log_.warning("primary " + peer + " silent for " +
                   std::to_string(ms_between(*last_heard, now)) + " ms");
      return End::kFailover;
    }
    if (now >= *last_heard + io)
      return lost(FGBI_E_TIMEOUT,
                  "silent for " + std::to_string(ms_between(*last_heard, now)) + " ms");
  }
}

void Backup::discard_epoch() {
  if (store_.in_epoch()) stats_.add(FGBI_SS_EPOCHS_DISCARDED);
  store_.abort_epoch();
}

fgbi_status Backup::finish(fgbi_backup_outcome outcome, fgbi_backup_outcome* out) {
  running_ = false;
  *out = outcome;
  const fgbi_status st = store_.set_state(
      outcome == FGBI_BACKUP_FAILOVER ? ReplicaState::kFailover : ReplicaState::kStopped, true);
  if (st != FGBI_OK) return st;
  const ReplicaMetadata& m = store_.metadata();
  log_.info(std::string(outcome == FGBI_BACKUP_FAILOVER ? "failover: " : "stopped: ") +
            "the replica holds epoch " + std::to_string(m.committed) + " (" +
            digest_text(m.digest) + ")");
  return FGBI_OK;
}

fgbi_status Backup::run(fgbi_backup_outcome* outcome) {
  if (outcome == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (!store_.is_open() || !listener_.valid() || running_) return FGBI_E_WRONG_STAGE;
  if (config_.heartbeat_ms >= config_.io_timeout_ms)
    return log_.error(FGBI_E_BAD_ARGUMENT, "the heartbeat interval must be below the I/O timeout");
  running_ = true;
  bool armed = false;  // a primary was heard and has not said goodbye
  Clock::time_point last_heard;
  const auto failover = std::chrono::milliseconds(config_.failover_ms);
  for (;;) {
    const Deadline deadline = armed ? last_heard + failover : Deadline::max();
    Fd fd;
    std::string peer;
    const fgbi_status st = accept_tcp(listener_.get(), deadline, &stop_, &fd, &peer);
    if (st == FGBI_E_STOPPED) return finish(FGBI_BACKUP_STOPPED, outcome);
    if (st == FGBI_E_TIMEOUT) {
      log_.warning("no primary for " + std::to_string(config_.failover_ms) + " ms");
      return finish(FGBI_BACKUP_FAILOVER, outcome);
    }
    if (st != FGBI_OK) {
      running_ = false;
      return log_.error(st, "cannot accept connections");
    }
    Connection c(std::move(fd));
    const fgbi_status hs = handshake(c, peer);
    stats_.add(FGBI_SS_SOCKET_BYTES, c.bytes_read());
    if (hs != FGBI_OK) {
      stats_.add(FGBI_SS_CLOSED);
      if (hs == FGBI_E_STOPPED) return finish(FGBI_BACKUP_STOPPED, outcome);
      stats_.add(FGBI_SS_PEERS_REJECTED);
      continue;
    }
    stats_.add(FGBI_SS_CONNECTIONS);
    armed = true;
    last_heard = Clock::now();
    const End end = serve(c, peer, &last_heard);
    stats_.add(FGBI_SS_DISCONNECTS);
    stats_.add(FGBI_SS_CLOSED);
    switch (end) {
      case End::kLost: break;
      case End::kGoodbye:
        armed = false;
        if (fgbi_status s = store_.set_state(ReplicaState::kPrimaryClosed, true); s != FGBI_OK) {
          running_ = false;
          return s;
        }
        break;
      case End::kStopped: return finish(FGBI_BACKUP_STOPPED, outcome);
      case End::kFailover: return finish(FGBI_BACKUP_FAILOVER, outcome);
      case End::kDiskFault: {
        // No final metadata either: what is on disk is what a restart needs.
        running_ = false;
        const std::string why = log_.last_error();  // the store's, ending in " [FGBI_E_IO]"
        return log_.error(FGBI_E_IO, "stopped serving: " + why.substr(0, why.rfind(" [")));
      }
    }
  }
}

}  // namespace fgbi::session
