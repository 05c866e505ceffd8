/* holes.h: the holes of an inpainting mask, and the start inpaint's auto
 * fill gives each (core-internal). */
#ifndef GD_HOLES_H
#define GD_HOLES_H

#include "gimp-diffusion.h"

/* The rule of GD_FILL_AUTO, per hole (docs/tools.md, "Inpaint defaults"):
 * the smooth fill for a hole whose every pixel is within GD_HOLE_THIN
 * pixels of the known region (the harmonic fill is a close guess over a
 * few pixels, and every patch over such a hole is mostly known pixels),
 * for one at least GD_HOLE_ELONGATED times longer than wide (a stroke:
 * bridged across its width from both sides), and for one larger than
 * GD_HOLE_LARGE of the image (above the 0.5-5% of an object to remove,
 * patches paste whole structures that are wrong there); the patch fill
 * for the rest: compact, object-sized holes, which need texture. */
#define GD_HOLE_THIN 8.0
#define GD_HOLE_ELONGATED 4.0
#define GD_HOLE_LARGE 0.05

typedef struct
{
  int area;          /* pixels */
  double thickness;  /* the largest distance from one of its pixels to the
                        nearest known one (the inscribed disc's radius) */
  double elongation; /* area / (pi thickness^2): an ellipse's axis ratio */
  gd_fill fill;      /* the start GD_FILL_AUTO gives it */
} gd_hole;

/* For each pixel of `mask` (1 channel), the Euclidean distance to the
 * nearest pixel where the mask is 0 (known): 0 there, HUGE_VALF
 * everywhere when no pixel is known.  Exact (Felzenszwalb and
 * Huttenlocher's separable transform of squared distances).  dist holds
 * width * height floats.  GD_ERR_NOMEM. */
int gd_distance_to_known (const gd_image *mask, float *dist, gd_error *err);

/* The start auto gives a hole of `area` pixels and `thickness` in an
 * image of image_area pixels. */
gd_fill gd_hole_fill (int area, double thickness, double image_area);

/* The holes of `mask`: its 8-connected parts where it is above 0, in the
 * order of their first pixel (row by row).  labels (width * height ints):
 * 0 where the mask is 0, else the hole's index + 1.  *holes is allocated
 * (free it), *n_holes set; image_area for gd_hole_fill (<= 0: the mask's
 * own).  GD_ERR_NOMEM. */
int gd_holes_find (const gd_image *mask, double image_area, int *labels,
                   gd_hole **holes, int *n_holes, gd_error *err);

#endif /* GD_HOLES_H */
