/* gaussian-data.h: closed-form data for testing samplers without a network.
 *
 * Element i belongs to group g = i % n_groups, whose data is
 * x0 ~ N(m_g, v_g).  Then q(x_t) = N(sqrt(abar) m, abar v + 1 - abar) and
 * the exact eps* (x_t, t) = E[eps | x_t] is
 *   eps* = sqrt(1-abar) (x_t - sqrt(abar) m) / (abar v + 1 - abar).
 * In x_bar = x / sqrt(abar), sigma_bar^2 = (1-abar)/abar the probability-flow
 * ODE is d x_bar / d sigma_bar = eps*, solved exactly by
 *   x_bar - m proportional to sqrt(v + sigma_bar^2),
 * and x0_hat = m + (x_bar - m) v / (v + sigma_bar^2). */
#ifndef GD_TESTS_GAUSSIAN_DATA_H
#define GD_TESTS_GAUSSIAN_DATA_H

#include "gimp-diffusion.h"
#include "sampler-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAUSS_MAX_GROUPS 8

typedef struct
{
  const gd_schedule *sched;
  int n_groups;
  double m[GAUSS_MAX_GROUPS];
  double v[GAUSS_MAX_GROUPS];
  long calls; /* network evaluations counted */
} gauss_data;

static inline int
gauss_eps (void *user_data, const float *x_t, double t, float *eps_hat,
           size_t n, gd_error *err)
{
  gauss_data *d = user_data;
  double abar = gd_schedule_abar_at (d->sched, t);
  double c[GAUSS_MAX_GROUPS], off[GAUSS_MAX_GROUPS];

  (void)err;
  for (int g = 0; g < d->n_groups; g++)
    {
      c[g] = sqrt (1.0 - abar) / (abar * d->v[g] + 1.0 - abar);
      off[g] = sqrt (abar) * d->m[g];
    }
  for (size_t i = 0; i < n; i++)
    {
      int g = (int)(i % (size_t)d->n_groups);

      eps_hat[i] = (float)(c[g] * (x_t[i] - off[g]));
    }
  d->calls++;
  return GD_OK;
}

/* The exact ODE solution from (x, t) to t_end; with x0_hat_at_end, the
 * x0_hat of that end point instead (what the samplers output from their
 * last evaluation at t_end). */
static inline double
gauss_ode (const gd_schedule *sched, double m, double v, double x, double t,
           double t_end, int x0_hat_at_end)
{
  double abar_t = gd_schedule_abar_at (sched, t);
  double abar_e = gd_schedule_abar_at (sched, t_end);
  double sb2_t = (1.0 - abar_t) / abar_t, sb2_e = (1.0 - abar_e) / abar_e;
  double xbar_e
      = m + (x / sqrt (abar_t) - m) * sqrt ((v + sb2_e) / (v + sb2_t));

  if (x0_hat_at_end)
    return m + (xbar_e - m) * v / (v + sb2_e);
  return sqrt (abar_e) * xbar_e;
}

/* Pure noise N(0, I) for the start of a run from t0 = T. */
static inline void
gauss_pure_noise (uint64_t seed, float *x, size_t n)
{
  gd_rng_normal_fill (seed, GD_RNG_STREAM_START, 0, x, n);
}

/* x_t0 ~ q(x_t0 | x0) with x0 ~ N(m, v) drawn from its own stream. */
static inline void
gauss_noised_data (const gauss_data *d, uint64_t seed, int t0, float *x,
                   size_t n)
{
  double abar = gd_schedule_abar_at (d->sched, t0);

  for (size_t i = 0; i < n; i++)
    {
      int g = (int)(i % (size_t)d->n_groups);
      double x0
          = d->m[g]
            + sqrt (d->v[g]) * gd_rng_normal (seed, GD_RNG_STREAM_START + 1, i);
      double z = gd_rng_normal (seed, GD_RNG_STREAM_START, i);

      x[i] = (float)(sqrt (abar) * x0 + sqrt (1.0 - abar) * z);
    }
}

/* Sample mean and (unbiased) variance of each group. */
static inline void
gauss_moments (const gauss_data *d, const float *x, size_t n, double *mean,
               double *var)
{
  for (int g = 0; g < d->n_groups; g++)
    {
      double sum = 0.0, sum2 = 0.0;
      size_t count = 0;

      for (size_t i = (size_t)g; i < n; i += (size_t)d->n_groups)
        sum += x[i], count++;
      mean[g] = sum / count;
      for (size_t i = (size_t)g; i < n; i += (size_t)d->n_groups)
        sum2 += (x[i] - mean[g]) * (x[i] - mean[g]);
      var[g] = sum2 / (count - 1);
    }
}

/* ---------------------------------------------------------- exact moments
 * For this data every sampler is affine per element: x_out = a x_start + b
 * (+ independent Gaussian noise for the stochastic ones), so the output
 * moments of a run started from N(mean0_g, var0_g) are known without
 * sampling: exact biases, free of Monte Carlo error. */

typedef struct
{
  gauss_data *data;
  double t[GD_T_MAX + 2];
  int count;
} gauss_recorder;

static inline int
gauss_recording_eps (void *user_data, const float *x_t, double t,
                     float *eps_hat, size_t n, gd_error *err)
{
  gauss_recorder *r = user_data;

  if (r->count < GD_T_MAX + 2)
    r->t[r->count] = t;
  r->count++;
  return gauss_eps (r->data, x_t, t, eps_hat, n, err);
}

/* The deterministic samplers: a and b from two runs (x_start = 0 and 1). */
static inline int
gauss_moments_ode (const gd_sampler_params *p, gauss_data *d, int t0,
                   const double *mean0, const double *var0, double *mean,
                   double *var)
{
  int G = d->n_groups;
  float x[2 * GAUSS_MAX_GROUPS];
  gd_error err;

  for (int i = 0; i < 2 * G; i++)
    x[i] = (float)(i / G);
  if (gd_sample (d->sched, p, x, 2 * G, t0, gauss_eps, d, NULL, NULL, NULL,
                 &err)
      != GD_OK)
    return -1;
  for (int g = 0; g < G; g++)
    {
      double a = (double)x[G + g] - x[g], b = x[g];

      mean[g] = a * mean0[g] + b;
      var[g] = a * a * var0[g];
    }
  return 0;
}

/* ddpm, ddim(eta) and skip-step: the recursion on (mean, var) through the
 * coefficients the samplers use, on the timesteps a run evaluates.
 * x0_hat = m + g (x_t - alpha m),  g = alpha v / (alpha^2 v + sigma^2). */
static inline int
gauss_moments_posterior (const gd_sampler_params *p, gauss_data *d, int t0,
                         const double *mean0, const double *var0, double *mean,
                         double *var)
{
  static gauss_recorder r;
  float x[GAUSS_MAX_GROUPS] = { 0 };
  gd_error err;
  int kind = p->kind == GD_SAMPLER_DDPM        ? 0
             : p->kind == GD_SAMPLER_SKIP_STEP ? 1
                                               : 2;

  r.data = d;
  r.count = 0;
  if (gd_sample (d->sched, p, x, d->n_groups, t0, gauss_recording_eps, &r, NULL,
                 NULL, NULL, &err)
      != GD_OK)
    return -1;
  for (int g = 0; g < d->n_groups; g++)
    {
      double mu = mean0[g], V = var0[g], m = d->m[g], v = d->v[g];

      for (int k = 0; k < r.count; k++)
        {
          double t = r.t[k], s = k + 1 < r.count ? r.t[k + 1] : 0.0;
          double abar = gd_schedule_abar_at (d->sched, t);
          double alpha = sqrt (abar), sigma2 = 1.0 - abar;
          double gain = alpha * v / (abar * v + sigma2);
          double x0_mean = m + gain * (mu - alpha * m);
          gd_step_coef c;

          if (s == 0.0)
            {
              mu = x0_mean;
              V = gain * gain * V;
              break;
            }
          if (kind == 0)
            gd_coef_ddpm (d->sched, (int)t, &c);
          else if (kind == 1)
            gd_coef_posterior (d->sched, t, s, &c);
          else
            gd_coef_ddim (d->sched, t, s, p->eta, &c);
          mu = c.c_xt * mu + c.c_x0 * x0_mean;
          V = (c.c_xt + c.c_x0 * gain) * (c.c_xt + c.c_x0 * gain) * V + c.var;
        }
      mean[g] = mu;
      var[g] = V;
    }
  return 0;
}

static inline int
gauss_is_stochastic (const gd_sampler_params *p)
{
  return gd_sampler_is_stochastic (p);
}

/* Exact output moments of p from N(mean0, var0) at t0, whichever sampler. */
static inline int
gauss_exact_moments (const gd_sampler_params *p, gauss_data *d, int t0,
                     const double *mean0, const double *var0, double *mean,
                     double *var)
{
  if (gauss_is_stochastic (p))
    return gauss_moments_posterior (p, d, t0, mean0, var0, mean, var);
  return gauss_moments_ode (p, d, t0, mean0, var0, mean, var);
}

/* Start moments: pure noise N(0, 1), or q(x_t0) = N(alpha m, abar v + 1-abar)
 * for img2img. */
static inline void
gauss_start_moments (const gauss_data *d, int t0, int pure_noise, double *mean0,
                     double *var0)
{
  double abar = gd_schedule_abar_at (d->sched, t0);

  for (int g = 0; g < d->n_groups; g++)
    {
      mean0[g] = pure_noise ? 0.0 : sqrt (abar) * d->m[g];
      var0[g] = pure_noise ? 1.0 : abar * d->v[g] + 1.0 - abar;
    }
}

#endif /* GD_TESTS_GAUSSIAN_DATA_H */
