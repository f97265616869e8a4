// The encoder's planner on its own (tables of inputs and expected plans),
// then the sender that follows it: stages switched off where they do not
// pay, references only where they are smaller than the literal, and never
// more bytes than the plain records on data nothing can shrink.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "block_hash.hpp"
#include "sender/page_plan.hpp"
#include "support/replication.hpp"
#include "workload.hpp"

namespace fgbi {
namespace {

using test::all_pages;
using test::kPage;
using test::Pair;
using test::PairOptions;
using test::plain_options;

constexpr size_t kEpochRefs = static_cast<size_t>(OptionalStage::kEpochRefs);
constexpr size_t kReplicaRefs = static_cast<size_t>(OptionalStage::kReplicaRefs);
constexpr size_t kXorPages = static_cast<size_t>(OptionalStage::kXorPages);
constexpr size_t kZeroBlocks = static_cast<size_t>(OptionalStage::kZeroBlocks);

// Fills the primary with random bytes (nothing to share or compress).
void fill_random(Pair& pair, eval::Rng& rng) {
  for (auto& byte : pair.primary()) byte = static_cast<uint8_t>(rng.next());
}

// fill_random, then the initial synchronisation of every page.
void sync_random(Pair& pair, eval::Rng& rng) {
  fill_random(pair, rng);
  pair.replicate(all_pages(pair.options().pages));
}

// A sender statistic; a failure to read it fails the test.
uint64_t sender_stat(Pair& pair, fgbi_stat stat) {
  uint64_t value = 0;
  EXPECT_EQ(fgbi_sender_get_stat(pair.sender(), stat, &value), FGBI_OK);
  return value;
}

struct StageCase {
  const char* name;
  StageYield replica;  // the other stages: nothing known yet
  double link_gbps;
  uint64_t epoch;
  bool replica_enabled;
  bool expect_replica;
  uint32_t unpaid_runs = 1;  // of the replica stage
  uint32_t warmup_epochs = 0;
};

TEST(PlanStages, RunsAStageOnlyWhereItPaysAtTheLinksSpeed) {
  // The reference cost of a replica lookup is 32 ns; a hit saves about 52
  // bytes of a 64-byte block.
  const StageCase cases[] = {
      {"nothing known yet: runs", {0, 0}, 1, 3, true, true},
      {"disabled by the configuration", {0, 0}, 1, 3, false, false},
      {"never hits: off", {1000, 0}, 1, 3, true, false},
      {"never hits, probe epoch: runs", {1000, 0}, 1, kStageProbeEpochs, true, true},
      {"hits 1 in 10 at 1 Gbit/s (41.6 ns a lookup): runs", {1000, 5200}, 1, 3, true, true},
      {"hits 1 in 20 at 1 Gbit/s (20.8 ns a lookup): off", {1000, 2600}, 1, 3, true, false},
      {"hits 1 in 20 at 0.1 Gbit/s (208 ns a lookup): runs", {1000, 2600}, 0.1, 3, true, true},
      {"every lookup hits at 100 Gbit/s (4.2 ns): off", {1000, 52000}, 100, 3, true, false},
      {"second unpaid run: probed every 16 epochs, not at 8", {1000, 0}, 1, 8, true, false, 2},
      {"second unpaid run: probed at 16", {1000, 0}, 1, 16, true, true, 2},
      {"fourth unpaid run: probed every 64 epochs, not at 32", {1000, 0}, 1, 32, true, false, 4},
      {"fourth unpaid run: probed at 64", {1000, 0}, 1, 64, true, true, 4},
      {"twentieth unpaid run: still probed every 64 epochs", {1000, 0}, 1, 128, true, true, 20},
      {"hits 1 in 10 after unpaid runs: runs as soon as it pays",
       {1000, 5200},
       1,
       3,
       true,
       true,
       9},
      {"one warm-up epoch: runs the epoch before its probe", {1000, 0}, 1, 7, true, true, 1, 1},
      {"one warm-up epoch: not two before", {1000, 0}, 1, 6, true, false, 1, 1},
      {"one warm-up epoch, backed off to 16: runs at 15", {1000, 0}, 1, 15, true, true, 2, 1},
      {"one warm-up epoch, backed off to 16: not at 7", {1000, 0}, 1, 7, true, false, 2, 1},
  };
  for (const StageCase& c : cases) {
    StageYields yields{};
    yields[kReplicaRefs] = c.replica;
    StageInputs in;
    in.yields = &yields;
    in.unpaid_runs[kReplicaRefs] = c.unpaid_runs;
    in.warmup_epochs[kReplicaRefs] = c.warmup_epochs;
    in.ns_per_lookup = CostModel::stage_ns_per_lookup();
    in.link_ns_per_byte = 8.0 / c.link_gbps;
    in.epoch = c.epoch;
    in.enabled[kEpochRefs] = true;
    in.enabled[kReplicaRefs] = c.replica_enabled;
    in.enabled[kXorPages] = false;
    const StagePlan plan = plan_stages(in);
    EXPECT_EQ(plan.on(OptionalStage::kReplicaRefs), c.expect_replica) << c.name;
    EXPECT_TRUE(plan.on(OptionalStage::kEpochRefs)) << c.name << ": nothing known of it";
    EXPECT_FALSE(plan.on(OptionalStage::kXorPages)) << c.name << ": disabled";
    EXPECT_FALSE(plan.on(OptionalStage::kZeroBlocks)) << c.name << ": not enabled by default";
  }
  EXPECT_EQ(CostModel::stage_ns_per_lookup()[kReplicaRefs], 32.0)
      << "the table above assumes this reference cost";
}

// Rewrites ten blocks of every page (or of the first `pages`), a different
// ten each epoch, with random bytes; with first_zeroed the first of them
// with zeros instead.
void edit_ten_blocks(Pair& pair, uint64_t epoch, eval::Rng& rng, bool first_zeroed,
                     uint64_t pages = UINT64_MAX) {
  for (uint64_t pfn = 0; pfn < std::min(pages, pair.options().pages); ++pfn) {
    for (size_t b = 0; b < 10; ++b) {
      uint8_t* block = pair.page(pfn) + ((epoch * 10 + b) % 64) * 64;
      const bool zeroed = first_zeroed && b == 0;
      for (size_t i = 0; i < 64; ++i) block[i] = zeroed ? 0 : static_cast<uint8_t>(rng.next());
    }
  }
}

// Pages with ten changed blocks each, one of them zeroed: a zero op saves
// about 6 bytes per changed block the capture tests for zeros, worth 480 ns
// at 0.1 Gbit/s and 0.5 ns at 100 Gbit/s against the stage's 15 ns. The
// initial synchronisation has no zero block, so the stage is off from then
// on until the first probe epoch finds them, on the probe's sample of pages.
TEST(PlanStages, ZeroBlocksAreSharedOnlyWhereTheyPay) {
  constexpr uint64_t kEditEpochs = 16;  // sender epochs 2 to 17
  for (const int64_t link_mbps : {100, 100000}) {
    PairOptions o;
    o.pages = 64;
    o.link_mbps = link_mbps;
    Pair pair(o);
    uint64_t sampled = 0;
    for (uint64_t pfn = 0; pfn < o.pages; ++pfn) sampled += in_probe_sample(pfn);
    ASSERT_GT(sampled, 0u);
    ASSERT_LT(sampled, o.pages);
    eval::Rng rng(3);
    sync_random(pair, rng);
    uint64_t zero_before = sender_stat(pair, FGBI_S_BLOCKS_ZERO);
    for (uint64_t epoch = 2; epoch < 2 + kEditEpochs; ++epoch) {
      edit_ten_blocks(pair, epoch, rng, /*first_zeroed=*/true);
      pair.replicate(all_pages(o.pages));
      ASSERT_TRUE(pair.replica_matches_primary());
      const uint64_t zero = sender_stat(pair, FGBI_S_BLOCKS_ZERO);
      const uint64_t shared = zero - zero_before;
      zero_before = zero;
      const bool probe = epoch % kStageProbeEpochs == 0;
      if (epoch < kStageProbeEpochs)
        EXPECT_EQ(shared, 0u) << "epoch " << epoch << ": off since the sync";
      else if (probe && (link_mbps != 100 || epoch == kStageProbeEpochs))
        EXPECT_EQ(shared, sampled) << "epoch " << epoch << ": a probe, on its sample only";
      else if (link_mbps == 100)
        EXPECT_EQ(shared, o.pages) << "epoch " << epoch << ": 0.1 Gbit/s, on every page";
      else
        EXPECT_EQ(shared, 0u) << "epoch " << epoch << ": 100 Gbit/s, off between probes";
    }
  }
  EXPECT_EQ(CostModel::stage_ns_per_lookup()[kZeroBlocks], 15.0)
      << "the figures above assume this reference cost";
}

// Every page is rewritten each epoch with the same 64 fresh blocks, half of
// them with a content hash in the probe's sample and half not, so that
// every page after the first of its segment can send them as references.
// The epoch's 16,384 changed blocks give the smallest content sample, a
// sixteenth. At 100 Gbit/s an in-epoch reference saves 4 ns against the
// lookup's 8: the stage runs only in its probes (epochs 8 and 16), on the
// sampled content only. A duplicate is sampled with its source, so a probe
// finds exactly half of what a full run finds (a sample of a quarter of the
// pages would find a sixteenth). At 0.1 Gbit/s the first probe shows that
// the stage pays, and it runs on every block from then on.
TEST(PlanStages, AReferenceProbeSamplesBlocksByContent) {
  constexpr uint64_t kPages = 256, kFirstEpoch = 2, kEditEpochs = 16;  // epochs 2 to 17
  constexpr uint32_t kBlocks = 64;
  ASSERT_EQ(content_sample_shift(kPages * kBlocks), kMaxContentSampleShift);
  // Blocks shared as in-epoch references in each epoch, at each link.
  std::vector<uint64_t> shared_at[2];
  for (const int link : {0, 1}) {
    PairOptions o;
    o.pages = kPages;
    o.link_mbps = link == 0 ? 100 : 100000;
    o.sharing = FGBI_SHARE_EPOCH;
    o.codecs = 0;
    Pair pair(o);
    eval::Rng rng(7);
    sync_random(pair, rng);
    uint64_t before = sender_stat(pair, FGBI_S_BLOCKS_SHARED_EPOCH);
    for (uint64_t epoch = kFirstEpoch; epoch < kFirstEpoch + kEditEpochs; ++epoch) {
      // Fresh blocks, drawn until half are in the content sample. Their
      // hashes differ in the low 12 bits, by which the sender's duplicate
      // table (4,096 slots) picks a slot: none evicts another there.
      std::vector<std::vector<uint8_t>> fresh;
      std::set<uint64_t> slots;
      uint32_t in_sample = 0;
      while (fresh.size() < kBlocks) {
        std::vector<uint8_t> block(64);
        for (auto& byte : block) byte = static_cast<uint8_t>(rng.next());
        const uint64_t hash = kernels::block_hash_reference(block.data(), 64);
        const bool sampled = in_content_sample(
            hash, kMaxContentSampleShift, content_sample_salt(OptionalStage::kEpochRefs, epoch));
        if (sampled ? in_sample == kBlocks / 2 : fresh.size() - in_sample == kBlocks / 2) continue;
        if (!slots.insert(hash & 0xFFF).second) continue;
        in_sample += sampled;
        fresh.push_back(std::move(block));
      }
      for (uint64_t pfn = 0; pfn < o.pages; ++pfn)
        for (uint32_t b = 0; b < kBlocks; ++b)
          std::memcpy(pair.page(pfn) + b * 64, fresh[b].data(), 64);
      pair.replicate(all_pages(o.pages));
      ASSERT_TRUE(pair.replica_matches_primary());
      const uint64_t after = sender_stat(pair, FGBI_S_BLOCKS_SHARED_EPOCH);
      shared_at[link].push_back(after - before);
      before = after;
    }
  }
  // At 0.1 Gbit/s, after its probe: the stage on every block.
  const uint64_t full_run = shared_at[0][kStageProbeEpochs + 1 - kFirstEpoch];
  ASSERT_GE(full_run, kPages / 2 * kBlocks) << "most blocks are duplicates";
  for (uint64_t epoch = kFirstEpoch; epoch < kFirstEpoch + kEditEpochs; ++epoch) {
    const uint64_t slow = shared_at[0][epoch - kFirstEpoch];
    const uint64_t fast = shared_at[1][epoch - kFirstEpoch];
    const bool probe = epoch == kStageProbeEpochs || epoch == 2 * kStageProbeEpochs;
    if (epoch < kStageProbeEpochs) {
      EXPECT_EQ(slow, 0u) << "epoch " << epoch << ": off since the sync";
      EXPECT_EQ(fast, 0u) << "epoch " << epoch << ": off since the sync";
    } else if (epoch == kStageProbeEpochs) {
      EXPECT_EQ(2 * slow, full_run) << "epoch " << epoch << ": a probe, on the sampled half";
      EXPECT_EQ(2 * fast, full_run) << "epoch " << epoch << ": a probe, on the sampled half";
    } else {
      EXPECT_EQ(slow, full_run) << "epoch " << epoch << ": 0.1 Gbit/s, every block";
      EXPECT_EQ(2 * fast, probe ? full_run : 0)
          << "epoch " << epoch << ": 100 Gbit/s, off but for its probes";
    }
  }
  EXPECT_EQ(CostModel::stage_ns_per_lookup()[kEpochRefs], 8.0)
      << "the figures above assume this reference cost";
}

// The content sample keeps at least kMinProbeBlocks of the epoch's
// changed blocks, and at most a sixteenth.
TEST(PlanStages, TheContentSampleShrinksWithTheEpoch) {
  const std::pair<uint64_t, unsigned> cases[] = {
      {0, 0},    {1023, 0}, {2047, 0},  {2048, 1},  {4095, 1},
      {4096, 2}, {8192, 3}, {16383, 3}, {16384, 4}, {uint64_t{1} << 40, 4}};
  for (const auto& [blocks, shift] : cases)
    EXPECT_EQ(content_sample_shift(blocks), shift) << blocks << " changed blocks";
  static_assert(kMaxContentSampleShift == 4 && kMinProbeBlocks == 1024, "the table's limits");
}

// A content that recurs everywhere (here the zero block) is in some of the
// in-epoch reference stage's samples and not in others: each epoch draws
// its own. The replica stage's sample stays the same, as its index needs.
TEST(PlanStages, TheInEpochSampleChangesEveryEpoch) {
  const std::vector<uint8_t> zero_block(64, 0);
  const uint64_t hash = kernels::block_hash_reference(zero_block.data(), 64);
  constexpr uint64_t kEpochs = 256;
  uint64_t sampled = 0;
  for (uint64_t epoch = 1; epoch <= kEpochs; ++epoch) {
    sampled += in_content_sample(hash, kMaxContentSampleShift,
                                 content_sample_salt(OptionalStage::kEpochRefs, epoch));
    EXPECT_EQ(content_sample_salt(OptionalStage::kReplicaRefs, epoch), 0u);
  }
  EXPECT_NEAR(static_cast<double>(sampled) / kEpochs, 1.0 / (1 << kMaxContentSampleShift), 0.03);
}

// A probe's sample is a fixed share of the pages, whatever their layout:
// consecutive pfns, every fourth one, or far apart.
TEST(PlanStages, AProbeSamplesAQuarterOfThePages) {
  for (const uint64_t stride : {1, 2, 4, 64, 4096, 1000003}) {
    uint64_t sampled = 0;
    constexpr uint64_t kPages = 1 << 16;
    for (uint64_t i = 0; i < kPages; ++i) sampled += in_probe_sample(i * stride);
    EXPECT_NEAR(static_cast<double>(sampled) / kPages, 1.0 / (1 << kProbeSampleShift), 0.01)
        << "stride " << stride;
  }
  // A probe of a stage that does not pay samples; one that pays runs on
  // every page and block. The XOR stage's sample is a quarter of the pages;
  // a reference stage's probe runs on every page, on the blocks whose
  // content hash is in a sixteenth (its sources must be in its tables).
  StageYields yields{};
  yields[kXorPages] = {1000, 0};          // never pays: off but for probes
  yields[kZeroBlocks] = {1000, 1000000};  // pays
  yields[kReplicaRefs] = {1000, 0};       // never pays
  StageInputs in;
  in.yields = &yields;
  in.ns_per_lookup = CostModel::stage_ns_per_lookup();
  in.link_ns_per_byte = 8.0;
  in.epoch = kStageProbeEpochs;
  std::fill(std::begin(in.enabled), std::end(in.enabled), true);
  StagePlan plan = plan_stages(in);
  uint64_t on_sample = 0, xor_on = 0;
  for (uint64_t pfn = 0; pfn < 1000; ++pfn) {
    on_sample += in_probe_sample(pfn);
    xor_on += plan.on(OptionalStage::kXorPages, pfn);
    EXPECT_EQ(plan.on(OptionalStage::kXorPages, pfn), in_probe_sample(pfn)) << pfn;
    EXPECT_TRUE(plan.on(OptionalStage::kZeroBlocks, pfn)) << "pays: every page";
    EXPECT_TRUE(plan.on(OptionalStage::kReplicaRefs, pfn)) << "a reference stage's probe";
    EXPECT_TRUE(plan.on(OptionalStage::kEpochRefs, pfn)) << "nothing known: every page";
  }
  EXPECT_EQ(xor_on, on_sample);
  plan.content_shift = kMaxContentSampleShift;
  uint64_t content_sampled = 0, wrong = 0;
  constexpr uint64_t kHashes = 1 << 16;
  for (uint64_t i = 0; i < kHashes; ++i) {
    uint8_t block[32] = {};
    std::memcpy(block, &i, sizeof i);
    const uint64_t hash = kernels::block_hash_reference(block, sizeof block);
    const bool in_sample = in_content_sample(hash, kMaxContentSampleShift, 0);
    content_sampled += in_sample;
    wrong += plan.on_block(OptionalStage::kReplicaRefs, hash) != in_sample;
    wrong += !plan.on_block(OptionalStage::kZeroBlocks, hash);  // pays: every block
    wrong += !plan.on_block(OptionalStage::kXorPages, hash);    // sampled by page
    wrong += !plan.on_block(OptionalStage::kEpochRefs, hash);   // nothing known: every block
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_NEAR(static_cast<double>(content_sampled) / kHashes, 1.0 / (1 << kMaxContentSampleShift),
              0.005);
  EXPECT_TRUE(plan.on(OptionalStage::kXorPages)) << "the epoch runs the stage";
  in.epoch = kStageProbeEpochs + 1;
  EXPECT_FALSE(plan_stages(in).on(OptionalStage::kXorPages)) << "no probe, no sample";
}

// At 100 Gbit/s the zero stage never pays, so after the synchronisation
// turned it off it runs only in probe epochs, and each probe that does not
// pay doubles the wait for the next: epochs 8, 16, 32, 64, then every 64,
// until a rewind starts the probing over.
TEST(PlanStages, AStageThatKeepsLosingIsProbedLessAndLessOften) {
  PairOptions o;
  o.pages = 16;
  o.link_mbps = 100000;
  Pair pair(o);
  eval::Rng rng(5);
  sync_random(pair, rng);
  uint64_t zero_before = sender_stat(pair, FGBI_S_BLOCKS_ZERO);
  // The epochs of [first, last] in which the capture found zero blocks.
  auto epochs_sharing_zeros = [&](uint64_t first, uint64_t last) {
    std::vector<uint64_t> ran_in;
    for (uint64_t epoch = first; epoch <= last; ++epoch) {
      edit_ten_blocks(pair, epoch, rng, /*first_zeroed=*/true);
      pair.replicate(all_pages(o.pages));
      const uint64_t zero = sender_stat(pair, FGBI_S_BLOCKS_ZERO);
      if (zero > zero_before) ran_in.push_back(epoch);
      zero_before = zero;
    }
    return ran_in;
  };
  EXPECT_EQ(epochs_sharing_zeros(2, 200), (std::vector<uint64_t>{8, 16, 32, 64, 128, 192}));
  ASSERT_TRUE(pair.replica_matches_primary());
  // A rewind empties the index and the cache forgets pages: probing starts
  // over at the base interval.
  ASSERT_EQ(fgbi_sender_rewind(pair.sender(), pair.committed()), FGBI_OK);
  EXPECT_EQ(epochs_sharing_zeros(201, 224), (std::vector<uint64_t>{208, 216, 224}));
}

// Only the XOR stage reads the cache. While it is off a sent page's cached
// copy is not refreshed and goes stale, and no later lookup may return it.
// The stage goes off at 100 Gbit/s; then the link slows to 0.1 Gbit/s for
// the warm-up and the probe, whose one-byte edits an XOR delta ships in a
// few bytes, in blocks rewritten while the stage was off: a delta against
// a stale copy would be chosen there and leave a wrong replica. Only the
// pages the warm-up admits again are XORed.
TEST(PlanStages, SentPagesGoStaleInTheCacheWhileXorIsOff) {
  PairOptions o;
  o.pages = 512;
  o.link_mbps = 100000;
  constexpr uint64_t kChanging = 384;  // the rest never change after the sync
  Pair pair(o);
  eval::Rng rng(9);
  sync_random(pair, rng);
  std::vector<uint64_t> lookups{0, 0}, hits{0, 0}, xor_pages{0, 0};  // by sender epoch
  uint64_t hits_before = sender_stat(pair, FGBI_S_CACHE_HITS);
  uint64_t misses_before = sender_stat(pair, FGBI_S_CACHE_MISSES);
  uint64_t xor_before = sender_stat(pair, FGBI_S_CHOSEN_XOR);
  const uint64_t warmup = kStageProbeEpochs - 1;
  static_assert(kStageProbeEpochs >= 6, "epochs 3 and 4 run with the stage off");
  for (uint64_t epoch = 2; epoch <= kStageProbeEpochs; ++epoch) {
    if (epoch == warmup) {
      ASSERT_EQ(fgbi_sender_set_parameter(pair.sender(), FGBI_P_LINK_MBPS, 100), FGBI_OK);
    }
    if (epoch >= warmup) {
      // The first block epoch 3 (the warm-up) or 4 (the probe) rewrote.
      for (uint64_t pfn = 0; pfn < kChanging; ++pfn)
        ++pair.page(pfn)[(3 + epoch - warmup) * 10 % 64 * 64];
    } else {
      edit_ten_blocks(pair, epoch, rng, /*first_zeroed=*/false, kChanging);
    }
    pair.replicate(all_pages(o.pages));
    ASSERT_TRUE(pair.replica_matches_primary()) << "epoch " << epoch;
    const uint64_t h = sender_stat(pair, FGBI_S_CACHE_HITS);
    const uint64_t m = sender_stat(pair, FGBI_S_CACHE_MISSES);
    const uint64_t x = sender_stat(pair, FGBI_S_CHOSEN_XOR);
    hits.push_back(h - hits_before);
    lookups.push_back(h - hits_before + m - misses_before);
    xor_pages.push_back(x - xor_before);
    hits_before = h, misses_before = m, xor_before = x;
  }
  EXPECT_EQ(hits[2], kChanging) << "the synchronisation cached every page";
  EXPECT_EQ(xor_pages[2], 0u) << "no delta pays at 100 Gbit/s";
  for (uint64_t epoch = 3; epoch < warmup; ++epoch)
    EXPECT_EQ(lookups[epoch], 0u) << "epoch " << epoch << ": the stage is off";
  // The warm-up runs on the probe's sample of pages, whose copies went
  // stale in epochs 3 to 6, and admits one in kAdmitEvery of them again.
  EXPECT_GT(lookups[warmup], 0u);
  EXPECT_EQ(hits[warmup], 0u) << "every copy the warm-up looks up went stale";
  EXPECT_GT(hits[kStageProbeEpochs], 0u) << "the pages the warm-up admitted";
  EXPECT_EQ(xor_pages[kStageProbeEpochs], hits[kStageProbeEpochs]) << "each of them an XOR page";
  EXPECT_LT(hits[kStageProbeEpochs], lookups[kStageProbeEpochs]) << "the rest stayed stale";
}

CostModel model_at(double link_gbps) {
  CostModel m;
  m.set_link_mbps(static_cast<uint64_t>(link_gbps * 1000));
  return m;
}

struct PlanCase {
  const char* name;
  double link_gbps;
  size_t xor_page_bytes;   // 0: no XOR page offered
  size_t coded_raw_bytes;  // 0: no coded record offered (framing 120 bytes)
  PageForm expect;
};

TEST(PagePlanner, PicksTheCheapestFormAtTheLinksSpeed) {
  // A page with 2048 changed bytes; its plain record is 2048 + 8 + 16 bytes.
  // Reference estimates: XOR 400 ns a page and 0.15 ns a byte of input, raw 0.
  constexpr size_t kChanged = 2048, kPlain = 2048 + 8 + 16;
  const PlanCase cases[] = {
      {"nothing offered: plain", 1, 0, 0, PageForm::kPlain},
      {"small XOR page at 1 Gbit/s", 1, 100, 0, PageForm::kXorPage},
      // 400 + 2048 x 0.15 = 707 ns of XOR against 2072 x 0.08 = 166 ns of wire.
      {"any XOR page at 100 Gbit/s loses to plain", 100, 1, 0, PageForm::kPlain},
      {"coded with half the literals shared", 1, 0, 1024, PageForm::kCoded},
      {"coded beats an XOR page of more bytes", 1, 1500, 1024, PageForm::kCoded},
      {"XOR page beats a coded record of more bytes", 1, 300, 1024, PageForm::kXorPage},
      {"a coded record larger than plain loses", 1, 0, 2000, PageForm::kPlain},
  };
  for (const PlanCase& c : cases) {
    const CostModel model = model_at(c.link_gbps);
    const CostModel::Local costs(model);
    PagePlanner planner(costs, kPlain);
    if (c.xor_page_bytes) planner.offer_xor_page(kChanged, c.xor_page_bytes);
    if (c.coded_raw_bytes) planner.offer_coded(codec::Codec::kRaw, 120, 1024, c.coded_raw_bytes);
    EXPECT_EQ(planner.plan().form, c.expect) << c.name;
    if (c.expect == PageForm::kPlain) {
      EXPECT_EQ(planner.plan().wire_bytes, kPlain) << c.name;
    }
  }
}

TEST(PagePlanner, AnXorPageMustSaveMoreThanItsPageCost) {
  // Three changed blocks (192 bytes; plain record 216) whose XOR page takes
  // 83 bytes. Reference XOR estimate: 400 ns a page plus 0.15 ns a byte.
  constexpr size_t kChanged = 192, kPlain = 216, kXorPage = 83;
  const struct {
    const char* name;
    double link_gbps;
    PageForm expect;
  } cases[] = {
      {"1 Gbit/s: 400 + 29 + 664 = 1093 ns against 1728 ns of plain wire", 1, PageForm::kXorPage},
      {"10 Gbit/s: 495 ns against 173: the 133 bytes saved take 106 ns", 10, PageForm::kPlain},
  };
  for (const auto& c : cases) {
    const CostModel model = model_at(c.link_gbps);
    const CostModel::Local costs(model);
    PagePlanner planner(costs, kPlain);
    EXPECT_EQ(planner.worth_trying(codec::Codec::kXor, kChanged, 3), c.expect == PageForm::kXorPage)
        << c.name;
    planner.offer_xor_page(kChanged, kXorPage);
    EXPECT_EQ(planner.plan().form, c.expect) << c.name;
  }
}

TEST(PagePlanner, RefusesASectionLargerThanItsLiterals) {
  const CostModel model = model_at(0.001);
  const CostModel::Local costs(model);
  PagePlanner planner(costs, 5000);
  planner.offer_coded(codec::Codec::kLz4, 10, 1024, 1025);
  EXPECT_EQ(planner.plan().form, PageForm::kPlain);
  planner.offer_coded(codec::Codec::kLz4, 10, 1024, 1024);
  EXPECT_EQ(planner.plan().form, PageForm::kCoded);
  EXPECT_EQ(planner.plan().section, codec::Codec::kLz4);
  EXPECT_EQ(planner.plan().wire_bytes, 1034u);
}

TEST(PagePlanner, TriesACodecOnlyWhereItsEstimateCouldWin) {
  // LZ4's reference estimate: 1.2 ns a byte, ratio 0.6.
  const CostModel slow = model_at(0.1), fast = model_at(100);
  const CostModel::Local slow_costs(slow), fast_costs(fast);
  PagePlanner on_slow(slow_costs, 4096 + 24), on_fast(fast_costs, 4096 + 24);
  EXPECT_TRUE(on_slow.worth_trying(codec::Codec::kLz4, 4096, 40));
  // 4915 ns of LZ4 against 330 ns of wire: not even within the reach of
  // exploration.
  EXPECT_FALSE(on_fast.worth_trying(codec::Codec::kLz4, 4096, 40));
  EXPECT_FALSE(on_fast.worth_trying(codec::Codec::kLz4, 4096, 40, 2.0));
  // At 10 Gbit/s LZ4 (4915 + 0.8 x 2458 = 6881 ns) just misses plain
  // (0.8 x 4120 = 3296 ns)... by more than twice: 2x reach does not save it;
  // at 2.5 Gbit/s (plain 13184 ns, LZ4 12779 ns) it is worth a try.
  const CostModel mid = model_at(2.5);
  const CostModel::Local mid_costs(mid);
  PagePlanner on_mid(mid_costs, 4096 + 24);
  EXPECT_TRUE(on_mid.worth_trying(codec::Codec::kLz4, 4096, 40));
}

TEST(ReferenceRule, AReferenceMustBeSmallerThanTheLiteral) {
  EXPECT_TRUE(reference_pays(11, 64));
  EXPECT_FALSE(reference_pays(11, 5));   // a 5-byte XOR delta of the block
  EXPECT_FALSE(reference_pays(11, 11));  // a tie keeps the literal
}

// Pages of fresh random bytes every epoch: nothing to share, nothing to
// compress. The full scheme may ship no more than the plain records (within
// 0.3 %, its digest and framing), at a fast link and a slow one.
TEST(NeverWorse, RandomPagesShipAsFewBytesAsPlainRecords) {
  for (const int64_t link_mbps : {100, 1000, 100000}) {
    PairOptions full;
    full.pages = 128;
    full.link_mbps = link_mbps;
    Pair a(full), b(plain_options(full));
    eval::Rng rng(11);
    size_t full_bytes = 0, plain_bytes = 0;
    for (int epoch = 0; epoch < 12; ++epoch) {
      std::vector<uint8_t> noise(full.pages * kPage);
      for (auto& byte : noise) byte = static_cast<uint8_t>(rng.next());
      std::memcpy(a.primary().data(), noise.data(), noise.size());
      std::memcpy(b.primary().data(), noise.data(), noise.size());
      const std::vector<uint8_t> sa = a.encode(all_pages(full.pages));
      const std::vector<uint8_t> sb = b.encode(all_pages(full.pages));
      ASSERT_EQ(a.feed(sa), FGBI_OK);
      ASSERT_EQ(b.feed(sb), FGBI_OK);
      ASSERT_TRUE(a.replica_matches_primary());
      if (epoch > 0) {
        full_bytes += sa.size();
        plain_bytes += sb.size();
      }
    }
    EXPECT_LE(static_cast<double>(full_bytes), 1.003 * static_cast<double>(plain_bytes))
        << link_mbps << " Mbit/s";
  }
}

// At 4 Gbit/s LZ4's reference ratio (0.6) does not beat raw bytes, and no
// optional stage is enabled: pages skip the planner, all but every 32nd,
// which still tries LZ4 and finds these pages compress to a few percent. The
// model learns that, and LZ4 is chosen from then on. Were the exploration
// pages skipped too, the reference ratio would stand and LZ4 never be used.
TEST(Exploration, PagesSentRawStillLetTheModelLearnACodecThatPays) {
  PairOptions o;
  o.pages = 256;
  o.link_mbps = 4000;
  o.sharing = 0;
  o.codecs = FGBI_CODEC_LZ4;
  o.adaptive = 0;  // reference speeds: only the ratio is learned
  Pair pair(o);
  for (uint64_t epoch = 1; epoch <= 12; ++epoch) {
    for (uint64_t pfn = 0; pfn < o.pages; ++pfn) {
      const uint64_t word = (epoch * 0x9E3779B97F4A7C15ull) ^ (pfn * 0xC2B2AE3D27D4EB4Full);
      for (size_t at = 0; at < kPage; at += sizeof word) std::memcpy(pair.page(pfn) + at, &word, 8);
    }
    pair.replicate(all_pages(o.pages));
    ASSERT_TRUE(pair.replica_matches_primary());
  }
  EXPECT_GT(sender_stat(pair, FGBI_S_CHOSEN_LZ4), 1000u);
}

// A block that also exists in the replica, on a page whose cached copy
// differs from it in one byte: its XOR delta (3 bytes) is smaller than a
// reference (10+ bytes), so no reference is taken. The same block over
// unrelated old content is shipped as a reference. 40 more blocks of the
// page become copies of the replica's, references either way.
TEST(ReferenceRule, TheSenderTakesAReferenceOnlyWhereItIsSmaller) {
  for (const bool near_copy : {true, false}) {
    PairOptions o;
    o.pages = 16;
    o.link_mbps = 10;  // every stage pays
    o.codecs = FGBI_CODEC_XOR;
    Pair pair(o);
    eval::Rng rng(5);
    fill_random(pair, rng);
    uint8_t* source = pair.primary().data() + 3 * kPage;  // pfn 3, block 0
    uint8_t* target = pair.primary().data() + 9 * kPage;  // pfn 9, block 0
    if (near_copy) {
      std::memcpy(target, source, 64);
      target[17] ^= 0x40;
    }
    pair.replicate(all_pages(o.pages));
    pair.replicate({3, 9});  // both known and cached by now
    // Block 0 and 40 more blocks of the source page: a coded page of
    // references, with block 0 weighed on its own.
    std::memcpy(target, source, 41 * 64);
    pair.replicate({9});
    ASSERT_TRUE(pair.replica_matches_primary());
    const uint64_t shared = sender_stat(pair, FGBI_S_BLOCKS_SHARED_REPLICA);
    EXPECT_EQ(shared, near_copy ? 40u : 41u) << (near_copy ? "near copy" : "unrelated old content");
  }
}

}  // namespace
}  // namespace fgbi
