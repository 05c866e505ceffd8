/* test_schedule.c: the DDPM schedule, its fractional-t view, lambda and the
 * sigma -> t* map. */
#include "gimp-diffusion.h"

#include <math.h>
#include <stdio.h>

#include "check.h"

static void
test_linear (const gd_schedule *s)
{
  long double abar = 1.0L;

  CHECK (s->T == 1000, "T = %d", s->T);
  CHECK (s->abar[0] == 1.0 && s->beta[0] == 0.0, "abar[0] = %g", s->abar[0]);
  CHECK (fabs (s->beta[1] - 1e-4) < 1e-15, "beta_1 = %.17g", s->beta[1]);
  CHECK (fabs (s->beta[1000] - 0.02) < 1e-15, "beta_T = %.17g", s->beta[1000]);
  CHECK (fabs (s->beta[500] - (1e-4 + 499.0 / 999.0 * (0.02 - 1e-4))) < 1e-15,
         "beta_500 = %.17g", s->beta[500]);
  for (int t = 1; t <= s->T; t++)
    {
      abar *= 1.0L - (1e-4L + (t - 1) * (0.02L - 1e-4L) / 999.0L);
      CHECK (s->alpha[t] == 1.0 - s->beta[t], "alpha_%d", t);
      CHECK (s->abar[t] < s->abar[t - 1], "abar not decreasing at %d", t);
      CHECK (fabsl (s->abar[t] - abar) <= 1e-13L * abar,
             "abar_%d = %.17g, long double %.17Lg", t, s->abar[t], abar);
    }
  /* The well-known value of this schedule (sqrt(abar_T) = 0.00635). */
  CHECK (s->abar[1000] > 4.03e-5 && s->abar[1000] < 4.04e-5, "abar_T = %.6g",
         s->abar[1000]);
  printf ("abar_T = %.6e, sqrt = %.6f\n", s->abar[1000], sqrt (s->abar[1000]));
}

static void
test_invalid (void)
{
  gd_schedule s;
  gd_error err;

  CHECK (gd_schedule_init_linear (&s, 0, 1e-4, 0.02, &err) == GD_ERR_INVALID,
         "T = 0 accepted");
  CHECK (err.status == GD_ERR_INVALID && err.message[0] != '\0', "no message");
  CHECK (gd_schedule_init_linear (&s, GD_T_MAX + 1, 1e-4, 0.02, NULL)
             == GD_ERR_INVALID,
         "T > max accepted");
  CHECK (gd_schedule_init_linear (&s, 1000, 0.0, 0.02, NULL) == GD_ERR_INVALID,
         "beta_start = 0 accepted");
  CHECK (gd_schedule_init_linear (&s, 1000, 0.03, 0.02, NULL) == GD_ERR_INVALID,
         "decreasing betas accepted");
  CHECK (gd_schedule_init_linear (&s, 1000, 1e-4, 1.0, NULL) == GD_ERR_INVALID,
         "beta_end = 1 accepted");
  CHECK (gd_schedule_init_linear (&s, 1000, 1e-4, NAN, NULL) == GD_ERR_INVALID,
         "NaN beta accepted");
  CHECK (gd_schedule_init_linear (&s, 1, 0.5, 0.5, NULL) == GD_OK
             && s.abar[1] == 0.5,
         "T = 1");
}

static void
test_fractional (const gd_schedule *s)
{
  double prev = 2.0;

  for (int t = 0; t <= s->T; t++)
    CHECK (gd_schedule_abar_at (s, t) == s->abar[t], "abar_at (%d) not exact",
           t);
  /* log sqrt(abar) linear between grid points: geometric mean halfway. */
  for (int t = 0; t < s->T; t++)
    {
      double mid = gd_schedule_abar_at (s, t + 0.5);
      double want = sqrt (s->abar[t] * s->abar[t + 1]);

      CHECK (fabs (mid - want) <= 1e-14 * want, "abar_at (%g)", t + 0.5);
    }
  for (double t = 0.0; t <= s->T; t += 0.0625)
    {
      double a = gd_schedule_abar_at (s, t);

      CHECK (a < prev || t == 0.0, "abar_at not decreasing at %g", t);
      prev = a;
    }
  CHECK (gd_schedule_abar_at (s, -1.0) == 1.0, "abar_at (-1)");
  CHECK (gd_schedule_abar_at (s, s->T + 5.0) == s->abar[s->T], "abar_at (T+5)");
}

static void
test_lambda (const gd_schedule *s)
{
  double worst_t = 0.0, worst_lambda = 0.0;

  CHECK (gd_schedule_lambda_at (s, 0.0) == INFINITY, "lambda(0) = %g",
         gd_schedule_lambda_at (s, 0.0));
  CHECK (gd_schedule_t_of_lambda (s, INFINITY) == 0.0, "t(inf)");
  for (int t = 1; t <= s->T; t++)
    {
      double want = 0.5 * log (s->abar[t] / (1.0 - s->abar[t]));

      CHECK (fabs (gd_schedule_lambda_at (s, t) - want) < 1e-9,
             "lambda(%d) = %.12g, want %.12g", t, gd_schedule_lambda_at (s, t),
             want);
    }
  for (double t = 0.001; t <= s->T; t *= 1.01)
    {
      double back = gd_schedule_t_of_lambda (s, gd_schedule_lambda_at (s, t));

      worst_t = fmax (worst_t, fabs (back - t));
    }
  double lo = gd_schedule_lambda_at (s, s->T),
         hi = gd_schedule_lambda_at (s, 0.01);
  for (double l = lo; l <= hi; l += 0.01)
    {
      double back = gd_schedule_lambda_at (s, gd_schedule_t_of_lambda (s, l));

      worst_lambda = fmax (worst_lambda, fabs (back - l));
    }
  printf ("lambda(T) = %.4f, lambda(1) = %.4f; round trips: |dt| <= %.2e, "
          "|dlambda| <= %.2e\n",
          lo, gd_schedule_lambda_at (s, 1.0), worst_t, worst_lambda);
  CHECK (worst_t < 1e-8, "t -> lambda -> t off by %g", worst_t);
  CHECK (worst_lambda < 1e-10, "lambda -> t -> lambda off by %g", worst_lambda);
  CHECK (gd_schedule_t_of_lambda (s, lo - 3.0) == s->T, "clamp at T");
  CHECK (gd_schedule_t_of_lambda (s, -1e6) == s->T, "far below");
  CHECK (gd_schedule_t_of_lambda (s, 1e6) == 0.0, "far above");
  CHECK (isnan (gd_schedule_t_of_lambda (s, NAN)), "NaN lambda");
}

static void
test_sigma (const gd_schedule *s)
{
  double worst = 0.0;

  for (double sigma = 0.011; sigma < 150.0; sigma *= 1.05)
    {
      double t = gd_schedule_t_of_sigma (s, sigma);
      double abar = gd_schedule_abar_at (s, t);

      worst = fmax (worst, fabs (sqrt ((1.0 - abar) / abar) / sigma - 1.0));
    }
  CHECK (worst < 1e-9, "sqrt((1-abar)/abar) at t* off by %g (relative)", worst);
  /* 25/255 on the 0..1 scale is 50/255 on the [-1, 1] scale: between the
   * grid points 57 (sigma 0.1955) and 58 (sigma 0.1988). */
  double t_star = gd_schedule_t_of_sigma (s, 50.0 / 255.0);
  double sigma_57 = sqrt ((1.0 - s->abar[57]) / s->abar[57]);
  double sigma_58 = sqrt ((1.0 - s->abar[58]) / s->abar[58]);
  printf ("t*(sigma = 25/255 on 0..1) = %.3f (sigma_57 %.4f, sigma_58 %.4f)\n",
          t_star, sigma_57, sigma_58);
  CHECK (sigma_57 < 50.0 / 255.0 && 50.0 / 255.0 < sigma_58,
         "sigma_57 = %g, sigma_58 = %g", sigma_57, sigma_58);
  CHECK (t_star > 57.0 && t_star < 58.0, "t*(25/255) = %g", t_star);
  CHECK (gd_schedule_t_of_sigma (s, 0.0) == 0.0, "t*(0)");
  CHECK (gd_schedule_t_of_sigma (s, 1e9) == s->T, "t*(huge)");
  CHECK (isnan (gd_schedule_t_of_sigma (s, NAN)), "t*(NaN)");
}

int
main (void)
{
  gd_schedule s;
  gd_error err;

  if (gd_schedule_init_linear (&s, 1000, 1e-4, 0.02, &err) != GD_OK)
    {
      fprintf (stderr, "FAIL: %s\n", err.message);
      return 1;
    }
  test_linear (&s);
  test_invalid ();
  test_fractional (&s);
  test_lambda (&s);
  test_sigma (&s);
  if (failures)
    fprintf (stderr, "%d check(s) failed\n", failures);
  else
    printf ("test_schedule: all checks passed\n");
  return failures != 0;
}
