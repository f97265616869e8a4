// Planning, the pure part of the encoder: which optional stages an epoch
// runs, and which form each page ships in. Nothing here reads pages or the
// sender's tables; the sender measures (trial encodings, sharing lookups)
// and emits, the planner only weighs what it is told at the link's speed.
// docs/cost-model.md describes the model.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "codec/compressor.hpp"
#include "sender/cost_model.hpp"

namespace fgbi {

// A probe (and its warm-up) of a stage that does not pay runs on a sample:
// what the stage saves per lookup is measured all the same, at a fraction
// of the price, and the model learns what the whole epoch would have seen.
//
// How a stage's sample is drawn. What a page gains from an XOR delta or
// zero ops does not depend on other pages: those stages run on the quarter
// of the pages whose pfn falls in the sample, the same pages in a warm-up
// and its probe. A reference needs its source's block in the segment's
// table or the index too, and a sample of pages would find a sixteenth of
// the in-epoch duplicates: the reference stages run on every page but look
// up and record only the blocks whose content hash falls in the sample. A
// duplicate has its source's hash, so the two are sampled together.
enum class ProbeSample : uint8_t { kPages, kContent };
inline constexpr ProbeSample kProbeSampleOf[kOptionalStages] = {
    ProbeSample::kContent, ProbeSample::kContent, ProbeSample::kPages, ProbeSample::kPages};
inline constexpr unsigned kProbeSampleShift = 2;  // pages: a quarter
inline bool in_probe_sample(uint64_t pfn) {
  return (pfn * 0x9E3779B97F4A7C15ull) >> (64 - kProbeSampleShift) == 0;
}
// The content sample is as small as still holds kMinProbeBlocks of the
// epoch's changed blocks, down to a sixteenth: pages with many changed
// blocks nearly all have one in any sample and go through the planner
// anyway, and a small epoch's probe is cheap while a sample of it could
// miss the few references it has.
inline constexpr unsigned kMaxContentSampleShift = 4;
inline constexpr uint64_t kMinProbeBlocks = 1024;
unsigned content_sample_shift(uint64_t changed_blocks);
// Whether a block of this full hash is in a content sample of 2^-shift
// drawn with `salt`: the top bits of hash ^ salt, since the index and the
// duplicate table pick their slots by the low bits, so the sample spreads
// over all of them.
inline bool in_content_sample(uint64_t block_hash, unsigned shift, uint64_t salt) {
  return shift == 0 || (block_hash ^ salt) >> (64 - shift) == 0;
}
// The in-epoch reference stage draws a new sample in each epoch, so that no
// content that recurs (a fill pattern, say) is in every probe or in none;
// its duplicate table lives for one segment. The replica reference stage
// keeps salt 0: its index holds what earlier probes inserted, which a
// lookup can find only in the same sample.
inline uint64_t content_sample_salt(OptionalStage s, uint64_t epoch) {
  return s == OptionalStage::kEpochRefs ? epoch * 0x9E3779B97F4A7C15ull : 0;
}

// Which optional stages an epoch runs, and on which pages and blocks.
struct StagePlan {
  bool run[kOptionalStages] = {};      // none until plan_stages decides
  bool sampled[kOptionalStages] = {};  // a probe: on its sample only
  // content_sample_shift of the epoch's changed blocks and each stage's
  // content_sample_salt, set by the sender once the capture has counted
  // the blocks.
  unsigned content_shift = 0;
  uint64_t content_salt[kOptionalStages] = {};
  // Whether the stage runs on any page of the epoch.
  bool on(OptionalStage s) const { return run[static_cast<size_t>(s)]; }
  // Whether it runs on page pfn.
  bool on(OptionalStage s, uint64_t pfn) const {
    const size_t i = static_cast<size_t>(s);
    return run[i] &&
           (!sampled[i] || kProbeSampleOf[i] != ProbeSample::kPages || in_probe_sample(pfn));
  }
  // Whether, on a page it runs on, it handles a block of this full hash.
  bool on_block(OptionalStage s, uint64_t block_hash) const {
    const size_t i = static_cast<size_t>(s);
    return !sampled[i] || kProbeSampleOf[i] != ProbeSample::kContent ||
           in_content_sample(block_hash, content_shift, content_salt[i]);
  }
  // log2 of the share of its work a sampled stage did.
  unsigned sample_shift(size_t s) const {
    return kProbeSampleOf[s] == ProbeSample::kPages ? kProbeSampleShift : content_shift;
  }
};

struct StageInputs {
  const StageYields* yields;  // running averages per epoch; lookups 0 = nothing known
  std::array<uint32_t, kOptionalStages> unpaid_runs{};  // epochs in a row each ran at a loss
  // Epochs a stage must run before its probe finds the state it works on
  // (the XOR stage's cached copies go stale while the stage is off).
  std::array<uint32_t, kOptionalStages> warmup_epochs{};
  // Each stage's cost per lookup, ns (cost_model.cpp holds the references).
  std::array<double, kOptionalStages> ns_per_lookup;
  double link_ns_per_byte;
  uint64_t epoch;
  bool enabled[kOptionalStages] = {};  // allowed by the configuration
};

// Every this many epochs each enabled stage runs regardless of its yield,
// so the model notices when a workload starts to gain from it again. A
// probe costs the stage's full price for nothing when the workload has not
// changed, so the interval doubles with each probe in a row that did not
// pay, up to kStageProbeEpochs << kMaxProbeBackoff epochs.
inline constexpr uint64_t kStageProbeEpochs = 8;
inline constexpr uint32_t kMaxProbeBackoff = 3;
uint64_t stage_probe_interval(uint32_t unpaid_runs);

// A stage runs when it is enabled and either nothing is known about it yet,
// it is its probe epoch (or one of the warm-up epochs just before: then on
// the probe's sample only), or what it saved per lookup at the link's speed
// pays for its cost per lookup.
StagePlan plan_stages(const StageInputs& in);

// The forms a page can ship in (docs/wire-format.md).
enum class PageForm : uint8_t {
  kPlain,    // FULL_PAGE or BLOCKS record: the changed blocks (or page) raw
  kXorPage,  // an entry of the segment's XOR_PAGES record
  kCoded,    // CODED_PAGE: shared blocks as ops, literals in one section
};

struct PagePlan {
  PageForm form = PageForm::kPlain;
  codec::Codec section = codec::Codec::kRaw;  // kCoded: how the literals travel
  size_t wire_bytes = 0;                      // what the form puts on the wire
  double cost = 0;                            // encode + wire time, ns
};

// Weighs the forms a page may take as the sender tries them, cheapest
// (encode time + wire time at the link's speed) first. The sender asks
// worth_trying() before each trial encoding and offers what it produced.
class PagePlanner {
 public:
  // plain_wire_bytes: header and payload of the plain record, the fallback.
  PagePlanner(const CostModel::Local& costs, size_t plain_wire_bytes);

  // Whether encoding `in` bytes with `c` into framing + output could beat
  // the best form so far, by the codec's estimated ratio; `reach` > 1
  // widens the test (exploration keeps estimates of near misses fresh).
  bool worth_trying(codec::Codec c, size_t in, size_t framing, double reach = 1.0) const;

  // An XOR_PAGES entry of `size` delta bytes made from `in` changed bytes.
  void offer_xor_page(size_t in, size_t size);
  // A CODED_PAGE of `framing` bytes (record header, ops, references) and a
  // literal section of `in` bytes encoded by `c` into `size` bytes.
  void offer_coded(codec::Codec c, size_t framing, size_t in, size_t size);

  const PagePlan& plan() const { return best_; }

 private:
  void offer(PageForm form, codec::Codec c, size_t in, size_t wire_bytes);
  const CostModel::Local& costs_;
  PagePlan best_;
};

// Whether a reference of ref_bytes beats shipping the block itself, which
// would cost about literal_bytes on the wire (its encoding's share).
inline bool reference_pays(size_t ref_bytes, double literal_bytes) {
  return static_cast<double>(ref_bytes) < literal_bytes;
}

}  // namespace fgbi
