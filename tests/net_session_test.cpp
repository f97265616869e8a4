// The replication session end to end on loopback: a primary (link) and a
// backup thread, directly or through a proxy that cuts, corrupts and stalls.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "net_harness.hpp"
#include "session/replica_store.hpp"

namespace fgbi::test::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

session::ReplicaMetadata read_metadata(const std::string& replica) {
  std::ifstream in(replica + ".meta");
  std::stringstream text;
  text << in.rdbuf();
  session::ReplicaMetadata m;
  std::string why;
  EXPECT_EQ(session::parse_metadata(text.str(), &m, &why), FGBI_OK) << why;
  return m;
}

int raw_connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Waits until the peer closes fd (reading and dropping whatever it sends).
bool closed_by_peer(int fd, std::chrono::milliseconds within) {
  const auto end = Clock::now() + within;
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) > 0) {
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

struct Pair {
  explicit Pair(const std::string& key = {}, BackupOptions b = {}, PrimaryOptions p = {})
      : backup((b.key = key, dir.file("replica")), b), primary((p.key = key, p)) {
    backup.start();
  }
  TempDir dir;
  BackupRunner backup;
  Primary primary;
};

class NetSessionKeyed : public ::testing::TestWithParam<bool> {
 protected:
  std::string key() const { return GetParam() ? kKeyA : std::string(); }
};

TEST_P(NetSessionKeyed, ReplicatesEpochsWithAcksAndVerifiesTheReplica) {
  Pair pair(key());
  Primary& p = pair.primary;
  fgbi_sync sync{};
  ASSERT_EQ(p.connect(pair.backup.port(), &sync), FGBI_OK) << p.last_error();
  EXPECT_EQ(sync, FGBI_SYNC_FULL);
  for (int i = 0; i < 20; ++i) {
    uint64_t e = 0;
    ASSERT_EQ(p.replicate(&e), FGBI_OK) << p.last_error();
    ASSERT_EQ(e, uint64_t(i + 1));
    uint64_t stop_copy = 0, latency = 0;
    ASSERT_EQ(fgbi_link_epoch_timing(p.link(), e, &stop_copy, &latency), FGBI_OK);
    EXPECT_GT(stop_copy, 0u);
    EXPECT_GE(latency, stop_copy);
  }
  uint64_t epoch = 0, digest = 0;
  ASSERT_EQ(fgbi_link_replica_digest(p.link(), 5000, &epoch, &digest), FGBI_OK);
  EXPECT_EQ(epoch, 20u);
  EXPECT_EQ(digest, p.memory_digest());
  EXPECT_EQ(pair.backup.replica_digest(), p.memory_digest());
  EXPECT_EQ(p.stat(FGBI_SS_EPOCHS), 20u);
  EXPECT_EQ(p.stat(FGBI_SS_EPOCHS_ACKED), 20u);
  EXPECT_EQ(p.stat(FGBI_SS_FULL_SYNCS), 1u);
  EXPECT_EQ(p.stat(FGBI_SS_COMMITTED_EPOCH), 20u);
  EXPECT_GT(p.stat(FGBI_SS_SOCKET_BYTES), p.stat(FGBI_SS_EPOCH_BYTES));
  EXPECT_EQ(pair.backup.stat(FGBI_SS_EPOCHS), 20u);
  EXPECT_EQ(pair.backup.stat(FGBI_SS_EPOCH_BYTES), p.stat(FGBI_SS_EPOCH_BYTES));
  EXPECT_EQ(pair.backup.stat(FGBI_SS_COMMITTED_EPOCH), 20u);
  EXPECT_EQ(fgbi_link_close(p.link()), FGBI_OK);
  EXPECT_EQ(pair.backup.stop(), FGBI_BACKUP_STOPPED);
  const session::ReplicaMetadata m = read_metadata(pair.dir.file("replica"));
  EXPECT_EQ(m.committed, 20u);
  EXPECT_EQ(m.state, session::ReplicaState::kStopped);
  ASSERT_TRUE(m.has_digest);
  EXPECT_EQ(m.digest, p.memory_digest());
  if (GetParam()) {
    EXPECT_TRUE(pair.backup.log().contains("authenticated")) << pair.backup.log().joined();
  }
}

// Epochs queued back to back (the VM runs on) are sent and acknowledged in
// order; each one's latency covers its wait in the queue.
TEST_P(NetSessionKeyed, PipelinedEpochsAreAcknowledgedInOrder) {
  Pair pair(key());
  Primary& p = pair.primary;
  ASSERT_EQ(p.connect(pair.backup.port()), FGBI_OK) << p.last_error();
  std::vector<uint64_t> epochs(12);
  for (auto& e : epochs) ASSERT_EQ(p.epoch(&e), FGBI_OK) << p.last_error();
  ASSERT_EQ(fgbi_link_wait_ack(p.link(), epochs.back(), 5000), FGBI_OK) << p.last_error();
  for (uint64_t e : epochs) {
    uint64_t latency = 0;
    ASSERT_EQ(fgbi_link_epoch_timing(p.link(), e, nullptr, &latency), FGBI_OK);
    EXPECT_GT(latency, 0u) << e;
  }
  EXPECT_EQ(pair.backup.replica_digest(), p.memory_digest());
  EXPECT_EQ(fgbi_link_wait_ack(p.link(), epochs.back() + 1, 10), FGBI_E_BAD_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(KeyAndNoKey, NetSessionKeyed, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Key" : "NoKey"; });

TEST(NetSession, WithoutKeyTheBackupListensOnLoopbackOnly) {
  TempDir dir;
  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ASSERT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, 16), FGBI_OK);
  for (int variant = 0; variant < 4; ++variant) {
    fgbi_backup* b = nullptr;
    ASSERT_EQ(fgbi_backup_create(&b, r), FGBI_OK);
    LogLines log;
    fgbi_backup_set_log(b, &LogLines::sink, &log);
    if (variant == 0) {
      EXPECT_EQ(fgbi_backup_listen(b, "0.0.0.0", 0), FGBI_E_NEEDS_KEY);
      EXPECT_TRUE(log.contains("without a key")) << log.joined();
    } else if (variant == 1) {
      ASSERT_EQ(fgbi_backup_listen(b, nullptr, 0), FGBI_OK);
      EXPECT_TRUE(log.contains("listening on 127.0.0.1:")) << log.joined();
      EXPECT_TRUE(log.contains("loopback only")) << log.joined();
    } else if (variant == 2) {
      ASSERT_EQ(fgbi_backup_set_parameter(b, FGBI_SP_LISTEN_ANY, 1), FGBI_OK);
      ASSERT_EQ(fgbi_backup_listen(b, "0.0.0.0", 0), FGBI_OK);
      EXPECT_TRUE(log.contains("ANY host may connect")) << log.joined();
    } else {
      ASSERT_EQ(fgbi_backup_set_key(b, kKeyA.data(), kKeyA.size()), FGBI_OK);
      ASSERT_EQ(fgbi_backup_listen(b, nullptr, 0), FGBI_OK);
      EXPECT_TRUE(log.contains("listening on 0.0.0.0:")) << log.joined();
      EXPECT_TRUE(log.contains("must authenticate")) << log.joined();
    }
    fgbi_backup_free(b);
  }
  fgbi_receiver_free(r);
}

TEST(NetSession, KeyMismatchesAreRefusedWithAClearError) {
  struct Case {
    std::string primary_key, backup_key;
    const char* backup_says;
  };
  const Case cases[] = {
      {kKeyA, kKeyB, "failed authentication"},
      {"", kKeyA, "requires a pre-shared key"},
      {kKeyA, "", "the primary uses a pre-shared key"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    BackupOptions bo;
    bo.key = c.backup_key;
    BackupRunner backup(dir.file("replica"), bo);
    backup.start();
    const uint64_t before = backup.replica_digest();
    PrimaryOptions po;
    po.key = c.primary_key;
    Primary p(po);
    EXPECT_EQ(p.connect(backup.port()), FGBI_E_AUTH_FAILED) << p.last_error();
    ASSERT_TRUE(backup.wait_idle(1, 3s));
    EXPECT_TRUE(backup.log().contains(c.backup_says)) << backup.log().joined();
    EXPECT_EQ(backup.stat(FGBI_SS_PEERS_REJECTED), 1u);
    EXPECT_EQ(backup.stat(FGBI_SS_CONNECTIONS), 0u);
    EXPECT_EQ(backup.replica_digest(), before);
    EXPECT_NE(p.last_error().find("FGBI_E_AUTH_FAILED"), std::string::npos) << p.last_error();
  }
}

// Strangers' bytes never get past the handshake, never crash or block the
// backup, and a real primary is served right after.
TEST(NetSession, GarbagePeersAreRefusedAndServiceContinues) {
  BackupOptions bo;
  bo.io_timeout_ms = 300;
  Pair pair(kKeyA, bo);
  std::mt19937_64 rng(5);
  std::vector<std::vector<uint8_t>> garbage;
  for (size_t n : {1, 7, 8, 100, 5000}) {
    std::vector<uint8_t> g(n);
    for (auto& b : g) b = static_cast<uint8_t>(rng());
    garbage.push_back(g);
  }
  garbage.push_back({17, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f});     // a data frame of 2 GiB
  garbage.push_back({1, 0, 0, 0, 96, 0, 0, 0, 'N', 'O', 'T'});  // a Hello of the wrong magic
  std::vector<uint8_t> http(32);
  std::memcpy(http.data(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 28);
  garbage.push_back(http);
  for (const auto& g : garbage) {
    const int fd = raw_connect(pair.backup.port());
    ASSERT_EQ(send(fd, g.data(), g.size(), MSG_NOSIGNAL), static_cast<ssize_t>(g.size()));
    EXPECT_TRUE(closed_by_peer(fd, 2s)) << "garbage of " << g.size() << " bytes";
    close(fd);
  }
  ASSERT_TRUE(pair.backup.wait_idle(garbage.size(), 3s));
  EXPECT_EQ(pair.backup.stat(FGBI_SS_PEERS_REJECTED), garbage.size());
  Primary& p = pair.primary;
  ASSERT_EQ(p.connect(pair.backup.port()), FGBI_OK) << p.last_error();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK) << p.last_error();
  EXPECT_EQ(pair.backup.replica_digest(), p.memory_digest());
}

// A peer that connects and says nothing, or half a Hello, is dropped after
// the I/O timeout; a backup that never answers times the primary out.
TEST(NetSession, StallingPeersTimeOut) {
  BackupOptions bo;
  bo.io_timeout_ms = 200;
  Pair pair({}, bo);
  for (size_t sent : {0, 5, 40}) {
    const int fd = raw_connect(pair.backup.port());
    const std::vector<uint8_t> hello_start = {1,    0,    0,    0,    96,   0,    0,    0,
                                              0x46, 0x47, 0x42, 0x49, 0x52, 0x45, 0x50, 0x4C};
    std::vector<uint8_t> part(hello_start.begin(),
                              hello_start.begin() + std::min(sent, hello_start.size()));
    part.resize(sent, 0);
    if (sent) {
      ASSERT_EQ(send(fd, part.data(), part.size(), MSG_NOSIGNAL), ssize_t(sent));
    }
    const auto t0 = Clock::now();
    EXPECT_TRUE(closed_by_peer(fd, 3s));
    const auto waited = Clock::now() - t0;
    EXPECT_GE(waited, 150ms);
    EXPECT_LT(waited, 2s);
    close(fd);
  }
  EXPECT_TRUE(pair.backup.log().contains("silent while the backup waited"))
      << pair.backup.log().joined();

  // A "backup" that accepts and never speaks.
  uint16_t mute_port = 0;
  const int mute = listen_loopback(&mute_port);
  ASSERT_GE(mute, 0);
  PrimaryOptions po;
  po.io_timeout_ms = 200;
  Primary p(po);
  const auto t0 = Clock::now();
  EXPECT_EQ(p.connect(mute_port), FGBI_E_TIMEOUT) << p.last_error();
  EXPECT_LT(Clock::now() - t0, 2s);
  // The timed-out connection is still queued: take it off first.
  close(accept(mute, nullptr, nullptr));
  // One that answers garbage.
  std::thread garbage_backup([&] {
    const int fd = accept(mute, nullptr, nullptr);
    char buf[256];
    [[maybe_unused]] ssize_t n = recv(fd, buf, sizeof buf, 0);
    std::vector<uint8_t> junk = {2, 0, 0, 0, 128, 0, 0, 0};  // a Welcome of the right size...
    junk.resize(8 + 128, 'x');                               // ...that is not one
    n = send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    closed_by_peer(fd, 2s);
    close(fd);
  });
  EXPECT_EQ(p.connect(mute_port), FGBI_E_PROTOCOL) << p.last_error();
  EXPECT_NE(p.last_error().find("malformed Welcome"), std::string::npos) << p.last_error();
  garbage_backup.join();
  close(mute);
}

TEST(NetSession, StopInterruptsBlockingCalls) {
  // The backup's run() and a link stuck connecting both return promptly.
  Pair pair;
  std::this_thread::sleep_for(20ms);
  auto t0 = Clock::now();
  EXPECT_EQ(pair.backup.stop(), FGBI_BACKUP_STOPPED);
  EXPECT_LT(Clock::now() - t0, 1s);

  uint16_t mute_port = 0;
  const int mute = listen_loopback(&mute_port);
  ASSERT_GE(mute, 0);
  PrimaryOptions po;
  po.io_timeout_ms = 10000;
  Primary p(po);
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    fgbi_link_stop(p.link());
  });
  t0 = Clock::now();
  EXPECT_EQ(p.connect(mute_port), FGBI_E_STOPPED);
  EXPECT_LT(Clock::now() - t0, 2s);
  stopper.join();
  EXPECT_EQ(fgbi_link_begin_epoch(p.link(), nullptr), FGBI_E_STOPPED);
  close(mute);
}

// The backup keeps its replica at the last committed epoch whatever the
// connection does; checked after every disruption.
void expect_committed_state(BackupRunner& backup, const Primary& p) {
  const uint64_t committed = backup.stat(FGBI_SS_COMMITTED_EPOCH);
  if (committed == 0) return;
  EXPECT_EQ(backup.replica_digest(), p.digest_of_epoch(committed)) << "epoch " << committed;
}

// Connects (again), retrying while the handshake itself is disrupted.
fgbi_status reconnect(Primary& p, uint16_t port, fgbi_sync* sync) {
  fgbi_status st = FGBI_OK;
  for (int attempt = 0; attempt < 20; ++attempt) {
    st = p.connect(port, sync);
    if (st == FGBI_OK) return st;
    std::this_thread::sleep_for(5ms);
  }
  return st;
}

// Cuts the connection at random points of the stream; each reconnect
// continues from the backup's committed epoch.
TEST(NetSession, DroppedConnectionsResumeFromTheCommittedEpoch) {
  BackupOptions bo;
  bo.io_timeout_ms = 500;
  Pair pair(kKeyA, bo);
  Proxy proxy(pair.backup.port());
  Primary& p = pair.primary;
  std::mt19937_64 rng(11);
  fgbi_sync sync{};
  ASSERT_EQ(p.connect(proxy.port(), &sync), FGBI_OK) << p.last_error();
  ASSERT_EQ(sync, FGBI_SYNC_FULL);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK);
  constexpr int kTrials = 40;
  int resumed = 0, extra_reconnects = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    proxy.cut_at(proxy.forwarded() + rng() % 60000);
    for (int i = 0; i < 50 && proxy.cuts() == uint64_t(trial); ++i) {
      if (p.replicate() == FGBI_OK) continue;
      if (proxy.cuts() != uint64_t(trial)) break;
      // Not the cut: a stall of a loaded machine. Resume as well.
      ASSERT_EQ(reconnect(p, proxy.port(), &sync), FGBI_OK);
      EXPECT_EQ(sync, FGBI_SYNC_RESUME);
      ++extra_reconnects;
    }
    ASSERT_EQ(proxy.cuts(), uint64_t(trial + 1));
    ASSERT_TRUE(pair.backup.wait_idle(proxy.connections(), 3s));
    expect_committed_state(pair.backup, p);
    ASSERT_EQ(reconnect(p, proxy.port(), &sync), FGBI_OK) << p.last_error();
    resumed += sync == FGBI_SYNC_RESUME;
  }
  EXPECT_EQ(resumed, kTrials);
  // The backup counts a session after sending Ready, so its counters are read
  // once it has acknowledged epochs of the last session.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK) << p.last_error();
  EXPECT_EQ(pair.backup.stat(FGBI_SS_RESUMES), uint64_t(kTrials + extra_reconnects));
  EXPECT_EQ(pair.backup.stat(FGBI_SS_FULL_SYNCS), 1u);
  EXPECT_GE(pair.backup.stat(FGBI_SS_EPOCHS_DISCARDED), 1u);
  EXPECT_EQ(pair.backup.replica_digest(), p.memory_digest());
}

// A primary whose state does not match the backup's replica (another
// stream) resynchronises everything; so does the old one afterwards.
TEST(NetSession, AnotherPrimaryResynchronisesFully) {
  Pair pair(kKeyA);
  Primary& a = pair.primary;
  fgbi_sync sync{};
  ASSERT_EQ(a.connect(pair.backup.port(), &sync), FGBI_OK);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(a.replicate(), FGBI_OK);
  ASSERT_EQ(fgbi_link_close(a.link()), FGBI_OK);

  PrimaryOptions po;
  po.key = kKeyA;
  po.seed = 99;  // other memory
  Primary b(po);
  ASSERT_EQ(b.connect(pair.backup.port(), &sync), FGBI_OK) << b.last_error();
  EXPECT_EQ(sync, FGBI_SYNC_FULL);
  uint64_t e = 0;
  ASSERT_EQ(b.replicate(&e), FGBI_OK);
  EXPECT_EQ(e, 1u);
  EXPECT_EQ(pair.backup.replica_digest(), b.memory_digest());
  ASSERT_EQ(b.replicate(), FGBI_OK);
  ASSERT_EQ(fgbi_link_close(b.link()), FGBI_OK);

  ASSERT_EQ(a.connect(pair.backup.port(), &sync), FGBI_OK);
  EXPECT_EQ(sync, FGBI_SYNC_FULL);
  ASSERT_EQ(a.replicate(), FGBI_OK);
  EXPECT_EQ(pair.backup.replica_digest(), a.memory_digest());
  EXPECT_EQ(pair.backup.stat(FGBI_SS_FULL_SYNCS), 3u);
}

// A backup restarted on the same files resumes the stream from its metadata.
TEST(NetSession, RestartedBackupResumesFromItsFiles) {
  TempDir dir;
  BackupOptions bo;
  bo.key = kKeyA;
  PrimaryOptions po;
  po.key = kKeyA;
  Primary p(po);
  {
    BackupRunner backup(dir.file("replica"), bo);
    backup.start();
    ASSERT_EQ(p.connect(backup.port()), FGBI_OK);
    for (int i = 0; i < 6; ++i) ASSERT_EQ(p.replicate(), FGBI_OK);
    backup.stop();
  }
  BackupRunner backup(dir.file("replica"), bo);
  EXPECT_EQ(backup.stat(FGBI_SS_COMMITTED_EPOCH), 6u);
  backup.start();
  fgbi_sync sync{};
  ASSERT_EQ(p.connect(backup.port(), &sync), FGBI_OK) << p.last_error();
  EXPECT_EQ(sync, FGBI_SYNC_RESUME);
  uint64_t e = 0;
  ASSERT_EQ(p.replicate(&e), FGBI_OK);
  EXPECT_EQ(e, 7u);
  EXPECT_EQ(backup.replica_digest(), p.memory_digest());
}

// Bytes flipped in flight: with a key every one after the handshake fails
// a MAC; without one the wire format's checksums catch what matters. The
// replica only ever holds committed epochs, and the session recovers.
void corrupt_in_flight(const std::string& key, int trials, uint64_t seed) {
  BackupOptions bo;
  bo.io_timeout_ms = 300;
  PrimaryOptions po;
  po.io_timeout_ms = 300;
  po.key = key;
  bo.key = key;
  TempDir dir;
  BackupRunner backup(dir.file("replica"), bo);
  backup.start();
  Proxy proxy(backup.port());
  Primary p(po);
  std::mt19937_64 rng(seed);
  ASSERT_EQ(p.connect(proxy.port()), FGBI_OK) << p.last_error();
  ASSERT_EQ(p.replicate(), FGBI_OK);
  int detected = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const uint64_t connections = proxy.connections();
    proxy.flip_at(proxy.forwarded() + rng() % 30000, static_cast<uint8_t>(1u << (rng() % 8)));
    bool failed = false;
    for (int i = 0; i < 20 && !failed; ++i) failed = p.replicate(nullptr, 2000) != FGBI_OK;
    proxy.clear_faults();
    if (!failed) continue;  // e.g. a flipped heartbeat payload without a key
    ++detected;
    ASSERT_TRUE(backup.wait_idle(connections, 3s));
    expect_committed_state(backup, p);
    ASSERT_EQ(reconnect(p, proxy.port(), nullptr), FGBI_OK) << p.last_error();
  }
  if (!key.empty()) {
    EXPECT_EQ(detected, trials);
  } else {
    EXPECT_GE(detected, trials / 2);
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK) << p.last_error();
  EXPECT_EQ(backup.replica_digest(), p.memory_digest());
  std::printf(
      "[ figures  ] %d flips%s: %d broke the session, replica always at a committed epoch\n",
      trials, key.empty() ? " without key" : " with key", detected);
}

TEST(NetSession, CorruptedBytesFailTheMac) { corrupt_in_flight(kKeyA, 60, 21); }
TEST(NetSession, CorruptedBytesWithoutKeyFailChecksums) { corrupt_in_flight({}, 60, 22); }

// A session's recorded bytes replayed into a new connection fail: the
// backup's fresh nonce changes every proof and key.
TEST(NetSession, ReplayedSessionIsRejected) {
  Pair pair(kKeyA);
  Proxy proxy(pair.backup.port());
  Primary& p = pair.primary;
  ASSERT_EQ(p.connect(proxy.port()), FGBI_OK);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK);
  ASSERT_EQ(fgbi_link_close(p.link()), FGBI_OK);
  ASSERT_TRUE(pair.backup.wait_idle(1, 3s));
  const auto recorded = proxy.recorded();
  ASSERT_EQ(recorded.size(), 1u);
  const uint64_t before = pair.backup.replica_digest();
  const int fd = raw_connect(pair.backup.port());
  send(fd, recorded[0].data(), recorded[0].size(), MSG_NOSIGNAL);
  EXPECT_TRUE(closed_by_peer(fd, 3s));
  close(fd);
  ASSERT_TRUE(pair.backup.wait_idle(2, 3s));
  EXPECT_TRUE(pair.backup.log().contains("failed authentication")) << pair.backup.log().joined();
  EXPECT_EQ(pair.backup.replica_digest(), before);
  EXPECT_EQ(pair.backup.stat(FGBI_SS_EPOCHS), 3u);
}

// A stalled path (both directions silent) is noticed by both ends within
// the I/O timeout; the link then resumes over a working path.
TEST(NetSession, StalledPathIsDetectedThenResumed) {
  BackupOptions bo;
  bo.io_timeout_ms = 600;
  PrimaryOptions po;
  po.io_timeout_ms = 600;
  Pair pair({}, bo, po);
  Proxy proxy(pair.backup.port());
  Primary& p = pair.primary;
  ASSERT_EQ(p.connect(proxy.port()), FGBI_OK);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p.replicate(), FGBI_OK);
  proxy.stall(true);
  uint64_t e = 0;
  const auto t0 = Clock::now();
  const fgbi_status st = p.replicate(&e, 10000);
  EXPECT_EQ(st, FGBI_E_DISCONNECTED) << fgbi_error_name(st);
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_NE(p.last_error().find("silent"), std::string::npos) << p.last_error();
  ASSERT_TRUE(pair.backup.wait_idle(1, 3s));
  EXPECT_TRUE(pair.backup.log().contains("silent for")) << pair.backup.log().joined();
  proxy.stall(false);
  fgbi_sync sync{};
  ASSERT_EQ(p.connect(proxy.port(), &sync), FGBI_OK) << p.last_error();
  EXPECT_EQ(sync, FGBI_SYNC_RESUME);
  ASSERT_EQ(p.replicate(), FGBI_OK);
  EXPECT_EQ(pair.backup.replica_digest(), p.memory_digest());
}

// The primary vanishes: after the failover silence the backup leaves the
// replica at the last committed epoch with metadata that says so.
TEST(NetSession, FailoverAfterThePrimaryFallsSilent) {
  BackupOptions bo;
  bo.failover_ms = 800;
  bo.io_timeout_ms = 500;
  Pair pair(kKeyA, bo);
  auto primary = std::make_unique<Primary>([] {
    PrimaryOptions po;
    po.key = kKeyA;
    return po;
  }());
  ASSERT_EQ(primary->connect(pair.backup.port()), FGBI_OK);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(primary->replicate(), FGBI_OK);
  const uint64_t expected = primary->memory_digest();
  const auto t0 = Clock::now();
  primary.reset();  // no goodbye: as if the primary died
  ASSERT_TRUE(pair.backup.wait_finished(5s));
  const auto waited = Clock::now() - t0;
  EXPECT_EQ(pair.backup.run_status(), FGBI_OK);
  EXPECT_EQ(pair.backup.outcome(), FGBI_BACKUP_FAILOVER);
  EXPECT_GE(waited, 750ms);
  EXPECT_LT(waited, 5s);
  const session::ReplicaMetadata m = read_metadata(pair.dir.file("replica"));
  EXPECT_EQ(m.state, session::ReplicaState::kFailover);
  EXPECT_EQ(m.committed, 5u);
  ASSERT_TRUE(m.has_digest);
  EXPECT_EQ(m.digest, expected);
  EXPECT_EQ(pair.backup.replica_digest(), expected);
  std::ifstream file(pair.dir.file("replica"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(fgbi_memory_digest(bytes.data(), bytes.size()), expected);
}

// A goodbye is no failure: the backup keeps waiting for a primary.
TEST(NetSession, GoodbyeMeansNoFailover) {
  BackupOptions bo;
  bo.failover_ms = 400;
  Pair pair({}, bo);
  Primary& p = pair.primary;
  ASSERT_EQ(p.connect(pair.backup.port()), FGBI_OK);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(p.replicate(), FGBI_OK);
  ASSERT_EQ(fgbi_link_close(p.link()), FGBI_OK);
  EXPECT_FALSE(pair.backup.wait_finished(1000ms));  // 2.5 failover silences
  EXPECT_TRUE(pair.backup.log().contains("no failover")) << pair.backup.log().joined();
  const session::ReplicaMetadata m = read_metadata(pair.dir.file("replica"));
  EXPECT_EQ(m.state, session::ReplicaState::kPrimaryClosed);
  EXPECT_EQ(m.committed, 2u);
  EXPECT_EQ(pair.backup.stop(), FGBI_BACKUP_STOPPED);
  EXPECT_EQ(fgbi_link_end_epoch(p.link()), FGBI_E_WRONG_STAGE);
  EXPECT_EQ(fgbi_link_wait_ack(p.link(), 3, 10), FGBI_E_DISCONNECTED);
}

// Geometry and digest settings must agree; the backup says which differs.
TEST(NetSession, IncompatiblePrimaryIsRefused) {
  Pair pair;
  PrimaryOptions po;
  po.pages = 64;  // the backup tracks 128
  Primary p(po);
  EXPECT_EQ(p.connect(pair.backup.port()), FGBI_E_INCOMPATIBLE);
  EXPECT_NE(p.last_error().find("64 pages"), std::string::npos) << p.last_error();
  Primary q;
  ASSERT_EQ(fgbi_sender_set_parameter(q.sender(), FGBI_P_DIGEST, 0), FGBI_OK);
  EXPECT_EQ(q.connect(pair.backup.port()), FGBI_E_INCOMPATIBLE);
  EXPECT_NE(q.last_error().find("digest"), std::string::npos) << q.last_error();
}

// A source whose tracked space is mostly holes (a Xen PVH guest's p2m spans
// 4 GiB for a few hundred MiB of memory): the page source says
// FGBI_PAGE_HOLE for them. The full synchronisation carries only the pages
// with data, and the backup's first epoch zeroes whatever an older replica
// held where the primary has holes, so the replica equals the primary.
struct HoleySource {
  static constexpr uint64_t kPages = 512;
  std::vector<uint8_t> memory = std::vector<uint8_t>(kPages * 4096, 0);
  static bool hole(uint64_t pfn) { return pfn % 4 != 1; }  // 3 of 4 pages are holes
  static const void* page(void* user, uint64_t pfn) {
    if (hole(pfn)) return FGBI_PAGE_HOLE;
    return static_cast<HoleySource*>(user)->memory.data() + pfn * 4096;
  }
};

TEST(NetSession, AFullSynchronisationSkipsHolesAndTheBackupZeroesThem) {
  TempDir dir;
  const std::string replica = dir.file("replica");
  {  // an older replica, without metadata: junk everywhere
    std::ofstream out(replica, std::ios::binary);
    const std::vector<char> junk(HoleySource::kPages * 4096, '\xab');
    out.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  BackupOptions bo;
  bo.pages = HoleySource::kPages;
  BackupRunner backup(replica, bo);
  backup.start();

  HoleySource source;
  std::mt19937_64 rng(7);
  for (uint64_t pfn = 0; pfn < HoleySource::kPages; ++pfn)
    if (!HoleySource::hole(pfn))
      for (size_t i = 0; i < 4096; i += 8) {
        const uint64_t v = rng();
        std::memcpy(source.memory.data() + pfn * 4096 + i, &v, 8);
      }
  fgbi_sender* sender = nullptr;
  fgbi_link* link = nullptr;
  ASSERT_EQ(fgbi_sender_create(&sender), FGBI_OK);
  ASSERT_EQ(fgbi_sender_set_parameter(sender, FGBI_P_TRACKED_PAGES, HoleySource::kPages), FGBI_OK);
  ASSERT_EQ(fgbi_link_create(&link, sender), FGBI_OK);
  ASSERT_EQ(fgbi_link_set_page_source(link, &HoleySource::page, &source), FGBI_OK);
  fgbi_sync sync{};
  ASSERT_EQ(fgbi_link_connect(link, "127.0.0.1", backup.port(), &sync), FGBI_OK);
  EXPECT_EQ(sync, FGBI_SYNC_FULL);
  uint64_t epoch = 0;
  ASSERT_EQ(fgbi_link_begin_epoch(link, &epoch), FGBI_OK);
  ASSERT_EQ(fgbi_link_end_epoch(link), FGBI_OK);  // the link adds the pages with data
  ASSERT_EQ(fgbi_link_wait_ack(link, epoch, 5000), FGBI_OK);
  uint64_t wire = 0;
  ASSERT_EQ(fgbi_link_get_stat(link, FGBI_SS_EPOCH_BYTES, &wire), FGBI_OK);
  EXPECT_GT(wire, HoleySource::kPages / 4 * 4096);  // random pages: no sharing
  EXPECT_LT(wire, HoleySource::kPages / 2 * 4096);  // and nothing of the holes

  // A second epoch writes one page; a page that stays a hole stays zeros.
  source.memory[5 * 4096 + 100] ^= 0x5a;
  const uint64_t pfn = 5;
  const void* page = source.memory.data() + pfn * 4096;
  ASSERT_EQ(fgbi_link_begin_epoch(link, &epoch), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(sender, &pfn, &page, 1, nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_link_end_epoch(link), FGBI_OK);
  ASSERT_EQ(fgbi_link_wait_ack(link, epoch, 5000), FGBI_OK);
  uint64_t at = 0, digest = 0;
  ASSERT_EQ(fgbi_link_replica_digest(link, 5000, &at, &digest), FGBI_OK);
  EXPECT_EQ(at, epoch);
  EXPECT_EQ(digest, fgbi_memory_digest(source.memory.data(), source.memory.size()));
  EXPECT_EQ(fgbi_link_close(link), FGBI_OK);
  fgbi_link_free(link);
  fgbi_sender_free(sender);
  EXPECT_TRUE(
      backup.log().contains("zeroed " + std::to_string(HoleySource::kPages / 4 * 3) + " pages"))
      << backup.log().joined();
  backup.stop();
  EXPECT_EQ(backup.replica(), source.memory);
  // The digest the backup wrote as it stopped skips the file's holes but is
  // the same XXH3-64 of the whole replica.
  EXPECT_EQ(read_metadata(replica).digest,
            fgbi_memory_digest(source.memory.data(), source.memory.size()));
}

// A full synchronisation larger than the backup's epoch limit is refused
// with a message that names the limit and how to raise it.
TEST(NetSession, AnEpochOverTheBackupsLimitNamesTheLimitAndTheOption) {
  TempDir dir;
  BackupOptions bo;
  bo.pages = 512;  // 2 MiB decoded
  bo.max_epoch_bytes = 1 << 20;
  BackupRunner backup(dir.file("replica"), bo);
  backup.start();
  PrimaryOptions po;
  po.pages = 512;
  Primary p(po);
  ASSERT_EQ(p.connect(backup.port()), FGBI_OK);
  EXPECT_NE(p.replicate(nullptr, 5000), FGBI_OK);
  const auto deadline = Clock::now() + 5s;
  while (!backup.log().contains("--max-epoch-mib") && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(backup.log().contains("accepts epochs of up to 1 MiB")) << backup.log().joined();
  EXPECT_TRUE(backup.log().contains("recv --max-epoch-mib")) << backup.log().joined();
}

// A fresh replica spans the tracked space but holds data only where epochs
// wrote: the backup's digest of it (metadata, verify) skips the file's holes
// yet equals the XXH3-64 of all its bytes.
TEST(NetSession, TheReplicaDigestOfASparseReplicaIsThatOfAllItsBytes) {
  TempDir dir;
  const std::string replica = dir.file("replica");
  constexpr uint64_t kPages = 4096;  // 16 MiB
  BackupOptions bo;
  bo.pages = kPages;
  BackupRunner backup(replica, bo);
  backup.start();
  std::vector<uint8_t> memory(kPages * 4096, 0);
  struct Pages {
    std::vector<uint8_t>* memory;
    std::vector<bool> written = std::vector<bool>(kPages, false);
  } pages{&memory};
  fgbi_sender* sender = nullptr;
  fgbi_link* link = nullptr;
  ASSERT_EQ(fgbi_sender_create(&sender), FGBI_OK);
  ASSERT_EQ(fgbi_sender_set_parameter(sender, FGBI_P_TRACKED_PAGES, kPages), FGBI_OK);
  ASSERT_EQ(fgbi_link_create(&link, sender), FGBI_OK);
  ASSERT_EQ(fgbi_link_set_page_source(
                link,
                [](void* user, uint64_t pfn) -> const void* {
                  auto* p = static_cast<Pages*>(user);
                  return p->written[pfn] ? p->memory->data() + pfn * 4096 : FGBI_PAGE_HOLE;
                },
                &pages),
            FGBI_OK);
  ASSERT_EQ(fgbi_link_connect(link, "127.0.0.1", backup.port(), nullptr), FGBI_OK);
  // Data in a few scattered runs, one at the very end.
  for (uint64_t pfn : {uint64_t{3}, uint64_t{700}, uint64_t{701}, uint64_t{2048}, kPages - 1}) {
    for (size_t i = 0; i < 4096; ++i) memory[pfn * 4096 + i] = static_cast<uint8_t>(pfn + i);
    pages.written[pfn] = true;
  }
  uint64_t epoch = 0;
  ASSERT_EQ(fgbi_link_begin_epoch(link, &epoch), FGBI_OK);
  ASSERT_EQ(fgbi_link_end_epoch(link), FGBI_OK);
  ASSERT_EQ(fgbi_link_wait_ack(link, epoch, 5000), FGBI_OK);
  uint64_t at = 0, digest = 0;
  ASSERT_EQ(fgbi_link_replica_digest(link, 5000, &at, &digest), FGBI_OK);
  EXPECT_EQ(digest, fgbi_memory_digest(memory.data(), memory.size()));
  EXPECT_EQ(fgbi_link_close(link), FGBI_OK);
  fgbi_link_free(link);
  fgbi_sender_free(sender);
  backup.stop();
  EXPECT_EQ(read_metadata(replica).digest, fgbi_memory_digest(memory.data(), memory.size()));
}

}  // namespace
}  // namespace fgbi::test::net
