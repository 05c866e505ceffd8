/* sampler-dpm.c: DPM-Solver-2/3 singlestep (Lu et al. 2022) and
 * DPM-Solver++(2M) (Lu et al. 2022b), on the probability-flow ODE. */
#include "gimp-diffusion.h"
#include "sampler-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The last step of every DPM-Solver run: lambda(0) is infinite, and the
 * step from t to 0 of either parametrization is x0_hat (x_t, t). */
static int
final_x0_hat (gd_run *run, float *x, double t, float *eps, float *x0, int step)
{
  int rc = gd_run_eval (run, x, t, eps, x0);

  if (rc != GD_OK)
    return rc;
  memcpy (x, x0, run->n * sizeof *x);
  return gd_run_after_step (run, x, 0.0, step);
}

/* Noise-prediction point (alpha, sigma, lambda) at t. */
typedef struct
{
  double t, alpha, sigma, lambda;
} ode_point;

static ode_point
ode_point_at (const gd_schedule *sched, double t)
{
  ode_point q = { .t = t };

  gd_schedule_point (sched, t, &q.alpha, &q.sigma, &q.lambda);
  return q;
}

/* The point at lambda_t + r h, with its lambda recomputed from its t. */
static ode_point
ode_point_between (const gd_schedule *sched, ode_point a, ode_point b, double r)
{
  double lambda = a.lambda + r * (b.lambda - a.lambda);

  return ode_point_at (sched, gd_schedule_t_of_lambda (sched, lambda));
}

/* One singlestep DPM-Solver step of order 1, 2 or 3 from a to b, with
 * eps_t = eps_hat (x, a.t) already in hand (Lu et al. 2022, Alg. 1 and 2,
 * r1 = 1/2 for order 2, r1 = 1/3, r2 = 2/3 for order 3). */
static int
dpm_step (gd_run *run, float *x, ode_point a, ode_point b, int order,
          const float *eps_t, float *u, float *eps_u)
{
  const gd_schedule *sched = run->sched;
  size_t n = run->n;
  double h = b.lambda - a.lambda;
  double phi_1 = expm1 (h);
  double scale = b.alpha / a.alpha;
  int rc;

  if (order == 1)
    {
      /* DDIM: x_s = (alpha_s/alpha_t) x_t - sigma_s (e^h - 1) eps_t */
      for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * x[i] - b.sigma * phi_1 * eps_t[i]);
      return GD_OK;
    }
  if (order == 2)
    {
      ode_point s1 = ode_point_between (sched, a, b, 0.5);
      double h1 = s1.lambda - a.lambda, r1 = h1 / h;
      double c1 = b.sigma * phi_1 / (2.0 * r1);

      for (size_t i = 0; i < n; i++)
        u[i] = (float)(s1.alpha / a.alpha * x[i]
                       - s1.sigma * expm1 (h1) * eps_t[i]);
      rc = gd_run_eval (run, u, s1.t, eps_u, NULL);
      if (rc != GD_OK)
        return rc;
      for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * x[i] - b.sigma * phi_1 * eps_t[i]
                       - c1 * ((double)eps_u[i] - eps_t[i]));
      return GD_OK;
    }

  ode_point s1 = ode_point_between (sched, a, b, 1.0 / 3.0);
  ode_point s2 = ode_point_between (sched, a, b, 2.0 / 3.0);
  double h1 = s1.lambda - a.lambda, h2 = s2.lambda - a.lambda;
  double r1 = h1 / h, r2 = h2 / h;
  double phi_12 = expm1 (h2);
  double phi_22 = phi_12 / h2 - 1.0;
  double phi_2 = phi_1 / h - 1.0;

  for (size_t i = 0; i < n; i++)
    u[i]
        = (float)(s1.alpha / a.alpha * x[i] - s1.sigma * expm1 (h1) * eps_t[i]);
  rc = gd_run_eval (run, u, s1.t, eps_u, NULL);
  if (rc != GD_OK)
    return rc;
  /* u2 = (alpha_s2/alpha_t) x - sigma_s2 phi_12 eps_t
   *      - (r2/r1) sigma_s2 phi_22 D1,  D1 = eps(u1, s1) - eps_t */
  for (size_t i = 0; i < n; i++)
    u[i] = (float)(s2.alpha / a.alpha * x[i] - s2.sigma * phi_12 * eps_t[i]
                   - r2 / r1 * s2.sigma * phi_22
                         * ((double)eps_u[i] - eps_t[i]));
  rc = gd_run_eval (run, u, s2.t, eps_u, NULL);
  if (rc != GD_OK)
    return rc;
  /* x_s = (alpha_s/alpha_t) x - sigma_s phi_1 eps_t
   *       - (1/r2) sigma_s phi_2 D2,  D2 = eps(u2, s2) - eps_t */
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(scale * x[i] - b.sigma * phi_1 * eps_t[i]
                   - b.sigma * phi_2 / r2 * ((double)eps_u[i] - eps_t[i]));
  return GD_OK;
}

int
gd_sample_dpm_singlestep (gd_run *run, float *x, int order, float *buf)
{
  size_t n = run->n;
  float *eps_t = buf, *u = buf + n, *eps_u = buf + 2 * n;
  int ode_nfe = run->total - 1; /* one evaluation is the final x0_hat */

  if (ode_nfe == 0)
    return final_x0_hat (run, x, run->t0, eps_t, u, 0);

  /* Steps of `order`, the remainder as one lower-order step, placed first:
   * at high noise eps_hat hardly changes along the path, so a low order
   * costs least there (docs/samplers.md; the paper puts it last). */
  int M = (ode_nfe + order - 1) / order;
  int first_order = ode_nfe - (M - 1) * order;
  double *grid = malloc ((size_t)(M + 1) * sizeof *grid);
  int rc = GD_OK;

  if (grid == NULL)
    return gd_error_set (run->err, GD_ERR_NOMEM, "sampler: out of memory");
  gd_grid_to_t_end (run->sched, run->p->spacing, run->t0, M, grid);

  for (int j = 0; j < M && rc == GD_OK; j++)
    {
      ode_point a = ode_point_at (run->sched, grid[M - j]);
      ode_point b = ode_point_at (run->sched, grid[M - j - 1]);

      rc = gd_run_eval (run, x, a.t, eps_t, NULL);
      if (rc == GD_OK)
        rc = dpm_step (run, x, a, b, j == 0 ? first_order : order, eps_t, u,
                       eps_u);
      if (rc == GD_OK)
        rc = gd_run_after_step (run, x, b.t, j);
    }
  if (rc == GD_OK)
    rc = final_x0_hat (run, x, grid[0], eps_t, u, M);
  free (grid);
  return rc;
}

/* DPM-Solver++(2M) on grid[M] > ... > grid[0], then x0_hat at grid[0]. */
int
gd_dpm_pp_2m_on_grid (gd_run *run, float *x, const double *grid, int M,
                      float *buf)
{
  size_t n = run->n;
  float *eps = buf, *d_cur = buf + n, *d_prev = buf + 2 * n;
  double h_prev = 0.0;

  for (int j = 0; j < M; j++)
    {
      ode_point a = ode_point_at (run->sched, grid[M - j]);
      ode_point b = ode_point_at (run->sched, grid[M - j - 1]);
      double h = b.lambda - a.lambda;
      /* x_s = (sigma_s/sigma_t) x_t - alpha_s (e^-h - 1) D */
      double scale = b.sigma / a.sigma, c_d = -b.alpha * expm1 (-h);
      int rc = gd_run_eval (run, x, a.t, eps, d_cur);

      if (rc != GD_OK)
        return rc;
      if (j == 0)
        for (size_t i = 0; i < n; i++)
          x[i] = (float)(scale * x[i] + c_d * d_cur[i]);
      else
        {
          /* D = (1 + 1/(2r)) D_cur - 1/(2r) D_prev,  r = h_prev / h */
          double w = 0.5 * h / h_prev;

          for (size_t i = 0; i < n; i++)
            x[i] = (float)(scale * x[i]
                           + c_d * ((1.0 + w) * d_cur[i] - w * d_prev[i]));
        }
      rc = gd_run_after_step (run, x, b.t, j);
      if (rc != GD_OK)
        return rc;

      float *swap = d_prev;

      d_prev = d_cur;
      d_cur = swap;
      h_prev = h;
    }
  return final_x0_hat (run, x, grid[0], eps, d_cur, M);
}

int
gd_sample_dpm_pp_2m (gd_run *run, float *x, float *buf)
{
  int M = run->total - 1; /* one evaluation is the final x0_hat */

  if (M == 0)
    return final_x0_hat (run, x, run->t0, buf, buf + run->n, 0);

  double *grid = malloc ((size_t)(M + 1) * sizeof *grid);
  int rc;

  if (grid == NULL)
    return gd_error_set (run->err, GD_ERR_NOMEM, "sampler: out of memory");
  gd_grid_to_t_end (run->sched, run->p->spacing, run->t0, M, grid);
  rc = gd_dpm_pp_2m_on_grid (run, x, grid, M, buf);
  free (grid);
  return rc;
}
