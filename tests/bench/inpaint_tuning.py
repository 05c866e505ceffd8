#!/usr/bin/python3
"""Object removal on photos that are not the evaluation sets: the figures
behind the patch fill's structure scale and inpaint's defaults
(docs/tools.md, "Inpaint defaults"), so that they are not tuned to Kodak24.

    shared/data/train-corpus.sh /tmp/corpus      # Debian's photos (11 s)
    nice -n 5 /usr/bin/python3 tests/bench/inpaint_tuning.py --corpus /tmp/corpus \\
        --configs patchfill,0.03:5

The set: the photos of the corpus's kphotoalbum, palapeli-data and
python3-sklearn packages (not the logo), the longer side scaled to 800
pixels, each with an object-removal mask made as the benchmark's
(make_masks.objects_mask: three blobs of 0.5, 1.5 and 4 %, seed 5000 + its
index; a photo too small for them is left out).  The hole is filled with
the known pixels' mean colour in the input (as quality.py's).  A
configuration is `patchfill` (tests/bench_patchfill alone) or
STRENGTH:STEPS for the CLI's inpaint at its other defaults.  Prints the PSNR
in the hole and the texture ratio (quality.py's) per photo and the means.
"""

import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

import sweep_common

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_masks import objects_mask  # noqa: E402
from quality import laplacian_ratio, ring_of  # noqa: E402

PACKAGES = ("kphotoalbum", "palapeli-data", "python3-sklearn")


def photos(corpus):
    files = []
    for pkg in PACKAGES:
        files += sorted(f for f in glob.glob(os.path.join(corpus, pkg, "*.jpg"))
                        if "logo" not in os.path.basename(f))
    return files


def main():
    ap = sweep_common.parser(__doc__)
    ap.add_argument("--corpus", required=True, help="train-corpus.sh's OUTDIR")
    ap.add_argument("--patchfill", default=os.path.join(sweep_common.REPO, "build",
                                                        "tests", "bench_patchfill"))
    ap.add_argument("--configs", default="patchfill,0.03:5")
    ap.add_argument("--count", type=int, default=0, help="the first N photos only")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    files = photos(args.corpus)
    if not files:
        ap.error("no photos of %s under %s" % (", ".join(PACKAGES), args.corpus))
    configs = args.configs.split(",")
    res = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        inp, mpath, out = (os.path.join(tmp, n) for n in ("in.png", "mask.png", "out.png"))
        for k, f in enumerate(files[:args.count or None]):
            im = Image.open(f).convert("RGB")
            if max(im.size) > 800:
                s = 800.0 / max(im.size)
                im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.LANCZOS)
            w, h = im.size
            try:
                hole = objects_mask(w, h, 5000 + k) > 127
            except ValueError as e:
                print("%s: left out (%s)" % (os.path.basename(f), e), flush=True)
                continue
            clean = np.asarray(im, np.float64)
            x = clean.copy()
            x[hole] = np.round(clean[~hole].mean(axis=0))
            Image.fromarray(x.astype(np.uint8)).save(inp)
            Image.fromarray(hole.astype(np.uint8) * 255).save(mpath)
            ring = ring_of(hole)
            tex0 = laplacian_ratio(clean, hole, ring)
            row = []
            for c in configs:
                if c == "patchfill":
                    cmd = [args.patchfill, inp, mpath, out, str(args.seed)]
                else:
                    strength, steps = c.split(":")
                    cmd = [args.cli, "inpaint", inp, "--mask", mpath, "-o", out,
                           "--model", args.model, "--strength", strength,
                           "--steps", steps, "--seed", str(args.seed), "-q"]
                    if args.threads:
                        cmd += ["--threads", str(args.threads)]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                got = np.asarray(Image.open(out).convert("RGB"), np.float64)
                mse = ((clean - got)[hole] ** 2).mean()
                res[c].append((10 * np.log10(255.0 ** 2 / mse),
                               laplacian_ratio(got, hole, ring) / tex0))
                row.append("%s %.2f / %.2f" % (c, *res[c][-1]))
            print("%s %dx%d: %s" % (os.path.basename(f), w, h, ", ".join(row)), flush=True)
    print("\nmean PSNR in the hole (dB) / texture ratio, seed %d" % args.seed)
    for c in configs:
        a = np.array(res[c])
        print("%-12s %.2f / %.3f (%d photos)" % (c, a[:, 0].mean(), a[:, 1].mean(), len(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
