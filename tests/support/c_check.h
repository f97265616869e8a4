/* CHECK for the C11 tests: report a failed condition and count it; main
 * returns failures == 0 ? 0 : 1. One header per test program. */
#ifndef FGBI_TESTS_C_CHECK_H
#define FGBI_TESTS_C_CHECK_H

#include <stdio.h>

static int failures = 0;
#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                       \
    }                                                                   \
  } while (0)

#endif
