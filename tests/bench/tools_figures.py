#!/usr/bin/python3
"""The figures of docs/tools.md: each tool through gimp-diffusion-cli on a
few eval images, with PSNR before and after, network evaluations, seconds
and peak memory (/usr/bin/time -v), and the sigma estimator's error.

    tests/bench/tools_figures.py --cli build/core/cli/gimp-diffusion-cli \\
        --eval ../shared/data/eval [--images 3] [--big]

The eval images are not freely licensed: they are read from --eval and the
files made from them stay in a temporary folder.  --big also denoises a
4000 x 3000 image with the default memory budget (one step, and the
20-step run stopped as its second step begins, past the sampler's peak).
"""

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import pngfile  # noqa: E402


def psnr(a, b):
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (seconds, peak MiB, evaluations,
    stderr)."""
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                         proc.stderr).group(1)) / 1024
    m = re.search(r"(\d+) network evaluations in ([\d.]+) s", proc.stderr)
    return float(m.group(2)), peak, int(m.group(1)), proc.stderr


def box_down(img, s):
    h, w = img.shape[0] // s, img.shape[1] // s
    return img[:h * s, :w * s].reshape(h, s, w, s, -1).astype(
        np.float64).mean(axis=(1, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--steps", default="20")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--skip-tools", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gd-figures-")
    cli = [args.cli, "--threads", "0"]
    images = sorted(glob.glob(os.path.join(args.eval, "CBSD68", "*.png")))
    rows = []

    def row(tool, name, before, after, nfe, sec, peak, note=""):
        rows.append((tool, name, before, after, nfe, sec, peak, note))
        print(f"| {tool} | {name} | {before} | {after} | {nfe} | {sec:.1f} | "
              f"{peak:.0f} | {note} |", flush=True)

    print("| tool | image | PSNR before | PSNR after | NFE | s | peak MiB | "
          "notes |\n|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for path in ([] if args.skip_tools else images[:args.images]):
        name = os.path.basename(path)
        clean = pngfile.read(path)[0][..., :3]
        h, w = clean.shape[:2]
        src = os.path.join(tmp, "clean.png")
        pngfile.write(src, clean, 8)
        out = os.path.join(tmp, "out.png")

        # denoise at sigma 25: one step, and the default 20 ddim steps.
        noisy = np.clip(np.rint(clean + rng.normal(0, 25, clean.shape)), 0,
                        255).astype(np.uint8)
        npath = os.path.join(tmp, "noisy.png")
        pngfile.write(npath, noisy, 8)
        for opts, note in ((["--one-step", "--sigma", "25"], "one step"),
                           (["--sigma", "auto"], "ddim, sigma auto")):
            sec, peak, nfe, err = timed(cli + ["denoise", npath, "-o", out,
                                               "--steps", args.steps] + opts)
            est = re.search(r"estimated sigma ([\d.]+)", err)
            row("denoise", name, f"{psnr(noisy, clean):.2f}",
                f"{psnr(pngfile.read(out)[0], clean):.2f}", nfe, sec, peak,
                note + (f" ({est.group(1)})" if est else ""))

        # upscale x2 of the box-downsampled image, against the original.
        small = np.rint(box_down(clean, 2)).astype(np.uint8)
        spath = os.path.join(tmp, "small.png")
        pngfile.write(spath, small, 8)
        ref = clean[:small.shape[0] * 2, :small.shape[1] * 2]
        nearest = np.repeat(np.repeat(small, 2, 0), 2, 1)
        for strength in ("0", "0.5"):
            sec, peak, nfe, _ = timed(cli + ["upscale", spath, "-o", out,
                                             "--steps", args.steps,
                                             "--strength", strength])
            row("upscale x2", name, f"{psnr(nearest, ref):.2f} (nearest)",
                f"{psnr(pngfile.read(out)[0], ref):.2f}", nfe, sec, peak,
                "resize only (strength 0)" if strength == "0"
                else "strength 0.5, ddim eta 0.85")

        # inpaint a 48 x 48 hole at the centre, against a flat fill.
        mask = np.zeros((h, w, 1), np.uint8)
        y0, x0 = h // 2 - 24, w // 2 - 24
        mask[y0:y0 + 48, x0:x0 + 48] = 255
        mpath = os.path.join(tmp, "mask.png")
        pngfile.write(mpath, mask, 8)
        hole = (slice(y0, y0 + 48), slice(x0, x0 + 48))
        ring = clean[y0 - 4:y0 + 52, x0 - 4:x0 + 52].reshape(-1, 3)
        flat = np.broadcast_to(ring.mean(axis=0), (48, 48, 3))
        sec, peak, nfe, _ = timed(cli + ["inpaint", src, "-o", out, "--mask",
                                         mpath, "--steps", args.steps])
        got = pngfile.read(out)[0]
        outside = np.array_equal(np.delete(got.reshape(-1, 3),
                                           np.flatnonzero(mask), axis=0),
                                 np.delete(clean.reshape(-1, 3),
                                           np.flatnonzero(mask), axis=0))
        row("inpaint 48x48", name, f"{psnr(flat, clean[hole]):.2f} (flat)",
            f"{psnr(got[hole], clean[hole]):.2f}", nfe, sec, peak,
            "hole only; outside " + ("identical" if outside else "CHANGED"))

        # img2img at strength 0.3: how far from the input it goes.
        sec, peak, nfe, _ = timed(cli + ["img2img", src, "-o", out,
                                         "--steps", args.steps,
                                         "--strength", "0.3"])
        row("img2img 0.3", name, "-", f"{psnr(pngfile.read(out)[0], clean):.2f}",
            nfe, sec, peak, "PSNR against the input")

    # The sigma estimator on every CBSD68 and Kodak24 image.
    print("\nsigma estimator (8-bit, clipped noisy images):")
    est_images = images + sorted(glob.glob(os.path.join(args.eval, "Kodak24",
                                                        "*.png")))
    est_tool = os.path.join(os.path.dirname(os.path.abspath(args.cli)),
                            "..", "..", "tests", "bench_sigma")
    if os.path.exists(est_tool):
        proc = subprocess.run([est_tool] + est_images, capture_output=True,
                              text=True)
        print(proc.stdout + proc.stderr)

    if args.big:
        big_figures(cli, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def big_figures(cli, tmp):
    """4000 x 3000 at sigma 25, default budget."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:3000, 0:4000].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(xx / 150) * np.cos(yy / 110),
                     128 + 80 * np.sin((xx + yy) / 90),
                     128 + 70 * np.cos(xx / 60)], axis=-1)
    noisy = np.clip(np.rint(base + rng.normal(0, 25, base.shape)), 0,
                    255).astype(np.uint8)
    del base
    src = os.path.join(tmp, "big.png")
    pngfile.write(src, noisy, 8)
    del noisy
    out = os.path.join(tmp, "big-out.png")
    sec, peak, nfe, _ = timed(cli + ["denoise", src, "-o", out, "--one-step",
                                     "--sigma", "25"])
    print(f"\n4000 x 3000 denoise, one step, default budget: {nfe} tile "
          f"evaluations, {sec:.0f} s, peak {peak:.0f} MiB")
    # The sampled run: its peak (the sampler's two buffers, both written by
    # the end of the first step) is reached within the first step; stop it
    # as the second begins.
    proc = subprocess.Popen(["/usr/bin/time", "-v"] + cli +
                            ["denoise", src, "-o", out, "--sigma", "25"],
                            stderr=subprocess.PIPE, text=True)
    while True:
        line = proc.stderr.readline()
        if not line or "step 2 of" in line:
            break
    # SIGINT to the CLI (time's child, by its id), not to time itself.
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        for child in f.read().split():
            os.kill(int(child), signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait()
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                         rest).group(1)) / 1024
    print(f"4000 x 3000 denoise, ddim 20 steps, default budget: stopped at "
          f"step 2, peak {peak:.0f} MiB")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
