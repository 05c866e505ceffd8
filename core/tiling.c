/* tiling.c: the network on an image of any size, on overlapping tiles
 * blended with smootherstep weights, the tile size chosen from a memory
 * budget (darktable's tiling, stable-diffusion.cpp's blend). */
#include "tiling.h"
#include "model.h"
#include "ops.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 8 levels and 16 blocks per level at most (unet.c's limits). */
/* The smallest tile, in multiples of the downsampling factor. */
#define TILE_MIN_FACTORS 4

int
gd_tiling_overlap (const gd_model_info *info)
{
  int f = info->downsample_factor > 0 ? info->downsample_factor : 1;
  /* 8 cells of the coarsest level, and 32 pixels at least.  On the shipped
   * model (f = 8) each doubling of the overlap halves the tiled pass's
   * error: RMS eps_hat difference 0.0028 / 0.0010 / 0.0006 at 32 / 64 / 96
   * pixels (256-pixel tiles, t = 200); 64 costs 27 % more pixels at the
   * default budget's tile (docs/tools.md). */
  int overlap = 8 * f;

  while (overlap < 32)
    overlap += f;
  return overlap;
}

/* a = max (a, b) */
static double
tile_bytes (const gd_model *model, gd_precision precision, int tile_w,
            int tile_h)
{
  /* The forward pass's own plan, and this file's tile buffers. */
  double work = (double)gd_model_work_floats (model, tile_w, tile_h);

  if (work == 0.0)
    return HUGE_VAL;
  return 4.0 * (work + 2.0 * 3 * tile_w * (double)tile_h)
         + gd_model_fast_bytes (model, precision, tile_w, tile_h);
}

double
gd_tiling_tile_bytes (const gd_model *model, int tile_w, int tile_h)
{
  return tile_bytes (model, gd_model_get_precision (model), tile_w, tile_h);
}

/* One axis: n tiles of stride + overlap (the last one cut at `size`). */
static void
plan_axis (int size, int tile, int overlap, int f, int *n, int *stride)
{
  int count, step;

  if (size <= tile)
    {
      *n = 1;
      *stride = size;
      return;
    }
  /* As few tiles as fit, then the stride evened out over them. */
  count = (size - overlap + (tile - overlap) - 1) / (tile - overlap);
  step = (size - overlap + count - 1) / count;
  step = (step + f - 1) / f * f;
  /* A pixel lies in two tiles at most: each ramp within its own stride. */
  if (step < overlap)
    step = overlap;
  *stride = step;
  *n = (size - overlap + step - 1) / step;
}

static int
plan_at (gd_tiling *tiling, const gd_model *model, gd_precision precision,
         int width, int height, size_t memory_budget, int tile_size,
         gd_error *err)
{
  const gd_model_info *info = gd_model_get_info (model);
  const int f = info->downsample_factor > 0 ? info->downsample_factor : 1;
  const int overlap = gd_tiling_overlap (info);
  const int min_tile
      = 2 * overlap > TILE_MIN_FACTORS * f ? 2 * overlap : TILE_MIN_FACTORS * f;
  double budget = memory_budget ? (double)memory_budget
                                : (double)GD_DEFAULT_MEMORY_BUDGET;
  int tile;

  assert (width > 0 && height > 0);
  memset (tiling, 0, sizeof *tiling);
  if (tile_size < 0)
    return gd_error_set (err, GD_ERR_INVALID,
                         "tile size %d: must be positive (0 = from the "
                         "memory budget)",
                         tile_size);
  if (tile_size > 0)
    {
      tile = tile_size / f * f;
      if (tile < min_tile)
        return gd_error_set (err, GD_ERR_INVALID,
                             "tile size %d is below the smallest, %d (twice "
                             "the %d-pixel overlap)",
                             tile_size, min_tile, overlap);
    }
  else if (tile_bytes (model, precision, width, height) <= budget)
    tile = width > height ? width : height;
  else
    {
      /* The largest square tile within the budget: bytes grow with the
       * area, so bisect on the side. */
      int lo = min_tile / f, hi = (width > height ? width : height) / f + 1;

      if (tile_bytes (model, precision, min_tile, min_tile) > budget)
        return gd_error_set (
            err, GD_ERR_NOMEM,
            "a memory budget of %.0f MiB is too small: the smallest tile "
            "(%d x %d) needs %.0f MiB",
            budget / (1 << 20), min_tile, min_tile,
            tile_bytes (model, precision, min_tile, min_tile) / (1 << 20));
      while (hi - lo > 1)
        {
          int mid = lo + (hi - lo) / 2;

          if (tile_bytes (model, precision, mid * f, mid * f) <= budget)
            lo = mid;
          else
            hi = mid;
        }
      tile = lo * f;
    }

  tiling->width = width;
  tiling->height = height;
  tiling->tile = tile;
  plan_axis (width, tile, overlap, f, &tiling->nx, &tiling->stride_x);
  plan_axis (height, tile, overlap, f, &tiling->ny, &tiling->stride_y);
  tiling->overlap = tiling->nx > 1 || tiling->ny > 1 ? overlap : 0;
  return GD_OK;
}

int
gd_tiling_plan (gd_tiling *tiling, const gd_model *model, int width,
                int height, size_t memory_budget, int tile_size, gd_error *err)
{
  return plan_at (tiling, model, gd_model_get_precision (model), width, height,
                  memory_budget, tile_size, err);
}

int
gd_net_plan (gd_tiling *tiling, const gd_model *model,
             const gd_task_params *p, int width, int height,
             gd_precision *precision, gd_error *err)
{
  int status = plan_at (tiling, model, p->precision, width, height,
                        p->memory_budget, p->tile_size, err);

  *precision = p->precision;
  if (status == GD_ERR_NOMEM && p->precision == GD_PRECISION_FAST)
    {
      /* The fast path's buffers do not fit: the exact path needs less. */
      *precision = GD_PRECISION_EXACT;
      status = plan_at (tiling, model, GD_PRECISION_EXACT, width, height,
                        p->memory_budget, p->tile_size, err);
    }
  return status;
}

void
gd_tiling_rect (const gd_tiling *tiling, int k, int *x, int *y, int *w, int *h)
{
  int ix = k % tiling->nx, iy = k / tiling->nx;

  assert (k >= 0 && k < gd_tiling_count (tiling));
  *x = ix * tiling->stride_x;
  *y = iy * tiling->stride_y;
  *w = tiling->nx == 1 ? tiling->width : tiling->stride_x + tiling->overlap;
  *h = tiling->ny == 1 ? tiling->height : tiling->stride_y + tiling->overlap;
  if (*x + *w > tiling->width)
    *w = tiling->width - *x;
  if (*y + *h > tiling->height)
    *h = tiling->height - *y;
}

/* smootherstep: u^3 (u (6u - 15) + 10), 0 at 0 and 1 at 1 with flat ends,
 * and s(u) + s(1 - u) = 1. */
static double
smootherstep (double u)
{
  return u * u * u * (u * (6.0 * u - 15.0) + 10.0);
}

float
gd_tiling_weight (int k, int n, int stride, int overlap, int pos)
{
  if (n > 1 && k > 0 && pos < overlap)
    return (float)smootherstep ((pos + 0.5) / overlap);
  if (n > 1 && k < n - 1 && pos >= stride)
    return (float)(1.0 - smootherstep ((pos - stride + 0.5) / overlap));
  return 1.0f;
}

/* ---------------------------------------------------------------- gd_net */

int
gd_net_init (gd_net *net, gd_model *model, const gd_task_params *p, int width,
             int height, int evals, int single, gd_error *err)
{
  const gd_model_info *info = gd_model_get_info (model);
  int status;

  gd_precision precision;

  memset (net, 0, sizeof *net);
  net->model = model;
  net->p = p;
  net->channels = info->in_channels;
  net->ensemble = p->ensemble;
  if (!gd_net_ensemble_is_valid (net->ensemble))
    return gd_error_set (err, GD_ERR_INVALID,
                         "self-ensemble of %d (expected 1, 2, 4 or 8)",
                         net->ensemble);
  net->evals = evals * net->ensemble + single;
  net->last_t = -1.0;
  status = gd_net_plan (&net->tiling, model, p, width, height, &precision,
                        err);
  if (status != GD_OK)
    return status;
  gd_model_set_precision (model, precision);
  if (net->evals > INT_MAX / gd_tiling_count (&net->tiling))
    return gd_error_set (err, GD_ERR_INVALID,
                         "too many network evaluations (%d of %d tiles)",
                         net->evals, gd_tiling_count (&net->tiling));
  net->passes = net->evals * gd_tiling_count (&net->tiling);
  if (gd_tiling_count (&net->tiling) > 1)
    {
      size_t side = (size_t)net->tiling.tile;
      size_t tile_floats = (size_t)net->channels * side * side;

      net->tile_x = malloc (tile_floats * sizeof (float));
      net->tile_eps = malloc (tile_floats * sizeof (float));
      net->weight_x = malloc (side * sizeof (float));
      net->weight_y = malloc (side * sizeof (float));
      if (net->tile_x == NULL || net->tile_eps == NULL || net->weight_x == NULL
          || net->weight_y == NULL)
        {
          gd_net_free (net);
          return gd_error_set (err, GD_ERR_NOMEM,
                               "out of memory for %d x %d tiles",
                               net->tiling.tile, net->tiling.tile);
        }
    }
  if (net->ensemble > 1)
    {
      size_t n = (size_t)net->channels * (size_t)width * (size_t)height;

      net->ens_x = malloc (n * sizeof (float));
      net->ens_eps = malloc (n * sizeof (float));
      if (net->ens_x == NULL || net->ens_eps == NULL)
        {
          gd_net_free (net);
          return gd_error_set (err, GD_ERR_NOMEM,
                               "out of memory for the self-ensemble of a "
                               "%d x %d image",
                               width, height);
        }
    }
  return GD_OK;
}

void
gd_net_free (gd_net *net)
{
  free (net->tile_x);
  free (net->tile_eps);
  free (net->weight_x);
  free (net->weight_y);
  free (net->ens_x);
  free (net->ens_eps);
  net->tile_x = net->tile_eps = net->weight_x = net->weight_y = NULL;
  net->ens_x = net->ens_eps = NULL;
}

/* After tile `tile` (1-based) of the `tiles` the current evaluation runs:
 * both callbacks; non-zero when one of them asks to stop. */
static int
net_report (gd_net *net, int tile, int tiles)
{
  const gd_task_params *p = net->p;
  int stop = 0;

  net->passes_done++;
  if (p->progress != NULL)
    stop |= p->progress (p->progress_data, net->passes_done, net->passes) != 0;
  if (p->task_progress != NULL)
    {
      gd_progress_info info = { net->passes_done, net->passes, net->eval,
                                net->evals,        tile,        tiles };

      stop |= p->task_progress (p->task_progress_data, &info) != 0;
    }
  return stop;
}

static int
net_cancelled (gd_net *net, gd_error *err)
{
  return gd_error_set (err, GD_ERR_CANCELLED,
                       "cancelled after %d of %d network evaluations",
                       net->passes_done, net->passes);
}

/* Whether tile k of `tl` holds a pixel p with want[p] != 0. */
static int
tile_wanted (const gd_tiling *tl, int k, const unsigned char *want)
{
  int tx, ty, tw, th;

  gd_tiling_rect (tl, k, &tx, &ty, &tw, &th);
  for (int j = 0; j < th; j++)
    {
      const unsigned char *row = want + (size_t)(ty + j) * tl->width + tx;

      for (int i = 0; i < tw; i++)
        if (row[i])
          return 1;
    }
  return 0;
}

/* One evaluation of the network on the grid of net->tiling, tile by tile:
 * eps_hat for x_t (planar, channels x height x width); with `run` (one flag
 * a tile; NULL: all) on the flagged tiles only, `tiles` of them. */
static int
net_eps_grid (gd_net *net, const float *x_t, double t, const unsigned char *run,
              int tiles, float *eps_hat, gd_error *err)
{
  const gd_tiling *tl = &net->tiling;
  const int width = tl->width, height = tl->height, chans = net->channels;
  const size_t plane = (size_t)width * (size_t)height;
  const size_t n = (size_t)chans * plane;
  int count = gd_tiling_count (tl), done = 0, k, status;

  net->eval++;
  if (count == 1)
    {
      status = gd_model_eps (net->model, x_t, width, height, t, eps_hat, err);
      if (status != GD_OK)
        return status;
      return net_report (net, 1, 1) ? net_cancelled (net, err) : GD_OK;
    }

  /* The weights of a pixel's tiles sum to 1: accumulate into zeros. */
  memset (eps_hat, 0, n * sizeof *eps_hat);
  for (k = 0; k < count; k++)
    {
      int tx, ty, tw, th, c, i, j;
      size_t tplane;

      if (run != NULL && !run[k])
        continue;
      gd_tiling_rect (tl, k, &tx, &ty, &tw, &th);
      tplane = (size_t)tw * (size_t)th;
      for (c = 0; c < chans; c++)
        for (j = 0; j < th; j++)
          memcpy (net->tile_x + c * tplane + (size_t)j * tw,
                  x_t + c * plane + (size_t)(ty + j) * width + tx,
                  (size_t)tw * sizeof (float));
      status = gd_model_eps (net->model, net->tile_x, tw, th, t, net->tile_eps,
                             err);
      if (status != GD_OK)
        return status;
      for (i = 0; i < tw; i++)
        net->weight_x[i] = gd_tiling_weight (k % tl->nx, tl->nx, tl->stride_x,
                                             tl->overlap, i);
      for (j = 0; j < th; j++)
        net->weight_y[j] = gd_tiling_weight (k / tl->nx, tl->ny, tl->stride_y,
                                             tl->overlap, j);
      for (c = 0; c < chans; c++)
        for (j = 0; j < th; j++)
          {
            const float *src = net->tile_eps + c * tplane + (size_t)j * tw;
            float *dst = eps_hat + c * plane + (size_t)(ty + j) * width + tx;
            float wy = net->weight_y[j];

            for (i = 0; i < tw; i++)
              dst[i] += wy * net->weight_x[i] * src[i];
          }
      if (net_report (net, ++done, tiles))
        return net_cancelled (net, err);
    }
  return GD_OK;
}

int
gd_net_eps_where (gd_net *net, const float *x_t, double t,
                  const unsigned char *want, float *eps_hat, int *ran,
                  gd_error *err)
{
  int count = gd_tiling_count (&net->tiling), tiles = 0, status;
  unsigned char *run = malloc ((size_t)count);

  if (run == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "out of memory for %d tiles",
                         count);
  for (int k = 0; k < count; k++)
    tiles += run[k] = (unsigned char)tile_wanted (&net->tiling, k, want);
  /* The tiles left out leave the job's total. */
  net->passes -= count - tiles;
  net->last_t = t;
  if (ran != NULL)
    *ran = tiles;
  if (tiles == 0)
    {
      net->eval++;
      free (run);
      return GD_OK;
    }
  status = net_eps_grid (net, x_t, t, run, tiles, eps_hat, err);
  free (run);
  return status;
}

int
gd_net_ensemble_is_valid (int ensemble)
{
  return ensemble == 1 || ensemble == 2 || ensemble == 4 || ensemble == 8;
}

/* The same tiles on the transposed grid (plan_axis treats the axes alike,
 * so this is the plan of the height x width grid with the same tile). */
static void
tiling_transpose (gd_tiling *tl)
{
  int w = tl->width, nx = tl->nx, sx = tl->stride_x;

  tl->width = tl->height;
  tl->nx = tl->ny;
  tl->stride_x = tl->stride_y;
  tl->height = w;
  tl->ny = nx;
  tl->stride_y = sx;
}

/* Transform k of the self-ensemble, 0..7 (bit 0: mirror left-right, bit 1:
 * top-bottom, bit 2: transpose): pixel (a, b) of the transformed grid,
 * tw wide and th high, is pixel (*sx, *sy) of the original. */
static inline void
ensemble_source (int k, int a, int b, int tw, int th, int *sx, int *sy)
{
  int fa = (k & 1) ? tw - 1 - a : a;
  int fb = (k & 2) ? th - 1 - b : b;

  if (k & 4)
    *sx = fb, *sy = fa;
  else
    *sx = fa, *sy = fb;
}

int
gd_net_eps (void *user_data, const float *x_t, double t, float *eps_hat,
            size_t n, gd_error *err)
{
  gd_net *net = user_data;
  const int width = net->tiling.width, height = net->tiling.height;
  const int chans = net->channels;
  const size_t plane = (size_t)width * (size_t)height;
  int k, status = GD_OK;

  assert (n == (size_t)chans * plane);
  net->last_t = t;
  if (net->ensemble <= 1)
    return net_eps_grid (net, x_t, t, NULL, gd_tiling_count (&net->tiling),
                         eps_hat, err);

  /* Self-ensemble: eps_hat of each flip (and transpose) of x_t, taken back
   * to the original grid and averaged. */
  memset (eps_hat, 0, n * sizeof *eps_hat);
  for (k = 0; k < net->ensemble && status == GD_OK; k++)
    {
      int tw = (k & 4) ? height : width, th = (k & 4) ? width : height;
      int a, b, c, sx, sy;

      for (b = 0; b < th; b++)
        for (a = 0; a < tw; a++)
          {
            ensemble_source (k, a, b, tw, th, &sx, &sy);
            for (c = 0; c < chans; c++)
              net->ens_x[c * plane + (size_t)b * tw + a]
                  = x_t[c * plane + (size_t)sy * width + sx];
          }
      if (k & 4)
        tiling_transpose (&net->tiling);
      status = net_eps_grid (net, net->ens_x, t, NULL,
                             gd_tiling_count (&net->tiling), net->ens_eps,
                             err);
      if (k & 4)
        tiling_transpose (&net->tiling);
      if (status != GD_OK)
        break;
      for (b = 0; b < th; b++)
        for (a = 0; a < tw; a++)
          {
            ensemble_source (k, a, b, tw, th, &sx, &sy);
            for (c = 0; c < chans; c++)
              eps_hat[c * plane + (size_t)sy * width + sx]
                  += net->ens_eps[c * plane + (size_t)b * tw + a];
          }
    }
  if (status == GD_OK)
    for (size_t i = 0; i < n; i++)
      eps_hat[i] *= 1.0f / (float)net->ensemble;
  return status;
}
