/* fuzz_json.c: libFuzzer target for the strict JSON parser of model headers.
 *
 * Any input either parses or fails with a message "at byte N: ..."; a
 * parsed value keeps its invariants (strings NUL-terminated at their
 * length, keys unique, object lookup finds every key).  A violation
 * aborts, which libFuzzer and the corpus replay report as a crash.
 */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Walks a parsed value and checks what the parser promises. */
static void
fuzz_json_check (const gd_json *v, int depth)
{
  size_t i;

  FUZZ_CHECK (depth <= GD_JSON_MAX_DEPTH);
  switch (v->type)
    {
    case GD_JSON_NULL:
      break;
    case GD_JSON_BOOL:
      FUZZ_CHECK (v->u.boolean == 0 || v->u.boolean == 1);
      break;
    case GD_JSON_NUMBER:
      FUZZ_CHECK (v->u.number.value == v->u.number.value); /* not NaN */
      if (v->u.number.is_uint)
        FUZZ_CHECK (v->u.number.value >= 0.0);
      break;
    case GD_JSON_STRING:
      FUZZ_CHECK (v->u.string.data != NULL);
      FUZZ_CHECK (v->u.string.data[v->u.string.len] == '\0');
      break;
    case GD_JSON_ARRAY:
      FUZZ_CHECK (v->u.array.n == 0 || v->u.array.items != NULL);
      for (i = 0; i < v->u.array.n; i++)
        fuzz_json_check (v->u.array.items[i], depth + 1);
      break;
    case GD_JSON_OBJECT:
      for (i = 0; i < v->u.object.n; i++)
        {
          const char *key = v->u.object.keys[i];
          FUZZ_CHECK (key != NULL && key[v->u.object.key_lens[i]] == '\0');
          /* Keys are unique: a lookup of a key without NUL finds its own
             value. */
          if (strlen (key) == v->u.object.key_lens[i])
            FUZZ_CHECK (gd_json_object_get (v, key) == v->u.object.values[i]);
          fuzz_json_check (v->u.object.values[i], depth + 1);
        }
      break;
    default:
      FUZZ_CHECK (!"unknown JSON type");
    }
  FUZZ_CHECK (strcmp (gd_json_type_name (v->type), "unknown") != 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[200];
  gd_json *v;

  memset (err, 'x', sizeof err);
  v = gd_json_parse ((const char *)data, size, err, sizeof err);
  if (v != NULL)
    {
      FUZZ_CHECK (err[0] == '\0');
      fuzz_json_check (v, 0);
      gd_json_free (v);
      return 0;
    }
  /* A failure always says where, NUL-terminated within the buffer... */
  FUZZ_CHECK (memchr (err, '\0', sizeof err) != NULL);
  FUZZ_CHECK (strncmp (err, "at byte ", 8) == 0);
  /* ... and a small buffer is not overrun. */
  memset (err, 'x', sizeof err);
  v = gd_json_parse ((const char *)data, size, err, 5);
  FUZZ_CHECK (v == NULL && memchr (err, '\0', 5) != NULL && err[5] == 'x');
  return 0;
}
