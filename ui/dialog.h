/* dialog.h: what the dialog's files share (ui/ only). */
#ifndef GD_UI_DIALOG_H
#define GD_UI_DIALOG_H

#include <libgimp/gimp.h>

#include "plugin.h"

/* A piece of work for the background thread: a calibration pass (speed)
 * or a preview (the tool on a crop).  The thread touches only the core and
 * the job; libgimp and GTK stay in the main thread. */
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

/* preview-job.c */
DiffusionJob *diffusion_job_new (DiffusionJobKind kind,
                                 const DiffusionProcedure *proc,
                                 const DiffusionVals *vals, gd_model *model);
void diffusion_job_start (DiffusionJob *job);
void diffusion_job_cancel (DiffusionJob *job);
gboolean diffusion_job_finished (DiffusionJob *job);
void diffusion_job_get_info (DiffusionJob *job, gd_progress_info *info);
/* Waits for the thread (if started) and frees everything. */
void diffusion_job_free (DiffusionJob *job);

/* estimate.c */
gchar *diffusion_estimate_text (const DiffusionProcedure *proc,
                                const DiffusionVals *vals,
                                const gd_model *model, gint width, gint height,
                                gdouble sigma, gdouble seconds_per_pixel);

#endif /* GD_UI_DIALOG_H */
