/* fuzz_arch.c: libFuzzer target for the network's shapes: any gd-unet-v1
 * architecture within small bounds, on any image size, through the
 * forward pass and the tiled network.
 *
 * The input picks the architecture (in_channels 1..4, base_channels
 * 2..8, 1..4 levels with multipliers 1..3, 0..2 blocks per level), the
 * weights' dtype and scale, an image size up to 48 x 48, a timestep and a
 * tile size; this file writes the matching model file (every tensor, in
 * model.py's order) to a memfd, loads it, and runs gd_model_eps whole and
 * through gd_net_eps in tiles.  It exercises what random files rarely
 * reach: the workspace plan and the kernels on every shape, the padding
 * to the downsampling factor, the tile plan and the blend.  The output
 * must be finite (or GD_ERR_NUMERIC), the same for the same input, and
 * the tiled pass must cover every pixel.
 */
#define _GNU_SOURCE
#include "gimp-diffusion.h"
#include "tiling.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                       \
  do                                                                           \
    {                                                                          \
      if (!(cond))                                                             \
        {                                                                      \
          fprintf (stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,     \
                   __LINE__, #cond);                                           \
          abort ();                                                            \
        }                                                                      \
    }                                                                          \
  while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Bytes of the input, one at a time (0 once it is used up). */
typedef struct
{
  const uint8_t *data;
  size_t size, pos;
} arch_bytes;

static unsigned
arch_byte (arch_bytes *b)
{
  return b->pos < b->size ? b->data[b->pos++] : 0;
}

/* The model file under construction: a header and the tensor data. */
typedef struct
{
  char *header;
  size_t header_len, header_cap;
  unsigned char *tensors;
  size_t tensors_len, tensors_cap;
  int dtype; /* 0 F32, 1 F16, 2 BF16 */
  float scale;
  uint32_t rng;
  int first;
} arch_file;

static void
arch_append (char **buf, size_t *len, size_t *cap, const void *src, size_t n)
{
  if (*len + n + 1 > *cap)
    {
      *cap = (*len + n + 1) * 2;
      *buf = realloc (*buf, *cap);
      FUZZ_CHECK (*buf != NULL);
    }
  memcpy (*buf + *len, src, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static void arch_printf (arch_file *f, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
arch_printf (arch_file *f, const char *fmt, ...)
{
  char text[512];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (text, sizeof text, fmt, ap);
  va_end (ap);
  FUZZ_CHECK (n > 0 && (size_t)n < sizeof text);
  arch_append (&f->header, &f->header_len, &f->header_cap, text, (size_t)n);
}

/* A weight in [-scale, scale], from a small LCG. */
static float
arch_weight (arch_file *f)
{
  f->rng = f->rng * 1664525u + 1013904223u;
  return f->scale * ((float)(f->rng >> 8) / 8388608.0f - 1.0f);
}

static void
arch_tensor (arch_file *f, const char *name, int ndim, int d0, int d1, int d2,
             int d3)
{
  const int dims[4] = { d0, d1, d2, d3 };
  const size_t elem = f->dtype == 0 ? 4 : 2;
  size_t numel = 1, begin = f->tensors_len, i;
  int k;

  for (k = 0; k < ndim; k++)
    numel *= (size_t)dims[k];
  arch_printf (f, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", f->first ? "" : ",",
               name,
               f->dtype == 0   ? "F32"
               : f->dtype == 1 ? "F16"
                               : "BF16");
  f->first = 0;
  for (k = 0; k < ndim; k++)
    arch_printf (f, k ? ",%d" : "%d", dims[k]);
  arch_printf (f, "],\"data_offsets\":[%zu,%zu]}", begin, begin + numel * elem);
  for (i = 0; i < numel; i++)
    {
      float v = arch_weight (f);
      uint32_t bits;
      unsigned char bytes[4];

      if (strstr (name, "norm") != NULL && strstr (name, ".weight") != NULL)
        v += 1.0f;
      memcpy (&bits, &v, 4);
      if (f->dtype == 1)
        {
          /* F16 by rounding through _Float16-free arithmetic: keep the
             value small and exact enough for a load test. */
          int e;
          float m = frexpf (v, &e);
          uint16_t h = 0;
          if (v != 0.0f && e > -14 && e < 16)
            h = (uint16_t)((v < 0 ? 0x8000 : 0) | (unsigned)(e + 14) << 10
                           | ((unsigned)(fabsf (m) * 2048.0f) & 0x3FF));
          bits = h;
        }
      else if (f->dtype == 2)
        bits >>= 16;
      for (k = 0; k < 4; k++)
        bytes[k] = (unsigned char)(bits >> (8 * k));
      arch_append ((char **)&f->tensors, &f->tensors_len, &f->tensors_cap,
                   bytes, elem);
    }
}

static void
arch_conv (arch_file *f, const char *prefix, int cin, int cout, int k)
{
  char name[128];

  snprintf (name, sizeof name, "%s.weight", prefix);
  arch_tensor (f, name, 4, cout, cin, k, k);
  snprintf (name, sizeof name, "%s.bias", prefix);
  arch_tensor (f, name, 1, cout, 0, 0, 0);
}

static void
arch_pair (arch_file *f, const char *prefix, int n_out, int n_in)
{
  char name[128];

  snprintf (name, sizeof name, "%s.weight", prefix);
  if (n_in > 0)
    arch_tensor (f, name, 2, n_out, n_in, 0, 0);
  else
    arch_tensor (f, name, 1, n_out, 0, 0, 0);
  snprintf (name, sizeof name, "%s.bias", prefix);
  arch_tensor (f, name, 1, n_out, 0, 0, 0);
}

static void
arch_res (arch_file *f, const char *prefix, int cin, int cout, int emb)
{
  char name[96];

  snprintf (name, sizeof name, "%s.norm1", prefix);
  arch_pair (f, name, cin, 0);
  snprintf (name, sizeof name, "%s.conv1", prefix);
  arch_conv (f, name, cin, cout, 3);
  snprintf (name, sizeof name, "%s.emb", prefix);
  arch_pair (f, name, cout, emb);
  snprintf (name, sizeof name, "%s.norm2", prefix);
  arch_pair (f, name, cout, 0);
  snprintf (name, sizeof name, "%s.conv2", prefix);
  arch_conv (f, name, cout, cout, 3);
  if (cin != cout)
    {
      snprintf (name, sizeof name, "%s.skip", prefix);
      arch_conv (f, name, cin, cout, 1);
    }
}

/* model.py's UNet, tensor by tensor (as unet.c's model_walk binds them). */
static void
arch_unet (arch_file *f, int in_ch, int base, int n_levels, const int *mult,
           int n_res)
{
  const int emb = 4 * base;
  int skips[64], n_skip = 0, ch = base, level, i;
  char name[64];

  arch_pair (f, "temb.lin1", emb, base);
  arch_pair (f, "temb.lin2", emb, emb);
  arch_conv (f, "conv_in", in_ch, base, 3);
  skips[n_skip++] = base;
  for (level = 0; level < n_levels; level++)
    {
      for (i = 0; i < n_res; i++)
        {
          snprintf (name, sizeof name, "down.%d.res.%d", level, i);
          arch_res (f, name, ch, base * mult[level], emb);
          ch = base * mult[level];
          skips[n_skip++] = ch;
        }
      if (level < n_levels - 1)
        {
          snprintf (name, sizeof name, "down.%d.down", level);
          arch_conv (f, name, ch, ch, 3);
          skips[n_skip++] = ch;
        }
    }
  arch_res (f, "mid.res.0", ch, ch, emb);
  arch_res (f, "mid.res.1", ch, ch, emb);
  for (level = n_levels - 1; level >= 0; level--)
    {
      for (i = 0; i <= n_res; i++)
        {
          snprintf (name, sizeof name, "up.%d.res.%d", level, i);
          arch_res (f, name, ch + skips[--n_skip], base * mult[level], emb);
          ch = base * mult[level];
        }
      if (level > 0)
        {
          snprintf (name, sizeof name, "up.%d.up", level);
          arch_conv (f, name, ch, ch, 3);
        }
    }
  FUZZ_CHECK (n_skip == 0);
  arch_pair (f, "norm_out", ch, 0);
  arch_conv (f, "conv_out", ch, in_ch, 3);
}

static int arch_fd = -1;
static char arch_path[64];

static const char *
arch_write (const arch_file *f)
{
  unsigned char len[8];
  size_t total, done = 0;
  int i;

  if (arch_fd < 0)
    {
      arch_fd = memfd_create ("gd-fuzz-arch", MFD_CLOEXEC);
      FUZZ_CHECK (arch_fd >= 0);
      snprintf (arch_path, sizeof arch_path, "/proc/self/fd/%d", arch_fd);
    }
  for (i = 0; i < 8; i++)
    len[i] = (unsigned char)((uint64_t)f->header_len >> (8 * i));
  FUZZ_CHECK (ftruncate (arch_fd, 0) == 0);
  FUZZ_CHECK (pwrite (arch_fd, len, 8, 0) == 8);
  FUZZ_CHECK (pwrite (arch_fd, f->header, f->header_len, 8)
              == (ssize_t)f->header_len);
  total = f->tensors_len;
  while (done < total)
    {
      ssize_t n = pwrite (arch_fd, f->tensors + done, total - done,
                          (off_t)(8 + f->header_len + done));
      FUZZ_CHECK (n > 0);
      done += (size_t)n;
    }
  return arch_path;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  arch_bytes in = { data, size, 0 };
  arch_file f;
  int in_ch, base, n_levels, mult[4], n_res, w, h, tile, i;
  double t;
  const char *path;
  gd_model *model;
  gd_error err;
  size_t n, k;
  float *x, *eps, *eps2, *tiled;
  int rc;

  memset (&f, 0, sizeof f);
  f.first = 1;
  in_ch = 1 + (int)(arch_byte (&in) % 4);
  base = 2 * (1 + (int)(arch_byte (&in) % 4));
  n_levels = 1 + (int)(arch_byte (&in) % 4);
  for (i = 0; i < 4; i++)
    mult[i] = 1 + (int)(arch_byte (&in) % 3);
  n_res = (int)(arch_byte (&in) % 3);
  f.dtype = (int)(arch_byte (&in) % 3);
  f.scale = 0.05f + (float)(arch_byte (&in) % 64) / 32.0f;
  f.rng = arch_byte (&in) | arch_byte (&in) << 8;
  w = 1 + (int)(arch_byte (&in) % 48);
  h = 1 + (int)(arch_byte (&in) % 48);
  t = (double)(arch_byte (&in) | arch_byte (&in) << 8) / 65535.0 * 1000.0;
  tile = (int)(arch_byte (&in) % 64);

  arch_printf (&f,
               "{\"__metadata__\":{\"arch\":\"gd-unet-v1\",\"config\":"
               "\"{\\\"in_channels\\\": %d, \\\"base_channels\\\": %d, "
               "\\\"channel_mult\\\": [",
               in_ch, base);
  for (i = 0; i < n_levels; i++)
    arch_printf (&f, i ? ", %d" : "%d", mult[i]);
  arch_printf (&f,
               "], \\\"n_res_blocks\\\": %d}\",\"schedule\":\"{\\\"type"
               "\\\": \\\"linear\\\", \\\"T\\\": 1000, \\\"beta_start\\\":"
               " 0.0001, \\\"beta_end\\\": 0.02}\"},",
               n_res);
  f.first = 1;
  arch_unet (&f, in_ch, base, n_levels, mult, n_res);
  arch_printf (&f, "}");
  path = arch_write (&f);
  free (f.header);
  free (f.tensors);

  gd_set_threads (1 + (int)(arch_byte (&in) % 2));
  gd_error_clear (&err);
  model = gd_model_load (path, &err);
  if (model == NULL)
    {
      /* Only F16 rounding can make a weight Inf: nothing else may fail. */
      fprintf (stderr, "%s\n", err.message);
      FUZZ_CHECK (!"a well-formed model failed to load");
    }

  n = (size_t)in_ch * (size_t)w * (size_t)h;
  x = malloc (n * sizeof *x);
  eps = malloc (n * sizeof *eps);
  eps2 = malloc (n * sizeof *eps2);
  tiled = malloc (n * sizeof *tiled);
  FUZZ_CHECK (x && eps && eps2 && tiled);
  for (k = 0; k < n; k++)
    x[k] = (float)(arch_byte (&in) % 255) / 127.0f - 1.0f;

  rc = gd_model_eps (model, x, w, h, t, eps, &err);
  FUZZ_CHECK (rc == GD_OK || rc == GD_ERR_NUMERIC);
  if (rc == GD_OK)
    {
      for (k = 0; k < n; k++)
        FUZZ_CHECK (isfinite (eps[k]));
      /* The cached workspace gives the same numbers again. */
      FUZZ_CHECK (gd_model_eps (model, x, w, h, t, eps2, &err) == GD_OK);
      FUZZ_CHECK (memcmp (eps, eps2, n * sizeof *eps) == 0);
    }

  /* The tiled network on the same grid: every pixel written, finite. */
  {
    gd_task_params p;
    gd_net net;

    gd_task_params_init (&p);
    p.tile_size = tile;
    rc = gd_net_init (&net, model, &p, w, h, 1, 0, &err);
    if (rc == GD_OK)
      {
        for (k = 0; k < n; k++)
          tiled[k] = NAN;
        rc = gd_net_eps (&net, x, t, tiled, n, &err);
        FUZZ_CHECK (rc == GD_OK || rc == GD_ERR_NUMERIC);
        if (rc == GD_OK)
          for (k = 0; k < n; k++)
            FUZZ_CHECK (isfinite (tiled[k]));
        gd_net_free (&net);
      }
    else
      FUZZ_CHECK (rc == GD_ERR_INVALID && tile > 0);
  }

  free (x);
  free (eps);
  free (eps2);
  free (tiled);
  gd_model_free (model);
  return 0;
}
