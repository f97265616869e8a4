#include "machine.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "evaluation.hpp"
#include "kernels.hpp"

namespace fgbi::eval {
namespace {

using Clock = std::chrono::steady_clock;

// The work counted: the engine's block hashing over a buffer that stays in
// the core's cache, as the capture hashes pages. A pure arithmetic loop
// would leave out what cores that share hardware also share: the SIMD units
// and the caches. One unit is a few microseconds.
constexpr size_t kBufferBytes = 32 * 1024;
// Work is counted over a window long enough for the scheduler to share a
// CPU between the threads several times over.
constexpr auto kWindow = std::chrono::milliseconds(50);

// Units of work this thread gets done until `until`. The hashes feed `sink`
// so that the compiler keeps the loop.
uint64_t work_until(const kernels::KernelTable& k, Clock::time_point until,
                    std::atomic<uint64_t>* sink) {
  constexpr uint32_t kBlock = 64;
  std::vector<uint8_t> data(kBufferBytes);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 9));
  std::vector<uint64_t> hashes(kBufferBytes / kBlock);
  uint64_t units = 0, folded = 0;
  while (Clock::now() < until) {
    data[units % data.size()] ^= static_cast<uint8_t>(folded);
    k.hash_blocks(data.data(), hashes.size(), kBlock, ~0ull, hashes.data());
    folded += hashes[units % hashes.size()];
    ++units;
  }
  sink->fetch_add(folded, std::memory_order_relaxed);
  return units;
}

unsigned cpus_available() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::thread::hardware_concurrency();
  return static_cast<unsigned>(CPU_COUNT(&set));
}

}  // namespace

std::string cpu_model_from_cpuinfo(std::string_view cpuinfo) {
  std::istringstream lines{std::string(cpuinfo)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("model name")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t first = line.find_first_not_of(" \t", colon + 1);
    if (first == std::string::npos) continue;
    const size_t last = line.find_last_not_of(" \t\r");
    return line.substr(first, last - first + 1);
  }
  return "unknown";
}

double measure_parallel_capacity(unsigned threads) {
  const kernels::KernelTable* k = kernels::find_kernels(kernels::Backend::kAuto);
  if (threads <= 1 || k == nullptr) return 1;
  constexpr int kRounds = 3;
  std::atomic<uint64_t> sink{0};
  // Other load only slows a thread down: the best lone count is one CPU's
  // worth, and the median count together is what the threads got.
  uint64_t alone = 1;
  std::vector<double> together;
  for (int round = 0; round < kRounds; ++round) {
    alone = std::max(alone, work_until(*k, Clock::now() + kWindow, &sink));
    // The window opens once every thread is ready to start.
    std::atomic<unsigned> ready{0};
    std::atomic<int64_t> until_ns{0};
    std::vector<uint64_t> done(threads);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        ready.fetch_add(1);
        int64_t until;
        while ((until = until_ns.load()) == 0) std::this_thread::yield();
        done[t] = work_until(*k, Clock::time_point(Clock::duration(until)), &sink);
      });
    while (ready.load() < threads) std::this_thread::yield();
    until_ns.store((Clock::now() + kWindow).time_since_epoch().count());
    for (std::thread& w : workers) w.join();
    uint64_t units = 0;
    for (uint64_t d : done) units += d;
    together.push_back(static_cast<double>(units));
  }
  return percentile(together, 50) / static_cast<double>(alone);
}

MachineInfo describe_machine(unsigned threads) {
  MachineInfo m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::ostringstream text;
  text << cpuinfo.rdbuf();
  m.cpu_model = cpu_model_from_cpuinfo(text.str());
  m.cpus = cpus_available();
  const char* target = kernels::simd_target_name();
  m.simd_target = target != nullptr ? target : "none";
  m.threads = std::max(1u, threads);
  m.parallel_capacity = measure_parallel_capacity(m.threads);
  return m;
}

std::string machine_summary(const MachineInfo& m) {
  std::ostringstream text;
  text << m.cpu_model << ", " << m.cpus << " CPUs, SIMD target " << m.simd_target;
  if (m.threads > 1) {
    text.setf(std::ios::fixed);
    text.precision(2);
    text << "; " << m.threads << " busy threads ran as " << m.parallel_capacity << " CPUs ("
         << m.threads << ": no sharing)";
  }
  return text.str();
}

}  // namespace fgbi::eval
