/* sampler.c: gd_sample and the samplers on DDPM's posterior (ddpm, ddim,
 * skip-step); the DPM-Solvers are in sampler-dpm.c. */
#include "gimp-diffusion.h"
#include "sampler-internal.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* In gd_sampler_kind order. */
static const char *const sampler_names[GD_SAMPLER_COUNT + 1] = {
  "ddpm",         "ddim",           "skip-step", "dpm-solver-2",
  "dpm-solver-3", "dpm-solver++2m", NULL,
};

static int
sampler_kind_is_valid (gd_sampler_kind kind)
{
  return (int)kind >= 0 && (int)kind < GD_SAMPLER_COUNT;
}

const char *
gd_sampler_name (gd_sampler_kind kind)
{
  return sampler_kind_is_valid (kind) ? sampler_names[kind] : NULL;
}

int
gd_sampler_from_name (const char *name, gd_sampler_kind *kind, gd_error *err)
{
  assert (kind != NULL);
  for (int k = 0; name != NULL && k < GD_SAMPLER_COUNT; k++)
    if (strcmp (name, sampler_names[k]) == 0)
      {
        *kind = (gd_sampler_kind)k;
        return GD_OK;
      }
  return gd_error_set (err, GD_ERR_INVALID,
                       "unknown sampler \"%s\" (ddpm, ddim, skip-step, "
                       "dpm-solver-2, dpm-solver-3, dpm-solver++2m)",
                       name != NULL ? name : "(null)");
}

void
gd_sampler_params_init (gd_sampler_params *p)
{
  memset (p, 0, sizeof *p);
  p->kind = GD_SAMPLER_DDIM;
  p->steps = 20;
  p->eta = 0.0;
  p->spacing = GD_SPACING_DEFAULT;
  p->clip_x0 = 0;
  p->seed = 0;
}

const char *const *
gd_sampler_names (void)
{
  return sampler_names;
}

int
gd_sampler_is_stochastic (const gd_sampler_params *p)
{
  return p->kind == GD_SAMPLER_DDPM || p->kind == GD_SAMPLER_SKIP_STEP
         || (p->kind == GD_SAMPLER_DDIM && p->eta > 0.0);
}

int
gd_sampler_nfe (const gd_sampler_params *p, int t0)
{
  if (p == NULL || t0 < 1 || t0 > GD_T_MAX || !sampler_kind_is_valid (p->kind))
    return 0;
  if (p->kind == GD_SAMPLER_DDPM)
    return t0;
  if (p->steps < 1)
    return 0;
  if (p->kind == GD_SAMPLER_DDIM || p->kind == GD_SAMPLER_SKIP_STEP)
    return p->steps < t0 ? p->steps : t0;
  return t0 == 1 ? 1 : p->steps;
}

/* ------------------------------------------------------------ coefficients */

void
gd_coef_ddpm (const gd_schedule *sched, int t, gd_step_coef *c)
{
  double beta = sched->beta[t], alpha = sched->alpha[t];
  double abar_t = sched->abar[t], abar_prev = sched->abar[t - 1];

  /* mu_tilde = sqrt(abar_{t-1}) beta_t / (1-abar_t) x0
   *          + sqrt(alpha_t) (1-abar_{t-1}) / (1-abar_t) x_t,
   * beta_tilde = (1-abar_{t-1}) / (1-abar_t) beta_t  (DDPM eq. 7). */
  c->c_x0 = sqrt (abar_prev) * beta / (1.0 - abar_t);
  c->c_xt = sqrt (alpha) * (1.0 - abar_prev) / (1.0 - abar_t);
  c->var = (1.0 - abar_prev) / (1.0 - abar_t) * beta;
}

void
gd_coef_posterior (const gd_schedule *sched, double t, double s,
                   gd_step_coef *c)
{
  double abar_t = gd_schedule_abar_at (sched, t);
  double abar_s = gd_schedule_abar_at (sched, s);
  double jump = 1.0 - abar_t / abar_s; /* 1 - abar_t/abar_s: "beta_{t|s}" */

  /* DESIGN.md 3 / docs/math.md: q(x_s | x_t, x0) = N(mu, v). */
  c->c_xt = sqrt (abar_t / abar_s) * (1.0 - abar_s) / (1.0 - abar_t);
  c->c_x0 = sqrt (abar_s) * jump / (1.0 - abar_t);
  c->var = (1.0 - abar_s) * jump / (1.0 - abar_t);
}

void
gd_coef_ddim (const gd_schedule *sched, double t, double s, double eta,
              gd_step_coef *c)
{
  double abar_t = gd_schedule_abar_at (sched, t);
  double abar_s = gd_schedule_abar_at (sched, s);
  /* sigma^2 = eta^2 (1-abar_s)/(1-abar_t) (1 - abar_t/abar_s) */
  double var
      = eta * eta * (1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s);
  /* x_s = sqrt(abar_s) x0 + sqrt(1-abar_s-sigma^2) eps + sigma z, with
   * eps = (x_t - sqrt(abar_t) x0) / sqrt(1-abar_t). */
  double dir = sqrt (fmax (0.0, 1.0 - abar_s - var) / (1.0 - abar_t));

  c->c_xt = dir;
  c->c_x0 = sqrt (abar_s) - dir * sqrt (abar_t);
  c->var = var;
}

void
gd_schedule_point (const gd_schedule *sched, double t, double *alpha,
                   double *sigma, double *lambda)
{
  double abar = gd_schedule_abar_at (sched, t);

  *alpha = sqrt (abar);
  *sigma = sqrt (1.0 - abar);
  *lambda = gd_schedule_lambda_at (sched, t);
}

/* ------------------------------------------------------------ grids */

void
gd_grid_to_t_end (const gd_schedule *sched, gd_spacing sp, int t0, int M,
                  double *out)
{
  const double t_end = GD_SAMPLE_T_END;

  assert (M >= 1 && t0 > t_end);
  if (sp == GD_SPACING_TRAILING)
    {
      for (int i = 0; i <= M; i++)
        out[i] = t_end + (t0 - t_end) * i / M;
    }
  else if (sp == GD_SPACING_LEADING)
    {
      /* One stride below t0 at the top, as DDIM's leading list. */
      for (int i = 0; i <= M; i++)
        out[i] = t_end + (t0 - t_end) * i / (M + 1);
    }
  else
    {
      double lambda_end = gd_schedule_lambda_at (sched, t_end);
      double lambda_0 = gd_schedule_lambda_at (sched, t0);

      out[0] = t_end;
      for (int i = 1; i < M; i++)
        out[i] = gd_schedule_t_of_lambda (
            sched, lambda_end + (lambda_0 - lambda_end) * i / M);
      out[M] = t0;
    }
}

/* K + 1 points out[0] = 0 < out[1] < ... < out[K] for ddim and skip-step. */
static void
grid_posterior (const gd_schedule *sched, gd_spacing sp, int t0, int K,
                double *out)
{
  out[0] = 0.0;
  if (sp == GD_SPACING_LAMBDA && K > 1)
    gd_grid_to_t_end (sched, GD_SPACING_LAMBDA, t0, K - 1, out + 1);
  else if (sp == GD_SPACING_LEADING)
    {
      int stride = t0 / K; /* K <= t0 */

      for (int i = 1; i <= K; i++)
        out[i] = 1 + (i - 1) * stride;
    }
  else /* trailing: round(i t0 / K), so out[K] = t0 */
    for (int i = 1; i <= K; i++)
      out[i] = (double)((2 * (int64_t)i * t0 + K) / (2 * (int64_t)K));
}

/* ------------------------------------------------------------ the run */

int
gd_run_eval (gd_run *run, const float *x, double t, float *eps_hat,
             float *x0_hat)
{
  size_t n = run->n;
  int rc = run->eps_fn (run->eps_data, x, t, eps_hat, n, run->err);

  if (rc != GD_OK)
    {
      gd_status status = rc < 0 ? (gd_status)rc : GD_ERR_INVALID;

      if (run->err == NULL || run->err->status == GD_OK)
        gd_error_set (run->err, status,
                      "sampler: the network failed at t = %.3f", t);
      return status;
    }
  for (size_t i = 0; i < n; i++)
    if (!isfinite (eps_hat[i]))
      return gd_error_set (run->err, GD_ERR_NUMERIC,
                           "sampler: the network returned %s at t = %.3f "
                           "(evaluation %d of %d, element %zu); "
                           "the run was stopped",
                           isnan (eps_hat[i]) ? "NaN" : "Inf", t, run->done + 1,
                           run->total, i);
  run->done++;
  if (run->progress != NULL
      && run->progress (run->progress_data, run->done, run->total) != 0)
    return gd_error_set (run->err, GD_ERR_CANCELLED,
                         "sampler: cancelled after %d of %d network "
                         "evaluations",
                         run->done, run->total);

  int steer = run->clip || (run->hooks != NULL && run->hooks->x0_hat != NULL);

  if (x0_hat == NULL && !steer)
    return GD_OK;

  double alpha, sigma, lambda;
  float *x0 = x0_hat != NULL ? x0_hat : run->x0_tmp;

  assert (x0 != NULL);
  gd_schedule_point (run->sched, t, &alpha, &sigma, &lambda);
  for (size_t i = 0; i < n; i++)
    {
      double v = ((double)x[i] - sigma * eps_hat[i]) / alpha;

      if (run->clip)
        v = fmin (1.0, fmax (-1.0, v));
      x0[i] = (float)v;
    }
  if (!steer)
    return GD_OK;
  if (run->hooks != NULL && run->hooks->x0_hat != NULL)
    {
      int status = run->hooks->x0_hat (run->hooks->user_data, x0, n, t);

      if (status != GD_OK)
        return status;
    }
  /* eps_hat consistent with the edited x0_hat. */
  for (size_t i = 0; i < n; i++)
    eps_hat[i] = (float)(((double)x[i] - alpha * x0[i]) / sigma);
  return GD_OK;
}

int
gd_run_after_step (gd_run *run, float *x, double s, int step)
{
  if (run->hooks != NULL && run->hooks->x_s != NULL)
    return run->hooks->x_s (run->hooks->user_data, x, run->n, s, step);
  return GD_OK;
}

void
gd_run_noise (gd_run *run, int step, float *z)
{
  const uint64_t *index = run->hooks != NULL ? run->hooks->noise_index : NULL;

  if (index == NULL)
    gd_rng_normal_fill (run->p->seed, (uint64_t)step, 0, z, run->n);
  else
    for (size_t i = 0; i < run->n; i++)
      z[i] = gd_rng_normal (run->p->seed, (uint64_t)step, index[i]);
}

/* ddpm, ddim and skip-step: every step is x_s = c_xt x_t + c_x0 x0_hat +
 * sqrt(var) z on the grid t_K > ... > t_1 > t_0 = 0. */
static int
sample_posterior (gd_run *run, gd_sampler_kind kind, float *x, float *eps,
                  float *x0)
{
  const gd_sampler_params *p = run->p;
  int K = run->total;
  double *grid = malloc ((size_t)(K + 1) * sizeof *grid);

  if (grid == NULL)
    return gd_error_set (run->err, GD_ERR_NOMEM, "sampler: out of memory");
  if (kind == GD_SAMPLER_DDPM)
    for (int i = 0; i <= K; i++)
      grid[i] = i;
  else
    grid_posterior (run->sched, p->spacing, run->t0, K, grid);

  for (int k = 0; k < K; k++)
    {
      double t = grid[K - k], s = grid[K - k - 1];
      gd_step_coef c;
      int rc = gd_run_eval (run, x, t, eps, x0);

      if (rc != GD_OK)
        {
          free (grid);
          return rc;
        }
      if (s == 0.0)
        {
          /* The step to t = 0 of every posterior is x0_hat itself. */
          memcpy (x, x0, run->n * sizeof *x);
          rc = gd_run_after_step (run, x, s, k);
          free (grid);
          return rc;
        }
      if (kind == GD_SAMPLER_DDPM)
        gd_coef_ddpm (run->sched, (int)t, &c);
      else if (kind == GD_SAMPLER_SKIP_STEP)
        gd_coef_posterior (run->sched, t, s, &c);
      else
        gd_coef_ddim (run->sched, t, s, p->eta, &c);

      if (c.var > 0.0)
        {
          double sd = sqrt (c.var);

          gd_run_noise (run, k, eps); /* eps_hat is spent: reuse for z */
          for (size_t i = 0; i < run->n; i++)
            x[i] = (float)(c.c_xt * x[i] + c.c_x0 * x0[i] + sd * eps[i]);
        }
      else
        for (size_t i = 0; i < run->n; i++)
          x[i] = (float)(c.c_xt * x[i] + c.c_x0 * x0[i]);
      rc = gd_run_after_step (run, x, s, k);
      if (rc != GD_OK)
        {
          free (grid);
          return rc;
        }
    }
  free (grid);
  return GD_OK;
}

/* n * count floats, or NULL on overflow or failure. */
static float *
alloc_floats (size_t n, size_t count)
{
  if (n == 0 || count == 0 || n > SIZE_MAX / sizeof (float) / count)
    return NULL;
  return malloc (n * count * sizeof (float));
}

int
gd_sample (const gd_schedule *sched, const gd_sampler_params *p, float *x,
           size_t n, int t0, gd_eps_fn eps_fn, void *eps_data,
           const gd_sampler_hooks *hooks, gd_progress_fn progress,
           void *progress_data, gd_error *err)
{
  assert (sched != NULL && p != NULL && eps_fn != NULL);
  assert (x != NULL || n == 0);
  gd_error_clear (err);

  gd_sampler_kind kind = p->kind;

  if (!sampler_kind_is_valid (kind))
    return gd_error_set (err, GD_ERR_INVALID, "sampler: unknown sampler %d",
                         (int)kind);
  if (t0 < 1 || t0 > sched->T)
    return gd_error_set (err, GD_ERR_INVALID,
                         "sampler: start t0 = %d is outside 1..%d", t0,
                         sched->T);
  if (kind != GD_SAMPLER_DDPM && p->steps < 1)
    return gd_error_set (err, GD_ERR_INVALID,
                         "sampler: %d steps (at least 1 is needed)", p->steps);
  if (kind == GD_SAMPLER_DDIM && !(p->eta >= 0.0 && p->eta <= 1.0))
    return gd_error_set (err, GD_ERR_INVALID,
                         "sampler: ddim eta = %g is outside 0..1", p->eta);
  if ((unsigned)p->spacing > GD_SPACING_LAMBDA)
    return gd_error_set (err, GD_ERR_INVALID, "sampler: unknown spacing %d",
                         (int)p->spacing);
  if (n == 0)
    return GD_OK;

  gd_run run = {
    .sched = sched,
    .p = p,
    .n = n,
    .t0 = t0,
    .eps_fn = eps_fn,
    .eps_data = eps_data,
    .hooks = hooks,
    .progress = progress,
    .progress_data = progress_data,
    .err = err,
    .clip = p->clip_x0 && gd_sampler_is_stochastic (p),
    .done = 0,
    .total = gd_sampler_nfe (p, t0),
  };
  /* Scratch: 2 buffers for the posterior samplers, 3 for DPM-Solver, plus
   * one where x0_hat is formed only to be steered (singlestep DPM-Solver). */
  int steer = run.clip || (hooks != NULL && hooks->x0_hat != NULL);
  size_t scratch = kind <= GD_SAMPLER_SKIP_STEP ? 2 : 3;
  size_t extra = (kind == GD_SAMPLER_DPM_SOLVER_2
                  || kind == GD_SAMPLER_DPM_SOLVER_3)
                 && steer;
  float *buf = alloc_floats (n, scratch + extra);
  int rc;

  if (buf == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "sampler: cannot allocate %zu x %zu floats",
                         scratch + extra, n);
  run.x0_tmp = extra ? buf + scratch * n : NULL;

  switch (kind)
    {
    case GD_SAMPLER_DDPM:
    case GD_SAMPLER_DDIM:
    case GD_SAMPLER_SKIP_STEP:
      rc = sample_posterior (&run, kind, x, buf, buf + n);
      break;
    case GD_SAMPLER_DPM_SOLVER_2:
      rc = gd_sample_dpm_singlestep (&run, x, 2, buf);
      break;
    case GD_SAMPLER_DPM_SOLVER_3:
      rc = gd_sample_dpm_singlestep (&run, x, 3, buf);
      break;
    case GD_SAMPLER_DPM_SOLVER_PP_2M:
      rc = gd_sample_dpm_pp_2m (&run, x, buf);
      break;
    default:
      rc = gd_error_set (err, GD_ERR_INVALID, "sampler: unknown sampler");
      break;
    }
  free (buf);
  return rc;
}
