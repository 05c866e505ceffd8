/* winograd.h: Winograd F(4x4, 3x3) convolutions, the fast path below BF16
 * (internal to the core).
 *
 * 3x3 stride-1 convolutions in FP32 with 4 times fewer multiplies than
 * direct convolution: each 6x6 input tile d and 3x3 kernel g are
 * transformed (V = B^T d B, U = G g G^T, 36 values each), multiplied
 * point by point and summed over input channels (36 GEMMs, M = U V), and
 * transformed back to a 4x4 output tile (Y = A^T M A).  For CPUs whose
 * fast path has no BF16 products (AVX2, AVX-512 without AVX512_BF16):
 * there oneDNN's FP32 kernels measured no faster than the exact path.
 *
 * Kernels are chosen at run time from cpuid: AVX2 + FMA intrinsics, or
 * portable C.  GD_MAX_ISA caps them as it caps conv-fast.h's (avx2 and up
 * allow AVX2; "exact" or an unknown name: no Winograd path).
 *
 * Error: the transforms' constants (up to 8 in A, 5 in B) amplify FP32
 * rounding; the bound tests/test_winograd.c checks is
 *   |y - conv(x)| <= (|A^T|_inf |B^T|_inf |G|_inf)^2 eps_32 sum |w||x|
 *                  = 36100 eps_32 sum |w||x|  (about 2e-3 of sum |w||x|),
 * and the errors seen are near 1e-6 of it (docs/benchmarks/performance.md
 * has the forward pass's deviation from exact).
 *
 * Bits: the tiles are blocked by the layer's shape alone, each output by
 * one fixed sequence of operations, so one kernel variant gives the same
 * bits whatever the thread count; AVX2 and C give other bits than each
 * other (FMA) and than gd_conv2d.
 */
#ifndef GD_WINOGRAD_H
#define GD_WINOGRAD_H

#include <stddef.h>

typedef struct gd_winograd gd_winograd;

/* The kernel variants. */
typedef enum
{
  GD_WINOGRAD_C = 0,   /* portable C */
  GD_WINOGRAD_AVX2 = 1 /* AVX2 + FMA intrinsics */
} gd_winograd_isa;

/* The best variant this CPU runs under GD_MAX_ISA (GD_WINOGRAD_AVX2 or
 * GD_WINOGRAD_C), or -1 when GD_MAX_ISA names no ISA ("exact"). */
int gd_winograd_isa_best (void);

/* What the network runs through this path here: "avx2 winograd", or NULL
 * where the CPU (under the cap) has no AVX2 + FMA: there the portable
 * kernels would be slower than the exact path. */
const char *gd_winograd_kind (void);

/* A cache of transformed weights (keyed by address: it must not outlive
 * them) and the threads' workspace.  NULL for no memory. */
gd_winograd *gd_winograd_new (void);
void gd_winograd_free (gd_winograd *wg);

/* gd_conv2d's contract (ops.h) for ksize 3, stride 1, `upsample` included,
 * with the kernel variant `isa` (one gd_winograd_isa_best allows): 0 on
 * success, -1 when this call cannot run (an ISA this CPU lacks, memory;
 * y untouched: run gd_conv2d).  Threaded over gd_threads ().  Not
 * thread-safe: one call at a time per cache. */
int gd_winograd_conv3x3 (gd_winograd *wg, int isa, const float *x, int cin,
                         int h, int w, int upsample, const float *weight,
                         const float *bias, int cout, float *y, int accumulate);

/* Bytes the cache holds now (for the memory estimates), and about what a
 * layer of cin -> cout channels adds: its transformed weights and, with
 * `threads` threads, their workspace. */
size_t gd_winograd_bytes (const gd_winograd *wg);
size_t gd_winograd_layer_bytes (int cin, int cout, int threads);

#endif /* GD_WINOGRAD_H */
