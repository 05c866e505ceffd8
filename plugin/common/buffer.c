/* buffer.c: a rectangle of a drawable's pixels through GEGL, in and out:
 * colour for the core, alpha kept aside; the selection as the core's mask.
 * The front ends hand in the buffers (gimp_drawable_get_buffer, the
 * shadow buffer) and merge the shadow themselves. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "host.h"

GQuark
diffusion_error_quark (void)
{
  return g_quark_from_static_string ("gimp-diffusion-error-quark");
}

const Babl *
diffusion_region_format (gboolean gray, gboolean has_alpha)
{
  if (gray)
    return babl_format (has_alpha ? "Y'A float" : "Y' float");
  return babl_format (has_alpha ? "R'G'B'A float" : "R'G'B' float");
}

gboolean
diffusion_region_read (GeglBuffer *buffer, gboolean gray, gboolean has_alpha,
                       gint x, gint y, gint width, gint height,
                       DiffusionRegion *region, GError **error)
{
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
  region->has_alpha = has_alpha;
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

  gegl_buffer_get (buffer, GEGL_RECTANGLE (x, y, width, height), 1.0,
                   diffusion_region_format (gray, region->has_alpha), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);

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
diffusion_mask_read (GeglBuffer *selection, gint offset_x, gint offset_y,
                     gint x, gint y, gint width, gint height, gd_image *mask,
                     GError **error)
{
  gd_error err;
  gsize n, i;

  gd_error_clear (&err);
  if (gd_image_alloc (mask, width, height, 1, &err) != GD_OK)
    {
      g_set_error (error, diffusion_error_quark (), 0,
                   _ ("Cannot read the selection: %s"), err.message);
      return FALSE;
    }
  /* The selection is in image coordinates, the rectangle in the layer's. */
  gegl_buffer_get (selection,
                   GEGL_RECTANGLE (x + offset_x, y + offset_y, width, height),
                   1.0, babl_format ("Y float"), mask->data,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);

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
diffusion_region_write (GeglBuffer *buffer, const DiffusionRegion *region,
                        const gd_image *result, gint x, gint y, gint width,
                        gint height)
{
  gfloat *pixels;

  g_return_if_fail (result->width == region->width
                    && result->height == region->height
                    && result->channels == region->color.channels);
  g_return_if_fail (x >= region->x && y >= region->y
                    && x + width <= region->x + region->width
                    && y + height <= region->y + region->height);

  pixels = diffusion_region_pack (region, result, x, y, width, height);
  gegl_buffer_set (
      buffer, GEGL_RECTANGLE (x, y, width, height), 0,
      diffusion_region_format (result->channels == 1, region->has_alpha),
      pixels, GEGL_AUTO_ROWSTRIDE);
  g_free (pixels);
}

void
diffusion_region_free (DiffusionRegion *region)
{
  gd_image_free (&region->color);
  g_free (region->alpha);
  region->alpha = NULL;
}
