/* progress-probe.c: a test plug-in for the e2e tests.  It installs a
 * progress of its own (gimp_progress_install_vtable), calls one of the
 * diffusion procedures non-interactively, and writes every progress call
 * it receives to a file, one line each:
 *   start<TAB>message   text<TAB>message   value<TAB>fraction   end
 * then "status<TAB>N<TAB>message" for the call's result.  GIMP routes the
 * called plug-in's progress to the caller's, so the lines are exactly what
 * a user's progress bar would show. */
#include <stdio.h>
#include <string.h>

#include <libgimp/gimp.h>

#define PROBE_PROC "plug-in-gd-progress-probe"

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_STRING, "procedure", "The diffusion procedure to call" },
    { GIMP_PDB_FLOAT, "value", "strength, or sigma for denoise" },
    { GIMP_PDB_INT32, "scale",
      "upscale's scale, denoise's ensemble (others: unused); -1: call "
      "with one argument "
      "too few (the model), to see the callee refuse" },
    { GIMP_PDB_INT32, "steps", "steps" },
    { GIMP_PDB_STRING, "sampler", "sampler" },
    { GIMP_PDB_INT32, "seed", "seed" },
    { GIMP_PDB_STRING, "model", "model" },
    { GIMP_PDB_STRING, "log", "the file the progress calls go to" },
  };

  gimp_install_procedure (PROBE_PROC, "Record a procedure's progress",
                          "Test helper of gimp-diffusion's e2e tests.",
                          "gimp-diffusion authors", "gimp-diffusion authors",
                          "2025", NULL, "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (args), 0, args, NULL);
}

static void
probe_start (const gchar *message, gboolean cancelable, gpointer data)
{
  fprintf (data, "start\t%s\t%s\n", message ? message : "",
           cancelable ? "cancelable" : "not-cancelable");
  fflush (data);
}

static void
probe_end (gpointer data)
{
  fprintf (data, "end\n");
  fflush (data);
}

static void
probe_text (const gchar *message, gpointer data)
{
  fprintf (data, "text\t%s\n", message ? message : "");
  fflush (data);
}

static void
probe_value (gdouble fraction, gpointer data)
{
  fprintf (data, "value\t%.6f\n", fraction);
  fflush (data);
}

static void
probe_pulse (gpointer data)
{
  fprintf (data, "pulse\n");
  fflush (data);
}

static guint32
probe_window (gpointer data)
{
  (void)data;
  return 0;
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[1];
  GimpProgressVtable vtable;
  const gchar *proc = param[3].data.d_string;
  GimpParam call[9], *result;
  const gchar *callback;
  gint n = 0, nresult = 0;
  FILE *log;

  (void)name;
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
  if (nparams != 11 || (log = fopen (param[10].data.d_string, "w")) == NULL)
    return;

  call[n].type = GIMP_PDB_INT32;
  call[n++].data.d_int32 = GIMP_RUN_NONINTERACTIVE;
  call[n].type = GIMP_PDB_IMAGE;
  call[n++].data.d_image = param[1].data.d_image;
  call[n].type = GIMP_PDB_DRAWABLE;
  call[n++].data.d_drawable = param[2].data.d_drawable;
  /* The tool's own arguments: upscale (scale, strength), denoise (sigma,
   * ensemble), the others (strength). */
  if (strcmp (proc, "plug-in-diffusion-upscale") == 0)
    {
      call[n].type = GIMP_PDB_INT32;
      call[n++].data.d_int32 = param[5].data.d_int32;
    }
  call[n].type = GIMP_PDB_FLOAT;
  call[n++].data.d_float = param[4].data.d_float;
  if (strcmp (proc, "plug-in-diffusion-denoise") == 0)
    {
      call[n].type = GIMP_PDB_INT32;
      call[n++].data.d_int32 = param[5].data.d_int32;
    }
  call[n].type = GIMP_PDB_INT32;
  call[n++].data.d_int32 = param[6].data.d_int32;
  call[n].type = GIMP_PDB_STRING;
  call[n++].data.d_string = param[7].data.d_string;
  call[n].type = GIMP_PDB_INT32;
  call[n++].data.d_int32 = param[8].data.d_int32;
  call[n].type = GIMP_PDB_STRING;
  call[n++].data.d_string = param[9].data.d_string;
  if (param[5].data.d_int32 == -1)
    n--;

  memset (&vtable, 0, sizeof vtable);
  vtable.start = probe_start;
  vtable.end = probe_end;
  vtable.set_text = probe_text;
  vtable.set_value = probe_value;
  vtable.pulse = probe_pulse;
  vtable.get_window = probe_window;
  callback = gimp_progress_install_vtable (&vtable, log);
  result = gimp_run_procedure2 (proc, &nresult, n, call);
  fprintf (log, "status\t%d\t%s\n", result[0].data.d_status,
           nresult > 1 && result[1].type == GIMP_PDB_STRING
               ? result[1].data.d_string
               : "");
  values[0].data.d_status = result[0].data.d_status;
  gimp_destroy_params (result, nresult);
  if (callback != NULL)
    gimp_progress_uninstall (callback);
  fclose (log);
}
