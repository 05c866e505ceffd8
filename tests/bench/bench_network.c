/* bench_network.c: the forward pass, exact against fast, side by side.
 *
 * Usage: bench_network MODEL [SIZES=256,512] [THREADS=2] [REPEATS=5] [ONLY]
 * (ONLY: exact or fast, to time one of them, e.g. under perf)
 * For each size: one pass of each precision first (primitives, workspace),
 * their outputs compared (max abs difference, PSNR of eps on the [-1, 1]
 * scale), then REPEATS rounds alternating exact and fast; prints medians,
 * the ratio, GFLOP/s of the convolutions, the time in convolutions against
 * the rest (norms, activations, copies), and peak resident memory.
 * Machine load shows in wall time; CPU time is printed beside it.
 */
#include "gimp-diffusion.h"
#include "model.h"
#include "bench_flops.h"

#include <math.h>
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

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int
main (int argc, char **argv)
{
  const char *sizes = argc > 2 ? argv[2] : "256,512";
  int threads = argc > 3 ? atoi (argv[3]) : 2;
  int repeats = argc > 4 ? atoi (argv[4]) : 5;
  const char *kind = gd_fast_path_kind ();
  const char *only = argc > 5 ? argv[5] : "";
  gd_error err;
  gd_model *model;
  const gd_model_info *info;
  char *list, *tok;

  if (argc < 2 || repeats < 1 || repeats > 100)
    {
      fprintf (stderr,
               "usage: %s MODEL [SIZES=256,512] [THREADS=2] "
               "[REPEATS=5]\n",
               argv[0]);
      return 2;
    }
  gd_set_threads (threads);
  gd_error_clear (&err);
  model = gd_model_load (argv[1], &err);
  if (model == NULL)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  info = gd_model_get_info (model);
  printf ("fast path here: %s; %d thread(s); OPENBLAS_CORETYPE=%s\n",
          kind ? kind : "none (exact only)", threads,
          getenv ("OPENBLAS_CORETYPE") ? getenv ("OPENBLAS_CORETYPE")
                                       : "(own choice)");
  printf ("%6s %9s %9s %7s %9s %9s %8s %8s %10s %8s\n", "size", "exact_s",
          "fast_s", "ratio", "exact_GF", "fast_GF", "conv%ex", "conv%fa",
          "maxabs", "psnr_dB");
  list = strdup (sizes);
  for (tok = strtok (list, ","); tok != NULL; tok = strtok (NULL, ","))
    {
      int size = atoi (tok), r, prec;
      size_t n = (size_t)info->in_channels * size * size, i;
      float *x = malloc (n * sizeof *x), *eps[2];
      double t[2][100], conv_share[2] = { 0, 0 }, max_abs = 0, se = 0;
      double gflop = conv_flops (info, size) * 1e-9, med[2];
      unsigned state = 12345;

      eps[0] = malloc (n * sizeof *eps[0]);
      eps[1] = malloc (n * sizeof *eps[1]);
      if (size < 1 || x == NULL || eps[0] == NULL || eps[1] == NULL)
        return 1;
      for (i = 0; i < n; i++)
        {
          state = state * 1664525u + 1013904223u;
          x[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
        }
      /* Warm-up passes; outputs compared. */
      for (prec = 0; prec < 2; prec++)
        {
          gd_model_set_precision (model, (gd_precision)prec);
          if (gd_model_eps (model, x, size, size, 500.0, eps[prec], &err)
              != GD_OK)
            {
              fprintf (stderr, "%s\n", err.message);
              return 1;
            }
        }
      for (i = 0; i < n; i++)
        {
          double d = fabs ((double)eps[0][i] - eps[1][i]);
          max_abs = d > max_abs ? d : max_abs;
          se += d * d;
        }
      for (r = 0; r < repeats; r++)
        for (prec = 0; prec < 2; prec++)
          {
            double t0, conv_s, total_s;
            if (only[0] != '\0'
                && strcmp (only, gd_precision_name ((gd_precision)prec)) != 0)
              {
                t[prec][r] = 0;
                continue;
              }
            gd_model_set_precision (model, (gd_precision)prec);
            gd_model_profile_reset (model);
            t0 = clock_seconds (CLOCK_MONOTONIC);
            if (gd_model_eps (model, x, size, size, 500.0, eps[prec], &err)
                != GD_OK)
              return 1;
            t[prec][r] = clock_seconds (CLOCK_MONOTONIC) - t0;
            gd_model_profile_get (model, &conv_s, &total_s);
            conv_share[prec] += total_s > 0 ? conv_s / total_s / repeats : 0;
          }
      med[0] = median (t[0], repeats);
      med[1] = median (t[1], repeats);
      printf ("%6d %9.3f %9.3f %7.2f %9.1f %9.1f %7.0f%% %7.0f%% %10.3g "
              "%8.1f\n",
              size, med[0], med[1], med[0] / med[1], gflop / med[0],
              gflop / med[1], 100 * conv_share[0], 100 * conv_share[1], max_abs,
              se > 0 ? 10 * log10 (4.0 / (se / (double)n)) : INFINITY);
      fflush (stdout);
      free (x);
      free (eps[0]);
      free (eps[1]);
    }
  printf ("convolutions: %.1f GFLOP at 512x512; peak resident memory %.0f "
          "MiB\n",
          conv_flops (info, 512) * 1e-9, peak_rss_mib ());
  free (list);
  gd_model_free (model);
  return 0;
}
