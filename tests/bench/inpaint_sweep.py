#!/usr/bin/python3
"""Inpaint's strength and eta against PSNR inside the hole: the figures
behind the CLI's and the plug-in's inpaint defaults (docs/tools.md).

    nice -n 5 /usr/bin/python3 tests/bench/inpaint_sweep.py \\
        --cli build/core/cli/gimp-diffusion-cli

Centre crops (384 x 256, or 256 x 384) of a few Kodak24 images with the
same crops of the benchmark's masks (tests/bench/masks/), one run per
(strength, eta) with a fixed seed.  Strength 0.001 (t0 = 1) is the smooth
fill itself, denoised once.  Prints one line per run and the means.
"""

import os
import subprocess
import tempfile
import time

import numpy as np
from PIL import Image

import sweep_common

REPO = sweep_common.REPO


def main():
    ap = sweep_common.parser(__doc__)
    ap.add_argument("--images", default="kodim01,kodim05,kodim13,kodim20")
    ap.add_argument("--configs", default="0.001:1,0.3:1,0.5:1,0.5:0,0.7:1,1:1",
                    help="strength:eta pairs")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    configs = [c.split(":") for c in args.configs.split(",")]
    masks_dir = os.path.join(REPO, "tests", "bench", "masks")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.images.split(","):
            img = Image.open(os.path.join(args.eval, "Kodak24", name + ".png")).convert("RGB")
            w, h = img.size
            cw, ch = (384, 256) if w > h else (256, 384)
            box = ((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)
            crop = img.crop(box)
            inp = os.path.join(tmp, "in.png")
            crop.save(inp)
            clean = np.asarray(crop, np.float64)
            for kind in ("box", "strokes"):
                m = Image.open(os.path.join(masks_dir, "%s-%dx%d.png" % (kind, w, h))).convert("L").crop(box)
                mpath = os.path.join(tmp, "mask.png")
                m.save(mpath)
                hole = np.asarray(m) > 127
                for strength, eta in configs:
                    out = os.path.join(tmp, "out.png")
                    t0 = time.time()
                    subprocess.run([args.cli, "inpaint", inp, "--mask", mpath, "-o", out,
                                    "--model", args.model, "--steps", str(args.steps),
                                    "--strength", strength, "--eta", eta,
                                    "--seed", str(args.seed), "-q"], check=True)
                    got = np.asarray(Image.open(out).convert("RGB"), np.float64)
                    mse = ((clean - got)[hole] ** 2).mean()
                    psnr = 10 * np.log10(255.0 ** 2 / mse)
                    res.setdefault((strength, eta, kind), []).append(psnr)
                    print("%s %-7s strength %-5s eta %s: %.2f dB in the hole, %.0f s"
                          % (name, kind, strength, eta, psnr, time.time() - t0), flush=True)
    print("\nmean PSNR in the hole (dB), %d images, %d steps, seed %d"
          % (len(args.images.split(",")), args.steps, args.seed))
    print("| strength | eta | box | strokes |")
    print("| ---: | ---: | ---: | ---: |")
    for strength, eta in configs:
        print("| %s | %s | %.2f | %.2f |" % (
            strength, eta, np.mean(res[(strength, eta, "box")]),
            np.mean(res[(strength, eta, "strokes")])))


if __name__ == "__main__":
    main()
