/* image.c: interleaved 0..1 pixels in and out of the network's planar
 * [-1, 1] RGB. */
#include "image.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
gd_image_alloc (gd_image *img, int width, int height, int channels,
                gd_error *err)
{
  size_t n;

  assert (img != NULL);
  memset (img, 0, sizeof *img);
  if (width <= 0 || height <= 0)
    return gd_error_set (err, GD_ERR_INVALID,
                         "image size %d x %d: both sides must be positive",
                         width, height);
  if (channels != 1 && channels != 3)
    return gd_error_set (err, GD_ERR_INVALID,
                         "image with %d channels: only 1 (gray) or 3 (RGB) "
                         "are supported",
                         channels);
  /* Overflow-checked width * height * channels * sizeof (float). */
  n = (size_t)width;
  if (n > SIZE_MAX / (size_t)height)
    goto too_large;
  n *= (size_t)height;
  if (n > SIZE_MAX / (size_t)channels / sizeof (float))
    goto too_large;
  n *= (size_t)channels;

  img->data = malloc (n * sizeof (float));
  if (img->data == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "out of memory for a %d x %d image (%zu MiB)", width,
                         height, n * sizeof (float) >> 20);
  img->width = width;
  img->height = height;
  img->channels = channels;
  return GD_OK;

too_large:
  return gd_error_set (err, GD_ERR_NOMEM,
                       "image size %d x %d x %d overflows memory sizes", width,
                       height, channels);
}

void
gd_image_free (gd_image *img)
{
  if (img == NULL)
    return;
  free (img->data);
  memset (img, 0, sizeof *img);
}

void
gd_image_to_planar (const gd_image *img, float *planar)
{
  size_t plane = (size_t)img->width * (size_t)img->height;
  int channels = img->channels;
  size_t i;
  int c;

  assert (channels == 1 || channels == 3);
  for (i = 0; i < plane; i++)
    for (c = 0; c < 3; c++)
      {
        float v = img->data[i * channels + (channels == 1 ? 0 : c)];
        planar[c * plane + i] = 2.0f * v - 1.0f;
      }
}

static float
gd_clamp01 (float v)
{
  /* NaN maps to 0 rather than escaping into the caller's pixels. */
  if (!(v > 0.0f))
    return 0.0f;
  return v < 1.0f ? v : 1.0f;
}

void
gd_image_from_planar (const float *planar, gd_image *img)
{
  size_t plane = (size_t)img->width * (size_t)img->height;
  size_t i;
  int c;

  assert (img->channels == 1 || img->channels == 3);
  if (img->channels == 1)
    {
      for (i = 0; i < plane; i++)
        {
          float sum = planar[i] + planar[plane + i] + planar[2 * plane + i];
          img->data[i] = gd_clamp01 ((sum / 3.0f + 1.0f) * 0.5f);
        }
      return;
    }
  for (i = 0; i < plane; i++)
    for (c = 0; c < 3; c++)
      img->data[i * 3 + c] = gd_clamp01 ((planar[c * plane + i] + 1.0f) * 0.5f);
}
