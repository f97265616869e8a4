// `fgbi-engine downtime`: the paper's type I / type II comparison. Replicates
// a workload (a preset, a testbed model, or an adapter's source) through the
// schemes' codecs in one run, measuring what each epoch costs each of them,
// and lays the costs out on the downtime model of docs/downtime-model.md:
// Remus, LLM, FGBI as its paper describes it, fgbi as built, and XBZRLE in a
// COLO-style checkpoint. Reports type II and type I downtime (median, p99),
// epoch latency, bytes and CPU per epoch as text, JSON or HTML.
#include "downtime_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "downtime_model.hpp"
#include "evaluation.hpp"
#include "feeds.hpp"
#include "fgbi.h"
#include "json.hpp"
#include "option_checks.hpp"
#include "progress.hpp"
#include "report_html.hpp"
#include "schemes.hpp"
#include "source.hpp"

namespace fgbi::cli {
namespace {

namespace dt = bench::downtime;

constexpr const char* kRemus = "remus";
constexpr const char* kLlm = "llm";
constexpr const char* kFgbiPaper = "fgbi-paper";
constexpr const char* kFgbi = "fgbi";
constexpr const char* kXbzrle = "xbzrle";
const std::vector<std::string> kSchemes = {kRemus, kLlm, kFgbiPaper, kFgbi, kXbzrle};

// The bench runs behind them: the peers by their bench names, and FGBI's
// identification pass (sharing without codecs) beside the paper's scheme.
constexpr const char* kRemusFullRun = "remus-full";
constexpr const char* kIdentifyRun = "fgbi-paper-identify";

// Workload presets count dirty pages per 50 ms epoch (docs/workloads.md).
constexpr double kPresetEpochMs = 50;
// The FGBI paper's testbed: 1 Gbit/s carried about 25,000 pages/s.
constexpr double kPaperPagesPerGbit = 25000;

// The paper's workloads as bench presets (docs/downtime-model.md §5).
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

std::vector<std::string> workload_names() {
  std::vector<std::string> names;
  for (const auto& t : kTestbed) names.emplace_back(t.name);
  for (const auto& p : bench::preset_names()) names.push_back(p);
  return names;
}

struct DowntimeOptions {
  std::string testbed = "none";
  std::vector<std::string> workloads;  // default: specweb, or the testbed's four
  std::string source;
  std::vector<std::string> schemes = {"all"};
  uint32_t epochs = 200;
  std::optional<uint64_t> pages, seed;
  double epoch_ms = 50;
  double link_gbps = 1;
  std::optional<double> link_efficiency;
  double rtt_ms = 0.1;
  double detect_ms = 3000;
  double resume_ms = 0;
  double pause_ms = 0;
  double redo_share = 1;
  double llm_memory_ms = 1000;
  std::string paper_codec = "zlib";
  uint32_t threads = 1;  // fgbi as built: capture (the guest's vCPUs are idle) and encode
  bool json = false;
  std::string report;

  double efficiency() const {
    if (link_efficiency) return *link_efficiency;
    if (testbed == "paper") return kPaperPagesPerGbit * 4096 * 8 / 1e9;
    return dt::kTcpEfficiency;
  }
  dt::Link link() const {
    dt::Link l = dt::line_rate(link_gbps, efficiency());
    l.rtt_s = rtt_ms / 1e3;
    return l;
  }
  dt::Failover failover() const { return {detect_ms / 1e3, resume_ms / 1e3, redo_share, 10000}; }
  uint32_t llm_group() const {
    return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(llm_memory_ms / epoch_ms)));
  }
};

// Expands "all" and keeps the canonical order.
std::vector<std::string> expand(const std::vector<std::string>& asked,
                                const std::vector<std::string>& all) {
  if (std::find(asked.begin(), asked.end(), "all") != asked.end()) return all;
  std::vector<std::string> out;
  for (const auto& name : all)
    if (std::find(asked.begin(), asked.end(), name) != asked.end()) out.push_back(name);
  return out;
}

bool wants(const std::vector<std::string>& names, const char* name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A workload model by name, its dirty pages scaled to the epoch length.
bench::WorkloadModel model_for(const std::string& name, const DowntimeOptions& o,
                               std::string* about) {
  bench::WorkloadModel m;
  *about = "";
  const TestbedWorkload* testbed = nullptr;
  for (const auto& t : kTestbed)
    if (name == t.name) testbed = &t;
  if (testbed) {
    m = *bench::find_preset(testbed->preset);
    m.name = testbed->name;
    if (testbed->dirty_pages) m.dirty_pages = testbed->dirty_pages;
    if (testbed->working_set) m.working_set_pages = testbed->working_set;
    *about = std::string(testbed->about) + " (bench preset " + testbed->preset + ")";
  } else {
    m = *bench::find_preset(name);
  }
  if (o.pages) m.tracked_pages = *o.pages;
  if (o.seed) m.seed = *o.seed;
  m.working_set_pages = std::min(m.working_set_pages, m.tracked_pages);
  const double scaled = std::round(m.dirty_pages * o.epoch_ms / kPresetEpochMs);
  m.dirty_pages = std::clamp<uint64_t>(static_cast<uint64_t>(scaled), 1, m.working_set_pages);
  return m;
}

bench::FgbiSchemeOptions fgbi_options(const std::string& name, uint64_t tracked_pages) {
  bench::FgbiSchemeOptions f;
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
std::vector<std::unique_ptr<bench::Scheme>> make_runs(const std::vector<std::string>& wanted,
                                                      const DowntimeOptions& o,
                                                      uint64_t tracked_pages) {
  std::vector<std::unique_ptr<bench::Scheme>> runs;
  SchemeConfig config;
  config.fgbi.tracked_pages = tracked_pages;
  auto add_peer = [&](const char* name) {
    for (auto& s : make_schemes({name}, config)) runs.push_back(std::move(s));
  };
  if (wants(wanted, kRemus) || wants(wanted, kLlm)) add_peer(kRemusFullRun);
  if (wants(wanted, kFgbiPaper)) {
    // FGBI as published: 64-byte blocks, zero and in-epoch sharing, XOR on a
    // cache hit else one general compressor. fgbi always chooses by its cost
    // model; at the slowest link it assumes (1 Mbit/s) bytes dominate every
    // choice, so it takes the smallest encoding: the XOR delta whenever the
    // page is cached and that is smallest, else the compressor if it shrinks
    // the blocks. Fixed reference speeds keep the choice a function of the
    // input.
    bench::FgbiSchemeOptions paper = fgbi_options(kFgbiPaper, tracked_pages);
    paper.sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH;
    paper.codecs = FGBI_CODEC_XOR | codec_flag(o.paper_codec);
    paper.link_mbps = 1;
    paper.adaptive = 0;
    runs.push_back(bench::make_fgbi_scheme(paper));
    // What the paper does while the guest is paused: identify, share, copy.
    bench::FgbiSchemeOptions identify = paper;
    identify.name = kIdentifyRun;
    identify.codecs = 0;
    runs.push_back(bench::make_fgbi_scheme(identify));
  }
  if (wants(wanted, kFgbi)) {
    bench::FgbiSchemeOptions built = fgbi_options(kFgbi, tracked_pages);
    built.link_mbps = std::max<int64_t>(1, std::llround(o.link_gbps * 1000 * o.efficiency()));
    built.threads = o.threads;
    runs.push_back(bench::make_fgbi_scheme(built));
  }
  if (wants(wanted, kXbzrle)) add_peer(kXbzrle);
  return runs;
}

const std::vector<bench::EpochSample>& samples(const bench::WorkloadResult& r,
                                               const std::string& run) {
  for (const auto& s : r.schemes)
    if (s.name == run) return s.steady.epoch_samples;
  static const std::vector<bench::EpochSample> none;
  return none;
}

// Replicates the feed through the runs and models every asked scheme.
dt::WorkloadDowntime model_feed(bench::EpochFeed& feed, const std::string& about,
                                const std::vector<std::string>& wanted, const DowntimeOptions& o,
                                double copy_s_per_byte, std::string* error) {
  auto runs = make_runs(wanted, o, feed.tracked_pages());
  const uint32_t group = o.llm_group();
  dt::CheckpointUnion llm_union(feed.tracked_pages(), group);
  bench::RunOptions options;
  Progress progress("downtime " + feed.name(), 1 + options.warmup + o.epochs);
  options.epochs = o.epochs;
  options.warm_pages = true;
  options.progress = [&](uint32_t done, uint32_t) { progress.update(done); };
  options.observe = [&](uint32_t index, const bench::DirtyEpoch& epoch) {
    if (index > options.warmup) llm_union.add_epoch(epoch.pfns);  // the measured epochs
  };
  const bench::WorkloadResult r = bench::run_workload(feed, runs, options);
  progress.done();
  for (const auto& s : r.schemes)
    if (!s.replica_matches) *error = s.name + " replica differs from the primary";

  const dt::Link link = o.link();
  const dt::Failover failover = o.failover();
  const double interval = o.epoch_ms / 1e3, pause = o.pause_ms / 1e3;
  const dt::Pipeline remus_pipeline{interval, pause, dt::kRemusBufferBytes, false};
  dt::WorkloadDowntime out;
  out.name = feed.name();
  const uint64_t steady = r.schemes.empty() ? 0 : r.schemes.front().steady.epochs;
  char line[256];
  std::snprintf(line, sizeof line, "%s; %llu epochs of %g ms", r.description.c_str(),
                static_cast<unsigned long long>(steady), o.epoch_ms);
  out.description = (about.empty() ? "" : about + ": ") + line;
  for (const auto& name : wanted) {
    if (name == kRemus) {
      out.schemes.push_back(dt::evaluate(name, dt::remus_costs(samples(r, kRemusFullRun)),
                                         remus_pipeline, link, failover));
    } else if (name == kLlm) {
      dt::Pipeline p = remus_pipeline;
      p.interval_s = interval * group;
      out.schemes.push_back(
          dt::evaluate(name, dt::llm_costs(llm_union.checkpoint_pages(), samples(r, kRemusFullRun)),
                       p, link, failover, group));
    } else if (name == kFgbiPaper) {
      out.schemes.push_back(
          dt::evaluate(name, dt::fgbi_paper_costs(samples(r, kFgbiPaper), samples(r, kIdentifyRun)),
                       remus_pipeline, link, failover));
    } else if (name == kFgbi) {
      out.schemes.push_back(dt::evaluate(name, dt::fgbi_costs(samples(r, kFgbi), copy_s_per_byte),
                                         {interval, pause, dt::kFgbiQueueBytes, false}, link,
                                         failover));
    } else if (name == kXbzrle) {
      out.schemes.push_back(dt::evaluate(name, dt::xbzrle_costs(samples(r, kXbzrle)),
                                         {interval, pause, UINT64_MAX, true}, link, failover));
    }
    if (!out.schemes.empty() && out.schemes.back().name == name &&
        out.schemes.back().type1_s.empty()) {
      // A failure needs a committed checkpoint before it and one after.
      std::fprintf(stderr,
                   "fgbi-engine downtime: %s: only %zu checkpoint(s) in %llu epochs, too few to "
                   "model; left out\n",
                   name.c_str(), out.schemes.back().timeline.size(),
                   static_cast<unsigned long long>(steady));
      out.schemes.pop_back();
    }
  }
  return out;
}

const dt::SchemeDowntime* find(const dt::WorkloadDowntime& w, const char* name) {
  for (const auto& s : w.schemes)
    if (s.name == name) return &s;
  return nullptr;
}

// "77 % lower" or "2.1x higher": a against b.
std::string versus(double a, double b) {
  char buf[64];
  if (!(b > 0)) return "n/a";
  if (a <= b)
    std::snprintf(buf, sizeof buf, "%.1f %% lower", 100 * (1 - a / b));
  else
    std::snprintf(buf, sizeof buf, a / b < 10 ? "%.2fx higher" : "%.0fx higher", a / b);
  return buf;
}

// One line per fgbi scheme: its medians against LLM's and Remus's.
void print_reductions(const dt::WorkloadDowntime& w) {
  const dt::SchemeDowntime* llm = find(w, kLlm);
  const dt::SchemeDowntime* remus = find(w, kRemus);
  for (const char* ours : {kFgbiPaper, kFgbi}) {
    const dt::SchemeDowntime* s = find(w, ours);
    if (!s || (!llm && !remus)) continue;
    std::printf("  %s (medians):", ours);
    for (const dt::SchemeDowntime* other : {llm, remus})
      if (other)
        std::printf(" vs %s: type I %s, type II %s;", other->name.c_str(),
                    versus(s->type1_ms(50), other->type1_ms(50)).c_str(),
                    versus(s->type2_ms(50), other->type2_ms(50)).c_str());
    std::printf(" overhead (time paused) %.2f %%\n", 100 * s->paused_share());
  }
}

std::string setup_text(const DowntimeOptions& o) {
  const dt::Link l = o.link();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "Epoch %g ms; link %g Gbit/s carrying %.1f %% payload (%.1f MB/s, %.0f pages/s), "
                "RTT %g ms; detection %g ms, backup resume %g ms, fixed pause %g ms, redo share "
                "%g; LLM checkpoints memory every %u epochs (%g ms); FGBI's general codec %s.",
                o.epoch_ms, o.link_gbps, 100 * o.efficiency(), l.payload_bytes_per_s / 1e6,
                l.payload_bytes_per_s / 4096, o.rtt_ms, o.detect_ms, o.resume_ms, o.pause_ms,
                o.redo_share, o.llm_group(), o.llm_group() * o.epoch_ms, o.paper_codec.c_str());
  return buf;
}

void print_text(const dt::WorkloadDowntime& w) {
  std::printf("\nworkload %s: %s\n", w.name.c_str(), w.description.c_str());
  std::printf("  %-10s %19s %19s %19s %10s %8s %7s %6s\n", "scheme", "type II ms p50/p99",
              "type I ms p50/p99", "latency ms p50/p99", "KiB/epoch", "CPU ms", "paused", "late");
  for (const auto& s : w.schemes)
    std::printf("  %-10s %9.3f/%-9.3f %9.1f/%-9.1f %9.2f/%-9.2f %10.1f %8.3f %6.2f%% %5.1f%%\n",
                s.name.c_str(), s.type2_ms(50), s.type2_ms(99), s.type1_ms(50), s.type1_ms(99),
                s.latency_ms(50), s.latency_ms(99), s.wire_bytes_per_epoch() / 1024,
                s.cpu_ms_per_epoch(), 100 * s.paused_share(), 100 * s.waited_share());
  print_reductions(w);
}

void percentiles_json(JsonWriter& j, const char* key, double p50, double p99) {
  j.begin_object(key);
  j.field("median", p50);
  j.field("p99", p99);
  j.end_object();
}

void print_json(const std::vector<dt::WorkloadDowntime>& results, const DowntimeOptions& o) {
  const dt::Link l = o.link();
  JsonWriter j(stdout);
  j.begin_object();
  j.field("tool", "fgbi-engine downtime");
  j.field("version", fgbi_version_string());
  j.begin_object("model");
  j.field("testbed", o.testbed);
  j.field("epochs", uint64_t{o.epochs});
  j.field("epoch_ms", o.epoch_ms);
  j.field("link_gbps", o.link_gbps);
  j.field("link_payload_bytes_per_s", l.payload_bytes_per_s);
  j.field("rtt_ms", o.rtt_ms);
  j.field("detect_ms", o.detect_ms);
  j.field("resume_ms", o.resume_ms);
  j.field("pause_ms", o.pause_ms);
  j.field("redo_share", o.redo_share);
  j.field("llm_memory_ms", o.llm_group() * o.epoch_ms);
  j.field("fgbi_paper_codec", o.paper_codec);
  j.end_object();
  j.begin_array("workloads");
  for (const auto& w : results) {
    j.begin_object();
    j.field("name", w.name);
    j.field("description", w.description);
    j.begin_array("schemes");
    for (const auto& s : w.schemes) {
      j.begin_object();
      j.field("name", s.name);
      j.field("checkpoints", static_cast<uint64_t>(s.timeline.size()));
      j.field("epochs_per_checkpoint", s.epochs_per_checkpoint);
      percentiles_json(j, "type2_ms", s.type2_ms(50), s.type2_ms(99));
      percentiles_json(j, "type1_ms", s.type1_ms(50), s.type1_ms(99));
      percentiles_json(j, "latency_ms", s.latency_ms(50), s.latency_ms(99));
      j.field("wire_bytes_per_epoch", s.wire_bytes_per_epoch());
      j.field("cpu_ms_per_epoch", s.cpu_ms_per_epoch());
      j.field("paused_share", s.paused_share());
      j.field("late_share", s.waited_share());
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  j.finish();
}

int run_downtime(DowntimeOptions o) {
  if (o.workloads.empty())
    o.workloads = o.testbed == "paper"
                      ? std::vector<std::string>{"apache", "specweb", "npb-ep", "specsys"}
                      : std::vector<std::string>{"specweb"};
  const std::vector<std::string> wanted = expand(o.schemes, kSchemes);
  const uint32_t group = o.llm_group();
  if (wants(wanted, kLlm) && o.epochs < 2 * group) {
    std::fprintf(stderr,
                 "fgbi-engine downtime: LLM checkpoints memory every %u epochs; --epochs must be "
                 "at least %u for two of them\n",
                 group, 2 * group);
    return 2;
  }
  const double copy_s_per_byte = dt::measure_copy_s_per_byte();
  std::vector<dt::WorkloadDowntime> results;
  std::string error;
  if (!o.json)
    std::printf("fgbi-engine downtime %s. %s\n", fgbi_version_string(), setup_text(o).c_str());
  auto run = [&](bench::EpochFeed& feed, const std::string& about) {
    results.push_back(model_feed(feed, about, wanted, o, copy_s_per_byte, &error));
    if (!o.json) print_text(results.back());
  };
  const int status = for_each_feed(
      "downtime", o.source, expand(o.workloads, workload_names()),
      [&](const std::string& name, std::string* about) { return model_for(name, o, about); }, run);
  if (status != 0) return status;
  if (o.json) print_json(results, o);
  if (!o.report.empty()) {
    std::string why;
    if (!write_downtime_report(o.report, results, setup_text(o), &why)) {
      std::fprintf(stderr, "fgbi-engine downtime: cannot write report %s: %s\n", o.report.c_str(),
                   why.c_str());
      return 1;
    }
    if (!o.json) std::printf("\nreport written to %s\n", o.report.c_str());
  }
  if (!error.empty()) {
    std::fprintf(stderr, "fgbi-engine downtime: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

void add_downtime_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<DowntimeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "downtime",
      "Type I and type II downtime of Remus, LLM, FGBI as its paper describes it, fgbi as built "
      "and XBZRLE (COLO-style) on the same dirty pages: every scheme's codec runs on each epoch "
      "and its measured costs are laid out on the downtime model of docs/downtime-model.md. "
      "Per scheme: type II downtime (the guest's pause per checkpoint), type I downtime (a "
      "primary failure at a uniformly random instant until the backup serves again), epoch "
      "latency, bytes and CPU per epoch. Exit status 1 if a replica differs from the primary.");
  cmd->add_option("--testbed", opt->testbed,
                  "paper: the FGBI paper's testbed (1 Gbit/s carrying about 25,000 pages/s; "
                  "workloads apache, specweb, npb-ep, specsys unless --workload says otherwise)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "paper"}));
  cmd->add_option("--workload", opt->workloads,
                  "Workloads: all or a comma list of " + joined(workload_names()) +
                      " (default specweb; testbed models in docs/downtime-model.md, presets in "
                      "docs/workloads.md)")
      ->delimiter(',')
      ->check(CLI::IsMember([] {
        auto names = workload_names();
        names.emplace_back("all");
        return names;
      }()));
  cmd->add_option("--source", opt->source,
                  "Use an adapter's epochs instead: trace:FILE, images:GLOB, pid:N or xen:DOMID "
                  "(docs/adapters.md); kinds in this build: " +
                      adapters::source_kinds())
      ->check(non_empty());
  cmd->add_option("--schemes", opt->schemes, "Schemes: all or a comma list of " + joined(kSchemes))
      ->default_str("all")
      ->delimiter(',')
      ->check(CLI::IsMember([] {
        auto names = kSchemes;
        names.emplace_back("all");
        return names;
      }()));
  cmd->add_option("--epochs", opt->epochs, "Epochs after the initial synchronisation")
      ->capture_default_str()
      ->check(whole_number(2, 1000000));
  cmd->add_option("--pages", opt->pages, "Override: tracked memory in 4 KiB pages")
      ->check(whole_number(16, uint64_t{1} << 26));
  cmd->add_option("--seed", opt->seed, "Override: workload random seed")
      ->check(whole_number(0, UINT64_MAX));
  cmd->add_option("--epoch-ms", opt->epoch_ms,
                  "Checkpoint interval; synthetic workloads dirty pages in proportion to it")
      ->capture_default_str()
      ->check(real_number(1, 60000));
  cmd->add_option("--link-gbps", opt->link_gbps, "Link line rate, Gbit/s")
      ->capture_default_str()
      ->check(real_number(0.001, 10000));
  cmd->add_option("--link-efficiency", opt->link_efficiency,
                  "Payload bytes per line byte (default: TCP at MTU 1500, 0.956; --testbed paper: "
                  "0.819, i.e. 25,000 pages/s at 1 Gbit/s)")
      ->check(real_number(0.01, 1));
  cmd->add_option("--rtt-ms", opt->rtt_ms, "Round-trip time between primary and backup")
      ->capture_default_str()
      ->check(real_number(0, 10000));
  cmd->add_option("--detect-ms", opt->detect_ms,
                  "Failure detection: the silence after which the backup takes over (fgbi's "
                  "FGBI_SP_FAILOVER_MS)")
      ->capture_default_str()
      ->check(real_number(0, 600000));
  cmd->add_option("--resume-ms", opt->resume_ms, "Time for the backup to start its guest")
      ->capture_default_str()
      ->check(real_number(0, 600000));
  cmd->add_option("--pause-ms", opt->pause_ms,
                  "Fixed part of every pause: suspend, dirty-log read, resume (the same for every "
                  "scheme)")
      ->capture_default_str()
      ->check(real_number(0, 60000));
  cmd->add_option("--redo-share", opt->redo_share,
                  "Seconds to redo per second of guest work lost at a failure (1: the lost work "
                  "reruns at its first speed; 0: none is redone)")
      ->capture_default_str()
      ->check(real_number(0, 100));
  cmd->add_option("--llm-memory-ms", opt->llm_memory_ms,
                  "LLM's memory checkpoint interval (rounded to whole epochs); its input log "
                  "ships every epoch")
      ->capture_default_str()
      ->check(real_number(1, 600000));
  cmd->add_option("--paper-codec", opt->paper_codec,
                  "FGBI's general compressor for pages not in its cache")
      ->capture_default_str()
      ->check(CLI::IsMember({"zlib", "lz4", "zstd"}));
  cmd->add_option("--threads", opt->threads,
                  "Threads of fgbi as built: its capture may use every core while the guest is "
                  "paused, its encode after resume")
      ->capture_default_str()
      ->check(whole_number(1, 256));
  cmd->add_flag("--json", opt->json, "Print the figures as one JSON object on stdout");
  cmd->add_option("--report", opt->report,
                  "Also write a self-contained HTML report with charts to this file");
  cmd->callback([opt, &exit_code] { exit_code = run_downtime(*opt); });
}

}  // namespace fgbi::cli
