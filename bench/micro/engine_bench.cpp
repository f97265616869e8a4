// End-to-end encode of steady-state epochs: fgbi's sender (plain and with
// sharing and codecs) against the XBZRLE-format encoder on the same pages,
// one core. Each benchmark synchronises the memory first (untimed), then
// times only the encoding of each epoch; the workload mutates memory
// between epochs with timing paused.
//
// decode/*: the receiver's validate-and-apply of each epoch, from a sender
// in each configuration of encode/*, against a memcpy of the bytes it
// writes into the replica (its FGBI_S_BYTES_OUT).
//
// pause/*: what the guest waits per epoch - fgbi's capture (begin_epoch and
// add_pages: hash, compare, copy the changed blocks) against Remus's copy of
// the dirty pages (memcpy), on the same pages just written by the workload.
//
//   fgbi_engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// handoff/GAP_us: the thread pool's hand-off, a loop of two trivial items on
// two threads that comes GAP_us after the last one (within the workers'
// spin, or after they went to sleep): what each multi-threaded loop of an
// epoch costs beyond its work.
//
// Counters: bytes_per_second (dirty input), wire_ratio (wire / dirty bytes).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "common/thread_pool.hpp"
#include "fgbi.h"
#include "peer_codec.hpp"
#include "workload.hpp"

namespace {

using fgbi::eval::SyntheticWorkload;
using fgbi::eval::WorkloadModel;

// The target workloads over 256 MiB: sparse (<= 2 changed blocks a
// dirty page) and dense (about 25 % of the bytes changed), plus web.
WorkloadModel model(const std::string& name) {
  WorkloadModel m = *fgbi::eval::find_preset(name);
  m.tracked_pages = 65536;
  m.working_set_pages = 65536;
  m.dirty_pages = 16384;  // 64 MiB an epoch
  return m;
}

constexpr int64_t kCacheBytes = int64_t{512} << 20;  // holds the working set, for both

struct Sender {
  fgbi_sender* s = nullptr;
  Sender(uint64_t pages, int64_t sharing, int64_t codecs, int64_t threads = 1) {
    fgbi_sender_create(&s);
    fgbi_sender_set_parameter(s, FGBI_P_THREADS, threads);
    fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(pages));
    fgbi_sender_set_parameter(s, FGBI_P_SHARING, sharing);
    fgbi_sender_set_parameter(s, FGBI_P_CODECS, codecs);
    fgbi_sender_set_parameter(s, FGBI_P_CACHE_BYTES, kCacheBytes);
  }
  ~Sender() { fgbi_sender_free(s); }
  size_t epoch(const std::vector<uint64_t>& pfns, const SyntheticWorkload& w,
               std::vector<uint8_t>& out) {
    std::vector<const void*> pages(pfns.size());
    for (size_t i = 0; i < pfns.size(); ++i) pages[i] = w.page(pfns[i]);
    out.resize(fgbi_sender_epoch_bound(s, pfns.size()));
    size_t written = 0;
    fgbi_sender_begin_epoch(s, nullptr);
    fgbi_sender_add_pages(s, pfns.data(), pages.data(), pfns.size(), nullptr);
    if (fgbi_sender_end_epoch(s, out.data(), out.size(), &written) != FGBI_OK) std::abort();
    return written;
  }
};

void run_fgbi(benchmark::State& state, const std::string& workload, int64_t sharing, int64_t codecs,
              int64_t threads = 1) {
  SyntheticWorkload w(model(workload));
  Sender sender(w.model().tracked_pages, sharing, codecs, threads);
  std::vector<uint64_t> all(w.model().tracked_pages);
  for (uint64_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<uint8_t> out;
  sender.epoch(all, w, out);
  // Warm the page cache: every page of the working set sent twice.
  sender.epoch(all, w, out);
  uint64_t dirty = 0, wire = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto& pfns = w.next_epoch();
    state.ResumeTiming();
    wire += sender.epoch(pfns, w, out);
    dirty += pfns.size() * SyntheticWorkload::kPageSize;
  }
  state.SetBytesProcessed(static_cast<int64_t>(dirty));
  state.counters["wire_ratio"] = static_cast<double>(wire) / static_cast<double>(dirty);
  for (auto [name, stat] : {std::pair{"xor_pages", FGBI_S_CHOSEN_XOR},
                            {"cache_misses", FGBI_S_CACHE_MISSES},
                            {"coded_pages", FGBI_S_PAGES_CODED}}) {
    uint64_t v = 0;
    fgbi_sender_get_stat(sender.s, stat, &v);
    state.counters[name] = static_cast<double>(v);
  }
}

void run_xbzrle(benchmark::State& state, const std::string& workload) {
  SyntheticWorkload w(model(workload));
  fgbi::peers::PeerOptions options;
  options.tracked_pages = w.model().tracked_pages;
  options.xbzrle_cache_bytes = kCacheBytes;
  fgbi::peers::Peer peer = fgbi::peers::make_peer(fgbi::peers::PeerKind::kXbzrle, options);
  std::vector<fgbi::peers::DirtyPage> pages;
  std::vector<uint8_t> out;
  auto epoch = [&](const std::vector<uint64_t>& pfns) {
    pages.resize(pfns.size());
    for (size_t i = 0; i < pfns.size(); ++i) pages[i] = {pfns[i], w.page(pfns[i])};
    out.resize(peer.encoder->epoch_bound(pages.size()));
    size_t written = 0;
    if (!peer.encoder->encode_epoch(pages, out, &written).ok()) std::abort();
    return written;
  };
  std::vector<uint64_t> all(w.model().tracked_pages);
  for (uint64_t i = 0; i < all.size(); ++i) all[i] = i;
  epoch(all);
  epoch(all);
  uint64_t dirty = 0, wire = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto& pfns = w.next_epoch();
    state.ResumeTiming();
    wire += epoch(pfns);
    dirty += pfns.size() * SyntheticWorkload::kPageSize;
  }
  state.SetBytesProcessed(static_cast<int64_t>(dirty));
  state.counters["wire_ratio"] = static_cast<double>(wire) / static_cast<double>(dirty);
}

constexpr int64_t kAllSharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
constexpr int64_t kAllCodecs = FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;

// fgbi configurations: name, sharing, codecs, threads.
struct FgbiVariant {
  const char* name;
  int64_t sharing, codecs, threads;
};
constexpr FgbiVariant kVariants[] = {
    {"fgbi-plain", 0, 0, 1},
    {"fgbi-xor", 0, FGBI_CODEC_XOR, 1},
    {"fgbi-sharing-xor", kAllSharing, FGBI_CODEC_XOR, 1},
    {"fgbi-codecs", 0, kAllCodecs, 1},
    {"fgbi", kAllSharing, kAllCodecs, 1},
    // Thread scaling (issue 4: 2 threads >= 1.7x one), on wall time.
    {"fgbi-threads2", kAllSharing, kAllCodecs, 2},
};

// The guest's pause: Remus copies the dirty pages; fgbi captures them. The
// epoch is encoded untimed after each capture.
void run_pause(benchmark::State& state, const WorkloadModel& m, bool fgbi, int64_t threads) {
  SyntheticWorkload w(m);
  Sender sender(w.model().tracked_pages, kAllSharing, kAllCodecs, threads);
  std::vector<uint64_t> all(w.model().tracked_pages);
  for (uint64_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<uint8_t> out, copy;
  sender.epoch(all, w, out);
  sender.epoch(all, w, out);
  std::vector<const void*> pages;
  uint64_t dirty = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto& pfns = w.next_epoch();
    pages.resize(pfns.size());
    for (size_t i = 0; i < pfns.size(); ++i) pages[i] = w.page(pfns[i]);
    copy.resize(pfns.size() * SyntheticWorkload::kPageSize);
    state.ResumeTiming();
    if (fgbi) {
      fgbi_sender_begin_epoch(sender.s, nullptr);
      if (fgbi_sender_add_pages(sender.s, pfns.data(), pages.data(), pfns.size(), nullptr) !=
          FGBI_OK)
        std::abort();
    } else {
      for (size_t i = 0; i < pfns.size(); ++i)
        std::memcpy(copy.data() + i * SyntheticWorkload::kPageSize, pages[i],
                    SyntheticWorkload::kPageSize);
      benchmark::DoNotOptimize(copy.data());
    }
    state.PauseTiming();
    if (fgbi) {
      out.resize(fgbi_sender_epoch_bound(sender.s, pfns.size()));
      size_t written = 0;
      if (fgbi_sender_end_epoch(sender.s, out.data(), out.size(), &written) != FGBI_OK)
        std::abort();
    }
    state.ResumeTiming();
    dirty += pfns.size() * SyntheticWorkload::kPageSize;
  }
  state.SetBytesProcessed(static_cast<int64_t>(dirty));
}

// The backup's side: fgbi's receiver on each epoch (fed in 64 KiB pieces,
// as a socket delivers it) from a sender configured as `v`, against memcpy
// of the bytes it writes. The per-page cost of a form (an XOR page against
// a plain record) is the difference of two variants' times.
void run_decode(benchmark::State& state, const WorkloadModel& m, const FgbiVariant* v) {
  const bool fgbi = v != nullptr;
  SyntheticWorkload w(m);
  const uint64_t pages = w.model().tracked_pages;
  Sender sender(pages, fgbi ? v->sharing : kAllSharing, fgbi ? v->codecs : kAllCodecs);
  fgbi_receiver* r = nullptr;
  fgbi_receiver_create(&r);
  fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(pages));
  fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, int64_t{1} << 32);
  std::vector<uint8_t> replica(pages * SyntheticWorkload::kPageSize);
  fgbi_receiver_attach_memory(r, replica.data(), replica.size());
  std::vector<uint64_t> all(pages);
  for (uint64_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<uint8_t> out, from(size_t{64} << 20), to(size_t{64} << 20);
  auto feed = [&](size_t size) {
    for (size_t at = 0; at < size; at += 65536)
      if (fgbi_receiver_feed(r, out.data() + at, std::min<size_t>(65536, size - at)) != FGBI_OK)
        std::abort();
  };
  feed(sender.epoch(all, w, out));
  feed(sender.epoch(all, w, out));
  uint64_t written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const size_t size = sender.epoch(w.next_epoch(), w, out);
    uint64_t before = 0, after = 0;
    fgbi_receiver_get_stat(r, FGBI_S_BYTES_OUT, &before);
    if (!fgbi) {  // the bytes the receiver writes for this epoch, found untimed
      feed(size);
      fgbi_receiver_get_stat(r, FGBI_S_BYTES_OUT, &after);
      state.ResumeTiming();
      std::memcpy(to.data(), from.data(), std::min<uint64_t>(after - before, from.size()));
      benchmark::DoNotOptimize(to.data());
    } else {
      state.ResumeTiming();
      feed(size);
      state.PauseTiming();
      fgbi_receiver_get_stat(r, FGBI_S_BYTES_OUT, &after);
      state.ResumeTiming();
    }
    written += after - before;
  }
  state.SetBytesProcessed(static_cast<int64_t>(written));
  uint64_t xor_pages = 0;
  fgbi_sender_get_stat(sender.s, FGBI_S_CHOSEN_XOR, &xor_pages);
  state.counters["xor_pages"] = static_cast<double>(xor_pages);
  fgbi_receiver_free(r);
}

void run_handoff(benchmark::State& state, int gap_us) {
  fgbi::ThreadPool pool(2);
  std::atomic<size_t> sink = 0;
  for (auto _ : state) {
    // The gap is spent awake, as the caller of an epoch's next loop is.
    const auto resume = std::chrono::steady_clock::now() + std::chrono::microseconds(gap_us);
    while (std::chrono::steady_clock::now() < resume) {
    }
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(2, [&](size_t item, unsigned) { sink += item; });
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

void register_all() {
  for (const char* workload : {"web", "hpc", "db", "sparse", "dense"}) {
    const WorkloadModel m = *fgbi::eval::find_preset(workload);
    benchmark::RegisterBenchmark(("decode/memcpy/" + std::string(workload)).c_str(),
                                 [m](benchmark::State& s) { run_decode(s, m, nullptr); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    for (const FgbiVariant& v : kVariants) {
      if (v.threads != 1) continue;
      benchmark::RegisterBenchmark(("decode/" + std::string(v.name) + "/" + workload).c_str(),
                                   [m, &v](benchmark::State& s) { run_decode(s, m, &v); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  // The pause on the presets as they are (a few hundred dirty pages an
  // epoch, as the paper's workloads at 50 ms) and on 64 MiB epochs.
  for (const char* workload : {"web", "hpc", "db", "sparse"}) {
    for (const bool large : {false, true}) {
      WorkloadModel m = large ? model(workload) : *fgbi::eval::find_preset(workload);
      const std::string tail = std::string(workload) + (large ? "/64MiB" : "");
      for (auto [name, fgbi, threads] : {std::tuple{"remus-copy", false, int64_t{1}},
                                         {"fgbi", true, int64_t{1}},
                                         {"fgbi-threads2", true, int64_t{2}}})
        benchmark::RegisterBenchmark(
            ("pause/" + std::string(name) + "/" + tail).c_str(),
            [m, fgbi, threads](benchmark::State& s) { run_pause(s, m, fgbi, threads); })
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
  }
  for (const int gap_us : {0, 50, 1000}) {
    benchmark::RegisterBenchmark(("handoff/" + std::to_string(gap_us) + "us").c_str(),
                                 [gap_us](benchmark::State& s) { run_handoff(s, gap_us); })
        ->Unit(benchmark::kMicrosecond)
        ->UseManualTime();
  }
  for (const char* workload : {"sparse", "dense", "web"}) {
    const std::string w = workload;
    benchmark::RegisterBenchmark(("encode/xbzrle/" + w).c_str(),
                                 [w](benchmark::State& s) { run_xbzrle(s, w); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    for (const FgbiVariant& v : kVariants) {
      benchmark::RegisterBenchmark(
          ("encode/" + std::string(v.name) + "/" + w).c_str(),
          [w, v](benchmark::State& s) { run_fgbi(s, w, v.sharing, v.codecs, v.threads); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
