#!/usr/bin/python3
"""End to end: plug-in-diffusion-img2img in headless GIMP 2.10 (Script-Fu).

A throw-away HOME whose gimprc makes the plug-in path one folder holding
the freshly built plug-in (in its own gimp-diffusion/ subfolder, as GIMP
2.10 wants) beside links to the system's Script-Fu and PNG plug-ins; GD_MODEL_DIR makes "" (the shipped model) resolve to the model
under test.  One GIMP session runs every case and saves each result; the
checks are made here on the saved PNGs and GIMP's messages.
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


def scheme_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SCRIPT_PRELUDE = r"""
(define (gd-load f) (car (gimp-file-load RUN-NONINTERACTIVE f f)))
(define (gd-save img f)
  (file-png-save2 RUN-NONINTERACTIVE img
                  (car (gimp-image-get-active-drawable img))
                  f f 0 9 0 0 0 0 0 0 1))
; gimp-message on the console: a line on GIMP's stderr for each case
(define (gd-report name ok)
  (gimp-message (string-append "CASE " name (if ok " ok" " error"))))
; prep: 0 nothing, 1 an elliptic selection, 2 convert to indexed
(define (gd-run name in out prep mode strength steps sampler seed model)
  (let* ((img (gd-load in))
         (d (car (gimp-image-get-active-drawable img))))
    (if (= prep 1)
        (begin
          (gimp-context-set-antialias FALSE)
          (gimp-context-set-feather FALSE)
          (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 16 12 32 24)))
    (if (= prep 2)
        (gimp-image-convert-indexed img CONVERT-DITHER-NONE
                                    CONVERT-PALETTE-GENERATE 16 FALSE FALSE ""))
    (gd-report name
               (catch #f
                 (begin
                   (plug-in-diffusion-img2img mode img d strength steps
                                              sampler seed model)
                   #t)))
    (if (= prep 2) (gimp-image-convert-rgb img))
    (gimp-selection-none img)
    (gd-save img out)
    (gimp-image-delete img)))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True, help="the built plug-in")
    ap.add_argument("--model", required=True, help="the model to run")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--gimp", default="gimp-console-2.10")
    ap.add_argument("--system-plugins", default="/usr/lib/gimp/2.0/plug-ins")
    ap.add_argument("--cli", help="gimp-diffusion-cli, to compare with")
    args = ap.parse_args()
    args.model = os.path.abspath(args.model)

    tmp = tempfile.mkdtemp(prefix="gd-gimp-e2e-")
    home = os.path.join(tmp, "home")
    conf = os.path.join(home, ".config", "GIMP", "2.10")
    for sub in ("brushes", "dynamics", "fonts", "gradients", "palettes",
                "patterns", "tool-presets", "mypaint-brushes"):
        os.makedirs(os.path.join(conf, sub))
    plugdir = os.path.join(tmp, "plug-ins")
    os.makedirs(os.path.join(plugdir, "gimp-diffusion"))
    shutil.copy2(args.plugin,
                 os.path.join(plugdir, "gimp-diffusion", "gimp-diffusion"))
    # Only the plug-ins the test needs: the one under test, Script-Fu and
    # the PNG loader.  Not the whole system folder, where an installed
    # gimp-diffusion would register the same procedure and might win.
    for name in ("script-fu", "file-png"):
        os.symlink(os.path.join(args.system_plugins, name),
                   os.path.join(plugdir, name))
    with open(os.path.join(conf, "gimprc"), "w") as f:
        f.write(f'(plug-in-path "{plugdir}")\n')
    # "" resolves to GD_MODEL_DIR/default.safetensors: the model under test.
    modeldir = os.path.join(tmp, "models")
    os.makedirs(modeldir)
    os.symlink(os.path.abspath(args.model),
               os.path.join(modeldir, "default.safetensors"))
    corrupt = os.path.join(tmp, "corrupt.safetensors")
    with open(corrupt, "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")

    def path(name):
        return os.path.join(tmp, name)

    images = {
        "rgba": (pngfile.test_image(channels=4, depth=8), 8),
        "gray": (pngfile.test_image(channels=1, depth=8), 8),
        "gray16": (pngfile.test_image(channels=1, depth=16), 16),
    }
    for name, (pix, depth) in images.items():
        pngfile.write(path(name + ".png"), pix, depth)

    steps = args.steps
    NI, LAST = "RUN-NONINTERACTIVE", "RUN-WITH-LAST-VALS"
    # name, input, prep, mode, strength, steps, sampler, seed, model
    cases = [
        ("a1", "rgba", 0, NI, 0.5, steps, "ddim", 1, ""),
        ("last", "rgba", 0, LAST, 0.9, 1, "ddim", 99, ""),
        ("a2", "rgba", 0, NI, 0.5, steps, "ddim", 1, ""),
        ("a3", "rgba", 0, NI, 0.5, steps, "ddim", 2, ""),
        ("named", "rgba", 0, NI, 0.5, steps, "ddim", 1, args.model),
        ("sel", "rgba", 1, NI, 0.5, steps, "ddim", 1, ""),
        ("gray", "gray", 0, NI, 0.5, steps, "ddim", 1, ""),
        ("gray16", "gray16", 0, NI, 0.5, steps, "ddim", 1, ""),
        ("s0", "rgba", 0, NI, 0.0, steps, "ddim", 1, ""),
        ("badstrength", "rgba", 0, NI, 1.5, steps, "ddim", 1, ""),
        ("badsteps", "rgba", 0, NI, 0.5, 0, "ddim", 1, ""),
        ("badsampler", "rgba", 0, NI, 0.5, steps, "nope", 1, ""),
        ("nomodel", "rgba", 0, NI, 0.5, steps, "ddim", 1,
         path("no-such-model.safetensors")),
        ("corrupt", "rgba", 0, NI, 0.5, steps, "ddim", 1, corrupt),
        ("indexed", "rgba", 2, NI, 0.5, steps, "ddim", 1, ""),
    ]
    body = [SCRIPT_PRELUDE, "(gimp-message-set-handler CONSOLE)"]
    for name, inp, prep, mode, strength, nsteps, sampler, seed, model in cases:
        body.append(
            f"(gd-run {scheme_string(name)} "
            f"{scheme_string(path(inp + '.png'))} "
            f"{scheme_string(path(name + '.out.png'))} {prep} {mode} "
            f"{strength} {nsteps} {scheme_string(sampler)} {seed} "
            f"{scheme_string(model)})")
    script = "(begin " + "\n".join(body) + ")"

    def gimp(script, env):
        env = dict(env, HOME=home)
        env.pop("DISPLAY", None)
        proc = subprocess.run(
            [args.gimp, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
            capture_output=True, text=True, env=env, timeout=1200, cwd=tmp)
        return proc.stdout + proc.stderr

    log = gimp(script, dict(os.environ, GD_MODEL_DIR=modeldir))
    with open(path("gimp.log"), "w") as f:
        f.write(log)
    print(f"GIMP log: {path('gimp.log')}")

    # A per-user install: no GD_MODEL_DIR, default.safetensors beside the
    # plug-in binary.
    os.symlink(os.path.abspath(args.model),
               os.path.join(plugdir, "gimp-diffusion", "default.safetensors"))
    env = dict(os.environ)
    env.pop("GD_MODEL_DIR", None)
    beside = "(begin " + SCRIPT_PRELUDE + \
        "(gimp-message-set-handler CONSOLE)" + \
        f"(gd-run \"beside\" {scheme_string(path('rgba.png'))} " \
        f"{scheme_string(path('beside.out.png'))} 0 RUN-NONINTERACTIVE " \
        f"0.5 {steps} \"ddim\" 1 \"\"))"
    log += gimp(beside, env)

    def status(name):
        for line in log.splitlines():
            words = line.split()
            if "CASE" in words and words[words.index("CASE") + 1:] and \
                    words[words.index("CASE") + 1] == name:
                return words[-1]
        return "missing"

    def out(name):
        return pngfile.read(path(name + ".out.png"))

    rgba = images["rgba"][0]
    ok_cases = ["a1", "last", "a2", "a3", "named", "sel", "gray", "gray16",
                "s0", "beside"]
    for name in ok_cases:
        check(status(name) == "ok", f"{name}: the procedure succeeds")
    err_cases = {
        "badstrength": "strength 1.5 is outside 0..1",
        "badsteps": "steps 0 is outside 1..1000",
        "badsampler": 'unknown sampler "nope"',
        "nomodel": "Cannot load the model",
        "corrupt": "corrupt.safetensors",
        "indexed": "Indexed images are not supported",
    }
    for name, message in err_cases.items():
        check(status(name) == "error" and message in log,
              f"{name}: refused with '{message}'")
    if any(status(n) == "missing" for n in ok_cases):
        print(log[-4000:])
        print(f"{len(failures)} failed")
        return 1

    a1, depth = out("a1")
    check(depth == 8 and a1.shape == rgba.shape,
          f"a1: 8-bit RGBA {rgba.shape} (got {depth}-bit {a1.shape})")
    check(np.array_equal(a1[..., 3], rgba[..., 3]), "a1: alpha bit-identical")
    diff = np.abs(a1[..., :3].astype(float) - rgba[..., :3]).mean() / 255
    check(diff > 0.005, f"a1: colour changed (mean |diff| {diff:.4f})")
    check(np.array_equal(out("a2")[0], a1), "a2: same seed, same pixels")
    diff = np.abs(out("a3")[0].astype(float) - a1).mean() / 255
    check(diff > 1e-4, f"a3: another seed, other pixels ({diff:.4f})")
    check(np.array_equal(out("last")[0], a1),
          "last: RUN-WITH-LAST-VALS repeats the last run's values")
    check(np.array_equal(out("named")[0], a1),
          "named: the model by path = the shipped one via \"\"")
    check(np.array_equal(out("beside")[0], a1),
          "beside: \"\" finds the model beside the plug-in (per-user install)")

    if args.cli:
        # Two thin front ends over one core: the same seed, the same pixels
        # (up to the last 8-bit level: GIMP rounds through babl).
        proc = subprocess.run(
            [args.cli, "img2img", path("rgba.png"), "-o", path("cli.png"),
             "--model", args.model, "--strength", "0.5", "--steps",
             str(steps), "--seed", "1", "--quiet"],
            capture_output=True, text=True, timeout=600)
        check(proc.returncode == 0, f"cli: runs ({proc.stderr.strip()})")
        if proc.returncode == 0:
            cli = pngfile.read(path("cli.png"))[0].astype(int)
            worst = np.abs(cli - a1).max()
            check(worst <= 1, f"cli = plug-in within one level (max {worst})")

    sel = out("sel")[0]
    inside = np.zeros(rgba.shape[:2], bool)
    inside[12:36, 16:48] = True
    check(np.array_equal(sel[~inside], rgba[~inside]),
          "sel: pixels outside the selection bounds identical")
    corners = np.zeros_like(inside)
    for ys in (slice(12, 14), slice(34, 36)):
        for xs in (slice(16, 18), slice(46, 48)):
            corners[ys, xs] = True
    check(np.array_equal(sel[corners], rgba[corners]),
          "sel: pixels outside the ellipse (bounds' corners) identical")
    centre = np.abs(sel[20:28, 28:36, :3].astype(float) -
                    rgba[20:28, 28:36, :3]).mean() / 255
    check(centre > 0.005, f"sel: inside the ellipse changed ({centre:.4f})")
    check(np.array_equal(sel[..., 3], rgba[..., 3]), "sel: alpha identical")

    for name in ("gray", "gray16"):
        src, sdepth = images[name]
        got, gdepth = out(name)
        check(gdepth == sdepth and got.shape == src.shape,
              f"{name}: {sdepth}-bit gray {src.shape} (got {gdepth}-bit "
              f"{got.shape})")
        if got.shape == src.shape:
            maxv = 65535.0 if sdepth == 16 else 255.0
            diff = np.abs(got.astype(float) - src).mean() / maxv
            check(diff > 0.005, f"{name}: changed (mean |diff| {diff:.4f})")

    check(np.array_equal(out("s0")[0], rgba), "s0: strength 0 changes nothing")
    for name in ("badstrength", "badsteps", "badsampler", "nomodel",
                 "corrupt"):
        check(np.array_equal(out(name)[0], rgba),
              f"{name}: the image is unchanged")

    print(f"{len(failures)} failed")
    if failures:
        print(log[-4000:])
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
