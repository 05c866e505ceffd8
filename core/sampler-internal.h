/* sampler-internal.h: what rng.c, sampler.c and sampler-dpm.c share, and
 * what the unit tests reach past the public API to check.  Not installed. */
#ifndef GD_SAMPLER_INTERNAL_H
#define GD_SAMPLER_INTERNAL_H

#include "gimp-diffusion.h"

/* The last network evaluation of the lambda grids (DPM-Solver, and ddim or
 * skip-step with GD_SPACING_LAMBDA) is at t = 1, whose x0_hat is the
 * output: lambda(0) is infinite. */
#define GD_SAMPLE_T_END 1.0

/* Philox4x32-10 (Salmon et al. 2011), the block function behind
 * gd_rng_normal: out = bijection_key (counter). */
void gd_philox4x32_10 (const uint32_t counter[4], const uint32_t key[2],
                       uint32_t out[4]);

/* One reverse step written on (x_t, x0_hat):
 * x_s = c_xt x_t + c_x0 x0_hat + sqrt (var) z,  z ~ N(0, I). */
typedef struct
{
  double c_xt;
  double c_x0;
  double var;
} gd_step_coef;

/* DDPM's posterior q(x_{t-1} | x_t, x0), in DDPM's own terms (beta_t,
 * alpha_t): mu_tilde and beta_tilde.  t in 1..T. */
void gd_coef_ddpm (const gd_schedule *sched, int t, gd_step_coef *c);
/* The skip-step posterior q(x_s | x_t, x0) for 0 <= s < t (DESIGN.md 3). */
void gd_coef_posterior (const gd_schedule *sched, double t, double s,
                        gd_step_coef *c);
/* DDIM(eta) from t to s, with eps_hat written through x0_hat:
 * eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t). */
void gd_coef_ddim (const gd_schedule *sched, double t, double s, double eta,
                   gd_step_coef *c);

/* The state of one gd_sample run, shared by the sampler loops. */
typedef struct
{
  const gd_schedule *sched;
  const gd_sampler_params *p;
  size_t n;
  int t0;
  gd_eps_fn eps_fn;
  void *eps_data;
  const gd_sampler_hooks *hooks;
  gd_progress_fn progress;
  void *progress_data;
  gd_error *err;
  int clip;      /* clip x0_hat to [-1, 1] */
  int done;      /* network evaluations so far */
  int total;     /* gd_sampler_nfe */
  float *x0_tmp; /* n floats where x0_hat is formed only to be steered */
} gd_run;

/* eps_hat = eps_theta (x, t), checked for NaN/Inf, progress reported, then
 * x0_hat formed, clipped and hooked when the run asks for it (into x0_hat
 * if not NULL), and eps_hat recomputed from the edited x0_hat. */
int gd_run_eval (gd_run *run, const float *x, double t, float *eps_hat,
                 float *x0_hat);
/* The x_s hook, if any: GD_OK, or the hook's error status. */
int gd_run_after_step (gd_run *run, float *x, double s, int step);
/* Standard normal noise of step `step` for the run's elements. */
void gd_run_noise (gd_run *run, int step, float *z);

/* alpha = sqrt(abar_t), sigma = sqrt(1 - abar_t), lambda = log(alpha/sigma)
 * at fractional t. */
void gd_schedule_point (const gd_schedule *sched, double t, double *alpha,
                        double *sigma, double *lambda);

/* M + 1 grid points out[0] = GD_SAMPLE_T_END < ... < out[M] (= t0 except
 * for leading), for spacing sp. */
void gd_grid_to_t_end (const gd_schedule *sched, gd_spacing sp, int t0, int M,
                       double *out);

/* The DPM-Solver loops (sampler-dpm.c): x in place, buf 3 n floats. */
int gd_sample_dpm_singlestep (gd_run *run, float *x, int order, float *buf);
int gd_sample_dpm_pp_2m (gd_run *run, float *x, float *buf);
/* Its loop on a given grid[0] < ... < grid[M] (M + 1 evaluations), for the
 * tests to drive it with uneven steps. */
int gd_dpm_pp_2m_on_grid (gd_run *run, float *x, const double *grid, int M,
                          float *buf);

#endif /* GD_SAMPLER_INTERNAL_H */
