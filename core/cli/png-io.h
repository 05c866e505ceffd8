/* png-io.h: PNG files in and out of the command-line front end (libpng). */
#ifndef GD_CLI_PNG_IO_H
#define GD_CLI_PNG_IO_H

#include "gimp-diffusion.h"

#include <stdint.h>

/* A PNG as the tools see it: the colour as a gd_image (0..1, gray or RGB),
 * the alpha kept aside as the file's own integers so that it is written back
 * bit for bit. */
typedef struct
{
  gd_image color;
  uint16_t *alpha; /* width * height values, or NULL without alpha */
  int bit_depth;   /* 8 or 16: what the file is written back with */
} gd_png;

/* Reads any PNG: 1..16-bit gray or RGB, palette (read as RGB), with or
 * without alpha or tRNS (read as alpha).  Values are taken as sRGB-encoded;
 * low bit depths are written back as 8-bit. */
int gd_png_read (const char *path, gd_png *png, gd_error *err);

/* Writes png to path through a temporary file in the same folder, renamed
 * over path only once it is complete, so a failure leaves path as it was. */
int gd_png_write (const char *path, const gd_png *png, gd_error *err);

void gd_png_free (gd_png *png);

#endif /* GD_CLI_PNG_IO_H */
