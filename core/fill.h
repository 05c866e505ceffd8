/* fill.h: the smooth fill of a hole from its border (core-internal). */
#ifndef GD_FILL_H
#define GD_FILL_H

#include "gimp-diffusion.h"

/* Replaces the unknown pixels of `planar` (`channels` planes of width x
 * height floats) with the harmonic fill of the known ones: inside the hole
 * every value is the mean of its 4 neighbours (Laplace's equation), the
 * known pixels are the boundary values, and the rectangle's edges reflect.
 * A pixel is known where known[y * width + x] is not 0.  Solved coarse to
 * fine with successive over-relaxation, to a largest last update of
 * GD_FILL_TOLERANCE; deterministic.  Returns GD_OK (with *filled 0 and the
 * values untouched when no pixel is known) or GD_ERR_NOMEM. */
#define GD_FILL_TOLERANCE 1e-5

int gd_fill_smooth (float *planar, int channels, const unsigned char *known,
                    int width, int height, int *filled, gd_error *err);

#endif /* GD_FILL_H */
