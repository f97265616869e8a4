#include "sender/page_plan.hpp"

#include <algorithm>

namespace fgbi {

uint64_t stage_probe_interval(uint32_t unpaid_runs) {
  // The first unpaid run is the one that turned the stage off: probe at the
  // base interval after it, and back off from the second.
  const uint32_t backoff = unpaid_runs > 1 ? std::min(unpaid_runs - 1, kMaxProbeBackoff) : 0;
  return kStageProbeEpochs << backoff;
}

unsigned content_sample_shift(uint64_t changed_blocks) {
  unsigned shift = 0;
  while (shift < kMaxContentSampleShift && changed_blocks >> (shift + 1) >= kMinProbeBlocks)
    ++shift;
  return shift;
}

StagePlan plan_stages(const StageInputs& in) {
  StagePlan plan;
  for (size_t s = 0; s < kOptionalStages; ++s) {
    const StageYield& y = (*in.yields)[s];
    const bool unknown = y.lookups <= 0;
    const uint64_t interval = stage_probe_interval(in.unpaid_runs[s]);
    const bool probe = (in.epoch + in.warmup_epochs[s]) % interval <= in.warmup_epochs[s];
    const bool pays = stage_pays(y, in.ns_per_lookup[s], in.link_ns_per_byte);
    plan.run[s] = in.enabled[s] && (unknown || probe || pays);
    plan.sampled[s] = plan.run[s] && !unknown && !pays;
  }
  return plan;
}

PagePlanner::PagePlanner(const CostModel::Local& costs, size_t plain_wire_bytes) : costs_(costs) {
  best_.wire_bytes = plain_wire_bytes;
  best_.cost = costs_.cost(codec::Codec::kRaw, 0, plain_wire_bytes);
}

bool PagePlanner::worth_trying(codec::Codec c, size_t in, size_t framing, double reach) const {
  return costs_.cost(codec::Codec::kRaw, 0, framing) + costs_.predicted(c, in) < reach * best_.cost;
}

void PagePlanner::offer(PageForm form, codec::Codec c, size_t in, size_t wire_bytes) {
  const double cost = costs_.cost(c, in, wire_bytes);
  if (cost < best_.cost) best_ = PagePlan{form, c, wire_bytes, cost};
}

void PagePlanner::offer_xor_page(size_t in, size_t size) {
  offer(PageForm::kXorPage, codec::Codec::kXor, in, size);
}

void PagePlanner::offer_coded(codec::Codec c, size_t framing, size_t in, size_t size) {
  if (size > in) return;  // a section never grows its literals
  offer(PageForm::kCoded, c, in, framing + size);
}

}  // namespace fgbi
