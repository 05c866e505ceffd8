"""The antialiased bicubic downscale that upscale keeps its result
consistent with (Pillow's BICUBIC resize, MATLAB's imresize), written here
from its definition for the end-to-end tests, and checked against Pillow
itself when Pillow is there."""

import numpy as np


def _cubic(x, a=-0.5):
    x = abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def matrix(n_in, n_out):
    """n_out x n_in: pixel centres aligned, the kernel widened by
    n_in / n_out when shrinking, taps cut at the edges, rows summing to 1."""
    scale = n_in / n_out
    fs = max(scale, 1.0)
    support = 2.0 * fs
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo = max(0, int(centre - support + 0.5))
        hi = min(n_in, int(centre + support + 0.5))
        w = np.array([_cubic((x - centre + 0.5) / fs) for x in range(lo, hi)])
        m[i, lo:hi] = w / w.sum()
    return m


def down(img, s):
    """H x W x C (float) downscaled s times."""
    h, w = img.shape[:2]
    my, mx = matrix(h, h // s), matrix(w, w // s)
    return np.einsum("ij,jkc,lk->ilc", my, img.astype(np.float64), mx)


def check_against_pillow():
    """The largest difference to Pillow's float resize, or None without
    Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return None
    rng = np.random.default_rng(5)
    img = rng.random((24, 40)).astype(np.float32)
    ours = down(img[..., None], 4)[..., 0]
    theirs = np.asarray(Image.fromarray(img, mode="F").resize(
        (10, 6), Image.BICUBIC), np.float64)
    return float(np.abs(ours - theirs).max())
