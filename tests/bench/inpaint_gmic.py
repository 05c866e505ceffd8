#!/usr/bin/python3
"""G'MIC inpaint_matchpatch on whole Kodak24 images with one of the
benchmark's masks, measured as quality.py measures inpainting (the hole
filled with the mean colour of the known pixels in the input, the output
composited over the original, PSNR in the hole, the texture ratio): the
reference row beside `inpaint_sweep.py --full` on all 24 images, without
quality.py's whole inpaint run.

    nice -n 5 /usr/bin/python3 tests/bench/inpaint_gmic.py --kind objects \\
        --work /tmp/inpaint-gmic

Parameters: quality.py's choice for inpaint_matchpatch (patch 9, 10
iterations a scale, blend 5).  G'MIC's matchpatch is not deterministic.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality as Q  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", default=os.path.join(Q.REPO, "..", "shared",
                                                   "data", "eval"))
    ap.add_argument("--kind", default="objects", choices=Q.MASK_SETS)
    ap.add_argument("--params", default="9,10,5",
                    help="patch_size,iterations_per_scale,blend_size")
    ap.add_argument("--work", default="/tmp/inpaint-gmic")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    folder = os.path.join(args.eval, "Kodak24")
    res = []
    for n in sorted(os.listdir(folder)):
        clean = Q.read_rgb(os.path.join(folder, n)).astype(np.float64)
        h, w = clean.shape[:2]
        mp = Q.mask_path(args.kind, w, h)
        m = np.asarray(Image.open(mp)) > 0
        inp = os.path.join(args.work, "in-" + n)
        out = os.path.join(args.work, "out-" + n)
        Q.write_png8(inp, Q.mean_holed(clean, m))
        subprocess.run(["gmic", "-v", "-1", inp, mp, "inpaint_matchpatch[0]",
                        "[1],0," + args.params, "rm[1]", "round", "cut",
                        "0,255", "-o", out], check=True)
        comp = np.where(m[..., None], Q.quantise(Q.read_rgb(out)), clean)
        ring = Q.ring_of(m)
        tex = Q.laplacian_ratio(comp, m, ring) / Q.laplacian_ratio(clean, m,
                                                                   ring)
        res.append((Q.psnr(clean, comp, m), tex))
        print("%s %s: %.2f dB in the hole, texture %.2f"
              % (Q.stem(n), args.kind, res[-1][0], tex), flush=True)
    print("mean over %d images: %.2f dB in the hole, texture %.2f"
          % (len(res), np.mean([r[0] for r in res]),
             np.mean([r[1] for r in res])))


if __name__ == "__main__":
    main()
