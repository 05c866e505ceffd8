#!/usr/bin/python3
"""End to end: the four procedures in headless GIMP 3 (gimp-console-3.0),
the installed plug-in (tools/debian13-root.sh builds and installs it into
the Debian 13 root, then runs this).

- Python-Fu (gimp3_checks.py, one GIMP session): the arguments and menus;
  each tool on RGB, RGBA and GRAY, 8-bit and 32-bit float; a feathered
  selection (outside unchanged bit for bit); the same seed, the same
  pixels; bad values, indexed images and layer groups refused with the
  image unchanged; several selected layers; the shipped model found;
- Script-Fu (a second session): each procedure called with named
  arguments as the README shows; out-of-range values (refused by GIMP's
  argument ranges) leave the image as it was;
- the CLI: for the same values and seed the plug-in gives its pixels.
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

HERE = os.path.dirname(os.path.abspath(__file__))
passed = []
failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    (passed if cond else failures).append(what)


def plugin_setup(home, plugin, installed, model):
    """The plug-in GIMP 3 runs: the installed one when there is one (it
    must be the build's: `ninja install`), else the build's, installed per
    user into HOME with the shipped model beside it.  (ok, what)"""
    if os.path.exists(installed):
        return (os.path.getmtime(installed) >= os.path.getmtime(plugin) - 1,
                f"the installed plug-in {installed} is the one built "
                "(ninja install)")
    folder = os.path.join(home, ".config", "GIMP", "3.0", "plug-ins",
                          "gimp-diffusion")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(plugin, os.path.join(folder, "gimp-diffusion"))
    if os.path.exists(model):
        shutil.copy(model, os.path.join(folder, "default.safetensors"))
    return True, f"the plug-in installed per user in {folder}"


def gimp(tmp, interpreter, command, timeout=600):
    env = dict(os.environ, HOME=os.path.join(tmp, "home"), GD_TEST_DIR=tmp,
               LANG="C.UTF-8")
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        ["gimp-console-3.0", "-i", "-d", "-f", "--quit",
         "--batch-interpreter=" + interpreter, "-b", command],
        capture_output=True, text=True, timeout=timeout, env=env)
    return proc.stdout + proc.stderr


def scheme_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SCRIPT_FU_CALLS = {
    "img2img": "#:strength 0.5",
    "inpaint": "#:strength 0.5 #:fill \"smooth\" #:precision \"exact\"",
    "upscale": "#:scale 2 #:strength 0.5",
    "denoise": "#:sigma 0 #:ensemble 1",
}
SCRIPT_FU_BAD = [
    # (the image has a selection, for inpaint)
    ("inpaint", "#:strength 0.5 #:fill \"blur\""),
    ("img2img", "#:strength 0.5 #:precision \"half\""),
    ("img2img", "#:strength 1.5"),
    ("img2img", "#:strength 0.5 #:steps 0"),
    ("denoise", "#:sigma 300 #:ensemble 1"),
    ("upscale", "#:scale 8 #:strength 0.5"),
]


def script_fu(tmp, model):
    """Each procedure from Script-Fu with named arguments, then values out
    of range: refused, the image as it was."""
    m = scheme_string(model)
    forms = []
    for tool, own in SCRIPT_FU_CALLS.items():
        out = scheme_string(os.path.join(tmp, f"sf-{tool}.png"))
        select = ("(gimp-image-select-rectangle img CHANNEL-OP-REPLACE "
                  "8 6 16 12)" if tool == "inpaint" else "")
        forms.append(f"""
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE
                   {scheme_string(os.path.join(tmp, "rgb.png"))})))
       (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
  {select}
  (plug-in-diffusion-{tool} #:run-mode RUN-NONINTERACTIVE #:image img
    #:drawables (vector layer) {own} #:steps 2 #:sampler "ddim" #:seed 1
    #:model {m})
  (gimp-file-save RUN-NONINTERACTIVE img {out} -1)
  (gimp-message "sf-done {tool}"))""")
    bad = []
    for i, (tool, own) in enumerate(SCRIPT_FU_BAD):
        bad.append(f"""
  (catch (gimp-message "sf-refused {i}")
    (plug-in-diffusion-{tool} #:run-mode RUN-NONINTERACTIVE #:image img
      #:drawables (vector layer) {own} #:seed 1 #:model {m})
    (gimp-message "sf-accepted {i}"))""")
    out = scheme_string(os.path.join(tmp, "sf-bad.png"))
    forms.append(f"""
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE
                   {scheme_string(os.path.join(tmp, "rgb.png"))})))
       (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 8 6 16 12)
  {"".join(bad)}
  (gimp-file-save RUN-NONINTERACTIVE img {out} -1)
  (gimp-message "sf-bad-done"))""")
    log = gimp(tmp, "plug-in-script-fu-eval", "(begin " + "".join(forms) + ")")
    rgb = pngfile.read(os.path.join(tmp, "rgb.png"))[0]
    for tool in SCRIPT_FU_CALLS:
        path = os.path.join(tmp, f"sf-{tool}.png")
        ok = f"sf-done {tool}" in log and os.path.exists(path)
        if ok:
            got = pngfile.read(path)[0]
            scale = 2 if tool == "upscale" else 1
            ok = got.shape[0] == rgb.shape[0] * scale and (
                tool == "upscale" or not np.array_equal(got, rgb))
        check(ok, f"script-fu: plug-in-diffusion-{tool} with named "
              "arguments")
    for i, (tool, own) in enumerate(SCRIPT_FU_BAD):
        check(f"sf-refused {i}" in log and f"sf-accepted {i}" not in log,
              f"script-fu: {tool} {own} refused")
    path = os.path.join(tmp, "sf-bad.png")
    check("sf-bad-done" in log and os.path.exists(path)
          and np.array_equal(pngfile.read(path)[0], rgb),
          "script-fu: the refused calls left the image unchanged")
    if failures:
        print(log)


def compare_cli(tmp, cli, model):
    """The same values and seed: the CLI's pixels (within one 8-bit level,
    GIMP rounds through babl), on the RGBA image."""
    # gimp3_checks.check_fill_precision's rectangle
    mask = np.zeros((24, 32, 1), np.uint8)
    mask[8:16, 12:20] = 255
    mask_path = os.path.join(tmp, "mask-rect.png")
    pngfile.write(mask_path, mask, 8)
    runs = {
        "img2img": ["--strength", "0.5"],
        "upscale": ["--scale", "2", "--strength", "0.5"],
        "denoise": ["--sigma", "auto"],
        "inpaint-smooth": ["--strength", "0.5", "--fill", "smooth",
                           "--mask", mask_path],
        "inpaint-patch": ["--strength", "0.5", "--fill", "patch",
                          "--mask", mask_path],
        "img2img-fast": ["--strength", "0.5", "--precision", "fast"],
    }
    for case, extra in runs.items():
        tool = case.split("-")[0]
        out = os.path.join(tmp, f"cli-{case}.png")
        proc = subprocess.run(
            [cli, tool, os.path.join(tmp, "rgba.png"), "-o", out, "--model",
             model, "--steps", "2", "--seed", "1", "--quiet"] + extra,
            capture_output=True, text=True, timeout=600)
        mine = os.path.join(tmp, f"{case}-rgba8.png")
        if proc.returncode != 0 or not os.path.exists(mine):
            check(False, f"cli-{case}: runs ({proc.stderr.strip()}), "
                  f"the plug-in's result is there")
            continue
        a = pngfile.read(out)[0].astype(int)
        b = pngfile.read(mine)[0].astype(int)
        # Where alpha is 0 GIMP's PNG export writes no colour.
        seen = (a[..., 3] > 0) & (b[..., 3] > 0) if a.shape == b.shape else 0
        worst = (np.abs(a[..., :3] - b[..., :3])[seen].max()
                 if a.shape == b.shape else 999)
        check(worst <= 1, f"cli-{case}: the GIMP 3 plug-in gives the CLI's "
              f"pixels (max diff {worst})")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plugin", required=True, help="the built plug-in")
    ap.add_argument("--installed", required=True,
                    help="where it is installed (GIMP runs that one; when "
                    "it is not there, the build's, installed per user)")
    ap.add_argument("--shipped-model", default="",
                    help="models/default.safetensors, beside a per-user "
                    "install")
    ap.add_argument("--model", required=True)
    ap.add_argument("--cli", required=True)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="gd-gimp3-") as tmp:
        os.makedirs(os.path.join(tmp, "home"))
        # (meson install rewrites the binary's run path: not byte-equal)
        check(*plugin_setup(os.path.join(tmp, "home"), args.plugin,
                            args.installed, args.shipped_model))
        pngfile.write(os.path.join(tmp, "rgb.png"),
                      pngfile.test_image(32, 24, 3, 8), 8)
        pngfile.write(os.path.join(tmp, "rgba.png"),
                      pngfile.test_image(32, 24, 4, 8), 8)
        pngfile.write(os.path.join(tmp, "gray.png"),
                      pngfile.test_image(32, 24, 1, 8), 8)
        env_model = os.path.abspath(args.model)
        os.environ["GD_TEST_MODEL"] = env_model
        checks = os.path.join(HERE, "gimp3_checks.py")
        log = gimp(tmp, "python-fu-eval",
                   f"exec(open({checks!r}).read())")
        lines = [line for line in log.splitlines()
                 if line.startswith(("ok     ", "FAILED "))]
        for line in lines:
            check(line.startswith("ok"), "python-fu: " + line[7:])
        check("checks done" in log, "python-fu: all checks ran")
        if "checks done" not in log or any(
                line.startswith("FAILED") for line in lines):
            print(log)
        script_fu(tmp, env_model)
        compare_cli(tmp, args.cli, env_model)
    print(f"{len(passed)} checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
