// What bench prints about the machine beside its figures: the CPU model
// from /proc/cpuinfo's text, and how many CPUs' worth of work busy threads
// get done at once.
#include "machine.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdio>

namespace fgbi::eval {
namespace {

TEST(Machine, CpuModelIsTheFirstModelNameLine) {
  EXPECT_EQ(cpu_model_from_cpuinfo("processor\t: 0\n"
                                   "vendor_id\t: AuthenticAMD\n"
                                   "model\t\t: 2\n"
                                   "model name\t: AMD EPYC 9B45  \n"
                                   "processor\t: 1\n"
                                   "model name\t: something else\n"),
            "AMD EPYC 9B45");
  // "model" alone is the model number, not its name.
  EXPECT_EQ(cpu_model_from_cpuinfo("model\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Platinum\n"),
            "Intel(R) Xeon(R) Platinum");
  EXPECT_EQ(cpu_model_from_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\n"), "unknown");
  EXPECT_EQ(cpu_model_from_cpuinfo("model name\t:\n"), "unknown");
  EXPECT_EQ(cpu_model_from_cpuinfo(""), "unknown");
}

TEST(Machine, OneThreadIsOneCpu) { EXPECT_EQ(measure_parallel_capacity(1), 1.0); }

// Pinned to one CPU, two busy threads take turns: together they get one
// CPU's work done, not two, however many CPUs the machine has.
TEST(Machine, ThreadsThatShareOneCpuRunAsOne) {
  cpu_set_t home;
  ASSERT_EQ(sched_getaffinity(0, sizeof home, &home), 0);
  int first = 0;
  while (!CPU_ISSET(first, &home)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const double shared = measure_parallel_capacity(2);  // threads inherit the pin
  ASSERT_EQ(sched_setaffinity(0, sizeof home, &home), 0);
  std::printf("  two threads on one CPU ran as %.2f CPUs\n", shared);
  EXPECT_GT(shared, 0.6);
  EXPECT_LT(shared, 1.4);
}

TEST(Machine, DescribesThisMachine) {
  const MachineInfo m = describe_machine(1);
  EXPECT_FALSE(m.cpu_model.empty());
  EXPECT_GE(m.cpus, 1u);
  EXPECT_FALSE(m.simd_target.empty());
  EXPECT_EQ(m.threads, 1u);
  EXPECT_EQ(m.parallel_capacity, 1.0);
}

}  // namespace
}  // namespace fgbi::eval
