#include "downtime_testbed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fgbi.h"
#include "schemes.hpp"

namespace fgbi::eval::downtime {
namespace {

// The bench runs behind the schemes: the peers by their bench names, and
// FGBI's identification pass (sharing without codecs) beside the paper's scheme.
constexpr const char* kRemusFullRun = "remus-full";
constexpr const char* kIdentifyRun = "fgbi-paper-identify";

// Workload presets count dirty pages per 50 ms epoch (docs/workloads.md).
constexpr double kPresetEpochMs = 50;

struct TestbedWorkload {
  const char* name;
  const char* preset;
  uint64_t dirty_pages;  // per 50 ms epoch; 0 = the preset's
  uint64_t working_set;  // 0 = the preset's
  const char* about;
};
const TestbedWorkload kTestbed[] = {
    {"apache", "web", 100, 4096, "Apache: heavy network load, rare memory updates"},
    {"specweb", "web", 0, 0, "SPECweb: about 12,000 dirty pages/s (the FGBI paper's figure)"},
    {"npb-ep", "hpc", 0, 0, "NPB-EP: dense updates of a small set of arrays"},
    {"specsys", "db", 0, 0, "SPECsys: memory-intensive, sparse updates over a large working set"},
};

bool wants(const std::vector<std::string>& names, const char* name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

FgbiSchemeOptions fgbi_options(const std::string& name, uint64_t tracked_pages) {
  FgbiSchemeOptions f;
  f.name = name;
  f.tracked_pages = tracked_pages;
  return f;
}

int64_t codec_flag(const std::string& codec) {
  if (codec == "lz4") return FGBI_CODEC_LZ4;
  if (codec == "zstd") return FGBI_CODEC_ZSTD;
  return FGBI_CODEC_ZLIB;
}

// The runs the asked schemes need, in a fixed order.
std::vector<std::unique_ptr<Scheme>> make_runs(const Experiment& e, uint64_t tracked_pages) {
  std::vector<std::unique_ptr<Scheme>> runs;
  SchemeConfig config;
  config.fgbi.tracked_pages = tracked_pages;
  auto add_peer = [&](const char* name) {
    for (auto& s : make_schemes({name}, config)) runs.push_back(std::move(s));
  };
  if (wants(e.schemes, kRemus) || wants(e.schemes, kLlm)) add_peer(kRemusFullRun);
  if (wants(e.schemes, kFgbiPaper)) {
    // FGBI as published: 64-byte blocks, zero and in-epoch sharing, XOR on a
    // cache hit else one general compressor. fgbi always chooses by its cost
    // model; at the slowest link it assumes (1 Mbit/s) bytes dominate every
    // choice, so it takes the smallest encoding: the XOR delta whenever the
    // page is cached and that is smallest, else the compressor if it shrinks
    // the blocks. Fixed reference speeds keep the choice a function of the
    // input.
    FgbiSchemeOptions paper = fgbi_options(kFgbiPaper, tracked_pages);
    paper.sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH;
    paper.codecs = FGBI_CODEC_XOR | codec_flag(e.paper_codec);
    paper.link_mbps = 1;
    paper.adaptive = 0;
    runs.push_back(make_fgbi_scheme(paper));
    // What the paper does while the guest is paused: identify, share, copy.
    FgbiSchemeOptions identify = paper;
    identify.name = kIdentifyRun;
    identify.codecs = 0;
    runs.push_back(make_fgbi_scheme(identify));
  }
  if (wants(e.schemes, kFgbi)) {
    FgbiSchemeOptions built = fgbi_options(kFgbi, tracked_pages);
    built.link_mbps = e.fgbi_link_mbps;
    built.threads = e.threads;
    runs.push_back(make_fgbi_scheme(built));
  }
  if (wants(e.schemes, kXbzrle)) add_peer(kXbzrle);
  return runs;
}
const std::vector<EpochSample>& samples(const WorkloadResult& r, const std::string& run) {
  for (const auto& s : r.schemes)
    if (s.name == run) return s.steady.epoch_samples;
  static const std::vector<EpochSample> none;
  return none;
}

}  // namespace

const std::vector<std::string>& scheme_names() {
  static const std::vector<std::string> names = {kRemus, kLlm, kFgbiPaper, kFgbi, kXbzrle};
  return names;
}

double paper_link_efficiency() { return kPaperPagesPerGbit * 4096 * 8 / 1e9; }

std::vector<std::string> workload_names() {
  std::vector<std::string> names;
  for (const auto& t : kTestbed) names.emplace_back(t.name);
  for (const auto& p : preset_names()) names.push_back(p);
  return names;
}

std::vector<std::string> paper_workloads() {
  std::vector<std::string> names;
  for (const auto& t : kTestbed) names.emplace_back(t.name);
  return names;
}

WorkloadModel workload_model(const std::string& name, std::optional<uint64_t> pages,
                             std::optional<uint64_t> seed, double epoch_ms, std::string* about) {
  WorkloadModel m;
  *about = "";
  const TestbedWorkload* testbed = nullptr;
  for (const auto& t : kTestbed)
    if (name == t.name) testbed = &t;
  if (testbed) {
    m = *find_preset(testbed->preset);
    m.name = testbed->name;
    if (testbed->dirty_pages) m.dirty_pages = testbed->dirty_pages;
    if (testbed->working_set) m.working_set_pages = testbed->working_set;
    *about = std::string(testbed->about) + " (bench preset " + testbed->preset + ")";
  } else {
    m = *find_preset(name);
  }
  if (pages) m.tracked_pages = *pages;
  if (seed) m.seed = *seed;
  m.working_set_pages = std::min(m.working_set_pages, m.tracked_pages);
  const double scaled = std::round(m.dirty_pages * epoch_ms / kPresetEpochMs);
  m.dirty_pages = std::clamp<uint64_t>(static_cast<uint64_t>(scaled), 1, m.working_set_pages);
  return m;
}

WorkloadDowntime run_experiment(EpochFeed& feed, const std::string& about, const Experiment& e,
                                std::string* error, std::vector<std::string>* left_out) {
  const std::vector<std::string>& wanted = e.schemes;
  auto runs = make_runs(e, feed.tracked_pages());
  const uint32_t group = e.llm_group;
  CheckpointUnion llm_union(feed.tracked_pages(), group);
  RunOptions options;
  options.epochs = e.epochs;
  options.warm_pages = true;
  options.progress = e.progress;
  options.observe = [&](uint32_t index, const DirtyEpoch& epoch) {
    if (index > options.warmup) llm_union.add_epoch(epoch.pfns);  // the measured epochs
  };
  const WorkloadResult r = run_workload(feed, runs, options);
  for (const auto& s : r.schemes)
    if (!s.replica_matches) *error = s.name + " replica differs from the primary";

  const Link& link = e.link;
  const Failover& failover = e.failover;
  const double interval = e.epoch_ms / 1e3, pause = e.pause_ms / 1e3;
  const Pipeline remus_pipeline{interval, pause, kRemusBufferBytes, false};
  WorkloadDowntime out;
  out.name = feed.name();
  const uint64_t steady = r.schemes.empty() ? 0 : r.schemes.front().steady.epochs;
  char line[256];
  std::snprintf(line, sizeof line, "%s; %llu epochs of %g ms", r.description.c_str(),
                static_cast<unsigned long long>(steady), e.epoch_ms);
  out.description = (about.empty() ? "" : about + ": ") + line;
  for (const auto& name : wanted) {
    if (name == kRemus) {
      out.schemes.push_back(
          evaluate(name, remus_costs(samples(r, kRemusFullRun)), remus_pipeline, link, failover));
    } else if (name == kLlm) {
      Pipeline p = remus_pipeline;
      p.interval_s = interval * group;
      out.schemes.push_back(
          evaluate(name, llm_costs(llm_union.checkpoint_pages(), samples(r, kRemusFullRun)), p,
                   link, failover, group));
    } else if (name == kFgbiPaper) {
      out.schemes.push_back(
          evaluate(name, fgbi_paper_costs(samples(r, kFgbiPaper), samples(r, kIdentifyRun)),
                   remus_pipeline, link, failover));
    } else if (name == kFgbi) {
      out.schemes.push_back(evaluate(name, fgbi_costs(samples(r, kFgbi), e.copy_s_per_byte),
                                     {interval, pause, kFgbiQueueBytes, false}, link, failover));
    } else if (name == kXbzrle) {
      out.schemes.push_back(evaluate(name, xbzrle_costs(samples(r, kXbzrle)),
                                     {interval, pause, UINT64_MAX, true}, link, failover));
    }
    if (!out.schemes.empty() && out.schemes.back().name == name &&
        out.schemes.back().type1_s.empty()) {
      // A failure needs a committed checkpoint before it and one after.
      char why[256];
      std::snprintf(why, sizeof why,
                    "%s: only %zu checkpoint(s) in %llu epochs, too few to model; left out",
                    name.c_str(), out.schemes.back().timeline.size(),
                    static_cast<unsigned long long>(steady));
      left_out->push_back(why);
      out.schemes.pop_back();
    }
  }
  return out;
}

}  // namespace fgbi::eval::downtime
