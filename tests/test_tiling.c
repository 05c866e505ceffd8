/* test_tiling.c: the tile plan (cover, alignment, exact overlaps, weights
 * that sum to 1, the tile from a memory budget) and the tiled network
 * against one whole-image pass, with progress and cancel per tile; the
 * self-ensemble against a naive one. */
#include "task-test.h"
#include "model.h"
#include "tiling.h"

/* Along one axis of the plan: every pixel is covered by one or two tiles
 * whose weights sum to 1; starts on the downsampling factor; neighbours
 * share exactly `overlap` pixels. */
static void
check_axis (const gd_tiling *tl, int size, int n, int stride, int f,
            const char *what)
{
  double *sum = calloc ((size_t)size, sizeof *sum);
  int *cover = calloc ((size_t)size, sizeof *cover);
  int bad_sum = 0, bad_cover = 0;

  for (int k = 0; k < n; k++)
    {
      int start = k * stride;
      int len = n == 1 ? size : stride + tl->overlap;

      if (start + len > size)
        len = size - start;
      CHECK (start % f == 0, "%s: tile %d starts at %d, not on %d", what, k,
             start, f);
      CHECK ((n == 1 || len > tl->overlap) && len <= tl->tile,
             "%s: tile %d is %d wide (overlap %d, tile %d)", what, k, len,
             tl->overlap, tl->tile);
      if (k > 0)
        CHECK ((k - 1) * stride + stride + tl->overlap - start == tl->overlap,
               "%s: tiles %d and %d overlap exactly", what, k - 1, k);
      for (int i = 0; i < len; i++)
        {
          float w = gd_tiling_weight (k, n, stride, tl->overlap, i);

          CHECK (w >= 0.0f && w <= 1.0f, "%s: weight %g", what, w);
          sum[start + i] += w;
          cover[start + i]++;
        }
    }
  for (int i = 0; i < size; i++)
    {
      bad_sum += fabs (sum[i] - 1.0) > 1e-6;
      bad_cover += cover[i] < 1 || cover[i] > 2;
    }
  CHECK (bad_sum == 0, "%s: weights sum to 1 (%d pixels off)", what, bad_sum);
  CHECK (bad_cover == 0, "%s: one or two tiles per pixel (%d off)", what,
         bad_cover);
  free (sum);
  free (cover);
}

static void
test_plans (const gd_model *model)
{
  const gd_model_info *info = gd_model_get_info (model);
  static const int sizes[]
      = { 1, 7, 63, 64, 65, 127, 128, 129, 200, 257, 1000 };
  static const int tiles[] = { 64, 96, 128, 130, 200 };
  const int f = info->downsample_factor;
  char what[96];
  gd_tiling tl;
  gd_error err;

  for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
    for (size_t b = 0; b < sizeof tiles / sizeof *tiles; b++)
      {
        int w = sizes[a], h = sizes[(a + 3) % (sizeof sizes / sizeof *sizes)];
        int status = gd_tiling_plan (&tl, model, w, h, 0, tiles[b], &err);

        if (tiles[b] / f * f < 2 * gd_tiling_overlap (info))
          {
            CHECK (status == GD_ERR_INVALID && strstr (err.message, "smallest"),
                   "tile %d below twice the overlap refused: %s", tiles[b],
                   err.message);
            continue;
          }
        CHECK (status == GD_OK, "plan %d x %d, tile %d: %s", w, h, tiles[b],
               err.message);
        CHECK (tl.tile == tiles[b] / f * f, "tile rounded down to %d: %d", f,
               tl.tile);
        snprintf (what, sizeof what, "%d x %d tile %d, x", w, h, tiles[b]);
        check_axis (&tl, w, tl.nx, tl.stride_x, f, what);
        snprintf (what, sizeof what, "%d x %d tile %d, y", w, h, tiles[b]);
        check_axis (&tl, h, tl.ny, tl.stride_y, f, what);
        CHECK ((tl.nx == 1) == (w <= tl.tile), "%d wide, tile %d: %d tiles", w,
               tl.tile, tl.nx);
      }
}

/* The workspace tiling plans with is the one gd_model_eps allocates: on a
 * fresh model, after one pass, exactly gd_model_work_floats; and
 * gd_tiling_tile_bytes is that plus the tile buffers. */
static void
test_work_plan (const char *path)
{
  static const int sizes[][2]
      = { { 64, 64 }, { 37, 29 }, { 3, 5 }, { 200, 96 }, { 96, 200 } };
  gd_error err;

  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
    {
      int w = sizes[k][0], h = sizes[k][1];
      gd_model *model = gd_model_load (path, &err);
      const gd_model_info *info;
      size_t n, planned;
      float *x, *eps;

      if (model == NULL)
        {
          CHECK (0, "load %s: %s", path, err.message);
          return;
        }
      info = gd_model_get_info (model);
      n = (size_t)info->in_channels * w * h;
      x = calloc (n, sizeof *x);
      eps = calloc (n, sizeof *eps);
      planned = gd_model_work_floats (model, w, h);
      CHECK (planned > 0 && gd_model_work_allocated (model) == 0,
             "%d x %d: %zu floats planned, none held before a pass", w, h,
             planned);
      CHECK (gd_model_eps (model, x, w, h, 300.0, eps, &err) == GD_OK,
             "%d x %d: %s", w, h, err.message);
      CHECK (gd_model_work_allocated (model) == planned,
             "%d x %d: the pass allocated %zu floats, the plan says %zu", w,
             h, gd_model_work_allocated (model), planned);
      CHECK (gd_tiling_tile_bytes (model, w, h)
                 == 4.0 * ((double)planned + 6.0 * w * h),
             "%d x %d: the tile estimate is the plan and the tile buffers",
             w, h);
      free (x);
      free (eps);
      gd_model_free (model);
    }
}

/* gd_net_plan: a fast job plans for the fast path's buffers, and falls
 * back to the exact path where even its smallest tile does not fit. */
static void
test_net_plan (gd_model *model)
{
  const gd_model_info *info = gd_model_get_info (model);
  const int overlap = gd_tiling_overlap (info), f = info->downsample_factor;
  const int min_tile = 2 * overlap > 4 * f ? 2 * overlap : 4 * f;
  const char *kind = gd_fast_path_kind ();
  gd_task_params p;
  gd_tiling fast, exact;
  gd_precision got;
  gd_error err;
  double need_exact, need_fast;

  gd_task_params_init (&p);
  p.precision = GD_PRECISION_FAST;
  gd_model_set_precision (model, GD_PRECISION_EXACT);
  need_exact = gd_tiling_tile_bytes (model, min_tile, min_tile);
  gd_model_set_precision (model, GD_PRECISION_FAST);
  need_fast = gd_tiling_tile_bytes (model, min_tile, min_tile);
  if (kind == NULL)
    {
      CHECK (need_fast == need_exact,
             "no fast path: fast needs what exact "
             "needs (%g, %g)",
             need_fast, need_exact);
      return;
    }
  CHECK (need_fast > need_exact, "fast holds more (%g > %g bytes)", need_fast,
         need_exact);
  p.memory_budget = (size_t)((need_exact + need_fast) / 2);
  CHECK (gd_net_plan (&exact, model, &p, 2000, 1500, &got, &err) == GD_OK
             && got == GD_PRECISION_EXACT && exact.tile >= min_tile,
         "between the two needs: exact (%s, tile %d): %s",
         gd_precision_name (got), exact.tile, err.message);
  /* 64 MiB beyond the smallest fast tile's need (the Winograd path's
     transformed weights alone take 4 times the model's). */
  p.memory_budget = (size_t)need_fast + ((size_t)64 << 20);
  CHECK (gd_net_plan (&fast, model, &p, 2000, 1500, &got, &err) == GD_OK
             && got == GD_PRECISION_FAST,
         "smallest fast tile + 64 MiB: fast (%s): %s", gd_precision_name (got),
         err.message);
  p.precision = GD_PRECISION_EXACT;
  CHECK (gd_net_plan (&exact, model, &p, 2000, 1500, &got, &err) == GD_OK
             && got == GD_PRECISION_EXACT && exact.tile > fast.tile,
         "the same budget: exact's tile is larger (%d > %d)", exact.tile,
         fast.tile);
  p.memory_budget = 1000;
  p.precision = GD_PRECISION_FAST;
  CHECK (gd_net_plan (&exact, model, &p, 2000, 1500, &got, &err)
                 == GD_ERR_NOMEM
             && strstr (err.message, "too small"),
         "1000 bytes: refused: %s", err.message);
  gd_model_set_precision (model, GD_PRECISION_EXACT);
}

static void
test_budget (const gd_model *model)
{
  const gd_model_info *info = gd_model_get_info (model);
  const int f = info->downsample_factor;
  gd_tiling small, large, whole;
  gd_error err;
  size_t budget = (size_t)64 << 20;

  CHECK (gd_tiling_plan (&small, model, 5000, 4000, budget, 0, &err) == GD_OK,
         "64 MiB plan: %s", err.message);
  CHECK (gd_tiling_tile_bytes (model, small.tile, small.tile) <= (double)budget
             && gd_tiling_tile_bytes (model, small.tile + f, small.tile + f)
                    > (double)budget,
         "the largest tile within 64 MiB (%d)", small.tile);
  CHECK (gd_tiling_plan (&large, model, 5000, 4000, budget * 8, 0, &err) == GD_OK
             && large.tile > 2 * small.tile
             && gd_tiling_count (&large) < gd_tiling_count (&small),
         "8 times the budget: a larger tile (%d, %d) and fewer tiles",
         large.tile, small.tile);
  CHECK (gd_tiling_plan (&whole, model, 100, 60, budget, 0, &err) == GD_OK
             && gd_tiling_count (&whole) == 1 && whole.overlap == 0,
         "a small image is one tile");
  CHECK (gd_tiling_plan (&small, model, 5000, 4000, 1000, 0, &err)
                 == GD_ERR_NOMEM
             && strstr (err.message, "too small"),
         "a 1000-byte budget is refused: %s", err.message);
  CHECK (gd_tiling_plan (&small, model, 50, 50, 0, -5, &err) == GD_ERR_INVALID,
         "a negative tile is refused");
  /* The estimate grows with the area, about 4 times per doubling. */
  {
    double a = gd_tiling_tile_bytes (model, 256, 256);
    double b = gd_tiling_tile_bytes (model, 512, 512);

    CHECK (b > 3.5 * a && b < 4.5 * a, "bytes scale with area (%g, %g)", a, b);
  }
}

typedef struct
{
  int calls;
  int last_done;
  int cancel_at;
  int monotone;
  gd_progress_info last;
} probe;

static int
on_tile (void *user_data, const gd_progress_info *info)
{
  probe *pr = user_data;

  pr->calls++;
  pr->monotone &= info->done == pr->last_done + 1;
  pr->last_done = info->done;
  pr->last = *info;
  return pr->cancel_at > 0 && info->done >= pr->cancel_at;
}

/* Distance from pixel `pos` to the nearest inner tile edge on an axis. */
static int
seam_distance (int n, int stride, int overlap, int size, int pos)
{
  int best = size;

  for (int k = 0; k < n; k++)
    {
      int start = k * stride, end = start + stride + overlap;

      if (k > 0 && abs (pos - start) < best)
        best = abs (pos - start);
      if (k < n - 1 && abs (pos - end) < best)
        best = abs (pos - end);
    }
  return best;
}

/* The tiled network against one pass, on the test model: equal away from
 * the seams (the test model's border effect fades within 48 pixels),
 * close everywhere; progress and cancel per tile. */
static void
test_tiled_net (gd_model *model)
{
  const int w = 280, h = 100, far = 48;
  const size_t n = 3 * (size_t)w * h;
  float *x = malloc (n * sizeof *x), *whole = malloc (n * sizeof *x);
  float *tiled = malloc (n * sizeof *x);
  gd_task_params p;
  gd_net net;
  gd_error err;
  probe pr = { 0, 0, 0, 1, { 0 } };
  double sq = 0, ref = 0, worst_far = 0;
  int n_far = 0;

  for (size_t i = 0; i < n; i++)
    x[i] = 0.6f * sinf (0.05f * (float)(i % w) + 0.11f * (float)(i / w))
           + 0.3f * gd_rng_normal (5, 0, i);
  gd_task_params_init (&p);
  CHECK (gd_net_init (&net, model, &p, w, h, 1, 0, &err) == GD_OK
             && gd_tiling_count (&net.tiling) == 1,
         "one tile by default: %s", err.message);
  CHECK (gd_net_eps (&net, x, 300.0, whole, n, &err) == GD_OK, "whole: %s",
         err.message);
  gd_net_free (&net);

  p.tile_size = 160;
  p.task_progress = on_tile;
  p.task_progress_data = &pr;
  CHECK (gd_net_init (&net, model, &p, w, h, 2, 0, &err) == GD_OK, "tiled: %s",
         err.message);
  CHECK (net.tiling.nx == 2 && net.tiling.ny == 1, "%d x %d tiles",
         net.tiling.nx, net.tiling.ny);
  CHECK (gd_net_eps (&net, x, 300.0, tiled, n, &err) == GD_OK, "tiled: %s",
         err.message);
  for (size_t i = 0; i < n; i++)
    {
      int px = (int)(i % w);
      double d = (double)tiled[i] - whole[i];

      sq += d * d;
      ref += (double)whole[i] * whole[i];
      if (seam_distance (net.tiling.nx, net.tiling.stride_x, net.tiling.overlap,
                         w, px)
          >= far)
        {
          worst_far = fmax (worst_far, fabs (d));
          n_far++;
        }
    }
  CHECK (n_far > (int)(n / 4) && worst_far < 1e-4,
         "tiled = one pass %d pixels away from the seams (max diff %.2g "
         "on %d values)",
         far, worst_far, n_far);
  /* The random test model's border effect is wide: near the seams only a
   * loose bound (the shipped model's is in the tools' tests). */
  CHECK (sqrt (sq / ref) < 0.05, "tiled = one pass within 5 %% RMS (%.4f)",
         sqrt (sq / ref));
  CHECK (pr.calls == gd_tiling_count (&net.tiling) && pr.monotone
             && pr.last.tile == pr.last.tiles && pr.last.step == 1
             && pr.last.steps == 2
             && pr.last.total == 2 * gd_tiling_count (&net.tiling),
         "progress after every tile (%d calls; step %d of %d, tile %d of %d, "
         "%d of %d)",
         pr.calls, pr.last.step, pr.last.steps, pr.last.tile, pr.last.tiles,
         pr.last.done, pr.last.total);

  /* Cancel after the first tile of the second evaluation. */
  pr.cancel_at = gd_tiling_count (&net.tiling) + 1;
  CHECK (gd_net_eps (&net, x, 300.0, tiled, n, &err) == GD_ERR_CANCELLED
             && pr.last.tile == 1 && pr.last.step == 2
             && strstr (err.message, "cancelled"),
         "cancel at a tile: %s", err.message);
  gd_net_free (&net);
  free (x);
  free (whole);
  free (tiled);
}

/* gd_net_eps_where: only the tiles holding a wanted pixel run, and each
 * wanted pixel gets gd_net_eps's value bit for bit (a pixel where four
 * tiles overlap included); the tiles left out leave the progress total. */
static void
test_net_where (gd_model *model)
{
  const int w = 300, h = 200;
  const size_t plane = (size_t)w * h, n = 3 * plane;
  float *x = malloc (n * sizeof *x), *all = malloc (n * sizeof *x);
  float *part = malloc (n * sizeof *x);
  unsigned char *want = calloc (plane, 1);
  gd_task_params p;
  gd_net net;
  gd_error err;
  probe pr = { 0, 0, 0, 1, { 0 } };
  int count, expect = 0, ran = -1, mismatch = 0, total;
  /* A corner pixel, one in the overlap of four tiles (found below), one
   * in the last tile. */
  int px[3] = { 0, 0, w - 1 }, py[3] = { 0, 0, h - 1 };

  for (size_t i = 0; i < n; i++)
    x[i] = 0.5f * sinf (0.07f * (float)(i % w) + 0.05f * (float)(i / w))
           + 0.3f * gd_rng_normal (9, 0, i);
  gd_task_params_init (&p);
  p.tile_size = 96;
  p.task_progress = on_tile;
  p.task_progress_data = &pr;
  CHECK (gd_net_init (&net, model, &p, w, h, 1, 1, &err) == GD_OK, "%s",
         err.message);
  count = gd_tiling_count (&net.tiling);
  CHECK (net.tiling.nx >= 3 && net.tiling.ny >= 2, "%d x %d tiles",
         net.tiling.nx, net.tiling.ny);
  px[1] = net.tiling.stride_x + net.tiling.overlap / 2;
  py[1] = net.tiling.stride_y + net.tiling.overlap / 2;
  for (int k = 0; k < 3; k++)
    want[(size_t)py[k] * w + px[k]] = 1;
  /* The naive count: tiles whose rectangle holds a wanted pixel. */
  for (int k = 0; k < count; k++)
    {
      int tx, ty, tw, th, holds = 0;

      gd_tiling_rect (&net.tiling, k, &tx, &ty, &tw, &th);
      for (int j = 0; j < 3; j++)
        holds |= px[j] >= tx && px[j] < tx + tw && py[j] >= ty
                 && py[j] < ty + th;
      expect += holds;
    }
  /* Four around the overlap (tile 0 among them, which holds the corner)
   * and the last. */
  CHECK (expect == 5 && expect < count, "%d of %d tiles hold them", expect,
         count);
  CHECK (gd_net_eps (&net, x, 250.0, all, n, &err) == GD_OK, "%s",
         err.message);
  CHECK (gd_net_eps_where (&net, x, 250.0, want, part, &ran, &err) == GD_OK,
         "%s", err.message);
  for (int k = 0; k < 3; k++)
    for (int c = 0; c < 3; c++)
      {
        size_t i = c * plane + (size_t)py[k] * w + px[k];

        mismatch += memcmp (&all[i], &part[i], sizeof (float)) != 0;
      }
  total = 2 * count - (count - expect);
  CHECK (ran == expect && mismatch == 0 && pr.calls == count + expect
             && pr.last.done == total && pr.last.total == total
             && pr.last.tiles == expect && pr.last.step == 2 && pr.monotone,
         "where: %d tiles run (expected %d), %d values differ; progress %d "
         "of %d in %d calls",
         ran, expect, mismatch, pr.last.done, pr.last.total, pr.calls);
  gd_net_free (&net);

  /* Nothing wanted: no tile runs, and the total drops by a whole grid. */
  memset (want, 0, plane);
  pr.calls = 0;
  CHECK (gd_net_init (&net, model, &p, w, h, 1, 1, &err) == GD_OK, "%s",
         err.message);
  CHECK (gd_net_eps_where (&net, x, 250.0, want, part, &ran, &err) == GD_OK
             && ran == 0 && pr.calls == 0 && net.passes == count,
         "nothing wanted: %d tiles, %d calls, %d passes", ran, pr.calls,
         net.passes);
  gd_net_free (&net);
  free (x);
  free (all);
  free (part);
  free (want);
}

/* ------------------------------------------------------ self-ensemble */

/* Naive dihedral transforms of a planar 3-channel image, composed from two
 * elementary ones written out on their own: a quarter turn clockwise (w x h
 * -> h x w) and a left-right mirror. */
static void
naive_turn (const float *in, int w, int h, float *out)
{
  /* out is h wide, w high: out(x', y') = in(y', h - 1 - x'). */
  for (int c = 0; c < 3; c++)
    for (int yo = 0; yo < w; yo++)
      for (int xo = 0; xo < h; xo++)
        out[(size_t)c * w * h + (size_t)yo * h + xo]
            = in[(size_t)c * w * h + (size_t)(h - 1 - xo) * w + yo];
}

static void
naive_mirror (const float *in, int w, int h, float *out)
{
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        out[(size_t)c * w * h + (size_t)y * w + x]
            = in[(size_t)c * w * h + (size_t)y * w + (w - 1 - x)];
}

/* In place: img (w x h) turned a quarter (turn) or mirrored; *w, *h
 * follow. */
static void
naive_step (float *img, int *w, int *h, int turn, float *tmp)
{
  int t = *w;

  if (turn)
    {
      naive_turn (img, *w, *h, tmp);
      *w = *h;
      *h = t;
    }
  else
    naive_mirror (img, *w, *h, tmp);
  memcpy (img, tmp, 3 * (size_t)*w * *h * sizeof *img);
}

/* g = turn^r after mirror^m applied to a (w x h); *ow, *oh its size. */
static void
naive_apply (const float *in, int w, int h, int r, int m, float *out,
             float *tmp, int *ow, int *oh)
{
  memcpy (out, in, 3 * (size_t)w * h * sizeof *out);
  if (m)
    naive_step (out, &w, &h, 0, tmp);
  for (int k = 0; k < r; k++)
    naive_step (out, &w, &h, 1, tmp);
  *ow = w;
  *oh = h;
}

/* ... and its inverse: mirror^m after turn^(4 - r). */
static void
naive_undo (const float *in, int w, int h, int r, int m, float *out, float *tmp)
{
  memcpy (out, in, 3 * (size_t)w * h * sizeof *out);
  for (int k = 0; k < (4 - r) % 4; k++)
    naive_step (out, &w, &h, 1, tmp);
  if (m)
    naive_step (out, &w, &h, 0, tmp);
}

/* The elements of each ensemble as (turns, mirror): 2 is the mirror, 4
 * adds the half turn (so top-bottom too), 8 is the whole group. */
static const int ensemble_members[8][2]
    = { { 0, 0 }, { 0, 1 }, { 2, 0 }, { 2, 1 },
        { 1, 0 }, { 1, 1 }, { 3, 0 }, { 3, 1 } };

/* The self-ensemble against the naive one (gd_model_eps on each turned or
 * mirrored image, turned back and averaged), untiled and tiled; at 8 the
 * result turns with the image exactly (so even tiled); progress counts
 * every pass and a cancel stops inside the ensemble; sizes other than 1,
 * 2, 4 and 8 are refused. */
static void
test_ensemble (gd_model *model)
{
  const int w = 37, h = 29, sizes[3] = { 2, 4, 8 };
  const size_t n = 3 * (size_t)w * h;
  float *x = malloc (n * sizeof *x), *ref = malloc (n * sizeof *x);
  float *got = malloc (n * sizeof *x), *a = malloc (n * sizeof *x);
  float *b = malloc (n * sizeof *x), *tmp = malloc (n * sizeof *x);
  float *plain = malloc (n * sizeof *x);
  gd_task_params p;
  gd_net net;
  gd_error err;
  probe pr = { 0, 0, 0, 1, { 0 } };

  for (size_t i = 0; i < n; i++)
    x[i] = 0.5f * sinf (0.21f * (float)(i % w) + 0.37f * (float)(i / w))
           + 0.4f * gd_rng_normal (9, 0, i);
  gd_task_params_init (&p);
  CHECK (p.ensemble == 1, "no self-ensemble by default (%d)", p.ensemble);
  CHECK (gd_model_eps (model, x, w, h, 200.0, plain, &err) == GD_OK, "%s",
         err.message);

  for (int s = 0; s < 3; s++)
    {
      int size = sizes[s];
      double worst = 0, scale = 0, moved = 0;

      memset (ref, 0, n * sizeof *ref);
      for (int k = 0; k < size; k++)
        {
          int r = ensemble_members[k][0], m = ensemble_members[k][1], tw, th;

          naive_apply (x, w, h, r, m, a, tmp, &tw, &th);
          CHECK (gd_model_eps (model, a, tw, th, 200.0, b, &err) == GD_OK, "%s",
                 err.message);
          naive_undo (b, tw, th, r, m, a, tmp);
          for (size_t i = 0; i < n; i++)
            ref[i] += a[i] / size;
        }
      p.ensemble = size;
      p.tile_size = 0;
      CHECK (gd_net_init (&net, model, &p, w, h, 1, 0, &err) == GD_OK
                 && gd_tiling_count (&net.tiling) == 1,
             "ensemble %d: %s", size, err.message);
      CHECK (gd_net_eps (&net, x, 200.0, got, n, &err) == GD_OK,
             "ensemble %d: %s", size, err.message);
      gd_net_free (&net);
      for (size_t i = 0; i < n; i++)
        {
          worst = fmax (worst, fabs ((double)got[i] - ref[i]));
          scale = fmax (scale, fabs ((double)ref[i]));
          moved = fmax (moved, fabs ((double)got[i] - plain[i]));
        }
      CHECK (worst <= 1e-5 * scale,
             "ensemble %d = the naive mean of the turned and mirrored passes "
             "(max diff %.2g of %.2g)",
             size, worst, scale);
      CHECK (moved > 1e-3 * scale,
             "ensemble %d differs from one pass (max diff %.2g)", size, moved);
    }

  /* At 8, tiled: eps_hat of the turned image is the turned eps_hat (every
   * pass sees the same images on the same tiles). */
  {
    const int tw = 90, th = 70;
    const size_t tn = 3 * (size_t)tw * th;
    float *big = malloc (tn * sizeof *big), *turned = malloc (tn * sizeof *big);
    float *e1 = malloc (tn * sizeof *big), *e2 = malloc (tn * sizeof *big);
    float *e1t = malloc (tn * sizeof *big), *t2 = malloc (tn * sizeof *big);
    double worst = 0, scale = 0;
    int ow, oh;

    for (size_t i = 0; i < tn; i++)
      big[i] = 0.5f * sinf (0.13f * (float)(i % tw) + 0.29f * (float)(i / tw))
               + 0.4f * gd_rng_normal (10, 0, i);
    p.ensemble = 8;
    p.tile_size = 64;
    p.task_progress = on_tile;
    p.task_progress_data = &pr;
    CHECK (gd_net_init (&net, model, &p, tw, th, 2, 0, &err) == GD_OK
               && gd_tiling_count (&net.tiling) > 1,
           "tiled ensemble: %s (%d tiles)", err.message,
           gd_tiling_count (&net.tiling));
    CHECK (gd_net_eps (&net, big, 200.0, e1, tn, &err) == GD_OK, "%s",
           err.message);
    CHECK (pr.calls == 8 * gd_tiling_count (&net.tiling) && pr.monotone
               && pr.last.step == 8 && pr.last.steps == 16
               && pr.last.total == 16 * gd_tiling_count (&net.tiling),
           "progress counts the 8 passes (%d calls; step %d of %d, %d of %d)",
           pr.calls, pr.last.step, pr.last.steps, pr.last.done, pr.last.total);
    /* Cancel in the third pass of the second evaluation. */
    pr.cancel_at = pr.last.done + 2 * gd_tiling_count (&net.tiling) + 1;
    CHECK (gd_net_eps (&net, big, 200.0, e2, tn, &err) == GD_ERR_CANCELLED
               && pr.last.step == 11 && strstr (err.message, "cancelled"),
           "cancel inside the ensemble (step %d): %s", pr.last.step,
           err.message);
    gd_net_free (&net);
    pr.cancel_at = 0;
    p.task_progress = NULL;

    naive_apply (big, tw, th, 1, 0, turned, t2, &ow, &oh);
    CHECK (gd_net_init (&net, model, &p, ow, oh, 1, 0, &err) == GD_OK, "%s",
           err.message);
    CHECK (gd_net_eps (&net, turned, 200.0, e2, tn, &err) == GD_OK, "%s",
           err.message);
    gd_net_free (&net);
    naive_apply (e1, tw, th, 1, 0, e1t, t2, &ow, &oh);
    for (size_t i = 0; i < tn; i++)
      {
        worst = fmax (worst, fabs ((double)e2[i] - e1t[i]));
        scale = fmax (scale, fabs ((double)e1t[i]));
      }
    CHECK (worst <= 1e-5 * scale,
           "tiled, ensemble 8: turning the image turns eps_hat (max diff %.2g "
           "of %.2g)",
           worst, scale);
    free (big);
    free (turned);
    free (e1);
    free (e2);
    free (e1t);
    free (t2);
  }

  for (int bad = -1; bad <= 9; bad++)
    if (bad != 1 && bad != 2 && bad != 4 && bad != 8)
      {
        p.ensemble = bad;
        snprintf (err.message, sizeof err.message, "untouched");
        CHECK (gd_net_init (&net, model, &p, w, h, 1, 0, &err) == GD_ERR_INVALID
                   && strstr (err.message, "1, 2, 4 or 8") && net.ens_x == NULL
                   && net.tile_x == NULL,
               "ensemble %d refused: %s", bad, err.message);
      }
  free (x);
  free (ref);
  free (got);
  free (a);
  free (b);
  free (tmp);
  free (plain);
}

int
main (int argc, char **argv)
{
  gd_error err;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s MODEL.safetensors...\n", argv[0]);
      return 2;
    }
  for (int k = 1; k < argc; k++)
    {
      gd_model *model = gd_model_load (argv[k], &err);

      if (model == NULL)
        {
          fprintf (stderr, "FAIL cannot load %s: %s\n", argv[k], err.message);
          return 1;
        }
      test_plans (model);
      test_budget (model);
      test_net_plan (model);
      test_work_plan (argv[k]);
      if (k == 1)
        {
          test_tiled_net (model);
          test_net_where (model);
          test_ensemble (model);
        }
      gd_model_free (model);
    }
  return test_summary (argv[0]);
}
