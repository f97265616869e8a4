// A primary process killed at random points, hundreds of times: at a random
// byte of its stream (the proxy delivers exactly the bytes before it, then
// the process is SIGKILLed) or at a random moment. After each kill the
// backup's replica must equal exactly the primary's memory at the epoch
// the backup says it committed: never a torn epoch.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "net_harness.hpp"

extern char** environ;

namespace fgbi::test::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kPages = 64;
constexpr uint64_t kDirty = 16;
constexpr uint64_t kSeed = 3;
constexpr uint64_t kEpochs = 8;

pid_t spawn_primary(uint16_t port) {
  std::vector<std::string> args = {FGBI_NET_PRIMARY_HELPER,
                                   std::to_string(port),
                                   std::to_string(kPages),
                                   std::to_string(kDirty),
                                   std::to_string(kSeed),
                                   std::to_string(kEpochs),
                                   kKeyA};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

TEST(NetKill, KilledPrimaryLeavesTheReplicaAtACommittedEpoch) {
  // The primary's memory at each epoch, replayed from the same workload.
  std::vector<uint64_t> expected(kEpochs + 1, 0);
  {
    eval::SyntheticWorkload w(model(kPages, kDirty, kSeed));
    for (uint64_t e = 1; e <= kEpochs; ++e) {
      w.next_epoch();
      expected[e] = fgbi_memory_digest(w.page(0), w.memory_bytes());
    }
  }
  TempDir dir;
  BackupOptions bo;
  bo.pages = kPages;
  bo.key = kKeyA;
  BackupRunner backup(dir.file("replica"), bo);
  backup.start();
  Proxy proxy(backup.port());

  // Undisturbed runs: how many bytes a primary sends, how long it lives.
  auto lifetime = Clock::duration::max();
  uint64_t stream_bytes = 0;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = Clock::now();
    const int clean = wait_exit(spawn_primary(proxy.port()));
    lifetime = std::min(lifetime, Clock::now() - t0);
    ASSERT_TRUE(WIFEXITED(clean) && WEXITSTATUS(clean) == 0) << clean;
    stream_bytes = proxy.forwarded();
    ASSERT_TRUE(backup.wait_idle(proxy.connections(), 5s));
    ASSERT_EQ(backup.stat(FGBI_SS_COMMITTED_EPOCH), kEpochs);
    ASSERT_EQ(backup.replica_digest(), expected[kEpochs]);
  }

  constexpr int kKills = 220;
  std::mt19937_64 rng(2024);
  std::atomic<pid_t> child{0};
  int byte_kills = 0, time_kills = 0, mid_epoch = 0, finished = 0, trials = 0;
  std::vector<int> committed_hist(kEpochs + 1, 0);
  for (int trial = 0; byte_kills + time_kills < kKills && trial < 2 * kKills; ++trial) {
    ++trials;
    const bool by_byte = trial % 2 == 0;
    const uint64_t discarded = backup.stat(FGBI_SS_EPOCHS_DISCARDED);
    if (by_byte) {
      proxy.cut_at(rng() % (stream_bytes + stream_bytes / 20), [&] {
        while (child.load() == 0) std::this_thread::yield();
        kill(child.load(), SIGKILL);
      });
    }
    const pid_t pid = spawn_primary(proxy.port());
    child = pid;
    if (!by_byte) {
      const auto span = std::chrono::duration_cast<std::chrono::microseconds>(lifetime).count();
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % (span + 1)));
      kill(pid, SIGKILL);
    }
    const int status = wait_exit(pid);
    child = 0;
    proxy.clear_faults();
    if (WIFSIGNALED(status)) {
      (by_byte ? byte_kills : time_kills) += 1;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
      ++finished;
    }
    ASSERT_TRUE(backup.wait_idle(proxy.connections(), 5s)) << "trial " << trial;
    const uint64_t committed = backup.stat(FGBI_SS_COMMITTED_EPOCH);
    ASSERT_GE(committed, 1u);
    ASSERT_LE(committed, kEpochs);
    ASSERT_EQ(backup.replica_digest(), expected[committed])
        << "trial " << trial << ": replica is not epoch " << committed;
    ++committed_hist[committed];
    mid_epoch += backup.stat(FGBI_SS_EPOCHS_DISCARDED) > discarded;
  }
  std::printf(
      "[ figures  ] %d primaries killed (%d at a random byte, %d at a random time; %d finished "
      "first); %d died mid-epoch; replica == committed epoch after all %d\n",
      byte_kills + time_kills, byte_kills, time_kills, finished, mid_epoch, trials);
  std::printf("[ figures  ] committed epoch after each trial:");
  for (uint64_t e = 1; e <= kEpochs; ++e)
    std::printf(" %llu:%d", (unsigned long long)e, committed_hist[e]);
  std::printf("\n");
  EXPECT_GE(byte_kills + time_kills, kKills);
  EXPECT_GE(time_kills, kKills / 4);
  EXPECT_GE(mid_epoch, 50);  // most cuts land inside an epoch's records
  EXPECT_EQ(backup.stop(), FGBI_BACKUP_STOPPED);
}

}  // namespace
}  // namespace fgbi::test::net
