// `fgbi-engine remus-tx` and `remus-rx` as processes: a synthetic `xl remus`
// stream (tests/support/xl_stream_builder.hpp) piped through both comes out
// byte for byte, the back channel of a command run after `--` reaches the
// sender's stdout, and a malformed stream ends with status 1 and a reason.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/xl_stream_builder.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
const std::string kEngine = FGBI_ENGINE_PATH;

class RemusProxyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fgbi_remus_cli_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const Bytes& data) const {
    std::ofstream f(path(name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  Bytes read(const std::string& name) const {
    std::ifstream f(path(name), std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  std::string text(const std::string& name) const {
    const Bytes b = read(name);
    return std::string(b.begin(), b.end());
  }
  // Runs a shell command line under a guard; returns its exit status.
  static int sh(const std::string& line) {
    const std::string command = "timeout -s KILL 120 sh -c '" + line + "'";
    const int st = std::system(command.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  std::string dir_;
};

Bytes remus_stream(size_t checkpoints) {
  fgbi::test::SyntheticRemus g;
  g.start();
  for (size_t c = 1; c <= checkpoints; ++c) g.checkpoint(20, 2, static_cast<uint8_t>(c));
  return g.b.bytes;
}

TEST_F(RemusProxyCli, PipedThroughBothProcessesTheStreamIsUnchanged) {
  const Bytes in = remus_stream(4);
  write("in", in);
  ASSERT_EQ(sh(kEngine + " remus-tx -v <" + path("in") + " 2>" + path("tx.err") + " | " + kEngine +
               " remus-rx --json >" + path("out") + " 2>" + path("rx.err")),
            0)
      << text("tx.err") << text("rx.err");
  EXPECT_TRUE(read("out") == in);
  // -v: a line per checkpoint, 0 to 4.
  EXPECT_NE(text("tx.err").find("remus-tx: checkpoint 4: "), std::string::npos) << text("tx.err");
  EXPECT_NE(text("tx.err").find("5 checkpoints forwarded whole"), std::string::npos)
      << text("tx.err");
  const auto j = nlohmann::json::parse(text("rx.err"));
  EXPECT_EQ(j["command"], "remus-rx");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["checkpoints_forwarded"], 5);
  EXPECT_EQ(j["total"]["stream_out"], in.size());
  // Checkpoint 1: the link carried far fewer PAGE_DATA bytes than xl wrote.
  const auto& c1 = j["checkpoints"][1];
  EXPECT_EQ(c1["forwarded"], true);
  EXPECT_LT(c1["page_data_link"].get<uint64_t>() * 8, c1["page_data_xl"].get<uint64_t>());
}

TEST_F(RemusProxyCli, CommandsAfterDashDashCarryTheStreamAndTheBackChannel) {
  const Bytes in = remus_stream(2);
  write("in", in);
  // remus-tx runs remus-rx, which runs a stand-in for `xl migrate-receive`:
  // it answers with a banner on stdout (the back channel) and keeps the
  // stream it is given.
  const std::string receiver = "printf \"receiver ready\\n\"; cat >" + path("out");
  write("receiver.sh", Bytes(receiver.begin(), receiver.end()));
  ASSERT_EQ(sh(kEngine + " remus-tx -- " + kEngine + " remus-rx -- sh " + path("receiver.sh") +
               " <" + path("in") + " >" + path("back") + " 2>" + path("err")),
            0)
      << text("err");
  EXPECT_TRUE(read("out") == in);
  EXPECT_EQ(text("back"), "receiver ready\n");
}

TEST_F(RemusProxyCli, AMalformedStreamEndsWithStatus1AndAReason) {
  Bytes in = remus_stream(2);
  in.erase(in.end() - 3, in.end());  // cut inside the last checkpoint's CHECKPOINT_END
  write("in", in);
  EXPECT_EQ(sh(kEngine + " remus-tx <" + path("in") + " >" + path("link") + " 2>" + path("tx.err")),
            1);
  EXPECT_NE(text("tx.err").find("error: the stream ended inside"), std::string::npos)
      << text("tx.err");
  // remus-rx sees a link that ends between checkpoints, a clean end: it
  // passes on checkpoints 0 and 1, nothing of checkpoint 2.
  EXPECT_EQ(
      sh(kEngine + " remus-rx <" + path("link") + " >" + path("out") + " 2>" + path("rx.err")), 0)
      << text("rx.err");
  fgbi::test::SyntheticRemus g;
  g.start();
  g.checkpoint(20, 2, 1);
  EXPECT_TRUE(read("out") == g.b.bytes);

  write("junk", Bytes(64, 'x'));
  EXPECT_EQ(
      sh(kEngine + " remus-rx <" + path("junk") + " >" + path("out2") + " 2>" + path("rx2.err")),
      1);
  EXPECT_NE(text("rx2.err").find("not an fgbi link"), std::string::npos) << text("rx2.err");
  EXPECT_TRUE(read("out2").empty());
}

TEST_F(RemusProxyCli, HelpExplainsTheSetup) {
  ASSERT_EQ(sh(kEngine + " remus-tx --help >" + path("help")), 0);
  EXPECT_NE(text("help").find("xl remus -s"), std::string::npos);
  EXPECT_NE(text("help").find("--max-pages"), std::string::npos);
  EXPECT_EQ(sh(kEngine + " remus-rx --max-pages 0 </dev/null 2>/dev/null"), 2);
}

}  // namespace
