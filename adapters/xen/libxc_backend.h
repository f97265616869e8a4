/*
 * libxc_backend.h - a plain C face over libxenctrl 4.17 and
 * libxenforeignmemory, whose headers do not compile as C++. Used only by
 * xen_open.cpp; every function returns 0 / non-NULL on success and -1 /
 * NULL with errno set on failure, and sets *failed_call to the failing
 * call's name.
 */
#ifndef FGBI_ADAPTERS_XEN_LIBXC_BACKEND_H
#define FGBI_ADAPTERS_XEN_LIBXC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fgbi_xen fgbi_xen;

enum fgbi_xen_guest { FGBI_XEN_PV = 0, FGBI_XEN_PVH = 1, FGBI_XEN_HVM = 2 };

/* Opens xenctrl and xenforeignmemory handles for domid, finds its type and
 * sizes its p2m. */
fgbi_xen* fgbi_xen_open(uint32_t domid, const char** failed_call);
void fgbi_xen_close(fgbi_xen* x);
uint64_t fgbi_xen_p2m_pages(const fgbi_xen* x);
enum fgbi_xen_guest fgbi_xen_guest_type(const fgbi_xen* x);
/* xc_shadow_control(ENABLE_LOGDIRTY) / (OFF), once each: no retries. */
int fgbi_xen_enable_log_dirty(fgbi_xen* x, const char** failed_call);
int fgbi_xen_disable_log_dirty(fgbi_xen* x, const char** failed_call);
/* Bit pfn%64 of 64-bit word pfn/64; valid until the next call. */
const uint64_t* fgbi_xen_clean_bitmap(fgbi_xen* x, const char** failed_call);
/* types[i] = XEN_DOMCTL_PFINFO_* of pfns[i], n <= 1024. */
int fgbi_xen_page_types(fgbi_xen* x, const uint64_t* pfns, size_t n, uint64_t* types,
                        const char** failed_call);
const void* fgbi_xen_map(fgbi_xen* x, const uint64_t* pfns, size_t n, int* errs,
                         const char** failed_call);
void fgbi_xen_unmap(fgbi_xen* x, const void* base, size_t n);
/* xc_domain_pause / xc_domain_unpause. */
int fgbi_xen_pause(fgbi_xen* x, const char** failed_call);
int fgbi_xen_unpause(fgbi_xen* x, const char** failed_call);

#ifdef __cplusplus
}
#endif
#endif
