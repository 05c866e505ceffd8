/* safetensors.c: validated, overflow-checked reader of safetensors files. */
#define _FILE_OFFSET_BITS 64
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int st_fail (gd_error *err, gd_status status, const char *path,
                    const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* "PATH: problem", so that every message names the file. */
static int
st_fail (gd_error *err, gd_status status, const char *path, const char *fmt,
         ...)
{
  char problem[400];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (problem, sizeof problem, fmt, ap);
  va_end (ap);
  return gd_error_set (err, status, "%.100s: %s", path, problem);
}

size_t
gd_st_dtype_size (gd_st_dtype dtype)
{
  return dtype == GD_ST_F32 ? 4 : 2;
}

const char *
gd_st_dtype_name (gd_st_dtype dtype)
{
  switch (dtype)
    {
    case GD_ST_F32:
      return "F32";
    case GD_ST_F16:
      return "F16";
    case GD_ST_BF16:
      return "BF16";
    }
  return "?";
}

float
gd_st_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  float f;

  if (exponent == 0x1F) /* Inf or NaN */
    bits = sign | 0x7F800000u | (mantissa << 13);
  else if (exponent != 0)
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else
    {
      /* zero or subnormal: mantissa * 2^-24, exact in F32 */
      f = ldexpf ((float)mantissa, -24);
      return sign ? -f : f;
    }
  memcpy (&f, &bits, sizeof f);
  return f;
}

float
gd_st_bf16_to_f32 (uint16_t b)
{
  uint32_t bits = (uint32_t)b << 16;
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

void
gd_st_close (gd_safetensors *st)
{
  if (st == NULL)
    return;
  if (st->file != NULL)
    fclose (st->file);
  gd_json_free (st->header);
  free (st->tensors);
  free (st->path);
  free (st);
}

static int
st_cmp_name (const void *a, const void *b)
{
  return strcmp (((const gd_st_tensor *)a)->name,
                 ((const gd_st_tensor *)b)->name);
}

static int
st_cmp_begin (const void *a, const void *b)
{
  const gd_st_tensor *ta = *(const gd_st_tensor *const *)a;
  const gd_st_tensor *tb = *(const gd_st_tensor *const *)b;

  if (ta->begin != tb->begin)
    return ta->begin < tb->begin ? -1 : 1;
  return (ta->end > tb->end) - (ta->end < tb->end);
}

static int
st_read_u64_array (const gd_json *v, uint64_t *out, int max_n)
{
  size_t i;

  if (v == NULL || v->type != GD_JSON_ARRAY || v->u.array.n > (size_t)max_n)
    return -1;
  for (i = 0; i < v->u.array.n; i++)
    {
      const gd_json *item = v->u.array.items[i];
      if (item->type != GD_JSON_NUMBER || !item->u.number.is_uint)
        return -1;
      out[i] = item->u.number.uint_value;
    }
  return (int)v->u.array.n;
}

/* Validates one header entry against the data section size. */
static int
st_parse_tensor (const char *path, const char *name, const gd_json *entry,
                 uint64_t data_size, gd_st_tensor *t, gd_error *err)
{
  const gd_json *dtype, *shape, *offsets;
  uint64_t offs[2], nbytes;
  size_t i, numel = 1;
  int n;

  if (entry->type != GD_JSON_OBJECT)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': entry is a %s, not an object", name,
                    gd_json_type_name (entry->type));
  for (i = 0; i < entry->u.object.n; i++)
    {
      const char *key = entry->u.object.keys[i];
      if (strcmp (key, "dtype") != 0 && strcmp (key, "shape") != 0
          && strcmp (key, "data_offsets") != 0)
        return st_fail (err, GD_ERR_FORMAT, path,
                        "tensor '%.80s': unknown key '%.40s'", name, key);
    }
  dtype = gd_json_object_get (entry, "dtype");
  shape = gd_json_object_get (entry, "shape");
  offsets = gd_json_object_get (entry, "data_offsets");
  if (dtype == NULL || shape == NULL || offsets == NULL)
    return st_fail (err, GD_ERR_FORMAT, path, "tensor '%.80s': missing \"%s\"",
                    name,
                    dtype == NULL   ? "dtype"
                    : shape == NULL ? "shape"
                                    : "data_offsets");
  if (dtype->type != GD_JSON_STRING)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': dtype is not a string", name);
  t->name = name;
  if (strcmp (dtype->u.string.data, "F32") == 0)
    t->dtype = GD_ST_F32;
  else if (strcmp (dtype->u.string.data, "F16") == 0)
    t->dtype = GD_ST_F16;
  else if (strcmp (dtype->u.string.data, "BF16") == 0)
    t->dtype = GD_ST_BF16;
  else
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': unsupported dtype '%.20s' (F32, F16 "
                    "and BF16 are accepted)",
                    name, dtype->u.string.data);

  n = st_read_u64_array (shape, t->shape, GD_ST_MAX_DIMS);
  if (n < 0)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': shape is not a list of at most %d "
                    "non-negative integers",
                    name, GD_ST_MAX_DIMS);
  t->ndim = n;
  /* numel * 4 must fit in size_t: the tensor is converted to F32. */
  for (i = 0; i < (size_t)n; i++)
    {
      if (t->shape[i] != 0 && numel > SIZE_MAX / 4 / t->shape[i])
        return st_fail (err, GD_ERR_FORMAT, path,
                        "tensor '%.80s': shape too large", name);
      numel *= (size_t)t->shape[i];
    }
  t->numel = numel;

  if (st_read_u64_array (offsets, offs, 2) != 2)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': data_offsets is not a list of two "
                    "non-negative integers",
                    name);
  t->begin = offs[0];
  t->end = offs[1];
  if (t->begin > t->end)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': data_offsets [%llu, %llu] are reversed",
                    name, (unsigned long long)t->begin,
                    (unsigned long long)t->end);
  if (t->end > data_size)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': data_offsets [%llu, %llu] go beyond the "
                    "end of the data (%llu bytes): file truncated?",
                    name, (unsigned long long)t->begin,
                    (unsigned long long)t->end, (unsigned long long)data_size);
  nbytes = (uint64_t)numel * gd_st_dtype_size (t->dtype); /* checked */
  if (t->end - t->begin != nbytes)
    return st_fail (err, GD_ERR_FORMAT, path,
                    "tensor '%.80s': shape and dtype %s need %llu bytes but "
                    "data_offsets span %llu",
                    name, gd_st_dtype_name (t->dtype),
                    (unsigned long long)nbytes,
                    (unsigned long long)(t->end - t->begin));
  return GD_OK;
}

static int
st_parse_header (gd_safetensors *st, gd_error *err)
{
  const gd_json *root = st->header;
  uint64_t data_size = st->file_size - st->data_start;
  gd_st_tensor **by_offset;
  size_t i, n;
  int rc;

  if (root->type != GD_JSON_OBJECT)
    return st_fail (err, GD_ERR_FORMAT, st->path,
                    "header is a JSON %s, not an object",
                    gd_json_type_name (root->type));
  n = root->u.object.n;
  st->tensors = calloc (n ? n : 1, sizeof *st->tensors);
  if (st->tensors == NULL)
    return st_fail (err, GD_ERR_NOMEM, st->path, "out of memory");
  for (i = 0; i < n; i++)
    {
      const char *key = root->u.object.keys[i];
      const gd_json *value = root->u.object.values[i];

      if (strlen (key) != root->u.object.key_lens[i])
        return st_fail (err, GD_ERR_FORMAT, st->path,
                        "a tensor name contains a NUL character");
      if (strcmp (key, "__metadata__") == 0)
        {
          size_t k;
          if (value->type != GD_JSON_OBJECT)
            return st_fail (err, GD_ERR_FORMAT, st->path,
                            "__metadata__ is a %s, not an object",
                            gd_json_type_name (value->type));
          for (k = 0; k < value->u.object.n; k++)
            {
              const gd_json *v = value->u.object.values[k];
              if (v->type != GD_JSON_STRING)
                return st_fail (err, GD_ERR_FORMAT, st->path,
                                "__metadata__ value '%.60s' is a %s, not a "
                                "string",
                                value->u.object.keys[k],
                                gd_json_type_name (v->type));
              /* Read as C strings: "gd-unet-v1\u0000..." must not pass
                 for "gd-unet-v1". */
              if (strlen (v->u.string.data) != v->u.string.len)
                return st_fail (err, GD_ERR_FORMAT, st->path,
                                "__metadata__ value '%.60s' contains a NUL "
                                "character",
                                value->u.object.keys[k]);
            }
          st->metadata = value;
          continue;
        }
      rc = st_parse_tensor (st->path, key, value, data_size,
                            &st->tensors[st->n_tensors], err);
      if (rc != GD_OK)
        return rc;
      st->n_tensors++;
    }

  /* No two tensors may share bytes. */
  by_offset = malloc ((st->n_tensors ? st->n_tensors : 1) * sizeof *by_offset);
  if (by_offset == NULL)
    return st_fail (err, GD_ERR_NOMEM, st->path, "out of memory");
  for (i = 0; i < st->n_tensors; i++)
    by_offset[i] = &st->tensors[i];
  qsort (by_offset, st->n_tensors, sizeof *by_offset, st_cmp_begin);
  rc = GD_OK;
  {
    const gd_st_tensor *prev = NULL;
    for (i = 0; i < st->n_tensors; i++)
      {
        const gd_st_tensor *t = by_offset[i];
        if (t->begin == t->end)
          continue; /* empty tensors own no bytes */
        if (prev != NULL && t->begin < prev->end)
          {
            rc = st_fail (err, GD_ERR_FORMAT, st->path,
                          "tensors '%.80s' and '%.80s' overlap (data_offsets "
                          "[%llu, %llu] and [%llu, %llu])",
                          prev->name, t->name, (unsigned long long)prev->begin,
                          (unsigned long long)prev->end,
                          (unsigned long long)t->begin,
                          (unsigned long long)t->end);
            break;
          }
        prev = t;
      }
  }
  free (by_offset);
  if (rc != GD_OK)
    return rc;
  qsort (st->tensors, st->n_tensors, sizeof *st->tensors, st_cmp_name);
  return GD_OK;
}

gd_safetensors *
gd_st_open (const char *path, gd_error *err)
{
  gd_safetensors *st;
  struct stat sb;
  unsigned char len_bytes[8];
  uint64_t header_len = 0;
  char *header_text = NULL, json_err[200];
  int i;

  if (path == NULL || path[0] == '\0')
    {
      gd_error_set (err, GD_ERR_IO, "no file name given");
      return NULL;
    }
  st = calloc (1, sizeof *st);
  if (st == NULL || (st->path = strdup (path)) == NULL)
    {
      free (st);
      gd_error_set (err, GD_ERR_NOMEM, "%.100s: out of memory", path);
      return NULL;
    }
  st->file = fopen (path, "rb");
  if (st->file == NULL)
    {
      st_fail (err, GD_ERR_IO, path, "cannot open: %s", strerror (errno));
      goto fail;
    }
  if (fstat (fileno (st->file), &sb) != 0)
    {
      st_fail (err, GD_ERR_IO, path, "cannot stat: %s", strerror (errno));
      goto fail;
    }
  if (!S_ISREG (sb.st_mode))
    {
      st_fail (err, GD_ERR_IO, path, "not a regular file");
      goto fail;
    }
  st->file_size = (uint64_t)sb.st_size;
  if (st->file_size == 0)
    {
      st_fail (err, GD_ERR_FORMAT, path, "file is empty");
      goto fail;
    }
  if (st->file_size < 8)
    {
      st_fail (err, GD_ERR_FORMAT, path,
               "truncated: %llu bytes, less than the 8-byte header length",
               (unsigned long long)st->file_size);
      goto fail;
    }
  if (fread (len_bytes, 1, 8, st->file) != 8)
    {
      st_fail (err, GD_ERR_IO, path, "cannot read the header length");
      goto fail;
    }
  for (i = 7; i >= 0; i--)
    header_len = (header_len << 8) | len_bytes[i];
  if (header_len > st->file_size - 8)
    {
      st_fail (err, GD_ERR_FORMAT, path,
               "header length %llu goes beyond the end of the file "
               "(%llu bytes): truncated or not a safetensors file",
               (unsigned long long)header_len,
               (unsigned long long)st->file_size);
      goto fail;
    }
  if (header_len < 2)
    {
      st_fail (err, GD_ERR_FORMAT, path, "header length %llu is too small",
               (unsigned long long)header_len);
      goto fail;
    }
  if (header_len > GD_ST_MAX_HEADER)
    {
      st_fail (err, GD_ERR_FORMAT, path,
               "header length %llu exceeds the limit of %llu bytes",
               (unsigned long long)header_len,
               (unsigned long long)GD_ST_MAX_HEADER);
      goto fail;
    }
  st->data_start = 8 + header_len;
  header_text = malloc ((size_t)header_len);
  if (header_text == NULL)
    {
      st_fail (err, GD_ERR_NOMEM, path, "out of memory for the header");
      goto fail;
    }
  if (fread (header_text, 1, (size_t)header_len, st->file)
      != (size_t)header_len)
    {
      st_fail (err, GD_ERR_IO, path, "cannot read the header");
      goto fail;
    }
  st->header = gd_json_parse (header_text, (size_t)header_len, json_err,
                              sizeof json_err);
  if (st->header == NULL)
    {
      st_fail (err, GD_ERR_FORMAT, path, "bad JSON header: %s", json_err);
      goto fail;
    }
  free (header_text);
  header_text = NULL;
  if (st_parse_header (st, err) != GD_OK)
    goto fail;
  return st;

fail:
  free (header_text);
  gd_st_close (st);
  return NULL;
}

const gd_st_tensor *
gd_st_find (const gd_safetensors *st, const char *name)
{
  gd_st_tensor key;

  memset (&key, 0, sizeof key);
  key.name = name;
  return bsearch (&key, st->tensors, st->n_tensors, sizeof *st->tensors,
                  st_cmp_name);
}

const char *
gd_st_metadata (const gd_safetensors *st, const char *key)
{
  const gd_json *v = gd_json_object_get (st->metadata, key);

  return v != NULL && v->type == GD_JSON_STRING ? v->u.string.data : NULL;
}

static int
st_seek (const gd_safetensors *st, const gd_st_tensor *t, gd_error *err)
{
  /* begin <= data size, validated at open: no overflow here. */
  if (fseeko (st->file, (off_t)(st->data_start + t->begin), SEEK_SET) != 0)
    return st_fail (err, GD_ERR_IO, st->path, "tensor '%.80s': cannot seek: %s",
                    t->name, strerror (errno));
  return GD_OK;
}

int
gd_st_read_f32 (const gd_safetensors *st, const gd_st_tensor *t, float *dst,
                gd_error *err)
{
  size_t i;
  int rc;

  rc = st_seek (st, t, err);
  if (rc != GD_OK)
    return rc;
  if (t->dtype == GD_ST_F32)
    {
      unsigned char *bytes = (unsigned char *)dst;
      if (fread (dst, 4, t->numel, st->file) != t->numel)
        return st_fail (err, GD_ERR_IO, st->path,
                        "tensor '%.80s': short read: file truncated?", t->name);
      /* The data is little-endian; assemble words so that any host works. */
      for (i = 0; i < t->numel; i++)
        {
          uint32_t bits = (uint32_t)bytes[4 * i]
                          | (uint32_t)bytes[4 * i + 1] << 8
                          | (uint32_t)bytes[4 * i + 2] << 16
                          | (uint32_t)bytes[4 * i + 3] << 24;
          memcpy (&dst[i], &bits, 4);
        }
    }
  else
    {
      unsigned char chunk[8192];
      size_t done = 0;
      while (done < t->numel)
        {
          size_t n = t->numel - done, k;
          if (n > sizeof chunk / 2)
            n = sizeof chunk / 2;
          if (fread (chunk, 2, n, st->file) != n)
            return st_fail (err, GD_ERR_IO, st->path,
                            "tensor '%.80s': short read: file truncated?",
                            t->name);
          for (k = 0; k < n; k++)
            {
              uint16_t half
                  = (uint16_t)(chunk[2 * k] | (unsigned)chunk[2 * k + 1] << 8);
              dst[done + k] = t->dtype == GD_ST_F16 ? gd_st_f16_to_f32 (half)
                                                    : gd_st_bf16_to_f32 (half);
            }
          done += n;
        }
    }
  for (i = 0; i < t->numel; i++)
    if (!isfinite (dst[i]))
      return st_fail (err, GD_ERR_FORMAT, st->path,
                      "tensor '%.80s' holds %s values (first at element "
                      "%zu): the model is broken",
                      t->name, isnan (dst[i]) ? "NaN" : "Inf", i);
  return GD_OK;
}
