/* pixels.c: where a tool works on a drawable, and its pixels through GEGL,
 * in and out. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "plugin.h"

GQuark
diffusion_error_quark (void)
{
  return g_quark_from_static_string ("gimp-diffusion-error-quark");
}

static const Babl *
diffusion_region_format (gboolean gray, gboolean has_alpha)
{
  if (gray)
    return babl_format (has_alpha ? "Y'A float" : "Y' float");
  return babl_format (has_alpha ? "R'G'B'A float" : "R'G'B' float");
}

/* The rectangle (x, y, width, height) grown by the context margin on every
 * side and clipped to 0..limit. */
void
diffusion_plan_context (gint x, gint y, gint width, gint height,
                        gint limit_width, gint limit_height, gint *wx, gint *wy,
                        gint *ww, gint *wh)
{
  gint margin = MAX (width, height) / 2;
  gint x1, y1, x2, y2;

  margin = CLAMP (margin, DIFFUSION_CONTEXT_MIN, DIFFUSION_CONTEXT_MAX);
  x1 = MAX (x - margin, 0);
  y1 = MAX (y - margin, 0);
  x2 = MIN (x + width + margin, limit_width);
  y2 = MIN (y + height + margin, limit_height);
  *wx = x1;
  *wy = y1;
  *ww = x2 - x1;
  *wh = y2 - y1;
}

gboolean
diffusion_plan_make (DiffusionTool tool, gint32 image_id, gint32 drawable_id,
                     DiffusionPlan *plan, GError **error)
{
  gboolean has_selection, floating;
  gint width, height;

  memset (plan, 0, sizeof *plan);
  plan->tool = tool;
  plan->image_id = image_id;
  plan->drawable_id = drawable_id;

  if (!gimp_item_is_valid (drawable_id) || !gimp_item_is_drawable (drawable_id))
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("No drawable to work on."));
      return FALSE;
    }
  /* A group's pixels are the composite of its children: GIMP refuses to
   * merge a shadow into it, so the work would be lost (and upscale would
   * scale the image without upscaling anything). */
  if (gimp_item_is_group (drawable_id))
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Cannot modify the pixels of layer groups: "
                              "select a layer inside the group."));
      return FALSE;
    }
  if (gimp_drawable_is_indexed (drawable_id))
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Indexed images are not supported: convert the "
                              "image to RGB or Grayscale first "
                              "(Image > Mode)."));
      return FALSE;
    }
  width = gimp_drawable_width (drawable_id);
  height = gimp_drawable_height (drawable_id);
  has_selection = !gimp_selection_is_empty (image_id);
  /* A floating selection is worked on as GIMP's filters do, as a layer of
   * its own: only its pixels change and it stays floating.  Another
   * drawable of the image changes under it, as with GIMP's filters. */
  floating = gimp_image_get_floating_sel (image_id) != -1;

  if (tool == DIFFUSION_UPSCALE)
    {
      /* The whole layer: the image is scaled, the selection with it. */
      if (!gimp_item_is_layer (drawable_id))
        {
          g_set_error_literal (error, diffusion_error_quark (), 0,
                               _ ("Upscaling works on a layer: select a "
                                  "layer, not a channel or a mask."));
          return FALSE;
        }
      /* Scaling the image would scale a paste that is not yet in place;
       * anchoring it here would take the user's decision. */
      if (floating)
        {
          g_set_error_literal (error, diffusion_error_quark (), 0,
                               _ ("Upscaling scales the whole image: anchor "
                                  "the floating selection first (Layer > "
                                  "Anchor Layer) or make it a new layer "
                                  "(Layer > To New Layer)."));
          return FALSE;
        }
      plan->width = plan->work_width = width;
      plan->height = plan->work_height = height;
      return TRUE;
    }

  /* Pasting clears the selection; the marching ants then show the floating
   * selection's outline, which is no selection to fill. */
  if (tool == DIFFUSION_INPAINT && !has_selection && floating)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Inpainting needs a selection, and a floating "
                              "selection is not one: anchor it (Layer > "
                              "Anchor Layer) or make it a new layer (Layer > "
                              "To New Layer), then select the area to "
                              "fill."));
      return FALSE;
    }
  if (tool == DIFFUSION_INPAINT && !has_selection)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Inpainting needs a selection: select the area "
                              "to fill first."));
      return FALSE;
    }
  if (!gimp_drawable_mask_intersect (drawable_id, &plan->x, &plan->y,
                                     &plan->width, &plan->height)
      || plan->width <= 0 || plan->height <= 0)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("The selection does not touch the layer: "
                              "nothing to process."));
      return FALSE;
    }

  plan->use_mask = has_selection
                   && (tool == DIFFUSION_INPAINT || tool == DIFFUSION_IMG2IMG);
  if (has_selection)
    diffusion_plan_context (plan->x, plan->y, plan->width, plan->height, width,
                            height, &plan->work_x, &plan->work_y,
                            &plan->work_width, &plan->work_height);
  else
    {
      plan->work_x = plan->x;
      plan->work_y = plan->y;
      plan->work_width = plan->width;
      plan->work_height = plan->height;
    }
  return TRUE;
}

gboolean
diffusion_region_read (gint32 drawable_id, gint x, gint y, gint width,
                       gint height, DiffusionRegion *region, GError **error)
{
  gboolean gray = gimp_drawable_is_gray (drawable_id);
  GeglBuffer *buffer;
  gd_error err;
  gfloat *pixels;
  gint colors = gray ? 1 : 3;
  gint channels;
  gsize n, i;
  gint c;

  memset (region, 0, sizeof *region);
  region->x = x;
  region->y = y;
  region->width = width;
  region->height = height;
  region->has_alpha = gimp_drawable_has_alpha (drawable_id);
  channels = colors + (region->has_alpha ? 1 : 0);
  gd_error_clear (&err);
  if (gd_image_alloc (&region->color, width, height, colors, &err) != GD_OK)
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("Cannot process the layer: %s"), err.message);
      return FALSE;
    }
  n = (gsize)width * (gsize)height;
  pixels = g_try_new (gfloat, n * channels);
  if (region->has_alpha)
    region->alpha = g_try_new (gfloat, n);
  if (pixels == NULL || (region->has_alpha && region->alpha == NULL))
    {
      g_free (pixels);
      diffusion_region_free (region);
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("Not enough memory for a %d x %d region."), width,
                   height);
      return FALSE;
    }

  buffer = gimp_drawable_get_buffer (drawable_id);
  gegl_buffer_get (buffer, GEGL_RECTANGLE (x, y, width, height), 1.0,
                   diffusion_region_format (gray, region->has_alpha), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);

  for (i = 0; i < n; i++)
    {
      for (c = 0; c < colors; c++)
        region->color.data[i * colors + c] = pixels[i * channels + c];
      if (region->has_alpha)
        region->alpha[i] = pixels[i * channels + colors];
    }
  g_free (pixels);
  return TRUE;
}

/* The selection over a rectangle of the drawable, as the core's mask: 1
 * wherever the selection is not 0.  A feathered edge is regenerated in full
 * here and blended by GIMP when the shadow is merged (the merge applies the
 * selection); blending in the core as well would square the feather. */
gboolean
diffusion_mask_read (gint32 image_id, gint32 drawable_id, gint x, gint y,
                     gint width, gint height, gd_image *mask, GError **error)
{
  gint32 selection = gimp_image_get_selection (image_id);
  GeglBuffer *buffer;
  gd_error err;
  gint offset_x, offset_y;
  gsize n, i;

  gd_error_clear (&err);
  if (gd_image_alloc (mask, width, height, 1, &err) != GD_OK)
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("Cannot read the selection: %s"), err.message);
      return FALSE;
    }
  /* The selection is in image coordinates, the rectangle in the layer's. */
  gimp_drawable_offsets (drawable_id, &offset_x, &offset_y);
  buffer = gimp_drawable_get_buffer (selection);
  gegl_buffer_get (buffer,
                   GEGL_RECTANGLE (x + offset_x, y + offset_y, width, height),
                   1.0, babl_format ("Y float"), mask->data,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);

  n = (gsize)width * (gsize)height;
  for (i = 0; i < n; i++)
    mask->data[i] = mask->data[i] > 0.0f ? 1.0f : 0.0f;
  return TRUE;
}

/* Interleaves colour (and the kept alpha) of a sub-rectangle of `result`,
 * which covers the region's rectangle. */
static gfloat *
diffusion_region_pack (const DiffusionRegion *region, const gd_image *result,
                       gint x, gint y, gint width, gint height)
{
  gint colors = result->channels;
  gint channels = colors + (region->has_alpha ? 1 : 0);
  gfloat *pixels = g_new (gfloat, (gsize)width * height * channels);
  gint row, col, c;

  for (row = 0; row < height; row++)
    for (col = 0; col < width; col++)
      {
        gsize src = (gsize)(y - region->y + row) * region->width
                    + (gsize)(x - region->x + col);
        gsize dst = (gsize)row * width + col;

        for (c = 0; c < colors; c++)
          pixels[dst * channels + c] = result->data[src * colors + c];
        if (region->has_alpha)
          pixels[dst * channels + colors] = region->alpha[src];
      }
  return pixels;
}

void
diffusion_region_write (gint32 drawable_id, const DiffusionRegion *region,
                        const gd_image *result, gint x, gint y, gint width,
                        gint height)
{
  GeglBuffer *shadow;
  gfloat *pixels;

  g_return_if_fail (result->width == region->width
                    && result->height == region->height
                    && result->channels == region->color.channels);
  g_return_if_fail (x >= region->x && y >= region->y
                    && x + width <= region->x + region->width
                    && y + height <= region->y + region->height);

  pixels = diffusion_region_pack (region, result, x, y, width, height);
  shadow = gimp_drawable_get_shadow_buffer (drawable_id);
  gegl_buffer_set (
      shadow, GEGL_RECTANGLE (x, y, width, height), 0,
      diffusion_region_format (result->channels == 1, region->has_alpha),
      pixels, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (shadow);
  g_free (pixels);

  /* Merging applies the selection as a mask: a feathered edge blends and
   * pixels outside the selection stay as they are. */
  gimp_drawable_merge_shadow (drawable_id, TRUE);
  gimp_drawable_update (drawable_id, x, y, width, height);
}

/* Scales the image by `scale` and puts `result` (the layer's colour, scale
 * times larger) into the layer, its alpha as GIMP scaled it; the caller
 * holds the undo group.  The selection is set aside while the shadow is
 * merged, so that the whole layer is replaced, then restored. */
gboolean
diffusion_upscale_write (gint32 image_id, gint32 drawable_id,
                         const gd_image *result, gint scale, GError **error)
{
  gint width = gimp_image_width (image_id);
  gint height = gimp_image_height (image_id);
  gboolean has_alpha = gimp_drawable_has_alpha (drawable_id);
  DiffusionRegion region;
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

      if (!diffusion_region_read (drawable_id, 0, 0, result->width,
                                  result->height, &scaled, error))
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
  diffusion_region_write (drawable_id, &region, result, 0, 0, result->width,
                          result->height);
  if (saved != -1)
    {
      gimp_image_select_item (image_id, GIMP_CHANNEL_OP_REPLACE, saved);
      gimp_image_remove_channel (image_id, saved);
    }
  g_free (region.alpha);
  return TRUE;
}

void
diffusion_region_free (DiffusionRegion *region)
{
  gd_image_free (&region->color);
  g_free (region->alpha);
  region->alpha = NULL;
}
