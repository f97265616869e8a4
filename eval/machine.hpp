// The machine a bench ran on, printed beside its figures: ratios differ
// between CPUs, and thread-scaling figures say as much about the host as
// about fgbi where a VM's CPUs share cores or are overcommitted.
#pragma once

#include <string>
#include <string_view>

namespace fgbi::eval {

struct MachineInfo {
  std::string cpu_model;    // /proc/cpuinfo's "model name", or "unknown"
  unsigned cpus = 0;        // CPUs this process may run on
  std::string simd_target;  // the Highway target the SIMD kernels run, or "none"
  unsigned threads = 1;     // the threads the figures were measured with
  // How many CPUs' worth of work `threads` busy threads got done at once:
  // `threads` where each ran at its speed alone, less where they shared.
  double parallel_capacity = 1;
};

// Measures parallel_capacity when threads > 1 (about 0.3 s).
MachineInfo describe_machine(unsigned threads);

// One sentence for every output of a run, e.g. "AMD EPYC, 2 CPUs, SIMD
// target AVX3; 2 busy threads ran as 1.93 CPUs (2: no sharing)".
std::string machine_summary(const MachineInfo& m);

// The first "model name" in /proc/cpuinfo's text, or "unknown".
std::string cpu_model_from_cpuinfo(std::string_view cpuinfo);

// Counts the work (the engine's block hashing, cache-resident) one thread
// gets done in a window, then `threads` threads together in the same
// window, over a few rounds (about 0.3 s): the median together over the
// best alone. 1 for threads <= 1.
double measure_parallel_capacity(unsigned threads);

}  // namespace fgbi::eval
