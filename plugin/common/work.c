/* work.c: the four tools over the core task API: the computation (shared
 * with the dialogs' preview) and a run's work before anything is written
 * (the front end then writes the result as one undo step). */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include "host.h"

void
diffusion_task_params (const DiffusionProcedure *proc,
                       const DiffusionVals *vals, gd_task_params *params)
{
  gd_tool_params_init (proc->task, params, NULL);
  /* diffusion_vals_check has refused an unknown name. */
  gd_sampler_from_name (diffusion_vals_sampler (vals), &params->sampler.kind,
                        NULL);
  params->sampler.steps = vals->steps;
  /* The seed is a PDB INT32: its 32 bits, whatever the sign. */
  params->sampler.seed = (guint64)(guint32)vals->seed;
  params->strength = vals->strength;
  params->scale = vals->scale;
  params->sigma = vals->sigma;
  params->precision = (gd_precision)vals->precision;
  /* (img2img with a selection refines what is there: no fill) */
  if (proc->tool == DIFFUSION_INPAINT)
    params->fill = (gd_fill)vals->fill;
  if (proc->tool == DIFFUSION_DENOISE)
    {
      params->ensemble = vals->ensemble;
      /* One step is x0_hat at the noise level itself (the CLI's
       * --one-step), not a sampler step from the next integer t. */
      params->one_step = vals->steps == 1;
    }
  /* ddim's eta stays the core's per-tool default (inpaint and upscale
   * steer every step and need fresh noise); the dialog does not offer it. */
}

gboolean
diffusion_compute (const DiffusionProcedure *proc, const DiffusionVals *vals,
                   gd_model *model, const gd_image *in, const gd_image *mask,
                   gint origin_x, gint origin_y,
                   DiffusionComputeOptions *options, gd_image *out,
                   GError **error)
{
  gd_task_params params;
  gd_error err;
  int status;

  diffusion_task_params (proc, vals, &params);
  params.origin_x = origin_x;
  params.origin_y = origin_y;
  if (options != NULL)
    {
      params.task_progress = options->progress;
      params.task_progress_data = options->progress_data;
      params.image_width = options->image_width;
      params.image_height = options->image_height;
    }
  gd_error_clear (&err);
  memset (out, 0, sizeof *out);

  /* sigma 0: the estimate the caller made (the preview and the run use
   * the same), or the core's own on `in`. */
  if (proc->tool == DIFFUSION_DENOISE && params.sigma <= 0.0 && options != NULL
      && options->sigma >= 0.0)
    params.sigma = options->sigma;
  if (proc->tool == DIFFUSION_DENOISE && params.sigma <= 0.0)
    {
      params.sigma = gd_tool_estimate_sigma (in, NULL);
      if (params.sigma < 0.0)
        {
          g_set_error_literal (
              error, diffusion_error_quark (), GD_ERR_INVALID,
              _ ("The noise level of this region cannot be estimated "
                 "(too small, or clipped everywhere): give sigma."));
          return FALSE;
        }
    }
  if (options != NULL && proc->tool == DIFFUSION_DENOISE)
    options->sigma = params.sigma;
  g_return_val_if_fail (proc->tool != DIFFUSION_INPAINT || mask != NULL, FALSE);
  /* One dispatch, the CLI's: img2img with a selection is inpaint refining
   * it in place (gd_tool_run). */
  status = gd_tool_run (model, proc->task, &params, in, mask, out, &err);

  if (status != GD_OK)
    {
      if (status == GD_ERR_CANCELLED)
        g_set_error_literal (error, diffusion_error_quark (), GD_ERR_CANCELLED,
                             _ ("Cancelled."));
      else
        /* TRANSLATORS: the tool's name, then the core's message. */
        g_set_error (error, diffusion_error_quark (), status,
                     _ ("%s failed: %s"), _ (proc->name), err.message);
      gd_image_free (out);
      return FALSE;
    }
  return TRUE;
}

static void
diffusion_progress_say (const DiffusionProgress *progress, const gchar *text)
{
  if (progress != NULL && progress->text != NULL)
    progress->text (progress->data, text);
}

typedef struct
{
  const DiffusionProgress *progress;
  const gchar *name;
} DiffusionProgressRelay;

/* The core's task progress to the front end's: text and fraction after
 * every network evaluation. */
static int
diffusion_progress_relay (void *user_data, const gd_progress_info *info)
{
  DiffusionProgressRelay *relay = user_data;
  gchar *text = diffusion_progress_text (relay->name, info);

  diffusion_progress_say (relay->progress, text);
  g_free (text);
  if (relay->progress->fraction != NULL)
    relay->progress->fraction (
        relay->progress->data,
        info->total > 0 ? (gdouble)info->done / info->total : 1.0);
  return 0; /* never cancels: GIMP ends the process instead (progress.c) */
}

gboolean
diffusion_work (const DiffusionProcedure *proc, const DiffusionVals *vals,
                const DiffusionPlan *plan, const DiffusionSource *source,
                const DiffusionProgress *progress, DiffusionRegion *region,
                gd_image *result, GError **error)
{
  DiffusionProgressRelay relay = { progress, _ (proc->name) };
  DiffusionComputeOptions options
      = { NULL, NULL, -1.0, plan->image_width, plan->image_height };
  gd_image mask = { 0, 0, 0, NULL };
  gd_model *model;
  gchar *text;
  gboolean ok;

  memset (region, 0, sizeof *region);
  memset (result, 0, sizeof *result);
  if (progress != NULL)
    {
      options.progress = diffusion_progress_relay;
      options.progress_data = &relay;
    }
  /* TRANSLATORS: the tool's name. */
  text = g_strdup_printf (_ ("%s: loading the model"), _ (proc->name));
  diffusion_progress_say (progress, text);
  g_free (text);
  model = diffusion_model_load (vals->model, error);
  if (model == NULL)
    return FALSE;

  if (!diffusion_region_read (source->buffer, source->gray, source->has_alpha,
                              plan->work_x, plan->work_y, plan->work_width,
                              plan->work_height, region, error)
      || (plan->use_mask
          && !diffusion_mask_read (source->selection, source->offset_x,
                                   source->offset_y, plan->work_x, plan->work_y,
                                   plan->work_width, plan->work_height, &mask,
                                   error)))
    {
      diffusion_region_free (region);
      gd_model_free (model);
      return FALSE;
    }

  if (proc->tool == DIFFUSION_DENOISE && vals->sigma <= 0.0)
    {
      options.sigma = gd_tool_estimate_sigma (&region->color, NULL);
      if (options.sigma >= 0.0)
        {
          /* TRANSLATORS: the tool's name, then the noise level found. */
          text = g_strdup_printf (_ ("%s: estimated sigma %.1f"),
                                  _ (proc->name), options.sigma);
          diffusion_progress_say (progress, text);
          g_free (text);
        }
    }

  gd_set_threads (0);
  ok = diffusion_compute (proc, vals, model, &region->color,
                          plan->use_mask ? &mask : NULL, plan->work_x,
                          plan->work_y, &options, result, error);
  gd_model_free (model);
  gd_image_free (&mask);
  if (!ok)
    diffusion_region_free (region);
  return ok;
}
