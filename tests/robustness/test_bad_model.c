/* test_bad_model.c: the bad-input matrix for model files (issue 6).
 *
 * Usage: test_bad_model MODEL_CORPUS_DIR
 *
 * Every defect of the matrix (missing, empty, truncated, header length past
 * the end, invalid JSON, unknown dtype, wrong shape, missing tensor,
 * unknown architecture, NaN and Inf weights) comes back from gd_model_load
 * as its status and its exact message, and finite weights that overflow
 * are caught at the first forward pass.  The files are the fuzz corpus's
 * (tests/fuzz/corpus/model, written by tests/fuzz/make_corpus.py), copied
 * to a short temporary path so that the messages, which name the file,
 * are known exactly.
 */
#define _GNU_SOURCE
#include "gimp-diffusion.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
static char tmpdir[256];

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
  { "metadata for an unknown architecture", "bad-unknown-arch", GD_ERR_FORMAT,
    "unknown architecture \"gd-unet-v2\" (this build knows "
    "\"gd-unet-v1\")" },
  { "a metadata value with a NUL character", "bad-metadata-nul",
    GD_ERR_FORMAT, "__metadata__ value 'arch' contains a NUL character" },
  { "metadata without a config", "bad-no-config", GD_ERR_FORMAT,
    "no \"config\" in the metadata" },
  { "a schedule this build does not know", "bad-schedule-cosine", GD_ERR_FORMAT,
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
          snprintf (missing, sizeof missing, "%s/no-such.safetensors", tmpdir);
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

int
main (int argc, char **argv)
{
  const char *base = getenv ("TMPDIR");
  char cmd[600];

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s MODEL_CORPUS_DIR\n", argv[0]);
      return 2;
    }
  snprintf (tmpdir, sizeof tmpdir, "%s/gd-bad-model-XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  test_models (argv[1]);
  test_overflow_at_first_step (argv[1]);

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
