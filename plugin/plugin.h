/* plugin.h: what the plug-in's files share: the procedures, their values,
 * the work regions and the helpers over the core task API. */
#ifndef GD_PLUGIN_H
#define GD_PLUGIN_H

#include <libgimp/gimp.h>

#include "gimp-diffusion.h"

#define PLUG_IN_BINARY "gimp-diffusion"
#define DIFFUSION_MENU_PARENT "<Image>/Filters/Enhance"
#define DIFFUSION_MENU_PATH DIFFUSION_MENU_PARENT "/Diffusion"

#define IMG2IMG_PROC "plug-in-diffusion-img2img"
#define INPAINT_PROC "plug-in-diffusion-inpaint"
#define UPSCALE_PROC "plug-in-diffusion-upscale"
#define DENOISE_PROC "plug-in-diffusion-denoise"

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

/* A run's parameters, stored as they are with gimp_set_data (one record per
 * procedure).  Each tool reads the members it has. */
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
  DiffusionVals defaults; /* strength and steps: diffusion_vals_defaults */
} DiffusionProcedure;

/* procedures.c */
const DiffusionProcedure *diffusion_procedure_get (DiffusionTool tool);
const DiffusionProcedure *diffusion_procedure_lookup (const gchar *proc);
void diffusion_procedures_install (void);
/* NULL when vals are fine for proc's tool, else a message (newly
 * allocated). */
gchar *diffusion_vals_check (const DiffusionProcedure *proc,
                             const DiffusionVals *vals);
gchar *diffusion_vals_from_params (const DiffusionProcedure *proc, gint nparams,
                                   const GimpParam *param, DiffusionVals *vals);
void diffusion_vals_defaults (const DiffusionProcedure *proc,
                              DiffusionVals *vals);
void diffusion_vals_last (const DiffusionProcedure *proc, DiffusionVals *vals);
const gchar *diffusion_vals_sampler (const DiffusionVals *vals);

/* Where a tool works on a drawable: `x, y, width, height` are the pixels
 * written back (the selection's bounds within the drawable, in drawable
 * coordinates); `work_*` the pixels the network sees (those bounds with
 * context around them); use_mask: the selection steers the work (inpaint,
 * img2img with a selection). */
typedef struct
{
  DiffusionTool tool;
  gint32 image_id;
  gint32 drawable_id;
  gint x, y, width, height;
  gint work_x, work_y, work_width, work_height;
  gboolean use_mask;
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

/* pixels.c */
gboolean diffusion_plan_make (DiffusionTool tool, gint32 image_id,
                              gint32 drawable_id, DiffusionPlan *plan,
                              GError **error);
void diffusion_plan_context (gint x, gint y, gint width, gint height,
                             gint limit_width, gint limit_height, gint *wx,
                             gint *wy, gint *ww, gint *wh);
gboolean diffusion_region_read (gint32 drawable_id, gint x, gint y, gint width,
                                gint height, DiffusionRegion *region,
                                GError **error);
gboolean diffusion_mask_read (gint32 image_id, gint32 drawable_id, gint x,
                              gint y, gint width, gint height, gd_image *mask,
                              GError **error);
void diffusion_region_write (gint32 drawable_id, const DiffusionRegion *region,
                             const gd_image *result, gint x, gint y, gint width,
                             gint height);
gboolean diffusion_upscale_write (gint32 image_id, gint32 drawable_id,
                                  const gd_image *result, gint scale,
                                  GError **error);
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
} DiffusionComputeOptions;

void diffusion_task_params (const DiffusionProcedure *proc,
                            const DiffusionVals *vals, gd_task_params *params);
gboolean diffusion_compute (const DiffusionProcedure *proc,
                            const DiffusionVals *vals, gd_model *model,
                            const gd_image *in, const gd_image *mask,
                            gint origin_x, gint origin_y,
                            DiffusionComputeOptions *options, gd_image *out,
                            GError **error);
gboolean diffusion_run (const DiffusionProcedure *proc, gint32 image_id,
                        gint32 drawable_id, const DiffusionVals *vals,
                        GError **error);

/* progress.c */
gchar *diffusion_progress_text (const gchar *name,
                                const gd_progress_info *info);
int diffusion_progress_gimp (void *user_data, const gd_progress_info *info);

/* ../ui: the tool's dialog; TRUE when the user pressed OK. */
gboolean diffusion_dialog (const DiffusionProcedure *proc, gint32 image_id,
                           gint32 drawable_id, DiffusionVals *vals);

#endif /* GD_PLUGIN_H */
