/* bench_forward.c: time one forward pass of the C network.
 *
 * Usage: bench_forward MODEL [SIZE=512] [REPEATS=3] [THREADS=2]
 * Prints the first call (which also allocates the workspace) and the best
 * of the repeats; tests/bench/bench_forward_torch.py times PyTorch on the
 * same file and size, for the ratio.
 */
#include "gimp-diffusion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
clock_seconds (clockid_t id)
{
  struct timespec ts;

  clock_gettime (id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double
now (void)
{
  return clock_seconds (CLOCK_MONOTONIC);
}

/* CPU time of all threads: on a shared machine it says what the work cost
   even when wall time includes waiting for a core. */
static double
cpu_now (void)
{
  return clock_seconds (CLOCK_PROCESS_CPUTIME_ID);
}

/* Peak resident memory in MiB (Linux), or -1. */
static double
peak_rss_mib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  double kib = -1;

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, "VmHWM:", 6) == 0)
      kib = atof (line + 6);
  fclose (f);
  return kib < 0 ? -1 : kib / 1024;
}

int
main (int argc, char **argv)
{
  const char *path;
  int size = 512, repeats = 3, threads = 2, r;
  gd_model *model;
  const gd_model_info *info;
  gd_error err;
  float *x, *eps_hat;
  size_t n, i;
  double t0, c0, first, best = 1e30, best_cpu = 1e30;
  unsigned state = 12345;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s MODEL [SIZE] [REPEATS] [THREADS]\n", argv[0]);
      return 2;
    }
  path = argv[1];
  if (argc > 2)
    size = atoi (argv[2]);
  if (argc > 3)
    repeats = atoi (argv[3]);
  if (argc > 4)
    threads = atoi (argv[4]);
  if (size < 1 || repeats < 1)
    return 2;
  gd_set_threads (threads);
  gd_error_clear (&err);
  model = gd_model_load (path, &err);
  if (model == NULL)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  info = gd_model_get_info (model);
  n = (size_t)info->in_channels * size * size;
  x = malloc (n * sizeof *x);
  eps_hat = malloc (n * sizeof *eps_hat);
  if (x == NULL || eps_hat == NULL)
    return 1;
  for (i = 0; i < n; i++)
    {
      state = state * 1664525u + 1013904223u;
      x[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }

  t0 = now ();
  if (gd_model_eps (model, x, size, size, 500.0, eps_hat, &err) != GD_OK)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  first = now () - t0;
  for (r = 0; r < repeats; r++)
    {
      t0 = now ();
      c0 = cpu_now ();
      if (gd_model_eps (model, x, size, size, 500.0, eps_hat, &err) != GD_OK)
        {
          fprintf (stderr, "%s\n", err.message);
          return 1;
        }
      if (now () - t0 < best)
        best = now () - t0;
      if (cpu_now () - c0 < best_cpu)
        best_cpu = cpu_now () - c0;
    }
  printf ("C forward %dx%d, %d thread(s), %zu params: first %.3f s, best of "
          "%d %.3f s (cpu %.3f s)\n",
          size, size, threads, info->n_params, first, repeats, best, best_cpu);
  printf ("peak resident memory %.0f MiB (weights, workspace, buffers)\n",
          peak_rss_mib ());
  free (x);
  free (eps_hat);
  gd_model_free (model);
  return 0;
}
