/* ops.h: the tensor operations of the network (internal to the core).
 *
 * Tensors are planar float32 arrays, C x H x W (channel-major, rows
 * contiguous), batch 1.  Kernels are plain functions (inputs, params, dst);
 * the caller owns every buffer, including the convolution workspace, so the
 * forward pass allocates once.  Programmer errors (sizes that do not fit
 * the buffers given) abort with file:line; nothing here can fail on input.
 */
#ifndef GD_OPS_H
#define GD_OPS_H

#include <stddef.h>

#define GD_NORM_EPS 1e-5f

/* Aborts with file:line when cond is false (programmer errors only). */
#ifndef GD_ASSERT
#define GD_ASSERT(cond)                                                        \
  do                                                                           \
    {                                                                          \
      if (!(cond))                                                             \
        gd_ops_assert_fail (#cond, __FILE__, __LINE__);                        \
    }                                                                          \
  while (0)
#endif

void gd_ops_assert_fail (const char *cond, const char *file, int line)
    __attribute__ ((noreturn));

/* ---------------------------------------------------------------- threads
 * The kernels split their work over up to gd_threads () threads, forked
 * and joined within each call (no pool outlives a call).  OpenBLAS must
 * then run single-threaded: the callers of the kernels see to it. */

#define GD_MAX_THREADS 64

/* Sets the thread count (n <= 0: the online cores). */
void gd_threads_set (int n);
int gd_threads (void);

typedef void (*gd_task_fn) (void *ctx, int index, int count);

/* Runs fn (ctx, i, count) for i in 0..count-1, each on its own thread (i = 0
 * on the caller's), and returns when all are done.  If a thread cannot be
 * started its share runs on the caller's. */
void gd_parallel_run (gd_task_fn fn, void *ctx, int count);

/* ---------------------------------------------------------------- kernels */

/* Output size of a convolution with padding ksize/2. */
int gd_conv2d_out_size (int in_size, int ksize, int stride);

/* OpenBLAS runs on the calling thread only (the kernels fork their own):
 * every BLAS call goes through this first, so that no result depends on
 * the thread state another call left behind. */
void gd_blas_single_thread (void);

/* A convolution's sgemm covers a fixed chunk of output rows: about this
 * many floats of im2col columns (1 MiB: they and OpenBLAS's packed copy
 * stay in a core's L2 cache), at least one row; 1x1 convolutions about
 * GD_CONV_DIRECT_PIXELS pixels.  The chunks depend on the layer's shape
 * alone, so a convolution gives the same bits whatever the workspace or
 * the thread count. */
#define GD_CONV_CHUNK_FLOATS ((size_t)1 << 18)
#define GD_CONV_DIRECT_PIXELS ((size_t)8192)

/* Floats of im2col workspace to give gd_conv2d for an output of
 * hout x wout with the current thread count: one chunk per thread (fewer
 * only limits the threads).  0 for 1x1 convolutions, which need none. */
size_t gd_conv2d_col_floats (int cin, int ksize, int stride, int hout,
                             int wout);

/* 2-D convolution, padding ksize/2 with zeros (PyTorch Conv2d, padding=1
 * for 3x3, 0 for 1x1), ksize 1 or 3, stride 1 or 2.
 *   x: cin x h x w; weight: cout x cin x ksize x ksize (PyTorch layout);
 *   bias: cout floats or NULL; y: cout x hout x wout.
 * If `upsample` is non-zero the input is first upsampled x2 (nearest):
 * the convolution reads x as if it were cin x 2h x 2w (the fused form of
 * nearest-x2 followed by this convolution).
 * If `accumulate` is non-zero y += conv(x) + bias, else y = conv(x) + bias.
 * col: workspace of col_floats floats, at least one chunk's (any value;
 * NULL allowed for 1x1); gd_conv2d_col_floats (...) runs every thread.
 * The result does not depend on col_floats or on the thread count. */
void gd_conv2d (const float *x, int cin, int h, int w, int upsample,
                const float *weight, const float *bias, int cout, int ksize,
                int stride, float *y, int accumulate, float *col,
                size_t col_floats);

/* Per-pixel LayerNorm over channels (ChannelNorm): at each pixel,
 * y = (x - mean_c) / sqrt(var_c + GD_NORM_EPS) * weight[c] + bias[c].
 * x: c x n_pixels.  y may equal x. */
void gd_channel_norm (const float *x, int c, size_t n_pixels,
                      const float *weight, const float *bias, float *y);

/* silu(channel_norm(x)), fused.  y may equal x. */
void gd_channel_norm_silu (const float *x, int c, size_t n_pixels,
                           const float *weight, const float *bias, float *y);

/* y = x * sigmoid(x), n values.  y may equal x. */
void gd_silu (const float *x, size_t n, float *y);

/* y = weight x + bias; weight: n_out x n_in (PyTorch Linear layout). */
void gd_linear (const float *x, int n_in, const float *weight,
                const float *bias, int n_out, float *y);

/* Nearest-neighbour x2: x: c x h x w -> y: c x 2h x 2w. */
void gd_upsample_nearest2 (const float *x, int c, int h, int w, float *y);

/* Channel concatenation: y = [a; b], a: ca x n_pixels, b: cb x n_pixels. */
void gd_concat (const float *a, int ca, const float *b, int cb, size_t n_pixels,
                float *y);

/* y += x, n values. */
void gd_add_inplace (float *y, const float *x, size_t n);

/* Sinusoidal timestep embedding of dim values (dim even), as model.py:
 * half = dim/2, freq_i = exp(-ln(10000) i / half), [cos(t freq), sin(t freq)],
 * computed in float32 like PyTorch. */
void gd_timestep_embedding (double t, int dim, float *out);

/* Edge-replication padding to the right and bottom:
 * x: c x h x w -> y: c x ph x pw (ph >= h, pw >= w). */
void gd_pad_replicate (const float *x, int c, int h, int w, int ph, int pw,
                       float *y);

/* Top-left crop: x: c x ph x pw -> y: c x h x w. */
void gd_crop (const float *x, int c, int ph, int pw, int h, int w, float *y);

#endif /* GD_OPS_H */
