#!/usr/bin/python3
"""End to end: gimp-diffusion-cli img2img on small PNGs.

Checks size, bit depth and colour type kept, alpha bit-identical, the image
changed, the same seed giving the same pixels and another seed others,
strength 0 returning the input, and every bad input (options, files, model)
failing with a clear message and leaving an existing output file as it was.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngfile  # noqa: E402

failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--sample", help="a photograph, for --min-psnr")
    ap.add_argument("--min-psnr", type=float,
                    help="a trained model: at strength 0.1 (t0 = 100, where "
                    "the noised input is near 16 dB) the result must stay "
                    "this close to the photograph, in dB")
    args = ap.parse_args()
    steps = str(args.steps)

    tmp = tempfile.mkdtemp(prefix="gd-cli-e2e-")

    def run(*argv, model=args.model, env=None):
        cmd = [args.cli] + list(argv)
        if model is not None:
            cmd += ["--model", model]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=600)
        return proc

    def path(name):
        return os.path.join(tmp, name)

    # The cases: (name, channels, depth).
    cases = [("rgba8", 4, 8), ("gray16", 1, 16), ("graya8", 2, 8),
             ("rgb16", 3, 16)]
    for name, channels, depth in cases:
        src = pngfile.test_image(channels=channels, depth=depth)
        inp = path(name + ".png")
        pngfile.write(inp, src, depth)
        maxv = 65535.0 if depth == 16 else 255.0
        colors = 3 if channels >= 3 else 1

        outs = {}
        for tag, seed in (("a", "1"), ("b", "1"), ("c", "2")):
            out = path(f"{name}-{tag}.png")
            proc = run("img2img", inp, "-o", out, "--strength", "0.5",
                       "--steps", steps, "--seed", seed)
            last = (proc.stderr.strip().splitlines() or [""])[-1]
            check(proc.returncode == 0, f"{name} seed {seed}: exit 0 ({last})")
            if proc.returncode != 0:
                break
            check("step" in proc.stderr, f"{name}: progress on stderr")
            outs[tag], got_depth = pngfile.read(out)
            check(got_depth == depth, f"{name}: output depth {got_depth}")
            check(outs[tag].shape == src.shape,
                  f"{name}: shape {outs[tag].shape} == {src.shape}")
        if len(outs) < 3:
            continue
        a, b, c = outs["a"], outs["b"], outs["c"]
        if channels in (2, 4):
            check(np.array_equal(a[..., -1], src[..., -1]),
                  f"{name}: alpha bit-identical")
        diff = np.abs(a[..., :colors].astype(np.float64) -
                      src[..., :colors]).mean() / maxv
        check(diff > 0.005, f"{name}: colour changed (mean |diff| {diff:.4f})")
        check(np.array_equal(a, b), f"{name}: same seed, same pixels")
        diff_seed = np.abs(a.astype(np.float64) - c).mean() / maxv
        check(diff_seed > 1e-4,
              f"{name}: another seed, other pixels ({diff_seed:.4f})")

        out0 = path(f"{name}-s0.png")
        proc = run("img2img", inp, "-o", out0, "--strength", "0",
                   "--steps", steps)
        check(proc.returncode == 0, f"{name}: strength 0 runs")
        if proc.returncode == 0:
            check(np.array_equal(pngfile.read(out0)[0], src),
                  f"{name}: strength 0 returns the input bit for bit")

    if args.min_psnr is not None:
        photo = pngfile.read(args.sample)[0].astype(np.float64)
        out = path("sample-0.1.png")
        proc = run("img2img", args.sample, "-o", out, "--strength", "0.1",
                   "--steps", "10", "--seed", "3")
        check(proc.returncode == 0, "sample at strength 0.1 runs")
        if proc.returncode == 0:
            got = pngfile.read(out)[0].astype(np.float64)
            mse = ((got - photo) ** 2).mean()
            psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))
            check(psnr >= args.min_psnr,
                  f"the model denoises: strength 0.1 gives {psnr:.2f} dB "
                  f"against the photograph (at least {args.min_psnr})")

    # Bad input: a clear message, a non-zero exit, the output untouched.
    inp = path("rgba8.png")
    out = path("keep.png")
    sentinel = b"not touched"

    def bad(argv, expect, what, model=args.model, env=None):
        with open(out, "wb") as f:
            f.write(sentinel)
        proc = run(*argv, model=model, env=env)
        with open(out, "rb") as f:
            kept = f.read() == sentinel
        leftovers = [n for n in os.listdir(tmp) if ".tmp-" in n]
        check(proc.returncode != 0 and expect in proc.stderr and kept and
              not leftovers,
              f"{what}: exit {proc.returncode}, message "
              f"{proc.stderr.strip().splitlines()[0] if proc.stderr else ''!r}"
              f", output kept {kept}")

    missing = path("no-such-file.png")
    notpng = path("not-a-png.png")
    with open(notpng, "w") as f:
        f.write("hello\n")
    truncated = path("truncated.png")
    with open(inp, "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    badmodel = path("bad.safetensors")
    with open(badmodel, "wb") as f:
        f.write(b"\xff" * 64)

    bad(["img2img", missing, "-o", out], "cannot open", "missing input")
    bad(["img2img", notpng, "-o", out], "not a PNG", "input not a PNG")
    bad(["img2img", truncated, "-o", out], "cannot read", "truncated PNG")
    bad(["img2img", inp, "-o", out, "--strength", "1.5"], "--strength",
        "strength out of range")
    bad(["img2img", inp, "-o", out, "--strength", "abc"], "--strength",
        "strength not a number")
    bad(["img2img", inp, "-o", out, "--steps", "0"], "--steps",
        "steps out of range")
    bad(["img2img", inp, "-o", out, "--sampler", "nope"], "unknown sampler",
        "unknown sampler")
    bad(["img2img", inp, "-o", out, "--seed", "x1"], "--seed", "bad seed")
    bad(["img2img", inp, "-o", out, "--frobnicate"], "unknown option",
        "unknown option")
    bad(["img2img", inp], "no output", "no -o")
    bad(["sharpen", inp, "-o", out], "unknown command", "unknown command")
    bad(["img2img", inp, "-o", out], "cannot load the model",
        "missing model file", model=path("no-such-model.safetensors"))
    bad(["img2img", inp, "-o", out], "cannot load the model",
        "corrupt model file", model=badmodel)
    env = dict(os.environ, GD_MODEL_DIR=path("no-such-dir"))
    bad(["img2img", inp, "-o", out], "cannot load the model",
        "default model missing (GD_MODEL_DIR)", model=None, env=env)

    proc = run("img2img", inp, "-o", path("sub/dir/x.png"), "--steps", "1")
    check(proc.returncode != 0 and "cannot write" in proc.stderr,
          "unwritable output: clear error")

    proc = run("--help", model=None)
    check(proc.returncode == 0 and "Usage:" in proc.stdout, "--help")

    print(f"{len(failures)} failed")
    if failures:
        print(f"files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
