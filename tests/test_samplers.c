/* test_samplers.c: every sampler on closed-form Gaussian data (no network):
 * the posterior identities, the data distribution from pure noise and from
 * img2img starts, the convergence order of the ODE solvers, determinism,
 * spacings, hooks, clipping, progress, cancel and NaN. */
#include "gimp-diffusion.h"
#include "sampler-internal.h"
#include "gaussian-data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static gd_schedule sched;

/* Four groups of data: off-centre, wide, narrow, and beyond [-1, 1]. */
static gauss_data
data_default (void)
{
  gauss_data d = { .sched = &sched,
                   .n_groups = 4,
                   .m = { 0.5, -0.3, 0.0, 0.8 },
                   .v = { 0.04, 0.25, 0.5, 0.01 } };
  return d;
}

static gd_sampler_params
params (const char *name, int steps, double eta, gd_spacing spacing)
{
  gd_sampler_params p;

  gd_sampler_params_init (&p);
  if (gd_sampler_from_name (name, &p.kind, NULL) != GD_OK)
    abort ();
  p.steps = steps;
  p.eta = eta;
  p.spacing = spacing;
  p.seed = 1234;
  return p;
}

static int
run (const gd_sampler_params *p, gauss_data *d, float *x, size_t n, int t0,
     const gd_sampler_hooks *hooks)
{
  gd_error err;
  int rc
      = gd_sample (&sched, p, x, n, t0, gauss_eps, d, hooks, NULL, NULL, &err);

  CHECK (rc == GD_OK, "%s: %s", gd_sampler_name (p->kind), err.message);
  return rc;
}

/* ------------------------------------------------------------ identities */

static double
coef_diff (const gd_step_coef *a, const gd_step_coef *b)
{
  return fmax (fabs (a->c_xt - b->c_xt),
               fmax (fabs (a->c_x0 - b->c_x0), fabs (a->var - b->var)));
}

/* A step x_t -> x_s must map q(x_t | x0) onto q(x_s | x0): the mean
 * sqrt(abar_t) x0 onto sqrt(abar_s) x0, the variance 1-abar_t onto
 * 1-abar_s.  Returns the larger of the two misfits. */
static double
marginal_misfit (const gd_step_coef *c, double t, double s)
{
  double abar_t = gd_schedule_abar_at (&sched, t);
  double abar_s = gd_schedule_abar_at (&sched, s);

  return fmax (
      fabs (c->c_xt * sqrt (abar_t) + c->c_x0 - sqrt (abar_s)),
      fabs (c->c_xt * c->c_xt * (1.0 - abar_t) + c->var - (1.0 - abar_s)));
}

static void
test_identities (void)
{
  double worst_ddpm = 0.0, worst_ddim = 0.0, worst_frac = 0.0;
  double worst_marginal = 0.0, worst_eta = 0.0;
  gd_step_coef a, b;

  for (int t = 1; t <= sched.T; t++)
    {
      gd_coef_ddpm (&sched, t, &a);
      gd_coef_posterior (&sched, t, t - 1, &b);
      worst_ddpm = fmax (worst_ddpm, coef_diff (&a, &b));
      worst_marginal = fmax (worst_marginal, marginal_misfit (&a, t, t - 1));
      for (int s = 0; s < t; s++)
        {
          gd_coef_posterior (&sched, t, s, &a);
          gd_coef_ddim (&sched, t, s, 1.0, &b);
          worst_ddim = fmax (worst_ddim, coef_diff (&a, &b));
          worst_marginal = fmax (worst_marginal, marginal_misfit (&a, t, s));
          if (s % 7 == 0)
            {
              /* DDIM's sigma^2(eta) = eta^2 times the posterior variance. */
              double eta = (s % 3) / 2.0;

              gd_coef_ddim (&sched, t, s, eta, &b);
              worst_marginal
                  = fmax (worst_marginal, marginal_misfit (&b, t, s));
              worst_eta = fmax (worst_eta, fabs (b.var - eta * eta * a.var));
            }
        }
    }
  /* Fractional t and s, as the lambda grids give. */
  for (double t = 1.37; t <= sched.T; t += 3.19)
    for (double s = 0.0; s < t; s += 1.77)
      {
        gd_coef_posterior (&sched, t, s, &a);
        gd_coef_ddim (&sched, t, s, 1.0, &b);
        worst_frac = fmax (worst_frac, coef_diff (&a, &b));
        worst_marginal = fmax (worst_marginal, marginal_misfit (&a, t, s));
      }
  printf ("identities: skip-step(s = t-1) vs ddpm %.2e, skip-step vs "
          "ddim(eta=1) %.2e (all 0 <= s < t <= T), %.2e (fractional); "
          "marginals kept to %.2e\n",
          worst_ddpm, worst_ddim, worst_frac, worst_marginal);
  CHECK (worst_ddpm < 1e-6, "skip-step(t-1) != ddpm: %g", worst_ddpm);
  CHECK (worst_ddim < 1e-6, "skip-step != ddim(eta=1): %g", worst_ddim);
  CHECK (worst_frac < 1e-6, "fractional: %g", worst_frac);
  CHECK (worst_marginal < 1e-6, "a step breaks q(x_s | x0): %g",
         worst_marginal);
  CHECK (worst_eta < 1e-12,
         "ddim variance is not eta^2 times the "
         "posterior's: %g",
         worst_eta);
}

/* The same identities through gd_sample: the same seed, the same grid, the
 * same noise, so the outputs agree up to float rounding. */
static void
test_identities_end_to_end (void)
{
  enum
  {
    N = 4096
  };
  static float x_a[N], x_b[N];
  gauss_data d = data_default ();
  double worst;

  gd_sampler_params ddpm = params ("ddpm", 0, 0.0, GD_SPACING_DEFAULT);
  gd_sampler_params skip = params ("skip-step", 1000, 0.0, GD_SPACING_DEFAULT);

  gauss_pure_noise (5, x_a, N);
  memcpy (x_b, x_a, sizeof x_a);
  run (&ddpm, &d, x_a, N, 1000, NULL);
  run (&skip, &d, x_b, N, 1000, NULL);
  worst = 0.0;
  for (int i = 0; i < N; i++)
    worst = fmax (worst, fabs (x_a[i] - x_b[i]));
  printf ("gd_sample: ddpm vs skip-step 1000 steps: max |diff| %.2e\n", worst);
  CHECK (worst < 1e-4, "ddpm and stride-1 skip-step differ by %g", worst);

  gd_sampler_params ddim = params ("ddim", 37, 1.0, GD_SPACING_LAMBDA);
  skip = params ("skip-step", 37, 0.0, GD_SPACING_LAMBDA);
  gauss_pure_noise (6, x_a, N);
  memcpy (x_b, x_a, sizeof x_a);
  run (&ddim, &d, x_a, N, 1000, NULL);
  run (&skip, &d, x_b, N, 1000, NULL);
  worst = 0.0;
  for (int i = 0; i < N; i++)
    worst = fmax (worst, fabs (x_a[i] - x_b[i]));
  printf ("gd_sample: ddim(eta=1) vs skip-step, 37 lambda steps: max |diff| "
          "%.2e\n",
          worst);
  CHECK (worst < 1e-5, "ddim(eta=1) and skip-step differ by %g", worst);
}

/* ------------------------------------------------------------ distribution */

/* For this data every sampler is affine per element, so the exact output
 * moments of a run are known (gauss_exact_moments: two runs for the ODE
 * solvers, the (mean, var) recursion through the step coefficients for the
 * stochastic ones).  Two checks follow from that:
 * - Monte Carlo: the moments of n samples match the exact ones within 4.5
 *   standard errors, se(mean) = sqrt(var/N), se(var) = var sqrt(2/(N-1));
 * - data: at the stated step counts the exact moments are within a stated
 *   bound of the data (m, v), so the samples are within 4.5 se + bound. */

typedef struct
{
  const char *name;
  int steps;
  double eta;
  gd_spacing spacing;
  size_t per_group; /* Monte Carlo samples per data group */
  double var_bound; /* |var/v - 1| at these steps; 0: not claimed */
} config;

#define MEAN_BOUND                                                             \
  1e-3 /* |mean - m|: the pure-noise start leaves up to                        \
          sqrt(abar_T v) |m| = 9.5e-4 to the ODE solvers */

static const char *const spacing_names[]
    = { "default", "leading", "trailing", "lambda" };

static void
check_distribution (const config *c, gauss_data *d, int t0, int pure_noise,
                    uint64_t seed)
{
  gd_sampler_params p = params (c->name, c->steps, c->eta, c->spacing);
  double mean0[GAUSS_MAX_GROUPS], var0[GAUSS_MAX_GROUPS];
  double exact_m[GAUSS_MAX_GROUPS], exact_v[GAUSS_MAX_GROUPS];
  double mc_m[GAUSS_MAX_GROUPS], mc_v[GAUSS_MAX_GROUPS];
  double worst_se = 0.0, worst_bias_m = 0.0, worst_bias_v = 0.0;
  size_t n = c->per_group * d->n_groups;
  float *x = malloc (n * sizeof *x);

  p.seed = seed;
  gauss_start_moments (d, t0, pure_noise, mean0, var0);
  CHECK (gauss_exact_moments (&p, d, t0, mean0, var0, exact_m, exact_v) == 0,
         "%s: exact moments", c->name);
  if (pure_noise)
    gauss_pure_noise (seed, x, n);
  else
    gauss_noised_data (d, seed, t0, x, n);
  if (run (&p, d, x, n, t0, NULL) != GD_OK)
    {
      free (x);
      return;
    }
  gauss_moments (d, x, n, mc_m, mc_v);
  free (x);

  for (int g = 0; g < d->n_groups; g++)
    {
      double N = (double)c->per_group;
      double se_m = sqrt (exact_v[g] / N);
      double se_v = exact_v[g] * sqrt (2.0 / (N - 1.0));
      double bias_m = fabs (exact_m[g] - d->m[g]);
      double bias_v = fabs (exact_v[g] / d->v[g] - 1.0);

      worst_se = fmax (worst_se, fmax (fabs (mc_m[g] - exact_m[g]) / se_m,
                                       fabs (mc_v[g] - exact_v[g]) / se_v));
      worst_bias_m = fmax (worst_bias_m, bias_m);
      worst_bias_v = fmax (worst_bias_v, bias_v);
      CHECK (fabs (mc_m[g] - exact_m[g]) < 4.5 * se_m
                 && fabs (mc_v[g] - exact_v[g]) < 4.5 * se_v,
             "%s %s %d steps, t0 %d, group %d: samples mean %.5f var %.5f, "
             "exact %.5f %.5f (se %.5f %.5f)",
             c->name, spacing_names[c->spacing], c->steps, t0, g, mc_m[g],
             mc_v[g], exact_m[g], exact_v[g], se_m, se_v);
      if (c->var_bound > 0.0)
        {
          CHECK (bias_m < MEAN_BOUND && bias_v < c->var_bound,
                 "%s %s %d steps, t0 %d, group %d: exact mean %.5f (m %.5f), "
                 "var/v %.4f, bound %.3f",
                 c->name, spacing_names[c->spacing], c->steps, t0, g,
                 exact_m[g], d->m[g], exact_v[g] / d->v[g], c->var_bound);
          CHECK (fabs (mc_m[g] - d->m[g]) < 4.5 * se_m + MEAN_BOUND
                     && fabs (mc_v[g] / d->v[g] - 1.0)
                            < 4.5 * se_v / d->v[g] + c->var_bound,
                 "%s: samples off the data", c->name);
        }
    }
  printf ("  %-15s eta %.0f %-8s NFE %4d  N/group %6zu: samples vs exact "
          "<= %.2f se; exact vs data: |mean - m| <= %.1e, |var/v - 1| <= "
          "%.4f%s\n",
          c->name, c->eta, spacing_names[c->spacing], gd_sampler_nfe (&p, t0),
          c->per_group, worst_se, worst_bias_m, worst_bias_v,
          c->var_bound > 0.0 ? "" : " (few steps: reported, not claimed)");
}

/* Few steps: far from the data, a sharp test of what each sampler does. */
static const config few_step_configs[] = {
  { "ddim", 10, 0.0, GD_SPACING_DEFAULT, 32768, 0 },
  { "ddim", 10, 1.0, GD_SPACING_DEFAULT, 32768, 0 },
  { "ddim", 10, 0.5, GD_SPACING_LAMBDA, 32768, 0 },
  { "skip-step", 10, 0.0, GD_SPACING_DEFAULT, 32768, 0 },
  { "skip-step", 10, 0.0, GD_SPACING_LEADING, 32768, 0 },
  { "dpm-solver-2", 10, 0.0, GD_SPACING_DEFAULT, 32768, 0 },
  { "dpm-solver-3", 10, 0.0, GD_SPACING_DEFAULT, 32768, 0 },
  { "dpm-solver++2m", 10, 0.0, GD_SPACING_DEFAULT, 32768, 0 },
};

/* Enough steps, and the bound each then meets on |var/v - 1| (the worst
 * group is v = 0.01).  ddpm's 8 %: its posterior variance beta_tilde leaves
 * out Var[x0 | x_t] (exact: 7.2 % at v = 0.01, 3.7 % at v = 0.04), and
 * skip-step with stride 1 is ddpm.  The lambda grids stop at t = 1, whose
 * x0_hat keeps v/(v + 1e-4) of the variance: 1 % at v = 0.01.  Uniform in
 * t (trailing) leaves few steps at low noise: 6.3 % for dpm-solver-3. */
static const config enough_step_configs[] = {
  { "ddpm", 1000, 0.0, GD_SPACING_DEFAULT, 4096, 0.08 },
  { "ddim", 500, 0.0, GD_SPACING_LAMBDA, 4096, 0.03 },
  { "ddim", 1000, 0.0, GD_SPACING_TRAILING, 4096, 0.04 },
  { "ddim", 500, 1.0, GD_SPACING_LAMBDA, 4096, 0.04 },
  { "skip-step", 1000, 0.0, GD_SPACING_TRAILING, 4096, 0.08 },
  { "skip-step", 500, 0.0, GD_SPACING_LAMBDA, 4096, 0.04 },
  { "dpm-solver-2", 50, 0.0, GD_SPACING_DEFAULT, 16384, 0.03 },
  { "dpm-solver-3", 50, 0.0, GD_SPACING_DEFAULT, 16384, 0.03 },
  { "dpm-solver-3", 50, 0.0, GD_SPACING_TRAILING, 16384, 0.07 },
  { "dpm-solver++2m", 50, 0.0, GD_SPACING_DEFAULT, 16384, 0.03 },
};

static void
test_distribution (void)
{
  gauss_data d = data_default ();
  size_t n_few = sizeof few_step_configs / sizeof *few_step_configs;
  size_t n_enough = sizeof enough_step_configs / sizeof *enough_step_configs;

  printf ("distribution from pure noise at t0 = T, few steps:\n");
  for (size_t k = 0; k < n_few; k++)
    check_distribution (&few_step_configs[k], &d, sched.T, 1, 100 + k);
  printf ("distribution from pure noise at t0 = T, enough steps:\n");
  for (size_t k = 0; k < n_enough; k++)
    check_distribution (&enough_step_configs[k], &d, sched.T, 1, 200 + k);
  printf ("img2img: from q(x_t0 | x0), t0 = 400:\n");
  for (size_t k = 0; k < n_enough; k++)
    {
      config c = enough_step_configs[k];

      c.steps = c.steps < 400 ? c.steps : 400;
      check_distribution (&c, &d, 400, 0, 300 + k);
    }
  check_distribution (&few_step_configs[1], &d, 400, 0, 399);
}

/* ------------------------------------------------------------ convergence */

typedef struct
{
  const char *name;
  gd_spacing spacing;
  double order;
  int steps[6];
} convergence_case;

/* NFE counts where each solver runs only steps of its own order (one NFE is
 * the final x0_hat, so dpm-solver-3 takes NFE = 3k + 1). */
static const convergence_case convergence_cases[] = {
  { "ddim", GD_SPACING_LAMBDA, 1.0, { 10, 20, 40, 80, 160, 320 } },
  { "dpm-solver-2", GD_SPACING_LAMBDA, 2.0, { 21, 41, 81, 161, 321, 641 } },
  /* Below ~50 NFE its local slope is 3.5 to 3.8 (pre-asymptotic); it
   * settles to 3.0 by 300. */
  { "dpm-solver-3", GD_SPACING_LAMBDA, 3.0, { 49, 73, 97, 151, 199, 301 } },
  { "dpm-solver++2m", GD_SPACING_LAMBDA, 2.0, { 20, 40, 80, 160, 320, 640 } },
  /* Uniform in t: lambda(t) is singular at t -> 0, so the last steps before
   * t = 1 shrink only like log(NFE) in lambda and the order is not reached
   * at these NFE (order 0 here: printed, not asserted). */
  { "dpm-solver++2m", GD_SPACING_TRAILING, 0.0, { 20, 40, 80, 160, 320, 640 } },
  { "dpm-solver-3", GD_SPACING_TRAILING, 0.0, { 49, 73, 97, 151, 199, 301 } },
};

/* RMS distance to the exact ODE solution from (x_T, T) to t = 1 followed by
 * x0_hat there, the same last evaluation every lambda grid ends with. */
static double
ode_error (const gd_sampler_params *p, gauss_data *d, const float *x_T,
           float *x, size_t n)
{
  double sum = 0.0;

  memcpy (x, x_T, n * sizeof *x);
  if (run (p, d, x, n, sched.T, NULL) != GD_OK)
    return NAN;
  for (size_t i = 0; i < n; i++)
    {
      int g = (int)(i % (size_t)d->n_groups);
      double ref = gauss_ode (&sched, d->m[g], d->v[g], x_T[i], sched.T,
                              GD_SAMPLE_T_END, 1);

      sum += (x[i] - ref) * (x[i] - ref);
    }
  return sqrt (sum / n);
}

/* A wrong step ratio r = h_prev/h in DPM-Solver++(2M) errs by
 * (h^2 - h_prev^2) D'/2 per step, which telescopes: no convergence order
 * shows it.  So its output on uneven steps (1, 2, 1, 2, ... in lambda) is
 * compared with the paper's Algorithm 2 written here in double, on the
 * exact x0_hat of the Gaussian data. */
static void
test_multistep_formula (gauss_data *d, const float *x_T)
{
  enum
  {
    N = 64,
    M = 20
  };
  double grid[M + 1], worst = 0.0;
  float x[N], buf[3 * N];
  double l_end = gd_schedule_lambda_at (&sched, GD_SAMPLE_T_END);
  double l_T = gd_schedule_lambda_at (&sched, 500);
  gd_sampler_params p
      = params ("dpm-solver++2m", M + 1, 0.0, GD_SPACING_LAMBDA);
  gd_error err;
  gd_run r = { .sched = &sched,
               .p = &p,
               .n = N,
               .t0 = 500,
               .eps_fn = gauss_eps,
               .eps_data = d,
               .err = &err,
               .total = M + 1 };

  for (int i = 0; i <= M; i++)
    grid[i] = gd_schedule_t_of_lambda (
        &sched, l_end + (l_T - l_end) * (i + i / 2) / (M + M / 2.0));
  memcpy (x, x_T, sizeof x);
  CHECK (gd_dpm_pp_2m_on_grid (&r, x, grid, M, buf) == GD_OK, "%s",
         err.message);
  for (int i = 0; i < N; i++)
    {
      int g = i % d->n_groups;
      double m = d->m[g], v = d->v[g], y = x_T[i], d_prev = 0.0, h_prev = 0;

      for (int j = 0; j <= M; j++)
        {
          double t = grid[M - j];
          double abar = gd_schedule_abar_at (&sched, t);
          double alpha = sqrt (abar), sigma = sqrt (1.0 - abar);
          /* x0_hat = E[x0 | x_t] of the Gaussian data */
          double d_cur
              = m + alpha * v * (y - alpha * m) / (abar * v + 1 - abar);

          if (j == M)
            {
              y = d_cur; /* the last evaluation: x0_hat at grid[0] */
              break;
            }
          double s_abar = gd_schedule_abar_at (&sched, grid[M - j - 1]);
          double alpha_s = sqrt (s_abar), sigma_s = sqrt (1.0 - s_abar);
          double h = log (alpha_s / sigma_s) - log (alpha / sigma);
          double dd = d_cur;

          if (j > 0)
            {
              double ratio = h_prev / h;

              dd = (1.0 + 1.0 / (2.0 * ratio)) * d_cur
                   - 1.0 / (2.0 * ratio) * d_prev;
            }
          y = sigma_s / sigma * y - alpha_s * (exp (-h) - 1.0) * dd;
          d_prev = d_cur;
          h_prev = h;
        }
      worst = fmax (worst, fabs (x[i] - y));
    }
  printf ("  dpm-solver++2m on steps 1, 2, 1, 2, ... vs Algorithm 2 in double: "
          "max |diff| %.2e\n",
          worst);
  CHECK (worst < 1e-5, "dpm-solver++2m off its formula by %g", worst);
}

static void
test_convergence (void)
{
  enum
  {
    N = 1024
  };
  static float x_T[N], x[N];
  gauss_data d = data_default ();
  size_t n_cases = sizeof convergence_cases / sizeof *convergence_cases;

  gauss_pure_noise (77, x_T, N);
  printf ("convergence to the exact ODE solution (RMS error at each NFE, "
          "%d elements):\n",
          N);
  for (size_t k = 0; k < n_cases; k++)
    {
      const convergence_case *c = &convergence_cases[k];
      double sx = 0, sy = 0, sxx = 0, sxy = 0;
      int m = 6;

      printf ("  %-15s %-8s", c->name, spacing_names[c->spacing]);
      for (int j = 0; j < m; j++)
        {
          gd_sampler_params p = params (c->name, c->steps[j], 0.0, c->spacing);
          double e = ode_error (&p, &d, x_T, x, N);
          double lx = log (c->steps[j]), ly = log (e);

          printf ("  %3d: %.2e", c->steps[j], e);
          sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        }
      double slope = -(m * sxy - sx * sy) / (m * sxx - sx * sx);

      if (c->order == 0.0)
        {
          printf ("  slope %.2f (uniform in t)\n", slope);
          continue;
        }
      printf ("  slope %.2f (order %.0f)\n", slope, c->order);
      CHECK (fabs (slope - c->order) < 0.25, "%s %s: slope %.2f, order %.0f",
             c->name, spacing_names[c->spacing], slope, c->order);
    }

  /* DPM-Solver++(2M) on uneven lambda steps, alternately h and 2h, where
   * r = h_prev/h is 1/2 or 2 (a smooth change of step would not show a
   * wrong r: it errs by O(h^3) per step there): still second order. */
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const int uneven[5] = { 21, 41, 81, 161, 321 }; /* M even */
  printf ("  dpm-solver++2m uneven  ");
  for (int j = 0; j < 5; j++)
    {
      int M = uneven[j] - 1;
      double *grid = malloc ((M + 1) * sizeof *grid);
      float *buf = malloc (3 * N * sizeof *buf);
      double l_end = gd_schedule_lambda_at (&sched, GD_SAMPLE_T_END);
      double l_T = gd_schedule_lambda_at (&sched, sched.T);
      gd_sampler_params p
          = params ("dpm-solver++2m", uneven[j], 0.0, GD_SPACING_LAMBDA);
      gd_error err;
      gd_run r = { .sched = &sched,
                   .p = &p,
                   .n = N,
                   .t0 = sched.T,
                   .eps_fn = gauss_eps,
                   .eps_data = &d,
                   .err = &err,
                   .total = uneven[j] };
      double sum = 0.0;

      for (int i = 0; i <= M; i++)
        {
          /* i steps of 1, 2, 1, 2, ... units, M + M/2 units in all */
          double u = (double)(i + i / 2) / (M + M / 2);

          grid[i] = gd_schedule_t_of_lambda (&sched, l_end + (l_T - l_end) * u);
        }
      memcpy (x, x_T, sizeof x);
      CHECK (gd_dpm_pp_2m_on_grid (&r, x, grid, M, buf) == GD_OK, "%s",
             err.message);
      for (int i = 0; i < N; i++)
        {
          int g = i % d.n_groups;
          double ref
              = gauss_ode (&sched, d.m[g], d.v[g], x_T[i], sched.T, grid[0], 1);

          sum += (x[i] - ref) * (x[i] - ref);
        }
      double e = sqrt (sum / N), lx = log (uneven[j]), ly = log (e);

      printf ("  %3d: %.2e", uneven[j], e);
      sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
      free (grid);
      free (buf);
    }
  double slope = -(5 * sxy - sx * sy) / (5 * sxx - sx * sx);
  printf ("  slope %.2f (order 2)\n", slope);
  CHECK (fabs (slope - 2.0) < 0.25, "dpm-solver++2m, uneven steps: slope %.2f",
         slope);
  test_multistep_formula (&d, x_T);

  /* The closed form is the high-accuracy reference: a 1000-NFE
   * DPM-Solver-3 agrees with it to float rounding. */
  gd_sampler_params p = params ("dpm-solver-3", 1000, 0.0, GD_SPACING_LAMBDA);
  double e = ode_error (&p, &d, x_T, x, N);
  printf ("  dpm-solver-3 at 1000 NFE vs the closed form: %.2e\n", e);
  CHECK (e < 1e-6, "1000-NFE dpm-solver-3 off the closed form by %g", e);
}

/* ------------------------------------------------------------ determinism */

static const gd_sampler_params *
all_samplers (int *count)
{
  static gd_sampler_params p[7];

  p[0] = params ("ddpm", 0, 0.0, GD_SPACING_DEFAULT);
  p[1] = params ("ddim", 10, 0.0, GD_SPACING_DEFAULT);
  p[2] = params ("ddim", 10, 1.0, GD_SPACING_DEFAULT);
  p[3] = params ("skip-step", 10, 0.0, GD_SPACING_DEFAULT);
  p[4] = params ("dpm-solver-2", 10, 0.0, GD_SPACING_DEFAULT);
  p[5] = params ("dpm-solver-3", 10, 0.0, GD_SPACING_DEFAULT);
  p[6] = params ("dpm-solver++2m", 10, 0.0, GD_SPACING_DEFAULT);
  *count = 7;
  return p;
}

static void
test_determinism (void)
{
  enum
  {
    N = 999
  };
  static float x_T[N], a[N], b[N], perm_in[N], perm_out[N];
  static uint64_t index[N];
  gauss_data d = data_default ();
  int count;
  const gd_sampler_params *all = all_samplers (&count);

  /* A layout where element j holds image element perm(j) = (j * 5) % N:
   * with noise_index = perm, the run is the same run, rearranged.
   * gauss_eps groups by position, so keep perm(j) = j (mod 4) groups:
   * 5 = 1 (mod 4) and N = 999 = 3 (mod 4) break that; use a permutation
   * within each group instead (reverse the order of each group). */
  for (int j = 0; j < N; j++)
    {
      int g = j % 4, slot = j / 4, slots = (N - g + 3) / 4;

      index[j] = (uint64_t)(g + 4 * (slots - 1 - slot));
    }
  gauss_pure_noise (9, x_T, N);
  for (int j = 0; j < N; j++)
    perm_in[j] = x_T[index[j]];

  for (int k = 0; k < count; k++)
    {
      gd_sampler_params p = all[k];
      gd_sampler_hooks hooks = { .noise_index = index };

      memcpy (a, x_T, sizeof a);
      memcpy (b, x_T, sizeof b);
      run (&p, &d, a, N, 1000, NULL);
      run (&p, &d, b, N, 1000, NULL);
      CHECK (memcmp (a, b, sizeof a) == 0, "%s: same seed, different output",
             gd_sampler_name (p.kind));

      memcpy (perm_out, perm_in, sizeof perm_out);
      run (&p, &d, perm_out, N, 1000, &hooks);
      int same = 1;
      for (int j = 0; j < N; j++)
        same &= perm_out[j] == a[index[j]];
      CHECK (same, "%s: a rearranged layout with noise_index changes pixels",
             gd_sampler_name (p.kind));

      p.seed++;
      memcpy (b, x_T, sizeof b);
      run (&p, &d, b, N, 1000, NULL);
      int differ = 0;
      for (int j = 0; j < N; j++)
        differ += a[j] != b[j];
      if (gauss_is_stochastic (&p))
        CHECK (differ > N * 9 / 10,
               "%s eta %g: another seed changes only %d "
               "of %d elements",
               gd_sampler_name (p.kind), p.eta, differ, N);
      else
        CHECK (differ == 0,
               "%s: deterministic, yet the seed changes %d "
               "elements",
               gd_sampler_name (p.kind), differ);
    }
}

/* ------------------------------------------------------------ spacings */

typedef struct
{
  gauss_data data;
  double t[1100];
  int count;
} recorder;

static int
recording_eps (void *user_data, const float *x_t, double t, float *eps_hat,
               size_t n, gd_error *err)
{
  recorder *r = user_data;

  if (r->count < 1100)
    r->t[r->count] = t;
  r->count++;
  return gauss_eps (&r->data, x_t, t, eps_hat, n, err);
}

static void
record (const gd_sampler_params *p, int t0, recorder *r)
{
  float x[8];
  gd_error err;

  r->data = data_default ();
  r->count = 0;
  gauss_pure_noise (3, x, 8);
  CHECK (
      gd_sample (&sched, p, x, 8, t0, recording_eps, r, NULL, NULL, NULL, &err)
          == GD_OK,
      "%s", err.message);
}

static void
test_spacings (void)
{
  recorder r;
  gd_sampler_params p;

  p = params ("ddim", 10, 0.0, GD_SPACING_TRAILING);
  record (&p, 1000, &r);
  for (int k = 0; k < 10; k++)
    CHECK (r.t[k] == 1000 - 100 * k, "trailing: t[%d] = %g", k, r.t[k]);

  p.spacing = GD_SPACING_DEFAULT;
  record (&p, 999, &r);
  CHECK (r.count == 10 && r.t[0] == 999 && r.t[1] == 899 && r.t[9] == 100,
         "default = trailing from 999: %g %g .. %g", r.t[0], r.t[1], r.t[9]);

  p.spacing = GD_SPACING_LEADING;
  record (&p, 1000, &r);
  for (int k = 0; k < 10; k++)
    CHECK (r.t[k] == 901 - 100 * k, "leading: t[%d] = %g", k, r.t[k]);

  p.spacing = GD_SPACING_LAMBDA;
  record (&p, 600, &r);
  double h = gd_schedule_lambda_at (&sched, 1.0)
             - gd_schedule_lambda_at (&sched, 600.0);
  CHECK (r.t[0] == 600.0 && r.t[9] == 1.0, "lambda: ends %g %g", r.t[0],
         r.t[9]);
  for (int k = 0; k + 1 < 10; k++)
    {
      double dl = gd_schedule_lambda_at (&sched, r.t[k + 1])
                  - gd_schedule_lambda_at (&sched, r.t[k]);

      CHECK (fabs (dl - h / 9) < 1e-9, "lambda step %d: %g, want %g", k, dl,
             h / 9);
    }

  p = params ("skip-step", 300, 0.0, GD_SPACING_DEFAULT);
  record (&p, 150, &r);
  CHECK (r.count == 150 && r.t[0] == 150 && r.t[149] == 1,
         "skip-step 300 steps from 150: %d evaluations", r.count);

  p = params ("ddpm", 5, 0.0, GD_SPACING_LAMBDA);
  record (&p, 37, &r);
  CHECK (r.count == 37 && r.t[0] == 37 && r.t[36] == 1,
         "ddpm from 37: %d evaluations", r.count);

  /* dpm-solver-3 with 10 NFE: 3 third-order steps (t, s1, s2 each) and the
   * final x0_hat at t = 1, on a lambda grid. */
  p = params ("dpm-solver-3", 10, 0.0, GD_SPACING_DEFAULT);
  record (&p, 1000, &r);
  CHECK (r.count == 10 && r.t[0] == 1000 && r.t[9] == 1.0,
         "dpm-solver-3: %d evaluations, %g .. %g", r.count, r.t[0], r.t[9]);
  double l0 = gd_schedule_lambda_at (&sched, 1000);
  double step = (gd_schedule_lambda_at (&sched, 1.0) - l0) / 3;
  for (int k = 0; k < 9; k++)
    {
      double want = l0 + step * (k / 3) + step * (k % 3) / 3.0;

      CHECK (fabs (gd_schedule_lambda_at (&sched, r.t[k]) - want) < 1e-9,
             "dpm-solver-3 evaluation %d at lambda %g, want %g", k,
             gd_schedule_lambda_at (&sched, r.t[k]), want);
    }

  /* dpm-solver-2 with 8 NFE: a first-order step, then 3 second-order steps
   * (t, then the lambda midpoint), on 4 equal lambda steps from 700. */
  p = params ("dpm-solver-2", 8, 0.0, GD_SPACING_DEFAULT);
  record (&p, 700, &r);
  l0 = gd_schedule_lambda_at (&sched, 700);
  step = (gd_schedule_lambda_at (&sched, 1.0) - l0) / 4;
  const double at[7] = { 0, 1, 1.5, 2, 2.5, 3, 3.5 };
  CHECK (r.count == 8 && r.t[7] == 1.0, "dpm-solver-2: %d evaluations",
         r.count);
  for (int k = 0; k < 7; k++)
    CHECK (fabs (gd_schedule_lambda_at (&sched, r.t[k]) - l0 - at[k] * step)
               < 1e-9,
           "dpm-solver-2 evaluation %d at lambda %g, want %g", k,
           gd_schedule_lambda_at (&sched, r.t[k]), l0 + at[k] * step);

  p = params ("dpm-solver++2m", 5, 0.0, GD_SPACING_TRAILING);
  record (&p, 501, &r);
  CHECK (r.count == 5 && r.t[0] == 501 && r.t[1] == 376 && r.t[3] == 126
             && r.t[4] == 1,
         "dpm-solver++2m trailing: %g %g %g %g %g", r.t[0], r.t[1], r.t[2],
         r.t[3], r.t[4]);
  p.spacing = GD_SPACING_LEADING;
  record (&p, 501, &r);
  CHECK (r.count == 5 && r.t[0] == 401 && r.t[1] == 301 && r.t[4] == 1,
         "dpm-solver++2m leading: %g %g %g %g %g", r.t[0], r.t[1], r.t[2],
         r.t[3], r.t[4]);

  /* t0 = 1: one evaluation, whatever the sampler. */
  int count;
  const gd_sampler_params *all = all_samplers (&count);
  for (int k = 0; k < count; k++)
    {
      record (&all[k], 1, &r);
      CHECK (r.count == 1 && r.t[0] == 1.0 && gd_sampler_nfe (&all[k], 1) == 1,
             "%s from t0 = 1: %d evaluations", gd_sampler_name (all[k].kind), r.count);
    }
}

/* ------------------------------------------------------------ hooks */

typedef struct
{
  int x0_calls, x_s_calls, last_step;
  double last_s, last_t;
  int order_ok;
  const double *eval_t;
  int fail_x0_at;  /* the x0_hat hook fails on this call (1-based; 0: never) */
  int fail_x_s_at; /* ... the x_s hook */
} hook_log;

static int
hook_x0_const (void *user_data, float *x0_hat, size_t n, double t)
{
  hook_log *log = user_data;

  if (log->eval_t != NULL && log->eval_t[log->x0_calls] != t)
    log->order_ok = 0;
  log->x0_calls++;
  log->last_t = t;
  if (log->x0_calls == log->fail_x0_at)
    return GD_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    x0_hat[i] = 0.25f;
  return GD_OK;
}

static int
hook_x_s (void *user_data, float *x_s, size_t n, double s, int step)
{
  hook_log *log = user_data;

  (void)x_s, (void)n;
  if (step != log->x_s_calls || !(s < log->last_s))
    log->order_ok = 0;
  log->x_s_calls++;
  log->last_step = step;
  log->last_s = s;
  return log->x_s_calls == log->fail_x_s_at ? GD_ERR_IO : GD_OK;
}

static void
test_hooks (void)
{
  enum
  {
    N = 64
  };
  float x[N];
  int count;
  const gd_sampler_params *all = all_samplers (&count);
  recorder r;

  for (int k = 0; k < count; k++)
    {
      hook_log log = { .order_ok = 1, .last_s = 1e9 };
      gd_sampler_hooks hooks = { hook_x0_const, hook_x_s, &log, NULL };
      gd_error err;

      record (&all[k], 700, &r); /* the evaluation times, for the hook */
      log.eval_t = r.t;
      r.data = data_default ();
      gauss_pure_noise (4, x, N);
      CHECK (gd_sample (&sched, &all[k], x, N, 700, gauss_eps, &r.data, &hooks,
                        NULL, NULL, &err)
                 == GD_OK,
             "%s", err.message);
      int nfe = gd_sampler_nfe (&all[k], 700);
      int exact = 1;
      for (int i = 0; i < N; i++)
        exact &= x[i] == 0.25f;
      CHECK (exact, "%s: x0_hat forced to 0.25, output differs",
             gd_sampler_name (all[k].kind));
      CHECK (log.x0_calls == nfe, "%s: x0_hat hook %d times, NFE %d",
             gd_sampler_name (all[k].kind), log.x0_calls, nfe);
      CHECK (log.order_ok && log.last_s == 0.0,
             "%s: hooks out of order (last s %g)", gd_sampler_name (all[k].kind), log.last_s);
      CHECK (log.x_s_calls >= 1 && log.x_s_calls <= nfe, "%s: %d x_s calls",
             gd_sampler_name (all[k].kind), log.x_s_calls);

      /* A hook's error ends the run at once with its status. */
      for (int which = 0; which < 2; which++)
        {
          hook_log fail = { .order_ok = 1, .last_s = 1e9 };
          int rc;

          if (which == 0)
            fail.fail_x0_at = 2;
          else
            fail.fail_x_s_at = 1;
          hooks.user_data = &fail;
          r.data = data_default ();
          r.count = 0;
          gauss_pure_noise (4, x, N);
          rc = gd_sample (&sched, &all[k], x, N, 700, gauss_eps, &r.data,
                          &hooks, NULL, NULL, &err);
          if (which == 0)
            CHECK (rc == GD_ERR_NOMEM && fail.x0_calls == 2
                       && r.data.calls == 2,
                   "%s: failing x0_hat hook gave %d after %d calls, %ld "
                   "evaluations",
                   gd_sampler_name (all[k].kind), rc, fail.x0_calls,
                   r.data.calls);
          else
            CHECK (rc == GD_ERR_IO && fail.x_s_calls == 1
                       && r.data.calls <= 3,
                   "%s: failing x_s hook gave %d after %d calls, %ld "
                   "evaluations",
                   gd_sampler_name (all[k].kind), rc, fail.x_s_calls,
                   r.data.calls);
        }
      hooks.user_data = &log;
    }
}

/* ------------------------------------------------------------ clipping */

static void
test_clip (void)
{
  enum
  {
    N = 4000
  };
  static float x_T[N], a[N], b[N];
  gauss_data d
      = { .sched = &sched, .n_groups = 1, .m = { 0.9 }, .v = { 0.09 } };
  int count;
  const gd_sampler_params *all = all_samplers (&count);

  gauss_pure_noise (11, x_T, N);
  for (int k = 0; k < count; k++)
    {
      gd_sampler_params p = all[k];
      int outside = 0, clipped_outside = 0;

      memcpy (a, x_T, sizeof a);
      run (&p, &d, a, N, 1000, NULL);
      p.clip_x0 = 1;
      memcpy (b, x_T, sizeof b);
      run (&p, &d, b, N, 1000, NULL);
      for (int i = 0; i < N; i++)
        {
          outside += fabsf (a[i]) > 1.0f;
          clipped_outside += fabsf (b[i]) > 1.0f;
        }
      CHECK (outside > N / 10, "%s: only %d of %d outside [-1, 1]", gd_sampler_name (p.kind),
             outside, N);
      if (!gauss_is_stochastic (&p))
        CHECK (memcmp (a, b, sizeof a) == 0,
               "%s: clipping is ignored by the "
               "ODE solvers, yet changed the output",
               gd_sampler_name (p.kind));
      else
        CHECK (clipped_outside == 0, "%s: %d outside [-1, 1] with clip_x0",
               gd_sampler_name (p.kind), clipped_outside);
    }
}

/* ------------------------------------------------------------ progress */

typedef struct
{
  int calls, last_done, total, ok, cancel_at;
} progress_log;

static int
progress_cb (void *user_data, int done, int total)
{
  progress_log *log = user_data;

  log->calls++;
  if (done != log->last_done + 1 || (log->total && total != log->total))
    log->ok = 0;
  log->last_done = done;
  log->total = total;
  return log->cancel_at != 0 && done == log->cancel_at;
}

static void
test_progress_cancel (void)
{
  enum
  {
    N = 32
  };
  float x[N];
  int count;
  const gd_sampler_params *all = all_samplers (&count);

  for (int k = 0; k < count; k++)
    {
      gauss_data d = data_default ();
      progress_log log = { .ok = 1 };
      gd_error err;
      int nfe = gd_sampler_nfe (&all[k], 1000);

      gauss_pure_noise (1, x, N);
      CHECK (gd_sample (&sched, &all[k], x, N, 1000, gauss_eps, &d, NULL,
                        progress_cb, &log, &err)
                 == GD_OK,
             "%s", err.message);
      CHECK (log.ok && log.calls == nfe && log.last_done == nfe
                 && log.total == nfe && d.calls == nfe,
             "%s: %d progress calls, last %d/%d, %ld evaluations, NFE %d",
             gd_sampler_name (all[k].kind), log.calls, log.last_done, log.total, d.calls, nfe);

      /* Cancel after the 5th evaluation (inside a DPM-Solver-3 step). */
      progress_log stop = { .ok = 1, .cancel_at = 5 };
      d.calls = 0;
      gauss_pure_noise (1, x, N);
      int rc = gd_sample (&sched, &all[k], x, N, 1000, gauss_eps, &d, NULL,
                          progress_cb, &stop, &err);
      CHECK (rc == GD_ERR_CANCELLED && err.status == GD_ERR_CANCELLED
                 && strstr (err.message, "cancel") != NULL && d.calls == 5,
             "%s: cancel gave %d (%s) after %ld evaluations", gd_sampler_name (all[k].kind),
             rc, err.message, d.calls);
    }
}

/* ------------------------------------------------------------ errors */

typedef struct
{
  gauss_data data;
  int calls, bad_at;
  float bad_value;
  int fail_status;
} bad_net;

static int
bad_eps (void *user_data, const float *x_t, double t, float *eps_hat, size_t n,
         gd_error *err)
{
  bad_net *b = user_data;

  gauss_eps (&b->data, x_t, t, eps_hat, n, err);
  if (++b->calls == b->bad_at)
    {
      if (b->fail_status != GD_OK)
        return gd_error_set (err, b->fail_status, "model file vanished");
      eps_hat[n / 2] = b->bad_value;
    }
  return GD_OK;
}

static void
test_numeric_and_invalid (void)
{
  enum
  {
    N = 32
  };
  float x[N];
  gd_error err;
  int count;
  const gd_sampler_params *all = all_samplers (&count);

  for (int k = 0; k < count; k++)
    {
      const float bad[2] = { NAN, INFINITY };
      const char *word[2] = { "NaN", "Inf" };

      for (int j = 0; j < 2; j++)
        {
          bad_net b
              = { .data = data_default (), .bad_at = 3, .bad_value = bad[j] };

          gauss_pure_noise (1, x, N);
          int rc = gd_sample (&sched, &all[k], x, N, 1000, bad_eps, &b, NULL,
                              NULL, NULL, &err);
          int finite = 1;
          for (int i = 0; i < N; i++)
            finite &= isfinite (x[i]) != 0;
          CHECK (rc == GD_ERR_NUMERIC && strstr (err.message, word[j]) != NULL
                     && b.calls == 3 && finite,
                 "%s: %s gave %d (%s) after %d calls, finite state %d",
                 gd_sampler_name (all[k].kind), word[j], rc, err.message, b.calls, finite);
        }
      bad_net io
          = { .data = data_default (), .bad_at = 2, .fail_status = GD_ERR_IO };
      int rc = gd_sample (&sched, &all[k], x, N, 1000, bad_eps, &io, NULL, NULL,
                          NULL, &err);
      CHECK (rc == GD_ERR_IO
                 && strcmp (err.message, "model file vanished") == 0,
             "%s: network error gave %d (%s)", gd_sampler_name (all[k].kind), rc, err.message);
    }

  gauss_data d = data_default ();
  gd_sampler_params p = params ("ddim", 10, 0.0, GD_SPACING_DEFAULT);
  struct
  {
    const char *name;
    int steps, t0;
    double eta;
    int spacing;
  } bad_params[] = {
    { NULL, 10, 1000, 0.0, 0 },
    { "ddim", 10, 0, 0.0, 0 },     { "ddim", 10, 1001, 0.0, 0 },
    { "ddim", 0, 1000, 0.0, 0 },   { "dpm-solver-2", -1, 1000, 0.0, 0 },
    { "ddim", 10, 1000, 1.5, 0 },  { "ddim", 10, 1000, NAN, 0 },
    { "ddim", 10, 1000, 0.0, 9 },
  };
  for (size_t k = 0; k < sizeof bad_params / sizeof *bad_params; k++)
    {
      if (bad_params[k].name == NULL)
        p.kind = (gd_sampler_kind)GD_SAMPLER_COUNT;
      else
        gd_sampler_from_name (bad_params[k].name, &p.kind, NULL);
      p.steps = bad_params[k].steps;
      p.eta = bad_params[k].eta;
      p.spacing = (gd_spacing)bad_params[k].spacing;
      d.calls = 0;
      int rc = gd_sample (&sched, &p, x, N, bad_params[k].t0, gauss_eps, &d,
                          NULL, NULL, NULL, &err);
      CHECK (rc == GD_ERR_INVALID && err.message[0] != '\0' && d.calls == 0,
             "bad parameters %zu accepted (%d)", k, rc);
    }

  /* NFE and names. */
  p = params ("ddpm", 7, 0.0, GD_SPACING_DEFAULT);
  CHECK (gd_sampler_nfe (&p, 640) == 640, "ddpm NFE");
  p.kind = GD_SAMPLER_DDIM;
  CHECK (gd_sampler_nfe (&p, 640) == 7 && gd_sampler_nfe (&p, 5) == 5,
         "ddim NFE");
  p.kind = GD_SAMPLER_DPM_SOLVER_3;
  CHECK (gd_sampler_nfe (&p, 5) == 7 && gd_sampler_nfe (&p, 0) == 0, "dpm NFE");
  p.kind = (gd_sampler_kind)GD_SAMPLER_COUNT;
  CHECK (gd_sampler_nfe (&p, 100) == 0, "unknown NFE");
  p.kind = (gd_sampler_kind)-1;
  CHECK (gd_sampler_nfe (&p, 100) == 0 && gd_sampler_name (p.kind) == NULL,
         "negative kind");
  const char *const *names = gd_sampler_names ();
  int n_names = 0;
  for (; names[n_names] != NULL; n_names++)
    {
      gd_sampler_kind kind = (gd_sampler_kind)-1;

      CHECK (gd_sampler_from_name (names[n_names], &kind, NULL) == GD_OK
                 && (int)kind == n_names
                 && strcmp (gd_sampler_name (kind), names[n_names]) == 0,
             "%s: name and kind", names[n_names]);
    }
  {
    gd_sampler_kind kind = GD_SAMPLER_DDPM;
    gd_error e;

    CHECK (n_names == GD_SAMPLER_COUNT
               && gd_sampler_from_name ("DDIM", &kind, &e) == GD_ERR_INVALID
               && strstr (e.message, "dpm-solver++2m") != NULL
               && gd_sampler_from_name ("heun", &kind, NULL) == GD_ERR_INVALID
               && gd_sampler_from_name (NULL, &kind, NULL) == GD_ERR_INVALID
               && kind == GD_SAMPLER_DDPM
               && gd_sampler_name ((gd_sampler_kind)GD_SAMPLER_COUNT) == NULL,
           "names");
  }
  gd_sampler_params_init (&p);
  CHECK (p.kind == GD_SAMPLER_DDIM && p.steps == 20 && p.eta == 0.0
             && p.clip_x0 == 0 && p.spacing == GD_SPACING_DEFAULT,
         "defaults");
}

int
main (void)
{
  gd_error err;

  if (gd_schedule_init_linear (&sched, 1000, 1e-4, 0.02, &err) != GD_OK)
    {
      fprintf (stderr, "FAIL: %s\n", err.message);
      return 1;
    }
  test_identities ();
  test_identities_end_to_end ();
  test_spacings ();
  test_hooks ();
  test_clip ();
  test_progress_cancel ();
  test_numeric_and_invalid ();
  test_determinism ();
  test_convergence ();
  test_distribution ();
  if (failures)
    fprintf (stderr, "%d check(s) failed\n", failures);
  else
    printf ("test_samplers: all checks passed\n");
  return failures != 0;
}
