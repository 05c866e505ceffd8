/* plan.c: where a tool works on a drawable, and what it refuses: the same
 * decisions for both front ends, from what each asked its GIMP. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "host.h"

/* The rectangle (x, y, width, height) grown by the context margin on every
 * side and clipped to 0..limit. */
void
diffusion_plan_context (gint x, gint y, gint width, gint height,
                        gint limit_width, gint limit_height, gint *wx, gint *wy,
                        gint *ww, gint *wh)
{
  gint margin = MAX (width, height) / 2;
  gint x1, y1, x2, y2;

  margin = CLAMP (margin, DIFFUSION_CONTEXT_MIN, DIFFUSION_CONTEXT_MAX);
  x1 = MAX (x - margin, 0);
  y1 = MAX (y - margin, 0);
  x2 = MIN (x + width + margin, limit_width);
  y2 = MIN (y + height + margin, limit_height);
  *wx = x1;
  *wy = y1;
  *ww = x2 - x1;
  *wh = y2 - y1;
}

gboolean
diffusion_plan_make (DiffusionTool tool, const DiffusionTarget *target,
                     DiffusionPlan *plan, GError **error)
{
  memset (plan, 0, sizeof *plan);
  plan->tool = tool;
  plan->image_width = target->width;
  plan->image_height = target->height;

  if (!target->valid)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("No drawable to work on."));
      return FALSE;
    }
  /* A group's pixels are the composite of its children: GIMP refuses to
   * merge a shadow into it, so the work would be lost (and upscale would
   * scale the image without upscaling anything). */
  if (target->is_group)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Cannot modify the pixels of layer groups: "
                              "select a layer inside the group."));
      return FALSE;
    }
  if (target->is_indexed)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Indexed images are not supported: convert the "
                              "image to RGB or Grayscale first "
                              "(Image > Mode)."));
      return FALSE;
    }

  /* A floating selection is worked on as GIMP's filters do, as a layer of
   * its own: only its pixels change and it stays floating.  Another
   * drawable of the image changes under it, as with GIMP's filters. */
  if (tool == DIFFUSION_UPSCALE)
    {
      /* The whole layer: the image is scaled, the selection with it. */
      if (!target->is_layer)
        {
          g_set_error_literal (error, diffusion_error_quark (), 0,
                               _ ("Upscaling works on a layer: select a "
                                  "layer, not a channel or a mask."));
          return FALSE;
        }
      /* Scaling the image would scale a paste that is not yet in place;
       * anchoring it here would take the user's decision. */
      if (target->floating)
        {
          g_set_error_literal (error, diffusion_error_quark (), 0,
                               _ ("Upscaling scales the whole image: anchor "
                                  "the floating selection first (Layer > "
                                  "Anchor Layer) or make it a new layer "
                                  "(Layer > To New Layer)."));
          return FALSE;
        }
      plan->width = plan->work_width = target->width;
      plan->height = plan->work_height = target->height;
      return TRUE;
    }

  /* Pasting clears the selection; the marching ants then show the floating
   * selection's outline, which is no selection to fill. */
  if (tool == DIFFUSION_INPAINT && !target->has_selection && target->floating)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Inpainting needs a selection, and a floating "
                              "selection is not one: anchor it (Layer > "
                              "Anchor Layer) or make it a new layer (Layer > "
                              "To New Layer), then select the area to "
                              "fill."));
      return FALSE;
    }
  if (tool == DIFFUSION_INPAINT && !target->has_selection)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("Inpainting needs a selection: select the area "
                              "to fill first."));
      return FALSE;
    }
  if (!target->intersects || target->mask_width <= 0
      || target->mask_height <= 0)
    {
      g_set_error_literal (error, diffusion_error_quark (), 0,
                           _ ("The selection does not touch the layer: "
                              "nothing to process."));
      return FALSE;
    }
  plan->x = target->x;
  plan->y = target->y;
  plan->width = target->mask_width;
  plan->height = target->mask_height;

  plan->use_mask = target->has_selection
                   && (tool == DIFFUSION_INPAINT || tool == DIFFUSION_IMG2IMG);
  if (target->has_selection)
    diffusion_plan_context (plan->x, plan->y, plan->width, plan->height,
                            target->width, target->height, &plan->work_x,
                            &plan->work_y, &plan->work_width,
                            &plan->work_height);
  else
    {
      plan->work_x = plan->x;
      plan->work_y = plan->y;
      plan->work_width = plan->width;
      plan->work_height = plan->height;
    }
  return TRUE;
}
