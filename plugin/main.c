/* main.c: the GIMP 2.10 plug-in: PDB registration and run modes. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "plugin.h"

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = {
  NULL,  /* init_proc */
  NULL,  /* quit_proc */
  query, /* query_proc */
  run,   /* run_proc */
};

#define IMG2IMG_NPARAMS 8

static const DiffusionImg2imgVals img2img_defaults = {
  0.5,    /* strength */
  20,     /* steps */
  "ddim", /* sampler */
  0,      /* seed */
  "",     /* model: the shipped one */
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
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode",
      "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_FLOAT, "strength",
      "How far from the original, 0..1: noise to t0 = strength * T and "
      "sample back (0 leaves the layer as it is)" },
    { GIMP_PDB_INT32, "steps", "Network evaluations, 1..1000" },
    { GIMP_PDB_STRING, "sampler",
      "Sampler: \"ddim\" (\"\" means ddim), \"ddpm\", \"skip-step\", "
      "\"dpm-solver-2\", \"dpm-solver-3\", \"dpm-solver++2m\"" },
    { GIMP_PDB_INT32, "seed",
      "Noise seed: the same seed gives the same pixels" },
    { GIMP_PDB_STRING, "model",
      "Model file (.safetensors); \"\" means the shipped model" },
  };

  gimp_plugin_domain_register (GETTEXT_PACKAGE, LOCALEDIR);

  gimp_install_procedure (
      IMG2IMG_PROC, N_ ("Re-imagine the layer with a diffusion model"),
      "SDEdit on the layer (or the selection's bounds): the pixels are "
      "noised to timestep t0 = strength * T with q(x_t0 | x0), then a "
      "denoising diffusion model runs the reverse process back to t = 0 on "
      "the CPU. Alpha is kept as it is. The same seed gives the same pixels.",
      "gimp-diffusion authors", "gimp-diffusion authors", "2025",
      N_ ("_Refine (img2img)..."), "RGB*, GRAY*", GIMP_PLUGIN,
      G_N_ELEMENTS (args), 0, args, NULL);

  gimp_plugin_menu_register (IMG2IMG_PROC, "<Image>/Filters/Enhance/Diffusion");
}

/* Checks the values a caller gave; NULL when they are fine, else a message
 * (newly allocated). */
static gchar *
diffusion_img2img_check (const DiffusionImg2imgVals *vals)
{
  if (!(vals->strength >= 0.0 && vals->strength <= 1.0))
    return g_strdup_printf (_ ("strength %g is outside 0..1"), vals->strength);
  if (vals->steps < 1 || vals->steps > GD_T_MAX)
    return g_strdup_printf (_ ("steps %d is outside 1..%d"), vals->steps,
                            GD_T_MAX);
  if (vals->sampler[0] != '\0' && !gd_sampler_is_known (vals->sampler))
    return g_strdup_printf (_ ("unknown sampler \"%s\""), vals->sampler);
  return NULL;
}

/* Fills vals from a non-interactive call; a message when it cannot. */
static gchar *
diffusion_img2img_from_params (gint nparams, const GimpParam *param,
                               DiffusionImg2imgVals *vals)
{
  const gchar *sampler, *model;

  if (nparams != IMG2IMG_NPARAMS)
    return g_strdup_printf (_ ("%s takes %d arguments, got %d"), IMG2IMG_PROC,
                            IMG2IMG_NPARAMS, nparams);
  sampler = param[5].data.d_string ? param[5].data.d_string : "";
  model = param[7].data.d_string ? param[7].data.d_string : "";
  if (strlen (sampler) >= sizeof vals->sampler)
    return g_strdup_printf (_ ("unknown sampler \"%s\""), sampler);
  if (strlen (model) >= sizeof vals->model)
    return g_strdup (_ ("the model path is too long"));

  vals->strength = param[3].data.d_float;
  vals->steps = param[4].data.d_int32;
  g_strlcpy (vals->sampler, sampler, sizeof vals->sampler);
  vals->seed = param[6].data.d_int32;
  g_strlcpy (vals->model, model, sizeof vals->model);
  return diffusion_img2img_check (vals);
}

/* The values of the last run, or the defaults. */
static void
diffusion_img2img_last_vals (DiffusionImg2imgVals *vals)
{
  *vals = img2img_defaults;
  if (gimp_get_data_size (IMG2IMG_PROC) != sizeof *vals)
    return; /* none yet, or stored by another version of the plug-in */
  gimp_get_data (IMG2IMG_PROC, vals);
  vals->sampler[sizeof vals->sampler - 1] = '\0';
  vals->model[sizeof vals->model - 1] = '\0';
}

static int
diffusion_progress (void *user_data, int done, int total)
{
  (void)user_data;
  gimp_progress_set_text_printf (_ ("Diffusion: step %d of %d"), done, total);
  gimp_progress_update (total > 0 ? (gdouble)done / total : 1.0);
  return 0;
}

/* The work: read, load the model, run, write as one undo step.  Returns
 * NULL on success, else a message (newly allocated) with the image as it
 * was. */
static gchar *
diffusion_img2img_run (gint32 image_id, gint32 drawable_id,
                       const DiffusionImg2imgVals *vals)
{
  DiffusionRegion region;
  gd_task_params params;
  gd_image result;
  gd_model *model;
  gd_error err;
  GError *error = NULL;
  gchar *model_path, *message;
  gint status;

  if (!diffusion_region_read (drawable_id, &region, &error))
    {
      message = g_strdup (error->message);
      g_error_free (error);
      return message;
    }

  gimp_progress_init (_ ("Diffusion: loading the model"));
  model_path = diffusion_model_path_resolve (vals->model);
  gd_error_clear (&err);
  model = gd_model_load (model_path, &err);
  if (model == NULL)
    {
      message = g_strdup_printf (_ ("Cannot load the model %s: %s"), model_path,
                                 err.message);
      g_free (model_path);
      diffusion_region_free (&region);
      return message;
    }
  g_free (model_path);

  gd_task_params_init (&params);
  params.strength = vals->strength;
  params.sampler.sampler = vals->sampler[0] ? vals->sampler : "ddim";
  params.sampler.steps = vals->steps;
  params.sampler.seed = (guint64)(guint32)vals->seed;
  params.progress = diffusion_progress;
  params.progress_data = NULL;

  gimp_progress_set_text (_ ("Diffusion: img2img"));
  gd_set_threads (0);
  status = gd_img2img (model, &params, &region.color, &result, &err);
  gd_model_free (model);
  if (status != GD_OK)
    {
      diffusion_region_free (&region);
      return g_strdup_printf (_ ("img2img failed: %s"), err.message);
    }

  gimp_image_undo_group_start (image_id);
  diffusion_region_write (drawable_id, &region, &result);
  gimp_image_undo_group_end (image_id);
  gimp_progress_update (1.0);

  gd_image_free (&result);
  diffusion_region_free (&region);
  return NULL;
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar *message = NULL;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  GimpRunMode run_mode;
  DiffusionImg2imgVals vals;
  gint32 image_id, drawable_id;

  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  gegl_init (NULL, NULL);

  g_free (message);
  message = NULL;
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;

  if (strcmp (name, IMG2IMG_PROC) != 0 || nparams < 3)
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
  vals = img2img_defaults;

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      diffusion_img2img_last_vals (&vals);
      if (!diffusion_img2img_dialog (drawable_id, &vals))
        {
          status = GIMP_PDB_CANCEL;
          goto done;
        }
      break;

    case GIMP_RUN_NONINTERACTIVE:
      message = diffusion_img2img_from_params (nparams, param, &vals);
      if (message != NULL)
        status = GIMP_PDB_CALLING_ERROR;
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      diffusion_img2img_last_vals (&vals);
      message = diffusion_img2img_check (&vals);
      if (message != NULL)
        status = GIMP_PDB_CALLING_ERROR;
      break;

    default:
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf (_ ("unknown run mode %d"), run_mode);
      break;
    }

  if (status == GIMP_PDB_SUCCESS)
    {
      message = diffusion_img2img_run (image_id, drawable_id, &vals);
      if (message != NULL)
        status = GIMP_PDB_EXECUTION_ERROR;
    }

  if (status == GIMP_PDB_SUCCESS)
    {
      if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush ();
      /* Remembered after every successful run (not only interactive ones),
       * so that Filters > Repeat reuses what a script set too. */
      gimp_set_data (IMG2IMG_PROC, &vals, sizeof vals);
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
