// The evaluation's dirty sources: a synthetic workload opened from a spec
// gives the same epochs as the one the --workload options build, the spec's
// options are checked, and the shadow copy holds every page as last handed out.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "evaluation.hpp"
#include "fgbi.h"
#include "shadow_copy.hpp"
#include "sources.hpp"

namespace fgbi::eval {
namespace {

WorkloadModel small_web(uint64_t seed) {
  WorkloadOverrides o;
  o.pages = 256;
  o.seed = seed;
  return o.preset("web");
}

TEST(SyntheticSource, SpecGivesTheWorkloadTheOverridesBuild) {
  std::string error;
  OpenedSource opened = open_source("synthetic:web,pages=256,seed=3", error);
  ASSERT_NE(opened.source, nullptr) << error;
  ASSERT_TRUE(opened.model.has_value());
  EXPECT_EQ(opened.model->name, "web");
  EXPECT_EQ(opened.model->tracked_pages, 256u);
  EXPECT_EQ(opened.model->seed, 3u);
  EXPECT_EQ(opened.source->tracked_pages(), 256u);

  // Epoch 1 is every page; then the model's epochs, page for page.
  SyntheticWorkload reference(small_web(3));
  adapters::Epoch epoch;
  ASSERT_EQ(opened.source->next(epoch, error), adapters::Next::kEpoch);
  ASSERT_EQ(epoch.size(), 256u);
  for (uint64_t i = 0; i < 256; ++i) {
    ASSERT_EQ(epoch.pfns[i], i);
    ASSERT_EQ(std::memcmp(epoch.pages[i], reference.page(i), SyntheticWorkload::kPageSize), 0);
  }
  for (int e = 0; e < 3; ++e) {
    ASSERT_EQ(opened.source->next(epoch, error), adapters::Next::kEpoch);
    const std::vector<uint64_t>& dirty = reference.next_epoch();
    ASSERT_EQ(std::vector<uint64_t>(epoch.pfns.begin(), epoch.pfns.end()), dirty);
    for (size_t i = 0; i < dirty.size(); ++i)
      ASSERT_EQ(std::memcmp(epoch.pages[i], reference.page(dirty[i]), SyntheticWorkload::kPageSize),
                0);
  }
}

TEST(SyntheticSource, TheOptionsOfEveryKindApply) {
  std::string error;
  OpenedSource opened = open_source("synthetic:idle,pages=64,epochs=2", error);
  ASSERT_NE(opened.source, nullptr) << error;
  adapters::Epoch epoch;
  EXPECT_EQ(opened.source->next(epoch, error), adapters::Next::kEpoch);
  EXPECT_EQ(opened.source->next(epoch, error), adapters::Next::kEpoch);
  EXPECT_EQ(opened.source->next(epoch, error), adapters::Next::kEnd);
  EXPECT_NE(error.find("epoch limit of 2"), std::string::npos) << error;
}

TEST(SyntheticSource, RefusesUnknownWorkloadsOptionsAndInvalidModels) {
  for (const auto& [spec, reason] : std::vector<std::pair<std::string, std::string>>{
           {"synthetic:nosuch", "takes one workload of"},
           {"synthetic:web,hpc", "takes one workload of"},
           {"synthetic:web,colour=red", "colour"},
           {"synthetic:web,pages=0", "pages=0"},
           {"synthetic:web,pages=64,working-set=100", "working"}}) {
    std::string error;
    OpenedSource opened = open_source(spec, error);
    EXPECT_EQ(opened.source, nullptr) << spec;
    EXPECT_FALSE(opened.model.has_value()) << spec;
    EXPECT_NE(error.find(reason), std::string::npos) << spec << ": " << error;
  }
  EXPECT_NE(source_kinds().find("synthetic"), std::string::npos);
}

TEST(ShadowCopy, HoldsEveryPageAsLastHandedOut) {
  const WorkloadModel model = small_web(5);
  ShadowCopy shadow(make_synthetic_source(model));
  SyntheticWorkload reference(model);
  std::string error;
  adapters::Epoch epoch;
  for (int e = 0; e < 4; ++e) {
    ASSERT_EQ(shadow.next(epoch, error), adapters::Next::kEpoch);
    if (e > 0) reference.next_epoch();
    // The epoch's pages point into the copy.
    for (size_t i = 0; i < epoch.size(); ++i) EXPECT_EQ(epoch.pages[i], shadow.page(epoch.pfns[i]));
  }
  ASSERT_EQ(shadow.memory_bytes(), reference.memory_bytes());
  EXPECT_EQ(std::memcmp(shadow.memory(), reference.page(0), reference.memory_bytes()), 0);
}

// A source that hands out pages 1 and 3 of 6 (the others are holes, as
// Xen's p2m gaps), the second time after stopping its workload for 2 ms.
class SparseSource final : public adapters::DirtySource {
 public:
  uint64_t tracked_pages() const override { return 6; }
  std::string description() const override { return "two pages of six"; }
  adapters::Next next(adapters::Epoch& epoch, std::string&) override {
    for (auto& b : page_) b = static_cast<uint8_t>(b + 1);
    if (++calls_ == 2) stats_.stopped_seconds += 0.002;
    epoch.pfns = pfns_;
    epoch.pages = pages_;
    return adapters::Next::kEpoch;
  }

 private:
  int calls_ = 0;
  std::vector<uint8_t> page_ = std::vector<uint8_t>(adapters::kPageSize, 7);
  std::vector<uint64_t> pfns_{1, 3};
  std::vector<const void*> pages_{page_.data(), page_.data()};
};

TEST(ShadowCopy, HolesAreNotHeldAndDigestAsZeros) {
  ShadowCopy shadow(std::make_unique<SparseSource>());
  std::string error;
  adapters::Epoch epoch;
  ASSERT_EQ(shadow.next(epoch, error), adapters::Next::kEpoch);
  EXPECT_FALSE(shadow.last_pause_ns()) << "a source that stops nothing has no pause";
  ASSERT_EQ(shadow.next(epoch, error), adapters::Next::kEpoch);
  ASSERT_TRUE(shadow.last_pause_ns());
  EXPECT_EQ(*shadow.last_pause_ns(), 2'000'000u);
  for (uint64_t pfn = 0; pfn < 6; ++pfn) EXPECT_EQ(shadow.held(pfn), pfn == 1 || pfn == 3) << pfn;
  // Holes read as zeros, so the digest over held pages equals the whole copy's.
  std::vector<uint8_t> expected(6 * adapters::kPageSize, 0);
  std::memset(expected.data() + 1 * adapters::kPageSize, 9, adapters::kPageSize);
  std::memset(expected.data() + 3 * adapters::kPageSize, 9, adapters::kPageSize);
  EXPECT_EQ(shadow.memory_digest(), fgbi_memory_digest(expected.data(), expected.size()));
}

TEST(EpochFeed, ReplicatesASyntheticSourceThroughEveryScheme) {
  const WorkloadModel model = small_web(7);
  EpochFeed feed(model.name, make_synthetic_source(model), model);
  FgbiSchemeOptions options;
  options.tracked_pages = model.tracked_pages;
  std::vector<std::unique_ptr<Scheme>> schemes;
  schemes.push_back(make_fgbi_scheme(options));
  RunOptions run;
  run.epochs = 3;
  run.warmup = 0;
  const WorkloadResult r = run_workload(feed, schemes, run);
  EXPECT_EQ(r.name, "web");
  ASSERT_TRUE(r.model.has_value());
  EXPECT_EQ(r.description.rfind("synthetic workload web: ", 0), 0u) << r.description;
  ASSERT_EQ(r.schemes.size(), 1u);
  EXPECT_EQ(r.schemes[0].sync.pages, model.tracked_pages);
  EXPECT_EQ(r.schemes[0].steady.epochs, 3u);
  EXPECT_TRUE(r.schemes[0].replica_matches);
}

}  // namespace
}  // namespace fgbi::eval
