#!/usr/bin/python3
"""Inpaint's start, strength, eta and steps against PSNR and the texture
ratio inside the hole: the figures behind the CLI's and the plug-in's
inpaint defaults (docs/tools.md).

    nice -n 5 /usr/bin/python3 tests/bench/inpaint_sweep.py \\
        --cli build/core/cli/gimp-diffusion-cli

Centre crops (384 x 256, or 256 x 384; --full: the whole image) of a few
Kodak24 images with the same crops of the benchmark's masks
(tests/bench/masks/), one run per configuration with a fixed seed.  A
configuration is strength:eta[:fill[:steps]]; strength 0.001 (t0 = 1) is
the fill itself, denoised once.  Prints one line per run and the means:
PSNR in the hole (dB) and the texture ratio (quality.py's: the hole's
Laplacian RMS over its 12-pixel ring's, over the same in the original).
"""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import sweep_common

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quality import laplacian_ratio, ring_of  # noqa: E402

REPO = sweep_common.REPO


def main():
    ap = sweep_common.parser(__doc__)
    ap.add_argument("--images", default="kodim01,kodim05,kodim13,kodim20")
    ap.add_argument("--configs", default="0.001:1,0.3:1,0.5:1,0.5:0,0.7:1,1:1",
                    help="strength:eta[:fill[:steps]] (fill: patch or "
                         "smooth; default the CLI's)")
    ap.add_argument("--kinds", default="box,strokes")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--full", action="store_true",
                    help="whole images instead of centre crops")
    args = ap.parse_args()
    configs = [c.split(":") for c in args.configs.split(",")]
    kinds = args.kinds.split(",")
    masks_dir = os.path.join(REPO, "tests", "bench", "masks")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.images.split(","):
            img = Image.open(os.path.join(args.eval, "Kodak24", name + ".png")).convert("RGB")
            w, h = img.size
            cw, ch = (w, h) if args.full else (384, 256) if w > h else (256, 384)
            box = ((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)
            crop = img.crop(box)
            inp = os.path.join(tmp, "in.png")
            crop.save(inp)
            clean = np.asarray(crop, np.float64)
            for kind in kinds:
                m = Image.open(os.path.join(masks_dir, "%s-%dx%d.png" % (kind, w, h))).convert("L").crop(box)
                mpath = os.path.join(tmp, "mask.png")
                m.save(mpath)
                hole = np.asarray(m) > 127
                if not hole.any():
                    continue
                ring = ring_of(hole)
                tex0 = laplacian_ratio(clean, hole, ring)
                for cfg in configs:
                    strength, eta = cfg[0], cfg[1]
                    extra = ["--fill", cfg[2]] if len(cfg) > 2 and cfg[2] else []
                    steps = cfg[3] if len(cfg) > 3 else str(args.steps)
                    out = os.path.join(tmp, "out.png")
                    t0 = time.time()
                    subprocess.run([args.cli, "inpaint", inp, "--mask", mpath, "-o", out,
                                    "--model", args.model, "--steps", steps,
                                    "--strength", strength, "--eta", eta,
                                    "--seed", str(args.seed), "-q"] + extra, check=True)
                    got = np.asarray(Image.open(out).convert("RGB"), np.float64)
                    mse = ((clean - got)[hole] ** 2).mean()
                    psnr = 10 * np.log10(255.0 ** 2 / mse)
                    tex = laplacian_ratio(got, hole, ring) / tex0
                    key = (":".join(cfg), kind)
                    res.setdefault(key, []).append((psnr, tex))
                    print("%s %-7s %-16s: %.2f dB in the hole, texture %.2f, %.0f s"
                          % (name, kind, ":".join(cfg), psnr, tex, time.time() - t0),
                          flush=True)
    print("\nmean PSNR in the hole (dB) / texture ratio, %d images, %d steps "
          "unless given, seed %d" % (len(args.images.split(",")), args.steps, args.seed))
    print("| strength:eta:fill:steps | %s |" % " | ".join(kinds))
    print("| --- | %s |" % " | ".join("---:" for _ in kinds))
    for cfg in configs:
        k = ":".join(cfg)
        print("| %s | %s |" % (k, " | ".join(
            "%.2f / %.2f" % tuple(np.mean(res[(k, kind)], axis=0))
            if (k, kind) in res else "—" for kind in kinds)))


if __name__ == "__main__":
    main()
