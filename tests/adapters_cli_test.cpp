// fgbi-engine trace record / trace info / capture, run as a user would.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/engine_cli.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

using fgbi::test::run_engine;
using Result = fgbi::test::EngineRun;

Result run(const std::string& args) { return run_engine(args); }
// The --json object a run prints on stdout (its stderr left out).
nlohmann::json run_json(const std::string& args, int expected_status = 0) {
  const Result r = run_engine(args, false);
  EXPECT_EQ(r.status, expected_status) << r.output;
  return nlohmann::json::parse(r.output);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fgbi-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::vector<char>& bytes) const {
    std::ofstream(path(name), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  fs::path dir_;
};

TEST_F(CliTest, RecordImagesThenInfoAndVerify) {
  std::vector<char> img(64 * 4096, 'a');
  write("m0.img", img);
  img[5 * 4096] = 'b';
  write("m1.img", img);
  img[9 * 4096] = 'c';
  write("m2.img", img);
  const std::string trace = path("t.fgbt");
  const nlohmann::json rec = run_json("trace record --source 'images:" + path("m*.img") + "' -o " +
                                      trace + " --codec lz4 --json");
  EXPECT_EQ(rec.at("epochs"), 3) << rec;
  EXPECT_EQ(rec.at("dirty_pages"), 66) << rec;  // 64 + 1 + 1
  EXPECT_EQ(rec.at("end_reason"), "end of images after 3 epochs") << rec;

  Result info = run("trace info --verify " + trace);
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("epochs: 3; dirty pages per epoch min 1, mean 22.0, max 64"),
            std::string::npos)
      << info.output;
  EXPECT_NE(info.output.find("verified"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("(lz4)"), std::string::npos) << info.output;

  // A damaged copy: info without --verify reads only the index; --verify
  // finds the damage and fails.
  std::ifstream in(trace, std::ios::binary);
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
  bytes[200] ^= 1;
  write("bad.fgbt", bytes);
  EXPECT_EQ(run("trace info " + path("bad.fgbt")).status, 0);
  const nlohmann::json bad = run_json("trace info --verify --json " + path("bad.fgbt"), 1);
  EXPECT_EQ(bad.at("verify").at("ok"), false) << bad;
  EXPECT_NE(bad.at("verify").at("error").get<std::string>().find("epoch 1"), std::string::npos)
      << bad;

  // Replaying the trace as a source of another recording gives the same epochs.
  const nlohmann::json again = run_json("trace record --source trace:" + trace + " -o " +
                                        path("u.fgbt") + " --codec none --json");
  EXPECT_EQ(again.at("dirty_pages"), 66) << again;
}

// A trace whose name is not UTF-8 still gives JSON that parses, the bytes
// replaced.
TEST_F(CliTest, JsonOutputParsesWhateverTheFileNames) {
  write("m0.img", std::vector<char>(2 * 4096, 'a'));
  const std::string trace = path("t\xff.fgbt");
  const nlohmann::json rec =
      run_json("trace record --source images:" + path("m0.img") + " -o '" + trace + "' --json");
  EXPECT_EQ(rec.at("output"), path("t\xef\xbf\xbd.fgbt")) << rec;
  const nlohmann::json info = run_json("trace info --json '" + trace + "'");
  EXPECT_EQ(info.at("epochs"), 1) << info;
}

TEST_F(CliTest, CaptureARunningProgram) {
  pid_t pid = 0;
  int to_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", 0, 0);
  char* argv[] = {const_cast<char*>(FGBI_MUTATOR_PATH), const_cast<char*>("2"), nullptr};
  ASSERT_EQ(posix_spawn(&pid, FGBI_MUTATOR_PATH, &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::usleep(100000);  // let it map and fill its buffer
  Result cap = run_engine("capture --pid " + std::to_string(pid) + " --interval 10 --epochs 3 -o " +
                              path("c.fgbt") + " --json",
                          false);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(to_child[1]);
  ASSERT_EQ(cap.status, 0) << cap.output;
  const nlohmann::json captured = nlohmann::json::parse(cap.output);
  EXPECT_EQ(captured.at("epochs"), 3) << cap.output;
  EXPECT_TRUE(captured.contains("capture_mb_per_s")) << cap.output;
  Result info = run("trace info --verify " + path("c.fgbt"));
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("recorded from: pid " + std::to_string(pid)), std::string::npos)
      << info.output;
}

TEST_F(CliTest, ErrorsAreClearAndFail) {
  // A source or file that cannot be used is an argument error (status 2).
  Result r = run("trace record --source bogus:1 -o " + path("x.fgbt"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown source kind \"bogus\""), std::string::npos) << r.output;
  r = run("trace info " + path("missing.fgbt"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("cannot open"), std::string::npos) << r.output;
  r = run("capture --pid 4194300 -o " + path("y.fgbt"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("/proc/4194300/maps"), std::string::npos) << r.output;
  r = run("capture -o " + path("y.fgbt"));  // --pid missing
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--pid is required"), std::string::npos) << r.output;
}

}  // namespace
