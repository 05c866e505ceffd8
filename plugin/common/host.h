/* host.h: the host layer both front ends link (GIMP 2.10 in plugin/gimp2,
 * GIMP 3 in plugin/gimp3): the procedures' descriptions and values, where a
 * tool works, pixels in and out of GEGL buffers, the work over the core,
 * the preview job, the time estimate and the progress text.  GEGL and GLib
 * only: nothing here includes libgimp, so it has unit tests of its own
 * (plugin/common/tests). */
#ifndef GD_HOST_H
#define GD_HOST_H

#include <gegl.h>
#include <glib-object.h>
#include <glib.h>

#include "gimp-diffusion.h"

#define PLUG_IN_BINARY "gimp-diffusion"
/* The menu, as GIMP 2.10 and GIMP 3 spell it. */
#define DIFFUSION_MENU_PARENT "<Image>/Filters/Enhance"
#define DIFFUSION_MENU_PATH DIFFUSION_MENU_PARENT "/Diffusion"

#define IMG2IMG_PROC "plug-in-diffusion-img2img"
#define INPAINT_PROC "plug-in-diffusion-inpaint"
#define UPSCALE_PROC "plug-in-diffusion-upscale"
#define DENOISE_PROC "plug-in-diffusion-denoise"

#define DIFFUSION_AUTHOR "gimp-diffusion authors"
#define DIFFUSION_DATE "2025"
#define DIFFUSION_IMAGE_TYPES "RGB*, GRAY*"

#define DIFFUSION_SAMPLER_MAX 32
#define DIFFUSION_PATH_MAX 4096
#define DIFFUSION_DEFAULT_SAMPLER "ddim"

/* How many pixels around the selection's bounds the network sees, so that
 * the surroundings guide what it makes inside: at least MIN, half the
 * bounds' longer side, at most MAX.  (gd_inpaint takes what it needs of
 * them: the mask's bounds grown by two tile overlaps.) */
#define DIFFUSION_CONTEXT_MIN 64
#define DIFFUSION_CONTEXT_MAX 256

typedef enum
{
  DIFFUSION_IMG2IMG,
  DIFFUSION_INPAINT,
  DIFFUSION_UPSCALE,
  DIFFUSION_DENOISE,
  DIFFUSION_N_TOOLS
} DiffusionTool;

/* A run's parameters (GIMP 2.10 stores them as they are with gimp_set_data,
 * one record per procedure).  Each tool reads the members it has. */
typedef struct
{
  gdouble strength;                     /* img2img, inpaint, upscale: 0..1 */
  gint32 scale;                         /* upscale: 2 or 4 */
  gdouble sigma;                        /* denoise: 0..255, 0 = estimate it */
  gint32 ensemble;                      /* denoise: 1, 2, 4 or 8 passes over
                                           flips and turns, averaged */
  gint32 steps;                         /* 1..GD_T_MAX */
  gchar sampler[DIFFUSION_SAMPLER_MAX]; /* "" = DIFFUSION_DEFAULT_SAMPLER */
  gint32 seed;
  gchar model[DIFFUSION_PATH_MAX]; /* "" = the shipped model */
  gint32 fill;      /* inpaint below strength 1: a gd_fill (what the hole
                       starts from) */
  gint32 precision; /* a gd_precision (how the network computes) */
} DiffusionVals;

/* A tool as GIMP sees it: its procedure and what the user reads. */
typedef struct
{
  DiffusionTool tool;
  const gchar *proc;       /* PDB name */
  gd_tool task;            /* the core's tool (gd_tool_run, gd_tool_nfe) */
  const gchar *name;       /* short, translatable: progress and titles */
  const gchar *menu_label; /* N_ () marked */
  const gchar *blurb;      /* N_ () marked */
  const gchar *help;
  const gchar *role;      /* the dialog's window role */
  DiffusionVals defaults; /* strength, steps, fill and precision:
                             diffusion_vals_defaults */
} DiffusionProcedure;

/* A procedure's argument after run-mode, image and drawable(s), in order:
 * its PDB name, help text and kind; both front ends register these. */
typedef enum
{
  DIFFUSION_ARG_STRENGTH, /* double 0..1 */
  DIFFUSION_ARG_SCALE,    /* int 2 or 4 */
  DIFFUSION_ARG_SIGMA,    /* double 0..255 */
  DIFFUSION_ARG_ENSEMBLE, /* int 1, 2, 4, 8 */
  DIFFUSION_ARG_STEPS,    /* int 1..GD_T_MAX */
  DIFFUSION_ARG_SAMPLER,  /* string */
  DIFFUSION_ARG_SEED,     /* int */
  DIFFUSION_ARG_MODEL,    /* string: a path */
  DIFFUSION_ARG_FILL,     /* choice: a gd_fill's name (inpaint) */
  DIFFUSION_ARG_PRECISION /* choice: a gd_precision's name */
} DiffusionArgKind;

typedef struct
{
  DiffusionArgKind kind;
  const gchar *name;
  const gchar *nick; /* N_ () marked: a dialog's label */
  const gchar *help;
} DiffusionArg;

#define DIFFUSION_MAX_ARGS 8

/* procedures.c */
const DiffusionProcedure *diffusion_procedure_get (DiffusionTool tool);
const DiffusionProcedure *diffusion_procedure_lookup (const gchar *proc);
/* The procedure's own arguments (n returned, at most DIFFUSION_MAX_ARGS). */
gint diffusion_procedure_args (DiffusionTool tool, const DiffusionArg **args);
/* The arguments appended after the first release (fill, precision): a
 * GIMP 2.10 call may leave them out, from the first of them on, and gets
 * their defaults (an older script's call keeps working). */
gboolean diffusion_arg_is_appended (const DiffusionArg *arg);
/* A choice argument (FILL, PRECISION): its values are the core's, 0 ..
 * count - 1, each with the core's name (what a script passes) and a label
 * (N_ () marked: what a dialog shows). */
gint diffusion_choice_count (DiffusionArgKind kind);
const gchar *diffusion_choice_name (DiffusionArgKind kind, gint value);
const gchar *diffusion_choice_label (DiffusionArgKind kind, gint value);
/* The value of a name, -1 when it is none of them. */
gint diffusion_choice_from_name (DiffusionArgKind kind, const gchar *name);
/* Sets vals' fill or precision from a name; "" (or NULL) keeps what vals
 * hold (the default); a message when the name is unknown, and vals
 * unchanged. */
gchar *diffusion_vals_set_choice (DiffusionVals *vals, DiffusionArgKind kind,
                                  const gchar *name);
/* NULL when vals are fine for proc's tool, else a message (newly
 * allocated). */
gchar *diffusion_vals_check (const DiffusionProcedure *proc,
                             const DiffusionVals *vals);
/* Copies a sampler and a model name into vals; a message when too long. */
gchar *diffusion_vals_set_strings (DiffusionVals *vals, const gchar *sampler,
                                   const gchar *model);
/* The values from an object with one property per argument (GIMP 3's
 * GimpProcedureConfig); a message when a string is too long. */
gchar *diffusion_vals_from_object (const DiffusionProcedure *proc,
                                   GObject *config, DiffusionVals *vals);
void diffusion_vals_defaults (const DiffusionProcedure *proc,
                              DiffusionVals *vals);
const gchar *diffusion_vals_sampler (const DiffusionVals *vals);

/* What a front end knows of the drawable a tool is asked to work on. */
typedef struct
{
  gboolean valid;         /* a drawable of the image */
  gboolean is_group;      /* a layer group */
  gboolean is_indexed;    /* an indexed image's */
  gboolean is_layer;      /* a layer (not a channel or a mask) */
  gboolean floating;      /* the image has a floating selection */
  gboolean has_selection; /* the image's selection is not empty */
  gint width, height;     /* the drawable's size */
  /* The selection's bounds within the drawable (drawable coordinates; the
   * whole drawable without a selection), as gimp_drawable_mask_intersect
   * says; intersects FALSE when they are empty. */
  gboolean intersects;
  gint x, y, mask_width, mask_height;
} DiffusionTarget;

/* Where a tool works on a drawable: `x, y, width, height` are the pixels
 * written back (the selection's bounds within the drawable, in drawable
 * coordinates); `work_*` the pixels the network sees (those bounds with
 * context around them); use_mask: the selection steers the work (inpaint,
 * img2img with a selection). */
typedef struct
{
  DiffusionTool tool;
  gint x, y, width, height;
  gint work_x, work_y, work_width, work_height;
  gboolean use_mask;
  gint image_width, image_height; /* the drawable's size */
} DiffusionPlan;

/* The pixels of a rectangle of a drawable: colour for the core, alpha kept
 * aside untouched. */
typedef struct
{
  gint x, y, width, height;
  gboolean has_alpha;
  gd_image color;
  gfloat *alpha; /* width * height, or NULL */
} DiffusionRegion;

/* plan.c: the refusals (layer groups, indexed images, inpaint without a
 * selection, ...) and the rectangles, the same in both front ends. */
gboolean diffusion_plan_make (DiffusionTool tool, const DiffusionTarget *target,
                              DiffusionPlan *plan, GError **error);
void diffusion_plan_context (gint x, gint y, gint width, gint height,
                             gint limit_width, gint limit_height, gint *wx,
                             gint *wy, gint *ww, gint *wh);

/* buffer.c: pixels through GEGL, on a rectangle of a drawable's buffer. */
const Babl *diffusion_region_format (gboolean gray, gboolean has_alpha);
gboolean diffusion_region_read (GeglBuffer *buffer, gboolean gray,
                                gboolean has_alpha, gint x, gint y, gint width,
                                gint height, DiffusionRegion *region,
                                GError **error);
/* The selection (a buffer in image coordinates; the drawable at offset_x,
 * offset_y in the image) over a rectangle of the drawable: 1 wherever the
 * selection is not 0. */
gboolean diffusion_mask_read (GeglBuffer *selection, gint offset_x,
                              gint offset_y, gint x, gint y, gint width,
                              gint height, gd_image *mask, GError **error);
/* Writes the sub-rectangle x, y, width, height of result (which covers the
 * region) with the region's alpha into buffer (a shadow buffer). */
void diffusion_region_write (GeglBuffer *buffer, const DiffusionRegion *region,
                             const gd_image *result, gint x, gint y, gint width,
                             gint height);
void diffusion_region_free (DiffusionRegion *region);
GQuark diffusion_error_quark (void);

/* model-path.c */
void diffusion_model_path_set_self (const gchar *argv0);
gchar *diffusion_model_path_default (void);
gchar *diffusion_model_path_resolve (const gchar *model);
gd_model *diffusion_model_load (const gchar *model, GError **error);

/* work.c: the tools over the core, for the run and for the preview. */
typedef struct
{
  gd_task_progress_fn progress; /* may be NULL */
  void *progress_data;
  gdouble sigma; /* denoise: the estimate for sigma 0 (< 0: none yet); on
                    return the sigma used */
  gint image_width, image_height; /* the drawable `in` is cut from (inpaint's
                                     auto fill); 0: in's own size */
} DiffusionComputeOptions;

void diffusion_task_params (const DiffusionProcedure *proc,
                            const DiffusionVals *vals, gd_task_params *params);
gboolean diffusion_compute (const DiffusionProcedure *proc,
                            const DiffusionVals *vals, gd_model *model,
                            const gd_image *in, const gd_image *mask,
                            gint origin_x, gint origin_y,
                            DiffusionComputeOptions *options, gd_image *out,
                            GError **error);

/* A run's progress as a front end shows it: text and fraction. */
typedef struct
{
  void (*text) (gpointer data, const gchar *text);
  void (*fraction) (gpointer data, gdouble fraction);
  gpointer data;
} DiffusionProgress;

/* The drawable a run reads: its buffer, its kind, and the selection's
 * buffer with the drawable's offsets in the image (for the mask). */
typedef struct
{
  GeglBuffer *buffer;
  gboolean gray;
  gboolean has_alpha;
  GeglBuffer *selection; /* NULL when the plan takes no mask */
  gint offset_x, offset_y;
} DiffusionSource;

/* A whole run's work, before anything is written: loads the model, reads
 * the work region (and the mask), estimates denoise's sigma, runs the tool;
 * region holds what was read (its alpha is written back), result the
 * tool's colour.  The front end then writes result in one undo group. */
gboolean diffusion_work (const DiffusionProcedure *proc,
                         const DiffusionVals *vals, const DiffusionPlan *plan,
                         const DiffusionSource *source,
                         const DiffusionProgress *progress,
                         DiffusionRegion *region, gd_image *result,
                         GError **error);

/* progress.c */
gchar *diffusion_progress_text (const gchar *name,
                                const gd_progress_info *info);

/* estimate.c: how long a run will take. */
gchar *diffusion_estimate_text (const DiffusionProcedure *proc,
                                const DiffusionVals *vals,
                                const gd_model *model, gint width, gint height,
                                gdouble sigma, gdouble seconds_per_pixel);

/* preview-job.c: a piece of work for a dialog's background thread: a
 * calibration pass (speed) or a preview (the tool on a crop).  The thread
 * touches only the core and the job; libgimp and GTK stay in the main
 * thread. */
typedef enum
{
  DIFFUSION_JOB_CALIBRATE,
  DIFFUSION_JOB_PREVIEW
} DiffusionJobKind;

typedef struct
{
  DiffusionJobKind kind;
  const DiffusionProcedure *proc;
  DiffusionVals vals;
  gd_model *model;        /* borrowed: kept alive until the job is joined */
  DiffusionRegion region; /* the input, in drawable coordinates */
  gd_image mask;          /* data NULL when the tool takes none */
  gdouble sigma;          /* denoise: the sigma to use (> 0) */
  gint image_width;       /* the drawable's size (DiffusionPlan's) */
  gint image_height;

  /* Written by the thread; read by the main thread after `finished`. */
  gd_image out;
  GError *error;
  gdouble seconds;
  gdouble pixel_evaluations; /* network pixels x evaluations done */

  /* Shared while it runs. */
  GMutex lock;
  gd_progress_info info; /* under lock */
  gint cancel;           /* g_atomic_int */
  gint finished;         /* g_atomic_int */
  GThread *thread;
} DiffusionJob;

DiffusionJob *diffusion_job_new (DiffusionJobKind kind,
                                 const DiffusionProcedure *proc,
                                 const DiffusionVals *vals, gd_model *model);
void diffusion_job_start (DiffusionJob *job);
void diffusion_job_cancel (DiffusionJob *job);
gboolean diffusion_job_finished (DiffusionJob *job);
void diffusion_job_get_info (DiffusionJob *job, gd_progress_info *info);
/* Waits for the thread (if started) and frees everything. */
void diffusion_job_free (DiffusionJob *job);

/* The preview's rectangle (drawable coordinates) for a visible part at px,
 * py, pw x ph of the drawable. */
void diffusion_preview_rect (const DiffusionProcedure *proc,
                             const DiffusionVals *vals,
                             const DiffusionPlan *plan, gint px, gint py,
                             gint pw, gint ph, gint *x, gint *y, gint *width,
                             gint *height);
/* 8-bit pixels (colour + alpha when the region has it) of a visible part
 * px, py, pw x ph: the job's result where the tool writes, `visible` (the
 * drawable's pixels there, NULL for upscale) elsewhere; pw * ph * bpp. */
guchar *diffusion_preview_pixels (const DiffusionJob *job,
                                  const DiffusionPlan *plan,
                                  const DiffusionRegion *visible, gint px,
                                  gint py, gint pw, gint ph, gint *bpp);
guchar diffusion_u8 (gfloat v);

#endif /* GD_HOST_H */
