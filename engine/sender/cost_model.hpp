// The cost model that picks, per page, how its literal blocks travel: raw,
// XOR delta against the cached copy, LZ4, zlib or zstd. It minimises the
// page's contribution to stop-and-copy time (type II downtime):
//
//   cost(codec) = literal bytes x encode ns/byte  +  wire bytes x link ns/byte
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
};
using CodecEstimates = std::array<CodecEstimate, codec::kCodecCount>;

// Timings and sizes one worker gathered during an epoch.
struct CostSamples {
  std::array<double, codec::kCodecCount> ns{};             // time of the timed calls
  std::array<uint64_t, codec::kCodecCount> timed_bytes{};  // their input
  std::array<uint64_t, codec::kCodecCount> in_bytes{};     // every call's input
  std::array<uint64_t, codec::kCodecCount> out_bytes{};    // and output
  void add(const CostSamples& o);
};

class CostModel {
 public:
  CostModel();
  void set_link_mbps(uint64_t mbps) { link_ns_per_byte_ = 8000.0 / static_cast<double>(mbps); }
  double link_ns_per_byte() const { return link_ns_per_byte_; }
  const CodecEstimates& estimates() const { return estimates_; }
  // Folds an epoch's samples in: ratios always, speeds when adaptive.
  void learn(const CostSamples& samples, bool adaptive);

  // A page-local view: starts from the model's estimates at the start of
  // the epoch and refines ratios as its own pages are compressed, so that
  // decisions never depend on how pages were spread over threads.
  class Local {
   public:
    explicit Local(const CostModel& model)
        : est_(model.estimates_), link_(model.link_ns_per_byte_) {}
    double cost(codec::Codec c, uint64_t in, uint64_t out) const {
      return static_cast<double>(in) * est_[idx(c)].ns_per_byte + static_cast<double>(out) * link_;
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
  double link_ns_per_byte_ = 8.0;
};

}  // namespace fgbi
