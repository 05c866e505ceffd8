/* test_bad_input.c: the bad-input matrix at the core level (issue 6).
 *
 * Usage: test_bad_input MODEL_CORPUS_DIR TINY_RGB.safetensors TINY_GRAY.safetensors
 *
 * Model files: every defect of the matrix (missing, empty, truncated,
 * header length past the end, invalid JSON, unknown dtype, wrong shape,
 * missing tensor, unknown architecture, NaN and Inf weights, weights that
 * overflow at the first step) comes back as its status and its exact
 * message.  The files are the fuzz corpus's (tests/fuzz/corpus/model),
 * copied to a short temporary path so that messages are exact.
 *
 * Images: the forward pass on 1x1 and sizes below the downsampling factor,
 * and on 30000x30000 under a memory cap: a clean "out of memory" status,
 * never an abort, and the model still works afterwards.
 */
#define _GNU_SOURCE
#include "gimp-diffusion.h"

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

/* The memory cap: allocations of a 30000x30000 job (gigabytes) must fail
 * here on any machine, whatever its RAM, and the code must say so. */
#define CAP_MB 8192

#ifdef GD_TEST_ASAN
/* ASan reserves terabytes of address space, so RLIMIT_AS cannot cap it;
   its own per-allocation limit does, and a refused one returns NULL. */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "max_allocation_size_mb=8192:allocator_may_return_null=1";
}
#endif

static int failures;
static char tmpdir[256];

static void
check (int cond, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

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

static void
limit_memory (void)
{
#ifndef GD_TEST_ASAN
  /* Address space, not RSS: the test maps two 3.6 GB zero-page images
     (never written), so the cap leaves them room and nothing more. */
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = (rlim_t)(CAP_MB + 4096) << 20;
  if (setrlimit (RLIMIT_AS, &rl) != 0)
    perror ("setrlimit");
#endif
}

/* Copies corpus file `name` to tmpdir/name; returns the new path. */
static const char *
copy_to_tmp (const char *corpus, const char *name)
{
  static char path[4][512];
  static int k;
  char src[1024];
  FILE *in, *out;
  char buf[65536];
  size_t n;

  k = (k + 1) % 4;
  snprintf (src, sizeof src, "%s/%s", corpus, name);
  snprintf (path[k], sizeof path[k], "%s/%s", tmpdir, name);
  in = fopen (src, "rb");
  out = fopen (path[k], "wb");
  if (in == NULL || out == NULL)
    {
      perror (in == NULL ? src : path[k]);
      exit (1);
    }
  while ((n = fread (buf, 1, sizeof buf, in)) > 0)
    if (fwrite (buf, 1, n, out) != n)
      {
        perror (path[k]);
        exit (1);
      }
  fclose (in);
  if (fclose (out) != 0)
    exit (1);
  return path[k];
}

/* ---------------------------------------------------------------- models */

typedef struct
{
  const char *what;
  const char *file; /* in the corpus; NULL: not created */
  gd_status status;
  const char *problem; /* the message after "PATH: " */
} model_case;

static const model_case model_cases[] = {
  { "a missing file", NULL, GD_ERR_IO,
    "cannot open: No such file or directory" },
  { "an empty file", "bad-empty", GD_ERR_FORMAT, "file is empty" },
  { "a 5-byte file", "bad-5-bytes", GD_ERR_FORMAT,
    "truncated: 5 bytes, less than the 8-byte header length" },
  { "a file cut inside its header", "bad-truncated", GD_ERR_FORMAT,
    "header length 3548 goes beyond the end of the file (2916 bytes): "
    "truncated or not a safetensors file" },
  { "a file cut inside its data", "bad-truncated-data", GD_ERR_FORMAT,
    "tensor 'conv_out.weight': data_offsets [2048, 2264] go beyond the end "
    "of the data (2176 bytes): file truncated?" },
  { "a header length past the end", "bad-length-beyond", GD_ERR_FORMAT,
    "header length 1000 goes beyond the end of the file (10 bytes): "
    "truncated or not a safetensors file" },
  { "a header length of 2^64-1", "bad-length-huge", GD_ERR_FORMAT,
    "header length 18446744073709551615 goes beyond the end of the file "
    "(10 bytes): truncated or not a safetensors file" },
  { "invalid JSON", "bad-json", GD_ERR_FORMAT,
    "bad JSON header: at byte 11: expected ',' or ']' in array" },
  { "a header that is not an object", "bad-header-array", GD_ERR_FORMAT,
    "header is a JSON array, not an object" },
  { "an unknown dtype", "bad-dtype", GD_ERR_FORMAT,
    "tensor 'w': unsupported dtype 'F64' (F32, F16 and BF16 are accepted)" },
  { "a shape that does not match the size", "bad-size", GD_ERR_FORMAT,
    "tensor 'w': shape and dtype F32 need 16 bytes but data_offsets span "
    "12" },
  { "a shape whose size overflows", "bad-shape-overflow", GD_ERR_FORMAT,
    "tensor 'w': shape too large" },
  { "offsets near 2^64", "bad-offset-overflow", GD_ERR_FORMAT,
    "tensor 'w': data_offsets [18446744073709551612, 18446744073709551615] "
    "go beyond the end of the data (16 bytes): file truncated?" },
  { "overlapping tensors", "bad-overlap", GD_ERR_FORMAT,
    "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])" },
  { "a wrong shape", "bad-wrong-shape", GD_ERR_FORMAT,
    "tensor 'conv_in.weight' has shape [54], the architecture needs [2, 3, "
    "3, 3]" },
  { "a missing tensor", "bad-missing-tensor", GD_ERR_FORMAT,
    "missing tensor 'mid.res.1.conv2.bias' (the gd-unet-v1 architecture "
    "described by the metadata needs it)" },
  { "a config that does not match the tensors", "bad-config-mismatch",
    GD_ERR_FORMAT,
    "missing tensor 'down.0.down.weight' (the gd-unet-v1 architecture "
    "described by the metadata needs it)" },
  { "metadata for an unknown architecture", "bad-unknown-arch",
    GD_ERR_FORMAT,
    "unknown architecture \"gd-unet-v2\" (this build knows "
    "\"gd-unet-v1\")" },
  { "metadata without a config", "bad-no-config", GD_ERR_FORMAT,
    "no \"config\" in the metadata" },
  { "a schedule this build does not know", "bad-schedule-cosine",
    GD_ERR_FORMAT,
    "metadata \"schedule\" must have \"type\": \"linear\" (the only "
    "schedule this build knows)" },
  { "a NaN weight", "bad-nan-weight", GD_ERR_FORMAT,
    "tensor 'up.0.res.0.conv1.weight' holds NaN values (first at element "
    "0): the model is broken" },
  { "an Inf weight (BF16)", "bad-inf-weight-bf16", GD_ERR_FORMAT,
    "tensor 'temb.lin1.bias' holds Inf values (first at element 0): the "
    "model is broken" },
};

static void
test_models (const char *corpus)
{
  char expect[1024];
  size_t i;

  for (i = 0; i < sizeof model_cases / sizeof model_cases[0]; i++)
    {
      const model_case *c = &model_cases[i];
      const char *path;
      gd_error err;
      gd_model *m;

      if (c->file != NULL)
        path = copy_to_tmp (corpus, c->file);
      else
        {
          static char missing[512];
          snprintf (missing, sizeof missing, "%s/no-such.safetensors",
                    tmpdir);
          path = missing;
        }
      snprintf (expect, sizeof expect, "%s: %s", path, c->problem);
      gd_error_clear (&err);
      m = gd_model_load (path, &err);
      check (m == NULL && err.status == c->status
                 && strcmp (err.message, expect) == 0,
             "model: %s refused with status %d, \"%s\"", c->what, err.status,
             err.message);
      if (m == NULL && strcmp (err.message, expect) != 0)
        printf ("     expected \"%s\"\n", expect);
      gd_model_free (m);
    }

  /* A directory where the file should be. */
  {
    gd_error err;
    gd_model *m;
    snprintf (expect, sizeof expect, "%s: not a regular file", tmpdir);
    gd_error_clear (&err);
    m = gd_model_load (tmpdir, &err);
    check (m == NULL && err.status == GD_ERR_IO
               && strcmp (err.message, expect) == 0,
           "model: a directory refused, \"%s\"", err.message);
    gd_model_free (m);
  }
}

/* Weights that are finite but overflow: caught at the first step. */
static void
test_overflow_at_first_step (const char *corpus)
{
  const char *path = copy_to_tmp (corpus, "huge-weights-overflow");
  gd_error err;
  gd_model *m;
  float x[3 * 5 * 4], eps[3 * 5 * 4];
  size_t i;
  int rc;

  gd_error_clear (&err);
  m = gd_model_load (path, &err);
  check (m != NULL, "model: finite huge weights load (%s)", err.message);
  if (m == NULL)
    return;
  for (i = 0; i < sizeof x / sizeof x[0]; i++)
    x[i] = (float)sin (0.3 * (double)i);
  rc = gd_model_eps (m, x, 5, 4, 300, eps, &err);
  check (rc == GD_ERR_NUMERIC
             && strcmp (err.message,
                        "the network produced Inf at t = 300 (input out of "
                        "range, or a broken model)")
                    == 0,
         "model: weights that overflow are caught at the first step: "
         "status %d, \"%s\"",
         rc, err.message);
  gd_model_free (m);
}

/* ---------------------------------------------------------------- images */

static int
all_finite (const float *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return 0;
  return 1;
}

/* The forward pass on sizes down to 1x1, below the downsampling factor. */
static void
test_small_sizes (gd_model *m)
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
             "eps on %dx%d (downsampling factor %d): status %d %s", w, h,
             info->downsample_factor, rc, err.message);
      free (x);
      free (eps);
    }
}

/* Zero pages: reading them costs no memory, and they are never written. */
static float *
map_zeros (size_t n_floats)
{
  void *p = mmap (NULL, n_floats * sizeof (float), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

  return p == MAP_FAILED ? NULL : p;
}

/* 30000x30000 through one forward pass needs far more than the cap: a
 * status and a message, no abort; then the model runs again. */
static void
test_huge (gd_model *gray)
{
  const int side = 30000;
  const size_t n = (size_t)side * (size_t)side; /* 1 channel */
  const char *prefix = "out of memory: the forward pass on 30000x30000 "
                       "needs ";
  float *x = map_zeros (n), *eps = map_zeros (n), small[64], small_eps[64];
  gd_error err;
  size_t mib;
  char tail[32];
  int rc;

  if (x == NULL || eps == NULL)
    {
      check (0, "maps two 30000x30000 zero images: %s", strerror (errno));
      return;
    }
  gd_error_clear (&err);
  rc = gd_model_eps (gray, x, side, side, 10, eps, &err);
  check (rc == GD_ERR_NOMEM && strncmp (err.message, prefix, strlen (prefix))
                                   == 0
             && sscanf (err.message + strlen (prefix), "%zu MiB%31s", &mib,
                        tail)
                    == 1
             && mib > CAP_MB,
         "eps on 30000x30000 under a %d MiB cap: status %d, \"%s\"", CAP_MB,
         rc, err.message);
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
             && strcmp (err.message, "image size 2147483647x1 too large")
                    == 0,
         "eps on INT_MAX x 1 refused: \"%s\"", err.message);
}

int
main (int argc, char **argv)
{
  const char *base = getenv ("TMPDIR");
  gd_model *rgb, *gray;
  gd_error err;
  char cmd[600];

  if (argc != 4)
    {
      fprintf (stderr,
               "usage: %s MODEL_CORPUS_DIR TINY_RGB.safetensors "
               "TINY_GRAY.safetensors\n",
               argv[0]);
      return 2;
    }
  limit_memory ();
  gd_set_threads (2);
  snprintf (tmpdir, sizeof tmpdir, "%s/gd-bad-XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }

  test_models (argv[1]);
  test_overflow_at_first_step (argv[1]);

  rgb = gd_model_load (argv[2], &err);
  gray = rgb != NULL ? gd_model_load (argv[3], &err) : NULL;
  if (rgb == NULL || gray == NULL)
    {
      printf ("FAIL cannot load the test models: %s\n", err.message);
      return 1;
    }
  test_small_sizes (rgb);
  test_small_sizes (gray);
  test_huge (gray);
  gd_model_free (rgb);
  gd_model_free (gray);

  printf ("%d failure(s)\n", failures);
  if (failures == 0)
    {
      snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
      if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", tmpdir);
    }
  else
    printf ("files kept in %s\n", tmpdir);
  return failures ? 1 : 0;
}
