// The evaluation behind `fgbi-engine bench`: replicate one workload through
// several schemes - fgbi in its configurations and the peers - on the same
// dirty pages in the same run, timing each scheme's pause (the work the
// guest waits for), its encode after the guest resumes and its decode, and
// checking every replica against the primary at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "shadow_copy.hpp"
#include "workload.hpp"

namespace fgbi::eval {

// The dirty pages of one epoch, as every scheme receives them: pages[i] is
// the 4 KiB content of pfns[i], stable until the next epoch is fetched.
struct DirtyEpoch {
  std::span<const uint64_t> pfns;
  std::span<const uint8_t* const> pages;
};

// Where epochs come from: any dirty source (sources.hpp), through a shadow
// copy of its pages for the final replica check.
class EpochFeed {
 public:
  // `model`: the workload's parameters, when the source is synthetic.
  // Throws std::bad_alloc when the shadow copy cannot be reserved.
  EpochFeed(std::string name, std::unique_ptr<adapters::DirtySource> source,
            std::optional<WorkloadModel> model = std::nullopt);
  const std::string& name() const { return name_; }
  std::string description() const { return shadow_.source().description(); }
  uint64_t tracked_pages() const { return shadow_.tracked_pages(); }
  // The next epoch (the first carries every page), or false at the end.
  // Throws SchemeError when the source fails.
  bool next(DirtyEpoch& epoch);
  // The primary's memory as of the last epoch, for the final replica check.
  const uint8_t* primary() const { return shadow_.memory(); }
  const std::optional<WorkloadModel>& model() const { return model_; }

 private:
  std::string name_;
  ShadowCopy shadow_;
  std::optional<WorkloadModel> model_;
  std::vector<const uint8_t*> pages_;
  std::string end_message_;
};

// Thrown by schemes when their library reports an error.
struct SchemeError {
  std::string what;
};

using Counters = std::vector<std::pair<std::string, uint64_t>>;

class Scheme {
 public:
  virtual ~Scheme() = default;
  virtual const std::string& name() const = 0;
  // What the scheme does while the guest is paused, timed by the runner as
  // the pause. A scheme that captures the epoch by itself returns true, and
  // its encode() then reads none of the pages; one that returns false gets
  // the pages copied while paused (Remus's stop-and-copy) and encodes the
  // copy after the guest resumes.
  virtual bool capture(const DirtyEpoch& epoch) {
    static_cast<void>(epoch);
    return false;
  }
  // Encodes one epoch, after the guest resumed, and returns its wire bytes.
  // Timed by the runner.
  virtual size_t encode(const DirtyEpoch& epoch) = 0;
  // Applies the epoch just encoded to the scheme's replica. Timed.
  virtual void decode() = 0;
  virtual bool replica_matches(const uint8_t* primary, size_t bytes) const = 0;
  // Scheme-specific statistics for the report (cost-model choices etc.).
  virtual Counters counters() const { return {}; }
  // The link speed the scheme chose its encoding for (fgbi's cost model),
  // or none when its encoding does not depend on the link (the peers).
  virtual std::optional<double> tuned_link_gbps() const { return std::nullopt; }
};

struct FgbiSchemeOptions {
  std::string name = "fgbi";
  uint64_t tracked_pages = 0;
  int64_t block_size = 64;
  int64_t threads = 1;
  int64_t backend = 0;  // fgbi_backend
  bool digest = true;
  int64_t sharing = 7;
  int64_t codecs = 15;
  int64_t link_mbps = 1000;
  int64_t cache_bytes = 64 << 20;
  int64_t index_bytes = 16 << 20;
  int64_t adaptive = 1;  // FGBI_P_ADAPTIVE: 0 makes the stream depend on the input alone
};
std::unique_ptr<Scheme> make_fgbi_scheme(const FgbiSchemeOptions& options);

// What one epoch cost one scheme, as the runner measured it.
struct EpochSample {
  uint64_t pages = 0, wire_bytes = 0;
  // encode_cpu_s counts the pause's CPU too: all the primary spends.
  double pause_wall_s = 0, encode_wall_s = 0, encode_cpu_s = 0, decode_wall_s = 0;
};

// Pages a streaming sender encodes before the first bytes can leave (one
// wire-format segment): what the latency model overlaps encode and send by.
inline constexpr uint64_t kStreamSegmentPages = 256;
// Commit latency of one epoch at link_bytes_per_s: the pause, then encode
// and send overlapped segment by segment (the slower one sets the pace, the
// other adds its share of one segment), then the backup's decode and commit.
double commit_latency_s(const EpochSample& s, double link_bytes_per_s);

// The p-th percentile (0 < p <= 100, nearest rank) of values; 0 if empty.
double percentile(std::vector<double> values, double p);

// Totals of one scheme over a phase (the initial sync or the steady state).
struct PhaseFigures {
  uint64_t epochs = 0, pages = 0, dirty_bytes = 0, wire_bytes = 0;
  double pause_wall_s = 0, encode_wall_s = 0, encode_cpu_s = 0, decode_wall_s = 0;
  std::vector<double> epoch_pause_ms;      // the guest's pause per epoch (type II downtime)
  std::vector<EpochSample> epoch_samples;  // every epoch of the phase, in order

  // Pause and encode together: what the scheme's sender does per byte.
  double encode_gbps() const { return rate(pause_wall_s + encode_wall_s); }
  double encode_gbps_per_core() const { return rate(encode_cpu_s); }
  double decode_gbps() const { return rate(decode_wall_s); }
  double cpu_s_per_gb() const { return dirty_bytes ? encode_cpu_s / (dirty_bytes / 1e9) : 0; }
  double wire_ratio() const {
    return dirty_bytes ? static_cast<double>(wire_bytes) / static_cast<double>(dirty_bytes) : 0;
  }
  double pause_ms_percentile(double p) const;
  // Of the per-epoch modelled commit latency (time-to-ship) at link_gbps:
  // computed from the samples, so that one run serves any link speed.
  double latency_ms_percentile(double p, double link_gbps) const;
  double cpu_ms_per_epoch() const { return epochs ? 1e3 * encode_cpu_s / epochs : 0; }

 private:
  double rate(double s) const { return s > 0 ? static_cast<double>(dirty_bytes) / s / 1e9 : 0; }
};

struct SchemeResult {
  std::string name;
  std::optional<double> tuned_link_gbps;  // Scheme::tuned_link_gbps
  PhaseFigures sync, warmup, steady;
  bool replica_matches = false;
  Counters counters;
};

struct WorkloadResult {
  std::string name;
  std::string description;
  uint64_t tracked_pages = 0;
  std::optional<WorkloadModel> model;  // for synthetic workloads
  // In the order the schemes ran; a scheme tuned to the link appears once
  // per link speed it was tuned for, under the same name.
  std::vector<SchemeResult> schemes;
};

// The run of the named scheme that stands for it at link_gbps: its only run
// when its encoding ignores the link, else the run tuned for the nearest
// speed by ratio (the geometric midpoint between two tuned speeds is where
// one hands over to the next). Null when the scheme did not run.
const SchemeResult* run_for_link(const WorkloadResult& result, const std::string& name,
                                 double link_gbps);

// Every scheme of the result once, in the order they first ran, each by
// its run_for_link at link_gbps.
std::vector<const SchemeResult*> schemes_at_link(const WorkloadResult& result, double link_gbps);

// One scheme's median time-to-ship (modelled commit latency) at link
// speeds spread evenly on a log scale.
struct LatencySeries {
  std::string name;
  std::vector<double> latency_ms;  // one per speed of the sweep
};
struct LatencySweep {
  std::vector<double> link_gbps;      // ascending, from..to, both included
  std::vector<LatencySeries> series;  // in the order of schemes_at_link
};
// The sweep from from_gbps to to_gbps (0 < from < to) at `points` speeds
// (at least 2), each scheme taken by run_for_link at every speed.
LatencySweep sweep_latency(const WorkloadResult& result, double from_gbps, double to_gbps,
                           size_t points);

struct RunOptions {
  uint32_t epochs = 50;  // measured, after the initial synchronisation (fewer if the feed ends)
  // Epochs run between the initial synchronisation and the measured ones,
  // so that first-touch costs (page faults, cold caches) are not counted.
  uint32_t warmup = 2;
  // Called after every epoch with (epochs done, epochs in all).
  std::function<void(uint32_t, uint32_t)> progress;
  // Called with each epoch before the schemes encode it, with its index:
  // 0 is the initial synchronisation, 1 .. warmup the warm-up epochs.
  std::function<void(uint32_t, const DirtyEpoch&)> observe;
  // Read the epoch's pages before each scheme encodes them, so that every
  // scheme starts with them in the CPU cache, as a guest that just wrote
  // them leaves them, whatever the scheme before it evicted.
  bool warm_pages = false;
};

// Runs the feed through every scheme. Its first epoch is the initial
// synchronisation; the following epochs are the steady state.
WorkloadResult run_workload(EpochFeed& feed, std::vector<std::unique_ptr<Scheme>>& schemes,
                            const RunOptions& options);

}  // namespace fgbi::eval
