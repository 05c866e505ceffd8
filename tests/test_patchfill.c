/* test_patchfill.c: the patch-based fill (patchfill.c).  A hole in a
 * periodic texture continues that texture's detail, in the middle, at the
 * image's corner and edge; a hole in a textured ramp keeps the ramp's
 * level and the grain; a hole in a flat region stays flat; pixels outside the
 * mask never change and a feathered edge blends; a seed gives the same
 * pixels; gray works; an empty mask, an all-selected image and a mask
 * that does not fit are handled; the context stays around the hole on a
 * large image.  The holes of a mask (holes.c): the distance to the known
 * pixels against a brute-force one, the connected parts and the start the
 * auto fill gives each. */
#include "fill.h"
#include "holes.h"
#include "patchfill.h"
#include "task-test.h"

#include <time.h>

/* A random tile of tw x th repeated: the truth under any hole. */
static void
make_periodic (gd_image *img, int w, int h, int channels, int tw, int th)
{
  uint32_t lcg = 777;
  float tile[32 * 32 * 3];

  for (int i = 0; i < tw * th * channels; i++)
    {
      lcg = lcg * 1664525u + 1013904223u;
      tile[i] = 0.1f + 0.8f * (float)(lcg >> 8) / 16777216.0f;
    }
  gd_image_alloc (img, w, h, channels, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        img->data[((size_t)y * w + x) * channels + c]
            = tile[((y % th) * tw + x % tw) * channels + c];
}

static void
make_disc (gd_image *mask, int w, int h, float cx, float cy, float r,
           float feather)
{
  gd_image_alloc (mask, w, h, 1, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float d = hypotf (x - cx, y - cy) - r;

        mask->data[(size_t)y * w + x] = d <= 0         ? 1.0f
                                        : d >= feather ? 0.0f
                                                       : 1.0f - d / feather;
      }
}

static gd_image
copy_of (const gd_image *img)
{
  gd_image c;

  gd_image_alloc (&c, img->width, img->height, img->channels, NULL);
  memcpy (c.data, img->data, test_count (img) * sizeof (float));
  return c;
}

/* Mean |a - b| where the mask is above 0. */
static double
hole_error (const gd_image *a, const gd_image *b, const gd_image *mask)
{
  double sum = 0;
  size_t n = 0;

  for (size_t i = 0; i < (size_t)a->width * a->height; i++)
    if (mask->data[i] > 0.0f)
      for (int c = 0; c < a->channels; c++, n++)
        sum += fabs ((double)a->data[i * a->channels + c]
                     - b->data[i * a->channels + c]);
  return n ? sum / n : 0;
}

static int
changed_outside (const gd_image *a, const gd_image *b, const gd_image *mask)
{
  int changed = 0;

  for (size_t i = 0; i < (size_t)a->width * a->height; i++)
    if (mask->data[i] == 0.0f)
      changed += memcmp (a->data + i * a->channels, b->data + i * a->channels,
                         a->channels * sizeof (float))
                 != 0;
  return changed;
}

/* The smooth fill of img's hole (the mean of what it could hold), for
 * comparison. */
static double
smooth_error (const gd_image *img, const gd_image *truth, const gd_image *mask)
{
  int w = img->width, h = img->height, ch = img->channels, filled = 0;
  size_t plane = (size_t)w * h;
  float *v = malloc (plane * ch * sizeof *v);
  unsigned char *known = malloc (plane);
  gd_image s;
  double e;

  for (size_t i = 0; i < plane; i++)
    {
      known[i] = mask->data[i] <= 0.0f;
      for (int c = 0; c < ch; c++)
        v[c * plane + i] = img->data[i * ch + c];
    }
  gd_fill_smooth (v, ch, known, w, h, &filled, NULL);
  gd_image_alloc (&s, w, h, ch, NULL);
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < ch; c++)
      s.data[i * ch + c] = v[c * plane + i];
  e = hole_error (&s, truth, mask);
  gd_image_free (&s);
  free (v);
  free (known);
  return e;
}

/* A hole in a random 11 x 9 tile repeated (values 0.1..0.9): the fill
 * continues the tile's detail (its Laplacian within 5 % of the
 * truth's), and its values are far closer to the truth than the smooth
 * fill's mean (the structure below GD_PATCHFILL_STRUCTURE_SIGMA comes
 * from that smooth fill, so not exact on a texture this coarse). */
static void
test_periodic (int channels, float cx, float cy, float r, const char *what)
{
  gd_image truth, img, mask;
  gd_error err = { 0, "" };
  int filled = 0;
  double e, es, ed, scale;

  make_periodic (&truth, 160, 120, channels, 11, 9);
  img = copy_of (&truth);
  make_disc (&mask, 160, 120, cx, cy, r, 0.0f);
  for (size_t i = 0; i < (size_t)160 * 120; i++)
    if (mask.data[i] > 0)
      for (int c = 0; c < channels; c++)
        img.data[i * channels + c] = 0.0f; /* what was there is gone */
  es = smooth_error (&img, &truth, &mask);
  CHECK (gd_fill_patch (&img, &mask, 1, &filled, &err) == GD_OK && filled,
         "%s: fills (%s)", what, err.message);
  e = hole_error (&img, &truth, &mask);
  test_laplacian_error (&img, &truth, &mask, 1e-6f, &ed, &scale);
  printf ("%s, %d channel(s): mean error in the hole %.4f (the smooth fill "
          "%.4f; texture values 0.1..0.9), of its Laplacian %.4f (the "
          "truth's mean size %.4f)\n",
          what, channels, e, es, ed, scale);
  CHECK (ed < 0.05 * scale, "%s: the texture's detail continues into the "
         "hole (%.4f of %.4f)", what, ed, scale);
  CHECK (e < 0.3 * es, "%s: the fill is far closer to the truth than the "
         "smooth fill (%.4f against %.4f)", what, e, es);
  CHECK (changed_outside (&img, &truth, &mask) == 0,
         "%s: nothing outside the hole changes", what);
  gd_image_free (&truth);
  gd_image_free (&img);
  gd_image_free (&mask);
}

/* A ramp (0.2 to 0.8 across the image) under a fine texture (a random
 * 5 x 4 tile of +-0.05): the hole's columns keep the ramp's level (the
 * structure, from the smooth fill) and its detail the texture's size. */
static void
test_textured_ramp (void)
{
  gd_image truth, img, mask;
  gd_error err = { 0, "" };
  int filled = 0, w = 160, h = 120;
  double worst = 0, ed, scale;

  make_periodic (&truth, w, h, 1, 5, 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float *v = truth.data + (size_t)y * w + x;

        *v = 0.2f + 0.6f * x / (w - 1) + 0.125f * (*v - 0.5f);
      }
  img = copy_of (&truth);
  make_disc (&mask, w, h, 80, 60, 20, 0.0f);
  CHECK (gd_fill_patch (&img, &mask, 7, &filled, &err) == GD_OK && filled,
         "textured ramp: fills (%s)", err.message);
  for (int x = 0; x < w; x++)
    {
      double got = 0, want = 0;
      int n = 0;

      for (int y = 0; y < h; y++)
        if (mask.data[(size_t)y * w + x] > 0.0f)
          {
            got += img.data[(size_t)y * w + x];
            want += truth.data[(size_t)y * w + x];
            n++;
          }
      if (n >= 8)
        worst = fmax (worst, fabs (got - want) / n);
    }
  test_laplacian_error (&img, &truth, &mask, 1e-6f, &ed, &scale);
  printf ("textured ramp: worst column mean off the truth's %.4f (texture "
          "+-0.05), Laplacian error %.4f (truth's %.4f)\n",
          worst, ed, scale);
  CHECK (worst < 0.02, "textured ramp: the hole keeps the ramp's level "
         "(%.4f)", worst);
  CHECK (ed < 0.05 * scale, "textured ramp: the hole keeps the texture "
         "(%.4f of %.4f)", ed, scale);
  gd_image_free (&truth);
  gd_image_free (&img);
  gd_image_free (&mask);
}

/* Flat on the left, texture on the right, the hole in the flat part. */
static void
test_flat (void)
{
  gd_image img, mask;
  gd_error err = { 0, "" };
  int filled = 0;
  double worst = 0;

  make_periodic (&img, 200, 100, 3, 7, 5);
  for (int y = 0; y < 100; y++)
    for (int x = 0; x < 100; x++)
      for (int c = 0; c < 3; c++)
        img.data[((size_t)y * 200 + x) * 3 + c] = 0.25f + 0.1f * c;
  make_disc (&mask, 200, 100, 45, 50, 15, 0.0f);
  gd_fill_patch (&img, &mask, 3, &filled, &err);
  for (size_t i = 0; i < (size_t)200 * 100; i++)
    if (mask.data[i] > 0)
      for (int c = 0; c < 3; c++)
        worst = fmax (worst, fabs (img.data[i * 3 + c] - (0.25f + 0.1f * c)));
  printf ("a hole in a flat region: largest deviation %.2e\n", worst);
  CHECK (filled && worst < 1e-5, "a flat region stays flat (%.3g)", worst);
  gd_image_free (&img);
  gd_image_free (&mask);
}

/* A feathered edge: m fill + (1 - m) in; outside bit-identical; the same
 * seed the same pixels, on RGB and gray. */
static void
test_feather_and_seed (int channels)
{
  gd_image orig, a, b, mask;
  gd_error err = { 0, "" };
  int filled = 0, blended = 1;

  gd_image_alloc (&orig, 96, 80, channels, NULL);
  test_fill (&orig);
  a = copy_of (&orig);
  b = copy_of (&orig);
  make_disc (&mask, 96, 80, 40, 35, 10, 6.0f);
  CHECK (gd_fill_patch (&a, &mask, 42, &filled, &err) == GD_OK && filled,
         "feathered, %d channel(s): fills (%s)", channels, err.message);
  gd_fill_patch (&b, &mask, 42, &filled, &err);
  CHECK (memcmp (a.data, b.data, test_count (&a) * sizeof (float)) == 0,
         "%d channel(s): the same seed gives the same pixels", channels);
  CHECK (changed_outside (&a, &orig, &mask) == 0,
         "%d channel(s): pixels where the mask is 0 are bit-identical",
         channels);
  /* Partial pixels lie between the input and the full fill. */
  for (size_t i = 0; i < (size_t)96 * 80; i++)
    {
      float m = mask.data[i];

      if (m > 0.0f && m < 1.0f)
        for (int c = 0; c < channels; c++)
          {
            float in = orig.data[i * channels + c];
            float out = a.data[i * channels + c];

            if (fabsf (out - in) > m * 1.0f + 1e-6f)
              blended = 0;
          }
    }
  CHECK (blended, "%d channel(s): a feathered pixel moves at most m", channels);
  gd_image_free (&orig);
  gd_image_free (&a);
  gd_image_free (&b);
  gd_image_free (&mask);
}

static void
test_bad_input (void)
{
  gd_image img, mask, orig, small;
  gd_error err = { 0, "" };
  int filled = 1;

  gd_image_alloc (&img, 40, 30, 3, NULL);
  test_fill (&img);
  orig = copy_of (&img);
  gd_image_alloc (&mask, 40, 30, 1, NULL);
  memset (mask.data, 0, 40 * 30 * sizeof (float));
  CHECK (gd_fill_patch (&img, &mask, 1, &filled, &err) == GD_OK && !filled
             && memcmp (img.data, orig.data, test_count (&img) * 4) == 0,
         "an empty mask: nothing filled, nothing changed");
  for (int i = 0; i < 40 * 30; i++)
    mask.data[i] = 1.0f;
  filled = 1;
  CHECK (gd_fill_patch (&img, &mask, 1, &filled, &err) == GD_OK && !filled
             && memcmp (img.data, orig.data, test_count (&img) * 4) == 0,
         "everything selected: nothing to copy from, nothing changed");
  /* A thin known frame holds no whole 7 x 7 patch either. */
  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++)
      mask.data[y * 40 + x] = x > 2 && y > 2 && x < 37 && y < 27;
  filled = 1;
  CHECK (gd_fill_patch (&img, &mask, 1, &filled, &err) == GD_OK && !filled,
         "no whole known patch: nothing filled");
  gd_image_alloc (&small, 20, 30, 1, NULL);
  CHECK (gd_fill_patch (&img, &small, 1, &filled, &err) == GD_ERR_INVALID,
         "a mask of another size is refused");
  CHECK (gd_fill_patch (&img, NULL, 1, &filled, &err) == GD_ERR_INVALID,
         "no mask is refused");
  gd_image_free (&img);
  gd_image_free (&orig);
  gd_image_free (&mask);
  gd_image_free (&small);
}

/* A 40 x 40 hole in a 6000 x 4000 image: the work follows the hole. */
static void
test_large_image (void)
{
  gd_image img, mask;
  gd_error err = { 0, "" };
  int filled = 0;
  struct timespec t0, t1;
  double seconds;

  make_periodic (&img, 6000, 4000, 3, 13, 10);
  gd_image_alloc (&mask, 6000, 4000, 1, NULL);
  memset (mask.data, 0, (size_t)6000 * 4000 * sizeof (float));
  for (int y = 2000; y < 2040; y++)
    for (int x = 3000; x < 3040; x++)
      mask.data[(size_t)y * 6000 + x] = 1.0f;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  gd_fill_patch (&img, &mask, 5, &filled, &err);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  printf ("a 40 x 40 hole in 6000 x 4000: %.2f s\n", seconds);
  CHECK (filled && seconds < 5.0,
         "a small hole in a large image is quick "
         "(%.2f s)",
         seconds);
  gd_image_free (&img);
  gd_image_free (&mask);
}

/* ------------------------------------------------------------ holes */

/* The exact transform against the brute-force minimum over every known
 * pixel, on random masks (sparse and dense known pixels, none at all). */
static void
test_distance (void)
{
  uint32_t lcg = 4242;

  for (int trial = 0; trial < 6; trial++)
    {
      int w = 13 + 7 * trial, h = 31 - 3 * trial;
      /* known fraction: 0 (none) .. 0.5 */
      double known_p = trial == 0 ? 0.0 : 0.01 * (trial * trial * 2);
      gd_image mask;
      float *dist = malloc ((size_t)w * h * sizeof *dist);
      double worst = 0.0;

      gd_image_alloc (&mask, w, h, 1, NULL);
      for (int i = 0; i < w * h; i++)
        {
          lcg = lcg * 1664525u + 1013904223u;
          mask.data[i] = (lcg >> 8) / 16777216.0 < known_p ? 0.0f : 0.5f;
        }
      CHECK (gd_distance_to_known (&mask, dist, NULL) == GD_OK,
             "distance %d x %d", w, h);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            double best = HUGE_VAL;

            for (int v = 0; v < h; v++)
              for (int u = 0; u < w; u++)
                if (mask.data[v * w + u] == 0.0f)
                  best = fmin (best, hypot (u - x, v - y));
            if (isinf (best) || isinf (dist[y * w + x]))
              worst = isinf (best) && isinf (dist[y * w + x]) ? worst : 1e9;
            else
              worst = fmax (worst, fabs (best - dist[y * w + x]));
          }
      CHECK (worst < 1e-4,
             "distance to the known pixels, %d x %d, %.0f%% known: max "
             "error %g against brute force",
             w, h, 100 * known_p, worst);
      free (dist);
      gd_image_free (&mask);
    }
}

/* Four holes of known shapes in a 240 x 160 image: a thin scratch, a wide
 * stroke, a compact blob (2% of the image) and a large disc (14%). */
static void
test_holes (void)
{
  gd_image mask;
  int *labels = malloc (240 * 160 * sizeof *labels), n = 0;
  gd_hole *holes = NULL;

  gd_image_alloc (&mask, 240, 160, 1, NULL);
  memset (mask.data, 0, 240 * 160 * sizeof (float));
  for (int y = 0; y < 160; y++)
    for (int x = 0; x < 240; x++)
      {
        float *m = &mask.data[y * 240 + x];

        if (y >= 10 && y < 16 && x >= 10 && x < 110) /* scratch 6 wide */
          *m = 1.0f;
        if (y >= 30 && y < 52 && x >= 10 && x < 130) /* stroke 22 x 120 */
          *m = 1.0f;
        if (hypotf (x - 40.0f, y - 110.0f) < 14.0f) /* blob, feathered */
          *m = hypotf (x - 40.0f, y - 110.0f) < 12.0f ? 1.0f : 0.4f;
        if (hypotf (x - 180.0f, y - 100.0f) < 40.0f) /* large disc */
          *m = 1.0f;
      }
  CHECK (gd_holes_find (&mask, 0.0, labels, &holes, &n, NULL) == GD_OK
             && n == 4,
         "four holes (%d)", n);
  if (n == 4)
    {
      /* in the order of their first pixel: scratch, stroke, disc, blob */
      static const char *const what[4]
          = { "a 6-pixel scratch", "a 22 x 120 stroke", "a disc of 14%",
              "a blob of 2%" };
      static const gd_fill want[4]
          = { GD_FILL_SMOOTH, GD_FILL_SMOOTH, GD_FILL_SMOOTH, GD_FILL_PATCH };

      for (int k = 0; k < 4; k++)
        {
          printf ("hole %d (%s): %d pixels, thickness %.1f, elongation "
                  "%.1f: %s\n",
                  k + 1, what[k], holes[k].area, holes[k].thickness,
                  holes[k].elongation, gd_fill_name (holes[k].fill));
          CHECK (holes[k].fill == want[k], "%s starts from the %s fill",
                 what[k], gd_fill_name (want[k]));
        }
      CHECK (holes[0].area == 600 && holes[1].area == 22 * 120
                 && fabs (holes[0].thickness - 3.0) < 1e-6
                 && fabs (holes[1].thickness - 11.0) < 1e-6,
             "areas and thicknesses of the rectangles (%d %g, %d %g)",
             holes[0].area, holes[0].thickness, holes[1].area,
             holes[1].thickness);
      CHECK (labels[12 * 240 + 50] == 1 && labels[40 * 240 + 50] == 2
                 && labels[100 * 240 + 180] == 3 && labels[110 * 240 + 53] == 4
                 && labels[0] == 0,
             "labels: each pixel its hole's (the feathered edge too), 0 "
             "where known");
      /* The same blob in a larger image is smaller than 5% of it still;
       * in a small one it is large. */
      CHECK (gd_hole_fill (holes[3].area, holes[3].thickness, 1e6)
                     == GD_FILL_PATCH
                 && gd_hole_fill (holes[3].area, holes[3].thickness,
                                  holes[3].area * 10.0)
                        == GD_FILL_SMOOTH,
             "a hole over 5%% of the image is large");
    }
  free (holes);
  free (labels);
  gd_image_free (&mask);
}

int
main (void)
{
  test_distance ();
  test_holes ();
  test_periodic (3, 80, 60, 14, "a disc in the middle");
  test_periodic (1, 80, 60, 14, "a disc in the middle");
  test_periodic (3, 0, 0, 20, "a disc at the corner");
  test_periodic (3, 159, 60, 12, "a disc on the right edge");
  test_textured_ramp ();
  test_flat ();
  test_feather_and_seed (3);
  test_feather_and_seed (1);
  test_bad_input ();
  test_large_image ();
  if (failures)
    fprintf (stderr, "%d failures\n", failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
