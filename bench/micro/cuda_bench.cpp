// CPU (Highway SIMD) against GPU identification on the same pages, with the
// figures issue 7's targets are stated in (docs/cuda.md):
//   - the link: pinned host->device bandwidth, device copy bandwidth;
//   - CPU SIMD identify, one core and all cores: GB/s, host CPU s/GB;
//   - GPU kernel-only identify over device-resident pages (all pages and a
//     random quarter gathered by pfn);
//   - GPU end-to-end from registered host memory through ResidentIdentifier,
//     staged DMA and zero-copy, at 100 %, 25 % and 2 % dirty pages;
//   - the engine's table (cuda_kernels()->identify on pageable memory) by
//     batch size, and the batch from which it beats one CPU core;
// and a final table against the targets. Results are checked against the
// CPU before anything is timed.
//
//   fgbi_cuda_bench [--gib N] [--block B]      (default 4 GiB, 64-byte blocks)
//
// Exit status: 0 done, 1 a GPU result differed from the CPU, 2 no usable
// CUDA device, 3 bad arguments.
#include <sys/mman.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_resources.hpp"
#include "cuda/device_kernels.hpp"
#include "cuda/resident_identifier.hpp"
#include "kernels.hpp"
#include "workload.hpp"

namespace {

using namespace fgbi::kernels;
using fgbi::kernels::cuda::check;

constexpr double kGB = 1e9;

double wall_seconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Figure {
  double gbps = 0;          // bytes of pages identified a second / 1e9
  double cpu_s_per_gb = 0;  // host CPU seconds per 1e9 bytes of pages
};

// Times fn(), which identifies `bytes` of pages, `reps` times.
Figure measure(size_t bytes, int reps, const std::function<void()>& fn) {
  const double w0 = wall_seconds(), c0 = cpu_seconds();
  for (int r = 0; r < reps; ++r) fn();
  const double wall = wall_seconds() - w0, cpu = cpu_seconds() - c0;
  const double gb = static_cast<double>(bytes) * reps / kGB;
  return {gb / wall, cpu / gb};
}

// Anonymous page-aligned memory (huge pages where the kernel agrees).
struct HostRegion {
  explicit HostRegion(size_t bytes) : size(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);
    data = static_cast<uint8_t*>(p);
  }
  ~HostRegion() { munmap(data, size); }
  HostRegion(const HostRegion&) = delete;
  HostRegion& operator=(const HostRegion&) = delete;
  uint8_t* page(uint64_t pfn) const { return data + pfn * kPageSize; }
  uint8_t* data;
  size_t size;
};

void parallel_for(size_t n, const std::function<void(size_t begin, size_t end)>& fn) {
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { fn(n * t / threads, n * (t + 1) / threads); });
  for (auto& th : pool) th.join();
}

// Guest-like content: random pages, one in eight zero, every fifth block of
// the others zero.
void fill(HostRegion& region, size_t pages) {
  parallel_for(pages, [&](size_t begin, size_t end) {
    fgbi::eval::Rng rng(begin + 1);
    for (size_t p = begin; p < end; ++p) {
      uint64_t* words = reinterpret_cast<uint64_t*>(region.page(p));
      const bool zero_page = rng.below(8) == 0;
      for (size_t w = 0; w < kPageSize / 8; ++w)
        words[w] = zero_page || (w / 8) % 5 == 0 ? 0 : rng.next();
    }
  });
}

// CPU identify of `pfns` in batches, state in host arrays.
struct CpuState {
  CpuState(size_t pages, uint32_t block_size)
      : block_size(block_size),
        blocks(kPageSize / block_size),
        hashes(pages * blocks),
        known(pages, 0) {}
  void identify(const KernelTable& k, const HostRegion& region, const uint64_t* pfns, size_t n,
                size_t batch, uint64_t* changed, uint64_t* zero) {
    std::vector<const uint8_t*> pages(batch);
    std::vector<uint64_t*> hash_ptrs(batch);
    std::vector<uint8_t> page_known(batch);
    for (size_t first = 0; first < n; first += batch) {
      const size_t count = std::min(batch, n - first);
      for (size_t i = 0; i < count; ++i) {
        const uint64_t pfn = pfns[first + i];
        pages[i] = region.page(pfn);
        hash_ptrs[i] = hashes.data() + pfn * blocks;
        page_known[i] = known[pfn];
        known[pfn] = 1;
      }
      k.identify(IdentifyBatch{count, block_size, ~0ull, pages.data(), hash_ptrs.data(),
                               page_known.data(), changed + first * kBitmapWords,
                               zero ? zero + first * kBitmapWords : nullptr});
    }
  }
  uint32_t block_size, blocks;
  std::vector<uint64_t> hashes;
  std::vector<uint8_t> known;
};

std::vector<uint64_t> random_pfns(size_t pages, double fraction, uint64_t seed) {
  fgbi::eval::Rng rng(seed);
  std::vector<uint64_t> pfns;
  for (uint64_t p = 0; p < pages; ++p)
    if (rng.unit() < fraction) pfns.push_back(p);
  return pfns;  // ascending, as dirty logs report them
}

struct Link {
  double h2d_gbps = 0, d2d_gbps = 0;  // d2d counts bytes read + written
};

Link measure_link(size_t bytes) {
  cuda::PinnedBytes pinned;
  cuda::DeviceBytes a, b;
  pinned.grow(bytes);
  a.grow(bytes);
  b.grow(bytes);
  std::memset(pinned.data(), 1, bytes);
  cuda::Stream stream;
  cuda::Event start(true), stop(true);
  auto timed = [&](int reps, const std::function<void()>& copy) {
    copy();  // warm
    start.record(stream.get());
    for (int r = 0; r < reps; ++r) copy();
    stop.record(stream.get());
    stop.synchronize();
    return stop.elapsed_ms_since(start) / 1e3;
  };
  constexpr int kReps = 8;
  Link link;
  const double h2d = timed(kReps, [&] {
    check(cudaMemcpyAsync(a.data(), pinned.data(), bytes, cudaMemcpyHostToDevice, stream.get()),
          "h2d");
  });
  link.h2d_gbps = static_cast<double>(bytes) * kReps / h2d / kGB;
  const double d2d = timed(kReps, [&] {
    check(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()),
          "d2d");
  });
  link.d2d_gbps = 2.0 * static_cast<double>(bytes) * kReps / d2d / kGB;
  return link;
}

// Kernel-only: pages, hashes and pfns on the device; GB/s of pages read.
struct KernelOnly {
  double all_gbps = 0, quarter_gbps = 0;
  double bytes_moved_per_page_byte = 0;  // pages + hashes read and written + bitmaps
  bool identical = false;
};

KernelOnly measure_kernel_only(const HostRegion& region, size_t pages, uint32_t block_size,
                               const CpuState& reference,
                               const std::vector<uint64_t>& ref_changed) {
  const size_t blocks = kPageSize / block_size;
  cuda::DeviceBytes memory, hashes, known, changed, zero, pfns;
  memory.grow(pages * kPageSize);
  hashes.grow(pages * blocks * 8);
  known.grow(pages);
  changed.grow(pages * sizeof(PageBitmap));
  zero.grow(pages * sizeof(PageBitmap));
  check(cudaMemcpy(memory.data(), region.data, pages * kPageSize, cudaMemcpyHostToDevice), "copy");
  check(cudaMemset(known.data(), 0, pages), "memset");
  const std::vector<uint64_t> quarter = random_pfns(pages, 0.25, 42);
  pfns.grow(quarter.size() * 8);
  check(cudaMemcpy(pfns.data(), quarter.data(), quarter.size() * 8, cudaMemcpyHostToDevice),
        "pfns");

  cuda::Stream stream;
  cuda::Event start(true), stop(true);
  cuda::DeviceIdentify job;
  job.block_size = block_size;
  job.pages.base = memory.data();
  job.hashes = reinterpret_cast<uint64_t*>(hashes.data());
  job.known = known.data();
  job.mark_known = true;
  job.changed = reinterpret_cast<uint64_t*>(changed.data());
  job.zero = reinterpret_cast<uint64_t*>(zero.data());
  auto run = [&](size_t count, const uint64_t* index, int reps) {
    job.count = count;
    job.pages.index = index;
    job.slots = index;
    start.record(stream.get());
    for (int r = 0; r < reps; ++r) check(cuda::launch_identify(job, stream.get()), "identify");
    stop.record(stream.get());
    stop.synchronize();
    return stop.elapsed_ms_since(start) / 1e3;
  };
  KernelOnly k;
  run(pages, nullptr, 1);  // first epoch: every page unknown
  // The second sees every page unchanged, as the CPU reference's second pass.
  run(pages, nullptr, 1);
  std::vector<uint64_t> device_changed(pages * kBitmapWords), device_hashes(pages * blocks);
  check(cudaMemcpy(device_changed.data(), changed.data(), device_changed.size() * 8,
                   cudaMemcpyDeviceToHost),
        "changed");
  check(cudaMemcpy(device_hashes.data(), hashes.data(), device_hashes.size() * 8,
                   cudaMemcpyDeviceToHost),
        "hashes");
  k.identical = device_changed == ref_changed && device_hashes == reference.hashes;
  constexpr int kReps = 10;
  k.all_gbps = static_cast<double>(pages * kPageSize) * kReps / run(pages, nullptr, kReps) / kGB;
  const auto* index = reinterpret_cast<const uint64_t*>(pfns.data());
  k.quarter_gbps = static_cast<double>(quarter.size() * kPageSize) * kReps /
                   run(quarter.size(), index, kReps) / kGB;
  k.bytes_moved_per_page_byte =
      1.0 + (2.0 * blocks * 8 + 2 * sizeof(PageBitmap)) / static_cast<double>(kPageSize);
  return k;
}

struct EndToEnd {
  const char* name;
  double fraction;
  Figure staged, zero_copy;
};

int run(size_t gib, uint32_t block_size) {
  std::printf("device: %s\n", cuda::device_description().c_str());
  if (cuda_kernels() == nullptr) return 2;
  const KernelTable& simd = *find_kernels(Backend::kSimd);
  const size_t pages = gib * (size_t{1} << 30) / kPageSize;
  const size_t bytes = pages * kPageSize;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  HostRegion region(bytes);
  fill(region, pages);
  std::printf("region: %zu GiB, %zu pages, %u-byte blocks, %u host threads\n", gib, pages,
              block_size, cores);

  cuda::use_device();
  const Link link = measure_link(size_t{256} << 20);
  std::printf("link: host->device (pinned) %.1f GB/s, device copy (read+write) %.0f GB/s\n",
              link.h2d_gbps, link.d2d_gbps);

  // CPU: a first pass (all unknown), then the timed steady state.
  const std::vector<uint64_t> all = random_pfns(pages, 1.0, 1);
  std::vector<uint64_t> ref_changed(pages * kBitmapWords), scratch(pages * kBitmapWords);
  CpuState cpu(pages, block_size);
  cpu.identify(simd, region, all.data(), pages, 1024, scratch.data(), nullptr);
  cpu.identify(simd, region, all.data(), pages, 1024, ref_changed.data(), nullptr);
  const Figure cpu_one = measure(bytes, 2, [&] {
    cpu.identify(simd, region, all.data(), pages, 1024, scratch.data(), nullptr);
  });
  const Figure cpu_all = measure(bytes, 3, [&] {
    parallel_for(pages, [&](size_t begin, size_t end) {
      cpu.identify(simd, region, all.data() + begin, end - begin, 1024,
                   scratch.data() + begin * kBitmapWords, nullptr);
    });
  });
  std::printf("cpu simd (%s): 1 core %.2f GB/s (%.3f CPU s/GB), %u threads %.2f GB/s\n",
              simd_target_name(), cpu_one.gbps, cpu_one.cpu_s_per_gb, cores, cpu_all.gbps);

  const KernelOnly kernel = measure_kernel_only(region, pages, block_size, cpu, ref_changed);
  std::printf(
      "gpu kernel-only: all pages %.0f GB/s, random quarter by pfn %.0f GB/s; %s\n",
      kernel.all_gbps, kernel.quarter_gbps,
      kernel.identical ? "hashes and bitmaps identical to the CPU" : "DIFFERS FROM THE CPU");
  if (!kernel.identical) return 1;

  // The engine's table on pageable memory, by batch size, against one core.
  const size_t table_pages = std::min<size_t>(pages, 65536);
  std::vector<uint64_t> table_changed(table_pages * kBitmapWords);
  struct BatchRow {
    size_t batch;
    Figure cuda, cpu;
  };
  std::vector<BatchRow> batches;
  size_t crossover = 0;
  for (size_t batch : {16, 64, 256, 1024, 4096, 16384, 65536}) {
    if (batch > table_pages) break;
    const size_t table_bytes = table_pages * kPageSize;
    BatchRow row{batch, {}, {}};
    row.cuda = measure(table_bytes, 2, [&] {
      cpu.identify(*cuda_kernels(), region, all.data(), table_pages, batch, table_changed.data(),
                   nullptr);
    });
    row.cpu = measure(table_bytes, 2, [&] {
      cpu.identify(simd, region, all.data(), table_pages, batch, table_changed.data(), nullptr);
    });
    if (crossover == 0 && row.cuda.gbps >= row.cpu.gbps) crossover = batch;
    std::printf("engine table, batch %6zu pages: cuda %.2f GB/s (%.3f CPU s/GB), simd %.2f GB/s\n",
                batch, row.cuda.gbps, row.cuda.cpu_s_per_gb, row.cpu.gbps);
    batches.push_back(row);
  }
  if (!cuda::backend_failure().empty()) {
    std::printf("cuda table fell back to the host: %s\n", cuda::backend_failure().c_str());
    return 1;
  }

  // End to end from registered host memory, each transfer in turn (one
  // registration at a time: a range registers once).
  std::vector<EndToEnd> e2e = {{"100%", 1.0, {}, {}}, {"25%", 0.25, {}, {}}, {"2%", 0.02, {}, {}}};
  double register_seconds = 0;
  cuda::Transfer auto_choice[3] = {};
  bool identical = true;
  std::vector<uint64_t> changed(pages * kBitmapWords);
  for (cuda::Transfer transfer :
       {cuda::Transfer::kStaged, cuda::Transfer::kZeroCopy, cuda::Transfer::kAuto}) {
    cuda::ResidentConfig config;
    config.memory = region.data;
    config.pages = pages;
    config.block_size = block_size;
    config.transfer = transfer;
    const double r0 = wall_seconds();
    cuda::ResidentIdentifier gpu(config);
    register_seconds = wall_seconds() - r0;
    gpu.identify(all.data(), pages, changed.data(), nullptr);  // every page unknown
    // A checked epoch: one byte edited in 1% of the pages, GPU against CPU.
    const std::vector<uint64_t> edited = random_pfns(pages, 0.01, 100 + static_cast<int>(transfer));
    for (uint64_t pfn : edited) region.page(pfn)[(pfn * 131) % kPageSize] ^= 0x5A;
    std::vector<uint64_t> cpu_changed(edited.size() * kBitmapWords), cpu_zero(cpu_changed.size());
    std::vector<uint64_t> gpu_zero(cpu_changed.size());
    cpu.identify(simd, region, edited.data(), edited.size(), 1024, cpu_changed.data(),
                 cpu_zero.data());
    gpu.identify(edited.data(), edited.size(), changed.data(), gpu_zero.data());
    identical = identical && gpu_zero == cpu_zero &&
                std::equal(cpu_changed.begin(), cpu_changed.end(), changed.begin());
    for (size_t i = 0; i < e2e.size(); ++i) {
      const std::vector<uint64_t> pfns = random_pfns(pages, e2e[i].fraction, 7 + i);
      const size_t dirty_bytes = pfns.size() * kPageSize;
      const Figure f = measure(dirty_bytes, transfer == cuda::Transfer::kAuto ? 20 : 4, [&] {
        gpu.identify(pfns.data(), pfns.size(), changed.data(), nullptr);
      });
      if (transfer == cuda::Transfer::kStaged) e2e[i].staged = f;
      if (transfer == cuda::Transfer::kZeroCopy) e2e[i].zero_copy = f;
      if (transfer == cuda::Transfer::kAuto) auto_choice[i] = gpu.last_transfer();
    }
  }
  std::printf("cudaHostRegister of %zu GiB: %.0f ms (once per tracked region)\n", gib,
              register_seconds * 1e3);
  if (!identical) {
    std::printf("resident identifier DIFFERS FROM THE CPU\n");
    return 1;
  }

  // ---- the table, last ----
  const double kernel_ratio = kernel.all_gbps / link.d2d_gbps;
  Figure best{};
  for (const EndToEnd& e : e2e)
    for (const Figure& f : {e.staged, e.zero_copy})
      if (e.fraction == 1.0 && f.gbps > best.gbps) best = f;
  const double e2e_ratio = best.gbps / link.h2d_gbps;
  const double cpu_ratio = best.cpu_s_per_gb / cpu_one.cpu_s_per_gb;
  std::printf("\n== fgbi CUDA identify: %s | %zu GiB of 4 KiB pages, %u-byte blocks ==\n",
              cuda::device_description().c_str(), gib, block_size);
  std::printf("%-44s %9s %11s\n", "path", "GB/s", "CPU s/GB");
  std::printf("%-44s %9.1f %11s\n", "link: host->device, pinned", link.h2d_gbps, "-");
  std::printf("%-44s %9.0f %11s\n", "link: device copy, read+write", link.d2d_gbps, "-");
  std::printf("%-44s %9.2f %11.3f\n", "cpu simd, 1 core", cpu_one.gbps, cpu_one.cpu_s_per_gb);
  std::printf("%-44s %9.2f %11.3f\n", ("cpu simd, " + std::to_string(cores) + " threads").c_str(),
              cpu_all.gbps, cpu_all.cpu_s_per_gb);
  std::printf("%-44s %9.0f %11s\n", "gpu kernel-only, device-resident, all pages", kernel.all_gbps,
              "-");
  std::printf("%-44s %9.0f %11s\n", "gpu kernel-only, random 25% by pfn", kernel.quarter_gbps, "-");
  for (size_t i = 0; i < e2e.size(); ++i) {
    std::printf("%-44s %9.2f %11.4f\n",
                ("gpu staged DMA, " + std::string(e2e[i].name) + " dirty").c_str(),
                e2e[i].staged.gbps, e2e[i].staged.cpu_s_per_gb);
    std::printf("%-44s %9.2f %11.4f\n",
                ("gpu zero-copy, " + std::string(e2e[i].name) + " dirty").c_str(),
                e2e[i].zero_copy.gbps, e2e[i].zero_copy.cpu_s_per_gb);
    std::printf("%-44s %9s %11s\n", ("  auto picks (" + std::string(e2e[i].name) + ")").c_str(),
                cuda::transfer_name(auto_choice[i]), "");
  }
  for (const BatchRow& row : batches)
    std::printf("%-44s %9.2f %11.3f\n",
                ("gpu engine table, batch " + std::to_string(row.batch)).c_str(), row.cuda.gbps,
                row.cuda.cpu_s_per_gb);
  std::printf("engine table beats one core from batch: %s pages (the sender passes 16)\n",
              crossover ? std::to_string(crossover).c_str() : "never");
  std::printf("target kernel-only >= 50%% of device copy:   %5.1f%%  %s\n", 100 * kernel_ratio,
              kernel_ratio >= 0.5 ? "MET" : "NOT MET");
  std::printf("target end-to-end >= 85%% of host->device:   %5.1f%%  %s\n", 100 * e2e_ratio,
              e2e_ratio >= 0.85 ? "MET" : "NOT MET");
  std::printf("target host CPU/GB <= 10%% of the CPU path:  %5.1f%%  %s\n", 100 * cpu_ratio,
              cpu_ratio <= 0.10 ? "MET" : "NOT MET");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress survives a crash when piped
  size_t gib = 4;
  uint32_t block_size = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--gib" && i + 1 < argc) {
      gib = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--block" && i + 1 < argc) {
      block_size = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--gib N] [--block 32|64|128|256]\n", argv[0]);
      return 3;
    }
  }
  if (gib == 0 ||
      (block_size != 32 && block_size != 64 && block_size != 128 && block_size != 256)) {
    std::fprintf(stderr, "bad --gib or --block\n");
    return 3;
  }
  try {
    return run(gib, block_size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fgbi_cuda_bench: %s\n", e.what());
    return 2;
  }
}
