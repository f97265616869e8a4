// Bad invocations of every fgbi-engine command, run as a user would type
// them: each one ends at once with exit status 2 and a message naming what
// is wrong, never hangs (a FIFO as a trace, --edits inf) and never runs
// with a value it guessed (NaN, -1 read as 2^64-1, 0 read as "default").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "net_harness.hpp"
#include "support/engine_cli.hpp"

namespace {

using Result = fgbi::test::EngineRun;

// A command that hangs shows up as status 137, not as a stuck suite.
Result run(const std::string& args) { return fgbi::test::run_engine(args, true, 30); }

struct BadInvocation {
  const char* args;      // after the binary; $DIR is the test's directory
  const char* expected;  // part of the message
};

// Every subcommand, every kind of mistake.
const BadInvocation kBad[] = {
    // The command itself.
    {"", "A subcommand is required"},
    {"bogus", "unknown command 'bogus'"},
    {"trace bogus", "unknown command 'bogus'"},
    {"bench --bogus", "--bogus"},
    // bench: NaN, infinity, negative, fractional, out of range, empty, 0.
    {"bench --link-gbps nan", "--link-gbps: 'nan' is not a finite number"},
    {"bench --link-gbps inf", "not a finite number"},
    {"bench --link-gbps 0", "out of range"},
    {"bench --link-gbps 1,,10", "--link-gbps: '' is not a finite number"},
    {"bench --link-gbps 1,", "'' is not a finite number"},
    {"bench --link-gbps 0.1,nan", "'nan' is not a finite number"},
    {"bench --link-gbps 1,0", "0 is out of range"},
    {"bench --link-gbps 10,1,10", "10 is listed twice"},
    {"bench --link-gbps 1,2,3,4,5,6,7,8,9", "at most 8 values, not 9"},
    {"bench --link-gbps 1:10", "'1:10' is not a finite number"},
    {"bench --edits inf", "--edits: 'inf' is not a finite number"},
    {"bench --edits 1e9", "--edits: 1e9 is out of range"},
    {"bench --edits 0.5", "out of range"},
    {"bench --dirty -1", "--dirty: '-1' is not a whole number"},
    {"bench --seed -1", "--seed: '-1' is not a whole number"},
    {"bench --seed 18446744073709551616", "out of range"},
    {"bench --pages 0", "--pages: 0 is out of range"},
    {"bench --pages 1.5", "not a whole number"},
    {"bench --working-set 0", "out of range"},
    {"bench --edit-bytes 0", "out of range"},
    {"bench --zero-share nan", "not a finite number"},
    {"bench --unchanged-share 1.01", "out of range"},
    {"bench --epochs 0", "out of range"},
    {"bench --warmup -1", "not a whole number"},
    {"bench --threads 0", "out of range"},
    {"bench --block-size 48", "--block-size"},
    {"bench --cache-mib 1048576", "--cache-mib: 1048576 is out of range"},
    {"bench --index-mib -5", "not a whole number"},
    {"bench --xc-cache-mib 0", "out of range"},
    {"bench --source ''", "--source: must not be empty"},
    {"bench --source bogus:1", "unknown source kind"},
    {"bench --source trace:$DIR/fifo", "not a regular file"},
    {"bench --source trace:$DIR/missing.fgbt", "cannot open trace"},
    {"bench --source images:$DIR/fifo", "not a regular file"},
    {"bench --workload nosuch", "nosuch"},
    // downtime
    {"downtime --epoch-ms nan", "--epoch-ms: 'nan' is not a finite number"},
    {"downtime --link-gbps -1", "out of range"},
    {"downtime --rtt-ms inf", "not a finite number"},
    {"downtime --link-efficiency 0", "out of range"},
    {"downtime --detect-ms 1e300", "out of range"},
    {"downtime --threads 0", "--threads"},
    {"downtime --redo-share 101", "out of range"},
    {"downtime --epochs 1", "out of range"},
    {"downtime --pages 8", "out of range"},
    {"downtime --seed nan", "not a whole number"},
    {"downtime --source ''", "must not be empty"},
    {"downtime --source trace:$DIR/fifo", "not a regular file"},
    // trace record / trace info
    {"trace record -o $DIR/x.fgbt", "--source is required"},
    {"trace record --source '' -o $DIR/x.fgbt", "must not be empty"},
    {"trace record --source bogus:1 -o $DIR/x.fgbt", "unknown source kind"},
    {"trace record --source trace:$DIR/fifo -o $DIR/x.fgbt", "not a regular file"},
    {"trace record --source images:$DIR/a.img --level 0 -o $DIR/x.fgbt", "out of range"},
    {"trace info", "file is required"},
    {"trace info $DIR/fifo", "not a regular file"},
    {"trace info $DIR", "not a regular file"},
    {"trace info $DIR/missing.fgbt", "cannot open"},
    // capture
    {"capture -o $DIR/y.fgbt", "--pid is required"},
    {"capture --pid -1 -o $DIR/y.fgbt", "not a whole number"},
    {"capture --pid 1 --epochs -1 -o $DIR/y.fgbt", "--epochs: '-1' is not a whole number"},
    {"capture --pid 1 --interval nan -o $DIR/y.fgbt", "not a whole number"},
    {"capture --pid 1 --max-pages 0 -o $DIR/y.fgbt", "--max-pages: 0 is out of range"},
    {"capture --pid 1 -o ''", "must not be empty"},
    {"capture --pid 4194300 -o $DIR/y.fgbt", "/proc/4194300"},
    // send
    {"send --port 0", "out of range"},
    {"send --port 70000", "out of range"},
    {"send --epochs -1", "not a whole number"},
    {"send --interval-ms -5", "not a whole number"},
    {"send --io-timeout-ms 5", "out of range"},
    {"send --heartbeat-ms 0", "out of range"},
    {"send --max-unacked 0", "out of range"},
    {"send --chunk-kib 2", "out of range"},
    {"send --queue-mib nan", "not a whole number"},
    {"send --retry-ms -1", "not a whole number"},
    {"send --dirty -1", "not a whole number"},
    {"send --source ''", "must not be empty"},
    {"send --source trace:$DIR/fifo", "not a regular file"},
    {"send --key-file ''", "must not be empty"},
    {"send --key-file $DIR/short.key", "cannot use key file"},
    {"send --key-file $DIR/missing.key", "cannot use key file"},
    {"send --key-file $DIR/fifo", "is not a regular file"},
    {"send --pages 64 --working-set 100", "invalid workload"},
    // recv
    {"recv", "--replica is required"},
    {"recv --replica ''", "must not be empty"},
    {"recv --replica $DIR/r --pages 0", "--pages: 0 is out of range"},
    {"recv --replica $DIR/r --pages -1", "not a whole number"},
    {"recv --replica $DIR/r --block-size 0", "--block-size"},
    {"recv --replica $DIR/r", "give --pages"},
    {"recv --replica $DIR/r --pages 16 --port 65536", "out of range"},
    {"recv --replica $DIR/r --pages 16 --failover-ms 5", "out of range"},
    {"recv --replica $DIR/r --pages 16 --heartbeat-ms nan", "not a whole number"},
    {"recv --replica $DIR/r --pages 16 --io-timeout-ms inf", "not a whole number"},
    {"recv --replica $DIR/r --pages 16 --threads 0", "out of range"},
    {"recv --replica $DIR/r --pages 16 --max-epoch-mib 0", "--max-epoch-mib: 0 is out of range"},
    {"recv --replica $DIR/r --pages 16 --key-file $DIR/short.key", "cannot use key file"},
    {"recv --replica $DIR/r --pages 16 --key-file $DIR/fifo", "is not a regular file"},
};

class CliArgs : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkfifo((dir_.path() + "/fifo").c_str(), 0600), 0);
    std::ofstream(dir_.file("short.key")) << "too short";
    std::ofstream(dir_.file("a.img"), std::ios::binary) << std::string(8192, 'x');
  }
  std::string expand(std::string args) const {
    for (size_t at; (at = args.find("$DIR")) != std::string::npos;)
      args.replace(at, 4, dir_.path());
    return args;
  }
  fgbi::test::net::TempDir dir_;
};

TEST_F(CliArgs, EveryBadInvocationExitsWithTwoAndSaysWhy) {
  for (const auto& bad : kBad) {
    const std::string args = expand(bad.args);
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << "fgbi-engine " << args << "\n" << r.output;
    EXPECT_NE(r.output.find(bad.expected), std::string::npos) << "fgbi-engine " << args << "\n"
                                                              << r.output;
  }
}

// Help is not an error, and it documents every exit status.
TEST_F(CliArgs, HelpExitsWithZeroAndListsTheExitStatuses) {
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0) << r.output;
  for (const char* status : {"0 success", "1 a runtime failure", "2 bad arguments",
                             "3 recv: failover", "4 send: the final replica check"})
    EXPECT_NE(r.output.find(status), std::string::npos) << status << "\n" << r.output;
  EXPECT_EQ(run("bench --help").status, 0);
  EXPECT_EQ(run("--version").status, 0);
}

// The bounds do not refuse good values at their edges.
TEST_F(CliArgs, ValuesAtTheBoundsAreAccepted) {
  const Result r =
      run("bench --schemes fgbi --pages 64 --working-set 64 --dirty 0 --epochs 1 --warmup 0 "
          "--edits 256 --edit-bytes 2048 --zero-share 1 --unchanged-share 0 --link-gbps 0.001 "
          "--seed 18446744073709551615 --cache-mib 0 --index-mib 0");
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
