/* check.h: CHECK for the C tests: a failed condition is counted and said
 * with its file and line, and the test goes on.  Header-only: each test is
 * one executable. */
#ifndef GD_CHECK_H
#define GD_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                       \
  do                                                                           \
    {                                                                          \
      if (!(cond))                                                             \
        {                                                                      \
          failures++;                                                          \
          fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
          fprintf (stderr, __VA_ARGS__);                                       \
          fputc ('\n', stderr);                                                \
        }                                                                      \
    }                                                                          \
  while (0)

#endif /* GD_CHECK_H */
