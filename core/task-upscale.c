/* task-upscale.c: upscale x2 / x4 by DDNM (Wang et al. 2022): every x0_hat
 * is replaced by x0_hat + A+ (y - A x0_hat), so that the result downscaled
 * by A is the input y; the network fills the null space of A (the detail).
 * A is separable: the antialiased bicubic downscale (Pillow's, MATLAB's),
 * with A+ = A^T (A A^T)^-1 per axis (resample.c), or the s x s box average
 * with A+ nearest replication (A A+ = I). */
#include "image.h"
#include "resample.h"
#include "task.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bisection steps of the final clamp-aware projection (2^-40 of the
 * range: far below a 16-bit level). */
#define CLAMP_BISECTIONS 40

typedef struct
{
  const gd_task *task;
  const float *y; /* the input, planar [-1, 1], (width / s) x (height / s) */
  int scale;
  gd_kernel kernel;
  /* bicubic: the downscale and the enlargement per axis, A+ per axis, and
   * scratch (doubles) for one plane's passes */
  gd_resample dx, dy, ux, uy;
  gd_resample_pinv px, py;
  double *rows, *low, *back, *line, *z;
} upscale_ctx;

/* Bicubic: the plane x (w x h) downscaled by A into low (lw x lh). */
static void
cubic_down (upscale_ctx *ctx, const float *x, double *low)
{
  const int w = ctx->task->width, h = ctx->task->height;
  const int lw = ctx->dx.n_out, lh = ctx->dy.n_out;

  for (int r = 0; r < h; r++)
    for (int j = 0; j < lw; j++)
      {
        const double *wt = ctx->dx.w + (size_t)j * ctx->dx.taps;
        const float *src = x + (size_t)r * w + ctx->dx.start[j];
        double sum = 0.0;

        for (int k = 0; k < ctx->dx.count[j]; k++)
          sum += wt[k] * src[k];
        ctx->rows[(size_t)r * lw + j] = sum;
      }
  for (int i = 0; i < lh; i++)
    {
      const double *wt = ctx->dy.w + (size_t)i * ctx->dy.taps;

      for (int j = 0; j < lw; j++)
        {
          double sum = 0.0;

          for (int k = 0; k < ctx->dy.count[i]; k++)
            sum += wt[k] * ctx->rows[(size_t)(ctx->dy.start[i] + k) * lw + j];
          low[(size_t)i * lw + j] = sum;
        }
    }
}

/* Bicubic: x (w x h) += A+ r, r (lw x lh). */
static void
cubic_add_pinv (upscale_ctx *ctx, const double *r, float *x)
{
  const int w = ctx->task->width, h = ctx->task->height;
  const int lw = ctx->dx.n_out, lh = ctx->dy.n_out;

  for (int i = 0; i < lh; i++) /* rows: lw -> w */
    gd_resample_pinv_apply (&ctx->px, r + (size_t)i * lw,
                            ctx->back + (size_t)i * w, ctx->z);
  for (int c = 0; c < w; c++) /* columns: lh -> h */
    {
      for (int i = 0; i < lh; i++)
        ctx->low[i] = ctx->back[(size_t)i * w + c];
      gd_resample_pinv_apply (&ctx->py, ctx->low, ctx->line, ctx->z);
      for (int o = 0; o < h; o++)
        x[(size_t)o * w + c] += (float)ctx->line[o];
    }
}

/* Bicubic: x <- x + A+ (y - A clamp (x)), plane by plane. */
static void
cubic_project (upscale_ctx *ctx, float *x)
{
  const size_t plane = ctx->task->plane;
  const size_t lplane = (size_t)ctx->dx.n_out * ctx->dy.n_out;
  double *res = ctx->rows + (size_t)ctx->task->height * ctx->dx.n_out;

  for (size_t i = 0; i < 3 * plane; i++)
    x[i] = x[i] < -1.0f ? -1.0f : x[i] > 1.0f ? 1.0f : x[i];
  for (int c = 0; c < 3; c++)
    {
      cubic_down (ctx, x + c * plane, res);
      for (size_t i = 0; i < lplane; i++)
        res[i] = ctx->y[c * lplane + i] - res[i];
      cubic_add_pinv (ctx, res, x + c * plane);
    }
}

/* Bicubic: the start, y enlarged by cubic convolution, made consistent. */
static void
cubic_resize (upscale_ctx *ctx, float *x)
{
  const int w = ctx->task->width, h = ctx->task->height;
  const int lw = ctx->dx.n_out, lh = ctx->dy.n_out;
  const size_t plane = ctx->task->plane, lplane = (size_t)lw * lh;

  for (int c = 0; c < 3; c++)
    {
      const float *yc = ctx->y + c * lplane;

      for (int i = 0; i < lh; i++) /* rows: lw -> w, into back */
        for (int o = 0; o < w; o++)
          {
            const double *wt = ctx->ux.w + (size_t)o * ctx->ux.taps;
            double sum = 0.0;

            for (int k = 0; k < ctx->ux.count[o]; k++)
              sum += wt[k] * yc[(size_t)i * lw + ctx->ux.start[o] + k];
            ctx->back[(size_t)i * w + o] = sum;
          }
      for (int o = 0; o < h; o++) /* columns: lh -> h */
        {
          const double *wt = ctx->uy.w + (size_t)o * ctx->uy.taps;

          for (int j = 0; j < w; j++)
            {
              double sum = 0.0;

              for (int k = 0; k < ctx->uy.count[o]; k++)
                sum += wt[k]
                       * ctx->back[(size_t)(ctx->uy.start[o] + k) * w + j];
              x[c * plane + (size_t)o * w + j] = (float)sum;
            }
        }
    }
  cubic_project (ctx, x);
}

/* Rounds of projection and clamp at the end: each halves what clamping
 * undoes of A x = y, or better. */
#define CUBIC_FINAL_ROUNDS 30

static int
cubic_begin (upscale_ctx *ctx, int lw, int lh, gd_error *err)
{
  const int s = ctx->scale, w = lw * s, h = lh * s;
  int status;

  status = gd_resample_cubic (&ctx->dx, w, lw, err);
  if (status == GD_OK)
    status = gd_resample_cubic (&ctx->dy, h, lh, err);
  if (status == GD_OK)
    status = gd_resample_cubic (&ctx->ux, lw, w, err);
  if (status == GD_OK)
    status = gd_resample_cubic (&ctx->uy, lh, h, err);
  if (status == GD_OK)
    status = gd_resample_pinv_init (&ctx->px, &ctx->dx, err);
  if (status == GD_OK)
    status = gd_resample_pinv_init (&ctx->py, &ctx->dy, err);
  if (status != GD_OK)
    return status;
  /* rows: h x lw, then the residual lw x lh; back: lh x w; low, line, z */
  ctx->rows = malloc (((size_t)h * lw + (size_t)lw * lh) * sizeof (double));
  ctx->back = malloc ((size_t)lh * w * sizeof (double));
  ctx->low = malloc ((size_t)lh * sizeof (double));
  ctx->line = malloc ((size_t)(h > w ? h : w) * sizeof (double));
  ctx->z = malloc ((size_t)(lh > lw ? lh : lw) * sizeof (double));
  if (ctx->rows == NULL || ctx->back == NULL || ctx->low == NULL
      || ctx->line == NULL || ctx->z == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "upscale: out of memory for a %d x %d result", w, h);
  return GD_OK;
}

static void
cubic_end (upscale_ctx *ctx)
{
  gd_resample_free (&ctx->dx);
  gd_resample_free (&ctx->dy);
  gd_resample_free (&ctx->ux);
  gd_resample_free (&ctx->uy);
  gd_resample_pinv_free (&ctx->px);
  gd_resample_pinv_free (&ctx->py);
  free (ctx->rows);
  free (ctx->back);
  free (ctx->low);
  free (ctx->line);
  free (ctx->z);
}

/* x <- x + A+ (y - A clamp (x)): x0_hat clamped to the data's [-1, 1],
 * then every s x s block's mean moved onto its y. */
static int
upscale_project (void *user_data, float *x, size_t n, double t)
{
  const upscale_ctx *ctx = user_data;
  const int s = ctx->scale, w = ctx->task->width, h = ctx->task->height;
  const int lw = w / s, lh = h / s;
  const size_t plane = ctx->task->plane, lplane = (size_t)lw * lh;

  (void)t;
  assert (n == 3 * plane);
  for (int c = 0; c < 3; c++)
    for (int by = 0; by < lh; by++)
      for (int bx = 0; bx < lw; bx++)
        {
          float *block = x + c * plane + (size_t)by * s * w + (size_t)bx * s;
          double sum = 0.0;
          float delta;

          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              {
                float *v = &block[(size_t)j * w + i];

                /* The data lies in [-1, 1]: x0_hat is clamped first (with
                 * this model, 27.9 dB instead of 21.7 from t0 = T with
                 * ddim at eta 0). */
                *v = *v < -1.0f ? -1.0f : *v > 1.0f ? 1.0f : *v;
                sum += *v;
              }
          delta = (float)(ctx->y[c * lplane + (size_t)by * lw + bx]
                          - sum / (s * s));
          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              block[(size_t)j * w + i] += delta;
        }
  return GD_OK;
}

/* The block mean of clamp (v + shift) to [-1, 1]. */
static double
clamped_mean (const float *block, int w, int s, double shift)
{
  double sum = 0.0;

  for (int j = 0; j < s; j++)
    for (int i = 0; i < s; i++)
      sum += fmin (1.0, fmax (-1.0, block[(size_t)j * w + i] + shift));
  return sum / (s * s);
}

/* The last projection, within [-1, 1]: each block shifted by the c for
 * which mean (clamp (v + c)) = y (monotone in c: bisection), then clamped,
 * so that clamping the output to 0..1 keeps A x = y. */
static void
upscale_project_clamped (const upscale_ctx *ctx, float *x)
{
  const int s = ctx->scale, w = ctx->task->width, h = ctx->task->height;
  const int lw = w / s, lh = h / s;
  const size_t plane = ctx->task->plane, lplane = (size_t)lw * lh;

  (void)upscale_project ((void *)ctx, x, 3 * plane, 0.0);
  for (int c = 0; c < 3; c++)
    for (int by = 0; by < lh; by++)
      for (int bx = 0; bx < lw; bx++)
        {
          float *block = x + c * plane + (size_t)by * s * w + (size_t)bx * s;
          double target = ctx->y[c * lplane + (size_t)by * lw + bx];
          double lo = 0.0, hi = 0.0, shift;
          int outside = 0;

          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              {
                float v = block[(size_t)j * w + i];

                outside |= !(v >= -1.0f && v <= 1.0f);
                lo = fmin (lo, -1.0 - v);
                hi = fmax (hi, 1.0 - v);
              }
          if (!outside)
            continue;
          for (int k = 0; k < CLAMP_BISECTIONS; k++)
            {
              double mid = 0.5 * (lo + hi);

              if (clamped_mean (block, w, s, mid) < target)
                lo = mid;
              else
                hi = mid;
            }
          shift = 0.5 * (lo + hi);
          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              {
                float *v = &block[(size_t)j * w + i];

                *v = (float)fmin (1.0, fmax (-1.0, *v + shift));
              }
        }
}

/* The start below T: y resized bilinearly (pixel centres aligned, edges
 * replicated), then made consistent with A. */
static void
upscale_resize (const upscale_ctx *ctx, float *x)
{
  const int s = ctx->scale, w = ctx->task->width, h = ctx->task->height;
  const int lw = w / s, lh = h / s;
  const size_t plane = ctx->task->plane, lplane = (size_t)lw * lh;

  for (int c = 0; c < 3; c++)
    for (int oy = 0; oy < h; oy++)
      {
        double v = (oy + 0.5) / s - 0.5;
        int y0 = (int)floor (v);
        double fy = v - y0;
        int ya = y0 < 0 ? 0 : y0, yb = y0 + 1 >= lh ? lh - 1 : y0 + 1;
        const float *ra = ctx->y + c * lplane + (size_t)ya * lw;
        const float *rb = ctx->y + c * lplane + (size_t)yb * lw;

        for (int ox = 0; ox < w; ox++)
          {
            double u = (ox + 0.5) / s - 0.5;
            int x0 = (int)floor (u);
            double fx = u - x0;
            int xa = x0 < 0 ? 0 : x0, xb = x0 + 1 >= lw ? lw - 1 : x0 + 1;
            double top = (1 - fx) * ra[xa] + fx * ra[xb];
            double bottom = (1 - fx) * rb[xa] + fx * rb[xb];

            x[c * plane + (size_t)oy * w + ox]
                = (float)((1 - fy) * top + fy * bottom);
          }
      }
  (void)upscale_project ((void *)ctx, x, 3 * plane, 0.0);
}

/* The x0_hat hook for bicubic. */
static int
cubic_hook (void *user_data, float *x, size_t n, double t)
{
  (void)n;
  (void)t;
  cubic_project (user_data, x);
  return GD_OK;
}

/* The last projection for bicubic, within [-1, 1]: projection and clamp in
 * turn (alternating projections onto A x = y and the box), then the
 * clamp. */
static void
cubic_project_clamped (upscale_ctx *ctx, float *x)
{
  for (int round = 0; round < CUBIC_FINAL_ROUNDS; round++)
    cubic_project (ctx, x);
  for (size_t i = 0; i < 3 * ctx->task->plane; i++)
    x[i] = x[i] < -1.0f ? -1.0f : x[i] > 1.0f ? 1.0f : x[i];
}

int
gd_upscale_plan (const gd_schedule *sched, const gd_task_params *p, int width,
                 int height, gd_tool_plan *plan, gd_error *err)
{
  if (p->scale != 2 && p->scale != 4)
    return gd_error_set (err, GD_ERR_INVALID,
                         "upscale: scale %d is not supported (2 or 4)",
                         p->scale);
  if (width > INT_MAX / 4 / p->scale || height > INT_MAX / 4 / p->scale)
    return gd_error_set (err, GD_ERR_INVALID, "upscale: %d x %d is too large",
                         width, height);
  /* A sampler run from t0 = strength T, as img2img's, on the enlarged
   * grid. */
  return gd_img2img_plan (sched, p, width * p->scale, height * p->scale, plan,
                          err);
}

int
gd_upscale (gd_model *model, const gd_task_params *p, const gd_image *in,
            gd_image *out, gd_error *err)
{
  const gd_schedule *sched;
  gd_sampler_hooks hooks = { NULL, NULL, NULL, NULL };
  upscale_ctx ctx;
  gd_tool_plan plan;
  gd_task task;
  float *y;
  int s, t0 = 0, status;

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  status = gd_task_check ("upscale", model, p, in, err);
  if (status != GD_OK)
    return status;
  s = p->scale;
  if (s != 2 && s != 4)
    return gd_error_set (err, GD_ERR_INVALID,
                         "upscale: scale %d is not supported (2 or 4)", s);
  if (p->kernel != GD_KERNEL_BICUBIC && p->kernel != GD_KERNEL_BOX)
    return gd_error_set (err, GD_ERR_INVALID,
                         "upscale: kernel %d is not supported (bicubic or "
                         "box)",
                         (int)p->kernel);
  if (in->width > INT_MAX / 4 / s || in->height > INT_MAX / 4 / s
      || p->origin_x > INT_MAX / 4 / s - in->width
      || p->origin_y > INT_MAX / 4 / s - in->height
      || (size_t)in->width * s
             > SIZE_MAX / 48 / sizeof (float) / ((size_t)in->height * s))
    return gd_error_set (err, GD_ERR_NOMEM,
                         "upscale: a %d x %d image upscaled %d times "
                         "overflows memory sizes",
                         in->width, in->height, s);

  sched = &gd_model_get_info (model)->schedule;
  if (p->strength > 0.0)
    t0 = gd_task_t0 (sched, p->strength);
  status = gd_upscale_plan (sched, p, in->width, in->height, &plan, err);
  if (status == GD_OK)
    status = gd_task_begin (&task, "upscale", model, p, &plan, p->origin_x * s,
                            p->origin_y * s, err);
  if (status != GD_OK)
    return status;
  y = malloc (3 * (size_t)in->width * in->height * sizeof (float));
  if (y == NULL)
    {
      gd_task_end (&task);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "upscale: out of memory for a %d x %d image",
                           in->width, in->height);
    }
  gd_image_to_planar (in, y);
  memset (&ctx, 0, sizeof ctx);
  ctx.task = &task;
  ctx.y = y;
  ctx.scale = s;
  ctx.kernel = (gd_kernel)p->kernel;
  if (ctx.kernel == GD_KERNEL_BICUBIC)
    status = cubic_begin (&ctx, in->width, in->height, err);
  if (status != GD_OK)
    goto done;

  /* strength 0: the consistent resize itself, without the network. */
  if (ctx.kernel == GD_KERNEL_BOX)
    upscale_resize (&ctx, task.x);
  else
    cubic_resize (&ctx, task.x);
  if (t0 > 0)
    {
      hooks.x0_hat = ctx.kernel == GD_KERNEL_BOX ? upscale_project : cubic_hook;
      hooks.user_data = &ctx;
      gd_task_q_sample (&task, task.x, sched->abar[t0], GD_RNG_STREAM_START);
      status = gd_task_sample (&task, t0, &hooks, err);
    }
  if (status == GD_OK)
    {
      if (ctx.kernel == GD_KERNEL_BOX)
        upscale_project_clamped (&ctx, task.x);
      else
        cubic_project_clamped (&ctx, task.x);
      status = gd_task_output (&task, in->channels, out, err);
    }
done:
  cubic_end (&ctx);
  free (y);
  gd_task_end (&task);
  return status;
}
