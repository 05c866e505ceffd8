/* task-inpaint.c: inpaint: the masked pixels regenerated, the known ones
 * re-imposed at every step: RePaint (Lugmayr et al. 2022) for the
 * stochastic samplers, with its resampling rounds; x0_hat projected onto
 * the known pixels (DDNM with A = the known pixels) for the deterministic
 * ones.  Below strength 1 the run starts from the hole filled (with the
 * image's own patches, patchfill.c, or smoothly from its border, fill.c;
 * with the auto fill each hole as holes.c says) noised to t0, so what was under
 * the mask never shows through and the network blends the fill's seams into the
 * surroundings. Pixels where the mask is 0 come out bit-identical. */
#include "fill.h"
#include "holes.h"
#include "image.h"
#include "patchfill.h"
#include "sampler-internal.h"
#include "task.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  gd_task *task;
  const float *known; /* x0 of the region, planar [-1, 1] */
  const float *keep;  /* one plane: 1 - mask, how much of x0 is imposed */
  int rounds;         /* RePaint rounds per step (stochastic samplers) */
  float *z;           /* n floats: noise */
  float *x_t;         /* n floats each: a resampling round's x_t, eps_hat */
  float *eps;
  gd_error *err;
} inpaint_ctx;

/* Deterministic samplers: x0_hat <- keep x0 + (1 - keep) x0_hat. */
static int
inpaint_project (void *user_data, float *x0_hat, size_t n, double t)
{
  inpaint_ctx *ctx = user_data;
  size_t plane = ctx->task->plane;

  (void)t;
  for (size_t i = 0; i < n; i++)
    {
      float keep = ctx->keep[i % plane];
      float v = x0_hat[i] < -1.0f ? -1.0f : x0_hat[i] > 1.0f ? 1.0f : x0_hat[i];

      x0_hat[i] = v + keep * (ctx->known[i] - v);
    }
  return GD_OK;
}

/* x_s <- keep q(x_s | x0) + (1 - keep) x_s, the known pixels noised to s
 * (exact at s = 0). */
static void
inpaint_impose (inpaint_ctx *ctx, float *x, double s, uint64_t stream)
{
  const gd_task *task = ctx->task;
  double abar = gd_schedule_abar_at (task->sched, s);
  float scale_x0 = (float)sqrt (abar), scale_z = (float)sqrt (1.0 - abar);

  if (s > 0.0)
    gd_task_noise (task, stream, ctx->z);
  for (size_t i = 0; i < task->n; i++)
    {
      float keep = ctx->keep[i % task->plane];

      if (keep > 0.0f)
        {
          float known = s > 0.0 ? scale_x0 * ctx->known[i] + scale_z * ctx->z[i]
                                : ctx->known[i];

          x[i] += keep * (known - x[i]);
        }
    }
}

/* One redone step t -> s of the posterior samplers, from ctx->x_t into x:
 * x_s = c_xt x_t + c_x0 x0_hat + sqrt(var) z, as sampler.c takes it. */
static int
inpaint_redo_step (inpaint_ctx *ctx, float *x, double t, double s, int step,
                   int round)
{
  gd_task *task = ctx->task;
  const gd_sampler_params *sp = &task->p->sampler;
  double abar_t = gd_schedule_abar_at (task->sched, t);
  double alpha = sqrt (abar_t), sigma = sqrt (1.0 - abar_t);
  gd_step_coef c;
  int status;

  status = gd_net_eps (&task->net, ctx->x_t, t, ctx->eps, task->n, ctx->err);
  if (status != GD_OK)
    return status;
  switch (sp->kind)
    {
    case GD_SAMPLER_DDPM:
      gd_coef_ddpm (task->sched, (int)t, &c);
      break;
    case GD_SAMPLER_SKIP_STEP:
      gd_coef_posterior (task->sched, t, s, &c);
      break;
    case GD_SAMPLER_DDIM:
      gd_coef_ddim (task->sched, t, s, sp->eta, &c);
      break;
    default:
      /* Only the stochastic samplers resample (gd_inpaint checks). */
      assert (!"inpaint: resampling with a deterministic sampler");
      return GD_ERR_INVALID;
    }
  gd_task_noise (task, gd_task_stream (GD_STREAM_REDO, step, round), ctx->z);
  for (size_t i = 0; i < task->n; i++)
    {
      double x0 = ((double)ctx->x_t[i] - sigma * ctx->eps[i]) / alpha;

      if (sp->clip_x0)
        x0 = fmin (1.0, fmax (-1.0, x0));
      x[i] = (float)(c.c_xt * ctx->x_t[i] + c.c_x0 * x0
                     + sqrt (c.var) * ctx->z[i]);
    }
  return GD_OK;
}

/* Stochastic samplers, after every step t -> s: RePaint.  With rounds > 1,
 * the known pixels are imposed, the state taken back up to t with
 * q(x_t | x_s) and the step redone, rounds - 1 times; then the known pixels
 * are imposed on the final x_s. */
static int
inpaint_repaint (void *user_data, float *x, size_t n, double s, int step)
{
  inpaint_ctx *ctx = user_data;
  gd_task *task = ctx->task;
  double t = task->net.last_t;

  assert (n == task->n);
  for (int round = 1; round < ctx->rounds && s > 0.0; round++)
    {
      double abar_jump = gd_schedule_abar_at (task->sched, t)
                         / gd_schedule_abar_at (task->sched, s);
      float scale_x = (float)sqrt (abar_jump);
      float scale_z = (float)sqrt (1.0 - abar_jump);
      int status;

      inpaint_impose (ctx, x, s,
                      gd_task_stream (GD_STREAM_KNOWN, step, round - 1));
      gd_task_noise (task, gd_task_stream (GD_STREAM_JUMP, step, round),
                     ctx->z);
      for (size_t i = 0; i < n; i++)
        ctx->x_t[i] = scale_x * x[i] + scale_z * ctx->z[i];
      status = inpaint_redo_step (ctx, x, t, s, step, round);
      if (status != GD_OK)
        return status;
    }
  inpaint_impose (ctx, x, s,
                  gd_task_stream (GD_STREAM_KNOWN, step, ctx->rounds - 1));
  return GD_OK;
}

/* mask: 1 channel, in's size, finite values in 0..1. */
static int
inpaint_check_mask (const gd_image *in, const gd_image *mask, gd_error *err)
{
  size_t count;

  if (mask == NULL || mask->data == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "inpaint: no mask");
  if (mask->channels != 1)
    return gd_error_set (err, GD_ERR_INVALID,
                         "inpaint: the mask has %d channels, expected 1",
                         mask->channels);
  if (mask->width != in->width || mask->height != in->height)
    return gd_error_set (err, GD_ERR_INVALID,
                         "inpaint: the mask is %d x %d, the image %d x %d",
                         mask->width, mask->height, in->width, in->height);
  count = (size_t)mask->width * (size_t)mask->height;
  for (size_t i = 0; i < count; i++)
    if (!(mask->data[i] >= 0.0f && mask->data[i] <= 1.0f))
      return gd_error_set (err, GD_ERR_INVALID,
                           "inpaint: mask value %g at (%zu, %zu) is outside "
                           "0..1",
                           mask->data[i], i % (size_t)mask->width,
                           i / (size_t)mask->width);
  return GD_OK;
}

/* The mask's bounding box, grown by `margin` pixels of context and cut at
 * the image; 0 when the mask is empty. */
static int
inpaint_region (const gd_image *mask, int margin, int *rx, int *ry, int *rw,
                int *rh)
{
  int x0 = mask->width, y0 = mask->height, x1 = -1, y1 = -1;

  for (int y = 0; y < mask->height; y++)
    for (int x = 0; x < mask->width; x++)
      if (mask->data[(size_t)y * mask->width + x] > 0.0f)
        {
          x0 = x < x0 ? x : x0;
          x1 = x > x1 ? x : x1;
          y0 = y < y0 ? y : y0;
          y1 = y > y1 ? y : y1;
        }
  if (x1 < 0)
    return 0;
  x0 = x0 - margin < 0 ? 0 : x0 - margin;
  y0 = y0 - margin < 0 ? 0 : y0 - margin;
  x1 = x1 + margin >= mask->width ? mask->width - 1 : x1 + margin;
  y1 = y1 + margin >= mask->height ? mask->height - 1 : y1 + margin;
  *rx = x0;
  *ry = y0;
  *rw = x1 - x0 + 1;
  *rh = y1 - y0 + 1;
  return 1;
}

/* The rectangle of `in` at (rx, ry), rw x rh, as planar RGB [-1, 1]. */
static void
inpaint_crop_planar (const gd_image *in, int rx, int ry, int rw, int rh,
                     float *planar)
{
  size_t plane = (size_t)rw * (size_t)rh;
  int chans = in->channels;

  for (int y = 0; y < rh; y++)
    for (int x = 0; x < rw; x++)
      {
        const float *px
            = in->data + ((size_t)(ry + y) * in->width + rx + x) * chans;
        size_t i = (size_t)y * rw + x;

        for (int c = 0; c < 3; c++)
          planar[c * plane + i] = 2.0f * px[chans == 1 ? 0 : c] - 1.0f;
      }
}

/* x (the region, planar, a copy of known) <- keep known + (1 - keep) fill,
 * where fill is the harmonic fill of the pixels the mask leaves whole. */
static int
inpaint_start_fill (gd_task *task, const float *known, const float *keep,
                    int rw, int rh, gd_error *err)
{
  unsigned char *whole = malloc (task->plane);
  int filled = 0, status;

  if (whole == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "inpaint: out of memory for a %d x %d region", rw, rh);
  for (size_t i = 0; i < task->plane; i++)
    whole[i] = keep[i] >= 1.0f;
  status = gd_fill_smooth (task->x, 3, whole, rw, rh, &filled, err);
  free (whole);
  if (status != GD_OK || !filled)
    return status;
  for (size_t i = 0; i < task->n; i++)
    {
      float k = keep[i % task->plane];

      if (k > 0.0f && k < 1.0f)
        task->x[i] += k * (known[i] - task->x[i]);
    }
  return GD_OK;
}

/* x (the region, planar) <- the image with the hole filled with its own
 * patches (blended by a feathered mask), on the union of the region and
 * the patch fill's context.  *filled 0 when the context has no whole
 * known patch (the caller falls back to the smooth fill). */
static int
inpaint_start_patch (gd_task *task, const gd_image *in, const gd_image *mask,
                     int rx, int ry, int rw, int rh, int *filled,
                     gd_error *err)
{
  gd_image sub = { 0, 0, 0, NULL }, sub_mask = { 0, 0, 0, NULL };
  int cx, cy, cw, ch, x0, y0, x1, y1, chans = in->channels, status;

  *filled = 0;
  if (!gd_fill_patch_context (mask, &cx, &cy, &cw, &ch))
    return GD_OK;
  x0 = cx < rx ? cx : rx;
  y0 = cy < ry ? cy : ry;
  x1 = cx + cw > rx + rw ? cx + cw : rx + rw;
  y1 = cy + ch > ry + rh ? cy + ch : ry + rh;
  status = gd_image_alloc (&sub, x1 - x0, y1 - y0, chans, err);
  if (status == GD_OK)
    status = gd_image_alloc (&sub_mask, x1 - x0, y1 - y0, 1, err);
  if (status != GD_OK)
    goto done;
  for (int y = 0; y < sub.height; y++)
    {
      memcpy (sub.data + (size_t)y * sub.width * chans,
              in->data + ((size_t)(y0 + y) * in->width + x0) * chans,
              (size_t)sub.width * chans * sizeof (float));
      memcpy (sub_mask.data + (size_t)y * sub.width,
              mask->data + (size_t)(y0 + y) * mask->width + x0,
              (size_t)sub.width * sizeof (float));
    }
  status = gd_fill_patch (&sub, &sub_mask, task->p->sampler.seed, filled,
                          err);
  if (status != GD_OK || !*filled)
    goto done;
  for (int y = 0; y < rh; y++)
    for (int x = 0; x < rw; x++)
      {
        const float *px = sub.data
                          + ((size_t)(ry - y0 + y) * sub.width + rx - x0 + x)
                                * chans;
        size_t i = (size_t)y * rw + x;

        for (int c = 0; c < 3; c++)
          task->x[c * task->plane + i] = 2.0f * px[chans == 1 ? 0 : c] - 1.0f;
      }
done:
  gd_image_free (&sub);
  gd_image_free (&sub_mask);
  return status;
}

/* Which pixels of the region (rw x rh at rx, ry) start from the patch
 * fill under GD_FILL_AUTO: those of the holes it gives patches (holes.c);
 * *any 0 when there are none.  The holes are found on the region, which
 * holds them all with known pixels around (inpaint_region). */
static int
inpaint_auto_choice (const gd_task_params *p, const gd_image *in,
                     const gd_image *mask, int rx, int ry, int rw, int rh,
                     unsigned char *use_patch, int *any, gd_error *err)
{
  gd_image sub = { rw, rh, 1, NULL };
  size_t plane = (size_t)rw * rh;
  int *labels = malloc (plane * sizeof *labels), n_holes = 0, status;
  gd_hole *holes = NULL;
  double image_area = p->image_width > 0 && p->image_height > 0
                          ? (double)p->image_width * p->image_height
                          : (double)in->width * in->height;

  *any = 0;
  sub.data = malloc (plane * sizeof *sub.data);
  if (labels == NULL || sub.data == NULL)
    {
      free (labels);
      free (sub.data);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "inpaint: out of memory for a %d x %d region", rw,
                           rh);
    }
  for (int y = 0; y < rh; y++)
    memcpy (sub.data + (size_t)y * rw,
            mask->data + (size_t)(ry + y) * mask->width + rx,
            (size_t)rw * sizeof *sub.data);
  status = gd_holes_find (&sub, image_area, labels, &holes, &n_holes, err);
  for (size_t i = 0; status == GD_OK && i < plane; i++)
    {
      use_patch[i]
          = labels[i] > 0 && holes[labels[i] - 1].fill == GD_FILL_PATCH;
      *any |= use_patch[i];
    }
  free (holes);
  free (labels);
  free (sub.data);
  return status;
}

/* x (the region, planar, a copy of known) <- the start p->fill says:
 * patches, the smooth fill, or (auto) each hole's; the smooth fill where
 * the patch fill finds nothing to copy.  from_patch (one plane): 1 where
 * the start is the patch fill's, 0 elsewhere. */
static int
inpaint_start (gd_task *task, const gd_task_params *p, const gd_image *in,
               const gd_image *mask, const float *known, const float *keep,
               int rx, int ry, int rw, int rh, unsigned char *from_patch,
               gd_error *err)
{
  unsigned char *use_patch = NULL;
  float *patched = NULL;
  int filled = 0, any = p->fill == GD_FILL_PATCH, status = GD_OK;

  memset (from_patch, 0, task->plane);

  if (p->fill == GD_FILL_AUTO)
    {
      use_patch = malloc (task->plane);
      if (use_patch == NULL)
        return gd_error_set (err, GD_ERR_NOMEM,
                             "inpaint: out of memory for a %d x %d region", rw,
                             rh);
      status = inpaint_auto_choice (p, in, mask, rx, ry, rw, rh, use_patch,
                                    &any, err);
    }
  /* The patch fill runs with the whole mask, so that no hole's hidden
   * pixels are copied into another. */
  if (status == GD_OK && any)
    status = inpaint_start_patch (task, in, mask, rx, ry, rw, rh, &filled, err);
  if (status == GD_OK && filled && use_patch != NULL)
    {
      /* auto: the patch fill kept for its holes, the smooth fill for the
       * others */
      patched = malloc (task->n * sizeof *patched);
      if (patched == NULL)
        status = gd_error_set (err, GD_ERR_NOMEM,
                               "inpaint: out of memory for a %d x %d region",
                               rw, rh);
      else
        {
          memcpy (patched, task->x, task->n * sizeof *patched);
          memcpy (task->x, known, task->n * sizeof *patched);
          status = inpaint_start_fill (task, known, keep, rw, rh, err);
          for (size_t i = 0; status == GD_OK && i < task->n; i++)
            if (use_patch[i % task->plane])
              task->x[i] = patched[i];
        }
    }
  else if (status == GD_OK && !filled)
    status = inpaint_start_fill (task, known, keep, rw, rh, err);
  for (size_t i = 0; status == GD_OK && filled && i < task->plane; i++)
    from_patch[i] = keep[i] < 1.0f && (use_patch == NULL || use_patch[i]);
  free (use_patch);
  free (patched);
  return status;
}

static int
inpaint_copy_input (const gd_image *in, gd_image *out, gd_error *err)
{
  int status = gd_image_alloc (out, in->width, in->height, in->channels, err);

  if (status == GD_OK)
    memcpy (out->data, in->data,
            (size_t)in->width * in->height * in->channels * sizeof (float));
  return status;
}

/* Where the start was the patch fill, the result keeps that fill's grain:
 * x <- x + (1 - strength)(1 - keep) D(start - x), D what is finer than
 * GD_PATCHFILL_STRUCTURE_SIGMA (d - G d), i.e. what is coarser from the
 * network, what is finer from the photo's own patches, so the network
 * blends seams and repeats without smoothing the texture away
 * (docs/tools.md, "Inpaint defaults"); at strength s the network's own
 * detail gets a share s.  start (task->n floats) is overwritten. */
static int
inpaint_keep_grain (gd_task *task, const float *keep,
                    const unsigned char *from_patch, float *start,
                    double strength, int rw, int rh, gd_error *err)
{
  float *blurred = malloc (task->n * sizeof *blurred);
  float *tmp = malloc (task->plane * sizeof *tmp);

  if (blurred == NULL || tmp == NULL)
    {
      free (blurred);
      free (tmp);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "inpaint: out of memory for a %d x %d region", rw,
                           rh);
    }
  for (size_t i = 0; i < task->n; i++)
    blurred[i] = start[i] -= task->x[i];
  gd_blur_planar (blurred, 3, rw, rh, GD_PATCHFILL_STRUCTURE_SIGMA, tmp);
  for (size_t i = 0; i < task->n; i++)
    {
      size_t px = i % task->plane;

      if (from_patch[px])
        task->x[i] += (float)(1.0 - strength) * (1.0f - keep[px])
                      * (start[i] - blurred[i]);
    }
  free (blurred);
  free (tmp);
  return GD_OK;
}

int
gd_inpaint_plan (const gd_schedule *sched, const gd_task_params *p, int width,
                 int height, gd_tool_plan *plan, gd_error *err)
{
  int rounds = p->resample_jumps < 1 ? 1 : p->resample_jumps;

  if (rounds > 1 && !gd_sampler_is_stochastic (&p->sampler))
    return gd_error_set (
        err, GD_ERR_INVALID,
        "inpaint: resampling (%d rounds) needs a stochastic "
        "sampler (ddpm, skip-step, or ddim with eta > 0); "
        "%s%s projects x0_hat instead",
        rounds, gd_sampler_name (p->sampler.kind),
        p->sampler.kind == GD_SAMPLER_DDIM ? " with eta = 0" : "");
  plan->width = width;
  plan->height = height;
  plan->evals = p->strength == 0.0
                    ? 0
                    : gd_task_sampler_evals (
                        &p->sampler, gd_task_t0 (sched, p->strength), rounds);
  plan->single = 0;
  return GD_OK;
}

int
gd_inpaint (gd_model *model, const gd_task_params *p, const gd_image *in,
            const gd_image *mask, gd_image *out, gd_error *err)
{
  const gd_model_info *info;
  inpaint_ctx ctx;
  gd_sampler_hooks hooks = { NULL, NULL, NULL, NULL };
  gd_image gen = { 0, 0, 0, NULL };
  gd_tool_plan plan;
  gd_task task;
  float *known = NULL, *keep = NULL, *scratch = NULL, *start = NULL;
  unsigned char *from_patch = NULL;
  int rx, ry, rw, rh, t0, rounds, stochastic, status, any_patch = 0;

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  status = gd_task_check ("inpaint", model, p, in, err);
  if (status == GD_OK)
    status = inpaint_check_mask (in, mask, err);
  if (status == GD_OK && gd_fill_name (p->fill) == NULL)
    status = gd_error_set (err, GD_ERR_INVALID,
                           "inpaint: unknown fill %d (smooth, patch or "
                           "auto)",
                           (int)p->fill);
  if (status != GD_OK)
    return status;
  info = gd_model_get_info (model);
  stochastic = gd_sampler_is_stochastic (&p->sampler);
  rounds = p->resample_jumps < 1 ? 1 : p->resample_jumps;
  status = gd_inpaint_plan (&info->schedule, p, in->width, in->height, &plan,
                            err);
  if (status != GD_OK)
    return status;

  /* Nothing to regenerate: the input, bit for bit, without the network. */
  if (p->strength == 0.0
      || !inpaint_region (mask, 2 * gd_tiling_overlap (info), &rx, &ry, &rw,
                          &rh))
    return inpaint_copy_input (in, out, err);

  t0 = gd_task_t0 (&info->schedule, p->strength);
  plan.width = rw;
  plan.height = rh;
  status = gd_task_begin (&task, "inpaint", model, p, &plan, p->origin_x + rx,
                          p->origin_y + ry, err);
  if (status != GD_OK)
    return status;
  known = malloc (task.n * sizeof (float));
  keep = malloc (task.plane * sizeof (float));
  if (stochastic)
    scratch = malloc ((rounds > 1 ? 3 : 1) * task.n * sizeof (float));
  if (known == NULL || keep == NULL || (stochastic && scratch == NULL))
    {
      status = gd_error_set (err, GD_ERR_NOMEM,
                             "inpaint: out of memory for a %d x %d region", rw,
                             rh);
      goto done;
    }
  inpaint_crop_planar (in, rx, ry, rw, rh, known);
  for (int y = 0; y < rh; y++)
    for (int x = 0; x < rw; x++)
      keep[(size_t)y * rw + x]
          = 1.0f - mask->data[(size_t)(ry + y) * mask->width + rx + x];

  ctx.task = &task;
  ctx.known = known;
  ctx.keep = keep;
  ctx.rounds = rounds;
  ctx.z = scratch;
  ctx.x_t = rounds > 1 ? scratch + task.n : NULL;
  ctx.eps = rounds > 1 ? scratch + 2 * task.n : NULL;
  ctx.err = err;
  hooks.user_data = &ctx;
  if (stochastic)
    hooks.x_s = inpaint_repaint;
  else
    hooks.x0_hat = inpaint_project;

  /* From q(x_t0 | x0): at t0 = T pure noise; below it x0 is the known
   * pixels with the hole filled with the image's patches or smoothly from
   * its border, or each hole as auto says (a feathered edge blends the
   * fill and the image), not what was under the mask; with refine_hole,
   * the region as it is. */
  memcpy (task.x, known, task.n * sizeof (float));
  if (t0 < info->schedule.T && !p->refine_hole)
    {
      from_patch = malloc (task.plane);
      if (from_patch == NULL)
        {
          status = gd_error_set (err, GD_ERR_NOMEM,
                                 "inpaint: out of memory for a %d x %d region",
                                 rw, rh);
          goto done;
        }
      status = inpaint_start (&task, p, in, mask, known, keep, rx, ry, rw, rh,
                              from_patch, err);
      if (status != GD_OK)
        goto done;
      for (size_t i = 0; i < task.plane && !any_patch; i++)
        any_patch = from_patch[i];
    }
  if (any_patch)
    {
      start = malloc (task.n * sizeof *start);
      if (start == NULL)
        {
          status = gd_error_set (err, GD_ERR_NOMEM,
                                 "inpaint: out of memory for a %d x %d region",
                                 rw, rh);
          goto done;
        }
      memcpy (start, task.x, task.n * sizeof *start);
    }
  gd_task_q_sample (&task, task.x, info->schedule.abar[t0],
                    GD_RNG_STREAM_START);
  status = gd_task_sample (&task, t0, &hooks, err);
  if (status == GD_OK && any_patch)
    status = inpaint_keep_grain (&task, keep, from_patch, start,
                                 p->strength, rw, rh, err);
  if (status == GD_OK)
    status = gd_task_output (&task, in->channels, &gen, err);
  if (status == GD_OK)
    status = inpaint_copy_input (in, out, err);
  if (status == GD_OK)
    {
      /* out = mask gen + (1 - mask) in, where the mask is not 0. */
      int chans = in->channels;

      for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
          {
            float m = mask->data[(size_t)(ry + y) * mask->width + rx + x];
            float *dst
                = out->data + ((size_t)(ry + y) * out->width + rx + x) * chans;
            const float *src = gen.data + ((size_t)y * rw + x) * chans;

            for (int c = 0; c < chans && m > 0.0f; c++)
              dst[c] = m == 1.0f ? src[c] : m * src[c] + (1.0f - m) * dst[c];
          }
    }

done:
  gd_image_free (&gen);
  free (known);
  free (keep);
  free (scratch);
  free (start);
  free (from_patch);
  gd_task_end (&task);
  return status;
}
