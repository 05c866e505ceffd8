"""Whole jobs of the CLI at their defaults on a photo-sized image, exact
against fast: wall time, network evaluations, peak resident memory, and the
PSNR of the fast result against the exact one.  Writes a markdown table.

    /usr/bin/python3 tests/bench/whole_jobs.py [--eval ../shared/data/eval]
        [--size 4000x3000] [--threads 2] [--jobs LIST] [--out jobs.md]

The photo (generated, not in git): Kodak24's kodim01 cropped to 4:3,
enlarged (bicubic) to --size, plus Gaussian noise of sigma 15, 8-bit.
The jobs (--jobs, comma-separated; default all but denoise-10):
  denoise-one-step  denoise --one-step
  denoise           denoise at the CLI's defaults (today the same one step:
                    the evaluations column shows it)
  denoise-10        denoise --steps 10 (sampled; long: about 10 times
                    denoise-one-step)
  upscale           upscale x2 of the photo box-downsampled to half size
  inpaint           inpaint of a centred rectangle of 1% of the area
  img2img           img2img at its defaults
Each job runs exact, then fast, one after the other, under
/usr/bin/time -f %e/%M; the evaluations are the CLI's own count (its last
line).
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
JOBS = {
    "denoise-one-step": ("photo", ["denoise", "--one-step"]),
    "denoise": ("photo", ["denoise"]),
    "denoise-10": ("photo", ["denoise", "--steps", "10"]),
    "upscale": ("half", ["upscale", "--scale", "2"]),
    "inpaint": ("photo", ["inpaint", "--mask", "{mask}"]),
    "img2img": ("photo", ["img2img"]),
}
DEFAULT_JOBS = "denoise-one-step,denoise,upscale,inpaint,img2img"


def make_inputs(eval_dir, work, w, h):
    """photo.png (w x h, noisy), half.png (box-downsampled), mask.png (1%)."""
    paths = {k: os.path.join(work, "%s-%dx%d.png" % (k, w, h)) for k in ("photo", "half", "mask")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    im = Image.open(os.path.join(eval_dir, "Kodak24", "kodim01.png")).convert("RGB")
    cw = im.height * 4 // 3
    im = im.crop(((im.width - cw) // 2, 0, (im.width - cw) // 2 + cw, im.height))
    big = np.asarray(im.resize((w, h), Image.BICUBIC)).astype(np.float64)
    rng = np.random.default_rng(15)
    noisy = np.clip(big + rng.normal(0, 15, big.shape), 0, 255).round().astype(np.uint8)
    Image.fromarray(noisy).save(paths["photo"])
    half = noisy[: h // 2 * 2, : w // 2 * 2].astype(np.float64)
    half = (half[0::2, 0::2] + half[1::2, 0::2] + half[0::2, 1::2] + half[1::2, 1::2]) / 4
    Image.fromarray(half.round().astype(np.uint8)).save(paths["half"])
    mask = np.zeros((h, w), np.uint8)
    mw, mh = round(w * 0.1), round(h * 0.1)
    mask[(h - mh) // 2 : (h - mh) // 2 + mh, (w - mw) // 2 : (w - mw) // 2 + mw] = 255
    Image.fromarray(mask).save(paths["mask"])
    return paths


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_job(args, name, prec, paths):
    src, cli_args = JOBS[name]
    out = os.path.join(args.work, "%s-%s.png" % (name, prec))
    cmd = (
        ["/usr/bin/time", "-f", "TIME %e %M", os.path.join(args.build, "core", "cli", "gimp-diffusion-cli")]
        + [cli_args[0], paths[src], "-o", out]
        + [a.format(mask=paths["mask"]) for a in cli_args[1:]]
        + ["--precision", prec, "--threads", str(args.threads), "--model", args.model]
    )
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = r.stderr.replace("\r", "\n")
    t = re.search(r"^TIME ([0-9.]+) ([0-9]+)$", err, re.M)
    ev = re.search(r"(\d+) network evaluations in", err)
    if r.returncode != 0 or t is None:
        return {"error": "exit %d: %s" % (r.returncode, err.strip().splitlines()[-1:])}
    return {"s": float(t.group(1)), "rss": int(t.group(2)) / 1024, "evals": int(ev.group(1)) if ev else None, "out": out}


def psnr(a_path, b_path):
    a = np.asarray(Image.open(a_path)).astype(np.float64)
    b = np.asarray(Image.open(b_path)).astype(np.float64)
    mse = ((a - b) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse), int(np.abs(a - b).max())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", default=os.path.join(ROOT, "..", "shared", "data", "eval"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.safetensors"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", default=DEFAULT_JOBS)
    ap.add_argument("--work", default="/tmp/gd-whole-jobs")
    ap.add_argument("--out", help="markdown table (default: stdout)")
    ap.add_argument("--precisions", default="exact,fast",
                    help="exact, fast or both (the exact upscale and img2img "
                         "of 4000x3000 take about half an hour each)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    jobs = args.jobs.split(",")
    precs = args.precisions.split(",")
    if not precs or any(p not in ("exact", "fast") for p in precs):
        ap.error("--precisions: exact, fast or exact,fast")
    for j in jobs:
        if j not in JOBS:
            ap.error("unknown job %r (one of %s)" % (j, ", ".join(JOBS)))
    os.makedirs(args.work, exist_ok=True)
    paths = make_inputs(args.eval, args.work, w, h)
    lines = [
        "%s UTC; %d thread(s); photo %dx%d (kodim01, enlarged, noise sigma 15); command: `/usr/bin/python3 tests/bench/whole_jobs.py %s`"
        % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), args.threads, w, h, " ".join(sys.argv[1:] if argv is None else argv)),
        "",
        "| job | input | load at start | exact s | fast s | exact / fast | evaluations exact / fast | peak RSS MiB exact / fast | PSNR fast vs exact (max diff) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in jobs:
        src = JOBS[name][0]
        size = Image.open(paths[src]).size
        load = loadavg()
        res = {}
        for prec in precs:
            print("%s, %s (load %s)" % (name, prec, loadavg()), file=sys.stderr, flush=True)
            res[prec] = run_job(args, name, prec, paths)
        if len(precs) == 1:
            r = res[precs[0]]
            cell = lambda p, v: v if p in res else "-"  # noqa: E731
            lines.append(
                "| %s | %dx%d | %s | %s | %s | | %s / %s | %s / %s | |"
                % (name, size[0], size[1], load,
                   cell("exact", r.get("error") or "%.1f" % r.get("s", 0)),
                   cell("fast", r.get("error") or "%.1f" % r.get("s", 0)),
                   cell("exact", r.get("evals")), cell("fast", r.get("evals")),
                   cell("exact", "%.0f" % r.get("rss", 0)), cell("fast", "%.0f" % r.get("rss", 0))))
            print(lines[-1], file=sys.stderr, flush=True)
            continue
        e, f = res["exact"], res["fast"]
        if "error" in e or "error" in f:
            lines.append("| %s | %dx%d | %s | %s | %s | | | | |" % (name, size[0], size[1], load, e.get("error", e.get("s")), f.get("error", f.get("s"))))
            continue
        p, mx = psnr(e["out"], f["out"])
        lines.append(
            "| %s | %dx%d | %s | %.1f | %.1f | %.2f | %s / %s | %.0f / %.0f | %.2f dB (%d) |"
            % (name, size[0], size[1], load, e["s"], f["s"], e["s"] / f["s"], e["evals"], f["evals"], e["rss"], f["rss"], p, mx)
        )
        print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
