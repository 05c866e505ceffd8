/* bench_nhwc_norm.c: the fast path's fused channel norm + SiLU to BF16
 * (nhwc.c) on one tensor, alone: the best of REPEATS calls, and a hash of
 * the output (equal hashes: the same bits).
 *
 * Usage: bench_nhwc_norm CHANNELS SIDE [REPEATS=20] [THREADS=2]
 * (64 512: a full-resolution layer of the shipped model at 512x512)
 * Needs a CPU with AVX512_BF16 (the NHWC path's kernels).
 */
#include "conv-fast.h"
#include "ops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int
main (int argc, char **argv)
{
  int c, side, reps, threads, r;
  size_t n, i;
  float *x, *w, *b;
  uint16_t *act;
  double best = 1e30;
  unsigned long long hash = 0;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s CHANNELS SIDE [REPEATS] [THREADS]\n",
               argv[0]);
      return 2;
    }
  if (!__builtin_cpu_supports ("avx512bf16"))
    {
      fprintf (stderr, "this CPU has no AVX512_BF16\n");
      return 77;
    }
  c = atoi (argv[1]);
  side = atoi (argv[2]);
  reps = argc > 3 ? atoi (argv[3]) : 20;
  threads = argc > 4 ? atoi (argv[4]) : 2;
  n = (size_t)side * (size_t)side;
  x = malloc (n * (size_t)c * sizeof *x);
  w = malloc ((size_t)c * sizeof *w);
  b = malloc ((size_t)c * sizeof *b);
  act = malloc (n * (size_t)c * sizeof *act);
  if (c < 1 || side < 1 || x == NULL || w == NULL || b == NULL || act == NULL)
    return 2;
  for (i = 0; i < n * (size_t)c; i++)
    x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f
           + 0.01f * (float)(i % (size_t)c);
  for (i = 0; i < (size_t)c; i++)
    w[i] = 1.0f + 0.01f * (float)i, b[i] = 0.1f;
  gd_threads_set (threads);
  for (r = 0; r < reps; r++)
    {
      double t0 = now (), t;

      gd_nhwc_norm_silu_bf16 (x, c, n, w, b, act);
      t = now () - t0;
      if (t < best)
        best = t;
    }
  for (i = 0; i < n * (size_t)c; i++)
    hash = hash * 31 + act[i];
  printf ("%d channels, %d x %d, %d thread(s): best %.2f ms (%.1f GB/s "
          "read and written), output hash %016llx\n",
          c, side, side, threads, best * 1e3,
          (double)n * c * 6.0 / best / 1e9, hash);
  free (x);
  free (w);
  free (b);
  free (act);
  return 0;
}
