// fgbi-engine send / recv as processes: replication with a key and a final
// replica check, failover when the sender dies, a goodbye on SIGINT, and a
// clear error for a wrong key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "net_harness.hpp"

extern char** environ;

namespace fgbi::test::net {
namespace {

using namespace std::chrono_literals;

// A child process whose stdout and stderr are collected by threads.
class Process {
 public:
  // Runs fgbi-engine with args, under `wrapper` (a program and its
  // arguments, e.g. setpriv) when one is given.
  explicit Process(std::vector<std::string> args, std::vector<std::string> wrapper = {}) {
    args.insert(args.begin(), FGBI_ENGINE_PATH);
    args.insert(args.begin(), wrapper.begin(), wrapper.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], err[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    readers_[0] = std::thread([this, fd = out[0]] { collect(fd, &out_); });
    readers_[1] = std::thread([this, fd = err[0]] { collect(fd, &err_); });
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  void signal(int sig) { kill(pid_, sig); }
  // The exit status (128 + signal when killed).
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    for (auto& t : readers_) t.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Waits for a line containing `text` on stderr; returns it ("" on timeout).
  std::string wait_for_stderr(const std::string& text, std::chrono::milliseconds within) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard lock(mutex_);
        const size_t at = err_.find(text);
        if (at != std::string::npos) {
          const size_t begin = err_.rfind('\n', at);
          return err_.substr(begin == std::string::npos ? 0 : begin + 1,
                             err_.find('\n', at) - (begin == std::string::npos ? 0 : begin + 1));
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    return {};
  }
  std::string out() {
    std::lock_guard lock(mutex_);
    return out_;
  }
  std::string err() {
    std::lock_guard lock(mutex_);
    return err_;
  }

 private:
  void collect(int fd, std::string* into) {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard lock(mutex_);
      into->append(buf, static_cast<size_t>(n));
    }
    close(fd);
  }
  pid_t pid_ = -1;
  bool exited_ = false;
  std::mutex mutex_;
  std::string out_, err_;
  std::thread readers_[2];
};

struct Cli {
  Cli() {
    std::ofstream(dir.file("key")) << "a pre-shared key for the CLI test";
    std::ofstream(dir.file("other")) << "some other key, also long enough";
  }
  // Starts recv on `port` (0: a free one); returns the port.
  std::string start_recv(std::vector<std::string> extra = {}, const std::string& port = "0") {
    std::vector<std::string> args = {"recv",    "--replica",  dir.file("replica"),
                                     "--pages", "256",        "--port",
                                     port,      "--key-file", dir.file("key")};
    args.insert(args.end(), extra.begin(), extra.end());
    recv = std::make_unique<Process>(args);
    const std::string line = recv->wait_for_stderr("listening on", 5s);
    EXPECT_FALSE(line.empty()) << recv->err();
    const size_t colon = line.find(':', line.find("listening on"));
    return line.substr(colon + 1, line.find(' ', colon) - colon - 1);
  }
  std::vector<std::string> send_args(const std::string& port, const std::string& key,
                                     const std::string& epochs) {
    return {"send",    "--port",   port,      "--key-file", dir.file(key),
            "--pages", "256",      "--dirty", "32",         "--working-set",
            "128",     "--epochs", epochs,    "--retry-ms", "500"};
  }
  std::string metadata() {
    std::ifstream in(dir.file("replica") + ".meta");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  TempDir dir;
  std::unique_ptr<Process> recv;
};

TEST(NetCli, SendAndRecvReplicateThenStopCleanly) {
  Cli s;
  const std::string port = s.start_recv();
  auto args = s.send_args(port, "key", "20");
  args.push_back("--json");
  Process send(args);
  EXPECT_EQ(send.wait(), 0) << send.err();
  const nlohmann::json report = nlohmann::json::parse(send.out());
  EXPECT_TRUE(report.at("replica_check").at("matches_primary").get<bool>()) << send.out();
  EXPECT_TRUE(report.at("config").at("authenticated").get<bool>()) << send.out();
  EXPECT_EQ(report.at("steady").at("epochs").get<uint64_t>(), 20u) << send.out();
  EXPECT_FALSE(s.recv->wait_for_stderr("no failover", 2s).empty()) << s.recv->err();
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0) << s.recv->err();
  EXPECT_NE(s.recv->out().find("stopped: replica"), std::string::npos) << s.recv->out();
  EXPECT_NE(s.metadata().find("state stopped\n"), std::string::npos) << s.metadata();
  EXPECT_NE(s.metadata().find("committed_epoch 21\n"), std::string::npos) << s.metadata();
}

TEST(NetCli, RecvDeclaresFailoverWhenTheSenderDies) {
  Cli s;
  const std::string port = s.start_recv({"--failover-ms", "300"});
  auto args = s.send_args(port, "key", "1000000");
  args.insert(args.end(), {"--interval-ms", "5"});
  Process send(args);
  ASSERT_FALSE(s.recv->wait_for_stderr("connected and authenticated", 5s).empty()) << s.recv->err();
  std::this_thread::sleep_for(200ms);
  send.signal(SIGKILL);
  EXPECT_EQ(send.wait(), 128 + SIGKILL);
  EXPECT_EQ(s.recv->wait(), 3) << s.recv->err();
  EXPECT_NE(s.recv->out().find("FAILOVER: replica"), std::string::npos) << s.recv->out();
  EXPECT_NE(s.metadata().find("state failover\n"), std::string::npos) << s.metadata();
  EXPECT_NE(s.metadata().find("replica_digest xxh3-64:"), std::string::npos) << s.metadata();
}

TEST(NetCli, SigintMakesSendSayGoodbye) {
  Cli s;
  const std::string port = s.start_recv({"--failover-ms", "800"});
  auto args = s.send_args(port, "key", "1000000");
  args.insert(args.end(), {"--interval-ms", "5"});
  Process send(args);
  ASSERT_FALSE(s.recv->wait_for_stderr("connected and authenticated", 5s).empty()) << s.recv->err();
  std::this_thread::sleep_for(200ms);
  send.signal(SIGINT);
  EXPECT_EQ(send.wait(), 128 + SIGINT) << send.err();
  EXPECT_NE(send.err().find("no failover"), std::string::npos) << send.err();
  EXPECT_FALSE(s.recv->wait_for_stderr("no failover", 2s).empty()) << s.recv->err();
  std::this_thread::sleep_for(1600ms);  // twice the failover silence: still serving
  EXPECT_TRUE(s.recv->wait_for_stderr("no primary for", 1ms).empty()) << s.recv->err();
  s.recv->signal(SIGINT);
  EXPECT_EQ(s.recv->wait(), 0) << s.recv->err();
}

// The synthetic workload as a spec: the same workload --workload builds,
// replicated until the spec's epoch limit ends it.
TEST(NetCli, SendReplicatesASyntheticSource) {
  Cli s;
  const std::string port = s.start_recv();
  Process send({"send", "--port", port, "--key-file", s.dir.file("key"), "--source",
                "synthetic:web,pages=256,dirty=32,working-set=128,seed=3,epochs=6", "--json"});
  EXPECT_EQ(send.wait(), 0) << send.err();
  const nlohmann::json report = nlohmann::json::parse(send.out());
  const nlohmann::json& source = report.at("source");
  EXPECT_EQ(source.at("kind"), "synthetic") << send.out();
  EXPECT_EQ(source.at("workload"), "web");
  EXPECT_EQ(source.at("tracked_pages").get<uint64_t>(), 256u);
  EXPECT_EQ(source.at("dirty_pages_per_epoch").get<uint64_t>(), 32u);
  EXPECT_EQ(source.at("seed").get<uint64_t>(), 3u);
  EXPECT_EQ(report.at("steady").at("epochs").get<uint64_t>(), 5u);  // after the initial sync
  EXPECT_TRUE(report.at("replica_check").at("matches_primary").get<bool>()) << send.out();
  EXPECT_NE(send.err().find("the source ended: epoch limit of 6 reached"), std::string::npos)
      << send.err();
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0);
}

// An adapter as the source: memory images replicated, the replica file
// ends equal to the last image.
TEST(NetCli, SendReplicatesAnAdapterSource) {
  Cli s;
  std::mt19937_64 rng(4);
  std::vector<uint8_t> image(256 * 4096);
  for (auto& b : image) b = static_cast<uint8_t>(rng() % 7);
  std::string images;
  for (int i = 0; i < 4; ++i) {
    for (int edit = 0; edit < 300; ++edit)
      image[rng() % image.size()] = static_cast<uint8_t>(rng());
    const std::string name = s.dir.file("img" + std::to_string(i) + ".raw");
    std::ofstream(name, std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()),
               static_cast<std::streamsize>(image.size()));
    images += (images.empty() ? "images:" : ",") + name;
  }
  const std::string port = s.start_recv();
  Process send(
      {"send", "--port", port, "--key-file", s.dir.file("key"), "--source", images, "--json"});
  EXPECT_EQ(send.wait(), 0) << send.err();
  const nlohmann::json report = nlohmann::json::parse(send.out());
  EXPECT_EQ(report.at("source").at("kind"), "adapter") << send.out();
  EXPECT_TRUE(report.at("replica_check").at("matches_primary").get<bool>()) << send.out();
  EXPECT_NE(send.err().find("the source ended"), std::string::npos) << send.err();
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0);
  std::ifstream in(s.dir.file("replica"), std::ios::binary);
  const std::vector<uint8_t> replica((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(replica == image);
  Process missing({"send", "--port", port, "--source", "trace:" + s.dir.file("none.fgbt")});
  EXPECT_EQ(missing.wait(), 2);
  EXPECT_NE(missing.err().find("cannot open trace"), std::string::npos) << missing.err();
}

// A port that was free a moment ago, so that a restarted recv listens where
// the sender reconnects.
std::string free_port() {
  uint16_t port = 0;
  const int fd = listen_loopback(&port);
  close(fd);
  return std::to_string(port);
}

// The reproducer of issue 15: the backup dies (kill -9) just before the
// sender's last epoch, which is lost; once the backup is back, that
// epoch's pages must still reach it, so the final check passes.
TEST(NetCli, PagesOfALostFinalEpochAreResentAfterResume) {
  Cli s;
  const std::string port = free_port();
  s.start_recv({}, port);
  auto args = s.send_args(port, "key", "2");  // epochs at about 0, 1 and 2 s
  args.back() = "20000";                      // --retry-ms: wait for the restarted backup
  args.insert(args.end(), {"--interval-ms", "1000"});
  Process send(args);
  std::this_thread::sleep_for(1500ms);
  s.recv->signal(SIGKILL);
  EXPECT_EQ(s.recv->wait(), 128 + SIGKILL);
  std::this_thread::sleep_for(1100ms);  // the epoch at 2 s finds no backup
  s.start_recv({}, port);
  EXPECT_EQ(send.wait(), 0) << send.err() << send.out();
  EXPECT_NE(send.err().find("resuming after epoch 2"), std::string::npos) << send.err();
  EXPECT_NE(send.out().find("1 epochs discarded"), std::string::npos) << send.out();
  EXPECT_NE(send.out().find("replica == primary after epoch 3: yes"), std::string::npos)
      << send.out();
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0) << s.recv->err();
}

// The backup stops answering (SIGSTOP) while the sender waits out its
// interval after the last epoch: the final check cannot run, which is
// reported as such (status 4), not as a replica that differs (status 1).
TEST(NetCli, AFinalCheckThatCannotRunIsNotVerifiedNotADifference) {
  Cli s;
  const std::string port = s.start_recv();
  auto args = s.send_args(port, "key", "0");
  args.insert(args.end(), {"--interval-ms", "2000", "--io-timeout-ms", "300"});
  Process send(args);
  ASSERT_FALSE(s.recv->wait_for_stderr("connected and authenticated", 5s).empty()) << s.recv->err();
  std::this_thread::sleep_for(1000ms);  // epoch 1 is acknowledged; the sender sleeps
  s.recv->signal(SIGSTOP);
  EXPECT_EQ(send.wait(), 4) << send.err() << send.out();
  EXPECT_NE(send.out().find("replica == primary: not verified: FGBI_E_"), std::string::npos)
      << send.out();
  EXPECT_EQ(send.out().find("NO"), std::string::npos) << send.out();
  EXPECT_NE(send.err().find("the final replica check could not run"), std::string::npos)
      << send.err();
  s.recv->signal(SIGCONT);
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0) << s.recv->err();
}

// The scenario as it happened: recv runs as an unprivileged user and
// its metadata directory becomes read-only (mode 555) mid-run. The epoch
// being committed has been applied when the metadata cannot be written:
// recv says so, naming the file and the errno, never "rejected", and exits
// 1 instead of serving reconnects; the metadata still names the last
// recorded epoch. Needs root (to drop to nobody) and setpriv.
TEST(NetCli, UnwritableMetadataDirectoryStopsRecv) {
  constexpr const char* kSetpriv = "/usr/bin/setpriv";
  if (geteuid() != 0 || access(kSetpriv, X_OK) != 0)
    GTEST_SKIP() << "needs root and " << kSetpriv << " to run recv as an unprivileged user";
  Cli s;
  const std::string dir = s.dir.file("d");
  ASSERT_EQ(chmod(s.dir.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  Process recv({"recv", "--replica", dir + "/replica", "--pages", "256", "--port", "0"},
               {kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups"});
  const std::string line = recv.wait_for_stderr("listening on 127", 5s);
  ASSERT_FALSE(line.empty()) << recv.err();
  const size_t colon = line.find(':', line.find("listening on"));
  const std::string port = line.substr(colon + 1, line.find(' ', colon) - colon - 1);
  Process send({"send", "--port", port, "--pages", "256", "--dirty", "32", "--working-set", "128",
                "--epochs", "1000", "--interval-ms", "20", "--retry-ms", "500"});
  ASSERT_FALSE(recv.wait_for_stderr("connected", 5s).empty()) << recv.err();
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  EXPECT_EQ(recv.wait(), 1) << recv.err();
  const std::string err = recv.err();
  EXPECT_NE(err.find("was applied to the replica but cannot be recorded: cannot write " + dir +
                     "/replica.meta.tmp: Permission denied (EACCES)"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("rejected"), std::string::npos) << err;
  EXPECT_EQ(send.wait(), 1) << send.err();
  std::ifstream in(dir + "/replica.meta");
  std::stringstream meta;
  meta << in.rdbuf();
  const size_t at = err.find("rolls it back to epoch ");
  ASSERT_NE(at, std::string::npos) << err;
  const std::string recorded = err.substr(at + 23, err.find(' ', at + 23) - at - 23);
  EXPECT_NE(meta.str().find("committed_epoch " + recorded + "\n"), std::string::npos)
      << recorded << "\n"
      << meta.str();
}

TEST(NetCli, WrongKeyFailsWithAClearError) {
  Cli s;
  const std::string port = s.start_recv();
  Process send(s.send_args(port, "other", "3"));
  EXPECT_EQ(send.wait(), 1);
  EXPECT_NE(send.err().find("FGBI_E_AUTH_FAILED"), std::string::npos) << send.err();
  EXPECT_FALSE(s.recv->wait_for_stderr("failed authentication", 2s).empty()) << s.recv->err();
  s.recv->signal(SIGTERM);
  EXPECT_EQ(s.recv->wait(), 0);
}

TEST(NetCli, ShortKeyFileIsRefused) {
  Cli s;
  std::ofstream(s.dir.file("short")) << "too short";
  Process send(s.send_args("7400", "short", "1"));
  EXPECT_EQ(send.wait(), 2);  // an argument error, as in recv
  EXPECT_NE(send.err().find("16 to 1024 bytes"), std::string::npos) << send.err();
}

}  // namespace
}  // namespace fgbi::test::net
