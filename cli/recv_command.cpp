// `fgbi-engine recv`: the backup end of a replication session. Keeps a
// replica file (plus FILE.meta and FILE.journal) for `fgbi-engine send`,
// acknowledges committed epochs, and declares failover when the primary
// falls silent, leaving the replica at its last committed epoch.
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "json.hpp"
#include "option_checks.hpp"
#include "option_groups.hpp"
#include "replication_commands.hpp"

namespace fgbi::cli {
namespace {

struct RecvOptions {
  std::string replica;
  std::optional<uint64_t> pages;      // absent: from FILE.meta
  std::optional<int64_t> block_size;  // absent: from FILE.meta, else 64
  int64_t threads = 1;
  int64_t max_epoch_mib = 1024;
  bool no_digest = false;
  std::string bind;
  uint16_t port = 7400;
  std::string key_file;
  bool listen_any = false;
  int64_t failover_ms = 3000;
  int64_t heartbeat_ms = 100;
  int64_t io_timeout_ms = 2000;
  bool sync = false;
  bool json = false;
};

// A value from FILE.meta ("key value" lines, docs/replication-protocol.md).
std::optional<uint64_t> metadata_value(const std::string& replica, const std::string& key) {
  std::ifstream in(replica + ".meta");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) == 0) {
      try {
        return std::stoull(line.substr(key.size() + 1));
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

// FILE.meta's "replica_digest xxh3-64:HEX" line.
bool metadata_digest(const std::string& replica, uint64_t* digest) {
  std::ifstream in(replica + ".meta");
  std::string line;
  const std::string key = "replica_digest xxh3-64:";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    try {
      size_t used = 0;
      const std::string hex = line.substr(key.size());
      *digest = std::stoull(hex, &used, 16);
      return used == hex.size() && used == 16;
    } catch (...) {
      return false;
    }
  }
  return false;
}

fgbi_backup* g_backup = nullptr;  // for the signal handler
void stop_backup() { fgbi_backup_stop(g_backup); }

class Receiver {
 public:
  explicit Receiver(const RecvOptions& opt) : opt_(opt) {}
  ~Receiver() {
    g_backup = nullptr;
    fgbi_backup_free(backup_);
    fgbi_receiver_free(receiver_);
  }

  int run() {
    if (!opt_.pages) {
      opt_.pages = metadata_value(opt_.replica, "tracked_pages");
      if (!opt_.pages) {
        std::fprintf(stderr,
                     "fgbi-engine recv: give --pages (the primary's tracked pages): %s.meta does "
                     "not say\n",
                     opt_.replica.c_str());
        return kExitUsage;
      }
      if (!opt_.block_size) opt_.block_size = metadata_value(opt_.replica, "block_size");
    }
    if (!opt_.key_file.empty()) {
      key_ = load_key("recv", opt_.key_file);
      if (!key_) return kExitUsage;
    }
    fgbi_status st = fgbi_receiver_create(&receiver_);
    for (auto [p, v] : {std::pair{FGBI_P_TRACKED_PAGES, static_cast<int64_t>(*opt_.pages)},
                        {FGBI_P_BLOCK_SIZE, opt_.block_size.value_or(64)},
                        {FGBI_P_THREADS, opt_.threads},
                        {FGBI_P_MAX_EPOCH_BYTES, opt_.max_epoch_mib << 20},
                        {FGBI_P_DIGEST, int64_t{opt_.no_digest ? 0 : 1}}})
      if (st == FGBI_OK) st = fgbi_receiver_set_parameter(receiver_, p, v);
    if (st == FGBI_OK) st = fgbi_backup_create(&backup_, receiver_);
    if (st == FGBI_OK) st = fgbi_backup_set_log(backup_, log_to_stderr, const_cast<char*>("recv"));
    for (auto [p, v] : {std::pair{FGBI_SP_FAILOVER_MS, opt_.failover_ms},
                        {FGBI_SP_HEARTBEAT_MS, opt_.heartbeat_ms},
                        {FGBI_SP_IO_TIMEOUT_MS, opt_.io_timeout_ms},
                        {FGBI_SP_LISTEN_ANY, int64_t{opt_.listen_any ? 1 : 0}},
                        {FGBI_SP_SYNC, int64_t{opt_.sync ? 1 : 0}}})
      if (st == FGBI_OK) st = fgbi_backup_set_parameter(backup_, p, v);
    if (st == FGBI_OK && key_) st = fgbi_backup_set_key(backup_, key_->data(), key_->size());
    if (st != FGBI_OK) return fail("setup", st);
    if (st = fgbi_backup_open_replica(backup_, opt_.replica.c_str()); st != FGBI_OK)
      return fail("cannot open the replica", st);
    if (!key_ && opt_.bind.empty() && !opt_.listen_any)
      std::fprintf(stderr,
                   "fgbi-engine recv: no --key-file: listening on loopback only; use --key-file "
                   "(or --listen-any, unauthenticated) to accept primaries on other hosts\n");
    const char* host =
        opt_.bind.empty() ? (opt_.listen_any ? "0.0.0.0" : nullptr) : opt_.bind.c_str();
    if (st = fgbi_backup_listen(backup_, host, opt_.port); st != FGBI_OK)
      return fail("cannot listen", st);
    g_backup = backup_;
    StopOnSignal on_signal(stop_backup);
    fgbi_backup_outcome outcome{};
    st = fgbi_backup_run(backup_, &outcome);
    if (st != FGBI_OK) return fail("stopped serving", st);
    report(outcome);
    return outcome == FGBI_BACKUP_FAILOVER ? kExitFailover : kExitOk;
  }

 private:
  int fail(const char* what, fgbi_status st) {
    char text[512] = "";
    if (backup_) fgbi_backup_last_error(backup_, text, sizeof text);
    std::fprintf(stderr, "fgbi-engine recv: %s: %s (%s)%s%s\n", what, fgbi_error_name(st),
                 fgbi_error_message(st), *text ? ": " : "", text);
    return 1;
  }

  uint64_t stat(fgbi_session_stat s) const {
    uint64_t v = 0;
    fgbi_backup_get_stat(backup_, s, &v);
    return v;
  }

  void report(fgbi_backup_outcome outcome) {
    // The backup wrote the replica's digest into FILE.meta as it stopped
    // (skipping the file's holes); hashing the whole mapping again would
    // fault in every page of a sparse replica (a PVH guest's spans 4 GiB).
    uint64_t digest = 0;
    if (!metadata_digest(opt_.replica, &digest)) {
      const void* memory = nullptr;
      size_t size = 0;
      fgbi_receiver_replica(receiver_, &memory, &size);
      digest = fgbi_memory_digest(memory, size);
    }
    const bool failover = outcome == FGBI_BACKUP_FAILOVER;
    if (opt_.json) {
      Json j = Json::object();
      j["tool"] = "fgbi-engine recv";
      j["version"] = fgbi_version_string();
      j["outcome"] = failover ? "failover" : "stopped";
      j["replica"] = opt_.replica;
      j["metadata"] = opt_.replica + ".meta";
      j["committed_epoch"] = stat(FGBI_SS_COMMITTED_EPOCH);
      char hex[32];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
      j["replica_digest_xxh3_64"] = hex;
      Json session = Json::object();
      for (int s = FGBI_SESSION_STAT_FIRST; s <= FGBI_SESSION_STAT_LAST; ++s) {
        uint64_t v = 0;
        if (fgbi_backup_get_stat(backup_, static_cast<fgbi_session_stat>(s), &v) == FGBI_OK)
          session[fgbi_session_stat_name(static_cast<fgbi_session_stat>(s))] = v;
      }
      j["session"] = std::move(session);
      write_json(j);
      return;
    }
    std::printf("%s: replica %s holds epoch %llu (xxh3-64 %016llx); metadata in %s.meta\n",
                failover ? "FAILOVER" : "stopped", opt_.replica.c_str(),
                static_cast<unsigned long long>(stat(FGBI_SS_COMMITTED_EPOCH)),
                static_cast<unsigned long long>(digest), opt_.replica.c_str());
    std::printf(
        "%llu epochs committed, %.1f MiB received, %llu sessions (%llu resumed, %llu full), "
        "%llu epochs discarded, %llu peers refused\n",
        static_cast<unsigned long long>(stat(FGBI_SS_EPOCHS)),
        stat(FGBI_SS_SOCKET_BYTES) / 1048576.0,
        static_cast<unsigned long long>(stat(FGBI_SS_CONNECTIONS)),
        static_cast<unsigned long long>(stat(FGBI_SS_RESUMES)),
        static_cast<unsigned long long>(stat(FGBI_SS_FULL_SYNCS)),
        static_cast<unsigned long long>(stat(FGBI_SS_EPOCHS_DISCARDED)),
        static_cast<unsigned long long>(stat(FGBI_SS_PEERS_REJECTED)));
  }

  RecvOptions opt_;
  std::optional<std::vector<uint8_t>> key_;
  fgbi_receiver* receiver_ = nullptr;
  fgbi_backup* backup_ = nullptr;
};

}  // namespace

void add_recv_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<RecvOptions>();
  CLI::App* cmd = app.add_subcommand(
      "recv",
      "Backup end of a replication session: keep the replica of `fgbi-engine send`'s memory in "
      "FILE (with FILE.meta and FILE.journal), acknowledge each committed epoch, and when the "
      "primary stays silent for --failover-ms declare failover: the replica is left at its last "
      "committed epoch with its digest in FILE.meta. Exit status 3 after failover, 0 after "
      "SIGINT/SIGTERM, 1 on errors (e.g. the replica's disk failed: it stops rather than "
      "accept epochs it cannot keep), 2 on bad arguments. Without --key-file it listens on "
      "loopback only.");
  cmd->add_option("--replica", opt->replica, "Replica memory file (created if missing)")
      ->required()
      ->check(non_empty());
  cmd->add_option("--pages", opt->pages,
                  "Tracked memory in 4 KiB pages, as the primary's (default: from FILE.meta)")
      ->check(whole_number(1, uint64_t{1} << 32));
  cmd->add_option("--block-size", opt->block_size,
                  "Block size, as the primary's (default: from FILE.meta, else 64)")
      ->check(CLI::IsMember({32, 64, 128, 256}));
  cmd->add_option("--threads", opt->threads, "Receiver threads")
      ->capture_default_str()
      ->check(whole_number(1, 256));
  cmd->add_option("--max-epoch-mib", opt->max_epoch_mib,
                  "Largest epoch accepted, MiB, on the wire and decoded; a full synchronisation "
                  "carries every page of the primary that is not a hole")
      ->capture_default_str()
      ->check(whole_number(1, int64_t{1} << 20));
  cmd->add_flag("--no-digest", opt->no_digest, "Do not require the end-to-end digest");
  cmd->add_option("--bind", opt->bind,
                  "Address to listen on (default: 127.0.0.1 without a key, all with one)");
  cmd->add_option("--port", opt->port, "Port to listen on (0: any free port, logged)")
      ->capture_default_str()
      ->check(whole_number(0, 65535));
  cmd->add_option("--key-file", opt->key_file,
                  "Pre-shared key file (16-1024 bytes, same as the primary's)")
      ->check(non_empty());
  cmd->add_flag("--listen-any", opt->listen_any,
                "Without a key, accept primaries from any host anyway (unauthenticated)");
  // Bounds as fgbi_session_param_bounds() states them.
  cmd->add_option("--failover-ms", opt->failover_ms, "Primary silence that declares failover")
      ->capture_default_str()
      ->check(whole_number(10, 86400000));
  cmd->add_option("--heartbeat-ms", opt->heartbeat_ms, "Heartbeat interval")
      ->capture_default_str()
      ->check(whole_number(1, 600000));
  cmd->add_option("--io-timeout-ms", opt->io_timeout_ms, "Longest wait for the primary")
      ->capture_default_str()
      ->check(whole_number(10, 3600000));
  cmd->add_flag("--sync", opt->sync,
                "fsync journal, replica and metadata at every commit (survives power loss)");
  add_output_options(cmd, opt->json);
  cmd->callback([opt, &exit_code] {
    Receiver receiver(*opt);
    exit_code = receiver.run();
  });
}

}  // namespace fgbi::cli
