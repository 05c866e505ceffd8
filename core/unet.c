/* unet.c: the gd-unet-v1 network (training/model.py): loading and forward.
 *
 * The loader walks the architecture that the file's "config" metadata
 * describes, in model.py's order, and binds every parameter by its
 * state-dict name with its exact shape; anything missing, misshapen or left
 * over is refused.  The forward pass runs on one workspace, planned from the
 * image size and cached in the model between calls.
 */
#include "gimp-diffusion.h"
#include "conv-fast.h"
#include "json.h"
#include "model.h"
#include "ops.h"
#include "safetensors.h"
#include "winograd.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef GD_MODEL_DIR
#define GD_MODEL_DIR "models"
#endif

#define ARCH_NAME "gd-unet-v1"
#define MAX_LEVELS 8
#define MAX_RES_BLOCKS 16
#define MAX_CHANNELS 8192
#define MAX_SKIPS (1 + MAX_LEVELS * (MAX_RES_BLOCKS + 1))
/* Workspace sub-buffers start on 64-byte boundaries. */
#define ALIGN_FLOATS 16

typedef struct
{
  const float *weight;
  const float *bias;
} gd_norm_params;

typedef struct
{
  const float *weight;
  const float *bias;
  int cin;
  int cout;
  int ksize;
} gd_conv_params;

typedef struct
{
  const float *weight;
  const float *bias;
  int n_in;
  int n_out;
} gd_linear_params;

typedef struct
{
  int cin;
  int cout;
  int has_skip;
  gd_norm_params norm1;
  gd_conv_params conv1;
  gd_linear_params emb;
  gd_norm_params norm2;
  gd_conv_params conv2;
  gd_conv_params skip;
  float *bias1; /* conv1 bias + emb projection, filled for each call */
} gd_resblock;

struct gd_model
{
  gd_model_info info;
  float *params; /* every tensor, one block */
  size_t n_params;

  gd_linear_params temb1, temb2;
  gd_conv_params conv_in;
  gd_resblock *down_res; /* [level * n_res + i] */
  gd_conv_params down[MAX_LEVELS];
  gd_resblock mid[2];
  gd_resblock *up_res; /* [level * (n_res + 1) + i] */
  gd_conv_params up[MAX_LEVELS];
  gd_norm_params norm_out;
  gd_conv_params conv_out;

  float *vectors; /* the timestep embedding and the blocks' bias1 */
  float *temb;    /* 4 base: emb, then silu(emb) */
  float *temb_act;
  float *temb_hidden;

  float *work; /* forward-pass workspace, cached between calls */
  size_t work_floats;

  gd_precision precision;
  gd_conv_fast *fast; /* the fast path's primitives, made on first use */
  gd_winograd *wino;  /* below BF16: transformed 3x3 weights, first use */
  double conv_seconds, total_seconds; /* profile (model.h) */
};

/* ---------------------------------------------------------------- loading */

typedef struct
{
  gd_model *model;
  gd_safetensors *st;
  const char *path;
  gd_error *err;
  int pass;      /* 0: check names and shapes, count; 1: read */
  size_t offset; /* floats bound so far */
  unsigned char *seen;
  int rc;
} loader;

static int model_fail (gd_error *err, gd_status status, const char *path,
                       const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
model_fail (gd_error *err, gd_status status, const char *path, const char *fmt,
            ...)
{
  char problem[400];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (problem, sizeof problem, fmt, ap);
  va_end (ap);
  return gd_error_set (err, status, "%.100s: %s", path, problem);
}

static void
shape_text (char *buf, size_t size, int ndim, const uint64_t *shape)
{
  size_t n = 0;
  int i;

  n += (size_t)snprintf (buf, size, "[");
  for (i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf (buf + n, size - n, i ? ", %llu" : "%llu",
                           (unsigned long long)shape[i]);
  if (n < size)
    snprintf (buf + n, size - n, "]");
}

/* Binds tensor `name` of the given shape: pass 0 checks it, pass 1 reads
 * it into the parameter block.  Returns its data (pass 1) or NULL. */
static const float *
bind (loader *ld, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
  const uint64_t want[4]
      = { (uint64_t)d0, (uint64_t)d1, (uint64_t)d2, (uint64_t)d3 };
  const gd_st_tensor *t;
  size_t numel = 1;
  float *dst = NULL;
  int i, ok;

  if (ld->rc != GD_OK)
    return NULL;
  t = gd_st_find (ld->st, name);
  if (t == NULL)
    {
      ld->rc = model_fail (ld->err, GD_ERR_FORMAT, ld->path,
                           "missing tensor '%s' (the %s architecture "
                           "described by the metadata needs it)",
                           name, ARCH_NAME);
      return NULL;
    }
  ok = t->ndim == ndim;
  for (i = 0; i < ndim; i++)
    {
      ok = ok && t->shape[i] == want[i];
      numel *= (size_t)want[i]; /* config bounds keep this small */
    }
  if (!ok)
    {
      char have[128], need[128];
      shape_text (have, sizeof have, t->ndim, t->shape);
      shape_text (need, sizeof need, ndim, want);
      ld->rc = model_fail (ld->err, GD_ERR_FORMAT, ld->path,
                           "tensor '%s' has shape %s, the architecture "
                           "needs %s",
                           name, have, need);
      return NULL;
    }
  if (ld->pass == 0)
    ld->seen[t - ld->st->tensors] = 1;
  else
    {
      dst = ld->model->params + ld->offset;
      ld->rc = gd_st_read_f32 (ld->st, t, dst, ld->err);
      if (ld->rc != GD_OK)
        return NULL;
    }
  /* Each tensor starts aligned, for the kernels' sake. */
  ld->offset += (numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
  ld->model->n_params += ld->pass == 0 ? numel : 0;
  return dst;
}

static void
bind_linear (loader *ld, gd_linear_params *p, const char *prefix, int n_in,
             int n_out)
{
  char name[128];

  p->n_in = n_in;
  p->n_out = n_out;
  snprintf (name, sizeof name, "%s.weight", prefix);
  p->weight = bind (ld, name, 2, n_out, n_in, 0, 0);
  snprintf (name, sizeof name, "%s.bias", prefix);
  p->bias = bind (ld, name, 1, n_out, 0, 0, 0);
}

static void
bind_conv (loader *ld, gd_conv_params *p, const char *prefix, int cin, int cout,
           int ksize)
{
  char name[128];

  p->cin = cin;
  p->cout = cout;
  p->ksize = ksize;
  snprintf (name, sizeof name, "%s.weight", prefix);
  p->weight = bind (ld, name, 4, cout, cin, ksize, ksize);
  snprintf (name, sizeof name, "%s.bias", prefix);
  p->bias = bind (ld, name, 1, cout, 0, 0, 0);
}

static void
bind_norm (loader *ld, gd_norm_params *p, const char *prefix, int ch)
{
  char name[128];

  snprintf (name, sizeof name, "%s.weight", prefix);
  p->weight = bind (ld, name, 1, ch, 0, 0, 0);
  snprintf (name, sizeof name, "%s.bias", prefix);
  p->bias = bind (ld, name, 1, ch, 0, 0, 0);
}

static void
bind_resblock (loader *ld, gd_resblock *b, const char *prefix, int cin,
               int cout, int emb_dim)
{
  char name[64];

  b->cin = cin;
  b->cout = cout;
  b->has_skip = cin != cout;
  snprintf (name, sizeof name, "%s.norm1", prefix);
  bind_norm (ld, &b->norm1, name, cin);
  snprintf (name, sizeof name, "%s.conv1", prefix);
  bind_conv (ld, &b->conv1, name, cin, cout, 3);
  snprintf (name, sizeof name, "%s.emb", prefix);
  bind_linear (ld, &b->emb, name, emb_dim, cout);
  snprintf (name, sizeof name, "%s.norm2", prefix);
  bind_norm (ld, &b->norm2, name, cout);
  snprintf (name, sizeof name, "%s.conv2", prefix);
  bind_conv (ld, &b->conv2, name, cout, cout, 3);
  if (b->has_skip)
    {
      snprintf (name, sizeof name, "%s.skip", prefix);
      bind_conv (ld, &b->skip, name, cin, cout, 1);
    }
}

/* model.py's UNet.__init__, parameter by parameter. */
static void
model_walk (loader *ld)
{
  gd_model *m = ld->model;
  const gd_model_info *info = &m->info;
  const int base = info->base_channels, n_res = info->n_res_blocks;
  const int n_levels = info->n_levels, emb_dim = 4 * base;
  int skip_ch[MAX_SKIPS], n_skip = 0, ch, level, i;
  char name[48];

  bind_linear (ld, &m->temb1, "temb.lin1", base, emb_dim);
  bind_linear (ld, &m->temb2, "temb.lin2", emb_dim, emb_dim);
  bind_conv (ld, &m->conv_in, "conv_in", info->in_channels, base, 3);
  skip_ch[n_skip++] = base;
  ch = base;
  for (level = 0; level < n_levels; level++)
    {
      int out_ch = base * info->channel_mult[level];
      for (i = 0; i < n_res; i++)
        {
          snprintf (name, sizeof name, "down.%d.res.%d", level, i);
          bind_resblock (ld, &m->down_res[level * n_res + i], name, ch, out_ch,
                         emb_dim);
          ch = out_ch;
          skip_ch[n_skip++] = ch;
        }
      if (level < n_levels - 1)
        {
          snprintf (name, sizeof name, "down.%d.down", level);
          bind_conv (ld, &m->down[level], name, ch, ch, 3);
          skip_ch[n_skip++] = ch;
        }
    }
  bind_resblock (ld, &m->mid[0], "mid.res.0", ch, ch, emb_dim);
  bind_resblock (ld, &m->mid[1], "mid.res.1", ch, ch, emb_dim);
  for (level = n_levels - 1; level >= 0; level--)
    {
      int out_ch = base * info->channel_mult[level];
      for (i = 0; i <= n_res; i++)
        {
          GD_ASSERT (n_skip > 0);
          snprintf (name, sizeof name, "up.%d.res.%d", level, i);
          bind_resblock (ld, &m->up_res[level * (n_res + 1) + i], name,
                         ch + skip_ch[--n_skip], out_ch, emb_dim);
          ch = out_ch;
        }
      if (level > 0)
        {
          snprintf (name, sizeof name, "up.%d.up", level);
          bind_conv (ld, &m->up[level], name, ch, ch, 3);
        }
    }
  GD_ASSERT (n_skip == 0);
  bind_norm (ld, &m->norm_out, "norm_out", ch);
  bind_conv (ld, &m->conv_out, "conv_out", ch, info->in_channels, 3);
}

/* A JSON integer in [lo, hi], or -1 with a message. */
static int
json_int_in (const gd_json *v, const char *what, int lo, int hi,
             const char *path, gd_error *err, int *out)
{
  if (v == NULL)
    return model_fail (err, GD_ERR_FORMAT, path, "config has no \"%s\"", what);
  if (v->type != GD_JSON_NUMBER || !v->u.number.is_uint
      || v->u.number.uint_value < (uint64_t)lo
      || v->u.number.uint_value > (uint64_t)hi)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "config \"%s\" must be an integer in %d..%d", what, lo,
                       hi);
  *out = (int)v->u.number.uint_value;
  return GD_OK;
}

static int
parse_config (gd_model_info *info, const char *text, const char *path,
              gd_error *err)
{
  char json_err[200];
  gd_json *cfg = gd_json_parse (text, strlen (text), json_err, sizeof json_err);
  const gd_json *arch, *mult;
  int rc = GD_OK;
  size_t i;

  if (cfg == NULL)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "metadata \"config\" is not valid JSON: %s", json_err);
  if (cfg->type != GD_JSON_OBJECT)
    {
      rc = model_fail (err, GD_ERR_FORMAT, path,
                       "metadata \"config\" is not a JSON object");
      goto done;
    }
  arch = gd_json_object_get (cfg, "arch");
  if (arch != NULL
      && (arch->type != GD_JSON_STRING
          || strcmp (arch->u.string.data, ARCH_NAME) != 0))
    {
      rc = model_fail (err, GD_ERR_FORMAT, path,
                       "config \"arch\" is not \"%s\"", ARCH_NAME);
      goto done;
    }
  if ((rc = json_int_in (gd_json_object_get (cfg, "in_channels"), "in_channels",
                         1, 64, path, err, &info->in_channels))
          != GD_OK
      || (rc = json_int_in (gd_json_object_get (cfg, "base_channels"),
                            "base_channels", 2, MAX_CHANNELS, path, err,
                            &info->base_channels))
             != GD_OK
      || (rc = json_int_in (gd_json_object_get (cfg, "n_res_blocks"),
                            "n_res_blocks", 0, MAX_RES_BLOCKS, path, err,
                            &info->n_res_blocks))
             != GD_OK)
    goto done;
  if (info->base_channels % 2 != 0)
    {
      rc = model_fail (err, GD_ERR_FORMAT, path,
                       "config \"base_channels\" must be even (the timestep "
                       "embedding is half cosines, half sines)");
      goto done;
    }
  mult = gd_json_object_get (cfg, "channel_mult");
  if (mult == NULL || mult->type != GD_JSON_ARRAY || mult->u.array.n < 1
      || mult->u.array.n > MAX_LEVELS)
    {
      rc = model_fail (err, GD_ERR_FORMAT, path,
                       "config \"channel_mult\" must be a list of 1 to %d "
                       "integers",
                       MAX_LEVELS);
      goto done;
    }
  info->n_levels = (int)mult->u.array.n;
  for (i = 0; i < mult->u.array.n; i++)
    {
      rc = json_int_in (mult->u.array.items[i], "channel_mult", 1,
                        MAX_CHANNELS / info->base_channels, path, err,
                        &info->channel_mult[i]);
      if (rc != GD_OK)
        goto done;
    }
  info->downsample_factor = 1 << (info->n_levels - 1);

done:
  gd_json_free (cfg);
  return rc;
}

static int
json_number (const gd_json *obj, const char *key, double *out)
{
  const gd_json *v = gd_json_object_get (obj, key);

  if (v == NULL || v->type != GD_JSON_NUMBER)
    return -1;
  *out = v->u.number.value;
  return 0;
}

static int
parse_schedule (gd_model_info *info, const char *text, const char *path,
                gd_error *err)
{
  char json_err[200];
  gd_json *sched
      = gd_json_parse (text, strlen (text), json_err, sizeof json_err);
  const gd_json *type;
  double beta_start, beta_end;
  int T = 0, rc;

  if (sched == NULL)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "metadata \"schedule\" is not valid JSON: %s", json_err);
  type = gd_json_object_get (sched, "type");
  if (type == NULL || type->type != GD_JSON_STRING
      || strcmp (type->u.string.data, "linear") != 0)
    rc = model_fail (err, GD_ERR_FORMAT, path,
                     "metadata \"schedule\" must have \"type\": \"linear\" "
                     "(the only schedule this build knows)");
  else if ((rc = json_int_in (gd_json_object_get (sched, "T"), "T", 1, GD_T_MAX,
                              path, err, &T))
           != GD_OK)
    rc = model_fail (err, GD_ERR_FORMAT, path,
                     "metadata \"schedule\" \"T\" must be an integer in "
                     "1..%d",
                     GD_T_MAX);
  else if (json_number (sched, "beta_start", &beta_start) != 0
           || json_number (sched, "beta_end", &beta_end) != 0)
    rc = model_fail (err, GD_ERR_FORMAT, path,
                     "metadata \"schedule\" needs numbers \"beta_start\" "
                     "and \"beta_end\"");
  else
    {
      gd_error sched_err;
      gd_error_clear (&sched_err);
      rc = gd_schedule_init_linear (&info->schedule, T, beta_start, beta_end,
                                    &sched_err);
      if (rc != GD_OK)
        rc = model_fail (err, GD_ERR_FORMAT, path, "bad schedule: %s",
                         sched_err.message);
    }
  gd_json_free (sched);
  return rc;
}

static int
parse_metadata (gd_model_info *info, const gd_safetensors *st, const char *path,
                gd_error *err)
{
  const char *arch = gd_st_metadata (st, "arch");
  const char *config = gd_st_metadata (st, "config");
  const char *schedule = gd_st_metadata (st, "schedule");
  int rc;

  if (arch == NULL)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "no \"arch\" in the metadata: not a gimp-diffusion "
                       "model file");
  if (strcmp (arch, ARCH_NAME) != 0)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "unknown architecture \"%.60s\" (this build knows "
                       "\"%s\")",
                       arch, ARCH_NAME);
  snprintf (info->arch, sizeof info->arch, "%s", arch);
  if (config == NULL)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "no \"config\" in the metadata");
  if (schedule == NULL)
    return model_fail (err, GD_ERR_FORMAT, path,
                       "no \"schedule\" in the metadata");
  rc = parse_config (info, config, path, err);
  if (rc == GD_OK)
    rc = parse_schedule (info, schedule, path, err);
  return rc;
}

void
gd_model_free (gd_model *model)
{
  if (model == NULL)
    return;
  free (model->params);
  free (model->down_res);
  free (model->up_res);
  free (model->vectors);
  free (model->work);
  gd_conv_fast_free (model->fast);
  gd_winograd_free (model->wino);
  free (model);
}

void
gd_model_set_precision (gd_model *model, gd_precision precision)
{
  model->precision = precision;
}

gd_precision
gd_model_get_precision (const gd_model *model)
{
  return model->precision;
}

const char *
gd_precision_name (gd_precision precision)
{
  return precision == GD_PRECISION_FAST ? "fast" : "exact";
}

int
gd_precision_from_name (const char *name)
{
  if (name != NULL && strcmp (name, "exact") == 0)
    return GD_PRECISION_EXACT;
  if (name != NULL && strcmp (name, "fast") == 0)
    return GD_PRECISION_FAST;
  return -1;
}

const char *
gd_fast_path_kind (void)
{
  const char *kind = gd_conv_fast_kind ();

  /* What the network runs: the BF16 NHWC pass, else Winograd for the 3x3
     convolutions (AVX2), else exact (see gd_model_eps). */
  if (kind != NULL && strstr (kind, "bf16") != NULL)
    return kind;
  return gd_winograd_kind ();
}

/* Floats for the timestep embedding and every block's bias1. */
static float *
model_alloc_vectors (gd_model *m)
{
  const int n_res = m->info.n_res_blocks, n_levels = m->info.n_levels;
  const int emb_dim = 4 * m->info.base_channels;
  size_t total = 3 * (size_t)emb_dim, off;
  int i;

  for (i = 0; i < n_levels * n_res; i++)
    total += (size_t)m->down_res[i].cout;
  for (i = 0; i < n_levels * (n_res + 1); i++)
    total += (size_t)m->up_res[i].cout;
  total += (size_t)m->mid[0].cout + (size_t)m->mid[1].cout;
  m->vectors = malloc (total * sizeof (float));
  if (m->vectors == NULL)
    return NULL;
  m->temb = m->vectors;
  m->temb_act = m->temb + emb_dim;
  m->temb_hidden = m->temb_act + emb_dim;
  off = 3 * (size_t)emb_dim;
  for (i = 0; i < n_levels * n_res; i++)
    {
      m->down_res[i].bias1 = m->vectors + off;
      off += (size_t)m->down_res[i].cout;
    }
  for (i = 0; i < 2; i++)
    {
      m->mid[i].bias1 = m->vectors + off;
      off += (size_t)m->mid[i].cout;
    }
  for (i = 0; i < n_levels * (n_res + 1); i++)
    {
      m->up_res[i].bias1 = m->vectors + off;
      off += (size_t)m->up_res[i].cout;
    }
  return m->vectors;
}

gd_model *
gd_model_load (const char *path, gd_error *err)
{
  gd_safetensors *st;
  gd_model *m = NULL;
  loader ld;
  size_t i;

  st = gd_st_open (path, err);
  if (st == NULL)
    return NULL;
  memset (&ld, 0, sizeof ld);
  m = calloc (1, sizeof *m);
  if (m == NULL)
    {
      model_fail (err, GD_ERR_NOMEM, path, "out of memory");
      goto fail;
    }
  if (parse_metadata (&m->info, st, path, err) != GD_OK)
    goto fail;
  m->down_res
      = calloc ((size_t)m->info.n_levels
                    * (size_t)(m->info.n_res_blocks ? m->info.n_res_blocks : 1),
                sizeof *m->down_res);
  m->up_res
      = calloc ((size_t)m->info.n_levels * (size_t)(m->info.n_res_blocks + 1),
                sizeof *m->up_res);
  ld.seen = calloc (st->n_tensors ? st->n_tensors : 1, 1);
  if (m->down_res == NULL || m->up_res == NULL || ld.seen == NULL)
    {
      model_fail (err, GD_ERR_NOMEM, path, "out of memory");
      goto fail;
    }
  ld.model = m;
  ld.st = st;
  ld.path = path;
  ld.err = err;

  /* Pass 0: every tensor present with its shape, nothing left over. */
  model_walk (&ld);
  if (ld.rc != GD_OK)
    goto fail;
  for (i = 0; i < st->n_tensors; i++)
    if (!ld.seen[i])
      {
        model_fail (err, GD_ERR_FORMAT, path,
                    "unexpected tensor '%.100s' (not part of the %s "
                    "architecture described by the metadata)",
                    st->tensors[i].name, ARCH_NAME);
        goto fail;
      }
  if (ld.offset > SIZE_MAX / sizeof (float)
      || (m->params = malloc (ld.offset * sizeof (float))) == NULL)
    {
      model_fail (err, GD_ERR_NOMEM, path, "out of memory for %zu parameters",
                  m->n_params);
      goto fail;
    }

  /* Pass 1: read and convert. */
  ld.pass = 1;
  ld.offset = 0;
  model_walk (&ld);
  if (ld.rc != GD_OK)
    goto fail;
  m->info.n_params = m->n_params;
  if (model_alloc_vectors (m) == NULL)
    {
      model_fail (err, GD_ERR_NOMEM, path, "out of memory");
      goto fail;
    }
  free (ld.seen);
  gd_st_close (st);
  return m;

fail:
  free (ld.seen);
  gd_st_close (st);
  gd_model_free (m);
  return NULL;
}

const gd_model_info *
gd_model_get_info (const gd_model *model)
{
  return &model->info;
}

const char *
gd_model_default_path (void)
{
  static char path[4096];
  const char *dir = getenv ("GD_MODEL_DIR");

  if (dir == NULL || dir[0] == '\0')
    dir = GD_MODEL_DIR;
  snprintf (path, sizeof path, "%s/default.safetensors", dir);
  return path;
}

void
gd_set_threads (int n)
{
  /* The kernels fork their own threads, each calling a single-threaded
     sgemm on its share of the rows (see ops.h). */
  gd_threads_set (n);
  gd_blas_single_thread ();
}

/* ---------------------------------------------------------------- forward */

/* The workspace of one forward pass at padded size ph x pw, in floats. */
typedef struct
{
  size_t skips;   /* every tensor that model.py pushes on `hs` */
  size_t cat;     /* each of two ping-pong buffers: h followed by a skip */
  size_t hidden;  /* a block's conv1 output */
  size_t scratch; /* norm1 output when neither x nor out can hold it */
  size_t col;     /* im2col */
  size_t in_pad, out_pad;
  size_t total;
} work_plan;

/* a += b * c with overflow check (stb's mad3sizes_valid in spirit). */
static int
size_mad (size_t *a, size_t b, size_t c)
{
  if (c != 0 && b > (SIZE_MAX - *a) / c)
    return -1;
  *a += b * c;
  return 0;
}

static size_t
round_up (size_t n)
{
  return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static void
max_into (size_t *a, size_t b)
{
  if (b > *a)
    *a = b;
}

static size_t
conv_col (const gd_conv_params *c, int h, int w, int stride, int upsample)
{
  int eh = upsample ? 2 * h : h, ew = upsample ? 2 * w : w;

  return gd_conv2d_col_floats (c->cin, c->ksize, stride,
                               gd_conv2d_out_size (eh, c->ksize, stride),
                               gd_conv2d_out_size (ew, c->ksize, stride));
}

static void
plan_block (work_plan *p, const gd_resblock *b, int h, int w)
{
  size_t px = (size_t)h * (size_t)w;

  max_into (&p->hidden, round_up ((size_t)b->cout * px));
  max_into (&p->col, conv_col (&b->conv1, h, w, 1, 0));
  max_into (&p->col, conv_col (&b->conv2, h, w, 1, 0));
}

/* Channels x pixels stay below 2^46 (config and size bounds), so products
 * fit; sums are checked. */
static int
plan_work (const gd_model *m, int ph, int pw, int pad, work_plan *p)
{
  const gd_model_info *info = &m->info;
  const int n_res = info->n_res_blocks, n_levels = info->n_levels;
  int level, i;

  memset (p, 0, sizeof *p);
  if (size_mad (
          &p->skips,
          round_up ((size_t)info->base_channels * (size_t)ph * (size_t)pw), 1)
      != 0)
    return -1;
  max_into (&p->col, conv_col (&m->conv_in, ph, pw, 1, 0));
  for (level = 0; level < n_levels; level++)
    {
      int h = ph >> level, w = pw >> level;
      size_t px = (size_t)h * (size_t)w;
      for (i = 0; i < n_res; i++)
        {
          const gd_resblock *b = &m->down_res[level * n_res + i];
          plan_block (p, b, h, w);
          if (size_mad (&p->skips, round_up ((size_t)b->cout * px), 1) != 0)
            return -1;
          /* x is a kept skip; out (a skip slot) holds norm1(x) only if
             it is at least as large. */
          if (b->cin > b->cout)
            max_into (&p->scratch, round_up ((size_t)b->cin * px));
        }
      if (level < n_levels - 1)
        {
          const gd_conv_params *c = &m->down[level];
          max_into (&p->col, conv_col (c, h, w, 2, 0));
          if (size_mad (&p->skips,
                        round_up ((size_t)c->cout * (size_t)(h / 2)
                                  * (size_t)(w / 2)),
                        1)
              != 0)
            return -1;
        }
    }
  for (i = 0; i < 2; i++)
    {
      int h = ph >> (n_levels - 1), w = pw >> (n_levels - 1);
      plan_block (p, &m->mid[i], h, w);
      max_into (&p->cat,
                round_up ((size_t)m->mid[i].cin * (size_t)h * (size_t)w));
      max_into (&p->cat,
                round_up ((size_t)m->mid[i].cout * (size_t)h * (size_t)w));
    }
  for (level = n_levels - 1; level >= 0; level--)
    {
      int h = ph >> level, w = pw >> level;
      for (i = 0; i <= n_res; i++)
        {
          const gd_resblock *b = &m->up_res[level * (n_res + 1) + i];
          plan_block (p, b, h, w);
          max_into (&p->cat, round_up ((size_t)b->cin * (size_t)h * (size_t)w));
          max_into (&p->cat,
                    round_up ((size_t)b->cout * (size_t)h * (size_t)w));
        }
      if (level > 0)
        {
          const gd_conv_params *c = &m->up[level];
          max_into (&p->col, conv_col (c, h, w, 1, 1));
          max_into (&p->cat, round_up ((size_t)c->cout * (size_t)(2 * h)
                                       * (size_t)(2 * w)));
        }
    }
  max_into (&p->col, conv_col (&m->conv_out, ph, pw, 1, 0));
  if (pad)
    {
      p->in_pad
          = round_up ((size_t)info->in_channels * (size_t)ph * (size_t)pw);
      p->out_pad = p->in_pad;
    }
  p->col = round_up (p->col);
  p->total = 0;
  if (size_mad (&p->total, p->skips, 1) != 0
      || size_mad (&p->total, p->cat, 2) != 0
      || size_mad (&p->total, p->hidden, 1) != 0
      || size_mad (&p->total, p->scratch, 1) != 0
      || size_mad (&p->total, p->col, 1) != 0
      || size_mad (&p->total, p->in_pad, 1) != 0
      || size_mad (&p->total, p->out_pad, 1) != 0)
    return -1;
  return 0;
}

size_t
gd_model_work_floats (const gd_model *model, int width, int height)
{
  const int f = model->info.downsample_factor;
  int pw, ph;
  work_plan plan;

  if (width < 1 || height < 1 || width > INT_MAX - f || height > INT_MAX - f)
    return 0;
  pw = (width + f - 1) / f * f;
  ph = (height + f - 1) / f * f;
  if (plan_work (model, ph, pw, pw != width || ph != height, &plan) != 0
      || plan.total > SIZE_MAX / sizeof (float))
    return 0;
  return plan.total;
}

double
gd_model_fast_bytes (const gd_model *model, gd_precision precision,
                     int width, int height)
{
  const int f = model->info.downsample_factor;
  const char *kind = gd_fast_path_kind ();
  int pw, ph, level, c_max = 0;
  work_plan plan;

  if (precision != GD_PRECISION_FAST || kind == NULL || width < 1 || height < 1
      || width > INT_MAX - f || height > INT_MAX - f)
    return 0.0;
  if (strstr (kind, "winograd") != NULL)
    {
      /* The transformed 3x3 weights (36 values for 9, so at most 4 times
         the model's parameters) and the threads' blocks for the widest
         layer (an up block's input: twice the widest level). */
      for (level = 0; level < model->info.n_levels; level++)
        if (model->info.channel_mult[level] > c_max)
          c_max = model->info.channel_mult[level];
      c_max *= model->info.base_channels;
      return 16.0 * (double)model->info.n_params
             + (double)gd_winograd_layer_bytes (2 * c_max, c_max,
                                                gd_threads ());
    }
  pw = (width + f - 1) / f * f;
  ph = (height + f - 1) / f * f;
  if (plan_work (model, ph, pw, pw != width || ph != height, &plan) != 0)
    return 0.0;
  /* The largest convolution input is at most a concatenation buffer, in
     BF16 NHWC (two buffers: normalised and raw); the weights once more, in
     BF16. */
  return 4.0 * (double)plan.cat + 2.0 * (double)model->info.n_params;
}

size_t
gd_model_work_allocated (const gd_model *model)
{
  return model->work_floats;
}

typedef struct
{
  float *hidden;
  float *scratch;
  size_t scratch_floats;
  float *col;
  size_t col_floats;
  gd_conv_fast *fast; /* NULL: the exact path */
  gd_winograd *wino;  /* non-NULL: 3x3 stride-1 convolutions by Winograd */
  double *conv_seconds;
} work_bufs;

static double
mono_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void
gd_model_profile_reset (gd_model *model)
{
  model->conv_seconds = model->total_seconds = 0;
}

void
gd_model_profile_get (const gd_model *model, double *conv_seconds,
                      double *total_seconds)
{
  *conv_seconds = model->conv_seconds;
  *total_seconds = model->total_seconds;
}

static void
conv_run (const gd_conv_params *c, const float *x, int h, int w, int stride,
          int upsample, const float *bias, float *y, int accumulate,
          const work_bufs *wb)
{
  double t0 = mono_seconds ();
  int done = wb->wino != NULL && c->ksize == 3 && stride == 1
             && gd_winograd_conv3x3 (wb->wino, gd_winograd_isa_best (), x,
                                     c->cin, h, w, upsample, c->weight, bias,
                                     c->cout, y, accumulate)
                    == 0;

  if (!done
      && (wb->fast == NULL
          || gd_conv_fast_run (wb->fast, x, c->cin, h, w, upsample, c->weight,
                               bias, c->cout, c->ksize, stride, y, accumulate)
                 != 0))
    gd_conv2d (x, c->cin, h, w, upsample, c->weight, bias, c->cout, c->ksize,
               stride, y, accumulate, wb->col, wb->col_floats);
  *wb->conv_seconds += mono_seconds () - t0;
}

/* model.py ResBlock.forward.  out must not overlap x.  If x_mutable, x is
 * overwritten (with norm1(x)); else norm1(x) goes to out when out_floats
 * can hold it, or to the scratch buffer. */
static void
resblock_run (const gd_resblock *b, float *x, int x_mutable, int h, int w,
              float *out, size_t out_floats, const work_bufs *wb)
{
  const size_t px = (size_t)h * (size_t)w;
  float *act;

  if (x_mutable)
    {
      /* The skip path first, while x is intact. */
      if (b->has_skip)
        conv_run (&b->skip, x, h, w, 1, 0, b->skip.bias, out, 0, wb);
      else
        memcpy (out, x, (size_t)b->cin * px * sizeof *out);
      act = x;
    }
  else if (out_floats >= (size_t)b->cin * px)
    act = out;
  else
    {
      GD_ASSERT (wb->scratch_floats >= (size_t)b->cin * px);
      act = wb->scratch;
    }
  gd_channel_norm_silu (x, b->cin, px, b->norm1.weight, b->norm1.bias, act);
  /* conv1 bias + emb(silu(temb)), precomputed per call in bias1. */
  conv_run (&b->conv1, act, h, w, 1, 0, b->bias1, wb->hidden, 0, wb);
  gd_channel_norm_silu (wb->hidden, b->cout, px, b->norm2.weight, b->norm2.bias,
                        wb->hidden);
  if (!x_mutable)
    {
      if (b->has_skip)
        conv_run (&b->skip, x, h, w, 1, 0, b->skip.bias, out, 0, wb);
      else
        memcpy (out, x, (size_t)b->cin * px * sizeof *out);
    }
  conv_run (&b->conv2, wb->hidden, h, w, 1, 0, b->conv2.bias, out, 1, wb);
}

static void
block_bias (gd_resblock *b, const float *temb_act)
{
  gd_linear (temb_act, b->emb.n_in, b->emb.weight, b->emb.bias, b->emb.n_out,
             b->bias1);
  gd_add_inplace (b->bias1, b->conv1.bias, (size_t)b->cout);
}

/* TimeEmbed, then each block's bias1 = conv1.bias + emb(silu(temb)). */
static void
model_embed (gd_model *m, double t)
{
  const int n_res = m->info.n_res_blocks, n_levels = m->info.n_levels;
  const int base = m->info.base_channels, emb_dim = 4 * base;
  int i;

  gd_timestep_embedding (t, base, m->temb_act);
  gd_linear (m->temb_act, base, m->temb1.weight, m->temb1.bias, emb_dim,
             m->temb_hidden);
  gd_silu (m->temb_hidden, (size_t)emb_dim, m->temb_hidden);
  gd_linear (m->temb_hidden, emb_dim, m->temb2.weight, m->temb2.bias, emb_dim,
             m->temb);
  gd_silu (m->temb, (size_t)emb_dim, m->temb_act);
  for (i = 0; i < n_levels * n_res; i++)
    block_bias (&m->down_res[i], m->temb_act);
  block_bias (&m->mid[0], m->temb_act);
  block_bias (&m->mid[1], m->temb_act);
  for (i = 0; i < n_levels * (n_res + 1); i++)
    block_bias (&m->up_res[i], m->temb_act);
}

/* ------------------------------------------------ the fast NHWC pass
 * The same network with activations in FP32 NHWC and BF16 NHWC inputs for
 * oneDNN's convolutions (conv-fast.h): no reorder between layers, norm and
 * SiLU fused with the conversion.  Same workspace plan (the tensors have
 * the same sizes in either layout) plus the cache's BF16 buffer.  -1 when
 * a convolution cannot run: the caller then runs the exact pass. */

static int
conv_nhwc (const gd_conv_params *c, const uint16_t *act, int h, int w,
           int stride, const float *bias, float *y, int accumulate,
           const work_bufs *wb)
{
  double t0 = mono_seconds ();
  int rc = gd_conv_fast_nhwc (wb->fast, act, c->cin, h, w, c->weight, bias,
                              c->cout, c->ksize, stride, y, accumulate);

  *wb->conv_seconds += mono_seconds () - t0;
  return rc;
}

/* model.py ResBlock.forward on [x; xb] (xb: a skip to concatenate, or
 * NULL), without forming the concatenation: the fused norm reads both and
 * also writes the BF16 input of the skip convolution. */
static int
resblock_nhwc (const gd_resblock *b, const float *x, const float *xb, int cb,
               int h, int w, float *out, const work_bufs *wb)
{
  const size_t px = (size_t)h * (size_t)w;
  const int cx = xb != NULL ? b->cin - cb : b->cin;
  uint16_t *act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)b->cin * px);
  uint16_t *raw
      = b->has_skip ? gd_conv_fast_act_buffer (wb->fast, 1, (size_t)b->cin * px)
                    : NULL;

  GD_ASSERT (xb == NULL || (b->has_skip && cx > 0));
  if (act == NULL || (b->has_skip && raw == NULL))
    return -1;
  gd_nhwc_cat_norm_silu_bf16 (x, cx, xb, cb, px, b->norm1.weight, b->norm1.bias,
                              act, raw);
  if (b->has_skip)
    {
      if (conv_nhwc (&b->skip, raw, h, w, 1, b->skip.bias, out, 0, wb) != 0)
        return -1;
    }
  else
    memcpy (out, x, (size_t)b->cin * px * sizeof *out);
  if (conv_nhwc (&b->conv1, act, h, w, 1, b->bias1, wb->hidden, 0, wb) != 0)
    return -1;
  act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)b->cout * px);
  if (act == NULL)
    return -1;
  gd_nhwc_norm_silu_bf16 (wb->hidden, b->cout, px, b->norm2.weight,
                          b->norm2.bias, act);
  return conv_nhwc (&b->conv2, act, h, w, 1, b->conv2.bias, out, 1, wb);
}

/* eps_hat (planar, ph x pw) for x_in (planar, ph x pw). */
static int
forward_nhwc (gd_model *m, const float *x_in, int ph, int pw,
              const work_plan *plan, const work_bufs *wb, float *out)
{
  const gd_model_info *info = &m->info;
  const int n_res = info->n_res_blocks, n_levels = info->n_levels;
  const size_t full = (size_t)ph * (size_t)pw;
  float *skip_at[MAX_SKIPS], *skip_next, *cur, *other, *swap;
  int skip_ch[MAX_SKIPS], n_skip, ch, level, i;
  uint16_t *act;

  if ((size_t)info->in_channels * full > plan->cat)
    return -1;
  cur = m->work + plan->skips;
  other = cur + plan->cat;
  act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)info->in_channels * full);
  if (act == NULL)
    return -1;
  gd_planar_to_nhwc_bf16 (x_in, info->in_channels, full, act);
  skip_next = m->work;
  skip_at[0] = skip_next;
  skip_ch[0] = info->base_channels;
  if (conv_nhwc (&m->conv_in, act, ph, pw, 1, m->conv_in.bias, skip_at[0], 0,
                 wb)
      != 0)
    return -1;
  skip_next += round_up ((size_t)skip_ch[0] * full);
  n_skip = 1;
  for (level = 0; level < n_levels; level++)
    {
      int h = ph >> level, w = pw >> level;
      size_t px = (size_t)h * (size_t)w;
      for (i = 0; i < n_res; i++)
        {
          const gd_resblock *b = &m->down_res[level * n_res + i];
          if (resblock_nhwc (b, skip_at[n_skip - 1], NULL, 0, h, w, skip_next,
                             wb)
              != 0)
            return -1;
          skip_at[n_skip] = skip_next;
          skip_ch[n_skip++] = b->cout;
          skip_next += round_up ((size_t)b->cout * px);
        }
      if (level < n_levels - 1)
        {
          const gd_conv_params *c = &m->down[level];
          act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)c->cin * px);
          if (act == NULL)
            return -1;
          gd_nhwc_to_bf16 (skip_at[n_skip - 1], (size_t)c->cin * px, act);
          if (conv_nhwc (c, act, h, w, 2, c->bias, skip_next, 0, wb) != 0)
            return -1;
          skip_at[n_skip] = skip_next;
          skip_ch[n_skip++] = c->cout;
          skip_next
              += round_up ((size_t)c->cout * (size_t)(h / 2) * (size_t)(w / 2));
        }
    }
  {
    int h = ph >> (n_levels - 1), w = pw >> (n_levels - 1);
    if (resblock_nhwc (&m->mid[0], skip_at[n_skip - 1], NULL, 0, h, w, cur, wb)
            != 0
        || resblock_nhwc (&m->mid[1], cur, NULL, 0, h, w, other, wb) != 0)
      return -1;
    swap = cur, cur = other, other = swap;
    ch = m->mid[1].cout;
  }
  for (level = n_levels - 1; level >= 0; level--)
    {
      int h = ph >> level, w = pw >> level;
      size_t px = (size_t)h * (size_t)w;
      for (i = 0; i <= n_res; i++)
        {
          const gd_resblock *b = &m->up_res[level * (n_res + 1) + i];
          n_skip--;
          GD_ASSERT (n_skip >= 0 && ch + skip_ch[n_skip] == b->cin);
          if (resblock_nhwc (b, cur, skip_at[n_skip], skip_ch[n_skip], h, w,
                             other, wb)
              != 0)
            return -1;
          swap = cur, cur = other, other = swap;
          ch = b->cout;
        }
      if (level > 0)
        {
          const gd_conv_params *c = &m->up[level];
          act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)ch * 4 * px);
          if (act == NULL)
            return -1;
          gd_nhwc_upsample2_bf16 (cur, ch, h, w, act);
          if (conv_nhwc (c, act, 2 * h, 2 * w, 1, c->bias, other, 0, wb) != 0)
            return -1;
          swap = cur, cur = other, other = swap;
          ch = c->cout;
        }
    }
  GD_ASSERT (n_skip == 0);
  act = gd_conv_fast_act_buffer (wb->fast, 0, (size_t)ch * full);
  if (act == NULL)
    return -1;
  gd_nhwc_norm_silu_bf16 (cur, ch, full, m->norm_out.weight, m->norm_out.bias,
                          act);
  if (conv_nhwc (&m->conv_out, act, ph, pw, 1, m->conv_out.bias, other, 0, wb)
      != 0)
    return -1;
  gd_nhwc_to_planar (other, info->in_channels, full, out);
  return 0;
}

int
gd_model_eps (gd_model *model, const float *x_t, int width, int height,
              double t, float *eps_hat, gd_error *err)
{
  gd_model *m = model;
  const gd_model_info *info;
  int f, ph, pw, pad, n_levels, n_res, level, i, n_skip = 0;
  work_plan plan;
  work_bufs wb;
  double t_start;
  float *skip_at[MAX_SKIPS], *skip_next, *cur, *other, *swap, *out;
  int skip_ch[MAX_SKIPS], ch;
  const float *x_in;
  size_t n_out, k;

  if (m == NULL || x_t == NULL || eps_hat == NULL)
    return gd_error_set (err, GD_ERR_INVALID, "gd_model_eps: NULL argument");
  info = &m->info;
  if (width < 1 || height < 1)
    return gd_error_set (err, GD_ERR_INVALID,
                         "image size %dx%d: must be at least 1x1", width,
                         height);
  if (!isfinite (t) || t < 0.0 || t > (double)info->schedule.T)
    return gd_error_set (err, GD_ERR_INVALID, "timestep %g is outside 0..%d", t,
                         info->schedule.T);
  f = info->downsample_factor;
  if (width > INT_MAX - f || height > INT_MAX - f)
    return gd_error_set (err, GD_ERR_INVALID, "image size %dx%d too large",
                         width, height);
  pw = (width + f - 1) / f * f;
  ph = (height + f - 1) / f * f;
  /* One sgemm spans a whole plane: its leading dimension is an int. */
  if ((size_t)pw * (size_t)ph > (size_t)INT_MAX)
    return gd_error_set (err, GD_ERR_INVALID,
                         "image %dx%d is too large for one forward pass: "
                         "process it in tiles",
                         width, height);
  pad = pw != width || ph != height;
  if (plan_work (m, ph, pw, pad, &plan) != 0
      || plan.total > SIZE_MAX / sizeof (float))
    return gd_error_set (err, GD_ERR_NOMEM,
                         "image %dx%d needs more memory than can be "
                         "addressed",
                         width, height);
  if (plan.total > m->work_floats)
    {
      void *mem = NULL;
      free (m->work);
      m->work = NULL;
      m->work_floats = 0;
      if (posix_memalign (&mem, 64, plan.total * sizeof (float)) != 0)
        return gd_error_set (err, GD_ERR_NOMEM,
                             "out of memory: the forward pass on %dx%d "
                             "needs %zu MiB",
                             width, height, plan.total * sizeof (float) >> 20);
      m->work = mem;
      m->work_floats = plan.total;
    }

  /* Carve the workspace. */
  cur = m->work + plan.skips;
  other = cur + plan.cat;
  wb.hidden = other + plan.cat;
  wb.scratch = wb.hidden + plan.hidden;
  wb.scratch_floats = plan.scratch;
  wb.col = wb.scratch + plan.scratch;
  wb.col_floats = plan.col;
  wb.fast = NULL;
  wb.wino = NULL;
  wb.conv_seconds = &m->conv_seconds;
  t_start = mono_seconds ();
  if (m->precision == GD_PRECISION_FAST)
    {
      if (m->fast == NULL)
        m->fast = gd_conv_fast_new (); /* NULL: no fast path, run exact */
      /* oneDNN only where the BF16 NHWC pass runs: its FP32 kernels with
         a reorder in and out of each convolution (AVX2, AVX-512 without
         BF16) measured slower than the exact pass (512x512, 2 threads:
         2.34 s against 1.71 s capped at AVX2).  There the 3x3 stride-1
         convolutions run Winograd F(4x4, 3x3) (winograd.h), the others
         exact. */
      if (gd_conv_fast_has_nhwc (m->fast))
        wb.fast = m->fast;
      else if (gd_winograd_kind () != NULL)
        {
          if (m->wino == NULL)
            m->wino = gd_winograd_new (); /* NULL: no memory, run exact */
          wb.wino = m->wino;
        }
    }
  n_res = info->n_res_blocks;
  n_levels = info->n_levels;

  model_embed (m, t);

  if (pad)
    {
      float *in_pad = wb.col + plan.col;
      gd_pad_replicate (x_t, info->in_channels, height, width, ph, pw, in_pad);
      x_in = in_pad;
    }
  else
    x_in = x_t;

  out = pad ? wb.col + plan.col + plan.in_pad : eps_hat;
  if (wb.fast != NULL && gd_conv_fast_has_nhwc (wb.fast)
      && forward_nhwc (m, x_in, ph, pw, &plan, &wb, out) == 0)
    goto crop;

  /* Down: every output is kept (model.py's hs), in consecutive slots;
     blocks read their input from the previous slot and write the next. */
  skip_next = m->work;
  skip_at[0] = skip_next;
  skip_ch[0] = info->base_channels;
  conv_run (&m->conv_in, x_in, ph, pw, 1, 0, m->conv_in.bias, skip_at[0], 0,
            &wb);
  skip_next += round_up ((size_t)skip_ch[0] * (size_t)ph * (size_t)pw);
  n_skip = 1;
  for (level = 0; level < n_levels; level++)
    {
      int h = ph >> level, w = pw >> level;
      size_t px = (size_t)h * (size_t)w;
      for (i = 0; i < n_res; i++)
        {
          const gd_resblock *b = &m->down_res[level * n_res + i];
          size_t n = (size_t)b->cout * px;
          resblock_run (b, skip_at[n_skip - 1], 0, h, w, skip_next, n, &wb);
          skip_at[n_skip] = skip_next;
          skip_ch[n_skip++] = b->cout;
          skip_next += round_up (n);
        }
      if (level < n_levels - 1)
        {
          const gd_conv_params *c = &m->down[level];
          conv_run (c, skip_at[n_skip - 1], h, w, 2, 0, c->bias, skip_next, 0,
                    &wb);
          skip_at[n_skip] = skip_next;
          skip_ch[n_skip++] = c->cout;
          skip_next
              += round_up ((size_t)c->cout * (size_t)(h / 2) * (size_t)(w / 2));
        }
    }
  GD_ASSERT ((size_t)(skip_next - m->work) == plan.skips);

  /* Mid, then up: h lives at the head of one ping-pong buffer, with room
     behind it for the skip it is concatenated with. */
  {
    int h = ph >> (n_levels - 1), w = pw >> (n_levels - 1);
    resblock_run (&m->mid[0], skip_at[n_skip - 1], 0, h, w, cur, plan.cat, &wb);
    resblock_run (&m->mid[1], cur, 1, h, w, other, plan.cat, &wb);
    swap = cur, cur = other, other = swap;
    ch = m->mid[1].cout;
  }
  for (level = n_levels - 1; level >= 0; level--)
    {
      int h = ph >> level, w = pw >> level;
      size_t px = (size_t)h * (size_t)w;
      for (i = 0; i <= n_res; i++)
        {
          const gd_resblock *b = &m->up_res[level * (n_res + 1) + i];
          n_skip--;
          GD_ASSERT (n_skip >= 0 && ch + skip_ch[n_skip] == b->cin);
          memcpy (cur + (size_t)ch * px, skip_at[n_skip],
                  (size_t)skip_ch[n_skip] * px * sizeof *cur);
          resblock_run (b, cur, 1, h, w, other, plan.cat, &wb);
          swap = cur, cur = other, other = swap;
          ch = b->cout;
        }
      if (level > 0)
        {
          /* nearest x2 then conv, fused. */
          const gd_conv_params *c = &m->up[level];
          conv_run (c, cur, h, w, 1, 1, c->bias, other, 0, &wb);
          swap = cur, cur = other, other = swap;
          ch = c->cout;
        }
    }
  GD_ASSERT (n_skip == 0);

  gd_channel_norm_silu (cur, ch, (size_t)ph * (size_t)pw, m->norm_out.weight,
                        m->norm_out.bias, cur);
  conv_run (&m->conv_out, cur, ph, pw, 1, 0, m->conv_out.bias, out, 0, &wb);
crop:
  if (pad)
    gd_crop (out, info->in_channels, ph, pw, height, width, eps_hat);
  m->total_seconds += mono_seconds () - t_start;

  n_out = (size_t)info->in_channels * (size_t)width * (size_t)height;
  for (k = 0; k < n_out; k++)
    if (!isfinite (eps_hat[k]))
      return gd_error_set (err, GD_ERR_NUMERIC,
                           "the network produced %s at t = %g (input out "
                           "of range, or a broken model)",
                           isnan (eps_hat[k]) ? "NaN" : "Inf", t);
  return GD_OK;
}
