// The cost model that picks, per page, how its literal blocks travel: raw,
// XOR delta against the cached copy, LZ4, zlib or zstd. It minimises the
// page's contribution to stop-and-copy time (type II downtime):
//
//   cost(codec) = page ns  +  literal bytes x encode ns/byte  +  wire bytes x link ns/byte
//
// Encode speeds start from reference figures and, with FGBI_P_ADAPTIVE, are
// re-estimated after every epoch from timed samples. Compression ratios are
// learned from the pages themselves as they are encoded. docs/cost-model.md
// has the details and defaults.
#pragma once

#include <array>
#include <cstdint>

#include "codec/compressor.hpp"

namespace fgbi {

struct CodecEstimate {
  double ns_per_byte;  // encode time per input byte
  double ratio;        // output bytes / input bytes
  // Time a page pays for taking this form at all, beyond its bytes: for an
  // XOR delta the cache misses on the cached copy and the backup's
  // read-modify-write of its replica (time-to-ship ends at the backup).
  double page_ns = 0;
};
using CodecEstimates = std::array<CodecEstimate, codec::kCodecCount>;

// The optional stages of the encoder that the stage model may switch off
// for an epoch; the codecs (weighed per page) are not among them.
enum class OptionalStage : uint8_t {
  kEpochRefs,    // lookups of blocks sent earlier in the segment
  kReplicaRefs,  // lookups of the content index, and its upkeep
  kXorPages,     // XOR deltas against the page cache, and its upkeep
  kZeroBlocks,   // zero tests in the capture pass, and the coded records they lead to
};
inline constexpr size_t kOptionalStages = 4;

// What the stage model knows: per stage, the work it did in epochs it ran
// and what that work saved on the wire.
struct StageYield {
  double lookups = 0;  // blocks (for XOR pages, pages; for zero blocks, changed blocks) examined
  double saved_bytes = 0;  // wire bytes it saved against the next best form
};
using StageYields = std::array<StageYield, kOptionalStages>;

// Whether what a stage saved per lookup, at the link's speed, pays for what
// a lookup costs. Nothing known (no lookups) does not pay.
inline bool stage_pays(const StageYield& y, double ns_per_lookup, double link_ns_per_byte) {
  return y.lookups > 0 && y.saved_bytes / y.lookups * link_ns_per_byte >= ns_per_lookup;
}

// Timings and sizes one worker gathered during an epoch.
struct CostSamples {
  std::array<double, codec::kCodecCount> ns{};             // time of the timed calls
  std::array<uint64_t, codec::kCodecCount> timed_bytes{};  // their input
  std::array<uint64_t, codec::kCodecCount> in_bytes{};     // every call's input
  std::array<uint64_t, codec::kCodecCount> out_bytes{};    // and output
  StageYields stages{};  // what the optional stages that ran did and saved
  void add(const CostSamples& o);
};

class CostModel {
 public:
  CostModel();
  void set_link_mbps(uint64_t mbps) { link_ns_per_byte_ = 8000.0 / static_cast<double>(mbps); }
  double link_ns_per_byte() const { return link_ns_per_byte_; }
  const CodecEstimates& estimates() const { return estimates_; }
  // Folds an epoch's samples in: ratios always, speeds when adaptive, and
  // the yield of each optional stage that ran (ran[s]).
  void learn(const CostSamples& samples, bool adaptive, const bool (&ran)[kOptionalStages]);
  // Per epoch, averaged over the epochs each stage ran: lookups as they
  // came, the saving per lookup with every epoch weighing alike.
  const StageYields& stage_yields() const { return stage_yields_; }
  // Per stage, how many epochs in a row it ran without paying: the stage
  // model probes such a stage less and less often.
  const std::array<uint32_t, kOptionalStages>& unpaid_runs() const { return unpaid_runs_; }
  void restart_probes() { unpaid_runs_.fill(0); }
  // What one lookup of each stage costs (reference figures).
  static const std::array<double, kOptionalStages>& stage_ns_per_lookup();

  // A page-local view: starts from the model's estimates at the start of
  // the epoch and refines ratios as its own pages are compressed, so that
  // decisions never depend on how pages were spread over threads.
  class Local {
   public:
    explicit Local(const CostModel& model)
        : est_(model.estimates_), link_(model.link_ns_per_byte_) {}
    double cost(codec::Codec c, uint64_t in, uint64_t out) const {
      const CodecEstimate& e = est_[idx(c)];
      return (in != 0 ? e.page_ns : 0) + static_cast<double>(in) * e.ns_per_byte +
             static_cast<double>(out) * link_;
    }
    // Whether codec c could ever ship a page faster than raw at this link:
    // not while each byte it encodes costs more in encode and wire time
    // than a raw byte costs on the wire (PagePlanner::worth_trying is then
    // false for any input and framing).
    bool may_pay(codec::Codec c) const {
      const CodecEstimate& e = est_[idx(c)];
      return e.ns_per_byte + e.ratio * link_ < link_;
    }
    double predicted(codec::Codec c, uint64_t in) const {
      return cost(c, in, static_cast<uint64_t>(static_cast<double>(in) * est_[idx(c)].ratio));
    }
    void observe_ratio(codec::Codec c, uint64_t in, uint64_t out);

   private:
    static size_t idx(codec::Codec c) { return static_cast<size_t>(c); }
    CodecEstimates est_;
    double link_;
  };

 private:
  CodecEstimates estimates_;
  StageYields stage_yields_{};
  std::array<uint32_t, kOptionalStages> unpaid_runs_{};
  double link_ns_per_byte_ = 8.0;
};

}  // namespace fgbi
