#!/usr/bin/python3
"""valgrind memcheck on gimp-diffusion-cli, end to end (issue 6).

Runs the CLI under memcheck on small PNGs with the tiny random-init model:
every tool (img2img on RGBA 8-bit and gray 16-bit, with deterministic,
stochastic and DPM-Solver samplers and in tiles; inpaint with and without
RePaint's resampling; upscale; denoise with a given and an estimated
sigma), and the failure paths (a
missing, truncated or NaN-poisoned model, a corrupt PNG, a bad option, an
unwritable output).  Each run must end with the CLI's own exit status and
message, and memcheck must report no error and no leak (definite,
indirect or possible; 'still reachable' is libc's and OpenBLAS's
once-per-process state).

Usage: valgrind_cli_test.py --cli CLI --model TINY.safetensors
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import pngfile  # noqa: E402

VALGRIND_ERROR = 99  # memcheck's exit status on an error or a leak

failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures.append(what)


def poisoned_copy(model, dst):
    """The model with its first F16/F32 weight of conv_out set to NaN."""
    import json

    with open(model, "rb") as f:
        blob = bytearray(f.read())
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    entry = header["conv_out.weight"]
    at = 8 + n + entry["data_offsets"][0]
    if entry["dtype"] == "F32":
        blob[at:at + 4] = struct.pack("<f", float("nan"))
    else:
        blob[at:at + 2] = b"\x00\x7e"  # F16 and BF16 NaN (0x7e00 / 0x7e..)
    with open(dst, "wb") as f:
        f.write(blob)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--valgrind", default="valgrind")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gd-valgrind-")

    def path(name):
        return os.path.join(tmp, name)

    def memcheck(name, argv, want_status, want_message=None):
        log = path(name + ".valgrind.log")
        cmd = [args.valgrind, "--tool=memcheck", "--error-exitcode=%d"
               % VALGRIND_ERROR, "--leak-check=full",
               "--show-leak-kinds=definite,indirect,possible",
               "--errors-for-leak-kinds=definite,indirect,possible",
               "--log-file=" + log, args.cli] + argv
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=900)
        with open(log) as f:
            report = f.read()
        summary = [line.split("==", 2)[-1].strip()
                   for line in report.splitlines()
                   if "ERROR SUMMARY" in line or "definitely lost" in line
                   or "possibly lost" in line or "indirectly lost" in line]
        clean = proc.returncode != VALGRIND_ERROR and \
            any("ERROR SUMMARY: 0 errors" in s for s in summary)
        check(clean, f"{name}: memcheck clean ({'; '.join(summary)})")
        if not clean:
            print(report[-6000:])
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        check(proc.returncode == want_status,
              f"{name}: exit {proc.returncode} (want {want_status}): {last}")
        if want_message is not None:
            check(want_message in proc.stderr,
                  f"{name}: says '{want_message}'")
        return proc

    rgba = path("in-rgba.png")
    pngfile.write(rgba, pngfile.test_image(width=20, height=12, channels=4),
                  8)
    gray = path("in-gray16.png")
    pngfile.write(gray, pngfile.test_image(width=9, height=7, channels=1,
                                           depth=16), 16)
    model = ["--model", args.model]
    common = model + ["--steps", "2", "--threads", "2", "--seed", "3"]

    # The tools, on an 8-bit RGBA and a 16-bit gray image.
    for name, src in (("rgba", rgba), ("gray16", gray)):
        out = path(f"img2img-{name}.png")
        memcheck(f"img2img {name}", ["img2img", src, "-o", out] + common, 0)
        check(os.path.exists(out), f"img2img {name}: output written")
    big = path("in-70x60.png")
    pngfile.write(big, pngfile.test_image(width=70, height=60, channels=3),
                  8)
    mask = path("mask.png")
    mask_pixels = pngfile.test_image(width=20, height=12, channels=1)
    mask_pixels[:] = 0
    mask_pixels[3:9, 5:15] = 255
    pngfile.write(mask, mask_pixels, 8)
    for name, argv, size in (
            ("inpaint", ["inpaint", rgba, "--mask", mask], (20, 12)),
            ("inpaint RePaint", ["inpaint", rgba, "--mask", mask, "--sampler",
                                 "ddpm", "--strength", "0.003", "--jumps",
                                 "2"], (20, 12)),
            ("upscale x2", ["upscale", rgba, "--scale", "2"], (40, 24)),
            ("denoise sigma 25", ["denoise", gray, "--sigma", "25"], (9, 7)),
            ("denoise auto one-step", ["denoise", rgba, "--one-step"],
             (20, 12)),
            ("img2img in 2 tiles", ["img2img", big, "--tile", "64",
                                    "--strength", "0.001"], (70, 60))):
        out = path(name.replace(" ", "-") + ".png")
        memcheck(name, argv + ["-o", out] + common, 0)
        ok = os.path.exists(out)
        if ok:
            pixels, _ = pngfile.read(out)
            ok = pixels.shape[1::-1] == size
        check(ok, f"{name}: a {size[0]} x {size[1]} output written")
    memcheck("img2img ddpm stochastic",
             ["img2img", rgba, "-o", path("ddpm.png"), "--sampler", "ddpm",
              "--strength", "0.003"] + model, 0)
    memcheck("img2img dpm-solver-3",
             ["img2img", rgba, "-o", path("dpm3.png"), "--sampler",
              "dpm-solver-3"] + common, 0)

    # The failure paths: a clear message, nothing written, nothing leaked.
    truncated = path("truncated.safetensors")
    with open(args.model, "rb") as f:
        blob = f.read()
    with open(truncated, "wb") as f:
        f.write(blob[:len(blob) // 2])
    poisoned = path("nan.safetensors")
    poisoned_copy(args.model, poisoned)
    corrupt_png = path("corrupt.png")
    with open(rgba, "rb") as f:
        png = f.read()
    with open(corrupt_png, "wb") as f:
        f.write(png[:len(png) - 30])
    out = path("never.png")
    cases = [
        ("missing model", ["--model", path("none.safetensors")], rgba, 1,
         "cannot open"),
        ("truncated model", ["--model", truncated], rgba, 1, "truncated"),
        ("NaN weight", ["--model", poisoned], rgba, 1,
         "'conv_out.weight' holds NaN"),
        ("corrupt PNG", model, corrupt_png, 1, corrupt_png),
        ("missing PNG", model, path("none.png"), 1, "none.png"),
        ("steps 0", model + ["--steps", "0"], rgba, 2, "--steps '0'"),
        ("unknown sampler", model + ["--sampler", "euler"], rgba, 2,
         "unknown sampler 'euler'"),
    ]
    for name, extra, src, status, message in cases:
        memcheck(name, ["img2img", src, "-o", out] + extra, status, message)
        check(not os.path.exists(out), f"{name}: no output file")
    memcheck("unwritable output",
             ["img2img", rgba, "-o", path("no-dir/out.png")] + common, 1,
             "no-dir/out.png")

    print(f"{len(failures)} failed")
    if failures:
        print(f"files kept in {tmp}")
        return 1
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
