/* task-img2img.c: img2img (SDEdit): q(x_t0 | x0) at t0 = strength T, then
 * the reverse process back to 0. */
#include "image.h"
#include "task.h"

#include <assert.h>
#include <string.h>

int
gd_img2img_plan (const gd_schedule *sched, const gd_task_params *p, int width,
                 int height, gd_tool_plan *plan, gd_error *err)
{
  (void)err;
  plan->width = width;
  plan->height = height;
  plan->evals = p->strength == 0.0
                    ? 0
                    : gd_sampler_nfe (&p->sampler,
                                      gd_task_t0 (sched, p->strength));
  plan->single = 0;
  return GD_OK;
}

int
gd_img2img (gd_model *model, const gd_task_params *p, const gd_image *in,
            gd_image *out, gd_error *err)
{
  const gd_schedule *sched;
  gd_tool_plan plan;
  gd_task task;
  int t0, status;

  assert (out != NULL);
  memset (out, 0, sizeof *out);
  status = gd_task_check ("img2img", model, p, in, err);
  if (status != GD_OK)
    return status;

  if (p->strength == 0.0)
    {
      /* Nothing to re-imagine: the input, bit for bit. */
      status = gd_image_alloc (out, in->width, in->height, in->channels, err);
      if (status == GD_OK)
        memcpy (out->data, in->data,
                (size_t)in->width * in->height * in->channels * sizeof (float));
      return status;
    }
  sched = &gd_model_get_info (model)->schedule;
  t0 = gd_task_t0 (sched, p->strength);
  status = gd_img2img_plan (sched, p, in->width, in->height, &plan, err);
  if (status == GD_OK)
    status = gd_task_begin (&task, "img2img", model, p, &plan, p->origin_x,
                            p->origin_y, err);
  if (status != GD_OK)
    return status;

  gd_image_to_planar (in, task.x);
  gd_task_q_sample (&task, task.x, sched->abar[t0], GD_RNG_STREAM_START);
  status = gd_task_sample (&task, t0, NULL, err);
  if (status == GD_OK)
    status = gd_task_output (&task, in->channels, out, err);
  gd_task_end (&task);
  return status;
}
