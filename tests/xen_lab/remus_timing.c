/* libxen_lab_remus_timing.so: the Xen lab's stopwatch for `xl remus`
 * (LD_PRELOAD into xl in dom0; scripts/xen-lab/tests/replicate.sh,
 * docs/adapters.md "Xen lab"). xl and libxl print no checkpoint timings, so
 * this wraps the calls that begin and end a checkpoint's suspension of the
 * guest and appends one line per call, with CLOCK_MONOTONIC nanoseconds, to
 * the file named by FGBI_REMUS_TIMING_LOG:
 *
 *   NS suspend-request xenstore PATH   libxl asks the guest to suspend
 *                                      (PATH = .../control/shutdown, "suspend")
 *   NS suspend-request evtchn PORT     ... through its suspend event channel
 *   NS resumed DOMID FAST RC           xc_domain_resume returned: the guest
 *                                      runs again
 *
 * From a request to the next resume is what the guest feels as a pause:
 * its kernel freezes its tasks on the request and thaws them after the
 * resume. Every call goes on to the real function (dlsym(RTLD_NEXT)). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Xen 4.17's libxenstore, libxenevtchn and libxenctrl signatures, with the
 * handles opaque (no Xen headers needed). */
typedef uint32_t xs_transaction_t;
/* The project builds with hidden visibility by default; these must be seen. */
#define EXPORT __attribute__((visibility("default")))
typedef uint32_t evtchn_port_t;

__attribute__((format(printf, 1, 2))) static void note(const char* fmt, ...) {
  static FILE* out;
  if (!out) {
    const char* path = getenv("FGBI_REMUS_TIMING_LOG");
    if (!path || !(out = fopen(path, "a"))) return;
    setvbuf(out, NULL, _IOLBF, 0);
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[512];
  int n = snprintf(line, sizeof line, "%lld ", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  fprintf(out, "%s\n", line); /* one write per line */
}

static void* next(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (!f) {
    fprintf(stderr, "remus_timing: no %s after this library\n", name);
    abort();
  }
  return f;
}

bool xs_write(void* h, xs_transaction_t t, const char* path, const void* data, unsigned int len);
EXPORT bool xs_write(void* h, xs_transaction_t t, const char* path, const void* data,
                     unsigned int len) {
  static bool (*real)(void*, xs_transaction_t, const char*, const void*, unsigned int);
  if (!real)
    real =
        (bool (*)(void*, xs_transaction_t, const char*, const void*, unsigned int))next("xs_write");
  const size_t n = path ? strlen(path) : 0;
  static const char kShutdown[] = "/control/shutdown";
  if (n >= sizeof kShutdown - 1 && strcmp(path + n - (sizeof kShutdown - 1), kShutdown) == 0 &&
      len >= 7 && memcmp(data, "suspend", 7) == 0)
    note("suspend-request xenstore %s", path);
  return real(h, t, path, data, len);
}

int xenevtchn_notify(void* xce, evtchn_port_t port);
EXPORT int xenevtchn_notify(void* xce, evtchn_port_t port) {
  static int (*real)(void*, evtchn_port_t);
  if (!real) real = (int (*)(void*, evtchn_port_t))next("xenevtchn_notify");
  note("suspend-request evtchn %u", port);
  return real(xce, port);
}

int xc_domain_resume(void* xch, uint32_t domid, int fast);
EXPORT int xc_domain_resume(void* xch, uint32_t domid, int fast) {
  static int (*real)(void*, uint32_t, int);
  if (!real) real = (int (*)(void*, uint32_t, int))next("xc_domain_resume");
  const int rc = real(xch, domid, fast);
  note("resumed %u %d %d", domid, fast, rc);
  return rc;
}
