/* preview-job.c: the dialog's background work (a speed calibration, a
 * preview), one thread per job, cancelled through the core's progress
 * callback. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "host.h"

/* The calibration pass: a square this wide, timed on its second run (the
 * first also allocates the model's workspace). */
#define DIFFUSION_CALIBRATE_SIZE 96

DiffusionJob *
diffusion_job_new (DiffusionJobKind kind, const DiffusionProcedure *proc,
                   const DiffusionVals *vals, gd_model *model)
{
  DiffusionJob *job = g_new0 (DiffusionJob, 1);

  job->kind = kind;
  job->proc = proc;
  job->vals = *vals;
  job->model = model;
  g_mutex_init (&job->lock);
  return job;
}

static int
diffusion_job_progress (void *user_data, const gd_progress_info *info)
{
  DiffusionJob *job = user_data;

  g_mutex_lock (&job->lock);
  job->info = *info;
  g_mutex_unlock (&job->lock);
  return g_atomic_int_get (&job->cancel);
}

static void
diffusion_job_calibrate (DiffusionJob *job)
{
  gint size = DIFFUSION_CALIBRATE_SIZE;
  gsize n = 3 * (gsize)size * size;
  gfloat *x = g_try_new0 (gfloat, n);
  gfloat *eps = g_try_new (gfloat, n);
  gd_error err;
  gint64 start = 0;
  gint pass;

  gd_error_clear (&err);
  for (pass = 0; x != NULL && eps != NULL && pass < 2; pass++)
    {
      if (g_atomic_int_get (&job->cancel))
        break;
      start = g_get_monotonic_time ();
      if (gd_model_eps (job->model, x, size, size, 500.0, eps, &err) != GD_OK)
        {
          g_set_error (&job->error, diffusion_error_quark (), err.status, "%s",
                       err.message);
          break;
        }
      if (pass == 1)
        {
          job->seconds = (g_get_monotonic_time () - start) / 1e6;
          job->pixel_evaluations = (gdouble)size * size;
        }
    }
  g_free (x);
  g_free (eps);
}

static gpointer
diffusion_job_thread (gpointer data)
{
  DiffusionJob *job = data;
  DiffusionComputeOptions options;
  gint64 start = g_get_monotonic_time ();
  gint scale;

  if (job->kind == DIFFUSION_JOB_CALIBRATE)
    diffusion_job_calibrate (job);
  else
    {
      options.progress = diffusion_job_progress;
      options.progress_data = job;
      options.sigma = job->sigma;
      options.image_width = job->image_width;
      options.image_height = job->image_height;
      diffusion_compute (job->proc, &job->vals, job->model, &job->region.color,
                         job->mask.data ? &job->mask : NULL, job->region.x,
                         job->region.y, &options, &job->out, &job->error);
      job->seconds = (g_get_monotonic_time () - start) / 1e6;
      /* The network runs at the output's size (upscale: scale^2 more). */
      scale = job->proc->tool == DIFFUSION_UPSCALE ? job->vals.scale : 1;
      g_mutex_lock (&job->lock);
      if (job->info.total > 0 && job->info.tiles > 0)
        job->pixel_evaluations = (gdouble)job->region.width * job->region.height
                                 * scale * scale * job->info.done
                                 / job->info.tiles;
      g_mutex_unlock (&job->lock);
    }
  g_atomic_int_set (&job->finished, 1);
  return NULL;
}

void
diffusion_job_start (DiffusionJob *job)
{
  g_return_if_fail (job->thread == NULL);
  job->thread = g_thread_new ("diffusion-preview", diffusion_job_thread, job);
}

void
diffusion_job_cancel (DiffusionJob *job)
{
  g_atomic_int_set (&job->cancel, 1);
}

gboolean
diffusion_job_finished (DiffusionJob *job)
{
  return job->thread != NULL && g_atomic_int_get (&job->finished);
}

void
diffusion_job_get_info (DiffusionJob *job, gd_progress_info *info)
{
  g_mutex_lock (&job->lock);
  *info = job->info;
  g_mutex_unlock (&job->lock);
}

void
diffusion_job_free (DiffusionJob *job)
{
  if (job == NULL)
    return;
  if (job->thread != NULL)
    {
      diffusion_job_cancel (job);
      g_thread_join (job->thread);
    }
  diffusion_region_free (&job->region);
  gd_image_free (&job->mask);
  gd_image_free (&job->out);
  g_clear_error (&job->error);
  g_mutex_clear (&job->lock);
  g_free (job);
}

/* A work region at most this large is previewed whole, so the preview is
 * the run's result; a larger one as the visible part with this much
 * context around it. */
#define DIFFUSION_PREVIEW_EXACT_PIXELS (192 * 192)
#define DIFFUSION_PREVIEW_CONTEXT 16

void
diffusion_preview_rect (const DiffusionProcedure *proc,
                        const DiffusionVals *vals, const DiffusionPlan *plan,
                        gint px, gint py, gint pw, gint ph, gint *x, gint *y,
                        gint *width, gint *height)
{
  gint x1, y1, x2, y2;

  if (proc->tool == DIFFUSION_UPSCALE)
    {
      /* The middle of the visible part, enlarged to fill the preview. */
      gint s = vals->scale;
      gint sw = (pw + s - 1) / s + 2 * DIFFUSION_PREVIEW_CONTEXT;
      gint sh = (ph + s - 1) / s + 2 * DIFFUSION_PREVIEW_CONTEXT;

      x1 = MAX (px + pw / 2 - sw / 2, 0);
      y1 = MAX (py + ph / 2 - sh / 2, 0);
      x2 = MIN (x1 + sw, plan->work_width);
      y2 = MIN (y1 + sh, plan->work_height);
      x1 = MAX (x2 - sw, 0);
      y1 = MAX (y2 - sh, 0);
    }
  else if ((gint64)plan->work_width * plan->work_height
           <= DIFFUSION_PREVIEW_EXACT_PIXELS)
    {
      x1 = plan->work_x;
      y1 = plan->work_y;
      x2 = x1 + plan->work_width;
      y2 = y1 + plan->work_height;
    }
  else
    {
      x1 = MAX (px - DIFFUSION_PREVIEW_CONTEXT, plan->work_x);
      y1 = MAX (py - DIFFUSION_PREVIEW_CONTEXT, plan->work_y);
      x2 = MIN (px + pw + DIFFUSION_PREVIEW_CONTEXT,
                plan->work_x + plan->work_width);
      y2 = MIN (py + ph + DIFFUSION_PREVIEW_CONTEXT,
                plan->work_y + plan->work_height);
    }
  *x = x1;
  *y = y1;
  *width = MAX (x2 - x1, 0);
  *height = MAX (y2 - y1, 0);
}

guchar
diffusion_u8 (gfloat v)
{
  return (guchar)CLAMP (lrintf (v * 255.0f), 0, 255);
}

static gboolean
diffusion_region_contains (const DiffusionRegion *outer, gint x, gint y)
{
  return x >= outer->x && y >= outer->y && x < outer->x + outer->width
         && y < outer->y + outer->height;
}

guchar *
diffusion_preview_pixels (const DiffusionJob *job, const DiffusionPlan *plan,
                          const DiffusionRegion *visible, gint px, gint py,
                          gint pw, gint ph, gint *bpp)
{
  const gd_image *out = &job->out;
  gint colors = out->channels;
  gboolean alpha = job->region.has_alpha;
  gint row, col, c;
  guchar *buf;

  *bpp = colors + (alpha ? 1 : 0);
  buf = g_new0 (guchar, (gsize)MAX (pw, 1) * MAX (ph, 1) * *bpp);

  if (job->proc->tool == DIFFUSION_UPSCALE)
    {
      /* The enlarged middle of the crop, alpha replicated. */
      gint s = job->vals.scale;
      gint ox = CLAMP ((px + pw / 2 - job->region.x) * s - pw / 2, 0,
                       MAX (out->width - pw, 0));
      gint oy = CLAMP ((py + ph / 2 - job->region.y) * s - ph / 2, 0,
                       MAX (out->height - ph, 0));
      gint w = MIN (pw, out->width - ox);
      gint h = MIN (ph, out->height - oy);

      for (row = 0; row < h; row++)
        for (col = 0; col < w; col++)
          {
            gsize src = (gsize)(oy + row) * out->width + (ox + col);
            gsize asrc
                = (gsize)((oy + row) / s) * job->region.width + (ox + col) / s;
            guchar *dst = buf + ((gsize)row * pw + col) * *bpp;

            for (c = 0; c < colors; c++)
              dst[c] = diffusion_u8 (out->data[src * colors + c]);
            if (alpha)
              dst[colors] = diffusion_u8 (job->region.alpha[asrc]);
          }
      return buf;
    }

  g_return_val_if_fail (visible != NULL, buf);
  for (row = 0; row < ph; row++)
    for (col = 0; col < pw; col++)
      {
        gint x = px + col, y = py + row;
        gsize i = (gsize)row * pw + col;
        guchar *dst = buf + i * *bpp;
        const gfloat *src = visible->color.data + i * colors;

        /* Only the written bounds change; the job covers them here. */
        if (x >= plan->x && x < plan->x + plan->width && y >= plan->y
            && y < plan->y + plan->height
            && diffusion_region_contains (&job->region, x, y))
          src = out->data
                + ((gsize)(y - job->region.y) * out->width
                   + (x - job->region.x))
                      * colors;
        for (c = 0; c < colors; c++)
          dst[c] = diffusion_u8 (src[c]);
        if (alpha)
          dst[colors] = diffusion_u8 (visible->alpha[i]);
      }
  return buf;
}
