/* sigma.c: the noise level of an image, by the median absolute deviation
 * of a fine residual (Donoho and Johnstone 1994; the residual is
 * Immerkaer's 1996 Laplacian difference, blind to linear ramps). */
#include "gimp-diffusion.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* For z ~ N(0, 1), median |z| = 0.6745: sigma = MAD / 0.6745. */
#define MAD_TO_SIGMA (1.0 / 0.6744897501960817)
/* The residual r = sum of k * v over [1 -2 1; -2 4 -2; 1 -2 1] has
 * variance 36 sigma^2 for white noise. */
#define RESIDUAL_GAIN 6.0
/* Pixels this close to 0 or 1 were clipped: their noise is not whole. */
#define SATURATED (0.5 / 255.0)

/* The k-th smallest of v[0..n-1] (Hoare's selection; v is reordered). */
static float
select_kth (float *v, size_t n, size_t k)
{
  ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;

  while (lo < hi)
    {
      float pivot = v[lo + (hi - lo) / 2];
      ptrdiff_t i = lo, j = hi;

      /* Then v[lo..j] <= pivot <= v[i..hi], and v[j+1..i-1] = pivot. */
      while (i <= j)
        {
          while (v[i] < pivot)
            i++;
          while (v[j] > pivot)
            j--;
          if (i <= j)
            {
              float tmp = v[i];

              v[i++] = v[j];
              v[j--] = tmp;
            }
        }
      if (want <= j)
        hi = j;
      else if (want >= i)
        lo = i;
      else
        break;
    }
  return v[want];
}

/* The median of v[0..n-1] (reordered); n > 0. */
static double
median (float *v, size_t n)
{
  double upper = select_kth (v, n, n / 2);

  if (n % 2)
    return upper;
  /* The lower middle is the largest of the half below. */
  {
    float lower = v[0];

    for (size_t i = 1; i < n / 2; i++)
      if (v[i] > lower)
        lower = v[i];
    return 0.5 * (lower + upper);
  }
}

/* |residual| of channel c at every interior pixel whose 3 x 3
 * neighbourhood has no clipped value, into r; returns how many. */
static size_t
channel_residuals (const gd_image *in, int c, float *r)
{
  const int w = in->width, h = in->height, chans = in->channels;
  size_t count = 0;

  for (int y = 1; y + 1 < h; y++)
    for (int x = 1; x + 1 < w; x++)
      {
        static const int k[3][3]
            = { { 1, -2, 1 }, { -2, 4, -2 }, { 1, -2, 1 } };
        double sum = 0.0;
        int clipped = 0;

        for (int j = -1; j <= 1; j++)
          for (int i = -1; i <= 1; i++)
            {
              float v = in->data[((size_t)(y + j) * w + x + i) * chans + c];

              clipped |= !(v > SATURATED && v < 1.0 - SATURATED);
              sum += k[j + 1][i + 1] * (double)v;
            }
        if (!clipped)
          r[count++] = (float)(sum < 0 ? -sum : sum);
      }
  return count;
}

double
gd_estimate_sigma (const gd_image *in)
{
  size_t n;
  float *r;
  double total = 0.0;
  int used = 0;

  if (in == NULL || in->data == NULL || in->width < 3 || in->height < 3
      || (in->channels != 1 && in->channels != 3))
    return -1.0;
  n = (size_t)(in->width - 2) * (size_t)(in->height - 2);
  r = malloc (n * sizeof *r);
  if (r == NULL)
    return -1.0;
  /* Each channel on its own (noise may differ per channel), averaged. */
  for (int c = 0; c < in->channels; c++)
    {
      size_t count = channel_residuals (in, c, r);

      if (count == 0)
        continue;
      total += median (r, count) * MAD_TO_SIGMA / RESIDUAL_GAIN;
      used++;
    }
  free (r);
  return used ? 255.0 * total / used : -1.0;
}

/* The central side x side square of `in` (all of it when smaller), or
 * NULL data when no memory. */
static int
central_square (const gd_image *in, int side, gd_image *crop, gd_error *err)
{
  int width = in->width < side ? in->width : side;
  int height = in->height < side ? in->height : side;
  int x0 = (in->width - width) / 2, y0 = (in->height - height) / 2;
  int status = gd_image_alloc (crop, width, height, in->channels, err);

  if (status != GD_OK)
    return status;
  for (int row = 0; row < height; row++)
    memcpy (crop->data + (size_t)row * width * in->channels,
            in->data + ((size_t)(y0 + row) * in->width + x0) * in->channels,
            (size_t)width * in->channels * sizeof (float));
  return GD_OK;
}

double
gd_tool_estimate_sigma (const gd_image *in, gd_error *err)
{
  double sigma = -1.0;

  if (in == NULL || in->data == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "denoise: no image"), -1.0;
  if (in->width > GD_SIGMA_REGION || in->height > GD_SIGMA_REGION)
    {
      gd_image crop;

      /* A large photo: its centre, in bounded time and memory. */
      if (central_square (in, GD_SIGMA_REGION, &crop, NULL) == GD_OK)
        {
          sigma = gd_estimate_sigma (&crop);
          gd_image_free (&crop);
        }
    }
  /* The whole image when small, or when its centre cannot tell (clipped
   * everywhere, say). */
  if (sigma < 0.0)
    sigma = gd_estimate_sigma (in);
  if (sigma < 0.0)
    return gd_error_set (err, GD_ERR_INVALID,
                         "denoise: cannot estimate the noise of a %d x %d "
                         "image (too small, or every pixel clipped): give "
                         "sigma",
                         in->width, in->height),
           -1.0;
  return sigma > GD_SIGMA_FLOOR ? sigma : GD_SIGMA_FLOOR;
}
