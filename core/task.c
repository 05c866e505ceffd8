/* task.c: what the four tools share: parameters, checks, the state of the
 * whole grid, noise keyed by absolute pixel, the sampler run over the
 * tiled network, and the count of network evaluations. */
#include "task.h"
#include "image.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Noise drawn per gd_rng_normal_fill call (a stack buffer). */
#define NOISE_CHUNK 1024
/* RePaint's rounds per step, at most. */
#define MAX_RESAMPLE_ROUNDS 100

void
gd_task_params_init (gd_task_params *p)
{
  assert (p != NULL);
  memset (p, 0, sizeof *p);
  gd_sampler_params_init (&p->sampler);
  p->strength = 0.5;
  p->scale = 2;
  p->sigma = 0.0;
  p->kernel = GD_KERNEL_BICUBIC;
  p->one_step = 0;
  p->clip_correction = 1;
  p->ensemble = 1;
  p->resample_jumps = 1;
  p->refine_hole = 0;
  {
    gd_tool_defaults d;

    p->fill = gd_tool_defaults_get (GD_TOOL_INPAINT, &d, NULL) == GD_OK
                  ? d.fill
                  : GD_FILL_SMOOTH;
  }
  p->image_width = 0;
  p->image_height = 0;
  p->memory_budget = 0;
  p->tile_size = 0;
  /* Fast by default: each result of the quality benchmark's denoise and
   * upscale rows stays 54 dB or more from exact and the rows' means move
   * by 0.005 dB or less (issue 15's rule: 40 dB, 0.05 dB;
   * docs/benchmarks/performance.md, "Quality of the fast path"). */
  p->precision = GD_PRECISION_FAST;
  p->progress = NULL;
  p->progress_data = NULL;
  p->task_progress = NULL;
  p->task_progress_data = NULL;
}

static const char *const fill_names[] = { "smooth", "patch", "auto" };
#define N_FILLS ((int)(sizeof fill_names / sizeof fill_names[0]))

const char *
gd_fill_name (gd_fill fill)
{
  return (int)fill >= 0 && (int)fill < N_FILLS ? fill_names[fill] : NULL;
}

int
gd_fill_from_name (const char *name)
{
  for (int i = 0; name != NULL && i < N_FILLS; i++)
    if (strcmp (fill_names[i], name) == 0)
      return i;
  return -1;
}

int
gd_task_check (const char *name, gd_model *model, const gd_task_params *p,
               const gd_image *in, gd_error *err)
{
  const gd_model_info *info;

  if (model == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "%s: no model", name);
  if (p == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "%s: no parameters", name);
  if (in == NULL || in->data == NULL || in->width <= 0 || in->height <= 0)
    return gd_error_set (err, GD_ERR_INVALID, "%s: no input image", name);
  if (in->channels != 1 && in->channels != 3)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: input has %d channels, expected 1 (gray) or 3 "
                         "(RGB)",
                         name, in->channels);
  if (!(p->strength >= 0.0 && p->strength <= 1.0))
    return gd_error_set (err, GD_ERR_INVALID, "%s: strength %g is outside 0..1",
                         name, p->strength);
  if (gd_sampler_name (p->sampler.kind) == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "%s: unknown sampler %d", name,
                         (int)p->sampler.kind);
  if (p->sampler.steps < 1)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: steps must be at least 1 (got %d)", name,
                         p->sampler.steps);
  if (!(p->sampler.eta >= 0.0 && p->sampler.eta <= 1.0))
    return gd_error_set (err, GD_ERR_INVALID, "%s: eta %g is outside 0..1",
                         name, p->sampler.eta);
  if (!gd_net_ensemble_is_valid (p->ensemble))
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: self-ensemble of %d (expected 1, 2, 4 or 8)",
                         name, p->ensemble);
  if (p->resample_jumps < 0 || p->resample_jumps > MAX_RESAMPLE_ROUNDS)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: %d resampling rounds (expected 1..%d)", name,
                         p->resample_jumps, MAX_RESAMPLE_ROUNDS);
  if (p->tile_size < 0)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: tile size %d (expected 0 = from the memory "
                         "budget, or a side in pixels)",
                         name, p->tile_size);
  if (p->origin_x < 0 || p->origin_y < 0
      || p->origin_x > INT_MAX / 4 - in->width
      || p->origin_y > INT_MAX / 4 - in->height)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: origin %d, %d is outside the image plane", name,
                         p->origin_x, p->origin_y);
  info = gd_model_get_info (model);
  if (info->in_channels != 3)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: the model takes %d channels, expected 3", name,
                         info->in_channels);
  if (info->schedule.T < 1 || info->schedule.T > GD_T_MAX)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: the model's schedule has T = %d", name,
                         info->schedule.T);
  if ((size_t)in->width > SIZE_MAX / 48 / sizeof (float) / (size_t)in->height)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "%s: a %d x %d image overflows memory sizes", name,
                         in->width, in->height);
  return GD_OK;
}

int
gd_task_t0 (const gd_schedule *sched, double strength)
{
  int t0 = (int)lround (strength * sched->T);

  return t0 < 1 ? 1 : t0 > sched->T ? sched->T : t0;
}

int
gd_task_sampler_evals (const gd_sampler_params *sp, int t0, int rounds)
{
  int evals = gd_sampler_nfe (sp, t0);

  /* RePaint redoes every step but the last (to t = 0) rounds - 1 times. */
  if (rounds > 1 && gd_sampler_is_stochastic (sp) && evals > 1)
    evals += (rounds - 1) * (evals - 1);
  return evals;
}

int
gd_task_begin (gd_task *task, const char *name, gd_model *model,
               const gd_task_params *p, const gd_tool_plan *plan, int origin_x,
               int origin_y, gd_error *err)
{
  const int width = plan->width, height = plan->height;
  int status;

  memset (task, 0, sizeof *task);
  task->name = name;
  task->model = model;
  task->p = p;
  task->sched = &gd_model_get_info (model)->schedule;
  task->width = width;
  task->height = height;
  task->origin_x = origin_x;
  task->origin_y = origin_y;
  task->plane = (size_t)width * (size_t)height;
  task->n = 3 * task->plane;

  status = gd_net_init (&task->net, model, p, width, height, plan->evals,
                        plan->single, err);
  if (status != GD_OK)
    {
      /* The tiling's message, with the tool's name in front. */
      char reason[sizeof err->message];

      if (err == NULL)
        return status;
      memcpy (reason, err->message, sizeof reason);
      return gd_error_set (err, status, "%s: %s", name, reason);
    }
  task->x = malloc (task->n * sizeof (float));
  if (task->x == NULL)
    goto nomem;
  if (gd_sampler_is_stochastic (&p->sampler))
    {
      size_t i = 0;

      if (task->n > SIZE_MAX / sizeof (uint64_t))
        goto nomem;
      task->noise_index = malloc (task->n * sizeof (uint64_t));
      if (task->noise_index == NULL)
        goto nomem;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < height; y++)
          for (int x = 0; x < width; x++)
            task->noise_index[i++]
                = gd_noise_key (c, origin_x + x, origin_y + y);
    }
  return GD_OK;

nomem:
  gd_task_end (task);
  return gd_error_set (err, GD_ERR_NOMEM,
                       "%s: out of memory for the state of a %d x %d image",
                       name, width, height);
}

void
gd_task_end (gd_task *task)
{
  free (task->x);
  free (task->noise_index);
  task->x = NULL;
  task->noise_index = NULL;
  gd_net_free (&task->net);
}

void
gd_task_noise (const gd_task *task, uint64_t stream, float *z)
{
  const uint64_t seed = task->p->sampler.seed;

  /* A row's keys are consecutive: one fill per row. */
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < task->height; y++)
      gd_rng_normal_fill (
          seed, stream, gd_noise_key (c, task->origin_x, task->origin_y + y),
          z + c * task->plane + (size_t)y * task->width, (size_t)task->width);
}

void
gd_task_add_noise (const gd_task *task, float *x, double scale_x,
                   double scale_z, uint64_t stream)
{
  const uint64_t seed = task->p->sampler.seed;
  const float a = (float)scale_x, b = (float)scale_z;
  float z[NOISE_CHUNK];

  for (int c = 0; c < 3; c++)
    for (int y = 0; y < task->height; y++)
      {
        float *row = x + c * task->plane + (size_t)y * task->width;

        for (int first = 0; first < task->width; first += NOISE_CHUNK)
          {
            int len = task->width - first < NOISE_CHUNK ? task->width - first
                                                        : NOISE_CHUNK;

            gd_rng_normal_fill (
                seed, stream,
                gd_noise_key (c, task->origin_x + first, task->origin_y + y), z,
                (size_t)len);
            for (int i = 0; i < len; i++)
              row[first + i] = a * row[first + i] + b * z[i];
          }
      }
}

void
gd_task_q_sample (const gd_task *task, float *x, double abar, uint64_t stream)
{
  gd_task_add_noise (task, x, sqrt (abar), sqrt (1.0 - abar), stream);
}

int
gd_task_sample (gd_task *task, int t0, const gd_sampler_hooks *hooks,
                gd_error *err)
{
  gd_sampler_hooks h = { NULL, NULL, NULL, NULL };
  int status;

  if (hooks != NULL)
    h = *hooks;
  h.noise_index = task->noise_index;
  status = gd_sample (task->sched, &task->p->sampler, task->x, task->n, t0,
                      gd_net_eps, &task->net, &h, NULL, NULL, err);
  if (status != GD_OK)
    return status;
  for (size_t i = 0; i < task->n; i++)
    if (!isfinite (task->x[i]))
      return gd_error_set (err, GD_ERR_NUMERIC,
                           "%s: the result holds NaN or Inf (element %zu)",
                           task->name, i);
  return GD_OK;
}

int
gd_task_output (const gd_task *task, int channels, gd_image *out, gd_error *err)
{
  int status = gd_image_alloc (out, task->width, task->height, channels, err);

  if (status != GD_OK)
    return status;
  gd_image_from_planar (task->x, out);
  return GD_OK;
}
