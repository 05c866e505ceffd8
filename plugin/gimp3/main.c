/* main.c: the GIMP 3 plug-in: a GimpPlugIn with the four procedures of the
 * GIMP 2.10 one (same names, same arguments by name), their last values
 * through GimpProcedureConfig, and the run modes (drawable.c has the glue
 * of a run, ../common the rest). */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dialog.h"
#include "gimp3.h"

#define DIFFUSION_TYPE (diffusion_get_type ())
G_DECLARE_FINAL_TYPE (Diffusion, diffusion, DIFFUSION, PLUG_IN, GimpPlugIn)

struct _Diffusion
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (Diffusion, diffusion, GIMP_TYPE_PLUG_IN)

/* The plug-in's own translations, bound here rather than through
 * set_i18n (whose catalog folder must lie under the plug-in's folder; ours
 * is the system's locale folder).  GD_LOCALEDIR overrides the compiled-in
 * folder (an uninstalled build, the tests). */
static gboolean
diffusion_set_i18n (GimpPlugIn *plug_in, const gchar *procedure_name,
                    gchar **gettext_domain, gchar **catalog_dir)
{
  const gchar *localedir = g_getenv ("GD_LOCALEDIR");

  (void)plug_in;
  (void)procedure_name;
  (void)gettext_domain;
  (void)catalog_dir;
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE,
                  localedir && localedir[0] ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  return FALSE;
}

static GList *
diffusion_query_procedures (GimpPlugIn *plug_in)
{
  GList *list = NULL;
  gint i;

  (void)plug_in;
  for (i = 0; i < DIFFUSION_N_TOOLS; i++)
    list = g_list_append (list, g_strdup (diffusion_procedure_get (i)->proc));
  return list;
}

static GimpValueArray *
diffusion_run_procedure (GimpProcedure *procedure, GimpRunMode run_mode,
                         GimpImage *image, GimpDrawable **drawables,
                         GimpProcedureConfig *config, gpointer run_data);

/* A procedure's arguments, from the host layer's table: the same names,
 * ranges and defaults as in GIMP 2.10. */
static void
diffusion_add_arguments (GimpProcedure *procedure,
                         const DiffusionProcedure *proc)
{
  const DiffusionArg *args[DIFFUSION_MAX_ARGS];
  gint n = diffusion_procedure_args (proc->tool, args);
  DiffusionVals defaults;
  gint k;

  diffusion_vals_defaults (proc, &defaults);
  for (k = 0; k < n; k++)
    {
      const DiffusionArg *a = args[k];
      gchar *nick = g_strdup (_ (a->nick));
      gsize len = strlen (nick);
      gchar *mnemonic;

      /* The dialog's labels end in a colon; GIMP 3's widgets add none. */
      if (len > 0 && nick[len - 1] == ':')
        nick[len - 1] = '\0';
      /* GimpProcedureDialog's own buttons take S (Save Settings). */
      mnemonic = strchr (nick, '_');
      if (mnemonic != NULL && g_ascii_tolower (mnemonic[1]) == 's')
        memmove (mnemonic, mnemonic + 1, strlen (mnemonic));
      switch (a->kind)
        {
        case DIFFUSION_ARG_STRENGTH:
          gimp_procedure_add_double_argument (procedure, a->name, nick, a->help,
                                              0.0, 1.0, defaults.strength,
                                              G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_SCALE:
          gimp_procedure_add_int_argument (procedure, a->name, nick, a->help, 2,
                                           4, defaults.scale,
                                           G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_SIGMA:
          gimp_procedure_add_double_argument (procedure, a->name, nick, a->help,
                                              0.0, 255.0, defaults.sigma,
                                              G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_ENSEMBLE:
          gimp_procedure_add_int_argument (procedure, a->name, nick, a->help, 1,
                                           8, defaults.ensemble,
                                           G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_STEPS:
          gimp_procedure_add_int_argument (procedure, a->name, nick, a->help, 1,
                                           GD_T_MAX, defaults.steps,
                                           G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_SAMPLER:
          gimp_procedure_add_string_argument (procedure, a->name, nick, a->help,
                                              defaults.sampler,
                                              G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_SEED:
          gimp_procedure_add_int_argument (procedure, a->name, nick, a->help,
                                           G_MININT32, G_MAXINT32,
                                           defaults.seed, G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_MODEL:
          gimp_procedure_add_string_argument (procedure, a->name, nick, a->help,
                                              defaults.model,
                                              G_PARAM_READWRITE);
          break;
        case DIFFUSION_ARG_FILL:
        case DIFFUSION_ARG_PRECISION:
          /* By name, as the sampler: a string the plug-in checks (a
           * GimpChoice would be GIMP's own list, but GIMP 3.0 gives a
           * script's unknown name the default with only a warning on
           * stderr, where the plug-in must refuse it); the default is the
           * core's. */
          gimp_procedure_add_string_argument (
              procedure, a->name, nick, a->help,
              diffusion_choice_name (a->kind, a->kind == DIFFUSION_ARG_FILL
                                                  ? defaults.fill
                                                  : defaults.precision),
              G_PARAM_READWRITE);
          break;
        }
      g_free (nick);
    }
}

static GimpProcedure *
diffusion_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  const DiffusionProcedure *proc = diffusion_procedure_lookup (name);
  GimpProcedure *procedure;

  if (proc == NULL)
    return NULL;
  procedure = gimp_image_procedure_new (
      plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, diffusion_run_procedure,
      (gpointer)proc, NULL);
  gimp_procedure_set_image_types (procedure, DIFFUSION_IMAGE_TYPES);
  /* Several selected layers: each is processed (upscale takes one). */
  gimp_procedure_set_sensitivity_mask (
      procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                     | (proc->tool != DIFFUSION_UPSCALE
                            ? GIMP_PROCEDURE_SENSITIVE_DRAWABLES
                            : 0));
  gimp_procedure_set_menu_label (procedure, _ (proc->menu_label));
  gimp_procedure_add_menu_path (procedure, DIFFUSION_MENU_PATH);
  gimp_procedure_set_documentation (procedure, _ (proc->blurb), proc->help,
                                    name);
  gimp_procedure_set_attribution (procedure, DIFFUSION_AUTHOR, DIFFUSION_AUTHOR,
                                  DIFFUSION_DATE);
  diffusion_add_arguments (procedure, proc);
  /* The submenu's label, translated in the plug-in's domain. */
  gimp_plug_in_add_menu_branch (plug_in, DIFFUSION_MENU_PARENT,
                                _ ("Diffusion"));
  return procedure;
}

static void
diffusion_class_init (DiffusionClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = diffusion_query_procedures;
  plug_in_class->create_procedure = diffusion_create_procedure;
  plug_in_class->set_i18n = diffusion_set_i18n;
}

static void
diffusion_init (Diffusion *diffusion)
{
  (void)diffusion;
}

static GimpValueArray *
diffusion_return (GimpProcedure *procedure, GimpPDBStatusType status,
                  gchar *message)
{
  GError *error = NULL;

  if (message != NULL)
    {
      error = g_error_new_literal (diffusion_error_quark (), 0, message);
      g_free (message);
    }
  return gimp_procedure_new_return_values (procedure, status, error);
}

static GimpValueArray *
diffusion_run_procedure (GimpProcedure *procedure, GimpRunMode run_mode,
                         GimpImage *image, GimpDrawable **drawables,
                         GimpProcedureConfig *config, gpointer run_data)
{
  const DiffusionProcedure *proc = run_data;
  DiffusionVals vals;
  DiffusionPlan plan;
  GError *error = NULL;
  gchar *message;

  gegl_init (NULL, NULL);
  if (drawables == NULL || drawables[0] == NULL)
    return diffusion_return (procedure, GIMP_PDB_CALLING_ERROR,
                             g_strdup (_ ("No drawable to work on.")));

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gint i;

      /* What the run would refuse (an empty selection for inpaint, an
       * indexed image, a layer group) is said before the dialog opens. */
      for (i = 0; drawables[i] != NULL; i++)
        if (!diffusion_gimp_plan (proc->tool, image, drawables[i], &plan,
                                  &error))
          return gimp_procedure_new_return_values (
              procedure, GIMP_PDB_EXECUTION_ERROR, error);
      /* The dialog previews the first drawable. */
      diffusion_gimp_plan (proc->tool, image, drawables[0], &plan, NULL);
      if (!diffusion_dialog (procedure, proc, config, image, drawables[0],
                             &plan))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL,
                                                 NULL);
    }

  message = diffusion_vals_from_object (proc, G_OBJECT (config), &vals);
  if (message == NULL)
    message = diffusion_vals_check (proc, &vals);
  if (message != NULL)
    return diffusion_return (procedure, GIMP_PDB_CALLING_ERROR, message);

  if (!diffusion_run (proc, image, drawables, &vals, &error))
    return gimp_procedure_new_return_values (procedure,
                                             GIMP_PDB_EXECUTION_ERROR, error);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  /* libgimp keeps the config as the last values after a successful
   * interactive run (Filters > Repeat, Re-Show, the next dialog); a
   * script's values are not remembered (GIMP 2.10's front end remembers
   * every successful run's). */
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

int
main (int argc, char *argv[])
{
  diffusion_model_path_set_self (argc > 0 ? argv[0] : NULL);
  return gimp_main (DIFFUSION_TYPE, argc, argv);
}
