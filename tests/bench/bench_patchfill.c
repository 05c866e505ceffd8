/* bench_patchfill.c: the patch fill alone on a PNG and a mask PNG (white =
 * fill), for the quality benchmark's "patch fill" row and for timing.
 *
 *   bench_patchfill IN.png MASK.png OUT.png [SEED]
 *
 * Prints the fill's time in seconds on stdout. */
#include "patchfill.h"
#include "png-io.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int
main (int argc, char **argv)
{
  gd_png in, mask;
  gd_image m;
  gd_error err = { 0, "" };
  struct timespec t0, t1;
  int filled = 0;
  uint64_t seed = argc > 4 ? strtoull (argv[4], NULL, 10) : 0;

  if (argc < 4)
    {
      fprintf (stderr, "usage: %s IN.png MASK.png OUT.png [SEED]\n", argv[0]);
      return 2;
    }
  if (gd_png_read (argv[1], &in, &err) != GD_OK
      || gd_png_read (argv[2], &mask, &err) != GD_OK
      || gd_image_alloc (&m, mask.color.width, mask.color.height, 1, &err)
             != GD_OK)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  for (size_t i = 0; i < (size_t)m.width * m.height; i++)
    m.data[i] = mask.color.data[i * mask.color.channels];
  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (gd_fill_patch (&in.color, &m, seed, &filled, &err) != GD_OK)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  printf ("%.3f\n", (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
  if (gd_png_write (argv[3], &in, &err) != GD_OK)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  gd_png_free (&in);
  gd_png_free (&mask);
  gd_image_free (&m);
  return filled ? 0 : 3;
}
