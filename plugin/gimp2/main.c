/* main.c: the GIMP 2.10 plug-in: registration and the run modes of its four
 * procedures (procedures.c has their arguments, drawable.c the glue of a
 * run, ../common the rest). */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "dialog.h"
#include "gimp2.h"

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = {
  NULL,  /* init_proc */
  NULL,  /* quit_proc */
  query, /* query_proc */
  run,   /* run_proc */
};

int
main (int argc, char *argv[])
{
  diffusion_model_path_set_self (argc > 0 ? argv[0] : NULL);
  return gimp_main (&PLUG_IN_INFO, argc, argv);
}

static void
query (void)
{
  diffusion_procedures_install ();
}

/* The plug-in's own translations; GD_LOCALEDIR overrides the compiled-in
 * folder (an uninstalled build, the tests). */
static void
diffusion_i18n_init (void)
{
  const gchar *localedir = g_getenv ("GD_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE,
                  localedir && localedir[0] ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar *message = NULL;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  const DiffusionProcedure *proc;
  GimpRunMode run_mode;
  DiffusionVals vals;
  DiffusionPlan plan;
  gint32 image_id, drawable_id;
  GError *error = NULL;

  diffusion_i18n_init ();
  gegl_init (NULL, NULL);

  g_free (message);
  message = NULL;
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;

  proc = diffusion_procedure_lookup (name);
  if (proc == NULL || nparams < 3)
    {
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf (_ ("%s: unknown procedure or too few "
                                    "arguments"),
                                 name);
      goto done;
    }
  run_mode = param[0].data.d_int32;
  image_id = param[1].data.d_image;
  drawable_id = param[2].data.d_drawable;

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      diffusion_vals_last (proc, &vals);
      /* What the run would refuse (an empty selection for inpaint, an
       * indexed image, a layer group) is said before the dialog opens. */
      if (!diffusion_gimp_plan (proc->tool, image_id, drawable_id, &plan,
                                &error))
        {
          status = GIMP_PDB_EXECUTION_ERROR;
          message = g_strdup (error->message);
          g_clear_error (&error);
          goto done;
        }
      if (!diffusion_dialog (proc, image_id, drawable_id, &plan, &vals))
        {
          status = GIMP_PDB_CANCEL;
          goto done;
        }
      message = diffusion_vals_check (proc, &vals);
      if (message != NULL)
        status = GIMP_PDB_CALLING_ERROR;
      break;

    case GIMP_RUN_NONINTERACTIVE:
      message = diffusion_vals_from_params (proc, nparams, param, &vals);
      if (message != NULL)
        status = GIMP_PDB_CALLING_ERROR;
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      diffusion_vals_last (proc, &vals);
      message = diffusion_vals_check (proc, &vals);
      if (message != NULL)
        status = GIMP_PDB_CALLING_ERROR;
      break;

    default:
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf (_ ("unknown run mode %d"), run_mode);
      break;
    }

  if (status == GIMP_PDB_SUCCESS
      && !diffusion_run (proc, image_id, drawable_id, &vals, &error))
    {
      status = GIMP_PDB_EXECUTION_ERROR;
      message = g_strdup (error->message);
      g_clear_error (&error);
    }

  if (status == GIMP_PDB_SUCCESS)
    {
      if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush ();
      /* Remembered after every successful run (not only interactive ones),
       * so that Filters > Repeat reuses what a script set too. */
      gimp_set_data (proc->proc, &vals, sizeof vals);
    }

done:
  values[0].data.d_status = status;
  if (message != NULL)
    {
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
}
