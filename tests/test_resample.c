/* test_resample.c: the one-axis operators of upscale (resample.c): cubic
 * rows sum to 1 and reproduce straight lines away from the edges, box rows
 * are means, and the banded pseudo-inverse equals D^T (D D^T)^-1 computed
 * naively (dense Gauss-Jordan) and is a right inverse, D D+ = I. */
#include "check.h"
#include "resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The operator as a dense n_out x n_in matrix. */
static double *
dense (const gd_resample *r)
{
  double *m = calloc ((size_t)r->n_out * r->n_in, sizeof *m);

  for (int i = 0; i < r->n_out; i++)
    for (int k = 0; k < r->count[i]; k++)
      m[(size_t)i * r->n_in + r->start[i] + k] = r->w[(size_t)i * r->taps + k];
  return m;
}

/* inv = a^-1 (n x n) by Gauss-Jordan with partial pivoting; a is
 * destroyed. */
static void
invert (double *a, double *inv, int n)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      inv[i * n + j] = i == j;
  for (int c = 0; c < n; c++)
    {
      int piv = c;

      for (int r = c + 1; r < n; r++)
        if (fabs (a[r * n + c]) > fabs (a[piv * n + c]))
          piv = r;
      for (int j = 0; j < n; j++)
        {
          double t = a[c * n + j];

          a[c * n + j] = a[piv * n + j];
          a[piv * n + j] = t;
          t = inv[c * n + j];
          inv[c * n + j] = inv[piv * n + j];
          inv[piv * n + j] = t;
        }
      for (int r = 0; r < n; r++)
        {
          double f = a[r * n + c] / a[c * n + c];

          if (r == c)
            continue;
          for (int j = 0; j < n; j++)
            {
              a[r * n + j] -= f * a[c * n + j];
              inv[r * n + j] -= f * inv[c * n + j];
            }
        }
      {
        double d = a[c * n + c];

        for (int j = 0; j < n; j++)
          {
            inv[c * n + j] /= d;
            a[c * n + j] /= d;
          }
      }
    }
}

static void
check_pinv (const gd_resample *d, const char *what)
{
  int n = d->n_out, m = d->n_in;
  double *dm = dense (d), *g = calloc ((size_t)n * n, sizeof (double));
  double *gi = calloc ((size_t)n * n, sizeof (double));
  double *r = malloc (n * sizeof (double)), *x = malloc (m * sizeof (double));
  double *z = malloc (n * sizeof (double)), worst = 0.0, back = 0.0;
  gd_resample_pinv p;
  gd_error err;

  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int k = 0; k < m; k++)
        g[i * n + j] += dm[(size_t)i * m + k] * dm[(size_t)j * m + k];
  invert (g, gi, n);
  CHECK (gd_resample_pinv_init (&p, d, &err) == GD_OK, "%s: %s", what,
         err.message);
  for (int i = 0; i < n; i++)
    r[i] = sin (1.7 * i + 0.3) + 0.1 * i;
  gd_resample_pinv_apply (&p, r, x, z);
  for (int k = 0; k < m; k++)
    {
      double naive = 0.0;

      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
          naive += dm[(size_t)i * m + k] * gi[i * n + j] * r[j];
      worst = fmax (worst, fabs (naive - x[k]));
    }
  for (int i = 0; i < n; i++)
    {
      double dx = 0.0;

      for (int k = 0; k < m; k++)
        dx += dm[(size_t)i * m + k] * x[k];
      back = fmax (back, fabs (dx - r[i]));
    }
  CHECK (worst < 1e-10 && back < 1e-10,
         "%s: D+ r against the naive D^T (D D^T)^-1 r: %.2g, D D+ r - r: %.2g",
         what, worst, back);
  gd_resample_pinv_free (&p);
  free (dm);
  free (g);
  free (gi);
  free (r);
  free (x);
  free (z);
}

int
main (void)
{
  static const int sizes[][2]
      = { { 1, 1 },  { 2, 1 },   { 4, 2 },    { 8, 2 }, { 16, 4 },
          { 37, 9 }, { 64, 16 }, { 100, 50 }, { 3, 7 }, { 9, 36 } };
  gd_resample r;
  gd_error err;
  char what[64];

  for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++)
    {
      int n_in = sizes[c][0], n_out = sizes[c][1];
      double sum_err = 0.0, line_err = 0.0;

      snprintf (what, sizeof what, "cubic %d -> %d", n_in, n_out);
      CHECK (gd_resample_cubic (&r, n_in, n_out, &err) == GD_OK, "%s: %s", what,
             err.message);
      for (int i = 0; i < n_out; i++)
        {
          double s = 0.0, v = 0.0, centre = (i + 0.5) * n_in / n_out - 0.5;
          int edge = r.start[i] == 0 || r.start[i] + r.count[i] == n_in;

          for (int k = 0; k < r.count[i]; k++)
            {
              s += r.w[(size_t)i * r.taps + k];
              v += r.w[(size_t)i * r.taps + k] * (r.start[i] + k);
            }
          sum_err = fmax (sum_err, fabs (s - 1.0));
          if (!edge)
            line_err = fmax (line_err, fabs (v - centre));
        }
      CHECK (sum_err < 1e-12, "%s: rows sum to 1 (%.2g)", what, sum_err);
      /* Exact for whole-number ratios (upscale's 2 and 4): the kernel is
       * then sampled symmetrically about each centre. */
      if (n_in % n_out == 0 || n_out % n_in == 0)
        CHECK (line_err < 1e-12, "%s: a line is resampled onto itself (%.2g)",
               what, line_err);
      if (n_out < n_in)
        check_pinv (&r, what);
      gd_resample_free (&r);
    }
  CHECK (gd_resample_box (&r, 5, 4, &err) == GD_OK && r.n_in == 20
             && r.start[3] == 12 && r.count[3] == 4 && r.w[13] == 0.25,
         "box 20 -> 5: the means of 4");
  check_pinv (&r, "box 20 -> 5");
  gd_resample_free (&r);
  CHECK (gd_resample_cubic (&r, 0, 3, &err) == GD_ERR_INVALID,
         "0 samples refused: %s", err.message);
  if (failures)
    fprintf (stderr, "%d failures\n", failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
