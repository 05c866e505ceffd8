/* ops.c: tensor kernels: conv via im2col + sgemm, norm, activations. */
#include "ops.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
gd_ops_assert_fail (const char *cond, const char *file, int line)
{
  fprintf (stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
  abort ();
}

/* ---------------------------------------------------------------- threads */

static int ops_threads; /* 0: not set yet, use the online cores */

void
gd_threads_set (int n)
{
  if (n <= 0)
    {
      long cores = sysconf (_SC_NPROCESSORS_ONLN);
      n = cores > 0 ? (int)cores : 1;
    }
  ops_threads = n < GD_MAX_THREADS ? n : GD_MAX_THREADS;
}

int
gd_threads (void)
{
  if (ops_threads == 0)
    gd_threads_set (0);
  return ops_threads;
}

typedef struct
{
  gd_task_fn fn;
  void *ctx;
  int index;
  int count;
} ops_task;

static void *
ops_task_main (void *arg)
{
  ops_task *task = arg;

  task->fn (task->ctx, task->index, task->count);
  return NULL;
}

void
gd_parallel_run (gd_task_fn fn, void *ctx, int count)
{
  pthread_t ids[GD_MAX_THREADS];
  ops_task tasks[GD_MAX_THREADS];
  int started[GD_MAX_THREADS];
  int i;

  GD_ASSERT (count >= 1 && count <= GD_MAX_THREADS);
  for (i = 1; i < count; i++)
    {
      tasks[i].fn = fn;
      tasks[i].ctx = ctx;
      tasks[i].index = i;
      tasks[i].count = count;
      started[i]
          = pthread_create (&ids[i], NULL, ops_task_main, &tasks[i]) == 0;
    }
  fn (ctx, 0, count);
  for (i = 1; i < count; i++)
    if (started[i])
      pthread_join (ids[i], NULL);
    else
      fn (ctx, i, count); /* no thread to spare: do its share here */
}

/* Splits [0, n) into `count` near-equal parts; part `index` is [*lo, *hi). */
static void
ops_split (size_t n, int index, int count, size_t *lo, size_t *hi)
{
  *lo = n * (size_t)index / (size_t)count;
  *hi = n * (size_t)(index + 1) / (size_t)count;
}

/* How many threads a job of `work` units deserves (small jobs run alone). */
static int
ops_threads_for (size_t work, size_t min_per_thread)
{
  size_t n = work / (min_per_thread ? min_per_thread : 1);
  int t = gd_threads ();

  if (n < 1)
    n = 1;
  return n < (size_t)t ? (int)n : t;
}

/* ---------------------------------------------------------------- conv */

int
gd_conv2d_out_size (int in_size, int ksize, int stride)
{
  int pad = ksize / 2;

  return (in_size + 2 * pad - ksize) / stride + 1;
}

/* Scratch floats per thread for one transformed input row (see below). */
static size_t
im2col_row_scratch (int wout)
{
  return 2 * (size_t)wout + 4;
}

/* The output rows of one sgemm: a function of the layer's shape alone
 * (never of the workspace or the thread count), so that every output
 * element is computed by the same sgemm call shape, in the same column of
 * it, whatever ran before: OpenBLAS's kernels (the AVX2 ones in
 * particular) sum an element differently when it falls in another column
 * block of the call.  About GD_CONV_CHUNK_FLOATS of columns (in cache), at
 * least one row, evened out so that the last chunk is not a sliver. */
static int
conv_chunk_rows (size_t k, int hout, int wout, int direct)
{
  size_t per_row = direct ? (size_t)wout : k * (size_t)wout;
  size_t budget = direct ? GD_CONV_DIRECT_PIXELS : GD_CONV_CHUNK_FLOATS;
  size_t rows = budget / per_row;
  size_t n_chunks;

  if (rows < 1)
    rows = 1;
  if (rows > (size_t)hout)
    rows = (size_t)hout;
  n_chunks = ((size_t)hout + rows - 1) / rows;
  return (int)(((size_t)hout + n_chunks - 1) / n_chunks);
}

size_t
gd_conv2d_col_floats (int cin, int ksize, int stride, int hout, int wout)
{
  size_t k = (size_t)cin * (size_t)(ksize * ksize);
  int rows, n_chunks, count = gd_threads ();

  if (ksize == 1 && stride == 1)
    return 0;
  rows = conv_chunk_rows (k, hout, wout, 0);
  n_chunks = (hout + rows - 1) / rows;
  if (count > n_chunks)
    count = n_chunks;
  /* small factors: no overflow */
  return (k * (size_t)rows * (size_t)wout + im2col_row_scratch (wout))
         * (size_t)count;
}

/* im2col for output rows [oy0, oy1): col is (cin k k) x ((oy1-oy0) wout),
 * row (c k + ky) k + kx, matching the flattened PyTorch weight.  With
 * `upsample`, x (h x w) is read as its nearest-x2 enlargement.  Strided
 * and upsampled rows are first rewritten into `scratch` (zero-padded, or
 * split into even and odd columns) so that every kx is one memcpy. */
static void
conv_im2col (const float *x, int cin, int h, int w, int upsample, int ksize,
             int stride, int wout, int oy0, int oy1, float *col, float *scratch)
{
  const int pad = ksize / 2;
  const int eff_h = upsample ? 2 * h : h;
  const size_t n = (size_t)(oy1 - oy0) * (size_t)wout;
  const size_t row_bytes = (size_t)wout * sizeof (float);
  int c, ky, kx, oy, ox;

  for (c = 0; c < cin; c++)
    {
      const float *xc = x + (size_t)c * h * w;
      for (ky = 0; ky < ksize; ky++)
        for (oy = oy0; oy < oy1; oy++)
          {
            float *dst = col + (size_t)(c * ksize + ky) * ksize * n
                         + (size_t)(oy - oy0) * wout;
            int iy = oy * stride + ky - pad;
            const float *src;

            if (iy < 0 || iy >= eff_h)
              {
                for (kx = 0; kx < ksize; kx++)
                  memset (dst + kx * n, 0, row_bytes);
                continue;
              }
            src = xc + (size_t)(upsample ? iy >> 1 : iy) * w;
            if (ksize == 1)
              {
                for (ox = 0; ox < wout; ox++)
                  dst[ox] = src[ox * stride];
              }
            else if (upsample)
              {
                /* scratch[1 + i] = src[i / 2] for i < 2w, zeros around:
                   output column ox at tap kx reads scratch[ox + kx]. */
                scratch[0] = 0.0f;
                for (ox = 0; ox < w; ox++)
                  scratch[1 + 2 * ox] = scratch[2 + 2 * ox] = src[ox];
                scratch[2 * w + 1] = 0.0f;
                for (kx = 0; kx < 3; kx++)
                  memcpy (dst + kx * n, scratch + kx, row_bytes);
              }
            else if (stride == 2)
              {
                /* even[i] = src[2i], odd[i] = src[2i - 1], zero outside:
                   taps 0, 1, 2 read odd[ox], even[ox], odd[ox + 1]. */
                float *even = scratch, *odd = scratch + wout;
                for (ox = 0; ox < wout; ox++)
                  even[ox] = 2 * ox < w ? src[2 * ox] : 0.0f;
                odd[0] = 0.0f;
                for (ox = 1; ox <= wout; ox++)
                  odd[ox] = 2 * ox - 1 < w ? src[2 * ox - 1] : 0.0f;
                memcpy (dst, odd, row_bytes);
                memcpy (dst + n, even, row_bytes);
                memcpy (dst + 2 * n, odd + 1, row_bytes);
              }
            else
              {
                /* stride 1: the middle of each tap's row is the source
                   row shifted by kx - 1; one zero at the edge. */
                dst[0] = 0.0f;
                memcpy (dst + 1, src, (size_t)(wout - 1) * sizeof *dst);
                memcpy (dst + n, src, row_bytes);
                memcpy (dst + 2 * n, src + 1, (size_t)(wout - 1) * sizeof *dst);
                dst[2 * n + wout - 1] = 0.0f;
              }
          }
    }
}

typedef struct
{
  const float *x;
  int cin, h, w, upsample;
  const float *weight, *bias;
  int cout, ksize, stride, hout, wout;
  float *y;
  int accumulate;
  float *col;
  size_t col_share; /* floats of col per thread */
  int rows;         /* output rows per chunk (conv_chunk_rows) */
  int n_chunks;
} conv_job;

/* y rows [oy0, oy1) of every channel start from the bias (or keep the
   accumulator and add it): just before the sgemm that adds W col, while
   they are in cache. */
static void
conv_bias_rows (const conv_job *j, int oy0, int oy1)
{
  const size_t plane = (size_t)j->hout * (size_t)j->wout;
  const size_t p0 = (size_t)oy0 * j->wout, p1 = (size_t)oy1 * j->wout;
  size_t i;
  int c;

  for (c = 0; c < j->cout; c++)
    {
      float *yc = j->y + (size_t)c * plane;
      if (!j->accumulate)
        {
          float b = j->bias != NULL ? j->bias[c] : 0.0f;
          for (i = p0; i < p1; i++)
            yc[i] = b;
        }
      else if (j->bias != NULL)
        for (i = p0; i < p1; i++)
          yc[i] += j->bias[c];
    }
}

/* One thread's share: chunks [lo, hi) of the layer's fixed chunks. */
static void
conv_task (void *ctx, int index, int count)
{
  const conv_job *j = ctx;
  const size_t plane = (size_t)j->hout * (size_t)j->wout;
  const size_t k = (size_t)j->cin * (size_t)(j->ksize * j->ksize);
  const int direct = j->ksize == 1 && j->stride == 1 && !j->upsample;
  float *scratch = NULL, *col = NULL;
  size_t lo, hi, chunk;

  ops_split ((size_t)j->n_chunks, index, count, &lo, &hi);
  if (!direct)
    {
      scratch = j->col + (size_t)index * j->col_share;
      col = scratch + im2col_row_scratch (j->wout);
    }
  for (chunk = lo; chunk < hi; chunk++)
    {
      int oy0 = (int)chunk * j->rows;
      int oy1 = oy0 + j->rows < j->hout ? oy0 + j->rows : j->hout;
      int n = (oy1 - oy0) * j->wout;
      size_t p0 = (size_t)oy0 * j->wout;

      conv_bias_rows (j, oy0, oy1);
      if (direct)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->cout, n,
                     j->cin, 1.0f, j->weight, j->cin, j->x + p0, (int)plane,
                     1.0f, j->y + p0, (int)plane);
      else
        {
          conv_im2col (j->x, j->cin, j->h, j->w, j->upsample, j->ksize,
                       j->stride, j->wout, oy0, oy1, col, scratch);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->cout, n,
                       (int)k, 1.0f, j->weight, (int)k, col, n, 1.0f, j->y + p0,
                       (int)plane);
        }
    }
}

void
gd_conv2d (const float *x, int cin, int h, int w, int upsample,
           const float *weight, const float *bias, int cout, int ksize,
           int stride, float *y, int accumulate, float *col, size_t col_floats)
{
  conv_job j;
  size_t plane, k, chunk_floats;
  int count;

  GD_ASSERT (ksize == 1 || ksize == 3);
  GD_ASSERT (stride == 1 || stride == 2);
  /* Not needed by the network: */
  GD_ASSERT (!(upsample && (ksize != 3 || stride != 1)));
  GD_ASSERT (cin > 0 && cout > 0 && h > 0 && w > 0);
  j.x = x;
  j.cin = cin;
  j.h = h;
  j.w = w;
  j.upsample = upsample;
  j.weight = weight;
  j.bias = bias;
  j.cout = cout;
  j.ksize = ksize;
  j.stride = stride;
  j.hout = gd_conv2d_out_size (upsample ? 2 * h : h, ksize, stride);
  j.wout = gd_conv2d_out_size (upsample ? 2 * w : w, ksize, stride);
  j.y = y;
  j.accumulate = accumulate;
  j.col = col;
  plane = (size_t)j.hout * (size_t)j.wout;
  k = (size_t)cin * (size_t)(ksize * ksize);
  GD_ASSERT (plane <= INT_MAX && k <= INT_MAX);

  /* Threads share the layer's fixed chunks; each needs one chunk of
     workspace.  Fewer threads (a smaller workspace) give the same bits. */
  j.rows = conv_chunk_rows (k, j.hout, j.wout,
                            ksize == 1 && stride == 1 && !upsample);
  j.n_chunks = (j.hout + j.rows - 1) / j.rows;
  count = ops_threads_for (plane * (size_t)cout * k, (size_t)1 << 18);
  if (count > j.n_chunks)
    count = j.n_chunks;
  if (ksize == 1 && stride == 1 && !upsample)
    j.col_share = 0;
  else
    {
      chunk_floats = k * (size_t)j.rows * (size_t)j.wout
                     + im2col_row_scratch (j.wout);
      GD_ASSERT (col != NULL && col_floats >= chunk_floats);
      if ((size_t)count > col_floats / chunk_floats)
        count = (int)(col_floats / chunk_floats);
      j.col_share = chunk_floats;
    }
  /* Our threads each call sgemm, and one thread runs it alone: OpenBLAS's
     own threads stay out of it always, so that no call splits its sums by
     the state a previous call left. */
  gd_blas_single_thread ();
  gd_parallel_run (conv_task, &j, count);
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

/* SiLU on 4 floats at a time with GCC vector extensions: libm's expf is
   one call per element and the autovectoriser gives up on the clamps.
   exp is Cody-Waite reduction by ln 2 and Cephes' degree-6 polynomial,
   within 2 ulp of expf; the scalar form below does the same arithmetic. */
typedef float ops_v4sf __attribute__ ((vector_size (16)));
typedef int32_t ops_v4si __attribute__ ((vector_size (16)));
typedef uint32_t ops_v4su __attribute__ ((vector_size (16)));

#define OPS_EXP_LO -87.0f
#define OPS_EXP_HI 88.0f
#define OPS_ROUND_MAGIC 12582912.0f /* 1.5 2^23: adding it rounds to int */

static inline ops_v4sf
ops_v4_select (ops_v4si mask, ops_v4sf a, ops_v4sf b)
{
  return (ops_v4sf)((mask & (ops_v4si)a) | (~mask & (ops_v4si)b));
}

static inline ops_v4sf
ops_v4_silu (ops_v4sf v)
{
  const ops_v4sf lo = { OPS_EXP_LO, OPS_EXP_LO, OPS_EXP_LO, OPS_EXP_LO };
  const ops_v4sf hi = { OPS_EXP_HI, OPS_EXP_HI, OPS_EXP_HI, OPS_EXP_HI };
  ops_v4sf x = -v, t, n, r, p, scale;
  ops_v4su bits;

  x = ops_v4_select (x < lo, lo, x); /* NaN compares false: kept */
  x = ops_v4_select (x > hi, hi, x);
  t = x * 1.44269504088896341f;
  n = (t + OPS_ROUND_MAGIC) - OPS_ROUND_MAGIC;
  r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  /* NaN converts to INT_MIN (cvttps2dq); its result stays NaN through p. */
  bits = (ops_v4su)(__builtin_convertvector(n, ops_v4si) + 127) << 23;
  scale = (ops_v4sf)bits;
  return v / (1.0f + p * scale);
}

static inline float
silu1 (float v)
{
  float x = -v, t, n, r, p, scale;
  uint32_t bits;

  if (isnan (v))
    return v; /* (int32_t) NaN is undefined; the vector path gives NaN */
  x = x < OPS_EXP_LO ? OPS_EXP_LO : x;
  x = x > OPS_EXP_HI ? OPS_EXP_HI : x;
  t = x * 1.44269504088896341f;
  n = (t + OPS_ROUND_MAGIC) - OPS_ROUND_MAGIC;
  r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  bits = (uint32_t)((int32_t)n + 127) << 23;
  memcpy (&scale, &bits, sizeof scale);
  return v / (1.0f + p * scale);
}

/* y[i] = silu (x[i]); y may equal x. */
static void
ops_silu_array (const float *x, float *y, size_t n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    {
      ops_v4sf v;
      memcpy (&v, x + i, sizeof v);
      v = ops_v4_silu (v);
      memcpy (y + i, &v, sizeof v);
    }
  for (; i < n; i++)
    y[i] = silu1 (x[i]);
}

typedef struct
{
  const float *x;
  int c;
  size_t n_pixels;
  const float *weight, *bias;
  float *y;
  int with_silu;
} norm_job;

static void
norm_task (void *ctx, int index, int count)
{
  const norm_job *j = ctx;
  float mean[NORM_BLOCK], rstd[NORM_BLOCK];
  size_t n_blocks = (j->n_pixels + NORM_BLOCK - 1) / NORM_BLOCK;
  size_t b_lo, b_hi, b, i;
  int ch;

  ops_split (n_blocks, index, count, &b_lo, &b_hi);
  for (b = b_lo; b < b_hi; b++)
    {
      size_t p0 = b * NORM_BLOCK;
      size_t nb = j->n_pixels - p0 < NORM_BLOCK ? j->n_pixels - p0 : NORM_BLOCK;
      norm_stats (j->x + p0, j->c, j->n_pixels, nb, mean, rstd);
      for (ch = 0; ch < j->c; ch++)
        {
          const float *xc = j->x + (size_t)ch * j->n_pixels + p0;
          float *yc = j->y + (size_t)ch * j->n_pixels + p0;
          const float wc = j->weight[ch], bc = j->bias[ch];
          for (i = 0; i < nb; i++)
            yc[i] = (xc[i] - mean[i]) * rstd[i] * wc + bc;
          if (j->with_silu)
            ops_silu_array (yc, yc, nb);
        }
    }
}

static void
channel_norm_impl (const float *x, int c, size_t n_pixels, const float *weight,
                   const float *bias, float *y, int with_silu)
{
  norm_job j = { x, c, n_pixels, weight, bias, y, with_silu };
  size_t n_blocks = (n_pixels + NORM_BLOCK - 1) / NORM_BLOCK;
  int count = ops_threads_for (n_pixels * (size_t)c, (size_t)1 << 15);

  if (n_blocks == 0)
    return;
  if ((size_t)count > n_blocks)
    count = (int)n_blocks;
  gd_parallel_run (norm_task, &j, count);
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
  ops_silu_array (x, y, n);
}

void
gd_blas_single_thread (void)
{
  if (openblas_get_num_threads () != 1)
    openblas_set_num_threads (1);
}

void
gd_linear (const float *x, int n_in, const float *weight, const float *bias,
           int n_out, float *y)
{
  int i;

  gd_blas_single_thread ();
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
