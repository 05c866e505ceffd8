/* gimp3.h: the GIMP 3 front end's glue over the host layer
 * (../common/host.h): GimpPlugIn procedures, drawables as objects. */
#ifndef GD_GIMP3_H
#define GD_GIMP3_H

#include <libgimp/gimp.h>

#include "host.h"

/* drawable.c */
void diffusion_target_get (GimpImage *image, GimpDrawable *drawable,
                           DiffusionTarget *target);
gboolean diffusion_gimp_plan (DiffusionTool tool, GimpImage *image,
                              GimpDrawable *drawable, DiffusionPlan *plan,
                              GError **error);
/* Runs the tool on each drawable (NULL-terminated): all are planned, then
 * computed, then written in one undo group; nothing changes on an
 * error. */
gboolean diffusion_run (const DiffusionProcedure *proc, GimpImage *image,
                        GimpDrawable **drawables, const DiffusionVals *vals,
                        GError **error);

#endif /* GD_GIMP3_H */
