/* progress.c: "step k of N, tile i of M" after every network evaluation.
 *
 * Cancel: in GIMP 2.10 the Cancel button of a plug-in's progress makes GIMP
 * close the plug-in (app/plug-in/gimpplugin-progress.c,
 * gimp_plug_in_progress_cancel_callback -> gimp_plug_in_close (plug_in,
 * TRUE): GP_QUIT, then SIGKILL), and gimp_progress_cancel () does nothing
 * for a plug-in's own progress.  So a plug-in cannot hear a cancel; what it
 * can do is never touch the image before its work is done: every tool here
 * computes first and writes the result in one short undo group at the end,
 * and a cancelled run leaves the image as it was. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "plugin.h"

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

/* The core's task progress to GIMP's; user_data is the tool's name. */
int
diffusion_progress_gimp (void *user_data, const gd_progress_info *info)
{
  gchar *text = diffusion_progress_text (user_data, info);

  gimp_progress_set_text (text);
  g_free (text);
  gimp_progress_update (info->total > 0 ? (gdouble)info->done / info->total
                                        : 1.0);
  return 0; /* never cancels: GIMP ends the process instead (see above) */
}
