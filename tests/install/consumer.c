/* Links libfgbi-session and libfgbi from outside the project through both
 * public headers: checks that both libraries' versions agree with their
 * headers and that the session's names and the codec's error texts for
 * session codes reach it (codec_only.c checks what fgbi.h alone shows). */
#include <fgbi.h>
#include <fgbi_session.h>
#include <stdio.h>
#include <string.h>

int codec_only_check(void);

int main(void) {
  printf("fgbi %s\n", fgbi_version_string());
  if (fgbi_version_number() != FGBI_VERSION_NUMBER) return 1;
  if (fgbi_session_version_number() != FGBI_SESSION_VERSION_NUMBER) return 1;
  const char* name = fgbi_session_param_name(FGBI_SP_IO_TIMEOUT_MS);
  if (name == NULL || strcmp(name, "FGBI_SP_IO_TIMEOUT_MS") != 0) return 1;
  if (strcmp(fgbi_error_name(FGBI_E_DISCONNECTED), "FGBI_E_DISCONNECTED") != 0) return 1;
  return codec_only_check();
}
