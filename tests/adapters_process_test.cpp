// The live-process source: pfn mapping, maps parsing, and captures of a real
// program (adapters_mutator, started by the tests) replicated through the C
// ABI and compared with the memory the program reports.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fgbi.h"
#include "process/maps.hpp"
#include "process/pfn_map.hpp"
#include "process/process_source.hpp"
#include "source.hpp"

extern char** environ;

namespace fgbi::adapters::process {
namespace {

// ---- pfn map -----------------------------------------------------------

VirtualRange pages_at(uint64_t first_page, uint64_t pages) {
  return {first_page * kPageSize, (first_page + pages) * kPageSize};
}

TEST(PfnMapTest, PagesKeepTheirPfnsWhileMapped) {
  PfnMap map(100);
  std::vector<uint64_t> fresh;
  std::string error;
  ASSERT_TRUE(map.update({pages_at(10, 4), pages_at(20, 2)}, fresh, error));
  EXPECT_EQ(fresh, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(*map.pfn_of(12 * kPageSize + 5), 2u);
  EXPECT_EQ(*map.pfn_of(21 * kPageSize), 5u);
  EXPECT_FALSE(map.pfn_of(14 * kPageSize).has_value());

  // The first range grows at its end and a range appears between them: old
  // pages keep their pfns, only the new pages are fresh.
  fresh.clear();
  ASSERT_TRUE(map.update({pages_at(10, 6), pages_at(17, 1), pages_at(20, 2)}, fresh, error));
  EXPECT_EQ(fresh, (std::vector<uint64_t>{6, 7, 8}));
  EXPECT_EQ(*map.pfn_of(10 * kPageSize), 0u);
  EXPECT_EQ(*map.pfn_of(21 * kPageSize), 5u);
  EXPECT_EQ(map.mapped_pages(), 9u);
}

TEST(PfnMapTest, ReleasedPfnsAreReusedAndReportedFresh) {
  PfnMap map(6);
  std::vector<uint64_t> fresh;
  std::string error;
  ASSERT_TRUE(map.update({pages_at(0, 4), pages_at(8, 2)}, fresh, error));
  // Unmap the first range; map one elsewhere, bigger than the free space
  // left by the bump allocator alone.
  fresh.clear();
  ASSERT_TRUE(map.update({pages_at(8, 2), pages_at(30, 4)}, fresh, error));
  EXPECT_EQ(std::set<uint64_t>(fresh.begin(), fresh.end()), (std::set<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(*map.pfn_of(9 * kPageSize), 5u);
  // Every pfn stays below max_pages and is used once.
  std::set<uint64_t> used;
  for (size_t r = 0; r < map.range_count(); ++r)
    for (uint64_t pfn : map.pfns(r)) {
      EXPECT_LT(pfn, 6u);
      EXPECT_TRUE(used.insert(pfn).second);
    }
}

TEST(PfnMapTest, RefusesMorePagesThanTrackedAndStaysUnchanged) {
  PfnMap map(4);
  std::vector<uint64_t> fresh;
  std::string error;
  ASSERT_TRUE(map.update({pages_at(0, 3)}, fresh, error));
  EXPECT_FALSE(map.update({pages_at(0, 3), pages_at(5, 2)}, fresh, error));
  EXPECT_NE(error.find("more than the 4 tracked"), std::string::npos) << error;
  EXPECT_EQ(map.mapped_pages(), 3u);
  EXPECT_EQ(*map.pfn_of(2 * kPageSize), 2u);
}

// ---- maps ----------------------------------------------------------------

TEST(MapsTest, ParsesLinesAndSelectsWritablePrivateMemory) {
  auto m = parse_maps_line(
      "7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0                          [heap]");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->start, 0x7f1c2a000000u);
  EXPECT_EQ(m->end, 0x7f1c2a021000u);
  EXPECT_EQ(m->name, "[heap]");
  EXPECT_TRUE(captured(*m));
  auto anon = parse_maps_line("1000-3000 rw-p 00000000 00:00 0");
  ASSERT_TRUE(anon.has_value());
  EXPECT_TRUE(anon->name.empty());
  EXPECT_TRUE(captured(*anon));
  EXPECT_FALSE(captured(*parse_maps_line("1000-2000 rw-s 00000000 00:05 12 /dev/shm/x")));
  EXPECT_FALSE(captured(*parse_maps_line("1000-2000 r-xp 00000000 08:01 12 /usr/bin/x")));
  EXPECT_FALSE(captured(*parse_maps_line("1000-2000 rw-p 00000000 00:00 0 [vvar]")));
  EXPECT_TRUE(captured(*parse_maps_line("1000-2000 rw-p 00000000 08:01 7 /path with spaces")));
  for (const char* bad : {"", "zz-1000 rw-p 0 0 0", "2000-1000 rw-p 0 0 0", "1000-2000 rw 0 0 0"})
    EXPECT_FALSE(parse_maps_line(bad).has_value()) << bad;
}

// ---- a real program --------------------------------------------------------

// adapters_mutator, started with pipes to its stdin and stdout.
class Mutator {
 public:
  explicit Mutator(size_t mib) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) std::abort();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    const std::string size = std::to_string(mib);
    char* argv[] = {const_cast<char*>(FGBI_MUTATOR_PATH), const_cast<char*>(size.c_str()), nullptr};
    if (posix_spawn(&pid_, FGBI_MUTATOR_PATH, &actions, nullptr, argv, environ) != 0) std::abort();
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
    std::istringstream ready(read_line());
    std::string word;
    ready >> word >> address_ >> bytes_;
    EXPECT_EQ(word, "ready");
  }
  ~Mutator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::fclose(in_);
    std::fclose(out_);
  }
  pid_t pid() const { return pid_; }
  uint64_t address() const { return address_; }
  uint64_t bytes() const { return bytes_; }

  std::string command(const std::string& line) {
    std::fputs((line + "\n").c_str(), in_);
    std::fflush(in_);
    return read_line();
  }
  // The program's own copy of [address, address + bytes).
  std::vector<uint8_t> dump(uint64_t address, uint64_t bytes) {
    const std::string path =
        std::filesystem::temp_directory_path() / ("fgbi-dump-" + std::to_string(::getpid()));
    EXPECT_EQ(command("dump " + std::to_string(address) + " " + std::to_string(bytes) + " " + path),
              "ok");
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> data{std::istreambuf_iterator<char>(in), {}};
    std::remove(path.c_str());
    return data;
  }
  void exit_now() {
    std::fputs("exit\n", in_);
    std::fflush(in_);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string read_line() {
    char buf[256] = {};
    if (!std::fgets(buf, sizeof buf, out_)) return "";
    std::string s(buf);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  uint64_t address_ = 0, bytes_ = 0;
};

// A sender and receiver wired through the C ABI, replicating epochs.
class EngineReplica {
 public:
  explicit EngineReplica(uint64_t tracked) : replica_(tracked * kPageSize) {
    EXPECT_EQ(fgbi_sender_create(&sender_), FGBI_OK);
    EXPECT_EQ(fgbi_receiver_create(&receiver_), FGBI_OK);
    const auto pages = static_cast<int64_t>(tracked);
    EXPECT_EQ(fgbi_sender_set_parameter(sender_, FGBI_P_TRACKED_PAGES, pages), FGBI_OK);
    EXPECT_EQ(fgbi_receiver_set_parameter(receiver_, FGBI_P_TRACKED_PAGES, pages), FGBI_OK);
    EXPECT_EQ(fgbi_receiver_attach_memory(receiver_, replica_.data(), replica_.size()), FGBI_OK);
  }
  ~EngineReplica() {
    fgbi_sender_free(sender_);
    fgbi_receiver_free(receiver_);
  }
  void apply(const Epoch& e) {
    ASSERT_EQ(fgbi_sender_begin_epoch(sender_, nullptr), FGBI_OK);
    ASSERT_EQ(fgbi_sender_add_pages(sender_, e.pfns.data(), e.pages.data(), e.size(), nullptr),
              FGBI_OK);
    std::vector<uint8_t> stream(fgbi_sender_epoch_bound(sender_, e.size()));
    size_t written = 0;
    ASSERT_EQ(fgbi_sender_end_epoch(sender_, stream.data(), stream.size(), &written), FGBI_OK);
    ASSERT_EQ(fgbi_receiver_feed(receiver_, stream.data(), written), FGBI_OK);
  }
  const uint8_t* page(uint64_t pfn) const { return replica_.data() + pfn * kPageSize; }

 private:
  std::vector<uint8_t> replica_;
  fgbi_sender* sender_ = nullptr;
  fgbi_receiver* receiver_ = nullptr;
};

// Counts pages of [address, address + data.size()) whose replica differs.
size_t differing_pages(const ProcessSource& src, const EngineReplica& rep, uint64_t address,
                       const std::vector<uint8_t>& data) {
  size_t bad = 0;
  for (size_t i = 0; i < data.size() / kPageSize; ++i) {
    auto pfn = src.pfn_of(address + i * kPageSize);
    if (!pfn || std::memcmp(rep.page(*pfn), data.data() + i * kPageSize, kPageSize) != 0) ++bad;
  }
  return bad;
}

std::unique_ptr<ProcessSource> open_or_skip(const ProcessOptions& po, std::string& skip) {
  std::string error;
  auto src = ProcessSource::open(po, error);
  if (!src) skip = error;
  return src;
}

constexpr uint64_t kMaxPages = 16384;

struct Mode {
  StopMethod stop;
  DirtyMethod dirty;
  ReadMethod read;
};

class ProcessCaptureTest : public ::testing::TestWithParam<Mode> {};

TEST_P(ProcessCaptureTest, EveryEpochReproducesTheProgramsMemory) {
  const Mode mode = GetParam();
  if (mode.dirty == DirtyMethod::kSoftDirty) {
    std::string why;
    if (!soft_dirty_works(why)) GTEST_SKIP() << "soft-dirty tracking unavailable here: " << why;
  }
  Mutator prog(4);
  ProcessOptions po;
  po.pid = prog.pid();
  po.stop = mode.stop;
  po.dirty = mode.dirty;
  po.read = mode.read;
  po.max_pages = kMaxPages;
  std::string skip;
  auto src = open_or_skip(po, skip);
  if (!src && mode.stop == StopMethod::kPtrace && skip.find("ptrace") != std::string::npos)
    GTEST_SKIP() << "ptrace not permitted here: " << skip;
  ASSERT_NE(src, nullptr) << skip;
  EXPECT_EQ(src->dirty_method(), mode.dirty);
  EXPECT_EQ(src->stop_method(), mode.stop);
  EXPECT_EQ(src->read_method(), mode.read);
  EngineReplica rep(src->tracked_pages());
  Epoch e;
  std::string error;

  // Epoch 1: everything.
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.number, 1u);
  rep.apply(e);
  auto before = prog.dump(prog.address(), prog.bytes());
  EXPECT_EQ(differing_pages(*src, rep, prog.address(), before), 0u);

  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(prog.command("mutate 40 " + std::to_string(2 * round + 5)), "ok");
    auto after = prog.dump(prog.address(), prog.bytes());
    ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
    rep.apply(e);
    EXPECT_EQ(differing_pages(*src, rep, prog.address(), after), 0u) << "round " << round;
    // Each changed page is in the epoch; the epoch is not the whole memory.
    std::set<uint64_t> epoch_pfns(e.pfns.begin(), e.pfns.end());
    size_t changed = 0;
    for (size_t i = 0; i < after.size() / kPageSize; ++i) {
      if (std::memcmp(after.data() + i * kPageSize, before.data() + i * kPageSize, kPageSize) == 0)
        continue;
      ++changed;
      EXPECT_TRUE(epoch_pfns.count(*src->pfn_of(prog.address() + i * kPageSize)));
    }
    EXPECT_GT(changed, 0u);
    EXPECT_LT(e.size(), changed + 200) << "far more dirty pages than the program wrote";
    before = std::move(after);
  }

  // A mapping appears, is captured, disappears, and another appears.
  std::istringstream reply(prog.command("map 64"));
  std::string ok;
  uint64_t region = 0;
  reply >> ok >> region;
  ASSERT_EQ(ok, "ok");
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  rep.apply(e);
  EXPECT_EQ(differing_pages(*src, rep, region, prog.dump(region, 64 * kPageSize)), 0u);
  ASSERT_EQ(prog.command("unmap " + std::to_string(region) + " 64"), "ok");
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  rep.apply(e);
  EXPECT_FALSE(src->pfn_of(region).has_value());
  std::istringstream reply2(prog.command("map 32"));
  reply2 >> ok >> region;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  rep.apply(e);
  EXPECT_EQ(differing_pages(*src, rep, region, prog.dump(region, 32 * kPageSize)), 0u);
  EXPECT_EQ(differing_pages(*src, rep, prog.address(), prog.dump(prog.address(), prog.bytes())),
            0u);

  // The program exits: the source ends and says why.
  prog.exit_now();
  EXPECT_EQ(src->next(e, error), Next::kEnd);
  EXPECT_NE(error.find("exited"), std::string::npos) << error;
  EXPECT_EQ(src->unreadable_pages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ProcessCaptureTest,
    ::testing::Values(Mode{StopMethod::kPtrace, DirtyMethod::kCompare, ReadMethod::kVm},
                      Mode{StopMethod::kSignal, DirtyMethod::kCompare, ReadMethod::kMem},
                      Mode{StopMethod::kNone, DirtyMethod::kCompare, ReadMethod::kVm},
                      Mode{StopMethod::kPtrace, DirtyMethod::kSoftDirty, ReadMethod::kMem},
                      Mode{StopMethod::kSignal, DirtyMethod::kSoftDirty, ReadMethod::kVm}),
    [](const auto& info) {
      return std::string(stop_method_name(info.param.stop)) + "_" +
             (info.param.dirty == DirtyMethod::kCompare ? "compare" : "softdirty") + "_" +
             read_method_name(info.param.read);
    });

class ConsistencyTest : public ::testing::TestWithParam<StopMethod> {};

// While two threads write, every stopped epoch must be one instant: the
// round numbers of the counter pages never fall more than one round apart
// and never rise along the pages.
TEST_P(ConsistencyTest, StoppedEpochsAreSnapshotsOfOneInstant) {
  Mutator prog(4);
  ProcessOptions po;
  po.pid = prog.pid();
  po.stop = GetParam();
  po.dirty = DirtyMethod::kCompare;
  po.max_pages = kMaxPages;
  std::string skip;
  auto src = open_or_skip(po, skip);
  if (!src && GetParam() == StopMethod::kPtrace && skip.find("ptrace") != std::string::npos)
    GTEST_SKIP() << "ptrace not permitted here: " << skip;
  ASSERT_NE(src, nullptr) << skip;
  EngineReplica rep(src->tracked_pages());
  constexpr size_t kCounterPages = 256;
  ASSERT_EQ(prog.command("spin " + std::to_string(kCounterPages)), "ok");
  Epoch e;
  std::string error;
  uint64_t rounds_seen = 0;
  for (int epoch = 0; epoch < 12; ++epoch) {
    ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
    rep.apply(e);
    uint64_t first = 0, prev = 0;
    for (size_t p = 0; p < kCounterPages; ++p) {
      uint64_t v = 0;
      std::memcpy(&v, rep.page(*src->pfn_of(prog.address() + p * kPageSize)), 8);
      if (p == 0) first = prev = v;
      EXPECT_LE(v, prev) << "epoch " << epoch << " page " << p;
      EXPECT_LE(first - v, 1u) << "epoch " << epoch << " page " << p;
      prev = v;
    }
    rounds_seen = std::max(rounds_seen, first);
    ::usleep(3000);
  }
  EXPECT_GT(rounds_seen, 1u);  // the threads ran between epochs
  ASSERT_EQ(prog.command("still").substr(0, 2), "ok");
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  rep.apply(e);
  EXPECT_EQ(differing_pages(*src, rep, prog.address(), prog.dump(prog.address(), prog.bytes())),
            0u);
  EXPECT_GT(src->stats().stopped_seconds, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Stops, ConsistencyTest,
                         ::testing::Values(StopMethod::kPtrace, StopMethod::kSignal),
                         [](const auto& info) {
                           return std::string(stop_method_name(info.param));
                         });

class UnreadableTest : public ::testing::TestWithParam<ReadMethod> {};

// Pages of a private file mapping beyond the end of the file cannot be read
// (the process itself would get SIGBUS): they are shipped as zeros and
// counted, and the rest of the epoch is intact.
TEST_P(UnreadableTest, UnreadablePagesBecomeZerosAndAreCounted) {
  const std::string path =
      std::filesystem::temp_directory_path() / ("fgbi-mapfile-" + std::to_string(::getpid()));
  {
    std::ofstream f(path, std::ios::binary);
    const std::vector<char> data(8 * kPageSize, 'f');
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  Mutator prog(1);
  std::istringstream reply(prog.command("mapfile " + path + " 8"));
  std::string ok;
  uint64_t region = 0;
  reply >> ok >> region;
  ASSERT_EQ(ok, "ok");
  std::filesystem::resize_file(path, kPageSize);  // pages 1..7 now lie past the end
  ProcessOptions po;
  po.pid = prog.pid();
  po.stop = StopMethod::kSignal;
  po.read = GetParam();
  po.max_pages = kMaxPages;
  std::string error;
  auto src = ProcessSource::open(po, error);
  ASSERT_NE(src, nullptr) << error;
  Epoch e;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(src->unreadable_pages(), 7u);
  EngineReplica rep(src->tracked_pages());
  rep.apply(e);
  const std::vector<uint8_t> first(kPageSize, 'f'), zeros(kPageSize, 0);
  EXPECT_EQ(std::memcmp(rep.page(*src->pfn_of(region)), first.data(), kPageSize), 0);
  EXPECT_EQ(std::memcmp(rep.page(*src->pfn_of(region + 5 * kPageSize)), zeros.data(), kPageSize),
            0);
  EXPECT_EQ(differing_pages(*src, rep, prog.address(), prog.dump(prog.address(), prog.bytes())),
            0u);
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Reads, UnreadableTest,
                         ::testing::Values(ReadMethod::kVm, ReadMethod::kMem),
                         [](const auto& info) {
                           return std::string(read_method_name(info.param));
                         });

TEST(ProcessSourceTest, SoftDirtyDetectionIsReportedClearly) {
  Mutator prog(1);
  std::string why, error;
  const bool works = soft_dirty_works(why);
  ProcessOptions po;
  po.pid = prog.pid();
  po.max_pages = kMaxPages;
  po.dirty = DirtyMethod::kSoftDirty;
  po.stop = StopMethod::kNone;  // soft-dirty needs a stop
  EXPECT_EQ(ProcessSource::open(po, error), nullptr);
  EXPECT_NE(error.find("soft-dirty"), std::string::npos) << error;
  po.stop = StopMethod::kSignal;
  auto src = ProcessSource::open(po, error);
  if (works) {
    ASSERT_NE(src, nullptr) << error;
    EXPECT_NE(src->description().find("soft-dirty bits"), std::string::npos);
  } else {
    EXPECT_EQ(src, nullptr);
    EXPECT_NE(error.find(why), std::string::npos) << error;
    // auto falls back to comparison and says why.
    po.dirty = DirtyMethod::kAuto;
    src = ProcessSource::open(po, error);
    ASSERT_NE(src, nullptr) << error;
    EXPECT_EQ(src->dirty_method(), DirtyMethod::kCompare);
    EXPECT_NE(src->description().find("soft-dirty unavailable (" + why + ")"), std::string::npos)
        << src->description();
  }
}

TEST(ProcessSourceTest, OpenErrorsAreClear) {
  std::string error;
  Mutator prog(1);
  EXPECT_EQ(open_source("pid:" + std::to_string(prog.pid()) + ",max-pages=10", error), nullptr);
  EXPECT_NE(error.find("more than max-pages=10"), std::string::npos) << error;
  EXPECT_EQ(open_source("pid:99999999999", error), nullptr);
  EXPECT_NE(error.find("process id"), std::string::npos) << error;
  EXPECT_EQ(open_source("pid:4194300", error), nullptr);  // above any pid_max in use
  EXPECT_NE(error.find("/proc/4194300/maps"), std::string::npos) << error;
  EXPECT_EQ(open_source("pid:1,stop=sometimes", error), nullptr);
  EXPECT_NE(error.find("stop=sometimes"), std::string::npos) << error;
}

TEST(ProcessSourceTest, OpenSourceSpecCapturesAtTheInterval) {
  Mutator prog(1);
  std::string error;
  auto src = open_source(
      "pid:" + std::to_string(prog.pid()) + ",interval=20,epochs=3,stop=signal,max-pages=16384",
      error);
  ASSERT_NE(src, nullptr) << error;
  EXPECT_NE(src->description().find("pid " + std::to_string(prog.pid())), std::string::npos);
  Epoch e;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(src->next(e, error), Next::kEnd);
  EXPECT_EQ(src->stats().epochs, 3u);
  EXPECT_GT(src->stats().bytes_read, prog.bytes());
}

}  // namespace
}  // namespace fgbi::adapters::process
