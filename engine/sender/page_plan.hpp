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

// A probe (and its warm-up) of some stages runs on one page in
// 2^kProbeSampleShift only, chosen by pfn so that a warm-up and its probe
// pick the same pages: what the stage saves per lookup is measured all the
// same, at a fraction of the price when it does not pay.
inline constexpr unsigned kProbeSampleShift = 2;
inline bool in_probe_sample(uint64_t pfn) {
  return (pfn * 0x9E3779B97F4A7C15ull) >> (64 - kProbeSampleShift) == 0;
}
// The stages probed on a sample: what a page gains from them does not
// depend on other pages running them. A reference needs its source's
// blocks in the segment's table or the index, which a sample would fill
// with a quarter of them, finding a sixteenth of the in-epoch duplicates.
inline constexpr bool kProbedOnASample[kOptionalStages] = {false, false, true, true};

// Which optional stages an epoch runs, and on which pages.
struct StagePlan {
  bool run[kOptionalStages] = {};      // none until plan_stages decides
  bool sampled[kOptionalStages] = {};  // a probe: the sample's pages only
  // Whether the stage runs on any page of the epoch.
  bool on(OptionalStage s) const { return run[static_cast<size_t>(s)]; }
  // Whether it runs on page pfn.
  bool on(OptionalStage s, uint64_t pfn) const {
    const size_t i = static_cast<size_t>(s);
    return run[i] && (!sampled[i] || in_probe_sample(pfn));
  }
};

struct StageInputs {
  const StageYields* yields;  // running averages per epoch; lookups 0 = nothing known
  std::array<uint32_t, kOptionalStages> unpaid_runs{};  // epochs in a row each ran at a loss
  // Epochs a stage must run before its probe finds the state it works on
  // (the XOR stage's cache lets pages go while the stage is off).
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
// it is its probe epoch (or one of the warm-up epochs just before: then,
// for kProbedOnASample stages, on the sample only), or what it saved per
// lookup at the link's speed pays for its cost per lookup.
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
