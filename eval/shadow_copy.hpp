// A dirty source with a copy of every page it handed out. Sources hand out
// each epoch's dirty pages only; the copy (epoch 1 carries every page) gives
// any page as of the last epoch, for a resynchronisation, and the whole
// primary memory, for the final replica check. `send`, `bench` and
// `downtime` replicate through one.
#pragma once

#include <cstdint>
#include <memory>
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
  // All tracked pages, tracked_pages() * kPageSize bytes.
  const uint8_t* memory() const { return memory_.get(); }
  size_t memory_bytes() const { return bytes_; }

 private:
  struct Unmap {
    size_t bytes;
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<adapters::DirtySource> source_;
  size_t bytes_;
  std::unique_ptr<uint8_t, Unmap> memory_;
  std::vector<const void*> pages_;
};

}  // namespace fgbi::eval
