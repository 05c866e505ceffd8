/* test_inpaint.c: gd_inpaint.  On the small test model: pixels outside the
 * mask bit-identical (RGB, gray, every kind of sampler), a feathered edge
 * that blends, seeds, evaluation counts with RePaint's rounds, cancel,
 * tiled = untiled, bad masks.  With the shipped model (argv[2..4]: model,
 * fallback photograph, eval folder): a hole filled closer to the original
 * than a flat fill, and the same invariants on a photograph.
 *
 * Usage: test_inpaint TINY.safetensors [DEFAULT.safetensors PHOTO.png
 *        EVAL_DIR] */
#include "task-test.h"

typedef struct
{
  int calls;
  int total;
  int cancel_at;
} probe;

static int
on_progress (void *user_data, int done, int total)
{
  probe *pr = user_data;

  pr->calls++;
  pr->total = total;
  return pr->cancel_at > 0 && done >= pr->cancel_at;
}

/* A disc of radius r at (cx, cy), 1 inside, ramping to 0 over `feather`
 * pixels outside it. */
static void
make_mask (gd_image *mask, int w, int h, float cx, float cy, float r,
           float feather)
{
  gd_image_alloc (mask, w, h, 1, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float d = hypotf (x - cx, y - cy) - r;
        float m = d <= 0 ? 1.0f : d >= feather ? 0.0f : 1.0f - d / feather;

        mask->data[(size_t)y * w + x] = m;
      }
}

/* Pixels where the mask is 0: how many differ from the input in any bit. */
static int
changed_outside (const gd_image *in, const gd_image *mask, const gd_image *out)
{
  int changed = 0;

  for (size_t i = 0; i < (size_t)in->width * in->height; i++)
    if (mask->data[i] == 0.0f)
      changed
          += memcmp (in->data + i * in->channels, out->data + i * in->channels,
                     in->channels * sizeof (float))
             != 0;
  return changed;
}

/* Mean |out - in| over pixels whose mask is in [lo, hi]. */
static double
change_where (const gd_image *in, const gd_image *mask, const gd_image *out,
              float lo, float hi)
{
  double sum = 0;
  size_t n = 0;

  for (size_t i = 0; i < (size_t)in->width * in->height; i++)
    if (mask->data[i] >= lo && mask->data[i] <= hi)
      for (int c = 0; c < in->channels; c++)
        {
          sum += fabs ((double)out->data[i * in->channels + c]
                       - in->data[i * in->channels + c]);
          n++;
        }
  return n ? sum / n : 0;
}

static void
test_identity_and_blend (gd_model *model, int channels)
{
  static const struct
  {
    const char *sampler;
    double eta;
  } samplers[] = { { "ddim", 0.85 },
                   { "ddim", 0.0 },
                   { "skip-step", 0.0 },
                   { "dpm-solver++2m", 0.0 },
                   { "dpm-solver-2", 0.0 } };
  gd_image in, mask, out;
  gd_task_params p;
  gd_error err;

  gd_image_alloc (&in, 80, 56, channels, NULL);
  test_fill (&in);
  make_mask (&mask, 80, 56, 40, 28, 10, 8);
  for (size_t k = 0; k < sizeof samplers / sizeof *samplers; k++)
    {
      gd_task_params_init (&p);
      gd_sampler_from_name (samplers[k].sampler, &p.sampler.kind, NULL);
      p.sampler.eta = samplers[k].eta;
      p.sampler.steps = 4;
      p.strength = 1.0;
      p.sampler.seed = 3;
      CHECK (gd_inpaint (model, &p, &in, &mask, &out, &err) == GD_OK, "%s: %s",
             samplers[k].sampler, err.message);
      if (out.data == NULL)
        continue;
      CHECK (out.width == 80 && out.height == 56 && out.channels == channels,
             "out's shape");
      CHECK (changed_outside (&in, &mask, &out) == 0,
             "%s, %d channel(s): %d pixels outside the mask changed",
             samplers[k].sampler, channels, changed_outside (&in, &mask, &out));
      {
        double inside = change_where (&in, &mask, &out, 1.0f, 1.0f);
        double edge = change_where (&in, &mask, &out, 0.01f, 0.4f);

        CHECK (inside > 0.02, "%s: the hole changed (%g)", samplers[k].sampler,
               inside);
        CHECK (edge > 0.0 && edge < inside,
               "%s: the feathered edge blends (%g, inside %g)",
               samplers[k].sampler, edge, inside);
      }
      gd_image_free (&out);
    }
  gd_image_free (&in);
  gd_image_free (&mask);
}

static void
test_seeds_counts_cancel (gd_model *model)
{
  gd_image in, mask, empty, a, b, c;
  gd_task_params p;
  gd_error err;
  probe pr = { 0, 0, 0 };
  int nfe;

  gd_image_alloc (&in, 64, 48, 3, NULL);
  test_fill (&in);
  make_mask (&mask, 64, 48, 32, 24, 40, 0); /* all of it: the whole grid */
  gd_task_params_init (&p);
  p.sampler.kind = GD_SAMPLER_SKIP_STEP;
  p.sampler.steps = 5;
  p.strength = 1.0;
  p.resample_jumps = 3;
  p.sampler.seed = 9;
  p.progress = on_progress;
  p.progress_data = &pr;
  nfe = gd_tool_nfe (model, GD_TOOL_INPAINT, &p, 64, 48, &err);
  CHECK (nfe == 5 + 2 * 4, "RePaint: 5 steps, 2 more rounds on 4: %d", nfe);
  CHECK (gd_inpaint (model, &p, &in, &mask, &a, &err) == GD_OK, "run: %s",
         err.message);
  CHECK (pr.calls == nfe && pr.total == nfe,
         "progress after each evaluation (%d calls, total %d)", pr.calls,
         pr.total);
  CHECK (gd_inpaint (model, &p, &in, &mask, &b, &err) == GD_OK
             && memcmp (a.data, b.data, test_count (&a) * sizeof (float)) == 0,
         "same seed, same pixels");
  p.sampler.seed = 10;
  CHECK (gd_inpaint (model, &p, &in, &mask, &c, &err) == GD_OK
             && test_mean_abs_diff (&a, &c) > 1e-3,
         "another seed, other pixels");
  gd_image_free (&b);

  /* The resampling rounds are work done, not decoration. */
  p.resample_jumps = 1;
  CHECK (gd_inpaint (model, &p, &in, &mask, &b, &err) == GD_OK
             && test_mean_abs_diff (&a, &b) > 1e-3,
         "rounds change the result");
  gd_image_free (&b);

  /* Cancel: between evaluations, and inside a resampling round (the x_s
   * hook's own evaluation: the 2nd evaluation is the first round's). */
  for (int at = 1; at <= 2; at++)
    {
      p.resample_jumps = 3;
      pr.cancel_at = at;
      CHECK (gd_inpaint (model, &p, &in, &mask, &b, &err) == GD_ERR_CANCELLED
                 && b.data == NULL && strstr (err.message, "cancelled"),
             "cancel at evaluation %d leaves out empty: %s", at, err.message);
    }
  pr.cancel_at = 0;

  /* Nothing to do: the input bit for bit, no evaluation. */
  pr.calls = 0;
  gd_image_alloc (&empty, 64, 48, 1, NULL);
  memset (empty.data, 0, 64 * 48 * sizeof (float));
  CHECK (gd_inpaint (model, &p, &in, &empty, &b, &err) == GD_OK
             && memcmp (b.data, in.data, test_count (&in) * sizeof (float)) == 0
             && pr.calls == 0,
         "an empty mask returns the input");
  gd_image_free (&b);
  p.strength = 0.0;
  CHECK (gd_inpaint (model, &p, &in, &mask, &b, &err) == GD_OK
             && memcmp (b.data, in.data, test_count (&in) * sizeof (float)) == 0
             && pr.calls == 0,
         "strength 0 returns the input");
  gd_image_free (&b);

  /* Partial strength with nothing known around the hole (the mask covers
   * the grid) refines what is there: closer to it than anew. */
  p.strength = 0.3;
  p.resample_jumps = 1;
  CHECK (gd_inpaint (model, &p, &in, &mask, &b, &err) == GD_OK
             && test_mean_abs_diff (&b, &in) < test_mean_abs_diff (&c, &in),
         "strength 0.3 stays nearer the input (%g) than 1 (%g)",
         test_mean_abs_diff (&b, &in), test_mean_abs_diff (&c, &in));
  gd_image_free (&a);
  gd_image_free (&b);
  gd_image_free (&c);
  gd_image_free (&in);
  gd_image_free (&mask);
  gd_image_free (&empty);
}

/* Below strength 1 the run starts from the filled hole: what
 * was under the mask (where it is 1) cannot change the result, and at a low
 * strength the hole comes out near that fill, not near the hidden pixels. */
static void
test_start_fill (gd_model *model)
{
  gd_image in, hidden, mask, a, b;
  gd_task_params p;
  gd_error err;
  double far = 0.0, near_fill = 0.0, near_hidden = 0.0;
  int n = 0;

  gd_image_alloc (&in, 64, 48, 3, NULL);
  gd_image_alloc (&hidden, 64, 48, 3, NULL);
  test_fill (&in);
  make_mask (&mask, 64, 48, 30, 22, 10, 4);
  for (size_t i = 0; i < test_count (&in); i++)
    hidden.data[i] = mask.data[i / 3] == 1.0f ? 1.0f - in.data[i] : in.data[i];
  gd_task_params_init (&p);
  p.sampler.steps = 3;
  p.sampler.eta = 1.0;
  p.sampler.seed = 4;
  p.strength = 0.5;
  CHECK (gd_inpaint (model, &p, &in, &mask, &a, &err) == GD_OK
             && gd_inpaint (model, &p, &hidden, &mask, &b, &err) == GD_OK,
         "runs: %s", err.message);
  for (size_t i = 0; a.data && b.data && i < test_count (&a); i++)
    far = fmax (far, fabs (a.data[i] - b.data[i]));
  CHECK (far == 0.0,
         "strength 0.5: the pixels under the mask do not show through "
         "(largest difference %g)",
         far);
  gd_image_free (&a);
  gd_image_free (&b);

  /* refine_hole (img2img on a selection): what is there is refined, so the
   * hidden pixels do change the result. */
  p.refine_hole = 1;
  far = 0.0;
  CHECK (gd_inpaint (model, &p, &in, &mask, &a, &err) == GD_OK
             && gd_inpaint (model, &p, &hidden, &mask, &b, &err) == GD_OK,
         "refine_hole runs: %s", err.message);
  for (size_t i = 0; a.data && b.data && i < test_count (&a); i++)
    far = fmax (far, fabs (a.data[i] - b.data[i]));
  CHECK (far > 0.1,
         "refine_hole: the pixels under the mask are refined (largest "
         "difference %g)",
         far);
  p.refine_hole = 0;
  gd_image_free (&a);
  gd_image_free (&b);

  /* At strength 0.02 (t0 = 20) the hole stays near the smooth fill; on a
   * linear ramp that fill is the ramp itself, and the hidden pixels are its
   * inverse. */
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++)
      for (int c = 0; c < 3; c++)
        {
          size_t i = ((size_t)y * 64 + x) * 3 + c;

          in.data[i] = 0.1f + 0.8f * x / 63.0f * (c + 1) / 3.0f;
          hidden.data[i]
              = mask.data[i / 3] == 1.0f ? 1.0f - in.data[i] : in.data[i];
        }
  p.strength = 0.02;
  p.fill = GD_FILL_SMOOTH;
  CHECK (gd_inpaint (model, &p, &hidden, &mask, &a, &err) == GD_OK,
         "strength 0.02 runs: %s", err.message);
  for (size_t i = 0; a.data && i < test_count (&a); i++)
    if (mask.data[i / 3] == 1.0f)
      {
        near_fill += fabs (a.data[i] - in.data[i]);
        near_hidden += fabs (a.data[i] - hidden.data[i]);
        n++;
      }
  CHECK (n > 0 && near_fill < near_hidden,
         "strength 0.02: the hole is nearer the fill (%g) than the hidden "
         "pixels (%g)",
         near_fill / n, near_hidden / n);
  gd_image_free (&a);
  gd_image_free (&in);
  gd_image_free (&hidden);
  gd_image_free (&mask);
}

/* What the hole starts from (p->fill): the default is the inpaint tool's
 * in the shared table; an unknown value is refused; on a periodic texture
 * at a low strength the patch fill gives back the texture, far closer to
 * the truth than the smooth fill, and its fine detail (the grain the
 * result keeps from a patch start); with either, pixels outside the mask are
 * bit-identical and what was under it does not show through. */
static void
test_fill_choice (gd_model *model)
{
  gd_image truth, hidden, mask, out;
  gd_task_params p;
  gd_tool_defaults d;
  gd_error err;
  double error[2] = { 0, 0 }, detail[2] = { 0, 0 }, detail_scale = 0;
  uint32_t lcg = 99;
  float tile[11 * 9 * 3];

  gd_task_params_init (&p);
  CHECK (gd_tool_defaults_get (GD_TOOL_INPAINT, &d, NULL) == GD_OK
                 && p.fill == d.fill
             && gd_fill_name (p.fill) != NULL,
         "the default start is the inpaint tool's (%s)",
         gd_fill_name (p.fill) ? gd_fill_name (p.fill) : "?");
  CHECK (gd_fill_from_name ("patch") == GD_FILL_PATCH
             && gd_fill_from_name ("smooth") == GD_FILL_SMOOTH
             && gd_fill_from_name ("auto") == GD_FILL_AUTO
             && strcmp (gd_fill_name (GD_FILL_AUTO), "auto") == 0
             && gd_fill_name ((gd_fill)3) == NULL
             && gd_fill_from_name ("noise") == -1
             && gd_fill_from_name (NULL) == -1,
         "fill names");

  for (int i = 0; i < 11 * 9 * 3; i++)
    {
      lcg = lcg * 1664525u + 1013904223u;
      tile[i] = 0.1f + 0.8f * (float)(lcg >> 8) / 16777216.0f;
    }
  gd_image_alloc (&truth, 96, 72, 3, NULL);
  gd_image_alloc (&hidden, 96, 72, 3, NULL);
  for (int y = 0; y < 72; y++)
    for (int x = 0; x < 96; x++)
      for (int c = 0; c < 3; c++)
        truth.data[((size_t)y * 96 + x) * 3 + c]
            = tile[((y % 9) * 11 + x % 11) * 3 + c];
  make_mask (&mask, 96, 72, 48, 36, 10, 3);
  for (size_t i = 0; i < test_count (&truth); i++)
    hidden.data[i] = mask.data[i / 3] == 1.0f ? 0.0f : truth.data[i];

  p.fill = (gd_fill)7;
  CHECK (gd_inpaint (model, &p, &truth, &mask, &out, &err) == GD_ERR_INVALID
             && out.data == NULL && strstr (err.message, "fill"),
         "an unknown fill is refused: %s", err.message);

  p.sampler.steps = 2;
  p.sampler.eta = 1.0;
  p.sampler.seed = 6;
  p.strength = 0.01;
  for (int f = 0; f < 2; f++)
    {
      gd_image other;
      double far = 0.0;
      size_t n = 0;

      p.fill = f == 0 ? GD_FILL_SMOOTH : GD_FILL_PATCH;
      CHECK (gd_inpaint (model, &p, &hidden, &mask, &out, &err) == GD_OK,
             "%s: %s", gd_fill_name (p.fill), err.message);
      if (out.data == NULL)
        continue;
      CHECK (changed_outside (&hidden, &mask, &out) == 0,
             "%s: pixels outside the mask are bit-identical",
             gd_fill_name (p.fill));
      for (size_t i = 0; i < test_count (&out); i++)
        if (mask.data[i / 3] == 1.0f)
          {
            error[f] += fabs (out.data[i] - truth.data[i]);
            n++;
          }
      error[f] /= n ? n : 1;
      test_laplacian_error (&out, &truth, &mask, 1.0f, &detail[f],
                            &detail_scale);
      /* What was under the fully selected pixels does not matter. */
      CHECK (gd_inpaint (model, &p, &truth, &mask, &other, &err) == GD_OK,
             "%s on the truth: %s", gd_fill_name (p.fill), err.message);
      for (size_t i = 0; other.data && i < test_count (&out); i++)
        far = fmax (far, fabs (out.data[i] - other.data[i]));
      CHECK (other.data && far == 0.0,
             "%s: the hidden pixels do not show through (%g)",
             gd_fill_name (p.fill), far);
      gd_image_free (&other);
      gd_image_free (&out);
    }
  printf ("periodic texture, strength 0.01: mean error in the hole %.4f "
          "from the smooth fill, %.4f from the patch fill; of its "
          "Laplacian %.4f / %.4f (the truth's mean size %.4f)\n",
          error[0], error[1], detail[0], detail[1], detail_scale);
  CHECK (error[1] < 0.5 * error[0],
         "the patch fill continues the texture (%.4f vs smooth %.4f)",
         error[1], error[0]);
  CHECK (detail[1] < 0.05 * detail_scale,
         "from the patch fill the result keeps the texture's detail (%.4f "
         "of %.4f)",
         detail[1], detail_scale);
  gd_image_free (&truth);
  gd_image_free (&hidden);
  gd_image_free (&mask);
}

/* Mean |a - b| over the pixels of the rectangle where the mask is 1. */
static double
diff_in (const gd_image *a, const gd_image *b, const gd_image *mask, int x0,
         int y0, int x1, int y1)
{
  double sum = 0.0;
  size_t n = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (mask->data[(size_t)y * mask->width + x] == 1.0f)
        for (int c = 0; c < a->channels; c++)
          {
            size_t i = ((size_t)y * a->width + x) * a->channels + c;

            sum += fabs ((double)a->data[i] - b->data[i]);
            n++;
          }
  return n ? sum / n : 0.0;
}

/* GD_FILL_AUTO (the default): each hole its own start.  A compact disc
 * (thickness 10, 4.5% of the image) starts from patches, a 4-pixel scratch
 * from the smooth fill: at a low strength auto's result is the patch run's
 * in the disc and the smooth run's in the scratch; outside the mask every
 * pixel is the input's; a seed gives the same pixels; what was under the
 * holes does not show through. */
static void
test_fill_auto (gd_model *model)
{
  gd_image truth, hidden, mask, out[3], again, other;
  gd_task_params p;
  gd_error err;
  uint32_t lcg = 7;
  float tile[11 * 9 * 3];
  double disc[2], scratch[2], far = 0.0;

  for (int i = 0; i < 11 * 9 * 3; i++)
    {
      lcg = lcg * 1664525u + 1013904223u;
      tile[i] = 0.1f + 0.8f * (float)(lcg >> 8) / 16777216.0f;
    }
  gd_image_alloc (&truth, 96, 72, 3, NULL);
  gd_image_alloc (&hidden, 96, 72, 3, NULL);
  for (int y = 0; y < 72; y++)
    for (int x = 0; x < 96; x++)
      for (int c = 0; c < 3; c++)
        truth.data[((size_t)y * 96 + x) * 3 + c]
            = tile[((y % 9) * 11 + x % 11) * 3 + c];
  make_mask (&mask, 96, 72, 26, 30, 10, 0);
  for (int y = 60; y < 64; y++)
    for (int x = 50; x < 90; x++)
      mask.data[y * 96 + x] = 1.0f;
  for (size_t i = 0; i < test_count (&truth); i++)
    hidden.data[i] = mask.data[i / 3] == 1.0f ? 0.0f : truth.data[i];

  gd_task_params_init (&p);
  p.sampler.steps = 2;
  p.sampler.eta = 1.0;
  p.sampler.seed = 6;
  p.strength = 0.01;
  for (int f = 0; f < 3; f++)
    {
      p.fill = (gd_fill[]){ GD_FILL_AUTO, GD_FILL_PATCH, GD_FILL_SMOOTH }[f];
      CHECK (gd_inpaint (model, &p, &hidden, &mask, &out[f], &err) == GD_OK,
             "%s: %s", gd_fill_name (p.fill), err.message);
    }
  if (out[0].data == NULL || out[1].data == NULL || out[2].data == NULL)
    return;
  CHECK (changed_outside (&hidden, &mask, &out[0]) == 0,
         "auto: pixels outside the mask are bit-identical");
  for (int f = 0; f < 2; f++)
    {
      disc[f] = diff_in (&out[0], &out[1 + f], &mask, 0, 0, 48, 50);
      scratch[f] = diff_in (&out[0], &out[1 + f], &mask, 48, 55, 96, 72);
    }
  printf ("auto against patch / smooth: disc %.4f / %.4f, scratch %.4f / "
          "%.4f\n",
          disc[0], disc[1], scratch[0], scratch[1]);
  CHECK (disc[0] < 0.2 * disc[1],
         "auto: the disc starts from patches (%.4f from the patch run, "
         "%.4f from the smooth run)",
         disc[0], disc[1]);
  CHECK (scratch[1] < 0.2 * scratch[0],
         "auto: the scratch starts from the smooth fill (%.4f from the "
         "smooth run, %.4f from the patch run)",
         scratch[1], scratch[0]);
  p.fill = GD_FILL_AUTO;
  CHECK (gd_inpaint (model, &p, &hidden, &mask, &again, &err) == GD_OK
             && test_max_abs_diff (&again, &out[0]) == 0.0,
         "auto: the same seed, the same pixels");
  CHECK (gd_inpaint (model, &p, &truth, &mask, &other, &err) == GD_OK,
         "auto on the truth: %s", err.message);
  for (size_t i = 0; other.data && i < test_count (&other); i++)
    far = fmax (far, fabs (out[0].data[i] - other.data[i]));
  CHECK (other.data && far == 0.0,
         "auto: the hidden pixels do not show through (%g)", far);
  for (int f = 0; f < 3; f++)
    gd_image_free (&out[f]);
  gd_image_free (&again);
  gd_image_free (&other);
  gd_image_free (&truth);
  gd_image_free (&hidden);
  gd_image_free (&mask);
}

static void
test_bad_input (gd_model *model)
{
  gd_image in, mask, small, rgb, out;
  gd_task_params p;
  gd_error err;

  gd_image_alloc (&in, 32, 24, 3, NULL);
  test_fill (&in);
  make_mask (&mask, 32, 24, 16, 12, 5, 0);
  gd_image_alloc (&small, 30, 24, 1, NULL);
  memset (small.data, 0, 30 * 24 * sizeof (float));
  gd_image_alloc (&rgb, 32, 24, 3, NULL);
  test_fill (&rgb);
  gd_task_params_init (&p);
  p.sampler.steps = 2;

  CHECK (gd_inpaint (model, &p, &in, &small, &out, &err) == GD_ERR_INVALID
             && out.data == NULL && strstr (err.message, "30 x 24"),
         "mask of another size: %s", err.message);
  CHECK (gd_inpaint (model, &p, &in, &rgb, &out, &err) == GD_ERR_INVALID
             && strstr (err.message, "channels"),
         "RGB mask: %s", err.message);
  CHECK (gd_inpaint (model, &p, &in, NULL, &out, &err) == GD_ERR_INVALID,
         "no mask: %s", err.message);
  mask.data[7] = 1.5f;
  CHECK (gd_inpaint (model, &p, &in, &mask, &out, &err) == GD_ERR_INVALID
             && strstr (err.message, "1.5"),
         "mask value 1.5: %s", err.message);
  mask.data[7] = NAN;
  CHECK (gd_inpaint (model, &p, &in, &mask, &out, &err) == GD_ERR_INVALID,
         "mask value NaN: %s", err.message);
  mask.data[7] = 0.0f;
  p.resample_jumps = 4; /* ddim with eta 0 is deterministic */
  CHECK (gd_inpaint (model, &p, &in, &mask, &out, &err) == GD_ERR_INVALID
             && strstr (err.message, "stochastic"),
         "rounds with a deterministic sampler: %s", err.message);
  p.resample_jumps = -1;
  CHECK (gd_inpaint (model, &p, &in, &mask, &out, &err) == GD_ERR_INVALID,
         "negative rounds: %s", err.message);
  gd_image_free (&in);
  gd_image_free (&mask);
  gd_image_free (&small);
  gd_image_free (&rgb);
}

/* Tiled and untiled: the same pixels within tol_mean (mean |diff|) and
 * tol_max.  At strength 0.5: from t0 = T the sampler amplifies the seams'
 * small differences into another fill of the hole (docs/tools.md). */
static void
test_tiled (gd_model *model, const gd_image *in, int tile, double tol_mean,
            double tol_max)
{
  gd_image mask, whole, tiled;
  gd_task_params p;
  gd_error err;

  make_mask (&mask, in->width, in->height, in->width / 2.0f, in->height / 2.0f,
             in->height / 3.0f, 6);
  gd_task_params_init (&p);
  p.sampler.eta = 1.0;
  p.sampler.steps = 4;
  p.strength = 0.5;
  CHECK (gd_inpaint (model, &p, in, &mask, &whole, &err) == GD_OK, "whole: %s",
         err.message);
  p.tile_size = tile;
  CHECK (gd_inpaint (model, &p, in, &mask, &tiled, &err) == GD_OK, "tiled: %s",
         err.message);
  if (whole.data != NULL && tiled.data != NULL)
    {
      double mean = test_mean_abs_diff (&whole, &tiled);
      double worst = test_max_abs_diff (&whole, &tiled);

      printf ("inpaint %d x %d, tile %d: tiled - untiled mean %.5f, max %.4f\n",
              in->width, in->height, tile, mean, worst);
      /* tol_max 0: the random test model's clipped outliers not bounded. */
      CHECK (mean > 0.0 && mean < tol_mean && (tol_max == 0 || worst < tol_max),
             "tiled = untiled within %g mean, %g max (%.5f, %.4f)", tol_mean,
             tol_max, mean, worst);
      CHECK (changed_outside (in, &mask, &tiled) == 0,
             "tiled: outside the mask bit-identical");
    }
  gd_image_free (&whole);
  gd_image_free (&tiled);
  gd_image_free (&mask);
}

/* The shipped model on a photograph: a 24 x 24 hole filled closer to the
 * original than the flat fill with the mean of a ring around it. */
static void
test_fills_hole (gd_model *model, const gd_image *photo)
{
  const int hx = 36, hy = 36, hs = 24;
  gd_image mask, holed, flat, out;
  gd_task_params p;
  gd_error err;
  double mean[3] = { 0, 0, 0 }, psnr_flat, psnr_sum = 0;
  int ring = 0, seeds = 3;

  gd_image_alloc (&mask, photo->width, photo->height, 1, NULL);
  memset (mask.data, 0, (size_t)photo->width * photo->height * sizeof (float));
  test_crop (photo, 0, 0, photo->width, photo->height, &holed);
  test_crop (photo, 0, 0, photo->width, photo->height, &flat);
  for (int y = hy - 4; y < hy + hs + 4; y++)
    for (int x = hx - 4; x < hx + hs + 4; x++)
      {
        size_t i = (size_t)y * photo->width + x;
        int inside = x >= hx && x < hx + hs && y >= hy && y < hy + hs;

        if (inside)
          mask.data[i] = 1.0f;
        else
          {
            for (int c = 0; c < 3; c++)
              mean[c] += photo->data[i * 3 + c];
            ring++;
          }
      }
  for (int y = hy; y < hy + hs; y++)
    for (int x = hx; x < hx + hs; x++)
      for (int c = 0; c < 3; c++)
        {
          size_t i = ((size_t)y * photo->width + x) * 3 + c;

          flat.data[i] = (float)(mean[c] / ring);
          holed.data[i] = 0.0f; /* what was there must not matter */
        }
  psnr_flat = test_psnr_rect (&flat, photo, hx, hy, hs, hs);

  gd_task_params_init (&p);
  p.sampler.eta = 1.0;
  p.sampler.steps = 10;
  p.strength = 1.0;
  for (int s = 0; s < seeds; s++)
    {
      p.sampler.seed = (uint64_t)s;
      CHECK (gd_inpaint (model, &p, &holed, &mask, &out, &err) == GD_OK,
             "inpaint the hole: %s", err.message);
      if (out.data == NULL)
        return;
      CHECK (changed_outside (&holed, &mask, &out) == 0,
             "shipped model: outside the hole bit-identical");
      psnr_sum += test_psnr_rect (&out, photo, hx, hy, hs, hs);
      gd_image_free (&out);
    }
  printf ("hole %d x %d: inpainted %.2f dB (mean of %d seeds), flat fill "
          "%.2f dB\n",
          hs, hs, psnr_sum / seeds, seeds, psnr_flat);
  CHECK (psnr_sum / seeds > psnr_flat + 0.5,
         "the hole is filled closer to the original than a flat fill "
         "(%.2f dB, flat %.2f dB)",
         psnr_sum / seeds, psnr_flat);
  gd_image_free (&mask);
  gd_image_free (&holed);
  gd_image_free (&flat);
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
      test_identity_and_blend (model, 3);
      test_identity_and_blend (model, 1);
      test_seeds_counts_cancel (model);
      test_start_fill (model);
      test_fill_choice (model);
      test_fill_auto (model);
      test_bad_input (model);
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
      if (test_photo (argv[4], argv[3], 96, 96, &in, &used) != 0)
        return 1;
      printf ("photograph: %s\n", used);
      test_fills_hole (model, &in);
      gd_image_free (&in);
      if (test_photo (argv[4], argv[3], 192, 144, &in, &used) != 0)
        return 1;
      test_tiled (model, &in, 128, 0.002, 0.05);
      gd_image_free (&in);
      gd_model_free (model);
    }
  return test_summary (argv[0]);
}
