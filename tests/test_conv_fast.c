/* test_conv_fast.c: the convolutions' fast path (core/conv-fast.c) against
 * a naive reference, at the ISA that GD_MAX_ISA leaves (meson runs it once
 * per cap this CPU supports), and the fast forward pass against the exact
 * one on the small test model.
 *
 * Bounds: BF16 products (8-bit mantissas, FP32 sums) stay near 1e-5 in
 * normalised error on these sizes, FP32 kernels near 1e-14; the bounds
 * are 1e-4 and 1e-10.  Skipped (77) where this build or CPU has no fast
 * path, or where the cap asks for an ISA the CPU lacks.
 */
#include "conv-fast.h"
#include "gimp-diffusion.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-test.h"

static double nmse_bound;

/* A cache of its own: the cache keys weights by address, and malloc may
   give a later test the address of an earlier one's weights. */
static void
test_conv (int cin, int h, int w, int cout, int ksize, int stride, int upsample,
           int accumulate)
{
  int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;
  int hout = gd_conv2d_out_size (eh, ksize, stride);
  int wout = gd_conv2d_out_size (ew, ksize, stride);
  size_t n_out = (size_t)cout * hout * wout, i;
  float *x = rand_buf ((size_t)cin * h * w, 1.0f);
  float *wt = rand_buf ((size_t)cout * cin * ksize * ksize, 0.3f);
  float *b = rand_buf ((size_t)cout, 0.5f);
  float *y = rand_buf (n_out, 1.0f), *y2 = malloc (n_out * sizeof *y2);
  float *init = malloc (n_out * sizeof *init);
  double *want = malloc (n_out * sizeof *want), err = 0, norm = 0;
  char what[200];
  int rc, rc2;
  gd_conv_fast *fast = gd_conv_fast_new ();

  memcpy (init, y, n_out * sizeof *init);
  ref_conv2d (x, cin, h, w, upsample, wt, b, cout, ksize, stride,
              accumulate ? init : NULL, want);
  rc = gd_conv_fast_run (fast, x, cin, h, w, upsample, wt, b, cout, ksize,
                         stride, y, accumulate);
  for (i = 0; i < n_out; i++)
    {
      double d = (double)y[i] - want[i];
      err += d * d;
      norm += want[i] * want[i];
    }
  err /= norm;
  /* Twice: the same bits (a second call reuses the cached primitive). */
  memcpy (y2, init, n_out * sizeof *y2);
  rc2 = gd_conv_fast_run (fast, x, cin, h, w, upsample, wt, b, cout, ksize,
                          stride, y2, accumulate);
  snprintf (what, sizeof what,
            "conv%dx%d/%d%s%s %d->%d %dx%d: nmse %.3g (bound %.0e), same "
            "bits twice",
            ksize, ksize, stride, upsample ? " up2" : "",
            accumulate ? " acc" : "", cin, cout, w, h, err, nmse_bound);
  check (rc == 0 && rc2 == 0 && err <= nmse_bound
             && memcmp (y, y2, n_out * sizeof *y) == 0,
         what);
  free (x);
  free (wt);
  free (b);
  free (y);
  free (y2);
  free (init);
  free (want);
  gd_conv_fast_free (fast);
}

/* BF16 back to float (the top 16 bits). */
static float
bf16_value (uint16_t h)
{
  uint32_t u = (uint32_t)h << 16;
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

/* Within half a BF16 unit in the last place of the reference (round to
   nearest), plus `slack` of its magnitude for float rounding before it. */
static int
bf16_close (uint16_t got, double want, double slack)
{
  double ulp = ldexp (1.0, ilogb (want == 0 ? 1e-30 : want) - 7);
  return fabs ((double)bf16_value (got) - want)
         <= 0.5 * ulp + slack * fabs (want) + 1e-30;
}

/* The NHWC path's kernels (nhwc.c) against naive loops. */
static void
test_nhwc_kernels (void)
{
  const int c = 37, h = 5, w = 7, cb = 20;
  const size_t px = (size_t)h * w;
  float *x = rand_buf ((size_t)c * px, 3.0f), *b = rand_buf (cb * px, 1.0f);
  float *wt = rand_buf ((size_t)c, 1.0f), *bias = rand_buf ((size_t)c, 1.0f);
  float *nhwc = malloc ((size_t)c * px * sizeof *nhwc);
  float *back = malloc ((size_t)c * px * sizeof *back);
  float *cat = malloc ((size_t)(c + cb) * px * sizeof *cat);
  uint16_t *act = malloc ((size_t)c * 4 * px * sizeof *act);
  int ok, ch;
  size_t p, i;

  for (int t = 1; t <= 2; t++)
    {
      gd_set_threads (t);
      gd_planar_to_nhwc (x, c, px, nhwc);
      ok = 1;
      for (ch = 0; ch < c; ch++)
        for (p = 0; p < px; p++)
          ok = ok && nhwc[p * c + ch] == x[ch * px + p];
      gd_nhwc_to_planar (nhwc, c, px, back);
      ok = ok && memcmp (back, x, (size_t)c * px * sizeof *x) == 0;
      check (ok, "planar to NHWC and back");

      gd_nhwc_to_bf16 (nhwc, (size_t)c * px, act);
      ok = 1;
      for (i = 0; i < (size_t)c * px; i++)
        ok = ok && bf16_close (act[i], nhwc[i], 0);
      gd_planar_to_nhwc_bf16 (x, c, px, act);
      for (ch = 0; ch < c; ch++)
        for (p = 0; p < px; p++)
          ok = ok && bf16_close (act[p * c + ch], x[ch * px + p], 0);
      check (ok, "BF16 conversions round to nearest (37 channels: a tail)");

      gd_nhwc_norm_silu_bf16 (nhwc, c, px, wt, bias, act);
      ok = 1;
      for (p = 0; p < px; p++)
        {
          double mean = 0, var = 0, rstd;
          for (ch = 0; ch < c; ch++)
            mean += nhwc[p * c + ch];
          mean /= c;
          for (ch = 0; ch < c; ch++)
            var += (nhwc[p * c + ch] - mean) * (nhwc[p * c + ch] - mean);
          rstd = 1.0 / sqrt (var / c + 1e-5);
          for (ch = 0; ch < c; ch++)
            {
              double v = (nhwc[p * c + ch] - mean) * rstd * wt[ch] + bias[ch];
              ok = ok
                   && bf16_close (act[p * c + ch], v / (1.0 + exp (-v)), 1e-5);
            }
        }
      check (ok, "NHWC norm + SiLU to BF16 against double precision");

      gd_nhwc_upsample2_bf16 (nhwc, c, h, w, act);
      ok = 1;
      for (int oy = 0; oy < 2 * h; oy++)
        for (int ox = 0; ox < 2 * w; ox++)
          for (ch = 0; ch < c; ch++)
            ok = ok
                 && bf16_close (act[((size_t)oy * 2 * w + ox) * c + ch],
                                nhwc[((size_t)(oy / 2) * w + ox / 2) * c + ch],
                                0);
      check (ok, "NHWC nearest x2 to BF16");

      gd_nhwc_concat (nhwc, c, b, cb, px, cat);
      ok = 1;
      for (p = 0; p < px; p++)
        for (ch = 0; ch < c + cb; ch++)
          ok = ok
               && cat[p * (c + cb) + ch]
                      == (ch < c ? nhwc[p * c + ch] : b[p * cb + ch - c]);
      check (ok, "NHWC concatenation");

      /* The norm of [nhwc; b] without forming it, and its raw copy. */
      {
        uint16_t *raw = malloc ((size_t)(c + cb) * px * sizeof *raw);
        float *wc = rand_buf ((size_t)(c + cb), 1.0f);
        float *bc = rand_buf ((size_t)(c + cb), 1.0f);
        uint16_t *act2 = malloc ((size_t)(c + cb) * px * sizeof *act2);
        const int cc = c + cb;

        gd_nhwc_cat_norm_silu_bf16 (nhwc, c, b, cb, px, wc, bc, act2, raw);
        ok = 1;
        for (p = 0; p < px; p++)
          {
            const float *xp = cat + p * cc;
            double mean = 0, var = 0, rstd;
            for (ch = 0; ch < cc; ch++)
              mean += xp[ch];
            mean /= cc;
            for (ch = 0; ch < cc; ch++)
              var += (xp[ch] - mean) * (xp[ch] - mean);
            rstd = 1.0 / sqrt (var / cc + 1e-5);
            for (ch = 0; ch < cc; ch++)
              {
                double v = (xp[ch] - mean) * rstd * wc[ch] + bc[ch];
                ok = ok
                     && bf16_close (act2[p * cc + ch], v / (1.0 + exp (-v)),
                                    1e-5)
                     && bf16_close (raw[p * cc + ch], xp[ch], 0);
              }
          }
        check (ok, "NHWC norm + SiLU of a concatenation (37 + 20 channels) "
                   "and its raw BF16 copy");
        free (raw);
        free (wc);
        free (bc);
        free (act2);
      }
    }
  gd_set_threads (0);
  free (x);
  free (b);
  free (wt);
  free (bias);
  free (nhwc);
  free (back);
  free (cat);
  free (act);
}

/* The whole pass: fast against exact on the small test model. */
static void
test_forward (const char *model_path, int bf16)
{
  const int w = 37, h = 29;
  gd_error err;
  gd_model *m = gd_model_load (model_path, &err);
  size_t n, i;
  float *x, *exact, *fast, *again;
  double max_abs = 0, max_ref = 0;
  char what[200];
  int ok;

  if (m == NULL)
    {
      check (0, err.message);
      return;
    }
  n = (size_t)gd_model_get_info (m)->in_channels * w * h;
  x = rand_buf (n, 1.0f);
  exact = malloc (n * sizeof *exact);
  fast = malloc (n * sizeof *fast);
  again = malloc (n * sizeof *again);
  ok = gd_model_eps (m, x, w, h, 321.5, exact, &err) == GD_OK;
  gd_model_set_precision (m, GD_PRECISION_FAST);
  ok = ok && gd_model_eps (m, x, w, h, 321.5, fast, &err) == GD_OK
       && gd_model_eps (m, x, w, h, 321.5, again, &err) == GD_OK;
  for (i = 0; ok && i < n; i++)
    {
      double d = fabs ((double)fast[i] - exact[i]);
      max_abs = d > max_abs ? d : max_abs;
      max_ref = fabs (exact[i]) > max_ref ? fabs (exact[i]) : max_ref;
    }
  snprintf (what, sizeof what,
            "forward pass %dx%d, fast against exact: max abs %.3g (max |eps| "
            "%.3g), same bits twice",
            w, h, max_abs, max_ref);
  check (ok && max_abs <= (bf16 ? 0.05 : 1e-4) * max_ref
             && memcmp (fast, again, n * sizeof *fast) == 0,
         what);
  free (x);
  free (exact);
  free (fast);
  free (again);
  gd_model_free (m);
}

int
main (int argc, char **argv)
{
  const char *kind = gd_conv_fast_kind ();
  const char *cap = getenv ("GD_MAX_ISA");
  gd_conv_fast *fast;
  int bf16, t;

  if (kind == NULL)
    {
      printf ("SKIP: no fast path in this build or on this CPU\n");
      return 77;
    }
  /* A cap above the CPU's ISA leaves a lower one: not that variant. */
  if (cap != NULL && cap[0] != '\0' && strncmp (kind, cap, strlen (cap)) != 0)
    {
      printf ("SKIP: GD_MAX_ISA=%s, this CPU runs %s\n", cap, kind);
      return 77;
    }
  bf16 = strstr (kind, "bf16") != NULL;
  nmse_bound = bf16 ? 1e-4 : 1e-10;
  printf ("fast path: %s\n", kind);
  fast = gd_conv_fast_new ();
  check (fast != NULL, "cache created");
  if (fast == NULL)
    return 1;
  gd_conv_fast_free (fast);
  for (t = 1; t <= 2; t++)
    {
      gd_set_threads (t);
      printf ("--- %d thread(s)\n", t);
      for (int acc = 0; acc <= 1; acc++)
        {
          test_conv (16, 40, 24, 16, 3, 1, 0, acc);
          test_conv (3, 17, 13, 8, 3, 1, 0, acc);
          test_conv (24, 41, 33, 24, 3, 2, 0, acc);
          test_conv (24, 40, 32, 24, 3, 2, 0, acc);
          test_conv (32, 12, 10, 32, 3, 1, 1, acc);
          test_conv (48, 30, 50, 24, 1, 1, 0, acc);
          test_conv (64, 1, 1, 8, 3, 1, 0, acc);
        }
    }
  gd_set_threads (0);
  if (bf16)
    test_nhwc_kernels ();
  if (argc > 1)
    test_forward (argv[1], bf16);
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
