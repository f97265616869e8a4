#include "sender/cost_model.hpp"

#include <algorithm>

namespace fgbi {
namespace {

// Reference estimates for 64-byte-block literal sections of a few hundred
// bytes to 4 KiB on one core of the reference machine (docs/cost-model.md).
// An XOR page also costs time that its bytes do not show: its cached copy
// and the backup's replica miss the CPU cache, and the backup reads before
// it writes. Measured against a plain record end to end, 0.8 to 1.3 us on
// web where the pages are far apart in memory (`fgbi_engine_bench`
// encode/ and decode/ fgbi-xor against fgbi-plain; `bench` CPU time), less
// where they fit the CPU cache (idle). 400 ns gave the shortest
// time-to-ship over the bench workloads at 1, 10 and 25 Gbit/s
// (docs/PERFORMANCE.md): XOR pages stay where they save about 50 bytes at
// 1 Gbit/s and go where they save less than 500 at 10. The general codecs'
// timed speeds, measured on whole calls, already carry their per-call costs.
constexpr CodecEstimates kReference = {{
    {0.0, 1.0, 0},     // raw: nothing to encode
    {0.15, 0.3, 400},  // xor: one pass comparing two buffers
    {1.2, 0.6, 0},     // lz4
    {12.0, 0.45, 0},   // zlib level 1
    {4.0, 0.5, 0},     // zstd level 1
}};

// Cost of one lookup of each optional stage on one core of the reference
// machine (docs/cost-model.md has how they were measured): an in-epoch
// duplicate lookup hits a per-thread table in L2; a replica lookup and the
// index insert it lives on miss the CPU cache; an XOR page pays a cache
// lookup and its share of the cache's upkeep (admission copies, refreshes);
// zero blocks cost the capture a test per changed block and turn a page
// with one into a coded record (the sharing pass, an ops prefix, a gather).
constexpr std::array<double, kOptionalStages> kStageNsPerLookup = {8.0, 32.0, 30.0, 15.0};

// Weight of new evidence in the running estimates.
constexpr double kRatioWeight = 1.0 / 16;
constexpr double kSpeedWeight = 1.0 / 4;
constexpr double kStageWeight = 1.0 / 4;

}  // namespace

void CostSamples::add(const CostSamples& o) {
  for (int c = 0; c < codec::kCodecCount; ++c) {
    ns[c] += o.ns[c];
    timed_bytes[c] += o.timed_bytes[c];
    in_bytes[c] += o.in_bytes[c];
    out_bytes[c] += o.out_bytes[c];
  }
  for (size_t st = 0; st < kOptionalStages; ++st) {
    stages[st].lookups += o.stages[st].lookups;
    stages[st].saved_bytes += o.stages[st].saved_bytes;
  }
}

const std::array<double, kOptionalStages>& CostModel::stage_ns_per_lookup() {
  return kStageNsPerLookup;
}

CostModel::CostModel() : estimates_(kReference) {}

void CostModel::learn(const CostSamples& s, bool adaptive, const bool (&ran)[kOptionalStages]) {
  for (size_t st = 0; st < kOptionalStages; ++st) {
    if (!ran[st] || s.stages[st].lookups == 0) continue;
    StageYield& y = stage_yields_[st];
    const StageYield& epoch = s.stages[st];
    if (y.lookups == 0) {
      y = epoch;
    } else {
      // The saving per lookup is averaged per epoch, so that one large epoch
      // (the initial synchronisation, with its zero pages) does not speak
      // for the many small ones after it.
      const double per_lookup = y.saved_bytes / y.lookups;
      const double averaged =
          per_lookup + kStageWeight * (epoch.saved_bytes / epoch.lookups - per_lookup);
      y.lookups += kStageWeight * (epoch.lookups - y.lookups);
      y.saved_bytes = averaged * y.lookups;
    }
    const bool pays = stage_pays(y, kStageNsPerLookup[st], link_ns_per_byte_);
    unpaid_runs_[st] = pays ? 0 : unpaid_runs_[st] + 1;
  }
  for (int c = 1; c < codec::kCodecCount; ++c) {
    if (s.in_bytes[c] == 0) continue;
    CodecEstimate& e = estimates_[c];
    const double in = static_cast<double>(s.in_bytes[c]);
    e.ratio += kRatioWeight * (std::min(1.0, static_cast<double>(s.out_bytes[c]) / in) - e.ratio);
    if (adaptive && s.timed_bytes[c] != 0) {
      // One noisy epoch (a loaded machine) moves the estimate at most 2x.
      const double measured = std::clamp(s.ns[c] / static_cast<double>(s.timed_bytes[c]),
                                         e.ns_per_byte / 2, e.ns_per_byte * 2);
      e.ns_per_byte += kSpeedWeight * (measured - e.ns_per_byte);
    }
  }
}

void CostModel::Local::observe_ratio(codec::Codec c, uint64_t in, uint64_t out) {
  if (in == 0) return;
  CodecEstimate& e = est_[idx(c)];
  const double r = std::min(1.0, static_cast<double>(out) / static_cast<double>(in));
  e.ratio += kRatioWeight * (r - e.ratio);
}

}  // namespace fgbi
