/* bench_sigma.c: the error of gd_estimate_sigma on photographs with known
 * added noise (Gaussian, rounded to 8 bits and clipped, as a saved PNG).
 *
 * Usage: bench_sigma IMAGE.png...
 * Prints, per sigma, the mean error (bias), mean and largest |error|. */
#include "gimp-diffusion.h"
#include "png-io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  static const double sigmas[] = { 0, 5, 10, 15, 25, 50 };
  enum
  {
    N_SIGMAS = sizeof sigmas / sizeof sigmas[0]
  };
  double bias[N_SIGMAS] = { 0 }, mean_abs[N_SIGMAS] = { 0 };
  double worst[N_SIGMAS] = { 0 };
  int used = 0;

  for (int f = 1; f < argc; f++)
    {
      gd_png png;
      gd_error err;
      size_t n;
      float *clean;

      if (gd_png_read (argv[f], &png, &err) != GD_OK)
        {
          fprintf (stderr, "%s\n", err.message);
          continue;
        }
      n = (size_t)png.color.width * png.color.height * png.color.channels;
      clean = malloc (n * sizeof *clean);
      if (clean == NULL)
        return 1;
      for (size_t i = 0; i < n; i++)
        clean[i] = png.color.data[i];
      for (int k = 0; k < N_SIGMAS; k++)
        {
          double e;

          for (size_t i = 0; i < n; i++)
            {
              double v = nearbyint (255.0 * clean[i]
                                    + sigmas[k] * gd_rng_normal (f, k, i));

              png.color.data[i] = (float)((v < 0     ? 0
                                           : v > 255 ? 255
                                                     : v)
                                          / 255.0);
            }
          e = gd_estimate_sigma (&png.color) - sigmas[k];
          bias[k] += e;
          mean_abs[k] += fabs (e);
          worst[k] = fmax (worst[k], fabs (e));
        }
      free (clean);
      gd_png_free (&png);
      used++;
    }
  if (used == 0)
    return 1;
  printf ("| sigma | bias | mean abs error | largest abs error |\n"
          "|---|---|---|---|\n");
  for (int k = 0; k < N_SIGMAS; k++)
    printf ("| %g | %+.2f | %.2f | %.2f |\n", sigmas[k], bias[k] / used,
            mean_abs[k] / used, worst[k]);
  printf ("(%d images)\n", used);
  return 0;
}
