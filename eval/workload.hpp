// Synthetic dirty-memory workloads: a primary memory and, per epoch, the
// pages a guest dirtied and how. The model is documented in
// docs/workloads.md; every parameter appears there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fgbi::eval {

struct WorkloadModel {
  std::string name = "custom";
  uint64_t tracked_pages = 65536;      // 256 MiB of 4 KiB pages
  uint64_t dirty_pages = 4096;         // pages dirtied per epoch
  uint64_t working_set_pages = 16384;  // dirty pages are drawn from the first this many
  double edits_per_page = 4;           // mean edits per edited page (1 + geometric)
  uint32_t max_edits = 0;              // cap on edits per page (0 = none)
  uint32_t edit_bytes = 16;            // mean bytes per edit (1 .. 2 * mean - 1)
  bool edits_in_one_block = false;     // each edit stays inside one 64-byte block
  double zero_edit_share = 0.1;        // edits that zero a whole 64-byte block
  double unchanged_share = 0.05;       // dirty pages rewritten with identical content
  double rewrite_share = 0;            // dirty pages overwritten with fresh random data
  double copy_share = 0;               // dirty pages overwritten with a copy of another page
  double initial_zero_share = 0.3;     // pages that start all zero
  uint64_t seed = 1;
};

// The built-in workloads (docs/workloads.md), by name; nullptr if unknown.
const WorkloadModel* find_preset(const std::string& name);
// Their names, in the order reports list them.
std::vector<std::string> preset_names();

// xoshiro256** seeded from splitmix64: fast, reproducible on every host.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  uint64_t below(uint64_t n);  // uniform in [0, n)
  double unit();               // uniform in [0, 1)

 private:
  uint64_t s_[4];
};

class SyntheticWorkload {
 public:
  static constexpr uint32_t kPageSize = 4096;
  explicit SyntheticWorkload(const WorkloadModel& model);

  const WorkloadModel& model() const { return model_; }
  uint8_t* memory() { return memory_.get(); }
  const uint8_t* page(uint64_t pfn) const { return memory_.get() + pfn * kPageSize; }
  size_t memory_bytes() const { return model_.tracked_pages * kPageSize; }

  // Applies the next epoch's writes to memory() and returns the dirtied
  // pfns, in the order a dirty log would report them (ascending).
  const std::vector<uint64_t>& next_epoch();

 private:
  void edit_page(uint8_t* page);

  WorkloadModel model_;
  Rng rng_;
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<uint64_t> dirty_;
  std::vector<uint8_t> chosen_;
};

// Overrides of a preset's parameters (the commands' --pages, --dirty ...
// options, the options of a synthetic: source): only those set change. A
// smaller memory shrinks the preset's working set and dirty pages with it;
// the values given are taken as given, for validate() to judge.
struct WorkloadOverrides {
  std::optional<uint64_t> pages, dirty, working_set, seed;
  std::optional<double> edits, zero_share, unchanged_share;
  std::optional<uint32_t> edit_bytes;
  // The built-in workload `name` (one of preset_names()) with these overrides.
  WorkloadModel preset(const std::string& name) const;
};

// Returns an empty string when the model is usable, otherwise why not.
std::string validate(const WorkloadModel& model);

}  // namespace fgbi::eval
