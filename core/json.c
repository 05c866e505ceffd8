/* json.c: a small strict, bounded, locale-independent JSON parser. */
#define _GNU_SOURCE
#include "json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GD_JSON_MAX_NUMBER_LEN 512

typedef struct
{
  const unsigned char *text;
  size_t len;
  size_t pos;
  char *errbuf;
  size_t errbuf_size;
  int failed;
} json_parser;

static void json_fail (json_parser *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
json_fail (json_parser *p, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (p->failed)
    return;
  p->failed = 1;
  if (p->errbuf == NULL || p->errbuf_size == 0)
    return;
  n = snprintf (p->errbuf, p->errbuf_size, "at byte %zu: ", p->pos);
  if (n < 0 || (size_t)n >= p->errbuf_size)
    return;
  va_start (ap, fmt);
  vsnprintf (p->errbuf + n, p->errbuf_size - (size_t)n, fmt, ap);
  va_end (ap);
}

const char *
gd_json_type_name (gd_json_type type)
{
  switch (type)
    {
    case GD_JSON_NULL:
      return "null";
    case GD_JSON_BOOL:
      return "boolean";
    case GD_JSON_NUMBER:
      return "number";
    case GD_JSON_STRING:
      return "string";
    case GD_JSON_ARRAY:
      return "array";
    case GD_JSON_OBJECT:
      return "object";
    }
  return "unknown";
}

void
gd_json_free (gd_json *value)
{
  size_t i;

  if (value == NULL)
    return;
  switch (value->type)
    {
    case GD_JSON_STRING:
      free (value->u.string.data);
      break;
    case GD_JSON_ARRAY:
      for (i = 0; i < value->u.array.n; i++)
        gd_json_free (value->u.array.items[i]);
      free (value->u.array.items);
      break;
    case GD_JSON_OBJECT:
      for (i = 0; i < value->u.object.n; i++)
        {
          free (value->u.object.keys[i]);
          gd_json_free (value->u.object.values[i]);
        }
      free (value->u.object.keys);
      free (value->u.object.key_lens);
      free (value->u.object.values);
      break;
    default:
      break;
    }
  free (value);
}

const gd_json *
gd_json_object_get (const gd_json *obj, const char *key)
{
  size_t i, key_len;

  if (obj == NULL || obj->type != GD_JSON_OBJECT || key == NULL)
    return NULL;
  key_len = strlen (key);
  for (i = 0; i < obj->u.object.n; i++)
    if (obj->u.object.key_lens[i] == key_len
        && memcmp (obj->u.object.keys[i], key, key_len) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static void
json_skip_space (json_parser *p)
{
  while (p->pos < p->len)
    {
      unsigned char c = p->text[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

/* Grows *items (of element size `size`) to hold at least n + 1 elements. */
static int
json_reserve (void **items, size_t *cap, size_t n, size_t size)
{
  size_t new_cap;
  void *grown;

  if (n < *cap)
    return 0;
  new_cap = *cap ? *cap : 4;
  while (new_cap <= n)
    {
      if (new_cap > SIZE_MAX / 2)
        return -1;
      new_cap *= 2;
    }
  if (new_cap > SIZE_MAX / size)
    return -1;
  grown = realloc (*items, new_cap * size);
  if (grown == NULL)
    return -1;
  *items = grown;
  *cap = new_cap;
  return 0;
}

static pthread_once_t json_locale_once = PTHREAD_ONCE_INIT;
static locale_t json_locale;

static void
json_locale_init (void)
{
  json_locale = newlocale (LC_ALL_MASK, "C", (locale_t)0);
}

/* Numbers are read in the C locale whatever the host set (GIMP sets the
   user's, where the decimal separator may be a comma). */
static locale_t
json_c_locale (void)
{
  pthread_once (&json_locale_once, json_locale_init);
  return json_locale;
}

static int
json_hex4 (json_parser *p, unsigned *out)
{
  unsigned v = 0;
  int i;

  if (p->len - p->pos < 4)
    {
      json_fail (p, "truncated \\u escape");
      return -1;
    }
  for (i = 0; i < 4; i++)
    {
      unsigned char c = p->text[p->pos + (size_t)i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (unsigned)(c - 'A' + 10);
      else
        {
          json_fail (p, "bad hex digit in \\u escape");
          return -1;
        }
    }
  p->pos += 4;
  *out = v;
  return 0;
}

static size_t
json_put_utf8 (char *dst, unsigned cp)
{
  if (cp < 0x80)
    {
      dst[0] = (char)cp;
      return 1;
    }
  if (cp < 0x800)
    {
      dst[0] = (char)(0xC0 | (cp >> 6));
      dst[1] = (char)(0x80 | (cp & 0x3F));
      return 2;
    }
  if (cp < 0x10000)
    {
      dst[0] = (char)(0xE0 | (cp >> 12));
      dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
      dst[2] = (char)(0x80 | (cp & 0x3F));
      return 3;
    }
  dst[0] = (char)(0xF0 | (cp >> 18));
  dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  dst[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the valid UTF-8 sequence at s (at most `avail` bytes), or 0. */
static size_t
json_utf8_len (const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n, i;
  unsigned cp;

  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (avail < n)
    return 0;
  for (i = 1; i < n; i++)
    {
      if ((s[i] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3F);
    }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))
      || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* Parses a string starting at the opening quote. */
static char *
json_parse_string_raw (json_parser *p, size_t *out_len)
{
  size_t start, end, n = 0;
  char *dst;

  p->pos++; /* opening quote */
  start = p->pos;
  /* First find the closing quote, to size the buffer: the decoded text is
     never longer than its source. */
  for (end = start; end < p->len && p->text[end] != '"'; end++)
    if (p->text[end] == '\\')
      end++;
  if (end >= p->len)
    {
      json_fail (p, "unterminated string");
      return NULL;
    }
  dst = malloc (end - start + 1);
  if (dst == NULL)
    {
      json_fail (p, "out of memory");
      return NULL;
    }
  while (p->pos < end)
    {
      unsigned char c = p->text[p->pos];
      if (c < 0x20)
        {
          json_fail (p, "control character in string");
          goto fail;
        }
      if (c != '\\')
        {
          size_t k = json_utf8_len (p->text + p->pos, end - p->pos);
          if (k == 0)
            {
              json_fail (p, "invalid UTF-8 in string");
              goto fail;
            }
          memcpy (dst + n, p->text + p->pos, k);
          n += k;
          p->pos += k;
          continue;
        }
      p->pos++;
      c = p->text[p->pos++];
      switch (c)
        {
        case '"':
        case '\\':
        case '/':
          dst[n++] = (char)c;
          break;
        case 'b':
          dst[n++] = '\b';
          break;
        case 'f':
          dst[n++] = '\f';
          break;
        case 'n':
          dst[n++] = '\n';
          break;
        case 'r':
          dst[n++] = '\r';
          break;
        case 't':
          dst[n++] = '\t';
          break;
        case 'u':
          {
            unsigned cp, low;
            if (json_hex4 (p, &cp) != 0)
              goto fail;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
              {
                json_fail (p, "lone low surrogate in \\u escape");
                goto fail;
              }
            if (cp >= 0xD800 && cp <= 0xDBFF)
              {
                if (end - p->pos < 6 || p->text[p->pos] != '\\'
                    || p->text[p->pos + 1] != 'u')
                  {
                    json_fail (p, "lone high surrogate in \\u escape");
                    goto fail;
                  }
                p->pos += 2;
                if (json_hex4 (p, &low) != 0)
                  goto fail;
                if (low < 0xDC00 || low > 0xDFFF)
                  {
                    json_fail (p, "bad low surrogate in \\u escape");
                    goto fail;
                  }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              }
            n += json_put_utf8 (dst + n, cp);
            break;
          }
        default:
          p->pos--;
          json_fail (p, "bad escape '\\%c'", c >= 0x20 && c < 0x7F ? c : '?');
          goto fail;
        }
    }
  if (p->pos != end)
    {
      json_fail (p, "truncated escape");
      goto fail;
    }
  p->pos = end + 1;
  dst[n] = '\0';
  *out_len = n;
  return dst;

fail:
  free (dst);
  return NULL;
}

static int
json_is_digit (json_parser *p)
{
  return p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9';
}

static int
json_parse_number (json_parser *p, gd_json *v)
{
  size_t start = p->pos;
  int negative = 0, integral = 1, overflow = 0;
  uint64_t u = 0;
  char buf[GD_JSON_MAX_NUMBER_LEN + 1];
  char *endp;
  double d;

  if (p->text[p->pos] == '-')
    {
      negative = 1;
      p->pos++;
    }
  if (!json_is_digit (p))
    {
      json_fail (p, "expected a digit");
      return -1;
    }
  if (p->text[p->pos] == '0')
    {
      p->pos++;
      if (json_is_digit (p))
        {
          json_fail (p, "leading zero in number");
          return -1;
        }
    }
  else
    while (json_is_digit (p))
      {
        unsigned digit = (unsigned)(p->text[p->pos] - '0');
        if (u > (UINT64_MAX - digit) / 10)
          overflow = 1;
        else
          u = u * 10 + digit;
        p->pos++;
      }
  if (p->pos < p->len && p->text[p->pos] == '.')
    {
      integral = 0;
      p->pos++;
      if (!json_is_digit (p))
        {
          json_fail (p, "expected a digit after '.'");
          return -1;
        }
      while (json_is_digit (p))
        p->pos++;
    }
  if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E'))
    {
      integral = 0;
      p->pos++;
      if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
        p->pos++;
      if (!json_is_digit (p))
        {
          json_fail (p, "expected a digit in exponent");
          return -1;
        }
      while (json_is_digit (p))
        p->pos++;
    }
  if (p->pos - start > GD_JSON_MAX_NUMBER_LEN)
    {
      p->pos = start;
      json_fail (p, "number longer than %d characters", GD_JSON_MAX_NUMBER_LEN);
      return -1;
    }
  if (json_c_locale () == (locale_t)0)
    {
      json_fail (p, "cannot create the C locale to read numbers");
      return -1;
    }
  memcpy (buf, p->text + start, p->pos - start);
  buf[p->pos - start] = '\0';
  d = strtod_l (buf, &endp, json_c_locale ());
  if (*endp != '\0' || !isfinite (d))
    {
      p->pos = start;
      json_fail (p, "number out of range");
      return -1;
    }
  v->type = GD_JSON_NUMBER;
  v->u.number.value = d;
  v->u.number.is_uint = !negative && integral && !overflow;
  v->u.number.uint_value = v->u.number.is_uint ? u : 0;
  return 0;
}

static int
json_literal (json_parser *p, const char *word)
{
  size_t n = strlen (word);

  if (p->len - p->pos < n || memcmp (p->text + p->pos, word, n) != 0)
    {
      json_fail (p, "invalid literal");
      return -1;
    }
  p->pos += n;
  return 0;
}

typedef struct
{
  const char *key;
  size_t len;
} json_key_ref;

static int
json_key_cmp (const void *a, const void *b)
{
  const json_key_ref *ka = a, *kb = b;
  size_t n = ka->len < kb->len ? ka->len : kb->len;
  int c = memcmp (ka->key, kb->key, n);

  if (c != 0)
    return c;
  return (ka->len > kb->len) - (ka->len < kb->len);
}

/* Duplicate keys make a header ambiguous: refuse them (O(n log n)). */
static int
json_check_duplicates (json_parser *p, const gd_json *obj)
{
  size_t i, n = obj->u.object.n;
  json_key_ref *refs;

  if (n < 2)
    return 0;
  refs = malloc (n * sizeof *refs); /* n * size fits: the arrays exist */
  if (refs == NULL)
    {
      json_fail (p, "out of memory");
      return -1;
    }
  for (i = 0; i < n; i++)
    {
      refs[i].key = obj->u.object.keys[i];
      refs[i].len = obj->u.object.key_lens[i];
    }
  qsort (refs, n, sizeof *refs, json_key_cmp);
  for (i = 1; i < n; i++)
    if (json_key_cmp (&refs[i - 1], &refs[i]) == 0)
      {
        json_fail (p, "duplicate key \"%.64s\" in object", refs[i].key);
        free (refs);
        return -1;
      }
  free (refs);
  return 0;
}

static gd_json *json_parse_value (json_parser *p, int depth);

static int
json_parse_array (json_parser *p, gd_json *v, int depth)
{
  size_t cap = 0;

  v->type = GD_JSON_ARRAY;
  p->pos++; /* [ */
  json_skip_space (p);
  if (p->pos < p->len && p->text[p->pos] == ']')
    {
      p->pos++;
      return 0;
    }
  for (;;)
    {
      gd_json *item;

      if (json_reserve ((void **)&v->u.array.items, &cap, v->u.array.n,
                        sizeof *v->u.array.items)
          != 0)
        {
          json_fail (p, "out of memory");
          return -1;
        }
      item = json_parse_value (p, depth + 1);
      if (item == NULL)
        return -1;
      v->u.array.items[v->u.array.n++] = item;
      json_skip_space (p);
      if (p->pos >= p->len)
        {
          json_fail (p, "unterminated array");
          return -1;
        }
      if (p->text[p->pos] == ']')
        {
          p->pos++;
          return 0;
        }
      if (p->text[p->pos] != ',')
        {
          json_fail (p, "expected ',' or ']' in array");
          return -1;
        }
      p->pos++;
    }
}

static int
json_parse_object (json_parser *p, gd_json *v, int depth)
{
  size_t cap_keys = 0, cap_lens = 0, cap_values = 0;

  v->type = GD_JSON_OBJECT;
  p->pos++; /* { */
  json_skip_space (p);
  if (p->pos < p->len && p->text[p->pos] == '}')
    {
      p->pos++;
      return 0;
    }
  for (;;)
    {
      size_t n = v->u.object.n, key_len;
      char *key;
      gd_json *value;

      json_skip_space (p);
      if (p->pos >= p->len || p->text[p->pos] != '"')
        {
          json_fail (p, "expected a string key in object");
          return -1;
        }
      if (json_reserve ((void **)&v->u.object.keys, &cap_keys, n,
                        sizeof *v->u.object.keys)
              != 0
          || json_reserve ((void **)&v->u.object.key_lens, &cap_lens, n,
                           sizeof *v->u.object.key_lens)
                 != 0
          || json_reserve ((void **)&v->u.object.values, &cap_values, n,
                           sizeof *v->u.object.values)
                 != 0)
        {
          json_fail (p, "out of memory");
          return -1;
        }
      key = json_parse_string_raw (p, &key_len);
      if (key == NULL)
        return -1;
      json_skip_space (p);
      if (p->pos >= p->len || p->text[p->pos] != ':')
        {
          free (key);
          json_fail (p, "expected ':' after object key");
          return -1;
        }
      p->pos++;
      value = json_parse_value (p, depth + 1);
      if (value == NULL)
        {
          free (key);
          return -1;
        }
      v->u.object.keys[n] = key;
      v->u.object.key_lens[n] = key_len;
      v->u.object.values[n] = value;
      v->u.object.n = n + 1;
      json_skip_space (p);
      if (p->pos >= p->len)
        {
          json_fail (p, "unterminated object");
          return -1;
        }
      if (p->text[p->pos] == '}')
        {
          p->pos++;
          return json_check_duplicates (p, v);
        }
      if (p->text[p->pos] != ',')
        {
          json_fail (p, "expected ',' or '}' in object");
          return -1;
        }
      p->pos++;
    }
}

static gd_json *
json_parse_value (json_parser *p, int depth)
{
  gd_json *v;
  int rc;

  if (depth > GD_JSON_MAX_DEPTH)
    {
      json_fail (p, "nesting deeper than %d", GD_JSON_MAX_DEPTH);
      return NULL;
    }
  json_skip_space (p);
  if (p->pos >= p->len)
    {
      json_fail (p, "unexpected end of text");
      return NULL;
    }
  v = calloc (1, sizeof *v);
  if (v == NULL)
    {
      json_fail (p, "out of memory");
      return NULL;
    }
  switch (p->text[p->pos])
    {
    case '{':
      rc = json_parse_object (p, v, depth);
      break;
    case '[':
      rc = json_parse_array (p, v, depth);
      break;
    case '"':
      v->type = GD_JSON_STRING;
      v->u.string.data = json_parse_string_raw (p, &v->u.string.len);
      rc = v->u.string.data != NULL ? 0 : -1;
      break;
    case 't':
      v->type = GD_JSON_BOOL;
      v->u.boolean = 1;
      rc = json_literal (p, "true");
      break;
    case 'f':
      v->type = GD_JSON_BOOL;
      rc = json_literal (p, "false");
      break;
    case 'n':
      v->type = GD_JSON_NULL;
      rc = json_literal (p, "null");
      break;
    default:
      if (p->text[p->pos] == '-'
          || (p->text[p->pos] >= '0' && p->text[p->pos] <= '9'))
        rc = json_parse_number (p, v);
      else
        {
          json_fail (p, "unexpected character '%c'",
                     p->text[p->pos] >= 0x20 && p->text[p->pos] < 0x7F
                         ? p->text[p->pos]
                         : '?');
          rc = -1;
        }
      break;
    }
  if (rc != 0)
    {
      gd_json_free (v);
      return NULL;
    }
  return v;
}

gd_json *
gd_json_parse (const char *text, size_t len, char *errbuf, size_t errbuf_size)
{
  json_parser p
      = { (const unsigned char *)text, len, 0, errbuf, errbuf_size, 0 };
  gd_json *root;

  if (errbuf != NULL && errbuf_size > 0)
    errbuf[0] = '\0';
  if (text == NULL)
    {
      json_fail (&p, "no text");
      return NULL;
    }
  root = json_parse_value (&p, 0);
  if (root == NULL)
    return NULL;
  json_skip_space (&p);
  if (p.pos != p.len)
    {
      json_fail (&p, "trailing characters after the value");
      gd_json_free (root);
      return NULL;
    }
  return root;
}
