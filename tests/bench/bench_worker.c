/* bench_worker.c: one implementation of tests/bench/bench_all.py's
 * alternating benchmark, as a process that times passes on request.
 *
 * Usage:
 *   bench_worker net MODEL SIZE THREADS exact|fast IN.f32 OUT.f32
 *   bench_worker sgemm N THREADS        (OpenBLAS sgemm N^3, FP32)
 *   bench_worker bf16 THREADS           (AVX512_BF16 vdpbf16ps loop)
 *   bench_worker amx THREADS            (AMX tdpbf16ps loop)
 *
 * net: loads MODEL, reads the input (C x SIZE x SIZE floats, planar, in
 * [-1, 1]) from IN.f32, runs one pass at t = 500 (primitives, workspace)
 * and writes its eps to OUT.f32 for the driver to compare.  The others
 * time one loop of known work.  Each then prints one line of JSON
 * ({"ready": ..., "flop": FLOP of one run}) and reads commands from stdin:
 *   run N    times N runs; prints {"times": [...], "cpu": [...]} (net adds
 *            "conv": seconds in convolutions of each pass)
 *   quit     exits
 * Peak resident memory is read by the driver from /proc/PID/status.
 */
#include "gimp-diffusion.h"
#include "model.h"
#include "bench_flops.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 11
#include <immintrin.h>
#define HAVE_X86_PEAKS 1
#endif

void openblas_set_num_threads (int num_threads);

static double
clock_seconds (clockid_t id)
{
  struct timespec ts;

  clock_gettime (id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One timed unit of work of the worker's kind; CONV (may be NULL) gets
 * the seconds spent in convolutions. */
typedef int (*run_fn) (void *ctx, double *conv);

static int
serve (run_fn run, void *ctx)
{
  char line[128];

  while (fgets (line, sizeof line, stdin) != NULL)
    {
      int n, i;
      double *t, *c, *conv;

      if (strncmp (line, "quit", 4) == 0)
        return 0;
      if (sscanf (line, "run %d", &n) != 1 || n < 1 || n > 1000)
        {
          fprintf (stderr, "bench_worker: bad command: %s", line);
          return 2;
        }
      t = malloc (3 * (size_t)n * sizeof *t);
      if (t == NULL)
        return 1;
      c = t + n;
      conv = c + n;
      for (i = 0; i < n; i++)
        {
          double t0 = clock_seconds (CLOCK_MONOTONIC);
          double c0 = clock_seconds (CLOCK_PROCESS_CPUTIME_ID);

          conv[i] = -1;
          if (run (ctx, &conv[i]) != 0)
            return 1;
          t[i] = clock_seconds (CLOCK_MONOTONIC) - t0;
          c[i] = clock_seconds (CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
      printf ("{\"times\": [");
      for (i = 0; i < n; i++)
        printf ("%s%.6f", i ? ", " : "", t[i]);
      printf ("], \"cpu\": [");
      for (i = 0; i < n; i++)
        printf ("%s%.6f", i ? ", " : "", c[i]);
      printf ("], \"conv\": [");
      for (i = 0; i < n; i++)
        printf ("%s%.6f", i ? ", " : "", conv[i]);
      printf ("]}\n");
      fflush (stdout);
      free (t);
    }
  return 0;
}

/* The network. */

typedef struct
{
  gd_model *model;
  int size;
  float *x, *eps;
} net_ctx;

static int
net_run (void *ctx_, double *conv)
{
  net_ctx *ctx = ctx_;
  gd_error err;
  double total;

  gd_error_clear (&err);
  gd_model_profile_reset (ctx->model);
  if (gd_model_eps (ctx->model, ctx->x, ctx->size, ctx->size, 500.0, ctx->eps,
                    &err)
      != GD_OK)
    {
      fprintf (stderr, "bench_worker: %s\n", err.message);
      return 1;
    }
  gd_model_profile_get (ctx->model, conv, &total);
  return 0;
}

static int
net_main (int argc, char **argv)
{
  net_ctx ctx;
  gd_error err;
  const gd_model_info *info;
  size_t n;
  FILE *f;
  double conv;
  int threads;

  if (argc != 8)
    return 2;
  ctx.size = atoi (argv[3]);
  threads = atoi (argv[4]);
  if (ctx.size < 1 || threads < 1)
    return 2;
  gd_set_threads (threads);
  gd_error_clear (&err);
  ctx.model = gd_model_load (argv[2], &err);
  if (ctx.model == NULL)
    {
      fprintf (stderr, "bench_worker: %s\n", err.message);
      return 1;
    }
  if (strcmp (argv[5], "exact") == 0)
    gd_model_set_precision (ctx.model, GD_PRECISION_EXACT);
  else if (strcmp (argv[5], "fast") == 0)
    gd_model_set_precision (ctx.model, GD_PRECISION_FAST);
  else
    return 2;
  info = gd_model_get_info (ctx.model);
  n = (size_t)info->in_channels * ctx.size * ctx.size;
  ctx.x = malloc (n * sizeof *ctx.x);
  ctx.eps = malloc (n * sizeof *ctx.eps);
  f = fopen (argv[6], "rb");
  if (ctx.x == NULL || ctx.eps == NULL || f == NULL
      || fread (ctx.x, sizeof *ctx.x, n, f) != n)
    {
      fprintf (stderr, "bench_worker: cannot read %s\n", argv[6]);
      return 1;
    }
  fclose (f);
  if (net_run (&ctx, &conv) != 0)
    return 1;
  f = fopen (argv[7], "wb");
  if (f == NULL || fwrite (ctx.eps, sizeof *ctx.eps, n, f) != n
      || fclose (f) != 0)
    {
      fprintf (stderr, "bench_worker: cannot write %s\n", argv[7]);
      return 1;
    }
  printf ("{\"ready\": \"%s\", \"fast_path\": \"%s\", \"flop\": %.6g}\n",
          argv[5], gd_fast_path_kind () ? gd_fast_path_kind () : "none",
          conv_flops (info, ctx.size));
  fflush (stdout);
  return serve (net_run, &ctx);
}

/* OpenBLAS sgemm, N x N x N. */

typedef struct
{
  int n;
  float *a, *b, *c;
} sgemm_ctx;

static int
sgemm_run (void *ctx_, double *conv)
{
  sgemm_ctx *ctx = ctx_;

  (void)conv;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, ctx->n, ctx->n,
               ctx->n, 1.0f, ctx->a, ctx->n, ctx->b, ctx->n, 0.0f, ctx->c,
               ctx->n);
  return 0;
}

static int
sgemm_main (int argc, char **argv)
{
  sgemm_ctx ctx;
  size_t nn, i;

  if (argc != 4)
    return 2;
  ctx.n = atoi (argv[2]);
  if (ctx.n < 1 || atoi (argv[3]) < 1)
    return 2;
  openblas_set_num_threads (atoi (argv[3]));
  nn = (size_t)ctx.n * ctx.n;
  ctx.a = malloc (3 * nn * sizeof *ctx.a);
  if (ctx.a == NULL)
    return 1;
  ctx.b = ctx.a + nn;
  ctx.c = ctx.b + nn;
  for (i = 0; i < 3 * nn; i++)
    ctx.a[i] = (float)(i % 17) * 0.01f - 0.08f;
  sgemm_run (&ctx, NULL);
  printf ("{\"ready\": \"sgemm\", \"flop\": %.6g}\n",
          2.0 * ctx.n * (double)ctx.n * ctx.n);
  fflush (stdout);
  return serve (sgemm_run, &ctx);
}

/* BF16 dot-product loops, one per thread, on registers only: the
 * instructions' throughput, what the convolutions' kernels can reach at
 * best. */

#define PEAK_ITERS 10000000L

typedef struct
{
  int kind; /* 0: vdpbf16ps, 1: AMX tdpbf16ps */
  int threads;
  double flop;
  volatile float sink;
} peak_ctx;

#ifdef HAVE_X86_PEAKS
/* 12 independent accumulators of 16 floats (named, to stay in registers);
 * each vdpbf16ps does 16 x 2 multiply-adds (64 FLOP). */
__attribute__ ((target ("avx512f,avx512bf16"))) static float
bf16_loop (long iters)
{
  __m512bh a = (__m512bh)_mm512_set1_epi16 (0x3f80); /* 1.0 */
  __m512bh b = (__m512bh)_mm512_set1_epi16 (0x3800); /* 2^-15 */
  __m512 c0 = _mm512_setzero_ps (), c1 = c0, c2 = c0, c3 = c0, c4 = c0;
  __m512 c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  long it;

  for (it = 0; it < iters; it++)
    {
      c0 = _mm512_dpbf16_ps (c0, a, b);
      c1 = _mm512_dpbf16_ps (c1, a, b);
      c2 = _mm512_dpbf16_ps (c2, a, b);
      c3 = _mm512_dpbf16_ps (c3, a, b);
      c4 = _mm512_dpbf16_ps (c4, a, b);
      c5 = _mm512_dpbf16_ps (c5, a, b);
      c6 = _mm512_dpbf16_ps (c6, a, b);
      c7 = _mm512_dpbf16_ps (c7, a, b);
      c8 = _mm512_dpbf16_ps (c8, a, b);
      c9 = _mm512_dpbf16_ps (c9, a, b);
      c10 = _mm512_dpbf16_ps (c10, a, b);
      c11 = _mm512_dpbf16_ps (c11, a, b);
    }
  c0 = _mm512_add_ps (
      _mm512_add_ps (_mm512_add_ps (c0, c1), _mm512_add_ps (c2, c3)),
      _mm512_add_ps (_mm512_add_ps (c4, c5), _mm512_add_ps (c6, c7)));
  c0 = _mm512_add_ps (
      c0, _mm512_add_ps (_mm512_add_ps (c8, c9), _mm512_add_ps (c10, c11)));
  return _mm512_reduce_add_ps (c0);
}

/* AMX: four accumulator tiles of 16 x 16 floats, each tdpbf16ps
 * 16 x 16 x 32 multiply-adds (16384 FLOP). */
struct amx_config
{
  unsigned char palette, start_row, reserved[14];
  unsigned short colsb[16];
  unsigned char rows[16];
};

__attribute__ ((target ("amx-tile,amx-bf16"))) static float
amx_loop (long iters)
{
  static const unsigned short zero[16 * 32];
  float out[16 * 16];
  struct amx_config cfg;
  long it;
  int k;

  memset (&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (k = 0; k < 8; k++)
    cfg.colsb[k] = 64, cfg.rows[k] = 16;
  _tile_loadconfig (&cfg);
  _tile_zero (0);
  _tile_zero (1);
  _tile_zero (2);
  _tile_zero (3);
  _tile_loadd (4, zero, 64);
  _tile_loadd (5, zero, 64);
  _tile_loadd (6, zero, 64);
  _tile_loadd (7, zero, 64);
  for (it = 0; it < iters; it++)
    {
      _tile_dpbf16ps (0, 4, 6);
      _tile_dpbf16ps (1, 4, 7);
      _tile_dpbf16ps (2, 5, 6);
      _tile_dpbf16ps (3, 5, 7);
    }
  _tile_stored (0, out, 64);
  _tile_release ();
  return out[0];
}
#endif

static long
peak_iters (int kind)
{
  return kind == 0 ? PEAK_ITERS : PEAK_ITERS / 8;
}

static void *
peak_thread (void *ctx_)
{
  peak_ctx *ctx = ctx_;

#ifdef HAVE_X86_PEAKS
  ctx->sink
      = ctx->kind == 0 ? bf16_loop (peak_iters (0)) : amx_loop (peak_iters (1));
#endif
  return NULL;
}

static int
peak_run (void *ctx_, double *conv)
{
  peak_ctx *ctx = ctx_;
  pthread_t tid[64];
  peak_ctx each[64];
  int i;

  (void)conv;
  for (i = 0; i < ctx->threads; i++)
    {
      each[i] = *ctx;
      if (pthread_create (&tid[i], NULL, peak_thread, &each[i]) != 0)
        return 1;
    }
  for (i = 0; i < ctx->threads; i++)
    pthread_join (tid[i], NULL);
  return 0;
}

static int
peak_main (int argc, char **argv)
{
  peak_ctx ctx;

  if (argc != 3)
    return 2;
  memset (&ctx, 0, sizeof ctx);
  ctx.kind = strcmp (argv[1], "amx") == 0;
  ctx.threads = atoi (argv[2]);
  if (ctx.threads < 1 || ctx.threads > 64)
    return 2;
#ifdef HAVE_X86_PEAKS
  __builtin_cpu_init ();
  if (ctx.kind == 0 && !__builtin_cpu_supports ("avx512bf16"))
    {
      fprintf (stderr, "bench_worker: this CPU has no AVX512_BF16\n");
      return 3;
    }
  if (ctx.kind == 1)
    {
      /* Linux hands out the AMX tile state on request
       * (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); it fails without AMX. */
      if (syscall (SYS_arch_prctl, 0x1023, 18) != 0)
        {
          fprintf (stderr, "bench_worker: no AMX here\n");
          return 3;
        }
    }
#else
  fprintf (stderr, "bench_worker: BF16 peaks need x86-64 and GCC 11+\n");
  return 3;
#endif
  ctx.flop = (double)ctx.threads * peak_iters (ctx.kind)
             * (ctx.kind == 0 ? 12 * 64.0 : 4 * 16384.0);
  peak_run (&ctx, NULL);
  printf ("{\"ready\": \"%s\", \"flop\": %.6g}\n", argv[1], ctx.flop);
  fflush (stdout);
  return serve (peak_run, &ctx);
}

int
main (int argc, char **argv)
{
  int rc = 2;

  if (argc >= 2 && strcmp (argv[1], "net") == 0)
    rc = net_main (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "sgemm") == 0)
    rc = sgemm_main (argc, argv);
  else if (argc >= 2
           && (strcmp (argv[1], "bf16") == 0 || strcmp (argv[1], "amx") == 0))
    rc = peak_main (argc, argv);
  if (rc == 2)
    fprintf (stderr,
             "usage: %s net MODEL SIZE THREADS exact|fast IN.f32 OUT.f32\n"
             "       %s sgemm N THREADS | bf16 THREADS | amx THREADS\n",
             argv[0], argv[0]);
  return rc;
}
