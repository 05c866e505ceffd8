/* task-test.h: what the task tests share: CHECK, test images, PNG files,
 * error measures.  Header-only: each test is one executable. */
#ifndef GD_TASK_TEST_H
#define GD_TASK_TEST_H

#include "gimp-diffusion.h"
#include "png-io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

/* A smooth colour pattern in 0.05..0.95. */
static inline void
test_fill (gd_image *img)
{
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      for (int c = 0; c < img->channels; c++)
        img->data[((size_t)y * img->width + x) * img->channels + c]
            = 0.5f + 0.45f * sinf (0.3f * x + 0.7f * y + 2.0f * c);
}

static inline size_t
test_count (const gd_image *img)
{
  return (size_t)img->width * img->height * img->channels;
}

/* Mean |lap a - lap b| and mean |lap b| (the 4-neighbour Laplacian of
 * every channel) over the pixels where the mask (1 channel) is at least
 * `at`, away from the image's edge: how far a's fine detail is from b's. */
static inline void
test_laplacian_error (const gd_image *a, const gd_image *b,
                      const gd_image *mask, float at, double *err,
                      double *scale)
{
  int w = a->width, h = a->height, ch = a->channels;
  double sum = 0, ref = 0;
  size_t n = 0;

  for (int y = 1; y + 1 < h; y++)
    for (int x = 1; x + 1 < w; x++)
      if (mask->data[(size_t)y * w + x] >= at)
        for (int c = 0; c < ch; c++, n++)
          {
            size_t i = ((size_t)y * w + x) * ch + c, dx = ch,
                   dy = (size_t)w * ch;
            double la = a->data[i - dx] + a->data[i + dx] + a->data[i - dy]
                        + a->data[i + dy] - 4.0 * a->data[i];
            double lb = b->data[i - dx] + b->data[i + dx] + b->data[i - dy]
                        + b->data[i + dy] - 4.0 * b->data[i];

            sum += fabs (la - lb);
            ref += fabs (lb);
          }
  *err = n ? sum / n : 0;
  *scale = n ? ref / n : 0;
}

static inline double
test_mean_abs_diff (const gd_image *a, const gd_image *b)
{
  double sum = 0;

  for (size_t i = 0; i < test_count (a); i++)
    sum += fabs ((double)a->data[i] - b->data[i]);
  return sum / test_count (a);
}

static inline double
test_max_abs_diff (const gd_image *a, const gd_image *b)
{
  double worst = 0;

  for (size_t i = 0; i < test_count (a); i++)
    worst = fmax (worst, fabs ((double)a->data[i] - b->data[i]));
  return worst;
}

/* PSNR (dB, peak 1) of a against b over the rectangle (x, y, w, h). */
static inline double
test_psnr_rect (const gd_image *a, const gd_image *b, int x0, int y0, int w,
                int h)
{
  double sum = 0;
  size_t n = 0;

  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++)
      for (int c = 0; c < a->channels; c++)
        {
          size_t i = ((size_t)y * a->width + x) * a->channels + c;
          double d = (double)a->data[i] - b->data[i];

          sum += d * d;
          n++;
        }
  return 10.0 * log10 (1.0 / fmax (sum / n, 1e-20));
}

static inline double
test_psnr (const gd_image *a, const gd_image *b)
{
  return test_psnr_rect (a, b, 0, 0, a->width, a->height);
}

/* The w x h rectangle of src at (x, y), into dst (allocated). */
static inline void
test_crop (const gd_image *src, int x, int y, int w, int h, gd_image *dst)
{
  gd_image_alloc (dst, w, h, src->channels, NULL);
  for (int j = 0; j < h; j++)
    memcpy (dst->data + (size_t)j * w * src->channels,
            src->data + ((size_t)(y + j) * src->width + x) * src->channels,
            (size_t)w * src->channels * sizeof (float));
}

/* A photograph, cropped to w x h at its centre: the first of `eval_dir`'s
 * Kodak24 or CBSD68 images when the folder is there (not freely licensed:
 * read, never committed), else `fallback` (a CC0 photograph in docs/).
 * Returns 0, or -1 with a message. */
static inline int
test_photo (const char *eval_dir, const char *fallback, int w, int h,
            gd_image *out, const char **used)
{
  static char path[1024];
  const char *const candidates[]
      = { "Kodak24/kodim05.png", "CBSD68/101085.png" };
  gd_png png;
  gd_error err;
  struct stat st;
  const char *chosen = fallback;

  for (size_t k = 0; eval_dir != NULL && k < 2; k++)
    {
      snprintf (path, sizeof path, "%s/%s", eval_dir, candidates[k]);
      if (stat (path, &st) == 0)
        {
          chosen = path;
          break;
        }
    }
  if (gd_png_read (chosen, &png, &err) != GD_OK)
    {
      fprintf (stderr, "FAIL cannot read %s: %s\n", chosen, err.message);
      return -1;
    }
  if (png.color.width < w || png.color.height < h || png.color.channels != 3)
    {
      fprintf (stderr, "FAIL %s is smaller than %d x %d or not RGB\n", chosen,
               w, h);
      gd_png_free (&png);
      return -1;
    }
  test_crop (&png.color, (png.color.width - w) / 2, (png.color.height - h) / 2,
             w, h, out);
  gd_png_free (&png);
  *used = chosen;
  return 0;
}

static inline int
test_summary (const char *name)
{
  printf ("%s: %d failure(s)\n", name, failures);
  return failures ? 1 : 0;
}

#endif /* GD_TASK_TEST_H */
