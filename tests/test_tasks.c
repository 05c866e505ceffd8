/* test_tasks.c: gd_image conversions and gd_img2img (t0 from strength,
 * strength 0, seeds, gray = averaged RGB, cancel, bad parameters) on the
 * small random-init test model. */
#include "gimp-diffusion.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                       \
  do                                                                           \
    {                                                                          \
      if (!(cond))                                                             \
        {                                                                      \
          failures++;                                                          \
          fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
          fprintf (stderr, __VA_ARGS__);                                       \
          fputc ('\n', stderr);                                                \
        }                                                                      \
    }                                                                          \
  while (0)

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
      p.sampler.sampler = "ddim";
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
  gd_image a, b, c, zero, gray, grayrgb, outg, outrgb;
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
  gd_image_free (&zero);
  gd_image_free (&gray);
  gd_image_free (&grayrgb);
  gd_image_free (&outg);
  gd_image_free (&outrgb);
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
  p.sampler.sampler = "nope";
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID
             && strstr (err.message, "nope"),
         "unknown sampler: %s", err.message);
  p.sampler.sampler = "ddim";
  p.sampler.steps = 0;
  CHECK (gd_img2img (model, &p, in, &out, &err) == GD_ERR_INVALID,
         "0 steps: %s", err.message);
  p.sampler.steps = 2;
  CHECK (gd_img2img (model, &p, &empty, &out, &err) == GD_ERR_INVALID,
         "no input: %s", err.message);
  CHECK (gd_img2img (NULL, &p, in, &out, &err) == GD_ERR_INVALID,
         "no model: %s", err.message);
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
  gd_image_free (&in);
  gd_model_free (model);

  printf ("%s: %d failure(s)\n", argv[0], failures);
  return failures ? 1 : 0;
}
