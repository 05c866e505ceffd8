/* rng.c: counter-based normal noise, a function of (seed, stream, index). */
#include "gimp-diffusion.h"
#include "sampler-internal.h"

#include <math.h>

#define PHILOX_M0 UINT32_C (0xD2511F53)
#define PHILOX_M1 UINT32_C (0xCD9E8D57)
#define PHILOX_W0 UINT32_C (0x9E3779B9)
#define PHILOX_W1 UINT32_C (0xBB67AE85)

void
gd_philox4x32_10 (const uint32_t counter[4], const uint32_t key[2],
                  uint32_t out[4])
{
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];

  for (int round = 0; round < 10; round++)
    {
      uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
      uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
      uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
      uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;

      c0 = n0;
      c1 = (uint32_t)p1;
      c2 = n2;
      c3 = (uint32_t)p0;
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* Box-Muller on the 128-bit block of pair = index / 2: its cosine branch
 * is the even index, its sine branch the odd one (independent normals). */
static void
normal_pair (uint64_t seed, uint64_t stream, uint64_t pair, double *z_even,
             double *z_odd)
{
  const uint32_t counter[4] = { (uint32_t)pair, (uint32_t)(pair >> 32),
                                (uint32_t)stream, (uint32_t)(stream >> 32) };
  const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
  uint32_t w[4];

  gd_philox4x32_10 (counter, key, w);

  /* 53-bit uniforms: u1 in (0, 1] (log finite), u2 in [0, 1). */
  uint64_t a = (((uint64_t)w[0] << 32) | w[1]) >> 11;
  uint64_t b = (((uint64_t)w[2] << 32) | w[3]) >> 11;
  double u1 = (double)(a + 1) * 0x1p-53;
  double u2 = (double)b * 0x1p-53;
  double radius = sqrt (-2.0 * log (u1));
  double angle = 2.0 * M_PI * u2;

  *z_even = radius * cos (angle);
  *z_odd = radius * sin (angle);
}

float
gd_rng_normal (uint64_t seed, uint64_t stream, uint64_t index)
{
  double z_even, z_odd;

  normal_pair (seed, stream, index >> 1, &z_even, &z_odd);
  return (float)((index & 1) ? z_odd : z_even);
}

void
gd_rng_normal_fill (uint64_t seed, uint64_t stream, uint64_t first_index,
                    float *out, size_t n)
{
  size_t i = 0;

  if (n > 0 && (first_index & 1))
    out[i++] = gd_rng_normal (seed, stream, first_index);
  for (; i + 1 < n; i += 2)
    {
      double z_even, z_odd;

      normal_pair (seed, stream, (first_index + i) >> 1, &z_even, &z_odd);
      out[i] = (float)z_even;
      out[i + 1] = (float)z_odd;
    }
  if (i < n)
    out[i] = gd_rng_normal (seed, stream, first_index + i);
}
