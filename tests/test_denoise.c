/* test_denoise.c: gd_denoise and gd_estimate_sigma.  On the small test
 * model: sigma -> t*, the one-step result against x0_hat computed by hand,
 * counts, sigma estimated = sigma given, seeds, cancel, tiled = untiled,
 * bad sigmas; the estimator on images with known noise.  With the shipped
 * model (argv[2..4]: model, fallback photograph, eval folder): the error
 * against the clean photograph lowered at sigma 25/255, one step and
 * sampled.
 *
 * Usage: test_denoise TINY.safetensors [DEFAULT.safetensors PHOTO.png
 *        EVAL_DIR] */
#include "task-test.h"
#include "task.h"

/* in + N(0, sigma/255), rounded to 8 bits and clipped, as a saved PNG. */
static void
add_noise (const gd_image *clean, double sigma, uint64_t seed, gd_image *noisy)
{
  test_crop (clean, 0, 0, clean->width, clean->height, noisy);
  for (size_t i = 0; i < test_count (noisy); i++)
    {
      double v = 255.0 * clean->data[i] + sigma * gd_rng_normal (seed, 77, i);

      v = nearbyint (v);
      noisy->data[i] = (float)((v < 0 ? 0 : v > 255 ? 255 : v) / 255.0);
    }
}

typedef struct
{
  int calls;
  int cancel_at;
} probe;

static int
on_progress (void *user_data, int done, int total)
{
  probe *pr = user_data;

  (void)total;
  pr->calls++;
  return pr->cancel_at > 0 && done >= pr->cancel_at;
}

static void
test_estimator (void)
{
  static const double sigmas[] = { 2, 5, 10, 25, 50 };
  gd_image smooth, noisy, flat, tiny;
  gd_error err;

  gd_image_alloc (&smooth, 200, 150, 3, NULL);
  for (int y = 0; y < 150; y++)
    for (int x = 0; x < 200; x++)
      for (int c = 0; c < 3; c++)
        smooth.data[((size_t)y * 200 + x) * 3 + c]
            = 0.5f + 0.2f * sinf (0.05f * x + 0.03f * y + c);
  for (size_t k = 0; k < sizeof sigmas / sizeof *sigmas; k++)
    {
      double est;

      add_noise (&smooth, sigmas[k], k, &noisy);
      est = gd_estimate_sigma (&noisy);
      CHECK (fabs (est - sigmas[k]) < 0.08 * sigmas[k] + 0.3,
             "sigma %g estimated %.2f", sigmas[k], est);
      gd_image_free (&noisy);
    }
  /* Gray: one channel. */
  {
    gd_image gray;

    gd_image_alloc (&gray, 120, 90, 1, NULL);
    for (size_t i = 0; i < 120 * 90; i++)
      gray.data[i] = 0.4f;
    add_noise (&gray, 15, 3, &noisy);
    CHECK (fabs (gd_estimate_sigma (&noisy) - 15) < 1.0,
           "gray sigma 15 estimated %.2f", gd_estimate_sigma (&noisy));
    gd_image_free (&noisy);
    gd_image_free (&gray);
  }
  gd_image_alloc (&flat, 50, 40, 3, NULL);
  for (size_t i = 0; i < test_count (&flat); i++)
    flat.data[i] = 0.3f;
  CHECK (gd_estimate_sigma (&flat) == 0.0, "a flat image has no noise (%g)",
         gd_estimate_sigma (&flat));
  for (size_t i = 0; i < test_count (&flat); i++)
    flat.data[i] = (i / 3) % 2 ? 1.0f : 0.0f;
  CHECK (gd_estimate_sigma (&flat) == -1.0,
         "every pixel clipped: no estimate (%g)", gd_estimate_sigma (&flat));
  CHECK (gd_image_alloc (&tiny, 2, 5, 3, &err) == GD_OK
             && gd_estimate_sigma (&tiny) == -1.0,
         "2 x 5: too small to estimate");
  CHECK (gd_estimate_sigma (NULL) == -1.0, "NULL: no estimate");
  gd_image_free (&tiny);
  gd_image_free (&flat);
  gd_image_free (&smooth);
}

static void
test_one_step (gd_model *model)
{
  const gd_schedule *sched = &gd_model_get_info (model)->schedule;
  const int w = 40, h = 32;
  gd_image clean, noisy, out;
  gd_task_params p;
  gd_error err;
  float *x = malloc (3 * w * h * sizeof *x),
        *eps = malloc (3 * w * h * sizeof *x);
  double sigma = 25.0, s11 = 2.0 * sigma / 255.0, abar, worst = 0;
  double t_star = gd_schedule_t_of_sigma (sched, s11);
  probe pr = { 0, 0 };

  abar = gd_schedule_abar_at (sched, t_star);
  CHECK (fabs (sqrt ((1 - abar) / abar) - s11) < 1e-9,
         "t* = %.4f has sqrt((1-abar)/abar) = sigma", t_star);
  gd_image_alloc (&clean, w, h, 3, NULL);
  test_fill (&clean);
  add_noise (&clean, sigma, 1, &noisy);

  gd_task_params_init (&p);
  p.sigma = sigma;
  p.one_step = 1;
  p.progress = on_progress;
  p.progress_data = &pr;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 1,
         "one step, one evaluation (%d): %s", pr.calls, err.message);
  CHECK (gd_task_nfe (model, "denoise", &p, w, h, &err) == 1, "nfe 1");
  /* By hand: x_t* = sqrt(abar) y, x0_hat = y - sigma eps_hat. */
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < w * h; i++)
      x[c * w * h + i]
          = (float)sqrt (abar) * (2.0f * noisy.data[i * 3 + c] - 1.0f);
  gd_model_eps (model, x, w, h, t_star, eps, &err);
  for (int c = 0; c < 3 && out.data != NULL; c++)
    for (int i = 0; i < w * h; i++)
      {
        double x0
            = 2.0 * noisy.data[i * 3 + c] - 1.0 - s11 * eps[c * w * h + i];
        double v = fmin (1.0, fmax (0.0, (x0 + 1.0) / 2.0));

        worst = fmax (worst, fabs (v - out.data[i * 3 + c]));
      }
  CHECK (worst < 1e-5, "one step = x0_hat(t*) by hand (max diff %.2g)", worst);
  gd_image_free (&out);
  free (x);
  free (eps);
  gd_image_free (&clean);
  gd_image_free (&noisy);
}

static void
test_sampled (gd_model *model)
{
  const gd_schedule *sched = &gd_model_get_info (model)->schedule;
  gd_image clean, noisy, a, b, c;
  gd_task_params p;
  gd_error err;
  probe pr = { 0, 0 };
  double t_star;
  int t0, nfe;

  gd_image_alloc (&clean, 48, 40, 3, NULL);
  test_fill (&clean);
  add_noise (&clean, 25, 2, &noisy);
  gd_task_params_init (&p);
  p.sampler.sampler = "skip-step";
  p.sampler.steps = 100; /* more than t0: min(steps, t0) */
  p.sigma = 25;
  p.progress = on_progress;
  p.progress_data = &pr;
  CHECK (gd_task_denoise_start (sched, 25, &t_star, &t0, NULL) == GD_OK,
         "start");
  nfe = gd_task_nfe (model, "denoise", &p, 48, 40, &err);
  CHECK (t0 == (int)ceil (t_star) && nfe == t0,
         "sigma 25: t* %.2f, t0 %d, skip-step makes t0 evaluations (%d)",
         t_star, t0, nfe);
  CHECK (gd_denoise (model, &p, &noisy, &a, &err) == GD_OK && pr.calls == nfe,
         "progress %d of %d: %s", pr.calls, nfe, err.message);
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_OK
             && memcmp (a.data, b.data, test_count (&a) * sizeof (float)) == 0,
         "same seed, same pixels");
  p.sampler.seed = 5;
  CHECK (gd_denoise (model, &p, &noisy, &c, &err) == GD_OK
             && test_mean_abs_diff (&a, &c) > 1e-4,
         "another seed, other pixels");
  gd_image_free (&b);
  gd_image_free (&c);

  /* sigma <= 0: estimated; the same as giving the estimate. */
  p.sampler.sampler = "ddim";
  p.sampler.steps = 3;
  p.sigma = 0;
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_OK, "auto: %s",
         err.message);
  CHECK (gd_task_nfe (model, "denoise", &p, 48, 40, &err) == -1
             && strstr (err.message, "estimate"),
         "no count without sigma: %s", err.message);
  p.sigma = gd_estimate_sigma (&noisy);
  CHECK (gd_denoise (model, &p, &noisy, &c, &err) == GD_OK
             && memcmp (b.data, c.data, test_count (&b) * sizeof (float)) == 0,
         "sigma auto = sigma given the estimate (%.2f)", p.sigma);
  gd_image_free (&b);
  gd_image_free (&c);

  pr.cancel_at = 2;
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_ERR_CANCELLED
             && b.data == NULL,
         "cancel leaves out empty: %s", err.message);
  pr.cancel_at = 0;

  p.sigma = 1e9;
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_ERR_INVALID
             && b.data == NULL && strstr (err.message, "sigma"),
         "sigma 1e9: %s", err.message);
  p.sigma = NAN;
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_ERR_INVALID,
         "sigma NaN: %s", err.message);
  gd_image_free (&a);
  gd_image_free (&clean);
  gd_image_free (&noisy);
}

static void
test_tiled (gd_model *model, const gd_image *clean, int tile, double tol_mean,
            double tol_max)
{
  gd_image noisy, whole, tiled;
  gd_task_params p;
  gd_error err;

  add_noise (clean, 25, 3, &noisy);
  gd_task_params_init (&p);
  p.sigma = 25;
  p.sampler.steps = 4;
  CHECK (gd_denoise (model, &p, &noisy, &whole, &err) == GD_OK, "whole: %s",
         err.message);
  p.tile_size = tile;
  CHECK (gd_denoise (model, &p, &noisy, &tiled, &err) == GD_OK, "tiled: %s",
         err.message);
  if (whole.data != NULL && tiled.data != NULL)
    {
      double mean = test_mean_abs_diff (&whole, &tiled);
      double worst = test_max_abs_diff (&whole, &tiled);

      printf ("denoise %d x %d, tile %d: tiled - untiled mean %.5f, max "
              "%.4f\n",
              clean->width, clean->height, tile, mean, worst);
      /* tol_max 0: the random test model's clipped outliers not bounded. */
      CHECK (mean > 0.0 && mean < tol_mean && (tol_max == 0 || worst < tol_max),
             "tiled = untiled within %g mean, %g max (%.5f, %.4f)", tol_mean,
             tol_max, mean, worst);
    }
  gd_image_free (&noisy);
  gd_image_free (&whole);
  gd_image_free (&tiled);
}

/* The shipped model lowers the error at sigma 25/255. */
static void
test_quality (gd_model *model, const gd_image *clean)
{
  gd_image noisy, out;
  gd_task_params p;
  gd_error err;
  double before;

  add_noise (clean, 25, 11, &noisy);
  before = test_psnr (&noisy, clean);
  gd_task_params_init (&p);
  p.sampler.steps = 5;
  for (int mode = 0; mode < 3; mode++)
    {
      p.one_step = mode == 0;
      p.sigma = mode == 2 ? 0.0 : 25.0;
      CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK, "%s",
             err.message);
      if (out.data == NULL)
        continue;
      printf ("denoise sigma 25 %s: %.2f dB -> %.2f dB\n",
              mode == 0   ? "one step"
              : mode == 1 ? "ddim 5 steps"
                          : "ddim 5 steps, sigma auto",
              before, test_psnr (&out, clean));
      CHECK (test_psnr (&out, clean) > before + 6.0,
             "mode %d: the error against the clean image lowered by 6 dB "
             "(%.2f -> %.2f)",
             mode, before, test_psnr (&out, clean));
      gd_image_free (&out);
    }
  gd_image_free (&noisy);
}

int
main (int argc, char **argv)
{
  gd_model *model;
  gd_image in;
  gd_error err;

  if (argc != 2 && argc != 5)
    {
      fprintf (stderr,
               "usage: %s TINY.safetensors [DEFAULT.safetensors PHOTO.png "
               "EVAL_DIR]\n",
               argv[0]);
      return 2;
    }
  model = gd_model_load (argv[1], &err);
  if (model == NULL)
    {
      fprintf (stderr, "FAIL cannot load %s: %s\n", argv[1], err.message);
      return 1;
    }
  if (argc == 2)
    {
      test_estimator ();
      test_one_step (model);
      test_sampled (model);
      gd_image_alloc (&in, 150, 100, 3, NULL);
      test_fill (&in);
      test_tiled (model, &in, 64, 0.01, 0);
      gd_image_free (&in);
    }
  gd_model_free (model);

  if (argc == 5)
    {
      const char *used;

      model = gd_model_load (argv[2], &err);
      if (model == NULL)
        {
          fprintf (stderr, "FAIL cannot load %s: %s\n", argv[2], err.message);
          return 1;
        }
      if (test_photo (argv[4], argv[3], 128, 96, &in, &used) != 0)
        return 1;
      printf ("photograph: %s\n", used);
      test_quality (model, &in);
      gd_image_free (&in);
      if (test_photo (argv[4], argv[3], 192, 144, &in, &used) != 0)
        return 1;
      test_tiled (model, &in, 128, 0.001, 0.02);
      gd_image_free (&in);
      gd_model_free (model);
    }
  return test_summary (argv[0]);
}
