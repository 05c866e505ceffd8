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
 */
#ifndef GD_CONV_FAST_H
#define GD_CONV_FAST_H

#include <stddef.h>

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

/* Bytes of buffers the cache holds now (for the memory estimates). */
size_t gd_conv_fast_bytes (const gd_conv_fast *fast);

#endif /* GD_CONV_FAST_H */
