// `fgbi-engine bench`: a synthetic workload replicated sender -> receiver in
// one process through the public C ABI, with throughput, wire bytes and a
// final replica == primary check.
#include "bench_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fgbi.h"
#include "json.hpp"
#include "progress.hpp"
#include "workload.hpp"

namespace fgbi::cli {
namespace {

struct BenchOptions {
  bench::WorkloadModel model;
  uint32_t epochs = 20;
  int64_t block_size = 64;
  int64_t threads = 1;
  bool no_digest = false;
  bool json = false;
  int64_t sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
  int64_t codecs = FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;
  double link_gbps = 1.0;
  int64_t cache_mib = 64;
  int64_t index_mib = 16;
  size_t feed_bytes = 64 * 1024;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct SenderDeleter {
  void operator()(fgbi_sender* s) const { fgbi_sender_free(s); }
};
struct ReceiverDeleter {
  void operator()(fgbi_receiver* r) const { fgbi_receiver_free(r); }
};

// Thrown (inside the CLI only) when an fgbi call fails.
struct CallFailed {
  std::string what;
};

void check(fgbi_status st, const char* call) {
  if (st != FGBI_OK)
    throw CallFailed{std::string(call) + ": " + fgbi_error_name(st) + " (" +
                     fgbi_error_message(st) + ")"};
}

// Totals over a set of epochs.
struct Phase {
  uint64_t epochs = 0, pages = 0, dirty_bytes = 0, wire_bytes = 0;
  double encode_s = 0, apply_s = 0;
  double encode_gbps() const { return encode_s > 0 ? dirty_bytes / encode_s / 1e9 : 0; }
  double apply_gbps() const { return apply_s > 0 ? dirty_bytes / apply_s / 1e9 : 0; }
  double pages_per_s() const { return encode_s > 0 ? pages / encode_s : 0; }
  double wire_ratio() const {
    return dirty_bytes ? static_cast<double>(wire_bytes) / dirty_bytes : 0;
  }
};

class Replication {
 public:
  explicit Replication(const BenchOptions& opt)
      : workload_(opt.model),
        replica_(opt.model.tracked_pages * bench::SyntheticWorkload::kPageSize) {
    fgbi_sender* s = nullptr;
    check(fgbi_sender_create(&s), "fgbi_sender_create");
    sender_.reset(s);
    fgbi_receiver* r = nullptr;
    check(fgbi_receiver_create(&r), "fgbi_receiver_create");
    receiver_.reset(r);
    const int64_t pages = static_cast<int64_t>(opt.model.tracked_pages);
    for (auto [param, value] : {std::pair{FGBI_P_TRACKED_PAGES, pages},
                                {FGBI_P_BLOCK_SIZE, opt.block_size},
                                {FGBI_P_THREADS, opt.threads},
                                {FGBI_P_DIGEST, int64_t{opt.no_digest ? 0 : 1}}}) {
      check(fgbi_sender_set_parameter(s, param, value), "fgbi_sender_set_parameter");
      check(fgbi_receiver_set_parameter(r, param, value), "fgbi_receiver_set_parameter");
    }
    for (auto [param, value] :
         {std::pair{FGBI_P_SHARING, opt.sharing},
          {FGBI_P_CODECS, opt.codecs},
          {FGBI_P_LINK_MBPS, std::max<int64_t>(1, static_cast<int64_t>(opt.link_gbps * 1000))},
          {FGBI_P_CACHE_BYTES, opt.cache_mib << 20},
          {FGBI_P_INDEX_BYTES, opt.index_mib << 20}})
      check(fgbi_sender_set_parameter(s, param, value), "fgbi_sender_set_parameter");
    check(fgbi_receiver_attach_memory(r, replica_.data(), replica_.size()),
          "fgbi_receiver_attach_memory");
    feed_bytes_ = opt.feed_bytes;
  }

  bench::SyntheticWorkload& workload() { return workload_; }

  // Replicates one epoch of the given dirty pfns and adds it to `phase`.
  void epoch(const std::vector<uint64_t>& pfns, Phase& phase) {
    pages_.resize(pfns.size());
    for (size_t i = 0; i < pfns.size(); ++i) pages_[i] = workload_.page(pfns[i]);
    const size_t bound = fgbi_sender_epoch_bound(sender_.get(), pfns.size());
    if (stream_.size() < bound) stream_.resize(bound);

    const auto t0 = Clock::now();
    size_t written = 0;
    check(fgbi_sender_begin_epoch(sender_.get(), nullptr), "fgbi_sender_begin_epoch");
    check(fgbi_sender_add_pages(sender_.get(), pfns.data(), pages_.data(), pfns.size(), nullptr),
          "fgbi_sender_add_pages");
    check(fgbi_sender_end_epoch(sender_.get(), stream_.data(), stream_.size(), &written),
          "fgbi_sender_end_epoch");
    phase.encode_s += seconds_since(t0);

    const auto t1 = Clock::now();
    for (size_t off = 0; off < written; off += feed_bytes_)
      check(fgbi_receiver_feed(receiver_.get(), stream_.data() + off,
                               std::min(feed_bytes_, written - off)),
            "fgbi_receiver_feed");
    phase.apply_s += seconds_since(t1);

    ++phase.epochs;
    phase.pages += pfns.size();
    phase.dirty_bytes += pfns.size() * bench::SyntheticWorkload::kPageSize;
    phase.wire_bytes += written;
  }

  uint64_t committed() const {
    uint64_t e = 0;
    check(fgbi_receiver_committed_epoch(receiver_.get(), &e), "fgbi_receiver_committed_epoch");
    return e;
  }
  bool replica_matches() const {
    return std::memcmp(replica_.data(), workload_.page(0), replica_.size()) == 0;
  }
  uint64_t sender_stat(fgbi_stat stat) const {
    uint64_t v = 0;
    check(fgbi_sender_get_stat(sender_.get(), stat, &v), "fgbi_sender_get_stat");
    return v;
  }
  // Statistics that do not apply to a sender are absent.
  std::optional<uint64_t> try_sender_stat(fgbi_stat stat) const {
    uint64_t v = 0;
    if (fgbi_sender_get_stat(sender_.get(), stat, &v) != FGBI_OK) return std::nullopt;
    return v;
  }

 private:
  bench::SyntheticWorkload workload_;
  std::vector<uint8_t> replica_;
  std::unique_ptr<fgbi_sender, SenderDeleter> sender_;
  std::unique_ptr<fgbi_receiver, ReceiverDeleter> receiver_;
  std::vector<const void*> pages_;
  std::vector<uint8_t> stream_;
  size_t feed_bytes_ = 0;
};

void print_phase_json(JsonWriter& j, const char* key, const Phase& p) {
  j.begin_object(key);
  j.field("epochs", p.epochs);
  j.field("pages", p.pages);
  j.field("dirty_bytes", p.dirty_bytes);
  j.field("wire_bytes", p.wire_bytes);
  j.field("wire_ratio", p.wire_ratio());
  j.field("encode_seconds", p.encode_s);
  j.field("encode_gbps", p.encode_gbps());
  j.field("encode_pages_per_second", p.pages_per_s());
  j.field("apply_seconds", p.apply_s);
  j.field("apply_gbps", p.apply_gbps());
  j.end_object();
}

void print_phase_text(const char* name, const Phase& p) {
  std::printf(
      "%-13s %6llu epochs %9llu pages  encode %7.2f GB/s %11.0f pages/s  apply %7.2f GB/s\n", name,
      static_cast<unsigned long long>(p.epochs), static_cast<unsigned long long>(p.pages),
      p.encode_gbps(), p.pages_per_s(), p.apply_gbps());
  std::printf("%-13s wire %.1f MiB for %.1f MiB of dirty pages (%.4f of raw, %.1fx smaller)\n", "",
              p.wire_bytes / 1048576.0, p.dirty_bytes / 1048576.0, p.wire_ratio(),
              p.wire_bytes ? static_cast<double>(p.dirty_bytes) / p.wire_bytes : 0.0);
}

int run_bench(const BenchOptions& opt) {
  if (std::string why = bench::validate(opt.model); !why.empty()) {
    std::fprintf(stderr, "fgbi-engine bench: invalid workload: %s\n", why.c_str());
    return 2;
  }
  try {
    Replication rep(opt);
    const auto& m = opt.model;
    Progress progress("bench", opt.epochs + 1);

    // Epoch 1 carries every tracked page: the initial synchronisation.
    std::vector<uint64_t> all(m.tracked_pages);
    for (uint64_t i = 0; i < m.tracked_pages; ++i) all[i] = i;
    Phase sync, steady;
    rep.epoch(all, sync);
    progress.update(1);
    for (uint32_t e = 0; e < opt.epochs; ++e) {
      rep.epoch(rep.workload().next_epoch(), steady);
      progress.update(e + 2);
    }
    progress.done();
    const bool match = rep.replica_matches();
    const uint64_t committed = rep.committed();

    if (opt.json) {
      JsonWriter j(stdout);
      j.begin_object();
      j.field("tool", "fgbi-engine bench");
      j.field("version", fgbi_version_string());
      j.begin_object("workload");
      j.field("name", "default");
      j.field("tracked_pages", m.tracked_pages);
      j.field("dirty_pages_per_epoch", m.dirty_pages);
      j.field("working_set_pages", m.working_set_pages);
      j.field("edits_per_page", m.edits_per_page);
      j.field("edit_bytes", uint64_t{m.edit_bytes});
      j.field("zero_edit_share", m.zero_edit_share);
      j.field("unchanged_share", m.unchanged_share);
      j.field("initial_zero_share", m.initial_zero_share);
      j.field("seed", m.seed);
      j.end_object();
      j.begin_object("config");
      j.field("block_size", static_cast<uint64_t>(opt.block_size));
      j.field("threads", static_cast<uint64_t>(opt.threads));
      j.field("digest", !opt.no_digest);
      j.end_object();
      print_phase_json(j, "initial_sync", sync);
      print_phase_json(j, "steady", steady);
      j.begin_object("sender_stats");
      for (int s = FGBI_STAT_FIRST; s <= FGBI_STAT_LAST; ++s) {
        const auto stat = static_cast<fgbi_stat>(s);
        if (auto v = rep.try_sender_stat(stat)) j.field(fgbi_stat_name(stat), *v);
      }
      j.end_object();
      j.field("committed_epoch", committed);
      j.field("replica_matches_primary", match);
      j.end_object();
      j.finish();
    } else {
      std::printf(
          "fgbi-engine bench %s: %llu tracked pages (%.0f MiB), %llu dirty pages/epoch from a "
          "working set of %llu, ~%.1f edits/page of ~%u bytes, block size %lld, threads %lld, "
          "digest %s\n",
          fgbi_version_string(), static_cast<unsigned long long>(m.tracked_pages),
          m.tracked_pages * 4096 / 1048576.0, static_cast<unsigned long long>(m.dirty_pages),
          static_cast<unsigned long long>(m.working_set_pages), m.edits_per_page, m.edit_bytes,
          static_cast<long long>(opt.block_size), static_cast<long long>(opt.threads),
          opt.no_digest ? "off" : "on");
      print_phase_text("initial sync", sync);
      print_phase_text("steady state", steady);
      std::printf(
          "blocks: %llu scanned, %llu sent; pages: %llu partial, %llu full, %llu unchanged\n",
          static_cast<unsigned long long>(rep.sender_stat(FGBI_S_BLOCKS_SCANNED)),
          static_cast<unsigned long long>(rep.sender_stat(FGBI_S_BLOCKS_CHANGED)),
          static_cast<unsigned long long>(rep.sender_stat(FGBI_S_PAGES_PARTIAL)),
          static_cast<unsigned long long>(rep.sender_stat(FGBI_S_PAGES_FULL)),
          static_cast<unsigned long long>(rep.sender_stat(FGBI_S_PAGES_UNCHANGED)));
      std::printf("replica == primary after epoch %llu: %s\n",
                  static_cast<unsigned long long>(committed), match ? "yes" : "NO");
    }
    if (!match) {
      std::fprintf(stderr, "fgbi-engine bench: replica differs from primary\n");
      return 1;
    }
    return 0;
  } catch (const CallFailed& e) {
    std::fprintf(stderr, "fgbi-engine bench: %s\n", e.what.c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "fgbi-engine bench: out of memory for this workload\n");
    return 1;
  }
}

// "all", "none" or a comma list of names -> the OR of their flags.
int64_t parse_flags(const std::string& text, const std::map<std::string, int64_t>& names) {
  if (text == "none") return 0;
  int64_t flags = 0;
  for (const auto& [name, flag] : names)
    if (text == "all") flags |= flag;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');)
    if (auto it = names.find(item); it != names.end()) flags |= it->second;
  return flags;
}

struct FlagListValidator : CLI::Validator {
  explicit FlagListValidator(const std::map<std::string, int64_t>& names) {
    std::string allowed = "all, none";
    for (const auto& [name, flag] : names) allowed += ", " + name;
    name_ = "FLAGS";
    func_ = [names, allowed](std::string& text) -> std::string {
      if (text == "all" || text == "none") return {};
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');)
        if (!names.contains(item)) return "'" + item + "' is not one of " + allowed;
      return {};
    };
  }
};

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Replicate a synthetic workload sender -> receiver in one process and report throughput, "
      "wire bytes and a replica == primary check. Epoch 1 synchronises every tracked page; the "
      "following epochs dirty pages as the workload model says (docs/workloads.md).");
  auto& m = opt->model;
  cmd->add_option("--pages", m.tracked_pages, "Tracked memory in 4 KiB pages")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 26));
  cmd->add_option("--dirty", m.dirty_pages, "Pages dirtied per epoch")->capture_default_str();
  cmd->add_option("--working-set", m.working_set_pages, "Pages the dirty pages are drawn from")
      ->capture_default_str();
  cmd->add_option("--edits", m.edits_per_page, "Mean edits per dirty page (>= 1)")
      ->capture_default_str();
  cmd->add_option("--edit-bytes", m.edit_bytes, "Mean bytes changed per edit")
      ->capture_default_str();
  cmd->add_option("--zero-share", m.zero_edit_share, "Share of edits that zero a 64-byte block")
      ->capture_default_str();
  cmd->add_option("--unchanged-share", m.unchanged_share,
                  "Share of dirty pages rewritten with identical content")
      ->capture_default_str();
  cmd->add_option("--seed", m.seed, "Workload random seed")->capture_default_str();
  cmd->add_option("--epochs", opt->epochs, "Epochs after the initial synchronisation")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u));
  cmd->add_option("--block-size", opt->block_size, "Block size in bytes: 32, 64, 128 or 256")
      ->capture_default_str()
      ->check(CLI::IsMember({32, 64, 128, 256}));
  cmd->add_option("--threads", opt->threads, "Sender and receiver threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--no-digest", opt->no_digest, "Turn the end-to-end digest off");
  const std::map<std::string, int64_t> share_names{
      {"zero", FGBI_SHARE_ZERO}, {"epoch", FGBI_SHARE_EPOCH}, {"replica", FGBI_SHARE_REPLICA}};
  cmd->add_option_function<std::string>(
         "--sharing",
         [opt, share_names](const std::string& v) { opt->sharing = parse_flags(v, share_names); },
         "Block sharing: 'all', 'none' or a comma list of zero,epoch,replica")
      ->default_str("all")
      ->check(FlagListValidator(share_names));
  const std::map<std::string, int64_t> codec_names{{"xor", FGBI_CODEC_XOR},
                                                   {"lz4", FGBI_CODEC_LZ4},
                                                   {"zlib", FGBI_CODEC_ZLIB},
                                                   {"zstd", FGBI_CODEC_ZSTD}};
  cmd->add_option_function<std::string>(
         "--codecs",
         [opt, codec_names](const std::string& v) { opt->codecs = parse_flags(v, codec_names); },
         "Encodings the cost model may pick besides raw: 'all', 'none' or a comma list of "
         "xor,lz4,zlib,zstd")
      ->default_str("all")
      ->check(FlagListValidator(codec_names));
  cmd->add_option("--link-gbps", opt->link_gbps,
                  "Link bandwidth the cost model assumes, Gbit/s (1 = the paper's testbed)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 10000.0));
  cmd->add_option("--cache-mib", opt->cache_mib, "Sender page cache for XOR deltas, MiB")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--index-mib", opt->index_mib, "Sender index of replica blocks, MiB")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--feed-bytes", opt->feed_bytes, "Bytes per receiver feed call")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  cmd->add_flag("--json", opt->json, "Print the figures as one JSON object");
  cmd->callback([opt, &exit_code] { exit_code = run_bench(*opt); });
}

}  // namespace fgbi::cli
