/* work.c: the four tools over the core task API: the computation (shared
 * with the dialog's preview) and a whole run (read, compute, write as one
 * undo step). */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "plugin.h"

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
    }
  gd_error_clear (&err);
  memset (out, 0, sizeof *out);

  /* sigma 0: the estimate the caller made (the preview and the run use
   * the same), or the core's own on `in`. */
  if (proc->tool == DIFFUSION_DENOISE && params.sigma <= 0.0
      && options != NULL && options->sigma >= 0.0)
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
  g_return_val_if_fail (proc->tool != DIFFUSION_INPAINT || mask != NULL,
                        FALSE);
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

gboolean
diffusion_run (const DiffusionProcedure *proc, gint32 image_id,
               gint32 drawable_id, const DiffusionVals *vals, GError **error)
{
  DiffusionComputeOptions options
      = { diffusion_progress_gimp, (void *)_ (proc->name), -1.0 };
  DiffusionPlan plan;
  DiffusionRegion region;
  gd_image mask = { 0, 0, 0, NULL };
  gd_image result;
  gd_model *model;
  gboolean ok;

  if (!diffusion_plan_make (proc->tool, image_id, drawable_id, &plan, error))
    return FALSE;

  /* TRANSLATORS: the tool's name. */
  gimp_progress_init_printf (_ ("%s: loading the model"), _ (proc->name));
  model = diffusion_model_load (vals->model, error);
  if (model == NULL)
    return FALSE;

  if (!diffusion_region_read (drawable_id, plan.work_x, plan.work_y,
                              plan.work_width, plan.work_height, &region, error)
      || (plan.use_mask
          && !diffusion_mask_read (image_id, drawable_id, plan.work_x,
                                   plan.work_y, plan.work_width,
                                   plan.work_height, &mask, error)))
    {
      diffusion_region_free (&region);
      gd_model_free (model);
      return FALSE;
    }

  if (proc->tool == DIFFUSION_DENOISE && vals->sigma <= 0.0)
    {
      options.sigma = gd_tool_estimate_sigma (&region.color, NULL);
      if (options.sigma >= 0.0)
        /* TRANSLATORS: the tool's name, then the noise level found. */
        gimp_progress_set_text_printf (_ ("%s: estimated sigma %.1f"),
                                       _ (proc->name), options.sigma);
    }

  gd_set_threads (0);
  ok = diffusion_compute (proc, vals, model, &region.color,
                          plan.use_mask ? &mask : NULL, plan.work_x,
                          plan.work_y, &options, &result, error);
  gd_model_free (model);
  gd_image_free (&mask);
  if (!ok)
    {
      diffusion_region_free (&region);
      return FALSE;
    }

  /* The image changes only here, after all the work: a run cancelled
   * before this point (GIMP ends the process) leaves it as it was. */
  gimp_image_undo_group_start (image_id);
  if (proc->tool == DIFFUSION_UPSCALE)
    ok = diffusion_upscale_write (image_id, drawable_id, &result, vals->scale,
                                  error);
  else
    diffusion_region_write (drawable_id, &region, &result, plan.x, plan.y,
                            plan.width, plan.height);
  gimp_image_undo_group_end (image_id);
  gimp_progress_update (1.0);

  gd_image_free (&result);
  diffusion_region_free (&region);
  return ok;
}
