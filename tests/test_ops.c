/* test_ops.c: every tensor op of core/ops.c against a naive reference.
 *
 * The references are plain loops in double precision, written from
 * model.py's definitions; each comparison prints its normalised error
 * (ggml's test-backend-ops: sum (a - b)^2 / sum b^2) and fails above a
 * bound that float32 rounding stays well under.
 */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-test.h"

/* Reports and checks the normalised error of `got` against `want`. */
static void
check_nmse (const char *what, const float *got, const double *want, size_t n,
            double max_nmse)
{
  double err = 0.0, norm = 0.0, max_abs = 0.0;
  size_t i;

  for (i = 0; i < n; i++)
    {
      double d = (double)got[i] - want[i];
      err += d * d;
      norm += want[i] * want[i];
      if (!(fabs (d) <= max_abs))
        max_abs = isnan (d) ? INFINITY : fabs (d);
    }
  err = norm > 0 ? err / norm : err;
  if (!(err <= max_nmse))
    {
      printf ("FAIL %-48s nmse %.3g > %.3g (max abs %.3g)\n", what, err,
              max_nmse, max_abs);
      failures++;
    }
  else
    printf ("ok   %-48s nmse %.3g, max abs %.3g\n", what, err, max_abs);
}

/* ---------------------------------------------------------------- conv */

static void
test_conv (int cin, int h, int w, int cout, int ksize, int stride, int upsample,
           int accumulate, int with_bias, int tiny_budget)
{
  int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;
  int hout = gd_conv2d_out_size (eh, ksize, stride);
  int wout = gd_conv2d_out_size (ew, ksize, stride);
  size_t n_out = (size_t)cout * hout * wout;
  float *x = rand_buf ((size_t)cin * h * w, 1.0f);
  float *wt = rand_buf ((size_t)cout * cin * ksize * ksize, 0.3f);
  float *b = with_bias ? rand_buf ((size_t)cout, 0.5f) : NULL;
  float *y = rand_buf (n_out, 1.0f);
  float *init = malloc (n_out * sizeof *init);
  double *want = malloc (n_out * sizeof *want);
  /* tiny_budget: a workspace for one thread only (its one chunk). */
  int threads = gd_threads ();
  size_t col_floats;

  if (tiny_budget)
    gd_threads_set (1);
  col_floats = gd_conv2d_col_floats (cin, ksize, stride, hout, wout);
  gd_threads_set (threads);
  float *col = col_floats ? rand_buf (col_floats, 1.0f) : NULL;
  char what[160];

  memcpy (init, y, n_out * sizeof *init);
  ref_conv2d (x, cin, h, w, upsample, wt, b, cout, ksize, stride,
              accumulate ? init : NULL, want);
  gd_conv2d (x, cin, h, w, upsample, wt, b, cout, ksize, stride, y, accumulate,
             col, col_floats);
  snprintf (what, sizeof what, "conv%dx%d/%d%s %d->%d %dx%d%s%s%s", ksize,
            ksize, stride, upsample ? " up2" : "", cin, cout, w, h,
            accumulate ? " acc" : "", with_bias ? "" : " nobias",
            tiny_budget ? " one chunk of workspace" : "");
  check_nmse (what, y, want, n_out, 1e-10);
  free (x);
  free (wt);
  free (b);
  free (y);
  free (init);
  free (want);
  free (col);
}

/* ---------------------------------------------------------------- norms */

static void
ref_channel_norm (const float *x, int c, size_t n, const float *weight,
                  const float *bias, int with_silu, double *y)
{
  size_t p;
  int ch;

  for (p = 0; p < n; p++)
    {
      double mean = 0.0, var = 0.0, rstd;
      for (ch = 0; ch < c; ch++)
        mean += x[(size_t)ch * n + p];
      mean /= c;
      for (ch = 0; ch < c; ch++)
        {
          double d = x[(size_t)ch * n + p] - mean;
          var += d * d;
        }
      var /= c;
      rstd = 1.0 / sqrt (var + 1e-5);
      for (ch = 0; ch < c; ch++)
        {
          double v
              = (x[(size_t)ch * n + p] - mean) * rstd * weight[ch] + bias[ch];
          y[(size_t)ch * n + p] = with_silu ? v / (1.0 + exp (-v)) : v;
        }
    }
}

static void
test_norm (int c, size_t n, int with_silu, int in_place, float offset)
{
  float *x = rand_buf ((size_t)c * n, 3.0f);
  float *wt = rand_buf ((size_t)c, 1.0f);
  float *b = rand_buf ((size_t)c, 1.0f);
  float *y = in_place ? x : malloc ((size_t)c * n * sizeof *y);
  double *want = malloc ((size_t)c * n * sizeof *want);
  size_t i;
  char what[128];

  /* An offset common to all channels tests the two-pass variance. */
  for (i = 0; i < (size_t)c * n; i++)
    x[i] += offset;
  ref_channel_norm (x, c, n, wt, b, with_silu, want);
  if (with_silu)
    gd_channel_norm_silu (x, c, n, wt, b, y);
  else
    gd_channel_norm (x, c, n, wt, b, y);
  snprintf (what, sizeof what, "channel_norm%s c=%d pixels=%zu%s offset %g",
            with_silu ? "_silu" : "", c, n, in_place ? " in place" : "",
            (double)offset);
  /* With an offset the float32 mean itself is off by ~c ulp(offset). */
  check_nmse (what, y, want, (size_t)c * n, offset != 0.0f ? 1e-10 : 1e-11);
  free (x);
  if (!in_place)
    free (y);
  free (wt);
  free (b);
  free (want);
}

static void
test_norm_constant_pixel (void)
{
  /* All channels equal: var = 0, output = bias exactly (eps keeps it
     finite). */
  float x[4 * 3], y[4 * 3], wt[4] = { 1, 2, 3, 4 }, b[4] = { .5f, -1, 0, 2 };
  int i, ok = 1;

  for (i = 0; i < 12; i++)
    x[i] = 7.25f;
  gd_channel_norm (x, 4, 3, wt, b, y);
  for (i = 0; i < 12; i++)
    ok = ok && y[i] == b[i / 3];
  check (ok, "channel_norm of a constant pixel gives the bias");
}

/* ---------------------------------------------------------------- misc */

static void
test_silu (void)
{
  size_t n = 1003, i; /* not a multiple of the vector width */
  float *x = rand_buf (n, 12.0f), *y = malloc (n * sizeof *y);
  double *want = malloc (n * sizeof *want);
  float one[1], v;
  int same = 1;

  x[0] = 0.0f;
  x[1] = -100.0f; /* exp overflows: must give ~ -0, not NaN */
  x[2] = 100.0f;
  x[3] = -87.5f;
  for (i = 0; i < n; i++)
    want[i] = x[i] / (1.0 + exp (-(double)x[i]));
  gd_silu (x, n, y);
  check_nmse ("silu", y, want, n, 1e-12);
  check (isfinite (y[1]) && fabsf (y[1]) < 1e-30f && y[2] == 100.0f,
         "silu saturates without NaN at +-100");
  /* The vector and scalar paths agree bit for bit. */
  for (i = 0; i < n; i++)
    {
      gd_silu (x + i, 1, one);
      same = same && memcmp (one, y + i, sizeof one) == 0;
    }
  check (same, "silu: vector and scalar paths identical");
  v = NAN;
  gd_silu (&v, 1, one);
  check (isnan (one[0]), "silu (NaN) is NaN");
  gd_silu (x, n, x);
  check (memcmp (x, y, n * sizeof *x) == 0, "silu in place");
  free (x);
  free (y);
  free (want);
}

static void
test_linear (int n_in, int n_out)
{
  float *x = rand_buf ((size_t)n_in, 1.0f);
  float *wt = rand_buf ((size_t)n_in * n_out, 0.5f);
  float *b = rand_buf ((size_t)n_out, 1.0f);
  float *y = rand_buf ((size_t)n_out, 1.0f);
  double *want = malloc ((size_t)n_out * sizeof *want);
  char what[64];
  int i, j;

  for (i = 0; i < n_out; i++)
    {
      want[i] = b[i];
      for (j = 0; j < n_in; j++)
        want[i] += (double)wt[(size_t)i * n_in + j] * x[j];
    }
  gd_linear (x, n_in, wt, b, n_out, y);
  snprintf (what, sizeof what, "linear %d->%d", n_in, n_out);
  check_nmse (what, y, want, (size_t)n_out, 1e-12);
  free (x);
  free (wt);
  free (b);
  free (y);
  free (want);
}

static void
test_upsample (int c, int h, int w)
{
  float *x = rand_buf ((size_t)c * h * w, 1.0f);
  float *y = rand_buf ((size_t)c * 4 * h * w, 1.0f);
  int ch, yy, xx, ok = 1;
  char what[64];

  gd_upsample_nearest2 (x, c, h, w, y);
  for (ch = 0; ch < c; ch++)
    for (yy = 0; yy < 2 * h; yy++)
      for (xx = 0; xx < 2 * w; xx++)
        ok = ok
             && y[((size_t)ch * 2 * h + yy) * 2 * w + xx]
                    == x[((size_t)ch * h + yy / 2) * w + xx / 2];
  snprintf (what, sizeof what, "upsample_nearest2 %d x %dx%d exact", c, w, h);
  check (ok, what);
  free (x);
  free (y);
}

static void
test_concat_add (void)
{
  size_t n = 37, i;
  float *a = rand_buf (3 * n, 1.0f), *b = rand_buf (5 * n, 1.0f);
  float *y = rand_buf (8 * n, 1.0f), *z = rand_buf (3 * n, 1.0f);
  float *z0 = malloc (3 * n * sizeof *z0);
  int ok = 1;

  gd_concat (a, 3, b, 5, n, y);
  ok = memcmp (y, a, 3 * n * sizeof *y) == 0
       && memcmp (y + 3 * n, b, 5 * n * sizeof *y) == 0;
  check (ok, "concat [a; b] exact");
  /* In place: a already at the head of y (as the forward pass uses it). */
  memcpy (y, a, 3 * n * sizeof *y);
  for (i = 3 * n; i < 8 * n; i++) /* (a loop: GCC 12 + ASan misreads memset) */
    y[i] = 0.0f;
  gd_concat (y, 3, b, 5, n, y);
  ok = memcmp (y, a, 3 * n * sizeof *y) == 0
       && memcmp (y + 3 * n, b, 5 * n * sizeof *y) == 0;
  check (ok, "concat with a at the head of y");

  memcpy (z0, z, 3 * n * sizeof *z0);
  gd_add_inplace (z, a, 3 * n);
  ok = 1;
  for (i = 0; i < 3 * n; i++)
    ok = ok && z[i] == z0[i] + a[i];
  check (ok, "add in place exact");
  free (a);
  free (b);
  free (y);
  free (z);
  free (z0);
}

static void
test_timestep_embedding (void)
{
  const double ts[] = { 0.0, 1.0, 10.0, 500.5, 999.25, 1000.0 };
  const int dims[] = { 2, 8, 32, 64 };
  size_t a, b;
  int i;

  for (a = 0; a < sizeof ts / sizeof ts[0]; a++)
    for (b = 0; b < sizeof dims / sizeof dims[0]; b++)
      {
        int dim = dims[b], half = dim / 2;
        float *got = malloc ((size_t)dim * sizeof *got);
        double *want = malloc ((size_t)dim * sizeof *want);
        char what[64];
        for (i = 0; i < half; i++)
          {
            double freq = exp (-log (10000.0) * i / half);
            want[i] = cos (ts[a] * freq);
            want[half + i] = sin (ts[a] * freq);
          }
        gd_timestep_embedding (ts[a], dim, got);
        snprintf (what, sizeof what, "timestep_embedding t=%g dim=%d", ts[a],
                  dim);
        /* float32 freq and t*freq (as torch): |arg error| <= ~1e-4 at
           t = 1000, so the bound is loose for large t. */
        check_nmse (what, got, want, (size_t)dim, ts[a] > 100 ? 1e-8 : 1e-12);
        free (got);
        free (want);
      }
  {
    float e[4];
    gd_timestep_embedding (0.0, 4, e);
    check (e[0] == 1.0f && e[1] == 1.0f && e[2] == 0.0f && e[3] == 0.0f,
           "timestep_embedding at t=0 is [1, 1, 0, 0]");
  }
}

static void
test_pad_crop (int c, int h, int w, int ph, int pw)
{
  float *x = rand_buf ((size_t)c * h * w, 1.0f);
  float *y = rand_buf ((size_t)c * ph * pw, 1.0f);
  float *z = rand_buf ((size_t)c * h * w, 1.0f);
  int ch, yy, xx, ok = 1;
  char what[80];

  gd_pad_replicate (x, c, h, w, ph, pw, y);
  for (ch = 0; ch < c; ch++)
    for (yy = 0; yy < ph; yy++)
      for (xx = 0; xx < pw; xx++)
        {
          int sy = yy < h ? yy : h - 1, sx = xx < w ? xx : w - 1;
          ok = ok
               && y[((size_t)ch * ph + yy) * pw + xx]
                      == x[((size_t)ch * h + sy) * w + sx];
        }
  snprintf (what, sizeof what, "pad_replicate %dx%d -> %dx%d exact", w, h, pw,
            ph);
  check (ok, what);
  gd_crop (y, c, ph, pw, h, w, z);
  snprintf (what, sizeof what, "crop %dx%d -> %dx%d gives the input back", pw,
            ph, w, h);
  check (memcmp (z, x, (size_t)c * h * w * sizeof *z) == 0, what);
  free (x);
  free (y);
  free (z);
}

static void
count_task (void *ctx, int index, int count)
{
  int *hits = ctx;

  __atomic_add_fetch (&hits[index], count, __ATOMIC_RELAXED);
}

static void
test_threads (void)
{
  static const int counts[] = { 1, 3, 8 };
  int hits[8], i, ok = 1;
  size_t k;

  memset (hits, 0, sizeof hits);
  gd_parallel_run (count_task, hits, 8);
  for (i = 0; i < 8; i++)
    ok = ok && hits[i] == 8;
  check (ok, "parallel_run calls each of 8 tasks once");

  /* Row splits with more threads than rows, fewer, and one. */
  for (k = 0; k < sizeof counts / sizeof counts[0]; k++)
    {
      printf ("--- %d thread(s)\n", counts[k]);
      gd_threads_set (counts[k]);
      check (gd_threads () == counts[k], "threads_set");
      /* Sizes above the kernels' minimum work per thread (2^18 MACs). */
      test_conv (16, 40, 24, 16, 3, 1, 0, 1, 1, 0);
      test_conv (16, 40, 24, 16, 3, 1, 0, 0, 1, 1);
      test_conv (16, 41, 33, 16, 3, 2, 0, 0, 1, 0);
      test_conv (16, 12, 10, 16, 3, 1, 1, 1, 1, 1);
      test_conv (32, 40, 30, 32, 1, 1, 0, 1, 1, 0);
      test_conv (3, 2, 5, 4, 3, 2, 0, 0, 1, 1);
      test_norm (16, 20000, 1, 1, 0.0f);
    }
  gd_threads_set (0);
  printf ("--- %d thread(s) (all cores)\n", gd_threads ());
}

/* The same convolution gives the same bits whatever the thread count and
 * the workspace given: each sgemm covers the layer's own fixed chunk of
 * rows (BLAS kernels sum an element differently in another column block of
 * a call, OpenBLAS's AVX2 ones among them). */
static void
test_conv_determinism (void)
{
  static const struct
  {
    int cin, h, w, cout, ksize, stride, upsample;
  } shapes[] = {
    { 64, 64, 96, 32, 3, 1, 0 }, /* 16 chunks of 4 rows */
    { 24, 37, 53, 8, 3, 2, 0 },
    { 16, 21, 30, 16, 3, 1, 1 },
    { 48, 50, 170, 24, 1, 1, 0 }, /* 1x1: chunks of pixels */
  };
  static const int counts[] = { 1, 2, 3, 5 };

  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
    {
      int cin = shapes[k].cin, h = shapes[k].h, w = shapes[k].w;
      int ksize = shapes[k].ksize, stride = shapes[k].stride;
      int up = shapes[k].upsample, cout = shapes[k].cout;
      int hout = gd_conv2d_out_size (up ? 2 * h : h, ksize, stride);
      int wout = gd_conv2d_out_size (up ? 2 * w : w, ksize, stride);
      size_t n_out = (size_t)cout * hout * wout, col_max;
      float *x = rand_buf ((size_t)cin * h * w, 1.0f);
      float *wt = rand_buf ((size_t)cout * cin * ksize * ksize, 0.3f);
      float *b = rand_buf ((size_t)cout, 0.5f);
      float *ref = malloc (n_out * sizeof *ref);
      float *y = malloc (n_out * sizeof *y);
      float *col;
      int same = 1;

      gd_threads_set (8);
      col_max = gd_conv2d_col_floats (cin, ksize, stride, hout, wout);
      col = col_max ? rand_buf (4 * col_max, 1.0f) : NULL;
      gd_threads_set (1);
      gd_conv2d (x, cin, h, w, up, wt, b, cout, ksize, stride, ref, 0, col,
                 gd_conv2d_col_floats (cin, ksize, stride, hout, wout));
      for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (int big = 0; big < 2; big++)
          {
            size_t floats;

            gd_threads_set (counts[c]);
            floats = big ? 4 * col_max
                         : gd_conv2d_col_floats (cin, ksize, stride, hout,
                                                 wout);
            memset (y, 0, n_out * sizeof *y);
            gd_conv2d (x, cin, h, w, up, wt, b, cout, ksize, stride, y, 0,
                       col, floats);
            same &= memcmp (y, ref, n_out * sizeof *y) == 0;
          }
      {
        char what[200];

        snprintf (what, sizeof what,
                  "conv%dx%d/%d%s %d->%d %dx%d: the same bits with 1, 2, 3 "
                  "and 5 threads, one chunk of workspace or four times all "
                  "of it",
                  ksize, ksize, stride, up ? " up2" : "", cin, cout, w, h);
        check (same, what);
      }
      free (x);
      free (wt);
      free (b);
      free (ref);
      free (y);
      free (col);
    }
  gd_threads_set (0);
}

int
main (void)
{
  int acc, up;

  test_conv_determinism ();

  check (gd_conv2d_out_size (37, 3, 1) == 37
             && gd_conv2d_out_size (37, 3, 2) == 19
             && gd_conv2d_out_size (8, 3, 2) == 4
             && gd_conv2d_out_size (1, 3, 2) == 1
             && gd_conv2d_out_size (5, 1, 1) == 5,
         "conv output sizes as PyTorch's (padding ksize/2)");

  for (acc = 0; acc <= 1; acc++)
    {
      test_conv (3, 16, 16, 8, 3, 1, 0, acc, 1, 0);
      test_conv (5, 7, 9, 6, 3, 1, 0, acc, 1, 1);
      test_conv (4, 1, 1, 3, 3, 1, 0, acc, 1, 0);
      test_conv (4, 2, 1, 3, 3, 1, 0, acc, 0, 1);
      test_conv (6, 8, 8, 6, 3, 2, 0, acc, 1, 0);
      test_conv (3, 7, 5, 4, 3, 2, 0, acc, 1, 1);
      test_conv (2, 1, 1, 2, 3, 2, 0, acc, 1, 0);
      test_conv (6, 5, 11, 7, 1, 1, 0, acc, 1, 0);
      test_conv (16, 13, 10, 24, 1, 1, 0, acc, 0, 0);
      test_conv (5, 7, 9, 6, 1, 2, 0, acc, 1, 1);
    }
  for (up = 0; up < 2; up++)
    {
      test_conv (4, 4, 5, 5, 3, 1, 1, 0, 1, up);
      test_conv (3, 1, 1, 2, 3, 1, 1, 1, 1, up);
      test_conv (8, 3, 7, 8, 3, 1, 1, 0, 1, up);
    }
  test_conv (32, 64, 48, 64, 3, 1, 0, 0, 1, 0);
  test_conv (64, 33, 20, 16, 3, 2, 0, 1, 1, 1);

  test_norm (8, 100, 0, 0, 0.0f);
  test_norm (8, 1000, 1, 0, 0.0f);
  test_norm (96, 300, 1, 1, 0.0f);
  test_norm (1, 17, 0, 0, 0.0f);
  test_norm (3, 513, 0, 1, 0.0f);
  test_norm (16, 260, 1, 0, 100.0f);
  test_norm_constant_pixel ();
  test_silu ();
  test_linear (32, 128);
  test_linear (7, 3);
  test_upsample (3, 4, 5);
  test_upsample (2, 1, 1);
  test_concat_add ();
  test_timestep_embedding ();
  test_pad_crop (3, 29, 37, 32, 40);
  test_pad_crop (2, 1, 1, 8, 8);
  test_pad_crop (1, 4, 4, 4, 4);
  test_threads ();

  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
