/* bench_samplers.c: every sampler's error at NFE 5, 10, 20, 50 on
 * closed-form Gaussian data (no network).  Prints the Markdown tables of
 * docs/samplers.md:
 *   1. the ODE solvers' RMS distance to the exact probability-flow ODE
 *      solution from the same pure noise;
 *   2. every sampler's exact bias in the output mean and variance.
 * Usage: bench_samplers [NFE ...]   (default 5 10 20 50) */
#include "gimp-diffusion.h"
#include "sampler-internal.h"
#include "../gaussian-data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_ELEMENTS 4096

static gd_schedule sched;

typedef struct
{
  const char *label;
  const char *sampler;
  double eta;
  gd_spacing spacing;
} row;

static const row ode_rows[] = {
  { "ddim (eta 0), trailing", "ddim", 0.0, GD_SPACING_TRAILING },
  { "ddim (eta 0), lambda", "ddim", 0.0, GD_SPACING_LAMBDA },
  { "dpm-solver-2, lambda", "dpm-solver-2", 0.0, GD_SPACING_LAMBDA },
  { "dpm-solver-3, lambda", "dpm-solver-3", 0.0, GD_SPACING_LAMBDA },
  { "dpm-solver++2m, lambda", "dpm-solver++2m", 0.0, GD_SPACING_LAMBDA },
  { "dpm-solver++2m, trailing", "dpm-solver++2m", 0.0, GD_SPACING_TRAILING },
};

static const row all_rows[] = {
  { "ddpm", "ddpm", 0.0, GD_SPACING_DEFAULT },
  { "ddim (eta 0)", "ddim", 0.0, GD_SPACING_DEFAULT },
  { "ddim (eta 0), lambda", "ddim", 0.0, GD_SPACING_LAMBDA },
  { "ddim (eta 1)", "ddim", 1.0, GD_SPACING_DEFAULT },
  { "skip-step", "skip-step", 0.0, GD_SPACING_DEFAULT },
  { "skip-step, lambda", "skip-step", 0.0, GD_SPACING_LAMBDA },
  { "dpm-solver-2", "dpm-solver-2", 0.0, GD_SPACING_DEFAULT },
  { "dpm-solver-3", "dpm-solver-3", 0.0, GD_SPACING_DEFAULT },
  { "dpm-solver++2m", "dpm-solver++2m", 0.0, GD_SPACING_DEFAULT },
};

static gd_sampler_params
params_of (const row *r, int nfe)
{
  gd_sampler_params p;

  gd_sampler_params_init (&p);
  gd_sampler_from_name (r->sampler, &p.kind, NULL);
  p.eta = r->eta;
  p.spacing = r->spacing;
  p.steps = nfe;
  p.seed = 1;
  return p;
}

static void
table_ode (gauss_data *d, const int *nfe, int n_nfe)
{
  static float x_T[N_ELEMENTS], x[N_ELEMENTS];

  gauss_pure_noise (2024, x_T, N_ELEMENTS);
  printf ("RMS distance to the exact ODE solution x0 (closed form) from the "
          "same x_T ~ N(0, I) at t0 = %d, %d elements:\n\n",
          sched.T, N_ELEMENTS);
  printf ("| sampler |");
  for (int j = 0; j < n_nfe; j++)
    printf (" NFE %d |", nfe[j]);
  printf ("\n|---|");
  for (int j = 0; j < n_nfe; j++)
    printf ("---|");
  printf ("\n");
  for (size_t k = 0; k < sizeof ode_rows / sizeof *ode_rows; k++)
    {
      printf ("| %s |", ode_rows[k].label);
      for (int j = 0; j < n_nfe; j++)
        {
          gd_sampler_params p = params_of (&ode_rows[k], nfe[j]);
          gd_error err;
          double sum = 0.0;

          memcpy (x, x_T, sizeof x);
          if (gd_sample (&sched, &p, x, N_ELEMENTS, sched.T, gauss_eps, d, NULL,
                         NULL, NULL, &err)
              != GD_OK)
            {
              fprintf (stderr, "%s\n", err.message);
              exit (1);
            }
          for (int i = 0; i < N_ELEMENTS; i++)
            {
              int g = i % d->n_groups;
              double ref = gauss_ode (&sched, d->m[g], d->v[g], x_T[i], sched.T,
                                      0.0, 0);

              sum += (x[i] - ref) * (x[i] - ref);
            }
          printf (" %.2e |", sqrt (sum / N_ELEMENTS));
        }
      printf ("\n");
    }
}

static void
table_bias (gauss_data *d, const int *nfe, int n_nfe, int t0)
{
  double mean0[GAUSS_MAX_GROUPS], var0[GAUSS_MAX_GROUPS];
  int G = d->n_groups;

  gauss_start_moments (d, t0, t0 == sched.T, mean0, var0);
  printf ("\nExact output moments from %s at t0 = %d: max over groups of "
          "|mean - m|, then var / v for each group (1 is exact):\n\n",
          t0 == sched.T ? "pure noise N(0, I)" : "q(x_t0 | x0)", t0);
  printf ("| sampler | NFE | max \\|mean - m\\| |");
  for (int g = 0; g < G; g++)
    printf (" var/v, v = %g |", d->v[g]);
  printf ("\n|---|---|---|");
  for (int g = 0; g < G; g++)
    printf ("---|");
  printf ("\n");
  for (size_t k = 0; k < sizeof all_rows / sizeof *all_rows; k++)
    for (int j = 0; j < n_nfe; j++)
      {
        gd_sampler_params p = params_of (&all_rows[k], nfe[j]);
        double mean[GAUSS_MAX_GROUPS], var[GAUSS_MAX_GROUPS], dm = 0.0;

        if (p.kind == GD_SAMPLER_DDPM && j > 0)
          break; /* ddpm takes every step: one row */
        if (gauss_exact_moments (&p, d, t0, mean0, var0, mean, var) != 0)
          exit (1);
        for (int g = 0; g < G; g++)
          dm = fmax (dm, fabs (mean[g] - d->m[g]));
        printf ("| %s | %d | %.1e |", all_rows[k].label,
                gd_sampler_nfe (&p, t0), dm);
        for (int g = 0; g < G; g++)
          printf (" %.4f |", var[g] / d->v[g]);
        printf ("\n");
      }
}

int
main (int argc, char **argv)
{
  int nfe[16] = { 5, 10, 20, 50 }, n_nfe = 4;
  gd_error err;
  clock_t start = clock ();

  if (argc > 1)
    {
      n_nfe = 0;
      for (int i = 1; i < argc && n_nfe < 16; i++)
        nfe[n_nfe++] = atoi (argv[i]);
    }
  if (gd_schedule_init_linear (&sched, 1000, 1e-4, 0.02, &err) != GD_OK)
    return 1;

  gauss_data d = { .sched = &sched,
                   .n_groups = 4,
                   .m = { 0.5, -0.3, 0.0, 0.8 },
                   .v = { 0.04, 0.25, 0.5, 0.01 } };

  printf ("Data: x0 ~ N(m, v) per element, four groups (m, v) = (0.5, 0.04), "
          "(-0.3, 0.25), (0, 0.5), (0.8, 0.01); exact eps*; linear schedule, "
          "T = 1000.\n\n");
  table_ode (&d, nfe, n_nfe);
  table_bias (&d, nfe, n_nfe, sched.T);
  table_bias (&d, nfe, n_nfe, 400);
  printf ("\n(%.1f s of CPU)\n", (double)(clock () - start) / CLOCKS_PER_SEC);
  return 0;
}
