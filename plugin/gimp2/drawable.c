/* drawable.c: the GIMP 2.10 glue of a run: what the drawable is, its
 * buffers, and the result written back as one undo step. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "gimp2.h"

void
diffusion_target_get (gint32 image_id, gint32 drawable_id,
                      DiffusionTarget *target)
{
  memset (target, 0, sizeof *target);
  target->valid
      = gimp_item_is_valid (drawable_id) && gimp_item_is_drawable (drawable_id);
  if (!target->valid)
    return;
  target->is_group = gimp_item_is_group (drawable_id);
  target->is_indexed = gimp_drawable_is_indexed (drawable_id);
  target->is_layer = gimp_item_is_layer (drawable_id);
  target->floating = gimp_image_get_floating_sel (image_id) != -1;
  target->has_selection = !gimp_selection_is_empty (image_id);
  target->width = gimp_drawable_width (drawable_id);
  target->height = gimp_drawable_height (drawable_id);
  if (!target->is_group && !target->is_indexed)
    target->intersects = gimp_drawable_mask_intersect (
        drawable_id, &target->x, &target->y, &target->mask_width,
        &target->mask_height);
}

gboolean
diffusion_gimp_plan (DiffusionTool tool, gint32 image_id, gint32 drawable_id,
                     DiffusionPlan *plan, GError **error)
{
  DiffusionTarget target;

  diffusion_target_get (image_id, drawable_id, &target);
  return diffusion_plan_make (tool, &target, plan, error);
}

/* Scales the image by `scale` and puts `result` (the layer's colour, scale
 * times larger) into the layer, its alpha as GIMP scaled it; the caller
 * holds the undo group.  The selection is set aside while the shadow is
 * merged, so that the whole layer is replaced, then restored. */
static gboolean
diffusion_upscale_write (gint32 image_id, gint32 drawable_id,
                         const gd_image *result, gint scale, GError **error)
{
  gint width = gimp_image_width (image_id);
  gint height = gimp_image_height (image_id);
  gboolean has_alpha = gimp_drawable_has_alpha (drawable_id);
  DiffusionRegion region;
  GeglBuffer *buffer;
  gint32 saved = -1;

  if (!gimp_image_scale (image_id, width * scale, height * scale))
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("GIMP could not scale the image: %s"),
                   gimp_get_pdb_error ());
      return FALSE;
    }
  if (gimp_drawable_width (drawable_id) != result->width
      || gimp_drawable_height (drawable_id) != result->height)
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("The scaled layer is %d x %d, the upscaled pixels "
                      "%d x %d."),
                   gimp_drawable_width (drawable_id),
                   gimp_drawable_height (drawable_id), result->width,
                   result->height);
      return FALSE;
    }

  memset (&region, 0, sizeof region);
  region.width = result->width;
  region.height = result->height;
  region.has_alpha = has_alpha;
  region.color = *result;
  if (has_alpha)
    {
      /* Alpha is not diffused: it stays what GIMP's own scaling made. */
      DiffusionRegion scaled;
      gboolean ok;

      buffer = gimp_drawable_get_buffer (drawable_id);
      ok = diffusion_region_read (buffer, result->channels == 1, TRUE, 0, 0,
                                  result->width, result->height, &scaled,
                                  error);
      g_object_unref (buffer);
      if (!ok)
        return FALSE;
      region.alpha = scaled.alpha;
      scaled.alpha = NULL;
      diffusion_region_free (&scaled);
    }

  if (!gimp_selection_is_empty (image_id))
    {
      saved = gimp_selection_save (image_id);
      gimp_selection_none (image_id);
    }
  buffer = gimp_drawable_get_shadow_buffer (drawable_id);
  diffusion_region_write (buffer, &region, result, 0, 0, result->width,
                          result->height);
  g_object_unref (buffer);
  gimp_drawable_merge_shadow (drawable_id, TRUE);
  gimp_drawable_update (drawable_id, 0, 0, result->width, result->height);
  if (saved != -1)
    {
      gimp_image_select_item (image_id, GIMP_CHANNEL_OP_REPLACE, saved);
      gimp_image_remove_channel (image_id, saved);
    }
  g_free (region.alpha);
  return TRUE;
}

/* The first text starts GIMP's progress, the others replace it. */
static void
diffusion_progress_text_gimp (gpointer data, const gchar *text)
{
  gboolean *started = data;

  if (*started)
    gimp_progress_set_text (text);
  else
    gimp_progress_init (text);
  *started = TRUE;
}

static void
diffusion_progress_fraction_gimp (gpointer data, gdouble fraction)
{
  (void)data;
  gimp_progress_update (fraction);
}

gboolean
diffusion_run (const DiffusionProcedure *proc, gint32 image_id,
               gint32 drawable_id, const DiffusionVals *vals, GError **error)
{
  gboolean started = FALSE;
  DiffusionProgress progress = { diffusion_progress_text_gimp,
                                 diffusion_progress_fraction_gimp, &started };
  DiffusionSource source;
  DiffusionPlan plan;
  DiffusionRegion region;
  gd_image result;
  GeglBuffer *shadow;
  gboolean ok = TRUE;

  if (!diffusion_gimp_plan (proc->tool, image_id, drawable_id, &plan, error))
    return FALSE;

  memset (&source, 0, sizeof source);
  source.buffer = gimp_drawable_get_buffer (drawable_id);
  source.gray = gimp_drawable_is_gray (drawable_id);
  source.has_alpha = gimp_drawable_has_alpha (drawable_id);
  if (plan.use_mask)
    {
      source.selection
          = gimp_drawable_get_buffer (gimp_image_get_selection (image_id));
      gimp_drawable_offsets (drawable_id, &source.offset_x, &source.offset_y);
    }
  ok = diffusion_work (proc, vals, &plan, &source, &progress, &region, &result,
                       error);
  g_object_unref (source.buffer);
  if (source.selection != NULL)
    g_object_unref (source.selection);
  if (!ok)
    return FALSE;

  /* The image changes only here, after all the work: a run cancelled
   * before this point (GIMP ends the process) leaves it as it was. */
  gimp_image_undo_group_start (image_id);
  if (proc->tool == DIFFUSION_UPSCALE)
    ok = diffusion_upscale_write (image_id, drawable_id, &result, vals->scale,
                                  error);
  else
    {
      shadow = gimp_drawable_get_shadow_buffer (drawable_id);
      diffusion_region_write (shadow, &region, &result, plan.x, plan.y,
                              plan.width, plan.height);
      g_object_unref (shadow);
      /* Merging applies the selection as a mask: a feathered edge blends
       * and pixels outside the selection stay as they are. */
      gimp_drawable_merge_shadow (drawable_id, TRUE);
      gimp_drawable_update (drawable_id, plan.x, plan.y, plan.width,
                            plan.height);
    }
  gimp_image_undo_group_end (image_id);
  gimp_progress_update (1.0);

  gd_image_free (&result);
  diffusion_region_free (&region);
  return ok;
}
