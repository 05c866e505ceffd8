/* safetensors.h: reader of safetensors files (internal to the core).
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON, then
 * raw little-endian tensor data.  The header maps tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
 * data start) and may hold "__metadata__", an object of string -> string.
 *
 * gd_st_open validates the whole header against the file size before any
 * tensor is read: dtypes, shapes, sizes, offsets in range and not
 * overlapping, with overflow-checked arithmetic.  Tensor data is read on
 * demand with gd_st_read_f32, which converts F16/BF16 to F32 and refuses
 * NaN and Inf.  Every message names the file and the problem.
 */
#ifndef GD_SAFETENSORS_H
#define GD_SAFETENSORS_H

#include "gimp-diffusion.h"
#include "json.h"

#include <stdio.h>

/* Headers of real model files are tens of KB; a bound keeps a hostile file
   from making the JSON parser allocate gigabytes. */
#define GD_ST_MAX_HEADER ((uint64_t)16 << 20)
#define GD_ST_MAX_DIMS 8

typedef enum
{
  GD_ST_F32,
  GD_ST_F16,
  GD_ST_BF16
} gd_st_dtype;

typedef struct
{
  const char *name; /* points into the parsed header */
  gd_st_dtype dtype;
  int ndim;
  uint64_t shape[GD_ST_MAX_DIMS];
  size_t numel;
  uint64_t begin; /* byte offsets relative to the data start */
  uint64_t end;
} gd_st_tensor;

typedef struct
{
  char *path;
  FILE *file;
  uint64_t file_size;
  uint64_t data_start; /* 8 + N */
  gd_json *header;
  const gd_json *metadata; /* "__metadata__" or NULL */
  gd_st_tensor *tensors;   /* sorted by name */
  size_t n_tensors;
} gd_safetensors;

/* Opens and validates `path`.  On failure returns NULL and fills err
 * (GD_ERR_IO, GD_ERR_FORMAT or GD_ERR_NOMEM). */
gd_safetensors *gd_st_open (const char *path, gd_error *err);
void gd_st_close (gd_safetensors *st);

/* The tensor called `name`, or NULL. */
const gd_st_tensor *gd_st_find (const gd_safetensors *st, const char *name);

/* The metadata value for `key` (a string), or NULL when absent. */
const char *gd_st_metadata (const gd_safetensors *st, const char *key);

/* Reads tensor t converted to F32 into dst (t->numel floats).  Fails with
 * GD_ERR_IO on a short read and GD_ERR_FORMAT on NaN/Inf values. */
int gd_st_read_f32 (const gd_safetensors *st, const gd_st_tensor *t, float *dst,
                    gd_error *err);

/* Element size in bytes and name of a dtype. */
size_t gd_st_dtype_size (gd_st_dtype dtype);
const char *gd_st_dtype_name (gd_st_dtype dtype);

/* Conversions, exposed for tests. */
float gd_st_f16_to_f32 (uint16_t h);
float gd_st_bf16_to_f32 (uint16_t b);

#endif /* GD_SAFETENSORS_H */
