/* kernel-test.h: what the kernel tests (test_ops, test_conv_fast,
 * test_winograd) share: seeded random buffers, the "ok / FAIL" line, and
 * the naive convolution in double.  Header-only: each test is one
 * executable.  A test may define KERNEL_TEST_SEED before including it. */
#ifndef GD_KERNEL_TEST_H
#define GD_KERNEL_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#ifndef KERNEL_TEST_SEED
#define KERNEL_TEST_SEED 0x9E3779B97F4A7C15ull
#endif

static unsigned long long rng_state = KERNEL_TEST_SEED;

/* Uniform in [-1, 1) (xorshift64): the same numbers on every machine. */
static inline float
frand (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* n values in [-scale, scale); one element more is allocated, so that
   n = 0 still gives a buffer. */
static inline float *
rand_buf (size_t n, float scale)
{
  float *p = malloc ((n + 1) * sizeof *p);

  if (p == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    p[i] = frand () * scale;
  return p;
}

static inline void
check (int cond, const char *what)
{
  printf ("%s %s\n", cond ? "ok  " : "FAIL", what);
  if (!cond)
    failures++;
}

/* The convolution of ops.h (weights [cout][cin][k][k], zero padding k/2,
   optional nearest 2x upsampling of the input first, optional bias and
   `init` added) in plain loops in double. */
static inline void
ref_conv2d (const float *x, int cin, int h, int w, int upsample,
            const float *weight, const float *bias, int cout, int ksize,
            int stride, const float *init, double *y)
{
  int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;
  int pad = ksize / 2;
  int hout = (eh + 2 * pad - ksize) / stride + 1;
  int wout = (ew + 2 * pad - ksize) / stride + 1;

  for (int o = 0; o < cout; o++)
    for (int oy = 0; oy < hout; oy++)
      for (int ox = 0; ox < wout; ox++)
        {
          size_t at = ((size_t)o * hout + oy) * wout + ox;
          double acc = bias ? bias[o] : 0.0;
          if (init)
            acc += init[at];
          for (int c = 0; c < cin; c++)
            for (int ky = 0; ky < ksize; ky++)
              for (int kx = 0; kx < ksize; kx++)
                {
                  int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                  if (iy < 0 || iy >= eh || ix < 0 || ix >= ew)
                    continue;
                  if (upsample)
                    iy /= 2, ix /= 2;
                  acc += (double)
                             weight[((o * cin + c) * ksize + ky) * ksize + kx]
                         * x[((size_t)c * h + iy) * w + ix];
                }
          y[at] = acc;
        }
}

#endif /* GD_KERNEL_TEST_H */
