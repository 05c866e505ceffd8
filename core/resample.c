/* resample.c: one-axis resampling operators (cubic convolution as Pillow
 * and MATLAB's imresize define it, box means) and the pseudo-inverse of a
 * downsampling, D+ = D^T (D D^T)^-1, through the banded Cholesky factor of
 * D D^T (D's rows overlap only near the diagonal). */
#include "resample.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double
cubic (double x)
{
  const double a = -0.5;

  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

static int
resample_alloc (gd_resample *r, int n_in, int n_out, int taps, gd_error *err)
{
  memset (r, 0, sizeof *r);
  if (n_in < 1 || n_out < 1 || taps < 1
      || (size_t)n_out > SIZE_MAX / sizeof (double) / (size_t)taps)
    return gd_error_set (err, GD_ERR_INVALID,
                         "resample: %d -> %d samples is not possible", n_in,
                         n_out);
  r->n_in = n_in;
  r->n_out = n_out;
  r->taps = taps;
  r->start = calloc ((size_t)n_out, sizeof (int));
  r->count = calloc ((size_t)n_out, sizeof (int));
  r->w = calloc ((size_t)n_out * taps, sizeof (double));
  if (r->start == NULL || r->count == NULL || r->w == NULL)
    {
      gd_resample_free (r);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "resample: out of memory for %d samples", n_out);
    }
  return GD_OK;
}

int
gd_resample_cubic (gd_resample *r, int n_in, int n_out, gd_error *err)
{
  double scale = (double)n_in / n_out;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 2.0 * filterscale;
  int taps = (int)ceil (support) * 2 + 1, status;

  status = resample_alloc (r, n_in, n_out, taps, err);
  if (status != GD_OK)
    return status;
  for (int i = 0; i < n_out; i++)
    {
      double center = (i + 0.5) * scale, sum = 0.0;
      int lo = (int)(center - support + 0.5);
      int hi = (int)(center + support + 0.5);
      double *w = r->w + (size_t)i * taps;

      lo = lo < 0 ? 0 : lo;
      hi = hi > n_in ? n_in : hi;
      r->start[i] = lo;
      r->count[i] = hi - lo;
      for (int k = 0; k < hi - lo; k++)
        {
          w[k] = cubic ((lo + k - center + 0.5) / filterscale);
          sum += w[k];
        }
      for (int k = 0; k < hi - lo && sum != 0.0; k++)
        w[k] /= sum;
    }
  return GD_OK;
}

int
gd_resample_box (gd_resample *r, int n_out, int factor, gd_error *err)
{
  int status;

  if (factor < 1 || n_out > INT_MAX / (factor > 0 ? factor : 1))
    return gd_error_set (err, GD_ERR_INVALID,
                         "resample: box of %d over %d samples", factor, n_out);
  status = resample_alloc (r, n_out * factor, n_out, factor, err);
  if (status != GD_OK)
    return status;
  for (int i = 0; i < n_out; i++)
    {
      r->start[i] = i * factor;
      r->count[i] = factor;
      for (int k = 0; k < factor; k++)
        r->w[(size_t)i * factor + k] = 1.0 / factor;
    }
  return GD_OK;
}

void
gd_resample_free (gd_resample *r)
{
  free (r->start);
  free (r->count);
  free (r->w);
  memset (r, 0, sizeof *r);
}

/* (D D^T)[i][j]: the overlap of rows i and j. */
static double
gram (const gd_resample *d, int i, int j)
{
  int lo = d->start[i] > d->start[j] ? d->start[i] : d->start[j];
  int hi_i = d->start[i] + d->count[i], hi_j = d->start[j] + d->count[j];
  int hi = hi_i < hi_j ? hi_i : hi_j;
  double sum = 0.0;

  for (int k = lo; k < hi; k++)
    sum += d->w[(size_t)i * d->taps + (k - d->start[i])]
           * d->w[(size_t)j * d->taps + (k - d->start[j])];
  return sum;
}

int
gd_resample_pinv_init (gd_resample_pinv *p, const gd_resample *d, gd_error *err)
{
  int n = d->n_out, bw = 0;

  memset (p, 0, sizeof *p);
  p->d = d;
  /* The band: how far below the diagonal rows still overlap. */
  for (int i = 0; i < n; i++)
    for (int j = i - 1; j >= 0 && d->start[j] + d->count[j] > d->start[i]; j--)
      bw = i - j > bw ? i - j : bw;
  p->bw = bw;
  p->l = calloc ((size_t)n * (bw + 1), sizeof (double));
  if (p->l == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "resample: out of memory for %d samples", n);
  for (int i = 0; i < n; i++)
    for (int j = i - bw < 0 ? 0 : i - bw; j <= i; j++)
      {
        double sum = gram (d, i, j);
        int k0 = i - bw > j - bw ? i - bw : j - bw;

        for (int k = k0 < 0 ? 0 : k0; k < j; k++)
          sum -= p->l[(size_t)i * (bw + 1) + (i - k)]
                 * p->l[(size_t)j * (bw + 1) + (j - k)];
        if (i == j)
          {
            if (!(sum > 1e-12))
              {
                gd_resample_pinv_free (p);
                return gd_error_set (err, GD_ERR_NUMERIC,
                                     "resample: the downsampling has no "
                                     "inverse (pivot %g at %d)",
                                     sum, i);
              }
            p->l[(size_t)i * (bw + 1)] = sqrt (sum);
          }
        else
          p->l[(size_t)i * (bw + 1) + (i - j)]
              = sum / p->l[(size_t)j * (bw + 1)];
      }
  return GD_OK;
}

void
gd_resample_pinv_apply (const gd_resample_pinv *p, const double *r, double *x,
                        double *z)
{
  const gd_resample *d = p->d;
  int n = d->n_out, bw = p->bw;

  /* z = (L L^T)^-1 r: forward, then back substitution. */
  for (int i = 0; i < n; i++)
    {
      double sum = r[i];

      for (int k = i - bw < 0 ? 0 : i - bw; k < i; k++)
        sum -= p->l[(size_t)i * (bw + 1) + (i - k)] * z[k];
      z[i] = sum / p->l[(size_t)i * (bw + 1)];
    }
  for (int i = n - 1; i >= 0; i--)
    {
      double sum = z[i];

      for (int k = i + 1; k <= i + bw && k < n; k++)
        sum -= p->l[(size_t)k * (bw + 1) + (k - i)] * z[k];
      z[i] = sum / p->l[(size_t)i * (bw + 1)];
    }
  /* x = D^T z. */
  memset (x, 0, (size_t)d->n_in * sizeof (double));
  for (int i = 0; i < n; i++)
    for (int k = 0; k < d->count[i]; k++)
      x[d->start[i] + k] += d->w[(size_t)i * d->taps + k] * z[i];
}

void
gd_resample_pinv_free (gd_resample_pinv *p)
{
  free (p->l);
  memset (p, 0, sizeof *p);
}
