// A Xen domain as a dirty source. Open refuses PV guests (foreign maps of
// a PV guest take machine frames; no p2m translation here) and HVM guests
// (QEMU's writes are not logged without its own dirty tracking), and
// enables log-dirty mode, turning it off and on again when it is already on
// (xg_sr_save.c's enable_logdirty). Each epoch: pause the guest, fetch and
// clean the log-dirty bitmap, ask Xen the type of each candidate page in
// batches of at most kMaxMapBatch and skip the holes (XTAB, XALLOC, BROKEN),
// map the rest read-only, copy them, unmap, unpause. Epoch 1 copies every
// page of the p2m that is not a hole. A page Xen will not map although it
// is not a hole fails the epoch, as it fails Xen's own save.
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
  // Checks the guest type and enables log-dirty mode; nullptr with `error`
  // set on failure.
  static std::unique_ptr<XenSource> open(std::unique_ptr<Hypervisor> hypervisor,
                                         std::string& error);
  ~XenSource() override;

  uint64_t tracked_pages() const override { return hv_->p2m_pages(); }
  std::string description() const override;
  Next next(Epoch& epoch, std::string& message) override;

  // Candidate pages skipped as holes (no data: XTAB, XALLOC, BROKEN), over
  // all epochs.
  uint64_t hole_pages() const { return holes_; }

 private:
  explicit XenSource(std::unique_ptr<Hypervisor> hypervisor);
  bool collect(std::string& error);
  bool copy_batch(const uint64_t* pfns, size_t n, std::string& error);

  std::unique_ptr<Hypervisor> hv_;
  uint64_t epoch_ = 0;
  uint64_t holes_ = 0;
  bool resend_all_ = false;           // the last epoch failed after cleaning the bitmap
  std::vector<uint64_t> candidates_;  // dirty per the bitmap
  std::vector<uint64_t> types_;       // of one batch of candidates
  std::vector<uint64_t> present_;     // the candidates of one batch that hold data
  std::vector<uint64_t> pfns_;        // copied
  std::vector<uint8_t> pages_;
  std::vector<const void*> pointers_;
  std::vector<int> errs_;
};

// Appends the pfns of the set bits among the first `bits` bits of `bitmap`,
// ascending.
void dirty_pfns(const uint64_t* bitmap, uint64_t bits, std::vector<uint64_t>& out);

// Whether a page of this xc_get_pfn_type_batch type holds data (ordinary
// pages and PV page tables); false for holes. Unknown types are errors.
enum class PageData { kPresent, kNone, kUnknown };
PageData page_data(uint64_t type);

// open_source() support: "xen:DOMID[,suspend=pause]".
std::unique_ptr<DirtySource> open_xen_source(const SourceSpec& spec, SpecOptions& options,
                                             std::string& error);

}  // namespace fgbi::adapters::xen
