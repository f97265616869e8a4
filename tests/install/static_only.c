/* The static-linking-only section of the installed fgbi.h, for a consumer
 * that links libfgbi statically: its parameters keep their names. */
#define FGBI_STATIC_LINKING_ONLY
#include <fgbi.h>
#include <string.h>

int main(void) {
  const char* page = fgbi_param_name(FGBI_P_PAGE_SIZE);
  const char* bits = fgbi_param_name(FGBI_P_TEST_HASH_BITS);
  return page && bits && strcmp(page, "FGBI_P_PAGE_SIZE") == 0 &&
                 strcmp(bits, "FGBI_P_TEST_HASH_BITS") == 0
             ? 0
             : 1;
}
