#!/usr/bin/python3
"""End to end: gimp-diffusion-cli's four tools on small PNGs.

img2img: size, bit depth and colour type kept, alpha bit-identical, the
image changed, the same seed giving the same pixels and another seed others,
strength 0 returning the input.  inpaint: pixels under the mask's black
bit-identical, a feathered edge between, the hole changed.  upscale x2 and
x4: the result box-downsampled is the input to the output's rounding, alpha
enlarged.  denoise: a given sigma, an estimated one, one step.  Ctrl-C:
exit 130, nothing written.  Every bad input (options, files, a mask of
another size, an unsupported scale, the model) fails with a clear message
and leaves an existing output file as it was.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cubic  # noqa: E402
import pngfile  # noqa: E402

failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures.append(what)


def box_down(img, s):
    h, w = img.shape[0] // s, img.shape[1] // s
    return img.reshape(h, s, w, s, -1).astype(np.float64).mean(axis=(1, 3))


def check_inpaint(run, path, steps):
    """Outside the mask bit for bit, the feathered band between, the hole
    changed, seeds; 8-bit RGBA and 16-bit gray."""
    for name, channels, depth in (("rgba8", 4, 8), ("gray16", 1, 16)):
        src = pngfile.read(path(name + ".png"))[0]
        h, w = src.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        dist = np.hypot(xx - w / 2, yy - h / 2) - h / 5
        mask = np.clip(1 - dist / 4, 0, 1)  # 1 inside, 4-pixel ramp
        mpath = path(f"mask-{name}.png")
        pngfile.write(mpath, np.rint(mask * 255).astype(np.uint8)[..., None],
                      8)
        mask8 = np.rint(mask * 255) / 255
        outs = []
        for seed in ("5", "5", "6"):
            out = path(f"{name}-inpaint-{len(outs)}.png")
            proc = run("inpaint", path(name + ".png"), "-o", out, "--mask",
                       mpath, "--steps", steps, "--seed", seed)
            check(proc.returncode == 0 and "inpaint: step" in proc.stderr,
                  f"inpaint {name}: exit 0, progress "
                  f"({(proc.stderr.strip().splitlines() or [''])[-1]})")
            if proc.returncode != 0:
                return
            outs.append(pngfile.read(out)[0])
        a = outs[0]
        maxv = 65535.0 if depth == 16 else 255.0
        colors = 3 if channels >= 3 else 1
        check(a.shape == src.shape, f"inpaint {name}: shape kept")
        check(np.array_equal(a[mask8 == 0], src[mask8 == 0]),
              f"inpaint {name}: outside the mask bit-identical")
        if channels in (2, 4):
            check(np.array_equal(a[..., -1], src[..., -1]),
                  f"inpaint {name}: alpha bit-identical")
        diff = np.abs(a[..., :colors].astype(np.float64) -
                      src[..., :colors]).mean(axis=-1) / maxv
        inside, band = diff[mask8 == 1].mean(), diff[(mask8 > 0) &
                                                     (mask8 < 0.5)].mean()
        check(inside > 0.01 and 0 < band < inside,
              f"inpaint {name}: the hole changed ({inside:.4f}), the "
              f"feathered band less ({band:.4f})")
        check(np.array_equal(outs[0], outs[1]),
              f"inpaint {name}: same seed, same pixels")
        check(not np.array_equal(outs[0], outs[2]),
              f"inpaint {name}: another seed, other pixels")
        # --fill smooth and --fill patch start elsewhere; the default
        # (auto) gives this one hole one of them; outside the mask still
        # bit for bit
        starts = {}
        for fill in ("smooth", "patch"):
            out = path(f"{name}-inpaint-{fill}.png")
            proc = run("inpaint", path(name + ".png"), "-o", out, "--mask",
                       mpath, "--steps", steps, "--seed", "5", "--fill", fill)
            check(proc.returncode == 0, f"inpaint {name} --fill {fill}: exit 0")
            if proc.returncode == 0:
                starts[fill] = pngfile.read(out)[0]
                check(np.array_equal(starts[fill][mask8 == 0],
                                     src[mask8 == 0]),
                      f"inpaint {name} --fill {fill}: outside bit-identical")
        if len(starts) == 2:
            check(not np.array_equal(starts["smooth"], starts["patch"]),
                  f"inpaint {name}: --fill smooth and patch differ")
            check(any(np.array_equal(outs[0], v) for v in starts.values()),
                  f"inpaint {name}: the default (auto) is one of them for "
                  f"one hole")


def check_upscale(run, path, steps):
    """x2 and x4: size, alpha enlarged; with --kernel box the result
    box-downsampled is the input within the output's rounding (half a
    level); by default (bicubic) Pillow's bicubic downscale of it is the
    input within rounding where the input is not clipped."""
    pil = cubic.check_against_pillow()
    check(pil is None or pil < 1e-6,
          f"tests' bicubic downscale = Pillow's (largest difference {pil})")
    for name, channels, depth in (("rgba8", 4, 8), ("gray16", 1, 16)):
        src = pngfile.read(path(name + ".png"))[0]
        for scale in (2, 4) if name == "rgba8" else (2,):
            out = path(f"{name}-x{scale}.png")
            proc = run("upscale", path(name + ".png"), "-o", out, "--scale",
                       str(scale), "--steps", steps, "--kernel", "box")
            check(proc.returncode == 0 and "upscale: step" in proc.stderr,
                  f"upscale {name} x{scale}: exit 0, progress "
                  f"({(proc.stderr.strip().splitlines() or [''])[-1]})")
            if proc.returncode != 0:
                continue
            got, got_depth = pngfile.read(out)
            h, w = src.shape[:2]
            check(got.shape == (h * scale, w * scale, src.shape[2]) and
                  got_depth == depth,
                  f"upscale {name} x{scale}: shape {got.shape}, depth "
                  f"{got_depth}")
            colors = 3 if channels >= 3 else 1
            err = np.abs(box_down(got[..., :colors], scale) -
                         src[..., :colors]).max()
            check(err <= 0.5 + 1e-9,
                  f"upscale {name} x{scale}: box-downsampled = the input "
                  f"(max error {err:.3f} levels, at most 0.5)")
            if channels in (2, 4) and scale == 2:
                out_c = path(f"{name}-x{scale}-bicubic.png")
                proc = run("upscale", path(name + ".png"), "-o", out_c,
                           "--scale", str(scale), "--steps", steps)
                check(proc.returncode == 0, f"upscale {name} x{scale} "
                      f"bicubic: exit 0")
                if proc.returncode == 0:
                    gc = pngfile.read(out_c)[0][..., :colors].astype(float)
                    back = cubic.down(gc, scale)
                    inner = src[..., :colors].astype(float)
                    maxval = 255.0 if depth == 8 else 65535.0
                    free = (inner > 0.1 * maxval) & (inner < 0.9 * maxval)
                    err = np.abs(back - inner)[free]
                    # Rounding the output to 8 bits moves a bicubic
                    # downscale by up to 0.71 levels (its weights' absolute
                    # sum); a few values near hard edges need ringing the
                    # clamp to 0..1 takes away.
                    p99 = np.percentile(err, 99) if free.any() else 1e9
                    check(free.any() and err.mean() <= 0.25 and p99 <= 0.71,
                          f"upscale {name} x{scale} bicubic: bicubic-"
                          f"downscaled = the input where it is not near "
                          f"0 or 1 (mean error {err.mean():.3f} levels, "
                          f"99th percentile {p99:.3f} over {free.sum()} "
                          f"values; at most 0.25 and 0.71)")
            if channels in (2, 4):
                check(np.array_equal(got[::scale, ::scale, -1], src[..., -1])
                      and np.array_equal(got[scale - 1::scale,
                                             scale - 1::scale, -1],
                                         src[..., -1]),
                      f"upscale {name} x{scale}: alpha enlarged")


def check_denoise(run, path, steps, sample):
    """A noisy image: sigma given, estimated, one step, one step with the
    self-ensemble; with the shipped model the error against the clean image
    drops."""
    rng = np.random.default_rng(3)
    clean = pngfile.read(sample)[0][:96, 48:176] if sample else \
        pngfile.read(path("rgba8.png"))[0][..., :3]
    noisy = np.clip(np.rint(clean + rng.normal(0, 25, clean.shape)), 0,
                    255).astype(np.uint8)
    npath = path("noisy.png")
    pngfile.write(npath, noisy, 8)

    def psnr(a):
        mse = ((a.astype(np.float64) - clean) ** 2).mean()
        return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))

    for opts in (["--sigma", "25"], ["--sigma", "auto"], ["--one-step"],
                 ["--one-step", "--sigma", "25", "--ensemble", "8"]):
        out = path("denoised.png")
        proc = run("denoise", npath, "-o", out, "--steps", steps, *opts)
        what = "denoise " + " ".join(opts)
        check(proc.returncode == 0 and "denoise: step" in proc.stderr,
              f"{what}: exit 0, progress "
              f"({(proc.stderr.strip().splitlines() or [''])[-1]})")
        if proc.returncode != 0:
            continue
        got = pngfile.read(out)[0]
        check(got.shape == noisy.shape, f"{what}: shape kept")
        if "auto" in opts:
            check("estimated sigma" in proc.stderr,
                  f"{what}: the estimate is reported")
        if sample:
            check(psnr(got) > psnr(noisy) + 6,
                  f"{what}: {psnr(noisy):.2f} dB -> {psnr(got):.2f} dB "
                  "against the clean photograph (at least 6 dB better)")


def check_cancel(args, path):
    """Ctrl-C during a run: exit 130, a message, nothing written."""
    src = path("cancel.png")
    pngfile.write(src, pngfile.test_image(96, 96, 3, 8), 8)
    out = path("cancelled.png")
    with open(out, "wb") as f:
        f.write(b"before")
    proc = subprocess.Popen(
        [args.cli, "img2img", src, "-o", out, "--model", args.model,
         "--strength", "1", "--steps", "1000", "--memory", "64"],
        stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    with open(out, "rb") as f:
        kept = f.read() == b"before"
    leftovers = [n for n in os.listdir(os.path.dirname(out)) if ".tmp-" in n]
    check("step" in first and code == 130 and "interrupted" in rest and
          "nothing written" in rest and kept and not leftovers,
          f"Ctrl-C: exit {code}, {rest.strip().splitlines()[-1:]}, output "
          f"kept {kept}")


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

    check_inpaint(run, path, steps)
    check_upscale(run, path, steps)
    check_denoise(run, path, steps, args.sample)
    check_cancel(args, path)

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
    mask = path("mask-rgba8.png")
    small_mask = path("small-mask.png")
    pngfile.write(small_mask, np.zeros((10, 12, 1), np.uint8), 8)
    bad(["inpaint", inp, "-o", out, "--mask", small_mask], "same size",
        "mask of another size")
    bad(["inpaint", inp, "-o", out, "--mask", missing], "the mask: cannot open",
        "missing mask")
    bad(["inpaint", inp, "-o", out, "--mask", notpng], "not a PNG",
        "mask not a PNG")
    bad(["inpaint", inp, "-o", out], "no mask given", "inpaint without mask")
    bad(["inpaint", inp, "-o", out, "--mask", mask, "--jumps", "3",
         "--eta", "0"], "stochastic", "resampling with a deterministic sampler")
    bad(["inpaint", inp, "-o", out, "--mask", mask, "--jumps", "0"],
        "--jumps", "jumps out of range")
    bad(["img2img", inp, "-o", out, "--mask", mask], "--mask is an option of "
        "inpaint", "mask given to img2img")
    for value in ("noise", "", "PATCH"):
        bad(["inpaint", inp, "-o", out, "--mask", mask, "--fill", value],
            "--fill '%s': expected auto, patch or smooth" % value,
            f"fill {value!r}")
    bad(["img2img", inp, "-o", out, "--fill", "patch"], "--fill is an option "
        "of inpaint", "fill given to img2img")
    bad(["upscale", inp, "-o", out, "--scale", "3"], "unsupported scale",
        "scale 3")
    bad(["upscale", inp, "-o", out, "--scale", "x"], "unsupported scale",
        "scale not a number")
    bad(["denoise", inp, "-o", out, "--scale", "2"], "--scale is an option "
        "of upscale", "scale given to denoise")
    bad(["denoise", inp, "-o", out, "--sigma", "-3"], "--sigma",
        "negative sigma")
    bad(["denoise", inp, "-o", out, "--sigma", "lots"], "--sigma",
        "sigma not a number")
    bad(["denoise", inp, "-o", out, "--strength", "0.5"], "not an option of "
        "denoise", "strength given to denoise")
    bad(["img2img", inp, "-o", out, "--one-step"], "--one-step is an option "
        "of denoise", "one-step given to img2img")
    for value in ("3", "16", "0", "two"):
        bad(["denoise", inp, "-o", out, "--ensemble", value],
            "--ensemble '%s': expected 1, 2, 4 or 8" % value,
            f"ensemble {value}")
    bad(["denoise", inp, "-o", out, "--tile", "8"], "tile size",
        "a tile below the smallest")
    bad(["denoise", inp, "-o", out, "--memory", "2"], "--memory",
        "memory below 16 MiB")
    tiny = path("tiny.png")
    pngfile.write(tiny, np.full((2, 2, 3), 128, np.uint8), 8)
    bad(["denoise", tiny, "-o", out], "cannot estimate the noise",
        "sigma auto on a 2 x 2 image")
    for tool, extra in (("inpaint", ["--mask", mask]), ("upscale", []),
                        ("denoise", [])):
        bad([tool, missing, "-o", out] + extra, "cannot open",
            f"{tool}: missing input")
        bad([tool, inp, "-o", out] + extra, "cannot load the model",
            f"{tool}: corrupt model file", model=badmodel)
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
