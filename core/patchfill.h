/* patchfill.h: the patch-based fill of a hole from the image's own patches
 * (core-internal). */
#ifndef GD_PATCHFILL_H
#define GD_PATCHFILL_H

#include "gimp-diffusion.h"

#include <stdint.h>

/* Patch radius (9 x 9 patches: 1.5 dB higher in the hole than 7 x 7 on
 * Kodak24's object-removal masks) and the smallest context margin. */
#define GD_PATCHFILL_RADIUS 4
#define GD_PATCHFILL_MIN_MARGIN 64

/* The fill's structure (what varies slower than a Gaussian of this many
 * pixels) comes from the smooth fill, its detail from the patches; 0:
 * patches alone. */
#define GD_PATCHFILL_STRUCTURE_SIGMA 2.0f

/* Fills, in place, the pixels of `img` (gray or RGB, interleaved floats of
 * any range) where `mask` (1 channel, img's size, 0..1) is above 0 with
 * patches of the pixels where it is 0: multi-scale PatchMatch (Barnes et
 * al. 2009) and Wexler, Shechtman and Irani's (2007) coherence-optimising
 * vote, coarse to fine; then the fill's structure (coarser than
 * GD_PATCHFILL_STRUCTURE_SIGMA) from the smooth fill.  The search stays in a context around the hole:
 * its bounding box grown by its larger side (at least
 * GD_PATCHFILL_MIN_MARGIN pixels), cut at the image, so time and memory
 * follow the hole, not the image.  A feathered mask blends: a pixel with
 * mask m gets m fill + (1 - m) img; where the mask is 0, img is untouched.
 * Deterministic for a seed.  Returns GD_OK with *filled 1, or with
 * *filled 0 and img untouched when the mask is empty or the context holds
 * no whole patch to copy from (the caller falls back to the smooth fill);
 * GD_ERR_INVALID for a mask that does not fit img, GD_ERR_NOMEM. */
/* The context gd_fill_patch looks at: the bounding box of mask > 0 grown
 * by its larger side (at least GD_PATCHFILL_MIN_MARGIN), cut at the image.
 * Returns that side, or 0 (and nothing set) for an empty mask. */
int gd_fill_patch_context (const gd_image *mask, int *cx, int *cy, int *cw,
                           int *ch);

int gd_fill_patch (gd_image *img, const gd_image *mask, uint64_t seed,
                   int *filled, gd_error *err);

/* A Gaussian blur of `channels` planes of width x height floats, in
 * place, the edges reflected; tmp: width * height floats of scratch.
 * sigma <= 0 leaves them as they are; the kernel reaches 3 sigma (at most
 * 63 pixels). */
void gd_blur_planar (float *planar, int channels, int width, int height,
                     float sigma, float *tmp);

#endif /* GD_PATCHFILL_H */
