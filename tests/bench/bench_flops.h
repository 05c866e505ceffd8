/* bench_flops.h: the floating-point operations of the network's
 * convolutions, for the benchmarks' GFLOP/s (bench_network.c,
 * bench_worker.c). */
#ifndef GD_BENCH_FLOPS_H
#define GD_BENCH_FLOPS_H

#include "model.h"

/* Multiply-adds x 2 of every convolution of the network on size x size
 * (padded), from the architecture (unet.c's order). */
static double
conv_flops (const gd_model_info *info, int size)
{
  const int base = info->base_channels, n_res = info->n_res_blocks;
  const int n_levels = info->n_levels, f = info->downsample_factor;
  int skip_ch[1 + 8 * 17], n_skip = 0, ch = base, level, i;
  int p = (size + f - 1) / f * f;
  double flops = 0, px;

#define CONV(cin, cout, k, pixels)                                             \
  (flops += 2.0 * (double)(cin) * (cout) * (k) * (k) * (pixels))
  CONV (info->in_channels, base, 3, (double)p * p);
  skip_ch[n_skip++] = base;
  for (level = 0; level < n_levels; level++)
    {
      int out = base * info->channel_mult[level];
      px = (double)(p >> level) * (p >> level);
      for (i = 0; i < n_res; i++)
        {
          CONV (ch, out, 3, px);
          CONV (out, out, 3, px);
          if (ch != out)
            CONV (ch, out, 1, px);
          ch = out;
          skip_ch[n_skip++] = ch;
        }
      if (level < n_levels - 1)
        {
          CONV (ch, ch, 3, px / 4);
          skip_ch[n_skip++] = ch;
        }
    }
  px = (double)(p >> (n_levels - 1)) * (p >> (n_levels - 1));
  for (i = 0; i < 2; i++)
    CONV (ch, ch, 3, px), CONV (ch, ch, 3, px);
  for (level = n_levels - 1; level >= 0; level--)
    {
      int out = base * info->channel_mult[level];
      px = (double)(p >> level) * (p >> level);
      for (i = 0; i <= n_res; i++)
        {
          int cin = ch + skip_ch[--n_skip];
          CONV (cin, out, 3, px);
          CONV (out, out, 3, px);
          if (cin != out)
            CONV (cin, out, 1, px);
          ch = out;
        }
      if (level > 0)
        CONV (ch, ch, 3, px * 4);
    }
  CONV (ch, info->in_channels, 3, (double)p * p);
#undef CONV
  return flops;
}

#endif
