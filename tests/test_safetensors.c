/* test_safetensors.c: the model file reader on valid and malformed files.
 *
 * Usage: test-safetensors TINY_MODEL.safetensors
 * Part 1 checks the strict JSON parser; part 2 writes small broken files
 * byte by byte; part 3 rewrites the tiny committed model with one defect
 * each (missing tensor, wrong shape, unknown architecture, NaN, ...).
 * Every failure must come back as a status and a message that names the
 * file and the problem, never a crash.
 */
#include "gimp-diffusion.h"
#include "json.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
static char tmpdir[256];

static void
check (int cond, const char *what)
{
  printf ("%s %s\n", cond ? "ok  " : "FAIL", what);
  if (!cond)
    failures++;
}

static const char *
tmp_path (const char *name)
{
  static char buf[4][512];
  static int k;

  k = (k + 1) % 4;
  snprintf (buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

/* ---------------------------------------------------------------- JSON */

static void
json_ok (const char *text, gd_json_type type, const char *what)
{
  char err[200];
  gd_json *v = gd_json_parse (text, strlen (text), err, sizeof err);
  char line[200];

  snprintf (line, sizeof line, "json accepts %s", what);
  check (v != NULL && v->type == type, line);
  if (v == NULL)
    printf ("     (%s)\n", err);
  gd_json_free (v);
}

static void
json_bad (const char *text, size_t len, const char *expect, const char *what)
{
  char err[200] = "", line[300];
  gd_json *v = gd_json_parse (text, len, err, sizeof err);

  snprintf (line, sizeof line, "json refuses %s: \"%s\"", what, err);
  check (v == NULL && strstr (err, expect) != NULL, line);
  gd_json_free (v);
}

static void
test_json (void)
{
  char err[200], deep[300];
  gd_json *v;
  const gd_json *m;
  int i;

  json_ok ("{}", GD_JSON_OBJECT, "an empty object");
  json_ok (" [1, -2.5e3, true, false, null, \"x\"] ", GD_JSON_ARRAY,
           "a mixed array with spaces");
  json_ok ("\"\\u00e9\\ud83d\\ude00\\n\\\"\"", GD_JSON_STRING,
           "escapes and a surrogate pair");
  json_ok ("\"caf\xc3\xa9\"", GD_JSON_STRING, "raw UTF-8");
  json_bad ("", 0, "unexpected end", "empty text");
  json_bad ("[1,]", 4, "unexpected character", "a trailing comma");
  json_bad ("{\"a\":1,}", 8, "expected a string key",
            "a trailing comma in an object");
  json_bad ("01", 2, "leading zero", "a leading zero");
  json_bad ("1.", 2, "digit after '.'", "a bare decimal point");
  json_bad ("1e400", 5, "out of range", "an overflowing number");
  json_bad ("\"a\\x\"", 5, "bad escape", "an unknown escape");
  json_bad ("\"\\ud800\"", 8, "surrogate", "a lone surrogate");
  json_bad ("\"a\nb\"", 5, "control character", "a raw newline in a string");
  json_bad ("\"\xc0\xaf\"", 4, "UTF-8", "an overlong UTF-8 sequence");
  json_bad ("\"abc", 4, "unterminated", "an unterminated string");
  json_bad ("{\"a\":1,\"a\":2}", 13, "duplicate key", "a duplicate key");
  json_bad ("[1] x", 5, "trailing", "trailing characters");
  json_bad ("tru", 3, "literal", "a truncated literal");
  json_bad ("{\"a\" 1}", 7, "':'", "a missing colon");
  json_bad ("[1 2]", 5, "',' or ']'", "a missing comma");
  json_bad ("[\"a\0b\"]", 7, "control character", "a NUL byte");
  for (i = 0; i < 200; i++)
    deep[i] = '[';
  json_bad (deep, 200, "nesting deeper", "200 nested arrays");
  for (i = 0; i < GD_JSON_MAX_DEPTH; i++)
    deep[i] = '[';
  for (i = 0; i < GD_JSON_MAX_DEPTH; i++)
    deep[GD_JSON_MAX_DEPTH + i] = ']';
  v = gd_json_parse (deep, 2 * GD_JSON_MAX_DEPTH, err, sizeof err);
  check (v != NULL, "json accepts nesting at the depth limit");
  gd_json_free (v);

  v = gd_json_parse ("{\"big\": 18446744073709551615, \"bigger\": "
                     "18446744073709551616, \"neg\": -1, \"f\": 0.02}",
                     strlen ("{\"big\": 18446744073709551615, \"bigger\": "
                             "18446744073709551616, \"neg\": -1, \"f\": "
                             "0.02}"),
                     err, sizeof err);
  check (v != NULL, "json parses big integers");
  if (v != NULL)
    {
      m = gd_json_object_get (v, "big");
      check (m && m->u.number.is_uint
                 && m->u.number.uint_value == 18446744073709551615ull,
             "json keeps 2^64-1 exact");
      m = gd_json_object_get (v, "bigger");
      check (m && !m->u.number.is_uint, "json flags 2^64 as not a uint64");
      m = gd_json_object_get (v, "neg");
      check (m && !m->u.number.is_uint && m->u.number.value == -1.0,
             "json flags -1 as not a uint64");
      m = gd_json_object_get (v, "f");
      check (m && m->u.number.value == 0.02, "json reads 0.02 exactly");
      check (gd_json_object_get (v, "missing") == NULL,
             "json lookup of a missing key gives NULL");
    }
  gd_json_free (v);
}

/* ---------------------------------------------------------------- raw files */

static void
write_bytes (const char *path, const void *data, size_t n)
{
  FILE *f = fopen (path, "wb");

  if (f == NULL || fwrite (data, 1, n, f) != n || fclose (f) != 0)
    {
      perror (path);
      exit (1);
    }
}

/* A file with header length field `len_field`, header text and data. */
static const char *
write_raw (const char *name, uint64_t len_field, const char *header,
           const void *data, size_t data_len)
{
  const char *path = tmp_path (name);
  size_t hl = strlen (header), i;
  unsigned char *buf = malloc (8 + hl + data_len + 1);

  for (i = 0; i < 8; i++)
    buf[i] = (unsigned char)(len_field >> (8 * i));
  memcpy (buf + 8, header, hl);
  if (data_len)
    memcpy (buf + 8 + hl, data, data_len);
  write_bytes (path, buf, 8 + hl + data_len);
  free (buf);
  return path;
}

static const char *
write_header (const char *name, const char *header, const void *data,
              size_t data_len)
{
  return write_raw (name, strlen (header), header, data, data_len);
}

/* gd_st_open must fail with `status` and a message holding the path and
 * `expect`. */
static void
open_bad (const char *path, gd_status status, const char *expect,
          const char *what)
{
  gd_error err;
  gd_safetensors *st;
  char line[700];

  gd_error_clear (&err);
  st = gd_st_open (path, &err);
  snprintf (line, sizeof line, "refuses %s: \"%s\"", what, err.message);
  check (st == NULL && err.status == status && strstr (err.message, path)
             && strstr (err.message, expect),
         line);
  gd_st_close (st);
}

static void
test_raw_files (void)
{
  float four[4] = { 1.0f, -2.0f, 3.5f, 0.25f }, got[4];
  const char *p;
  gd_safetensors *st;
  gd_error err;
  const gd_st_tensor *t;
  unsigned char nan_bytes[8] = { 0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f };
  uint16_t halfs[6] = { 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555 };
  uint16_t bf[3] = { 0x3F80, 0xC0A0, 0x0000 };
  float half_got[6], bf_got[3];

  open_bad (tmp_path ("does-not-exist.safetensors"), GD_ERR_IO, "cannot open",
            "a missing file");
  open_bad (tmpdir, GD_ERR_IO, "not a regular file", "a directory");
  write_bytes (tmp_path ("empty"), "", 0);
  open_bad (tmp_path ("empty"), GD_ERR_FORMAT, "file is empty",
            "an empty file");
  write_bytes (tmp_path ("five"), "\x10\0\0\0\0", 5);
  open_bad (tmp_path ("five"), GD_ERR_FORMAT, "truncated", "a 5-byte file");
  p = write_raw ("len-beyond", 1000, "{}", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "goes beyond the end of the file",
            "a header length beyond the file");
  p = write_raw ("len-huge", UINT64_MAX, "{}", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "goes beyond the end of the file",
            "a header length of 2^64-1");
  p = write_raw ("len-zero", 0, "{}", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "too small", "a header length of 0");
  p = write_header ("bad-json", "{\"a\": [1, 2}", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "bad JSON header", "a bad JSON header");
  p = write_header ("not-object", "[1, 2]", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "not an object", "a header that is an array");
  p = write_header ("dtype",
                    "{\"w\": {\"dtype\": \"F64\", \"shape\": [2], "
                    "\"data_offsets\": [0, 16]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "unsupported dtype 'F64'", "an unknown dtype");
  p = write_header ("size",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], "
                    "\"data_offsets\": [0, 12]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "need 16 bytes but data_offsets span 12",
            "a shape/size mismatch");
  p = write_header ("range",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], "
                    "\"data_offsets\": [0, 16]}}",
                    four, 8);
  open_bad (p, GD_ERR_FORMAT, "go beyond the end of the data",
            "offsets beyond the data (truncated file)");
  p = write_header ("reversed",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], "
                    "\"data_offsets\": [8, 4]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "reversed", "reversed offsets");
  p = write_header ("overlap",
                    "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], "
                    "\"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", "
                    "\"shape\": [2], \"data_offsets\": [4, 12]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "overlap", "overlapping tensors");
  p = write_header ("offset-overflow",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], "
                    "\"data_offsets\": [18446744073709551612, "
                    "18446744073709551615]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "go beyond the end of the data",
            "offsets near 2^64");
  p = write_header ("shape-overflow",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, "
                    "4294967296, 4294967296], \"data_offsets\": [0, 16]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "shape too large",
            "a shape whose size "
            "overflows");
  p = write_header ("shape-neg",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": "
                    "[-4], \"data_offsets\": [0, 16]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "shape is not a list", "a negative dimension");
  p = write_header ("shape-dims",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": "
                    "[1,1,1,1,1,1,1,1,4], \"data_offsets\": "
                    "[0, 16]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "at most 8", "nine dimensions");
  p = write_header ("no-offsets",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": "
                    "[4]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "missing \"data_offsets\"",
            "an entry without data_offsets");
  p = write_header ("extra-key",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": "
                    "[4], \"data_offsets\": [0, 16], \"x\": "
                    "1}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "unknown key 'x'",
            "an entry with an unknown key");
  p = write_header ("meta-type", "{\"__metadata__\": {\"arch\": 3}}", NULL, 0);
  open_bad (p, GD_ERR_FORMAT, "not a string", "a non-string metadata value");
  p = write_header ("dup",
                    "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], "
                    "\"data_offsets\": [0, 16]}, \"w\": {\"dtype\": "
                    "\"F32\", \"shape\": [4], \"data_offsets\": [0, "
                    "16]}}",
                    four, 16);
  open_bad (p, GD_ERR_FORMAT, "duplicate key", "a tensor named twice");

  /* Valid files: F32 values, an empty tensor, metadata. */
  p = write_header ("good",
                    "{\"__metadata__\": {\"k\": \"v\"}, \"w\": "
                    "{\"dtype\": \"F32\", \"shape\": [2, 2], "
                    "\"data_offsets\": [0, 16]}, \"e\": {\"dtype\": "
                    "\"F16\", \"shape\": [0, 3], \"data_offsets\": "
                    "[16, 16]}}  ",
                    four, 16);
  gd_error_clear (&err);
  st = gd_st_open (p, &err);
  check (st != NULL, "opens a valid F32 file");
  if (st != NULL)
    {
      t = gd_st_find (st, "w");
      check (t != NULL && t->ndim == 2 && t->numel == 4
                 && gd_st_read_f32 (st, t, got, &err) == GD_OK
                 && memcmp (got, four, sizeof four) == 0,
             "reads F32 values exactly");
      t = gd_st_find (st, "e");
      check (t != NULL && t->numel == 0, "accepts an empty tensor");
      check (gd_st_find (st, "nope") == NULL, "finds no missing tensor");
      check (gd_st_metadata (st, "k") != NULL
                 && strcmp (gd_st_metadata (st, "k"), "v") == 0
                 && gd_st_metadata (st, "z") == NULL,
             "reads metadata");
      gd_st_close (st);
    }

  /* The file shrinks after it was opened: a short read, no crash.  The
     tensor lies past stdio's buffer, so the read really goes to the file. */
  {
    size_t n_big = 40000;
    float *big = calloc (n_big, sizeof *big), *big_got;
    char header[200];
    snprintf (header, sizeof header,
              "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], "
              "\"data_offsets\": [0, 16]}, \"big\": {\"dtype\": \"F32\", "
              "\"shape\": [%zu], \"data_offsets\": [16, %zu]}}",
              n_big - 4, 4 * n_big);
    memcpy (big, four, sizeof four);
    p = write_header ("shrink", header, big, 4 * n_big);
    big_got = malloc (4 * n_big);
    st = gd_st_open (p, &err);
    if (st != NULL && truncate (p, (off_t)st->data_start + 16) == 0)
      {
        int rc = gd_st_read_f32 (st, gd_st_find (st, "big"), big_got, &err);
        check (rc == GD_ERR_IO && strstr (err.message, "short read"),
               "a file truncated after opening gives a short read");
      }
    else
      check (0, "opens and truncates the shrink file");
    gd_st_close (st);
    free (big);
    free (big_got);
  }

  /* NaN and Inf refused at read time, with the tensor named. */
  p = write_header ("nan",
                    "{\"bad\": {\"dtype\": \"F32\", \"shape\": [2], "
                    "\"data_offsets\": [0, 8]}}",
                    nan_bytes, 8);
  st = gd_st_open (p, &err);
  if (st != NULL)
    {
      int rc = gd_st_read_f32 (st, gd_st_find (st, "bad"), got, &err);
      check (rc == GD_ERR_FORMAT && strstr (err.message, "'bad' holds NaN")
                 && strstr (err.message, "element 1"),
             "refuses a NaN weight, naming tensor and element");
      gd_st_close (st);
    }
  else
    check (0, "opens the NaN file");

  /* F16 and BF16 decode. */
  p = write_header ("halfs",
                    "{\"h\": {\"dtype\": \"F16\", \"shape\": [6], "
                    "\"data_offsets\": [0, 12]}, \"b\": {\"dtype\": "
                    "\"BF16\", \"shape\": [3], \"data_offsets\": [12, 18]}}",
                    NULL, 0);
  {
    unsigned char raw[18];
    int i;
    FILE *f;
    for (i = 0; i < 6; i++)
      raw[2 * i] = halfs[i] & 0xFF, raw[2 * i + 1] = halfs[i] >> 8;
    for (i = 0; i < 3; i++)
      raw[12 + 2 * i] = bf[i] & 0xFF, raw[13 + 2 * i] = bf[i] >> 8;
    f = fopen (p, "ab");
    fwrite (raw, 1, 18, f);
    fclose (f);
  }
  st = gd_st_open (p, &err);
  check (st != NULL, "opens an F16/BF16 file");
  if (st != NULL)
    {
      check (gd_st_read_f32 (st, gd_st_find (st, "h"), half_got, &err) == GD_OK
                 && half_got[0] == 1.0f && half_got[1] == -2.0f
                 && half_got[2] == 65504.0f && half_got[3] == ldexpf (1.0f, -24)
                 && half_got[4] == 0.0f && signbit (half_got[4])
                 && fabsf (half_got[5] - 1.0f / 3.0f) < 1e-3f,
             "decodes F16 (normal, max, subnormal, -0)");
      check (gd_st_read_f32 (st, gd_st_find (st, "b"), bf_got, &err) == GD_OK
                 && bf_got[0] == 1.0f && bf_got[1] == -5.0f
                 && bf_got[2] == 0.0f,
             "decodes BF16");
      gd_st_close (st);
    }

  /* Every F16 pattern against the definition. */
  {
    unsigned h;
    int ok = 1;
    for (h = 0; h < 65536; h++)
      {
        unsigned e = (h >> 10) & 0x1F, mant = h & 0x3FF;
        double want;
        float f = gd_st_f16_to_f32 ((uint16_t)h);
        if (e == 0x1F)
          {
            ok = ok && (mant ? isnan (f) : isinf (f));
            continue;
          }
        want = e ? ldexp (1.0 + mant / 1024.0, (int)e - 15)
                 : ldexp (mant / 1024.0, -14);
        if (h & 0x8000)
          want = -want;
        ok = ok && (double)f == want && !!signbit (f) == !!(h & 0x8000);
      }
    check (ok, "F16 decode exact for all 65536 patterns");
  }
}

/* ---------------------------------------------------------------- models */

typedef struct
{
  const char *name;
  int ndim;
  uint64_t shape[8];
  float *data;
  size_t numel;
} tensor_copy;

static tensor_copy *tiny;
static size_t n_tiny;
static char meta_arch[64], meta_config[512], meta_schedule[256];

static void
json_escape (char *dst, size_t size, const char *src)
{
  size_t n = 0;

  for (; *src && n + 3 < size; src++)
    {
      if (*src == '"' || *src == '\\')
        dst[n++] = '\\';
      dst[n++] = *src;
    }
  dst[n] = '\0';
}

/* Writes the tiny model with: tensor `skip` left out, `extra` added, the
 * shape of `reshape` replaced by [numel], element 0 of `poison` set to
 * `poison_value`, dtype `dtype` ("F32" or "BF16"), and the metadata
 * fields given (NULL: left out). */
static const char *
write_model (const char *file, const char *dtype, const char *skip,
             const char *extra, const char *reshape, const char *poison,
             float poison_value, const char *arch, const char *config,
             const char *schedule)
{
  const char *path = tmp_path (file);
  size_t cap = 1 << 20, n = 0, i, offset = 0,
         elem = strcmp (dtype, "F32") ? 2 : 4;
  char *header = malloc (cap), esc[1024];
  FILE *f;
  int d;

  n += (size_t)snprintf (header + n, cap - n, "{\"__metadata__\": {");
  if (arch)
    {
      json_escape (esc, sizeof esc, arch);
      n += (size_t)snprintf (header + n, cap - n, "\"arch\": \"%s\",", esc);
    }
  if (config)
    {
      json_escape (esc, sizeof esc, config);
      n += (size_t)snprintf (header + n, cap - n, "\"config\": \"%s\",", esc);
    }
  if (schedule)
    {
      json_escape (esc, sizeof esc, schedule);
      n += (size_t)snprintf (header + n, cap - n, "\"schedule\": \"%s\",", esc);
    }
  n += (size_t)snprintf (header + n, cap - n, "\"training\": \"{}\"}");
  for (i = 0; i <= n_tiny; i++)
    {
      const char *name = i < n_tiny ? tiny[i].name : extra;
      size_t numel = i < n_tiny ? tiny[i].numel : 4;
      if (name == NULL || (skip && strcmp (name, skip) == 0))
        continue;
      n += (size_t)snprintf (header + n, cap - n,
                             ", \"%s\": {\"dtype\": \"%s\", \"shape\": [", name,
                             dtype);
      if (i == n_tiny || (reshape && strcmp (name, reshape) == 0))
        n += (size_t)snprintf (header + n, cap - n, "%zu", numel);
      else
        for (d = 0; d < tiny[i].ndim; d++)
          n += (size_t)snprintf (header + n, cap - n, d ? ", %llu" : "%llu",
                                 (unsigned long long)tiny[i].shape[d]);
      n += (size_t)snprintf (header + n, cap - n,
                             "], \"data_offsets\": [%zu, %zu]}", offset,
                             offset + numel * elem);
      offset += numel * elem;
    }
  n += (size_t)snprintf (header + n, cap - n, "}");
  f = fopen (path, "wb");
  for (d = 0; d < 8; d++)
    fputc ((int)((uint64_t)n >> (8 * d)) & 0xFF, f);
  fwrite (header, 1, n, f);
  for (i = 0; i <= n_tiny; i++)
    {
      const char *name = i < n_tiny ? tiny[i].name : extra;
      size_t numel = i < n_tiny ? tiny[i].numel : 4, k;
      if (name == NULL || (skip && strcmp (name, skip) == 0))
        continue;
      for (k = 0; k < numel; k++)
        {
          float v = i < n_tiny ? tiny[i].data[k] : 0.5f;
          uint32_t bits;
          if (k == 0 && poison && strcmp (name, poison) == 0)
            v = poison_value;
          memcpy (&bits, &v, 4);
          if (elem == 4)
            for (d = 0; d < 4; d++)
              fputc ((int)(bits >> (8 * d)) & 0xFF, f);
          else
            {
              /* BF16 by truncation: exact enough for a load test. */
              fputc ((int)(bits >> 16) & 0xFF, f);
              fputc ((int)(bits >> 24) & 0xFF, f);
            }
        }
    }
  fclose (f);
  free (header);
  return path;
}

static const char *
write_tiny (const char *file)
{
  return write_model (file, "F32", NULL, NULL, NULL, NULL, 0, meta_arch,
                      meta_config, meta_schedule);
}

static void
load_bad (const char *path, const char *expect, const char *what)
{
  gd_error err;
  gd_model *m;
  char line[700];

  gd_error_clear (&err);
  m = gd_model_load (path, &err);
  snprintf (line, sizeof line, "model refuses %s: \"%s\"", what, err.message);
  check (m == NULL && err.status != GD_OK && strstr (err.message, path)
             && strstr (err.message, expect),
         line);
  gd_model_free (m);
}

static int
read_tiny (const char *path)
{
  gd_error err;
  gd_safetensors *st = gd_st_open (path, &err);
  size_t i;

  if (st == NULL)
    {
      printf ("FAIL cannot open %s: %s\n", path, err.message);
      return -1;
    }
  n_tiny = st->n_tensors;
  tiny = calloc (n_tiny, sizeof *tiny);
  for (i = 0; i < n_tiny; i++)
    {
      const gd_st_tensor *t = &st->tensors[i];
      tiny[i].name = strdup (t->name);
      tiny[i].ndim = t->ndim;
      memcpy (tiny[i].shape, t->shape, sizeof t->shape);
      tiny[i].numel = t->numel;
      tiny[i].data = malloc (t->numel * sizeof (float));
      if (gd_st_read_f32 (st, t, tiny[i].data, &err) != GD_OK)
        {
          printf ("FAIL %s\n", err.message);
          return -1;
        }
    }
  snprintf (meta_arch, sizeof meta_arch, "%s", gd_st_metadata (st, "arch"));
  snprintf (meta_config, sizeof meta_config, "%s",
            gd_st_metadata (st, "config"));
  snprintf (meta_schedule, sizeof meta_schedule, "%s",
            gd_st_metadata (st, "schedule"));
  gd_st_close (st);
  return 0;
}

static double
rel_diff (const float *a, const float *b, size_t n)
{
  double d = 0, r = 0;
  size_t i;

  for (i = 0; i < n; i++)
    {
      d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
      r += (double)b[i] * b[i];
    }
  return sqrt (d / (r > 0 ? r : 1));
}

static void
test_models (const char *tiny_path)
{
  enum
  {
    W = 21,
    H = 13,
    N = 3 * W * H
  };
  static float x[N], ref[N], out[N];
  gd_model *m, *m2;
  gd_error err;
  const gd_model_info *info;
  const char *p;
  char cfg[512];
  size_t i;

  if (read_tiny (tiny_path) != 0)
    {
      failures++;
      return;
    }
  for (i = 0; i < N; i++)
    x[i] = (float)sin (0.37 * (double)i);

  gd_error_clear (&err);
  m = gd_model_load (tiny_path, &err);
  check (m != NULL, "loads the tiny model (F16)");
  if (m == NULL)
    {
      printf ("     %s\n", err.message);
      return;
    }
  info = gd_model_get_info (m);
  check (strcmp (info->arch, "gd-unet-v1") == 0 && info->in_channels == 3
             && info->base_channels == 8 && info->n_levels == 3
             && info->channel_mult[0] == 1 && info->channel_mult[1] == 2
             && info->channel_mult[2] == 2 && info->n_res_blocks == 1
             && info->downsample_factor == 4 && info->n_params == 66843
             && info->schedule.T == 1000
             && fabs (info->schedule.beta[1] - 1e-4) < 1e-12
             && fabs (info->schedule.beta[1000] - 0.02) < 1e-12,
         "model info from the metadata (config, schedule, 66843 params)");
  check (gd_model_eps (m, x, W, H, 321.5, ref, &err) == GD_OK,
         "forward pass on 21x13");

  /* The same weights stored as F32 give the same numbers, bit for bit. */
  p = write_tiny ("tiny-f32.safetensors");
  m2 = gd_model_load (p, &err);
  check (m2 != NULL && gd_model_eps (m2, x, W, H, 321.5, out, &err) == GD_OK
             && memcmp (out, ref, sizeof out) == 0,
         "an F32 copy of the model gives identical output");
  gd_model_free (m2);
  p = write_model ("tiny-bf16.safetensors", "BF16", NULL, NULL, NULL, NULL, 0,
                   meta_arch, meta_config, meta_schedule);
  m2 = gd_model_load (p, &err);
  if (m2 != NULL && gd_model_eps (m2, x, W, H, 321.5, out, &err) == GD_OK)
    {
      double r = rel_diff (out, ref, N);
      char line[128];
      snprintf (line, sizeof line,
                "a BF16 copy loads and stays close (rel diff %.3g)", r);
      check (r < 0.05 && r > 0, line);
    }
  else
    check (0, "a BF16 copy loads");
  gd_model_free (m2);

  /* Thread count changes no result beyond rounding. */
  gd_set_threads (1);
  check (gd_model_eps (m, x, W, H, 321.5, out, &err) == GD_OK
             && rel_diff (out, ref, N) < 1e-6,
         "one thread gives the same result");
  gd_set_threads (0);

  /* Bad calls. */
  check (gd_model_eps (m, x, 0, H, 10, out, &err) == GD_ERR_INVALID,
         "eps refuses width 0");
  check (gd_model_eps (m, x, 50000, 50000, 10, out, &err) == GD_ERR_INVALID
             && strstr (err.message, "tiles"),
         "eps refuses 50000x50000 before allocating (tile it)");
  check (gd_model_eps (m, x, 1, 1, 10, out, &err) == GD_OK && isfinite (out[0])
             && isfinite (out[2]),
         "eps on a 1x1 image");
  check (gd_model_eps (m, x, W, H, -1, out, &err) == GD_ERR_INVALID
             && strstr (err.message, "outside 0..1000"),
         "eps refuses t = -1");
  check (gd_model_eps (m, x, W, H, 1000.5, out, &err) == GD_ERR_INVALID,
         "eps refuses t = 1000.5");
  check (gd_model_eps (m, x, W, H, NAN, out, &err) == GD_ERR_INVALID,
         "eps refuses t = NaN");
  x[5] = NAN;
  check (gd_model_eps (m, x, W, H, 10, out, &err) == GD_ERR_NUMERIC
             && strstr (err.message, "NaN"),
         "eps reports NaN from a NaN input");
  x[5] = 0.0f;
  gd_model_free (m);

  /* Broken copies. */
  p = write_model ("missing.safetensors", "F32", "mid.res.1.conv2.bias", NULL,
                   NULL, NULL, 0, meta_arch, meta_config, meta_schedule);
  load_bad (p, "missing tensor 'mid.res.1.conv2.bias'", "a missing tensor");
  p = write_model ("shape.safetensors", "F32", NULL, NULL, "conv_in.weight",
                   NULL, 0, meta_arch, meta_config, meta_schedule);
  load_bad (p,
            "'conv_in.weight' has shape [216], the architecture needs "
            "[8, 3, 3, 3]",
            "a wrong shape");
  p = write_model ("extra.safetensors", "F32", NULL, "down.9.res.0.x", NULL,
                   NULL, 0, meta_arch, meta_config, meta_schedule);
  load_bad (p, "unexpected tensor 'down.9.res.0.x'", "an extra tensor");
  p = write_model ("nan.safetensors", "F32", NULL, NULL, NULL,
                   "up.1.res.0.conv1.weight", NAN, meta_arch, meta_config,
                   meta_schedule);
  load_bad (p, "'up.1.res.0.conv1.weight' holds NaN", "a NaN weight");
  p = write_model ("inf.safetensors", "BF16", NULL, NULL, NULL,
                   "temb.lin1.bias", -INFINITY, meta_arch, meta_config,
                   meta_schedule);
  load_bad (p, "'temb.lin1.bias' holds Inf", "an Inf weight (BF16)");
  p = write_model ("arch.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   "gd-unet-v2", meta_config, meta_schedule);
  load_bad (p, "unknown architecture \"gd-unet-v2\"", "an unknown arch");
  p = write_model ("no-arch.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   NULL, meta_config, meta_schedule);
  load_bad (p, "no \"arch\"", "a file without arch");
  p = write_model ("no-config.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, NULL, meta_schedule);
  load_bad (p, "no \"config\"", "a file without config");
  p = write_model ("no-schedule.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, meta_config, NULL);
  load_bad (p, "no \"schedule\"", "a file without schedule");
  p = write_model ("cfg-json.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, "{\"base_channels\": 8,", meta_schedule);
  load_bad (p, "\"config\" is not valid JSON", "a config that is not JSON");
  snprintf (cfg, sizeof cfg,
            "{\"in_channels\": 3, \"base_channels\": 7, \"channel_mult\": "
            "[1, 2, 2], \"n_res_blocks\": 1}");
  p = write_model ("cfg-odd.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, cfg, meta_schedule);
  load_bad (p, "must be even", "an odd base_channels");
  snprintf (cfg, sizeof cfg,
            "{\"in_channels\": 3, \"base_channels\": 8, \"channel_mult\": "
            "[], \"n_res_blocks\": 1}");
  p = write_model ("cfg-mult.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, cfg, meta_schedule);
  load_bad (p, "\"channel_mult\" must be a list", "an empty channel_mult");
  snprintf (cfg, sizeof cfg,
            "{\"in_channels\": 3, \"base_channels\": 8, \"channel_mult\": "
            "[1, 2, 2]}");
  p = write_model ("cfg-nres.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, cfg, meta_schedule);
  load_bad (p, "config has no \"n_res_blocks\"",
            "a config without "
            "n_res_blocks");
  snprintf (cfg, sizeof cfg,
            "{\"in_channels\": 3, \"base_channels\": 8, \"channel_mult\": "
            "[1, 2, 2], \"n_res_blocks\": 2}");
  p = write_model ("cfg-mismatch.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, cfg, meta_schedule);
  load_bad (p, "missing tensor 'down.0.res.1.norm1.weight'",
            "a config that does not match the tensors");
  snprintf (cfg, sizeof cfg,
            "{\"arch\": \"other\", \"in_channels\": 3, \"base_channels\": 8, "
            "\"channel_mult\": [1, 2, 2], \"n_res_blocks\": 1}");
  p = write_model ("cfg-arch.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, cfg, meta_schedule);
  load_bad (p, "config \"arch\" is not", "a config for another arch");
  p = write_model ("sched-type.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, meta_config,
                   "{\"type\": \"cosine\", \"T\": 1000}");
  load_bad (p, "\"type\": \"linear\"", "a cosine schedule");
  p = write_model ("sched-T.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, meta_config,
                   "{\"type\": \"linear\", \"T\": 5000, \"beta_start\": "
                   "0.0001, \"beta_end\": 0.02}");
  load_bad (p, "\"T\" must be an integer in 1..1000", "T = 5000");
  p = write_model ("sched-beta.safetensors", "F32", NULL, NULL, NULL, NULL, 0,
                   meta_arch, meta_config,
                   "{\"type\": \"linear\", \"T\": 1000, \"beta_start\": "
                   "0.5, \"beta_end\": 0.02}");
  load_bad (p, "bad schedule", "beta_start > beta_end");

  /* The tiny model cut in half. */
  {
    FILE *f = fopen (tiny_path, "rb");
    static unsigned char buf[1 << 20];
    size_t n = f ? fread (buf, 1, sizeof buf, f) : 0;
    if (f)
      fclose (f);
    p = tmp_path ("half.safetensors");
    write_bytes (p, buf, n / 2);
    load_bad (p, "truncated", "a model cut in half");
  }
  load_bad (tmp_path ("none.safetensors"), "cannot open", "a missing model");

  setenv ("GD_MODEL_DIR", "/some/dir", 1);
  check (strcmp (gd_model_default_path (), "/some/dir/default.safetensors")
             == 0,
         "GD_MODEL_DIR overrides the default model folder");
  unsetenv ("GD_MODEL_DIR");
  check (strstr (gd_model_default_path (), "/default.safetensors") != NULL,
         "the default model path ends in default.safetensors");

  for (i = 0; i < n_tiny; i++)
    {
      free ((char *)tiny[i].name);
      free (tiny[i].data);
    }
  free (tiny);
}

int
main (int argc, char **argv)
{
  const char *base = getenv ("TMPDIR");
  char cmd[600];

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s TINY_MODEL.safetensors\n", argv[0]);
      return 2;
    }
  snprintf (tmpdir, sizeof tmpdir, "%s/gd-test-st-XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  test_json ();
  test_raw_files ();
  test_models (argv[1]);
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
