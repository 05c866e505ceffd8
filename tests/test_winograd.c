/* test_winograd.c: Winograd F(4x4, 3x3) convolutions (core/winograd.c)
 * against a naive direct convolution in double, for each kernel variant
 * this CPU runs (portable C, AVX2 + FMA), on shapes that cover one tile,
 * partial tiles at the right and bottom, several blocks per row of tiles,
 * odd channel counts (partial GEMM panels), upsampling, bias and
 * accumulate; the same bits with 1, 2 and 3 threads; and the forward pass
 * through it against the exact one on the small test model (within 1e-4 of
 * max |eps|, not equal, the same bits with 1, 2 and 3 threads) where the
 * network's fast path is Winograd (meson runs it capped at AVX2).
 *
 * Bound (winograd.h): at each output,
 *   |y - ref| <= 36100 eps_32 (sum |w x| + |bias| + |y_before|)
 * where 36100 = (|A^T|_inf |B^T|_inf |G|_inf)^2 = (19 * 10 * 1)^2, the
 * amplification of a rounding in the transforms' worst case.  A wrong
 * constant or index gives errors of the order of sum |w x| itself.
 */
#include "gimp-diffusion.h"
#include "ops.h"
#include "winograd.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL_TEST_SEED 0x2545F4914F6CDD1Dull
#include "kernel-test.h"

#define WG_BOUND (36100.0 * FLT_EPSILON)

/* Direct 3x3 convolution, padding 1, in double; scale gets sum |w x| +
   |bias| + |init| at each output. */
static void
ref_conv3x3 (const float *x, int cin, int h, int w, int upsample,
             const float *weight, const float *bias, int cout,
             const float *init, double *y, double *scale)
{
  const int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;
  int o, oy, ox, c, ky, kx;

  for (o = 0; o < cout; o++)
    for (oy = 0; oy < eh; oy++)
      for (ox = 0; ox < ew; ox++)
        {
          size_t at = ((size_t)o * eh + oy) * ew + ox;
          double acc = bias ? bias[o] : 0.0, mag = bias ? fabs (bias[o]) : 0.0;
          if (init)
            acc += init[at], mag += fabs (init[at]);
          for (c = 0; c < cin; c++)
            for (ky = 0; ky < 3; ky++)
              for (kx = 0; kx < 3; kx++)
                {
                  int iy = oy + ky - 1, ix = ox + kx - 1;
                  double p;
                  if (iy < 0 || iy >= eh || ix < 0 || ix >= ew)
                    continue;
                  if (upsample)
                    iy /= 2, ix /= 2;
                  p = (double)weight[((o * cin + c) * 3 + ky) * 3 + kx]
                      * x[((size_t)c * h + iy) * w + ix];
                  acc += p;
                  mag += fabs (p);
                }
          y[at] = acc;
          scale[at] = mag;
        }
}

static const char *
isa_name (int isa)
{
  return isa == GD_WINOGRAD_AVX2 ? "avx2" : "c";
}

/* One shape with one variant: the bound at every output; returns the
   largest error seen relative to its scale. */
static double
test_conv (int isa, int cin, int h, int w, int cout, int upsample,
           int accumulate, int with_bias)
{
  const int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;
  const size_t n_out = (size_t)cout * eh * ew;
  float *x = rand_buf ((size_t)cin * h * w, 1.0f);
  float *wt = rand_buf ((size_t)cout * cin * 9, 0.3f);
  float *b = rand_buf ((size_t)cout, 0.5f);
  float *y = rand_buf (n_out, 1.0f), *init = malloc (n_out * sizeof *init);
  double *want = malloc (n_out * sizeof *want);
  double *scale = malloc (n_out * sizeof *scale), worst = 0;
  gd_winograd *wg = gd_winograd_new ();
  size_t i, bad = 0;
  int rc;

  if (init == NULL || want == NULL || scale == NULL || wg == NULL)
    abort ();
  memcpy (init, y, n_out * sizeof *init);
  ref_conv3x3 (x, cin, h, w, upsample, wt, with_bias ? b : NULL, cout,
               accumulate ? init : NULL, want, scale);
  rc = gd_winograd_conv3x3 (wg, isa, x, cin, h, w, upsample, wt,
                            with_bias ? b : NULL, cout, y, accumulate);
  for (i = 0; rc == 0 && i < n_out; i++)
    {
      double e = fabs ((double)y[i] - want[i]) / (scale[i] + 1e-30);
      if (!(e <= WG_BOUND))
        bad++;
      worst = e > worst || e != e ? e : worst;
    }
  printf ("%s %s: %d->%d %dx%d%s%s%s: max err / scale %.3g (bound %.3g)\n",
          rc == 0 && bad == 0 ? "ok  " : "FAIL", isa_name (isa), cin, cout, w,
          h, upsample ? " up2" : "", accumulate ? " acc" : "",
          with_bias ? " bias" : "", worst, WG_BOUND);
  CHECK (rc == 0 && bad == 0, "%s %d->%d %dx%d: %zu outputs past the bound",
         isa_name (isa), cin, cout, w, h, bad);
  free (x);
  free (wt);
  free (b);
  free (y);
  free (init);
  free (want);
  free (scale);
  gd_winograd_free (wg);
  return worst;
}

/* The same bits with 1, 2 and 3 threads (blocks fixed by the shape). */
static void
test_threads (int isa)
{
  const int cin = 24, cout = 20, h = 45, w = 150; /* 2 blocks per row */
  const size_t n_out = (size_t)cout * h * w;
  float *x = rand_buf ((size_t)cin * h * w, 1.0f);
  float *wt = rand_buf ((size_t)cout * cin * 9, 0.3f);
  float *b = rand_buf ((size_t)cout, 0.5f);
  float *init = rand_buf (n_out, 1.0f), *y[3];
  gd_winograd *wg = gd_winograd_new ();
  int t, rc = 0;

  for (t = 0; t < 3; t++)
    {
      y[t] = malloc (n_out * sizeof *y[t]);
      if (y[t] == NULL)
        abort ();
      memcpy (y[t], init, n_out * sizeof *y[t]);
      gd_threads_set (t + 1);
      rc |= gd_winograd_conv3x3 (wg, isa, x, cin, h, w, 0, wt, b, cout, y[t],
                                 1);
    }
  gd_threads_set (0);
  CHECK (rc == 0 && memcmp (y[0], y[1], n_out * sizeof *y[0]) == 0
             && memcmp (y[0], y[2], n_out * sizeof *y[0]) == 0,
         "%s: other bits with 1, 2 and 3 threads", isa_name (isa));
  printf ("%s %s: the same bits with 1, 2 and 3 threads\n",
          failures ? "FAIL" : "ok  ", isa_name (isa));
  for (t = 0; t < 3; t++)
    free (y[t]);
  free (init);
  free (x);
  free (wt);
  free (b);
  gd_winograd_free (wg);
}

/* The whole pass through the Winograd path against the exact one. */
static void
test_forward (const char *model_path)
{
  const int w = 37, h = 29;
  gd_error err;
  gd_model *m = gd_model_load (model_path, &err);
  size_t n, i;
  float *x, *exact, *fast, *again;
  double max_abs = 0, max_ref = 0;
  int ok, t;

  if (m == NULL)
    {
      CHECK (0, "%s", err.message);
      return;
    }
  n = (size_t)gd_model_get_info (m)->in_channels * w * h;
  x = rand_buf (n, 1.0f);
  exact = malloc (n * sizeof *exact);
  fast = malloc (n * sizeof *fast);
  again = malloc (n * sizeof *again);
  ok = gd_model_eps (m, x, w, h, 321.5, exact, &err) == GD_OK;
  gd_model_set_precision (m, GD_PRECISION_FAST);
  ok = ok && gd_model_eps (m, x, w, h, 321.5, fast, &err) == GD_OK;
  /* The same bits with 1, 2 and 3 threads. */
  for (t = 1; ok && t <= 3; t++)
    {
      gd_threads_set (t);
      ok = gd_model_eps (m, x, w, h, 321.5, again, &err) == GD_OK
           && memcmp (fast, again, n * sizeof *fast) == 0;
    }
  gd_threads_set (2);
  for (i = 0; ok && i < n; i++)
    {
      double d = fabs ((double)fast[i] - exact[i]);
      max_abs = d > max_abs ? d : max_abs;
      max_ref = fabs (exact[i]) > max_ref ? fabs (exact[i]) : max_ref;
    }
  /* Not 0: the fast pass did not run exact. */
  CHECK (ok && max_abs > 0 && max_abs <= 1e-4 * max_ref,
         "forward pass: max abs %.3g (max |eps| %.3g), or other bits with "
         "1, 2, 3 threads",
         max_abs, max_ref);
  printf ("%s forward pass %dx%d (%s), fast against exact: max abs %.3g "
          "(max |eps| %.3g), the same bits with 1, 2 and 3 threads\n",
          failures ? "FAIL" : "ok  ", w, h, gd_fast_path_kind (), max_abs,
          max_ref);
  free (x);
  free (exact);
  free (fast);
  free (again);
  gd_model_free (m);
}

int
main (int argc, char **argv)
{
  const int best = gd_winograd_isa_best ();
  const char *kind = gd_fast_path_kind ();
  int isa, acc;
  float dummy = 1.0f;

  if (best < 0)
    {
      printf ("SKIP: GD_MAX_ISA=%s allows no fast path\n",
              getenv ("GD_MAX_ISA"));
      return 77;
    }
  printf ("best variant here: %s; the network's fast path: %s\n",
          isa_name (best), kind ? kind : "exact");
  gd_threads_set (2);
  for (isa = GD_WINOGRAD_C; isa <= best; isa++)
    {
      for (acc = 0; acc <= 1; acc++)
        {
          test_conv (isa, 1, 1, 1, 1, 0, acc, 1);
          test_conv (isa, 3, 7, 9, 5, 0, acc, 1);
          test_conv (isa, 4, 13, 5, 7, 1, acc, 1);
          test_conv (isa, 16, 17, 33, 13, 0, acc, 0);
          test_conv (isa, 32, 12, 131, 32, 0, acc, 1);
          test_conv (isa, 37, 8, 8, 9, 1, acc, 1);
          test_conv (isa, 64, 9, 70, 64, 0, acc, 1);
          test_conv (isa, 128, 6, 20, 3, 0, acc, 1);
        }
      test_threads (isa);
    }
  /* A variant above this CPU's: refused, nothing written. */
  {
    gd_winograd *wg = gd_winograd_new ();
    float y = 5.0f;
    CHECK (gd_winograd_conv3x3 (wg, best + 1, &dummy, 1, 1, 1, 0, &dummy, NULL,
                                1, &y, 0)
                   == -1
               && y == 5.0f,
           "a variant this CPU lacks ran");
    gd_winograd_free (wg);
  }
  if (argc > 1 && kind != NULL && strstr (kind, "winograd") != NULL)
    test_forward (argv[1]);
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
