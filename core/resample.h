/* resample.h: separable resampling along one axis, and the pseudo-inverse
 * of a downsampling (core-internal; upscale's degradation operator A). */
#ifndef GD_RESAMPLE_H
#define GD_RESAMPLE_H

#include "gimp-diffusion.h"

/* out[i] = sum_k w[i * taps + k] in[start[i] + k], k < count[i]. */
typedef struct
{
  int n_in, n_out, taps;
  int *start, *count;
  double *w;
} gd_resample;

/* Cubic convolution (a = -0.5, support 2), resampling n_in samples to
 * n_out as Pillow's and MATLAB's imresize do: pixel centres aligned, the
 * kernel widened by n_in / n_out when shrinking (antialiasing), taps cut at
 * the edges and the weights renormalised. */
int gd_resample_cubic (gd_resample *r, int n_in, int n_out, gd_error *err);
/* The mean of each run of `factor` samples (n_in = n_out * factor). */
int gd_resample_box (gd_resample *r, int n_out, int factor, gd_error *err);
void gd_resample_free (gd_resample *r);

/* D+ = D^T (D D^T)^-1 for a downsampling D (full row rank): the banded
 * Cholesky factor of D D^T, lower band of width bw. */
typedef struct
{
  const gd_resample *d;
  int bw;
  double *l; /* n_out x (bw + 1): l[i * (bw + 1) + (i - j)] = L[i][j] */
} gd_resample_pinv;

int gd_resample_pinv_init (gd_resample_pinv *p, const gd_resample *d,
                           gd_error *err);
/* x (d->n_in) = D+ r (d->n_out); z: d->n_out doubles of scratch. */
void gd_resample_pinv_apply (const gd_resample_pinv *p, const double *r,
                             double *x, double *z);
void gd_resample_pinv_free (gd_resample_pinv *p);

#endif /* GD_RESAMPLE_H */
