// `fgbi-engine trace record` and `trace info`: record any dirty source into a
// trace file (docs/trace-format.md) and describe or verify one.
#include "trace_command.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "json.hpp"
#include "option_checks.hpp"
#include "option_groups.hpp"
#include "progress.hpp"
#include "source.hpp"
#include "sources.hpp"
#include "stop_on_signal.hpp"
#include "trace/reader.hpp"
#include "trace/writer.hpp"

namespace fgbi::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace tr = adapters::trace;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
double per_second(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0; }
double mib(uint64_t bytes) { return bytes / 1048576.0; }

std::string codec_list(uint32_t codecs) {
  std::string s;
  for (auto c : {tr::Codec::kNone, tr::Codec::kLz4, tr::Codec::kZstd}) {
    if (!(codecs & (1u << static_cast<unsigned>(c)))) continue;
    if (!s.empty()) s += ",";
    s += tr::codec_name(c);
  }
  return s.empty() ? "-" : s;
}

int run_info(const std::string& path, bool verify, bool json) {
  if (std::string why = regular_file_problem(path); !why.empty()) {
    std::fprintf(stderr, "fgbi-engine trace info: %s\n", why.c_str());
    return kExitUsage;
  }
  std::string error;
  auto reader = tr::TraceReader::open(path, error);
  if (!reader) {
    std::fprintf(stderr, "fgbi-engine trace info: %s\n", error.c_str());
    return kExitFailure;
  }
  const auto& h = reader->header();
  const auto& index = reader->index();
  uint64_t total = 0, min_pages = index.empty() ? 0 : UINT64_MAX, max_pages = 0;
  for (const auto& e : index) {
    total += e.page_count;
    min_pages = std::min(min_pages, e.page_count);
    max_pages = std::max(max_pages, e.page_count);
  }
  tr::EpochFigures sum;
  double verify_s = 0;
  std::string verify_error;
  if (verify) {
    Progress progress("verify", index.size());
    const auto t0 = Clock::now();
    for (size_t i = 0; i < index.size() && verify_error.empty(); ++i) {
      adapters::Epoch epoch;
      tr::EpochFigures f;
      if (!reader->read_epoch(i, epoch, &f, verify_error)) break;
      sum.chunks += f.chunks;
      sum.stored_bytes += f.stored_bytes;
      sum.raw_bytes += f.raw_bytes;
      sum.codecs |= f.codecs;
      progress.update(i + 1);
    }
    verify_s = seconds_since(t0);
  }
  char created[32] = "?";
  const std::time_t t = static_cast<std::time_t>(h.created_unix_seconds);
  if (std::tm tm{}; gmtime_r(&t, &tm))
    std::strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S", &tm);
  const double mean = index.empty() ? 0 : static_cast<double>(total) / index.size();

  if (json) {
    Json j = Json::object();
    j["tool"] = "fgbi-engine trace info";
    j["path"] = path;
    j["format_version"] = tr::kVersion;
    j["page_size"] = h.page_size;
    j["tracked_pages"] = h.tracked_pages;
    j["created_utc"] = created;
    j["description"] = reader->description();
    j["epochs"] = index.size();
    j["dirty_pages"] = total;
    j["dirty_pages_min"] = min_pages;
    j["dirty_pages_mean"] = mean;
    j["dirty_pages_max"] = max_pages;
    j["file_bytes"] = reader->file_bytes();
    if (verify) {
      Json checked = Json::object();
      checked["ok"] = verify_error.empty();
      if (!verify_error.empty()) checked["error"] = verify_error;
      checked["chunks"] = sum.chunks;
      checked["stored_bytes"] = sum.stored_bytes;
      checked["raw_bytes"] = sum.raw_bytes;
      checked["codecs"] = codec_list(sum.codecs);
      checked["seconds"] = verify_s;
      checked["raw_mb_per_s"] = per_second(sum.raw_bytes / 1e6, verify_s);
      j["verify"] = std::move(checked);
    }
    write_json(j);
  } else {
    std::printf("trace %s: format v%u, %llu tracked pages of %u bytes (%.1f MiB), created %s UTC\n",
                path.c_str(), unsigned{tr::kVersion},
                static_cast<unsigned long long>(h.tracked_pages), h.page_size,
                mib(h.tracked_pages * h.page_size), created);
    std::printf("recorded from: %s\n",
                reader->description().empty() ? "-" : reader->description().c_str());
    std::printf(
        "epochs: %zu; dirty pages per epoch min %llu, mean %.1f, max %llu; total %llu "
        "(%.1f MiB)\n",
        index.size(), static_cast<unsigned long long>(min_pages), mean,
        static_cast<unsigned long long>(max_pages), static_cast<unsigned long long>(total),
        mib(total * h.page_size));
    std::printf("file: %.1f MiB\n", mib(reader->file_bytes()));
    if (verify && verify_error.empty())
      std::printf(
          "verified: every epoch's checksums, pfns and sizes; %llu chunks (%s), %.1f MiB "
          "stored for %.1f MiB of pfns and pages (%.2fx), read at %.0f MB/s\n",
          static_cast<unsigned long long>(sum.chunks), codec_list(sum.codecs).c_str(),
          mib(sum.stored_bytes), mib(sum.raw_bytes),
          sum.stored_bytes ? static_cast<double>(sum.raw_bytes) / sum.stored_bytes : 0.0,
          per_second(sum.raw_bytes / 1e6, verify_s));
  }
  if (!verify_error.empty()) {
    std::fprintf(stderr, "fgbi-engine trace info: %s: %s\n", path.c_str(), verify_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int record_trace(const RecordOptions& opt) {
  const std::string who = "fgbi-engine " + opt.tool;
  std::string error;
  auto source = eval::open_source(opt.source, error).source;
  if (!source) {  // the spec names nothing that can be read: an argument error
    std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
    return kExitUsage;
  }
  const auto codec = tr::parse_codec(opt.codec);
  auto writer = tr::TraceWriter::create(opt.output, source->tracked_pages(), source->description(),
                                        {*codec, opt.level}, error);
  if (!writer) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
    return 1;
  }
  if (!opt.json) std::fprintf(stderr, "%s: %s\n", who.c_str(), source->description().c_str());

  // SIGINT and SIGTERM end a recording after the current epoch, so that the
  // trace is finished (index and footer) and usable.
  StopOnSignal stop;
  Progress progress(opt.tool, opt.expected_epochs);
  adapters::Epoch epoch;
  std::string reason;
  bool failed = false;
  double write_s = 0;
  const auto t0 = Clock::now();
  while (true) {
    if (StopOnSignal::signal() != 0) {
      reason = "interrupted";
      break;
    }
    const adapters::Next next = source->next(epoch, reason);
    if (next == adapters::Next::kEnd) break;
    if (next == adapters::Next::kError) {
      failed = true;
      break;
    }
    const auto tw = Clock::now();
    if (!writer->append(epoch.pfns, epoch.pages, error)) {
      reason = error;
      failed = true;
      break;
    }
    write_s += seconds_since(tw);
    progress.update(writer->epochs());
  }
  progress.done();
  const double wall_s = seconds_since(t0);
  if (!writer->finish(error)) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
    return 1;
  }

  const adapters::SourceStats& st = source->stats();
  const uint64_t dirty_bytes = writer->pages() * adapters::kPageSize;
  const uint64_t epochs = writer->epochs();
  if (opt.json) {
    Json j = Json::object();
    j["tool"] = who;
    j["source"] = opt.source;
    j["description"] = source->description();
    j["output"] = opt.output;
    j["codec"] = opt.codec;
    j["level"] = opt.level;
    j["tracked_pages"] = source->tracked_pages();
    j["epochs"] = epochs;
    j["dirty_pages"] = writer->pages();
    j["dirty_bytes"] = dirty_bytes;
    j["trace_bytes"] = writer->file_bytes();
    j["bytes_read"] = st.bytes_read;
    j["capture_seconds"] = st.capture_seconds;
    j["capture_mb_per_s"] = per_second(st.bytes_read / 1e6, st.capture_seconds);
    j["capture_epochs_per_s"] = per_second(static_cast<double>(st.epochs), st.capture_seconds);
    j["stopped_seconds"] = st.stopped_seconds;
    j["stopped_ms_per_epoch"] = epochs ? st.stopped_seconds * 1e3 / epochs : 0.0;
    j["write_seconds"] = write_s;
    j["write_mb_per_s"] = per_second(dirty_bytes / 1e6, write_s);
    j["wall_seconds"] = wall_s;
    j["wall_epochs_per_s"] = per_second(static_cast<double>(epochs), wall_s);
    j["end_reason"] = reason;
    j["ok"] = !failed;
    write_json(j);
  } else {
    const std::string codec =
        opt.codec == "zstd" ? opt.codec + " level " + std::to_string(opt.level) : opt.codec;
    std::printf(
        "recorded %llu epochs, %llu dirty pages (%.1f MiB) into %s: %.1f MiB (%s, %.2fx "
        "smaller)\n",
        static_cast<unsigned long long>(epochs), static_cast<unsigned long long>(writer->pages()),
        mib(dirty_bytes), opt.output.c_str(), mib(writer->file_bytes()), codec.c_str(),
        writer->file_bytes() ? static_cast<double>(dirty_bytes) / writer->file_bytes() : 0.0);
    std::printf(
        "capture: %.3f s in the source, %.1f MB read at %.0f MB/s, %.1f epochs/s; "
        "stopped %.2f ms per epoch\n",
        st.capture_seconds, st.bytes_read / 1e6,
        per_second(st.bytes_read / 1e6, st.capture_seconds),
        per_second(static_cast<double>(st.epochs), st.capture_seconds),
        epochs ? st.stopped_seconds * 1e3 / epochs : 0.0);
    std::printf("writing: %.3f s, %.0f MB/s of dirty pages; wall %.3f s (%.1f epochs/s)\n", write_s,
                per_second(dirty_bytes / 1e6, write_s), wall_s,
                per_second(static_cast<double>(epochs), wall_s));
    std::printf("ended: %s\n", reason.c_str());
  }
  if (failed) {
    std::fprintf(stderr, "%s: %s (the %llu epochs before are in %s)\n", who.c_str(), reason.c_str(),
                 static_cast<unsigned long long>(epochs), opt.output.c_str());
    return 1;
  }
  return 0;
}

void add_trace_command(CLI::App& app, int& exit_code) {
  CLI::App* trace = app.add_subcommand(
      "trace",
      "Record dirty-page epochs into a trace file, or describe one (docs/trace-format.md).");
  trace->require_subcommand(1);

  auto rec = std::make_shared<RecordOptions>();
  rec->tool = "trace record";
  CLI::App* record = trace->add_subcommand(
      "record",
      "Record the epochs of a dirty source into a trace: pfns and page contents, compressed per "
      "chunk. Sources: trace:FILE, images:GLOB-or-LIST, pid:N, xen:DOMID, synthetic:NAME, each "
      "with options such as ,epochs=K and ,interval=MS (docs/adapters.md, docs/workloads.md). "
      "Ctrl-C stops after the current "
      "epoch and still finishes the trace.");
  record->add_option("--source", rec->source, "Dirty source spec, e.g. images:dump-*.raw")
      ->required()
      ->check(non_empty());
  record->add_option("-o,--output", rec->output, "Trace file to write")
      ->required()
      ->check(non_empty());
  record->add_option("--codec", rec->codec, "Chunk compression: zstd, lz4 or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  record->add_option("--level", rec->level, "zstd level")
      ->capture_default_str()
      ->check(whole_number(1, 19));
  add_output_options(record, rec->json);
  record->callback([rec, &exit_code] { exit_code = record_trace(*rec); });

  struct InfoOptions {
    std::string path;
    bool verify = false, json = false;
  };
  auto inf = std::make_shared<InfoOptions>();
  CLI::App* info = trace->add_subcommand(
      "info",
      "Describe a trace: geometry, source, epochs and dirty pages; --verify also reads "
      "every epoch and checks its checksums.");
  info->add_option("file", inf->path, "Trace file")->required();
  info->add_flag("--verify", inf->verify, "Read and check every epoch");
  add_output_options(info, inf->json);
  info->callback([inf, &exit_code] { exit_code = run_info(inf->path, inf->verify, inf->json); });
}

}  // namespace fgbi::cli
