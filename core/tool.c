/* tool.c: each tool's policy, once: its name, its defaults, its plan (the
 * network evaluations it makes) and its run.  The CLI, the GIMP front ends
 * and the dialogs' time estimates call these, so that they cannot drift
 * apart. */
#include "image.h"
#include "task.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const char *name;
  gd_tool_defaults defaults;
  int (*plan) (const gd_schedule *sched, const gd_task_params *p, int width,
               int height, gd_tool_plan *plan, gd_error *err);
  int (*run) (gd_model *model, const gd_task_params *p, const gd_image *in,
              const gd_image *mask, gd_image *out, gd_error *err);
} tool_desc;

static const tool_desc tools[GD_TOOL_COUNT];

/* img2img: with a selection the surroundings steer the result: the
 * selection refined in place by inpaint at the chosen strength, with
 * inpaint's eta (it steers every step and needs fresh noise). */
static int
img2img_run (gd_model *model, const gd_task_params *p, const gd_image *in,
             const gd_image *mask, gd_image *out, gd_error *err)
{
  gd_task_params q;

  if (mask == NULL)
    return gd_img2img (model, p, in, out, err);
  q = *p;
  q.refine_hole = 1;
  q.sampler.eta = tools[GD_TOOL_INPAINT].defaults.eta;
  return gd_inpaint (model, &q, in, mask, out, err);
}

static int
inpaint_run (gd_model *model, const gd_task_params *p, const gd_image *in,
             const gd_image *mask, gd_image *out, gd_error *err)
{
  return gd_inpaint (model, p, in, mask, out, err);
}

static int
upscale_run (gd_model *model, const gd_task_params *p, const gd_image *in,
             const gd_image *mask, gd_image *out, gd_error *err)
{
  (void)mask;
  return gd_upscale (model, p, in, out, err);
}

static int
denoise_run (gd_model *model, const gd_task_params *p, const gd_image *in,
             const gd_image *mask, gd_image *out, gd_error *err)
{
  (void)mask;
  return gd_denoise (model, p, in, out, err);
}

/* gd_tool_nfe counts the clip correction's pass whenever it is asked for:
 * an upper bound, as whether a value is clipped depends on the image. */
static int
denoise_plan_bound (const gd_schedule *sched, const gd_task_params *p,
                    int width, int height, gd_tool_plan *plan, gd_error *err)
{
  return gd_denoise_plan (sched, p, 1, width, height, plan, err);
}

/* In gd_tool order; docs/tools.md gives the reasons for the defaults. */
static const tool_desc tools[GD_TOOL_COUNT] = {
  /* img2img: a light refinement; the user raises it for more change. */
  { "img2img", { 0.3, 0.0, 20, GD_FILL_SMOOTH }, gd_img2img_plan, img2img_run },
  /* inpaint: each hole filled by its shape (patches for an object, the
   * smooth fill for a stroke or a large hole), lightly refined: the
   * shipped model smooths texture away at higher strengths (docs/tools.md,
   * "Inpaint defaults"). */
  { "inpaint", { 0.03, 1.0, 5, GD_FILL_AUTO }, gd_inpaint_plan, inpaint_run },
  /* upscale: a light pass over the consistent bicubic enlargement
   * (docs/tools.md, "Upscale defaults"). */
  { "upscale", { 0.15, 0.85, 20, GD_FILL_SMOOTH }, gd_upscale_plan, upscale_run },
  /* denoise: one step, the MMSE estimate x0_hat(t*) (the front ends take
   * steps 1 as one_step): the best PSNR on Gaussian and camera-like noise,
   * at a tenth of 10 steps' time (docs/tools.md, "Denoise defaults"). */
  { "denoise", { 0.5, 0.0, 1, GD_FILL_SMOOTH }, denoise_plan_bound, denoise_run },
};

static const tool_desc *
tool_get (gd_tool tool)
{
  return (int)tool >= 0 && (int)tool < GD_TOOL_COUNT ? &tools[tool] : NULL;
}

const char *
gd_tool_name (gd_tool tool)
{
  const tool_desc *desc = tool_get (tool);

  return desc != NULL ? desc->name : NULL;
}

int
gd_tool_from_name (const char *name, gd_tool *tool, gd_error *err)
{
  assert (tool != NULL);
  for (int k = 0; name != NULL && k < GD_TOOL_COUNT; k++)
    if (strcmp (name, tools[k].name) == 0)
      {
        *tool = (gd_tool)k;
        return GD_OK;
      }
  return gd_error_set (err, GD_ERR_INVALID,
                       "unknown tool \"%s\" (img2img, inpaint, upscale, "
                       "denoise)",
                       name != NULL ? name : "(null)");
}

int
gd_tool_defaults_get (gd_tool tool, gd_tool_defaults *d, gd_error *err)
{
  const tool_desc *desc = tool_get (tool);

  assert (d != NULL);
  if (desc == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "unknown tool %d", (int)tool);
  *d = desc->defaults;
  return GD_OK;
}

int
gd_tool_params_init (gd_tool tool, gd_task_params *p, gd_error *err)
{
  gd_tool_defaults d;
  int status;

  assert (p != NULL);
  status = gd_tool_defaults_get (tool, &d, err);
  if (status != GD_OK)
    return status;
  gd_task_params_init (p);
  p->strength = d.strength;
  p->sampler.eta = d.eta;
  p->sampler.steps = d.steps;
  return GD_OK;
}

int
gd_tool_run (gd_model *model, gd_tool tool, const gd_task_params *p,
             const gd_image *in, const gd_image *mask, gd_image *out,
             gd_error *err)
{
  const tool_desc *desc = tool_get (tool);

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  if (desc == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "unknown tool %d", (int)tool);
  if (mask != NULL && (tool == GD_TOOL_UPSCALE || tool == GD_TOOL_DENOISE))
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: works on the whole image, not on a mask",
                         desc->name);
  return desc->run (model, p, in, mask, out, err);
}

int
gd_tool_nfe (const gd_model *model, gd_tool tool, const gd_task_params *p,
             int width, int height, gd_error *err)
{
  const tool_desc *desc = tool_get (tool);
  const gd_model_info *info;
  gd_tool_plan plan;
  gd_tiling tiling;
  gd_precision precision;
  int evals;

  if (model == NULL || p == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "gd_tool_nfe: NULL argument"), -1;
  if (desc == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "unknown tool %d", (int)tool),
           -1;
  if (width <= 0 || height <= 0)
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: image size %d x %d: both sides must be positive",
                         desc->name, width, height),
           -1;
  if (gd_sampler_name (p->sampler.kind) == NULL || p->sampler.steps < 1
      || !(p->strength >= 0.0 && p->strength <= 1.0))
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: unknown sampler, steps < 1 or strength outside "
                         "0..1",
                         desc->name),
           -1;
  if (!gd_net_ensemble_is_valid (p->ensemble))
    return gd_error_set (err, GD_ERR_INVALID,
                         "%s: self-ensemble of %d (expected 1, 2, 4 or 8)",
                         desc->name, p->ensemble),
           -1;
  info = gd_model_get_info (model);
  if (desc->plan (&info->schedule, p, width, height, &plan, err) != GD_OK)
    return -1;
  if (gd_net_plan (&tiling, model, p, plan.width, plan.height, &precision,
                   err)
      != GD_OK)
    return -1;
  /* As gd_net counts them: ensemble passes per evaluation, then the
   * one-pass evaluations. */
  if (plan.evals > (INT_MAX - plan.single) / p->ensemble)
    return gd_error_set (err, GD_ERR_INVALID, "%s: too many evaluations",
                         desc->name),
           -1;
  evals = plan.evals * p->ensemble + plan.single;
  if (evals > INT_MAX / gd_tiling_count (&tiling))
    return gd_error_set (err, GD_ERR_INVALID, "%s: too many evaluations",
                         desc->name),
           -1;
  return evals * gd_tiling_count (&tiling);
}
