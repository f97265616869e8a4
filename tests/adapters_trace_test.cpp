// Trace format v1: writer/reader round trips for every codec, the writer's
// checks, and readers facing truncated or corrupted traces.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "source.hpp"
#include "trace/reader.hpp"
#include "trace/writer.hpp"

namespace fgbi::adapters::trace {
namespace {

namespace fs = std::filesystem;

// A temporary file removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& stem)
      : path_((fs::temp_directory_path() /
               (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
                  .string()) {}
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

// Pages whose content depends on (pfn, version), partly compressible.
std::vector<uint8_t> make_page(uint64_t pfn, uint64_t version) {
  std::vector<uint8_t> page(kPageSize, 0);
  std::mt19937_64 rng(pfn * 1000003 + version);
  for (size_t i = 0; i < kPageSize / 4; i += 8) {
    const uint64_t v = rng();
    std::memcpy(page.data() + i, &v, 8);
  }
  return page;
}

struct RecordedEpoch {
  std::vector<uint64_t> pfns;
  std::vector<std::vector<uint8_t>> pages;
};

// Epochs with varied sizes: all pages, a few, none, and more than one chunk.
std::vector<RecordedEpoch> sample_epochs(uint64_t tracked) {
  std::vector<RecordedEpoch> epochs;
  std::mt19937_64 rng(7);
  const size_t all_pages = static_cast<size_t>(tracked);
  const std::vector<size_t> sizes = {all_pages, 3, 0, std::min<size_t>(1500, all_pages), 1};
  for (size_t e = 0; e < sizes.size(); ++e) {
    RecordedEpoch ep;
    std::vector<uint64_t> all(tracked);
    for (uint64_t i = 0; i < tracked; ++i) all[i] = i;
    std::shuffle(all.begin(), all.end(), rng);
    ep.pfns.assign(all.begin(), all.begin() + static_cast<long>(sizes[e]));
    for (uint64_t pfn : ep.pfns) ep.pages.push_back(make_page(pfn, e));
    epochs.push_back(std::move(ep));
  }
  return epochs;
}

void write_trace(const std::string& path, uint64_t tracked, const std::vector<RecordedEpoch>& eps,
                 Codec codec) {
  std::string error;
  auto w = TraceWriter::create(path, tracked, "unit test", {codec, 3}, error);
  ASSERT_NE(w, nullptr) << error;
  for (const auto& ep : eps) {
    std::vector<const void*> ptrs;
    for (const auto& p : ep.pages) ptrs.push_back(p.data());
    ASSERT_TRUE(w->append(ep.pfns, ptrs, error)) << error;
  }
  ASSERT_TRUE(w->finish(error)) << error;
  EXPECT_EQ(w->epochs(), eps.size());
}

void expect_same(const Epoch& got, const RecordedEpoch& want) {
  ASSERT_EQ(got.size(), want.pfns.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got.pfns[i], want.pfns[i]);
    EXPECT_EQ(std::memcmp(got.pages[i], want.pages[i].data(), kPageSize), 0) << "page " << i;
  }
}

class TraceCodecTest : public ::testing::TestWithParam<Codec> {};

TEST_P(TraceCodecTest, RoundTripsEveryEpochExactly) {
  TempFile file("fgbi-trace");
  const uint64_t tracked = 2048;
  const auto eps = sample_epochs(tracked);
  write_trace(file.path(), tracked, eps, GetParam());

  std::string error;
  auto r = TraceReader::open(file.path(), error);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_EQ(r->header().tracked_pages, tracked);
  EXPECT_EQ(r->description(), "unit test");
  ASSERT_EQ(r->index().size(), eps.size());
  for (size_t i = 0; i < eps.size(); ++i) {
    Epoch e;
    EpochFigures f;
    ASSERT_TRUE(r->read_epoch(i, e, &f, error)) << error;
    EXPECT_EQ(e.number, i + 1);
    expect_same(e, eps[i]);
    EXPECT_EQ(f.chunks, (eps[i].pfns.size() + kMaxChunkPages - 1) / kMaxChunkPages);
    if (!eps[i].pfns.empty()) {
      EXPECT_EQ(f.codecs, 1u << static_cast<unsigned>(GetParam()));
    }
  }
  // Random access: an earlier epoch again.
  Epoch e;
  ASSERT_TRUE(r->read_epoch(1, e, nullptr, error)) << error;
  expect_same(e, eps[1]);
  EXPECT_FALSE(r->read_epoch(eps.size(), e, nullptr, error));
  EXPECT_NE(error.find("no epoch 6"), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(Codecs, TraceCodecTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd),
                         [](const auto& info) { return std::string(codec_name(info.param)); });

TEST(TraceTest, CompressionShrinksCompressibleTraces) {
  TempFile raw("fgbi-raw"), zstd("fgbi-zstd");
  const auto eps = sample_epochs(512);
  write_trace(raw.path(), 512, eps, Codec::kNone);
  write_trace(zstd.path(), 512, eps, Codec::kZstd);
  // Three quarters of every page are zero.
  EXPECT_LT(fs::file_size(zstd.path()) * 3, fs::file_size(raw.path()));
}

TEST(TraceTest, WriterRejectsBadEpochs) {
  TempFile file("fgbi-trace");
  std::string error;
  auto w = TraceWriter::create(file.path(), 16, "", {}, error);
  ASSERT_NE(w, nullptr) << error;
  const auto page = make_page(0, 0);
  const void* p = page.data();
  std::vector<uint64_t> beyond = {16};
  EXPECT_FALSE(w->append(beyond, {&p, 1}, error));
  EXPECT_NE(error.find("beyond"), std::string::npos) << error;
  std::vector<uint64_t> twice = {3, 3};
  std::vector<const void*> two = {p, p};
  EXPECT_FALSE(w->append(twice, two, error));
  EXPECT_NE(error.find("twice"), std::string::npos) << error;
  // The rejected epochs left nothing behind: pfn 3 may be used again.
  std::vector<uint64_t> ok = {3};
  EXPECT_TRUE(w->append(ok, {&p, 1}, error)) << error;
  EXPECT_TRUE(w->finish(error)) << error;
  EXPECT_FALSE(TraceWriter::create(file.path(), 0, "", {}, error));
  EXPECT_FALSE(TraceWriter::create("/nonexistent-dir/x.fgbt", 4, "", {}, error));
  EXPECT_NE(error.find("/nonexistent-dir/x.fgbt"), std::string::npos) << error;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Opens the trace and reads every epoch; returns the first error, or "".
// With `expected`, an epoch that reads without error must equal it.
std::string read_all(const std::string& path,
                     const std::vector<RecordedEpoch>* expected = nullptr) {
  std::string error;
  auto r = TraceReader::open(path, error);
  if (!r) return error.empty() ? "open failed without a message" : error;
  for (size_t i = 0; i < r->index().size(); ++i) {
    Epoch e;
    if (!r->read_epoch(i, e, nullptr, error))
      return error.empty() ? "read failed without a message" : error;
    if (expected) {
      EXPECT_LT(i, expected->size());
      if (i < expected->size()) expect_same(e, (*expected)[i]);
    }
  }
  return "";
}

TEST(TraceTest, CutTracesGiveClearErrors) {
  TempFile file("fgbi-trace"), cut("fgbi-cut");
  write_trace(file.path(), 64, {sample_epochs(64)[0], sample_epochs(64)[1]}, Codec::kZstd);
  const auto bytes = read_file(file.path());
  for (size_t len : {size_t{0}, size_t{10}, size_t{64}, size_t{75}, bytes.size() / 2,
                     bytes.size() - 33, bytes.size() - 1}) {
    write_file(cut.path(), {bytes.begin(), bytes.begin() + static_cast<long>(len)});
    const std::string error = read_all(cut.path());
    EXPECT_FALSE(error.empty()) << "cut at " << len;
    if (len >= 100) {
      EXPECT_NE(error.find("did not finish"), std::string::npos) << error;
    }
  }
}

TEST(TraceTest, CorruptedBytesNeverCrashOrChangeAnEpoch) {
  // A small trace; each byte flipped in turn must give an error, never a
  // crash, and never a silently different epoch. (A flip inside a zstd frame
  // header may leave the decoded payload identical, so a few pass.)
  TempFile file("fgbi-trace"), bad("fgbi-bad");
  const uint64_t tracked = 8;
  std::vector<RecordedEpoch> eps(2);
  eps[0].pfns = {0, 5};
  eps[1].pfns = {5};
  for (auto& ep : eps)
    for (uint64_t pfn : ep.pfns) ep.pages.push_back(std::vector<uint8_t>(kPageSize, uint8_t(pfn)));
  write_trace(file.path(), tracked, eps, Codec::kZstd);
  const auto bytes = read_file(file.path());
  ASSERT_LT(bytes.size(), 1000u);  // zstd makes this small enough to flip everywhere
  size_t detected = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    auto flipped = bytes;
    flipped[at] ^= 0x20;
    write_file(bad.path(), flipped);
    if (!read_all(bad.path(), &eps).empty()) ++detected;
  }
  EXPECT_GT(detected, bytes.size() * 95 / 100);
}

TEST(TraceTest, OpenRejectsNonTraces) {
  TempFile file("fgbi-junk");
  write_file(file.path(), std::vector<uint8_t>(4096, 'x'));
  std::string error;
  EXPECT_EQ(TraceReader::open(file.path(), error), nullptr);
  EXPECT_NE(error.find("not an fgbi trace"), std::string::npos) << error;
  EXPECT_EQ(TraceReader::open("/nonexistent/trace.fgbt", error), nullptr);
  EXPECT_NE(error.find("cannot open trace"), std::string::npos) << error;
}

TEST(TraceTest, TraceSourceReplaysThroughOpenSource) {
  TempFile file("fgbi-trace");
  const auto eps = sample_epochs(300);
  write_trace(file.path(), 300, eps, Codec::kLz4);
  std::string error;
  auto src = open_source("trace:" + file.path(), error);
  ASSERT_NE(src, nullptr) << error;
  EXPECT_EQ(src->tracked_pages(), 300u);
  EXPECT_NE(src->description().find("recorded from unit test"), std::string::npos);
  Epoch e;
  for (const auto& want : eps) {
    ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
    expect_same(e, want);
  }
  EXPECT_EQ(src->next(e, error), Next::kEnd);
  EXPECT_NE(error.find("end of trace"), std::string::npos) << error;
  EXPECT_EQ(src->stats().epochs, eps.size());

  auto limited = open_source("trace:" + file.path() + ",epochs=2", error);
  ASSERT_NE(limited, nullptr) << error;
  EXPECT_EQ(limited->next(e, error), Next::kEpoch);
  EXPECT_EQ(limited->next(e, error), Next::kEpoch);
  EXPECT_EQ(limited->next(e, error), Next::kEnd);
  EXPECT_NE(error.find("epoch limit of 2"), std::string::npos) << error;
}

}  // namespace
}  // namespace fgbi::adapters::trace
