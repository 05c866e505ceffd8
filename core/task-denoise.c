/* task-denoise.c: denoise: the noisy photo y = x0 + sigma eps is, scaled
 * by sqrt(abar_t*), the state x_t* of the forward process where
 * sqrt((1-abar)/abar) = sigma; the reverse process from there, or one step
 * to x0_hat(t*) (the MMSE estimate).  Values clipped at 0 or 1 are first
 * replaced by their expectation under a first x0_hat (clip correction). */
#include "image.h"
#include "task.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int
gd_task_denoise_start (const gd_schedule *sched, double sigma, double *t_star,
                       int *t0, gd_error *err)
{
  double abar_T = sched->abar[sched->T];
  double sigma_max = 255.0 / 2.0 * sqrt ((1.0 - abar_T) / abar_T);
  int t;

  if (!(sigma >= 0.0 && sigma <= sigma_max))
    return gd_error_set (err, GD_ERR_INVALID,
                         "denoise: sigma %g is outside 0..%.0f (t = T)", sigma,
                         sigma_max);
  *t_star = gd_schedule_t_of_sigma (sched, 2.0 * sigma / 255.0);
  t = (int)ceil (*t_star);
  *t0 = t < 1 ? 1 : t > sched->T ? sched->T : t;
  return GD_OK;
}

/* x <- x0_hat(t*) = (x_t - sqrt(1-abar) eps_hat) / sqrt(abar), with
 * x_t = sqrt(abar) y: one evaluation at the fractional t*. */
static int
denoise_one_step (gd_task *task, double t_star, gd_error *err)
{
  double abar = gd_schedule_abar_at (task->sched, t_star);
  float scale = (float)sqrt (abar);
  float ratio = (float)sqrt ((1.0 - abar) / abar);
  float *eps = malloc (task->n * sizeof (float));
  int status;

  if (eps == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "denoise: out of memory for a %d x %d image",
                         task->width, task->height);
  for (size_t i = 0; i < task->n; i++)
    task->x[i] *= scale;
  status = gd_net_eps (&task->net, task->x, t_star, eps, task->n, err);
  if (status == GD_OK)
    for (size_t i = 0; i < task->n; i++)
      task->x[i] = task->x[i] / scale - ratio * eps[i];
  free (eps);
  return status;
}

/* Where Phi(a) is below about 6e-16 (a < -8) phi(a)/Phi(a) comes from the
 * asymptotic series Phi(a) = phi(a)/|a| (1 - a^-2 + 3 a^-4 - 15 a^-6
 * + 105 a^-8 - ...), whose next term is 945 a^-10 < 1e-6. */
#define MILLS_SERIES_BELOW (-8.0)

double
gd_normal_mean_below_zero (double m, double s)
{
  double a = -m / s, ratio;

  assert (s > 0.0);
  if (a < MILLS_SERIES_BELOW)
    {
      double r = 1.0 / (a * a);

      ratio = -a / (1.0 - r * (1.0 - r * (3.0 - r * (15.0 - 105.0 * r))));
    }
  else
    ratio = exp (-0.5 * a * a) / sqrt (2.0 * M_PI)
            / (0.5 * erfc (-a / M_SQRT2));
  return m - s * ratio;
}

/* Whether any value of `in` sits at exactly 0 or 1. */
static int
any_clipped (const gd_image *in)
{
  size_t n = (size_t)in->width * in->height * in->channels;

  for (size_t i = 0; i < n; i++)
    if (in->data[i] == 0.0f || in->data[i] == 1.0f)
      return 1;
  return 0;
}

/* Clip correction: task->x holds y (the input `in` on [-1, 1]) with the
 * noise sigma_y (same scale) clipped at -1 and 1.  A first x0_hat(t*)
 * (clamped to the data's range) stands for the clean value m, and each
 * clipped value becomes E[v | v <= -1] or E[v | v >= 1] for
 * v ~ N(m, sigma_y^2), the value it most likely had before clipping.
 * The first estimate is wanted at the clipped pixels only, so the network
 * runs only on the tiles that hold one (most photos have few), in one pass
 * whatever the self-ensemble (gd_denoise counts it so); task->x is left
 * holding y so corrected (the others read again from `in`, so no copy of y
 * is kept). */
static int
correct_clipped (gd_task *task, const gd_image *in, double t_star,
                 double sigma_y, gd_error *err)
{
  const int ch = in->channels;
  double abar = gd_schedule_abar_at (task->sched, t_star);
  float scale = (float)sqrt (abar);
  float ratio = (float)sqrt ((1.0 - abar) / abar);
  unsigned char *want = malloc (task->plane);
  float *eps = malloc (task->n * sizeof (float));
  int status = GD_OK;

  if (want == NULL || eps == NULL)
    status = gd_error_set (err, GD_ERR_NOMEM,
                           "denoise: out of memory for a %d x %d image",
                           task->width, task->height);
  if (status == GD_OK)
    {
      for (size_t i = 0; i < task->plane; i++)
        {
          const float *v = &in->data[i * ch];
          unsigned char clipped = 0;

          for (int c = 0; c < ch; c++)
            clipped |= v[c] == 0.0f || v[c] == 1.0f;
          want[i] = clipped;
        }
      for (size_t i = 0; i < task->n; i++)
        task->x[i] *= scale;
      status = gd_net_eps_where (&task->net, task->x, t_star, want, eps, NULL,
                                 err);
    }
  if (status == GD_OK)
    for (int c = 0; c < 3; c++)
      for (size_t i = 0; i < task->plane; i++)
        {
          float v = in->data[i * ch + (ch == 1 ? 0 : c)];
          size_t k = c * task->plane + i;
          float x0;
          double m;

          if (v != 0.0f && v != 1.0f)
            {
              task->x[k] = 2.0f * v - 1.0f; /* as gd_image_to_planar */
              continue;
            }
          /* x0_hat as denoise_one_step forms it, clamped. */
          x0 = task->x[k] / scale - ratio * eps[k];
          m = fmin (1.0, fmax (-1.0, x0));
          if (v == 0.0f)
            task->x[k]
                = (float)(-1.0 + gd_normal_mean_below_zero (m + 1.0, sigma_y));
          else
            task->x[k]
                = (float)(1.0 - gd_normal_mean_below_zero (1.0 - m, sigma_y));
        }
  free (want);
  free (eps);
  return status;
}

int
gd_denoise_plan (const gd_schedule *sched, const gd_task_params *p,
                 int clipped, int width, int height, gd_tool_plan *plan,
                 gd_error *err)
{
  double t_star;
  int t0 = 1;

  if (!p->one_step && !(p->sigma > 0.0))
    return gd_error_set (err, GD_ERR_INVALID,
                         "denoise: sigma is to be estimated from the image: "
                         "estimate it first (gd_tool_estimate_sigma) and "
                         "pass it for a count");
  if (p->sigma > 0.0
      && gd_task_denoise_start (sched, p->sigma, &t_star, &t0, err) != GD_OK)
    return err != NULL ? err->status : GD_ERR_INVALID;
  plan->width = width;
  plan->height = height;
  plan->evals = p->one_step ? 1 : gd_sampler_nfe (&p->sampler, t0);
  /* The clip correction's first estimate only places the clipped values:
   * one pass, whatever the self-ensemble. */
  plan->single = p->clip_correction && clipped;
  return GD_OK;
}

int
gd_denoise (gd_model *model, const gd_task_params *p, const gd_image *in,
            gd_image *out, gd_error *err)
{
  const gd_schedule *sched;
  gd_task_params run_p;
  gd_tool_plan plan;
  gd_task task;
  double sigma, t_star;
  int t0, status;
  int correct;

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  status = gd_task_check ("denoise", model, p, in, err);
  if (status != GD_OK)
    return status;
  sched = &gd_model_get_info (model)->schedule;
  if (isnan (p->sigma))
    return gd_error_set (err, GD_ERR_INVALID, "denoise: sigma is NaN");
  sigma = p->sigma > 0.0 ? p->sigma : gd_tool_estimate_sigma (in, err);
  if (sigma < 0.0)
    return err != NULL ? err->status : GD_ERR_INVALID;
  status = gd_task_denoise_start (sched, sigma, &t_star, &t0, err);
  if (status != GD_OK)
    return status;

  correct = p->clip_correction && any_clipped (in);
  run_p = *p;
  run_p.sigma = sigma;
  status = gd_denoise_plan (sched, &run_p, correct, in->width, in->height,
                            &plan, err);
  if (status == GD_OK)
    status = gd_task_begin (&task, "denoise", model, p, &plan, p->origin_x,
                            p->origin_y, err);
  if (status != GD_OK)
    return status;
  gd_image_to_planar (in, task.x);
  if (correct)
    status = correct_clipped (&task, in, t_star, 2.0 * sigma / 255.0, err);
  if (status == GD_OK && p->one_step)
    status = denoise_one_step (&task, t_star, err);
  else if (status == GD_OK)
    {
      /* y has sigma; the integer t0 >= t* wants sigma(t0): the difference
       * is drawn, then x_t0 = sqrt(abar_t0) (y + top-up z). */
      double abar = sched->abar[t0];
      double sigma_t0 = sqrt ((1.0 - abar) / abar);
      double sigma_y = 2.0 * sigma / 255.0;
      double top_up
          = sqrt (fmax (0.0, sigma_t0 * sigma_t0 - sigma_y * sigma_y));

      gd_task_add_noise (&task, task.x, sqrt (abar), sqrt (abar) * top_up,
                         gd_task_stream (GD_STREAM_TOP_UP, 0, 0));
      status = gd_task_sample (&task, t0, NULL, err);
    }
  if (status == GD_OK)
    status = gd_task_output (&task, in->channels, out, err);
  gd_task_end (&task);
  return status;
}
