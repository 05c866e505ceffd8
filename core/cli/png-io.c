/* png-io.c: PNG files in and out of the command-line front end (libpng). */
#include "png-io.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The output's zlib level (gd_png_write_stream). */
#define GD_PNG_ZLIB_LEVEL 3

/* What libpng's error callback leaves for the caller after its longjmp. */
typedef struct
{
  char message[256];
} gd_png_failure;

static void
gd_png_on_error (png_structp png_ptr, png_const_charp message)
{
  gd_png_failure *failure = png_get_error_ptr (png_ptr);

  /* libpng's stdio reader says only "Read Error" when the file ends. */
  if (strcmp (message, "Read Error") == 0)
    message = "the file ends early (truncated?)";
  snprintf (failure->message, sizeof failure->message, "%s", message);
  png_longjmp (png_ptr, 1);
}

static void
gd_png_on_warning (png_structp png_ptr, png_const_charp message)
{
  (void)png_ptr;
  (void)message; /* Benign chunk warnings (iCCP, ...) are not the user's
                    problem here. */
}

/* Everything a read owns, kept outside the setjmp frame's locals. */
typedef struct
{
  FILE *fp;
  png_structp png_ptr;
  png_infop info_ptr;
  png_bytep pixels;
  png_bytepp rows;
} gd_png_reader;

static void
gd_png_reader_close (gd_png_reader *r)
{
  if (r->png_ptr != NULL)
    png_destroy_read_struct (&r->png_ptr,
                             r->info_ptr != NULL ? &r->info_ptr : NULL, NULL);
  free (r->rows);
  free (r->pixels);
  if (r->fp != NULL)
    fclose (r->fp);
  memset (r, 0, sizeof *r);
}

static int
gd_png_read_pixels (const char *path, gd_png_reader *r, gd_png *png,
                    gd_error *err)
{
  gd_png_failure failure = { "" };
  unsigned char signature[8];
  png_uint_32 width, height, y;
  int bit_depth, color_type, channels, bytes_per_sample, colors;
  size_t rowbytes, x, plane;
  int status;

  r->fp = fopen (path, "rb");
  if (r->fp == NULL)
    return gd_error_set (err, GD_ERR_IO, "cannot open %s: %s", path,
                         strerror (errno));
  if (fread (signature, 1, sizeof signature, r->fp) != sizeof signature
      || png_sig_cmp (signature, 0, sizeof signature) != 0)
    return gd_error_set (err, GD_ERR_FORMAT, "%s is not a PNG file", path);

  r->png_ptr = png_create_read_struct (PNG_LIBPNG_VER_STRING, &failure,
                                       gd_png_on_error, gd_png_on_warning);
  if (r->png_ptr == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "cannot read %s: out of memory",
                         path);
  r->info_ptr = png_create_info_struct (r->png_ptr);
  if (r->info_ptr == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "cannot read %s: out of memory",
                         path);
  if (setjmp (png_jmpbuf (r->png_ptr)))
    return gd_error_set (err, GD_ERR_FORMAT, "cannot read %s: %s", path,
                         failure.message);

  png_init_io (r->png_ptr, r->fp);
  png_set_sig_bytes (r->png_ptr, sizeof signature);
  /* Refuse absurd sizes before anything is allocated. */
  png_set_user_limits (r->png_ptr, 65535, 65535);
  png_read_info (r->png_ptr, r->info_ptr);
  png_get_IHDR (r->png_ptr, r->info_ptr, &width, &height, &bit_depth,
                &color_type, NULL, NULL, NULL);
  png->bit_depth = bit_depth == 16 ? 16 : 8;

  if (color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (r->png_ptr);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
    png_set_expand_gray_1_2_4_to_8 (r->png_ptr);
  if (png_get_valid (r->png_ptr, r->info_ptr, PNG_INFO_tRNS))
    png_set_tRNS_to_alpha (r->png_ptr);
  png_set_interlace_handling (r->png_ptr);
  png_read_update_info (r->png_ptr, r->info_ptr);

  channels = png_get_channels (r->png_ptr, r->info_ptr);
  bytes_per_sample = png_get_bit_depth (r->png_ptr, r->info_ptr) == 16 ? 2 : 1;
  colors = channels >= 3 ? 3 : 1;
  rowbytes = png_get_rowbytes (r->png_ptr, r->info_ptr);
  if (rowbytes != (size_t)width * channels * bytes_per_sample)
    return gd_error_set (err, GD_ERR_FORMAT,
                         "cannot read %s: unexpected row layout", path);

  r->pixels = malloc (rowbytes * height);
  r->rows = malloc (sizeof (png_bytep) * height);
  if (r->pixels == NULL || r->rows == NULL)
    return gd_error_set (err, GD_ERR_NOMEM,
                         "cannot read %s: out of memory for %u x %u pixels",
                         path, (unsigned)width, (unsigned)height);
  for (y = 0; y < height; y++)
    r->rows[y] = r->pixels + rowbytes * y;
  png_read_image (r->png_ptr, r->rows);
  png_read_end (r->png_ptr, NULL);

  status = gd_image_alloc (&png->color, (int)width, (int)height, colors, err);
  if (status != GD_OK)
    return status;
  plane = (size_t)width * height;
  if (channels == 2 || channels == 4)
    {
      png->alpha = malloc (plane * sizeof (uint16_t));
      if (png->alpha == NULL)
        return gd_error_set (err, GD_ERR_NOMEM, "cannot read %s: out of memory",
                             path);
    }

  for (x = 0; x < plane; x++)
    {
      const png_byte *p = r->pixels + x * channels * bytes_per_sample;
      float scale = bytes_per_sample == 2 ? 1.0f / 65535.0f : 1.0f / 255.0f;
      int c;

      for (c = 0; c < channels; c++)
        {
          unsigned v = bytes_per_sample == 2
                           ? (unsigned)p[2 * c] << 8 | p[2 * c + 1]
                           : p[c];
          if (c < colors)
            png->color.data[x * colors + c] = v * scale;
          else
            png->alpha[x] = (uint16_t)v;
        }
    }
  return GD_OK;
}

int
gd_png_read (const char *path, gd_png *png, gd_error *err)
{
  gd_png_reader reader;
  int status;

  memset (png, 0, sizeof *png);
  memset (&reader, 0, sizeof reader);
  status = gd_png_read_pixels (path, &reader, png, err);
  gd_png_reader_close (&reader);
  if (status != GD_OK)
    gd_png_free (png);
  return status;
}

void
gd_png_free (gd_png *png)
{
  if (png == NULL)
    return;
  gd_image_free (&png->color);
  free (png->alpha);
  memset (png, 0, sizeof *png);
}

/* Everything a write owns, kept outside the setjmp frame's locals. */
typedef struct
{
  FILE *fp;
  png_structp png_ptr;
  png_infop info_ptr;
  png_bytep row;
} gd_png_writer;

static int
gd_png_color_type (const gd_png *png)
{
  if (png->color.channels == 1)
    return png->alpha ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_GRAY;
  return png->alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB;
}

static int
gd_png_write_stream (const char *path, gd_png_writer *w, const gd_png *png,
                     gd_error *err)
{
  gd_png_failure failure = { "" };
  const gd_image *img = &png->color;
  int colors = img->channels;
  int channels = colors + (png->alpha != NULL ? 1 : 0);
  int bytes = png->bit_depth == 16 ? 2 : 1;
  float max = png->bit_depth == 16 ? 65535.0f : 255.0f;
  int x, y, c;

  w->png_ptr = png_create_write_struct (PNG_LIBPNG_VER_STRING, &failure,
                                        gd_png_on_error, gd_png_on_warning);
  if (w->png_ptr == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "cannot write %s: out of memory",
                         path);
  w->info_ptr = png_create_info_struct (w->png_ptr);
  w->row = malloc ((size_t)img->width * channels * bytes);
  if (w->info_ptr == NULL || w->row == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "cannot write %s: out of memory",
                         path);
  if (setjmp (png_jmpbuf (w->png_ptr)))
    return gd_error_set (err, GD_ERR_IO, "cannot write %s: %s", path,
                         failure.message);

  png_init_io (w->png_ptr, w->fp);
  /* zlib level 3, not libpng's 6: on a 12-megapixel photo about 1 s to
     write instead of about 5, for a file about a tenth larger. */
  png_set_compression_level (w->png_ptr, GD_PNG_ZLIB_LEVEL);
  png_set_IHDR (w->png_ptr, w->info_ptr, img->width, img->height,
                png->bit_depth, gd_png_color_type (png), PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (w->png_ptr, w->info_ptr);
  for (y = 0; y < img->height; y++)
    {
      for (x = 0; x < img->width; x++)
        {
          size_t i = (size_t)y * img->width + x;
          png_bytep p = w->row + (size_t)x * channels * bytes;

          for (c = 0; c < channels; c++)
            {
              unsigned v;

              if (c < colors)
                {
                  float f = img->data[i * colors + c];
                  f = f > 0.0f ? (f < 1.0f ? f : 1.0f) : 0.0f;
                  v = (unsigned)lrintf (f * max);
                }
              else
                v = png->alpha[i];
              if (bytes == 2)
                {
                  p[2 * c] = (png_byte)(v >> 8);
                  p[2 * c + 1] = (png_byte)(v & 0xff);
                }
              else
                p[c] = (png_byte)v;
            }
        }
      png_write_row (w->png_ptr, w->row);
    }
  png_write_end (w->png_ptr, NULL);
  return GD_OK;
}

int
gd_png_write (const char *path, const gd_png *png, gd_error *err)
{
  gd_png_writer writer;
  size_t len = strlen (path);
  char *tmp;
  mode_t mask;
  int fd, status;

  tmp = malloc (len + sizeof ".tmp-XXXXXX");
  if (tmp == NULL)
    return gd_error_set (err, GD_ERR_NOMEM, "cannot write %s: out of memory",
                         path);
  memcpy (tmp, path, len);
  memcpy (tmp + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  fd = mkstemp (tmp);
  if (fd < 0)
    {
      status = gd_error_set (err, GD_ERR_IO, "cannot write %s: %s", path,
                             strerror (errno));
      free (tmp);
      return status;
    }
  /* mkstemp makes the file 0600; give it the usual 0666 & ~umask. */
  mask = umask (0);
  umask (mask);
  (void)fchmod (fd, 0666 & ~mask); /* on failure it stays the user's own */

  memset (&writer, 0, sizeof writer);
  writer.fp = fdopen (fd, "wb");
  if (writer.fp == NULL)
    {
      status = gd_error_set (err, GD_ERR_IO, "cannot write %s: %s", path,
                             strerror (errno));
      close (fd);
    }
  else
    status = gd_png_write_stream (path, &writer, png, err);

  if (writer.png_ptr != NULL)
    png_destroy_write_struct (&writer.png_ptr,
                              writer.info_ptr ? &writer.info_ptr : NULL);
  free (writer.row);
  if (writer.fp != NULL && fclose (writer.fp) != 0 && status == GD_OK)
    status = gd_error_set (err, GD_ERR_IO, "cannot write %s: %s", path,
                           strerror (errno));
  if (status == GD_OK && rename (tmp, path) != 0)
    status = gd_error_set (err, GD_ERR_IO, "cannot write %s: %s", path,
                           strerror (errno));
  if (status != GD_OK)
    unlink (tmp);
  free (tmp);
  return status;
}
