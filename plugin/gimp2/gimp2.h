/* gimp2.h: the GIMP 2.10 front end's glue over the host layer
 * (../common/host.h): PDB registration and arguments, drawables by ID. */
#ifndef GD_GIMP2_H
#define GD_GIMP2_H

#include <libgimp/gimp.h>

#include "host.h"

/* procedures.c */
void diffusion_procedures_install (void);
gchar *diffusion_vals_from_params (const DiffusionProcedure *proc, gint nparams,
                                   const GimpParam *param, DiffusionVals *vals);
void diffusion_vals_last (const DiffusionProcedure *proc, DiffusionVals *vals);

/* drawable.c */
void diffusion_target_get (gint32 image_id, gint32 drawable_id,
                           DiffusionTarget *target);
gboolean diffusion_gimp_plan (DiffusionTool tool, gint32 image_id,
                              gint32 drawable_id, DiffusionPlan *plan,
                              GError **error);
gboolean diffusion_run (const DiffusionProcedure *proc, gint32 image_id,
                        gint32 drawable_id, const DiffusionVals *vals,
                        GError **error);

#endif /* GD_GIMP2_H */
