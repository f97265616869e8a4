/* libxc_backend.c - see libxc_backend.h. Compiled only when libxen-dev is
 * found; nothing here has run against a hypervisor (docs/adapters.md). */
#include "libxc_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xenguest.h>
#include <xentoollog.h>

/* A guest asked to suspend that has not done so within this time is an error. */
#define SUSPEND_TIMEOUT_NS (5LL * 1000 * 1000 * 1000)

struct fgbi_xen {
  xentoollog_logger_stdiostream* logger; /* quiet: failures are reported by the caller */
  xc_interface* xch;
  xenforeignmemory_handle* fmem;
  uint32_t domid;
  enum fgbi_xen_stop stop;
  uint64_t p2m_pages;
  xc_hypercall_buffer_t bitmap; /* log-dirty bitmap, page aligned */
  int bitmap_pages;
  int log_dirty;
};

_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t), "xen_pfn_t is 64-bit on this target");
_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "bitmap words are 64-bit");

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

fgbi_xen* fgbi_xen_open(uint32_t domid, enum fgbi_xen_stop stop, const char** failed_call) {
  fgbi_xen* x = calloc(1, sizeof *x);
  xen_pfn_t max_gpfn = 0;
  if (!x) {
    *failed_call = "calloc";
    return NULL;
  }
  x->domid = domid;
  x->stop = stop;
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

int fgbi_xen_enable_log_dirty(fgbi_xen* x, const char** failed_call) {
  if (xc_shadow_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0) {
    *failed_call = "xc_shadow_control(ENABLE_LOGDIRTY)";
    return -1;
  }
  x->log_dirty = 1;
  return 0;
}

void fgbi_xen_disable_log_dirty(fgbi_xen* x) {
  if (x->log_dirty) xc_shadow_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
  x->log_dirty = 0;
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

const void* fgbi_xen_map(fgbi_xen* x, const uint64_t* pfns, size_t n, int* errs,
                         const char** failed_call) {
  void* base = xenforeignmemory_map(x->fmem, x->domid, PROT_READ, n, (const xen_pfn_t*)pfns, errs);
  if (!base) *failed_call = "xenforeignmemory_map";
  return base;
}

void fgbi_xen_unmap(fgbi_xen* x, const void* base, size_t n) {
  xenforeignmemory_unmap(x->fmem, (void*)base, n);
}

static int suspended(fgbi_xen* x, int* done) {
  xc_dominfo_t info;
  if (xc_domain_getinfo(x->xch, x->domid, 1, &info) != 1 || info.domid != x->domid) return -1;
  *done = info.shutdown && info.shutdown_reason == SHUTDOWN_suspend;
  return 0;
}

int fgbi_xen_suspend(fgbi_xen* x, const char** failed_call) {
  if (x->stop == FGBI_XEN_STOP_PAUSE) {
    if (xc_domain_pause(x->xch, x->domid) < 0) {
      *failed_call = "xc_domain_pause";
      return -1;
    }
    return 0;
  }
  if (xc_domain_shutdown(x->xch, x->domid, SHUTDOWN_suspend) < 0) {
    *failed_call = "xc_domain_shutdown(SHUTDOWN_suspend)";
    return -1;
  }
  const int64_t deadline = now_ns() + SUSPEND_TIMEOUT_NS;
  for (;;) {
    int done = 0;
    if (suspended(x, &done) < 0) {
      *failed_call = "xc_domain_getinfo";
      return -1;
    }
    if (done) return 0;
    if (now_ns() > deadline) {
      *failed_call = "waiting for the guest to suspend";
      errno = ETIMEDOUT;
      return -1;
    }
    const struct timespec pause = {0, 100000};
    nanosleep(&pause, NULL);
  }
}

int fgbi_xen_resume(fgbi_xen* x, const char** failed_call) {
  if (x->stop == FGBI_XEN_STOP_PAUSE) {
    if (xc_domain_unpause(x->xch, x->domid) < 0) {
      *failed_call = "xc_domain_unpause";
      return -1;
    }
    return 0;
  }
  if (xc_domain_resume(x->xch, x->domid, 1) < 0) {
    *failed_call = "xc_domain_resume(fast)";
    return -1;
  }
  return 0;
}
