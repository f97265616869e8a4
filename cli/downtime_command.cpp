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
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "downtime_testbed.hpp"
#include "evaluation.hpp"
#include "feeds.hpp"
#include "fgbi.h"
#include "json.hpp"
#include "option_checks.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "report_html.hpp"

namespace fgbi::cli {
namespace {

namespace dt = eval::downtime;

using dt::kFgbi;
using dt::kFgbiPaper;
using dt::kLlm;
using dt::kRemus;

struct DowntimeOptions {
  std::string testbed = "none";
  std::vector<std::string> workloads;  // default: specweb, or the testbed's four
  std::string source;
  std::vector<std::string> schemes = {"all"};
  uint32_t epochs = 200;
  eval::WorkloadOverrides overrides;  // --pages and --seed
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
    if (testbed == "paper") return dt::paper_link_efficiency();
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

Json percentiles_json(double p50, double p99) { return {{"median", p50}, {"p99", p99}}; }

void print_json(const std::vector<dt::WorkloadDowntime>& results, const DowntimeOptions& o) {
  const dt::Link l = o.link();
  Json j = Json::object();
  j["tool"] = "fgbi-engine downtime";
  j["version"] = fgbi_version_string();
  Json model = Json::object();
  model["testbed"] = o.testbed;
  model["epochs"] = o.epochs;
  model["epoch_ms"] = o.epoch_ms;
  model["link_gbps"] = o.link_gbps;
  model["link_payload_bytes_per_s"] = l.payload_bytes_per_s;
  model["rtt_ms"] = o.rtt_ms;
  model["detect_ms"] = o.detect_ms;
  model["resume_ms"] = o.resume_ms;
  model["pause_ms"] = o.pause_ms;
  model["redo_share"] = o.redo_share;
  model["llm_memory_ms"] = o.llm_group() * o.epoch_ms;
  model["fgbi_paper_codec"] = o.paper_codec;
  j["model"] = std::move(model);
  Json workloads = Json::array();
  for (const auto& w : results) {
    Json workload = Json::object();
    workload["name"] = w.name;
    workload["description"] = w.description;
    Json schemes = Json::array();
    for (const auto& s : w.schemes) {
      Json scheme = Json::object();
      scheme["name"] = s.name;
      scheme["checkpoints"] = s.timeline.size();
      scheme["epochs_per_checkpoint"] = s.epochs_per_checkpoint;
      scheme["type2_ms"] = percentiles_json(s.type2_ms(50), s.type2_ms(99));
      scheme["type1_ms"] = percentiles_json(s.type1_ms(50), s.type1_ms(99));
      scheme["latency_ms"] = percentiles_json(s.latency_ms(50), s.latency_ms(99));
      scheme["wire_bytes_per_epoch"] = s.wire_bytes_per_epoch();
      scheme["cpu_ms_per_epoch"] = s.cpu_ms_per_epoch();
      scheme["paused_share"] = s.paused_share();
      scheme["late_share"] = s.waited_share();
      schemes.push_back(std::move(scheme));
    }
    workload["schemes"] = std::move(schemes);
    workloads.push_back(std::move(workload));
  }
  j["workloads"] = std::move(workloads);
  write_json(j);
}

int run_downtime(DowntimeOptions o) {
  if (o.workloads.empty())
    o.workloads =
        o.testbed == "paper" ? dt::paper_workloads() : std::vector<std::string>{"specweb"};
  dt::Experiment e;
  e.schemes = expand_names(o.schemes, dt::scheme_names());
  e.epochs = o.epochs;
  e.epoch_ms = o.epoch_ms;
  e.pause_ms = o.pause_ms;
  e.link = o.link();
  e.failover = o.failover();
  e.llm_group = o.llm_group();
  e.paper_codec = o.paper_codec;
  e.threads = o.threads;
  e.fgbi_link_mbps = std::max<int64_t>(1, std::llround(o.link_gbps * 1000 * o.efficiency()));
  const uint32_t group = e.llm_group;
  if (std::find(e.schemes.begin(), e.schemes.end(), kLlm) != e.schemes.end() &&
      o.epochs < 2 * group) {
    std::fprintf(stderr,
                 "fgbi-engine downtime: LLM checkpoints memory every %u epochs; --epochs must be "
                 "at least %u for two of them\n",
                 group, 2 * group);
    return 2;
  }
  e.copy_s_per_byte = dt::measure_copy_s_per_byte();
  std::vector<dt::WorkloadDowntime> results;
  std::string error;
  if (!o.json)
    std::printf("fgbi-engine downtime %s. %s\n", fgbi_version_string(), setup_text(o).c_str());
  auto run = [&](eval::EpochFeed& feed, const std::string& about) {
    Progress progress("downtime " + feed.name(), 1 + eval::RunOptions{}.warmup + o.epochs);
    e.progress = [&](uint32_t done, uint32_t) { progress.update(done); };
    std::vector<std::string> left_out;
    results.push_back(dt::run_experiment(feed, about, e, &error, &left_out));
    progress.done();
    for (const auto& line : left_out)
      std::fprintf(stderr, "fgbi-engine downtime: %s\n", line.c_str());
    if (!o.json) print_text(results.back());
  };
  const int status = for_each_feed(
      "downtime", o.source, expand_names(o.workloads, dt::workload_names()),
      [&](const std::string& name, std::string* about) {
        return dt::workload_model(name, o.overrides.pages, o.overrides.seed, o.epoch_ms, about);
      },
      run);
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
  add_name_list(cmd, "--workload", opt->workloads, dt::workload_names(),
                "Workloads (default specweb; testbed models in docs/downtime-model.md, presets "
                "in docs/workloads.md)");
  add_source_option(cmd, opt->source, "the workloads");
  add_name_list(cmd, "--schemes", opt->schemes, dt::scheme_names(), "Schemes")->default_str("all");
  add_epochs_option(cmd, opt->epochs, 2, 1000000)->capture_default_str();
  add_workload_overrides(cmd, opt->overrides, Overrides::kSizes, 16);
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
  add_output_options(cmd, opt->json, &opt->report,
                     "Also write a self-contained HTML report with charts to this file");
  cmd->callback([opt, &exit_code] { exit_code = run_downtime(*opt); });
}

}  // namespace fgbi::cli
