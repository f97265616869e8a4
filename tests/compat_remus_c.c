/* The Remus shim's header from C11: a checkpoint of two pages round-trips. */
#include <string.h>

#include "xc_compression.h"

int remus_c_roundtrip(void) {
  static char page_a[4096], page_b[4096], backup[2][4096], buf[2 * 4200];
  unsigned long len = 0, pos = 0;
  int rc;
  comp_ctx* ctx = xc_compression_create_context(NULL, 16);
  if (!ctx) return 1;
  memset(page_a, 'a', sizeof page_a);
  memset(page_b, 'b', sizeof page_b);
  if (xc_compression_add_page(NULL, ctx, page_a, 3, 0) != 0) return 2;
  if (xc_compression_add_page(NULL, ctx, page_b, 9, 1) != 0) return 3;
  rc = xc_compression_compress_pages(NULL, ctx, buf, sizeof buf, &len);
  if (rc != 1 || xc_compression_compress_pages(NULL, ctx, buf + len, sizeof buf - len, &pos) != 0)
    return 4;
  pos = 0;
  if (xc_compression_uncompress_page(NULL, buf, len, &pos, backup[0]) != 0 ||
      xc_compression_uncompress_page(NULL, buf, len, &pos, backup[1]) != 0 || pos != len)
    return 5;
  xc_compression_free_context(NULL, ctx);
  return memcmp(backup[0], page_a, 4096) != 0 || memcmp(backup[1], page_b, 4096) != 0 ? 6 : 0;
}
