// The few Xen operations the Xen dirty source needs (DESIGN.md §8), behind
// an interface so that bitmap walking, batching, error paths and the
// suspend/resume sequence are tested with a fake; libxc_hypervisor.cpp
// implements it over libxenctrl 4.17.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fgbi::adapters::xen {

// Mapped pages per map call: xenforeignmemory_map batches, as libxc's own
// save code does.
inline constexpr size_t kMaxMapBatch = 1024;

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

  // Guest pages in the p2m (maximum gpfn + 1); bitmaps have this many bits.
  virtual uint64_t p2m_pages() const = 0;
  // xc_shadow_control(ENABLE_LOGDIRTY) / (OFF).
  virtual bool enable_log_dirty(std::string& error) = 0;
  virtual void disable_log_dirty() = 0;
  // xc_logdirty_control(CLEAN): returns the dirty bitmap (bit pfn % 64 of
  // word pfn / 64) and clears it in Xen; nullptr with `error` on failure.
  // The bitmap stays valid until the next call.
  virtual const uint64_t* fetch_and_clean_dirty_bitmap(std::string& error) = 0;
  // xenforeignmemory_map(PROT_READ) of n <= kMaxMapBatch pfns: page i at
  // base + i * 4096, readable when errs[i] == 0 (else a negative errno).
  // nullptr with `error` when nothing could be mapped.
  virtual const uint8_t* map_pages(const uint64_t* pfns, size_t n, int* errs,
                                   std::string& error) = 0;
  virtual void unmap_pages(const uint8_t* base, size_t n) = 0;
  // Stops the guest (shutdown(SHUTDOWN_suspend) and wait, or pause) and lets
  // it run again (xc_domain_resume(fast) or unpause).
  virtual bool suspend(std::string& error) = 0;
  virtual bool resume(std::string& error) = 0;
  // "domain 7 (suspend by shutdown)" and the like.
  virtual std::string describe() const = 0;
};

}  // namespace fgbi::adapters::xen
