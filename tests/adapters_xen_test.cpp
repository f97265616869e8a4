// The Xen dirty source against a fake hypervisor: bitmap walking, batching,
// per-page map errors, failure paths, and the suspend/resume sequence.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "xen/xen_source.hpp"

namespace fgbi::adapters::xen {
namespace {

// Guest memory, a dirty bitmap the test sets, and a log of every call.
struct FakeState {
  uint64_t pages = 0;
  std::vector<uint8_t> memory;
  std::vector<uint64_t> bitmap;
  std::set<uint64_t> unmappable;  // map reports an error for these pfns
  std::string fail;               // name of the call that fails, if any
  std::vector<std::string> log;
  std::vector<size_t> batch_sizes;
  bool log_dirty = false;
  int mapped_now = 0;  // mappings not yet unmapped
  bool suspended = false;

  void dirty(uint64_t pfn) { bitmap[pfn / 64] |= uint64_t{1} << (pfn % 64); }
  void write(uint64_t pfn, uint8_t value) {
    std::memset(memory.data() + pfn * kPageSize, value, kPageSize);
    dirty(pfn);
  }
};

class FakeHypervisor final : public Hypervisor {
 public:
  explicit FakeHypervisor(FakeState& s) : s_(s) {}
  uint64_t p2m_pages() const override { return s_.pages; }
  bool enable_log_dirty(std::string& error) override {
    s_.log.push_back("enable");
    if (failing("enable", error)) return false;
    s_.log_dirty = true;
    return true;
  }
  void disable_log_dirty() override {
    s_.log.push_back("disable");
    s_.log_dirty = false;
  }
  const uint64_t* fetch_and_clean_dirty_bitmap(std::string& error) override {
    s_.log.push_back("clean");
    EXPECT_TRUE(s_.suspended) << "bitmap fetched while the guest runs";
    if (failing("clean", error)) return nullptr;
    handed_ = s_.bitmap;
    std::fill(s_.bitmap.begin(), s_.bitmap.end(), 0);
    return handed_.data();
  }
  const uint8_t* map_pages(const uint64_t* pfns, size_t n, int* errs, std::string& error) override {
    s_.log.push_back("map");
    s_.batch_sizes.push_back(n);
    EXPECT_TRUE(s_.suspended) << "pages mapped while the guest runs";
    EXPECT_LE(n, kMaxMapBatch);
    if (failing("map", error)) return nullptr;
    auto owned = std::make_unique<uint8_t[]>(n * kPageSize);
    uint8_t* view = owned.get();
    views_[view] = std::move(owned);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_LT(pfns[i], s_.pages);
      errs[i] = s_.unmappable.count(pfns[i]) ? -22 : 0;
      if (errs[i] == 0)
        std::memcpy(view + i * kPageSize, s_.memory.data() + pfns[i] * kPageSize, kPageSize);
      else
        std::memset(view + i * kPageSize, 0xEE, kPageSize);  // garbage the source must skip
    }
    ++s_.mapped_now;
    return view;
  }
  void unmap_pages(const uint8_t* base, size_t) override {
    s_.log.push_back("unmap");
    --s_.mapped_now;
    EXPECT_EQ(views_.erase(base), 1u) << "unmapped something never mapped";
  }
  bool suspend(std::string& error) override {
    s_.log.push_back("suspend");
    if (failing("suspend", error)) return false;
    s_.suspended = true;
    return true;
  }
  bool resume(std::string& error) override {
    s_.log.push_back("resume");
    s_.suspended = false;
    return !failing("resume", error);
  }
  std::string describe() const override { return "domain 7 (fake)"; }

 private:
  bool failing(const char* call, std::string& error) {
    if (s_.fail != call) return false;
    error = std::string(call) + " failed: Permission denied";
    return true;
  }
  FakeState& s_;
  std::vector<uint64_t> handed_;
  std::map<const uint8_t*, std::unique_ptr<uint8_t[]>> views_;
};

FakeState make_state(uint64_t pages) {
  FakeState s;
  s.pages = pages;
  s.memory.resize(pages * kPageSize);
  for (uint64_t pfn = 0; pfn < pages; ++pfn)
    std::memset(s.memory.data() + pfn * kPageSize, static_cast<int>(pfn % 251), kPageSize);
  s.bitmap.assign((pages + 63) / 64, 0);
  return s;
}

std::unique_ptr<XenSource> open(FakeState& s) {
  std::string error;
  auto src = XenSource::open(std::make_unique<FakeHypervisor>(s), error);
  EXPECT_NE(src, nullptr) << error;
  return src;
}

void expect_pages_match(const Epoch& e, const FakeState& s) {
  for (size_t i = 0; i < e.size(); ++i)
    EXPECT_EQ(std::memcmp(e.pages[i], s.memory.data() + e.pfns[i] * kPageSize, kPageSize), 0)
        << "pfn " << e.pfns[i];
}

TEST(DirtyBitmapTest, WalksSetBitsAndIgnoresBitsBeyondTheP2m) {
  std::mt19937_64 rng(3);
  for (uint64_t bits : {uint64_t{1}, uint64_t{63}, uint64_t{64}, uint64_t{65}, uint64_t{1000}}) {
    std::vector<uint64_t> words((bits + 63) / 64);
    for (auto& w : words) w = rng() & rng();  // about a quarter of the bits
    std::vector<uint64_t> want;
    for (uint64_t b = 0; b < bits; ++b)
      if ((words[b / 64] >> (b % 64)) & 1) want.push_back(b);
    if (bits % 64 != 0) words.back() |= ~uint64_t{0} << (bits % 64);  // garbage past the end
    std::vector<uint64_t> got;
    dirty_pfns(words.data(), bits, got);
    EXPECT_EQ(got, want) << bits << " bits";
  }
}

TEST(XenSourceTest, FirstEpochCopiesEveryPageInBatchesWhileSuspended) {
  auto s = make_state(2500);
  auto src = open(s);
  ASSERT_TRUE(s.log_dirty);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  ASSERT_EQ(e.size(), 2500u);
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e.pfns[i], i);
  expect_pages_match(e, s);
  EXPECT_EQ(s.batch_sizes, (std::vector<size_t>{1024, 1024, 452}));
  EXPECT_EQ(s.log, (std::vector<std::string>{"enable", "suspend", "clean", "map", "unmap", "map",
                                             "unmap", "map", "unmap", "resume"}));
  EXPECT_EQ(s.mapped_now, 0);
  EXPECT_FALSE(s.suspended);
  src.reset();
  EXPECT_FALSE(s.log_dirty);  // turned off when the source goes
}

TEST(XenSourceTest, LaterEpochsCarryExactlyTheDirtyPages) {
  auto s = make_state(3000);
  auto src = open(s);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  for (uint64_t pfn : {0, 63, 64, 1500, 2047, 2048, 2999}) s.write(pfn, 0xA5);
  s.batch_sizes.clear();
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()),
            (std::vector<uint64_t>{0, 63, 64, 1500, 2047, 2048, 2999}));
  expect_pages_match(e, s);
  EXPECT_EQ(s.batch_sizes, (std::vector<size_t>{7}));
  // Nothing dirtied: an empty epoch, still a full suspend/clean/resume cycle.
  s.log.clear();
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 0u);
  EXPECT_EQ(s.log, (std::vector<std::string>{"suspend", "clean", "resume"}));
  EXPECT_EQ(e.number, 3u);
}

TEST(XenSourceTest, PagesXenWillNotMapAreLeftOutAndCounted) {
  auto s = make_state(2100);
  s.unmappable = {5, 1024, 2099};
  auto src = open(s);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 2100u - 3);
  std::set<uint64_t> got(e.pfns.begin(), e.pfns.end());
  for (uint64_t bad : s.unmappable) EXPECT_FALSE(got.count(bad));
  expect_pages_match(e, s);
  EXPECT_EQ(src->unmapped_pages(), 3u);
}

struct FailureCase {
  const char* call;
  std::vector<std::string> expected_log;  // after "enable"
};

class XenFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(XenFailureTest, FailuresAreReportedAndTheGuestIsResumed) {
  const FailureCase& c = GetParam();
  auto s = make_state(100);
  auto src = open(s);
  s.fail = c.call;
  s.log.clear();
  Epoch e;
  std::string error;
  EXPECT_EQ(src->next(e, error), Next::kError);
  EXPECT_NE(error.find(std::string(c.call) + " failed: Permission denied"), std::string::npos)
      << error;
  EXPECT_NE(error.find("domain 7"), std::string::npos) << error;
  EXPECT_EQ(s.log, c.expected_log);
  EXPECT_FALSE(s.suspended && std::string(c.call) != "resume");
  EXPECT_EQ(s.mapped_now, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Calls, XenFailureTest,
    ::testing::Values(FailureCase{"suspend", {"suspend"}},
                      FailureCase{"clean", {"suspend", "clean", "resume"}},
                      FailureCase{"map", {"suspend", "clean", "map", "resume"}},
                      FailureCase{"resume", {"suspend", "clean", "map", "unmap", "resume"}}),
    [](const auto& info) { return std::string(info.param.call); });

TEST(XenSourceTest, EnableFailureFailsOpen) {
  auto s = make_state(10);
  s.fail = "enable";
  std::string error;
  EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
  EXPECT_NE(error.find("cannot enable log-dirty mode"), std::string::npos) << error;
}

}  // namespace
}  // namespace fgbi::adapters::xen
