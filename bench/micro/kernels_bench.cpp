// Kernel micro-benchmarks: every KernelTable function but xor_ranges (the
// XOR of literals xor_rle_decode's rows already time) of the scalar and SIMD
// backends over a working set of 256 MiB of 4 KiB pages (far beyond cache),
// beside memcpy and XXH3-64 on the same buffers. One iteration is one pass
// over the working set on one core; figures are bytes/s of page input
// (of copied bytes for gather/scatter). XOR-RLE rows also run on 16
// cache-resident pages ("/hot": the kernel's own cost; "/hot_runs": each run
// of changed blocks encoded on its own, as the sender does) and report time
// per pair (literal) and per call. After the runs a table of ratios taken in
// the same run is printed (medians when --benchmark_repetitions>1).
//
//   fgbi_kernels_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// --hwy_target=AVX2 (or SSE4, SSSE3, ...) caps the SIMD backend at that
// Highway target, to compare instruction sets on one machine.
#include <benchmark/benchmark.h>
#include <hwy/targets.h>
#include <xxhash.h>
// XXH3_64bits is libxxhash's baseline (SSE2) build; XXH3_64bits_dispatch,
// which the engine calls (engine/common/xxh3.hpp), picks its best x86 code
// path (AVX2/AVX-512) at run time.
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels.hpp"

namespace fgbi::kernels {
namespace {

constexpr size_t kPages = 65536;  // 256 MiB
constexpr size_t kBytes = kPages * kPageSize;
constexpr size_t kBatch = 16;  // pages per identify call, as the sender does

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t[], FreeDeleter>;

Buffer allocate(size_t bytes) {
  return Buffer(static_cast<uint8_t*>(std::aligned_alloc(kPageSize, bytes)));
}

// xoshiro-free filler: a 64-bit LCG's high bits, fast enough for 256 MiB.
void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t v = x ^ (x >> 29);
    std::memcpy(p + i, &v, 8);
  }
}

// The pages every benchmark reads ("memory"), a second region every
// benchmark that writes pages writes to ("replica"), and for XOR-RLE an
// edited copy of memory ("current").
struct WorkingSet {
  Buffer memory = allocate(kBytes);
  Buffer replica = allocate(kBytes);
  Buffer current = allocate(kBytes);
  std::string current_pattern;
  WorkingSet() {
    fill_random(memory.get(), kBytes, 1);
    std::memcpy(replica.get(), memory.get(), kBytes);
    std::memcpy(current.get(), memory.get(), kBytes);
  }
  const uint8_t* page(size_t i) const { return memory.get() + i * kPageSize; }
};

WorkingSet& working_set() {
  static WorkingSet ws;
  return ws;
}

void set_bytes(benchmark::State& state, size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iteration));
}

// ------------------------------------------------------------- baselines

void bm_memcpy_pages(benchmark::State& state) {
  auto& ws = working_set();
  for (auto _ : state) {
    std::memcpy(ws.replica.get(), ws.memory.get(), kBytes);
    benchmark::ClobberMemory();
  }
  set_bytes(state, kBytes);
}

// XXH3-64 of each page: `hash` is XXH3_64bits or XXH3_64bits_dispatch.
void bm_xxh3_page(benchmark::State& state, XXH64_hash_t (*hash)(const void*, size_t)) {
  auto& ws = working_set();
  for (auto _ : state) {
    uint64_t acc = 0;
    for (size_t p = 0; p < kPages; ++p) acc += hash(ws.page(p), kPageSize);
    benchmark::DoNotOptimize(acc);
  }
  set_bytes(state, kBytes);
}

void bm_xxh3_block(benchmark::State& state) {
  auto& ws = working_set();
  for (auto _ : state) {
    uint64_t acc = 0;
    for (size_t off = 0; off < kBytes; off += 64) acc += XXH3_64bits(ws.memory.get() + off, 64);
    benchmark::DoNotOptimize(acc);
  }
  set_bytes(state, kBytes);
}

// ---------------------------------------------------------------- hashing

void bm_hash_blocks(benchmark::State& state, const KernelTable* k, uint32_t block_size) {
  auto& ws = working_set();
  const size_t blocks = kPageSize / block_size;
  std::vector<uint64_t> out(blocks * kBatch);
  for (auto _ : state) {
    for (size_t p = 0; p < kPages; p += kBatch)
      k->hash_blocks(ws.page(p), blocks * kBatch, block_size, ~0ull, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, kBytes);
}

// Identification as the sender runs it: 16 pages per call, stored hashes
// read and rewritten, changed bitmaps out. The stored hashes equal the
// content (every block compares unchanged), the steady state of clean pages.
void bm_identify(benchmark::State& state, const KernelTable* k, uint32_t block_size,
                 bool want_zero) {
  auto& ws = working_set();
  const size_t blocks = kPageSize / block_size;
  std::vector<uint64_t> hashes(kPages * blocks);
  std::vector<uint64_t> changed(kBatch * kBitmapWords), zero(kBatch * kBitmapWords);
  std::vector<const uint8_t*> pages(kPages);
  std::vector<uint64_t*> hash_ptrs(kPages);
  for (size_t p = 0; p < kPages; ++p) {
    pages[p] = ws.page(p);
    hash_ptrs[p] = hashes.data() + p * blocks;
  }
  const std::vector<uint8_t> known(kBatch, 1);
  auto pass = [&] {
    for (size_t p = 0; p < kPages; p += kBatch) {
      IdentifyBatch batch;
      batch.count = kBatch;
      batch.block_size = block_size;
      batch.pages = pages.data() + p;
      batch.hashes = hash_ptrs.data() + p;
      batch.known = known.data();
      batch.changed = changed.data();
      batch.zero = want_zero ? zero.data() : nullptr;
      k->identify(batch);
    }
  };
  pass();  // store the hashes
  for (auto _ : state) {
    pass();
    benchmark::DoNotOptimize(changed.data());
  }
  set_bytes(state, kBytes);
}

// ------------------------------------------------------- gather / scatter

// Bitmap selecting `per_page` of the 64 blocks of a page, spread evenly.
std::vector<uint64_t> spread_bitmap(uint32_t per_page) {
  std::vector<uint64_t> bitmap(kBitmapWords, 0);
  for (uint32_t i = 0; i < per_page; ++i) bitmap[0] |= 1ull << (i * 64 / per_page);
  return bitmap;
}

void bm_gather(benchmark::State& state, const KernelTable* k, uint32_t per_page) {
  auto& ws = working_set();
  const auto bitmap = spread_bitmap(per_page);
  const size_t page_bytes = size_t{per_page} * 64;
  std::vector<uint8_t> out(page_bytes * kBatch);  // a segment-sized payload, reused
  for (auto _ : state) {
    for (size_t p = 0; p < kPages; ++p)
      k->gather_blocks(ws.page(p), bitmap.data(), 64, out.data() + (p % kBatch) * page_bytes);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, kPages * page_bytes);
}

// Apply at the receiver: each replica page receives `per_page` blocks from
// a (cache-resident) payload.
void bm_scatter(benchmark::State& state, const KernelTable* k, uint32_t per_page) {
  auto& ws = working_set();
  const auto bitmap = spread_bitmap(per_page);
  const size_t page_bytes = size_t{per_page} * 64;
  std::vector<uint8_t> payload(page_bytes * kBatch, 0x5A);
  for (auto _ : state) {
    for (size_t p = 0; p < kPages; ++p)
      k->scatter_blocks(ws.replica.get() + p * kPageSize, bitmap.data(), 64,
                        payload.data() + (p % kBatch) * page_bytes);
    benchmark::ClobberMemory();
  }
  set_bytes(state, kPages * page_bytes);
}

// The same bytes as bm_scatter, copied contiguously into each page.
void bm_memcpy_same_bytes(benchmark::State& state, uint32_t per_page) {
  auto& ws = working_set();
  const size_t page_bytes = size_t{per_page} * 64;
  std::vector<uint8_t> payload(page_bytes * kBatch, 0x5A);
  for (auto _ : state) {
    for (size_t p = 0; p < kPages; ++p)
      std::memcpy(ws.replica.get() + p * kPageSize, payload.data() + (p % kBatch) * page_bytes,
                  page_bytes);
    benchmark::ClobberMemory();
  }
  set_bytes(state, kPages * page_bytes);
}

// --------------------------------------------------------------- XOR-RLE

// Rebuilds `current` as memory with the named edit pattern applied:
// "block1of64" rewrites 16 bytes inside one 64-byte block per page;
// "runs25pct" rewrites runs of 1..31 bytes at random places until 25% of
// the page changed (clustered edits); "bytes25pct" changes a random 25% of
// the bytes independently (the worst case for run coding).
void prepare_current(const std::string& pattern) {
  auto& ws = working_set();
  if (ws.current_pattern == pattern) return;
  std::memcpy(ws.current.get(), ws.memory.get(), kBytes);
  std::mt19937_64 rng(5);
  for (size_t p = 0; p < kPages; ++p) {
    uint8_t* page = ws.current.get() + p * kPageSize;
    if (pattern == "block1of64") {
      const size_t at = (rng() % 64) * 64 + rng() % 48;
      for (size_t i = 0; i < 16; ++i) page[at + i] ^= uint8_t(1 + i);
    } else if (pattern == "runs25pct") {
      for (size_t changed = 0; changed < kPageSize / 4;) {
        const size_t length = 1 + rng() % 31, at = rng() % (kPageSize - length);
        for (size_t i = 0; i < length; ++i) page[at + i] = ws.page(p)[at + i] ^ 0x81;
        changed += length;
      }
    } else {
      for (size_t i = 0; i < kPageSize; i += 64) {
        uint64_t r = rng() & rng();  // 25% of bits set
        for (size_t j = 0; j < 64; ++j, r >>= 1)
          if (r & 1) page[i + j] ^= 0x81;
      }
    }
  }
  ws.current_pattern = pattern;
}

// What one XOR-RLE call covers and where its input lives.
enum class XorScope {
  kPages,           // whole pages across the working set (memory-bound)
  kHotPages,        // whole pages of a cache-resident subset: the kernel's own cost
  kHotChangedRuns,  // each run of changed 64-byte blocks of those pages on its
                    // own, as the sender encodes a page against its cached copy
};
constexpr size_t kHotPages = 16;  // 2 x 64 KiB of input

// The distinct calls of a pass over `pages` pages: (current, previous, size)
// each. A pass covers kPages pages, repeating these as often as that takes.
struct XorCall {
  const uint8_t* current;
  const uint8_t* previous;
  size_t size;
};
struct XorCalls {
  std::vector<XorCall> calls;
  size_t pages;
};
XorCalls xor_calls(XorScope scope) {
  auto& ws = working_set();
  XorCalls out{{}, scope == XorScope::kPages ? kPages : kHotPages};
  for (size_t p = 0; p < out.pages; ++p) {
    const uint8_t* current = ws.current.get() + p * kPageSize;
    const uint8_t* previous = ws.page(p);
    if (scope != XorScope::kHotChangedRuns) {
      out.calls.push_back({current, previous, kPageSize});
      continue;
    }
    for (size_t b = 0; b < kPageSize / 64;) {
      size_t e = b;
      while (e < kPageSize / 64 && std::memcmp(current + e * 64, previous + e * 64, 64) != 0) ++e;
      if (e > b) out.calls.push_back({current + b * 64, previous + b * 64, (e - b) * 64});
      b = e + 1;
    }
  }
  return out;
}

// Literal count of a delta (valid by construction).
size_t pair_count(const uint8_t* delta, size_t n, size_t size) {
  size_t pairs = 0;
  xor_rle_walk(delta, n, size, [&](size_t, const uint8_t*, size_t) { ++pairs; });
  return pairs;
}

// Bytes/s of input, the wire ratio, the time per pair (literal) of the
// deltas and per call, for a pass over kPages pages.
void set_xor_counters(benchmark::State& state, const XorCalls& x, size_t pairs,
                      size_t delta_bytes) {
  const size_t repeats = kPages / x.pages;
  size_t input = 0;
  for (const XorCall& c : x.calls) input += c.size;
  set_bytes(state, input * repeats);
  state.counters["wire_ratio"] = double(input) / double(delta_bytes);
  const auto time_per = benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert;
  state.counters["per_pair"] = benchmark::Counter(double(pairs * repeats), time_per);
  state.counters["per_call"] = benchmark::Counter(double(x.calls.size() * repeats), time_per);
}

void bm_xor_rle_encode(benchmark::State& state, const KernelTable* k, const std::string& pattern,
                       XorScope scope) {
  prepare_current(pattern);
  const XorCalls x = xor_calls(scope);
  std::vector<uint8_t> out(xor_rle_bound(kPageSize));
  size_t delta_bytes = 0, pairs = 0;
  for (const XorCall& c : x.calls) {
    const size_t n = k->xor_rle_encode(c.current, c.previous, c.size, out.data(), out.size());
    delta_bytes += n;
    pairs += pair_count(out.data(), n, c.size);
  }
  const size_t repeats = kPages / x.pages;
  for (auto _ : state) {
    size_t total = 0;
    for (size_t r = 0; r < repeats; ++r)
      for (const XorCall& c : x.calls)
        total += k->xor_rle_encode(c.current, c.previous, c.size, out.data(), out.size());
    benchmark::DoNotOptimize(total);
  }
  set_xor_counters(state, x, pairs, delta_bytes);
}

void bm_xor_rle_decode(benchmark::State& state, const KernelTable* k, const std::string& pattern,
                       XorScope scope) {
  prepare_current(pattern);
  auto& ws = working_set();
  const XorCalls x = xor_calls(scope);
  // Deltas of every call, packed (the payload a receiver would hold).
  std::vector<uint8_t> deltas;
  std::vector<size_t> offsets(x.calls.size() + 1, 0);
  std::vector<uint8_t> out(xor_rle_bound(kPageSize));
  size_t pairs = 0;
  for (size_t i = 0; i < x.calls.size(); ++i) {
    const XorCall& c = x.calls[i];
    const size_t n = k->xor_rle_encode(c.current, c.previous, c.size, out.data(), out.size());
    pairs += pair_count(out.data(), n, c.size);
    deltas.insert(deltas.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
    offsets[i + 1] = deltas.size();
  }
  const size_t repeats = kPages / x.pages;
  for (auto _ : state) {
    bool ok = true;
    for (size_t r = 0; r < repeats; ++r) {
      for (size_t i = 0; i < x.calls.size(); ++i) {  // toggles replica between old and new
        const XorCall& c = x.calls[i];
        uint8_t* data = ws.replica.get() + static_cast<size_t>(c.previous - ws.memory.get());
        ok &= k->xor_rle_decode(deltas.data() + offsets[i], offsets[i + 1] - offsets[i], data,
                                c.size);
      }
    }
    if (!ok) state.SkipWithError("decode failed");
    benchmark::ClobberMemory();
  }
  set_xor_counters(state, x, pairs, deltas.size());
}

// ------------------------------------------------------- ratios reporter

// Console output plus, at the end, ratios between benchmarks of this run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      const auto it = run.counters.find("bytes_per_second");
      if ((median || single) && !run.error_occurred && it != run.counters.end())
        rate_[run.run_name.function_name] = it->second.value;
    }
  }

  void PrintRatios() const {
    std::printf("\nRatios (same run; %s):\n", "medians if repeated");
    ratio("identify/simd/bs:64", "xxh3/page", "identify (simd, 64 B) / XXH3-64 whole page");
    for (const char* bs : {"32", "128", "256"})
      ratio(std::string("identify/simd/bs:") + bs, "xxh3/page",
            std::string("identify (simd, ") + bs + " B) / XXH3-64 whole page");
    ratio("identify/simd/bs:64", "xxh3_dispatch/page",
          "identify (simd, 64 B) / XXH3-64 whole page, best ISA");
    ratio("xxh3_dispatch/page", "xxh3/page", "XXH3-64 page: best ISA / baseline build");
    ratio("identify/scalar/bs:64", "xxh3/page", "identify (scalar, 64 B) / XXH3-64 whole page");
    ratio("identify+zero/simd/bs:64", "xxh3/page", "identify+zero (simd, 64 B) / XXH3 page");
    ratio("hash_blocks/simd/bs:64", "xxh3/block64", "hash_blocks (simd, 64 B) / XXH3 per block");
    for (const char* n : {"1", "16", "64"})
      ratio(std::string("scatter/simd/blocks:") + n, std::string("memcpy_same_bytes/blocks:") + n,
            std::string("scatter (simd, ") + n + "/64 blocks) / memcpy of the same bytes");
    for (const char* n : {"1", "16", "64"})
      ratio(std::string("gather/simd/blocks:") + n, std::string("memcpy_same_bytes/blocks:") + n,
            std::string("gather (simd, ") + n + "/64 blocks) / memcpy of the same bytes");
    for (const char* pattern : {"block1of64", "runs25pct", "bytes25pct"}) {
      ratio(std::string("xor_rle_encode/simd/") + pattern, "xxh3/page",
            std::string("xor_rle_encode (simd, ") + pattern + ") / XXH3 page");
      for (const char* op : {"encode", "decode"})
        for (const char* scope : {"", "/hot", "/hot_runs"})
          ratio(std::string("xor_rle_") + op + "/simd/" + pattern + scope,
                std::string("xor_rle_") + op + "/scalar/" + pattern + scope,
                std::string("xor_rle_") + op + " simd / scalar (" + pattern + scope + ")");
    }
  }

 private:
  void ratio(const std::string& num, const std::string& den, const std::string& label) const {
    const auto a = rate_.find(num), b = rate_.find(den);
    if (a == rate_.end() || b == rate_.end()) return;
    std::printf("  %-62s %6.2fx  (%.2f / %.2f GB/s, 1 GB = 1e9 B)\n", label.c_str(),
                a->second / b->second, a->second / 1e9, b->second / 1e9);
  }
  std::map<std::string, double> rate_;
};

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

void register_all() {
  auto add = [](const std::string& name, auto&& fn, auto&&... args) {
    // CPU time: on a shared machine, time spent descheduled is not ours.
    benchmark::RegisterBenchmark(name.c_str(), fn, args...)->Unit(benchmark::kMillisecond);
  };
  add("memcpy/page", bm_memcpy_pages);
  add("xxh3/page", bm_xxh3_page, XXH3_64bits);
  add("xxh3/block64", bm_xxh3_block);
  const std::pair<const char*, const KernelTable*> backends[] = {{"scalar", scalar_kernels()},
                                                                 {"simd", simd_kernels()}};
  for (const auto& [name, k] : backends) {
    for (uint32_t bs : {32u, 64u, 128u, 256u}) {
      const std::string b = std::to_string(bs);
      add(std::string("hash_blocks/") + name + "/bs:" + b, bm_hash_blocks, k, bs);
      add(std::string("identify/") + name + "/bs:" + b, bm_identify, k, bs, false);
    }
    add(std::string("identify+zero/") + name + "/bs:64", bm_identify, k, 64u, true);
  }
  for (uint32_t n : {1u, 16u, 64u}) {
    const std::string b = "/blocks:" + std::to_string(n);
    add("memcpy_same_bytes" + b, bm_memcpy_same_bytes, n);
    for (const auto& [name, k] : backends) {
      add(std::string("gather/") + name + b, bm_gather, k, n);
      add(std::string("scatter/") + name + b, bm_scatter, k, n);
    }
  }
  const std::pair<const char*, XorScope> scopes[] = {{"", XorScope::kPages},
                                                     {"/hot", XorScope::kHotPages},
                                                     {"/hot_runs", XorScope::kHotChangedRuns}};
  for (const char* pattern : {"block1of64", "runs25pct", "bytes25pct"}) {
    for (const auto& [suffix, scope] : scopes) {
      for (const auto& [name, k] : backends) {
        const std::string tail = std::string(name) + "/" + pattern + suffix;
        add("xor_rle_encode/" + tail, bm_xor_rle_encode, k, std::string(pattern), scope);
        add("xor_rle_decode/" + tail, bm_xor_rle_decode, k, std::string(pattern), scope);
      }
    }
  }
  // Last: after libxxhash's AVX-512 path the legacy-SSE code of the scalar
  // kernels ran ~3.7x slower here (consistent with upper vector state left
  // dirty), so it must not run before them.
  add("xxh3_dispatch/page", bm_xxh3_page, XXH3_64bits_dispatch);
}

// Applies and removes --hwy_target=NAME; false when NAME is not a compiled
// and supported target.
bool apply_target_option(int* argc, char** argv) {
  const std::string prefix = "--hwy_target=";
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) != 0) continue;
    const std::string wanted = arg.substr(prefix.size());
    int64_t target = 0;
    for (int64_t t : hwy::SupportedAndGeneratedTargets())
      if (wanted == hwy::TargetName(t)) target = t;
    if (target == 0) {
      std::fprintf(stderr, "--hwy_target: %s is not compiled or not supported here\n",
                   wanted.c_str());
      return false;
    }
    hwy::DisableTargets(target - 1);  // every better target has a lower bit
    for (int j = i; j + 1 < *argc; ++j) argv[j] = argv[j + 1];
    --*argc;
    --i;
  }
  return true;
}

}  // namespace
}  // namespace fgbi::kernels

int main(int argc, char** argv) {
  using namespace fgbi::kernels;
  if (!apply_target_option(&argc, argv)) return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("simd_target", simd_target_name());
  benchmark::AddCustomContext("working_set", "256 MiB of 4 KiB pages");
  register_all();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
