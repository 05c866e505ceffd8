/* pixels.c: a drawable's working rectangle through GEGL, in and out. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "plugin.h"

static const Babl *
diffusion_region_format (gboolean gray, gboolean has_alpha)
{
  if (gray)
    return babl_format (has_alpha ? "Y'A float" : "Y' float");
  return babl_format (has_alpha ? "R'G'B'A float" : "R'G'B' float");
}

gboolean
diffusion_region_read (gint32 drawable_id, DiffusionRegion *region,
                       GError **error)
{
  GQuark domain = g_quark_from_static_string (PLUG_IN_BINARY);
  gboolean gray = gimp_drawable_is_gray (drawable_id);
  GeglBuffer *buffer;
  gd_error err;
  gfloat *pixels;
  gint colors = gray ? 1 : 3;
  gint channels;
  gsize n, i;
  gint c;

  memset (region, 0, sizeof *region);
  if (gimp_drawable_is_indexed (drawable_id))
    {
      g_set_error_literal (error, domain, 0,
                           _ ("Indexed images are not supported: convert the "
                              "image to RGB or Grayscale first "
                              "(Image > Mode)."));
      return FALSE;
    }
  if (!gimp_drawable_mask_intersect (drawable_id, &region->x, &region->y,
                                     &region->width, &region->height)
      || region->width <= 0 || region->height <= 0)
    {
      g_set_error_literal (error, domain, 0,
                           _ ("The selection does not touch the layer: "
                              "nothing to process."));
      return FALSE;
    }

  region->has_alpha = gimp_drawable_has_alpha (drawable_id);
  channels = colors + (region->has_alpha ? 1 : 0);
  if (gd_image_alloc (&region->color, region->width, region->height, colors,
                      &err)
      != GD_OK)
    {
      g_set_error (error, domain, 0, _ ("Cannot process the layer: %s"),
                   err.message);
      return FALSE;
    }
  n = (gsize)region->width * (gsize)region->height;
  pixels = g_try_new (gfloat, n * channels);
  if (region->has_alpha)
    region->alpha = g_try_new (gfloat, n);
  if (pixels == NULL || (region->has_alpha && region->alpha == NULL))
    {
      g_free (pixels);
      diffusion_region_free (region);
      g_set_error (error, domain, 0,
                   _ ("Not enough memory for a %d x %d region."), region->width,
                   region->height);
      return FALSE;
    }

  buffer = gimp_drawable_get_buffer (drawable_id);
  gegl_buffer_get (
      buffer,
      GEGL_RECTANGLE (region->x, region->y, region->width, region->height), 1.0,
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

void
diffusion_region_write (gint32 drawable_id, const DiffusionRegion *region,
                        const gd_image *result)
{
  gint colors = region->color.channels;
  gint channels = colors + (region->has_alpha ? 1 : 0);
  gsize n = (gsize)region->width * (gsize)region->height;
  GeglBuffer *shadow;
  gfloat *pixels;
  gsize i;
  gint c;

  g_return_if_fail (result->width == region->width
                    && result->height == region->height
                    && result->channels == colors);
  /* The result already exists in memory; this copy is the size of the
   * region, allocated by g_new like GIMP's own plug-ins do. */
  pixels = g_new (gfloat, n * channels);
  for (i = 0; i < n; i++)
    {
      for (c = 0; c < colors; c++)
        pixels[i * channels + c] = result->data[i * colors + c];
      if (region->has_alpha)
        pixels[i * channels + colors] = region->alpha[i];
    }

  shadow = gimp_drawable_get_shadow_buffer (drawable_id);
  gegl_buffer_set (
      shadow,
      GEGL_RECTANGLE (region->x, region->y, region->width, region->height), 0,
      diffusion_region_format (colors == 1, region->has_alpha), pixels,
      GEGL_AUTO_ROWSTRIDE);
  g_object_unref (shadow);
  g_free (pixels);

  /* Merging applies the selection as a mask: a feathered edge blends. */
  gimp_drawable_merge_shadow (drawable_id, TRUE);
  gimp_drawable_update (drawable_id, region->x, region->y, region->width,
                        region->height);
}

void
diffusion_region_free (DiffusionRegion *region)
{
  gd_image_free (&region->color);
  g_free (region->alpha);
  region->alpha = NULL;
}
