/* winograd.c: Winograd F(4x4, 3x3) convolutions (winograd.h).
 *
 * Transforms (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016; interpolation points 0, 1, -1, 2, -2, infinity):
 *   V = B^T d B (d: a 6x6 input tile), U = G g G^T (g: a 3x3 kernel),
 *   M_xi = sum over input channels of U_xi V_xi (xi = 0..35),
 *   Y = A^T M A (a 4x4 output tile).
 * Output tiles start every 4 pixels; their 6x6 inputs overlap by 2.
 *
 * The work is cut into blocks of wg_tiles () tiles along one row of tiles.
 * For a block, every input channel is copied (zero-padded; nearest x2 when
 * upsampling) into a 6-row strip and transformed into V (36 x cin x
 * tiles), then 36 GEMMs give M (cout x 36 x tiles) and the output
 * transform writes y.  V and M of a block stay in a core's L2 cache (about
 * 1 MiB together, wg_tiles).  U is transformed once per weight tensor
 * (in double), laid out for the GEMM kernel in panels of WG_ROWS output
 * channels (zero rows past cout).
 */
#include "winograd.h"
#include "ops.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WG_X86 1
#endif

/* Tiles per block: as many as keep V and M within WG_BLOCK_FLOATS, a
   multiple of 16 from 16 to WG_TILES_MAX.  Longer blocks read and write
   longer runs of each channel's rows (fewer cache misses); the count
   depends on the layer's channels alone. */
#ifndef WG_TILES_MAX
#define WG_TILES_MAX 128
#endif
#define WG_BLOCK_FLOATS ((size_t)1 << 18)
#define WG_ROWS 6 /* output channels per GEMM panel */
#define WG_N 36   /* 6 x 6 transformed values */

typedef struct
{
  const float *weight;
  int cin, cout;
  float *u; /* WG_N x panels x cin x WG_ROWS */
} wg_weights;

struct gd_winograd
{
  wg_weights *weights;
  int n_weights, cap_weights;
  float *work[GD_MAX_THREADS]; /* each thread's strip, V and M */
  size_t work_floats[GD_MAX_THREADS];
  size_t bytes;
};

/* ---------------------------------------------------------------- ISA */

static pthread_once_t wg_once = PTHREAD_ONCE_INIT;
static int wg_best = -1;

static void
wg_isa_init (void)
{
  static const char *const caps[] = { "avx2", "avx512", "avx512_bf16", "amx" };
  const char *cap = getenv ("GD_MAX_ISA");
  size_t i;

  if (cap != NULL && cap[0] != '\0')
    {
      for (i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (strcmp (cap, caps[i]) == 0)
          break;
      if (i == sizeof caps / sizeof caps[0])
        return; /* "exact" or unknown: no fast path, as conv-fast.c */
    }
  wg_best = GD_WINOGRAD_C;
#ifdef WG_X86
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    wg_best = GD_WINOGRAD_AVX2;
#endif
}

int
gd_winograd_isa_best (void)
{
  pthread_once (&wg_once, wg_isa_init);
  return wg_best;
}

const char *
gd_winograd_kind (void)
{
  return gd_winograd_isa_best () == GD_WINOGRAD_AVX2 ? "avx2 winograd" : NULL;
}

/* ---------------------------------------------------------------- cache */

gd_winograd *
gd_winograd_new (void)
{
  return calloc (1, sizeof (gd_winograd));
}

void
gd_winograd_free (gd_winograd *wg)
{
  int i;

  if (wg == NULL)
    return;
  for (i = 0; i < wg->n_weights; i++)
    free (wg->weights[i].u);
  free (wg->weights);
  for (i = 0; i < GD_MAX_THREADS; i++)
    free (wg->work[i]);
  free (wg);
}

size_t
gd_winograd_bytes (const gd_winograd *wg)
{
  return wg != NULL ? wg->bytes : 0;
}

static size_t
wg_panels (int cout)
{
  return ((size_t)cout + WG_ROWS - 1) / WG_ROWS;
}

static int
wg_tiles (int cin, int cout)
{
  size_t per_tile = (size_t)WG_N * ((size_t)cin + wg_panels (cout) * WG_ROWS);
  size_t tiles = WG_BLOCK_FLOATS / per_tile / 16 * 16;

  return tiles < 16 ? 16 : tiles > WG_TILES_MAX ? WG_TILES_MAX : (int)tiles;
}

static size_t
wg_strip_floats (int tiles)
{
  return (size_t)6 * (4 * (size_t)tiles + 4);
}

static size_t
wg_work_floats (int cin, int cout)
{
  int tiles = wg_tiles (cin, cout);

  return wg_strip_floats (tiles)
         + (size_t)WG_N * tiles * ((size_t)cin + wg_panels (cout) * WG_ROWS);
}

size_t
gd_winograd_layer_bytes (int cin, int cout, int threads)
{
  return sizeof (float)
         * ((size_t)WG_N * wg_panels (cout) * WG_ROWS * (size_t)cin
            + (size_t)threads * wg_work_floats (cin, cout));
}

typedef struct
{
  const float *weight;
  int cin, cout;
  float *u;
} wg_weights_job;

/* U = G g G^T for the (cout, cin) pairs of one thread's output channels,
   in double, rounded once (each value alone: the same bits on any
   thread). */
static void
wg_transform_weights (void *ctx, int index, int count)
{
  const wg_weights_job *j = ctx;
  const float *weight = j->weight;
  const int cin = j->cin, cout = j->cout;
  const int co_lo = (int)((long long)cout * index / count);
  const int co_hi = (int)((long long)cout * (index + 1) / count);
  float *u = j->u;
  static const double G[6][3] = {
    { 1.0 / 4, 0, 0 },
    { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
    { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
    { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
    { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
    { 0, 0, 1 },
  };
  const size_t panels = wg_panels (cout);
  int co, ci, a, b, k;

  for (co = co_lo; co < co_hi; co++)
    for (ci = 0; ci < cin; ci++)
      {
        const float *g = weight + ((size_t)co * cin + ci) * 9;
        double gg[6][3];
        for (a = 0; a < 6; a++)
          for (b = 0; b < 3; b++)
            gg[a][b] = G[a][0] * g[b] + G[a][1] * g[3 + b] + G[a][2] * g[6 + b];
        for (a = 0; a < 6; a++)
          for (b = 0; b < 6; b++)
            {
              double s = 0;
              for (k = 0; k < 3; k++)
                s += gg[a][k] * G[b][k];
              u[(((size_t)(a * 6 + b) * panels + (size_t)(co / WG_ROWS)) * cin
                 + ci)
                    * WG_ROWS
                + co % WG_ROWS]
                  = (float)s;
            }
      }
}

/* The transformed weights of `weight` (made on first use), or NULL. */
static const float *
wg_weights_get (gd_winograd *wg, const float *weight, int cin, int cout)
{
  wg_weights *e;
  size_t n;
  int i;

  for (i = 0; i < wg->n_weights; i++)
    if (wg->weights[i].weight == weight && wg->weights[i].cin == cin
        && wg->weights[i].cout == cout)
      return wg->weights[i].u;
  if (wg->n_weights == wg->cap_weights)
    {
      int cap = wg->cap_weights ? 2 * wg->cap_weights : 32;
      wg_weights *grown = realloc (wg->weights, (size_t)cap * sizeof *grown);
      if (grown == NULL)
        return NULL;
      wg->weights = grown;
      wg->cap_weights = cap;
    }
  n = (size_t)WG_N * wg_panels (cout) * WG_ROWS * (size_t)cin;
  e = &wg->weights[wg->n_weights];
  e->u = calloc (n, sizeof (float)); /* the panels' rows past cout stay 0 */
  if (e->u == NULL)
    return NULL;
  e->weight = weight;
  e->cin = cin;
  e->cout = cout;
  {
    wg_weights_job job = { weight, cin, cout, e->u };
    int count = gd_threads () < cout ? gd_threads () : cout;
    gd_parallel_run (wg_transform_weights, &job, count);
  }
  wg->n_weights++;
  wg->bytes += n * sizeof (float);
  return e->u;
}

/* ---------------------------------------------------------------- job */

typedef struct
{
  const float *x;
  int cin, h, w, upsample;
  const float *u, *bias;
  int cout;
  float *y;
  int accumulate;
  int hout, wout;        /* = the (upsampled) input's size */
  int tiles;             /* per block (wg_tiles) */
  int tiles_w, segments; /* tiles per row, blocks per row of tiles */
  int n_blocks;
  int isa;
  gd_winograd *wg;
  int next_block; /* the next block to take (atomic) */
} wg_job;

/* Row length of the strip for ntp tiles: 4 ntp + 2 inputs, and 2 more
   that the AVX2 loads of the last group read (zeros). */
static int
wg_strip_len (int ntp)
{
  return 4 * ntp + 4;
}

/* Channel c's rows 4 ty - 1 .. 4 ty + 4 and columns from 4 tx0 - 1, zero
   outside the image. */
static void
wg_stage (const wg_job *j, int c, int ty, int tx0, int ntp, float *strip)
{
  const int len = wg_strip_len (ntp), ix0 = 4 * tx0 - 1;
  const float *xc = j->x + (size_t)c * j->h * j->w;
  int r, q;

  for (r = 0; r < 6; r++)
    {
      float *row = strip + (size_t)r * len;
      int iy = 4 * ty - 1 + r;
      if (iy < 0 || iy >= j->hout)
        {
          memset (row, 0, (size_t)len * sizeof *row);
          continue;
        }
      /* Columns [lo, hi) of the strip lie in the (upsampled) row. */
      int lo = ix0 < 0 ? -ix0 : 0;
      int hi = j->wout - ix0 < len ? j->wout - ix0 : len;
      memset (row, 0, (size_t)lo * sizeof *row);
      if (!j->upsample)
        memcpy (row + lo, xc + (size_t)iy * j->w + ix0 + lo,
                (size_t)(hi - lo) * sizeof *row);
      else
        {
          const float *src = xc + (size_t)(iy >> 1) * j->w;
          for (q = lo; q < hi; q++)
            row[q] = src[(ix0 + q) >> 1];
        }
      memset (row + hi, 0, (size_t)(len - hi) * sizeof *row);
    }
}

/* ------------------------------------------------------- portable C */

/* o = B^T d (6 values). */
static void
wg_bt_c (const float d[6], float o[6])
{
  float a = d[4] - 4.0f * d[2], b = d[3] - 4.0f * d[1];
  float c = d[4] - d[2], e = 2.0f * (d[3] - d[1]);
  o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  o[1] = a + b;
  o[2] = a - b;
  o[3] = c + e;
  o[4] = c - e;
  o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

/* o = A^T m (4 values from 6). */
static void
wg_at_c (const float m[6], float o[4])
{
  float s = m[1] + m[2], d = m[1] - m[2], s2 = m[3] + m[4], d2 = m[3] - m[4];
  o[0] = m[0] + s + s2;
  o[1] = d + 2.0f * d2;
  o[2] = s + 4.0f * s2;
  o[3] = d + 8.0f * d2 + m[5];
}

static void
wg_input_c (const float *strip, int ntp, float *v, size_t xi_stride)
{
  const int len = wg_strip_len (ntp);
  int t, r, i, k;

  for (t = 0; t < ntp; t++)
    {
      float e[6][6], col[6], o[6];
      for (r = 0; r < 6; r++)
        wg_bt_c (strip + (size_t)r * len + 4 * t, e[r]);
      for (k = 0; k < 6; k++)
        {
          for (r = 0; r < 6; r++)
            col[r] = e[r][k];
          wg_bt_c (col, o);
          for (i = 0; i < 6; i++)
            v[(size_t)(i * 6 + k) * xi_stride + t] = o[i];
        }
    }
}

/* m (rows x ntp, row stride ldm) = u panel (cin x WG_ROWS) ^T v (cin x ntp). */
static void
wg_gemm_c (const float *u, const float *v, int cin, int ntp, float *m,
           size_t ldm, int rows)
{
  int r, t, ci;

  for (r = 0; r < rows; r++)
    for (t = 0; t < ntp; t++)
      {
        float s = 0.0f;
        for (ci = 0; ci < cin; ci++)
          s += u[(size_t)ci * WG_ROWS + r] * v[(size_t)ci * ntp + t];
        m[(size_t)r * ldm + t] = s;
      }
}

static void
wg_output_c (const wg_job *j, const float *m, size_t xi_stride, int nt,
             float bias, float *yc, int ty, int tx0)
{
  int t, r, c, i, k;

  for (t = 0; t < nt; t++)
    {
      float f[4][6], col[6], o[4], row[6];
      for (c = 0; c < 6; c++)
        {
          for (r = 0; r < 6; r++)
            col[r] = m[(size_t)(r * 6 + c) * xi_stride + t];
          wg_at_c (col, o);
          for (i = 0; i < 4; i++)
            f[i][c] = o[i];
        }
      for (i = 0; i < 4; i++)
        {
          int oy = 4 * ty + i;
          if (oy >= j->hout)
            break;
          for (c = 0; c < 6; c++)
            row[c] = f[i][c];
          wg_at_c (row, o);
          for (k = 0; k < 4; k++)
            {
              int ox = 4 * (tx0 + t) + k;
              float *dst = yc + (size_t)oy * j->wout + ox;
              if (ox >= j->wout)
                break;
              *dst = (j->accumulate ? *dst : 0.0f) + (o[k] + bias);
            }
        }
    }
}

/* ------------------------------------------------------- AVX2 + FMA */

#ifdef WG_X86
#define WG_AVX2 __attribute__ ((target ("avx2,fma")))

/* 4x4 transposes within each 128-bit lane. */
#define WG_TRANSPOSE4(r0, r1, r2, r3)                                          \
  do                                                                           \
    {                                                                          \
      __m256 t0_ = _mm256_unpacklo_ps (r0, r1),                                \
             t1_ = _mm256_unpackhi_ps (r0, r1);                                \
      __m256 t2_ = _mm256_unpacklo_ps (r2, r3),                                \
             t3_ = _mm256_unpackhi_ps (r2, r3);                                \
      r0 = _mm256_shuffle_ps (t0_, t2_, 0x44);                                 \
      r1 = _mm256_shuffle_ps (t0_, t2_, 0xee);                                 \
      r2 = _mm256_shuffle_ps (t1_, t3_, 0x44);                                 \
      r3 = _mm256_shuffle_ps (t1_, t3_, 0xee);                                 \
    }                                                                          \
  while (0)

/* p[4 t + k] for t = 0..7 -> d[k] (k = 0..3): 8 tiles' phase k. */
WG_AVX2 static inline void
wg_deinterleave (const float *p, __m256 d[4])
{
  __m256 r0 = _mm256_loadu2_m128 (p + 16, p);
  __m256 r1 = _mm256_loadu2_m128 (p + 20, p + 4);
  __m256 r2 = _mm256_loadu2_m128 (p + 24, p + 8);
  __m256 r3 = _mm256_loadu2_m128 (p + 28, p + 12);
  WG_TRANSPOSE4 (r0, r1, r2, r3);
  d[0] = r0, d[1] = r1, d[2] = r2, d[3] = r3;
}

WG_AVX2 static inline void
wg_bt_avx2 (const __m256 d[6], __m256 o[6])
{
  const __m256 two = _mm256_set1_ps (2.0f), four = _mm256_set1_ps (4.0f);
  const __m256 five = _mm256_set1_ps (5.0f);
  __m256 a = _mm256_fnmadd_ps (four, d[2], d[4]);
  __m256 b = _mm256_fnmadd_ps (four, d[1], d[3]);
  __m256 c = _mm256_sub_ps (d[4], d[2]);
  __m256 e = _mm256_mul_ps (two, _mm256_sub_ps (d[3], d[1]));
  o[0] = _mm256_fmadd_ps (four, d[0], _mm256_fnmadd_ps (five, d[2], d[4]));
  o[1] = _mm256_add_ps (a, b);
  o[2] = _mm256_sub_ps (a, b);
  o[3] = _mm256_add_ps (c, e);
  o[4] = _mm256_sub_ps (c, e);
  o[5] = _mm256_fmadd_ps (four, d[1], _mm256_fnmadd_ps (five, d[3], d[5]));
}

WG_AVX2 static inline void
wg_at_avx2 (const __m256 m[6], __m256 o[4])
{
  __m256 s = _mm256_add_ps (m[1], m[2]), d = _mm256_sub_ps (m[1], m[2]);
  __m256 s2 = _mm256_add_ps (m[3], m[4]), d2 = _mm256_sub_ps (m[3], m[4]);
  o[0] = _mm256_add_ps (_mm256_add_ps (m[0], s), s2);
  o[1] = _mm256_fmadd_ps (_mm256_set1_ps (2.0f), d2, d);
  o[2] = _mm256_fmadd_ps (_mm256_set1_ps (4.0f), s2, s);
  o[3] = _mm256_add_ps (_mm256_fmadd_ps (_mm256_set1_ps (8.0f), d2, d), m[5]);
}

/* Eight tiles at a time (ntp is a multiple of 8). */
WG_AVX2 static void
wg_input_avx2 (const float *strip, int ntp, float *v, size_t xi_stride)
{
  const int len = wg_strip_len (ntp);
  int g, r, i, k;

  for (g = 0; g < ntp / 8; g++)
    {
      __m256 e[6][6], d[6], col[6], o[6], hi[4];
      for (r = 0; r < 6; r++)
        {
          const float *p = strip + (size_t)r * len + 32 * g;
          wg_deinterleave (p, d);
          wg_deinterleave (p + 4, hi); /* phases 4, 5: the next tile's 0, 1 */
          d[4] = hi[0], d[5] = hi[1];
          wg_bt_avx2 (d, e[r]);
        }
      for (k = 0; k < 6; k++)
        {
          for (r = 0; r < 6; r++)
            col[r] = e[r][k];
          wg_bt_avx2 (col, o);
          for (i = 0; i < 6; i++)
            _mm256_store_ps (v + (size_t)(i * 6 + k) * xi_stride + 8 * g, o[i]);
        }
    }
}

/* The GEMM micro-kernel: WG_ROWS x (8 nv) of m, summed over cin in order.
   All WG_ROWS rows are stored (M has room for whole panels): a store
   bounded by a variable row count kept the accumulators in memory. */
#define WG_FMA_ROW(r, acc0, acc1)                                              \
  do                                                                           \
    {                                                                          \
      __m256 ur_ = _mm256_broadcast_ss (up + r);                               \
      acc0 = _mm256_fmadd_ps (ur_, v0, acc0);                                  \
      acc1 = _mm256_fmadd_ps (ur_, v1, acc1);                                  \
    }                                                                          \
  while (0)

/* Named accumulators, not an array: GCC kept an array of them in memory. */
WG_AVX2 static inline void
wg_kernel16 (const float *u, const float *v, int cin, int ntp, float *m,
             size_t ldm)
{
  __m256 a0 = _mm256_setzero_ps (), b0 = a0, a1 = a0, b1 = a0, a2 = a0;
  __m256 b2 = a0, a3 = a0, b3 = a0, a4 = a0, b4 = a0, a5 = a0, b5 = a0;
  int ci;

  for (ci = 0; ci < cin; ci++)
    {
      const float *up = u + (size_t)ci * WG_ROWS;
      const __m256 v0 = _mm256_load_ps (v + (size_t)ci * ntp);
      const __m256 v1 = _mm256_load_ps (v + (size_t)ci * ntp + 8);
      WG_FMA_ROW (0, a0, b0);
      WG_FMA_ROW (1, a1, b1);
      WG_FMA_ROW (2, a2, b2);
      WG_FMA_ROW (3, a3, b3);
      WG_FMA_ROW (4, a4, b4);
      WG_FMA_ROW (5, a5, b5);
    }
  _mm256_store_ps (m, a0), _mm256_store_ps (m + 8, b0), m += ldm;
  _mm256_store_ps (m, a1), _mm256_store_ps (m + 8, b1), m += ldm;
  _mm256_store_ps (m, a2), _mm256_store_ps (m + 8, b2), m += ldm;
  _mm256_store_ps (m, a3), _mm256_store_ps (m + 8, b3), m += ldm;
  _mm256_store_ps (m, a4), _mm256_store_ps (m + 8, b4), m += ldm;
  _mm256_store_ps (m, a5), _mm256_store_ps (m + 8, b5);
}

/* The same for 8 columns . */
WG_AVX2 static inline void
wg_kernel8 (const float *u, const float *v, int cin, int ntp, float *m,
            size_t ldm)
{
  __m256 a0 = _mm256_setzero_ps (), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  __m256 a5 = a0;
  int ci;

  for (ci = 0; ci < cin; ci++)
    {
      const float *up = u + (size_t)ci * WG_ROWS;
      const __m256 v0 = _mm256_load_ps (v + (size_t)ci * ntp);
      a0 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 0), v0, a0);
      a1 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 1), v0, a1);
      a2 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 2), v0, a2);
      a3 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 3), v0, a3);
      a4 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 4), v0, a4);
      a5 = _mm256_fmadd_ps (_mm256_broadcast_ss (up + 5), v0, a5);
    }
  _mm256_store_ps (m, a0), m += ldm;
  _mm256_store_ps (m, a1), m += ldm;
  _mm256_store_ps (m, a2), m += ldm;
  _mm256_store_ps (m, a3), m += ldm;
  _mm256_store_ps (m, a4), m += ldm;
  _mm256_store_ps (m, a5);
}

WG_AVX2 static void
wg_gemm_avx2 (const float *u, const float *v, int cin, int ntp, float *m,
              size_t ldm)
{
  int t;

  for (t = 0; t + 16 <= ntp; t += 16)
    wg_kernel16 (u, v + t, cin, ntp, m + t, ldm);
  if (t < ntp)
    wg_kernel8 (u, v + t, cin, ntp, m + t, ldm);
}

WG_AVX2 static void
wg_output_avx2 (const wg_job *j, const float *m, size_t xi_stride, int ntp,
                float bias, float *yc, int ty, int tx0)
{
  const __m256 vbias = _mm256_set1_ps (bias);
  int g, r, c, i, q;

  for (g = 0; g < ntp / 8; g++)
    {
      const int ox = 4 * (tx0 + 8 * g);
      __m256 f[4][6], col[6], o[4], row[6], out[4];
      if (ox >= j->wout)
        break;
      for (c = 0; c < 6; c++)
        {
          for (r = 0; r < 6; r++)
            col[r]
                = _mm256_load_ps (m + (size_t)(r * 6 + c) * xi_stride + 8 * g);
          wg_at_avx2 (col, o);
          for (i = 0; i < 4; i++)
            f[i][c] = o[i];
        }
      for (i = 0; i < 4; i++)
        {
          const int oy = 4 * ty + i;
          float *dst;
          if (oy >= j->hout)
            break;
          dst = yc + (size_t)oy * j->wout + ox;
          for (c = 0; c < 6; c++)
            row[c] = f[i][c];
          wg_at_avx2 (row, o);
          for (q = 0; q < 4; q++)
            o[q] = _mm256_add_ps (o[q], vbias);
          /* o[k] holds pixel k of 8 tiles: to 32 pixels in order. */
          WG_TRANSPOSE4 (o[0], o[1], o[2], o[3]);
          out[0] = _mm256_permute2f128_ps (o[0], o[1], 0x20);
          out[1] = _mm256_permute2f128_ps (o[2], o[3], 0x20);
          out[2] = _mm256_permute2f128_ps (o[0], o[1], 0x31);
          out[3] = _mm256_permute2f128_ps (o[2], o[3], 0x31);
          if (ox + 32 <= j->wout)
            for (q = 0; q < 4; q++)
              {
                __m256 sum = out[q];
                if (j->accumulate)
                  sum = _mm256_add_ps (_mm256_loadu_ps (dst + 8 * q), sum);
                _mm256_storeu_ps (dst + 8 * q, sum);
              }
          else
            {
              float tmp[32];
              int k, n = j->wout - ox;
              for (q = 0; q < 4; q++)
                _mm256_storeu_ps (tmp + 8 * q, out[q]);
              for (k = 0; k < n; k++)
                dst[k] = (j->accumulate ? dst[k] : 0.0f) + tmp[k];
            }
        }
    }
}
#endif /* WG_X86 */

/* ---------------------------------------------------------------- run */

static void
wg_block (const wg_job *j, int block, float *work)
{
  const int ty = block / j->segments, tx0 = (block % j->segments) * j->tiles;
  const int nt = j->tiles_w - tx0 < j->tiles ? j->tiles_w - tx0 : j->tiles;
  const int ntp = (nt + 7) / 8 * 8;
  const size_t panels = wg_panels (j->cout);
  const size_t v_stride = (size_t)j->cin * ntp;
  const size_t ldm = (size_t)WG_N * ntp; /* M: cout x WG_N x ntp */
  const size_t plane = (size_t)j->hout * j->wout;
  float *strip = work, *v = work + wg_strip_floats (j->tiles);
  float *m = v + (size_t)WG_N * j->cin * j->tiles;
  size_t xi, p;
  int c;

  for (c = 0; c < j->cin; c++)
    {
      wg_stage (j, c, ty, tx0, ntp, strip);
#ifdef WG_X86
      if (j->isa == GD_WINOGRAD_AVX2)
        wg_input_avx2 (strip, ntp, v + (size_t)c * ntp, v_stride);
      else
#endif
        wg_input_c (strip, ntp, v + (size_t)c * ntp, v_stride);
    }
  for (xi = 0; xi < WG_N; xi++)
    for (p = 0; p < panels; p++)
      {
        const float *u = j->u + (xi * panels + p) * (size_t)j->cin * WG_ROWS;
        float *mp = m + p * WG_ROWS * ldm + xi * ntp;
        int rows = j->cout - (int)p * WG_ROWS;
        rows = rows < WG_ROWS ? rows : WG_ROWS;
#ifdef WG_X86
        if (j->isa == GD_WINOGRAD_AVX2)
          wg_gemm_avx2 (u, v + xi * v_stride, j->cin, ntp, mp, ldm);
        else
#endif
          wg_gemm_c (u, v + xi * v_stride, j->cin, ntp, mp, ldm, rows);
      }
  for (c = 0; c < j->cout; c++)
    {
      float bias = j->bias != NULL ? j->bias[c] : 0.0f;
      float *yc = j->y + (size_t)c * plane;
#ifdef WG_X86
      if (j->isa == GD_WINOGRAD_AVX2)
        wg_output_avx2 (j, m + (size_t)c * ldm, (size_t)ntp, ntp, bias, yc, ty,
                        tx0);
      else
#endif
        wg_output_c (j, m + (size_t)c * ldm, (size_t)ntp, nt, bias, yc, ty,
                     tx0);
    }
}

/* Each thread takes the next block not yet taken, so a thread that the
   machine's other work slows takes fewer; which thread runs a block
   changes nothing in its bits. */
static void
wg_task (void *ctx, int index, int count)
{
  wg_job *j = ctx;
  int b;

  (void)count;
  while ((b = __atomic_fetch_add (&j->next_block, 1, __ATOMIC_RELAXED))
         < j->n_blocks)
    wg_block (j, b, j->wg->work[index]);
}

int
gd_winograd_conv3x3 (gd_winograd *wg, int isa, const float *x, int cin, int h,
                     int w, int upsample, const float *weight,
                     const float *bias, int cout, float *y, int accumulate)
{
  const int best = gd_winograd_isa_best ();
  wg_job j;
  size_t need;
  int count, i, tiles_h;

  GD_ASSERT (cin > 0 && cout > 0 && h > 0 && w > 0);
  if (wg == NULL || best < 0 || isa < 0 || isa > best)
    return -1;
  j.x = x;
  j.cin = cin;
  j.h = h;
  j.w = w;
  j.upsample = upsample != 0;
  j.bias = bias;
  j.cout = cout;
  j.y = y;
  j.accumulate = accumulate;
  j.hout = upsample ? 2 * h : h;
  j.wout = upsample ? 2 * w : w;
  j.tiles_w = (j.wout + 3) / 4;
  tiles_h = (j.hout + 3) / 4;
  j.tiles = wg_tiles (cin, cout);
  j.segments = (j.tiles_w + j.tiles - 1) / j.tiles;
  GD_ASSERT ((size_t)tiles_h * j.segments <= INT_MAX);
  j.n_blocks = tiles_h * j.segments;
  j.isa = isa;
  j.wg = wg;
  j.next_block = 0;

  j.u = wg_weights_get (wg, weight, cin, cout);
  if (j.u == NULL)
    return -1;
  count = gd_threads ();
  if (count > j.n_blocks)
    count = j.n_blocks;
  need = wg_work_floats (cin, cout);
  for (i = 0; i < count; i++)
    if (wg->work_floats[i] < need)
      {
        void *mem = NULL;
        if (posix_memalign (&mem, 64, need * sizeof (float)) != 0)
          return -1;
        free (wg->work[i]);
        wg->bytes += (need - wg->work_floats[i]) * sizeof (float);
        wg->work[i] = mem;
        wg->work_floats[i] = need;
      }
  gd_parallel_run (wg_task, &j, count);
  return 0;
}
