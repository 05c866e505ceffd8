/* progress.c: "step k of N, tile i of M" after every network evaluation
 * (work.c hands it with the fraction to the front end's progress).
 *
 * Cancel: in GIMP 2.10 and in GIMP 3 alike, the Cancel button of a
 * plug-in's progress makes GIMP close the plug-in
 * (app/plug-in/gimpplugin-progress.c,
 * gimp_plug_in_progress_cancel_callback: the call's return values become
 * a "Cancelled" error, then gimp_plug_in_close (plug_in, TRUE): GP_QUIT,
 * then SIGKILL), and gimp_progress_cancel () does nothing for a plug-in's
 * own progress (gimp_plug_in_progress_cancel returns FALSE).  libgimp 3
 * gives a procedure no signal or query for it either (a GimpProgressVtable
 * cancel is for a plug-in that *shows* progress for others).  So a
 * plug-in cannot hear a cancel; what it can do is never touch the image
 * before its work is done: every tool here computes first and writes the
 * result in one short undo group at the end, and a cancelled run leaves
 * the image as it was (tests/e2e/gimp_gui_test.py and gimp3_gui_test.py
 * click Cancel in GIMP 2.10 and in GIMP 3.0.4: the plug-in ends at once,
 * the call returns CANCEL, the image is unchanged). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "host.h"

gchar *
diffusion_progress_text (const gchar *name, const gd_progress_info *info)
{
  if (info->tiles > 1)
    /* TRANSLATORS: the tool's name, then sampler step k of N and tile i of
     * M of that step. */
    return g_strdup_printf (_ ("%s: step %d of %d, tile %d of %d"), name,
                            info->step, info->steps, info->tile, info->tiles);
  /* TRANSLATORS: the tool's name, then sampler step k of N. */
  return g_strdup_printf (_ ("%s: step %d of %d"), name, info->step,
                          info->steps);
}
