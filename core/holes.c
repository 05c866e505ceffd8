/* holes.c: the holes of an inpainting mask (connected parts, their size
 * and thickness) and the start inpaint's auto fill gives each. */
#include "holes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One line of Felzenszwalb and Huttenlocher's (2012) transform:
 * d[q] = min_p (q - p)^2 + f[p], the lower envelope of the parabolas
 * rooted at the finite f[p] (in doubles: squared distances on a large
 * image are past a float's integers).  v, z: n ints and n + 1 doubles of
 * scratch. */
static void
edt_line (const double *f, double *d, int n, int *v, double *z)
{
  int k = -1;

  for (int q = 0; q < n; q++)
    {
      double s;

      if (!isfinite (f[q]))
        continue;
      if (k < 0)
        {
          k = 0;
          v[0] = q;
          z[0] = -HUGE_VAL;
          z[1] = HUGE_VAL;
          continue;
        }
      /* where the parabola of q overtakes that of v[k]; those it overtakes
       * before they start are dropped */
      for (;;)
        {
          s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k]))
              / (2.0 * (q - v[k]));
          if (s > z[k])
            break;
          k--;
        }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = HUGE_VAL;
    }
  if (k < 0)
    {
      for (int q = 0; q < n; q++)
        d[q] = HUGE_VAL;
      return;
    }
  for (int q = 0, j = 0; q < n; q++)
    {
      while (z[j + 1] < (double)q)
        j++;
      d[q] = (double)(q - v[j]) * (q - v[j]) + f[v[j]];
    }
}

int
gd_distance_to_known (const gd_image *mask, float *dist, gd_error *err)
{
  int w = mask->width, h = mask->height, n = w > h ? w : h;
  double *f = calloc ((size_t)n, sizeof *f);
  double *d = malloc ((size_t)n * sizeof *d);
  double *z = malloc (((size_t)n + 1) * sizeof *z);
  int *v = malloc ((size_t)n * sizeof *v);
  int status = GD_OK;

  if (f == NULL || d == NULL || z == NULL || v == NULL)
    {
      status = gd_error_set (err, GD_ERR_NOMEM,
                             "inpaint: out of memory for a %d x %d mask", w, h);
      goto done;
    }
  /* columns: the squared distance to the known pixels of the column */
  for (int x = 0; x < w; x++)
    {
      for (int y = 0; y < h; y++)
        f[y] = mask->data[(size_t)y * w + x] > 0.0f ? HUGE_VAL : 0.0;
      edt_line (f, d, h, v, z);
      for (int y = 0; y < h; y++)
        dist[(size_t)y * w + x] = (float)d[y];
    }
  /* rows: over the columns' results (squared, in dist meanwhile) */
  for (int y = 0; y < h; y++)
    {
      for (int x = 0; x < w; x++)
        f[x] = dist[(size_t)y * w + x];
      edt_line (f, d, w, v, z);
      for (int x = 0; x < w; x++)
        dist[(size_t)y * w + x]
            = isfinite (d[x]) ? (float)sqrt (d[x]) : HUGE_VALF;
    }
done:
  free (f);
  free (d);
  free (z);
  free (v);
  return status;
}

gd_fill
gd_hole_fill (int area, double thickness, double image_area)
{
  double elongation = area / (M_PI * thickness * thickness);

  if (thickness <= GD_HOLE_THIN || elongation >= GD_HOLE_ELONGATED
      || area > GD_HOLE_LARGE * image_area)
    return GD_FILL_SMOOTH;
  return GD_FILL_PATCH;
}

int
gd_holes_find (const gd_image *mask, double image_area, int *labels,
               gd_hole **holes, int *n_holes, gd_error *err)
{
  int w = mask->width, h = mask->height, n = 0, cap = 0;
  size_t size = (size_t)w * h;
  float *dist = malloc (size * sizeof *dist);
  int *stack = malloc (size * sizeof *stack);
  gd_hole *list = NULL;
  int status;

  *holes = NULL;
  *n_holes = 0;
  if (dist == NULL || stack == NULL)
    {
      free (dist);
      free (stack);
      return gd_error_set (err, GD_ERR_NOMEM,
                           "inpaint: out of memory for a %d x %d mask", w, h);
    }
  if (image_area <= 0.0)
    image_area = (double)size;
  status = gd_distance_to_known (mask, dist, err);
  for (size_t i = 0; i < size; i++)
    labels[i] = 0;
  for (size_t i = 0; status == GD_OK && i < size; i++)
    {
      int top = 0;
      gd_hole hole = { 0, 0.0, 0.0, GD_FILL_SMOOTH };

      if (mask->data[i] <= 0.0f || labels[i] != 0)
        continue;
      if (n == cap)
        {
          gd_hole *grown;

          cap = cap ? 2 * cap : 16;
          grown = realloc (list, (size_t)cap * sizeof *list);
          if (grown == NULL)
            {
              status = gd_error_set (err, GD_ERR_NOMEM,
                                     "inpaint: out of memory for the holes");
              break;
            }
          list = grown;
        }
      /* flood fill over the 8 neighbours */
      labels[i] = n + 1;
      stack[top++] = (int)i;
      while (top > 0)
        {
          int p = stack[--top], px = p % w, py = p / w;

          hole.area++;
          if (dist[p] > hole.thickness)
            hole.thickness = dist[p];
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
              {
                int qx = px + dx, qy = py + dy;
                size_t q = (size_t)qy * w + qx;

                if (qx < 0 || qy < 0 || qx >= w || qy >= h || labels[q] != 0
                    || mask->data[q] <= 0.0f)
                  continue;
                labels[q] = n + 1;
                stack[top++] = (int)q;
              }
        }
      hole.elongation = hole.area / (M_PI * hole.thickness * hole.thickness);
      hole.fill = gd_hole_fill (hole.area, hole.thickness, image_area);
      list[n++] = hole;
    }
  free (dist);
  free (stack);
  if (status != GD_OK)
    {
      free (list);
      return status;
    }
  *holes = list;
  *n_holes = n;
  return GD_OK;
}
