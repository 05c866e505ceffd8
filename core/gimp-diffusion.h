/* gimp-diffusion: the core library's whole public API.
 *
 * No GIMP, no GTK: the GIMP plug-in and the command-line front end are two
 * thin layers over the functions declared here.  Notation follows DESIGN.md
 * (DDPM's): t in 0..T, abar_t, x_t = sqrt(abar_t) x0 + sqrt(1-abar_t) eps.
 *
 * Errors: every function that can fail because of its input (a file, memory,
 * a cancel) returns GD_OK (0) or a negative gd_status and, when `err` is not
 * NULL, writes a readable message into it.  Programmer errors abort with
 * file:line (GD_ASSERT).
 */
#ifndef GIMP_DIFFUSION_H
#define GIMP_DIFFUSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GD_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum
{
  GD_OK = 0,
  GD_ERR_IO = -1,        /* a file could not be opened, read or written */
  GD_ERR_FORMAT = -2,    /* a file is malformed */
  GD_ERR_NOMEM = -3,     /* an allocation failed or a size overflowed */
  GD_ERR_INVALID = -4,   /* a parameter is out of range or unknown */
  GD_ERR_CANCELLED = -5, /* the progress callback asked to stop */
  GD_ERR_NUMERIC = -6    /* the network produced NaN or Inf */
} gd_status;

typedef struct
{
  gd_status status;
  char message[512];
} gd_error;

/* Sets err (if not NULL) and returns status.  printf-style. */
int gd_error_set (gd_error *err, gd_status status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void gd_error_clear (gd_error *err);

/* ---------------------------------------------------------------- schedule */

#define GD_T_MAX 1000

/* The DDPM noise schedule.  Index i in 0..T: abar[0] = 1, beta[0] = 0. */
typedef struct
{
  int T;
  double beta[GD_T_MAX + 1];
  double alpha[GD_T_MAX + 1];
  double abar[GD_T_MAX + 1];
} gd_schedule;

/* Linear beta_1..beta_T from beta_start to beta_end (DDPM: 1e-4, 0.02). */
int gd_schedule_init_linear (gd_schedule *s, int T, double beta_start,
                             double beta_end, gd_error *err);

/* abar at a fractional timestep (DPM-Solver's discrete schedule:
 * log sqrt(abar) piecewise linear in t). */
double gd_schedule_abar_at (const gd_schedule *s, double t);
/* lambda(t) = log(alpha/sigma) = 0.5 log(abar / (1 - abar)). */
double gd_schedule_lambda_at (const gd_schedule *s, double t);
/* Inverse of lambda_at on [0, T]. */
double gd_schedule_t_of_lambda (const gd_schedule *s, double lambda);
/* The t* (fractional) where sqrt((1-abar)/abar) = sigma, sigma on [-1,1]
 * scale. */
double gd_schedule_t_of_sigma (const gd_schedule *s, double sigma);

/* ---------------------------------------------------------------- rng */

/* Counter-based standard normal: the same (seed, stream, index) always gives
 * the same value, whatever the tiling or thread count.  `stream` is the
 * sampler step (or any other purpose key), `index` the element (pixel and
 * channel in image coordinates). */
float gd_rng_normal (uint64_t seed, uint64_t stream, uint64_t index);
/* Fills out[i] = gd_rng_normal (seed, stream, first_index + i). */
void gd_rng_normal_fill (uint64_t seed, uint64_t stream, uint64_t first_index,
                         float *out, size_t n);

/* gd_sample draws the noise of its step k (k = 0 for the first step) from
 * stream k.  The start of a run (pure noise, or q(x_t0 | x0) for img2img)
 * must take its noise from this stream, so that it never repeats a step's. */
#define GD_RNG_STREAM_START (UINT64_C (1) << 32)

/* ---------------------------------------------------------------- samplers */

/* The network as the samplers see it: eps_hat for x_t at (fractional)
 * timestep t, n values in and out.  Returns GD_OK or an error. */
typedef int (*gd_eps_fn) (void *user_data, const float *x_t, double t,
                          float *eps_hat, size_t n, gd_error *err);

/* Called after every network evaluation; done <= total.  Return non-zero
 * to cancel (the run then ends with GD_ERR_CANCELLED). */
typedef int (*gd_progress_fn) (void *user_data, int done, int total);

/* Where the steps go between t0 and 0 (docs/samplers.md has the lists).
 * ddpm always takes every step t0, t0-1, ..., 1.  The last network
 * evaluation of every sampler is at a small t_1 (>= 1) and the output is
 * x0_hat there (the step to t = 0 of DDPM, DDIM and DPM-Solver alike). */
typedef enum
{
  GD_SPACING_DEFAULT = 0, /* the sampler's own: trailing for ddim and
                             skip-step, lambda for DPM-Solver */
  GD_SPACING_LEADING,     /* uniform in t, starting below t0 (DDIM's and
                             diffusers' "leading"): the input is taken as x
                             at the top of the list */
  GD_SPACING_TRAILING,    /* uniform in t, starting at t0 */
  GD_SPACING_LAMBDA       /* uniform in lambda (logSNR) from t0 to t = 1 */
} gd_spacing;

/* The samplers (DESIGN.md, "Samplers"). */
typedef enum
{
  GD_SAMPLER_DDPM = 0,          /* "ddpm": ancestral, every step */
  GD_SAMPLER_DDIM,              /* "ddim" (eta) */
  GD_SAMPLER_SKIP_STEP,         /* "skip-step": q(x_s | x_t, x0_hat) */
  GD_SAMPLER_DPM_SOLVER_2,      /* "dpm-solver-2" */
  GD_SAMPLER_DPM_SOLVER_3,      /* "dpm-solver-3" */
  GD_SAMPLER_DPM_SOLVER_PP_2M   /* "dpm-solver++2m" */
} gd_sampler_kind;

#define GD_SAMPLER_COUNT 6

/* The sampler's name ("ddim", ...), or NULL for a value out of range. */
const char *gd_sampler_name (gd_sampler_kind kind);
/* GD_OK and *kind set, or GD_ERR_INVALID (and *kind untouched) with a
 * message listing the names. */
int gd_sampler_from_name (const char *name, gd_sampler_kind *kind,
                          gd_error *err);
typedef struct
{
  gd_sampler_kind kind;
  int steps;           /* network evaluations asked for (ddpm: ignored) */
  double eta;          /* ddim only: 0 deterministic, 1 stochastic */
  gd_spacing spacing;
  int clip_x0;         /* clip x0_hat to [-1, 1] in the stochastic samplers
                          (ddpm, skip-step, ddim with eta > 0); the ODE
                          solvers ignore it */
  uint64_t seed;
} gd_sampler_params;

void gd_sampler_params_init (gd_sampler_params *p); /* ddim, 20 steps */

/* NULL-terminated list of sampler names in gd_sampler_kind order, for UIs. */
const char *const *gd_sampler_names (void);
/* Whether a run draws noise at its steps: ddpm, skip-step, ddim with
 * eta > 0. */
int gd_sampler_is_stochastic (const gd_sampler_params *p);
/* How many network evaluations a run will make from t0 (0 when p or t0 is
 * invalid): t0 for ddpm, min(steps, t0) for ddim and skip-step, steps for
 * the DPM-Solvers (1 when t0 = 1). */
int gd_sampler_nfe (const gd_sampler_params *p, int t0);

/* How the tools steer a run (inpaint, upscale).  Every member may be NULL;
 * hooks = NULL is plain sampling.  A hook returns GD_OK, or an error
 * status (with its message already in the run's gd_error, which the hook
 * holds through user_data) that ends the run with that status.
 * x0_hat: after every network evaluation (at t, the evaluation's timestep,
 *   DPM-Solver's intermediate points included), on x0_hat = (x_t -
 *   sqrt(1-abar_t) eps_hat) / sqrt(abar_t) after clipping; the sampler
 *   then goes on with the edited x0_hat (and eps_hat recomputed from it).
 * x_s: after every step, on the new state at s (step = 0 for the first
 *   step; the last call has s = 0 and x_s is the output).
 * noise_index: n entries, the rng index of element i of x (NULL: i), so
 *   that the noise depends on image coordinates, not on the layout. */
typedef struct
{
  int (*x0_hat) (void *user_data, float *x0_hat, size_t n, double t);
  int (*x_s) (void *user_data, float *x_s, size_t n, double s, int step);
  void *user_data;
  const uint64_t *noise_index;
} gd_sampler_hooks;

/* Runs the reverse process from x = x_t0 (in place) down to x_0.
 * t0 in 1..sched->T.  Noise of step k, element i: gd_rng_normal (p->seed,
 * k, noise_index[i]).  progress (may be NULL) is called after every network
 * evaluation with total = gd_sampler_nfe (p, t0).  NaN or Inf from eps_fn
 * ends the run with GD_ERR_NUMERIC; on any error x holds the state of the
 * last completed step. */
int gd_sample (const gd_schedule *sched, const gd_sampler_params *p,
               float *x, size_t n, int t0, gd_eps_fn eps_fn, void *eps_data,
               const gd_sampler_hooks *hooks, gd_progress_fn progress,
               void *progress_data, gd_error *err);

/* ---------------------------------------------------------------- model */

typedef struct gd_model gd_model;

typedef struct
{
  char arch[64];        /* "gd-unet-v1" */
  int in_channels;      /* 3 */
  int base_channels;
  int n_levels;
  int channel_mult[8];
  int n_res_blocks;
  int downsample_factor; /* 2^(n_levels-1): image sizes are padded to it */
  gd_schedule schedule;
  size_t n_params;
} gd_model_info;

gd_model *gd_model_load (const char *path, gd_error *err);
void gd_model_free (gd_model *model);
const gd_model_info *gd_model_get_info (const gd_model *model);

/* The path of the shipped default model (compiled in; the environment
 * variable GD_MODEL_DIR overrides its folder). */
const char *gd_model_default_path (void);

/* One forward pass: eps_hat for x_t (planar CHW float, in_channels x height
 * x width, values on the [-1, 1] scale) at timestep t.  Any size: padded to
 * the downsampling factor internally.  The model caches its workspace:
 * calls on one model must not overlap (separate models may run at once). */
int gd_model_eps (gd_model *model, const float *x_t, int width, int height,
                  double t, float *eps_hat, gd_error *err);

/* Number of worker threads for the forward pass (0 = all cores).  The
 * kernels run their own threads and put OpenBLAS at one thread. */
void gd_set_threads (int n);

/* How the convolutions run (gd_task_params.precision; FAST by default).
 * EXACT: FP32 through OpenBLAS, golden-tested against PyTorch, the same
 * bits with any thread count, float rounding apart across OpenBLAS kernel
 * sets (README, "What is promised").  FAST:
 * oneDNN's BF16 convolutions (FP32 sums) on AMX or AVX512_BF16; where this
 * build or CPU has no such kernels (or GD_MAX_ISA=avx2|avx512 caps the ISA
 * below them) the 3x3 stride-1 convolutions run Winograd F(4x4, 3x3) in
 * FP32 (AVX2 + FMA) and the others as EXACT; on a CPU without AVX2, EXACT.
 * Other bits than EXACT, within the deviation docs/benchmarks/
 * performance.md measures. */
typedef enum
{
  GD_PRECISION_EXACT = 0,
  GD_PRECISION_FAST = 1
} gd_precision;

void gd_model_set_precision (gd_model *model, gd_precision precision);
gd_precision gd_model_get_precision (const gd_model *model);

/* "exact" / "fast" and back (-1 for an unknown name). */
const char *gd_precision_name (gd_precision precision);
int gd_precision_from_name (const char *name);

/* What FAST runs on this CPU ("amx bf16", "avx512_bf16 bf16", "avx2
 * winograd"), or NULL where FAST is EXACT. */
const char *gd_fast_path_kind (void);

/* ---------------------------------------------------------------- images */

/* Interleaved float pixels, sRGB-encoded, 0..1.  channels: 1 (gray) or 3
 * (RGB); alpha is kept aside by the front ends and never diffused. */
typedef struct
{
  int width;
  int height;
  int channels;
  float *data;
} gd_image;

int gd_image_alloc (gd_image *img, int width, int height, int channels,
                    gd_error *err);
void gd_image_free (gd_image *img);

/* ---------------------------------------------------------------- tasks */

/* Where a task is in its work, reported after every network evaluation.
 * done/total count evaluations over the whole job, tiles included (an
 * evaluation wanted on part of the image, denoise's clip correction, counts
 * only the tiles it runs). */
typedef struct
{
  int done;   /* network evaluations done so far */
  int total;  /* ... and in all */
  int step;   /* evaluation of the whole image (a sampler step, or a
                 DPM-Solver stage, or a RePaint round), 1-based */
  int steps;  /* ... and in all */
  int tile;   /* tile just computed, 1-based */
  int tiles;  /* tiles this step runs (1 when untiled) */
} gd_progress_info;

/* Return non-zero to cancel: the task then returns GD_ERR_CANCELLED and
 * leaves `out` empty. */
typedef int (*gd_task_progress_fn) (void *user_data,
                                    const gd_progress_info *info);

/* upscale's degradation: the downscale the small image is taken to come
 * from.  Bicubic is Pillow's and MATLAB imresize's antialiased cubic
 * (a = -0.5); box is the s x s mean. */
typedef enum
{
  GD_KERNEL_BICUBIC = 0,
  GD_KERNEL_BOX = 1
} gd_kernel;

/* What inpaint's hole starts from below strength 1 (at 1 it starts from
 * pure noise whatever this says). */
typedef enum
{
  GD_FILL_SMOOTH = 0, /* the harmonic fill from the hole's border: no
                         texture of its own */
  GD_FILL_PATCH = 1,  /* patches of the image around the hole (PatchMatch
                         and Wexler et al.'s vote): texture and structure */
  GD_FILL_AUTO = 2    /* each hole (connected part of the mask) by its
                         shape: patches for a compact, object-sized hole,
                         the smooth fill for a thin one (a stroke, within a
                         few pixels of its border) and for one larger than
                         5% of the image (docs/tools.md, "Inpaint
                         defaults") */
} gd_fill;

typedef struct
{
  gd_sampler_params sampler;
  double strength;      /* img2img: t0 = round(strength * T); inpaint: 1
                           fills anew, < 1 refines the hole filled as
                           `fill` says (or, with refine_hole, what is
                           there); upscale: start from a noised
                           resize at t0 < T when < 1 */
  int scale;            /* upscale: 2 or 4 */
  int kernel;           /* upscale: what made the small image, the A that
                           the result is kept consistent with:
                           GD_KERNEL_BICUBIC (default) or GD_KERNEL_BOX */
  double sigma;         /* denoise: noise standard deviation on the 0..255
                           scale; <= 0: estimate it from the image */
  int one_step;         /* denoise: return x0_hat(t*), the MMSE estimate */
  int clip_correction;  /* denoise (default 1): values at exactly 0 or 1
                           are taken as clipped after the noise; a first
                           x0_hat replaces each by its expectation below 0
                           (above 1), and the tool runs on that (one more
                           evaluation when anything is clipped) */
  int ensemble;         /* every tool (default 1): 2, 4 or 8 averages
                           eps_hat over as many flips and transposes of
                           the image (self-ensemble: that many times the
                           network evaluations, and a result that does
                           not change under them at 8); denoise gains
                           most (docs/tools.md) */
  int resample_jumps;   /* inpaint, stochastic samplers: RePaint resampling
                           rounds per step (0 or 1 = none; > 1 with a
                           deterministic sampler is refused) */
  int refine_hole;      /* inpaint below strength 1: 0 starts from the hole
                           filled (see fill), 1 from the pixels under the
                           mask (a selection refined in place, img2img's
                           way) */
  gd_fill fill;         /* inpaint below strength 1, refine_hole 0: what
                           the hole starts from (default: the inpaint
                           tool's, gd_tool_defaults.fill) */
  int image_width;      /* the whole image `in` is cut from (a front end */
  int image_height;     /* working on a region of a layer): GD_FILL_AUTO
                           measures a hole against its area; 0: in's own
                           size */
  size_t memory_budget; /* bytes the network may use; 0 = default */
  int tile_size;        /* 0: chosen from memory_budget */
  gd_precision precision; /* the convolutions (default FAST; see
                             gd_precision) */
  int origin_x;         /* where `in` sits in the whole image, so that noise */
  int origin_y;         /* keyed by pixel is the same for a crop (preview) */
  gd_progress_fn progress; /* (done, total); may be NULL */
  void *progress_data;
  gd_task_progress_fn task_progress; /* richer, may be NULL */
  void *task_progress_data;
} gd_task_params;

void gd_task_params_init (gd_task_params *p);

/* ---------------------------------------------------------------- tools */

/* The four tools.  Each tool's policy (defaults, evaluation count, what
 * runs) lives once in the core (tool.c): the CLI, the GIMP front ends and
 * the dialogs' time estimates call the functions below. */
typedef enum
{
  GD_TOOL_IMG2IMG = 0,
  GD_TOOL_INPAINT,
  GD_TOOL_UPSCALE,
  GD_TOOL_DENOISE
} gd_tool;

#define GD_TOOL_COUNT 4

/* "img2img", "inpaint", "upscale", "denoise"; NULL out of range. */
const char *gd_tool_name (gd_tool tool);
/* GD_OK and *tool set, or GD_ERR_INVALID (and *tool untouched). */
int gd_tool_from_name (const char *name, gd_tool *tool, gd_error *err);

/* What a tool does when the user says nothing (docs/tools.md gives the
 * reasons). */
typedef struct
{
  double strength; /* img2img, inpaint, upscale (denoise: unused) */
  double eta;      /* ddim's eta: inpaint and upscale steer every step and
                      need fresh noise (RePaint's 1, DDNM's 0.85) */
  int steps;       /* network evaluations */
  gd_fill fill;    /* inpaint: what the hole starts from below strength 1
                      (the other tools: unused) */
} gd_tool_defaults;

/* GD_ERR_INVALID (and *d untouched) for a tool out of range. */
int gd_tool_defaults_get (gd_tool tool, gd_tool_defaults *d, gd_error *err);

/* gd_task_params_init, then the tool's defaults (strength, eta, steps). */
int gd_tool_params_init (gd_tool tool, gd_task_params *p, gd_error *err);

/* "smooth", "patch", "auto"; NULL for another value.  gd_fill_from_name:
 * -1 for an unknown name. */
const char *gd_fill_name (gd_fill fill);
int gd_fill_from_name (const char *name);

/* img2img (SDEdit): noise `in` to t0 = strength * T with q(x_t0 | x0) and
 * sample back.  `out` is allocated with the same size and channels. */
int gd_img2img (gd_model *model, const gd_task_params *p, const gd_image *in,
                gd_image *out, gd_error *err);

/* inpaint: `mask` (1 channel, in's size, 0..1: 1 = regenerate, fractional
 * = feathered edge).  Pixels where mask == 0 come out bit-identical; the
 * rest is mask gen + (1 - mask) in.  Stochastic samplers re-impose the
 * known pixels on x_s (RePaint, with p->resample_jumps rounds), the
 * deterministic ones project x0_hat onto them; with the shipped model the
 * stochastic way fills far better (ddim with eta 0.85 is the CLI's
 * default).  The network runs only on the mask's bounding box and some
 * context around it.  An empty mask, or strength 0, returns the input. */
int gd_inpaint (gd_model *model, const gd_task_params *p, const gd_image *in,
                const gd_image *mask, gd_image *out, gd_error *err);

/* upscale by p->scale (2 or 4): DDNM with A the downscale of p->kernel;
 * `out` is allocated scale times larger, and A out = in: exactly for box
 * (s x s means, to float precision, the projection made within 0..1), for
 * bicubic wherever clamping to 0..1 leaves it (the pseudo-inverse
 * projection alternated with the clamp).  strength 1 starts from pure
 * noise, below 1 from the noised consistent resize (bilinear for box,
 * bicubic for bicubic), 0 is that resize alone. */
int gd_upscale (gd_model *model, const gd_task_params *p, const gd_image *in,
                gd_image *out, gd_error *err);

/* denoise: the photo is x_t* with sqrt((1-abar)/abar) = sigma (on the
 * [-1, 1] scale, 2 p->sigma / 255; p->sigma <= 0: gd_estimate_sigma),
 * scaled by sqrt(abar_t*) and sampled from t0 = ceil(t*) (the noise topped
 * up from sigma to sigma(t0)) down to 0, or, with one_step, x0_hat(t*) at
 * the fractional t* (the MMSE estimate: one evaluation).  With
 * clip_correction and values at exactly 0 or 1 (8-bit photos: the noise
 * was clipped), a first x0_hat at t* gives each clipped value its expected
 * unclipped value given that estimate, E[v | v <= 0] or E[v | v >= 1] for
 * v ~ N(x0_hat, sigma^2), and the tool runs on that: one evaluation more.
 * strength is not used. */
int gd_denoise (gd_model *model, const gd_task_params *p, const gd_image *in,
                gd_image *out, gd_error *err);

/* The noise standard deviation of an image on the 0..255 scale, by a
 * robust estimator (median absolute deviation of a fine residual), or -1
 * when it cannot tell (smaller than 3 x 3, every pixel clipped, no
 * memory).  The estimator alone: a tool asks gd_tool_estimate_sigma. */
double gd_estimate_sigma (const gd_image *in);

/* denoise's sigma when none is given (sigma <= 0): the one policy of the
 * CLI, the GIMP front ends, their dialogs and gd_denoise.  The estimate on
 * the central GD_SIGMA_REGION square of `in` (the whole image when smaller;
 * the whole image too when the square cannot tell), at least
 * GD_SIGMA_FLOOR (a noise-free image still runs, from the smallest t).
 * -1 with err set when the image cannot tell (too small, or every pixel
 * clipped). */
#define GD_SIGMA_REGION 1024
#define GD_SIGMA_FLOOR 0.01
double gd_tool_estimate_sigma (const gd_image *in, gd_error *err);

/* Runs a tool: the one dispatch of the CLI and the GIMP front ends.
 * mask (1 channel, in's size, 0..1) is the selection: required by inpaint;
 * img2img with a mask refines the selection in place, its surroundings
 * steering it (gd_inpaint with refine_hole and inpaint's eta); upscale and
 * denoise refuse one.  denoise with sigma <= 0 takes
 * gd_tool_estimate_sigma. */
int gd_tool_run (gd_model *model, gd_tool tool, const gd_task_params *p,
                 const gd_image *in, const gd_image *mask, gd_image *out,
                 gd_error *err);

/* How many network passes a tool will make (tiles and self-ensemble
 * included) on a width x height input, for time estimates; -1 with err set
 * when the parameters are invalid.  inpaint: the count for a mask over the
 * whole image (the network runs only around the mask, so it is an upper
 * bound).  denoise with sigma <= 0 and not one_step: refused, as the count
 * depends on the estimate (call gd_tool_estimate_sigma and pass it); with
 * clip_correction the count includes its pass (made only when a value is
 * clipped, so an upper bound). */
int gd_tool_nfe (const gd_model *model, gd_tool tool, const gd_task_params *p,
                 int width, int height, gd_error *err);

#ifdef __cplusplus
}
#endif

#endif /* GIMP_DIFFUSION_H */
