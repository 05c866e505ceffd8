/* tiling.h: the network on an image of any size, tile by tile, within a
 * memory budget (core-internal). */
#ifndef GD_TILING_H
#define GD_TILING_H

#include "gimp-diffusion.h"

/* What the network may use when gd_task_params.memory_budget is 0. */
#define GD_DEFAULT_MEMORY_BUDGET ((size_t)512 << 20)

/* Tiles on a width x height grid.  Along x, tile k covers [k stride_x,
 * min (k stride_x + stride_x + overlap, width)); the same along y.  Tile
 * sides and starts are multiples of the network's downsampling factor, so a
 * tile sees the image on the phase of an untiled pass, and neighbours share
 * exactly `overlap` pixels, where their outputs are blended. */
typedef struct
{
  int width;
  int height;
  int tile;    /* the largest tile side; >= width and height when untiled */
  int overlap; /* shared by neighbours (0 when untiled) */
  int stride_x;
  int stride_y;
  int nx; /* tiles along x */
  int ny; /* ... and y */
} gd_tiling;

/* The overlap used for a model: context enough that a pixel weighted
 * inside it is near what the untiled pass gives (docs/tools.md). */
int gd_tiling_overlap (const gd_model_info *info);

/* Bytes the forward pass needs on a tile_w x tile_h tile: the workspace of
 * the model's own plan (gd_model_work_floats) and the tile buffers;
 * HUGE_VAL when the sizes overflow. */
double gd_tiling_tile_bytes (const gd_model *model, int tile_w, int tile_h);

/* Plans the tiles for a width x height grid: tile_size if > 0 (rounded
 * down to the downsampling factor), else the largest side whose tile fits
 * memory_budget (0: GD_DEFAULT_MEMORY_BUDGET).  One tile when the whole
 * grid fits.  GD_ERR_INVALID or GD_ERR_NOMEM with a message when the tile
 * is smaller than twice the overlap. */
int gd_tiling_plan (gd_tiling *tiling, const gd_model *model, int width,
                    int height, size_t memory_budget, int tile_size,
                    gd_error *err);

/* The tiles of a job with p's memory budget and tile size on p's
 * precision; where the fast path's smallest tile does not fit the budget
 * (its BF16 buffers), the exact path's, which needs less.  *precision gets
 * the precision the tiles are planned for (the job runs at it). */
int gd_net_plan (gd_tiling *tiling, const gd_model *model,
                 const gd_task_params *p, int width, int height,
                 gd_precision *precision, gd_error *err);

static inline int
gd_tiling_count (const gd_tiling *tiling)
{
  return tiling->nx * tiling->ny;
}

/* Tile k (0-based, row-major): its rectangle on the grid. */
void gd_tiling_rect (const gd_tiling *tiling, int k, int *x, int *y, int *w,
                     int *h);

/* The blend weight of a pixel at offset `pos` of tile `k` along one axis
 * with n tiles and the given stride: smootherstep ramps over the overlaps,
 * so that the weights of the tiles covering a pixel sum to 1. */
float gd_tiling_weight (int k, int n, int stride, int overlap, int pos);

/* The network as gd_sample sees it (a gd_eps_fn), evaluated tile by tile,
 * reporting progress after every tile and cancelling between tiles. */
typedef struct
{
  gd_model *model;
  const gd_task_params *p;
  gd_tiling tiling;
  int channels;  /* 3 */
  float *tile_x; /* tile input and output; NULL when untiled */
  float *tile_eps;
  float *weight_x; /* one row of blend weights, one column */
  float *weight_y;
  int evals;     /* network evaluations of the whole grid in the job */
  int eval;      /* ... begun so far */
  int passes;    /* tile passes in the job (an evaluation on part of the
                    grid counts only the tiles it runs) */
  int passes_done; /* ... done so far */
  double last_t; /* the timestep of the last evaluation */
  int ensemble;  /* p->ensemble: 1, or the flips (and transposes) whose
                    eps_hat is averaged */
  float *ens_x;  /* a transformed x_t and its eps_hat; NULL for 1 */
  float *ens_eps;
} gd_net;

/* Whether `ensemble` is a self-ensemble size the network takes: 1 (none), 2
 * (and mirrored left-right), 4 (every flip) or 8 (flips and transposes:
 * the dihedral group of the square). */
int gd_net_ensemble_is_valid (int ensemble);

/* Plans the tiles and allocates their buffers for a job of `evals`
 * evaluations of the whole width x height grid (each one p->ensemble
 * passes of the network) and `single` one-pass evaluations; progress
 * counts the passes. */
int gd_net_init (gd_net *net, gd_model *model, const gd_task_params *p,
                 int width, int height, int evals, int single, gd_error *err);
void gd_net_free (gd_net *net);

/* gd_eps_fn over gd_net: eps_hat for the whole grid x_t (planar, 3 x height
 * x width); with a self-ensemble the mean of the eps_hat of the flipped
 * (and transposed) x_t, each taken back to the grid.  GD_ERR_CANCELLED when a
 * progress callback asks to stop. */
int gd_net_eps (void *net, const float *x_t, double t, float *eps_hat, size_t n,
                gd_error *err);

/* One of the job's one-pass evaluations (gd_net_init's `single`), run only
 * on the tiles that hold a pixel p with want[p] != 0 (want: width x height):
 * on every such pixel eps_hat is gd_net_eps's without self-ensemble, bit
 * for bit (all the tiles that cover it run, blended in the same order);
 * elsewhere it is unspecified.  The tiles left out are taken off the job's
 * progress total.  *ran (may be NULL) gets the tiles run. */
int gd_net_eps_where (gd_net *net, const float *x_t, double t,
                      const unsigned char *want, float *eps_hat, int *ran,
                      gd_error *err);

#endif /* GD_TILING_H */
