/* fill.c: the smooth fill of a hole from its border.  The unknown pixels
 * get the harmonic interpolant of the known ones (each the mean of its 4
 * neighbours; reflecting edges), the "membrane" that has no texture of its
 * own.  inpaint starts from it below strength 1, so what was under the
 * selection never shows through.
 *
 * Solved coarse to fine: a pyramid of 2 x 2 means (a coarse pixel is known
 * when one of its children is), successive over-relaxation on the coarsest
 * level from the known mean, then on each finer level from the parent's
 * value until the largest update is below GD_FILL_TOLERANCE. */
#include "fill.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FILL_MAX_LEVELS 24
#define FILL_COARSEST 8      /* a level this small is not halved again */
#define FILL_MAX_SWEEPS 4000 /* per level; far above what is needed */

typedef struct
{
  int w, h;
  float *v;               /* channels planes of w x h */
  unsigned char *k;       /* known flags, w x h */
  size_t *holes, n_holes; /* the unknown pixels' indices */
} fill_level;

static int
fill_list_holes (fill_level *l)
{
  size_t n = (size_t)l->w * (size_t)l->h, m = 0;

  for (size_t i = 0; i < n; i++)
    m += !l->k[i];
  l->holes = malloc ((m ? m : 1) * sizeof (size_t));
  if (l->holes == NULL)
    return 0;
  l->n_holes = 0;
  for (size_t i = 0; i < n; i++)
    if (!l->k[i])
      l->holes[l->n_holes++] = i;
  return 1;
}

/* The next level: 2 x 2 means of the known children. */
static int
fill_halve (const fill_level *f, fill_level *c, int channels)
{
  size_t fplane = (size_t)f->w * (size_t)f->h, cplane;

  c->w = (f->w + 1) / 2;
  c->h = (f->h + 1) / 2;
  cplane = (size_t)c->w * (size_t)c->h;
  c->v = malloc (cplane * channels * sizeof (float));
  c->k = malloc (cplane);
  c->holes = NULL;
  if (c->v == NULL || c->k == NULL)
    return 0;
  for (int y = 0; y < c->h; y++)
    for (int x = 0; x < c->w; x++)
      {
        size_t ci = (size_t)y * c->w + x;
        int count = 0;

        for (int ch = 0; ch < channels; ch++)
          c->v[ch * cplane + ci] = 0.0f;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            {
              int fx = 2 * x + dx, fy = 2 * y + dy;
              size_t fi = (size_t)fy * f->w + fx;

              if (fx >= f->w || fy >= f->h || !f->k[fi])
                continue;
              count++;
              for (int ch = 0; ch < channels; ch++)
                c->v[ch * cplane + ci] += f->v[ch * fplane + fi];
            }
        c->k[ci] = count > 0;
        for (int ch = 0; ch < channels && count > 0; ch++)
          c->v[ch * cplane + ci] /= (float)count;
      }
  return fill_list_holes (c);
}

/* Successive over-relaxation on the unknown pixels of one level. */
static void
fill_relax (fill_level *l, int channels)
{
  size_t plane = (size_t)l->w * (size_t)l->h;
  int side = l->w > l->h ? l->w : l->h;
  double omega = 2.0 / (1.0 + sin (M_PI / (side + 1)));

  omega = omega > 1.95 ? 1.95 : omega;
  for (int sweep = 0; sweep < FILL_MAX_SWEEPS && l->n_holes > 0; sweep++)
    {
      double largest = 0.0;

      for (size_t j = 0; j < l->n_holes; j++)
        {
          size_t i = l->holes[j];
          int x = (int)(i % (size_t)l->w), y = (int)(i / (size_t)l->w);
          size_t nb[4];
          int n = 0;

          if (x > 0)
            nb[n++] = i - 1;
          if (x + 1 < l->w)
            nb[n++] = i + 1;
          if (y > 0)
            nb[n++] = i - (size_t)l->w;
          if (y + 1 < l->h)
            nb[n++] = i + (size_t)l->w;
          if (n == 0)
            continue;
          for (int ch = 0; ch < channels; ch++)
            {
              float *v = l->v + ch * plane;
              double sum = 0.0, delta;

              for (int q = 0; q < n; q++)
                sum += v[nb[q]];
              delta = omega * (sum / n - v[i]);
              v[i] = (float)(v[i] + delta);
              largest = fabs (delta) > largest ? fabs (delta) : largest;
            }
        }
      if (largest < GD_FILL_TOLERANCE)
        break;
    }
}

int
gd_fill_smooth (float *planar, int channels, const unsigned char *known,
                int width, int height, int *filled, gd_error *err)
{
  fill_level lv[FILL_MAX_LEVELS];
  int n_levels = 1, status = GD_OK;

  *filled = 0;
  memset (lv, 0, sizeof lv);
  lv[0].w = width;
  lv[0].h = height;
  lv[0].v = planar;
  lv[0].k = (unsigned char *)known;
  if (!fill_list_holes (&lv[0]))
    goto nomem;
  if (lv[0].n_holes == 0)
    goto done;
  while (n_levels < FILL_MAX_LEVELS
         && (lv[n_levels - 1].w > FILL_COARSEST
             || lv[n_levels - 1].h > FILL_COARSEST))
    {
      if (!fill_halve (&lv[n_levels - 1], &lv[n_levels], channels))
        {
          n_levels++;
          goto nomem;
        }
      n_levels++;
    }

  /* The coarsest level from the mean of its known pixels. */
  {
    fill_level *c = &lv[n_levels - 1];
    size_t plane = (size_t)c->w * (size_t)c->h, n_known = plane - c->n_holes;

    if (n_known == 0)
      goto done; /* nothing known: nothing to fill from */
    for (int ch = 0; ch < channels; ch++)
      {
        double sum = 0.0;
        float *v = c->v + ch * plane;

        for (size_t i = 0; i < plane; i++)
          sum += c->k[i] ? v[i] : 0.0;
        for (size_t j = 0; j < c->n_holes; j++)
          v[c->holes[j]] = (float)(sum / (double)n_known);
      }
    fill_relax (c, channels);
  }
  /* Finer levels from their parents. */
  for (int l = n_levels - 2; l >= 0; l--)
    {
      fill_level *f = &lv[l], *c = &lv[l + 1];
      size_t fplane = (size_t)f->w * (size_t)f->h;
      size_t cplane = (size_t)c->w * (size_t)c->h;

      for (size_t j = 0; j < f->n_holes; j++)
        {
          size_t i = f->holes[j];
          size_t ci = (size_t)((i / (size_t)f->w) / 2) * (size_t)c->w
                      + (i % (size_t)f->w) / 2;

          for (int ch = 0; ch < channels; ch++)
            f->v[ch * fplane + i] = c->v[ch * cplane + ci];
        }
      fill_relax (f, channels);
    }
  *filled = 1;
  goto done;

nomem:
  status = gd_error_set (err, GD_ERR_NOMEM,
                         "smooth fill: out of memory for a %d x %d region",
                         width, height);
done:
  free (lv[0].holes);
  for (int l = 1; l < n_levels; l++)
    {
      free (lv[l].v);
      free (lv[l].k);
      free (lv[l].holes);
    }
  return status;
}
