// Encode and decode speed of each peer codec on 256 MiB of dirty pages per
// epoch, at two edit densities:
//   one_block     one 64-byte block of every page rewritten (1 of 64 blocks)
//   quarter_bytes a 16-byte run rewritten in every 64-byte block (25% of bytes)
// Each iteration is one epoch over all 65536 pages; iterations alternate
// between the base and the edited memory, so every epoch changes every page
// at the given density. The caches hold all 65536 pages: this measures the
// delta path, as DESIGN.md section 7's reference figures do.
//
// Counters: GB/s = page bytes in (encode) or applied (decode) per second,
// 10^9 bytes; ratio = page bytes / wire bytes. The *_kernel benchmarks time
// XBZRLE's page encoder alone with each page-diff variant this CPU runs.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "page_diff.hpp"
#include "peer_codec.hpp"
#include "workload.hpp"
#include "xbzrle.hpp"

namespace fgbi::peers {
namespace {

constexpr uint64_t kPages = 65536;  // 256 MiB
constexpr size_t kPage = kPeerPageSize;

enum class Density { kOneBlock, kQuarterBytes };
const char* density_name(Density d) {
  return d == Density::kOneBlock ? "one_block" : "quarter_bytes";
}

// Page-aligned memory, as guest memory is (a std::vector's large buffer is
// not even 64-byte aligned, which splits every vector load in two).
class Memory {
 public:
  explicit Memory(size_t bytes)
      : bytes_(bytes), data_(static_cast<uint8_t*>(std::aligned_alloc(kPage, bytes))) {
    if (!data_) throw std::bad_alloc();
  }
  Memory(const Memory& other) : Memory(other.bytes_) { std::memcpy(data(), other.data(), bytes_); }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return bytes_; }
  operator std::span<uint8_t>() { return {data(), bytes_}; }
  bool operator==(const Memory& other) const {
    return std::memcmp(data(), other.data(), bytes_) == 0;
  }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  size_t bytes_;
  std::unique_ptr<uint8_t, Free> data_;
};

// The base memory (the synthetic workload's mix of text, small integers and
// pointers) and one edited copy; rebuilt when another density is asked for.
struct Dataset {
  Density density;
  Memory base{kPages * kPage}, edited{kPages * kPage};
  std::vector<DirtyPage> base_pages, edited_pages;
};

const Dataset& dataset(Density density) {
  static std::unique_ptr<Dataset> current;
  if (current && current->density == density) return *current;
  current.reset();
  auto d = std::make_unique<Dataset>();
  d->density = density;
  eval::WorkloadModel model;
  model.tracked_pages = kPages;
  model.working_set_pages = kPages;
  model.initial_zero_share = 0;
  {
    eval::SyntheticWorkload workload(model);
    std::memcpy(d->base.data(), workload.memory(), workload.memory_bytes());
  }
  std::memcpy(d->edited.data(), d->base.data(), d->base.size());
  eval::Rng rng(2024);
  auto rewrite = [&](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] ^= static_cast<uint8_t>(1 + rng.below(255));
  };
  for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
    uint8_t* page = d->edited.data() + pfn * kPage;
    if (density == Density::kOneBlock) {
      rewrite(page + 64 * rng.below(64), 64);
    } else {
      for (size_t block = 0; block < kPage / 64; ++block)
        rewrite(page + block * 64 + rng.below(49), 16);
    }
  }
  for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
    d->base_pages.push_back({pfn, d->base.data() + pfn * kPage});
    d->edited_pages.push_back({pfn, d->edited.data() + pfn * kPage});
  }
  current = std::move(d);
  return *current;
}

PeerOptions whole_memory_caches() {
  return {.tracked_pages = kPages,
          .xc_cache_bytes = kPages * kPage,
          .xbzrle_cache_bytes = kPages * kPage};
}

// wire_bytes: the wire bytes of all iterations together.
void report(benchmark::State& state, size_t wire_bytes) {
  const double bytes = static_cast<double>(kPages * kPage * state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsRate);
  state.counters["ratio"] = bytes / static_cast<double>(wire_bytes);
}

void encode_epoch(benchmark::State& state, PeerEncoder& encoder,
                  const std::vector<DirtyPage>& pages, std::vector<uint8_t>& wire,
                  size_t* written) {
  const PeerStatus st = encoder.encode_epoch(pages, wire, written);
  if (!st.ok()) state.SkipWithError(st.error);
}

void BM_Encode(benchmark::State& state, PeerKind kind, Density density) {
  const Dataset& data = dataset(density);
  Peer peer = make_peer(kind, whole_memory_caches());
  std::vector<uint8_t> wire(peer.encoder->epoch_bound(kPages));
  size_t written = 0;
  encode_epoch(state, *peer.encoder, data.base_pages, wire, &written);  // fills the caches
  size_t wire_bytes = 0;
  bool edited = true;
  for (auto _ : state) {
    encode_epoch(state, *peer.encoder, edited ? data.edited_pages : data.base_pages, wire,
                 &written);
    wire_bytes += written;
    edited = !edited;
  }
  report(state, wire_bytes);
}

void BM_Decode(benchmark::State& state, PeerKind kind, Density density) {
  const Dataset& data = dataset(density);
  Peer peer = make_peer(kind, whole_memory_caches());
  Memory replica(kPages * kPage);
  std::vector<uint8_t> wire(peer.encoder->epoch_bound(kPages));
  size_t written = 0;
  encode_epoch(state, *peer.encoder, data.base_pages, wire, &written);
  if (!peer.decoder->apply_epoch({wire.data(), written}, replica).ok())
    state.SkipWithError("prime");
  // The two epochs the loop alternates: base -> edited and back.
  std::vector<uint8_t> to_edited(wire.size()), to_base(wire.size());
  size_t to_edited_bytes = 0, to_base_bytes = 0;
  encode_epoch(state, *peer.encoder, data.edited_pages, to_edited, &to_edited_bytes);
  encode_epoch(state, *peer.encoder, data.base_pages, to_base, &to_base_bytes);
  size_t wire_bytes = 0;
  bool edited = true;
  for (auto _ : state) {
    wire_bytes += edited ? to_edited_bytes : to_base_bytes;
    const PeerStatus st =
        edited ? peer.decoder->apply_epoch({to_edited.data(), to_edited_bytes}, replica)
               : peer.decoder->apply_epoch({to_base.data(), to_base_bytes}, replica);
    if (!st.ok()) state.SkipWithError(st.error);
    edited = !edited;
  }
  if (replica != (edited ? data.base : data.edited)) state.SkipWithError("replica != primary");
  report(state, wire_bytes);
}

// XBZRLE's page encoder alone (diff + runs, cache update included) with
// one page-diff variant: how much of the encoder the vector compare buys.
void BM_XbzrleKernel(benchmark::State& state, const PageDiffKernels* kernels, Density density) {
  const Dataset& data = dataset(density);
  Memory cache = data.base;
  std::vector<uint8_t> out(xbzrle::kMaxEncodedBytes + xbzrle::kEncodeSlack);
  size_t wire = 0;
  bool edited = true;
  for (auto _ : state) {
    const Memory& fresh = edited ? data.edited : data.base;
    for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
      ByteDiff diff;
      kernels->diff_bytes(cache.data() + pfn * kPage, fresh.data() + pfn * kPage, &diff);
      const size_t n = xbzrle::encode_runs(diff, fresh.data() + pfn * kPage, out.data());
      wire += n == xbzrle::kOverflow ? kPage : n;
    }
    benchmark::DoNotOptimize(out.data());
    edited = !edited;
  }
  report(state, wire);
}

void register_all() {
  for (Density density : {Density::kOneBlock, Density::kQuarterBytes}) {
    for (PeerKind kind : all_peer_kinds()) {
      const std::string suffix = std::string(peer_name(kind)) + "/" + density_name(density);
      benchmark::RegisterBenchmark(("encode/" + suffix).c_str(), BM_Encode, kind, density)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(4);
      benchmark::RegisterBenchmark(("decode/" + suffix).c_str(), BM_Decode, kind, density)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(4);
    }
    for (const PageDiffKernels* kernels : page_diff_variants()) {
      const std::string name =
          std::string("xbzrle_kernel/") + kernels->name + "/" + density_name(density);
      benchmark::RegisterBenchmark(name.c_str(), BM_XbzrleKernel, kernels, density)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(4);
    }
  }
}

}  // namespace
}  // namespace fgbi::peers

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fgbi::peers::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
