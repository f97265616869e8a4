// `fgbi-engine bench`: the evaluation tool. Replicates built-in workloads
// through fgbi (in the configurations asked for) and the peer schemes, on
// the same pages in the same run, and reports throughput, wire bytes,
// modelled type II downtime, time-to-ship at each link speed asked for and
// replica checks as text, JSON or HTML.
#include "bench_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "evaluation.hpp"
#include "feeds.hpp"
#include "fgbi.h"
#include "json.hpp"
#include "machine.hpp"
#include "option_checks.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "report_html.hpp"
#include "schemes.hpp"

namespace fgbi::cli {
namespace {

// Speeds one --link-gbps may list: each adds fgbi's schemes (their replicas
// and caches) to the run.
constexpr size_t kMaxLinks = 8;

struct BenchOptions {
  std::vector<std::string> workloads = {"web"};
  std::string source;  // an adapter spec instead of the synthetic workloads
  std::vector<std::string> schemes = {"all"};
  eval::WorkloadOverrides overrides;  // applied to every selected workload model
  uint32_t epochs = 50;
  uint32_t warmup = 2;
  int64_t block_size = 64;
  int64_t threads = 1;
  std::string backend = "auto";
  bool no_digest = false;
  int64_t sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
  int64_t codecs = FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;
  std::vector<double> link_gbps = {1.0};  // ascending
  int64_t cache_mib = 64;
  int64_t index_mib = 16;
  int64_t xc_cache_mib = 32;
  bool json = false;
  std::string report;
};

// "all", "none" or a comma list of names -> the OR of their flags.
int64_t parse_flags(const std::string& text, const std::map<std::string, int64_t>& names) {
  int64_t flags = 0;
  for (const auto& [name, flag] : names)
    if (text == "all") flags |= flag;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');)
    if (auto it = names.find(item); it != names.end()) flags |= it->second;
  return flags;
}

eval::SchemeConfig scheme_config(const BenchOptions& o, uint64_t tracked_pages, double link_gbps) {
  eval::SchemeConfig c;
  c.fgbi.tracked_pages = tracked_pages;
  c.fgbi.block_size = o.block_size;
  c.fgbi.threads = o.threads;
  c.fgbi.digest = !o.no_digest;
  c.fgbi.sharing = o.sharing;
  c.fgbi.codecs = o.codecs;
  c.fgbi.link_mbps = std::max<int64_t>(1, std::llround(link_gbps * 1000));
  c.fgbi.cache_bytes = o.cache_mib << 20;
  c.fgbi.index_bytes = o.index_mib << 20;
  c.backend = o.backend;
  c.xbzrle_cache_bytes = o.cache_mib << 20;
  c.xc_cache_bytes = o.xc_cache_mib << 20;
  return c;
}

// "0.1, 1, 10": the speeds for a heading.
std::string link_list(const std::vector<double>& links) {
  std::string text;
  for (double l : links) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3g", text.empty() ? "" : ", ", l);
    text += buf;
  }
  return text;
}

// "fgbi wins", "xbzrle wins" or "even", by a ratio of fgbi to an alternative.
std::string winner(double ratio, const std::string& fgbi, const std::string& alternative) {
  return ratio < 1 ? fgbi + " wins" : ratio > 1 ? alternative + " wins" : "even";
}

void print_counters(const eval::SchemeResult& s, uint64_t tracked_pages) {
  std::map<std::string, uint64_t> c(s.counters.begin(), s.counters.end());
  if (!c.contains("FGBI_S_PAGES_CODED")) return;
  std::printf(
      "  %s: coded pages %llu (raw %llu, xor %llu, lz4 %llu, zstd %llu, zlib %llu); "
      "blocks zero %llu, shared in-epoch %llu, shared replica %llu; cache hits %llu, "
      "misses %llu; sender memory %.0f B/tracked page\n",
      s.name.c_str(), static_cast<unsigned long long>(c["FGBI_S_PAGES_CODED"]),
      static_cast<unsigned long long>(c["FGBI_S_CHOSEN_RAW"]),
      static_cast<unsigned long long>(c["FGBI_S_CHOSEN_XOR"]),
      static_cast<unsigned long long>(c["FGBI_S_CHOSEN_LZ4"]),
      static_cast<unsigned long long>(c["FGBI_S_CHOSEN_ZSTD"]),
      static_cast<unsigned long long>(c["FGBI_S_CHOSEN_ZLIB"]),
      static_cast<unsigned long long>(c["FGBI_S_BLOCKS_ZERO"]),
      static_cast<unsigned long long>(c["FGBI_S_BLOCKS_SHARED_EPOCH"]),
      static_cast<unsigned long long>(c["FGBI_S_BLOCKS_SHARED_REPLICA"]),
      static_cast<unsigned long long>(c["FGBI_S_CACHE_HITS"]),
      static_cast<unsigned long long>(c["FGBI_S_CACHE_MISSES"]),
      static_cast<double>(c["FGBI_S_MEMORY_BYTES"]) / tracked_pages);
}

void print_text(const eval::WorkloadResult& r, const BenchOptions& o) {
  std::printf(
      "\nworkload %s: %s; %llu tracked pages (%.0f MiB), %llu epochs + initial sync, "
      "link %s Gbit/s\n",
      r.name.c_str(), r.description.c_str(), static_cast<unsigned long long>(r.tracked_pages),
      r.tracked_pages * 4096 / 1048576.0,
      static_cast<unsigned long long>(r.schemes.empty() ? 0 : r.schemes[0].steady.epochs),
      link_list(o.link_gbps).c_str());
  for (double link : o.link_gbps) {
    const auto schemes = eval::schemes_at_link(r, link);
    if (o.link_gbps.size() > 1) std::printf("  at %.3g Gbit/s:\n", link);
    std::printf("  %-12s %9s %9s %9s %10s %8s %15s %17s %7s %7s\n", "scheme", "enc GB/s",
                "GB/s/core", "dec GB/s", "wire MiB", "of raw", "pause ms p50/99",
                "latency ms p50/99", "CPU ms", "replica");
    for (const eval::SchemeResult* s : schemes) {
      const auto& f = s->steady;
      std::printf(
          "  %-12s %9.2f %9.2f %9.2f %10.2f %8.4f %6.3f / %-6.3f %7.2f / %-7.2f %7.3f %7s\n",
          s->name.c_str(), f.encode_gbps(), f.encode_gbps_per_core(), f.decode_gbps(),
          f.wire_bytes / 1048576.0, f.wire_ratio(), f.pause_ms_percentile(50),
          f.pause_ms_percentile(99), f.latency_ms_percentile(50, link),
          f.latency_ms_percentile(99, link), f.cpu_ms_per_epoch(),
          s->replica_matches ? "ok" : "DIFFERS");
    }
    for (const eval::SchemeResult* s : schemes) print_counters(*s, r.tracked_pages);
    for (const eval::Versus& v : eval::versus_alternatives(schemes, link))
      std::printf(
          "  %s against the best of %s: time-to-ship %.3g ms vs %.3g ms (%s), %.2fx, %s; "
          "wire %.4g MiB vs %.4g MiB (%s), %.2fx, %s\n",
          v.fgbi->name.c_str(), eval::alternatives_text(), v.fgbi_ms, v.fastest_ms,
          v.fastest->name.c_str(), v.time_ratio(),
          winner(v.time_ratio(), v.fgbi->name, v.fastest->name).c_str(),
          v.fgbi->steady.wire_bytes / 1048576.0, v.smallest->steady.wire_bytes / 1048576.0,
          v.smallest->name.c_str(), v.bytes_ratio(),
          winner(v.bytes_ratio(), v.fgbi->name, v.smallest->name).c_str());
  }
  if (o.link_gbps.size() < 2) return;
  // The speeds side by side: where each scheme gains or loses.
  std::printf("  %-24s", "time-to-ship ms p50 at");
  for (double link : o.link_gbps) std::printf(" %8.3g", link);
  std::printf(" Gbit/s\n");
  for (const eval::SchemeResult* first : eval::schemes_at_link(r, o.link_gbps.front())) {
    std::printf("  %-24s", first->name.c_str());
    for (double link : o.link_gbps)
      std::printf(" %8.3g",
                  eval::run_for_link(r, first->name, link)->steady.latency_ms_percentile(50, link));
    std::printf("\n");
  }
  for (const eval::Versus& first : eval::versus_alternatives(
           eval::schemes_at_link(r, o.link_gbps.front()), o.link_gbps.front())) {
    std::printf("  %-24s", (first.fgbi->name + " / best alternative").c_str());
    for (double link : o.link_gbps)
      for (const eval::Versus& v : eval::versus_alternatives(eval::schemes_at_link(r, link), link))
        if (v.fgbi->name == first.fgbi->name) std::printf(" %8.3g", v.time_ratio());
    std::printf("\n");
  }
}

Json phase_json(const eval::PhaseFigures& f, double link_gbps) {
  Json j = Json::object();
  j["epochs"] = f.epochs;
  j["pages"] = f.pages;
  j["dirty_bytes"] = f.dirty_bytes;
  j["wire_bytes"] = f.wire_bytes;
  j["wire_ratio"] = f.wire_ratio();
  j["pause_seconds"] = f.pause_wall_s;
  j["encode_seconds"] = f.encode_wall_s;
  j["encode_cpu_seconds"] = f.encode_cpu_s;
  j["encode_gbps"] = f.encode_gbps();
  j["encode_gbps_per_core"] = f.encode_gbps_per_core();
  j["cpu_seconds_per_gb"] = f.cpu_s_per_gb();
  j["decode_seconds"] = f.decode_wall_s;
  j["decode_gbps"] = f.decode_gbps();
  j["pause_ms_median"] = f.pause_ms_percentile(50);
  j["pause_ms_p99"] = f.pause_ms_percentile(99);
  j["latency_ms_median"] = f.latency_ms_percentile(50, link_gbps);
  j["latency_ms_p99"] = f.latency_ms_percentile(99, link_gbps);
  j["cpu_ms_per_epoch"] = f.cpu_ms_per_epoch();
  return j;
}

void print_json(const std::vector<eval::WorkloadResult>& results, const BenchOptions& o,
                const eval::MachineInfo& machine) {
  Json j = Json::object();
  j["tool"] = "fgbi-engine bench";
  j["version"] = fgbi_version_string();
  Json m = Json::object();
  m["cpu_model"] = machine.cpu_model;
  m["cpus"] = machine.cpus;
  m["simd_target"] = machine.simd_target;
  m["threads"] = machine.threads;
  m["parallel_capacity"] = machine.parallel_capacity;
  j["machine"] = std::move(m);
  Json config = Json::object();
  config["epochs"] = o.epochs;
  config["warmup_epochs"] = o.warmup;
  config["block_size"] = o.block_size;
  config["threads"] = o.threads;
  config["backend"] = o.backend;
  config["digest"] = !o.no_digest;
  config["sharing"] = o.sharing;
  config["codecs"] = o.codecs;
  Json links = Json::array();
  for (double link : o.link_gbps) links.push_back(link);
  config["link_gbps"] = std::move(links);
  config["cache_mib"] = o.cache_mib;
  config["index_mib"] = o.index_mib;
  j["config"] = std::move(config);
  Json workloads = Json::array();
  for (const auto& r : results) {
    Json workload = Json::object();
    workload["name"] = r.name;
    workload["description"] = r.description;
    workload["tracked_pages"] = r.tracked_pages;
    if (r.model) {
      const auto& m = *r.model;
      Json model = Json::object();
      model["dirty_pages_per_epoch"] = m.dirty_pages;
      model["working_set_pages"] = m.working_set_pages;
      model["edits_per_page"] = m.edits_per_page;
      model["max_edits"] = m.max_edits;
      model["edit_bytes"] = m.edit_bytes;
      model["zero_edit_share"] = m.zero_edit_share;
      model["unchanged_share"] = m.unchanged_share;
      model["rewrite_share"] = m.rewrite_share;
      model["copy_share"] = m.copy_share;
      model["seed"] = m.seed;
      workload["model"] = std::move(model);
    }
    Json per_link = Json::array();
    for (double link : o.link_gbps) {
      const auto schemes = eval::schemes_at_link(r, link);
      Json at_link = Json::object();
      at_link["link_gbps"] = link;
      Json schemes_json = Json::array();
      for (const eval::SchemeResult* s : schemes) {
        Json scheme = Json::object();
        scheme["name"] = s->name;
        if (s->tuned_link_gbps) scheme["tuned_link_gbps"] = *s->tuned_link_gbps;
        scheme["replica_matches_primary"] = s->replica_matches;
        scheme["initial_sync"] = phase_json(s->sync, link);
        scheme["steady"] = phase_json(s->steady, link);
        Json counters = Json::object();
        for (const auto& [k, v] : s->counters) counters[k] = v;
        scheme["counters"] = std::move(counters);
        schemes_json.push_back(std::move(scheme));
      }
      at_link["schemes"] = std::move(schemes_json);
      Json versus = Json::array();
      for (const eval::Versus& v : eval::versus_alternatives(schemes, link)) {
        Json v_json = Json::object();
        v_json["scheme"] = v.fgbi->name;
        v_json["time_to_ship_ms_median"] = v.fgbi_ms;
        v_json["fastest_alternative"] = v.fastest->name;
        v_json["fastest_alternative_time_to_ship_ms_median"] = v.fastest_ms;
        v_json["time_ratio"] = v.time_ratio();
        v_json["wire_bytes"] = v.fgbi->steady.wire_bytes;
        v_json["smallest_alternative"] = v.smallest->name;
        v_json["smallest_alternative_wire_bytes"] = v.smallest->steady.wire_bytes;
        v_json["bytes_ratio"] = v.bytes_ratio();
        versus.push_back(std::move(v_json));
      }
      at_link["fgbi_vs_best_alternative"] = std::move(versus);
      per_link.push_back(std::move(at_link));
    }
    workload["links"] = std::move(per_link);
    workloads.push_back(std::move(workload));
  }
  j["workloads"] = std::move(workloads);
  write_json(j);
}

// One line before the figures: what they were measured on.
void print_machine(const eval::MachineInfo& m) {
  std::printf("machine: %s\n", eval::machine_summary(m).c_str());
}

int run_bench(const BenchOptions& o) {
  const std::vector<std::string> workloads = expand_names(o.workloads, eval::preset_names());
  const std::vector<std::string> scheme_names = expand_names(o.schemes, eval::all_scheme_names());
  std::vector<eval::WorkloadResult> results;
  // The peers' encodings ignore the link: they run once. fgbi's cost model
  // chooses for the link, so it runs once per speed, on the same epochs.
  std::vector<std::string> tuned_names;
  std::copy_if(scheme_names.begin(), scheme_names.end(), std::back_inserter(tuned_names),
               eval::tuned_to_link);
  const eval::MachineInfo machine = eval::describe_machine(static_cast<unsigned>(o.threads));
  if (!o.json) print_machine(machine);
  auto run = [&](eval::EpochFeed& feed) {
    std::vector<std::unique_ptr<eval::Scheme>> schemes;
    for (double link : o.link_gbps) {
      auto more = eval::make_schemes(link == o.link_gbps.front() ? scheme_names : tuned_names,
                                     scheme_config(o, feed.tracked_pages(), link));
      std::move(more.begin(), more.end(), std::back_inserter(schemes));
    }
    Progress progress("bench " + feed.name(), 1 + o.warmup + o.epochs);
    eval::RunOptions options;
    options.epochs = o.epochs;
    options.warmup = o.warmup;
    options.progress = [&](uint32_t done, uint32_t) { progress.update(done); };
    results.push_back(eval::run_workload(feed, schemes, options));
    progress.done();
    if (!o.json) print_text(results.back(), o);
  };
  const int status = for_each_feed(
      "bench", o.source, workloads,
      [&](const std::string& name, std::string*) { return o.overrides.preset(name); },
      [&](eval::EpochFeed& feed, const std::string&) { run(feed); });
  if (status != 0) return status;
  if (o.json) print_json(results, o, machine);
  if (!o.report.empty()) {
    std::string error;
    if (!write_html_report(o.report, results, o.link_gbps, machine, &error)) {
      std::fprintf(stderr, "fgbi-engine bench: cannot write report %s: %s\n", o.report.c_str(),
                   error.c_str());
      return 1;
    }
    if (!o.json) std::printf("\nreport written to %s\n", o.report.c_str());
  }
  for (const auto& r : results)
    for (const auto& s : r.schemes)
      if (!s.replica_matches) {
        std::fprintf(stderr, "fgbi-engine bench: %s: %s replica differs from the primary\n",
                     r.name.c_str(), s.name.c_str());
        return 1;
      }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Replicate built-in workloads through fgbi and the peer schemes (Remus full pages, Remus "
      "xc_compression, XBZRLE, LZ4, zstd) on the same pages in the same run. Per scheme: encode "
      "GB/s (pause and encode, wall and per core), decode GB/s, wire bytes, the guest's pause "
      "per epoch (what it waits while its pages are captured: type II downtime), the modelled "
      "commit latency or time-to-ship at each --link-gbps speed (pause, then encode and send "
      "overlapped segment by segment, then the backup's apply), CPU ms per epoch, and a "
      "replica == primary check (exit status 1 if any differs); per speed, fgbi against the "
      "best of fgbi-plain, remus-full and xbzrle. Epoch 1 synchronises every tracked page; the "
      "steady state is reported. Workloads and the downtime model: docs/workloads.md.");
  add_name_list(cmd, "--workload", opt->workloads, eval::preset_names(), "Workloads to run")
      ->default_str("web");
  add_source_option(cmd, opt->source, "the synthetic workloads");
  add_name_list(cmd, "--schemes", opt->schemes, eval::all_scheme_names(), "Schemes to compare")
      ->default_str("all");
  add_epochs_option(cmd, opt->epochs, 1, 1000000)->capture_default_str();
  cmd->add_option("--warmup", opt->warmup,
                  "Epochs run after the initial synchronisation but not measured")
      ->capture_default_str()
      ->check(whole_number(0, 1000));
  add_workload_overrides(cmd, opt->overrides, Overrides::kSizesAndEdits);
  cmd->add_option("--block-size", opt->block_size, "fgbi block size: 32, 64, 128 or 256")
      ->capture_default_str()
      ->check(CLI::IsMember({32, 64, 128, 256}));
  cmd->add_option("--threads", opt->threads, "fgbi sender and receiver threads")
      ->capture_default_str()
      ->check(whole_number(1, 256));
  cmd->add_option("--backend", opt->backend,
                  "fgbi kernel backend: auto, scalar, simd, cuda, or all (one row each)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "scalar", "simd", "cuda", "all"}));
  cmd->add_flag("--no-digest", opt->no_digest, "Turn fgbi's end-to-end digest off");
  const std::map<std::string, int64_t> share_names{
      {"zero", FGBI_SHARE_ZERO}, {"epoch", FGBI_SHARE_EPOCH}, {"replica", FGBI_SHARE_REPLICA}};
  cmd->add_option_function<std::string>(
         "--sharing",
         [opt, share_names](const std::string& v) { opt->sharing = parse_flags(v, share_names); },
         "fgbi block sharing: all, none or a comma list of zero,epoch,replica")
      ->default_str("all")
      ->check(name_list({"zero", "epoch", "replica"}, true));
  const std::map<std::string, int64_t> codec_names{{"xor", FGBI_CODEC_XOR},
                                                   {"lz4", FGBI_CODEC_LZ4},
                                                   {"zlib", FGBI_CODEC_ZLIB},
                                                   {"zstd", FGBI_CODEC_ZSTD}};
  cmd->add_option_function<std::string>(
         "--codecs",
         [opt, codec_names](const std::string& v) { opt->codecs = parse_flags(v, codec_names); },
         "fgbi encodings the cost model may pick besides raw: all, none or a comma list of "
         "xor,lz4,zlib,zstd")
      ->default_str("all")
      ->check(name_list({"xor", "lz4", "zlib", "zstd"}, true));
  cmd->add_option_function<std::string>(
         "--link-gbps", [opt](const std::string& v) { opt->link_gbps = parse_number_list(v); },
         "Link bandwidth, Gbit/s, for fgbi's cost model and the modelled commit latency "
         "(time-to-ship): one speed or a comma list of up to " +
             std::to_string(kMaxLinks) +
             " (e.g. 0.1,1,10,25,100): fgbi runs once per speed on the same epochs, the peers "
             "once, and every figure is reported per speed")
      ->default_str("1")
      ->check(real_number_list(0.001, 10000, kMaxLinks));
  cmd->add_option("--cache-mib", opt->cache_mib,
                  "Page cache for fgbi's XOR deltas and for XBZRLE, MiB (the same for both; at "
                  "most this machine's memory)")
      ->capture_default_str()
      ->check(whole_number(0, memory_mib()));
  cmd->add_option("--index-mib", opt->index_mib,
                  "fgbi index of replica blocks, MiB (at most this machine's memory)")
      ->capture_default_str()
      ->check(whole_number(0, memory_mib()));
  cmd->add_option("--xc-cache-mib", opt->xc_cache_mib,
                  "Remus xc_compression page cache, MiB (at most this machine's memory)")
      ->capture_default_str()
      ->check(whole_number(1, memory_mib()));
  add_output_options(cmd, opt->json, &opt->report,
                     "Also write a self-contained HTML report to this file: a summary of fgbi "
                     "against the best alternative, a chart of each scheme's time-to-ship against "
                     "link speed (0.1-100 Gbit/s), tables and bar charts");
  cmd->callback([opt, &exit_code] { exit_code = run_bench(*opt); });
}

}  // namespace fgbi::cli
