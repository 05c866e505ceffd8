#!/usr/bin/python3
"""Upscale's kernel and strength against PSNR on Set5: the figures behind
the default kernel (bicubic) and strength (docs/tools.md).

    nice -n 5 /usr/bin/python3 tests/bench/upscale_sweep.py --scale 4 \\
        --configs bicubic:0:1:0,box:0:1:0,bicubic:0.2:5:0.85,bicubic:0.5:5:0.85

Each HR image is cropped at its top-left corner to a multiple of the scale,
the LR made by Pillow's bicubic resize and rounded to 8 bits (as
tests/bench/quality.py does); PSNR on RGB with `scale` pixels shaved.
A config is kernel:strength:steps:eta.
"""

import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

import sweep_common

REPO = sweep_common.REPO


def main():
    ap = sweep_common.parser(__doc__)
    ap.add_argument("--set", default="Set5")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--configs", default="bicubic:0:1:0,box:0:1:0,"
                    "bicubic:0.2:5:0.85,bicubic:0.5:5:0.85")
    args = ap.parse_args()
    s = args.scale
    configs = [c.split(":") for c in args.configs.split(",")]
    folder = os.path.join(args.eval, args.set)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        lr_path, out = os.path.join(tmp, "lr.png"), os.path.join(tmp, "out.png")
        for name in sorted(os.listdir(folder)):
            hr = Image.open(os.path.join(folder, name)).convert("RGB")
            w, h = hr.size
            hr = hr.crop((0, 0, w - w % s, h - h % s))
            lr = hr.resize((hr.width // s, hr.height // s), Image.BICUBIC)
            lr.save(lr_path)
            ref = np.asarray(hr, np.float64)[s:-s, s:-s]

            def psnr(img):
                got = np.asarray(img.convert("RGB"), np.float64)[s:-s, s:-s]
                return 10 * np.log10(255.0 ** 2 / ((ref - got) ** 2).mean())

            res.setdefault("plain bicubic", []).append(
                psnr(lr.resize(hr.size, Image.BICUBIC)))
            for kernel, strength, steps, eta in configs:
                subprocess.run([args.cli, "upscale", lr_path, "-o", out,
                                "--model", args.model, "--scale", str(s),
                                "--kernel", kernel, "--strength", strength,
                                "--steps", steps, "--eta", eta,
                                "--seed", str(args.seed), "-q"], check=True)
                key = "%s, strength %s, %s steps, eta %s" % (kernel, strength,
                                                             steps, eta)
                res.setdefault(key, []).append(psnr(Image.open(out)))
                print("%s %s: %.2f dB" % (name, key, res[key][-1]), flush=True)
    print("\n%s x%d, mean RGB PSNR over %d images" % (args.set, s,
                                                     len(res["plain bicubic"])))
    for key, v in res.items():
        print("| %s | %.2f |" % (key, np.mean(v)))


if __name__ == "__main__":
    main()
