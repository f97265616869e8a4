/* Links libfgbi from outside the project and checks the versions agree. */
#include <fgbi.h>
#include <stdio.h>

int main(void) {
  printf("fgbi %s\n", fgbi_version_string());
  return fgbi_version_number() == FGBI_VERSION_NUMBER ? 0 : 1;
}
