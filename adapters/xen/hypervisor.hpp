// The few Xen operations the Xen dirty source needs (DESIGN.md §8), behind
// an interface so that guest-type checks, the log-dirty fallback, hole
// skipping, bitmap walking, batching, error paths and the pause/unpause
// sequence are tested with a fake (tests/adapters_xen_test.cpp);
// xen_open.cpp implements it over libxc_backend.c (libxenctrl 4.17).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fgbi::adapters::xen {

// Pages per map and page-type call: xenforeignmemory_map batches, as libxc's
// own save code does, and XEN_DOMCTL_getpageframeinfo3 takes at most 1024.
inline constexpr size_t kMaxMapBatch = 1024;

// Page types from xc_get_pfn_type_batch (XEN_DOMCTL_PFINFO_* in Xen's public
// domctl.h; libxc_backend.c checks that the values agree).
inline constexpr uint64_t kPfinfoNotab = 0x0ULL << 28;  // ordinary page
inline constexpr uint64_t kPfinfoL1tab = 0x1ULL << 28;  // PV page tables, L1..L4
inline constexpr uint64_t kPfinfoL4tab = 0x4ULL << 28;
inline constexpr uint64_t kPfinfoLpintab = 0x1ULL << 31;  // pinned (with L1..L4)
inline constexpr uint64_t kPfinfoBroken = 0xdULL << 28;   // broken page: no data
inline constexpr uint64_t kPfinfoXalloc = 0xeULL << 28;   // allocate-only: no data
inline constexpr uint64_t kPfinfoXtab = 0xfULL << 28;     // hole: nothing there

// How the guest is virtualised (xc_domain_getinfo: the hvm flag and the
// emulated platform devices, which libxl sets per type).
enum class GuestType {
  kPv,   // paravirtualised: foreign maps take machine frames
  kPvh,  // HVM container without emulated devices: guest frames, no device model
  kHvm,  // emulated platform devices, served by a device model (QEMU)
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

  // Guest pages in the p2m (maximum gpfn + 1); bitmaps have this many bits.
  virtual uint64_t p2m_pages() const = 0;
  virtual GuestType guest_type() const = 0;
  // xc_shadow_control(ENABLE_LOGDIRTY) and (OFF): 0, or the errno of the
  // failure with `error` naming the call and the errno's text.
  virtual int enable_log_dirty(std::string& error) = 0;
  virtual int disable_log_dirty(std::string& error) = 0;
  // xc_logdirty_control(CLEAN): returns the dirty bitmap (bit pfn % 64 of
  // word pfn / 64) and clears it in Xen; nullptr with `error` on failure.
  // The bitmap stays valid until the next call.
  virtual const uint64_t* fetch_and_clean_dirty_bitmap(std::string& error) = 0;
  // xc_get_pfn_type_batch of n <= kMaxMapBatch pfns: types[i] is the
  // kPfinfo* type of pfns[i]. False with `error` on failure.
  virtual bool page_types(const uint64_t* pfns, size_t n, uint64_t* types, std::string& error) = 0;
  // xenforeignmemory_map(PROT_READ) of n <= kMaxMapBatch pfns: page i at
  // base + i * 4096, readable when errs[i] == 0 (else an errno, negative
  // as libxenforeignmemory reports it). nullptr with `error` when nothing
  // could be mapped.
  virtual const uint8_t* map_pages(const uint64_t* pfns, size_t n, int* errs,
                                   std::string& error) = 0;
  virtual void unmap_pages(const uint8_t* base, size_t n) = 0;
  // xc_domain_pause / xc_domain_unpause. No remote SHUTDOWN_suspend and no
  // fast resume (DESIGN.md §8: that crashes PV guests).
  virtual bool pause(std::string& error) = 0;
  virtual bool unpause(std::string& error) = 0;
  // "domain 7" and the like.
  virtual std::string describe() const = 0;
};

}  // namespace fgbi::adapters::xen
