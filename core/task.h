/* task.h: what the four tools share (core-internal): checks, the state
 * x_t of the whole grid, noise keyed by absolute pixel, the sampler run
 * over the tiled network. */
#ifndef GD_TASK_H
#define GD_TASK_H

#include "gimp-diffusion.h"
#include "tiling.h"

#include <stdint.h>

/* The rng index of channel c of the pixel at absolute image coordinates
 * (x, y): a function of the pixel, not of the grid's size or layout, so a
 * crop (a preview) draws the noise of the whole image.  x, y < 2^31. */
static inline uint64_t
gd_noise_key (int c, int x, int y)
{
  return ((uint64_t)c << 62) | ((uint64_t)y << 31) | (uint64_t)x;
}

/* The tools' own noise streams, after the sampler's steps (0, 1, ...) and
 * the start (GD_RNG_STREAM_START): one per purpose, step and round. */
typedef enum
{
  GD_STREAM_KNOWN = 1, /* inpaint: q(x_s | x0) of the known pixels */
  GD_STREAM_JUMP = 2,  /* inpaint: q(x_t | x_s), back up for a resampling */
  GD_STREAM_REDO = 3,  /* inpaint: the redone step's own noise */
  GD_STREAM_TOP_UP = 4 /* denoise: noise from sigma up to sigma(t0) */
} gd_stream_purpose;

static inline uint64_t
gd_task_stream (gd_stream_purpose purpose, int step, int round)
{
  return GD_RNG_STREAM_START + 1
         + (((uint64_t)step << 24) | ((uint64_t)round << 4)
            | (uint64_t)purpose);
}

/* One run of a tool over a width x height grid (the image, its upscaled
 * size, or inpaint's work region) whose (0, 0) sits at (origin_x,
 * origin_y) in the whole image. */
typedef struct
{
  const char *name; /* the tool, for messages */
  gd_model *model;
  const gd_task_params *p;
  const gd_schedule *sched;
  int width;
  int height;
  int origin_x;
  int origin_y;
  size_t plane;          /* width * height */
  size_t n;              /* 3 planes */
  float *x;              /* the state, planar RGB on the [-1, 1] scale */
  uint64_t *noise_index; /* per element, when the sampler draws noise */
  gd_net net;
} gd_task;

/* The checks every tool makes on its arguments: GD_OK or GD_ERR_INVALID
 * (GD_ERR_NOMEM for sizes that overflow) with "<name>: ..." */
int gd_task_check (const char *name, gd_model *model, const gd_task_params *p,
                   const gd_image *in, gd_error *err);

/* t0 = round (strength T), clamped to 1..T; strength > 0. */
int gd_task_t0 (const gd_schedule *sched, double strength);

/* What a tool's run costs, computed by the tool's own plan function
 * (below) for its run and for gd_tool_nfe alike. */
typedef struct
{
  int width;  /* the grid the network runs on */
  int height;
  int evals;  /* evaluations of the whole grid, p->ensemble passes each */
  int single; /* ... and evaluations made with one pass (denoise's clip
                 correction) */
} gd_tool_plan;

/* Each tool's plan on a width x height input, GD_OK or GD_ERR_INVALID.
 * inpaint: the grid is the whole input (its run plans its region with
 * gd_inpaint_plan on the region's size).  denoise: p->sigma must be > 0
 * unless one_step (the count depends on it); `clipped` says whether the
 * clip correction's pass is made. */
int gd_img2img_plan (const gd_schedule *sched, const gd_task_params *p,
                     int width, int height, gd_tool_plan *plan, gd_error *err);
int gd_inpaint_plan (const gd_schedule *sched, const gd_task_params *p,
                     int width, int height, gd_tool_plan *plan, gd_error *err);
int gd_upscale_plan (const gd_schedule *sched, const gd_task_params *p,
                     int width, int height, gd_tool_plan *plan, gd_error *err);
int gd_denoise_plan (const gd_schedule *sched, const gd_task_params *p,
                     int clipped, int width, int height, gd_tool_plan *plan,
                     gd_error *err);

/* Allocates the state and plans the tiles for a job of plan->evals
 * evaluations (and plan->single one-pass ones) on the plan's grid; x is
 * left for the tool to fill. */
int gd_task_begin (gd_task *task, const char *name, gd_model *model,
                   const gd_task_params *p, const gd_tool_plan *plan,
                   int origin_x, int origin_y, gd_error *err);
void gd_task_end (gd_task *task);

/* z = N(0, I) noise of stream `stream` keyed by pixel, n elements. */
void gd_task_noise (const gd_task *task, uint64_t stream, float *z);

/* In place: x <- scale_x x + scale_z z, z of stream `stream` keyed by
 * pixel. */
void gd_task_add_noise (const gd_task *task, float *x, double scale_x,
                        double scale_z, uint64_t stream);

/* In place: x <- sqrt(abar) x + sqrt(1 - abar) z: q(x_t | x0) for
 * abar = abar_t. */
void gd_task_q_sample (const gd_task *task, float *x, double abar,
                       uint64_t stream);

/* denoise: the t* where sqrt((1-abar)/abar) = sigma (0..255 scale, on the
 * [-1, 1] scale 2 sigma / 255), and the integer t0 = ceil(t*) in 1..T the
 * sampler starts from.  GD_ERR_INVALID when sigma is beyond t = T. */
int gd_task_denoise_start (const gd_schedule *sched, double sigma,
                           double *t_star, int *t0, gd_error *err);

/* E[v | v <= 0] for v ~ N(m, s^2), s > 0: m - s phi(a) / Phi(a) with
 * a = -m / s, accurate to about 1e-6 relative for any m (an asymptotic
 * series where Phi(a) underflows).  denoise's clip correction. */
double gd_normal_mean_below_zero (double m, double s);

/* Runs gd_sample from t0 on task->x over the tiled network with the given
 * hooks (noise_index is filled in), then checks the result is finite. */
int gd_task_sample (gd_task *task, int t0, const gd_sampler_hooks *hooks,
                    gd_error *err);

/* out <- the state (clamped to 0..1, gray averaged), allocated at the
 * grid's size with `channels`. */
int gd_task_output (const gd_task *task, int channels, gd_image *out,
                    gd_error *err);

/* Network evaluations of a sampler run from t0 (gd_sampler_nfe) and, for
 * inpaint with a stochastic sampler and rounds > 1, the resampling rounds'
 * extra evaluations. */
int gd_task_sampler_evals (const gd_sampler_params *sp, int t0, int rounds);

#endif /* GD_TASK_H */
