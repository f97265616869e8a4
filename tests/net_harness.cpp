#include "net_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace fgbi::test::net {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/fgbi-net-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void LogLines::sink(void* user, fgbi_log_level, const char* message) {
  auto* self = static_cast<LogLines*>(user);
  std::lock_guard lock(self->mutex_);
  self->lines_.emplace_back(message);
}

std::vector<std::string> LogLines::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool LogLines::contains(const std::string& text) const {
  std::lock_guard lock(mutex_);
  for (const auto& l : lines_)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

std::string LogLines::joined() const {
  std::string s;
  for (const auto& l : lines()) s += l + "\n";
  return s;
}

eval::WorkloadModel model(uint64_t pages, uint64_t dirty, uint64_t seed) {
  eval::WorkloadModel m;
  m.tracked_pages = pages;
  m.working_set_pages = pages;
  m.dirty_pages = dirty;
  m.seed = seed;
  return m;
}

Primary::Primary(const PrimaryOptions& o)
    : options_(o), workload_(model(o.pages, o.dirty, o.seed)) {
  EXPECT_EQ(fgbi_sender_create(&sender_), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(sender_, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(o.pages)),
            FGBI_OK);
  EXPECT_EQ(fgbi_link_create(&link_, sender_), FGBI_OK);
  EXPECT_EQ(fgbi_link_set_parameter(link_, FGBI_SP_IO_TIMEOUT_MS, o.io_timeout_ms), FGBI_OK);
  EXPECT_EQ(fgbi_link_set_parameter(link_, FGBI_SP_HEARTBEAT_MS, o.heartbeat_ms), FGBI_OK);
  EXPECT_EQ(fgbi_link_set_parameter(link_, FGBI_SP_CHUNK_BYTES, o.chunk_bytes), FGBI_OK);
  if (!o.key.empty()) {
    EXPECT_EQ(fgbi_link_set_key(link_, o.key.data(), o.key.size()), FGBI_OK);
  }
  EXPECT_EQ(fgbi_link_set_page_source(link_, &Primary::page, this), FGBI_OK);
  EXPECT_EQ(fgbi_link_set_log(link_, &LogLines::sink, &log_), FGBI_OK);
}

Primary::~Primary() {
  fgbi_link_free(link_);
  fgbi_sender_free(sender_);
}

const void* Primary::page(void* user, uint64_t pfn) {
  return static_cast<Primary*>(user)->workload_.page(pfn);
}

fgbi_status Primary::connect(uint16_t port, fgbi_sync* sync) {
  return fgbi_link_connect(link_, "127.0.0.1", port, sync);
}

fgbi_status Primary::epoch(uint64_t* epoch) {
  uint64_t e = 0;
  if (fgbi_status st = fgbi_link_begin_epoch(link_, &e); st != FGBI_OK) return st;
  if (epoch) *epoch = e;
  const std::vector<uint64_t>& dirty = workload_.next_epoch();
  pages_.resize(dirty.size());
  for (size_t i = 0; i < dirty.size(); ++i) pages_[i] = workload_.page(dirty[i]);
  EXPECT_EQ(fgbi_sender_add_pages(sender_, dirty.data(), pages_.data(), dirty.size(), nullptr),
            FGBI_OK);
  digests_[e] = memory_digest();
  return fgbi_link_end_epoch(link_);
}

fgbi_status Primary::replicate(uint64_t* epoch, int64_t timeout_ms) {
  uint64_t e = 0;
  if (fgbi_status st = this->epoch(&e); st != FGBI_OK) return st;
  if (epoch) *epoch = e;
  return fgbi_link_wait_ack(link_, e, timeout_ms);
}

uint64_t Primary::memory_digest() const {
  return fgbi_memory_digest(workload_.page(0), workload_.memory_bytes());
}

uint64_t Primary::digest_of_epoch(uint64_t epoch) const {
  const auto it = digests_.find(epoch);
  return it == digests_.end() ? 0 : it->second;
}

uint64_t Primary::stat(fgbi_session_stat stat) const {
  uint64_t v = 0;
  EXPECT_EQ(fgbi_link_get_stat(link_, stat, &v), FGBI_OK) << fgbi_session_stat_name(stat);
  return v;
}

std::string Primary::last_error() const {
  char buffer[512];
  fgbi_link_last_error(link_, buffer, sizeof buffer);
  return buffer;
}

BackupRunner::BackupRunner(const std::string& replica, const BackupOptions& o) {
  EXPECT_EQ(fgbi_receiver_create(&receiver_), FGBI_OK);
  EXPECT_EQ(
      fgbi_receiver_set_parameter(receiver_, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(o.pages)),
      FGBI_OK);
  if (o.max_epoch_bytes != 0) {
    EXPECT_EQ(fgbi_receiver_set_parameter(receiver_, FGBI_P_MAX_EPOCH_BYTES, o.max_epoch_bytes),
              FGBI_OK);
  }
  EXPECT_EQ(fgbi_backup_create(&backup_, receiver_), FGBI_OK);
  EXPECT_EQ(fgbi_backup_set_log(backup_, &LogLines::sink, &log_), FGBI_OK);
  EXPECT_EQ(fgbi_backup_set_parameter(backup_, FGBI_SP_IO_TIMEOUT_MS, o.io_timeout_ms), FGBI_OK);
  EXPECT_EQ(fgbi_backup_set_parameter(backup_, FGBI_SP_HEARTBEAT_MS, o.heartbeat_ms), FGBI_OK);
  EXPECT_EQ(fgbi_backup_set_parameter(backup_, FGBI_SP_FAILOVER_MS, o.failover_ms), FGBI_OK);
  EXPECT_EQ(fgbi_backup_set_parameter(backup_, FGBI_SP_SYNC, o.sync ? 1 : 0), FGBI_OK);
  if (!o.key.empty()) {
    EXPECT_EQ(fgbi_backup_set_key(backup_, o.key.data(), o.key.size()), FGBI_OK);
  }
  EXPECT_EQ(fgbi_backup_open_replica(backup_, replica.c_str()), FGBI_OK) << log_.joined();
  EXPECT_EQ(fgbi_backup_listen(backup_, "127.0.0.1", 0), FGBI_OK) << log_.joined();
  EXPECT_EQ(fgbi_backup_port(backup_, &port_), FGBI_OK);
}

BackupRunner::~BackupRunner() {
  stop();
  fgbi_backup_free(backup_);
  fgbi_receiver_free(receiver_);
}

void BackupRunner::start() {
  finished_ = false;
  thread_ = std::thread([this] {
    run_status_ = fgbi_backup_run(backup_, &outcome_);
    finished_ = true;
  });
}

fgbi_backup_outcome BackupRunner::stop() {
  if (thread_.joinable()) {
    fgbi_backup_stop(backup_);
    thread_.join();
  }
  return outcome_;
}

bool BackupRunner::wait_finished(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!finished_ && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (!finished_) return false;
  thread_.join();
  return true;
}

uint64_t BackupRunner::stat(fgbi_session_stat stat) const {
  uint64_t v = 0;
  EXPECT_EQ(fgbi_backup_get_stat(backup_, stat, &v), FGBI_OK) << fgbi_session_stat_name(stat);
  return v;
}

uint64_t BackupRunner::replica_digest() const {
  const void* memory = nullptr;
  size_t size = 0;
  EXPECT_EQ(fgbi_receiver_replica(receiver_, &memory, &size), FGBI_OK);
  return fgbi_memory_digest(memory, size);
}

std::vector<uint8_t> BackupRunner::replica() const {
  const void* memory = nullptr;
  size_t size = 0;
  EXPECT_EQ(fgbi_receiver_replica(receiver_, &memory, &size), FGBI_OK);
  const auto* p = static_cast<const uint8_t*>(memory);
  return {p, p + size};
}

bool BackupRunner::wait_idle(uint64_t accepted, std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Connections are counted when closed; a backup serving one has not
    // counted it yet, so "closed == accepted" means idle.
    if (stat(FGBI_SS_CLOSED) >= accepted) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int listen_loopback(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// ---- proxy ----

namespace {

int connect_loopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// One direction of a connection pair: bytes read but not yet written.
struct Pipe {
  int from = -1, to = -1;
  std::vector<uint8_t> pending;
  size_t sent = 0;
  bool eof = false;
};

}  // namespace

Proxy::Proxy(uint16_t target) : target_(target) {
  listener_ = listen_loopback(&port_);
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { loop(); });
}

Proxy::~Proxy() {
  quit_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
  thread_.join();
  close(listener_);
  close(wake_);
}

void Proxy::cut_at(uint64_t offset, std::function<void()> on_cut) {
  std::lock_guard lock(mutex_);
  cut_ = offset;
  on_cut_ = std::move(on_cut);
}

void Proxy::flip_at(uint64_t offset, uint8_t mask) {
  std::lock_guard lock(mutex_);
  flip_ = offset;
  mask_ = mask;
}

void Proxy::stall(bool stalled) {
  {
    std::lock_guard lock(mutex_);
    stalled_ = stalled;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
}

void Proxy::clear_faults() {
  std::lock_guard lock(mutex_);
  cut_ = UINT64_MAX;
  flip_ = UINT64_MAX;
  on_cut_ = {};
  stalled_ = false;
}

void Proxy::drop() {
  {
    std::lock_guard lock(mutex_);
    drop_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
}

std::vector<std::vector<uint8_t>> Proxy::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

void Proxy::loop() {
  int client = -1, server = -1;
  Pipe up, down;  // up: primary -> backup
  auto close_pair = [&] {
    if (client >= 0) close(client);
    if (server >= 0) close(server);
    client = server = -1;
    up = Pipe{};
    down = Pipe{};
  };
  while (!quit_) {
    bool stalled;
    {
      std::lock_guard lock(mutex_);
      stalled = stalled_;
      if (drop_) {
        drop_ = false;
        close_pair();
      }
    }
    pollfd fds[6];
    int n = 0;
    fds[n++] = {wake_, POLLIN, 0};
    fds[n++] = {listener_, POLLIN, 0};
    const bool open = client >= 0;
    if (open && !stalled) {
      fds[n++] = {up.from, static_cast<short>(up.pending.empty() && !up.eof ? POLLIN : 0), 0};
      fds[n++] = {up.to, static_cast<short>(up.pending.empty() ? 0 : POLLOUT), 0};
      fds[n++] = {down.from, static_cast<short>(down.pending.empty() && !down.eof ? POLLIN : 0), 0};
      fds[n++] = {down.to, static_cast<short>(down.pending.empty() ? 0 : POLLOUT), 0};
    }
    if (poll(fds, n, 100) < 0) continue;
    if (fds[0].revents) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(wake_, &v, sizeof v);
    }
    if (fds[1].revents & POLLIN) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        const int one = 1;  // small frames (acks) must not wait for Nagle
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        close_pair();  // a reconnecting primary replaces the old pair
        const int up_fd = connect_loopback(target_);
        if (up_fd < 0) {
          close(fd);
        } else {
          client = fd;
          server = up_fd;
          up.from = client;
          up.to = server;
          down.from = server;
          down.to = client;
          forwarded_ = 0;
          ++connections_;
          std::lock_guard lock(mutex_);
          recorded_.emplace_back();
        }
      }
      continue;
    }
    if (!open || stalled) continue;
    bool closed = false;
    for (Pipe* p : {&up, &down}) {
      if (p->pending.empty() && !p->eof) {
        uint8_t buf[65536];
        const ssize_t r = read(p->from, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          p->eof = true;
        } else if (r > 0) {
          p->pending.assign(buf, buf + r);
          p->sent = 0;
          if (p == &up) {
            std::function<void()> on_cut;
            bool cut = false;
            {
              std::lock_guard lock(mutex_);
              const uint64_t start = forwarded_;
              if (flip_ >= start && flip_ < start + static_cast<uint64_t>(r)) {
                p->pending[flip_ - start] ^= mask_;
                flip_ = UINT64_MAX;
              }
              if (cut_ >= start && cut_ < start + static_cast<uint64_t>(r)) {
                p->pending.resize(cut_ - start);
                cut_ = UINT64_MAX;
                on_cut = std::move(on_cut_);
                on_cut_ = {};
                cut = true;
              }
              recorded_.back().insert(recorded_.back().end(), p->pending.begin(), p->pending.end());
            }
            forwarded_ += p->pending.size();
            if (cut) {
              // Deliver the bytes before the cut, then end both sides.
              size_t off = 0;
              while (off < p->pending.size()) {
                const ssize_t w =
                    send(p->to, p->pending.data() + off, p->pending.size() - off, MSG_NOSIGNAL);
                if (w > 0)
                  off += static_cast<size_t>(w);
                else if (w < 0 && errno != EAGAIN && errno != EINTR)
                  break;
                else {
                  pollfd pw{p->to, POLLOUT, 0};
                  poll(&pw, 1, 100);
                }
              }
              if (on_cut) on_cut();
              ++cuts_;
              close_pair();
              closed = true;
              break;
            }
          }
        }
      }
      if (!p->pending.empty()) {
        const ssize_t w =
            send(p->to, p->pending.data() + p->sent, p->pending.size() - p->sent, MSG_NOSIGNAL);
        if (w > 0) {
          p->sent += static_cast<size_t>(w);
          if (p->sent == p->pending.size()) p->pending.clear();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          p->eof = true;
          p->pending.clear();
        }
      }
    }
    if (!closed && up.eof && down.eof && up.pending.empty() && down.pending.empty())
      close_pair();
    else if (!closed && (up.eof || down.eof)) {
      // Pass a half-close on, so that each end sees the other end go away.
      if (up.eof && up.pending.empty()) shutdown(up.to, SHUT_WR);
      if (down.eof && down.pending.empty()) shutdown(down.to, SHUT_WR);
    }
  }
  close_pair();
}

}  // namespace fgbi::test::net
