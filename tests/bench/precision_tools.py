#!/usr/bin/python3
"""Each tool at its CLI defaults, exact against fast, on several eval
images per tool: the PSNR of every fast result against its exact one (over
the image, and in the hole for inpaint), the largest difference, and the
wall time of both (docs/benchmarks/performance.md, "Quality of the fast
path").  Issue 15's rule: every tool at 40 dB or more against exact.

    nice -n 5 /usr/bin/python3 tests/bench/precision_tools.py \\
        --eval ../shared/data/eval --work /tmp/precision-tools

Tools and images (--tools, --count to shorten):
  denoise  CBSD68, Gaussian noise of sigma 25 (seeded), the CLI's defaults
  upscale  Set5 x4 (box-downsampled, cut to a multiple of 4)
  inpaint  Kodak24 with the benchmark's box, strokes and objects masks
           (tests/bench/masks/)
  img2img  CBSD68 (clean), the defaults (strength 0.3)
Exits 1 when a result is under 40 dB against its exact one.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

IMAGES = {
    "denoise": ("CBSD68", ["101085", "157055", "229036", "351093"]),
    "upscale": ("Set5", ["baby", "bird", "butterfly", "head", "woman"]),
    "inpaint": ("Kodak24", ["kodim01", "kodim05", "kodim08", "kodim13",
                            "kodim20", "kodim23"]),
    "img2img": ("CBSD68", ["101085", "157055", "229036", "351093"]),
}
MASKS = ("box", "strokes", "objects")


def psnr(a, b, where=None):
    d = (a - b) if where is None else (a - b)[where]
    mse = float((d ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def find(eval_dir, subset, stem):
    for ext in (".png", ".bmp", ".jpg", ".tif"):
        p = os.path.join(eval_dir, subset, stem + ext)
        if os.path.exists(p):
            return p
    raise SystemExit("no %s/%s.* under %s" % (subset, stem, eval_dir))


def inputs(tool, eval_dir, work, count):
    """(label, CLI arguments without -o, hole mask or None) per run."""
    subset, stems = IMAGES[tool]
    runs = []
    for stem in stems[:count]:
        rgb = np.asarray(Image.open(find(eval_dir, subset, stem)).convert("RGB"))
        if tool == "denoise":
            rng = np.random.default_rng(int(stem) if stem.isdigit() else 0)
            noisy = np.clip(rgb + rng.normal(0, 25, rgb.shape), 0, 255)
            p = os.path.join(work, "in-%s-noisy.png" % stem)
            Image.fromarray(noisy.round().astype(np.uint8)).save(p)
            runs.append((stem, ["denoise", p, "--sigma", "25"], None))
        elif tool == "upscale":
            h, w = (rgb.shape[0] // 4) * 4, (rgb.shape[1] // 4) * 4
            small = rgb[:h, :w].astype(np.float64).reshape(
                h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3))
            p = os.path.join(work, "in-%s-small.png" % stem)
            Image.fromarray(small.round().astype(np.uint8)).save(p)
            runs.append((stem, ["upscale", p, "--scale", "4"], None))
        elif tool == "inpaint":
            p = os.path.join(work, "in-%s.png" % stem)
            Image.fromarray(rgb).save(p)
            for kind in MASKS:
                m = os.path.join(REPO, "tests", "bench", "masks", "%s-%dx%d.png"
                                 % (kind, rgb.shape[1], rgb.shape[0]))
                hole = np.asarray(Image.open(m).convert("L")) > 127
                runs.append(("%s %s" % (stem, kind),
                             ["inpaint", p, "--mask", m], hole))
        else:
            p = os.path.join(work, "in-%s.png" % stem)
            Image.fromarray(rgb).save(p)
            runs.append((stem, ["img2img", p], None))
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", default=os.path.join(REPO, "..", "shared", "data", "eval"))
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "core", "cli",
                                                  "gimp-diffusion-cli"))
    ap.add_argument("--model", default=os.path.join(REPO, "models", "default.safetensors"))
    ap.add_argument("--work", default="/tmp/gd-precision-tools")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tools", default="denoise,upscale,inpaint,img2img")
    ap.add_argument("--count", type=int, default=0,
                    help="at most N images per tool (0: all listed)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    print("| tool (defaults) | image | PSNR fast vs exact (dB) | in the hole (dB) "
          "| max diff (of 255) | exact s | fast s |")
    print("|---|---|---|---|---|---|---|")
    worst = float("inf")
    for tool in args.tools.split(","):
        if tool not in IMAGES:
            ap.error("unknown tool %r" % tool)
        runs = inputs(tool, args.eval, args.work, args.count or len(IMAGES[tool][1]))
        for label, cli_args, hole in runs:
            outs, secs = {}, {}
            for prec in ("exact", "fast"):
                out = os.path.join(args.work, "%s-%s-%s.png" % (
                    tool, label.replace(" ", "-"), prec))
                t0 = time.perf_counter()
                r = subprocess.run([args.cli] + cli_args + [
                    "-o", out, "--precision", prec, "--threads", str(args.threads),
                    "--model", args.model, "-q"], capture_output=True)
                secs[prec] = time.perf_counter() - t0
                if r.returncode != 0:
                    raise SystemExit("%s %s %s failed: %s" % (
                        tool, label, prec, r.stderr.decode("utf-8", "replace")[-400:]))
                outs[prec] = np.asarray(Image.open(out).convert("RGB"), np.float64)
            p = psnr(outs["exact"], outs["fast"])
            ph = psnr(outs["exact"], outs["fast"], hole) if hole is not None else None
            worst = min(worst, p)
            print("| %s | %s | %.2f | %s | %d | %.1f | %.1f |" % (
                tool, label, p, "%.2f" % ph if ph is not None else "",
                int(np.abs(outs["exact"] - outs["fast"]).max()),
                secs["exact"], secs["fast"]), flush=True)
    print("\nlowest PSNR of a fast result against exact: %.2f dB (rule: >= 40)" % worst)
    return 0 if worst >= 40.0 else 1


if __name__ == "__main__":
    sys.exit(main())
