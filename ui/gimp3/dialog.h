/* dialog.h: the GIMP 3 dialogs (GTK 3, GimpProcedureDialog) over the host
 * layer; the GIMP 3 front end calls them. */
#ifndef GD_UI_GIMP3_DIALOG_H
#define GD_UI_GIMP3_DIALOG_H

#include <libgimp/gimp.h>

#include "host.h"

/* The tool's dialog on config (the procedure's arguments, last values
 * loaded) for a drawable whose plan the caller made; TRUE when the user
 * pressed OK (config then holds the values). */
gboolean diffusion_dialog (GimpProcedure *procedure,
                           const DiffusionProcedure *proc,
                           GimpProcedureConfig *config, GimpImage *image,
                           GimpDrawable *drawable, const DiffusionPlan *plan);

#endif /* GD_UI_GIMP3_DIALOG_H */
