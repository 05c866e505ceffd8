/* test_rng.c: Philox4x32-10 known answers, layout independence, and rough
 * normality and independence of gd_rng_normal. */
#include "gimp-diffusion.h"
#include "sampler-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define N_SAMPLES (1u << 20)

static void
test_philox_known_answers (void)
{
  /* Random123's kat_vectors for philox4x32_10. */
  static const uint32_t kat[3][10] = {
    { 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
    { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
    { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
  };

  for (int k = 0; k < 3; k++)
    {
      uint32_t out[4];

      gd_philox4x32_10 (kat[k], kat[k] + 4, out);
      CHECK (memcmp (out, kat[k] + 6, sizeof out) == 0,
             "philox KAT %d: %08x %08x %08x %08x", k, out[0], out[1], out[2],
             out[3]);
    }
}

/* The same (seed, stream, index) gives the same value however the fill is
 * split: the sampler's noise does not depend on tiling. */
static void
test_layout (void)
{
  enum
  {
    N = 1001
  };
  float whole[N], piece[N];
  const uint64_t seed = UINT64_C (0x123456789abcdef0), stream = 7;

  gd_rng_normal_fill (seed, stream, 0, whole, N);
  for (size_t i = 0; i < N; i++)
    CHECK (whole[i] == gd_rng_normal (seed, stream, i), "index %zu", i);
  /* Odd starts and odd lengths, as tiles give. */
  for (size_t first = 0; first < N;)
    {
      size_t len = 1 + (first * 7 + 3) % 13;

      if (first + len > N)
        len = N - first;
      gd_rng_normal_fill (seed, stream, first, piece + first, len);
      first += len;
    }
  CHECK (memcmp (whole, piece, sizeof whole) == 0, "tiled fill differs");
  /* Large indices use the high counter word. */
  uint64_t big = UINT64_C (1) << 40;
  CHECK (gd_rng_normal (seed, stream, big) != gd_rng_normal (seed, stream, 0),
         "index 2^40 aliases index 0");
  CHECK (gd_rng_normal (seed, stream + (UINT64_C (1) << 32), 0)
             != gd_rng_normal (seed, stream, 0),
         "stream high word ignored");
  CHECK (gd_rng_normal (seed ^ (UINT64_C (1) << 40), stream, 0)
             != gd_rng_normal (seed, stream, 0),
         "seed high word ignored");
}

static void
test_normality (void)
{
  float *z = malloc (N_SAMPLES * sizeof *z);
  double n = N_SAMPLES, sum = 0, sum2 = 0, sum3 = 0, sum4 = 0;
  double tail2 = 0, tail3 = 0;

  gd_rng_normal_fill (42, 0, 0, z, N_SAMPLES);
  for (size_t i = 0; i < N_SAMPLES; i++)
    {
      double v = z[i];

      sum += v;
      sum2 += v * v;
      sum3 += v * v * v;
      sum4 += v * v * v * v;
      tail2 += fabs (v) > 2.0;
      tail3 += fabs (v) > 3.0;
    }
  double mean = sum / n, var = sum2 / n - mean * mean;
  double skew = sum3 / n, kurt = sum4 / n;
  double p2 = erfc (2.0 / sqrt (2.0)), p3 = erfc (3.0 / sqrt (2.0));

  printf ("normal: mean %.5f var %.5f skew %.4f kurtosis %.4f "
          "P(|z|>2) %.5f (%.5f) P(|z|>3) %.6f (%.6f), n = %u\n",
          mean, var, skew, kurt, tail2 / n, p2, tail3 / n, p3, N_SAMPLES);
  /* 5 standard errors each: Var(z^2) = 2, Var(z^3) = 15, Var(z^4) = 96. */
  CHECK (fabs (mean) < 5.0 / sqrt (n), "mean %g", mean);
  CHECK (fabs (var - 1.0) < 5.0 * sqrt (2.0 / n), "variance %g", var);
  CHECK (fabs (skew) < 5.0 * sqrt (15.0 / n), "skewness %g", skew);
  CHECK (fabs (kurt - 3.0) < 5.0 * sqrt (96.0 / n), "kurtosis %g", kurt);
  CHECK (fabs (tail2 / n - p2) < 5.0 * sqrt (p2 * (1 - p2) / n), "P(|z|>2)");
  CHECK (fabs (tail3 / n - p3) < 5.0 * sqrt (p3 * (1 - p3) / n), "P(|z|>3)");

  /* Kolmogorov-Smirnov on 4096 bins of the CDF (the statistic over the bin
   * edges; 1.95/sqrt(n) is its 0.1 % point). */
  enum
  {
    BINS = 4096
  };
  static unsigned count[BINS];
  double d_max = 0.0, cum = 0.0;

  memset (count, 0, sizeof count);
  for (size_t i = 0; i < N_SAMPLES; i++)
    {
      double u = 0.5 * erfc (-z[i] / sqrt (2.0));
      int b = (int)(u * BINS);

      count[b < BINS ? b : BINS - 1]++;
    }
  for (int b = 0; b < BINS; b++)
    {
      cum += count[b];
      d_max = fmax (d_max, fabs (cum / n - (b + 1.0) / BINS));
    }
  printf ("normal: Kolmogorov-Smirnov D = %.5f (limit %.5f)\n", d_max,
          1.95 / sqrt (n));
  CHECK (d_max < 1.95 / sqrt (n), "KS D = %g", d_max);
  free (z);
}

static double
correlation (const float *a, const float *b, size_t n)
{
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;

  for (size_t i = 0; i < n; i++)
    {
      sa += a[i], sb += b[i];
      saa += (double)a[i] * a[i], sbb += (double)b[i] * b[i];
      sab += (double)a[i] * b[i];
    }
  double cov = sab / n - sa / n * sb / n;
  return cov / sqrt ((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

static void
test_independence (void)
{
  enum
  {
    N = 1 << 18
  };
  float *a = malloc (N * sizeof *a), *b = malloc (N * sizeof *b);
  double limit = 5.0 / sqrt (N), c;

  gd_rng_normal_fill (7, 0, 0, a, N);

  gd_rng_normal_fill (7, 1, 0, b, N);
  c = correlation (a, b, N);
  printf ("corr: streams 0/1 %+.5f", c);
  CHECK (fabs (c) < limit, "streams 0 and 1 correlate: %g", c);

  gd_rng_normal_fill (7, GD_RNG_STREAM_START, 0, b, N);
  c = correlation (a, b, N);
  printf (", stream 0/start %+.5f", c);
  CHECK (fabs (c) < limit, "stream 0 and start correlate: %g", c);

  gd_rng_normal_fill (8, 0, 0, b, N);
  c = correlation (a, b, N);
  printf (", seeds 7/8 %+.5f", c);
  CHECK (fabs (c) < limit, "seeds 7 and 8 correlate: %g", c);

  /* Neighbours: within a Box-Muller pair (even, odd) and across pairs. */
  for (size_t i = 0; i + 1 < N; i += 2)
    b[i / 2] = a[i + 1];
  float *even = malloc (N / 2 * sizeof *even),
        *odd_next = malloc (N / 2 * sizeof *odd_next);
  for (size_t i = 0; i < N / 2; i++)
    even[i] = a[2 * i];
  c = correlation (even, b, N / 2);
  printf (", pair (2i, 2i+1) %+.5f", c);
  CHECK (fabs (c) < 5.0 / sqrt (N / 2), "pair members correlate: %g", c);
  for (size_t i = 0; i + 1 < N / 2; i++)
    odd_next[i] = a[2 * i + 2];
  for (size_t i = 0; i + 1 < N / 2; i++)
    even[i] = a[2 * i + 1];
  c = correlation (even, odd_next, N / 2 - 1);
  printf (", (2i+1, 2i+2) %+.5f", c);
  CHECK (fabs (c) < 5.0 / sqrt (N / 2), "neighbouring pairs correlate: %g", c);
  /* Squares: Box-Muller pair members share a radius; their squares must
   * still be uncorrelated (they are, for independent normals). */
  for (size_t i = 0; i < N / 2; i++)
    {
      even[i] = a[2 * i] * a[2 * i];
      odd_next[i] = a[2 * i + 1] * a[2 * i + 1];
    }
  c = correlation (even, odd_next, N / 2);
  printf (", squares in pair %+.5f (limit %.5f)\n", c, limit);
  CHECK (fabs (c) < 5.0 / sqrt (N / 2), "squares of pair correlate: %g", c);

  free (a);
  free (b);
  free (even);
  free (odd_next);
}

int
main (void)
{
  test_philox_known_answers ();
  test_layout ();
  test_normality ();
  test_independence ();
  if (failures)
    fprintf (stderr, "%d check(s) failed\n", failures);
  else
    printf ("test_rng: all checks passed\n");
  return failures != 0;
}
