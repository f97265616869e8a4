/* A codec-only program: fgbi.h alone, linked against libfgbi alone. */
#include <fgbi.h>
#include <stdio.h>

int codec_only_check(void);

int main(void) {
  printf("fgbi %s (codec only)\n", fgbi_version_string());
  if (fgbi_version_number() != FGBI_VERSION_NUMBER) return 1;
  return codec_only_check();
}
