/* conv-fast.c: the convolutions' fast path through oneDNN (conv-fast.h).
 *
 * Each convolution shape gets one primitive, created on first use and kept
 * in the model's cache with its weights reordered (to BF16 where the ISA
 * has BF16 products): the activations stay planar FP32 (ops.h's layout)
 * between layers, and each call reorders its input to the kernel's layout
 * and its output back, threaded by oneDNN (OpenMP, gd_threads () threads).
 */
#include "conv-fast.h"
#include "ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef GD_HAVE_ONEDNN

const char *
gd_conv_fast_kind (void)
{
  return NULL;
}

gd_conv_fast *
gd_conv_fast_new (void)
{
  return NULL;
}

void
gd_conv_fast_free (gd_conv_fast *fast)
{
  (void)fast;
}

int
gd_conv_fast_run (gd_conv_fast *fast, const float *x, int cin, int h, int w,
                  int upsample, const float *weight, const float *bias,
                  int cout, int ksize, int stride, float *y, int accumulate)
{
  (void)fast, (void)x, (void)cin, (void)h, (void)w, (void)upsample;
  (void)weight, (void)bias, (void)cout, (void)ksize, (void)stride, (void)y;
  (void)accumulate;
  return -1;
}

size_t
gd_conv_fast_bytes (const gd_conv_fast *fast)
{
  (void)fast;
  return 0;
}

int
gd_conv_fast_nhwc (gd_conv_fast *fast, const void *act, int cin, int h, int w,
                   const float *weight, const float *bias, int cout, int ksize,
                   int stride, float *y, int accumulate)
{
  (void)fast, (void)act, (void)cin, (void)h, (void)w, (void)weight;
  (void)bias, (void)cout, (void)ksize, (void)stride, (void)y;
  (void)accumulate;
  return -1;
}

int
gd_conv_fast_has_nhwc (const gd_conv_fast *fast)
{
  (void)fast;
  return 0;
}

uint16_t *
gd_conv_fast_act_buffer (gd_conv_fast *fast, int which, size_t elems)
{
  (void)fast, (void)which, (void)elems;
  return NULL;
}

#else /* GD_HAVE_ONEDNN */

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

/* oneDNN is opened at run time, not linked: the program runs where it is
 * missing (exact path only), and OpenMP, which oneDNN's Debian build
 * threads with, starts only once OMP_WAIT_POLICY is set.  OpenMP reads it
 * when it loads; its default, spinning at every barrier, made the fast
 * path 3-6 times slower than passive waiting on a loaded machine with 2
 * cores (the forward pass at 128x128: 0.93 s spinning, 0.16 s passive). */
#define DNNL_FUNCS(X)                                                          \
  X (dnnl_convolution_forward_desc_init)                                       \
  X (dnnl_engine_create)                                                       \
  X (dnnl_engine_destroy)                                                      \
  X (dnnl_get_effective_cpu_isa)                                               \
  X (dnnl_memory_create)                                                       \
  X (dnnl_memory_desc_get_size)                                                \
  X (dnnl_memory_desc_init_by_tag)                                             \
  X (dnnl_memory_destroy)                                                      \
  X (dnnl_memory_set_data_handle)                                              \
  X (dnnl_post_ops_append_sum)                                                 \
  X (dnnl_post_ops_create)                                                     \
  X (dnnl_post_ops_destroy)                                                    \
  X (dnnl_primitive_attr_create)                                               \
  X (dnnl_primitive_attr_destroy)                                              \
  X (dnnl_primitive_attr_set_post_ops)                                         \
  X (dnnl_primitive_attr_set_scratchpad_mode)                                  \
  X (dnnl_primitive_create)                                                    \
  X (dnnl_primitive_desc_create)                                               \
  X (dnnl_primitive_desc_destroy)                                              \
  X (dnnl_primitive_desc_query_md)                                             \
  X (dnnl_primitive_destroy)                                                   \
  X (dnnl_primitive_execute)                                                   \
  X (dnnl_reorder_primitive_desc_create)                                       \
  X (dnnl_set_max_cpu_isa)                                                     \
  X (dnnl_stream_create)                                                       \
  X (dnnl_stream_destroy)                                                      \
  X (dnnl_stream_wait)

#define DNNL_DECLARE(name) static __typeof__ (name) *fn_##name;
DNNL_FUNCS (DNNL_DECLARE)
static void (*fn_omp_set_num_threads) (int);

/* 0 when oneDNN is loaded with every function. */
static int
dnnl_load (void)
{
  void *lib;

  setenv ("OMP_WAIT_POLICY", "passive", 0);
  lib = dlopen ("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    return -1;
#define DNNL_LOAD(name)                                                        \
  if ((*(void **)&fn_##name = dlsym (lib, #name)) == NULL)                     \
    return -1;
  DNNL_FUNCS (DNNL_LOAD)
  *(void **)&fn_omp_set_num_threads = dlsym (lib, "omp_set_num_threads");
  return fn_omp_set_num_threads != NULL ? 0 : -1;
}

/* One convolution shape and its weights. */
typedef struct
{
  const float *weight; /* the key: weights, shapes, flags */
  int cin, h, w, upsample, cout, ksize, stride, accumulate;
  int nhwc; /* 1: src (bf16) and dst (f32) NHWC, sum post-op, no reorders */
  dnnl_primitive_t conv, src_reorder, dst_reorder;
  dnnl_memory_t src_plain, src, weights, bias, dst, dst_plain, scratch;
  size_t src_bytes, dst_bytes, scratch_bytes;
} fast_entry;

struct gd_conv_fast
{
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  fast_entry *entries;
  int n_entries, cap_entries;
  void *src_buf, *dst_buf, *up_buf, *scratch_buf; /* shared by every entry */
  size_t src_cap, dst_cap, up_cap, scratch_cap;
  size_t weight_bytes;
};

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static const char *isa_kind; /* NULL: no fast path */
static int isa_bf16;

/* GD_MAX_ISA -> oneDNN's cap, once per process (oneDNN allows it only
   before its first primitive). */
static void
isa_init (void)
{
  static const struct
  {
    const char *name;
    dnnl_cpu_isa_t isa;
  } caps[] = {
    { "avx2", dnnl_cpu_isa_avx2 },
    { "avx512", dnnl_cpu_isa_avx512_core },
    { "avx512_bf16", dnnl_cpu_isa_avx512_core_bf16 },
    { "amx", dnnl_cpu_isa_avx512_core_amx },
  };
  const char *cap = getenv ("GD_MAX_ISA");
  dnnl_cpu_isa_t isa;
  size_t i;

  if (dnnl_load () != 0)
    return;
  if (cap != NULL && cap[0] != '\0')
    {
      for (i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (strcmp (cap, caps[i].name) == 0)
          break;
      if (i == sizeof caps / sizeof caps[0])
        return; /* "exact" or unknown: no fast path */
      if (fn_dnnl_set_max_cpu_isa (caps[i].isa) != dnnl_success)
        return;
    }
  isa = fn_dnnl_get_effective_cpu_isa ();
  if ((isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx)
    isa_kind = "amx bf16", isa_bf16 = 1;
  else if ((isa & dnnl_cpu_isa_avx512_core_bf16)
           == dnnl_cpu_isa_avx512_core_bf16)
    isa_kind = "avx512_bf16 bf16", isa_bf16 = 1;
  else if ((isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core)
    isa_kind = "avx512 fp32";
  else if ((isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2)
    isa_kind = "avx2 fp32";
}

const char *
gd_conv_fast_kind (void)
{
  pthread_once (&isa_once, isa_init);
  return isa_kind;
}

gd_conv_fast *
gd_conv_fast_new (void)
{
  gd_conv_fast *fast;

  if (gd_conv_fast_kind () == NULL)
    return NULL;
  fast = calloc (1, sizeof *fast);
  if (fast == NULL)
    return NULL;
  if (fn_dnnl_engine_create (&fast->engine, dnnl_cpu, 0) != dnnl_success
      || fn_dnnl_stream_create (&fast->stream, fast->engine,
                                dnnl_stream_default_flags)
             != dnnl_success)
    {
      gd_conv_fast_free (fast);
      return NULL;
    }
  return fast;
}

static void
entry_free (fast_entry *e)
{
  dnnl_primitive_t prims[] = { e->conv, e->src_reorder, e->dst_reorder };
  dnnl_memory_t mems[] = { e->src_plain, e->src,       e->weights, e->bias,
                           e->dst,       e->dst_plain, e->scratch };
  size_t i;

  for (i = 0; i < sizeof prims / sizeof prims[0]; i++)
    if (prims[i] != NULL)
      fn_dnnl_primitive_destroy (prims[i]);
  for (i = 0; i < sizeof mems / sizeof mems[0]; i++)
    if (mems[i] != NULL)
      fn_dnnl_memory_destroy (mems[i]);
}

void
gd_conv_fast_free (gd_conv_fast *fast)
{
  int i;

  if (fast == NULL)
    return;
  for (i = 0; i < fast->n_entries; i++)
    entry_free (&fast->entries[i]);
  free (fast->entries);
  free (fast->src_buf);
  free (fast->dst_buf);
  free (fast->up_buf);
  free (fast->scratch_buf);
  if (fast->stream != NULL)
    fn_dnnl_stream_destroy (fast->stream);
  if (fast->engine != NULL)
    fn_dnnl_engine_destroy (fast->engine);
  free (fast);
}

size_t
gd_conv_fast_bytes (const gd_conv_fast *fast)
{
  return fast == NULL ? 0
                      : fast->src_cap + fast->dst_cap + fast->up_cap
                            + fast->scratch_cap + fast->weight_bytes;
}

/* Grows a shared buffer to at least `bytes` (64-byte aligned). */
static int
grow_buf (void **buf, size_t *cap, size_t bytes)
{
  void *mem = NULL;

  if (bytes <= *cap)
    return 0;
  if (posix_memalign (&mem, 64, bytes) != 0)
    return -1;
  free (*buf);
  *buf = mem;
  *cap = bytes;
  return 0;
}

static int
reorder_create (gd_conv_fast *fast, const dnnl_memory_desc_t *from,
                const dnnl_memory_desc_t *to, int sum, dnnl_primitive_t *out)
{
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_status_t st;

  if (sum)
    {
      if (fn_dnnl_primitive_attr_create (&attr) != dnnl_success)
        return -1;
      if (fn_dnnl_post_ops_create (&po) != dnnl_success
          || fn_dnnl_post_ops_append_sum (po, 1.0f) != dnnl_success
          || fn_dnnl_primitive_attr_set_post_ops (attr, po) != dnnl_success)
        {
          if (po != NULL)
            fn_dnnl_post_ops_destroy (po);
          fn_dnnl_primitive_attr_destroy (attr);
          return -1;
        }
      fn_dnnl_post_ops_destroy (po);
    }
  st = fn_dnnl_reorder_primitive_desc_create (&pd, from, fast->engine, to,
                                              fast->engine, attr);
  if (attr != NULL)
    fn_dnnl_primitive_attr_destroy (attr);
  if (st != dnnl_success)
    return -1;
  st = fn_dnnl_primitive_create (out, pd);
  fn_dnnl_primitive_desc_destroy (pd);
  return st == dnnl_success ? 0 : -1;
}

static int
reorder_run (gd_conv_fast *fast, dnnl_primitive_t r, dnnl_memory_t from,
             dnnl_memory_t to)
{
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };

  return fn_dnnl_primitive_execute (r, fast->stream, 2, args) == dnnl_success
                 && fn_dnnl_stream_wait (fast->stream) == dnnl_success
             ? 0
             : -1;
}

/* The primitive for one shape, its weights reordered once. */
static int
entry_init (gd_conv_fast *fast, fast_entry *e)
{
  const int eh = e->upsample ? 2 * e->h : e->h;
  const int ew = e->upsample ? 2 * e->w : e->w;
  const int pad = e->ksize / 2;
  const int hout = gd_conv2d_out_size (eh, e->ksize, e->stride);
  const int wout = gd_conv2d_out_size (ew, e->ksize, e->stride);
  const dnnl_data_type_t dt = isa_bf16 ? dnnl_bf16 : dnnl_f32;
  dnnl_dims_t src_dims = { 1, e->cin, eh, ew };
  dnnl_dims_t wei_dims = { e->cout, e->cin, e->ksize, e->ksize };
  dnnl_dims_t bias_dims = { e->cout };
  dnnl_dims_t dst_dims = { 1, e->cout, hout, wout };
  dnnl_dims_t strides = { e->stride, e->stride };
  dnnl_dims_t pad_l = { pad, pad };
  dnnl_dims_t pad_r = { 0, 0 };
  dnnl_memory_desc_t src_any, wei_any, bias_md, dst_any, src_plain_md,
      wei_plain_md, dst_plain_md;
  dnnl_convolution_desc_t cd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_t wei_reorder = NULL;
  dnnl_memory_t wei_plain = NULL;
  const dnnl_memory_desc_t *src_md, *wei_md, *dst_md;
  int rc = -1;

  /* PyTorch's padding: the right/bottom padding is what the last window
     needs (stride 2 on an even size needs none). */
  pad_r[0] = (hout - 1) * e->stride + e->ksize - pad - eh;
  pad_r[1] = (wout - 1) * e->stride + e->ksize - pad - ew;
  if (pad_r[0] < 0)
    pad_r[0] = 0;
  if (pad_r[1] < 0)
    pad_r[1] = 0;
  /* One scratchpad for all primitives (ours), not one each (oneDNN's). */
  if (fn_dnnl_primitive_attr_create (&attr) != dnnl_success
      || fn_dnnl_primitive_attr_set_scratchpad_mode (attr,
                                                     dnnl_scratchpad_mode_user)
             != dnnl_success)
    goto done;
  if (e->nhwc && e->accumulate
      && (fn_dnnl_post_ops_create (&po) != dnnl_success
          || fn_dnnl_post_ops_append_sum (po, 1.0f) != dnnl_success
          || fn_dnnl_primitive_attr_set_post_ops (attr, po) != dnnl_success))
    goto done;
  if (fn_dnnl_memory_desc_init_by_tag (
          &src_any, 4, src_dims, dt, e->nhwc ? dnnl_nhwc : dnnl_format_tag_any)
          != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&wei_any, 4, wei_dims, dt,
                                          dnnl_format_tag_any)
             != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&bias_md, 1, bias_dims, dnnl_f32,
                                          dnnl_a)
             != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&dst_any, 4, dst_dims, dnnl_f32,
                                          e->nhwc ? dnnl_nhwc
                                                  : dnnl_format_tag_any)
             != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&src_plain_md, 4, src_dims, dnnl_f32,
                                          dnnl_nchw)
             != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&wei_plain_md, 4, wei_dims, dnnl_f32,
                                          dnnl_oihw)
             != dnnl_success
      || fn_dnnl_memory_desc_init_by_tag (&dst_plain_md, 4, dst_dims, dnnl_f32,
                                          dnnl_nchw)
             != dnnl_success
      || fn_dnnl_convolution_forward_desc_init (
             &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_any,
             &wei_any, &bias_md, &dst_any, strides, pad_l, pad_r)
             != dnnl_success
      || fn_dnnl_primitive_desc_create (&pd, &cd, attr, fast->engine, NULL)
             != dnnl_success)
    goto done;
  src_md = fn_dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0);
  wei_md = fn_dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  dst_md = fn_dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0);
  e->scratch_bytes = fn_dnnl_memory_desc_get_size (
      fn_dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0));
  if (fn_dnnl_memory_create (
          &e->scratch,
          fn_dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0),
          fast->engine, DNNL_MEMORY_NONE)
      != dnnl_success)
    goto done;
  e->src_bytes = fn_dnnl_memory_desc_get_size (src_md);
  e->dst_bytes = fn_dnnl_memory_desc_get_size (dst_md);
  /* Both layouts: the primitive and its four memories; the planar one
     adds its reorders and planar views. */
  if (fn_dnnl_primitive_create (&e->conv, pd) != dnnl_success
      || fn_dnnl_memory_create (&e->src, src_md, fast->engine,
                                DNNL_MEMORY_NONE)
             != dnnl_success
      || fn_dnnl_memory_create (&e->weights, wei_md, fast->engine,
                                DNNL_MEMORY_ALLOCATE)
             != dnnl_success
      || fn_dnnl_memory_create (&e->bias, &bias_md, fast->engine,
                                DNNL_MEMORY_NONE)
             != dnnl_success
      || fn_dnnl_memory_create (&e->dst, dst_md, fast->engine,
                                DNNL_MEMORY_NONE)
             != dnnl_success
      || (!e->nhwc
          && (reorder_create (fast, &src_plain_md, src_md, 0, &e->src_reorder)
                  != 0
              || reorder_create (fast, dst_md, &dst_plain_md, e->accumulate,
                                 &e->dst_reorder)
                     != 0
              || fn_dnnl_memory_create (&e->src_plain, &src_plain_md,
                                        fast->engine, DNNL_MEMORY_NONE)
                     != dnnl_success
              || fn_dnnl_memory_create (&e->dst_plain, &dst_plain_md,
                                        fast->engine, DNNL_MEMORY_NONE)
                     != dnnl_success))
      || fn_dnnl_memory_create (&wei_plain, &wei_plain_md, fast->engine,
                                (void *)e->weight)
             != dnnl_success
      || reorder_create (fast, &wei_plain_md, wei_md, 0, &wei_reorder) != 0
      || reorder_run (fast, wei_reorder, wei_plain, e->weights) != 0)
    goto done;
  fast->weight_bytes += fn_dnnl_memory_desc_get_size (wei_md);
  rc = 0;

done:
  if (po != NULL)
    fn_dnnl_post_ops_destroy (po);
  if (attr != NULL)
    fn_dnnl_primitive_attr_destroy (attr);
  if (wei_reorder != NULL)
    fn_dnnl_primitive_destroy (wei_reorder);
  if (wei_plain != NULL)
    fn_dnnl_memory_destroy (wei_plain);
  if (pd != NULL)
    fn_dnnl_primitive_desc_destroy (pd);
  return rc;
}

static fast_entry *
entry_get (gd_conv_fast *fast, const float *weight, int cin, int h, int w,
           int upsample, int cout, int ksize, int stride, int accumulate,
           int nhwc)
{
  fast_entry *e;
  int i;

  for (i = 0; i < fast->n_entries; i++)
    {
      e = &fast->entries[i];
      if (e->weight == weight && e->cin == cin && e->h == h && e->w == w
          && e->upsample == upsample && e->cout == cout && e->ksize == ksize
          && e->stride == stride && e->accumulate == accumulate
          && e->nhwc == nhwc)
        return e;
    }
  if (fast->n_entries == fast->cap_entries)
    {
      int cap = fast->cap_entries ? 2 * fast->cap_entries : 64;
      fast_entry *grown = realloc (fast->entries, (size_t)cap * sizeof *grown);
      if (grown == NULL)
        return NULL;
      fast->entries = grown;
      fast->cap_entries = cap;
    }
  e = &fast->entries[fast->n_entries];
  memset (e, 0, sizeof *e);
  e->weight = weight;
  e->cin = cin;
  e->h = h;
  e->w = w;
  e->upsample = upsample;
  e->cout = cout;
  e->ksize = ksize;
  e->stride = stride;
  e->accumulate = accumulate;
  e->nhwc = nhwc;
  if (entry_init (fast, e) != 0)
    {
      entry_free (e);
      return NULL;
    }
  fast->n_entries++;
  return e;
}

/* Runs the convolution of e on src and dst (handles set), with the shared
   scratchpad. */
static int
conv_execute (gd_conv_fast *fast, fast_entry *e)
{
  dnnl_exec_arg_t args[5] = {
    { DNNL_ARG_SRC, e->src },
    { DNNL_ARG_WEIGHTS, e->weights },
    { DNNL_ARG_BIAS, e->bias },
    { DNNL_ARG_DST, e->dst },
    { DNNL_ARG_SCRATCHPAD, e->scratch },
  };

  if (grow_buf (&fast->scratch_buf, &fast->scratch_cap,
                e->scratch_bytes ? e->scratch_bytes : 1)
          != 0
      || fn_dnnl_memory_set_data_handle (e->scratch, fast->scratch_buf)
             != dnnl_success)
    return -1;
  return fn_dnnl_primitive_execute (e->conv, fast->stream, 5, args)
                     == dnnl_success
                 && fn_dnnl_stream_wait (fast->stream) == dnnl_success
             ? 0
             : -1;
}

int
gd_conv_fast_run (gd_conv_fast *fast, const float *x, int cin, int h, int w,
                  int upsample, const float *weight, const float *bias,
                  int cout, int ksize, int stride, float *y, int accumulate)
{
  fast_entry *e;
  const float *src = x;

  if (fast == NULL || bias == NULL)
    return -1;
  e = entry_get (fast, weight, cin, h, w, upsample, cout, ksize, stride,
                 accumulate, 0);
  if (e == NULL || grow_buf (&fast->src_buf, &fast->src_cap, e->src_bytes) != 0
      || grow_buf (&fast->dst_buf, &fast->dst_cap, e->dst_bytes) != 0)
    return -1;
  if (upsample)
    {
      size_t bytes = (size_t)cin * 4 * (size_t)h * (size_t)w * sizeof (float);
      if (grow_buf (&fast->up_buf, &fast->up_cap, bytes) != 0)
        return -1;
      gd_upsample_nearest2 (x, cin, h, w, fast->up_buf);
      src = fast->up_buf;
    }
  fn_omp_set_num_threads (gd_threads ());
  if (fn_dnnl_memory_set_data_handle (e->src_plain, (void *)src) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->src, fast->src_buf) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->bias, (void *)bias) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->dst, fast->dst_buf) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->dst_plain, y) != dnnl_success
      || reorder_run (fast, e->src_reorder, e->src_plain, e->src) != 0)
    return -1;
  if (conv_execute (fast, e) != 0)
    return -1;
  return reorder_run (fast, e->dst_reorder, e->dst, e->dst_plain);
}

int
gd_conv_fast_nhwc (gd_conv_fast *fast, const void *act, int cin, int h, int w,
                   const float *weight, const float *bias, int cout, int ksize,
                   int stride, float *y, int accumulate)
{
  fast_entry *e;

  if (fast == NULL || bias == NULL || !isa_bf16)
    return -1;
  e = entry_get (fast, weight, cin, h, w, 0, cout, ksize, stride, accumulate,
                 1);
  if (e == NULL)
    return -1;
  fn_omp_set_num_threads (gd_threads ());
  if (fn_dnnl_memory_set_data_handle (e->src, (void *)act) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->bias, (void *)bias) != dnnl_success
      || fn_dnnl_memory_set_data_handle (e->dst, y) != dnnl_success)
    return -1;
  return conv_execute (fast, e);
}

int
gd_conv_fast_has_nhwc (const gd_conv_fast *fast)
{
  return fast != NULL && isa_bf16;
}

uint16_t *
gd_conv_fast_act_buffer (gd_conv_fast *fast, int which, size_t elems)
{
  /* The per-call path's src and dst buffers (unused by the NHWC path). */
  void **buf = which ? &fast->dst_buf : &fast->src_buf;
  size_t *cap = which ? &fast->dst_cap : &fast->src_cap;

  if (elems > SIZE_MAX / 2 || grow_buf (buf, cap, elems * 2) != 0)
    return NULL;
  return *buf;
}

#endif /* GD_HAVE_ONEDNN */
