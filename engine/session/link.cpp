#include "session/link.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace fgbi::session {
namespace {

int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

int refuse_write(void*, const void*, size_t) { return 1; }

}  // namespace

// Cuts the sender's stream into data frames of chunk_bytes and queues them.
class Link::Emitter {
 public:
  explicit Emitter(Link* link)
      : link_(link), chunk_size_(static_cast<size_t>(link->config_.chunk_bytes)) {}

  static int write(void* user, const void* data, size_t size) {
    return static_cast<Emitter*>(user)->append(static_cast<const uint8_t*>(data), size);
  }
  fgbi_status flush() {
    if (chunk_.empty()) return status_;
    return queue_chunk();
  }
  fgbi_status status() const { return status_; }
  uint64_t bytes() const { return bytes_; }
  uint32_t frames() const { return frames_; }

 private:
  int append(const uint8_t* data, size_t size) {
    bytes_ += size;
    while (size > 0) {
      if (chunk_.capacity() == 0) chunk_ = link_->take_buffer();
      const size_t n = std::min(size, chunk_size_ - chunk_.size());
      chunk_.insert(chunk_.end(), data, data + n);
      data += n;
      size -= n;
      if (chunk_.size() == chunk_size_ && queue_chunk() != FGBI_OK) return 1;
    }
    return 0;
  }
  fgbi_status queue_chunk() {
    status_ = link_->enqueue({FrameType::kEpochData, std::move(chunk_)});
    chunk_ = {};
    ++frames_;
    return status_;
  }

  Link* link_;
  size_t chunk_size_;
  std::vector<uint8_t> chunk_;
  fgbi_status status_ = FGBI_OK;
  uint64_t bytes_ = 0;
  uint32_t frames_ = 0;
};

Link::Link(fgbi_sender* sender) : sender_(sender) { random_bytes(stream_); }

Link::~Link() {
  wait_encoded();
  {
    std::lock_guard lock(mutex_);
    encoder_quit_ = true;
  }
  changed_.notify_all();
  if (encoder_.joinable()) encoder_.join();
  disconnect();
}

void Link::wait_encoded() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return encoding_ == 0; });
}

void Link::encoder_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return encoding_ != 0 || encoder_quit_; });
    if (encoding_ == 0) return;
    const uint64_t epoch = encoding_;
    lock.unlock();
    encode_epoch(epoch);
    lock.lock();
    encoding_ = 0;
    changed_.notify_all();
  }
}

fgbi_status Link::set_parameter(fgbi_session_param param, int64_t value) {
  if (conn_) return FGBI_E_WRONG_STAGE;
  return config_.set(Side::kLink, param, value);
}

fgbi_status Link::set_key(const void* key, size_t size) {
  if (conn_) return FGBI_E_WRONG_STAGE;
  return psk_.set(key, size);
}

fgbi_status Link::get_stat(fgbi_session_stat stat, uint64_t* value) const {
  switch (stat) {
    case FGBI_SS_PEERS_REJECTED:
    case FGBI_SS_ROLLBACKS:
    case FGBI_SS_CLOSED: return FGBI_E_PARAM_UNKNOWN;  // backup only
    default: break;
  }
  if (stat < FGBI_SESSION_STAT_FIRST || stat > FGBI_SESSION_STAT_LAST) return FGBI_E_PARAM_UNKNOWN;
  *value = stats_.get(stat);
  return FGBI_OK;
}

void Link::disconnect() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  wake_.notify();
  if (io_.joinable()) io_.join();
  conn_.reset();
  std::lock_guard lock(mutex_);
  quit_ = false;
  connected_ = false;
  queue_.clear();
  queued_bytes_ = 0;
}

fgbi_status Link::handshake(Connection& c, SyncMode* mode, uint64_t* base) {
  const auto deadline = [&] { return after_ms(config_.io_timeout_ms); };
  const bool keyed = !psk_.empty();
  auto refuse = [&](fgbi_status st, const std::string& text) {
    ErrorMessage m{st, text};
    c.send(FrameType::kError, encode(m), after_ms(std::min<int64_t>(config_.io_timeout_ms, 200)),
           nullptr);
    return log_.error(st, text);
  };
  auto read_failed = [&](fgbi_status st, const char* waiting_for) {
    if (st == FGBI_E_STOPPED) return st;
    return log_.error(st, std::string(st == FGBI_E_TIMEOUT        ? "the backup stayed silent; no "
                                      : st == FGBI_E_DISCONNECTED ? "the backup closed the "
                                                                    "connection before its "
                                                                  : "the backup sent garbage "
                                                                    "instead of its ") +
                              waiting_for);
  };
  auto backup_error = [&](const char* during) {
    ErrorMessage e;
    decode(c.payload(), &e);
    const fgbi_status st = e.status == FGBI_E_AUTH_FAILED || e.status == FGBI_E_INCOMPATIBLE
                               ? e.status
                               : FGBI_E_REJECTED;
    return log_.error(st, std::string("the backup refused the session ") + during + ": " + e.text);
  };

  int64_t page = 0, block = 0, pages = 0, digest = 0;
  fgbi_sender_get_parameter(sender_, FGBI_P_PAGE_SIZE, &page);
  fgbi_sender_get_parameter(sender_, FGBI_P_BLOCK_SIZE, &block);
  fgbi_sender_get_parameter(sender_, FGBI_P_TRACKED_PAGES, &pages);
  fgbi_sender_get_parameter(sender_, FGBI_P_DIGEST, &digest);
  Hello hello;
  hello.capabilities = (keyed ? kCapAuth : 0) | (digest ? kCapDigest : 0);
  hello.geometry = {static_cast<uint32_t>(page), static_cast<uint32_t>(block),
                    static_cast<uint64_t>(pages)};
  hello.stream = stream_;
  hello.last_epoch = last_epoch_;
  if (!random_bytes(hello.nonce)) return log_.error(FGBI_E_INTERNAL, "no randomness");
  const std::vector<uint8_t> hello_bytes = encode(hello);
  if (fgbi_status st = c.send(FrameType::kHello, hello_bytes, deadline(), &stop_); st != FGBI_OK)
    return st == FGBI_E_STOPPED ? st : log_.error(st, "cannot send Hello to the backup");

  if (fgbi_status st = c.receive(deadline(), &stop_); st != FGBI_OK)
    return read_failed(st, "Welcome");
  if (c.type() == static_cast<uint8_t>(FrameType::kError)) return backup_error("at Hello");
  if (c.type() != static_cast<uint8_t>(FrameType::kWelcome))
    return read_failed(FGBI_E_PROTOCOL, "Welcome");
  Welcome welcome;
  const std::vector<uint8_t> welcome_bytes(c.payload().begin(), c.payload().end());
  if (fgbi_status st = decode(c.payload(), &welcome); st != FGBI_OK)
    return refuse(st, st == FGBI_E_INCOMPATIBLE ? "unsupported replication protocol version"
                                                : "malformed Welcome");
  if (welcome.geometry != hello.geometry)
    return refuse(FGBI_E_INCOMPATIBLE, "the backup's replica has another geometry");
  if (keyed && !(welcome.capabilities & kCapAuth))
    return refuse(FGBI_E_AUTH_FAILED,
                  "the backup has no key; refusing to replicate to an unauthenticated backup");
  if (!keyed && (welcome.capabilities & kCapAuth))
    return refuse(FGBI_E_AUTH_FAILED,
                  "the backup requires a pre-shared key; this primary has none");
  if (keyed &&
      !equal_constant_time(backup_proof(psk_.mac(), hello_bytes, welcome_bytes), welcome.proof))
    return refuse(FGBI_E_AUTH_FAILED,
                  "the backup failed authentication: its key differs from the primary's (or "
                  "the handshake was altered in flight)");

  // Continue from the backup's epoch when it holds one of this stream's
  // epochs that the sender can rewind to; otherwise start over.
  const bool resume =
      welcome.stream == stream_ && welcome.committed >= 1 && welcome.committed <= last_epoch_;
  Auth auth;
  auth.mode = resume ? SyncMode::kResume : SyncMode::kFull;
  auth.base_epoch = resume ? welcome.committed : 0;
  std::vector<uint8_t> auth_bytes = encode(auth);
  if (keyed) {
    const Mac proof = primary_proof(psk_.mac(), hello_bytes, welcome_bytes, auth_bytes);
    std::copy(proof.begin(), proof.end(), auth_bytes.begin() + kAuthProofOffset);
  }
  if (fgbi_status st = c.send(FrameType::kAuth, auth_bytes, deadline(), &stop_); st != FGBI_OK)
    return st == FGBI_E_STOPPED ? st : log_.error(st, "cannot send Auth to the backup");
  if (keyed) {
    SessionKeys keys;
    if (!derive_session_keys(psk_.mac(), hello.nonce, welcome.nonce, &keys))
      return log_.error(FGBI_E_INTERNAL, "cannot derive session keys");
    c.key(std::move(keys), true);
  }
  if (fgbi_status st = c.receive(deadline(), &stop_); st != FGBI_OK) {
    if (st == FGBI_E_MAC_MISMATCH)
      return log_.error(st, "the backup's Ready failed its MAC (tampered with in flight?)");
    return read_failed(st, "Ready");
  }
  if (c.type() == static_cast<uint8_t>(FrameType::kError)) return backup_error("at Auth");
  Ready ready;
  if (c.type() != static_cast<uint8_t>(FrameType::kReady) || decode(c.payload(), &ready) != FGBI_OK)
    return read_failed(FGBI_E_PROTOCOL, "Ready");
  if (ready.next_epoch != auth.base_epoch + 1)
    return refuse(FGBI_E_PROTOCOL, "the backup expects epoch " + std::to_string(ready.next_epoch) +
                                       " instead of " + std::to_string(auth.base_epoch + 1));
  *mode = auth.mode;
  *base = auth.base_epoch;
  return FGBI_OK;
}

fgbi_status Link::connect(const char* host, uint16_t port, fgbi_sync* sync) {
  if (host == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (open_epoch_ != 0) return FGBI_E_WRONG_STAGE;
  if (stop_.raised()) return FGBI_E_STOPPED;
  if (page_fn_ == nullptr)
    return log_.error(FGBI_E_WRONG_STAGE,
                      "set a page source first: a resynchronisation must read any page");
  wait_encoded();  // the handshake rewinds the sender
  if (config_.heartbeat_ms >= config_.io_timeout_ms)
    return log_.error(FGBI_E_BAD_ARGUMENT, "the heartbeat interval must be below the I/O timeout");
  if (conn_) {
    uint64_t lost = 0;
    {
      std::lock_guard lock(mutex_);
      if (connected_) lost = queued_epoch_ - acked_;
    }
    stats_.add(FGBI_SS_EPOCHS_DISCARDED, lost);
    disconnect();
  }
  const std::string target = std::string(host) + ":" + std::to_string(port);
  Fd fd;
  std::string why;
  if (fgbi_status st = connect_tcp(host, port, after_ms(config_.io_timeout_ms), &stop_, &fd, &why);
      st != FGBI_OK)
    return st == FGBI_E_STOPPED ? st : log_.error(st, why);
  auto c = std::make_unique<Connection>(std::move(fd));
  SyncMode mode = SyncMode::kFull;
  uint64_t base = 0;
  const fgbi_status hs = handshake(*c, &mode, &base);
  stats_.add(FGBI_SS_SOCKET_BYTES, c->bytes_written());
  if (hs != FGBI_OK) return hs;

  if (fgbi_status st = fgbi_sender_rewind(sender_, base); st != FGBI_OK)
    return log_.error(st, "cannot rewind the sender to epoch " + std::to_string(base));
  last_epoch_ = base;
  need_full_ = mode == SyncMode::kFull;
  {
    std::lock_guard lock(mutex_);
    acked_ = base;
    queued_epoch_ = base;
    connected_ = true;
    goodbye_sent_ = false;
    verify_reply_.reset();
  }
  stats_.add(FGBI_SS_CONNECTIONS);
  stats_.add(mode == SyncMode::kResume ? FGBI_SS_RESUMES : FGBI_SS_FULL_SYNCS);
  stats_.set(FGBI_SS_COMMITTED_EPOCH, base);
  conn_ = std::move(c);
  io_ = std::thread([this] { io_loop(); });
  if (sync) *sync = mode == SyncMode::kResume ? FGBI_SYNC_RESUME : FGBI_SYNC_FULL;
  log_.info("connected to backup " + target +
            (mode == SyncMode::kResume ? ": resuming after epoch " + std::to_string(base)
                                       : ": full synchronisation from epoch 1"));
  return FGBI_OK;
}

fgbi_status Link::begin_epoch(uint64_t* epoch) {
  if (stop_.raised()) return FGBI_E_STOPPED;
  if (open_epoch_ != 0) return FGBI_E_WRONG_STAGE;
  wait_encoded();  // the sender is the encoder thread's until then
  // The cost model weighs encode time against the link's real speed.
  const uint64_t link_mbps = config_.link_mbps != 0 ? static_cast<uint64_t>(config_.link_mbps)
                                                    : stats_.get(FGBI_SS_LINK_MBPS);
  if (link_mbps != 0 && link_mbps != sender_link_mbps_ &&
      fgbi_sender_set_parameter(sender_, FGBI_P_LINK_MBPS,
                                static_cast<int64_t>(std::min<uint64_t>(link_mbps, 10000000))) ==
          FGBI_OK)
    sender_link_mbps_ = link_mbps;
  const auto begin = Clock::now();
  uint64_t e = 0;
  if (fgbi_status st = fgbi_sender_begin_epoch(sender_, &e); st != FGBI_OK) return st;
  open_epoch_ = e;
  {
    std::lock_guard lock(mutex_);
    timings_[e % kTimings] = Timing{e, begin, 0, 0};
  }
  if (epoch) *epoch = e;
  return FGBI_OK;
}

fgbi_status Link::add_resync_pages() {
  resync_pfns_.clear();
  if (need_full_) {
    int64_t pages = 0;
    fgbi_sender_get_parameter(sender_, FGBI_P_TRACKED_PAGES, &pages);
    resync_pfns_.resize(static_cast<size_t>(pages));
    for (size_t i = 0; i < resync_pfns_.size(); ++i) resync_pfns_[i] = i;
  } else {
    size_t n = 0;
    fgbi_sender_pending_pages(sender_, nullptr, 0, &n);
    resync_pfns_.resize(n);
    fgbi_sender_pending_pages(sender_, resync_pfns_.data(), n, &n);
  }
  if (resync_pfns_.empty()) return FGBI_OK;
  // Holes: a full synchronisation leaves them out (the backup zeroes what
  // its first epoch does not carry); a page resent after a resume that has
  // become a hole is zeros.
  static constexpr uint8_t kZeroPage[4096] = {};  // FGBI_P_PAGE_SIZE is 4096 only
  resync_pages_.resize(resync_pfns_.size());
  size_t kept = 0;
  for (size_t i = 0; i < resync_pfns_.size(); ++i) {
    const void* page = page_fn_(page_user_, resync_pfns_[i]);
    if (page == nullptr)
      return log_.error(FGBI_E_BAD_ARGUMENT, "the page source cannot read page " +
                                                 std::to_string(resync_pfns_[i]) +
                                                 ", which the backup needs");
    if (page == FGBI_PAGE_HOLE) {
      if (need_full_) continue;
      page = kZeroPage;
    }
    resync_pfns_[kept] = resync_pfns_[i];
    resync_pages_[kept++] = page;
  }
  resync_pfns_.resize(kept);
  resync_pages_.resize(kept);
  if (kept == 0) return FGBI_OK;
  resync_status_.resize(resync_pfns_.size());
  fgbi_sender_add_pages(sender_, resync_pfns_.data(), resync_pages_.data(), resync_pfns_.size(),
                        resync_status_.data());
  for (fgbi_status st : resync_status_)
    if (st != FGBI_OK && st != FGBI_E_DUPLICATE_PFN) return st;  // duplicates: the caller added it
  return FGBI_OK;
}

// Closes the open epoch without sending it; its pages go out with a later one.
fgbi_status Link::drop_epoch(fgbi_status why) {
  fgbi_sender_end_epoch_cb(sender_, refuse_write, nullptr);
  last_epoch_ = open_epoch_;
  open_epoch_ = 0;
  stats_.add(FGBI_SS_EPOCHS_DISCARDED);
  return why;
}

fgbi_status Link::end_epoch() {
  if (open_epoch_ == 0) return FGBI_E_WRONG_STAGE;
  const uint64_t epoch = open_epoch_;
  bool connected;
  uint64_t queued;
  {
    std::lock_guard lock(mutex_);
    connected = connected_;
    queued = queued_epoch_;
  }
  if (!connected) return drop_epoch(FGBI_E_DISCONNECTED);
  if (fgbi_status st = add_resync_pages(); st != FGBI_OK) {
    // The backup will not see this epoch: number the next one after the last queued.
    drop_epoch(st);
    fgbi_sender_rewind(sender_, queued);
    last_epoch_ = queued;
    return st;
  }
  // Captured: the guest may run again while the encoder thread encodes and
  // queues the epoch. The stop-and-copy time ends here.
  uint64_t stop_copy = 0;
  {
    std::lock_guard lock(mutex_);
    Timing& t = timings_[epoch % kTimings];
    t.stop_copy_ns = ns_between(t.begin, Clock::now());
    stop_copy = t.stop_copy_ns;
    encoding_ = epoch;
    if (!encoder_.joinable()) encoder_ = std::thread([this] { encoder_loop(); });
  }
  changed_.notify_all();
  last_epoch_ = epoch;
  open_epoch_ = 0;
  // A failed encode means a lost connection, after which connect() decides.
  need_full_ = false;
  stats_.add(FGBI_SS_STOP_COPY_NS, stop_copy);
  stats_.raise_to(FGBI_SS_STOP_COPY_MAX_NS, stop_copy);
  return FGBI_OK;
}

// Encoder thread: the epoch's stream, cut into frames and queued as the
// sender produces it. An epoch that cannot be queued is lost to the backup
// like one queued before a disconnect: the next connect() rewinds.
void Link::encode_epoch(uint64_t epoch) {
  Emitter emitter(this);
  fgbi_status st = enqueue({FrameType::kEpochBegin, encode_u64(epoch)});
  if (st == FGBI_OK) {
    st = fgbi_sender_end_epoch_cb(sender_, Emitter::write, &emitter);
    if (st == FGBI_E_CALLBACK_FAILED) st = emitter.status();
    if (st == FGBI_OK) st = emitter.flush();
    if (st == FGBI_OK) {
      {
        // Before the End is queued: its ack may come back at once.
        std::lock_guard lock(mutex_);
        queued_epoch_ = epoch;
      }
      st = enqueue(
          {FrameType::kEpochEnd, encode(EpochEnd{epoch, emitter.bytes(), emitter.frames()})});
    }
  } else {
    fgbi_sender_end_epoch_cb(sender_, refuse_write, nullptr);
  }
  if (st != FGBI_OK) {
    stats_.add(FGBI_SS_EPOCHS_DISCARDED);
    if (st != FGBI_E_STOPPED && st != FGBI_E_DISCONNECTED)
      log_.error(st, "epoch " + std::to_string(epoch) + " could not be encoded and queued");
    return;
  }
  stats_.add(FGBI_SS_EPOCHS);
  stats_.add(FGBI_SS_EPOCH_BYTES, emitter.bytes());
}

std::vector<uint8_t> Link::take_buffer() {
  std::vector<uint8_t> b;
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      b = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  b.clear();
  b.reserve(static_cast<size_t>(config_.chunk_bytes));
  return b;
}

fgbi_status Link::enqueue(Outgoing frame, bool even_if_stopped) {
  const size_t size = frame.payload.size();
  const auto limit = static_cast<size_t>(config_.queue_bytes);
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return !connected_ || (!even_if_stopped && stop_.raised()) || queued_bytes_ == 0 ||
             queued_bytes_ + size <= limit;
    });
    if (!connected_) return FGBI_E_DISCONNECTED;
    if (!even_if_stopped && stop_.raised()) return FGBI_E_STOPPED;
    queued_bytes_ += size;
    queue_.push_back(std::move(frame));
  }
  wake_.notify();
  return FGBI_OK;
}

fgbi_status Link::wait_ack(uint64_t epoch, int64_t timeout_ms) {
  const Deadline deadline = after_ms(timeout_ms);
  std::unique_lock lock(mutex_);
  for (;;) {
    if (acked_ >= epoch) return FGBI_OK;
    if (encoding_ != 0 && encoding_ <= epoch) {  // not queued yet: it will be, or be lost
      if (deadline == Deadline::max())
        changed_.wait(lock);
      else if (changed_.wait_until(lock, deadline) == std::cv_status::timeout)
        return FGBI_E_TIMEOUT;
      continue;
    }
    if (stop_.raised()) return FGBI_E_STOPPED;
    if (!connected_) return FGBI_E_DISCONNECTED;
    if (epoch > queued_epoch_) return FGBI_E_BAD_ARGUMENT;  // never sent: would wait forever
    if (deadline == Deadline::max())
      changed_.wait(lock);
    else if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && acked_ < epoch)
      return FGBI_E_TIMEOUT;
  }
}

fgbi_status Link::epoch_timing(uint64_t epoch, uint64_t* stop_copy_ns, uint64_t* latency_ns) const {
  std::lock_guard lock(mutex_);
  const Timing& t = timings_[epoch % kTimings];
  if (epoch == 0 || t.epoch != epoch) return FGBI_E_BAD_ARGUMENT;
  if (stop_copy_ns) *stop_copy_ns = t.stop_copy_ns;
  if (latency_ns) *latency_ns = t.latency_ns;
  return FGBI_OK;
}

fgbi_status Link::replica_digest(int64_t timeout_ms, uint64_t* epoch, uint64_t* digest) {
  if (epoch == nullptr || digest == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (open_epoch_ != 0) return FGBI_E_WRONG_STAGE;
  wait_encoded();  // after every epoch ended so far
  uint64_t request;
  {
    std::lock_guard lock(mutex_);
    request = ++verify_request_;
    verify_reply_.reset();
  }
  if (fgbi_status st = enqueue({FrameType::kVerify, encode_u64(request)}); st != FGBI_OK) return st;
  const Deadline deadline = after_ms(timeout_ms);
  std::unique_lock lock(mutex_);
  for (;;) {
    if (verify_reply_ && verify_reply_->request == request) {
      *epoch = verify_reply_->committed;
      *digest = verify_reply_->digest;
      return FGBI_OK;
    }
    if (stop_.raised()) return FGBI_E_STOPPED;
    if (!connected_) return FGBI_E_DISCONNECTED;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        !(verify_reply_ && verify_reply_->request == request))
      return FGBI_E_TIMEOUT;
  }
}

fgbi_status Link::close() {
  if (open_epoch_ != 0) return FGBI_E_WRONG_STAGE;
  wait_encoded();
  if (!conn_) return FGBI_OK;
  enqueue({FrameType::kBye, encode_u64(last_epoch_)}, true);
  if (io_.joinable()) io_.join();  // it ends once Bye is written, or on failure
  fgbi_status result;
  {
    std::lock_guard lock(mutex_);
    result = goodbye_sent_ ? FGBI_OK : fgbi_status{FGBI_E_DISCONNECTED};
  }
  disconnect();
  if (result == FGBI_OK) log_.info("closed the session after epoch " + std::to_string(last_epoch_));
  return result;
}

void Link::fail(fgbi_status status, const std::string& text) {
  shutdown(conn_->fd(), SHUT_RDWR);  // the backup notices at once
  log_.error(status, text);
  uint64_t lost = 0;
  {
    std::lock_guard lock(mutex_);
    if (connected_) lost = queued_epoch_ - acked_;
    connected_ = false;
    for (Outgoing& o : queue_) spare_.push_back(std::move(o.payload));
    queue_.clear();
    queued_bytes_ = 0;
  }
  changed_.notify_all();
  stats_.add(FGBI_SS_DISCONNECTS);
  stats_.add(FGBI_SS_EPOCHS_DISCARDED, lost);
}

fgbi_status Link::on_incoming(Connection& c) {
  const auto type = static_cast<FrameType>(c.type());
  switch (type) {
    case FrameType::kAck: {
      Ack ack;
      if (decode(c.payload(), &ack) != FGBI_OK) return FGBI_E_PROTOCOL;
      const auto now = Clock::now();
      uint64_t latency = 0;
      {
        std::lock_guard lock(mutex_);
        if (ack.epoch != acked_ + 1 || ack.epoch > queued_epoch_) return FGBI_E_PROTOCOL;
        acked_ = ack.epoch;
        Timing& t = timings_[ack.epoch % kTimings];
        if (t.epoch == ack.epoch) t.latency_ns = latency = ns_between(t.begin, now);
      }
      changed_.notify_all();
      stats_.add(FGBI_SS_EPOCHS_ACKED);
      stats_.set(FGBI_SS_COMMITTED_EPOCH, ack.epoch);
      stats_.add(FGBI_SS_LATENCY_NS, latency);
      stats_.raise_to(FGBI_SS_LATENCY_MAX_NS, latency);
      return FGBI_OK;
    }
    case FrameType::kHeartbeat: {
      uint64_t committed = 0;
      return decode_u64(c.payload(), &committed);
    }
    case FrameType::kVerifyReply: {
      VerifyReply reply;
      if (decode(c.payload(), &reply) != FGBI_OK) return FGBI_E_PROTOCOL;
      {
        std::lock_guard lock(mutex_);
        verify_reply_ = reply;
      }
      changed_.notify_all();
      return FGBI_OK;
    }
    case FrameType::kError: {
      ErrorMessage e;
      if (decode(c.payload(), &e) != FGBI_OK) return FGBI_E_PROTOCOL;
      fail(FGBI_E_REJECTED, std::string("the backup reported ") + fgbi_error_name(e.status) + ": " +
                                e.text + " and closed the connection");
      return FGBI_E_REJECTED;
    }
    default: return FGBI_E_PROTOCOL;
  }
}

// Feeds the link-rate meter; returns whether the kernel still holds bytes
// not yet sent. Only this thread writes, so a queue found non-empty twice
// never ran dry in between, and the bytes that left it show the link's speed.
bool Link::look_at_socket(Connection& c, Clock::time_point now) {
  int queued = 0;
  if (ioctl(c.fd(), TIOCOUTQ, &queued) != 0) return false;
  link_rate_.sample(ns_between(Clock::time_point{}, now),
                    c.bytes_written() - static_cast<uint64_t>(std::max(queued, 0)), queued > 0);
  stats_.set(FGBI_SS_LINK_MBPS, link_rate_.mbps());
  return queued > 0;
}

void Link::io_loop() {
  Connection& c = *conn_;
  const auto io = std::chrono::milliseconds(config_.io_timeout_ms);
  const auto heartbeat = std::chrono::milliseconds(config_.heartbeat_ms);
  auto last_heard = Clock::now();
  auto last_sent = last_heard;
  std::optional<Outgoing> current;  // the frame being written
  OutFrame frame;
  iovec iov[3];
  int iov_first = 0;
  bool stop_seen = false;
  bool draining = false;  // the kernel holds bytes not yet sent
  // After Bye the loop only reads, until the backup closes: closing a socket
  // with unread bytes (the last Ack) sends a reset, which can destroy the
  // Bye and the last EpochEnd before the backup has read them.
  bool bye_written = false;

  for (;;) {
    if (!current) {
      std::unique_lock lock(mutex_);
      if (quit_) return;
      if (!queue_.empty()) {  // empty after Bye: close() enqueues nothing more
        current = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= current->payload.size();
        lock.unlock();
        changed_.notify_all();  // room in the queue
      } else if (!bye_written && Clock::now() >= last_sent + heartbeat) {
        current = Outgoing{FrameType::kHeartbeat, encode_u64(queued_epoch_)};
      }
      if (current) {
        c.build(current->type, current->payload, &frame);
        frame_iov(frame, iov);
        iov_first = 0;
      }
    }
    // The backup heartbeats even while it commits a large epoch, so silence
    // alone tells a dead or cut-off backup from a slow one.
    const Deadline wake =
        current || bye_written ? last_heard + io : std::min(last_heard + io, last_sent + heartbeat);
    // While the kernel drains its queue, look at it often: the link's speed
    // shows in how fast it empties.
    const int timeout = static_cast<int>(std::clamp<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()).count(), 0,
        draining ? kDrainLookMs : 60000));
    pollfd fds[3] = {{c.fd(), static_cast<short>(POLLIN | (current ? POLLOUT : 0)), 0},
                     {wake_.fd(), POLLIN, 0},
                     {stop_seen ? -1 : stop_.fd(), POLLIN, 0}};
    if (!c.has_buffered() && poll(fds, 3, timeout) < 0 && errno != EINTR)
      return fail(FGBI_E_INTERNAL, "poll failed");
    look_at_socket(c, Clock::now());  // before this turn writes more
    if (fds[1].revents) wake_.drain();
    if (fds[2].revents) {
      stop_seen = true;
      std::lock_guard lock(mutex_);  // waiters re-check the stop flag
      changed_.notify_all();
    }
    if (c.has_buffered() || (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      for (int frames = 0; frames < 64; ++frames) {
        bool complete = false;
        const fgbi_status st = c.read_frame(&complete);
        if (st == FGBI_E_DISCONNECTED) {
          if (bye_written) return;  // the backup read Bye and closed: a clean end
          return fail(st, "the backup closed the connection");
        }
        if (st == FGBI_E_MAC_MISMATCH)
          return fail(st, "a frame from the backup failed its MAC (tampered with in flight?)");
        if (st != FGBI_OK) return fail(st, "the backup sent a malformed frame");
        if (!complete) break;
        last_heard = Clock::now();
        if (fgbi_status s = on_incoming(c); s != FGBI_OK) {
          if (s == FGBI_E_REJECTED) return;  // already failed with the backup's reason
          return fail(s, std::string("the backup sent an unexpected ") + frame_type_name(c.type()));
        }
      }
    }
    if (current && (fds[0].revents & POLLOUT)) {
      size_t sent = 0;
      if (send_some(c.fd(), iov + iov_first, 3 - iov_first, &sent) != FGBI_OK)
        return fail(FGBI_E_DISCONNECTED, "the connection to the backup was lost");
      if (sent > 0) {
        c.count_written(sent);
        stats_.add(FGBI_SS_SOCKET_BYTES, sent);
        iov_first += consume_iov(iov + iov_first, 3 - iov_first, sent);
        if (iov_first == 3) {
          last_sent = Clock::now();
          const FrameType type = current->type;
          if (type == FrameType::kEpochData) {
            std::lock_guard lock(mutex_);
            spare_.push_back(std::move(current->payload));
          }
          current.reset();
          if (type == FrameType::kBye) {
            shutdown(c.fd(), SHUT_WR);
            bye_written = true;
            std::lock_guard lock(mutex_);
            connected_ = false;
            goodbye_sent_ = true;
            changed_.notify_all();
          }
        }
      }
    }
    const auto now = Clock::now();
    draining = look_at_socket(c, now);
    if (now >= last_heard + io) {
      if (bye_written) return;  // Bye is out; a mute backup is its own
      return fail(FGBI_E_TIMEOUT, "the backup has been silent for " +
                                      std::to_string(ms_between(last_heard, now)) + " ms");
    }
  }
}

}  // namespace fgbi::session
