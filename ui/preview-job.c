/* preview-job.c: the dialog's background work (a speed calibration, a
 * preview), one thread per job, cancelled through the core's progress
 * callback. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "dialog.h"

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
