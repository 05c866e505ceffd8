/* dialog.h: the GIMP 2.10 dialogs (GTK 2, libgimpui 2.0) over the host
 * layer; the GIMP 2.10 front end calls them. */
#ifndef GD_UI_GIMP2_DIALOG_H
#define GD_UI_GIMP2_DIALOG_H

#include <libgimp/gimp.h>

#include "host.h"

/* The tool's dialog for a drawable whose plan the caller made; TRUE when
 * the user pressed OK (vals then hold the values). */
gboolean diffusion_dialog (const DiffusionProcedure *proc, gint32 image_id,
                           gint32 drawable_id, const DiffusionPlan *plan,
                           DiffusionVals *vals);

#endif /* GD_UI_GIMP2_DIALOG_H */
