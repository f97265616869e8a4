/*
 * libxc_backend.h - a plain C face over libxenctrl 4.17, libxenforeignmemory
 * and libxenguest, whose headers do not compile as C++. Used only by
 * xen_open.cpp; every function returns 0 / non-NULL on success and -1 /
 * NULL with errno set on failure, and fills `error` (when given) with the
 * failing call's name.
 */
#ifndef FGBI_ADAPTERS_XEN_LIBXC_BACKEND_H
#define FGBI_ADAPTERS_XEN_LIBXC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fgbi_xen fgbi_xen;

enum fgbi_xen_stop { FGBI_XEN_STOP_SHUTDOWN = 0, FGBI_XEN_STOP_PAUSE = 1 };

/* Opens xenctrl and xenforeignmemory handles for domid and sizes its p2m. */
fgbi_xen* fgbi_xen_open(uint32_t domid, enum fgbi_xen_stop stop, const char** failed_call);
void fgbi_xen_close(fgbi_xen* x);
uint64_t fgbi_xen_p2m_pages(const fgbi_xen* x);
int fgbi_xen_enable_log_dirty(fgbi_xen* x, const char** failed_call);
void fgbi_xen_disable_log_dirty(fgbi_xen* x);
/* Bit pfn%64 of 64-bit word pfn/64; valid until the next call. */
const uint64_t* fgbi_xen_clean_bitmap(fgbi_xen* x, const char** failed_call);
const void* fgbi_xen_map(fgbi_xen* x, const uint64_t* pfns, size_t n, int* errs,
                         const char** failed_call);
void fgbi_xen_unmap(fgbi_xen* x, const void* base, size_t n);
int fgbi_xen_suspend(fgbi_xen* x, const char** failed_call);
int fgbi_xen_resume(fgbi_xen* x, const char** failed_call);

#ifdef __cplusplus
}
#endif
#endif
