/* image.h: core-internal conversions between the front ends' interleaved
 * 0..1 pixels (gd_image) and the network's planar [-1, 1] RGB.  Not part of
 * the public API. */
#ifndef GD_IMAGE_H
#define GD_IMAGE_H

#include "gimp-diffusion.h"

/* Writes img (gray or RGB, interleaved, 0..1) into planar CHW RGB on the
 * [-1, 1] scale: planar[c * w * h + y * w + x] = 2 v - 1.  Gray is replicated
 * to the three channels.  `planar` holds 3 * width * height floats. */
void gd_image_to_planar (const gd_image *img, float *planar);

/* The inverse: planar [-1, 1] RGB into img (already allocated), clamped to
 * 0..1.  For a gray img the three channels are averaged. */
void gd_image_from_planar (const float *planar, gd_image *img);

#endif /* GD_IMAGE_H */
