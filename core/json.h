/* json.h: a small strict JSON parser (RFC 8259) for model file headers.
 *
 * Internal to the core library.  Strict: no comments, no trailing commas, no
 * duplicate object keys, strings must be valid UTF-8 without raw control
 * characters.  Bounded: nesting deeper than GD_JSON_MAX_DEPTH is refused, so
 * hostile input cannot exhaust the stack.  Numbers are parsed independently
 * of the C locale (GIMP sets one), and non-negative integer literals are
 * also kept exactly as 64-bit integers (tensor offsets can exceed 2^53).
 */
#ifndef GD_JSON_H
#define GD_JSON_H

#include <stddef.h>
#include <stdint.h>

#define GD_JSON_MAX_DEPTH 64

typedef enum
{
  GD_JSON_NULL,
  GD_JSON_BOOL,
  GD_JSON_NUMBER,
  GD_JSON_STRING,
  GD_JSON_ARRAY,
  GD_JSON_OBJECT
} gd_json_type;

typedef struct gd_json gd_json;

struct gd_json
{
  gd_json_type type;
  union
  {
    int boolean;
    struct
    {
      double value;
      int is_uint; /* a literal with no sign, fraction or exponent
                      that fits in uint64_t */
      uint64_t uint_value;
    } number;
    struct
    {
      char *data; /* NUL-terminated; may contain NUL if the text had \u0000 */
      size_t len;
    } string;
    struct
    {
      gd_json **items;
      size_t n;
    } array;
    struct
    {
      char **keys; /* NUL-terminated, as strings above */
      size_t *key_lens;
      gd_json **values;
      size_t n;
    } object;
  } u;
};

/* Parses exactly `len` bytes (surrounding whitespace allowed).  Returns the
 * root value, or NULL with a message "at byte N: ..." in errbuf (out of
 * memory included). */
gd_json *gd_json_parse (const char *text, size_t len, char *errbuf,
                        size_t errbuf_size);
void gd_json_free (gd_json *value);

/* The member `key` of an object, or NULL (also when obj is not an object). */
const gd_json *gd_json_object_get (const gd_json *obj, const char *key);

/* The human name of a type, for messages ("object", "string", ...). */
const char *gd_json_type_name (gd_json_type type);

#endif /* GD_JSON_H */
