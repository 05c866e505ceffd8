/* test_denoise.c: gd_denoise and gd_estimate_sigma.  On the small test
 * model: sigma -> t*, the one-step result against x0_hat computed by hand,
 * counts, sigma estimated = sigma given, seeds, cancel, tiled = untiled,
 * bad sigmas; the estimator on images with known noise; the clip
 * correction (its truncated-normal mean against quadrature, its two
 * evaluations by hand, nothing changed without clipped values).  With the
 * shipped model (argv[2..4]: model, fallback photograph, eval folder): the
 * error against the clean photograph lowered at sigma 25/255, one step and
 * sampled; the bias of clipped noise in a dark image removed.
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
  int last_done;
  int total;
} probe;

static int
on_progress (void *user_data, int done, int total)
{
  probe *pr = user_data;

  pr->calls++;
  pr->last_done = done;
  pr->total = total;
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

/* E[v | v <= 0] for v ~ N(m, s^2) by the midpoint rule over
 * [m - 40 s, 0] (densities relative to the largest, at 0 or m). */
static double
naive_mean_below_zero (double m, double s)
{
  const int n = 2000000;
  double lo = m - 40.0 * s, top = fmin (m, 0.0), num = 0, den = 0;

  for (int i = 0; i < n; i++)
    {
      double v = lo + (i + 0.5) * (0.0 - lo) / n;
      double d = exp (-0.5 * ((v - m) * (v - m) - (top - m) * (top - m))
                      / (s * s));

      num += v * d;
      den += d;
    }
  return num / den;
}

static void
test_mean_below_zero (void)
{
  static const double ratios[] = { -6, -2, -0.5, 0, 0.3, 1, 2.5, 5, 8, 12 };
  double worst = 0;

  for (size_t k = 0; k < sizeof ratios / sizeof *ratios; k++)
    for (int j = 0; j < 2; j++)
      {
        double s = j ? 0.2 : 3.0, m = ratios[k] * s;
        double got = gd_normal_mean_below_zero (m, s);
        double want = naive_mean_below_zero (m, s);

        worst = fmax (worst, fabs (got - want) / s);
        CHECK (fabs (got - want) < 1e-5 * s && got < 0,
               "E[v | v <= 0], v ~ N(%g, %g^2): %.9f, quadrature %.9f", m,
               s, got, want);
      }
  printf ("truncated-normal mean: worst %.2g sigma from quadrature\n",
          worst);
  /* Far into the tail (series branch, quadrature would underflow): the
   * mean tends to 0 from below as s^2 / m. */
  CHECK (fabs (gd_normal_mean_below_zero (1.0, 0.01) + 1e-4) < 1e-7,
         "m = 100 s: -s^2/m (%.3g)", gd_normal_mean_below_zero (1.0, 0.01));
  CHECK (fabs (gd_normal_mean_below_zero (-1.0, 0.01) + 1.0) < 1e-12,
         "m = -100 s: m itself");
}

/* One-step x0_hat(t*) of the planar y (on [-1, 1]) by hand, into x0. */
static void
x0_hat_by_hand (gd_model *model, double t_star, double s11, const float *y,
                int w, int h, float *x0)
{
  const gd_schedule *sched = &gd_model_get_info (model)->schedule;
  double abar = gd_schedule_abar_at (sched, t_star);
  float *x = malloc (3 * w * h * sizeof *x), *eps = malloc (3 * w * h * sizeof *x);
  gd_error err;

  for (int i = 0; i < 3 * w * h; i++)
    x[i] = (float)sqrt (abar) * y[i];
  CHECK (gd_model_eps (model, x, w, h, t_star, eps, &err) == GD_OK, "%s",
         err.message);
  for (int i = 0; i < 3 * w * h; i++)
    x0[i] = (float)(y[i] - s11 * eps[i]);
  free (x);
  free (eps);
}

static double
max_diff_planar (const float *planar, const gd_image *out)
{
  const int plane = out->width * out->height;
  double worst = 0;

  for (int c = 0; c < 3 && out->data != NULL; c++)
    for (int i = 0; i < plane; i++)
      {
        double v = fmin (1.0, fmax (0.0, (planar[c * plane + i] + 1.0) / 2.0));

        worst = fmax (worst, fabs (v - out->data[i * 3 + c]));
      }
  return out->data != NULL ? worst : INFINITY;
}

/* One step on the test model, by hand: without the clip correction one
 * evaluation, x0_hat(t*) = y - sigma eps_hat(sqrt(abar) y, t*); with it
 * (the default) two, the second on y with each clipped value replaced by
 * E[v | v beyond the bound] under the first x0_hat
 * (gd_normal_mean_below_zero, checked above against quadrature); sampled,
 * the same correction before the sampler; nothing clipped: one
 * evaluation, the plain result. */
static void
test_one_step (gd_model *model)
{
  const gd_schedule *sched = &gd_model_get_info (model)->schedule;
  const int w = 40, h = 32, n = 3 * w * h;
  double sigma = 25.0, s11 = 2.0 * sigma / 255.0, abar, worst;
  double t_star = gd_schedule_t_of_sigma (sched, s11);
  float *y = malloc (n * sizeof *y), *x0 = malloc (n * sizeof *y);
  gd_image clean, noisy, out, plain;
  gd_task_params p;
  gd_error err;
  probe pr = { 0, 0, 0, 0 };
  int low = 0, high = 0;

  abar = gd_schedule_abar_at (sched, t_star);
  CHECK (fabs (sqrt ((1 - abar) / abar) - s11) < 1e-9,
         "t* = %.4f has sqrt((1-abar)/abar) = sigma", t_star);
  gd_image_alloc (&clean, w, h, 3, NULL);
  test_fill (&clean);
  add_noise (&clean, sigma, 1, &noisy);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < w * h; i++)
      y[c * w * h + i] = 2.0f * noisy.data[i * 3 + c] - 1.0f;
  x0_hat_by_hand (model, t_star, s11, y, w, h, x0);

  gd_task_params_init (&p);
  /* The formula, checked on the exact path to 1e-5: the hand computation
   * runs the model on whatever path the last task set. */
  p.precision = GD_PRECISION_EXACT;
  p.sigma = sigma;
  p.one_step = 1;
  p.progress = on_progress;
  p.progress_data = &pr;
  CHECK (p.clip_correction == 1, "clip correction on by default");
  p.clip_correction = 0;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 1
             && gd_tool_nfe (model, GD_TOOL_DENOISE, &p, w, h, &err) == 1,
         "one step, one evaluation (%d): %s", pr.calls, err.message);
  worst = max_diff_planar (x0, &out);
  CHECK (worst < 1e-5, "one step = x0_hat(t*) by hand (max diff %.2g)", worst);
  gd_image_free (&out);

  p.clip_correction = 1;
  pr.calls = 0;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 2
             && gd_tool_nfe (model, GD_TOOL_DENOISE, &p, w, h, &err) == 2,
         "clipped values: two evaluations (%d): %s", pr.calls, err.message);
  for (int i = 0; i < n; i++)
    {
      double m = fmin (1.0, fmax (-1.0, x0[i]));

      if (y[i] == -1.0f)
        y[i] = (float)(-1.0 + gd_normal_mean_below_zero (m + 1.0, s11)), low++;
      else if (y[i] == 1.0f)
        y[i] = (float)(1.0 - gd_normal_mean_below_zero (1.0 - m, s11)), high++;
    }
  CHECK (low > 20 && high > 20, "the test image clips (%d low, %d high)", low,
         high);
  x0_hat_by_hand (model, t_star, s11, y, w, h, x0);
  worst = max_diff_planar (x0, &out);
  CHECK (worst < 1e-5, "corrected one step by hand (max diff %.2g)", worst);
  gd_image_free (&out);

  /* Sampled: the same correction, then the sampler from the corrected y. */
  p.one_step = 0;
  p.sampler.steps = 3;
  pr.calls = 0;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 4
             && gd_tool_nfe (model, GD_TOOL_DENOISE, &p, w, h, &err) == 4,
         "sampled, 3 steps: 4 evaluations (%d)", pr.calls);
  p.clip_correction = 0;
  pr.calls = 0;
  CHECK (gd_denoise (model, &p, &noisy, &plain, &err) == GD_OK && pr.calls == 3
             && test_mean_abs_diff (&out, &plain) > 1e-4,
         "without it: 3 evaluations (%d), another result", pr.calls);
  gd_image_free (&out);
  gd_image_free (&plain);

  /* A self-ensemble of 4: four passes for the estimate, one for the
   * correction's first estimate, counted; a size
   * other than 1, 2, 4 or 8 refused with nothing written. */
  p.one_step = 1;
  p.clip_correction = 1;
  p.ensemble = 4;
  pr.calls = 0;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 5
             && pr.total == 5 && pr.last_done == 5
             && gd_tool_nfe (model, GD_TOOL_DENOISE, &p, w, h, &err) == 5,
         "ensemble 4, clipped: 5 passes (%d of %d; the correction's one is "
         "single)",
         pr.calls, pr.total);
  gd_image_free (&out);
  p.ensemble = 3;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_ERR_INVALID
             && out.data == NULL && strstr (err.message, "self-ensemble of 3")
             && gd_tool_nfe (model, GD_TOOL_DENOISE, &p, w, h, &err) == -1,
         "ensemble 3 refused: %s", err.message);
  p.ensemble = 1;

  /* Nothing at 0 or 1: one evaluation, bit for bit the plain result. */
  for (size_t i = 0; i < test_count (&noisy); i++)
    noisy.data[i] = 0.002f + 0.996f * noisy.data[i];
  p.one_step = 1;
  CHECK (gd_denoise (model, &p, &noisy, &plain, &err) == GD_OK, "plain");
  p.clip_correction = 1;
  pr.calls = 0;
  CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK && pr.calls == 1
             && memcmp (out.data, plain.data,
                        test_count (&out) * sizeof (float))
                    == 0,
         "nothing clipped: one evaluation (%d), the plain result", pr.calls);
  gd_image_free (&out);
  gd_image_free (&plain);
  gd_image_free (&clean);
  gd_image_free (&noisy);
  free (y);
  free (x0);
}

static void
test_sampled (gd_model *model)
{
  const gd_schedule *sched = &gd_model_get_info (model)->schedule;
  gd_image clean, noisy, a, b, c;
  gd_task_params p;
  gd_error err;
  probe pr = { 0, 0, 0, 0 };
  double t_star;
  int t0, nfe;

  gd_image_alloc (&clean, 48, 40, 3, NULL);
  test_fill (&clean);
  add_noise (&clean, 25, 2, &noisy);
  gd_task_params_init (&p);
  p.sampler.kind = GD_SAMPLER_SKIP_STEP;
  p.sampler.steps = 100; /* more than t0: min(steps, t0) */
  p.sigma = 25;
  p.progress = on_progress;
  p.progress_data = &pr;
  CHECK (gd_task_denoise_start (sched, 25, &t_star, &t0, NULL) == GD_OK,
         "start");
  nfe = gd_tool_nfe (model, GD_TOOL_DENOISE, &p, 48, 40, &err);
  CHECK (t0 == (int)ceil (t_star) && nfe == t0 + 1,
         "sigma 25: t* %.2f, t0 %d, skip-step makes t0 evaluations and the "
         "clip correction one (%d)",
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
  p.sampler.kind = GD_SAMPLER_DDIM;
  p.sampler.steps = 3;
  p.sigma = 0;
  CHECK (gd_denoise (model, &p, &noisy, &b, &err) == GD_OK, "auto: %s",
         err.message);
  CHECK (gd_tool_nfe (model, GD_TOOL_DENOISE, &p, 48, 40, &err) == -1
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

/* The self-ensemble of 8 on a photograph, one step at sigma 25: a lower
 * error than one pass (0.18 dB on CBSD68 in docs/tools.md). */
static void
test_ensemble_quality (gd_model *model, const gd_image *clean)
{
  gd_image noisy, out;
  gd_task_params p;
  gd_error err;
  double psnr[2];

  add_noise (clean, 25, 13, &noisy);
  gd_task_params_init (&p);
  p.sigma = 25;
  p.one_step = 1;
  for (int k = 0; k < 2; k++)
    {
      p.ensemble = k ? 8 : 1;
      CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK, "%s",
             err.message);
      if (out.data == NULL)
        return;
      psnr[k] = test_psnr (&out, clean);
      gd_image_free (&out);
    }
  printf ("one step, sigma 25: %.2f dB, self-ensemble of 8: %.2f dB\n", psnr[0],
          psnr[1]);
  CHECK (psnr[1] > psnr[0] + 0.05,
         "the self-ensemble lowers the error (%.2f -> %.2f dB)", psnr[0],
         psnr[1]);
  gd_image_free (&noisy);
}

/* A dark photograph (values 0..0.15) with sigma 25 noise clipped at 0:
 * without the correction the clipped noise leaves a positive bias; with it
 * the bias is gone and the error lower. */
static void
test_dark (gd_model *model, const gd_image *photo)
{
  gd_image clean, noisy, out;
  gd_task_params p;
  gd_error err;
  double psnr[2], bias[2];

  test_crop (photo, 0, 0, photo->width, photo->height, &clean);
  for (size_t i = 0; i < test_count (&clean); i++)
    clean.data[i] *= 0.15f;
  add_noise (&clean, 25, 12, &noisy);
  gd_task_params_init (&p);
  p.sigma = 25;
  p.one_step = 1;
  for (int on = 0; on < 2; on++)
    {
      double sum = 0;

      p.clip_correction = on;
      CHECK (gd_denoise (model, &p, &noisy, &out, &err) == GD_OK, "%s",
             err.message);
      if (out.data == NULL)
        return;
      for (size_t i = 0; i < test_count (&out); i++)
        sum += out.data[i] - clean.data[i];
      bias[on] = 255.0 * sum / test_count (&out);
      psnr[on] = test_psnr (&out, &clean);
      gd_image_free (&out);
    }
  printf ("dark photograph, sigma 25 clipped: bias %+.2f -> %+.2f (0..255), "
          "%.2f dB -> %.2f dB with the clip correction\n",
          bias[0], bias[1], psnr[0], psnr[1]);
  CHECK (bias[0] > 3.0 && fabs (bias[1]) < 1.5 && psnr[1] > psnr[0] + 1.0,
         "the correction removes the bias (%+.2f -> %+.2f) and the error "
         "(%.2f -> %.2f dB)",
         bias[0], bias[1], psnr[0], psnr[1]);
  gd_image_free (&clean);
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
      test_mean_below_zero ();
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
      test_ensemble_quality (model, &in);
      test_dark (model, &in);
      gd_image_free (&in);
      if (test_photo (argv[4], argv[3], 192, 144, &in, &used) != 0)
        return 1;
      test_tiled (model, &in, 128, 0.001, 0.02);
      gd_image_free (&in);
      gd_model_free (model);
    }
  return test_summary (argv[0]);
}
