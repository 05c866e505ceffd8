/* progress.c: "step k of N, tile i of M" after every network evaluation
 * (work.c hands it with the fraction to the front end's progress).
 *
 * Cancel, GIMP 2.10: in GIMP 2.10 the Cancel button of a plug-in's progress makes GIMP
 * close the plug-in (app/plug-in/gimpplugin-progress.c,
 * gimp_plug_in_progress_cancel_callback -> gimp_plug_in_close (plug_in,
 * TRUE): GP_QUIT, then SIGKILL), and gimp_progress_cancel () does nothing
 * for a plug-in's own progress.  So a plug-in cannot hear a cancel; what it
 * can do is never touch the image before its work is done: every tool here
 * computes first and writes the result in one short undo group at the end,
 * and a cancelled run leaves the image as it was.
 *
 * Cancel, GIMP 3.0: the same.  The progress's Cancel button ends the
 * plug-in's procedure call (app/plug-in/gimpplugin-progress.c: the
 * cancel callback closes the plug-in, which GIMP kills when it does not
 * quit by itself); libgimp 3 gives a plug-in no signal or query for it
 * (GimpProgress's cancel vfunc is for progress *providers*, not for a
 * procedure that reports progress).  Writing last keeps the image intact. */
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
