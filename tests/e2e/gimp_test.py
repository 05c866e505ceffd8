#!/usr/bin/python3
"""End to end: the four procedures in headless GIMP 2.10 (Script-Fu).

A throw-away HOME whose gimprc makes the plug-in path one folder holding
the freshly built plug-in (in its own gimp-diffusion/ subfolder, as GIMP
2.10 wants), the progress probe (a test plug-in that records the progress
a procedure reports) and links to the system's Script-Fu and PNG plug-ins;
GD_MODEL_DIR makes "" (the shipped model) resolve to the model under test.

One GIMP session runs every case: each loads a PNG, prepares it (a
selection, a feathered one, a layer with offsets, 32-bit float, indexed, a
layer group, a floating selection, a layer mask, a channel), calls a
procedure, reports the outcome and the image's state on a "CASE" line and
saves the drawable (and the selection; or every item of the image, before
and after).  The checks are made here on the saved PNGs and those lines.
--quality-model adds cases run with a trained model, where what the tools
do to a photograph is measured.
"""

import argparse
import os
import shutil
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


def scheme_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SCRIPT_PRELUDE = r"""
(define (gd-load f) (car (gimp-file-load RUN-NONINTERACTIVE f f)))
(define (gd-save img d f)
  (file-png-save2 RUN-NONINTERACTIVE img d f f 0 9 0 0 0 0 0 0 1))
(define (gd-num n) (number->string n))
; The message of the last error, for the CASE line.
(define gd-last-error "")
(define (gd-error-hook . args)
  (set! gd-last-error (if (and (pair? args) (string? (car args)))
                          (car args) "?"))
  (apply throw args))
(set! *error-hook* gd-error-hook)
(define (gd-info img d)
  (let ((offsets (gimp-drawable-offsets d)))
    (string-append
      "precision=" (gd-num (car (gimp-image-get-precision img)))
      " image=" (gd-num (car (gimp-image-width img))) "x"
      (gd-num (car (gimp-image-height img)))
      " layer=" (gd-num (car (gimp-drawable-width d))) "x"
      (gd-num (car (gimp-drawable-height d)))
      " offsets=" (gd-num (car offsets)) "," (gd-num (cadr offsets))
      " dirty=" (gd-num (car (gimp-image-is-dirty img)))
      " selection=" (if (= (car (gimp-selection-is-empty img)) TRUE)
                        "none"
                        (let ((b (gimp-selection-bounds img)))
                          (string-append (gd-num (cadr b)) ","
                                         (gd-num (caddr b)) ","
                                         (gd-num (cadddr b)) ","
                                         (gd-num (car (cddddr b)))))))))
(define (gd-ellipse img x y w h feather)
  (gimp-context-set-antialias FALSE)
  (gimp-context-set-feather (if (> feather 0) TRUE FALSE))
  (gimp-context-set-feather-radius feather feather)
  (gimp-image-select-ellipse img CHANNEL-OP-REPLACE x y w h)
  (gimp-context-set-feather FALSE))
; Prepares the image; returns the drawable to work on.
(define (gd-prep img d prep)
  (cond
    ((string=? prep "ellipse") (gd-ellipse img 16 12 32 24 0) d)
    ((string=? prep "feather") (gd-ellipse img 20 14 24 20 6) d)
    ((string=? prep "offsets")
     ; a 40 x 30 layer at (12, 10); the ellipse reaches past its corner
     (gimp-layer-resize d 40 30 -12 -10)
     (gd-ellipse img 30 18 30 24 0)
     d)
    ((string=? prep "outside")
     (gimp-layer-resize d 20 20 -4 -4)
     (gd-ellipse img 40 30 16 12 0)
     d)
    ((string=? prep "float")
     (gimp-image-convert-precision img PRECISION-FLOAT-GAMMA) d)
    ((string=? prep "float-ellipse")
     (gimp-image-convert-precision img PRECISION-FLOAT-GAMMA)
     (gd-ellipse img 16 12 32 24 0)
     d)
    ((string=? prep "hole")
     ; a black disc, selected, in the middle of a 96 x 96 photograph
     (gd-ellipse img 34 34 28 28 0)
     (gimp-context-set-foreground '(0 0 0))
     (gimp-edit-fill d FILL-FOREGROUND)
     d)
    ((string=? prep "indexed")
     (gimp-image-convert-indexed img CONVERT-DITHER-NONE
                                 CONVERT-PALETTE-GENERATE 16 FALSE FALSE "")
     d)
    ; the layer inside a new group, the ellipse selected; the group is the
    ; drawable
    ((string=? prep "group")
     (let ((g (car (gimp-layer-group-new img))))
       (gimp-image-insert-layer img g 0 0)
       (gimp-image-reorder-item img d g 0)
       (gd-ellipse img 16 12 32 24 0)
       g))
    ((string=? prep "in-group")
     (gd-prep img d "group")
     (gimp-selection-none img)
     d)
    ; the ellipse copied and pasted as a floating selection at (4, 4) (the
    ; paste clears the selection); the floating selection is the drawable
    ((string=? prep "paste")
     (gd-ellipse img 16 12 32 24 0)
     (gimp-edit-copy d)
     (let ((fs (car (gimp-edit-paste d FALSE))))
       (gimp-layer-set-offsets fs 4 4)
       fs))
    ; the same, the layer under the floating selection the drawable
    ((string=? prep "paste-below") (gd-prep img d "paste") d)
    ; the paste, then a selection over part of it
    ((string=? prep "paste-select")
     (let ((fs (gd-prep img d "paste")))
       (gd-ellipse img 8 8 16 16 0)
       fs))
    ; the ellipse floated out of the layer (Select > Float)
    ((string=? prep "floated")
     (gd-ellipse img 16 12 32 24 0)
     (car (gimp-selection-float d 0 0)))
    ((string=? prep "mask")
     (let ((m (car (gimp-layer-create-mask d ADD-MASK-COPY))))
       (gimp-layer-add-mask d m)
       m))
    ((string=? prep "channel")
     (let ((c (car (gimp-channel-new-from-component img CHANNEL-RED "red"))))
       (gimp-image-insert-channel img c 0 0)
       c))
    (else d)))
; Every item of the image, depth first, as "KIND ID:WxH+X+Y" joined by ";"
; (G a group, F the floating selection, L a layer, M its mask, C a channel,
; S the selection), each one's pixels saved as PREFIX.INDEX.png.
(define (gd-items img prefix)
  (let ((n 0) (desc ""))
    (define (add kind d)
      (let ((o (gimp-drawable-offsets d)))
        (gd-save img d (string-append prefix "." (gd-num n) ".png"))
        (set! n (+ n 1))
        (set! desc (string-append
                     desc (if (string=? desc "") "" ";") kind (gd-num d) ":"
                     (gd-num (car (gimp-drawable-width d))) "x"
                     (gd-num (car (gimp-drawable-height d))) "+"
                     (gd-num (car o)) "+" (gd-num (cadr o))))))
    (define (walk layers)
      (for-each
        (lambda (l)
          (if (= (car (gimp-item-is-group l)) TRUE)
              (begin (add "G" l)
                     (walk (vector->list (cadr (gimp-item-get-children l)))))
              (begin
                (add (if (= (car (gimp-layer-is-floating-sel l)) TRUE) "F" "L")
                     l)
                (if (not (= (car (gimp-layer-get-mask l)) -1))
                    (add "M" (car (gimp-layer-get-mask l)))))))
        layers))
    (walk (vector->list (cadr (gimp-image-get-layers img))))
    (for-each (lambda (c) (add "C" c))
              (vector->list (cadr (gimp-image-get-channels img))))
    (add "S" (car (gimp-image-get-selection img)))
    desc))
; A case that saves every item of the image before and after the call.
(define (gd-case-items name in out prep thunk)
  (let* ((img (gd-load in))
         (d (gd-prep img (car (gimp-image-get-active-drawable img)) prep)))
    (gimp-image-clean-all img)
    (set! gd-last-error "")
    (let* ((before (gd-items img (string-append out ".before")))
           (ok (catch #f (begin (thunk img d) #t)))
           (info (gd-info img d))
           (after (gd-items img (string-append out ".after"))))
      (gimp-message (string-append "CASE " name (if ok " ok " " error ")
                                   "items-before=" before " items=" after
                                   " " info " message=" gd-last-error))
      (gimp-image-delete img))))
; One case: load, prepare, run, report, save the drawable (and the
; selection as a PNG of the image's size).
(define (gd-case name in out prep thunk)
  (let* ((img (gd-load in))
         (d (gd-prep img (car (gimp-image-get-active-drawable img)) prep)))
    (gimp-image-clean-all img)
    (set! gd-last-error "")
    (define before (gd-num (car (gimp-image-get-precision img))))
    (if (= (car (gimp-selection-is-empty img)) FALSE)
        (gd-save img (car (gimp-image-get-selection img))
                 (string-append out ".sel.png")))
    (let ((ok (catch #f (begin (thunk img d) #t))))
      (gimp-message (string-append "CASE " name (if ok " ok " " error ")
                                   "before=" before " " (gd-info img d)
                                   " message=" gd-last-error))
      (if (string=? prep "indexed") (gimp-image-convert-rgb img))
      (gd-save img d out)
      (gimp-image-delete img))))
"""


class Session:
    """The cases of one GIMP run and what it printed."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.forms = []
        self.lines = {}
        self.log = ""

    def path(self, name):
        return os.path.join(self.tmp, name)

    def case(self, name, image, prep, call):
        """call: a Scheme expression over `img` and `d`."""
        self.forms.append(
            f"(gd-case {scheme_string(name)} "
            f"{scheme_string(self.path(image + '.png'))} "
            f"{scheme_string(self.path(name + '.out.png'))} "
            f"{scheme_string(prep)} (lambda (img d) {call}))")

    def case_items(self, name, image, prep, call):
        """A case whose every layer, mask, channel and selection is saved
        before and after the call (items_unchanged, items_changed)."""
        self.forms.append(
            f"(gd-case-items {scheme_string(name)} "
            f"{scheme_string(self.path(image + '.png'))} "
            f"{scheme_string(self.path(name + '.out'))} "
            f"{scheme_string(prep)} (lambda (img d) {call}))")

    def items(self, name, when="after"):
        """[(kind, "ID:WxH+X+Y")] of the image before or after the call."""
        desc = self.info(name, "items-before" if when == "before" else
                         "items") or ""
        return [(item[0], item[1:]) for item in desc.split(";") if item]

    def item_pixels(self, name, when, index):
        return pngfile.read(self.path(f"{name}.out.{when}.{index}.png"))[0]

    def run(self, gimp, env):
        script = "(begin " + SCRIPT_PRELUDE + \
            "(gimp-message-set-handler CONSOLE)\n" + \
            "\n".join(self.forms) + ")"
        env = dict(env)
        env.pop("DISPLAY", None)
        proc = subprocess.run(
            [gimp, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
            capture_output=True, text=True, env=env, timeout=1500,
            cwd=self.tmp)
        self.log = proc.stdout + proc.stderr
        with open(self.path("gimp.log"), "w") as f:
            f.write(self.log)
        for line in self.log.splitlines():
            if "CASE " not in line:
                continue
            words = line[line.index("CASE ") + 5:].split(" ")
            info = {"status": words[1]}
            rest = " ".join(words[2:])
            head, _, info["message"] = rest.partition(" message=")
            for word in head.split():
                key, _, value = word.partition("=")
                info[key] = value
            self.lines[words[0]] = info

    def status(self, name):
        return self.lines.get(name, {}).get("status", "missing")

    def info(self, name, key):
        return self.lines.get(name, {}).get(key)

    def out(self, name):
        return pngfile.read(self.path(name + ".out.png"))[0]

    def selection(self, name):
        return pngfile.read(self.path(name + ".out.png.sel.png"))[0][..., 0]


def same_pixels(a, b):
    """The same picture: alpha equal, colour within one level where it is
    seen.  GIMP's compositing (merging the shadow, scaling) rounds a pixel
    now and then the other way from one run to the next, and leaves the
    colour of fully transparent pixels undefined."""
    if a.shape != b.shape:
        return False
    a, b = a.astype(int), b.astype(int)
    if a.shape[-1] not in (2, 4):
        return np.abs(a - b).max() <= 1
    seen = (a[..., -1] > 0) | (b[..., -1] > 0)
    return np.array_equal(a[..., -1], b[..., -1]) and \
        np.abs(a - b)[seen].max(initial=0) <= 1


def psnr(a, b, maxv=255.0):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(maxv * maxv / mse)


# Each procedure's own arguments: the first release's, then fill (inpaint)
# and precision, which Script-Fu 2.10 wants too ("" is the default).
N_OWN = {"img2img": 6, "inpaint": 7, "upscale": 7, "denoise": 7}


def call(proc, mode, *args, precision=None):
    args = list(args) + [""] * (N_OWN[proc] - len(args))
    if precision is not None:
        args[-1] = precision

    def lit(v):
        return scheme_string(v) if isinstance(v, str) else str(v)
    return f"(plug-in-diffusion-{proc} {mode} img d " + \
        " ".join(lit(a) for a in args) + ")"


NI, LAST = "RUN-NONINTERACTIVE", "RUN-WITH-LAST-VALS"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True, help="the built plug-in")
    ap.add_argument("--probe", required=True,
                    help="the progress probe test plug-in")
    ap.add_argument("--model", required=True,
                    help="the model the invariants run with (small)")
    ap.add_argument("--quality-model",
                    help="a trained model, for what the tools do to a photo")
    ap.add_argument("--sample", help="the photograph for --quality-model")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--gimp", default="gimp-console-2.10")
    ap.add_argument("--system-plugins", default="/usr/lib/gimp/2.0/plug-ins")
    ap.add_argument("--cli", help="gimp-diffusion-cli, to compare with")
    ap.add_argument("--localedir",
                    help="the built translations (po/ of the build)")
    args = ap.parse_args()
    args.model = os.path.abspath(args.model)

    tmp = tempfile.mkdtemp(prefix="gd-gimp-e2e-")
    home = os.path.join(tmp, "home")
    conf = os.path.join(home, ".config", "GIMP", "2.10")
    for sub in ("brushes", "dynamics", "fonts", "gradients", "palettes",
                "patterns", "tool-presets", "mypaint-brushes"):
        os.makedirs(os.path.join(conf, sub))
    plugdir = os.path.join(tmp, "plug-ins")
    for name, src in (("gimp-diffusion", args.plugin),
                      ("gd-progress-probe", args.probe)):
        os.makedirs(os.path.join(plugdir, name))
        shutil.copy2(src, os.path.join(plugdir, name, name))
    # Only the plug-ins the test needs: not the whole system folder, where
    # an installed gimp-diffusion would register the same procedures.
    for name in ("script-fu", "file-png"):
        os.symlink(os.path.join(args.system_plugins, name),
                   os.path.join(plugdir, name))
    with open(os.path.join(conf, "gimprc"), "w") as f:
        f.write(f'(plug-in-path "{plugdir}")\n')
    modeldir = os.path.join(tmp, "models")
    os.makedirs(modeldir)
    os.symlink(args.model, os.path.join(modeldir, "default.safetensors"))
    corrupt = os.path.join(tmp, "corrupt.safetensors")
    with open(corrupt, "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    missing = os.path.join(tmp, "no-such-model.safetensors")

    s = Session(tmp)
    images = {
        "rgba": (pngfile.test_image(channels=4, depth=8), 8),
        "rgb": (pngfile.test_image(channels=3, depth=8), 8),
        "gray": (pngfile.test_image(channels=1, depth=8), 8),
        "gray16": (pngfile.test_image(channels=1, depth=16), 16),
        "rgba16": (pngfile.test_image(channels=4, depth=16), 16),
    }
    for name, (pix, depth) in images.items():
        pngfile.write(s.path(name + ".png"), pix, depth)
    rgba = images["rgba"][0]
    st = args.steps

    # ------------------------------------------------------------ cases
    # Every procedure: the common invariants.  (tool, own arguments); one
    # plug-in start costs about a second, so each case checks several
    # things and generic code (argument checks) is exercised once.
    tools = {
        "img2img": [0.5],
        "inpaint": [1.0],
        "upscale": [2, 0.5],
        "denoise": [0.0, 1],
    }
    # Generic checks, once.
    s.case("img2img-outside", "rgba", "outside",
           call("img2img", NI, 0.5, st, "ddim", 1, ""))
    s.case("img2img-corrupt", "rgba", "none",
           call("img2img", NI, 0.5, st, "ddim", 1, corrupt))
    s.case("img2img-badsteps", "rgba", "none",
           call("img2img", NI, 0.5, 0, "ddim", 1, ""))
    s.case("img2img-badsampler", "rgba", "none",
           call("img2img", NI, 0.5, st, "nope", 1, ""))
    # One argument too few (only C can call so; Script-Fu counts first):
    # the probe drops the model argument.
    for tool, value, scale in (("img2img", 0.5, -1), ("upscale", 0.5, -1)):
        s.case(f"{tool}-count", "rgba", "none",
               f"(plug-in-gd-progress-probe {NI} img d "
               f"\"plug-in-diffusion-{tool}\" {value} {scale} {st} \"ddim\" "
               f"1 \"\" {scheme_string(s.path(tool + '-count.log'))})")
    # Tool-specific values and refusals.
    s.case("img2img-s0", "rgba", "none", call("img2img", NI, 0.0, st, "ddim",
                                              1, ""))
    s.case("img2img-badstrength", "rgba", "none",
           call("img2img", NI, 1.5, st, "ddim", 1, ""))
    s.case("inpaint-empty", "rgba", "none",
           call("inpaint", NI, 1.0, st, "ddim", 1, ""))
    s.case("inpaint-half", "rgba", "ellipse",
           call("inpaint", NI, 0.5, st, "ddim", 1, ""))
    s.case("inpaint-ddpm", "rgba", "ellipse",
           call("inpaint", NI, 1.0, 5, "ddpm", 1, ""))
    s.case("upscale-offsets", "rgba", "offsets",
           call("upscale", NI, 2, 0.5, st, "ddim", 1, ""))
    s.case("upscale-gimp", "rgba", "offsets",
           "(gimp-image-scale img 128 96)")
    s.case("upscale-badscale", "rgba", "none",
           call("upscale", NI, 3, 0.5, st, "ddim", 1, ""))
    # fill and precision, appended after the first release's arguments
    # (the calls above leave them out and get the defaults): by name, ""
    # the default; the plug-in's pixels are the CLI's (check_cli).
    s.case("inpaint-smooth", "rgba", "ellipse",
           call("inpaint", NI, 0.5, st, "ddim", 1, "", "smooth"))
    s.case("inpaint-patch", "rgba", "ellipse",
           call("inpaint", NI, 0.5, st, "ddim", 1, "", "patch", ""))
    s.case("img2img-fast", "rgba", "none",
           call("img2img", NI, 0.5, st, "ddim", 1, "", "fast"))
    s.case("inpaint-badfill", "rgba", "ellipse",
           call("inpaint", NI, 0.5, st, "ddim", 1, "", "blur", ""))
    s.case("denoise-badprecision", "rgba", "none",
           call("denoise", NI, 20.0, 1, st, "ddim", 1, "", "half"))
    s.case("denoise-badsigma", "rgba", "none",
           call("denoise", NI, 300.0, 1, st, "ddim", 1, ""))
    s.case("denoise-badensemble", "rgba", "none",
           call("denoise", NI, 20.0, 3, st, "ddim", 1, ""))
    # The front end's invariants on the exact path: its pixels are compared
    # with the CLI's (check_cli) and with each other (named, last); the
    # fast path's BF16 roundings move with any input bit (GIMP's alpha-0
    # pixels), a few levels after several steps.
    for tool, own in tools.items():
        prep = "ellipse" if tool == "inpaint" else "none"
        t = tool
        if tool in ("img2img", "inpaint"):
            # Before the others: the last values must be seed 1's.
            s.case(f"{t}-seed", "rgba", prep,
                   call(t, NI, *own, st, "ddim", 2, "", precision="exact"))
        s.case(f"{t}-rgba", "rgba", prep,
               call(t, NI, *own, st, "ddim", 1, "", precision="exact"))
        s.case(f"{t}-named", "rgba", prep,
               call(t, NI, *own, st, "ddim", 1, args.model,
                    precision="exact"))
        s.case(f"{t}-rgb", "rgb", prep, call(t, NI, *own, st, "ddim", 1, "", precision="exact"))
        gray_own = [4, 0.5] if tool == "upscale" else \
            [20.0, 1] if tool == "denoise" else own
        s.case(f"{t}-gray16", "gray16", prep,
               call(t, NI, *gray_own, st, "ddim", 1, "",
                    precision="exact"))
        s.case(f"{t}-float", "rgba", "float-ellipse" if tool == "inpaint"
               else "float", call(t, NI, *own, st, "ddim", 1, "", precision="exact"))
        s.case(f"{t}-indexed", "rgba", "indexed",
               call(t, NI, *own, st, "ddim", 1, "", precision="exact"))
        s.case(f"{t}-nomodel", "rgba", prep,
               call(t, NI, *own, st, "ddim", 1, missing,
                    precision="exact"))
        if tool != "upscale":
            s.case(f"{t}-feather", "rgba", "feather",
                   call(t, NI, *own, st, "ddim", 1, "", precision="exact"))
            s.case(f"{t}-offsets", "rgba", "offsets",
                   call(t, NI, *own, st, "ddim", 1, "", precision="exact"))

    # Last values, after every procedure has run: each repeats its own
    # last run (seed 1, the model by path), whatever the arguments.
    for tool, own in tools.items():
        prep = "ellipse" if tool == "inpaint" else "none"
        s.case(f"{tool}-last", "rgba", prep,
               call(tool, LAST, *[0 for _ in own], 0, "nope", 99, "x"))

    add_layer_cases(s, st)

    quality = args.quality_model and args.sample
    if quality:
        add_quality_cases(s, args)

    env = dict(os.environ, HOME=home, GD_MODEL_DIR=modeldir)
    if args.localedir:
        env["GD_LOCALEDIR"] = os.path.abspath(args.localedir)
    s.run(args.gimp, env)
    print(f"GIMP log: {s.path('gimp.log')}")

    missing_cases = [n for n in ("img2img-rgba", "inpaint-rgba",
                                 "upscale-rgba", "denoise-rgba")
                     if s.status(n) == "missing"]
    if missing_cases:
        print(s.log[-4000:])
        check(False, f"GIMP ran the cases (missing: {missing_cases})")
        return 1

    # ------------------------------------------------------------ checks
    for tool in tools:
        check_common(s, tool, rgba, images, args)
    check_specific(s, rgba, images, args)
    check_layers(s)
    if args.cli:
        check_cli(s, args)
    if quality:
        check_quality(s, args)

    print(f"{len(failures)} failed")
    if failures:
        print(s.log[-4000:])
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


def refused(s, name, message):
    got = s.info(name, "message") or ""
    check(s.status(name) == "error" and message in got,
          f"{name}: refused with '{message}' (got '{got}')")


def unchanged(s, name, original):
    out = s.out(name)
    check(out.shape == original.shape and np.array_equal(out, original),
          f"{name}: the image is unchanged")
    check(s.info(name, "dirty") == "0", f"{name}: the image is not dirty")


def changed(a, b, what, minimum=0.005, maxv=255.0):
    if a.shape != b.shape:
        check(False, f"{what}: shapes {a.shape} and {b.shape}")
        return
    diff = np.abs(a.astype(float) - b.astype(float)).mean() / maxv
    check(diff > minimum, f"{what}: changed (mean |diff| {diff:.4f})")


def check_common(s, tool, rgba, images, args):
    t = tool
    upscale = tool == "upscale"
    names = ["rgba", "last", "named", "rgb", "gray16", "float"]
    if tool in ("img2img", "inpaint"):
        names.append("seed")
    for name in names:
        check(s.status(f"{t}-{name}") == "ok",
              f"{t}-{name}: succeeds ({s.info(t + '-' + name, 'message')})")
    out = s.out(f"{t}-rgba")
    if upscale:
        check(out.shape == (96, 128, 4), f"{t}-rgba: 128 x 96 RGBA "
              f"(got {out.shape})")
        check(s.info(f"{t}-rgba", "image") == "128x96",
              f"{t}-rgba: the image is scaled to 128 x 96")
    else:
        check(out.shape == rgba.shape, f"{t}-rgba: size kept")
        check(np.array_equal(out[..., 3], rgba[..., 3]),
              f"{t}-rgba: alpha bit-identical")
        changed(out[..., :3], rgba[..., :3], f"{t}-rgba")
    check(s.info(f"{t}-rgba", "dirty") == "1", f"{t}-rgba: image dirty")
    check(same_pixels(s.out(f"{t}-named"), out),
          f"{t}-named: the same seed, the same pixels; the model by path = "
          f"the shipped one via \"\"")
    if tool in ("img2img", "inpaint"):
        changed(s.out(f"{t}-seed"), out, f"{t}-seed: another seed",
                minimum=1e-4)
    check(same_pixels(s.out(f"{t}-last"), out),
          f"{t}-last: RUN-WITH-LAST-VALS repeats {t}'s last run (after the "
          f"other procedures ran)")

    scale = 1
    for name, src in (("rgb", "rgb"), ("gray16", "gray16")):
        orig, depth = images[src]
        got, gdepth = pngfile.read(s.path(f"{t}-{name}.out.png"))
        h, w, c = orig.shape
        scale = (4 if name == "gray16" else 2) if upscale else 1
        shape = (h * scale, w * scale, c)
        check(gdepth == depth and got.shape == shape,
              f"{t}-{name}: {depth}-bit {shape} (got {gdepth}-bit "
              f"{got.shape})")
        if not upscale and got.shape == orig.shape:
            changed(got, orig, f"{t}-{name}",
                    maxv=65535.0 if depth == 16 else 255.0)
    # GimpPrecision: 150 8-bit, 250 16-bit, 650 32-bit float (gamma).
    for name, precision in (("rgba", "150"), ("gray16", "250"),
                            ("float", "650")):
        before = s.info(f"{t}-{name}", "before")
        after = s.info(f"{t}-{name}", "precision")
        check(before == precision and after == precision,
              f"{t}-{name}: precision {precision} kept ({before} -> "
              f"{after})")
    float_out = s.out(f"{t}-float")
    if upscale:
        check(float_out.shape == (96, 128, 4),
              f"{t}-float: upscaled ({float_out.shape})")
    else:
        changed(float_out[..., :3].astype(float) / 257, rgba[..., :3],
                f"{t}-float")

    refused(s, f"{t}-indexed", "Indexed images are not supported")
    refused(s, f"{t}-nomodel", "Cannot load the model")
    unchanged(s, f"{t}-nomodel", rgba)

    if not upscale:
        check_selection(s, f"{t}-feather", rgba, feathered=True)
        check_offsets(s, f"{t}-offsets", rgba)


def check_selection(s, name, rgba, feathered):
    """Outside the selection bit-identical, inside (where it is 1) changed,
    alpha untouched everywhere."""
    check(s.status(name) == "ok", f"{name}: succeeds "
          f"({s.info(name, 'message')})")
    out = s.out(name)
    sel = s.selection(name)
    outside = sel == 0
    inside = sel == 255
    check(outside.any() and inside.any(),
          f"{name}: the selection has an outside and an inside")
    if feathered:
        partial = (sel > 0) & (sel < 255)
        check(partial.sum() > 20, f"{name}: the selection is feathered "
              f"({partial.sum()} partial pixels)")
    check(np.array_equal(out[outside], rgba[outside]),
          f"{name}: pixels outside the selection bit-identical")
    diff = np.abs(out[inside][:, :3].astype(float) -
                  rgba[inside][:, :3]).mean() / 255
    check(diff > 0.005, f"{name}: inside the selection changed ({diff:.4f})")
    check(np.array_equal(out[..., 3], rgba[..., 3]),
          f"{name}: alpha identical")


def check_offsets(s, name, rgba):
    """A 40 x 30 layer at (12, 10) of the 64 x 48 image, the selection an
    ellipse reaching past its corner."""
    check(s.status(name) == "ok", f"{name}: succeeds "
          f"({s.info(name, 'message')})")
    check(s.info(name, "offsets") == "12,10" and
          s.info(name, "layer") == "40x30",
          f"{name}: layer 40 x 30 at 12,10 kept "
          f"({s.info(name, 'layer')} at {s.info(name, 'offsets')})")
    out = s.out(name)
    layer = rgba[10:40, 12:52]
    sel = s.selection(name)[10:40, 12:52]
    if out.shape != layer.shape:
        check(False, f"{name}: layer shape {out.shape}")
        return
    outside = sel == 0
    inside = sel == 255
    check(np.array_equal(out[outside], layer[outside]),
          f"{name}: pixels outside the selection identical")
    diff = np.abs(out[inside][:, :3].astype(float) -
                  layer[inside][:, :3]).mean() / 255
    check(diff > 0.005, f"{name}: inside the selection changed ({diff:.4f})")


def check_specific(s, rgba, images, args):
    for tool, n in (("img2img", 8), ("upscale", 9)):
        log = s.path(f"{tool}-count.log")
        status = ""
        if os.path.exists(log):
            with open(log) as f:
                status = [line.rstrip("\n") for line in f
                          if line.startswith("status")][:1]
        # (precision, appended, may be left out)
        want = (f"status\t1\tplug-in-diffusion-{tool} takes {n} to {n + 1} "
                f"arguments, got {n - 1}")
        check(status == [want], f"{tool}-count: one argument too few is "
              f"GIMP_PDB_CALLING_ERROR with a message ({status})")
        unchanged(s, f"{tool}-count", rgba)
    refused(s, "inpaint-badfill",
            'unknown fill "blur" (expected ')
    unchanged(s, "inpaint-badfill", rgba)
    refused(s, "denoise-badprecision",
            'unknown precision "half" (expected "exact" or "fast")')
    unchanged(s, "denoise-badprecision", rgba)
    for name in ("inpaint-smooth", "inpaint-patch", "img2img-fast"):
        check(s.status(name) == "ok", f"{name}: runs ({s.info(name, 'message')})")
    if s.status("inpaint-smooth") == s.status("inpaint-patch") == "ok":
        changed(s.out("inpaint-smooth"), s.out("inpaint-patch"),
                "inpaint: fill smooth and patch differ", minimum=1e-3)
    refused(s, "img2img-outside", "The selection does not touch the layer")
    refused(s, "img2img-corrupt", "corrupt.safetensors")
    refused(s, "img2img-badsteps", "steps 0 is outside 1..1000")
    refused(s, "img2img-badsampler", 'unknown sampler "nope"')
    for name in ("corrupt", "badsteps", "badsampler"):
        unchanged(s, f"img2img-{name}", rgba)
    check(s.status("img2img-s0") == "ok",
          "img2img-s0: strength 0 succeeds")
    check(np.array_equal(s.out("img2img-s0"), rgba),
          "img2img-s0: strength 0 changes nothing")
    refused(s, "img2img-badstrength", "strength 1.5 is outside 0..1")
    unchanged(s, "img2img-badstrength", rgba)

    refused(s, "inpaint-empty", "Inpainting needs a selection")
    unchanged(s, "inpaint-empty", rgba)
    check_selection(s, "inpaint-rgba", rgba, feathered=False)
    check_selection(s, "inpaint-half", rgba, feathered=False)
    changed(s.out("inpaint-half"), s.out("inpaint-rgba"),
            "inpaint-half: strength 0.5 differs from 1", minimum=1e-4)
    check_selection(s, "inpaint-ddpm", rgba, feathered=False)

    check(s.info("upscale-gray16", "image") == "256x192",
          "upscale-gray16: scale 4 makes the image 256 x 192")
    # The layer keeps its place: offsets and size doubled.
    check(s.info("upscale-offsets", "layer") == "80x60" and
          s.info("upscale-offsets", "offsets") == "24,20",
          f"upscale-offsets: layer 80 x 60 at 24,20 "
          f"({s.info('upscale-offsets', 'layer')} at "
          f"{s.info('upscale-offsets', 'offsets')})")
    check(s.info("upscale-offsets", "selection") ==
          s.info("upscale-gimp", "selection"),
          f"upscale-offsets: the selection is kept, scaled with the image "
          f"({s.info('upscale-offsets', 'selection')})")
    up, ref = s.out("upscale-offsets"), s.out("upscale-gimp")
    check(up.shape == ref.shape and np.array_equal(up[..., 3], ref[..., 3]),
          "upscale-offsets: alpha is GIMP's own scaled alpha")
    if up.shape == ref.shape:
        # The whole layer is replaced: the selection does not mask it.
        sel = s.selection("upscale-offsets")[10:40, 12:52]
        outside = np.repeat(np.repeat(sel == 0, 2, 0), 2, 1)
        diff = np.abs(up[outside][:, :3].astype(float) -
                      ref[outside][:, :3]).mean() / 255
        check(diff > 1e-3, f"upscale-offsets: replaced outside the "
              f"selection too ({diff:.4f} from GIMP's scaling)")
    refused(s, "upscale-badscale", "scale 3 is not 2 or 4")
    unchanged(s, "upscale-badscale", rgba)

    refused(s, "denoise-badsigma", "sigma 300 is outside 0..255")
    unchanged(s, "denoise-badsigma", rgba)
    refused(s, "denoise-badensemble", "self-ensemble 3 is not 1, 2, 4 or 8")
    unchanged(s, "denoise-badensemble", rgba)


# ------------------------------------------------- groups, floating, masks

GROUP_MESSAGE = ("Cannot modify the pixels of layer groups: select a layer "
                 "inside the group.")
UPSCALE_FLOATING_MESSAGE = (
    "Upscaling scales the whole image: anchor the floating selection first "
    "(Layer > Anchor Layer) or make it a new layer (Layer > To New Layer).")
INPAINT_FLOATING_MESSAGE = (
    "Inpainting needs a selection, and a floating selection is not one: "
    "anchor it (Layer > Anchor Layer) or make it a new layer (Layer > To New "
    "Layer), then select the area to fill.")
UPSCALE_LAYER_MESSAGE = ("Upscaling works on a layer: select a layer, not a "
                         "channel or a mask.")

# name: (prep, the message, or the kind of item that must change and those
# that may change with it)
LAYER_CASES = {
    # A group's pixels are its children's: refused by every tool.
    **{f"{tool}-group": ("group", GROUP_MESSAGE)
       for tool in ("img2img", "inpaint", "upscale", "denoise")},
    # What the message advises: a layer inside the group works (the group's
    # projection follows it).
    "denoise-ingroup": ("in-group", ("L", "G")),
    # A floating selection is worked on as GIMP's filters do: only its own
    # pixels change and it stays floating; the layer under it as well,
    # while the floating selection stays as it is.
    "img2img-paste": ("paste", ("F",)),
    "denoise-floated": ("floated", ("F",)),
    "inpaint-pasteselect": ("paste-select", ("F",)),
    "denoise-pastebelow": ("paste-below", ("L",)),
    # Inpainting has no selection after a paste; upscale would scale the
    # paste with the image.
    "inpaint-paste": ("paste", INPAINT_FLOATING_MESSAGE),
    "inpaint-pastebelow": ("paste-below", INPAINT_FLOATING_MESSAGE),
    "upscale-paste": ("paste", UPSCALE_FLOATING_MESSAGE),
    "upscale-pastebelow": ("paste-below", UPSCALE_FLOATING_MESSAGE),
    # Masks and channels are grayscale drawables: worked on as such, but
    # upscale needs a layer.
    "denoise-mask": ("mask", ("M",)),
    "img2img-channel": ("channel", ("C",)),
    "upscale-mask": ("mask", UPSCALE_LAYER_MESSAGE),
}


def add_layer_cases(s, st):
    own = {"img2img": [0.5], "inpaint": [1.0], "upscale": [2, 0.5],
           "denoise": [20.0, 1]}
    for name, (prep, _) in LAYER_CASES.items():
        tool = name.split("-")[0]
        s.case_items(name, "rgba", prep,
                     call(tool, NI, *own[tool], st, "ddim", 1, ""))


def items_text(items):
    return ";".join(kind + item for kind, item in items)


def items_unchanged(s, name):
    """The layer list (groups, the floating selection, masks, channels, the
    selection) and every item's pixels as they were, the image clean."""
    before, after = s.items(name, "before"), s.items(name)
    check(before and after == before,
          f"{name}: the items are unchanged ({items_text(after)})")
    same = [np.array_equal(s.item_pixels(name, "before", i),
                           s.item_pixels(name, "after", i))
            for i in range(len(before))] if after == before else [False]
    check(all(same), f"{name}: every item's pixels unchanged ({same})")
    check(s.info(name, "dirty") == "0", f"{name}: the image is not dirty")


def items_changed(s, name, kinds):
    """Only the item of kinds[0] (and those of kinds[1:]) changed; the others,
    the layer list and the selection as they were."""
    check(s.status(name) == "ok", f"{name}: succeeds "
          f"({s.info(name, 'message')})")
    before, after = s.items(name, "before"), s.items(name)
    check(before and after == before,
          f"{name}: the items are unchanged ({items_text(after)})")
    if after != before:
        return
    for i, (kind, item) in enumerate(before):
        a = s.item_pixels(name, "before", i)
        b = s.item_pixels(name, "after", i)
        if kind == kinds[0]:
            changed(b, a, f"{name}: {kind}{item}")
        elif kind not in kinds:
            check(np.array_equal(a, b), f"{name}: {kind}{item} identical")


def check_layers(s):
    for name, (prep, want) in LAYER_CASES.items():
        if isinstance(want, str):
            got = s.info(name, "message")
            proc = "plug-in-diffusion-" + name.split("-")[0]
            full = f"Procedure execution of {proc} failed: {want}"
            check(s.status(name) == "error" and got == full,
                  f"{name}: refused with '{want}' (got '{got}')")
            items_unchanged(s, name)
        else:
            items_changed(s, name, want)
    # The floating selection stays floating where it was.
    for name in ("img2img-paste", "denoise-pastebelow", "upscale-paste"):
        kinds = [k + i for k, i in s.items(name)]
        check(len(kinds) > 1 and kinds[0].startswith("F") and
              kinds[0].endswith(":32x24+4+4"),
              f"{name}: the floating selection is kept ({kinds[:1]})")
    # inpaint on the floating selection: only where the selection is.
    name = "inpaint-pasteselect"
    kinds = [k for k, _ in s.items(name)]
    if kinds[:1] == ["F"] and kinds[-1] == "S":
        sel = s.item_pixels(name, "before", len(kinds) - 1)[4:28, 4:36, 0]
        a = s.item_pixels(name, "before", 0)
        b = s.item_pixels(name, "after", 0)
        check(sel.any() and (sel == 0).any() and
              np.array_equal(a[sel == 0], b[sel == 0]),
              f"{name}: the floating selection unchanged outside the "
              f"selection")
    else:
        check(False, f"{name}: items {kinds}")


def check_cli(s, args):
    """Two thin front ends over one core: for the same values and seed the
    plug-in gives the CLI's pixels (up to the last 8-bit level: GIMP rounds
    through babl)."""
    st = str(args.steps)
    exact = ["--precision", "exact"]  # as the plug-in's {tool}-rgba cases
    runs = {
        "img2img": ["--strength", "0.5"] + exact,
        "inpaint": ["--strength", "1", "--mask",
                    s.path("inpaint-rgba.out.png.sel.png")] + exact,
        "upscale": ["--scale", "2", "--strength", "0.5"] + exact,
        "denoise": ["--sigma", "auto"] + exact,
        # case name: (tool, the CLI's arguments)
        "inpaint-smooth": ["--strength", "0.5", "--fill", "smooth", "--mask",
                           s.path("inpaint-smooth.out.png.sel.png")],
        "inpaint-patch": ["--strength", "0.5", "--fill", "patch", "--mask",
                          s.path("inpaint-patch.out.png.sel.png")],
        "img2img-fast": ["--strength", "0.5", "--precision", "fast"],
    }
    for case, extra in runs.items():
        tool = case.split("-")[0]
        out = s.path(f"cli-{case}.png")
        proc = subprocess.run(
            [args.cli, tool, s.path("rgba.png"), "-o", out, "--model",
             args.model, "--steps", st, "--seed", "1", "--quiet"] + extra,
            capture_output=True, text=True, timeout=600)
        check(proc.returncode == 0, f"cli-{case}: runs ({proc.stderr.strip()})")
        if proc.returncode != 0 or s.status(case if "-" in case else
                                            f"{tool}-rgba") != "ok":
            continue
        cli = pngfile.read(out)[0].astype(int)
        got = s.out(case if "-" in case else f"{tool}-rgba").astype(int)
        if cli.shape != got.shape:
            check(False, f"cli-{case}: shapes {cli.shape} and {got.shape}")
            continue
        # Colour only: the plug-in's upscaled alpha is GIMP's scaling.
        worst = np.abs(cli[..., :3] - got[..., :3]).max()
        check(worst <= 1, f"cli-{case}: the plug-in gives the CLI's pixels "
              f"within one level (max {worst})")


# ---------------------------------------------------------------- quality

def add_quality_cases(s, args):
    """A trained model on a photograph: each tool must do its job."""
    photo = pngfile.read(args.sample)[0][:96, 64:160, :3]
    rng = np.random.default_rng(5)
    noisy = np.clip(photo + rng.normal(0, 25, photo.shape), 0, 255)
    pngfile.write(s.path("q-photo.png"), photo, 8)
    pngfile.write(s.path("q-noisy.png"), np.rint(noisy).astype(np.uint8), 8)
    small = photo.reshape(48, 2, 48, 2, 3).mean(axis=(1, 3))
    pngfile.write(s.path("q-small.png"), np.rint(small).astype(np.uint8), 8)
    q = scheme_string(os.path.abspath(args.quality_model))
    s.forms.append("(gimp-message \"quality cases\")")
    s.case("q-denoise", "q-noisy", "none",
           f"(plug-in-diffusion-denoise {NI} img d 0 1 4 \"ddim\" 1 {q} \"\")")
    s.case("q-denoise1", "q-noisy", "none",
           f"(plug-in-diffusion-denoise {NI} img d 25 1 1 \"ddim\" 1 {q} \"\")")
    s.case("q-denoise1x8", "q-noisy", "none",
           f"(plug-in-diffusion-denoise {NI} img d 25 8 1 \"ddim\" 1 {q} \"\")")
    s.case("q-upscale", "q-small", "none",
           f"(plug-in-diffusion-upscale {NI} img d 2 0.5 10 \"ddim\" 1 {q} \"\")")
    s.case("q-inpaint", "q-photo", "hole",
           f"(plug-in-diffusion-inpaint {NI} img d 1.0 20 \"ddim\" 1 {q} \"\" \"\")")
    # Wider than the core's sigma region (1024), noisier at the sides than
    # in the centre: sigma 0 must be the core's one estimate in both front
    # ends.
    wide = np.tile(photo[:48], (1, 12, 1))[:, :1100].astype(float)
    sd = np.full(wide.shape, 12.0)
    sd[:, :38] = sd[:, -38:] = 60.0
    wide = np.clip(wide + rng.normal(0, 1, wide.shape) * sd, 0, 255)
    pngfile.write(s.path("q-wide.png"), np.rint(wide).astype(np.uint8), 8)
    s.case("q-wide", "q-wide", "none",
           f"(plug-in-diffusion-denoise {NI} img d 0 1 1 \"ddim\" 1 {q} \"\")")
    s.quality = dict(photo=photo, noisy=noisy, small=small)


def check_quality(s, args):
    qd = s.quality
    photo = qd["photo"].astype(float)
    for name in ("q-denoise", "q-denoise1", "q-denoise1x8", "q-upscale",
                 "q-inpaint"):
        check(s.status(name) == "ok",
              f"{name}: succeeds ({s.info(name, 'message')})")
    noisy_psnr = psnr(np.rint(qd["noisy"]), photo)
    for name in ("q-denoise", "q-denoise1", "q-denoise1x8"):
        got = psnr(s.out(name), photo)
        check(got > noisy_psnr + 6,
              f"{name}: {got:.2f} dB from the noisy {noisy_psnr:.2f} dB "
              f"(more than +6 dB)")
    # Steps 1 is the one-step estimate: the CLI's --one-step pixels.
    if args.cli:
        out = s.path("cli-q-denoise1x8.png")
        proc = subprocess.run(
            [args.cli, "denoise", s.path("q-noisy.png"), "-o", out,
             "--model", args.quality_model, "--sigma", "25", "--one-step",
             "--ensemble", "8", "--seed", "1", "--quiet"],
            capture_output=True, text=True, timeout=600)
        if proc.returncode == 0:
            worst = np.abs(pngfile.read(out)[0].astype(int)[..., :3] -
                           s.out("q-denoise1x8").astype(int)[..., :3]).max()
            check(worst <= 1, "q-denoise1x8: steps 1 gives the CLI's "
                  f"--one-step --ensemble 8 pixels within one level "
                  f"(max {worst})")
        else:
            check(False, f"q-denoise1x8: the CLI runs ({proc.stderr.strip()})")
        out = s.path("cli-q-wide.png")
        proc = subprocess.run(
            [args.cli, "denoise", s.path("q-wide.png"), "-o", out,
             "--model", args.quality_model, "--sigma", "auto", "--one-step",
             "--seed", "1"],
            capture_output=True, text=True, timeout=600)
        check(s.status("q-wide") == "ok",
              f"q-wide: succeeds ({s.info('q-wide', 'message')})")
        if proc.returncode == 0 and s.status("q-wide") == "ok":
            worst = np.abs(pngfile.read(out)[0].astype(int)[..., :3] -
                           s.out("q-wide").astype(int)[..., :3]).max()
            check(worst <= 1, "q-wide: with sigma estimated, the plug-in "
                  "gives the CLI's pixels within one level (max "
                  f"{worst}; the CLI's {proc.stderr.strip().splitlines()[0]})")
        else:
            check(False, f"q-wide: the CLI runs ({proc.stderr.strip()})")
    one, eight = psnr(s.out("q-denoise1"), photo), \
        psnr(s.out("q-denoise1x8"), photo)
    check(eight > one + 0.05,
          f"q-denoise1x8: the self-ensemble of 8 lowers the error "
          f"({one:.2f} -> {eight:.2f} dB)")
    up = s.out("q-upscale").astype(float)
    nearest = np.repeat(np.repeat(np.rint(qd["small"]), 2, 0), 2, 1)
    if up.shape == photo.shape:
        got, base = psnr(up, photo), psnr(nearest, photo)
        check(got > base, f"q-upscale: {got:.2f} dB, better than nearest "
              f"neighbour's {base:.2f} dB")
        # The plug-in keeps the result consistent with the bicubic
        # downscale (the core's default kernel): 8-bit rounding moves it by
        # up to 0.71 levels, the clamp to 0..1 a few values more.
        back = cubic.down(up, 2)
        err = np.abs(back - np.rint(qd["small"]))
        check(err.mean() <= 0.25 and np.percentile(err, 99) <= 1.0,
              f"q-upscale: its bicubic downscale gives back the input (mean "
              f"error {err.mean():.3f}, 99th percentile "
              f"{np.percentile(err, 99):.3f} levels)")
    else:
        check(False, f"q-upscale: shape {up.shape}")
    out = s.out("q-inpaint").astype(float)
    hole = s.selection("q-inpaint") == 255
    got = psnr(out[hole], photo[hole])
    base = psnr(np.zeros_like(photo[hole]), photo[hole])
    check(got > base + 10, f"q-inpaint: the hole {got:.2f} dB from the "
          f"photo, the black hole {base:.2f} dB (more than +10 dB)")


if __name__ == "__main__":
    sys.exit(main())
