/* test_upscale.c: gd_upscale.  On the small test model: the result
 * box-downsampled is the input (x2, x4, RGB, gray, clipped pixels, every
 * strength and kind of sampler), seeds, counts, cancel, tiled = untiled,
 * bad scales.  With the shipped model (argv[2..4]: model, fallback
 * photograph, eval folder): x2 of a box-downsampled photograph closer to
 * the original than nearest replication, consistent, tiled = untiled.
 *
 * Usage: test_upscale TINY.safetensors [DEFAULT.safetensors PHOTO.png
 *        EVAL_DIR] */
#include "resample.h"
#include "task-test.h"

/* The largest |box average of out - in| over every block and channel. */
static double
downsample_error (const gd_image *in, const gd_image *out, int s)
{
  double worst = 0;

  for (int y = 0; y < in->height; y++)
    for (int x = 0; x < in->width; x++)
      for (int c = 0; c < in->channels; c++)
        {
          double sum = 0;

          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              sum += out->data[((size_t)(y * s + j) * out->width + x * s + i)
                                   * out->channels
                               + c];
          worst = fmax (
              worst,
              fabs (
                  sum / (s * s)
                  - in->data[((size_t)y * in->width + x) * in->channels + c]));
        }
  return worst;
}

/* src resampled to w x h by resample.c's cubic convolution (allocated):
 * Pillow's BICUBIC resize, up or down. */
static void
cubic_resize (const gd_image *src, int w, int h, gd_image *dst)
{
  gd_resample rx, ry;
  int ch = src->channels;

  gd_resample_cubic (&rx, src->width, w, NULL);
  gd_resample_cubic (&ry, src->height, h, NULL);
  gd_image_alloc (dst, w, h, ch, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++)
        {
          double sum = 0;

          for (int j = 0; j < ry.count[y]; j++)
            for (int i = 0; i < rx.count[x]; i++)
              sum += ry.w[(size_t)y * ry.taps + j]
                     * rx.w[(size_t)x * rx.taps + i]
                     * src->data[((size_t)(ry.start[y] + j) * src->width
                                  + rx.start[x] + i)
                                     * ch
                                 + c];
          dst->data[((size_t)y * w + x) * ch + c] = (float)sum;
        }
  gd_resample_free (&rx);
  gd_resample_free (&ry);
}

/* The largest |bicubic downscale of out - in| (resample.c's operator, the
 * one Pillow and MATLAB's imresize use). */
static double
cubic_error (const gd_image *in, const gd_image *out)
{
  gd_image back;
  double worst;

  cubic_resize (out, in->width, in->height, &back);
  worst = test_max_abs_diff (&back, in);
  gd_image_free (&back);
  return worst;
}

/* The box average of src, s times smaller (allocated). */
static void
box_down (const gd_image *src, int s, gd_image *dst)
{
  gd_image_alloc (dst, src->width / s, src->height / s, src->channels, NULL);
  for (int y = 0; y < dst->height; y++)
    for (int x = 0; x < dst->width; x++)
      for (int c = 0; c < src->channels; c++)
        {
          double sum = 0;

          for (int j = 0; j < s; j++)
            for (int i = 0; i < s; i++)
              sum += src->data[((size_t)(y * s + j) * src->width + x * s + i)
                                   * src->channels
                               + c];
          dst->data[((size_t)y * dst->width + x) * dst->channels + c]
              = (float)(sum / (s * s));
        }
}

/* Nearest replication, s times larger (allocated). */
static void
replicate (const gd_image *src, int s, gd_image *dst)
{
  gd_image_alloc (dst, src->width * s, src->height * s, src->channels, NULL);
  for (int y = 0; y < dst->height; y++)
    for (int x = 0; x < dst->width; x++)
      for (int c = 0; c < src->channels; c++)
        dst->data[((size_t)y * dst->width + x) * dst->channels + c]
            = src->data[((size_t)(y / s) * src->width + x / s) * src->channels
                        + c];
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
test_consistency (gd_model *model)
{
  static const struct
  {
    const char *sampler;
    double eta;
    double strength;
  } runs[] = { { "ddim", 0.85, 1.0 },
               { "ddim", 0.0, 0.5 },
               { "dpm-solver++2m", 0.0, 1.0 },
               { "skip-step", 0.0, 0.3 },
               { "ddim", 0.0, 0.0 } };
  gd_image in, out;
  gd_task_params p;
  gd_error err;

  for (int kernel = 0; kernel <= 1; kernel++)
    for (int channels = 1; channels <= 3; channels += 2)
      for (int s = 2; s <= 4; s += 2)
        for (size_t k = 0; k < sizeof runs / sizeof *runs; k++)
          {
            gd_image_alloc (&in, 20, 14, channels, NULL);
            test_fill (&in);
            /* Box: clipped pixels, whose blocks must stay at 0 and 1
             * exactly.  Bicubic: values in 0.25..0.75, so that a result in
             * 0..1 can meet A x = y exactly (its ringing stays inside);
             * test_clipped_cubic has the clipped case. */
            for (size_t i = 0; !kernel && i < test_count (&in); i++)
              in.data[i] = 0.25f + 0.5f * in.data[i];
            for (int c = 0; kernel && c < channels; c++)
              {
                in.data[c] = 0.0f;
                in.data[5 * channels + c] = 1.0f;
              }
            gd_task_params_init (&p);
            p.scale = s;
            gd_sampler_from_name (runs[k].sampler, &p.sampler.kind, NULL);
            p.sampler.eta = runs[k].eta;
            p.strength = runs[k].strength;
            p.sampler.steps = 3;
            p.sampler.seed = 4;
            p.kernel = kernel ? GD_KERNEL_BOX : GD_KERNEL_BICUBIC;
            CHECK (gd_upscale (model, &p, &in, &out, &err) == GD_OK,
                   "x%d %s: %s", s, runs[k].sampler, err.message);
            if (out.data != NULL && !kernel)
              {
                double e = cubic_error (&in, &out);
                int outside = 0;

                for (size_t i = 0; i < test_count (&out); i++)
                  outside += !(out.data[i] >= 0.0f && out.data[i] <= 1.0f);
                CHECK (outside == 0, "bicubic: %d values outside 0..1",
                       outside);
                CHECK (e < 1e-5,
                       "x%d, %d channel(s), %s at strength %g: bicubic-"
                       "downscaled = the input (max error %.2g)",
                       s, channels, runs[k].sampler, runs[k].strength, e);
              }
            if (out.data != NULL && kernel)
              {
                double e = downsample_error (&in, &out, s);
                int outside = 0;

                CHECK (out.width == 20 * s && out.height == 14 * s
                           && out.channels == channels,
                       "out is %d x %d x %d", out.width, out.height,
                       out.channels);
                CHECK (e < 2e-6,
                       "x%d, %d channel(s), %s at strength %g: box-downsampled "
                       "= the input (max error %.2g)",
                       s, channels, runs[k].sampler, runs[k].strength, e);
                for (size_t i = 0; i < test_count (&out); i++)
                  outside += !(out.data[i] >= 0.0f && out.data[i] <= 1.0f);
                CHECK (outside == 0, "%d values outside 0..1", outside);
              }
            gd_image_free (&out);
            gd_image_free (&in);
          }
}

/* Bicubic with clipped input pixels: a 0 next to brighter ones asks for
 * ringing below 0, which the clamp to 0..1 takes away, so A x = y holds
 * only approximately there (projection and clamp alternate). */
static void
test_clipped_cubic (gd_model *model)
{
  gd_image in, out;
  gd_task_params p;
  gd_error err;

  gd_image_alloc (&in, 20, 14, 3, NULL);
  test_fill (&in);
  for (int c = 0; c < 3; c++)
    {
      in.data[c] = 0.0f;
      in.data[5 * 3 + c] = 1.0f;
    }
  gd_task_params_init (&p);
  p.scale = 4;
  p.strength = 0.0;
  CHECK (gd_upscale (model, &p, &in, &out, &err) == GD_OK, "clipped: %s",
         err.message);
  if (out.data != NULL)
    {
      double worst = cubic_error (&in, &out);
      int outside = 0;

      for (size_t i = 0; i < test_count (&out); i++)
        outside += !(out.data[i] >= 0.0f && out.data[i] <= 1.0f);
      printf ("bicubic x4 with clipped pixels: largest |A x - y| %.4f\n",
              worst);
      CHECK (outside == 0 && worst < 0.05,
             "clipped input: within 0..1 (%d outside) and A x = y within "
             "0.05 (%.3g)",
             outside, worst);
    }
  gd_image_free (&in);
  gd_image_free (&out);
}

static void
test_runs (gd_model *model)
{
  gd_image in, a, b, c;
  gd_task_params p;
  gd_error err;
  probe pr = { 0, 0 };
  int nfe;

  gd_image_alloc (&in, 24, 16, 3, NULL);
  test_fill (&in);
  gd_task_params_init (&p);
  p.scale = 4;
  p.sampler.eta = 0.85;
  p.sampler.steps = 3;
  p.strength = 1.0;
  p.tile_size = 64; /* 96 x 64: two tiles */
  p.progress = on_progress;
  p.progress_data = &pr;
  nfe = gd_tool_nfe (model, GD_TOOL_UPSCALE, &p, 24, 16, &err);
  CHECK (nfe == 6, "3 steps on 2 tiles: %d (%s)", nfe, err.message);
  CHECK (gd_upscale (model, &p, &in, &a, &err) == GD_OK && pr.calls == nfe,
         "progress per tile: %d calls (%s)", pr.calls, err.message);
  CHECK (gd_upscale (model, &p, &in, &b, &err) == GD_OK
             && memcmp (a.data, b.data, test_count (&a) * sizeof (float)) == 0,
         "same seed, same pixels");
  p.sampler.seed = 1;
  CHECK (gd_upscale (model, &p, &in, &c, &err) == GD_OK
             && test_mean_abs_diff (&a, &c) > 1e-4,
         "another seed, other pixels (%g)", test_mean_abs_diff (&a, &c));
  gd_image_free (&b);
  gd_image_free (&c);

  pr.cancel_at = 4;
  CHECK (gd_upscale (model, &p, &in, &b, &err) == GD_ERR_CANCELLED
             && b.data == NULL,
         "cancel leaves out empty: %s", err.message);
  pr.cancel_at = 0;
  pr.calls = 0;
  p.strength = 0.0;
  CHECK (gd_upscale (model, &p, &in, &b, &err) == GD_OK && pr.calls == 0
             && gd_tool_nfe (model, GD_TOOL_UPSCALE, &p, 24, 16, &err) == 0,
         "strength 0: the resize alone, no evaluation");
  gd_image_free (&b);

  p.scale = 3;
  p.strength = 0.5;
  CHECK (gd_upscale (model, &p, &in, &b, &err) == GD_ERR_INVALID
             && b.data == NULL && strstr (err.message, "scale 3"),
         "scale 3: %s", err.message);
  CHECK (gd_tool_nfe (model, GD_TOOL_UPSCALE, &p, 24, 16, &err) == -1,
         "scale 3 counted: %s", err.message);
  p.scale = 0;
  CHECK (gd_upscale (model, &p, &in, &b, &err) == GD_ERR_INVALID, "scale 0: %s",
         err.message);
  gd_image_free (&a);
  gd_image_free (&in);
}

static void
test_tiled (gd_model *model, const gd_image *in, int tile, double tol_mean,
            double tol_max)
{
  gd_image whole, tiled;
  gd_task_params p;
  gd_error err;

  gd_task_params_init (&p);
  p.sampler.eta = 0.85;
  p.sampler.steps = 4;
  p.strength = 0.5;
  CHECK (gd_upscale (model, &p, in, &whole, &err) == GD_OK, "whole: %s",
         err.message);
  p.tile_size = tile;
  CHECK (gd_upscale (model, &p, in, &tiled, &err) == GD_OK, "tiled: %s",
         err.message);
  if (whole.data != NULL && tiled.data != NULL)
    {
      double mean = test_mean_abs_diff (&whole, &tiled);
      double worst = test_max_abs_diff (&whole, &tiled);

      printf ("upscale x2 to %d x %d, tile %d: tiled - untiled mean %.5f, "
              "max %.4f\n",
              whole.width, whole.height, tile, mean, worst);
      /* tol_max 0: the random test model's clipped outliers not bounded. */
      CHECK (mean > 0.0 && mean < tol_mean && (tol_max == 0 || worst < tol_max),
             "tiled = untiled within %g mean, %g max (%.5f, %.4f)", tol_mean,
             tol_max, mean, worst);
      CHECK (fabs (cubic_error (in, &tiled) - cubic_error (in, &whole)) < 1e-3,
             "tiled as consistent as untiled (%.2g, %.2g)",
             cubic_error (in, &tiled), cubic_error (in, &whole));
    }
  gd_image_free (&whole);
  gd_image_free (&tiled);
}

/* The shipped model: x2 of the photograph's box-downsampled crop. */
static void
test_detail (gd_model *model, const gd_image *photo)
{
  gd_image small, near, out;
  gd_task_params p;
  gd_error err;
  double psnr_near, psnr_out;

  box_down (photo, 2, &small);
  replicate (&small, 2, &near);
  psnr_near = test_psnr (&near, photo);
  gd_task_params_init (&p);
  p.sampler.eta = 0.85;
  p.sampler.steps = 8;
  p.strength = 0.5;
  p.kernel = GD_KERNEL_BOX;
  CHECK (gd_upscale (model, &p, &small, &out, &err) == GD_OK, "x2: %s",
         err.message);
  if (out.data != NULL)
    {
      psnr_out = test_psnr (&out, photo);
      printf ("x2 of %d x %d: %.2f dB, nearest replication %.2f dB\n",
              small.width, small.height, psnr_out, psnr_near);
      CHECK (psnr_out > psnr_near + 0.5,
             "x2 beats nearest replication by 0.5 dB (%.2f, %.2f)", psnr_out,
             psnr_near);
      CHECK (downsample_error (&small, &out, 2) < 2e-6,
             "shipped model: consistent (%.2g)",
             downsample_error (&small, &out, 2));
    }
  gd_image_free (&small);
  gd_image_free (&near);
  gd_image_free (&out);
}

/* The shipped model, at the tool's defaults: x2 of the photograph's
 * bicubic-downscaled crop, consistent and no worse than plain bicubic. */
static void
test_detail_cubic (gd_model *model, const gd_image *photo)
{
  gd_image small, plain, out;
  gd_tool_defaults d;
  gd_task_params p;
  gd_error err;

  cubic_resize (photo, photo->width / 2, photo->height / 2, &small);
  cubic_resize (&small, photo->width, photo->height, &plain);
  gd_tool_defaults_get (GD_TOOL_UPSCALE, &d, NULL);
  gd_task_params_init (&p);
  p.strength = d.strength;
  p.sampler.eta = d.eta;
  p.sampler.steps = 8;
  CHECK (gd_upscale (model, &p, &small, &out, &err) == GD_OK, "x2: %s",
         err.message);
  if (out.data != NULL)
    {
      double psnr_out = test_psnr (&out, photo);
      double psnr_plain = test_psnr (&plain, photo);

      printf ("bicubic x2 of %d x %d at strength %g: %.2f dB, plain bicubic "
              "%.2f dB\n",
              small.width, small.height, d.strength, psnr_out, psnr_plain);
      /* How much the consistent result gains over the plain enlargement
       * depends on the picture (kodim05's crop: +0.3 dB, chelsea's: 0);
       * it must not lose, and it must be consistent. */
      CHECK (psnr_out > psnr_plain - 0.1,
             "x2 at least as close as the plain bicubic enlargement (%.2f, "
             "%.2f)",
             psnr_out, psnr_plain);
      CHECK (cubic_error (&small, &out) < 0.02,
             "x2 bicubic-downscaled = the input (%.3g)",
             cubic_error (&small, &out));
    }
  gd_image_free (&small);
  gd_image_free (&plain);
  gd_image_free (&out);
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
      test_consistency (model);
      test_clipped_cubic (model);
      test_runs (model);
      gd_image_alloc (&in, 75, 50, 3, NULL);
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
      test_detail (model, &in);
      test_detail_cubic (model, &in);
      gd_image_free (&in);
      if (test_photo (argv[4], argv[3], 96, 72, &in, &used) != 0)
        return 1;
      test_tiled (model, &in, 128, 0.001, 0.02);
      gd_image_free (&in);
      gd_model_free (model);
    }
  return test_summary (argv[0]);
}
