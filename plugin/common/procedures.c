/* procedures.c: the four procedures as both front ends register them:
 * names, texts, arguments, defaults and checks. */
#include "config.h"

#include <string.h>

#include <glib-object.h>
#include <glib/gi18n-lib.h>

#include "host.h"

static const DiffusionProcedure diffusion_procedures[DIFFUSION_N_TOOLS] = {
  { DIFFUSION_IMG2IMG,
    IMG2IMG_PROC,
    GD_TOOL_IMG2IMG,
    N_ ("Refine"),
    N_ ("_Refine (img2img)..."),
    N_ ("Re-imagine the layer or the selection with a diffusion model"),
    "SDEdit on the layer: the pixels are noised to timestep t0 = strength * "
    "T with q(x_t0 | x0), then a denoising diffusion model runs the reverse "
    "process back to t = 0 on the CPU. With a selection only the selection "
    "changes (a feathered edge blends) and the pixels around it guide the "
    "result, as in inpainting at the same strength. Alpha is kept as it is. "
    "The same seed gives the same pixels.",
    "gimp-diffusion-img2img",
    { 0.0, 2, 0.0, 1, 0, DIFFUSION_DEFAULT_SAMPLER, 0, "", 0, 0 } },
  { DIFFUSION_INPAINT,
    INPAINT_PROC,
    GD_TOOL_INPAINT,
    N_ ("Inpaint"),
    N_ ("_Inpaint Selection..."),
    N_ ("Fill the selection so that it matches its surroundings"),
    "The selection is the mask (a feathered edge blends): the pixels "
    "outside it are re-imposed at every step (RePaint for the stochastic "
    "samplers, an x0 projection for the deterministic ones) while the model "
    "makes the inside. Strength 1 fills anew; below 1 refines the "
    "selection filled as `fill` says: with patches of the image around it "
    "(PatchMatch), smoothly from its border, or (auto) each part by its "
    "shape; what was under the selection does not show through. Pixels "
    "outside the selection never change. "
    "An empty selection is an error.",
    "gimp-diffusion-inpaint",
    { 0.0, 2, 0.0, 1, 0, DIFFUSION_DEFAULT_SAMPLER, 0, "", 0, 0 } },
  { DIFFUSION_UPSCALE,
    UPSCALE_PROC,
    GD_TOOL_UPSCALE,
    N_ ("Upscale"),
    N_ ("_Upscale..."),
    N_ ("Enlarge the image 2 or 4 times with detail from a diffusion model"),
    "The image is scaled by 2 or 4 and the layer replaced with the "
    "upscaled pixels, as one undo step. The model fills in detail under "
    "the constraint that a bicubic downscale of the result (as Pillow and "
    "MATLAB resize) gives back the original (DDNM range-null-space "
    "projection); strength below 1 starts "
    "from a noised resize, which takes fewer steps. Alpha is scaled as "
    "GIMP scales it. The selection is kept and scaled with the image.",
    "gimp-diffusion-upscale",
    { 0.0, 2, 0.0, 1, 0, DIFFUSION_DEFAULT_SAMPLER, 0, "", 0, 0 } },
  { DIFFUSION_DENOISE,
    DENOISE_PROC,
    GD_TOOL_DENOISE,
    N_ ("Denoise"),
    N_ ("_Denoise..."),
    N_ ("Remove noise from a photograph"),
    "The photograph is taken as the diffusion state x_t* at the timestep "
    "whose noise level is sigma (on the 0..255 scale; 0 estimates it from "
    "the image) and the model samples it back to t = 0. One step (steps 1) "
    "gives the minimum mean-square-error estimate at that noise level. "
    "Pixels at pure black or white are taken as clipped after the noise: a "
    "first estimate gives each the "
    "value it most likely had before clipping (one more network "
    "evaluation). A self-ensemble of 2, 4 or 8 averages the model over as "
    "many flips and turns of the image: a little less noise left (about "
    "0.2 dB at 8, one step), as many times the time. With a selection only "
    "the selection changes.",
    "gimp-diffusion-denoise",
    { 0.0, 2, 0.0, 1, 0, DIFFUSION_DEFAULT_SAMPLER, 0, "", 0, 0 } },
};

const DiffusionProcedure *
diffusion_procedure_get (DiffusionTool tool)
{
  g_return_val_if_fail (tool >= 0 && tool < DIFFUSION_N_TOOLS, NULL);
  return &diffusion_procedures[tool];
}

const DiffusionProcedure *
diffusion_procedure_lookup (const gchar *proc)
{
  gint i;

  for (i = 0; proc != NULL && i < DIFFUSION_N_TOOLS; i++)
    if (strcmp (diffusion_procedures[i].proc, proc) == 0)
      return &diffusion_procedures[i];
  return NULL;
}

/* The arguments after run-mode, image and drawable, per tool. */
static const DiffusionArg diffusion_arg_strength
    = { DIFFUSION_ARG_STRENGTH, "strength", N_ ("_Strength:"),
        "How far from the original, 0..1: noise to t0 = strength * T and "
        "sample back (0 leaves the pixels as they are)" };
static const DiffusionArg diffusion_arg_inpaint_strength
    = { DIFFUSION_ARG_STRENGTH, "strength", N_ ("_Strength:"),
        "0..1: 1 fills the selection anew, below 1 refines a fill of it "
        "made as `fill` says (0 leaves it as it is)" };
static const DiffusionArg diffusion_arg_upscale_strength
    = { DIFFUSION_ARG_STRENGTH, "strength", N_ ("_Strength:"),
        "0..1: 1 starts from pure noise, below 1 from the enlarged image "
        "noised to t0 = strength * T (fewer steps)" };
static const DiffusionArg diffusion_arg_scale
    = { DIFFUSION_ARG_SCALE, "scale", N_ ("Sc_ale:"),
        "Enlargement factor: 2 or 4" };
static const DiffusionArg diffusion_arg_sigma
    = { DIFFUSION_ARG_SIGMA, "sigma", N_ ("Si_gma:"),
        "Noise standard deviation on the 0..255 scale; 0 estimates it from "
        "the image" };
static const DiffusionArg diffusion_arg_ensemble
    = { DIFFUSION_ARG_ENSEMBLE, "ensemble", N_ ("Self-e_nsemble:"),
        "Self-ensemble: 1 (none), 2, 4 or 8; the model runs on as many "
        "flips and turns of the image and the results are averaged (as many "
        "times the time)" };
static const DiffusionArg diffusion_args_common[] = {
  { DIFFUSION_ARG_STEPS, "steps", N_ ("S_teps:"),
    "Network evaluations, 1..1000" },
  { DIFFUSION_ARG_SAMPLER, "sampler", N_ ("Sa_mpler:"),
    "Sampler: \"ddim\" (\"\" means ddim), \"ddpm\", \"skip-step\", "
    "\"dpm-solver-2\", \"dpm-solver-3\", \"dpm-solver++2m\"" },
  { DIFFUSION_ARG_SEED, "seed", N_ ("S_eed:"),
    "Noise seed: the same seed gives the same pixels" },
  { DIFFUSION_ARG_MODEL, "model", N_ ("Mo_del:"),
    "Model file (.safetensors); \"\" means the shipped model" },
};
/* Appended after the first release (diffusion_arg_is_appended): inpaint's
 * fill, then every tool's precision. */
static const DiffusionArg diffusion_arg_fill
    = { DIFFUSION_ARG_FILL, "fill", N_ ("_Fill:"),
        "Below strength 1, what the hole starts from: \"patch\" (patches "
        "of the image around it: texture and structure), \"smooth\" (the "
        "smooth fill from its border) or \"auto\" (each connected part of "
        "the selection by its shape: patches for a compact, object-sized "
        "part, the smooth fill for a thin stroke or a part over 5% of the "
        "image); \"\" means the tool's default. At strength 1 it starts "
        "from noise whatever this says" };
static const DiffusionArg diffusion_arg_precision
    = { DIFFUSION_ARG_PRECISION, "precision", N_ ("Prec_ision:"),
        "How the network computes: \"exact\" (32-bit floats, the same "
        "pixels on every computer) or \"fast\" (bfloat16 where the CPU "
        "has AVX512_BF16 or AMX, else Winograd convolutions on AVX2, else "
        "exact); \"\" means the default" };

gint
diffusion_procedure_args (DiffusionTool tool, const DiffusionArg **args)
{
  gint n = 0, k;

  switch (tool)
    {
    case DIFFUSION_IMG2IMG:
      args[n++] = &diffusion_arg_strength;
      break;
    case DIFFUSION_INPAINT:
      args[n++] = &diffusion_arg_inpaint_strength;
      break;
    case DIFFUSION_UPSCALE:
      args[n++] = &diffusion_arg_scale;
      args[n++] = &diffusion_arg_upscale_strength;
      break;
    case DIFFUSION_DENOISE:
      args[n++] = &diffusion_arg_sigma;
      args[n++] = &diffusion_arg_ensemble;
      break;
    default:
      g_return_val_if_reached (0);
    }
  for (k = 0; k < (gint)G_N_ELEMENTS (diffusion_args_common); k++)
    args[n++] = &diffusion_args_common[k];
  if (tool == DIFFUSION_INPAINT)
    args[n++] = &diffusion_arg_fill;
  args[n++] = &diffusion_arg_precision;
  g_assert (n <= DIFFUSION_MAX_ARGS);
  return n;
}

gboolean
diffusion_arg_is_appended (const DiffusionArg *arg)
{
  return arg->kind == DIFFUSION_ARG_FILL
         || arg->kind == DIFFUSION_ARG_PRECISION;
}

/* ---------------------------------------------------------------- choices */

/* What a dialog shows for each of the core's names (a name missing here
 * shows as it is). */
static const struct
{
  DiffusionArgKind kind;
  const gchar *name;
  const gchar *label;
} diffusion_choice_labels[] = {
  { DIFFUSION_ARG_FILL, "patch", N_ ("Patches of the image") },
  { DIFFUSION_ARG_FILL, "smooth", N_ ("Smooth fill") },
  { DIFFUSION_ARG_FILL, "auto", N_ ("Auto: by the hole's shape") },
  { DIFFUSION_ARG_PRECISION, "exact", N_ ("Exact (32-bit floats)") },
  { DIFFUSION_ARG_PRECISION, "fast", N_ ("Fast (bfloat16 or Winograd)") },
};

const gchar *
diffusion_choice_name (DiffusionArgKind kind, gint value)
{
  switch (kind)
    {
    case DIFFUSION_ARG_FILL:
      return gd_fill_name ((gd_fill)value);
    case DIFFUSION_ARG_PRECISION:
      /* (gd_precision_name names any other value "exact") */
      return value >= 0
                     && gd_precision_from_name (
                            gd_precision_name ((gd_precision)value))
                            == value
                 ? gd_precision_name ((gd_precision)value)
                 : NULL;
    default:
      return NULL;
    }
}

gint
diffusion_choice_count (DiffusionArgKind kind)
{
  gint n = 0;

  while (diffusion_choice_name (kind, n) != NULL)
    n++;
  return n;
}

const gchar *
diffusion_choice_label (DiffusionArgKind kind, gint value)
{
  const gchar *name = diffusion_choice_name (kind, value);
  gsize k;

  for (k = 0; name != NULL && k < G_N_ELEMENTS (diffusion_choice_labels); k++)
    if (diffusion_choice_labels[k].kind == kind
        && strcmp (diffusion_choice_labels[k].name, name) == 0)
      return diffusion_choice_labels[k].label;
  return name;
}

gint
diffusion_choice_from_name (DiffusionArgKind kind, const gchar *name)
{
  gint value;

  for (value = 0; name != NULL && diffusion_choice_name (kind, value) != NULL;
       value++)
    if (strcmp (diffusion_choice_name (kind, value), name) == 0)
      return value;
  return -1;
}

/* "a, b or c": the names a choice takes, for a message. */
static gchar *
diffusion_choice_names_text (DiffusionArgKind kind)
{
  GString *text = g_string_new (NULL);
  gint n = diffusion_choice_count (kind), k;

  for (k = 0; k < n; k++)
    {
      if (k > 0)
        /* TRANSLATORS: between the last two names of a list. */
        g_string_append (text, k == n - 1 ? _ (" or ") : ", ");
      g_string_append_printf (text, "\"%s\"", diffusion_choice_name (kind, k));
    }
  return g_string_free (text, FALSE);
}

gchar *
diffusion_vals_set_choice (DiffusionVals *vals, DiffusionArgKind kind,
                           const gchar *name)
{
  gint value;
  gchar *names, *message;

  g_return_val_if_fail (
      kind == DIFFUSION_ARG_FILL || kind == DIFFUSION_ARG_PRECISION, NULL);
  if (name == NULL || name[0] == '\0')
    return NULL;
  value = diffusion_choice_from_name (kind, name);
  if (value >= 0)
    {
      if (kind == DIFFUSION_ARG_FILL)
        vals->fill = value;
      else
        vals->precision = value;
      return NULL;
    }
  names = diffusion_choice_names_text (kind);
  message = kind == DIFFUSION_ARG_FILL
                /* TRANSLATORS: the name given, then the names it can be. */
                ? g_strdup_printf (_ ("unknown fill \"%s\" (expected %s)"),
                                   name, names)
                : g_strdup_printf (_ ("unknown precision \"%s\" (expected "
                                      "%s)"),
                                   name, names);
  g_free (names);
  return message;
}

const gchar *
diffusion_vals_sampler (const DiffusionVals *vals)
{
  return vals->sampler[0] ? vals->sampler : DIFFUSION_DEFAULT_SAMPLER;
}

gchar *
diffusion_vals_check (const DiffusionProcedure *proc, const DiffusionVals *vals)
{
  if (proc->tool != DIFFUSION_DENOISE
      && !(vals->strength >= 0.0 && vals->strength <= 1.0))
    return g_strdup_printf (_ ("strength %g is outside 0..1"), vals->strength);
  if (proc->tool == DIFFUSION_UPSCALE && vals->scale != 2 && vals->scale != 4)
    return g_strdup_printf (_ ("scale %d is not 2 or 4"), vals->scale);
  if (proc->tool == DIFFUSION_DENOISE
      && !(vals->sigma >= 0.0 && vals->sigma <= 255.0))
    return g_strdup_printf (_ ("sigma %g is outside 0..255"), vals->sigma);
  if (proc->tool == DIFFUSION_DENOISE && vals->ensemble != 1
      && vals->ensemble != 2 && vals->ensemble != 4 && vals->ensemble != 8)
    return g_strdup_printf (_ ("self-ensemble %d is not 1, 2, 4 or 8"),
                            vals->ensemble);
  if (vals->steps < 1 || vals->steps > GD_T_MAX)
    return g_strdup_printf (_ ("steps %d is outside 1..%d"), vals->steps,
                            GD_T_MAX);
  if (vals->sampler[0] != '\0'
      && gd_sampler_from_name (vals->sampler, &(gd_sampler_kind){ 0 }, NULL)
             != GD_OK)
    return g_strdup_printf (_ ("unknown sampler \"%s\""), vals->sampler);
  /* (stored last values from another build can hold anything) */
  if (diffusion_choice_name (DIFFUSION_ARG_FILL, vals->fill) == NULL)
    return g_strdup_printf (_ ("unknown fill %d"), vals->fill);
  if (diffusion_choice_name (DIFFUSION_ARG_PRECISION, vals->precision) == NULL)
    return g_strdup_printf (_ ("unknown precision %d"), vals->precision);
  return NULL;
}

gchar *
diffusion_vals_set_strings (DiffusionVals *vals, const gchar *sampler,
                            const gchar *model)
{
  sampler = sampler ? sampler : "";
  model = model ? model : "";
  if (strlen (sampler) >= sizeof vals->sampler)
    return g_strdup_printf (_ ("unknown sampler \"%s\""), sampler);
  if (strlen (model) >= sizeof vals->model)
    return g_strdup (_ ("the model path is too long"));
  g_strlcpy (vals->sampler, sampler, sizeof vals->sampler);
  g_strlcpy (vals->model, model, sizeof vals->model);
  return NULL;
}

/* The procedure's defaults, with strength, steps, fill and precision from
 * the core's (the CLI's too): its per-tool table and gd_task_params_init. */
void
diffusion_vals_defaults (const DiffusionProcedure *proc, DiffusionVals *vals)
{
  gd_tool_defaults d;
  gd_task_params p;

  *vals = proc->defaults;
  gd_task_params_init (&p);
  vals->fill = p.fill;
  vals->precision = p.precision;
  if (gd_tool_defaults_get (proc->task, &d, NULL) == GD_OK)
    {
      vals->strength = d.strength;
      vals->steps = d.steps;
      if (proc->tool == DIFFUSION_INPAINT)
        vals->fill = d.fill;
    }
}

gchar *
diffusion_vals_from_object (const DiffusionProcedure *proc, GObject *config,
                            DiffusionVals *vals)
{
  const DiffusionArg *args[DIFFUSION_MAX_ARGS];
  gint n = diffusion_procedure_args (proc->tool, args);
  gchar *sampler = NULL, *model = NULL, *message = NULL;
  gint k;

  diffusion_vals_defaults (proc, vals);
  for (k = 0; k < n; k++)
    switch (args[k]->kind)
      {
      case DIFFUSION_ARG_STRENGTH:
        g_object_get (config, args[k]->name, &vals->strength, NULL);
        break;
      case DIFFUSION_ARG_SCALE:
        g_object_get (config, args[k]->name, &vals->scale, NULL);
        break;
      case DIFFUSION_ARG_SIGMA:
        g_object_get (config, args[k]->name, &vals->sigma, NULL);
        break;
      case DIFFUSION_ARG_ENSEMBLE:
        g_object_get (config, args[k]->name, &vals->ensemble, NULL);
        break;
      case DIFFUSION_ARG_STEPS:
        g_object_get (config, args[k]->name, &vals->steps, NULL);
        break;
      case DIFFUSION_ARG_SAMPLER:
        g_object_get (config, args[k]->name, &sampler, NULL);
        break;
      case DIFFUSION_ARG_SEED:
        g_object_get (config, args[k]->name, &vals->seed, NULL);
        break;
      case DIFFUSION_ARG_MODEL:
        g_object_get (config, args[k]->name, &model, NULL);
        break;
      case DIFFUSION_ARG_FILL:
      case DIFFUSION_ARG_PRECISION:
        {
          gchar *name = NULL;

          g_object_get (config, args[k]->name, &name, NULL);
          if (message == NULL)
            message = diffusion_vals_set_choice (vals, args[k]->kind, name);
          g_free (name);
        }
        break;
      }
  if (message == NULL)
    message = diffusion_vals_set_strings (vals, sampler, model);
  g_free (sampler);
  g_free (model);
  return message;
}
