/* schedule.c: the DDPM noise schedule and its continuous (DPM-Solver) view. */
#include "gimp-diffusion.h"

#include <math.h>
#include <string.h>

int
gd_schedule_init_linear (gd_schedule *s, int T, double beta_start,
                         double beta_end, gd_error *err)
{
  if (s == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "schedule: NULL schedule");
  if (T < 1 || T > GD_T_MAX)
    return gd_error_set (err, GD_ERR_INVALID,
                         "schedule: T = %d is outside 1..%d", T, GD_T_MAX);
  if (!(beta_start > 0.0 && beta_start <= beta_end && beta_end < 1.0))
    return gd_error_set (err, GD_ERR_INVALID,
                         "schedule: betas %g..%g must satisfy "
                         "0 < beta_start <= beta_end < 1",
                         beta_start, beta_end);

  memset (s, 0, sizeof *s);
  s->T = T;
  s->alpha[0] = 1.0;
  s->abar[0] = 1.0;
  for (int t = 1; t <= T; t++)
    {
      /* beta_1 = beta_start, beta_T = beta_end (DDPM's linspace). */
      double f = T > 1 ? (double)(t - 1) / (T - 1) : 0.0;

      s->beta[t] = beta_start + f * (beta_end - beta_start);
      s->alpha[t] = 1.0 - s->beta[t];
      s->abar[t] = s->abar[t - 1] * s->alpha[t];
    }
  return GD_OK;
}

/* log alpha(t) = log sqrt(abar_t) at a grid point. */
static double
log_alpha_grid (const gd_schedule *s, int t)
{
  return 0.5 * log (s->abar[t]);
}

/* log alpha at fractional t: piecewise linear between grid points. */
static double
log_alpha_at (const gd_schedule *s, double t)
{
  if (!(t > 0.0))
    return 0.0;
  if (t >= s->T)
    return log_alpha_grid (s, s->T);

  int i = (int)floor (t);
  double f = t - i;

  return (1.0 - f) * log_alpha_grid (s, i) + f * log_alpha_grid (s, i + 1);
}

double
gd_schedule_abar_at (const gd_schedule *s, double t)
{
  if (!(t > 0.0))
    return 1.0;
  if (t >= s->T)
    return s->abar[s->T];
  if (t == floor (t))
    return s->abar[(int)t]; /* exact on the grid, for the integer samplers */
  return exp (2.0 * log_alpha_at (s, t));
}

double
gd_schedule_lambda_at (const gd_schedule *s, double t)
{
  double log_alpha = log_alpha_at (s, t);
  /* 1 - abar = -expm1 (2 log alpha), exact near t = 0. */
  double one_minus_abar = -expm1 (2.0 * log_alpha);

  if (!(one_minus_abar > 0.0))
    return INFINITY;
  return log_alpha - 0.5 * log (one_minus_abar);
}

double
gd_schedule_t_of_lambda (const gd_schedule *s, double lambda)
{
  if (isnan (lambda))
    return NAN;
  if (lambda == INFINITY)
    return 0.0;

  /* log alpha = -0.5 log(1 + e^(-2 lambda)), a stable softplus. */
  double z = -2.0 * lambda;
  double softplus = fmax (z, 0.0) + log1p (exp (-fabs (z)));
  double log_alpha = -0.5 * softplus;

  if (log_alpha >= 0.0)
    return 0.0;
  if (log_alpha <= log_alpha_grid (s, s->T))
    return s->T;

  /* log alpha decreases with t: find la(lo) > log_alpha >= la(hi). */
  int lo = 0, hi = s->T;
  while (hi - lo > 1)
    {
      int mid = lo + (hi - lo) / 2;

      if (log_alpha_grid (s, mid) > log_alpha)
        lo = mid;
      else
        hi = mid;
    }
  double la_lo = log_alpha_grid (s, lo);
  double la_hi = log_alpha_grid (s, hi);

  return lo + (la_lo - log_alpha) / (la_lo - la_hi);
}

double
gd_schedule_t_of_sigma (const gd_schedule *s, double sigma)
{
  if (isnan (sigma))
    return NAN;
  if (!(sigma > 0.0))
    return 0.0;
  /* sigma^2 = (1 - abar) / abar  <=>  lambda = -log sigma. */
  return gd_schedule_t_of_lambda (s, -log (sigma));
}
