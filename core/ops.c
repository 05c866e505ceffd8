/* ops.c: tensor kernels: conv via im2col + sgemm, norm, activations. */
#include "ops.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gd_ops_assert_fail (const char *cond, const char *file, int line)
{
  fprintf (stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
  abort ();
}

int
gd_conv2d_out_size (int in_size, int ksize, int stride)
{
  int pad = ksize / 2;

  return (in_size + 2 * pad - ksize) / stride + 1;
}

size_t
gd_conv2d_col_floats (int cin, int ksize, int stride, int hout, int wout,
                      size_t budget)
{
  size_t row, all;

  if (ksize == 1 && stride == 1)
    return 0;
  row = (size_t)cin * (size_t)(ksize * ksize) * (size_t)wout;
  all = row * (size_t)hout;
  if (budget < row)
    budget = row;
  return budget < all ? budget : all;
}

/* im2col for output rows [oy0, oy1): col is (cin k k) x ((oy1-oy0) wout),
 * row (c k + ky) k + kx, matching the flattened PyTorch weight.  With
 * `upsample`, x (h x w) is read as its nearest-x2 enlargement. */
static void
conv_im2col (const float *x, int cin, int h, int w, int upsample, int ksize,
             int stride, int wout, int oy0, int oy1, float *col)
{
  const int pad = ksize / 2;
  const int eff_h = upsample ? 2 * h : h;
  const int eff_w = upsample ? 2 * w : w;
  const size_t n = (size_t)(oy1 - oy0) * (size_t)wout;
  int c, ky, kx, oy, ox;

  for (c = 0; c < cin; c++)
    {
      const float *xc = x + (size_t)c * h * w;
      for (ky = 0; ky < ksize; ky++)
        for (kx = 0; kx < ksize; kx++)
          {
            float *row = col + ((size_t)(c * ksize + ky) * ksize + kx) * n;
            /* Output columns whose input column lies inside the image. */
            int lo_num = pad - kx, hi_num = eff_w - 1 - kx + pad;
            int ox_lo = lo_num > 0 ? (lo_num + stride - 1) / stride : 0;
            int ox_hi = hi_num < 0 ? 0 : hi_num / stride + 1;

            if (ox_hi > wout)
              ox_hi = wout;
            if (ox_lo > ox_hi)
              ox_lo = ox_hi;
            for (oy = oy0; oy < oy1; oy++)
              {
                float *dst = row + (size_t)(oy - oy0) * wout;
                int iy = oy * stride + ky - pad;
                const float *src;

                if (iy < 0 || iy >= eff_h)
                  {
                    memset (dst, 0, (size_t)wout * sizeof *dst);
                    continue;
                  }
                src = xc + (size_t)(upsample ? iy >> 1 : iy) * w;
                for (ox = 0; ox < ox_lo; ox++)
                  dst[ox] = 0.0f;
                if (stride == 1 && !upsample)
                  memcpy (dst + ox_lo, src + ox_lo + kx - pad,
                          (size_t)(ox_hi - ox_lo) * sizeof *dst);
                else if (upsample)
                  for (ox = ox_lo; ox < ox_hi; ox++)
                    dst[ox] = src[(ox * stride + kx - pad) >> 1];
                else
                  for (ox = ox_lo; ox < ox_hi; ox++)
                    dst[ox] = src[ox * stride + kx - pad];
                for (ox = ox_hi; ox < wout; ox++)
                  dst[ox] = 0.0f;
              }
          }
    }
}

void
gd_conv2d (const float *x, int cin, int h, int w, int upsample,
           const float *weight, const float *bias, int cout, int ksize,
           int stride, float *y, int accumulate, float *col, size_t col_floats)
{
  const int eff_h = upsample ? 2 * h : h, eff_w = upsample ? 2 * w : w;
  const int hout = gd_conv2d_out_size (eff_h, ksize, stride);
  const int wout = gd_conv2d_out_size (eff_w, ksize, stride);
  const size_t plane = (size_t)hout * (size_t)wout;
  const size_t k = (size_t)cin * (size_t)(ksize * ksize);
  int c;

  GD_ASSERT (ksize == 1 || ksize == 3);
  GD_ASSERT (stride == 1 || stride == 2);
  GD_ASSERT (cin > 0 && cout > 0 && h > 0 && w > 0);
  GD_ASSERT (plane <= INT_MAX && k <= INT_MAX);

  /* Start from the bias (or keep the accumulator), then y += W col. */
  for (c = 0; c < cout; c++)
    {
      float *yc = y + (size_t)c * plane;
      size_t i;
      if (!accumulate)
        {
          float b = bias != NULL ? bias[c] : 0.0f;
          for (i = 0; i < plane; i++)
            yc[i] = b;
        }
      else if (bias != NULL)
        for (i = 0; i < plane; i++)
          yc[i] += bias[c];
    }

  if (ksize == 1 && stride == 1 && !upsample)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, (int)plane,
                   cin, 1.0f, weight, cin, x, (int)plane, 1.0f, y, (int)plane);
      return;
    }

  {
    const size_t row_floats = k * (size_t)wout;
    int rows, n_chunks, oy0;

    GD_ASSERT (col != NULL && col_floats >= row_floats);
    rows = col_floats / row_floats < (size_t)hout
               ? (int)(col_floats / row_floats)
               : hout;
    /* Even chunks, so that the last sgemm is not a sliver. */
    n_chunks = (hout + rows - 1) / rows;
    rows = (hout + n_chunks - 1) / n_chunks;
    for (oy0 = 0; oy0 < hout; oy0 += rows)
      {
        int oy1 = oy0 + rows < hout ? oy0 + rows : hout;
        int n = (oy1 - oy0) * wout;
        conv_im2col (x, cin, h, w, upsample, ksize, stride, wout, oy0, oy1,
                     col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, n, (int)k,
                     1.0f, weight, (int)k, col, n, 1.0f, y + (size_t)oy0 * wout,
                     (int)plane);
      }
  }
}

#define NORM_BLOCK 256

/* mean and 1/sqrt(var + eps) of nb pixels over c channels (as model.py:
   two passes, float32). */
static void
norm_stats (const float *x, int c, size_t n_pixels, size_t nb, float *mean,
            float *rstd)
{
  size_t i;
  int ch;

  for (i = 0; i < nb; i++)
    mean[i] = 0.0f;
  for (ch = 0; ch < c; ch++)
    {
      const float *xc = x + (size_t)ch * n_pixels;
      for (i = 0; i < nb; i++)
        mean[i] += xc[i];
    }
  for (i = 0; i < nb; i++)
    {
      mean[i] /= (float)c;
      rstd[i] = 0.0f;
    }
  for (ch = 0; ch < c; ch++)
    {
      const float *xc = x + (size_t)ch * n_pixels;
      for (i = 0; i < nb; i++)
        {
          float d = xc[i] - mean[i];
          rstd[i] += d * d;
        }
    }
  for (i = 0; i < nb; i++)
    rstd[i] = 1.0f / sqrtf (rstd[i] / (float)c + GD_NORM_EPS);
}

static inline float
silu1 (float v)
{
  return v / (1.0f + expf (-v));
}

static void
channel_norm_impl (const float *x, int c, size_t n_pixels, const float *weight,
                   const float *bias, float *y, int with_silu)
{
  float mean[NORM_BLOCK], rstd[NORM_BLOCK];
  size_t p0, i;
  int ch;

  for (p0 = 0; p0 < n_pixels; p0 += NORM_BLOCK)
    {
      size_t nb = n_pixels - p0 < NORM_BLOCK ? n_pixels - p0 : NORM_BLOCK;
      norm_stats (x + p0, c, n_pixels, nb, mean, rstd);
      for (ch = 0; ch < c; ch++)
        {
          const float *xc = x + (size_t)ch * n_pixels + p0;
          float *yc = y + (size_t)ch * n_pixels + p0;
          const float wc = weight[ch], bc = bias[ch];
          for (i = 0; i < nb; i++)
            yc[i] = (xc[i] - mean[i]) * rstd[i] * wc + bc;
          if (with_silu)
            for (i = 0; i < nb; i++)
              yc[i] = silu1 (yc[i]);
        }
    }
}

void
gd_channel_norm (const float *x, int c, size_t n_pixels, const float *weight,
                 const float *bias, float *y)
{
  channel_norm_impl (x, c, n_pixels, weight, bias, y, 0);
}

void
gd_channel_norm_silu (const float *x, int c, size_t n_pixels,
                      const float *weight, const float *bias, float *y)
{
  channel_norm_impl (x, c, n_pixels, weight, bias, y, 1);
}

void
gd_silu (const float *x, size_t n, float *y)
{
  size_t i;

  for (i = 0; i < n; i++)
    y[i] = silu1 (x[i]);
}

void
gd_linear (const float *x, int n_in, const float *weight, const float *bias,
           int n_out, float *y)
{
  int i;

  for (i = 0; i < n_out; i++)
    y[i] = bias != NULL ? bias[i] : 0.0f;
  cblas_sgemv (CblasRowMajor, CblasNoTrans, n_out, n_in, 1.0f, weight, n_in, x,
               1, 1.0f, y, 1);
}

void
gd_upsample_nearest2 (const float *x, int c, int h, int w, float *y)
{
  int ch, iy, ix;

  for (ch = 0; ch < c; ch++)
    for (iy = 0; iy < h; iy++)
      {
        const float *src = x + ((size_t)ch * h + iy) * w;
        float *dst = y + ((size_t)ch * 2 * h + 2 * iy) * 2 * w;
        for (ix = 0; ix < w; ix++)
          dst[2 * ix] = dst[2 * ix + 1] = src[ix];
        memcpy (dst + 2 * w, dst, (size_t)2 * w * sizeof *dst);
      }
}

void
gd_concat (const float *a, int ca, const float *b, int cb, size_t n_pixels,
           float *y)
{
  if (y != a)
    memmove (y, a, (size_t)ca * n_pixels * sizeof *y);
  memmove (y + (size_t)ca * n_pixels, b, (size_t)cb * n_pixels * sizeof *y);
}

void
gd_add_inplace (float *y, const float *x, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    y[i] += x[i];
}

void
gd_timestep_embedding (double t, int dim, float *out)
{
  const int half = dim / 2;
  /* Every step rounded to float32 as torch does (model.py TimeEmbed). */
  const float neg_log = (float)-log (10000.0);
  const float tf = (float)t;
  int i;

  GD_ASSERT (dim > 0 && dim % 2 == 0);
  for (i = 0; i < half; i++)
    {
      float e = neg_log * (float)i;
      float freq = expf (e / (float)half);
      float arg = tf * freq;
      out[i] = (float)cos ((double)arg);
      out[half + i] = (float)sin ((double)arg);
    }
}

void
gd_pad_replicate (const float *x, int c, int h, int w, int ph, int pw, float *y)
{
  int ch, iy, ix;

  GD_ASSERT (ph >= h && pw >= w && h > 0 && w > 0);
  for (ch = 0; ch < c; ch++)
    for (iy = 0; iy < ph; iy++)
      {
        const float *src = x + ((size_t)ch * h + (iy < h ? iy : h - 1)) * w;
        float *dst = y + ((size_t)ch * ph + iy) * pw;
        memcpy (dst, src, (size_t)w * sizeof *dst);
        for (ix = w; ix < pw; ix++)
          dst[ix] = src[w - 1];
      }
}

void
gd_crop (const float *x, int c, int ph, int pw, int h, int w, float *y)
{
  int ch, iy;

  GD_ASSERT (ph >= h && pw >= w);
  for (ch = 0; ch < c; ch++)
    for (iy = 0; iy < h; iy++)
      memcpy (y + ((size_t)ch * h + iy) * w, x + ((size_t)ch * ph + iy) * pw,
              (size_t)w * sizeof *y);
}
