/* test_bad_image.c: the bad-input matrix for images and resources (issue 6).
 *
 * Usage: test_bad_image TINY_RGB.safetensors TINY_GRAY.safetensors
 *
 * Images: the forward pass and the four tools on 1x1, on strips and on
 * sizes below the downsampling factor; 30000x30000 through the forward
 * pass and through every tool under a memory cap: a clean "out of memory"
 * status and message, never an abort, and the model works afterwards; a
 * 30000x30000 job is planned in tiles within the memory budget.
 * Resources: a memory budget smaller than one tile is refused with its
 * message; a cancel at every progress call of every tool (tiled, so
 * between tiles too) returns GD_ERR_CANCELLED with its message, leaves the
 * output empty and the input as it was.
 */
#define _GNU_SOURCE
#include "gimp-diffusion.h"
#include "tiling.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define GD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GD_TEST_ASAN 1
#endif
#endif

/* What a 30000x30000 job may allocate here: gigabytes are refused on any
 * machine, whatever its RAM, and the code must say so. */
#define CAP_MB 2048

#ifdef GD_TEST_ASAN
/* ASan reserves terabytes of address space, so RLIMIT_AS cannot cap it;
   its own per-allocation limit does, and a refused one returns NULL. */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "max_allocation_size_mb=2048:allocator_may_return_null=1";
}
#endif

static int failures;

static void check (int cond, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
check (int cond, const char *fmt, ...)
{
  va_list ap;

  printf ("%s ", cond ? "ok  " : "FAIL");
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  if (!cond)
    failures++;
}

/* ---------------------------------------------------------------- memory */

#ifndef GD_TEST_ASAN
static struct rlimit saved_limit;
#endif

/* Caps the address space at what is mapped now plus CAP_MB (outside ASan),
 * so that the next allocations of gigabytes fail. */
static void
cap_memory (void)
{
#ifndef GD_TEST_ASAN
  struct rlimit rl;
  unsigned long pages = 0;
  FILE *f = fopen ("/proc/self/statm", "r");

  if (f == NULL || fscanf (f, "%lu", &pages) != 1)
    {
      perror ("/proc/self/statm");
      exit (1);
    }
  fclose (f);
  getrlimit (RLIMIT_AS, &saved_limit);
  rl = saved_limit;
  rl.rlim_cur
      = (rlim_t)pages * (rlim_t)sysconf (_SC_PAGESIZE) + ((rlim_t)CAP_MB << 20);
  if (setrlimit (RLIMIT_AS, &rl) != 0)
    perror ("setrlimit");
#endif
}

static void
uncap_memory (void)
{
#ifndef GD_TEST_ASAN
  if (setrlimit (RLIMIT_AS, &saved_limit) != 0)
    perror ("setrlimit");
#endif
}

/* Zero pages: reading them costs no memory, and they are not written. */
static float *
map_zeros (size_t n_floats)
{
  void *p = mmap (NULL, n_floats * sizeof (float), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

  return p == MAP_FAILED ? NULL : p;
}

static int
all_finite (const float *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return 0;
  return 1;
}

/* ---------------------------------------------------------------- tools */

enum
{
  TOOL_IMG2IMG,
  TOOL_INPAINT,
  TOOL_UPSCALE,
  TOOL_DENOISE,
  N_TOOLS
};

static const char *const tool_names[N_TOOLS]
    = { "img2img", "inpaint", "upscale", "denoise" };

/* Each tool with 3 ddim steps; inpaint regenerates where `mask` is 1. */
static void
tool_params (int tool, gd_task_params *p)
{
  gd_task_params_init (p);
  p->sampler.kind = GD_SAMPLER_DDIM;
  p->sampler.steps = 3;
  p->sampler.seed = 11;
  p->strength = tool == TOOL_INPAINT ? 1.0 : 0.5;
  p->scale = 2;
  p->sigma = 25.0;
}

static int
tool_run (int tool, gd_model *model, const gd_task_params *p,
          const gd_image *in, const gd_image *mask, gd_image *out,
          gd_error *err)
{
  switch (tool)
    {
    case TOOL_IMG2IMG:
      return gd_img2img (model, p, in, out, err);
    case TOOL_INPAINT:
      return gd_inpaint (model, p, in, mask, out, err);
    case TOOL_UPSCALE:
      return gd_upscale (model, p, in, out, err);
    default:
      return gd_denoise (model, p, in, out, err);
    }
}

/* A test picture, gray or RGB, and a mask that is 1 on its right half. */
static void
make_image (gd_image *img, gd_image *mask, int w, int h, int channels)
{
  int i, n = w * h * channels;

  if (gd_image_alloc (img, w, h, channels, NULL) != GD_OK
      || gd_image_alloc (mask, w, h, 1, NULL) != GD_OK)
    {
      printf ("FAIL cannot allocate %dx%d\n", w, h);
      exit (1);
    }
  for (i = 0; i < n; i++)
    img->data[i] = 0.5f + 0.4f * (float)sin (0.37 * i);
  for (i = 0; i < w * h; i++)
    mask->data[i] = i % w >= w / 2 ? 1.0f : 0.0f;
}

/* The four tools on small sizes: a result of the right size, finite, in
 * 0..1, and the input untouched. */
static void
test_small_tools (gd_model *model)
{
  static const int sizes[][2]
      = { { 1, 1 }, { 2, 3 }, { 3, 2 }, { 1, 9 }, { 9, 1 } };
  size_t s;
  int tool, channels;

  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (channels = 1; channels <= 3; channels += 2)
      for (tool = 0; tool < N_TOOLS; tool++)
        {
          const int w = sizes[s][0], h = sizes[s][1];
          const int scale = tool == TOOL_UPSCALE ? 2 : 1;
          gd_image in, mask, out;
          gd_task_params p;
          gd_error err;
          float *copy;
          size_t n = (size_t)w * h * channels, i;
          int rc, in_range = 1;

          make_image (&in, &mask, w, h, channels);
          /* 1 pixel wide: the mask's right half is the whole image. */
          copy = malloc (n * sizeof *copy);
          memcpy (copy, in.data, n * sizeof *copy);
          tool_params (tool, &p);
          gd_error_clear (&err);
          rc = tool_run (tool, model, &p, &in, &mask, &out, &err);
          if (rc == GD_OK)
            for (i = 0; i < (size_t)out.width * out.height * out.channels; i++)
              in_range = in_range && out.data[i] >= 0.0f && out.data[i] <= 1.0f;
          check (rc == GD_OK && out.width == w * scale
                     && out.height == h * scale && out.channels == channels
                     && in_range
                     && memcmp (copy, in.data, n * sizeof *copy) == 0,
                 "%s on %dx%d (%s; the network's factor is %d): status %d "
                 "%s",
                 tool_names[tool], w, h, channels == 1 ? "gray" : "RGB",
                 gd_model_get_info (model)->downsample_factor, rc, err.message);
          gd_image_free (&out);
          gd_image_free (&in);
          gd_image_free (&mask);
          free (copy);
        }
}

/* The forward pass itself on sizes down to 1x1. */
static void
test_small_eps (gd_model *m)
{
  static const int sizes[][2]
      = { { 1, 1 }, { 2, 1 }, { 1, 3 }, { 3, 2 }, { 1, 17 }, { 17, 1 } };
  const gd_model_info *info = gd_model_get_info (m);
  size_t s, i;

  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    {
      const int w = sizes[s][0], h = sizes[s][1];
      const size_t n = (size_t)info->in_channels * (size_t)w * (size_t)h;
      float *x = malloc (n * sizeof *x), *eps = malloc (n * sizeof *eps);
      gd_error err;
      int rc;

      for (i = 0; i < n; i++)
        x[i] = (float)cos (1.3 * (double)i);
      gd_error_clear (&err);
      rc = gd_model_eps (m, x, w, h, 500, eps, &err);
      check (rc == GD_OK && all_finite (eps, n),
             "eps on %dx%d (%d channels, factor %d): status %d %s", w, h,
             info->in_channels, info->downsample_factor, rc, err.message);
      free (x);
      free (eps);
    }
}

/* ---------------------------------------------------------------- cancel */

typedef struct
{
  int calls;
  int cancel_at;
  int total;
} cancel_probe;

static int
cancel_cb (void *user_data, const gd_progress_info *info)
{
  cancel_probe *c = user_data;

  c->calls++;
  c->total = info->total;
  return c->cancel_at > 0 && c->calls >= c->cancel_at;
}

/* Every tool, tiled (64-pixel tiles on 72x80: 4 tiles per evaluation),
 * cancelled at each of its progress calls in turn. */
static void
test_cancel (gd_model *model)
{
  int tool;

  for (tool = 0; tool < N_TOOLS; tool++)
    {
      const int w = tool == TOOL_UPSCALE ? 40 : 80,
                h = tool == TOOL_UPSCALE ? 36 : 72;
      gd_image in, mask, out;
      gd_task_params p;
      cancel_probe probe = { 0, 0, 0 };
      gd_error err;
      size_t n = (size_t)w * h * 3;
      float *copy;
      int k, total, all_ok = 1;
      char expect[128];

      make_image (&in, &mask, w, h, 3);
      copy = malloc (n * sizeof *copy);
      memcpy (copy, in.data, n * sizeof *copy);
      tool_params (tool, &p);
      p.tile_size = 64;
      p.task_progress = cancel_cb;
      p.task_progress_data = &probe;
      /* A whole run first: how many calls there are. */
      if (tool_run (tool, model, &p, &in, &mask, &out, &err) != GD_OK)
        {
          check (0, "%s: a whole tiled run: %s", tool_names[tool], err.message);
          continue;
        }
      gd_image_free (&out);
      total = probe.calls;
      check (total == probe.total && total > 3,
             "%s: %d progress calls, the total it announced (%d)",
             tool_names[tool], total, probe.total);
      for (k = 1; k <= total; k++)
        {
          int rc;

          probe.calls = 0;
          probe.cancel_at = k;
          memset (&out, 0x55, sizeof out);
          gd_error_clear (&err);
          rc = tool_run (tool, model, &p, &in, &mask, &out, &err);
          snprintf (expect, sizeof expect,
                    "cancelled after %d of %d network evaluations", k, total);
          if (rc != GD_ERR_CANCELLED || strcmp (err.message, expect) != 0
              || out.data != NULL || out.width != 0
              || memcmp (copy, in.data, n * sizeof *copy) != 0)
            {
              all_ok = 0;
              printf ("     %s cancelled at call %d: status %d, \"%s\", "
                      "out %p %dx%d\n",
                      tool_names[tool], k, rc, err.message, (void *)out.data,
                      out.width, out.height);
            }
          if (rc == GD_OK)
            gd_image_free (&out);
        }
      check (all_ok,
             "%s: a cancel at each of the %d progress calls returns "
             "\"cancelled after k of %d network evaluations\", an empty "
             "output and the input as it was",
             tool_names[tool], total, total);
      gd_image_free (&in);
      gd_image_free (&mask);
      free (copy);
    }
}

/* ---------------------------------------------------------------- budget */

static void
test_budget (gd_model *model)
{
  const gd_model_info *info = gd_model_get_info (model);
  const int overlap = gd_tiling_overlap (info);
  int min_tile = 2 * overlap > 4 * info->downsample_factor
                     ? 2 * overlap
                     : 4 * info->downsample_factor;
  char expect[256];
  int tool;

  for (tool = 0; tool < N_TOOLS; tool++)
    {
      const int w = 200, h = 150, scale = tool == TOOL_UPSCALE ? 2 : 1;
      gd_image in, mask, out;
      gd_task_params p;
      gd_error err;
      int rc;

      make_image (&in, &mask, w, h, 3);
      tool_params (tool, &p);
      p.memory_budget = (size_t)1 << 20;
      /* The message gives the least a tile needs: the exact path's, which
       * a fast job falls back to when its own buffers do not fit. */
      gd_model_set_precision (model, GD_PRECISION_EXACT);
      snprintf (expect, sizeof expect,
                "%s: a memory budget of 1 MiB is too small: the smallest "
                "tile (%d x %d) needs %.0f MiB",
                tool_names[tool], min_tile, min_tile,
                gd_tiling_tile_bytes (model, min_tile, min_tile) / (1 << 20));
      gd_error_clear (&err);
      rc = tool_run (tool, model, &p, &in, &mask, &out, &err);
      check (rc == GD_ERR_NOMEM && strcmp (err.message, expect) == 0
                 && out.data == NULL,
             "%s on %dx%d with a 1 MiB budget: status %d, \"%s\"",
             tool_names[tool], w * scale, h * scale, rc, err.message);
      if (rc != GD_ERR_NOMEM || strcmp (err.message, expect) != 0)
        printf ("     expected \"%s\"\n", expect);
      gd_image_free (&out);
      gd_image_free (&in);
      gd_image_free (&mask);
    }
}

/* ---------------------------------------------------------------- huge */

#define HUGE_SIDE 30000

/* The forward pass on 30000x30000 (gray model) needs far more than the cap:
 * a status and a message, no abort; then the model runs again. */
static void
test_huge_eps (gd_model *gray)
{
  const size_t n = (size_t)HUGE_SIDE * HUGE_SIDE;
  const char *prefix = "out of memory: the forward pass on 30000x30000 "
                       "needs ";
  float *x = map_zeros (n), *eps = map_zeros (n), small[64], small_eps[64];
  gd_error err;
  size_t mib = 0;
  char tail[32];
  int rc;

  if (x == NULL || eps == NULL)
    {
      check (0, "maps two 30000x30000 zero images: %s", strerror (errno));
      return;
    }
  gd_error_clear (&err);
  cap_memory ();
  rc = gd_model_eps (gray, x, HUGE_SIDE, HUGE_SIDE, 10, eps, &err);
  uncap_memory ();
  check (
      rc == GD_ERR_NOMEM && strncmp (err.message, prefix, strlen (prefix)) == 0
          && sscanf (err.message + strlen (prefix), "%zu MiB%31s", &mib, tail)
                 == 1
          && mib > CAP_MB,
      "eps on 30000x30000 under a %d MiB cap: status %d, \"%s\"", CAP_MB, rc,
      err.message);
  munmap (x, n * sizeof (float));
  munmap (eps, n * sizeof (float));

  memset (small, 0, sizeof small);
  rc = gd_model_eps (gray, small, 8, 8, 10, small_eps, &err);
  check (rc == GD_OK && all_finite (small_eps, 64),
         "after the failure the model still runs on 8x8: status %d", rc);
  rc = gd_model_eps (gray, small, 50000, 50000, 10, small_eps, &err);
  check (rc == GD_ERR_INVALID
             && strcmp (err.message,
                        "image 50000x50000 is too large for one forward "
                        "pass: process it in tiles")
                    == 0,
         "eps on 50000x50000 refused before any allocation: \"%s\"",
         err.message);
  rc = gd_model_eps (gray, small, 2147483647, 1, 10, small_eps, &err);
  check (rc == GD_ERR_INVALID
             && strcmp (err.message, "image size 2147483647x1 too large") == 0,
         "eps on INT_MAX x 1 refused: \"%s\"", err.message);
}

/* Every tool on a 30000x30000 gray image under the cap: planned in tiles
 * within the default budget, then refused for the state it cannot hold. */
static void
test_huge_tools (gd_model *model)
{
  const size_t n = (size_t)HUGE_SIDE * HUGE_SIDE;
  gd_image in = { HUGE_SIDE, HUGE_SIDE, 1, NULL };
  gd_image mask = { HUGE_SIDE, HUGE_SIDE, 1, NULL };
  gd_tiling tiling;
  gd_error err;
  int tool, rc;

  /* The network's share: tiles within the default budget. */
  gd_error_clear (&err);
  rc = gd_tiling_plan (&tiling, model, HUGE_SIDE, HUGE_SIDE, 0, 0, &err);
  check (rc == GD_OK && gd_tiling_count (&tiling) > 1
             && gd_tiling_tile_bytes (model, tiling.tile, tiling.tile)
                    <= (double)GD_DEFAULT_MEMORY_BUDGET,
         "30000x30000 is planned as %d tiles of %d (%.0f MiB each, within "
         "the %zu MiB default budget)",
         gd_tiling_count (&tiling), tiling.tile,
         gd_tiling_tile_bytes (model, tiling.tile, tiling.tile) / (1 << 20),
         GD_DEFAULT_MEMORY_BUDGET >> 20);

  in.data = map_zeros (n);
  mask.data = map_zeros (n);
  if (in.data == NULL || mask.data == NULL)
    {
      check (0, "maps two 30000x30000 zero images: %s", strerror (errno));
      return;
    }
  /* Two opposite corners: the region to inpaint is the whole image. */
  mask.data[0] = mask.data[n - 1] = 1.0f;
  for (tool = 0; tool < N_TOOLS; tool++)
    {
      const int scale = tool == TOOL_UPSCALE ? 2 : 1;
      gd_task_params p;
      gd_image out;
      char expect[200];

      tool_params (tool, &p);
      snprintf (expect, sizeof expect,
                "%s: out of memory for the state of a %d x %d image",
                tool_names[tool], HUGE_SIDE * scale, HUGE_SIDE * scale);
      gd_error_clear (&err);
      cap_memory ();
      rc = tool_run (tool, model, &p, &in, &mask, &out, &err);
      uncap_memory ();
      check (rc == GD_ERR_NOMEM && strcmp (err.message, expect) == 0
                 && out.data == NULL,
             "%s on 30000x30000 under a %d MiB cap: status %d, \"%s\"",
             tool_names[tool], CAP_MB, rc, err.message);
      if (rc == GD_OK)
        gd_image_free (&out);
    }
  munmap (in.data, n * sizeof (float));
  munmap (mask.data, n * sizeof (float));
}

int
main (int argc, char **argv)
{
  gd_model *rgb, *gray;
  gd_error err;

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s TINY_RGB.safetensors TINY_GRAY.safetensors\n",
               argv[0]);
      return 2;
    }
  gd_set_threads (2);
  rgb = gd_model_load (argv[1], &err);
  gray = rgb != NULL ? gd_model_load (argv[2], &err) : NULL;
  if (rgb == NULL || gray == NULL)
    {
      printf ("FAIL cannot load the test models: %s\n", err.message);
      return 1;
    }
  test_small_eps (rgb);
  test_small_eps (gray);
  test_small_tools (rgb);
  test_budget (rgb);
  test_cancel (rgb);
  test_huge_eps (gray);
  test_huge_tools (rgb);
  gd_model_free (rgb);
  gd_model_free (gray);
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
