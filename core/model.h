/* model.h: the forward pass's memory plan (core-internal).  One function,
 * unet.c's plan_work, sizes the workspace: gd_model_eps allocates what it
 * says, and tiling chooses its tiles by it. */
#ifndef GD_MODEL_H
#define GD_MODEL_H

#include "gimp-diffusion.h"

#include <stddef.h>

/* Floats of workspace a forward pass on width x height takes (padded to
 * the downsampling factor, at the current thread count); 0 when the sizes
 * overflow. */
size_t gd_model_work_floats (const gd_model *model, int width, int height);

/* Floats of workspace the model holds now (the largest pass so far). */
size_t gd_model_work_allocated (const gd_model *model);

/* Bytes the fast path holds beyond the workspace on width x height (its
 * activation buffer and reordered weights; oneDNN's scratchpad aside) when
 * the model runs at `precision`: 0 for exact, or where fast runs exact. */
double gd_model_fast_bytes (const gd_model *model, gd_precision precision,
                            int width, int height);

/* Seconds spent in convolutions and in whole passes since the last reset
 * (tests/bench/bench_network's breakdown). */
void gd_model_profile_reset (gd_model *model);
void gd_model_profile_get (const gd_model *model, double *conv_seconds,
                           double *total_seconds);

#endif /* GD_MODEL_H */
