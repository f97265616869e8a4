/* fgbi.h alone: the stable codec API, without the session header and
 * without the static-linking-only parameters. */
#include <fgbi.h>
#include <string.h>

#ifdef FGBI_SESSION_H
#error "fgbi.h includes fgbi_session.h"
#endif
#if defined(FGBI_P_PAGE_SIZE) || defined(FGBI_P_TEST_HASH_BITS)
#error "fgbi.h shows static-linking-only parameters without FGBI_STATIC_LINKING_ONLY"
#endif

int codec_only_check(void) {
  const char* name = fgbi_param_name(FGBI_P_BLOCK_SIZE);
  return name != NULL && strcmp(name, "FGBI_P_BLOCK_SIZE") == 0 ? 0 : 1;
}
