/* nhwc.c: the fast path's layout kernels (conv-fast.h): channel norm and
 * SiLU fused with the conversion to BF16, upsampling, concatenation and
 * transposes, on pixel-major (NHWC) tensors, threaded over pixels. */
#include "conv-fast.h"
#include "ops.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* The NHWC path runs only where oneDNN found BF16 products (AVX512_BF16 or
   AMX, conv-fast.c's isa_init): its hot kernels are compiled for that ISA
   whatever the build's baseline. */
#define NHWC_AVX512                                                            \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* How many pixels ahead norm_task prefetches. */
#define NORM_AHEAD 4

/* Pixels per task at least: small tensors run on one thread. */
#define NHWC_MIN_WORK ((size_t)1 << 15)

static inline uint16_t
bf16_round (float f)
{
  uint32_t u;

  memcpy (&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((u >> 16) | 0x40u); /* NaN stays NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* silu on 16 floats: ops.c's exp (Cody-Waite, Cephes' polynomial). */
NHWC_AVX512 static inline __m512
silu16 (__m512 v)
{
  __m512 x = _mm512_sub_ps (_mm512_setzero_ps (), v), n, r, p, scale;

  x = _mm512_min_ps (_mm512_max_ps (x, _mm512_set1_ps (-87.0f)),
                     _mm512_set1_ps (88.0f));
  n = _mm512_roundscale_ps (_mm512_mul_ps (x, _mm512_set1_ps (1.44269504f)),
                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (0.693359375f), x);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (-2.12194440e-4f), r);
  p = _mm512_fmadd_ps (r, _mm512_set1_ps (1.9875691500e-4f),
                       _mm512_set1_ps (1.3981999507e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (8.3334519073e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.1665795894e-2f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.6666665459e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (5.0000001201e-1f));
  p = _mm512_fmadd_ps (_mm512_mul_ps (p, r), r,
                       _mm512_add_ps (r, _mm512_set1_ps (1.0f)));
  scale = _mm512_castsi512_ps (_mm512_slli_epi32 (
      _mm512_add_epi32 (_mm512_cvtps_epi32 (n), _mm512_set1_epi32 (127)), 23));
  return _mm512_div_ps (v, _mm512_fmadd_ps (p, scale, _mm512_set1_ps (1.0f)));
}

/* Stores 16 floats (the first `left` of them, up to 16) as BF16. */
NHWC_AVX512 static inline void
store_bf16 (uint16_t *dst, __m512 v, int left)
{
  __m256i h = (__m256i)_mm512_cvtneps_pbh (v);

  if (left >= 16)
    _mm256_storeu_si256 ((__m256i *)dst, h);
  else
    _mm256_mask_storeu_epi16 (dst, (__mmask16)((1u << left) - 1), h);
}

static inline __mmask16
tail_mask (int left)
{
  return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

typedef struct
{
  const float *x, *b, *weight, *bias;
  int c, cb, h, w;
  size_t n; /* pixels (or values for to_bf16) */
  float *y;
  uint16_t *act, *raw;
} nhwc_job;

static void
split (size_t n, int index, int count, size_t *lo, size_t *hi)
{
  *lo = n * (size_t)index / (size_t)count;
  *hi = n * (size_t)(index + 1) / (size_t)count;
}

static int
threads_for (size_t work)
{
  size_t t = work / NHWC_MIN_WORK;
  int max = gd_threads ();

  if (t < 1)
    t = 1;
  return t < (size_t)max ? (int)t : max;
}

NHWC_AVX512 static void
to_bf16_task (void *ctx, int index, int count)
{
  const nhwc_job *j = ctx;
  size_t lo, hi, i;

  split (j->n, index, count, &lo, &hi);
  for (i = lo; i < hi; i += 16)
    {
      int left = hi - i < 16 ? (int)(hi - i) : 16;
      store_bf16 (j->act + i,
                  _mm512_maskz_loadu_ps (tail_mask (left), j->x + i), left);
    }
}

void
gd_nhwc_to_bf16 (const float *x, size_t n, uint16_t *act)
{
  nhwc_job j = { .x = x, .n = n, .act = act };

  gd_parallel_run (to_bf16_task, &j, threads_for (n));
}

/* model.py's ChannelNorm then SiLU at each pixel of [x; b] (b may be
   absent), 16 channels at a time (the fast path's sums run in another
   order than ops.c's); raw, when asked, gets [x; b] itself in BF16. */
NHWC_AVX512 static void
norm_task (void *ctx, int index, int count)
{
  const nhwc_job *j = ctx;
  const int c = j->c + j->cb;
  size_t lo, hi, p;
  int ch, s;

  split (j->n, index, count, &lo, &hi);
  for (p = lo; p < hi; p++)
    {
      const float *src[2]
          = { j->x + p * (size_t)j->c, j->b ? j->b + p * (size_t)j->cb : NULL };
      const int len[2] = { j->c, j->b ? j->cb : 0 }, off[2] = { 0, j->c };
      __m512 acc = _mm512_setzero_ps (), mean, rstd;
      float var;

      /* The pixels ahead, into the cache while this one is worked on:
         the loop's chains are long, so the hardware prefetcher's stream
         alone leaves the first pass waiting on memory. */
      if (p + NORM_AHEAD < hi)
        for (s = 0; s < 2; s++)
          {
            const char *q = (const char *)(src[s] + NORM_AHEAD * (size_t)len[s]);

            for (ch = 0; ch < len[s]; ch += 16)
              _mm_prefetch (q + 4 * ch, _MM_HINT_T0);
          }
      for (s = 0; s < 2; s++)
        for (ch = 0; ch < len[s]; ch += 16)
          acc = _mm512_add_ps (acc, _mm512_maskz_loadu_ps (
                                        tail_mask (len[s] - ch), src[s] + ch));
      mean = _mm512_set1_ps (_mm512_reduce_add_ps (acc) / (float)c);
      acc = _mm512_setzero_ps ();
      for (s = 0; s < 2; s++)
        for (ch = 0; ch < len[s]; ch += 16)
          {
            __mmask16 k = tail_mask (len[s] - ch);
            __m512 d = _mm512_maskz_sub_ps (
                k, _mm512_maskz_loadu_ps (k, src[s] + ch), mean);
            acc = _mm512_fmadd_ps (d, d, acc);
          }
      var = _mm512_reduce_add_ps (acc) / (float)c;
      rstd = _mm512_set1_ps (1.0f / sqrtf (var + GD_NORM_EPS));
      for (s = 0; s < 2; s++)
        for (ch = 0; ch < len[s]; ch += 16)
          {
            __mmask16 k = tail_mask (len[s] - ch);
            const size_t at = p * (size_t)c + (size_t)(off[s] + ch);
            __m512 x = _mm512_maskz_loadu_ps (k, src[s] + ch);
            __m512 v = _mm512_mul_ps (_mm512_sub_ps (x, mean), rstd);
            if (j->raw != NULL)
              store_bf16 (j->raw + at, x, len[s] - ch);
            v = _mm512_fmadd_ps (
                v, _mm512_maskz_loadu_ps (k, j->weight + off[s] + ch),
                _mm512_maskz_loadu_ps (k, j->bias + off[s] + ch));
            store_bf16 (j->act + at, silu16 (v), len[s] - ch);
          }
    }
}

void
gd_nhwc_norm_silu_bf16 (const float *x, int c, size_t n_pixels,
                        const float *weight, const float *bias, uint16_t *act)
{
  gd_nhwc_cat_norm_silu_bf16 (x, c, NULL, 0, n_pixels, weight, bias, act, NULL);
}

void
gd_nhwc_cat_norm_silu_bf16 (const float *a, int ca, const float *b, int cb,
                            size_t n_pixels, const float *weight,
                            const float *bias, uint16_t *act, uint16_t *raw)
{
  nhwc_job j = { .x = a,
                 .c = ca,
                 .b = b,
                 .cb = b ? cb : 0,
                 .n = n_pixels,
                 .weight = weight,
                 .bias = bias,
                 .act = act,
                 .raw = raw };

  GD_ASSERT (ca > 0 && (b == NULL || cb > 0));
  gd_parallel_run (norm_task, &j, threads_for (n_pixels * (size_t)(ca + j.cb)));
}

NHWC_AVX512 static void
upsample_task (void *ctx, int index, int count)
{
  const nhwc_job *j = ctx;
  const int c = j->c;
  const size_t w2 = 2 * (size_t)j->w;
  size_t lo, hi, oy;
  int ox, ch;

  split (2 * (size_t)j->h, index, count, &lo, &hi);
  for (oy = lo; oy < hi; oy++)
    {
      const float *src = j->x + (oy / 2) * (size_t)j->w * (size_t)c;
      uint16_t *dst = j->act + oy * w2 * (size_t)c;
      for (ox = 0; ox < j->w; ox++)
        {
          uint16_t *d = dst + 2 * (size_t)ox * (size_t)c;
          for (ch = 0; ch < c; ch += 16)
            {
              __m512 v = _mm512_maskz_loadu_ps (tail_mask (c - ch),
                                                src + (size_t)ox * c + ch);
              store_bf16 (d + ch, v, c - ch);
              store_bf16 (d + c + ch, v, c - ch);
            }
        }
    }
}

void
gd_nhwc_upsample2_bf16 (const float *x, int c, int h, int w, uint16_t *act)
{
  nhwc_job j = { .x = x, .c = c, .h = h, .w = w, .act = act };
  int count = threads_for ((size_t)c * 4 * (size_t)h * (size_t)w);

  if (count > 2 * h)
    count = 2 * h;
  gd_parallel_run (upsample_task, &j, count);
}

static void
concat_task (void *ctx, int index, int count)
{
  const nhwc_job *j = ctx;
  const size_t ca = (size_t)j->c, cb = (size_t)j->cb;
  size_t lo, hi, p;

  split (j->n, index, count, &lo, &hi);
  for (p = lo; p < hi; p++)
    {
      memcpy (j->y + p * (ca + cb), j->x + p * ca, ca * sizeof (float));
      memcpy (j->y + p * (ca + cb) + ca, j->b + p * cb, cb * sizeof (float));
    }
}

void
gd_nhwc_concat (const float *a, int ca, const float *b, int cb, size_t n_pixels,
                float *y)
{
  nhwc_job j = { .x = a, .c = ca, .b = b, .cb = cb, .n = n_pixels, .y = y };

  gd_parallel_run (concat_task, &j, threads_for (n_pixels * (size_t)(ca + cb)));
}

void
gd_planar_to_nhwc_bf16 (const float *x, int c, size_t n_pixels, uint16_t *act)
{
  size_t p;
  int ch;

  for (ch = 0; ch < c; ch++)
    for (p = 0; p < n_pixels; p++)
      act[p * (size_t)c + ch] = bf16_round (x[(size_t)ch * n_pixels + p]);
}

void
gd_planar_to_nhwc (const float *x, int c, size_t n_pixels, float *y)
{
  size_t p;
  int ch;

  for (ch = 0; ch < c; ch++)
    for (p = 0; p < n_pixels; p++)
      y[p * (size_t)c + ch] = x[(size_t)ch * n_pixels + p];
}

void
gd_nhwc_to_planar (const float *x, int c, size_t n_pixels, float *y)
{
  size_t p;
  int ch;

  for (ch = 0; ch < c; ch++)
    for (p = 0; p < n_pixels; p++)
      y[(size_t)ch * n_pixels + p] = x[p * (size_t)c + ch];
}
