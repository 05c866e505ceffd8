/* estimate.c: how long a run will take: network evaluations (gd_tool_nfe,
 * tiles included) times the measured time of one evaluation. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "host.h"

/* A side this small is never tiled: the evaluations of one tile. */
#define DIFFUSION_UNTILED_SIZE 64

static gchar *
diffusion_duration_text (gdouble seconds)
{
  gint total = (gint)ceil (seconds);

  if (total < 60)
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%d second", "%d seconds", total), total);
  if (total < 3600)
    /* TRANSLATORS: minutes and seconds, as in "3 min 20 s". */
    return g_strdup_printf (_ ("%d min %d s"), total / 60, total % 60);
  /* TRANSLATORS: hours and minutes, as in "1 h 5 min". */
  return g_strdup_printf (_ ("%d h %d min"), total / 3600, (total % 3600) / 60);
}

gchar *
diffusion_estimate_text (const DiffusionProcedure *proc,
                         const DiffusionVals *vals, const gd_model *model,
                         gint width, gint height, gdouble sigma,
                         gdouble seconds_per_pixel)
{
  gd_task_params params;
  gd_error err;
  gint nfe, nfe_tile, tiles, scale;
  gdouble pixels, seconds;
  gchar *duration, *evaluations, *text;

  if (model == NULL)
    return g_strdup (_ ("No model loaded: no estimate."));
  diffusion_task_params (proc, vals, &params);
  if (proc->tool == DIFFUSION_DENOISE && params.sigma <= 0.0 && sigma >= 0.0)
    params.sigma = MAX (sigma, GD_SIGMA_FLOOR);
  gd_error_clear (&err);
  nfe = gd_tool_nfe (model, proc->task, &params, width, height, &err);
  if (nfe < 0)
    return g_strdup_printf (_ ("No estimate: %s"), err.message);
  nfe_tile = gd_tool_nfe (model, proc->task, &params, DIFFUSION_UNTILED_SIZE,
                          DIFFUSION_UNTILED_SIZE, NULL);
  tiles = nfe_tile > 0 ? MAX (nfe / nfe_tile, 1) : 1;

  if (tiles > 1)
    evaluations = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%d network evaluation in %d tiles",
                     "%d network evaluations in %d tiles", nfe),
        nfe, tiles);
  else
    evaluations = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                "%d network evaluation",
                                                "%d network evaluations", nfe),
                                   nfe);
  if (seconds_per_pixel <= 0.0)
    {
      /* TRANSLATORS: the number of network evaluations, as above. */
      text = g_strdup_printf (_ ("%s; measuring the speed..."), evaluations);
      g_free (evaluations);
      return text;
    }

  /* Every evaluation sees one tile: the network's pixels over the tiles. */
  scale = proc->tool == DIFFUSION_UPSCALE ? vals->scale : 1;
  pixels = (gdouble)width * height * scale * scale / tiles;
  seconds = seconds_per_pixel * pixels * nfe;
  if (seconds < 1.0)
    /* TRANSLATORS: the number of network evaluations, as above. */
    text = g_strdup_printf (_ ("Under a second (%s)"), evaluations);
  else
    {
      duration = diffusion_duration_text (seconds);
      /* TRANSLATORS: a duration, then the number of network
       * evaluations. */
      text = g_strdup_printf (_ ("About %s (%s)"), duration, evaluations);
      g_free (duration);
    }
  g_free (evaluations);
  return text;
}
