#!/usr/bin/python3
"""The bad-input matrix at the CLI level (issue 6).

gimp-diffusion-cli, every tool, on bad model files (the fuzz corpus's),
on images down to 1x1 and below the network's downsampling factor, on a
30000x30000 PNG under a memory cap, and on a budget smaller than one tile.
Each failure must exit 1 (2 for bad usage) with its exact message on the
last line of stderr, never die by a signal, and leave an existing output
file as it was; each success writes an image of the right size.

Usage: cli_bad_input_test.py --cli CLI --model TINY.safetensors
       --corpus tests/fuzz/corpus/model [--default-model DEFAULT.safetensors]
"""

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import pngfile  # noqa: E402

PROG = "gimp-diffusion-cli"
TOOLS = ("img2img", "inpaint", "upscale", "denoise")
SENTINEL = b"an output file that a failed run must leave as it is\n"

failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures.append(what)


def big_gray_png(path, width, height):
    """An 8-bit gray PNG of zeros, compressed row by row (about 1 MB)."""
    comp = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    idat = b"".join(parts)

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + \
            struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--default-model")
    ap.add_argument("--sanitized", action="store_true",
                    help="the CLI is built with AddressSanitizer, which "
                    "cannot run under RLIMIT_AS: cap its allocations instead")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gd-cli-bad-")

    def path(name):
        return os.path.join(tmp, name)

    def run(argv, memory_cap_mb=None):
        def cap():
            limit = memory_cap_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        env, preexec = None, None
        if memory_cap_mb and args.sanitized:
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
                f":allocator_may_return_null=1:max_allocation_size_mb=" \
                f"{memory_cap_mb}"
        elif memory_cap_mb:
            preexec = cap
        return subprocess.run([args.cli] + argv, capture_output=True,
                              text=True, timeout=600, env=env,
                              preexec_fn=preexec)

    def tool_args(tool, src, mask=None):
        extra = {"inpaint": ["--mask", mask or src],
                 "denoise": ["--sigma", "25"]}.get(tool, [])
        return [tool, src] + extra + ["--steps", "2", "--threads", "2",
                                      "-q"]

    def refused(what, argv, status, message, memory_cap_mb=None):
        out = path("out.png")
        with open(out, "wb") as f:
            f.write(SENTINEL)
        proc = run(argv + ["-o", out], memory_cap_mb)
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        # message: the one expected, or a tuple of those accepted
        accepted = message if isinstance(message, tuple) else (message,)
        check(proc.returncode == status and last in accepted,
              f"{what}: exit {proc.returncode}, '{last}'")
        if last not in accepted:
            print("       expected " + " or ".join(f"'{m}'" for m in accepted))
        with open(out, "rb") as f:
            check(f.read() == SENTINEL, f"{what}: the output file is as it "
                  "was")

    def succeeds(what, argv, size):
        out = path("out.png")
        if os.path.exists(out):
            os.remove(out)
        proc = run(argv + ["-o", out])
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        ok = proc.returncode == 0 and os.path.exists(out)
        if ok:
            pixels, _ = pngfile.read(out)
            ok = pixels.shape[1::-1] == size
            last = f"{pixels.shape[1]} x {pixels.shape[0]}"
        check(ok, f"{what}: exit {proc.returncode}, {last} (want "
              f"{size[0]} x {size[1]})")

    rgb = path("in.png")
    pngfile.write(rgb, pngfile.test_image(width=24, height=16, channels=3), 8)

    # Model files, every tool: the loader's message after the CLI's words.
    models = [
        ("a missing model", None, "cannot open: No such file or directory"),
        ("an empty model", "bad-empty", "file is empty"),
        ("a model cut in its data", "bad-truncated-data",
         "tensor 'conv_out.weight': data_offsets [2048, 2264] go beyond the "
         "end of the data (2176 bytes): file truncated?"),
        ("a header length past the end", "bad-length-beyond",
         "header length 1000 goes beyond the end of the file (10 bytes): "
         "truncated or not a safetensors file"),
        ("invalid JSON", "bad-json",
         "bad JSON header: at byte 11: expected ',' or ']' in array"),
        ("an unknown dtype", "bad-dtype",
         "tensor 'w': unsupported dtype 'F64' (F32, F16 and BF16 are "
         "accepted)"),
        ("a wrong shape", "bad-wrong-shape",
         "tensor 'conv_in.weight' has shape [54], the architecture needs "
         "[2, 3, 3, 3]"),
        ("a missing tensor", "bad-missing-tensor",
         "missing tensor 'mid.res.1.conv2.bias' (the gd-unet-v1 "
         "architecture described by the metadata needs it)"),
        ("an unknown architecture", "bad-unknown-arch",
         "unknown architecture \"gd-unet-v2\" (this build knows "
         "\"gd-unet-v1\")"),
        ("a NaN weight", "bad-nan-weight",
         "tensor 'up.0.res.0.conv1.weight' holds NaN values (first at "
         "element 0): the model is broken"),
        ("an Inf weight", "bad-inf-weight-bf16",
         "tensor 'temb.lin1.bias' holds Inf values (first at element 0): "
         "the model is broken"),
    ]
    for what, name, problem in models:
        model = path(name or "no-such.safetensors")
        if name is not None:
            shutil.copyfile(os.path.join(args.corpus, name), model)
        for tool in TOOLS:
            refused(f"{tool}, {what}", tool_args(tool, rgb) +
                    ["--model", model], 1,
                    f"{PROG}: cannot load the model: {model}: {problem}")
    # Finite weights that overflow: caught at the first step, as Inf, or as
    # NaN where the fast path's Winograd transforms meet Inf - Inf (the
    # ASan build caps the fast path at AVX2).
    model = path("huge-weights")
    shutil.copyfile(os.path.join(args.corpus, "huge-weights-overflow"), model)
    refused("img2img, weights that overflow at the first step",
            tool_args("img2img", rgb) + ["--model", model, "--strength",
                                         "0.5"], 1,
            tuple(f"{PROG}: img2img failed: the network produced {v} at "
                  "t = 500 (input out of range, or a broken model)"
                  for v in ("Inf", "NaN")))

    # Small images: 1x1 and below the factor of 4, gray and RGB.
    tiny = ["--model", args.model]
    for w, h in ((1, 1), (3, 2), (1, 7)):
        for channels in (1, 3):
            src = path(f"small-{w}x{h}-{channels}.png")
            pngfile.write(src, pngfile.test_image(width=w, height=h,
                                                  channels=channels), 8)
            mask = path(f"mask-{w}x{h}.png")
            pngfile.write(mask, pngfile.test_image(width=w, height=h,
                                                   channels=1) * 0 + 255, 8)
            for tool in TOOLS:
                scale = 2 if tool == "upscale" else 1
                succeeds(f"{tool} on {w}x{h} ({channels} channel(s))",
                         tool_args(tool, src, mask) + tiny,
                         (w * scale, h * scale))

    # A mask of another size, and none.
    refused("inpaint, a mask of another size",
            ["inpaint", rgb, "--mask", path("mask-3x2.png"), "-q"] + tiny, 1,
            f"{PROG}: the mask {path('mask-3x2.png')} is 3 x 2, the image "
            f"{rgb} is 24 x 16: they must have the same size")
    refused("inpaint, no mask", ["inpaint", rgb, "-q"] + tiny, 2,
            f"Try '{PROG} --help'.")

    # 30000x30000 under a 512 MiB cap: refused for memory, no crash.
    huge = path("huge.png")
    big_gray_png(huge, 30000, 30000)
    for tool in TOOLS:
        refused(f"{tool} on 30000x30000 under a 512 MiB cap",
                tool_args(tool, huge) + tiny, 1,
                f"{PROG}: cannot read {huge}: out of memory for 30000 x "
                "30000 pixels", memory_cap_mb=512)
    # Past libpng's limit: refused before anything is allocated.
    wide = path("wide.png")
    big_gray_png(wide, 70000, 2)
    refused("img2img on 70000x2", tool_args("img2img", wide) + tiny, 1,
            f"{PROG}: cannot read {wide}: Invalid IHDR data")

    # A budget smaller than one tile (the shipped model: 128-pixel tiles).
    if args.default_model:
        src = path("in-300.png")
        pngfile.write(src, pngfile.test_image(width=300, height=200,
                                              channels=3), 8)
        mask = path("mask-300.png")
        pngfile.write(mask, pngfile.test_image(width=300, height=200,
                                               channels=1), 8)
        # Two threads: the workspace holds one im2col chunk per thread.
        for tool in TOOLS:
            refused(f"{tool} with --memory 16 (the shipped model)",
                    tool_args(tool, src, mask) +
                    ["--model", args.default_model, "--memory", "16",
                     "--threads", "2"], 1,
                    f"{PROG}: {tool} failed: {tool}: a memory budget of 16 "
                    "MiB is too small: the smallest tile (128 x 128) needs "
                    "26 MiB")

    print(f"{len(failures)} failed")
    if failures:
        print(f"files kept in {tmp}")
        return 1
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
