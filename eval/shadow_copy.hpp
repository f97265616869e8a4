// A dirty source with a copy of every page it handed out. Sources hand out
// each epoch's dirty pages only; the copy (epoch 1 carries every page) gives
// any page as of the last epoch, for a resynchronisation, and the whole
// primary memory, for the final replica check. `send`, `bench` and
// `downtime` replicate through one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source.hpp"

namespace fgbi::eval {

class ShadowCopy {
 public:
  // Throws std::bad_alloc when the address space for the copy cannot be reserved.
  explicit ShadowCopy(std::unique_ptr<adapters::DirtySource> source);

  const adapters::DirtySource& source() const { return *source_; }
  uint64_t tracked_pages() const { return source_->tracked_pages(); }
  // The source's next epoch, its pages copied: epoch.pages point into the
  // copy, readable until the next call.
  adapters::Next next(adapters::Epoch& epoch, std::string& message);
  const uint8_t* page(uint64_t pfn) const { return memory_.get() + pfn * adapters::kPageSize; }
  // Whether the source ever handed the page out. One it never did (a hole:
  // Xen's p2m gaps) reads as zeros, and a full synchronisation leaves it out.
  bool held(uint64_t pfn) const { return (held_[pfn / 64] >> (pfn % 64)) & 1; }
  // All tracked pages, tracked_pages() * kPageSize bytes.
  const uint8_t* memory() const { return memory_.get(); }
  size_t memory_bytes() const { return bytes_; }
  // fgbi_memory_digest of memory(), reading only the pages held: holes are
  // hashed as zeros, never faulted in (a PVH guest's 4 GiB span costs minutes).
  uint64_t memory_digest() const;
  // How long the source kept the workload stopped for its last epoch (an
  // adapter's own suspend -> resume, e.g. Xen's pause -> unpause), for a
  // source that stops it at all.
  std::optional<uint64_t> last_pause_ns() const;

 private:
  struct Unmap {
    size_t bytes;
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<adapters::DirtySource> source_;
  size_t bytes_;
  std::unique_ptr<uint8_t, Unmap> memory_;
  std::vector<const void*> pages_;
  std::vector<uint64_t> held_;  // a bit per tracked page
  uint64_t last_stopped_ns_ = 0;
};

}  // namespace fgbi::eval
