/* conv-fast.h: the fast path of the convolutions (internal to the core).
 *
 * oneDNN's convolutions, with the kernels chosen at run time from the
 * CPU's features (cpuid): BF16 products with FP32 accumulation where the
 * CPU has them (AMX, AVX512_BF16), FP32 JIT kernels below (AVX-512, AVX2).
 * GD_MAX_ISA caps the ISA (avx2, avx512, avx512_bf16, amx; unset: the
 * best), as oneDNN's DNNL_MAX_CPU_ISA does.  The exact path (ops.h's
 * gd_conv2d, FP32 through OpenBLAS, golden-tested against PyTorch) stays
 * the reference and the fallback: every call here may fail (no oneDNN in
 * the build, an ISA it has no kernel for, memory), and the caller then
 * runs gd_conv2d.
 *
 * Bits: the same call gives the same bits run after run on one CPU and ISA
 * cap (oneDNN's kernels split no sum over threads); other ISAs give other
 * bits, within the deviation docs/benchmarks/performance.md measures.
 *
 * The network uses this file only where it has BF16 kinds (the NHWC pass):
 * its FP32 kinds, with a reorder in and out of each convolution, measured
 * slower than the exact path, so below BF16 the fast precision runs the
 * 3x3 stride-1 convolutions through winograd.h instead (AVX2 + FMA) and
 * the others exact.  gd_conv_fast_run stays tested under each cap.
 */
#ifndef GD_CONV_FAST_H
#define GD_CONV_FAST_H

#include <stddef.h>
#include <stdint.h>

typedef struct gd_conv_fast gd_conv_fast;

/* What the fast path runs on this CPU under the cap: e.g. "amx bf16",
 * "avx512_bf16 bf16", "avx512 fp32", "avx2 fp32"; NULL when there is no
 * fast path (no oneDNN in this build, or a CPU below AVX2). */
const char *gd_conv_fast_kind (void);

/* A cache of primitives and reordered weights, one per model (weights are
 * keyed by address, so the cache must not outlive them).  NULL when there
 * is no fast path or no memory. */
gd_conv_fast *gd_conv_fast_new (void);
void gd_conv_fast_free (gd_conv_fast *fast);

/* gd_conv2d's contract (ops.h) without the im2col workspace: 0 on success,
 * -1 when the fast path cannot run this call (y untouched: run gd_conv2d).
 * Not thread-safe: one forward pass at a time per cache. */
int gd_conv_fast_run (gd_conv_fast *fast, const float *x, int cin, int h, int w,
                      int upsample, const float *weight, const float *bias,
                      int cout, int ksize, int stride, float *y,
                      int accumulate);

/* The NHWC path (BF16 kinds only; gd_conv_fast_has_nhwc): activations
 * stay FP32 NHWC between layers, each convolution reads BF16 NHWC `act`
 * (written by the fused kernels below) and writes (accumulate: adds to)
 * FP32 NHWC y, with no reorder.  No upsampling (the caller's act is the
 * upsampled input).  0, or -1 when it cannot run (then nothing is
 * written). */
int gd_conv_fast_has_nhwc (const gd_conv_fast *fast);
int gd_conv_fast_nhwc (gd_conv_fast *fast, const void *act, int cin, int h,
                       int w, const float *weight, const float *bias, int cout,
                       int ksize, int stride, float *y, int accumulate);

/* BF16 buffer `which` (0 or 1) of at least `elems` values, owned by the
 * cache (reused by every call; growing it moves it), or NULL. */
uint16_t *gd_conv_fast_act_buffer (gd_conv_fast *fast, int which, size_t elems);

/* ---- the NHWC path's kernels (threaded, gd_threads ()).  BF16 values
 * are FP32 rounded to nearest even (NaN kept NaN). */

/* act = bf16 (x), n values. */
void gd_nhwc_to_bf16 (const float *x, size_t n, uint16_t *act);

/* act = bf16 (silu (channel_norm (x))): x c x n_pixels NHWC. */
void gd_nhwc_norm_silu_bf16 (const float *x, int c, size_t n_pixels,
                             const float *weight, const float *bias,
                             uint16_t *act);

/* The same on the concatenation [a; b] along channels (b NULL: a alone)
 * without forming it; raw (may be NULL) gets bf16 ([a; b]). */
void gd_nhwc_cat_norm_silu_bf16 (const float *a, int ca, const float *b, int cb,
                                 size_t n_pixels, const float *weight,
                                 const float *bias, uint16_t *act,
                                 uint16_t *raw);

/* act (c x 2h x 2w NHWC) = bf16 (nearest x2 of x (c x h x w NHWC)). */
void gd_nhwc_upsample2_bf16 (const float *x, int c, int h, int w,
                             uint16_t *act);

/* y = [a; b] along channels, NHWC: a ca x n_pixels, b cb x n_pixels. */
void gd_nhwc_concat (const float *a, int ca, const float *b, int cb,
                     size_t n_pixels, float *y);

/* act = bf16 (x) transposed: planar c x n_pixels to NHWC. */
void gd_planar_to_nhwc_bf16 (const float *x, int c, size_t n_pixels,
                             uint16_t *act);

/* Planar (c x n_pixels) to NHWC and back. */
void gd_planar_to_nhwc (const float *x, int c, size_t n_pixels, float *y);
void gd_nhwc_to_planar (const float *x, int c, size_t n_pixels, float *y);

/* Bytes of buffers the cache holds now (for the memory estimates). */
size_t gd_conv_fast_bytes (const gd_conv_fast *fast);

#endif /* GD_CONV_FAST_H */
