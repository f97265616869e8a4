// A Xen domain as a dirty source. Each epoch: suspend the guest, fetch and
// clean the log-dirty bitmap, map the dirty pages read-only in batches of at
// most kMaxMapBatch, copy them, unmap, resume. Epoch 1 copies every page.
// Pages Xen refuses to map (errs[i] != 0: ballooned out, paged out, MMIO
// holes) are left out of the epoch and counted.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "source.hpp"
#include "xen/hypervisor.hpp"

namespace fgbi::adapters {
struct SourceSpec;
class SpecOptions;
}  // namespace fgbi::adapters

namespace fgbi::adapters::xen {

// Whether this build has the libxenctrl backend.
extern const bool kAvailable;

class XenSource final : public DirtySource {
 public:
  // Enables log-dirty mode; nullptr with `error` set on failure.
  static std::unique_ptr<XenSource> open(std::unique_ptr<Hypervisor> hypervisor,
                                         std::string& error);
  ~XenSource() override;

  uint64_t tracked_pages() const override { return hv_->p2m_pages(); }
  std::string description() const override;
  Next next(Epoch& epoch, std::string& message) override;

  // Dirty pages Xen would not map, over all epochs.
  uint64_t unmapped_pages() const { return unmapped_; }

 private:
  explicit XenSource(std::unique_ptr<Hypervisor> hypervisor);
  bool collect(std::string& error);
  bool copy_batch(const uint64_t* pfns, size_t n, std::string& error);

  std::unique_ptr<Hypervisor> hv_;
  uint64_t epoch_ = 0;
  uint64_t unmapped_ = 0;
  std::vector<uint64_t> candidates_;  // dirty per the bitmap
  std::vector<uint64_t> pfns_;        // copied
  std::vector<uint8_t> pages_;
  std::vector<const void*> pointers_;
  std::vector<int> errs_;
};

// Appends the pfns of the set bits among the first `bits` bits of `bitmap`,
// ascending.
void dirty_pfns(const uint64_t* bitmap, uint64_t bits, std::vector<uint64_t>& out);

// open_source() support: "xen:DOMID[,suspend=shutdown|pause]".
std::unique_ptr<DirtySource> open_xen_source(const SourceSpec& spec, SpecOptions& options,
                                             std::string& error);

}  // namespace fgbi::adapters::xen
