/* test_tasks.c: gd_image conversions, what the tools share (noise keyed by
 * absolute pixel, evaluation counts, threads) and gd_img2img (t0 from
 * strength, strength 0, seeds, gray = averaged RGB, tiles, cancel, bad
 * parameters) on the small random-init test model. */
#include "gimp-diffusion.h"
#include "image.h"
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define W 24
#define H 16

static void
fill_test_image (gd_image *img)
{
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      for (int c = 0; c < img->channels; c++)
        img->data[(y * img->width + x) * img->channels + c]
            = 0.5f + 0.45f * sinf (0.3f * x + 0.7f * y + 2.0f * c);
}

static void
test_image_conversions (void)
{
  gd_image rgb, gray, back;
  gd_error err;
  float planar[3 * W * H];

  CHECK (gd_image_alloc (&rgb, W, H, 3, NULL) == GD_OK, "alloc rgb");
  CHECK (gd_image_alloc (&gray, W, H, 1, NULL) == GD_OK, "alloc gray");
  CHECK (gd_image_alloc (&back, W, H, 3, NULL) == GD_OK, "alloc back");
  fill_test_image (&rgb);
  fill_test_image (&gray);

  gd_image_to_planar (&rgb, planar);
  CHECK (fabsf (planar[1 * W * H + 5] - (2 * rgb.data[5 * 3 + 1] - 1)) < 1e-6f,
         "planar layout: channel 1, pixel 5");
  gd_image_from_planar (planar, &back);
  for (int i = 0; i < 3 * W * H; i++)
    CHECK (fabsf (back.data[i] - rgb.data[i]) < 1e-6f, "RGB round trip %d", i);

  gd_image_to_planar (&gray, planar);
  for (int i = 0; i < W * H; i++)
    CHECK (planar[i] == planar[W * H + i] && planar[i] == planar[2 * W * H + i],
           "gray replicated to 3 channels at %d", i);
  planar[0] = -0.5f;        /* R */
  planar[W * H] = 0.1f;     /* G */
  planar[2 * W * H] = 0.9f; /* B: mean 0.5/3 -> (1/6 + 1)/2 */
  planar[1] = 5.0f;         /* clamps to 1 */
  planar[2] = NAN;          /* NaN goes to 0, never out */
  gd_image_from_planar (planar, &gray);
  CHECK (fabsf (gray.data[0] - 7.0f / 12.0f) < 1e-6f,
         "gray = channel mean (%g)", gray.data[0]);
  CHECK (gray.data[1] == 1.0f, "clamped to 1 (%g)", gray.data[1]);
  CHECK (gray.data[2] == 0.0f, "NaN to 0 (%g)", gray.data[2]);
  gd_image_free (&back); /* reused below: a refused alloc leaves it empty */

  CHECK (gd_image_alloc (&back, 0, 5, 3, &err) == GD_ERR_INVALID
             && back.data == NULL && strstr (err.message, "positive"),
         "zero width refused: %s", err.message);
  CHECK (gd_image_alloc (&back, 4, 4, 2, &err) == GD_ERR_INVALID,
         "2 channels refused");
  CHECK (gd_image_alloc (&back, 1 << 30, 1 << 30, 3, &err) == GD_ERR_NOMEM,
         "huge size refused: %s", err.message);
  gd_image_free (&rgb);
  gd_image_free (&gray);
  gd_image_free (&back);
}

/* Records the total of the first progress call and cancels there. */
typedef struct
{
  int total;
  int calls;
  int cancel_at;
} progress_probe;

static int
probe (void *user_data, int done, int total)
{
  progress_probe *p = user_data;

  p->total = total;
  p->calls++;
  return p->cancel_at > 0 && done >= p->cancel_at;
}

/* ddim with 1000 steps makes min(steps, t0) = t0 network evaluations, so the
 * progress total reveals t0 = round(strength * T) clamped to 1..T. */
static void
test_t0_from_strength (gd_model *model, const gd_image *in)
{
  static const struct
  {
    double strength;
    int t0;
  } cases[] = { { 0.5, 500 },  { 1.0, 1000 },   { 0.0004, 1 },  { 0.0006, 1 },
                { 0.0015, 2 }, { 0.2504, 250 }, { 0.2506, 251 } };
  gd_task_params p;
  gd_image out;
  gd_error err;

  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      progress_probe probe_state = { 0, 0, 1 };
      int status;

      gd_task_params_init (&p);
      p.sampler.kind = GD_SAMPLER_DDIM;
      p.sampler.steps = 1000;
      p.strength = cases[k].strength;
      p.progress = probe;
      p.progress_data = &probe_state;
      status = gd_img2img (model, &p, in, &out, &err);
      CHECK (status == GD_ERR_CANCELLED && out.data == NULL,
             "strength %g: cancelled run leaves out empty (%d)",
             cases[k].strength, status);
      CHECK (probe_state.total == cases[k].t0, "strength %g: t0 %d, want %d",
             cases[k].strength, probe_state.total, cases[k].t0);
    }
}

static double
mean_abs_diff (const gd_image *a, const gd_image *b)
{
  size_t n = (size_t)a->width * a->height * a->channels;
  double sum = 0;

  for (size_t i = 0; i < n; i++)
    sum += fabs (a->data[i] - b->data[i]);
  return sum / n;
}

static void
test_runs (gd_model *model, const gd_image *in)
{
  gd_task_params p;
  gd_image a, b, c, ens, zero, gray, grayrgb, outg, outrgb;
  progress_probe probe_state = { 0, 0, 0 };
  gd_error err;
  int ok;

  gd_task_params_init (&p);
  p.strength = 0.6;
  p.sampler.steps = 3;
  p.sampler.seed = 11;
  p.progress = probe;
  p.progress_data = &probe_state;
  ok = gd_img2img (model, &p, in, &a, &err) == GD_OK;
  CHECK (ok, "img2img runs: %s", err.message);
  CHECK (probe_state.calls == 3 && probe_state.total == 3,
         "progress after each of 3 evaluations (%d calls, total %d)",
         probe_state.calls, probe_state.total);
  CHECK (a.width == W && a.height == H && a.channels == 3, "out's shape");
  CHECK (gd_img2img (model, &p, in, &b, &err) == GD_OK, "second run");
  CHECK (memcmp (a.data, b.data, sizeof (float) * W * H * 3) == 0,
         "same seed, same pixels");
  p.sampler.seed = 12;
  CHECK (gd_img2img (model, &p, in, &c, &err) == GD_OK, "third run");
  CHECK (mean_abs_diff (&a, &c) > 1e-3, "another seed, other pixels (%g)",
         mean_abs_diff (&a, &c));
  CHECK (mean_abs_diff (&a, in) > 1e-3, "the image changed (%g)",
         mean_abs_diff (&a, in));
  for (int i = 0; i < W * H * 3; i++)
    if (!(a.data[i] >= 0.0f && a.data[i] <= 1.0f))
      {
        CHECK (0, "result outside 0..1 at %d: %g", i, a.data[i]);
        break;
      }

  /* A self-ensemble of 2: two passes per step, counted, another result. */
  p.sampler.seed = 11;
  p.ensemble = 2;
  probe_state.calls = 0;
  CHECK (gd_img2img (model, &p, in, &ens, &err) == GD_OK
             && probe_state.calls == 6 && probe_state.total == 6
             && gd_tool_nfe (model, GD_TOOL_IMG2IMG, &p, W, H, &err) == 6,
         "ensemble 2: 6 passes (%d calls, total %d)", probe_state.calls,
         probe_state.total);
  CHECK (ens.data != NULL && mean_abs_diff (&a, &ens) > 1e-4,
         "the ensemble changes the result");
  p.ensemble = 1;

  p.strength = 0.0;
  probe_state.calls = 0;
  CHECK (gd_img2img (model, &p, in, &zero, &err) == GD_OK, "strength 0");
  CHECK (memcmp (zero.data, in->data, sizeof (float) * W * H * 3) == 0
             && probe_state.calls == 0,
         "strength 0 returns the input without evaluating the network");

  /* Gray in: replicated to RGB, averaged out. */
  gd_image_alloc (&gray, W, H, 1, NULL);
  gd_image_alloc (&grayrgb, W, H, 3, NULL);
  fill_test_image (&gray);
  for (int i = 0; i < W * H; i++)
    for (int ch = 0; ch < 3; ch++)
      grayrgb.data[i * 3 + ch] = gray.data[i];
  p.strength = 0.5;
  CHECK (gd_img2img (model, &p, &gray, &outg, &err) == GD_OK, "gray run");
  CHECK (gd_img2img (model, &p, &grayrgb, &outrgb, &err) == GD_OK,
         "gray-as-RGB run");
  CHECK (outg.channels == 1, "gray stays gray");
  for (int i = 0; i < W * H; i++)
    {
      float *rgb = outrgb.data + 3 * i;
      int inside = 1;

      for (int ch = 0; ch < 3; ch++)
        inside &= rgb[ch] > 0.0f && rgb[ch] < 1.0f;
      if (inside)
        CHECK (fabsf (outg.data[i] - (rgb[0] + rgb[1] + rgb[2]) / 3) < 1e-5f,
               "gray out = mean of RGB out at %d", i);
    }

  gd_image_free (&a);
  gd_image_free (&b);
  gd_image_free (&c);
  gd_image_free (&ens);
  gd_image_free (&zero);
  gd_image_free (&gray);
  gd_image_free (&grayrgb);
  gd_image_free (&outg);
  gd_image_free (&outrgb);
}

/* The noise of a crop at (ox, oy) is the whole image's noise there, and
 * the sampler's noise_index holds the same keys. */
static void
test_noise_keys (gd_model *model)
{
  gd_task_params p;
  gd_task whole, crop;
  gd_error err;
  float *zw, *zc;
  int bad = 0, bad_index = 0;
  const int ox = 13, oy = 7;

  gd_task_params_init (&p);
  p.sampler.kind = GD_SAMPLER_DDPM; /* draws noise: noise_index is filled */
  p.sampler.seed = 99;
  CHECK (gd_task_begin (&whole, "test", model, &p,
                        &(gd_tool_plan){ 40, 30, 1, 0 }, 0, 0, &err)
             == GD_OK,
         "begin: %s", err.message);
  CHECK (gd_task_begin (&crop, "test", model, &p,
                        &(gd_tool_plan){ 20, 10, 1, 0 }, ox, oy, &err)
             == GD_OK,
         "begin crop: %s", err.message);
  zw = malloc (whole.n * sizeof *zw);
  zc = malloc (crop.n * sizeof *zc);
  gd_task_noise (&whole, 5, zw);
  gd_task_noise (&crop, 5, zc);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 10; y++)
      for (int x = 0; x < 20; x++)
        {
          size_t i = c * crop.plane + (size_t)y * 20 + x;

          bad += zc[i] != zw[c * whole.plane + (size_t)(oy + y) * 40 + ox + x];
          bad_index += crop.noise_index[i] != gd_noise_key (c, ox + x, oy + y)
                       || gd_rng_normal (99, 5, crop.noise_index[i]) != zc[i];
        }
  CHECK (bad == 0, "a crop draws the whole image's noise (%d differ)", bad);
  CHECK (bad_index == 0, "noise_index holds the pixel keys (%d differ)",
         bad_index);
  CHECK (gd_noise_key (0, 1, 0) != gd_noise_key (1, 1, 0)
             && gd_noise_key (0, 0, 1) != gd_noise_key (0, 1, 0)
             && gd_noise_key (2, 2147483647, 2147483647)
                    != gd_noise_key (1, 2147483647, 2147483647),
         "keys tell channels and coordinates apart");
  free (zw);
  free (zc);
  gd_task_end (&whole);
  gd_task_end (&crop);

  p.sampler.kind = GD_SAMPLER_DDIM;
  CHECK (gd_task_begin (&crop, "test", model, &p,
                        &(gd_tool_plan){ 20, 10, 1, 0 }, 0, 0, &err)
                 == GD_OK
             && crop.noise_index == NULL,
         "a deterministic sampler gets no noise_index");
  gd_task_end (&crop);
}

typedef struct
{
  int calls;
  int ok;
  int cancel_at;
  int partial; /* a step may run part of the tiles (denoise's clip
                  correction): done and total as counted, not from tiles */
  gd_progress_info last;
} info_probe;

static int
info_probe_fn (void *user_data, const gd_progress_info *info)
{
  info_probe *pr = user_data;

  pr->calls++;
  if (pr->partial)
    pr->ok &= info->done == pr->calls && info->done <= info->total
              && info->tile >= 1 && info->tile <= info->tiles
              && (pr->calls == 1 || info->total == pr->last.total);
  else
    pr->ok &= info->done == pr->calls
              && info->total == info->steps * info->tiles
              && info->done == (info->step - 1) * info->tiles + info->tile;
  pr->last = *info;
  return pr->cancel_at > 0 && info->done >= pr->cancel_at;
}

/* Tiles: progress per tile over the whole job, the count gd_task_nfe
 * gives, the same pixels within a tolerance, cancel between tiles; and the
 * same pixels whatever the thread count. */
static void
test_tiles_threads (gd_model *model)
{
  gd_image in, whole, tiled, one, two;
  gd_task_params p;
  gd_error err;
  info_probe pr = { 0, 1, 0, 0, { 0 } };
  int nfe;

  gd_image_alloc (&in, 150, 100, 3, NULL);
  fill_test_image (&in);
  gd_task_params_init (&p);
  p.sampler.steps = 3;
  p.strength = 0.4;
  CHECK (gd_img2img (model, &p, &in, &whole, &err) == GD_OK, "whole: %s",
         err.message);
  p.tile_size = 64;
  p.task_progress = info_probe_fn;
  p.task_progress_data = &pr;
  nfe = gd_tool_nfe (model, GD_TOOL_IMG2IMG, &p, 150, 100, &err);
  CHECK (gd_img2img (model, &p, &in, &tiled, &err) == GD_OK, "tiled: %s",
         err.message);
  CHECK (pr.ok && pr.calls == nfe && pr.last.steps == 3 && pr.last.tiles > 4
             && pr.last.done == pr.last.total,
         "progress per tile: %d calls, nfe %d, %d steps x %d tiles", pr.calls,
         nfe, pr.last.steps, pr.last.tiles);
  if (whole.data != NULL && tiled.data != NULL)
    CHECK (mean_abs_diff (&whole, &tiled) > 0
               && mean_abs_diff (&whole, &tiled) < 0.01,
           "tiled = untiled within 0.01 (%g)", mean_abs_diff (&whole, &tiled));
  pr.cancel_at = 5;
  gd_image_free (&tiled);
  CHECK (gd_img2img (model, &p, &in, &tiled, &err) == GD_ERR_CANCELLED
             && tiled.data == NULL && pr.last.step == 1 && pr.last.tile == 5,
         "cancel at tile 5 of step 1: %s", err.message);
  p.tile_size = 10;
  CHECK (gd_img2img (model, &p, &in, &tiled, &err) == GD_ERR_INVALID
             && tiled.data == NULL && strstr (err.message, "img2img: tile"),
         "a tile below twice the overlap: %s", err.message);
  CHECK (gd_tool_nfe (model, GD_TOOL_IMG2IMG, &p, 150, 100, &err) == -1,
         "... and its count: %s", err.message);

  p.tile_size = 0;
  p.task_progress = NULL;
  gd_set_threads (1);
  CHECK (gd_img2img (model, &p, &in, &one, &err) == GD_OK, "1 thread");
  gd_set_threads (3);
  CHECK (gd_img2img (model, &p, &in, &two, &err) == GD_OK, "3 threads");
  gd_set_threads (0);
  /* The noise is keyed by pixel, not by thread, and every convolution
   * sums in chunks fixed by its shape: the same bits. */
  CHECK (memcmp (one.data, two.data,
                 (size_t)one.width * one.height * one.channels * sizeof (float))
             == 0,
         "1 and 3 threads give the same bits (mean diff %g)",
         mean_abs_diff (&one, &two));
  CHECK (gd_tool_nfe (model, (gd_tool)GD_TOOL_COUNT, &p, 10, 10, &err) == -1
             && strstr (err.message, "unknown tool"),
         "an unknown tool: %s", err.message);
  p.origin_x = -1;
  gd_image_free (&one); /* reused: a refused call leaves it empty */
  CHECK (gd_img2img (model, &p, &in, &one, &err) == GD_ERR_INVALID,
         "a negative origin: %s", err.message);
  gd_image_free (&in);
  gd_image_free (&whole);
  gd_image_free (&tiled);
  gd_image_free (&one);
  gd_image_free (&two);
}

static void
test_bad_parameters (gd_model *model, const gd_image *in)
{
  gd_task_params p;
  gd_image out, empty = { 0, 0, 0, NULL };
  gd_error err;

  gd_task_params_init (&p);
  p.strength = 1.5;
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID
             && out.data == NULL && strstr (err.message, "strength"),
         "strength 1.5: %s", err.message);
  p.strength = NAN;
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID,
         "strength NaN");
  p.strength = 0.5;
  p.sampler.kind = (gd_sampler_kind)GD_SAMPLER_COUNT;
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID
             && strstr (err.message, "unknown sampler"),
         "unknown sampler: %s", err.message);
  p.sampler.kind = GD_SAMPLER_DDIM;
  p.sampler.steps = 0;
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID,
         "0 steps: %s", err.message);
  p.sampler.steps = 2;
  CHECK (gd_img2img (model, &p, &empty, &out, &err) == GD_ERR_INVALID,
         "no input: %s", err.message);
  CHECK (gd_img2img (NULL, &p, in, &out, &err) == GD_ERR_INVALID,
         "no model: %s", err.message);
}

/* The tool descriptors the CLI and both GIMP front ends share: names,
 * defaults, parameters. */
static void
test_tool_descriptors (void)
{
  gd_tool_defaults d, orig = { -1.0, -1.0, -1, GD_FILL_SMOOTH };
  gd_task_params p;
  gd_error err;
  gd_tool tool;

  for (int i = 0; i < GD_TOOL_COUNT; i++)
    {
      const char *name = gd_tool_name ((gd_tool)i);

      tool = (gd_tool)-1;
      CHECK (name != NULL && gd_tool_from_name (name, &tool, &err) == GD_OK
                 && tool == (gd_tool)i,
             "tool %d: name %s round trip", i, name ? name : "(null)");
      d = orig;
      CHECK (gd_tool_defaults_get ((gd_tool)i, &d, &err) == GD_OK
                 && d.strength > 0.0 && d.strength <= 1.0 && d.eta >= 0.0
                 && d.eta <= 1.0 && d.steps >= 1 && d.steps <= GD_T_MAX,
             "%s: strength %g, eta %g, steps %d", name, d.strength, d.eta,
             d.steps);
      memset (&p, 0xff, sizeof p);
      CHECK (gd_tool_params_init ((gd_tool)i, &p, &err) == GD_OK
                 && p.strength == d.strength && p.sampler.eta == d.eta
                 && p.sampler.steps == d.steps
                 && p.sampler.kind == GD_SAMPLER_DDIM && p.ensemble == 1
                 && p.clip_correction == 1,
             "%s: params from the defaults", name);
    }
  CHECK (strcmp (gd_tool_name (GD_TOOL_IMG2IMG), "img2img") == 0
             && strcmp (gd_tool_name (GD_TOOL_DENOISE), "denoise") == 0
             && gd_tool_name ((gd_tool)GD_TOOL_COUNT) == NULL
             && gd_tool_name ((gd_tool)-1) == NULL,
         "tool names");
  CHECK (gd_tool_defaults_get (GD_TOOL_INPAINT, &d, NULL) == GD_OK
             && d.eta > 0.0,
         "inpaint steers every step: a stochastic default (eta %g)", d.eta);
  d = orig;
  CHECK (gd_tool_defaults_get ((gd_tool)GD_TOOL_COUNT, &d, &err)
                 == GD_ERR_INVALID
             && strstr (err.message, "unknown tool") && d.steps == -1,
         "unknown tool: %s", err.message);
  tool = GD_TOOL_UPSCALE;
  CHECK (gd_tool_from_name ("sharpen", &tool, &err) == GD_ERR_INVALID
             && strstr (err.message, "sharpen") && tool == GD_TOOL_UPSCALE
             && gd_tool_from_name (NULL, &tool, NULL) == GD_ERR_INVALID
             && gd_tool_from_name ("Denoise", &tool, NULL) == GD_ERR_INVALID,
         "unknown tool names: %s", err.message);
}

/* gd_tool_run on every tool: the evaluations its progress reports are the
 * ones gd_tool_nfe counted (tiles, ensemble and the clip correction
 * included); img2img with a mask is inpaint refining in place; a mask
 * where a tool takes none is refused with nothing allocated. */
#define TW 136
#define TH 72

static void
test_tool_run (gd_model *model)
{
  gd_image in, mask, out, ref;
  gd_task_params p;
  gd_error err;

  gd_image_alloc (&in, TW, TH, 3, NULL);
  fill_test_image (&in);
  in.data[0] = 0.0f; /* one clipped value: denoise's clip correction runs */
  gd_image_alloc (&mask, TW, TH, 1, NULL);
  memset (mask.data, 0, TW * TH * sizeof (float));
  for (int y = 10; y < 30; y++)
    for (int x = 20; x < 60; x++)
      mask.data[y * TW + x] = 1.0f;

  for (int i = 0; i < GD_TOOL_COUNT; i++)
    {
      gd_tool tool = (gd_tool)i;
      info_probe pr = { 0, 1, 0, 0, { 0 } };
      int nfe;

      gd_tool_params_init (tool, &p, NULL);
      p.sampler.steps = 3;
      p.sampler.seed = 5;
      p.tile_size = 64; /* several tiles */
      p.sigma = 20.0;
      p.ensemble = tool == GD_TOOL_DENOISE ? 2 : 1;
      p.task_progress = info_probe_fn;
      p.task_progress_data = &pr;
      pr.partial = tool == GD_TOOL_DENOISE;
      /* inpaint's network runs on the mask's region only: the count on
       * the whole image is an upper bound. */
      nfe = gd_tool_nfe (model, tool, &p,
                         in.width,
                         in.height, &err);
      CHECK (nfe > 0, "%s: nfe %d (%s)", gd_tool_name (tool), nfe,
             err.message);
      CHECK (gd_tool_run (model, tool, &p, &in,
                          tool == GD_TOOL_INPAINT ? &mask : NULL, &out, &err)
                 == GD_OK,
             "%s: %s", gd_tool_name (tool), err.message);
      /* denoise: the clip correction's pass runs on the one tile that
       * holds the clipped value; gd_tool_nfe counts the whole grid. */
      if (tool == GD_TOOL_DENOISE)
        CHECK (pr.ok && pr.last.tiles > 1
                   && pr.calls == nfe - (pr.last.tiles - 1)
                   && pr.last.total == pr.calls,
               "denoise: %d evaluations reported (total %d), gd_tool_nfe %d "
               "less %d tiles but one",
               pr.calls, pr.last.total, nfe, pr.last.tiles);
      else if (tool != GD_TOOL_INPAINT)
        CHECK (pr.ok && pr.calls == nfe && pr.last.total == nfe,
               "%s: %d evaluations reported (total %d), gd_tool_nfe %d",
               gd_tool_name (tool), pr.calls, pr.last.total, nfe);
      else
        CHECK (pr.ok && pr.calls > 0 && pr.calls <= nfe,
               "inpaint: %d evaluations, at most %d", pr.calls, nfe);
      CHECK (out.data != NULL
                 && out.width == in.width * (tool == GD_TOOL_UPSCALE ? 2 : 1),
             "%s: output", gd_tool_name (tool));
      gd_image_free (&out);
      if (tool == GD_TOOL_UPSCALE || tool == GD_TOOL_DENOISE)
        {
          out.data = (float *)&err; /* must come back NULL */
          CHECK (gd_tool_run (model, tool, &p, &in, &mask, &out, &err)
                         == GD_ERR_INVALID
                     && out.data == NULL && strstr (err.message, "mask"),
                 "%s refuses a mask: %s", gd_tool_name (tool), err.message);
        }
    }

  /* img2img on a selection = inpaint refining the selection in place with
   * inpaint's eta. */
  gd_tool_params_init (GD_TOOL_IMG2IMG, &p, NULL);
  p.sampler.steps = 2;
  p.sampler.seed = 8;
  CHECK (gd_tool_run (model, GD_TOOL_IMG2IMG, &p, &in, &mask, &out, &err)
             == GD_OK,
         "img2img on a mask: %s", err.message);
  {
    gd_tool_defaults d;

    gd_tool_defaults_get (GD_TOOL_INPAINT, &d, NULL);
    p.refine_hole = 1;
    p.sampler.eta = d.eta;
  }
  CHECK (gd_inpaint (model, &p, &in, &mask, &ref, &err) == GD_OK, "ref: %s",
         err.message);
  CHECK (out.data != NULL && ref.data != NULL
             && memcmp (out.data, ref.data, TW * TH * 3 * sizeof (float)) == 0,
         "img2img on a mask is inpaint with refine_hole");
  gd_image_free (&out);
  gd_image_free (&ref);

  /* denoise with sigma 0 takes the one policy's estimate. */
  gd_tool_params_init (GD_TOOL_DENOISE, &p, NULL);
  p.one_step = 1;
  p.sigma = 0.0;
  CHECK (gd_tool_run (model, GD_TOOL_DENOISE, &p, &in, NULL, &out, &err)
             == GD_OK,
         "denoise, sigma estimated: %s", err.message);
  p.sigma = gd_tool_estimate_sigma (&in, NULL);
  CHECK (gd_tool_run (model, GD_TOOL_DENOISE, &p, &in, NULL, &ref, &err)
             == GD_OK,
         "denoise, the estimate given: %s", err.message);
  CHECK (out.data != NULL && ref.data != NULL
             && memcmp (out.data, ref.data, TW * TH * 3 * sizeof (float)) == 0,
         "sigma 0 is the estimate of gd_tool_estimate_sigma (%g)", p.sigma);
  gd_image_free (&out);
  gd_image_free (&ref);
  gd_image_free (&in);
  gd_image_free (&mask);
}

int
main (int argc, char **argv)
{
  gd_model *model;
  gd_image in;
  gd_error err;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s MODEL.safetensors\n", argv[0]);
      return 2;
    }
  test_image_conversions ();
  test_tool_descriptors ();

  model = gd_model_load (argv[1], &err);
  if (model == NULL)
    {
      fprintf (stderr, "FAIL cannot load %s: %s\n", argv[1], err.message);
      return 1;
    }
  gd_image_alloc (&in, W, H, 3, NULL);
  fill_test_image (&in);
  test_t0_from_strength (model, &in);
  test_runs (model, &in);
  test_bad_parameters (model, &in);
  test_noise_keys (model);
  test_tiles_threads (model);
  test_tool_run (model);
  gd_image_free (&in);
  gd_model_free (model);

  printf ("%s: %d failure(s)\n", argv[0], failures);
  return failures ? 1 : 0;
}
