/* test_fill.c: the smooth fill of a hole (fill.c) against a naive Jacobi
 * solve of the same equations run to convergence in double precision, and
 * its properties: known pixels untouched, linear data filled exactly, the
 * maximum principle, nothing known leaves the values alone. */
#include "fill.h"
#include "task-test.h"

/* Jacobi iteration of "each unknown pixel is the mean of its 4 neighbours
 * (reflecting edges)", from 0, until no value moves by more than 1e-12. */
static void
naive_fill (double *v, const unsigned char *known, int w, int h)
{
  size_t n = (size_t)w * h;
  double *next = malloc (n * sizeof *next);

  for (size_t i = 0; i < n; i++)
    if (!known[i])
      v[i] = 0.0;
  for (int iter = 0; iter < 2000000; iter++)
    {
      double largest = 0.0;

      memcpy (next, v, n * sizeof *next);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            size_t i = (size_t)y * w + x;
            double sum = 0.0;
            int cnt = 0;

            if (known[i])
              continue;
            if (x > 0)
              sum += v[i - 1], cnt++;
            if (x + 1 < w)
              sum += v[i + 1], cnt++;
            if (y > 0)
              sum += v[i - w], cnt++;
            if (y + 1 < h)
              sum += v[i + w], cnt++;
            next[i] = sum / cnt;
            largest = fmax (largest, fabs (next[i] - v[i]));
          }
      memcpy (v, next, n * sizeof *next);
      if (largest < 1e-12)
        break;
    }
  free (next);
}

static uint32_t lcg = 12345;

static double
uniform (void)
{
  lcg = lcg * 1664525u + 1013904223u;
  return (lcg >> 8) / 16777216.0;
}

/* A hole of blobs and strokes, some touching the edges. */
static void
make_hole (unsigned char *known, int w, int h)
{
  for (int i = 0; i < w * h; i++)
    known[i] = 1;
  for (int b = 0; b < 5; b++)
    {
      int cx = (int)(uniform () * w), cy = (int)(uniform () * h);
      int r = 2 + (int)(uniform () * (w / 5));

      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
            known[y * w + x] = 0;
    }
  for (int x = 0; x < w; x++)
    known[(h / 3) * w + x] = 0; /* a stroke from edge to edge */
  known[0] = known[w * h - 1] = 1;
}

static void
test_against_naive (int w, int h, int channels)
{
  size_t plane = (size_t)w * h;
  unsigned char *known = malloc (plane);
  float *v = malloc (plane * channels * sizeof (float));
  float *orig = malloc (plane * channels * sizeof (float));
  double *ref = malloc (plane * sizeof (double));
  double worst = 0.0, lo = 1e9, hi = -1e9;
  int filled = 0, untouched = 1, inside = 1;
  gd_error err = { 0, "" };

  make_hole (known, w, h);
  for (size_t i = 0; i < plane * channels; i++)
    v[i] = orig[i] = (float)(2.0 * uniform () - 1.0);
  CHECK (gd_fill_smooth (v, channels, known, w, h, &filled, &err) == GD_OK
             && filled == 1,
         "%d x %d: fills (%s)", w, h, err.message);
  for (int c = 0; c < channels; c++)
    {
      for (size_t i = 0; i < plane; i++)
        ref[i] = orig[c * plane + i];
      naive_fill (ref, known, w, h);
      lo = 1e9, hi = -1e9;
      for (size_t i = 0; i < plane; i++)
        if (known[i])
          {
            lo = fmin (lo, orig[c * plane + i]);
            hi = fmax (hi, orig[c * plane + i]);
          }
      for (size_t i = 0; i < plane; i++)
        {
          float got = v[c * plane + i];

          worst = fmax (worst, fabs (got - ref[i]));
          if (known[i] && memcmp (&got, &orig[c * plane + i], sizeof got) != 0)
            untouched = 0;
          if (got < lo - 1e-6 || got > hi + 1e-6)
            inside = 0;
        }
    }
  printf ("%d x %d x %d: largest difference to the naive solve %.2e\n", w, h,
          channels, worst);
  CHECK (worst < 1e-4, "%d x %d: %.3g from the naive solve", w, h, worst);
  CHECK (untouched, "%d x %d: the known pixels are untouched", w, h);
  CHECK (inside, "%d x %d: the fill stays within the known values' range", w,
         h);
  free (known);
  free (v);
  free (orig);
  free (ref);
}

/* A harmonic function (linear) on the known pixels is filled exactly: the
 * hole is away from the edges, where reflection would bend it. */
static void
test_linear (void)
{
  int w = 120, h = 90, filled = 0;
  size_t plane = (size_t)w * h;
  unsigned char *known = malloc (plane);
  float *v = malloc (plane * sizeof (float));
  double worst = 0.0;
  gd_error err = { 0, "" };

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int hole = x > 10 && x < 100 && y > 5 && y < 80;

        known[y * w + x] = !hole;
        v[y * w + x] = hole ? 0.9f : (float)(0.01 * x - 0.006 * y);
      }
  gd_fill_smooth (v, 1, known, w, h, &filled, &err);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      worst = fmax (worst, fabs (v[y * w + x] - (0.01 * x - 0.006 * y)));
  printf ("linear data in a 89 x 74 hole: largest error %.2e\n", worst);
  CHECK (filled && worst < 1e-4, "linear data filled linearly (%.3g)", worst);
  free (known);
  free (v);
}

static void
test_nothing_known (void)
{
  unsigned char known[6] = { 0 };
  float v[6] = { 1, 2, 3, 4, 5, 6 }, orig[6];
  int filled = 1;
  gd_error err = { 0, "" };

  memcpy (orig, v, sizeof v);
  CHECK (gd_fill_smooth (v, 1, known, 3, 2, &filled, &err) == GD_OK
             && filled == 0 && memcmp (v, orig, sizeof v) == 0,
         "nothing known: values untouched, nothing filled");
  known[0] = 1;
  CHECK (gd_fill_smooth (v, 1, known, 3, 2, &filled, &err) == GD_OK
             && filled == 1 && fabs (v[5] - 1.0f) < 1e-4,
         "one known pixel: the hole takes its value (%g)", v[5]);
}

int
main (void)
{
  test_against_naive (2, 2, 1);
  test_against_naive (7, 3, 1);
  test_against_naive (37, 23, 3);
  test_against_naive (64, 64, 1);
  test_against_naive (101, 17, 2);
  test_linear ();
  test_nothing_known ();
  if (failures)
    fprintf (stderr, "%d failures\n", failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
