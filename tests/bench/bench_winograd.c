/* bench_winograd.c: one 3x3 convolution, exact (gd_conv2d) against
 * Winograd F(4x4, 3x3) (each variant this CPU runs), alternating; medians
 * and ratios (wall time, and CPU time: steadier on a loaded machine), and
 * the largest difference between them.
 *   bench_winograd [CIN=64] [COUT=64] [SIZE=256] [THREADS=2] [REPEATS=5]
 *                  [VARIANTS=all|best]
 */
#include "ops.h"
#include "winograd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  const int cin = argc > 1 ? atoi (argv[1]) : 64;
  const int cout = argc > 2 ? atoi (argv[2]) : 64;
  const int size = argc > 3 ? atoi (argv[3]) : 256;
  const int threads = argc > 4 ? atoi (argv[4]) : 2;
  const int repeats = argc > 5 ? atoi (argv[5]) : 5;
  const int best = gd_winograd_isa_best ();
  const int only_best = argc > 6 && strcmp (argv[6], "best") == 0;
  const size_t n_in = (size_t)cin * size * size;
  const size_t n_out = (size_t)cout * size * size;
  double t[3][100], cpu[3][100], med[3], med_cpu[3], gflop;
  float *x, *wt, *b, *y[3], *col;
  size_t col_floats, i;
  gd_winograd *wg;
  unsigned state = 1;
  int r, v;

  if (cin < 1 || cout < 1 || size < 1 || repeats < 1 || repeats > 100
      || best < 0)
    {
      fprintf (stderr, "usage: %s [CIN] [COUT] [SIZE] [THREADS] [REPEATS]\n",
               argv[0]);
      return 2;
    }
  gd_threads_set (threads);
  col_floats = gd_conv2d_col_floats (cin, 3, 1, size, size);
  x = malloc (n_in * sizeof *x);
  wt = malloc ((size_t)cout * cin * 9 * sizeof *wt);
  b = malloc ((size_t)cout * sizeof *b);
  col = malloc (col_floats * sizeof *col);
  for (v = 0; v < 3; v++)
    y[v] = malloc (n_out * sizeof *y[v]);
  wg = gd_winograd_new ();
  if (!x || !wt || !b || !col || !y[0] || !y[1] || !y[2] || !wg)
    return 1;
  for (i = 0; i < n_in; i++)
    x[i] = (float)((state = state * 1664525u + 1013904223u) >> 8) / 8388608.0f
           - 1.0f;
  for (i = 0; i < (size_t)cout * cin * 9; i++)
    wt[i] = ((float)((state = state * 1664525u + 1013904223u) >> 8) / 8388608.0f
             - 1.0f)
            * 0.1f;
  for (i = 0; i < (size_t)cout; i++)
    b[i] = 0.01f * (float)i;
  gflop = 2e-9 * 9 * (double)cin * cout * size * size;
  for (r = -1; r < repeats; r++) /* r = -1: warm-up, weights transformed */
    for (v = 0; v <= 1 + best; v++)
      {
        double t0 = now (CLOCK_MONOTONIC), c0 = now (CLOCK_PROCESS_CPUTIME_ID);
        if (only_best && v > 0 && v < 1 + best)
          continue;
        if (v == 0)
          gd_conv2d (x, cin, size, size, 0, wt, b, cout, 3, 1, y[0], 0, col,
                     col_floats);
        else
          gd_winograd_conv3x3 (wg, v - 1, x, cin, size, size, 0, wt, b, cout,
                               y[v], 0);
        if (r >= 0)
          {
            t[v][r] = now (CLOCK_MONOTONIC) - t0;
            cpu[v][r] = now (CLOCK_PROCESS_CPUTIME_ID) - c0;
          }
      }
  printf ("conv3x3 %d->%d %dx%d, %d thread(s), %.2f GFLOP\n", cin, cout, size,
          size, threads, gflop);
  for (v = 0; v <= 1 + best; v++)
    {
      double max_abs = 0;
      if (only_best && v > 0 && v < 1 + best)
        continue;
      qsort (t[v], (size_t)repeats, sizeof t[v][0], cmp_double);
      qsort (cpu[v], (size_t)repeats, sizeof cpu[v][0], cmp_double);
      med[v] = t[v][repeats / 2];
      med_cpu[v] = cpu[v][repeats / 2];
      for (i = 0; v > 0 && i < n_out; i++)
        {
          double d = fabs ((double)y[v][i] - y[0][i]);
          max_abs = d > max_abs ? d : max_abs;
        }
      printf ("%-14s %8.4f s  %6.1f GFLOP/s (direct-equivalent)  "
              "exact/this %5.2f  CPU %8.4f s, exact/this %5.2f  "
              "max abs vs exact %.3g\n",
              v == 0   ? "exact"
              : v == 1 ? "winograd c"
                       : "winograd avx2",
              med[v], gflop / med[v], med[0] / med[v], med_cpu[v],
              med_cpu[0] / med_cpu[v], max_abs);
    }
  gd_winograd_free (wg);
  return 0;
}
