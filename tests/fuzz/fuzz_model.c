/* fuzz_model.c: libFuzzer target for model files: the safetensors reader,
 * the model loader (metadata, config, schedule, tensor binding) and, when a
 * file loads, the forward pass on small images.
 *
 * The input is written to an in-memory file (memfd) and opened by path
 * through /proc/self/fd, so the loaders run exactly as on a file on disk.
 * A failure must come back as a status with a message naming the file; a
 * success must keep the reader's promises (offsets in range, no overlap,
 * finite weights, finite or refused network output).  A violation aborts.
 */
#define _GNU_SOURCE
#include "gimp-diffusion.h"
#include "safetensors.h"

#include <math.h>
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

static int fuzz_fd = -1;
static char fuzz_path[64];

/* The input as a file: one memfd, rewritten for every input. */
static const char *
fuzz_file (const uint8_t *data, size_t size)
{
  size_t done = 0;

  if (fuzz_fd < 0)
    {
      fuzz_fd = memfd_create ("gd-fuzz-model", MFD_CLOEXEC);
      FUZZ_CHECK (fuzz_fd >= 0);
      snprintf (fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
    }
  FUZZ_CHECK (ftruncate (fuzz_fd, 0) == 0);
  while (done < size)
    {
      ssize_t n = pwrite (fuzz_fd, data + done, size - done, (off_t)done);
      FUZZ_CHECK (n > 0);
      done += (size_t)n;
    }
  return fuzz_path;
}

/* A failure is a status and a message that names the file. */
static void
fuzz_check_failure (const gd_error *err, const char *path)
{
  FUZZ_CHECK (err->status < 0 && err->status >= GD_ERR_NUMERIC);
  FUZZ_CHECK (memchr (err->message, '\0', sizeof err->message) != NULL);
  FUZZ_CHECK (strstr (err->message, path) != NULL);
}

static void
fuzz_reader (const char *path, size_t size)
{
  gd_error err;
  gd_safetensors *st;
  size_t i;

  gd_error_clear (&err);
  st = gd_st_open (path, &err);
  if (st == NULL)
    {
      fuzz_check_failure (&err, path);
      return;
    }
  FUZZ_CHECK (st->file_size == size && st->data_start <= size);
  for (i = 0; i < st->n_tensors; i++)
    {
      const gd_st_tensor *t = &st->tensors[i];
      float *values;

      /* Sorted by name and found by name. */
      FUZZ_CHECK (i == 0 || strcmp (st->tensors[i - 1].name, t->name) < 0);
      FUZZ_CHECK (gd_st_find (st, t->name) == t);
      FUZZ_CHECK (t->begin <= t->end && t->end <= size - st->data_start);
      FUZZ_CHECK (t->end - t->begin == t->numel * gd_st_dtype_size (t->dtype));
      values = malloc ((t->numel ? t->numel : 1) * sizeof *values);
      FUZZ_CHECK (values != NULL); /* numel <= the file's size */
      if (gd_st_read_f32 (st, t, values, &err) == GD_OK)
        {
          size_t k;
          for (k = 0; k < t->numel; k++)
            FUZZ_CHECK (isfinite (values[k]));
        }
      else
        fuzz_check_failure (&err, path);
      free (values);
    }
  (void)gd_st_metadata (st, "arch");
  (void)gd_st_find (st, "");
  gd_st_close (st);
}

/* A loaded model runs on a few small sizes, odd and below its
 * downsampling factor included. */
static void
fuzz_forward (gd_model *model)
{
  static const int sizes[][2] = { { 1, 1 }, { 5, 3 }, { 8, 8 } };
  const gd_model_info *info = gd_model_get_info (model);
  size_t s;

  FUZZ_CHECK (info->in_channels >= 1 && info->n_levels >= 1
              && info->downsample_factor == 1 << (info->n_levels - 1));
  FUZZ_CHECK (info->schedule.T >= 1 && info->schedule.T <= GD_T_MAX);
  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    {
      const int w = sizes[s][0], h = sizes[s][1];
      const size_t n = (size_t)info->in_channels * (size_t)(w * h);
      float *x = malloc (n * sizeof *x), *eps = malloc (n * sizeof *eps);
      gd_error err;
      size_t k;
      int rc;

      FUZZ_CHECK (x != NULL && eps != NULL);
      for (k = 0; k < n; k++)
        x[k] = (float)sin (0.7 * (double)k);
      gd_error_clear (&err);
      rc = gd_model_eps (model, x, w, h, 0.37 * info->schedule.T, eps, &err);
      FUZZ_CHECK (rc == GD_OK || rc == GD_ERR_NUMERIC);
      if (rc == GD_OK)
        for (k = 0; k < n; k++)
          FUZZ_CHECK (isfinite (eps[k]));
      else
        FUZZ_CHECK (strstr (err.message, "the network produced") != NULL);
      free (x);
      free (eps);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path;
  gd_error err;
  gd_model *model;

  gd_set_threads (1); /* one input, one thread: reproducible runs */
  path = fuzz_file (data, size);
  fuzz_reader (path, size);
  gd_error_clear (&err);
  model = gd_model_load (path, &err);
  if (model == NULL)
    {
      fuzz_check_failure (&err, path);
      return 0;
    }
  FUZZ_CHECK (err.status == GD_OK);
  fuzz_forward (model);
  gd_model_free (model);
  return 0;
}
