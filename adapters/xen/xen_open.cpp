// open_xen_source(): the libxenctrl-backed Hypervisor when this build has
// Xen support, a clear error otherwise.
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "spec.hpp"
#include "xen/xen_source.hpp"
#ifdef FGBI_HAVE_XEN
#include "xen/libxc_backend.h"
#endif

namespace fgbi::adapters::xen {
namespace {

#ifdef FGBI_HAVE_XEN
class LibxcHypervisor final : public Hypervisor {
 public:
  LibxcHypervisor(fgbi_xen* x, uint32_t domid) : x_(x), domid_(domid) {}
  ~LibxcHypervisor() override { fgbi_xen_close(x_); }

  uint64_t p2m_pages() const override { return fgbi_xen_p2m_pages(x_); }
  GuestType guest_type() const override {
    switch (fgbi_xen_guest_type(x_)) {
      case FGBI_XEN_PV: return GuestType::kPv;
      case FGBI_XEN_PVH: return GuestType::kPvh;
      case FGBI_XEN_HVM: break;
    }
    return GuestType::kHvm;
  }
  int enable_log_dirty(std::string& error) override {
    return errno_of(fgbi_xen_enable_log_dirty(x_, &failed_) == 0, error);
  }
  int disable_log_dirty(std::string& error) override {
    return errno_of(fgbi_xen_disable_log_dirty(x_, &failed_) == 0, error);
  }
  const uint64_t* fetch_and_clean_dirty_bitmap(std::string& error) override {
    const uint64_t* bitmap = fgbi_xen_clean_bitmap(x_, &failed_);
    check(bitmap != nullptr, error);
    return bitmap;
  }
  bool page_types(const uint64_t* pfns, size_t n, uint64_t* types, std::string& error) override {
    return check(fgbi_xen_page_types(x_, pfns, n, types, &failed_) == 0, error);
  }
  const uint8_t* map_pages(const uint64_t* pfns, size_t n, int* errs, std::string& error) override {
    const void* base = fgbi_xen_map(x_, pfns, n, errs, &failed_);
    check(base != nullptr, error);
    return static_cast<const uint8_t*>(base);
  }
  void unmap_pages(const uint8_t* base, size_t n) override { fgbi_xen_unmap(x_, base, n); }
  bool pause(std::string& error) override {
    return check(fgbi_xen_pause(x_, &failed_) == 0, error);
  }
  bool unpause(std::string& error) override {
    return check(fgbi_xen_unpause(x_, &failed_) == 0, error);
  }
  std::string describe() const override { return "domain " + std::to_string(domid_); }

 private:
  bool check(bool ok, std::string& error) const {
    if (!ok) error = std::string(failed_) + ": " + std::strerror(errno);
    return ok;
  }
  int errno_of(bool ok, std::string& error) const {
    if (ok) return 0;
    const int err = errno != 0 ? errno : EIO;
    error = std::string(failed_) + ": " + std::strerror(err);
    return err;
  }
  fgbi_xen* x_;
  uint32_t domid_;
  const char* failed_ = "";
};
#endif

}  // namespace

#ifdef FGBI_HAVE_XEN
const bool kAvailable = true;
#else
const bool kAvailable = false;
#endif

std::unique_ptr<DirtySource> open_xen_source(const SourceSpec& spec, SpecOptions& options,
                                             std::string& error) {
  uint64_t domid = 0;
  const std::string& text = spec.values.front();
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), domid);
  if (spec.values.size() != 1 || ec != std::errc() || ptr != text.data() + text.size() ||
      domid == 0 || domid >= 0x7FF0) {
    error = "xen: takes one guest domain id (not 0), e.g. xen:7";
    return nullptr;
  }
  // suspend=shutdown (a remote SHUTDOWN_suspend, then xc_domain_resume(fast))
  // is gone: the guest never made the suspend hypercall that a fast resume
  // pretends to complete, and PV guests crash (issue 14). libxl's
  // cooperative suspend is not implemented; pausing is enough for a
  // consistent copy of memory, which is all this source captures.
  std::string stop;
  if (!options.get_choice("suspend", "pause", {"pause", "shutdown"}, stop, error) ||
      !options.all_used(error))
    return nullptr;
  if (stop != "pause") {
    error = "xen:" + text +
            ": suspend=shutdown is not supported: a remote SHUTDOWN_suspend followed by a fast "
            "resume crashes PV guests, and libxl's cooperative suspend (suspend event channel, "
            "control/shutdown) is not implemented; use suspend=pause (the default)";
    return nullptr;
  }
#ifdef FGBI_HAVE_XEN
  const char* failed = "";
  fgbi_xen* x = fgbi_xen_open(static_cast<uint32_t>(domid), &failed);
  if (x == nullptr) {
    error = "xen:" + text + ": " + failed + ": " + std::strerror(errno) +
            " (needs dom0 with privcmd access)";
    return nullptr;
  }
  return XenSource::open(std::make_unique<LibxcHypervisor>(x, static_cast<uint32_t>(domid)), error);
#else
  error = "xen:" + text +
          ": this build has no Xen support (libxen-dev was not found when it "
          "was configured)";
  return nullptr;
#endif
}

}  // namespace fgbi::adapters::xen
