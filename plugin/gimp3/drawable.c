/* drawable.c: the GIMP 3 glue of a run: what each drawable is, its
 * buffers, and the results written back as one undo step. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "gimp3.h"

void
diffusion_target_get (GimpImage *image, GimpDrawable *drawable,
                      DiffusionTarget *target)
{
  memset (target, 0, sizeof *target);
  target->valid = drawable != NULL && gimp_item_is_valid (GIMP_ITEM (drawable))
                  && gimp_item_is_drawable (GIMP_ITEM (drawable))
                  && gimp_item_get_image (GIMP_ITEM (drawable)) == image;
  if (!target->valid)
    return;
  target->is_group = gimp_item_is_group (GIMP_ITEM (drawable));
  target->is_indexed = gimp_drawable_is_indexed (drawable);
  target->is_layer = gimp_item_is_layer (GIMP_ITEM (drawable));
  target->floating = gimp_image_get_floating_sel (image) != NULL;
  target->has_selection = !gimp_selection_is_empty (image);
  target->width = gimp_drawable_get_width (drawable);
  target->height = gimp_drawable_get_height (drawable);
  if (!target->is_group && !target->is_indexed)
    target->intersects = gimp_drawable_mask_intersect (
        drawable, &target->x, &target->y, &target->mask_width,
        &target->mask_height);
}

gboolean
diffusion_gimp_plan (DiffusionTool tool, GimpImage *image,
                     GimpDrawable *drawable, DiffusionPlan *plan,
                     GError **error)
{
  DiffusionTarget target;

  diffusion_target_get (image, drawable, &target);
  return diffusion_plan_make (tool, &target, plan, error);
}

/* Scales the image by `scale` and puts `result` (the layer's colour, scale
 * times larger) into the layer, its alpha as GIMP scaled it; the caller
 * holds the undo group.  The selection is set aside while the shadow is
 * merged, so that the whole layer is replaced, then restored. */
static gboolean
diffusion_upscale_write (GimpImage *image, GimpDrawable *drawable,
                         const gd_image *result, gint scale, GError **error)
{
  gint width = gimp_image_get_width (image);
  gint height = gimp_image_get_height (image);
  gboolean has_alpha = gimp_drawable_has_alpha (drawable);
  DiffusionRegion region;
  GeglBuffer *buffer;
  GimpChannel *saved = NULL;

  if (!gimp_image_scale (image, width * scale, height * scale))
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("GIMP could not scale the image: %s"),
                   gimp_pdb_get_last_error (gimp_get_pdb ()));
      return FALSE;
    }
  if (gimp_drawable_get_width (drawable) != result->width
      || gimp_drawable_get_height (drawable) != result->height)
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("The scaled layer is %d x %d, the upscaled pixels "
                      "%d x %d."),
                   gimp_drawable_get_width (drawable),
                   gimp_drawable_get_height (drawable), result->width,
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

      buffer = gimp_drawable_get_buffer (drawable);
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

  if (!gimp_selection_is_empty (image))
    {
      saved = gimp_selection_save (image);
      gimp_selection_none (image);
    }
  buffer = gimp_drawable_get_shadow_buffer (drawable);
  diffusion_region_write (buffer, &region, result, 0, 0, result->width,
                          result->height);
  g_object_unref (buffer);
  gimp_drawable_merge_shadow (drawable, TRUE);
  gimp_drawable_update (drawable, 0, 0, result->width, result->height);
  if (saved != NULL)
    {
      gimp_image_select_item (image, GIMP_CHANNEL_OP_REPLACE,
                              GIMP_ITEM (saved));
      gimp_image_remove_channel (image, saved);
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

typedef struct
{
  GimpDrawable *drawable;
  DiffusionPlan plan;
  DiffusionRegion region;
  gd_image result;
} DiffusionDone;

gboolean
diffusion_run (const DiffusionProcedure *proc, GimpImage *image,
               GimpDrawable **drawables, const DiffusionVals *vals,
               GError **error)
{
  gboolean started = FALSE;
  DiffusionProgress progress = { diffusion_progress_text_gimp,
                                 diffusion_progress_fraction_gimp, &started };
  DiffusionDone *done;
  gint n = 0, i;
  gboolean ok = TRUE;

  while (drawables != NULL && drawables[n] != NULL)
    n++;
  if (n == 0)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("No drawable to work on."));
      return FALSE;
    }
  /* Upscaling scales the image: once, for one layer. */
  if (n > 1 && proc->tool == DIFFUSION_UPSCALE)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Upscaling works on one layer: select only "
                              "the layer to upscale."));
      return FALSE;
    }
  done = g_new0 (DiffusionDone, n);
  /* Every drawable is checked before any work. */
  for (i = 0; i < n && ok; i++)
    {
      done[i].drawable = drawables[i];
      ok = diffusion_gimp_plan (proc->tool, image, drawables[i], &done[i].plan,
                                error);
    }
  for (i = 0; i < n && ok; i++)
    {
      DiffusionSource source;

      memset (&source, 0, sizeof source);
      source.buffer = gimp_drawable_get_buffer (drawables[i]);
      source.gray = gimp_drawable_is_gray (drawables[i]);
      source.has_alpha = gimp_drawable_has_alpha (drawables[i]);
      if (done[i].plan.use_mask)
        {
          source.selection = gimp_drawable_get_buffer (
              GIMP_DRAWABLE (gimp_image_get_selection (image)));
          gimp_drawable_get_offsets (drawables[i], &source.offset_x,
                                     &source.offset_y);
        }
      ok = diffusion_work (proc, vals, &done[i].plan, &source, &progress,
                           &done[i].region, &done[i].result, error);
      g_object_unref (source.buffer);
      if (source.selection != NULL)
        g_object_unref (source.selection);
    }

  /* The image changes only here, after all the work: a run cancelled
   * before this point (GIMP ends the process) leaves it as it was. */
  if (ok)
    {
      gimp_image_undo_group_start (image);
      for (i = 0; i < n && ok; i++)
        {
          const DiffusionPlan *plan = &done[i].plan;

          if (proc->tool == DIFFUSION_UPSCALE)
            ok = diffusion_upscale_write (image, drawables[i], &done[i].result,
                                          vals->scale, error);
          else
            {
              GeglBuffer *shadow
                  = gimp_drawable_get_shadow_buffer (drawables[i]);

              diffusion_region_write (shadow, &done[i].region, &done[i].result,
                                      plan->x, plan->y, plan->width,
                                      plan->height);
              g_object_unref (shadow);
              /* Merging applies the selection as a mask: a feathered edge
               * blends and pixels outside the selection stay as they
               * are. */
              gimp_drawable_merge_shadow (drawables[i], TRUE);
              gimp_drawable_update (drawables[i], plan->x, plan->y, plan->width,
                                    plan->height);
            }
        }
      gimp_image_undo_group_end (image);
      gimp_progress_update (1.0);
    }
  for (i = 0; i < n; i++)
    {
      gd_image_free (&done[i].result);
      diffusion_region_free (&done[i].region);
    }
  g_free (done);
  return ok;
}
