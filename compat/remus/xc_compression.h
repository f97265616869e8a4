/*
 * xc_compression.h - Remus checkpoint compression, the xc_compression_* API
 * that Xen 4.2-4.13 declared in xenctrl.h and built into libxenguest (only
 * 4.2-4.5's xc_domain_save.c/xc_domain_restore.c called it; 4.14 removed
 * it), implemented by libfgbi_xc_compression on fgbi's sender engine as a
 * legacy drop-in: Xen 4.17 uses fgbi through the xen: source instead.
 *
 * Tooling written against the old API links against this library instead
 * and is unchanged: same names, signatures and return codes. Pages travel as
 * the 64-byte blocks that changed since the backup's copy (FGBI) instead of
 * Remus's word-run deltas against a 32 MiB page cache. Both ends must use
 * this library: the compressed stream format is fgbi's (docs/adapters.md),
 * not the old one.
 *
 * Sender (after the guest resumes):
 *   ctx = xc_compression_create_context(xch, p2m_size);
 *   for each dirty page: rc = xc_compression_add_page(xch, ctx, page, pfn, israw);
 *       0 = buffered; -1 = buffered and the buffer is now full: flush (below)
 *       before adding more; -2 = pfn >= p2m_size (or a NULL argument).
 *   flush: while ((rc = xc_compression_compress_pages(xch, ctx, buf, size, &len)) != 0)
 *       send len bytes of buf;   rc 1 = every buffered page written,
 *                                rc -1 = buf is full, call again for more.
 *   The call that returns 0 (nothing left) empties the page buffer.
 * Receiver: with all the checkpoint's compressed bytes in buf, once per page
 * in the order the pages were added:
 *   xc_compression_uncompress_page(xch, buf, size, &pos, guest_page)  -> 0, or -1
 *   on a malformed or corrupt buffer (guest_page then unchanged).
 *
 * israw pages (page tables, rewritten by the receiver) are passed through
 * whole, and the next non-raw copy of that pfn is sent whole too, since the
 * backup's page then differs from what was sent.
 *
 * xch is never dereferenced (it may be NULL). A context is used by one
 * thread at a time.
 */
#ifndef FGBI_XC_COMPRESSION_H
#define FGBI_XC_COMPRESSION_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xc_interface_core xc_interface;
typedef struct compression_ctx comp_ctx;

/* Pages the sender buffers before add_page returns -1, as in Xen. */
#define FGBI_XC_COMPRESSION_BUFFER_PAGES 8192
/* The most bytes one page takes in the compressed stream: compbuf_size must
 * be at least this, or compress_pages can never make progress. */
#define FGBI_XC_COMPRESSION_MAX_PAGE_BYTES 4117

/* NULL on failure (p2m_size 0, or no memory for the sender state). */
comp_ctx* xc_compression_create_context(xc_interface* xch, unsigned long p2m_size);
void xc_compression_free_context(xc_interface* xch, comp_ctx* ctx);

int xc_compression_add_page(xc_interface* xch, comp_ctx* ctx, char* page, unsigned long pfn,
                            int israw);
int xc_compression_compress_pages(xc_interface* xch, comp_ctx* ctx, char* compbuf,
                                  unsigned long compbuf_size, unsigned long* compbuf_len);
void xc_compression_reset_pagebuf(xc_interface* xch, comp_ctx* ctx);
int xc_compression_uncompress_page(xc_interface* xch, char* compbuf, unsigned long compbuf_size,
                                   unsigned long* compbuf_pos, char* dest);

/* fgbi extension: why the last call on this thread failed ("" if none). */
const char* fgbi_xc_compression_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* FGBI_XC_COMPRESSION_H */
