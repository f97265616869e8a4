// The downtime experiment behind `fgbi-engine downtime`
// (docs/downtime-model.md): the schemes it compares, the FGBI paper's
// testbed and workloads, the bench runs each scheme needs and how their
// measured costs are laid out on the model of downtime_model.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "downtime_model.hpp"
#include "evaluation.hpp"

namespace fgbi::eval::downtime {

inline constexpr const char* kRemus = "remus";
inline constexpr const char* kLlm = "llm";
inline constexpr const char* kFgbiPaper = "fgbi-paper";
inline constexpr const char* kFgbi = "fgbi";
inline constexpr const char* kXbzrle = "xbzrle";
// The schemes, in the order reports list them.
const std::vector<std::string>& scheme_names();

// The FGBI paper's testbed: 1 Gbit/s carried about 25,000 pages/s, the
// payload share of the line rate that makes.
inline constexpr double kPaperPagesPerGbit = 25000;
double paper_link_efficiency();

// The paper's workloads as bench presets (docs/downtime-model.md §5), then
// the presets themselves.
std::vector<std::string> workload_names();
// The paper's four workloads (--testbed paper).
std::vector<std::string> paper_workloads();

// A workload model by name (one of workload_names()), with the overrides
// and its dirty pages scaled from the presets' 50 ms epoch to epoch_ms;
// `about` describes a testbed model ("" for a preset).
WorkloadModel workload_model(const std::string& name, std::optional<uint64_t> pages,
                             std::optional<uint64_t> seed, double epoch_ms, std::string* about);

struct Experiment {
  std::vector<std::string> schemes;  // of scheme_names(), in its order
  uint32_t epochs = 200;
  double epoch_ms = 50;
  double pause_ms = 0;  // fixed pause per checkpoint
  Link link;
  Failover failover;
  uint32_t llm_group = 20;           // epochs per LLM memory checkpoint
  std::string paper_codec = "zlib";  // FGBI's general codec: zlib, lz4 or zstd
  uint32_t threads = 1;              // fgbi as built: capture and encode
  int64_t fgbi_link_mbps = 956;      // the payload rate fgbi as built tunes its encoding for
  double copy_s_per_byte = 0;        // measure_copy_s_per_byte()
  std::function<void(uint32_t, uint32_t)> progress;  // RunOptions::progress
};

// Replicates the feed through the runs the schemes need and models each.
// Sets `error` when a replica differs; `left_out` gets a line for each
// scheme with too few checkpoints to model, which the result leaves out.
WorkloadDowntime run_experiment(EpochFeed& feed, const std::string& about, const Experiment& e,
                                std::string* error, std::vector<std::string>* left_out);

}  // namespace fgbi::eval::downtime
