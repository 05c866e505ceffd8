#!/usr/bin/python3
"""Camera-like noisy photographs from clean images, for the denoise
benchmark (tests/bench/quality.py, its camera rows) and for anyone who
wants the set again: the parameters are in camera_noise.json beside this
script, the seed is fixed, so the same command makes the same files.

    /usr/bin/python3 tests/bench/camera_noise.py \\
        --eval ../shared/data/eval --out ../data/camera-noise

The pipeline, per image (values on 0..1):

1. Unprocess (Brooks, Mildenhall, Xue, Chen, Sharlet, Barron, *Unprocessing
   Images for Learned Raw Denoising*, CVPR 2019): invert the global tone
   curve (smoothstep), the sRGB transfer curve (IEC 61966-2-1), a colour
   correction matrix (a random convex combination of Brooks et al.'s four
   XYZ-to-camera matrices, rows normalised) and the white-balance gains
   (red 1.9-2.4, blue 1.5-1.9), and keep one colour per photosite of an
   RGGB Bayer mosaic.
2. Noise on the mosaic, in linear light: the Poisson-Gaussian model of Foi,
   Trimeche, Katkovnik and Egiazarian (*Practical Poissonian-Gaussian noise
   modeling and fitting for single-image raw-data*, IEEE TIP 2008),
   z = x + sqrt(shot x + read) n with n ~ N(0, 1) (the Gaussian
   approximation of the Poisson part, as Brooks et al.).  shot grows with
   the ISO setting (shot_per_iso100 * ISO / 100, ISO log-uniform over a
   phone's or a camera's range), read follows shot as Brooks et al. fit it
   (log read = 2.18 log shot + 1.2 + N(0, 0.26^2)).  Noise in the red and
   blue channels is amplified by the white balance: it differs per channel.
3. Process again: demosaic (Malvar, He and Cutler 2004, or bilinear), the
   white-balance gains, the CCM, the sRGB curve, the tone curve, 8-bit,
   then JPEG at the profile's quality (85-95) and chroma subsampling.

The reference (clean.png) is the evaluation image itself (cropped to even
sides); the noisy photo is that image plus what the pipeline makes of the
noise, process(noisy mosaic) - process(clean mosaic), rounded to 8 bits and
JPEG-compressed.  So the noise keeps its signal dependence, its per-channel
gains and the demosaic's and the colour matrix's correlations, while the
demosaic's interpolation error on these sharp, downsampled images (a
camera's optics blur before the mosaic) is left out of both.  Outputs per image, in OUT/SET/: STEM_noisy.jpg (what a camera
writes), STEM_noisy.png (its decoded pixels, what the CLI reads),
STEM_clean.png, and OUT/manifest.json with every drawn parameter and the
measured noise (RMS of noisy - clean per channel on 0..255).

Not modelled: in-camera noise reduction and sharpening, lens shading,
hot pixels, row noise.  The generated images stay outside the repository.
"""

import argparse
import hashlib
import io
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PARAMS = os.path.join(HERE, "camera_noise.json")


# ------------------------------------------------------------ the curves

def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v,
                    1.055 * np.power(v, 1.0 / 2.4) - 0.055)


def smoothstep(v):
    v = np.clip(v, 0.0, 1.0)
    return 3.0 * v * v - 2.0 * v * v * v


def inverse_smoothstep(v):
    v = np.clip(v, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * v) / 3.0)


# ---------------------------------------------------------- mosaic, demosaic

def bayer_masks(h, w):
    """RGGB: R at (even, even), B at (odd, odd), G elsewhere."""
    y, x = np.mgrid[0:h, 0:w]
    r = (y % 2 == 0) & (x % 2 == 0)
    b = (y % 2 == 1) & (x % 2 == 1)
    return r, ~(r | b), b


def mosaic(rgb):
    r, g, b = bayer_masks(*rgb.shape[:2])
    return rgb[..., 0] * r + rgb[..., 1] * g + rgb[..., 2] * b


def correlate(img, k):
    """2-D correlation with a small odd kernel; borders mirrored about the
    edge pixel (numpy's 'reflect'), which keeps the Bayer phase: the pad
    pixel at -k repeats the pixel at +k, of the same parity."""
    k = np.asarray(k, np.float64)
    r = k.shape[0] // 2
    p = np.pad(img, r, mode="reflect")
    h, w = img.shape
    out = np.zeros_like(img)
    for j in range(k.shape[0]):
        for i in range(k.shape[1]):
            if k[j, i] != 0.0:
                out += k[j, i] * p[j:j + h, i:i + w]
    return out


def demosaic_bilinear(m):
    h, w = m.shape
    r, g, b = bayer_masks(h, w)
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4.0
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4.0
    return np.stack([correlate(m * r, k_rb), correlate(m * g, k_g),
                     correlate(m * b, k_rb)], axis=-1)


# Malvar, He, Cutler, *High-quality linear interpolation for demosaicing of
# Bayer-patterned color images*, ICASSP 2004: gradient-corrected bilinear.
_G_AT_RB = np.array([[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1],
                     [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]) / 8.0
_RB_AT_G_ROW = np.array([[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0],
                         [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0],
                         [0, 0, 0.5, 0, 0]]) / 8.0
_RB_AT_G_COL = _RB_AT_G_ROW.T
_RB_AT_BR = np.array([[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0],
                      [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0],
                      [0, 0, -1.5, 0, 0]]) / 8.0


def demosaic_malvar(m):
    h, w = m.shape
    y, x = np.mgrid[0:h, 0:w]
    r, g, b = bayer_masks(h, w)
    g_rb = correlate(m, _G_AT_RB)
    rb_row = correlate(m, _RB_AT_G_ROW)   # the colour left and right
    rb_col = correlate(m, _RB_AT_G_COL)   # the colour above and below
    rb_x = correlate(m, _RB_AT_BR)        # the other colour, diagonally
    g_in_r_row = g & (y % 2 == 0)         # G on a red row (blue columns)
    g_in_b_row = g & (y % 2 == 1)
    out = np.empty((h, w, 3))
    out[..., 1] = np.where(g, m, g_rb)
    out[..., 0] = np.where(r, m, np.where(b, rb_x,
                                          np.where(g_in_r_row, rb_row, rb_col)))
    out[..., 2] = np.where(b, m, np.where(r, rb_x,
                                          np.where(g_in_b_row, rb_row, rb_col)))
    return out


DEMOSAIC = {"malvar": demosaic_malvar, "bilinear": demosaic_bilinear}


# ------------------------------------------------------------- the pipeline

def ccm_pair(params, rng):
    """(rgb2cam, cam2rgb) for a random convex combination of the
    XYZ-to-camera matrices (Brooks et al.'s random_ccm)."""
    mats = np.array(params["xyz2cams"], np.float64)
    wts = rng.uniform(1e-8, 1e8, size=len(mats))
    xyz2cam = np.tensordot(wts / wts.sum(), mats, axes=1)
    rgb2cam = xyz2cam @ np.array(params["rgb2xyz"], np.float64)
    rgb2cam /= rgb2cam.sum(axis=1, keepdims=True)
    return rgb2cam, np.linalg.inv(rgb2cam)


def draw(params, key):
    """Every random choice for one image, from the seed and its key."""
    h = hashlib.sha256(("%d/%s" % (params["seed"], key)).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(h[:8], "little"))
    profs = params["profiles"]
    wts = np.array([p["weight"] for p in profs], np.float64)
    prof = profs[int(rng.choice(len(profs), p=wts / wts.sum()))]
    lo, hi = prof["iso"]
    iso = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    shot = prof["shot_per_iso100"] * iso / 100.0
    rf = params["read_from_shot"]
    read = float(np.exp(rf["slope"] * np.log(shot) + rf["intercept"]
                        + rng.normal(0.0, rf["sd"])))
    g = params["wb_gains"]
    gains = [float(rng.uniform(*g["red"])), 1.0, float(rng.uniform(*g["blue"]))]
    qlo, qhi = prof["jpeg_quality"]
    quality = int(rng.integers(qlo, qhi + 1))
    rgb2cam, cam2rgb = ccm_pair(params, rng)
    noise_seed = int(rng.integers(0, 2 ** 63 - 1))
    return {"profile": prof["name"], "iso": round(iso), "shot": shot,
            "read": read, "gains": gains, "jpeg_quality": quality,
            "subsampling": prof["subsampling"], "demosaic": prof["demosaic"],
            "rgb2cam": rgb2cam.tolist(), "cam2rgb": cam2rgb.tolist(),
            "noise_seed": noise_seed}


def process(raw, d):
    """Mosaic -> sRGB (before the JPEG), on 0..255, unrounded."""
    rgb = DEMOSAIC[d["demosaic"]](raw)
    rgb = rgb * np.array(d["gains"])
    rgb = np.clip(rgb, 0.0, 1.0) @ np.array(d["cam2rgb"]).T
    return 255.0 * smoothstep(linear_to_srgb(np.clip(rgb, 0.0, 1.0)))


def make(clean8, d):
    """(noisy JPEG bytes, noisy decoded uint8, reference uint8)."""
    h, w = clean8.shape[:2]
    h, w = h - h % 2, w - w % 2
    ref = np.ascontiguousarray(clean8[:h, :w])
    v = ref.astype(np.float64) / 255.0
    lin = srgb_to_linear(inverse_smoothstep(v))
    cam = lin @ np.array(d["rgb2cam"]).T
    cam = cam / np.array(d["gains"])
    raw = mosaic(np.clip(cam, 0.0, 1.0))
    rng = np.random.default_rng(d["noise_seed"])
    std = np.sqrt(np.maximum(d["shot"] * raw + d["read"], 0.0))
    noisy_raw = raw + std * rng.standard_normal(raw.shape)
    # What the pipeline makes of the noise, added to the clean image: the
    # demosaic's interpolation error (of a sharp, downsampled image; a
    # camera's optics blur before the mosaic) is left out of both.
    noise = process(noisy_raw, d) - process(raw, d)
    noisy8 = np.clip(np.round(v * 255.0 + noise), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy8).save(buf, "JPEG", quality=d["jpeg_quality"],
                                 subsampling=d["subsampling"])
    data = buf.getvalue()
    dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, dec, ref


def list_images(eval_dir, set_name, count):
    d = os.path.join(eval_dir, set_name)
    names = sorted(n for n in os.listdir(d) if n.lower().endswith(".png"))
    if count < len(names):  # spread evenly over the sorted set
        idx = sorted({round(i * (len(names) - 1) / max(count - 1, 1))
                      for i in range(count)})
        names = [names[i] for i in idx]
    return names


def make_one(eval_dir, set_name, name, params, out_dir):
    """Makes one image's files in out_dir (STEM_noisy.jpg, STEM_noisy.png,
    STEM_clean.png); returns its manifest record."""
    stem = os.path.splitext(name)[0]
    d = draw(params, "%s/%s" % (set_name, stem))
    clean8 = np.asarray(Image.open(os.path.join(eval_dir, set_name, name))
                        .convert("RGB"))
    data, dec, ref = make(clean8, d)
    base = os.path.join(out_dir, stem)
    with open(base + "_noisy.jpg", "wb") as f:
        f.write(data)
    Image.fromarray(dec).save(base + "_noisy.png")
    Image.fromarray(ref).save(base + "_clean.png")
    diff = dec.astype(np.float64) - ref
    rms = np.sqrt(np.mean(diff ** 2, axis=(0, 1)))
    mse = np.mean(diff ** 2)
    rec = dict(d, set=set_name, image=stem,
               noise_rms=[round(float(x), 3) for x in rms],
               psnr_noisy=round(10 * np.log10(255.0 ** 2 / mse), 3))
    for k in ("rgb2cam", "cam2rgb"):
        rec[k] = [[round(x, 6) for x in row] for row in rec[k]]
    return rec


def generate(eval_dir, out, params, only=None, verbose=True):
    manifest = {"params_sha256": hashlib.sha256(
        json.dumps(params, sort_keys=True).encode()).hexdigest()[:12],
        "images": []}
    for set_name, spec in params["sets"].items():
        if only and set_name not in only:
            continue
        os.makedirs(os.path.join(out, set_name), exist_ok=True)
        for name in list_images(eval_dir, set_name, spec["count"]):
            rec = make_one(eval_dir, set_name, name, params,
                           os.path.join(out, set_name))
            manifest["images"].append(rec)
            if verbose:
                print("%s/%s: %s ISO %d, q %d, noise RMS %s, PSNR %.2f dB" % (
                    set_name, rec["image"], rec["profile"], rec["iso"],
                    rec["jpeg_quality"],
                    "/".join("%.2f" % x for x in rec["noise_rms"]),
                    rec["psnr_noisy"]), flush=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", default=os.path.join(REPO, "..", "shared", "data",
                                                   "eval"))
    ap.add_argument("--out", required=True,
                    help="output folder (outside the repository)")
    ap.add_argument("--params", default=PARAMS)
    ap.add_argument("--sets", help="comma-separated subset of the sets")
    args = ap.parse_args(argv)
    with open(args.params) as f:
        params = json.load(f)
    if os.path.abspath(args.out).startswith(REPO + os.sep):
        sys.exit("camera_noise.py: write the set outside the repository")
    generate(args.eval, args.out, params,
             args.sets.split(",") if args.sets else None)


if __name__ == "__main__":
    main()
