/* tasks.c: the tools built on the samplers and the network (img2img). */
#include "image.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Elements noised per gd_rng_normal_fill call (a stack buffer). */
#define GD_NOISE_CHUNK 4096

void
gd_task_params_init (gd_task_params *p)
{
  assert (p != NULL);
  memset (p, 0, sizeof *p);
  gd_sampler_params_init (&p->sampler);
  p->strength = 0.5;
  p->progress = NULL;
  p->progress_data = NULL;
}

typedef struct
{
  gd_model *model;
  int width;
  int height;
} gd_img2img_ctx;

/* The samplers' view of the network: the whole image at once. */
static int
gd_img2img_eps (void *user_data, const float *x_t, double t, float *eps_hat,
                size_t n, gd_error *err)
{
  gd_img2img_ctx *ctx = user_data;

  assert (n == 3 * (size_t)ctx->width * (size_t)ctx->height);
  return gd_model_eps (ctx->model, x_t, ctx->width, ctx->height, t, eps_hat,
                       err);
}

/* Checks what a caller passed in; GD_OK or GD_ERR_INVALID with a message. */
static int
gd_img2img_check (gd_model *model, const gd_task_params *p, const gd_image *in,
                  gd_error *err)
{
  const gd_model_info *info;

  if (model == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "img2img: no model");
  if (p == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "img2img: no parameters");
  if (in == NULL || in->data == NULL || in->width <= 0 || in->height <= 0)
    return gd_error_set (err, GD_ERR_INVALID, "img2img: no input image");
  if (in->channels != 1 && in->channels != 3)
    return gd_error_set (err, GD_ERR_INVALID,
                         "img2img: input has %d channels, expected 1 (gray) "
                         "or 3 (RGB)",
                         in->channels);
  if (!(p->strength >= 0.0 && p->strength <= 1.0))
    return gd_error_set (err, GD_ERR_INVALID,
                         "img2img: strength %g is outside 0..1", p->strength);
  if (p->sampler.sampler == NULL || !gd_sampler_is_known (p->sampler.sampler))
    return gd_error_set (err, GD_ERR_INVALID, "img2img: unknown sampler \"%s\"",
                         p->sampler.sampler ? p->sampler.sampler : "(null)");
  if (p->sampler.steps < 1)
    return gd_error_set (err, GD_ERR_INVALID,
                         "img2img: steps must be at least 1 (got %d)",
                         p->sampler.steps);
  info = gd_model_get_info (model);
  if (info->in_channels != 3)
    return gd_error_set (err, GD_ERR_INVALID,
                         "img2img: the model takes %d channels, expected 3",
                         info->in_channels);
  if (info->schedule.T < 1 || info->schedule.T > GD_T_MAX)
    return gd_error_set (err, GD_ERR_INVALID,
                         "img2img: the model's schedule has T = %d",
                         info->schedule.T);
  if ((size_t)in->width > SIZE_MAX / 3 / sizeof (float) / (size_t)in->height)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "img2img: a %d x %d image overflows memory sizes",
                         in->width, in->height);
  return GD_OK;
}

/* x <- sqrt(abar_t0) x + sqrt(1 - abar_t0) eps, eps ~ N(0, I) keyed by
 * (seed, GD_RNG_STREAM_START, element index): q(x_t0 | x0).  That stream is
 * reserved for a run's start, so this noise never repeats a step's. */
static void
gd_img2img_noise (float *x, size_t n, double abar, uint64_t seed)
{
  float eps[GD_NOISE_CHUNK];
  float scale_x0 = (float)sqrt (abar);
  float scale_eps = (float)sqrt (1.0 - abar);
  size_t first, i;

  for (first = 0; first < n; first += GD_NOISE_CHUNK)
    {
      size_t len = n - first < GD_NOISE_CHUNK ? n - first : GD_NOISE_CHUNK;

      gd_rng_normal_fill (seed, GD_RNG_STREAM_START, first, eps, len);
      for (i = 0; i < len; i++)
        x[first + i] = scale_x0 * x[first + i] + scale_eps * eps[i];
    }
}

int
gd_img2img (gd_model *model, const gd_task_params *p, const gd_image *in,
            gd_image *out, gd_error *err)
{
  const gd_schedule *sched;
  gd_img2img_ctx ctx;
  size_t n, i;
  float *x;
  int t0, status;

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  status = gd_img2img_check (model, p, in, err);
  if (status != GD_OK)
    return status;

  sched = &gd_model_get_info (model)->schedule;
  status = gd_image_alloc (out, in->width, in->height, in->channels, err);
  if (status != GD_OK)
    return status;

  n = (size_t)in->width * (size_t)in->height;
  if (p->strength == 0.0)
    {
      /* Nothing to re-imagine: the input, bit for bit. */
      memcpy (out->data, in->data, n * (size_t)in->channels * sizeof (float));
      return GD_OK;
    }
  t0 = (int)lround (p->strength * sched->T);
  t0 = t0 < 1 ? 1 : t0 > sched->T ? sched->T : t0;

  n *= 3;
  x = malloc (n * sizeof (float));
  if (x == NULL)
    {
      gd_image_free (out);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "img2img: out of memory for a %d x %d image",
                           in->width, in->height);
    }
  gd_image_to_planar (in, x);
  gd_img2img_noise (x, n, sched->abar[t0], p->sampler.seed);

  ctx.model = model;
  ctx.width = in->width;
  ctx.height = in->height;
  status = gd_sample (sched, &p->sampler, x, n, t0, gd_img2img_eps, &ctx, NULL,
                      p->progress, p->progress_data, err);
  if (status == GD_OK)
    for (i = 0; i < n; i++)
      if (!isfinite (x[i]))
        {
          status = gd_error_set (err, GD_ERR_NUMERIC,
                                 "img2img: the result holds NaN or Inf "
                                 "(element %zu)",
                                 i);
          break;
        }
  if (status != GD_OK)
    {
      free (x);
      gd_image_free (out);
      return status;
    }
  gd_image_from_planar (x, out);
  free (x);
  return GD_OK;
}
