#!/usr/bin/python3
"""Quality benchmark: every tool of gimp-diffusion against what a GIMP user
already has (GEGL and G'MIC filters) and against published figures.

One command writes the whole report, docs/benchmarks/quality.md, and its
plots (PNG) beside it:

    nice -n 10 /usr/bin/python3 tests/bench/quality.py \\
        --eval ../shared/data/eval --work ../data/bench-cache

--quick runs a few images per set with small parameter grids (minutes, for
development; its report goes to WORK/quick/ unless --out is given).

Needs /usr/bin/python3 with numpy, scipy, PIL and matplotlib, the gegl and
gmic command-line tools, and a built gimp-diffusion-cli:

    apt-get install gegl gmic python3-numpy python3-scipy python3-pil \\
        python3-matplotlib

Every measured number comes from a run made here; results are cached per
image in WORK/results (keyed by the method, its parameters and the
fingerprint of the program and model that made them), so an interrupted run
resumes where it stopped and a rerun only computes what changed.  The
evaluation images and anything made from them stay in WORK; only the
aggregated report and plots (and the small crop figures) go to --out.

The tasks, inputs and metrics are described in the report itself (see
write_report): denoise (AWGN sigma 15/25/50, CBSD68 and Kodak24), camera
(Kodak24 with camera-like noise from tests/bench/camera_noise.py), upscale
(x2/x4, Set5 and Set14), inpaint (Kodak24 with the masks in
tests/bench/masks/), img2img (distance to the input against strength).
"""

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
import struct

import numpy as np
from PIL import Image
from scipy.ndimage import correlate1d

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# --------------------------------------------------------------- published

# Figures quoted from the literature (never measured here).  Denoising:
# PSNR (dB) on RGB, CBSD68 and Kodak24, AWGN sigma 15/25/50.
PUBLISHED_DENOISE = {
    # method: (source, {set: (s15, s25, s50)})
    "CBM3D (Dabov et al. 2007)": (
        "Zhang, Zuo, Zhang, *FFDNet*, IEEE TIP 2018, colour denoising table "
        "(also in Zhang et al., *DPIR*, TPAMI 2021, where Kodak24 sigma 25 "
        "reads 32.15)",
        {"CBSD68": (33.52, 30.71, 27.38), "Kodak24": (34.28, 31.68, 28.46)}),
    "CDnCNN (Zhang et al. 2017)": (
        "Zhang, Zuo, Zhang, *FFDNet*, IEEE TIP 2018, colour denoising table",
        {"CBSD68": (33.89, 31.23, 27.92), "Kodak24": (34.48, 32.03, 28.85)}),
    "DRUNet (Zhang et al. 2021)": (
        "Zhang, Li, Zuo, Zhang, Van Gool, Timofte, *Plug-and-Play Image "
        "Restoration with Deep Denoiser Prior* (DPIR), IEEE TPAMI 2021, "
        "colour denoising table",
        {"CBSD68": (34.30, 31.69, 28.51), "Kodak24": (35.31, 32.89, 29.86)}),
}
PUBLISHED_DENOISE_SOURCE_CHECK = (
    "checked against the tables as published in the authors' repositories: "
    "cszn/FFDNet `figs/table2.png` (commit e787f46) and cszn/DPIR "
    "`figs/color_psnr.png` (commit 15bca3f)")

# Super-resolution: PSNR/SSIM on the Y channel of YCbCr, `scale` border
# pixels shaved, LR by MATLAB bicubic imresize.
PUBLISHED_SR = {
    "bicubic": {("Set5", 2): (33.66, 0.9299), ("Set5", 4): (28.42, 0.8104),
                ("Set14", 2): (30.24, 0.8688), ("Set14", 4): (26.00, 0.7027)},
    "SRCNN (Dong et al. 2014)": {
        ("Set5", 2): (36.66, 0.9542), ("Set5", 4): (30.48, 0.8628),
        ("Set14", 2): (32.42, 0.9063), ("Set14", 4): (27.49, 0.7503)},
    "EDSR (Lim et al. 2017)": {
        ("Set5", 2): (38.11, 0.9601), ("Set5", 4): (32.46, 0.8968),
        ("Set14", 2): (33.92, 0.9195), ("Set14", 4): (28.80, 0.7876)},
}
PUBLISHED_SR_SOURCE = (
    "Lim, Son, Kim, Nah, Lee, *Enhanced Deep Residual Networks for Single "
    "Image Super-Resolution* (EDSR), CVPR workshops 2017, benchmark table "
    "(bicubic, SRCNN and EDSR columns); checked against copies of that "
    "table in public repositories (the same bicubic and SRCNN figures are "
    "quoted by VDSR, DRRN and RCAN), not against the PDF")

TARGET_CBM3D_S25 = PUBLISHED_DENOISE["CBM3D (Dabov et al. 2007)"][1]["CBSD68"][1]

# ------------------------------------------------------------------ config

SIGMAS = (15, 25, 50)
SCALES = (2, 4)
MASK_SETS = ("box", "strokes", "objects")
# The texture ratio's ring around the hole (pixels).
TEXTURE_RING = 12
# Hole PSNR of the inpaint tool before its patch-fill start (smooth fill,
# strength 0.5, 5 steps, all of Kodak24): the floors the new start must
# keep (the row "before" measures that setting on the images of the run).
INPAINT_FLOOR = {"box": 16.64, "strokes": 20.36}


class Config:
    def __init__(self, args):
        self.quick = args.quick
        self.eval = os.path.abspath(args.eval)
        self.work = os.path.abspath(args.work)
        self.out = os.path.abspath(args.out or (
            os.path.join(self.work, "quick") if args.quick
            else os.path.join(REPO, "docs", "benchmarks")))
        self.cli = os.path.abspath(args.cli)
        self.model = os.path.abspath(args.model)
        self.threads = args.threads
        self.tasks = args.tasks.split(",")
        self.sampler = args.sampler
        self.denoise_steps = args.denoise_steps
        self.upscale_steps = args.upscale_steps
        self.inpaint_steps = args.inpaint_steps
        self.img2img_steps = args.img2img_steps
        self.inpaint_eta = None if args.inpaint_eta < 0 else args.inpaint_eta
        self.inpaint_precision = args.inpaint_precision
        self.inpaint_images = [n if n.endswith(".png") else n + ".png"
                               for n in args.inpaint_images.split(",")] \
            if args.inpaint_images else None
        self.patchfill = os.path.abspath(args.patchfill or os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(self.cli))),
            "tests", "bench_patchfill"))
        self.seed = args.seed
        self.slow = not args.skip_slow
        self.verbose = args.verbose
        self.source_commit = args.source_commit
        # --task-cli TASK[/ROW]=PATH@COMMIT: another CLI build for one task,
        # or one row of it (a change that touches one tool, or adds a row,
        # reruns that only)
        self.task_cli = {}
        for spec in args.task_cli or []:
            m = re.match(r"^((?:denoise|upscale|inpaint|img2img)(?:/[\w-]+)?)"
                         r"=(.+)@(\w+)$", spec)
            if not m:
                raise SystemExit("--task-cli %r: expected TASK[/ROW]=PATH@COMMIT"
                                 % spec)
            self.task_cli[m.group(1)] = (os.path.abspath(m.group(2)), m.group(3))

    def cli_key(self, task, row=None):
        """The --task-cli entry for a row of a task, else the task's."""
        if row is not None and "%s/%s" % (task, row) in self.task_cli:
            return "%s/%s" % (task, row)
        return task

    def cli_for(self, task, row=None):
        key = self.cli_key(task, row)
        return self.task_cli[key][0] if key in self.task_cli else self.cli


# --------------------------------------------------------------- PNG, I/O

def write_png16(path, pixels):
    """H x W x 3 uint16 as a 16-bit RGB PNG (PIL cannot write those)."""
    h, w, c = pixels.shape
    assert c == 3
    body = pixels.astype(">u2").tobytes()
    stride = w * 6
    rows = b"".join(b"\x00" + body[y * stride:(y + 1) * stride]
                    for y in range(h))

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + \
            struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    os.replace(tmp, path)


def write_png8(path, pixels):
    tmp = path + ".tmp.png"
    Image.fromarray(np.asarray(pixels, np.uint8)).save(tmp)
    os.replace(tmp, path)


def _read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h, maxval = map(int, m.groups())
    dt = ">u2" if maxval > 255 else "u1"
    a = np.frombuffer(data[m.end():], dtype=dt, count=w * h * 3)
    return a.reshape(h, w, 3).astype(np.float64) * (255.0 / maxval)


def read_rgb(path):
    """Any 8- or 16-bit PNG as H x W x 3 float64 on the 0..255 scale
    (grey is repeated to RGB, alpha dropped).  PIL keeps only the high byte
    of 16-bit RGB samples, so those go through GEGL's exact PPM writer."""
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] != 0:
        with tempfile.TemporaryDirectory() as d:
            ppm = os.path.join(d, "x.ppm")
            run_quiet(["gegl", path, "-o", ppm])
            return _read_ppm(ppm)
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im).astype(np.float64) * (255.0 / 65535.0)
        return np.repeat(a[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB")).astype(np.float64)


def quantise(a):
    """What every method's output is measured as: 8-bit, rounded."""
    return np.clip(np.round(a), 0, 255)


def run_quiet(cmd, timeout=3600):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            " ".join(cmd), r.returncode,
            r.stderr.decode("utf-8", "replace")[-800:]))
    return r


# ---------------------------------------------------------------- metrics

def psnr(ref, out, mask=None):
    d = ref - out
    if mask is not None:
        d = d[mask]
    mse = np.mean(d * d)
    if mse == 0:
        return 99.0
    return 10.0 * math.log10(255.0 ** 2 / mse)


_GAUSS = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
_GAUSS /= _GAUSS.sum()


def ssim(ref, out):
    """SSIM of Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 0.01,
    K2 0.03, L 255, mean of the SSIM map over the window positions that lie
    inside the image ('valid'), per channel, averaged over the channels; no
    downsampling."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(x):
        y = correlate1d(x, _GAUSS, axis=0, mode="constant")
        y = correlate1d(y, _GAUSS, axis=1, mode="constant")
        return y[5:-5, 5:-5]

    vals = []
    for c in range(ref.shape[2]):
        x, y = ref[..., c], out[..., c]
        mx, my = filt(x), filt(y)
        sxx = filt(x * x) - mx * mx
        syy = filt(y * y) - my * my
        sxy = filt(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / \
            ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


# ------------------------------------------------------------- fingerprints

def file_digest(path, n=12):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]


def pkg_version(name):
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return r.stdout.decode().strip() or "unknown"
    except OSError:
        return "unknown"


def key_of(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()) \
        .hexdigest()[:10]


# ------------------------------------------------------------------ data

def list_set(cfg, name):
    d = os.path.join(cfg.eval, name)
    if not os.path.isdir(d):
        raise SystemExit("no evaluation set %s (looked in %s); pass --eval"
                         % (name, d))
    return sorted(n for n in os.listdir(d) if n.lower().endswith(".png"))


def pick(names, k):
    """k images spread evenly over the sorted set (k >= len: all)."""
    if k >= len(names):
        return list(names)
    idx = [round(i * (len(names) - 1) / max(k - 1, 1)) for i in range(k)]
    return [names[i] for i in sorted(set(idx))]


def stem(name):
    return os.path.splitext(name)[0]


def load_clean(cfg, set_name, name):
    return read_rgb(os.path.join(cfg.eval, set_name, name))


def seed_of(*parts):
    return zlib.crc32("/".join(map(str, parts)).encode()) & 0x7FFFFFFF


# --------------------------------------------------------------- the cache

class Cache:
    """One JSON file per (task, method, parameters, set, image, condition)."""

    def __init__(self, root):
        self.root = os.path.join(root, "results")

    def path(self, task, method_key, set_name, image, cond):
        return os.path.join(self.root, task, method_key, set_name,
                            "%s__%s.json" % (stem(image), cond))

    def get(self, *k):
        p = self.path(*k)
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
        return None

    def put(self, value, *k):
        p = self.path(*k)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            json.dump(value, f)
        os.replace(tmp, p)


# ---------------------------------------------------------------- methods

class Unavailable(Exception):
    """The program cannot run this method (for example the CLI has no such
    tool yet)."""


class Method:
    """A way of producing an output file from an input.  `fingerprint` names
    what makes the result (program version, parameters) for the cache."""

    def __init__(self, key, label, fingerprint, runner, params=None,
                 family=None):
        self.key = key
        self.label = label
        self.params = params or {}
        self.family = family or key
        self.runner = runner
        self.ident = "%s-%s" % (key, key_of([fingerprint, self.params]))

    def run(self, inp, out, **kw):
        return self.runner(inp, out, **kw)


def timed(cmd, timeout=3600):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    dt = time.perf_counter() - t0
    return r, dt


NFE_RE = re.compile(r"(\d+) network evaluations in ([0-9.]+) s")


def sampler_args(cfg):
    return ["--sampler", cfg.sampler] if cfg.sampler else []


def steps_label(cfg, steps):
    return "%s%d steps" % (cfg.sampler + ", " if cfg.sampler else "", steps)


def cli_runner(cfg, tool, extra, row=None):
    def run(inp, out, mask=None, **kw):
        cmd = [cfg.cli_for(tool, row), tool, inp, "-o", out, "--model", cfg.model,
               "--threads", str(cfg.threads)]
        if mask is not None:
            cmd += ["--mask", mask]
        cmd += [str(a) for a in extra(**kw)]
        r, dt = timed(cmd)
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode != 0:
            if r.returncode == 2 and re.search(
                    r"unknown|unrecognized|invalid|not a (tool|command)|usage",
                    err, re.I):
                raise Unavailable("gimp-diffusion-cli %s: %s" % (
                    tool, err.strip().splitlines()[0] if err.strip() else
                    "exit 2"))
            raise RuntimeError("%s failed (%d): %s" % (
                " ".join(cmd), r.returncode, err[-800:]))
        m = NFE_RE.search(err)
        nfe = int(m.group(1)) if m else None
        return {"seconds": dt, "nfe": nfe,
                "cli_seconds": float(m.group(2)) if m else None}
    return run


def gegl_runner(ops):
    def run(inp, out, **kw):
        cmd = ["gegl", inp, "--"] + ops(**kw) + \
              ["gegl:png-save", "path=" + out, "bitdepth=8"]
        r, dt = timed(cmd)
        if r.returncode != 0 or not os.path.exists(out):
            raise RuntimeError("gegl failed: %s" %
                               r.stderr.decode("utf-8", "replace")[-800:])
        return {"seconds": dt, "nfe": 0}
    return run


def gmic_runner(pipeline, scale16=False):
    """gmic reads 16-bit PNG samples as 0..65535: div 257 brings them to
    0..255.  Values are rounded and clipped before writing (gmic writes
    values unclipped otherwise)."""
    def run(inp, out, mask=None, **kw):
        cmd = ["gmic", "-v", "-1", inp]
        if scale16:
            cmd += ["div", "257"]
        if mask is not None:
            cmd += [mask]
        cmd += pipeline(**kw) + ["round", "cut", "0,255", "-o", out]
        r, dt = timed(cmd)
        if r.returncode != 0 or not os.path.exists(out):
            raise RuntimeError("gmic failed: %s" %
                               r.stderr.decode("utf-8", "replace")[-800:])
        return {"seconds": dt, "nfe": 0}
    return run


# ------------------------------------------------------------ the runner

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cache = Cache(cfg.work)
        self.tmp = os.path.join(cfg.work, "tmp")
        self.keep = os.path.join(cfg.work, "kept")
        os.makedirs(self.tmp, exist_ok=True)
        os.makedirs(self.keep, exist_ok=True)
        self.unavailable = {}   # method label -> reason
        self.failures = []
        self.gegl_v = pkg_version("gegl")
        self.gmic_v = pkg_version("gmic")
        self.cli_fp = file_digest(cfg.cli) if os.path.exists(cfg.cli) \
            else "missing"
        self.model_fp = file_digest(cfg.model)
        self.task_cli_fp = {t: file_digest(path)
                            for t, (path, _) in cfg.task_cli.items()}
        try:
            self.cli_version = subprocess.run(
                [cfg.cli, "--version"], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT).stdout.decode().strip()
        except OSError:
            self.cli_version = "gimp-diffusion-cli (version unknown)"
        self.t_start = time.time()
        self.method_seconds = 0.0   # summed over every result reported
        self.counted = set()

    def cli_fp_for(self, task, row=None):
        return self.task_cli_fp.get(self.cfg.cli_key(task, row), self.cli_fp)

    def log(self, msg):
        el = time.time() - self.t_start
        print("[%5.0f s] %s" % (el, msg), flush=True)

    def count(self, rec, *key):
        if key not in self.counted:
            self.counted.add(key)
            self.method_seconds += rec.get("seconds") or 0.0

    def measure(self, task, method, set_name, image, cond, inp, metric,
                keep_as=None, **kw):
        """Runs `method` on one input unless cached; returns the record
        (metrics, seconds, nfe) or None when the method is unavailable."""
        if (task, method.label) in self.unavailable:
            return None
        rec = self.cache.get(task, method.ident, set_name, image, cond)
        if rec is not None and (keep_as is None or os.path.exists(keep_as)):
            self.count(rec, task, method.ident, set_name, image, cond)
            return rec
        out = os.path.join(self.tmp, "%s-%s.png" % (method.key, os.getpid()))
        if os.path.exists(out):
            os.remove(out)
        try:
            info = method.run(inp, out, **kw)
        except Unavailable as e:
            self.unavailable[(task, method.label)] = str(e)
            self.log("  %s: not available (%s)" % (method.label, e))
            return None
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            self.failures.append("%s %s %s %s: %s" % (
                task, method.label, image, cond, e))
            self.log("  FAILED %s on %s %s: %s" % (method.label, image, cond,
                                                   str(e)[:300]))
            return None
        res = quantise(read_rgb(out))
        rec = dict(info)
        rec.update(metric(res))
        rec["params"] = method.params
        self.cache.put(rec, task, method.ident, set_name, image, cond)
        if keep_as is not None:
            os.makedirs(os.path.dirname(keep_as), exist_ok=True)
            write_png8(keep_as, res)
        os.remove(out)
        self.count(rec, task, method.ident, set_name, image, cond)
        if self.cfg.verbose:
            self.log("  %s %s %s: %s" % (method.label, image, cond, fmt_rec(rec)))
        return rec


def fmt_rec(rec):
    s = "%.2f dB" % rec["psnr"]
    if "ssim" in rec:
        s += " / %.4f" % rec["ssim"]
    s += ", %.1f s" % rec["seconds"]
    if rec.get("nfe"):
        s += ", NFE %d" % rec["nfe"]
    return s


def mean(xs):
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def aggregate(recs):
    """Mean PSNR, SSIM, seconds, NFE over the images; None if any image is
    missing (a partial mean would not be comparable)."""
    if not recs or any(r is None for r in recs):
        return None
    out = {"n": len(recs)}
    for k in ("psnr", "ssim", "seconds", "nfe", "texture"):
        vals = [r.get(k) for r in recs]
        out[k] = None if any(v is None for v in vals) else float(np.mean(vals))
    return out


# ================================================================ denoise

def denoise_inputs(b, set_name, names):
    """Noisy inputs: clean + N(0, sigma^2) per pixel and channel on the
    0..255 scale, numpy default_rng seeded by (set, image, sigma), clipped to
    0..255 and stored as 16-bit PNG (value * 65535/255, rounded)."""
    d = os.path.join(b.cfg.work, "inputs", "denoise", set_name)
    os.makedirs(d, exist_ok=True)
    paths = {}
    for name in names:
        clean = None
        for s in SIGMAS:
            p = os.path.join(d, "%s_s%d.png" % (stem(name), s))
            if not os.path.exists(p):
                if clean is None:
                    clean = load_clean(b.cfg, set_name, name)
                rng = np.random.default_rng(seed_of(set_name, name, s))
                y = clean + s * rng.standard_normal(clean.shape)
                y = np.clip(y, 0, 255)
                write_png16(p, np.round(y * (65535.0 / 255.0)).astype(np.uint16))
            paths[(name, s)] = p
    return paths


# Rows measured on one set only (an ablation, or a costly variant).
ONE_SET_ROWS = {"ours-1step-noclip": "CBSD68", "ours-1step-x8": "CBSD68"}
# ... and at these sigmas only (elsewhere every sigma).
ROW_SIGMAS = {"ours-1step-x8": (25,)}


def denoise_methods(b):
    cfg = b.cfg
    q = cfg.quick
    ours_fp = ["cli", b.cli_fp_for("denoise"), b.model_fp, cfg.seed]
    ours = [
        Method("ours-1step", "ours, one step (x0_hat, MMSE)", ours_fp,
               cli_runner(cfg, "denoise", lambda sigma, **k: [
                   "--sigma", sigma, "--one-step", "--seed", cfg.seed]),
               {"one_step": True}),
        Method("ours-1step-noclip",
               "ours, one step, without the clip correction", ours_fp,
               cli_runner(cfg, "denoise", lambda sigma, **k: [
                   "--sigma", sigma, "--one-step", "--no-clip-correction",
                   "--seed", cfg.seed]),
               {"one_step": True, "clip_correction": False}),
        Method("ours-1step-x8",
               "ours, one step, self-ensemble of 8 (x8 flips and turns)",
               ["cli", b.cli_fp_for("denoise", "ours-1step-x8"), b.model_fp,
                cfg.seed],
               cli_runner(cfg, "denoise", lambda sigma, **k: [
                   "--sigma", sigma, "--one-step", "--ensemble", 8,
                   "--seed", cfg.seed], row="ours-1step-x8"),
               {"one_step": True, "ensemble": 8}),
        Method("ours-sampled", "ours, sampled (%s)" % steps_label(
            cfg, cfg.denoise_steps), ours_fp,
            cli_runner(cfg, "denoise", lambda sigma, **k: [
                "--sigma", sigma, "--steps", cfg.denoise_steps,
                "--seed", cfg.seed] + sampler_args(cfg)),
            {"steps": cfg.denoise_steps, "sampler": cfg.sampler}),
    ]

    # Baselines: family -> list of candidate parameter sets; each is tuned
    # per sigma on the tuning subset.  Parameters in units of sigma where
    # the filter takes a noise level.
    def dct(f, patch):
        return lambda sigma, **k: ["gegl:denoise-dct",
                                   "sigma=%g" % round(f * sigma, 2),
                                   "patch-size=size%dx%d" % (patch, patch)]

    def nr(it):
        return lambda **k: ["gegl:noise-reduction", "iterations=%d" % it]

    def g_denoise(ss, fr):
        return lambda sigma, **k: ["denoise", "%g,%g" % (ss, round(fr * sigma, 2))]

    def g_nlmeans(pr, sb, ft):
        return lambda sigma, **k: ["nlmeans", "%g,%g,%g" % (pr, sb, round(ft * sigma, 2))]

    def g_haar(th):
        return lambda **k: ["denoise_haar", "%g" % th]

    def g_ppca(st, ps):
        return lambda **k: ["denoise_patchpca", "%g,%d,11,5" % (st, ps)]

    gegl_fp = ["gegl", b.gegl_v]
    gmic_fp = ["gmic", b.gmic_v]
    fams = {}
    fams["gegl-dct"] = ("GEGL denoise-dct", [
        Method("gegl-dct", "GEGL denoise-dct", gegl_fp,
               gegl_runner(dct(f, p)), {"sigma": "%g x noise sigma" % f,
                                        "patch-size": "%dx%d" % (p, p)},
               family="gegl-dct")
        for f in ((0.6, 0.8, 1.0) if q else (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2))
        for p in ((8,) if q else (8, 16))])
    fams["gegl-nr"] = ("GEGL noise-reduction", [
        Method("gegl-nr", "GEGL noise-reduction", gegl_fp, gegl_runner(nr(it)),
               {"iterations": it}, family="gegl-nr")
        for it in ((2, 4, 8) if q else (1, 2, 3, 4, 6, 8, 12, 16, 24))])
    fams["gmic-denoise"] = ("G'MIC denoise (patch averaging)", [
        Method("gmic-denoise", "G'MIC denoise", gmic_fp,
               gmic_runner(g_denoise(ss, fr), scale16=True),
               {"std_s": ss, "std_p": "%g x noise sigma" % fr},
               family="gmic-denoise")
        for ss in ((3,) if q else (3, 10))
        for fr in ((0.4, 0.6) if q else (0.1, 0.15, 0.2, 0.25, 0.35, 0.45, 0.6, 0.8))])
    fams["gmic-nlmeans"] = ("G'MIC nlmeans", [
        Method("gmic-nlmeans", "G'MIC nlmeans", gmic_fp,
               gmic_runner(g_nlmeans(2, 4, ft), scale16=True),
               {"patch_radius": 2, "spatial_bandwidth": 4,
                "tonal_bandwidth": "%g x noise sigma" % ft},
               family="gmic-nlmeans")
        for ft in ((0.8, 1.2) if q else (0.35, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7))])
    fams["gmic-haar"] = ("G'MIC denoise_haar", [
        Method("gmic-haar", "G'MIC denoise_haar", gmic_fp,
               gmic_runner(g_haar(th), scale16=True), {"threshold": th},
               family="gmic-haar")
        for th in ((0.8, 1.4) if q else (0.5, 0.8, 1.1, 1.4, 2.0))])
    if cfg.slow and not q:
        fams["gmic-patchpca"] = ("G'MIC denoise_patchpca", [
            Method("gmic-patchpca", "G'MIC denoise_patchpca", gmic_fp,
                   gmic_runner(g_ppca(st, ps), scale16=True),
                   {"strength": st, "patch_size": ps, "lookup_size": 11,
                    "spatial_sampling": 5}, family="gmic-patchpca")
            for st, ps in ((1.8, 5), (1.8, 7))])
    return ours, fams


def run_denoise(b):
    cfg = b.cfg
    sets = {"CBSD68": list_set(cfg, "CBSD68"), "Kodak24": list_set(cfg, "Kodak24")}
    if cfg.quick:
        sets = {"CBSD68": pick(sets["CBSD68"], 3), "Kodak24": pick(sets["Kodak24"], 2)}
    tune_names = pick(list_set(cfg, "CBSD68"), 2 if cfg.quick else 4)
    inputs = {}
    for s, names in sets.items():
        inputs[s] = denoise_inputs(b, s, names)
    tune_inputs = denoise_inputs(b, "CBSD68", tune_names)
    ours, fams = denoise_methods(b)

    def metric_for(clean):
        return lambda out: {"psnr": psnr(clean, out), "ssim": ssim(clean, out)}

    cleans = {}

    def clean_of(s, name):
        if (s, name) not in cleans:
            cleans[(s, name)] = load_clean(cfg, s, name)
        return cleans[(s, name)]

    # noisy input's own figures
    noisy = {}
    for s, names in sets.items():
        for sig in SIGMAS:
            recs = []
            for name in names:
                c = clean_of(s, name)
                y = quantise(read_rgb(inputs[s][(name, sig)]))
                recs.append({"psnr": psnr(c, y), "ssim": ssim(c, y),
                             "seconds": 0.0, "nfe": 0})
            noisy[(s, sig)] = aggregate(recs)

    # 1. tuning: every candidate of every family on the tuning subset
    b.log("denoise: tuning %d baseline families on CBSD68 %s" % (
        len(fams), ", ".join(stem(n) for n in tune_names)))
    tuned = {}       # (family, sigma) -> (method, agg on subset)
    tuning_table = {}
    for fam, (flabel, cands) in fams.items():
        for sig in SIGMAS:
            best = None
            for m in cands:
                recs = [b.measure("denoise", m, "CBSD68", n, "s%d" % sig,
                                  tune_inputs[(n, sig)],
                                  metric_for(clean_of("CBSD68", n)), sigma=sig)
                        for n in tune_names]
                agg = aggregate(recs)
                if agg and (best is None or agg["psnr"] > best[1]["psnr"]):
                    best = (m, agg)
            if best:
                tuned[(fam, sig)] = best
                b.log("  %s sigma %d: best %s -> %.2f dB on the subset" % (
                    flabel, sig, best[0].params, best[1]["psnr"]))
    # ours on the tuning subset too (for the subset comparison table)
    for m in ours:
        for sig in ROW_SIGMAS.get(m.key, SIGMAS):
            recs = [b.measure("denoise", m, "CBSD68", n, "s%d" % sig,
                              tune_inputs[(n, sig)],
                              metric_for(clean_of("CBSD68", n)), sigma=sig)
                    for n in tune_names]
            tuning_table[(m.label, sig)] = aggregate(recs)
    for (fam, sig), (m, agg) in tuned.items():
        tuning_table[(fams[fam][0], sig)] = agg

    # G'MIC's best denoiser per sigma = the G'MIC family best on the subset
    # among those that are run on the full sets (patchpca: subset only).
    gmic_fams = [f for f in fams if f.startswith("gmic-") and f != "gmic-patchpca"]
    gmic_best = {}
    for sig in SIGMAS:
        cands = [(tuned[(f, sig)][1]["psnr"], f) for f in gmic_fams
                 if (f, sig) in tuned]
        if cands:
            gmic_best[sig] = max(cands)[1]

    # 2. full sets
    by_key = {m.key: m for m in ours}
    full_rows = [("ours-1step", ours[0].label),
                 ("ours-1step-noclip", ours[1].label),
                 ("ours-1step-x8", ours[2].label),
                 ("ours-sampled", ours[3].label),
                 ("gegl-dct", fams["gegl-dct"][0]),
                 ("gegl-nr", fams["gegl-nr"][0]),
                 ("gmic-best", "G'MIC best denoiser")]
    results = {}   # (row, set, sigma) -> agg
    chosen = {}    # (row, sigma) -> method
    fig_image = {"Kodak24": "kodim23.png" if "kodim23.png" in sets["Kodak24"]
                 else sets["Kodak24"][-1], "CBSD68": None}
    for s, names in sets.items():
        for sig in SIGMAS:
            for row, label in full_rows:
                if row in ONE_SET_ROWS and s != ONE_SET_ROWS[row]:
                    continue
                if sig not in ROW_SIGMAS.get(row, SIGMAS):
                    continue
                if row.startswith("ours"):
                    m = by_key[row]
                elif row == "gmic-best":
                    if sig not in gmic_best:
                        continue
                    m = tuned[(gmic_best[sig], sig)][0]
                else:
                    if (row, sig) not in tuned:
                        continue
                    m = tuned[(row, sig)][0]
                chosen[(row, sig)] = m
                b.log("denoise %s sigma %d: %s (%d images)" % (
                    s, sig, m.label, len(names)))
                recs = []
                for i, n in enumerate(names):
                    keep = None
                    if s == "Kodak24" and n == fig_image["Kodak24"] and sig == 25:
                        keep = os.path.join(b.keep, "denoise", "%s_%s.png" % (row, stem(n)))
                    rec = b.measure("denoise", m, s, n, "s%d" % sig,
                                    inputs[s][(n, sig)],
                                    metric_for(clean_of(s, n)), keep_as=keep,
                                    sigma=sig)
                    recs.append(rec)
                    if rec is None and ("denoise", m.label) in b.unavailable:
                        break
                results[(row, s, sig)] = aggregate(recs)
                if results[(row, s, sig)]:
                    b.log("  -> %s" % fmt_rec(results[(row, s, sig)]))
    return {"sets": {k: len(v) for k, v in sets.items()},
            "tune_names": tune_names, "tuned": {
                "%s|%d" % k: {"label": fams[k[0]][0], "params": v[0].params,
                              "psnr": v[1]["psnr"]} for k, v in tuned.items()},
            "tuning_table": tuning_table, "gmic_best": gmic_best,
            "results": results, "rows": full_rows, "noisy": noisy,
            "chosen": {k: v for k, v in chosen.items()},
            "fig_image": fig_image["Kodak24"]}


# ========================================================= camera noise

CAMERA_SET = "Kodak24"
# Images of the camera set the baselines' grids are searched on (spread
# over the set); the best setting there then runs on every image.
CAMERA_TUNE = 6
# 10 sampled steps cost ten times one step: on this many of those only.
CAMERA_SAMPLED = 2


def camera_inputs(b, names):
    """The camera-like noisy photos (tests/bench/camera_noise.py, its
    parameters and seed) of CAMERA_SET, made in WORK once per parameter
    file: {name: (noisy.png, clean.png, manifest record)}."""
    import sys
    sys.path.insert(0, HERE)
    import camera_noise
    with open(camera_noise.PARAMS) as f:
        params = json.load(f)
    d = os.path.join(b.cfg.work, "inputs", "camera", key_of(params), CAMERA_SET)
    os.makedirs(d, exist_ok=True)
    out = {}
    for name in names:
        base = os.path.join(d, stem(name))
        rec_p = base + ".json"
        if not os.path.exists(rec_p):
            rec = camera_noise.make_one(b.cfg.eval, CAMERA_SET, name, params, d)
            with open(rec_p, "w") as f:
                json.dump(rec, f)
        with open(rec_p) as f:
            rec = json.load(f)
        out[name] = (base + "_noisy.png", base + "_clean.png", rec)
    return out


def camera_methods(b):
    cfg = b.cfg
    q = cfg.quick
    ours_fp = ["cli", b.cli_fp_for("camera"), b.model_fp, cfg.seed]
    ours = [
        Method("ours-1step-auto", "ours, one step, sigma estimated", ours_fp,
               cli_runner(cfg, "denoise", lambda **k: [
                   "--one-step", "--seed", cfg.seed]), {"one_step": True},
               family="camera"),
        Method("ours-default-auto",
               "ours, the CLI's defaults (sigma estimated)", ours_fp,
               cli_runner(cfg, "denoise", lambda **k: ["--seed", cfg.seed]),
               {"defaults": True}, family="camera"),
        Method("ours-10steps-auto",
               "ours, 10 ddim steps (the previous default), sigma estimated",
               ours_fp,
               cli_runner(cfg, "denoise", lambda **k: [
                   "--steps", 10, "--sampler", "ddim", "--seed", cfg.seed]),
               {"steps": 10, "sampler": "ddim"}, family="camera"),
    ]

    def dct(sg):
        return lambda **k: ["gegl:denoise-dct", "sigma=%g" % sg,
                            "patch-size=size8x8"]

    def nr(it):
        return lambda **k: ["gegl:noise-reduction", "iterations=%d" % it]

    def g_denoise(ss, sp):
        return lambda **k: ["denoise", "%g,%g" % (ss, sp)]

    gegl_fp = ["gegl", b.gegl_v]
    gmic_fp = ["gmic", b.gmic_v]
    fams = {
        "gegl-dct": ("GEGL denoise-dct", [
            Method("cam-gegl-dct", "GEGL denoise-dct", gegl_fp,
                   gegl_runner(dct(sg)), {"sigma": sg, "patch-size": "8x8"})
            for sg in ((5, 8, 11) if q else (4, 6, 8, 11, 15))]),
        "gegl-nr": ("GEGL noise-reduction", [
            Method("cam-gegl-nr", "GEGL noise-reduction", gegl_fp,
                   gegl_runner(nr(it)), {"iterations": it})
            for it in ((2, 4) if q else (1, 2, 4, 8, 16))]),
        "gmic-denoise": ("G'MIC denoise", [
            Method("cam-gmic-denoise", "G'MIC denoise", gmic_fp,
                   gmic_runner(g_denoise(ss, sp)),
                   {"std_s": ss, "std_p": sp})
            for ss in ((3,) if q else (3, 10))
            for sp in ((6, 10) if q else (2, 3, 4, 6, 9, 13, 18))]),
    }
    return ours, fams


def run_camera(b):
    cfg = b.cfg
    names = list_set(cfg, CAMERA_SET)
    if cfg.quick:
        names = pick(names, 3)
    tune_names = pick(names, 2 if cfg.quick else CAMERA_TUNE)
    inputs = camera_inputs(b, names)
    ours, fams = camera_methods(b)
    cleans = {n: read_rgb(inputs[n][1]) for n in names}

    def metric_for(name):
        c = cleans[name]
        return lambda out: {"psnr": psnr(c, out), "ssim": ssim(c, out)}

    def sigma_of(name):
        """The CLI's estimate for the photo (its stderr line)."""
        r = subprocess.run([cfg.cli, "denoise", inputs[name][0], "-o",
                            os.path.join(b.tmp, "never.png"), "--model",
                            "/nonexistent"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        m = re.search(r"estimated sigma ([0-9.]+)", r.stderr.decode())
        return float(m.group(1)) if m else None

    noisy_recs = []
    for n in names:
        y = quantise(read_rgb(inputs[n][0]))
        noisy_recs.append({"psnr": psnr(cleans[n], y),
                           "ssim": ssim(cleans[n], y), "seconds": 0.0,
                           "nfe": 0})
    results = {"noisy": aggregate(noisy_recs)}
    b.log("camera: tuning %d baseline families on %s" % (
        len(fams), ", ".join(stem(n) for n in tune_names)))
    tuned, tuning = {}, {}
    for fam, (flabel, cands) in fams.items():
        best = None
        for m in cands:
            agg = aggregate([b.measure("camera", m, CAMERA_SET, n, "cam",
                                       inputs[n][0], metric_for(n))
                             for n in tune_names])
            tuning[(flabel, json.dumps(m.params, sort_keys=True))] = agg
            if agg and (best is None or agg["psnr"] > best[1]["psnr"]):
                best = (m, agg)
        if best:
            tuned[fam] = best
            b.log("  %s: best %s -> %.2f dB on the subset" % (
                flabel, best[0].params, best[1]["psnr"]))
    fig = "kodim23.png" if "kodim23.png" in names else names[-1]
    rows = [(m.key, m.label) for m in ours] + \
        [(fam, fams[fam][0]) for fam in fams]
    # The CLI's default denoise steps: with 1 (one step) the defaults row is
    # the one-step row (the same pixels), not run twice.
    helptext = subprocess.run([cfg.cli, "--help"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout.decode()
    mdef = re.search(r"denoise (\d+)\)", helptext)
    default_steps = int(mdef.group(1)) if mdef else None
    # 10 sampled steps cost ten times one: on the tuning images only.
    subset_rows = {"ours-10steps-auto"}
    subset = {}
    for row, label in rows:
        m = next((x for x in ours if x.key == row), None) or \
            (tuned[row][0] if row in tuned else None)
        if m is None:
            continue
        if row == "ours-default-auto" and default_steps == 1:
            results[row] = results.get("ours-1step-auto")
            continue
        imgs = tune_names[:CAMERA_SAMPLED] if row in subset_rows else names
        b.log("camera: %s (%d images)" % (label, len(imgs)))
        recs = []
        for n in imgs:
            keep = os.path.join(b.keep, "camera", "%s_%s.png" % (row, stem(n))) \
                if n == fig else None
            recs.append(b.measure("camera", m, CAMERA_SET, n, "cam",
                                  inputs[n][0], metric_for(n), keep_as=keep))
        results[row] = aggregate(recs)
        if results[row]:
            b.log("  -> %s" % fmt_rec(results[row]))
    # one step on the same subset, for the comparison with 10 steps
    subset["ours-1step-auto"] = aggregate([
        b.measure("camera", ours[0], CAMERA_SET, n, "cam", inputs[n][0],
                  metric_for(n)) for n in tune_names[:CAMERA_SAMPLED]])
    for row in subset_rows:
        subset[row] = results.pop(row, None)
    rows = [r for r in rows if r[0] not in subset_rows]
    sigmas = {n: sigma_of(n) for n in names}
    return {"names": names, "tune_names": tune_names, "rows": rows,
            "default_steps": default_steps, "subset": subset,
            "results": results, "tuned": {f: v[0].params for f, v in tuned.items()},
            "tuning": tuning, "fig": fig, "inputs": inputs, "sigmas": sigmas,
            "manifest": [inputs[n][2] for n in names]}


def camera_section(b, cam, out):
    """The report's camera-noise section (lines) and its example figure."""
    cfg = b.cfg
    L = []
    A = L.append
    res = cam["results"]
    man = cam["manifest"]
    A("## Denoise: camera-like noise")
    A("")
    A("%s (%d images) made camera-like by `tests/bench/camera_noise.py` "
      "(parameters and seed in `tests/bench/camera_noise.json`): "
      "unprocessing (Brooks et al. 2019), Poisson-Gaussian noise on an RGGB "
      "mosaic in linear light (Foi et al. 2008) over phone (ISO 100-3200) "
      "and camera (ISO 400-12800) ranges with per-channel white-balance "
      "gains, Malvar demosaicking, colour matrix, sRGB and tone curves, JPEG "
      "at quality %d-%d. Noise RMS per image %.1f to %.1f (0..255; red and "
      "blue noisier than green), noisy PSNR %.2f to %.2f dB. The reference is "
      "the clean image; every method reads the decoded JPEG (8-bit PNG)." % (
          CAMERA_SET, len(cam["names"]),
          min(r["jpeg_quality"] for r in man), max(r["jpeg_quality"] for r in man),
          min(np.mean(r["noise_rms"]) for r in man),
          max(np.mean(r["noise_rms"]) for r in man),
          min(r["psnr_noisy"] for r in man), max(r["psnr_noisy"] for r in man)))
    A("")
    commit = cfg.source_commit or (subprocess.run(
        ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
        .strip() or "unknown")
    A("This section: run on %s from commit `%s` (`%s`, sha256 `%s…`; "
      "`quality.py --tasks camera` replaces only it), %d CPU cores shared "
      "(load average %.1f at its end)." % (
          time.strftime("%Y-%m-%d"), commit, b.cli_version,
          b.cli_fp_for("camera"), os.cpu_count(), os.getloadavg()[0]))
    A("")
    A("Ours runs with sigma estimated (`--sigma auto`, the default: no hand "
      "tuning); the estimates ranged %.1f to %.1f (mean %.1f). Each "
      "GEGL/G'MIC filter runs at **its best setting** from a small grid, "
      "chosen by mean PSNR on %d of the images (%s), a setting a user would "
      "not know." % (
          min(v for v in cam["sigmas"].values() if v is not None),
          max(v for v in cam["sigmas"].values() if v is not None),
          np.mean([v for v in cam["sigmas"].values() if v is not None]),
          len(cam["tune_names"]), ", ".join(stem(n) for n in cam["tune_names"])))
    A("")
    A("| method | PSNR / SSIM | s/img | NFE | setting |")
    A("| --- | --- | ---: | ---: | --- |")
    if res.get("noisy"):
        A("| noisy input (decoded JPEG) | %s | — | — | |" % cell(res["noisy"]))
    for row, label in cam["rows"]:
        a = res.get(row)
        if a is None:
            why = b.unavailable.get(("camera", label), "no result")
            A("| %s | not run: %s | — | — | |" % (label, why))
            continue
        t, n = time_nfe([a])
        setting = params_str(cam["tuned"][row]) if row in cam["tuned"] else \
            "sigma estimated"
        A("| %s | %s | %s | %s | %s |" % (label, cell(a), t, n, setting))
    A("")
    if cam.get("default_steps") == 1:
        A("The CLI's default for denoise is one step (steps 1 is the "
          "one-step MMSE estimate in both front ends), so the defaults row "
          "is the one-step row.")
        A("")
    sub = cam.get("subset") or {}
    if sub.get("ours-10steps-auto") and sub.get("ours-1step-auto"):
        t1, n1 = time_nfe([sub["ours-1step-auto"]])
        t10, n10 = time_nfe([sub["ours-10steps-auto"]])
        A("On %s, one step against 10 ddim steps (the previous default), "
          "sigma estimated: %s (%s s/img, NFE %s) against %s (%s s/img, NFE "
          "%s)." % (
              ", ".join(stem(n) for n in cam["tune_names"][:CAMERA_SAMPLED]),
              cell(sub["ours-1step-auto"]), t1, n1,
              cell(sub["ours-10steps-auto"]), t10, n10))
        A("")

    A("Grids (mean PSNR / SSIM on the tuning images):")
    A("")
    A("| filter | setting | PSNR / SSIM |")
    A("| --- | --- | --- |")
    for (lab, par), a in cam["tuning"].items():
        A("| %s | %s | %s |" % (lab, params_str(json.loads(par)), cell(a)))
    A("")
    fig = cam["fig"]
    clean = read_rgb(cam["inputs"][fig][1])
    noisy = quantise(read_rgb(cam["inputs"][fig][0]))
    h, w = clean.shape[:2]
    f = crop_figure(b, out, "camera", cam["rows"], fig, clean,
                    (h // 2 - 80, h // 2 + 80, w // 2 - 120, w // 2 + 40),
                    ("noisy (JPEG)", noisy),
                    "camera-like noise, %s %s (crop)" % (CAMERA_SET, stem(fig)))
    if f:
        A("![camera-like noise](%s)" % f)
        A("")
    return L


def camera_target(cam):
    """(measured, verdict) of issue 16's target: ours with sigma estimated
    at least 1 dB above every filter at its best setting."""
    res = cam["results"]
    ours = res.get("ours-1step-auto")
    filt = [(lab, res.get(row)) for row, lab in cam["rows"]
            if not row.startswith("ours") and res.get(row)]
    if ours is None or not filt:
        return "not run", "**not met** (no result)"
    lab, best = max(filt, key=lambda x: x[1]["psnr"])
    d = ours["psnr"] - best["psnr"]
    return ("%.2f dB vs best filter %s %.2f dB (%+.2f dB)" % (
        ours["psnr"], lab, best["psnr"], d),
        "**met**" if d >= 1.0 else "**not met**")


def splice_camera(path, section, target):
    """Puts the camera section (and its target row) into an existing report:
    a camera-only run (--tasks camera) leaves the other sections as they
    are."""
    with open(path) as f:
        text = f.read()
    lines = text.rstrip("\n").split("\n")
    head = "## Denoise: camera-like noise"
    if head in lines:
        i = lines.index(head)
        j = next((k for k in range(i + 1, len(lines))
                  if lines[k].startswith("## ")), len(lines))
        lines[i:j] = section
    else:
        j = next((k for k, ln in enumerate(lines) if ln == "## Upscale"),
                 len(lines))
        lines[j:j] = section
    row = "| denoise, camera-like noise, sigma estimated, one step >= every GEGL/G'MIC filter at its best + 1 dB | %s | %s |" % target
    k = next((k for k, ln in enumerate(lines)
              if ln.startswith("| denoise, camera-like noise")), None)
    if k is not None:
        lines[k] = row
    else:
        t = lines.index("## Targets")
        end = next(k for k in range(t + 4, len(lines)) if not lines[k].startswith("|"))
        lines.insert(end, row)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


# ================================================================ upscale

def sr_inputs(b, set_name, names, scale):
    """HR cropped (top-left anchored) to a multiple of the scale, grey
    images converted to RGB; LR = PIL bicubic downscale (antialiased,
    a = -0.5, like MATLAB imresize), rounded to 8 bits."""
    d = os.path.join(b.cfg.work, "inputs", "sr", set_name)
    os.makedirs(d, exist_ok=True)
    out = {}
    for name in names:
        hr_p = os.path.join(d, "%s_x%d_hr.png" % (stem(name), scale))
        lr_p = os.path.join(d, "%s_x%d_lr.png" % (stem(name), scale))
        if not (os.path.exists(hr_p) and os.path.exists(lr_p)):
            im = Image.open(os.path.join(b.cfg.eval, set_name, name)).convert("RGB")
            w, h = im.size
            w2, h2 = w - w % scale, h - h % scale
            hr = im.crop((0, 0, w2, h2))
            lr = hr.resize((w2 // scale, h2 // scale), Image.BICUBIC)
            hr.save(hr_p)
            lr.save(lr_p)
        out[name] = (hr_p, lr_p)
    return out


def sr_methods(b):
    cfg = b.cfg
    q = cfg.quick
    ours_fp = ["cli", b.cli_fp_for("upscale"), b.model_fp, cfg.seed]
    ours = Method("ours", "ours (%s)" % steps_label(cfg, cfg.upscale_steps),
                  ours_fp, cli_runner(cfg, "upscale", lambda scale, **k: [
                      "--scale", scale, "--steps", cfg.upscale_steps,
                      "--seed", cfg.seed] + sampler_args(cfg)),
                  {"steps": cfg.upscale_steps, "sampler": cfg.sampler})

    def pil_bicubic(inp, out, scale, **k):
        t0 = time.perf_counter()
        im = Image.open(inp).convert("RGB")
        im.resize((im.size[0] * scale, im.size[1] * scale), Image.BICUBIC).save(out)
        return {"seconds": time.perf_counter() - t0, "nfe": 0}

    bic = Method("bicubic", "bicubic (PIL, a = -0.5)", ["pil", Image.__version__],
                 pil_bicubic)
    gegl_fp = ["gegl", b.gegl_v]
    gegls = [Method("gegl-" + smp, "GEGL scale-ratio, %s" % smp, gegl_fp,
                    gegl_runner(lambda scale, smp=smp, **k: [
                        "gegl:scale-ratio", "x=%d" % scale, "y=%d" % scale,
                        "sampler=" + smp, "abyss-policy=clamp"]),
                    {"sampler": smp})
             for smp in ("cubic", "nohalo", "lohalo")]
    gmic_fp = ["gmic", b.gmic_v]
    # G'MIC's `resize` puts output pixel x at source x / scale (its grid is
    # anchored at the top-left pixel corner-to-centre), half a source pixel
    # minus half an output pixel off the centre-aligned grid of the LR made
    # here: (scale - 1) / 2 output pixels.  The "re-centred" variants undo
    # that shift inside G'MIC (warp by a constant field, cubic), so that the
    # interpolator, not the grid convention, is what gets measured.
    def resize(it, recentre):
        def f(scale, **k):
            cmd = ["resize", "%d%%,%d%%,1,3,%d,1" % (100 * scale, 100 * scale, it)]
            if recentre:
                cmd += ["100%%,100%%,1,2,%g" % ((scale - 1) / 2.0),
                        "warp[0]", "[1],1,2,1", "rm[1]"]
            return cmd
        return f
    gm = [Method("gmic-resize-%d%s" % (it, "-rc" if rc else ""),
                 "G'MIC resize, %s%s" % (nm, ", re-centred" if rc else ""),
                 gmic_fp, gmic_runner(resize(it, rc)),
                 {"interpolation": nm, "re-centred": bool(rc)}, family="gmic")
          for it, nm in ((5, "bicubic"), (6, "lanczos")) for rc in (0, 1)]
    grid = ((2, 0.4, 10), (1, 0.4, 5)) if q else \
        ((2, 0.4, 10), (1, 0.4, 5), (1, 0.4, 0), (0.5, 0.4, 5), (2, 0.2, 20), (4, 0.4, 10))
    gm += [Method("gmic-smart", "G'MIC upscale_smart", gmic_fp,
                  gmic_runner(lambda scale, sm=sm, an=an, sh=sh, **k: [
                      "upscale_smart", "%d%%,%d%%,1,%g,%g,%g" % (
                          100 * scale, 100 * scale, sm, an, sh)]),
                  {"smoothness": sm, "anisotropy": an, "sharpening": sh},
                  family="gmic")
           for sm, an, sh in grid]
    return ours, bic, gegls, gm


def run_upscale(b):
    cfg = b.cfg
    sets = {"Set5": list_set(cfg, "Set5"), "Set14": list_set(cfg, "Set14")}
    if cfg.quick:
        sets = {"Set5": pick(sets["Set5"], 2), "Set14": pick(sets["Set14"], 2)}
    tune_names = pick(list_set(cfg, "Set14"), 2 if cfg.quick else 4)
    ours, bic, gegls, gm = sr_methods(b)

    def metric_for(hr_p, scale):
        hr = read_rgb(hr_p)
        hb = hr[scale:-scale, scale:-scale]

        def f(out):
            if out.shape != hr.shape:
                raise RuntimeError("output %s, expected %s" % (out.shape, hr.shape))
            ob = out[scale:-scale, scale:-scale]
            return {"psnr": psnr(hb, ob), "ssim": ssim(hb, ob)}
        return f

    def measure(m, s, n, scale, paths, keep=None):
        hr_p, lr_p = paths
        try:
            return b.measure("upscale", m, s, n, "x%d" % scale, lr_p,
                             metric_for(hr_p, scale), keep_as=keep, scale=scale)
        except RuntimeError as e:
            b.failures.append("upscale %s %s x%d: %s" % (m.label, n, scale, e))
            return None

    # tune G'MIC on the Set14 subset, per scale
    b.log("upscale: tuning G'MIC on Set14 %s" % ", ".join(stem(n) for n in tune_names))
    gmic_best = {}
    tuning = {}
    for scale in SCALES:
        tin = sr_inputs(b, "Set14", tune_names, scale)
        best = None
        for m in gm:
            agg = aggregate([measure(m, "Set14", n, scale, tin[n]) for n in tune_names])
            tuning[(m.label, json.dumps(m.params), scale)] = agg
            if agg and (best is None or agg["psnr"] > best[1]["psnr"]):
                best = (m, agg)
        if best:
            gmic_best[scale] = best[0]
            b.log("  x%d: best %s %s -> %.2f dB" % (scale, best[0].label,
                                                   best[0].params, best[1]["psnr"]))

    rows = [("ours", ours.label), ("bicubic", bic.label)] + \
        [(m.key, m.label) for m in gegls] + [("gmic-best", "G'MIC best upscaler")]
    results, chosen = {}, {}
    fig = ("Set14", "comic.png" if "comic.png" in sets["Set14"] else sets["Set14"][0])
    for s, names in sets.items():
        for scale in SCALES:
            inp = sr_inputs(b, s, names, scale)
            for row, label in rows:
                if row == "ours":
                    m = ours
                elif row == "bicubic":
                    m = bic
                elif row == "gmic-best":
                    if scale not in gmic_best:
                        continue
                    m = gmic_best[scale]
                else:
                    m = [g for g in gegls if g.key == row][0]
                chosen[(row, scale)] = m
                b.log("upscale %s x%d: %s (%d images)" % (s, scale, m.label, len(names)))
                recs = []
                for n in names:
                    keep = None
                    if (s, n) == fig and scale == 4:
                        keep = os.path.join(b.keep, "upscale", "%s_%s.png" % (row, stem(n)))
                    rec = measure(m, s, n, scale, inp[n], keep)
                    recs.append(rec)
                    if rec is None and ("upscale", m.label) in b.unavailable:
                        break
                results[(row, s, scale)] = aggregate(recs)
                if results[(row, s, scale)]:
                    b.log("  -> %s" % fmt_rec(results[(row, s, scale)]))
    return {"sets": {k: len(v) for k, v in sets.items()}, "tune_names": tune_names,
            "gmic_best": {k: (v.label, v.params) for k, v in gmic_best.items()},
            "tuning": tuning, "results": results, "rows": rows, "fig": fig}


# ================================================================ inpaint

def mask_path(kind, w, h):
    return os.path.join(HERE, "masks", "%s-%dx%d.png" % (kind, w, h))


def ring_of(m, width=TEXTURE_RING):
    """The known pixels within `width` of the hole (Euclidean)."""
    from scipy.ndimage import distance_transform_edt
    return (distance_transform_edt(~m) <= width) & ~m


def laplacian_ratio(img, m, ring):
    """RMS of the 4-neighbour Laplacian of the luminance (RGB mean) in the
    hole over its RMS in the ring: high-frequency energy inside against
    around.  The benchmark's texture ratio is this for an output divided by
    this for the original (1: as textured as the photo; a blur is far
    below)."""
    from scipy.ndimage import laplace
    lap = laplace(img.astype(np.float64).mean(axis=2), mode="reflect")
    return float(np.sqrt(np.mean(lap[m] ** 2)) /
                 max(np.sqrt(np.mean(lap[ring] ** 2)), 1e-9))


def mean_holed(clean, m):
    x = clean.copy()
    x[m] = np.round(clean[~m].mean(axis=0))
    return x


def inpaint_inputs(b, names):
    """The image with the hole filled with the mean colour of the known
    pixels (rounded): no method sees what was there, and none starts from an
    arbitrary black."""
    d = os.path.join(b.cfg.work, "inputs", "inpaint")
    os.makedirs(d, exist_ok=True)
    out = {}
    for kind in MASK_SETS:
        for name in names:
            p = os.path.join(d, "%s_%s_meanhole.png" % (kind, stem(name)))
            clean = load_clean(b.cfg, "Kodak24", name)
            h, w = clean.shape[:2]
            mp = mask_path(kind, w, h)
            if not os.path.exists(mp):
                raise SystemExit("no mask %s (run tests/bench/make_masks.py)" % mp)
            if not os.path.exists(p):
                m = np.asarray(Image.open(mp)) > 0
                write_png8(p, mean_holed(clean, m))
            out[(kind, name)] = (p, mp)
    return out


def inpaint_methods(b):
    cfg = b.cfg
    q = cfg.quick
    ours_fp = ["cli", b.cli_fp_for("inpaint"), b.model_fp, cfg.seed]
    eta = [] if cfg.inpaint_eta is None else ["--eta", cfg.inpaint_eta]
    prec = [] if cfg.inpaint_precision is None else \
        ["--precision", cfg.inpaint_precision]
    def ours_start(key, what, extra):
        params = {"steps": cfg.inpaint_steps, "sampler": cfg.sampler,
                  "eta": cfg.inpaint_eta, "start": extra}
        if cfg.inpaint_precision is not None:
            params["precision"] = cfg.inpaint_precision
        return Method(key, "ours, %s (%s%s%s)" % (
            what, steps_label(cfg, cfg.inpaint_steps),
            "" if cfg.inpaint_eta is None else ", eta %g" % cfg.inpaint_eta,
            "" if cfg.inpaint_precision is None else
            ", precision %s" % cfg.inpaint_precision),
            ours_fp, cli_runner(cfg, "inpaint", lambda **k: [
                "--steps", cfg.inpaint_steps, "--seed", cfg.seed]
                + sampler_args(cfg) + eta + prec + extra, row=key),
            params)
    # the starts: each hole by its shape (auto), patches, the smooth fill,
    # pure noise (strength 1)
    ours = [ours_start("ours-auto", "each hole by its shape (auto)",
                       ["--fill", "auto"]),
            ours_start("ours-patch", "from the patch fill", ["--fill", "patch"]),
            ours_start("ours-smooth", "from the smooth fill", ["--fill", "smooth"]),
            ours_start("ours-noise", "from noise (strength 1)", ["--strength", "1"]),
            ours_start("ours-before", "before: smooth fill, strength 0.5",
                       ["--fill", "smooth", "--strength", "0.5"])]

    def patch_fill(inp, out, mask, **k):
        r, dt = timed([cfg.patchfill, inp, mask, out, str(cfg.seed)])
        if r.returncode != 0:
            raise RuntimeError("bench_patchfill failed (%d): %s" % (
                r.returncode, r.stderr.decode("utf-8", "replace")[-400:]))
        return {"seconds": dt, "nfe": 0}

    pf = Method("patch-fill", "our patch fill alone (no network)",
                ["patchfill", file_digest(cfg.patchfill), cfg.seed], patch_fill)

    def mean_fill(inp, out, mask, **k):
        t0 = time.perf_counter()
        x = np.asarray(Image.open(inp).convert("RGB")).astype(np.float64)
        m = np.asarray(Image.open(mask)) > 0
        x[m] = x[~m].mean(axis=0)
        write_png8(out, np.round(x))
        return {"seconds": time.perf_counter() - t0, "nfe": 0}

    mf = Method("mean-fill", "mean-colour fill", ["mean-fill", 1], mean_fill)
    gmic_fp = ["gmic", b.gmic_v]
    # patch-based: [mask],patch_size,lookup_size,lookup_factor,
    # lookup_increment,blend_size,blend_threshold,blend_decay,blend_scales,
    # is_blend_outer
    pgrid = ((5, 22, 0), (9, 22, 0)) if q else \
        ((5, 22, 0), (7, 22, 0), (9, 22, 0), (11, 22, 0), (7, 22, 5), (9, 32, 5))
    patch = [Method("gmic-patch", "G'MIC inpaint (patch-based)", gmic_fp,
                    gmic_runner(lambda ps=ps, ls=ls, bs=bs, **k: [
                        "inpaint[0]", "[1],%d,%d,0.5,1,%d" % (ps, ls, bs), "rm[1]"]),
                    {"patch_size": ps, "lookup_size": ls, "blend_size": bs},
                    family="gmic-patch")
             for ps, ls, bs in pgrid]
    mgrid = ((9, 10, 5),) if q else ((5, 10, 5), (9, 10, 5), (13, 10, 5), (9, 20, 5), (9, 10, 0))
    match = [Method("gmic-matchpatch", "G'MIC inpaint_matchpatch (multi-scale)",
                    gmic_fp, gmic_runner(lambda ps=ps, it=it, bs=bs, **k: [
                        "inpaint_matchpatch[0]", "[1],0,%d,%d,%d" % (ps, it, bs),
                        "rm[1]"]),
                    {"patch_size": ps, "iterations_per_scale": it, "blend_size": bs},
                    family="gmic-matchpatch")
             for ps, it, bs in mgrid]
    pde = Method("gmic-pde", "G'MIC inpaint_pde (diffusion, not patch-based)",
                 gmic_fp, gmic_runner(lambda **k: ["inpaint_pde[0]", "[1]", "rm[1]"]),
                 {"defaults": "75%,1,20"})
    return ours, pf, mf, patch, match, pde


def run_inpaint(b):
    cfg = b.cfg
    names = list_set(cfg, "Kodak24")
    tune_names = [names[0], names[17]] if not cfg.quick else [names[0]]
    if cfg.inpaint_images:
        names = [n for n in names if n in cfg.inpaint_images]
    elif cfg.quick:
        # one landscape and one portrait image
        names = [names[0], names[17]]
    inputs = inpaint_inputs(b, sorted(set(names) | set(tune_names)))
    ours, pf, mf, patch, match, pde = inpaint_methods(b)
    # the CLI's default start, as its help says it
    hl = subprocess.run([cfg.cli_for("inpaint"), "--help"],
                        stdout=subprocess.PIPE).stdout.decode()
    md = re.search(r"--fill .*?\(default: (\w+)\)", hl, re.S)
    default_fill = md.group(1) if md else "smooth"
    cleans = {}

    def metric_for(name, mp):
        if name not in cleans:
            cleans[name] = load_clean(cfg, "Kodak24", name)
        clean = cleans[name]
        m = np.asarray(Image.open(mp)) > 0
        ys, xs = np.nonzero(m)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1

        ring = ring_of(m)
        tex_clean = laplacian_ratio(clean, m, ring)

        def f(out):
            # pixels outside the hole are the input's (what a selection-
            # limited filter gives; some G'MIC blends spill outside)
            comp = np.where(m[..., None], out, clean)
            return {"psnr": psnr(clean, comp, m),
                    "ssim": ssim(clean[y0:y1, x0:x1], comp[y0:y1, x0:x1]),
                    "texture": laplacian_ratio(comp, m, ring) / tex_clean,
                    "outside_changed": bool(np.any(out[~m] != clean[~m]))}
        return f

    def measure(m, kind, n, keep=None):
        p, mp = inputs[(kind, n)]
        return b.measure("inpaint", m, "Kodak24", n, kind + "-meanhole", p,
                         metric_for(n, mp), keep_as=keep, mask=mp)

    b.log("inpaint: tuning G'MIC on Kodak24 %s" % ", ".join(stem(n) for n in tune_names))
    best = {}
    for fam, cands in (("gmic-patch", patch), ("gmic-matchpatch", match)):
        for kind in MASK_SETS:
            bb = None
            for m in cands:
                agg = aggregate([measure(m, kind, n) for n in tune_names])
                if agg and (bb is None or agg["psnr"] > bb[1]["psnr"]):
                    bb = (m, agg)
            if bb:
                best[(fam, kind)] = bb[0]
                b.log("  %s %s: best %s -> %.2f dB" % (fam, kind, bb[0].params,
                                                       bb[1]["psnr"]))
    by_key = {m.key: m for m in ours + [pf, mf, pde]}
    rows = [(m.key, m.label) for m in ours] + [
        ("patch-fill", pf.label), ("gmic-patch", patch[0].label),
        ("gmic-matchpatch", match[0].label), ("gmic-pde", pde.label),
        ("mean-fill", mf.label)]
    results, chosen = {}, {}
    fig = ("objects", "kodim23.png" if "kodim23.png" in names else names[-1])
    for kind in MASK_SETS:
        for row, label in rows:
            if row in by_key:
                m = by_key[row]
            else:
                if (row, kind) not in best:
                    continue
                m = best[(row, kind)]
            chosen[(row, kind)] = m
            b.log("inpaint %s: %s (%d images)" % (kind, m.label, len(names)))
            recs = []
            for n in names:
                keep = None
                if (kind, n) == fig:
                    keep = os.path.join(b.keep, "inpaint", "%s_%s.png" % (row, stem(n)))
                rec = measure(m, kind, n, keep)
                recs.append(rec)
                if rec is None and ("inpaint", m.label) in b.unavailable:
                    break
            results[(row, kind)] = aggregate(recs)
            if results[(row, kind)]:
                b.log("  -> %s" % fmt_rec(results[(row, kind)]))
    return {"n": len(names), "names": names, "tune_names": tune_names,
            "rows": rows, "default_row": "ours-" + default_fill,
            "default_fill": default_fill,
            "results": results,
            "chosen": {k: (v.label, v.params) for k, v in chosen.items()},
            "fig": fig}


# ================================================================ img2img

def run_img2img(b):
    cfg = b.cfg
    names = pick(list_set(cfg, "CBSD68"), 2 if cfg.quick else 4)
    strengths = (0.0, 0.25, 0.5, 0.75, 1.0) if cfg.quick else \
        tuple(round(0.1 * i, 1) for i in range(11))
    ours_fp = ["cli", b.cli_fp_for("img2img"), b.model_fp, cfg.seed]
    m = Method("img2img", "ours img2img (%s)" % steps_label(cfg, cfg.img2img_steps),
               ours_fp, cli_runner(cfg, "img2img", lambda strength, **k: [
                   "--strength", strength, "--steps", cfg.img2img_steps,
                   "--seed", cfg.seed] + sampler_args(cfg)),
               {"steps": cfg.img2img_steps, "sampler": cfg.sampler})
    per = {}
    b.log("img2img: %d images x %d strengths" % (len(names), len(strengths)))
    for n in names:
        clean = load_clean(cfg, "CBSD68", n)

        def metric(out, clean=clean):
            d = out - clean
            return {"psnr": psnr(clean, out), "ssim": ssim(clean, out),
                    "rmse": float(np.sqrt(np.mean(d * d)))}
        for st in strengths:
            rec = b.measure("img2img", m, "CBSD68", n, "st%.2f" % st,
                            os.path.join(cfg.eval, "CBSD68", n), metric,
                            strength=st)
            per[(n, st)] = rec
    curve = []
    for st in strengths:
        recs = [per[(n, st)] for n in names]
        agg = aggregate(recs)
        if agg:
            agg["rmse"] = float(np.mean([r["rmse"] for r in recs]))
            agg["rmse_each"] = [r["rmse"] for r in recs]
        curve.append((st, agg))
    return {"names": names, "curve": curve, "label": m.label}


# ================================================================ report

def fnum(x, d=2):
    return "—" if x is None else ("%.*f" % (d, x))


def cell(agg):
    if agg is None:
        return "not run"
    return "%s / %s" % (fnum(agg["psnr"]), fnum(agg.get("ssim"), 4))


def time_nfe(aggs):
    aggs = [a for a in aggs if a]
    if not aggs:
        return "—", "—"
    secs = mean([a["seconds"] for a in aggs])
    nfes = [a["nfe"] for a in aggs]
    if any(n is None for n in nfes):
        nfe = "?"
    else:
        lo, hi = min(nfes), max(nfes)
        nfe = ("%g" % round(lo, 1)) if abs(hi - lo) < 1e-9 else \
            "%g–%g" % (round(lo, 1), round(hi, 1))
    return fnum(secs, 2), nfe


def params_str(p):
    if not p:
        return "—"
    return ", ".join("%s %s" % (k, v) for k, v in p.items())


def plots(out, den, ups, inp, i2i):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = {}
    if den:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5.4))
        for ax, s in zip(axes, ("CBSD68", "Kodak24")):
            if s not in den["sets"]:
                continue
            for k, (row, label) in enumerate(den["rows"]):
                ys = [den["results"].get((row, s, sig)) for sig in SIGMAS]
                if all(y is None for y in ys):
                    continue
                ax.plot([sig for sig, y in zip(SIGMAS, ys) if y],
                        [y["psnr"] for y in ys if y], "o-", color="C%d" % k,
                        lw=2.5 if row.startswith("ours") else 1.5, label=label)
            for k, (name, (src, figs)) in enumerate(PUBLISHED_DENOISE.items()):
                if s in figs:
                    ax.plot(SIGMAS, figs[s], "x--", color="C%d" % (k + 7),
                            alpha=0.7, label=name + ", published")
            ys = [den["noisy"].get((s, sig)) for sig in SIGMAS]
            ax.plot(SIGMAS, [y["psnr"] for y in ys], "k:", label="noisy input")
            ax.set_title("denoise, %s (%d images)" % (s, den["sets"][s]))
            ax.set_xlabel("noise sigma (0..255)")
            ax.set_ylabel("PSNR (dB, RGB)")
            ax.set_xticks(SIGMAS)
            ax.grid(alpha=0.3)
        handles, labels = [], []
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
        fig.tight_layout(rect=(0, 0.17, 1, 1))
        files["denoise"] = "denoise.png"
        fig.savefig(os.path.join(out, files["denoise"]), dpi=110)
        plt.close(fig)
    if ups:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, s in zip(axes, ("Set5", "Set14")):
            labels = [lab for _, lab in ups["rows"]]
            for j, scale in enumerate(SCALES):
                vals = [ups["results"].get((row, s, scale)) for row, _ in ups["rows"]]
                xs = np.arange(len(labels)) + (j - 0.5) * 0.38
                ax.bar(xs, [v["psnr"] if v else 0 for v in vals], 0.36,
                       label="x%d" % scale)
            ax.set_xticks(np.arange(len(labels)))
            ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
            ax.set_ylabel("PSNR (dB, RGB, border = scale)")
            allv = [v["psnr"] for v in ups["results"].values() if v]
            if allv:
                ax.set_ylim(min(allv) - 2, max(allv) + 1)
            ax.set_title("upscale, %s (%d images)" % (s, ups["sets"][s]))
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        files["upscale"] = "upscale.png"
        fig.savefig(os.path.join(out, files["upscale"]), dpi=110)
        plt.close(fig)
    if inp:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        labels = [lab for _, lab in inp["rows"]]
        for j, kind in enumerate(MASK_SETS):
            vals = [inp["results"].get((row, kind)) for row, _ in inp["rows"]]
            xs = np.arange(len(labels)) + (j - 1) * 0.27
            ax.bar(xs, [v["psnr"] if v else 0 for v in vals], 0.25, label=kind)
        ax.set_xticks(np.arange(len(labels)))
        ax.set_xticklabels([lab.split(" (")[0] for lab in labels], rotation=20,
                           ha="right", fontsize=8)
        ax.set_ylabel("PSNR inside the mask (dB)")
        allv = [v["psnr"] for v in inp["results"].values() if v]
        if allv:
            ax.set_ylim(min(allv) - 2, max(allv) + 1)
        ax.set_title("inpaint, Kodak24 (%d images)" % inp["n"])
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        files["inpaint"] = "inpaint.png"
        fig.savefig(os.path.join(out, files["inpaint"]), dpi=110)
        plt.close(fig)
    if i2i and any(a for _, a in i2i["curve"]):
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        pts = [(st, a) for st, a in i2i["curve"] if a]
        for k, n in enumerate(i2i["names"]):
            ax.plot([st for st, _ in pts], [a["rmse_each"][k] for _, a in pts],
                    "-", color="0.7", lw=1)
        ax.plot([st for st, _ in pts], [a["rmse"] for _, a in pts], "o-",
                color="C0", lw=2, label="mean over %d images" % len(i2i["names"]))
        ax.set_xlabel("strength")
        ax.set_ylabel("RMSE to the input (0..255)")
        ax.set_title("img2img: distance to the input vs strength")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        files["img2img"] = "img2img.png"
        fig.savefig(os.path.join(out, files["img2img"]), dpi=110)
        plt.close(fig)
    return files


def crop_figure(b, out, task, rows, image, clean, box, extra=None, title=""):
    """A strip of crops (clean, [input], each method) for one image."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    y0, y1, x0, x1 = box
    tiles = [("original", clean)]
    if extra is not None:
        tiles.append(extra)
    for row, label in rows:
        p = os.path.join(b.keep, task, "%s_%s.png" % (row, stem(image)))
        if os.path.exists(p):
            tiles.append((label, read_rgb(p)))
    if len(tiles) < 3:
        return None
    n = len(tiles)
    cols = min(n, 4)
    rws = (n + cols - 1) // cols
    fig, axes = plt.subplots(rws, cols, figsize=(3.2 * cols, 3.0 * rws + 0.3))
    axes = np.atleast_1d(axes).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, (label, img) in zip(axes, tiles):
        ax.imshow(img[y0:y1, x0:x1].astype(np.uint8), interpolation="nearest")
        ax.set_title(label, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    name = "%s-example.png" % task
    fig.savefig(os.path.join(out, name), dpi=100)
    plt.close(fig)
    # RGB without matplotlib's alpha, optimised: noisy crops compress badly
    from PIL import Image
    Image.open(os.path.join(out, name)).convert("RGB").save(
        os.path.join(out, name), optimize=True)
    return name


def write_report(b, den, ups, inp, i2i, wall):
    cfg = b.cfg
    os.makedirs(cfg.out, exist_ok=True)
    files = plots(cfg.out, den, ups, inp, i2i)
    L = []
    A = L.append
    commit = cfg.source_commit or (subprocess.run(
        ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        or "unknown")
    A("# Quality benchmark%s" % (" (quick mode: a few images, small grids)" if cfg.quick else ""))
    A("")
    A("Written by `tests/bench/quality.py`; every measured number below comes "
      "from that run, published figures are marked and cited. Regenerate with:")
    A("")
    A("```sh")
    A("apt-get install gegl gmic python3-scipy python3-matplotlib   # once")
    A("nice -n 10 /usr/bin/python3 tests/bench/quality.py --eval ../shared/data/eval "
      "--work ../data/bench-cache%s" % (" --quick" if cfg.quick else ""))
    A("```")
    A("")
    la = os.getloadavg()
    A("| | |")
    A("| --- | --- |")
    A("| run | %s; the methods' own run times over every result below add "
      "up to %.1f h (tuning included); results are cached per image, and "
      "this invocation took %.0f min |" % (
          time.strftime("%Y-%m-%d"), b.method_seconds / 3600, wall / 60))
    A("| code | commit `%s`; `%s` (sha256 `%s…`)%s |" % (
        commit, b.cli_version, b.cli_fp, "".join(
            "; %s: commit `%s` (sha256 `%s…`)" % (t, c, b.task_cli_fp[t])
            for t, (_, c) in sorted(cfg.task_cli.items()))))
    A("| model | `%s`, sha256 `%s…` |" % (os.path.basename(cfg.model), b.model_fp))
    A("| ours | `gimp-diffusion-cli` with `--seed %d` and the step counts in "
      "the row labels (each step is one network evaluation per tile); "
      "sampler, eta and strength at the CLI's defaults%s%s |" % (
          cfg.seed, "" if not cfg.sampler else ", `--sampler %s`" % cfg.sampler,
          "" if cfg.inpaint_eta is None else
          ", except inpaint with `--eta %g`" % cfg.inpaint_eta))
    A("| machine | %d CPU cores, shared (load average %.1f at the end of the "
      "run): times are wall-clock per image, noisy, and include process "
      "start and, for ours, loading the model |" % (os.cpu_count(), la[0]))
    A("| baselines | Debian gegl %s, gmic %s |" % (b.gegl_v, b.gmic_v))
    A("")
    A("**Metrics.** PSNR on RGB 0..255, from the mean squared error over all "
      "pixels and channels; SSIM of Wang et al. (2004): 11x11 Gaussian window "
      "(sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, mean of the SSIM map over "
      "the window positions inside the image, per RGB channel, then averaged "
      "over the channels (no downsampling). Every output is rounded to 8 bits "
      "before it is measured. Figures are means over the images of per-image "
      "PSNR and SSIM. *s/img* is the mean wall-clock time per image; *NFE* the "
      "network evaluations per image as the CLI reports them (tiles count "
      "one each), 0 for filters.")
    A("")

    # ---------------------------------------------------------- targets
    A("## Targets")
    A("")
    A("| target | measured | verdict |")
    A("| --- | --- | --- |")

    if den:
        r1 = den["results"].get(("ours-1step", "CBSD68", 25))
        others = [(lab, den["results"].get((row, "CBSD68", 25)))
                  for row, lab in den["rows"] if not row.startswith("ours")]
        if r1 is None:
            A("| denoise one-step, CBSD68 sigma 25 > CBM3D's published 30.71 dB | not run | **not met** (no result) |")
            A("| denoise one-step, CBSD68 sigma 25 > every GEGL/G'MIC filter measured | not run | **not met** (no result) |")
        else:
            ok = r1["psnr"] > TARGET_CBM3D_S25
            A("| denoise one-step, CBSD68 sigma 25 > CBM3D's published %.2f dB | %.2f dB (noise clipped to 0..255; published: unclipped) | **%s** (%+.2f dB) |" % (
                TARGET_CBM3D_S25, r1["psnr"], "met" if ok else "not met",
                r1["psnr"] - TARGET_CBM3D_S25))
            measured = [(lab, a["psnr"]) for lab, a in others if a]
            # filters measured only on the tuning subset (patchpca) are
            # compared on that subset
            sub = den["tuning_table"]
            ours_sub = sub.get((den["rows"][0][1], 25))
            sub_only = [(lab, a["psnr"]) for (lab, sig), a in sub.items()
                        if sig == 25 and a and "patchpca" in lab]
            best_lab, best_v = max(measured, key=lambda t: t[1]) if measured else ("—", None)
            ok2 = best_v is not None and r1["psnr"] > best_v
            txt = "%.2f dB vs best filter %s %.2f dB" % (r1["psnr"], best_lab, best_v) \
                if best_v is not None else "no filter measured"
            if sub_only and ours_sub:
                for lab, v in sub_only:
                    ok2 = ok2 and ours_sub["psnr"] > v
                    txt += "; on the tuning subset %.2f dB vs %s %.2f dB" % (
                        ours_sub["psnr"], lab, v)
            A("| denoise one-step, CBSD68 sigma 25 > every GEGL/G'MIC filter measured | %s | **%s** |" % (
                txt, "met" if ok2 else "not met"))
            r8 = den["results"].get(("ours-1step-x8", "CBSD68", 25))
            if r8 is not None:
                ok8 = r8["psnr"] > TARGET_CBM3D_S25
                A("| the same, one step with the self-ensemble of 8 (%s network evaluations per image) > CBM3D's published %.2f dB | %.2f dB (noise clipped to 0..255; published: unclipped) | **%s** (%+.2f dB) |" % (
                    fnum(r8.get("nfe"), 0), TARGET_CBM3D_S25, r8["psnr"],
                    "met" if ok8 else "not met", r8["psnr"] - TARGET_CBM3D_S25))
    else:
        A("| denoise targets | not run | **not met** (not run) |")
    if ups:
        o = ups["results"].get(("ours", "Set5", 4))
        bi = ups["results"].get(("bicubic", "Set5", 4))
        if o and bi:
            ok = o["psnr"] >= bi["psnr"] + 1.0
            A("| upscale x4, Set5, >= bicubic + 1 dB | %.2f dB vs bicubic %.2f dB (%+.2f dB) | **%s** |" % (
                o["psnr"], bi["psnr"], o["psnr"] - bi["psnr"], "met" if ok else "not met"))
        else:
            A("| upscale x4, Set5, >= bicubic + 1 dB | not run | **not met** (no result) |")
    else:
        A("| upscale target | not run | **not met** (not run) |")
    if inp:
        drow = inp["default_row"]
        for kind in MASK_SETS:
            o = inp["results"].get((drow, kind))
            mp = inp["results"].get(("gmic-matchpatch", kind))
            floor = INPAINT_FLOOR.get(kind)
            if o is None:
                A("| inpaint, %s masks | not run | **not met** (no result) |" % kind)
                continue
            if floor is not None:
                ok = o["psnr"] >= floor
                A("| inpaint PSNR in the hole, %s masks, >= %.2f dB (before the patch fill) | %.2f dB (%+.2f dB) | **%s** |" % (
                    kind, floor, o["psnr"], o["psnr"] - floor, "met" if ok else "not met"))
            else:
                t = o.get("texture")
                ok = t is not None and 0.75 <= t <= 1.25
                A("| inpaint texture ratio, %s masks, in 0.75..1.25 | %s | **%s** |" % (
                    kind, fnum(t), "met" if ok else "not met"))
                if mp:
                    ok = o["psnr"] >= mp["psnr"]
                    A("| inpaint PSNR in the hole, %s masks, >= G'MIC inpaint_matchpatch | %.2f dB vs %.2f dB (%+.2f dB) | **%s** |" % (
                        kind, o["psnr"], mp["psnr"], o["psnr"] - mp["psnr"], "met" if ok else "not met"))
    else:
        A("| inpaint targets | not run | **not met** (not run) |")
    A("")

    # ---------------------------------------------------------- denoise
    if den:
        A("## Denoise")
        A("")
        A("Inputs: each clean image plus white Gaussian noise of standard "
          "deviation sigma (0..255 scale, numpy `default_rng` seeded by set, "
          "image and sigma), **clipped to 0..255** and stored as a 16-bit PNG; "
          "every method reads that same file. Ours is told the true sigma "
          "(`--sigma`). The clipping makes the noise non-Gaussian in dark "
          "and bright areas; ours corrects clipped values by default (one "
          "more evaluation, docs/tools.md, *Clipped noise*), and the row "
          "without the correction (CBSD68) shows what that is worth. The "
          "published figures below were measured on unclipped noise and "
          "other noise draws, so they compare approximately, not exactly "
          "(the model card gives ours on unclipped noise, "
          "`training/evaluate.py`).")
        A("")
        for s in ("CBSD68", "Kodak24"):
            if s not in den["sets"]:
                continue
            A("### %s (%d images): PSNR (dB) / SSIM" % (s, den["sets"][s]))
            A("")
            A("| method | sigma 15 | sigma 25 | sigma 50 | s/img | NFE |")
            A("| --- | --- | --- | --- | ---: | ---: |")
            A("| noisy input | %s | — | — |" % " | ".join(
                cell(den["noisy"].get((s, sig))) for sig in SIGMAS))
            for row, label in den["rows"]:
                aggs = [den["results"].get((row, s, sig)) for sig in SIGMAS]
                t, n = time_nfe(aggs)
                if row == "gmic-best":
                    label += " (%s)" % ", ".join(
                        "σ%d: %s" % (sig, den["chosen"][(row, sig)].label.replace("G'MIC ", ""))
                        for sig in SIGMAS if (row, sig) in den["chosen"])
                if row in ONE_SET_ROWS and s != ONE_SET_ROWS[row]:
                    continue
                if all(a is None for a in aggs):
                    A("| %s | not run: %s | | | — | — |" % (
                        label, b.unavailable.get(("denoise", label), "no result")))
                    continue
                A("| %s | %s | %s | %s |" % (label, " | ".join(
                    cell(a) if sig in ROW_SIGMAS.get(row, SIGMAS) else "—"
                    for a, sig in zip(aggs, SIGMAS)), t, n))
            for name, (src, figs) in PUBLISHED_DENOISE.items():
                if s in figs:
                    A("| %s, published | %s | n/a | n/a |" % (
                        name, " | ".join("%.2f / —" % v for v in figs[s])))
            A("")
        A("Published figures: CBM3D and CDnCNN from %s; DRUNet from %s (%s). "
          "DnCNN's own paper (Zhang et al., IEEE TIP 2017) reports CBSD68 "
          "for its blind colour model CDnCNN-B." % (
              PUBLISHED_DENOISE["CBM3D (Dabov et al. 2007)"][0],
              PUBLISHED_DENOISE["DRUNet (Zhang et al. 2021)"][0],
              PUBLISHED_DENOISE_SOURCE_CHECK))
        A("")
        A("**Baseline parameters.** Each GEGL and G'MIC filter was run with "
          "every parameter set of a small grid on a tuning subset of CBSD68 "
          "(%s), separately for each sigma, and the set with the best mean "
          "PSNR there is used on the full sets (the tuning images are part of "
          "CBSD68, which flatters the baselines slightly). *G'MIC best* is, "
          "per sigma, the best of G'MIC's `denoise`, `nlmeans` and "
          "`denoise_haar` on that subset.%s" % (
              ", ".join(stem(n) for n in den["tune_names"]),
              " `denoise_patchpca` (about a minute per image here) was run "
              "on the subset only." if any("patchpca" in k[0] for k in den["tuning_table"]) else
              " `denoise_patchpca` was left out (`--skip-slow` or `--quick`)."))
        A("")
        A("| filter | sigma | chosen parameters | subset PSNR |")
        A("| --- | ---: | --- | ---: |")
        for k in sorted(den["tuned"]):
            v = den["tuned"][k]
            A("| %s | %s | %s | %.2f |" % (v["label"], k.split("|")[1],
                                         params_str(v["params"]), v["psnr"]))
        A("")
        A("On the tuning subset (%d CBSD68 images), PSNR (dB) / SSIM:" % len(den["tune_names"]))
        A("")
        A("| method | sigma 15 | sigma 25 | sigma 50 |")
        A("| --- | --- | --- | --- |")
        labs = []
        for (lab, sig) in den["tuning_table"]:
            if lab not in labs:
                labs.append(lab)
        for lab in labs:
            A("| %s | %s |" % (lab, " | ".join(
                cell(den["tuning_table"][(lab, sig)])
                if (lab, sig) in den["tuning_table"] else "—"
                for sig in SIGMAS)))
        A("")
        if files.get("denoise"):
            A("![denoise PSNR against sigma](%s)" % files["denoise"])
            A("")

    # ---------------------------------------------------------- upscale
    if ups:
        A("## Upscale")
        A("")
        A("Inputs: the HR image (grey `bridge.png` converted to RGB) cropped at "
          "its top-left corner to a multiple of the scale; LR made from it by "
          "PIL's bicubic resize (`Image.BICUBIC`: a = -0.5, antialiased, the "
          "same kernel as MATLAB's `imresize`), rounded to 8 bits. PSNR/SSIM "
          "on **RGB**, with `scale` pixels shaved from each border. Our "
          "upscaler keeps its result consistent with this same bicubic "
          "downscale (its default kernel; `--kernel box` assumes block "
          "means instead, docs/tools.md), so the LR's making matches its "
          "assumption here.")
        A("")
        for s in ("Set5", "Set14"):
            if s not in ups["sets"]:
                continue
            A("### %s (%d images): PSNR (dB) / SSIM, RGB" % (s, ups["sets"][s]))
            A("")
            A("| method | x2 | x4 | s/img | NFE |")
            A("| --- | --- | --- | ---: | ---: |")
            for row, label in ups["rows"]:
                aggs = [ups["results"].get((row, s, sc)) for sc in SCALES]
                t, n = time_nfe(aggs)
                if row == "gmic-best":
                    label += " (%s)" % ", ".join(
                        "x%d: %s%s" % (sc, v[0].replace("G'MIC ", ""),
                                       "" if "resize" in v[0] else " " + params_str(v[1]))
                        for sc, v in sorted(ups["gmic_best"].items()))
                if all(a is None for a in aggs):
                    why = b.unavailable.get(("upscale", label), "no result")
                    A("| %s | not run: %s | | — | — |" % (label, why))
                    continue
                A("| %s | %s | %s | %s |" % (label, " | ".join(cell(a) for a in aggs), t, n))
            for name, figs in PUBLISHED_SR.items():
                A("| %s, published (**Y channel**) | %s | n/a | n/a |" % (
                    name, " | ".join("%.2f / %.4f" % figs[(s, sc)] for sc in SCALES)))
            A("")
        A("Published figures: %s. They are PSNR/SSIM on the Y channel of "
          "YCbCr with LR from MATLAB's `imresize`; Y-channel PSNR is "
          "typically 1 to 2 dB higher than RGB PSNR for the same image, so "
          "these rows are **not like for like** with the measured ones (compare "
          "the published bicubic row with the measured bicubic row to see the "
          "offset)." % PUBLISHED_SR_SOURCE)
        A("")
        A("G'MIC best upscaler: per scale, the best on Set14 %s among `resize` "
          "bicubic (interpolation 5) and lanczos (6), each as it comes and "
          "re-centred, and `upscale_smart` over a grid of smoothness, "
          "anisotropy and sharpening. G'MIC's `resize` places output pixel x "
          "at source position x/scale, (scale-1)/2 output pixels off the "
          "centre-aligned grid that bicubic downscaling (and GEGL, PIL, "
          "MATLAB) use; *re-centred* undoes that shift inside G'MIC (`warp` "
          "by a constant field, cubic) so that the interpolator is measured "
          "rather than the grid convention. GEGL's samplers are used through "
          "`gegl:scale-ratio` with `abyss-policy=clamp`." % (
              ", ".join(stem(n) for n in ups["tune_names"])))
        A("")
        A("| G'MIC candidate (Set14 subset) | x2 | x4 |")
        A("| --- | --- | --- |")
        cands = []
        for (lab, par, sc) in ups["tuning"]:
            if (lab, par) not in cands:
                cands.append((lab, par))
        for lab, par in cands:
            pp = {k: v for k, v in json.loads(par).items()
                  if k not in ("interpolation", "re-centred")}
            A("| %s%s | %s |" % (lab.replace("G'MIC ", ""),
                                 (" " + params_str(pp)) if pp else "",
                                  " | ".join(cell(ups["tuning"].get((lab, par, sc)))
                                             for sc in SCALES)))
        A("")
        if files.get("upscale"):
            A("![upscale PSNR](%s)" % files["upscale"])
            A("")

    # ---------------------------------------------------------- inpaint
    if inp:
        A("## Inpaint")
        A("")
        A("Kodak24 (%d images: %s) with the fixed masks in "
          "`tests/bench/masks/` (made once by `tests/bench/make_masks.py`): "
          "*box*, a centred rectangle of 10%%%% of the area, *strokes*, seeded "
          "random brush strokes over about 15%%%%, and *objects* (object "
          "removal), three seeded blobs of 0.5%%%%, 1.5%%%% and 4%%%% of the "
          "area, one of each per orientation. In the input every method "
          "reads, the hole is filled with the mean colour of the known pixels "
          "(so the mean-colour fill row is that input). Each output is "
          "composited over the original outside the hole (what applying the "
          "filter to a selection gives; G'MIC's blending otherwise changes "
          "pixels outside it). Per mask set: PSNR over the hole's pixels / "
          "SSIM over the hole's bounding box / texture ratio: the RMS of the "
          "luminance's Laplacian in the hole over its RMS in the %%d-pixel "
          "ring around it, divided by the same ratio in the original (1 is "
          "the photo's own high-frequency energy; a blur is far below, "
          "noise above). Ours at the CLI's defaults but `--steps %%d`; the "
          "default start is the %%s." % (
              inp["n"], ", ".join(stem(n) for n in inp["names"]))
          % (TEXTURE_RING, cfg.inpaint_steps, inp["default_fill"] + " fill"))
        A("")
        A("| method | %s | s/img | NFE |" % " | ".join(
            "%s: PSNR / SSIM / texture" % k for k in MASK_SETS))
        A("| --- | %s | ---: | ---: |" % " | ".join("---" for _ in MASK_SETS))
        for row, label in inp["rows"]:
            aggs = [inp["results"].get((row, k)) for k in MASK_SETS]
            t, n = time_nfe(aggs)
            if all(a is None for a in aggs):
                why = b.unavailable.get(("inpaint", label), "no result")
                A("| %s | not run: %s | %s — | — |" % (
                    label, why, "| " * (len(MASK_SETS) - 1)))
                continue
            A("| %s | %s | %s | %s |" % (label, " | ".join(
                "not run" if a is None else "%s / %s / %s" % (
                    fnum(a["psnr"]), fnum(a.get("ssim"), 4),
                    fnum(a.get("texture"))) for a in aggs), t, n))
        A("")
        A("G'MIC parameters, chosen per mask set by the best PSNR in the mask "
          "on %s:" % ", ".join(stem(n) for n in inp["tune_names"]))
        A("")
        for (row, kind), (lab, p) in sorted(inp["chosen"].items()):
            if row in ("gmic-patch", "gmic-matchpatch"):
                A("- %s, %s: %s" % (lab, kind, params_str(p)))
        A("- G'MIC inpaint_pde: its defaults (not tuned; shown for reference, "
          "it is not a patch-based method)")
        A("")
        if files.get("inpaint"):
            A("![inpaint PSNR](%s)" % files["inpaint"])
            A("")

    # ---------------------------------------------------------- img2img
    if i2i:
        A("## img2img: distance to the input against strength")
        A("")
        A("%s on CBSD68 %s (clean images), seed %d. Distance is the RMSE "
          "(0..255) and the PSNR of the output against the input." % (
              i2i["label"], ", ".join(stem(n) for n in i2i["names"]), cfg.seed))
        A("")
        A("| strength | RMSE to input | PSNR to input (dB) | SSIM to input | s/img | NFE |")
        A("| ---: | ---: | ---: | ---: | ---: | ---: |")
        vals = []
        for st, a in i2i["curve"]:
            if a is None:
                A("| %g | not run | | | | |" % st)
                continue
            t, n = time_nfe([a])
            A("| %g | %.2f | %s | %.4f | %s | %s |" % (
                st, a["rmse"], "identical" if a["psnr"] >= 99 else fnum(a["psnr"]),
                a["ssim"], t, n))
            vals.append(a["rmse"])
        if len(vals) >= 2:
            mono = all(y >= x for x, y in zip(vals, vals[1:]))
            A("")
            A("The mean distance %s with strength over the %d strengths "
              "measured." % ("**increases monotonically**" if mono else
                             "is **not monotone**", len(vals)))
        A("")
        if files.get("img2img"):
            A("![img2img distance against strength](%s)" % files["img2img"])
            A("")

    # ---------------------------------------------------------- examples
    ex = []
    if den and den.get("fig_image"):
        n = den["fig_image"]
        if os.path.exists(os.path.join(cfg.eval, "Kodak24", n)):
            clean = load_clean(cfg, "Kodak24", n)
            noisy_p = os.path.join(cfg.work, "inputs", "denoise", "Kodak24",
                                   "%s_s25.png" % stem(n))
            extra = ("noisy, sigma 25", quantise(read_rgb(noisy_p))) \
                if os.path.exists(noisy_p) else None
            f = crop_figure(b, cfg.out, "denoise", den["rows"], n, clean,
                            (150, 406, 300, 556), extra,
                            "denoise, Kodak24 %s, sigma 25 (crop)" % stem(n))
            if f:
                ex.append(f)
    if ups and ups.get("fig"):
        s, n = ups["fig"]
        hr_p = os.path.join(cfg.work, "inputs", "sr", s, "%s_x4_hr.png" % stem(n))
        if os.path.exists(hr_p):
            hr = read_rgb(hr_p)
            h, w = hr.shape[:2]
            f = crop_figure(b, cfg.out, "upscale", ups["rows"], n, hr,
                            (h // 4, h // 4 + 160, w // 4, w // 4 + 160), None,
                            "upscale x4, %s %s (crop)" % (s, stem(n)))
            if f:
                ex.append(f)
    if inp and inp.get("fig"):
        kind, n = inp["fig"]
        clean = load_clean(cfg, "Kodak24", n)
        h, w = clean.shape[:2]
        m = np.asarray(Image.open(mask_path(kind, w, h))) > 0
        from scipy.ndimage import label as cc_label
        lab, k = cc_label(m)
        if k > 1:  # the largest blob, so that the crop is enlarged
            big = 1 + int(np.argmax(np.bincount(lab.ravel())[1:]))
            ys, xs = np.nonzero(lab == big)
        else:
            ys, xs = np.nonzero(m)
        pad = 24
        box = (max(ys.min() - pad, 0), min(ys.max() + pad + 1, h),
               max(xs.min() - pad, 0), min(xs.max() + pad + 1, w))
        f = crop_figure(b, cfg.out, "inpaint", inp["rows"], n, clean, box,
                        ("input", mean_holed(clean, m)),
                        "inpaint, Kodak24 %s, %s mask (crop)" % (stem(n), kind))
        if f:
            ex.append(f)
    if ex:
        A("## Examples")
        A("")
        A("Crops of one image per tool (the evaluation images are not freely "
          "licensed; these small crops are shown for comparison only).")
        A("")
        for f in ex:
            A("![%s](%s)" % (f.split(".")[0], f))
            A("")

    if b.unavailable or b.failures:
        A("## Not run / failed")
        A("")
        for (task, lab), why in b.unavailable.items():
            A("- %s, %s: %s" % (task, lab, why))
        for f in b.failures[:20]:
            A("- failed: %s" % f[:300])
        if len(b.failures) > 20:
            A("- … and %d more failures" % (len(b.failures) - 20))
        A("")

    path = os.path.join(cfg.out, "quality.md")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(L).rstrip() + "\n")
    os.replace(path + ".tmp", path)
    return path


# ================================================================== main

def parse_args(argv=None):
    """The command line, with the step budgets filled in: main's, and
    precision_quality.py's (which runs quality.py's rows twice)."""
    ap = argparse.ArgumentParser(
        description="Quality benchmark of gimp-diffusion's tools against "
                    "GEGL, G'MIC and published figures.")
    ap.add_argument("--eval", default=os.environ.get(
        "GD_EVAL_DIR", os.path.join(REPO, "..", "shared", "data", "eval")),
        help="folder holding CBSD68/, Kodak24/, Set5/, Set14/ "
             "(default: $GD_EVAL_DIR or ../shared/data/eval)")
    ap.add_argument("--work", default=os.environ.get(
        "GD_BENCH_WORK", os.path.join(os.path.expanduser("~"), ".cache",
                                      "gimp-diffusion-bench")),
        help="cache and scratch folder, outside the repository "
             "(default: $GD_BENCH_WORK or ~/.cache/gimp-diffusion-bench)")
    ap.add_argument("--out", help="report folder (default: docs/benchmarks, "
                                  "or WORK/quick with --quick)")
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "core", "cli",
                                                  "gimp-diffusion-cli"))
    ap.add_argument("--model", default=os.path.join(REPO, "models",
                                                    "default.safetensors"))
    ap.add_argument("--quick", action="store_true",
                    help="a few images per set, small grids")
    ap.add_argument("--tasks", default="denoise,camera,upscale,inpaint,img2img",
                    help="comma-separated; camera alone replaces only its "
                         "section of an existing report")
    ap.add_argument("--threads", type=int, default=0,
                    help="CLI worker threads (0 = all cores)")
    ap.add_argument("--sampler", default=None,
                    help="sampler for ours (default: the CLI's own default, "
                         "with its per-tool eta and strength)")
    ap.add_argument("--denoise-steps", type=int, default=None)
    ap.add_argument("--upscale-steps", type=int, default=None)
    ap.add_argument("--inpaint-steps", type=int, default=None)
    ap.add_argument("--img2img-steps", type=int, default=None)
    ap.add_argument("--inpaint-eta", type=float, default=-1.0,
                    help="ddim eta for our inpaint (default: negative, the "
                         "CLI's own default; 0 is the deterministic "
                         "DDNM-style projection)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--inpaint-precision", choices=("exact", "fast"),
                    default=None,
                    help="--precision for our inpaint rows (default: the "
                    "CLI's own); fast makes a bounded run several times "
                    "quicker")
    ap.add_argument("--inpaint-images", default=None,
                    help="inpaint on these Kodak24 images only (comma list, "
                         "e.g. kodim01,kodim05), for a bounded run")
    ap.add_argument("--patchfill", default=None,
                    help="tests/bench_patchfill of the build (default: beside "
                         "the CLI's build folder)")
    ap.add_argument("--skip-slow", action="store_true",
                    help="leave out G'MIC's denoise_patchpca (about a minute "
                         "per image; run on the tuning subset only, and never "
                         "in --quick)")
    ap.add_argument("--source-commit",
                    help="the commit the CLI was built from, for the report "
                         "(default: this checkout's HEAD)")
    ap.add_argument("--task-cli", action="append", metavar="TASK=PATH@COMMIT",
                    help="run one task (denoise, upscale, inpaint, img2img) "
                         "with another CLI build, made from COMMIT")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every image's result")
    args = ap.parse_args(argv)
    q = args.quick
    # NFE budgets: the full run has to fit a shared 2-core machine (a
    # 768x512 network evaluation takes about 10 s there)
    defaults = {"denoise_steps": (2, 2), "upscale_steps": (3, 5),
                "inpaint_steps": (3, 5), "img2img_steps": (3, 5)}
    for k, (dq, df) in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, dq if q else df)
    return args


def main(argv=None):
    args = parse_args(argv)
    q = args.quick
    cfg = Config(args)
    for tool in ("gegl", "gmic"):
        if shutil.which(tool) is None:
            raise SystemExit("%s not found: apt-get install gegl gmic" % tool)
    if not os.path.exists(cfg.cli):
        raise SystemExit("no CLI at %s (build it, or pass --cli)" % cfg.cli)
    b = Bench(cfg)
    b.log("quality benchmark%s: eval %s, work %s, report %s" % (
        " (quick)" if q else "", cfg.eval, cfg.work, cfg.out))
    t0 = time.time()
    den = run_denoise(b) if "denoise" in cfg.tasks else None
    ups = run_upscale(b) if "upscale" in cfg.tasks else None
    inp = run_inpaint(b) if "inpaint" in cfg.tasks else None
    i2i = run_img2img(b) if "img2img" in cfg.tasks else None
    cam = run_camera(b) if "camera" in cfg.tasks else None
    only_camera = cam and not (den or ups or inp or i2i)
    path = os.path.join(cfg.out, "quality.md")
    if only_camera and os.path.exists(path):
        b.log("camera only: its section of %s is replaced" % path)
    else:
        path = write_report(b, den, ups, inp, i2i, time.time() - t0)
    if cam:
        splice_camera(path, camera_section(b, cam, cfg.out), camera_target(cam))
    b.log("report: %s" % path)
    if b.unavailable:
        b.log("not available: %s" % "; ".join(
            "%s %s" % k for k in b.unavailable))
    if b.failures:
        b.log("%d failures (listed in the report)" % len(b.failures))


if __name__ == "__main__":
    main()
