/* procedures.c: the four procedures in GIMP 2.10's PDB: their arguments
 * (from the host layer's table), the arguments of a call, last values. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "gimp2.h"

static const GimpParamDef diffusion_args_head[] = {
  { GIMP_PDB_INT32, "run-mode",
    "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), "
    "RUN-WITH-LAST-VALS (2) }" },
  { GIMP_PDB_IMAGE, "image", "Input image" },
  { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
};

/* The procedure's arguments (head and own); returns how many. */
static gint
diffusion_params (DiffusionTool tool, GimpParamDef *params)
{
  const DiffusionArg *args[DIFFUSION_MAX_ARGS];
  gint n_args = diffusion_procedure_args (tool, args);
  gint n = 0, k;

  for (k = 0; k < (gint)G_N_ELEMENTS (diffusion_args_head); k++)
    params[n++] = diffusion_args_head[k];
  for (k = 0; k < n_args; k++)
    {
      GimpPDBArgType type;

      switch (args[k]->kind)
        {
        case DIFFUSION_ARG_STRENGTH:
        case DIFFUSION_ARG_SIGMA:
          type = GIMP_PDB_FLOAT;
          break;
        case DIFFUSION_ARG_SAMPLER:
        case DIFFUSION_ARG_MODEL:
        case DIFFUSION_ARG_FILL:
        case DIFFUSION_ARG_PRECISION:
          /* fill and precision by name, as the sampler (and as GIMP 3's
           * choice arguments), "" for the default */
          type = GIMP_PDB_STRING;
          break;
        default:
          type = GIMP_PDB_INT32;
          break;
        }
      params[n].type = type;
      params[n].name = (gchar *)args[k]->name;
      params[n].description = (gchar *)args[k]->help;
      n++;
    }
  return n;
}

void
diffusion_procedures_install (void)
{
  gint i;

  gimp_plugin_domain_register (GETTEXT_PACKAGE, LOCALEDIR);
  /* The submenu's label, translated in the plug-in's domain. */
  gimp_plugin_menu_branch_register (DIFFUSION_MENU_PARENT, N_ ("Diffusion"));

  for (i = 0; i < DIFFUSION_N_TOOLS; i++)
    {
      const DiffusionProcedure *proc = diffusion_procedure_get (i);
      GimpParamDef
          params[G_N_ELEMENTS (diffusion_args_head) + DIFFUSION_MAX_ARGS];
      gint n = diffusion_params (proc->tool, params);

      gimp_install_procedure (
          proc->proc, proc->blurb, proc->help, DIFFUSION_AUTHOR,
          DIFFUSION_AUTHOR, DIFFUSION_DATE, proc->menu_label,
          DIFFUSION_IMAGE_TYPES, GIMP_PLUGIN, n, 0, params, NULL);
      gimp_plugin_menu_register (proc->proc, DIFFUSION_MENU_PATH);
    }
}

gchar *
diffusion_vals_from_params (const DiffusionProcedure *proc, gint nparams,
                            const GimpParam *param, DiffusionVals *vals)
{
  const DiffusionArg *args[DIFFUSION_MAX_ARGS];
  gint n_args = diffusion_procedure_args (proc->tool, args);
  gint head = G_N_ELEMENTS (diffusion_args_head);
  const gchar *sampler = "", *model = "";
  gchar *message = NULL;
  gint required = head, k;

  /* The appended arguments may be left out (an older script's call): they
   * keep their defaults. */
  for (k = 0; k < n_args && !diffusion_arg_is_appended (args[k]); k++)
    required++;
  if (nparams < required || nparams > head + n_args)
    return required == head + n_args
               ? g_strdup_printf (_ ("%s takes %d arguments, got %d"),
                                  proc->proc, required, nparams)
               : g_strdup_printf (_ ("%s takes %d to %d arguments, got %d"),
                                  proc->proc, required, head + n_args, nparams);
  diffusion_vals_defaults (proc, vals);
  for (k = 0; k < n_args && head + k < nparams && message == NULL; k++)
    {
      const GimpParam *p = &param[head + k];

      switch (args[k]->kind)
        {
        case DIFFUSION_ARG_STRENGTH:
          vals->strength = p->data.d_float;
          break;
        case DIFFUSION_ARG_SCALE:
          vals->scale = p->data.d_int32;
          break;
        case DIFFUSION_ARG_SIGMA:
          vals->sigma = p->data.d_float;
          break;
        case DIFFUSION_ARG_ENSEMBLE:
          vals->ensemble = p->data.d_int32;
          break;
        case DIFFUSION_ARG_STEPS:
          vals->steps = p->data.d_int32;
          break;
        case DIFFUSION_ARG_SAMPLER:
          sampler = p->data.d_string ? p->data.d_string : "";
          break;
        case DIFFUSION_ARG_SEED:
          vals->seed = p->data.d_int32;
          break;
        case DIFFUSION_ARG_MODEL:
          model = p->data.d_string ? p->data.d_string : "";
          break;
        case DIFFUSION_ARG_FILL:
        case DIFFUSION_ARG_PRECISION:
          message = diffusion_vals_set_choice (vals, args[k]->kind,
                                               p->data.d_string);
          break;
        }
    }
  if (message == NULL)
    message = diffusion_vals_set_strings (vals, sampler, model);
  if (message != NULL)
    return message;
  return diffusion_vals_check (proc, vals);
}

void
diffusion_vals_last (const DiffusionProcedure *proc, DiffusionVals *vals)
{
  diffusion_vals_defaults (proc, vals);
  if (gimp_get_data_size (proc->proc) != sizeof *vals)
    return; /* none yet, or stored by another version of the plug-in */
  gimp_get_data (proc->proc, vals);
  vals->sampler[sizeof vals->sampler - 1] = '\0';
  vals->model[sizeof vals->model - 1] = '\0';
}
