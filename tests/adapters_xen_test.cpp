// The Xen dirty source against a fake hypervisor: guest-type refusals, the
// log-dirty fallback and its EOPNOTSUPP message, hole skipping by page type,
// bitmap walking, batching, per-page map errors, failure paths, and the
// pause/unpause sequence. The suspend= option is checked through
// open_source().
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "source.hpp"
#include "xen/xen_source.hpp"

namespace fgbi::adapters::xen {
namespace {

// Guest memory, a dirty bitmap the test sets, page types, and a log of
// every call.
struct FakeState {
  uint64_t pages = 0;
  GuestType type = GuestType::kPvh;
  std::vector<uint8_t> memory;
  std::vector<uint64_t> bitmap;
  std::map<uint64_t, uint64_t> page_type;  // kPfinfoNotab unless listed
  std::set<uint64_t> unmappable;           // map reports an error for these pfns
  std::string fail;                        // name of the call that fails, if any
  int enable_errno = 0;                    // every ENABLE_LOGDIRTY fails with this
  std::vector<std::string> log;
  std::vector<size_t> batch_sizes;  // of map calls
  bool log_dirty = false;
  int mapped_now = 0;  // mappings not yet unmapped
  bool paused = false;

  void dirty(uint64_t pfn) { bitmap[pfn / 64] |= uint64_t{1} << (pfn % 64); }
  void write(uint64_t pfn, uint8_t value) {
    std::memset(memory.data() + pfn * kPageSize, value, kPageSize);
    dirty(pfn);
  }
  uint64_t type_of(uint64_t pfn) const {
    const auto it = page_type.find(pfn);
    return it == page_type.end() ? kPfinfoNotab : it->second;
  }
  void holes(uint64_t first, uint64_t end, uint64_t type = kPfinfoXtab) {
    for (uint64_t pfn = first; pfn < end; ++pfn) page_type[pfn] = type;
  }
};

class FakeHypervisor final : public Hypervisor {
 public:
  explicit FakeHypervisor(FakeState& s) : s_(s) {}
  uint64_t p2m_pages() const override { return s_.pages; }
  GuestType guest_type() const override { return s_.type; }
  int enable_log_dirty(std::string& error) override {
    s_.log.push_back("enable");
    if (failing("enable", error)) return EPERM;
    int err = s_.enable_errno;
    if (err == 0 && s_.log_dirty) err = EINVAL;  // Xen: paging_log_dirty_enable when on
    if (err != 0) {
      error = "xc_shadow_control(ENABLE_LOGDIRTY): " + std::string(std::strerror(err));
      return err;
    }
    s_.log_dirty = true;
    return 0;
  }
  int disable_log_dirty(std::string& error) override {
    s_.log.push_back("disable");
    if (failing("disable", error)) return EPERM;
    s_.log_dirty = false;
    return 0;
  }
  const uint64_t* fetch_and_clean_dirty_bitmap(std::string& error) override {
    s_.log.push_back("clean");
    EXPECT_TRUE(s_.paused) << "bitmap fetched while the guest runs";
    EXPECT_TRUE(s_.log_dirty);
    if (failing("clean", error)) return nullptr;
    handed_ = s_.bitmap;
    std::fill(s_.bitmap.begin(), s_.bitmap.end(), 0);
    return handed_.data();
  }
  bool page_types(const uint64_t* pfns, size_t n, uint64_t* types, std::string& error) override {
    s_.log.push_back("types");
    EXPECT_TRUE(s_.paused) << "types asked while the guest runs";
    EXPECT_LE(n, kMaxMapBatch);
    if (failing("types", error)) return false;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_LT(pfns[i], s_.pages);
      types[i] = s_.type_of(pfns[i]);
    }
    return true;
  }
  const uint8_t* map_pages(const uint64_t* pfns, size_t n, int* errs, std::string& error) override {
    s_.log.push_back("map");
    s_.batch_sizes.push_back(n);
    EXPECT_TRUE(s_.paused) << "pages mapped while the guest runs";
    EXPECT_LE(n, kMaxMapBatch);
    EXPECT_GT(n, 0u);
    if (failing("map", error)) return nullptr;
    auto owned = std::make_unique<uint8_t[]>(n * kPageSize);
    uint8_t* view = owned.get();
    views_[view] = std::move(owned);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_LT(pfns[i], s_.pages);
      const bool hole = s_.type_of(pfns[i]) != kPfinfoNotab;
      EXPECT_FALSE(hole) << "hole pfn " << pfns[i] << " mapped";
      errs[i] = hole || s_.unmappable.count(pfns[i]) ? -ENOENT : 0;
      if (errs[i] == 0)
        std::memcpy(view + i * kPageSize, s_.memory.data() + pfns[i] * kPageSize, kPageSize);
      else
        std::memset(view + i * kPageSize, 0xEE, kPageSize);  // garbage the source must not ship
    }
    ++s_.mapped_now;
    return view;
  }
  void unmap_pages(const uint8_t* base, size_t) override {
    s_.log.push_back("unmap");
    --s_.mapped_now;
    EXPECT_EQ(views_.erase(base), 1u) << "unmapped something never mapped";
  }
  bool pause(std::string& error) override {
    s_.log.push_back("pause");
    if (failing("pause", error)) return false;
    s_.paused = true;
    return true;
  }
  bool unpause(std::string& error) override {
    s_.log.push_back("unpause");
    s_.paused = false;
    return !failing("unpause", error);
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

TEST(XenSourceTest, FirstEpochCopiesEveryPageInBatchesWhilePaused) {
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
  EXPECT_EQ(s.log,
            (std::vector<std::string>{"enable", "pause", "clean", "types", "map", "unmap", "types",
                                      "map", "unmap", "types", "map", "unmap", "unpause"}));
  EXPECT_EQ(s.mapped_now, 0);
  EXPECT_FALSE(s.paused);
  EXPECT_EQ(src->hole_pages(), 0u);
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
  // Nothing dirtied: an empty epoch, still a full pause/clean/unpause cycle.
  s.log.clear();
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 0u);
  EXPECT_EQ(s.log, (std::vector<std::string>{"pause", "clean", "unpause"}));
  EXPECT_EQ(e.number, 3u);
}

TEST(XenSourceTest, HolesAreSkippedByTypeAndNeverMapped) {
  // A PVH guest's p2m: RAM at the bottom, a long gap, special pages at the
  // top (as under 4 GiB), an allocate-only and a broken page in the RAM.
  auto s = make_state(5000);
  s.holes(1200, 4990);
  s.page_type[7] = kPfinfoXalloc;
  s.page_type[8] = kPfinfoBroken;
  auto src = open(s);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  std::vector<uint64_t> want;
  for (uint64_t pfn = 0; pfn < 5000; ++pfn)
    if (s.type_of(pfn) == kPfinfoNotab) want.push_back(pfn);
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()), want);
  expect_pages_match(e, s);
  // Types for all five batches; maps only where a batch holds data: pfns
  // 0-1023 less two, 1024-1199, nothing in 2048-4095, 4990-4999.
  EXPECT_EQ(std::count(s.log.begin(), s.log.end(), "types"), 5);
  EXPECT_EQ(s.batch_sizes, (std::vector<size_t>{1022, 176, 10}));
  EXPECT_EQ(src->hole_pages(), 5000u - want.size());
  // A dirty bit on a hole (a page ballooned out since) is skipped too.
  s.dirty(3000);
  s.write(4995, 0x5A);
  s.batch_sizes.clear();
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()), (std::vector<uint64_t>{4995}));
  expect_pages_match(e, s);
  EXPECT_EQ(s.batch_sizes, (std::vector<size_t>{1}));
}

TEST(XenSourceTest, APageThatIsNoHoleButWillNotMapFailsTheEpoch) {
  auto s = make_state(2100);
  auto src = open(s);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  s.write(3, 0x11);
  s.write(1500, 0x22);
  s.unmappable = {1500};  // paged out, say
  EXPECT_EQ(src->next(e, error), Next::kError);
  EXPECT_NE(error.find("cannot map pfn 1500, which is not a hole: No such file or directory"),
            std::string::npos)
      << error;
  EXPECT_FALSE(s.paused);
  EXPECT_EQ(s.mapped_now, 0);
  // The failed epoch cleaned the bitmap, so the dirty bits of pfns 3 and
  // 1500 are gone from Xen: the next epoch copies every page.
  s.unmappable.clear();
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 2100u);
  expect_pages_match(e, s);
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 0u);
}

TEST(XenSourceTest, UnknownPageTypeFailsTheEpoch) {
  auto s = make_state(100);
  s.page_type[42] = kPfinfoLpintab;  // "pinned" without a table level: not a type Xen reports
  auto src = open(s);
  Epoch e;
  std::string error;
  EXPECT_EQ(src->next(e, error), Next::kError);
  EXPECT_NE(error.find("pfn 42 has an unknown page type 0x80000000"), std::string::npos) << error;
  EXPECT_FALSE(s.paused);
}

TEST(PageDataTest, ClassifiesXensPageTypes) {
  EXPECT_EQ(page_data(kPfinfoNotab), PageData::kPresent);
  for (uint64_t level = 1; level <= 4; ++level) {
    EXPECT_EQ(page_data(level << 28), PageData::kPresent) << level;
    EXPECT_EQ(page_data((level << 28) | kPfinfoLpintab), PageData::kPresent) << level;
  }
  EXPECT_EQ(page_data(kPfinfoXtab), PageData::kNone);
  EXPECT_EQ(page_data(kPfinfoXalloc), PageData::kNone);
  EXPECT_EQ(page_data(kPfinfoBroken), PageData::kNone);
  EXPECT_EQ(page_data(kPfinfoLpintab), PageData::kUnknown);
  EXPECT_EQ(page_data(0x5ULL << 28), PageData::kUnknown);
  EXPECT_EQ(page_data(1), PageData::kUnknown);
}

struct FailureCase {
  const char* call;
  std::vector<std::string> expected_log;  // after "enable"
};

class XenFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(XenFailureTest, FailuresAreReportedAndTheGuestIsUnpaused) {
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
  EXPECT_FALSE(s.paused);
  EXPECT_EQ(s.mapped_now, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Calls, XenFailureTest,
    ::testing::Values(FailureCase{"pause", {"pause"}},
                      FailureCase{"clean", {"pause", "clean", "unpause"}},
                      FailureCase{"types", {"pause", "clean", "types", "unpause"}},
                      FailureCase{"map", {"pause", "clean", "types", "map", "unpause"}},
                      FailureCase{"unpause",
                                  {"pause", "clean", "types", "map", "unmap", "unpause"}}),
    [](const auto& info) { return std::string(info.param.call); });

TEST(XenSourceTest, EnableFailureFailsOpen) {
  auto s = make_state(10);
  s.fail = "enable";
  std::string error;
  EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
  EXPECT_NE(error.find("cannot enable log-dirty mode"), std::string::npos) << error;
}

TEST(XenSourceTest, LogDirtyAlreadyOnIsTurnedOffAndOnAgain) {
  // Left on by a killed xl remus: ENABLE_LOGDIRTY fails with EINVAL.
  auto s = make_state(100);
  s.log_dirty = true;
  auto src = open(s);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(s.log, (std::vector<std::string>{"enable", "disable", "enable"}));
  EXPECT_TRUE(s.log_dirty);
  Epoch e;
  std::string error;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(e.size(), 100u);
}

TEST(XenSourceTest, LogDirtyFallbackFailuresNameEveryStep) {
  {
    auto s = make_state(10);
    s.log_dirty = true;
    s.fail = "disable";
    std::string error;
    EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
    EXPECT_EQ(s.log, (std::vector<std::string>{"enable", "disable"}));
    EXPECT_NE(error.find("Invalid argument; turning it off to enable it again: disable failed"),
              std::string::npos)
        << error;
  }
  {
    auto s = make_state(10);
    s.enable_errno = EBUSY;
    std::string error;
    EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
    EXPECT_EQ(s.log, (std::vector<std::string>{"enable", "disable", "enable"}));
    EXPECT_NE(error.find("busy; after turning it off, again: xc_shadow_control(ENABLE_LOGDIRTY)"),
              std::string::npos)
        << error;
  }
}

TEST(XenSourceTest, NoLogDirtyInTheHypervisorIsAClearErrorWithoutOffAndOn) {
  // Debian 12's Xen 4.17.7 has no shadow paging: EOPNOTSUPP.
  auto s = make_state(10);
  s.enable_errno = EOPNOTSUPP;
  std::string error;
  EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
  EXPECT_EQ(s.log, (std::vector<std::string>{"enable"}));
  EXPECT_NE(error.find("cannot enable log-dirty mode: xc_shadow_control(ENABLE_LOGDIRTY): "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("this hypervisor cannot track dirty pages for this guest"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("without shadow paging"), std::string::npos) << error;
}

TEST(XenSourceTest, PvGuestsAreRefusedBeforeAnythingIsTouched) {
  auto s = make_state(10);
  s.type = GuestType::kPv;
  std::string error;
  EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
  EXPECT_TRUE(s.log.empty());
  EXPECT_NE(error.find("domain 7 (fake) is a PV guest"), std::string::npos) << error;
  EXPECT_NE(error.find("machine frames"), std::string::npos) << error;
  EXPECT_NE(error.find("use a PVH guest"), std::string::npos) << error;
}

TEST(XenSourceTest, HvmGuestsAreRefusedBeforeAnythingIsTouched) {
  auto s = make_state(10);
  s.type = GuestType::kHvm;
  std::string error;
  EXPECT_EQ(XenSource::open(std::make_unique<FakeHypervisor>(s), error), nullptr);
  EXPECT_TRUE(s.log.empty());
  EXPECT_NE(error.find("domain 7 (fake) is an HVM guest"), std::string::npos) << error;
  EXPECT_NE(error.find("QEMU's own dirty tracking"), std::string::npos) << error;
}

TEST(XenSpecTest, SuspendByShutdownIsRefusedAndPauseIsTheDefault) {
  std::string error;
  EXPECT_EQ(open_source("xen:7,suspend=shutdown", error), nullptr);
  EXPECT_NE(error.find("suspend=shutdown is not supported"), std::string::npos) << error;
  EXPECT_NE(error.find("fast resume crashes PV guests"), std::string::npos) << error;
  // Without a hypervisor, pause (explicit or default) gets as far as opening
  // Xen, or says the build has no Xen.
  for (const char* spec : {"xen:7", "xen:7,suspend=pause"}) {
    EXPECT_EQ(open_source(spec, error), nullptr);
    EXPECT_EQ(error.find("suspend="), std::string::npos) << spec << ": " << error;
    EXPECT_TRUE(error.find("xc_interface_open") != std::string::npos ||
                error.find("xc_domain_getinfo") != std::string::npos ||
                error.find("no Xen support") != std::string::npos)
        << spec << ": " << error;
  }
}

}  // namespace
}  // namespace fgbi::adapters::xen
