// `fgbi-engine send`: the primary end of a replication session. Captures
// epochs from a dirty source, replicates them to `fgbi-engine recv` over
// TCP through the public C ABI (fgbi_link), reconnects and resumes when the
// connection drops, and reports the pause (the capture the guest waits for),
// the commit latency until the ack, throughput and a final replica check.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "json.hpp"
#include "option_checks.hpp"
#include "option_groups.hpp"
#include "replication_commands.hpp"
#include "shadow_copy.hpp"
#include "sources.hpp"

namespace fgbi::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct SendOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  std::string key_file;
  std::string source;            // an adapter spec (adapters/source.hpp); empty: the workload
  std::string workload = "web";  // a preset of docs/workloads.md, as `bench` defaults to
  eval::WorkloadOverrides overrides;
  std::optional<uint32_t> epochs;  // default: 100 of the workload; a source's own end
  uint32_t interval_ms = 0;
  uint32_t max_unacked = 1;
  int64_t block_size = 64;
  int64_t threads = 1;
  bool no_digest = false;
  int64_t io_timeout_ms = 2000;
  int64_t heartbeat_ms = 100;
  int64_t queue_mib = 64;
  int64_t chunk_kib = 256;
  double link_gbps = 0;  // 0: measured at the socket
  uint32_t retry_ms = 10000;
  bool no_verify = false;
  bool json = false;
};

// The source --source names, else the --workload preset, with a shadow copy
// of its pages: resynchronisations need any page, the final check all of
// them. nullptr with *error set when it cannot be opened.
std::unique_ptr<eval::ShadowCopy> open_source(const SendOptions& opt,
                                              std::optional<eval::WorkloadModel>* model,
                                              std::string* error) {
  std::unique_ptr<adapters::DirtySource> source;
  if (opt.source.empty()) {
    *model = opt.overrides.preset(opt.workload);
    source = eval::make_synthetic_source(**model);
  } else {
    eval::OpenedSource opened = eval::open_source(opt.source, *error);
    if (!opened.source) return nullptr;
    source = std::move(opened.source);
    *model = opened.model;
  }
  const uint64_t pages = source->tracked_pages();
  try {
    return std::make_unique<eval::ShadowCopy>(std::move(source));
  } catch (const std::bad_alloc&) {
    *error = "cannot reserve address space for a copy of its " + std::to_string(pages) +
             " tracked pages";
    return nullptr;
  }
}

fgbi_link* g_link = nullptr;  // for the signal handler
void stop_link() { fgbi_link_stop(g_link); }

struct Distribution {
  std::vector<double> ms;
  void add(uint64_t ns) { ms.push_back(ns / 1e6); }
  double mean() const {
    double s = 0;
    for (double v : ms) s += v;
    return ms.empty() ? 0 : s / ms.size();
  }
  double percentile(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(std::ceil(p * ms.size())) - (p > 0))];
  }
  Json json() {
    return {{"mean", mean()},
            {"p50", percentile(0.5)},
            {"p99", percentile(0.99)},
            {"max", percentile(1.0)}};
  }
  std::string text() {
    char buf[128];
    std::snprintf(buf, sizeof buf, "mean %.3f  p50 %.3f  p99 %.3f  max %.3f ms", mean(),
                  percentile(0.5), percentile(0.99), percentile(1.0));
    return buf;
  }
};

class Sender {
 public:
  explicit Sender(const SendOptions& opt) : opt_(opt) {}
  ~Sender() {
    g_link = nullptr;
    fgbi_link_free(link_);
    fgbi_sender_free(sender_);
  }

  int run() {
    if (!opt_.key_file.empty() && !(key_ = load_key("send", opt_.key_file))) return kExitUsage;
    std::string error;
    source_ = open_source(opt_, &model_, &error);
    if (!source_) {
      std::fprintf(stderr, "fgbi-engine send: --source %s: %s\n", opt_.source.c_str(),
                   error.c_str());
      return kExitUsage;
    }
    if (fgbi_status st = setup(); st != FGBI_OK) return fail("setup", st);
    g_link = link_;
    StopOnSignal on_signal(stop_link);
    if (fgbi_status st = connect(); st != FGBI_OK) return finish(st, "cannot connect");
    const auto start = Clock::now();
    std::deque<uint64_t> in_flight;
    bool lost = false;  // an epoch was lost to a disconnect and no later one was queued
    fgbi_status st = FGBI_OK;
    const uint64_t epochs = opt_.epochs ? *opt_.epochs : opt_.source.empty() ? 100 : UINT64_MAX - 1;
    for (uint64_t i = 0; i <= epochs && st == FGBI_OK; ++i) {
      std::string message;
      adapters::Epoch captured;
      const adapters::Next next = source_->next(captured, message);
      if (next != adapters::Next::kEpoch) {
        std::fprintf(stderr, "fgbi-engine send: the source %s: %s\n",
                     next == adapters::Next::kEnd ? "ended" : "failed", message.c_str());
        source_failed_ = next == adapters::Next::kError;
        break;
      }
      if (const auto paused = source_->last_pause_ns()) {
        if (i == 0)
          source_pause_first_ms_ = *paused / 1e6;
        else
          source_pause_.add(*paused);
        source_pause_each_.push_back(*paused / 1e6);
      }
      // Stop-and-copy: from here until the epoch is queued (the capture is the source's).
      uint64_t epoch = 0;
      st = fgbi_link_begin_epoch(link_, &epoch);
      if (st != FGBI_OK) break;
      st = fgbi_sender_add_pages(sender_, captured.pfns.data(), captured.pages.data(),
                                 captured.size(), nullptr);
      if (st == FGBI_OK)
        st = fgbi_link_end_epoch(link_);
      else
        fgbi_link_end_epoch(link_);
      dirty_bytes_ += captured.size() * 4096ull;
      if (st == FGBI_OK) {
        in_flight.push_back(epoch);
        lost = false;  // this epoch carries the lost epochs' pages
      }
      while (st == FGBI_OK && !in_flight.empty() && in_flight.size() >= opt_.max_unacked) {
        st = fgbi_link_wait_ack(link_, in_flight.front(), -1);
        if (st == FGBI_OK) acked(in_flight.front(), start);
        if (st == FGBI_OK) in_flight.pop_front();
      }
      if (st == FGBI_E_DISCONNECTED) {
        in_flight.clear();  // their pages travel with the next epoch
        lost = true;
        st = connect();
      }
      if (st == FGBI_OK && opt_.interval_ms)
        std::this_thread::sleep_for(std::chrono::milliseconds(opt_.interval_ms));
    }
    // The last epochs' acks. When a disconnect lost epochs that no captured
    // epoch follows, one more epoch without new pages carries their pages
    // (the link adds what the backup lacks after a resume).
    while (st == FGBI_OK) {
      for (; st == FGBI_OK && !in_flight.empty(); in_flight.pop_front()) {
        st = fgbi_link_wait_ack(link_, in_flight.front(), -1);
        if (st == FGBI_OK) acked(in_flight.front(), start);
      }
      if (st == FGBI_E_DISCONNECTED) {
        in_flight.clear();
        lost = true;
        st = connect();
        continue;
      }
      if (st != FGBI_OK || !lost) break;
      uint64_t epoch = 0;
      st = fgbi_link_begin_epoch(link_, &epoch);
      if (st == FGBI_OK) st = fgbi_link_end_epoch(link_);
      if (st == FGBI_OK) {
        in_flight.push_back(epoch);
        lost = false;
      }
    }
    end_ = Clock::now();
    if (st == FGBI_OK && !opt_.no_verify) verify();
    return finish(st, "replication stopped");
  }

 private:
  fgbi_status setup() {
    fgbi_status st = fgbi_sender_create(&sender_);
    const int64_t pages = static_cast<int64_t>(source_->tracked_pages());
    for (auto [p, v] : {std::pair{FGBI_P_TRACKED_PAGES, pages},
                        {FGBI_P_BLOCK_SIZE, opt_.block_size},
                        {FGBI_P_THREADS, opt_.threads},
                        {FGBI_P_DIGEST, int64_t{opt_.no_digest ? 0 : 1}}})
      if (st == FGBI_OK) st = fgbi_sender_set_parameter(sender_, p, v);
    if (st == FGBI_OK) st = fgbi_link_create(&link_, sender_);
    for (auto [p, v] : {std::pair{FGBI_SP_IO_TIMEOUT_MS, opt_.io_timeout_ms},
                        {FGBI_SP_HEARTBEAT_MS, opt_.heartbeat_ms},
                        {FGBI_SP_QUEUE_BYTES, opt_.queue_mib << 20},
                        {FGBI_SP_CHUNK_BYTES, opt_.chunk_kib << 10},
                        {FGBI_SP_LINK_MBPS, static_cast<int64_t>(opt_.link_gbps * 1000 + 0.5)}})
      if (st == FGBI_OK) st = fgbi_link_set_parameter(link_, p, v);
    if (st == FGBI_OK && key_) st = fgbi_link_set_key(link_, key_->data(), key_->size());
    if (st == FGBI_OK)
      st = fgbi_link_set_page_source(
          link_,
          [](void* user, uint64_t pfn) -> const void* {
            const auto* copy = static_cast<eval::ShadowCopy*>(user);
            return copy->held(pfn) ? copy->page(pfn) : FGBI_PAGE_HOLE;
          },
          source_.get());
    if (st == FGBI_OK) st = fgbi_link_set_log(link_, log_to_stderr, const_cast<char*>("send"));
    return st;
  }

  // Connects, retrying for --retry-ms while the backup is unreachable.
  fgbi_status connect() {
    const auto deadline = Clock::now() + std::chrono::milliseconds(opt_.retry_ms);
    for (;;) {
      fgbi_sync sync{};
      const fgbi_status st = fgbi_link_connect(link_, opt_.host.c_str(), opt_.port, &sync);
      if (st == FGBI_OK) return st;
      const bool transient =
          st == FGBI_E_CONNECT || st == FGBI_E_TIMEOUT || st == FGBI_E_DISCONNECTED;
      if (!transient || Clock::now() >= deadline || StopOnSignal::signal()) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  void acked(uint64_t epoch, Clock::time_point start) {
    uint64_t stop_copy = 0, latency = 0;
    fgbi_link_epoch_timing(link_, epoch, &stop_copy, &latency);
    uint64_t wire = 0;
    fgbi_link_get_stat(link_, FGBI_SS_EPOCH_BYTES, &wire);
    if (!initial_done_) {
      initial_done_ = true;
      initial_s_ = std::chrono::duration<double>(Clock::now() - start).count();
      initial_wire_ = wire;
      steady_start_ = Clock::now();
      steady_dirty_from_ = dirty_bytes_;
      return;
    }
    ++steady_epochs_;
    stop_copy_.add(stop_copy);
    latency_.add(latency);
  }

  void verify() {
    const uint64_t mine = source_->memory_digest();
    uint64_t epoch = 0, digest = 0;
    const fgbi_status st = fgbi_link_replica_digest(
        link_, std::max<int64_t>(opt_.io_timeout_ms, 10000), &epoch, &digest);
    if (st != FGBI_OK) {  // no comparison ran: that is not a replica that differs
      char text[512] = "";
      fgbi_link_last_error(link_, text, sizeof text);
      not_verified_ = std::string(fgbi_error_name(st)) + (*text ? std::string(": ") + text : "");
      return;
    }
    verified_ = true;
    replica_epoch_ = epoch;
    matches_ = digest == mine;
  }

  uint64_t stat(fgbi_session_stat s) const {
    uint64_t v = 0;
    fgbi_link_get_stat(link_, s, &v);
    return v;
  }

  int fail(const char* what, fgbi_status st) {
    std::fprintf(stderr, "fgbi-engine send: %s: %s (%s)\n", what, fgbi_error_name(st),
                 fgbi_error_message(st));
    return 1;
  }

  int finish(fgbi_status st, const char* what) {
    if (end_ == Clock::time_point{}) end_ = Clock::now();
    const int sig = StopOnSignal::signal();
    const fgbi_status closed = fgbi_link_close(link_);  // goodbye: the backup does not fail over
    report();
    if (sig) {
      std::fprintf(
          stderr, "fgbi-engine send: stopped by signal %d; %s\n", sig,
          closed == FGBI_OK ? "the backup was told (no failover)" : "the backup was not reached");
      return 128 + sig;
    }
    if (st != FGBI_OK) {
      char text[512];
      fgbi_link_last_error(link_, text, sizeof text);
      std::fprintf(stderr, "fgbi-engine send: %s: %s%s%s\n", what, fgbi_error_name(st),
                   *text ? ": " : "", text);
      return 1;
    }
    if (source_failed_) return kExitFailure;
    if (!not_verified_.empty()) {
      std::fprintf(stderr, "fgbi-engine send: the final replica check could not run: %s\n",
                   not_verified_.c_str());
      return kExitNotVerified;
    }
    if (verified_ && !matches_) {
      std::fprintf(stderr,
                   "fgbi-engine send: the replica does not match the primary after epoch %llu\n",
                   static_cast<unsigned long long>(replica_epoch_));
      return kExitFailure;
    }
    return kExitOk;
  }

  // The source, for --json: a synthetic workload's parameters, else the adapter's spec and figures.
  Json describe_source() const {
    if (model_)
      return {{"kind", "synthetic"},
              {"workload", model_->name},
              {"tracked_pages", model_->tracked_pages},
              {"dirty_pages_per_epoch", model_->dirty_pages},
              {"working_set_pages", model_->working_set_pages},
              {"seed", model_->seed}};
    const adapters::SourceStats& st = source_->source().stats();
    return {{"kind", "adapter"},
            {"spec", opt_.source},
            {"description", source_->source().description()},
            {"tracked_pages", source_->tracked_pages()},
            {"epochs", st.epochs},
            {"capture_seconds", st.capture_seconds},
            {"stopped_seconds", st.stopped_seconds}};
  }

  void report() {
    const double steady_s =
        steady_epochs_ ? std::chrono::duration<double>(end_ - steady_start_).count() : 0;
    const uint64_t wire = stat(FGBI_SS_EPOCH_BYTES);
    const uint64_t steady_wire = wire - initial_wire_;
    const double steady_dirty = static_cast<double>(dirty_bytes_ - steady_dirty_from_);
    auto per_s = [&](double v) { return steady_s > 0 ? v / steady_s : 0.0; };
    if (opt_.json) {
      Json session = Json::object();
      for (int s = FGBI_SESSION_STAT_FIRST; s <= FGBI_SESSION_STAT_LAST; ++s) {
        uint64_t v = 0;
        if (fgbi_link_get_stat(link_, static_cast<fgbi_session_stat>(s), &v) == FGBI_OK)
          session[fgbi_session_stat_name(static_cast<fgbi_session_stat>(s))] = v;
      }
      Json replica_check = {
          {"done", verified_}, {"epoch", replica_epoch_}, {"matches_primary", matches_}};
      if (!not_verified_.empty()) replica_check["not_verified"] = not_verified_;
      Json out = {
          {"tool", "fgbi-engine send"},
          {"version", fgbi_version_string()},
          {"source", describe_source()},
          {"config",
           {{"block_size", opt_.block_size},
            {"threads", opt_.threads},
            {"digest", !opt_.no_digest},
            {"authenticated", key_.has_value()},
            {"max_unacked", opt_.max_unacked},
            {"interval_ms", opt_.interval_ms},
            {"chunk_bytes", opt_.chunk_kib << 10},
            {"link_gbps", opt_.link_gbps}}},  // 0: measured
          {"initial_sync",
           {{"done", initial_done_}, {"seconds", initial_s_}, {"wire_bytes", initial_wire_}}},
          {"steady",
           {{"epochs", steady_epochs_},
            {"seconds", steady_s},
            {"epochs_per_second", per_s(steady_epochs_)},
            {"wire_bytes", steady_wire},
            {"wire_mb_per_second", per_s(steady_wire / 1e6)},
            {"dirty_mb_per_second", per_s(steady_dirty / 1e6)}}},
          {"pause_ms", stop_copy_.json()},
          {"commit_latency_ms", latency_.json()},
          {"session", session},
          {"replica_check", replica_check}};
      if (source_->last_pause_ns()) {
        // The adapter's own stop (e.g. Xen pause -> unpause) before send's
        // capture: the pause the guest really feels with such a source.
        Json pause = source_pause_.json();
        pause["first"] = source_pause_first_ms_;
        pause["each"] = source_pause_each_;  // every epoch's, the first included, in order
        out["source_pause_ms"] = pause;
      }
      write_json(out);
      return;
    }
    std::printf("fgbi-engine send %s to %s:%u: %llu tracked pages, block size %lld, %s\n",
                fgbi_version_string(), opt_.host.c_str(), opt_.port,
                static_cast<unsigned long long>(source_->tracked_pages()),
                static_cast<long long>(opt_.block_size),
                key_ ? "authenticated (HMAC-SHA256)" : "NOT authenticated");
    std::printf("initial sync  %.3f s, %.1f MiB on the wire\n", initial_s_,
                initial_wire_ / 1048576.0);
    std::printf(
        "steady state  %llu epochs in %.3f s: %.1f epochs/s, %.1f MB/s on the wire, %.1f MB/s of "
        "dirty pages\n",
        static_cast<unsigned long long>(steady_epochs_), steady_s, per_s(steady_epochs_),
        per_s(steady_wire / 1e6), per_s(steady_dirty / 1e6));
    std::printf("pause          %s\n", stop_copy_.text().c_str());
    if (source_->last_pause_ns())
      std::printf("source pause   %s (the adapter's own stop before each capture; first %.3f ms)\n",
                  source_pause_.text().c_str(), source_pause_first_ms_);
    std::printf("commit latency %s\n", latency_.text().c_str());
    if (opt_.link_gbps > 0)
      std::printf("link           %.3g Gbit/s, as given (measured: %.3g Gbit/s)\n", opt_.link_gbps,
                  stat(FGBI_SS_LINK_MBPS) / 1e3);
    else
      std::printf("link           %.3g Gbit/s, measured at the socket\n",
                  stat(FGBI_SS_LINK_MBPS) / 1e3);
    std::printf(
        "session       %llu connections (%llu resumed, %llu full), %llu lost, %llu epochs "
        "discarded\n",
        static_cast<unsigned long long>(stat(FGBI_SS_CONNECTIONS)),
        static_cast<unsigned long long>(stat(FGBI_SS_RESUMES)),
        static_cast<unsigned long long>(stat(FGBI_SS_FULL_SYNCS)),
        static_cast<unsigned long long>(stat(FGBI_SS_DISCONNECTS)),
        static_cast<unsigned long long>(stat(FGBI_SS_EPOCHS_DISCARDED)));
    if (verified_)
      std::printf("replica == primary after epoch %llu: %s\n",
                  static_cast<unsigned long long>(replica_epoch_), matches_ ? "yes" : "NO");
    else if (!not_verified_.empty())
      std::printf("replica == primary: not verified: %s\n", not_verified_.c_str());
  }

  SendOptions opt_;
  std::unique_ptr<eval::ShadowCopy> source_;
  std::optional<eval::WorkloadModel> model_;  // a synthetic source's
  std::optional<std::vector<uint8_t>> key_;
  fgbi_sender* sender_ = nullptr;
  fgbi_link* link_ = nullptr;
  bool initial_done_ = false;
  double initial_s_ = 0;
  uint64_t initial_wire_ = 0;
  Clock::time_point steady_start_, end_;
  uint64_t steady_epochs_ = 0;
  uint64_t dirty_bytes_ = 0, steady_dirty_from_ = 0;
  Distribution stop_copy_, latency_;
  Distribution source_pause_;  // the adapter's stops after the initial synchronisation
  double source_pause_first_ms_ = 0;
  std::vector<double> source_pause_each_;
  bool verified_ = false, matches_ = false, source_failed_ = false;
  std::string not_verified_;  // why the final check could not run
  uint64_t replica_epoch_ = 0;
};

}  // namespace

void add_send_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<SendOptions>();
  CLI::App* cmd = app.add_subcommand(
      "send",
      "Primary end of a replication session: replicate a dirty source (a synthetic workload of "
      "docs/workloads.md, or any dirty source with --source) to `fgbi-engine recv` over TCP. The "
      "first epoch synchronises every page; each epoch is acknowledged once the backup committed "
      "it; a lost connection is resumed from the backup's committed epoch. Prints the pause (the "
      "guest waits only "
      "while its dirty pages are captured; the epoch is encoded and sent after it resumes), the "
      "commit latency (capture to the backup's ack), "
      "throughput and a final replica == primary check. Epochs lost to a disconnect are resent "
      "after the resume, the last one included. Exit status 0 when the replica matches, 1 on "
      "a mismatch or a failure, 2 on bad arguments, 4 when the final check could not run "
      "(\"not verified\"), 130/143 after SIGINT/SIGTERM (the backup was told not to fail "
      "over).");
  cmd->add_option("--host", opt->host, "Backup host")->capture_default_str();
  cmd->add_option("--port", opt->port, "Backup port")
      ->capture_default_str()
      ->check(whole_number(1, 65535));
  cmd->add_option("--key-file", opt->key_file,
                  "Pre-shared key file (16-1024 bytes, same as the backup's): mutual "
                  "authentication and an HMAC-SHA256 on every frame")
      ->check(non_empty());
  add_source_option(cmd, opt->source, "the synthetic workload");
  cmd->add_option(
         "--workload", opt->workload,
         "Synthetic workload preset (docs/workloads.md): " +
             [] {
               std::string names;
               for (const auto& n : eval::preset_names()) names += (names.empty() ? "" : ", ") + n;
               return names;
             }())
      ->capture_default_str()
      ->check([](const std::string& name) {
        return eval::find_preset(name) ? std::string() : "unknown workload " + name;
      });
  add_workload_overrides(cmd, opt->overrides, Overrides::kSizesAndEdits);
  add_epochs_option(cmd, opt->epochs, 0, UINT32_MAX,
                    " (default: 100 of the workload; with --source, until the source ends)");
  cmd->add_option("--interval-ms", opt->interval_ms, "Pause between epochs (0: back to back)")
      ->capture_default_str()
      ->check(whole_number(0, 3600000));
  cmd->add_option("--max-unacked", opt->max_unacked,
                  "Epochs in flight before waiting for the oldest ack (1: wait for every ack)")
      ->capture_default_str()
      ->check(whole_number(1, 1024));
  cmd->add_option("--block-size", opt->block_size, "Block size in bytes: 32, 64, 128 or 256")
      ->capture_default_str()
      ->check(CLI::IsMember({32, 64, 128, 256}));
  cmd->add_option("--threads", opt->threads, "Sender threads")
      ->capture_default_str()
      ->check(whole_number(1, 256));
  cmd->add_flag("--no-digest", opt->no_digest, "Turn the end-to-end digest off");
  // Bounds as fgbi_session_param_bounds() states them.
  cmd->add_option("--io-timeout-ms", opt->io_timeout_ms, "Longest wait for the backup")
      ->capture_default_str()
      ->check(whole_number(10, 3600000));
  cmd->add_option("--heartbeat-ms", opt->heartbeat_ms, "Heartbeat interval")
      ->capture_default_str()
      ->check(whole_number(1, 600000));
  cmd->add_option("--queue-mib", opt->queue_mib, "Send queue bound in MiB")
      ->capture_default_str()
      ->check(whole_number(1, uint64_t{1} << 20));
  cmd->add_option("--chunk-kib", opt->chunk_kib, "Epoch bytes per frame in KiB (4-1024)")
      ->capture_default_str()
      ->check(whole_number(4, 1024));
  cmd->add_option("--retry-ms", opt->retry_ms, "How long to keep trying to (re)connect")
      ->capture_default_str()
      ->check(whole_number(0, 86400000));
  cmd->add_option("--link-gbps", opt->link_gbps,
                  "Link speed the encoder's cost model assumes, Gbit/s; 0 (default) measures it "
                  "at the socket while sending")
      ->check(CLI::Range(0.0, 10000.0));
  cmd->add_flag("--no-verify", opt->no_verify, "Skip the final replica digest check");
  add_output_options(cmd, opt->json);
  cmd->callback([opt, &exit_code] {
    if (std::string why =
            opt->source.empty() ? eval::validate(opt->overrides.preset(opt->workload)) : "";
        !why.empty()) {
      std::fprintf(stderr, "fgbi-engine send: invalid workload: %s\n", why.c_str());
      exit_code = kExitUsage;
      return;
    }
    Sender sender(*opt);
    exit_code = sender.run();
  });
}

}  // namespace fgbi::cli
