#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fgbi::eval {
namespace {
uint64_t splitmix(uint64_t& x) {
  x += 0x9E3779B97F4A7C15ull;
  uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) { return n == 0 ? 0 : next() % n; }

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

namespace {

WorkloadModel make_preset(const char* name, uint64_t dirty, uint64_t working_set, double edits,
                          uint32_t edit_bytes, double zero, double unchanged, double rewrite,
                          double copy) {
  WorkloadModel m;
  m.name = name;
  m.dirty_pages = dirty;
  m.working_set_pages = working_set;
  m.edits_per_page = edits;
  m.edit_bytes = edit_bytes;
  m.zero_edit_share = zero;
  m.unchanged_share = unchanged;
  m.rewrite_share = rewrite;
  m.copy_share = copy;
  return m;
}

// Dirty pages are per 50 ms epoch; docs/workloads.md explains each model.
const std::vector<WorkloadModel>& presets() {
  static const std::vector<WorkloadModel> all = [] {
    std::vector<WorkloadModel> v = {
        //          name      dirty  set    edits bytes zero  same  new   copy
        make_preset("idle", 100, 2048, 1.5, 4, 0.0, 0.4, 0.0, 0.0),
        make_preset("web", 600, 16384, 3, 24, 0.1, 0.1, 0.05, 0.05),
        make_preset("hpc", 1500, 4096, 24, 48, 0.0, 0.02, 0.1, 0.0),
        make_preset("db", 2000, 32768, 2, 32, 0.05, 0.05, 0.1, 0.05),
        make_preset("random", 4096, 65536, 1, 1, 0.0, 0.0, 1.0, 0.0),
        make_preset("sparse", 4096, 65536, 1.5, 4, 0.0, 0.0, 0.0, 0.0),
        make_preset("dense", 4096, 65536, 64, 16, 0.0, 0.0, 0.0, 0.0),
    };
    v[5].max_edits = 2;  // sparse: at most two changed 64-byte blocks a page
    v[5].edits_in_one_block = true;
    v[6].max_edits = 64;  // dense: 64 edits of ~16 bytes, about 25 % of the bytes
    v[6].edits_per_page = 1e9;
    return v;
  }();
  return all;
}

}  // namespace

const WorkloadModel* find_preset(const std::string& name) {
  for (const auto& m : presets())
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& m : presets()) names.push_back(m.name);
  return names;
}

std::string validate(const WorkloadModel& m) {
  if (m.tracked_pages == 0) return "tracked pages must be at least 1";
  if (m.working_set_pages == 0 || m.working_set_pages > m.tracked_pages)
    return "working set must be between 1 and the tracked pages";
  if (m.dirty_pages > m.working_set_pages) return "dirty pages per epoch exceed the working set";
  if (!(m.edits_per_page >= 1)) return "edits per page must be at least 1";
  if (m.edit_bytes == 0 || m.edit_bytes > SyntheticWorkload::kPageSize / 2)
    return "edit bytes must be between 1 and 2048";
  for (double share :
       {m.zero_edit_share, m.unchanged_share, m.rewrite_share, m.copy_share, m.initial_zero_share})
    if (!(share >= 0 && share <= 1)) return "shares must be between 0 and 1";
  if (m.unchanged_share + m.rewrite_share + m.copy_share > 1)
    return "unchanged, rewrite and copy shares add up to more than 1";
  if (m.edits_in_one_block && m.edit_bytes > 32) return "edits in one block must be <= 32 bytes";
  return {};
}

SyntheticWorkload::SyntheticWorkload(const WorkloadModel& model)
    : model_(model),
      rng_(model.seed),
      memory_(std::make_unique_for_overwrite<uint8_t[]>(model.tracked_pages * kPageSize)),
      chosen_(model.working_set_pages, 0) {
  // Initial content: some zero pages; the rest mixes text-like bytes, small
  // integers and pointer-like words, as guest memory does.
  for (uint64_t pfn = 0; pfn < model_.tracked_pages; ++pfn) {
    uint8_t* p = memory_.get() + pfn * kPageSize;
    if (rng_.unit() < model_.initial_zero_share) {
      std::memset(p, 0, kPageSize);
      continue;
    }
    for (uint32_t i = 0; i < kPageSize; i += 8) {
      uint64_t word = rng_.next();
      switch (word & 3) {
        case 0: word = 0x20202020'20202020ull | (word & 0x1F1F1F1F'1F1F1F1Full) << 1; break;
        case 1: word = (word >> 40) & 0xFFFF; break;
        case 2: word = 0xFFFF8880'00000000ull | ((word >> 20) & 0xFFFFFFF8ull); break;
        default: break;
      }
      std::memcpy(p + i, &word, 8);
    }
  }
}

void SyntheticWorkload::edit_page(uint8_t* page) {
  // 1 + geometric number of edits with the configured mean, capped.
  const double p_more = 1.0 - 1.0 / model_.edits_per_page;
  uint32_t edits = 0;
  do {
    if (rng_.unit() < model_.zero_edit_share) {
      std::memset(page + rng_.below(kPageSize / 64) * 64, 0, 64);
    } else {
      const uint32_t len = 1 + static_cast<uint32_t>(rng_.below(2 * model_.edit_bytes - 1));
      uint32_t at;
      if (model_.edits_in_one_block)
        at = static_cast<uint32_t>(rng_.below(kPageSize / 64) * 64 + rng_.below(64 - len + 1));
      else
        at = static_cast<uint32_t>(rng_.below(kPageSize - len + 1));
      for (uint32_t i = 0; i < len; ++i) page[at + i] ^= static_cast<uint8_t>(1 + rng_.below(255));
    }
    ++edits;
  } while ((model_.max_edits == 0 || edits < model_.max_edits) && rng_.unit() < p_more);
}

const std::vector<uint64_t>& SyntheticWorkload::next_epoch() {
  dirty_.clear();
  // Rejection sampling without replacement from the working set.
  while (dirty_.size() < model_.dirty_pages) {
    const uint64_t pfn = rng_.below(model_.working_set_pages);
    if (chosen_[pfn]) continue;
    chosen_[pfn] = 1;
    dirty_.push_back(pfn);
  }
  std::sort(dirty_.begin(), dirty_.end());
  for (uint64_t pfn : dirty_) {
    chosen_[pfn] = 0;
    uint8_t* page = memory_.get() + pfn * kPageSize;
    const double kind = rng_.unit();
    if (kind < model_.unchanged_share) continue;
    if (kind < model_.unchanged_share + model_.rewrite_share) {
      for (uint32_t i = 0; i < kPageSize; i += 8) {
        const uint64_t word = rng_.next();
        std::memcpy(page + i, &word, 8);
      }
    } else if (kind < model_.unchanged_share + model_.rewrite_share + model_.copy_share) {
      // A moved or duplicated page: another page's content, lightly edited.
      std::memmove(page, memory_.get() + rng_.below(model_.tracked_pages) * kPageSize, kPageSize);
      page[rng_.below(kPageSize)] ^= 0x5A;
    } else {
      edit_page(page);
    }
  }
  return dirty_;
}

WorkloadModel WorkloadOverrides::preset(const std::string& name) const {
  WorkloadModel m = *find_preset(name);
  if (pages) {
    m.tracked_pages = *pages;
    m.working_set_pages = std::min(m.working_set_pages, m.tracked_pages);
    m.dirty_pages = std::min(m.dirty_pages, m.working_set_pages);
  }
  if (working_set) m.working_set_pages = *working_set;
  if (dirty) m.dirty_pages = *dirty;
  if (edits) m.edits_per_page = *edits;
  if (edit_bytes) m.edit_bytes = *edit_bytes;
  if (zero_share) m.zero_edit_share = *zero_share;
  if (unchanged_share) m.unchanged_share = *unchanged_share;
  if (seed) m.seed = *seed;
  return m;
}

}  // namespace fgbi::eval
