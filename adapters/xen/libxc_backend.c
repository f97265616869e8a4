/* libxc_backend.c - see libxc_backend.h. Compiled only when libxen-dev is
 * found; nothing here has run against a hypervisor (docs/adapters.md). */
#include "libxc_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>

/* Exported by libxenctrl 4.17 (symbol version VERS_4.17.0) but declared only
 * in its private xc_private.h; Xen's own save code (xg_sr_save.c) calls it to
 * find holes. XEN_DOMCTL_getpageframeinfo3: arr holds pfns on entry (gfns for
 * HVM and PVH guests, mfns for PV) and their XEN_DOMCTL_PFINFO_* types on
 * return. */
int xc_get_pfn_type_batch(xc_interface* xch, uint32_t dom, unsigned int num, xen_pfn_t* arr);

struct fgbi_xen {
  xentoollog_logger_stdiostream* logger; /* quiet: failures are reported by the caller */
  xc_interface* xch;
  xenforeignmemory_handle* fmem;
  uint32_t domid;
  enum fgbi_xen_guest guest;
  uint64_t p2m_pages;
  xc_hypercall_buffer_t bitmap; /* log-dirty bitmap, page aligned */
  int bitmap_pages;
};

_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t), "xen_pfn_t is 64-bit on this target");
_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "bitmap words are 64-bit");
/* The values hypervisor.hpp classifies pages by. */
_Static_assert(XEN_DOMCTL_PFINFO_NOTAB == 0x0U << 28, "PFINFO_NOTAB");
_Static_assert(XEN_DOMCTL_PFINFO_L1TAB == 0x1U << 28, "PFINFO_L1TAB");
_Static_assert(XEN_DOMCTL_PFINFO_L4TAB == 0x4U << 28, "PFINFO_L4TAB");
_Static_assert(XEN_DOMCTL_PFINFO_LPINTAB == 0x1U << 31, "PFINFO_LPINTAB");
_Static_assert(XEN_DOMCTL_PFINFO_BROKEN == 0xdU << 28, "PFINFO_BROKEN");
_Static_assert(XEN_DOMCTL_PFINFO_XALLOC == 0xeU << 28, "PFINFO_XALLOC");
_Static_assert(XEN_DOMCTL_PFINFO_XTAB == 0xfU << 28, "PFINFO_XTAB");

/* libxl gives PVH guests the emulated local APIC only and HVM guests the
 * whole emulated platform (libxl_x86.c: emulation_flags); VPCI is for PVH
 * dom0. Any other emulated device means a device model serves the guest. */
static enum fgbi_xen_guest guest_type(const xc_dominfo_t* info) {
  if (!info->hvm) return FGBI_XEN_PV;
  const uint32_t platform = XEN_X86_EMU_ALL & ~(uint32_t)(XEN_X86_EMU_LAPIC | XEN_X86_EMU_VPCI);
  return (info->arch_config.emulation_flags & platform) != 0 ? FGBI_XEN_HVM : FGBI_XEN_PVH;
}

fgbi_xen* fgbi_xen_open(uint32_t domid, const char** failed_call) {
  fgbi_xen* x = calloc(1, sizeof *x);
  xc_dominfo_t info;
  xen_pfn_t max_gpfn = 0;
  if (!x) {
    *failed_call = "calloc";
    return NULL;
  }
  x->domid = domid;
  x->bitmap.ubuf = (void*)-1; /* as DECLARE_HYPERCALL_BUFFER: no bounce */
  x->logger = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
  x->xch = xc_interface_open((xentoollog_logger*)x->logger, (xentoollog_logger*)x->logger, 0);
  if (!x->xch) {
    *failed_call = "xc_interface_open";
    goto fail;
  }
  x->fmem = xenforeignmemory_open((xentoollog_logger*)x->logger, 0);
  if (!x->fmem) {
    *failed_call = "xenforeignmemory_open";
    goto fail;
  }
  /* Reports the next domain when domid does not exist. */
  if (xc_domain_getinfo(x->xch, domid, 1, &info) != 1 || info.domid != domid) {
    *failed_call = "xc_domain_getinfo (no such domain)";
    errno = ESRCH;
    goto fail;
  }
  x->guest = guest_type(&info);
  if (xc_domain_maximum_gpfn(x->xch, domid, &max_gpfn) < 0) {
    *failed_call = "xc_domain_maximum_gpfn";
    goto fail;
  }
  x->p2m_pages = (uint64_t)max_gpfn + 1;
  x->bitmap_pages = (int)((x->p2m_pages + 8 * XC_PAGE_SIZE - 1) / (8 * XC_PAGE_SIZE));
  if (!xc__hypercall_buffer_alloc_pages(x->xch, &x->bitmap, x->bitmap_pages)) {
    *failed_call = "xc_hypercall_buffer_alloc_pages";
    goto fail;
  }
  return x;
fail:
  fgbi_xen_close(x);
  return NULL;
}

void fgbi_xen_close(fgbi_xen* x) {
  if (!x) return;
  const int saved = errno;
  if (x->bitmap.hbuf) xc__hypercall_buffer_free_pages(x->xch, &x->bitmap, x->bitmap_pages);
  if (x->fmem) xenforeignmemory_close(x->fmem);
  if (x->xch) xc_interface_close(x->xch);
  xtl_logger_destroy((xentoollog_logger*)x->logger);
  free(x);
  errno = saved;
}

uint64_t fgbi_xen_p2m_pages(const fgbi_xen* x) { return x->p2m_pages; }

enum fgbi_xen_guest fgbi_xen_guest_type(const fgbi_xen* x) { return x->guest; }

int fgbi_xen_enable_log_dirty(fgbi_xen* x, const char** failed_call) {
  if (xc_shadow_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0) {
    *failed_call = "xc_shadow_control(ENABLE_LOGDIRTY)";
    return -1;
  }
  return 0;
}

int fgbi_xen_disable_log_dirty(fgbi_xen* x, const char** failed_call) {
  if (xc_shadow_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0) < 0) {
    *failed_call = "xc_shadow_control(OFF)";
    return -1;
  }
  return 0;
}

const uint64_t* fgbi_xen_clean_bitmap(fgbi_xen* x, const char** failed_call) {
  xc_shadow_op_stats_t stats;
  const long long rc = xc_logdirty_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_CLEAN, &x->bitmap,
                                           x->p2m_pages, XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL, &stats);
  if (rc < 0) {
    *failed_call = "xc_logdirty_control(CLEAN)";
    return NULL;
  }
  return (const uint64_t*)x->bitmap.hbuf;
}

int fgbi_xen_page_types(fgbi_xen* x, const uint64_t* pfns, size_t n, uint64_t* types,
                        const char** failed_call) {
  if (n > 1024) {
    *failed_call = "xc_get_pfn_type_batch (more than 1024 pfns)";
    errno = E2BIG;
    return -1;
  }
  memcpy(types, pfns, n * sizeof *types);
  if (xc_get_pfn_type_batch(x->xch, x->domid, (unsigned int)n, (xen_pfn_t*)types) != 0) {
    *failed_call = "xc_get_pfn_type_batch";
    return -1;
  }
  return 0;
}

const void* fgbi_xen_map(fgbi_xen* x, const uint64_t* pfns, size_t n, int* errs,
                         const char** failed_call) {
  void* base = xenforeignmemory_map(x->fmem, x->domid, PROT_READ, n, (const xen_pfn_t*)pfns, errs);
  if (!base) *failed_call = "xenforeignmemory_map";
  return base;
}

void fgbi_xen_unmap(fgbi_xen* x, const void* base, size_t n) {
  xenforeignmemory_unmap(x->fmem, (void*)base, n);
}

int fgbi_xen_pause(fgbi_xen* x, const char** failed_call) {
  if (xc_domain_pause(x->xch, x->domid) < 0) {
    *failed_call = "xc_domain_pause";
    return -1;
  }
  return 0;
}

int fgbi_xen_unpause(fgbi_xen* x, const char** failed_call) {
  if (xc_domain_unpause(x->xch, x->domid) < 0) {
    *failed_call = "xc_domain_unpause";
    return -1;
  }
  return 0;
}
