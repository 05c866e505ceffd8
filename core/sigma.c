/* sigma.c: the noise level of an image.  Per scale (the image, and its
 * 2 x 2 means), the median absolute deviation (Donoho and Johnstone 1994)
 * of Immerkaer's 1996 Laplacian residual (blind to linear ramps) over the
 * image's weakest-textured blocks (the idea of Liu, Tanaka and Okutomi
 * 2013, with a smoothed gradient for the texture); the two together
 * tell white noise from the correlated noise of camera photos
 * (demosaicking, JPEG), and give the sigma that the denoiser works best
 * with (docs/tools.md, "The noise level"). */
#include "gimp-diffusion.h"

#include <math.h>
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

/* Blocks of BLOCK x BLOCK pixels of a scale are ranked by texture; the
 * weakest fraction of them (at least WEAK_MIN) give the estimate: a
 * quarter at the fine scale, a twentieth at the coarse one, where texture
 * weighs more against the noise. */
#define BLOCK 8
#define WEAK_FINE 0.25
#define WEAK_COARSE 0.05
#define WEAK_MIN 16
/* The 2 x 2 means of white noise of sigma have sigma / 2: the coarse
 * estimate is twice theirs.  Its ratio to the fine one is about 1 for
 * white noise (a little above on texture) and 2 to 6 for camera noise,
 * whose fine scale demosaicking and JPEG have smoothed: below
 * WHITE_RATIO the fine estimate is the answer, above CORRELATED_RATIO
 * CORRELATED_GAIN times the coarse one plus CORRELATED_OFFSET (on 0..255:
 * the sigma that gives about the best one-step PSNR on the camera-like
 * set, tests/bench/camera_noise.py; docs/tools.md), linearly between. */
#define WHITE_RATIO 1.3
#define CORRELATED_RATIO 2.3
#define CORRELATED_GAIN 1.3
#define CORRELATED_OFFSET (2.0 / 255.0)
/* Noise that JPEG and demosaicking have smoothed has a weak fine scale
 * (at most 7 levels on the camera-like set, up to 14 levels RMS); a fine
 * estimate above FINE_WHITE_FROM is noise the fine scale holds whole, and
 * the coarse scale's excess is texture (photos covered in fine texture
 * read 1.5 to 5 times more at the coarse scale): the correlated reading
 * fades out between FINE_WHITE_FROM and FINE_WHITE_ABOVE. */
#define FINE_WHITE_FROM (9.0 / 255.0)
#define FINE_WHITE_ABOVE (13.0 / 255.0)

/* One scale of the image: interleaved values and, per pixel, whether any
 * value behind it was clipped. */
typedef struct
{
  int w, h, chans;
  float *v;
  unsigned char *clipped;
} scale_image;

static void
scale_free (scale_image *s)
{
  free (s->v);
  free (s->clipped);
}

/* The k x k means of `in` (k = 1: a copy). */
static int
scale_make (const gd_image *in, int k, scale_image *s)
{
  const int chans = in->channels;

  s->w = in->width / k;
  s->h = in->height / k;
  s->chans = chans;
  s->v = malloc ((size_t)s->w * s->h * chans * sizeof *s->v);
  s->clipped = malloc ((size_t)s->w * s->h);
  if (s->v == NULL || s->clipped == NULL)
    {
      scale_free (s);
      return -1;
    }
  for (int y = 0; y < s->h; y++)
    for (int x = 0; x < s->w; x++)
      {
        size_t o = (size_t)y * s->w + x;
        int clipped = 0;

        for (int c = 0; c < chans; c++)
          {
            double sum = 0.0;

            for (int j = 0; j < k; j++)
              for (int i = 0; i < k; i++)
                {
                  float v
                      = in->data[((size_t)(y * k + j) * in->width + x * k + i)
                                     * chans
                                 + c];

                  clipped |= !(v > SATURATED && v < 1.0 - SATURATED);
                  sum += v;
                }
            s->v[o * chans + c] = (float)(sum / (k * k));
          }
        s->clipped[o] = (unsigned char)clipped;
      }
  return 0;
}

/* |residual| of channel c at (x, y) (1 <= x < w - 1, 1 <= y < h - 1), or
 * -1 when its 3 x 3 neighbourhood holds a clipped value. */
static double
residual_at (const scale_image *s, int c, int x, int y)
{
  static const int k[3][3] = { { 1, -2, 1 }, { -2, 4, -2 }, { 1, -2, 1 } };
  double sum = 0.0;

  for (int j = -1; j <= 1; j++)
    for (int i = -1; i <= 1; i++)
      {
        size_t o = (size_t)(y + j) * s->w + x + i;

        if (s->clipped[o])
          return -1.0;
        sum += k[j + 1][i + 1] * (double)s->v[o * s->chans + c];
      }
  return fabs (sum);
}

typedef struct
{
  double texture;
  int x0, y0;
} block_rank;

static int
by_texture (const void *a, const void *b)
{
  double ta = ((const block_rank *)a)->texture;
  double tb = ((const block_rank *)b)->texture;

  return (ta > tb) - (ta < tb);
}

/* The blocks of BLOCK x BLOCK pixels lying 2 or more from the border,
 * with no clipped value in or next to them, weakest texture first: the
 * mean squared central gradient of the 3 x 3 means of the channels' mean
 * (the smoothing keeps the noise's share small).  Returns how many, or -1
 * when out of memory. */
static int
rank_blocks (const scale_image *s, block_rank **out)
{
  const int w = s->w, h = s->h, chans = s->chans;
  const int nbx = (w - 4) / BLOCK, nby = (h - 4) / BLOCK;
  float *luma, *smooth;
  block_rank *rank;
  int kept = 0;

  *out = NULL;
  if (nbx <= 0 || nby <= 0)
    return 0;
  luma = malloc ((size_t)w * h * sizeof *luma);
  smooth = calloc ((size_t)w * h, sizeof *smooth);
  rank = malloc ((size_t)nbx * nby * sizeof *rank);
  if (luma == NULL || smooth == NULL || rank == NULL)
    {
      free (luma);
      free (smooth);
      free (rank);
      return -1;
    }
  for (size_t o = 0; o < (size_t)w * h; o++)
    {
      double sum = 0.0;

      for (int c = 0; c < chans; c++)
        sum += s->v[o * chans + c];
      luma[o] = (float)(sum / chans);
    }
  for (int y = 1; y + 1 < h; y++)
    for (int x = 1; x + 1 < w; x++)
      {
        double sum = 0.0;

        for (int j = -1; j <= 1; j++)
          for (int i = -1; i <= 1; i++)
            sum += luma[(size_t)(y + j) * w + x + i];
        smooth[(size_t)y * w + x] = (float)(sum / 9.0);
      }
  for (int by = 0; by < nby; by++)
    for (int bx = 0; bx < nbx; bx++)
      {
        block_rank *r = &rank[kept];
        double sum = 0.0;

        int clipped = 0;

        r->x0 = 2 + bx * BLOCK;
        r->y0 = 2 + by * BLOCK;
        for (int y = r->y0 - 1; y < r->y0 + BLOCK + 1; y++)
          for (int x = r->x0 - 1; x < r->x0 + BLOCK + 1; x++)
            clipped += s->clipped[(size_t)y * w + x];
        if (clipped)
          continue; /* flat where clipped: it would rank first */
        for (int y = r->y0; y < r->y0 + BLOCK; y++)
          for (int x = r->x0; x < r->x0 + BLOCK; x++)
            {
              const float *m = &smooth[(size_t)y * w + x];
              double gx = m[1] - m[-1], gy = m[w] - m[-w];

              sum += gx * gx + gy * gy;
            }
        r->texture = sum / (BLOCK * BLOCK);
        kept++;
      }
  free (luma);
  free (smooth);
  qsort (rank, (size_t)kept, sizeof *rank, by_texture);
  *out = rank;
  return kept;
}

/* The median |residual| over the pixels of blocks[0..n-1] (each side_x x
 * side_y), channel by channel, averaged (0..1 scale); -1 when none is
 * unclipped.  r holds n side_x side_y values. */
static double
blocks_sigma (const scale_image *s, const block_rank *blocks, int n, int side_x,
              int side_y, float *r)
{
  double total = 0.0;
  int used = 0;

  for (int c = 0; c < s->chans; c++)
    {
      size_t count = 0;

      for (int b = 0; b < n; b++)
        for (int y = blocks[b].y0; y < blocks[b].y0 + side_y; y++)
          for (int x = blocks[b].x0; x < blocks[b].x0 + side_x; x++)
            {
              double v = residual_at (s, c, x, y);

              if (v >= 0.0)
                r[count++] = (float)v;
            }
      if (count == 0)
        continue;
      total += median (r, count) * MAD_TO_SIGMA / RESIDUAL_GAIN;
      used++;
    }
  return used ? total / used : -1.0;
}

/* The noise level of one scale (0..1 scale), or -1 when no residual is
 * unclipped (or no memory): over the pixels of the weakest `fraction` of
 * the blocks, or on an
 * image too small for blocks, over every interior pixel. */
static double
scale_sigma (const scale_image *s, double fraction)
{
  const int w = s->w, h = s->h;
  block_rank whole = { 0.0, 1, 1 };
  block_rank *rank = NULL;
  int blocks, side_x = BLOCK, side_y = BLOCK;
  float *r;
  double sigma;

  if (w < 3 || h < 3)
    return -1.0;
  blocks = rank_blocks (s, &rank);
  if (blocks < 0)
    return -1.0;
  if (blocks < WEAK_MIN)
    {
      /* Too small to rank: every interior pixel, as one block. */
      free (rank);
      rank = &whole;
      blocks = 1;
      side_x = w - 2;
      side_y = h - 2;
    }
  else
    {
      int weak = (int)ceil (fraction * blocks);

      blocks = weak < WEAK_MIN ? WEAK_MIN : weak;
    }
  r = malloc ((size_t)blocks * side_x * side_y * sizeof *r);
  sigma = r ? blocks_sigma (s, rank, blocks, side_x, side_y, r) : -1.0;
  free (r);
  if (rank != &whole)
    free (rank);
  return sigma;
}

/* The noise level of `in` at scale k (white-noise equivalent: k times
 * that of its k x k means), or -1. */
static double
sigma_at_scale (const gd_image *in, int k)
{
  scale_image s;
  double sigma;

  if (scale_make (in, k, &s) != 0)
    return -1.0;
  sigma = scale_sigma (&s, k > 1 ? WEAK_COARSE : WEAK_FINE);
  scale_free (&s);
  return sigma < 0.0 ? -1.0 : k * sigma;
}

double
gd_estimate_sigma (const gd_image *in)
{
  double fine, coarse, ratio, wt;

  if (in == NULL || in->data == NULL || in->width < 3 || in->height < 3
      || (in->channels != 1 && in->channels != 3))
    return -1.0;
  fine = sigma_at_scale (in, 1);
  if (fine < 0.0)
    return -1.0;
  coarse = in->width >= 6 && in->height >= 6 ? sigma_at_scale (in, 2) : -1.0;
  if (coarse < 0.0 || coarse <= WHITE_RATIO * fine)
    return 255.0 * fine;
  /* Correlated noise (or a clean image's texture at the coarse scale). */
  ratio = fine > 0.0 ? coarse / fine : CORRELATED_RATIO;
  wt = (ratio - WHITE_RATIO) / (CORRELATED_RATIO - WHITE_RATIO);
  wt = wt > 1.0 ? 1.0 : wt;
  if (fine > FINE_WHITE_FROM)
    wt *= fine >= FINE_WHITE_ABOVE ? 0.0
                                   : (FINE_WHITE_ABOVE - fine)
                                         / (FINE_WHITE_ABOVE - FINE_WHITE_FROM);
  return 255.0
         * ((1.0 - wt) * fine
            + wt * (CORRELATED_GAIN * coarse + CORRELATED_OFFSET));
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
