#!/usr/bin/python3
"""End to end: the four tools in GIMP 2.10 with its user interface, under
Xvfb: Edit > Undo after each tool, the dialogs, and Cancel.

GIMP runs with a throw-away HOME (the plug-in installed per user: the model
beside the binary) and the Script-Fu server, so this script drives it one
command at a time while xdotool types keys and clicks like a user:

- undo: each tool runs on an image shown in a window; one Ctrl+Z there must
  give back the original pixels and size (the tool is one undo step);
- dialogs: each procedure runs RUN-INTERACTIVE; with
  GIMP_DIFFUSION_DIALOG_TEST set the dialog, once its preview is drawn,
  saves a screenshot of itself and the list of its controls (shown or not,
  help text, the samplers offered) and presses OK; the result must be the
  non-interactive run's with the same (last) values;
- cancel: a long run is cancelled with the Cancel button of the image
  window's progress: the call ends as cancelled, soon, and the image is as
  it was;
- translations: the denoise dialog opened in German (LANGUAGE=de) shows
  German labels and help texts.
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngfile  # noqa: E402
from gimp_test import SCRIPT_PRELUDE, scheme_string  # noqa: E402

failures = []

SAMPLERS = ["ddim", "ddpm", "skip-step", "dpm-solver-2", "dpm-solver-3",
            "dpm-solver++2m"]
COMMON_CONTROLS = ["preview", "preview-toggle", "preview-status", "steps",
                   "sampler", "seed", "new-seed", "model", "shipped-model",
                   "precision", "estimate"]
TOOL_CONTROLS = {
    "img2img": ["strength"],
    "inpaint": ["strength", "fill"],
    "upscale": ["scale", "strength"],
    "denoise": ["sigma", "sigma-estimate", "ensemble"],
}


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures.append(what)


def start_xvfb(screen):
    """An Xvfb on a free display; returns (process, ":N") once it accepts
    connections (it may name its display before it listens)."""
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(wfd), "-screen", "0", screen,
         "-nolisten", "tcp"], pass_fds=(wfd,), stderr=subprocess.DEVNULL)
    os.close(wfd)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(rfd, 16)
        if not chunk:
            break
        number += chunk
    os.close(rfd)
    if not number.strip():
        xvfb.kill()
        raise RuntimeError("Xvfb did not start")
    socket_path = f"/tmp/.X11-unix/X{number.decode().strip()}"
    deadline = time.time() + 30
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(socket_path)
            break
        except OSError:
            if time.time() > deadline:
                xvfb.kill()
                raise RuntimeError(f"Xvfb does not answer on {socket_path}")
            time.sleep(0.1)
    return xvfb, ":" + number.decode().strip()


class Gui:
    """Xvfb, GIMP with the Script-Fu server, and xdotool."""

    def __init__(self, tmp, home, gimp, env):
        self.tmp = tmp
        self.xvfb, self.display = start_xvfb("1280x1024x24")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = dict(env, HOME=home, DISPLAY=self.display)
        self.log = open(os.path.join(tmp, "gimp-gui.log"), "w")
        self.gimp = subprocess.Popen(
            [gimp, "-n", "-d", "-f", "-s", "--no-splash", "-b",
             f'(plug-in-script-fu-server RUN-NONINTERACTIVE "127.0.0.1" '
             f'{self.port} "")'],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=tmp)
        deadline = time.time() + 120
        while True:
            try:
                self.send("(+ 1 2)")
                break
            except OSError:
                if time.time() > deadline or self.gimp.poll() is not None:
                    raise RuntimeError("GIMP's Script-Fu server did not "
                                       "answer")
                time.sleep(0.2)
        self.send("(begin " + SCRIPT_PRELUDE + " #t)")

    def send(self, script, timeout=900):
        """Runs a Script-Fu expression; returns (ok, text)."""
        data = script.encode()
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.settimeout(timeout)
            s.sendall(b"G" + struct.pack(">H", len(data)) + data)
            head = b""
            while len(head) < 4:
                chunk = s.recv(4 - len(head))
                if not chunk:
                    raise OSError("the Script-Fu server closed")
                head += chunk
            length = struct.unpack(">H", head[2:4])[0]
            body = b""
            while len(body) < length:
                chunk = s.recv(length - len(body))
                if not chunk:
                    break
                body += chunk
        return head[1] == 0, body.decode(errors="replace")

    def xdotool(self, *argv):
        return subprocess.run(["xdotool"] + list(argv), env=self.env,
                              capture_output=True, text=True,
                              timeout=60).stdout.split()

    def window(self, name, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.xdotool("search", "--onlyvisible", "--name", name)
            if found:
                return found[-1]
            time.sleep(0.2)
        return None

    def close(self):
        self.gimp.terminate()
        try:
            self.gimp.wait(20)
        except subprocess.TimeoutExpired:
            self.gimp.kill()
        self.xvfb.terminate()
        self.xvfb.wait()
        self.log.close()


def call(tool, mode, own, steps, seed=1, precision=""):
    args = " ".join(str(a) for a in own)
    # fill (inpaint): "" (the default); precision "" is the default too
    tail = ' ""' if tool == "inpaint" else ""
    return (f"(plug-in-diffusion-{tool} {mode} img d {args} {steps} "
            f"\"ddim\" {seed} \"\"{tail} \"{precision}\")")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--probe", required=True,
                    help="the progress probe test plug-in")
    ap.add_argument("--model", required=True)
    ap.add_argument("--photo", required=True,
                    help="the picture the dialogs show")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--gimp", default="gimp-2.10")
    ap.add_argument("--system-plugins", default="/usr/lib/gimp/2.0/plug-ins")
    ap.add_argument("--localedir", help="the built translations")
    ap.add_argument("--screenshots",
                    help="copy the dialogs' screenshots here (docs/)")
    ap.add_argument("--dialogs-only", action="store_true",
                    help="only the dialogs (with the tools' default values) "
                    "and the German one: for --screenshots with a trained "
                    "model")
    args = ap.parse_args()

    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            check(False, f"{tool} is installed (tools/install-deps.sh)")
            return 1

    tmp = tempfile.mkdtemp(prefix="gd-gimp-gui-")
    home = os.path.join(tmp, "home")
    conf = os.path.join(home, ".config", "GIMP", "2.10")
    os.makedirs(conf)
    plugdir = os.path.join(tmp, "plug-ins")
    for name, src in (("gimp-diffusion", args.plugin),
                      ("gd-progress-probe", args.probe)):
        os.makedirs(os.path.join(plugdir, name))
        shutil.copy2(src, os.path.join(plugdir, name, name))
    # A per-user install: the model beside the plug-in, no GD_MODEL_DIR.
    os.symlink(os.path.abspath(args.model),
               os.path.join(plugdir, "gimp-diffusion", "default.safetensors"))
    for name in ("script-fu", "file-png"):
        os.symlink(os.path.join(args.system_plugins, name),
                   os.path.join(plugdir, name))
    with open(os.path.join(conf, "gimprc"), "w") as f:
        f.write(f'(plug-in-path "{plugdir}")\n')
    # Debian's sessionrc says single-window mode; the image windows of the
    # multi-window mode put the status bar at a known place.
    with open(os.path.join(conf, "sessionrc"), "w") as f:
        f.write("(single-window-mode no)\n")
    dialogs = os.path.join(tmp, "dialogs")
    os.makedirs(dialogs)

    def path(name):
        return os.path.join(tmp, name)

    photo = pngfile.read(args.photo)[0]
    if photo.shape[2] == 3:
        alpha = np.full(photo.shape[:2] + (1,), 255, photo.dtype)
        photo = np.concatenate([photo, alpha], axis=-1)
    for tool in TOOL_CONTROLS:
        pngfile.write(path(f"undo-{tool}.png"), photo, 8)
        pngfile.write(path(f"dialog-{tool}.png"), photo, 8)
    pngfile.write(path("dialog-de.png"), photo, 8)
    big = np.tile(photo, (8, 6, 1))
    pngfile.write(path("cancel.png"), big, 8)

    env = dict(os.environ, LANGUAGE="en", LC_ALL="C.UTF-8",
               GIMP_DIFFUSION_DIALOG_TEST=dialogs)
    env.pop("GD_MODEL_DIR", None)
    if args.localedir:
        env["GD_LOCALEDIR"] = os.path.abspath(args.localedir)
    try:
        gui = Gui(tmp, home, args.gimp, env)
    except RuntimeError as e:
        check(False, f"GIMP starts under Xvfb: {e}")
        return 1
    try:
        steps = args.steps
        h, w = photo.shape[:2]
        sel = f"(gd-ellipse img {w // 4} {h // 4} {w // 2} {h // 2} 0)"
        own = {"img2img": [0.5], "inpaint": [1.0], "upscale": [2, 0.6],
               "denoise": [20.0, 1]}
        if not args.dialogs_only:
            for tool in TOOL_CONTROLS:
                check_undo(gui, tool, path, photo, sel, own[tool], steps)
        for tool in TOOL_CONTROLS:
            # (the last values: the undo test's, or the defaults)
            check_dialog(gui, tool, path, dialogs, sel,
                         None if args.dialogs_only else own[tool][-1])
        if not args.dialogs_only:
            for tool in TOOL_CONTROLS:
                check_progress(gui, tool, path, sel, own[tool], steps)
            # 1350 x 1200 pixels: tiles, even for the small test model.
            check_progress(gui, "img2img", path, "", own["img2img"], 2,
                           image=path("cancel.png"))
            check_cancel(gui, path, big, dialogs,
                         os.path.join(plugdir, "gimp-diffusion",
                                      "gimp-diffusion"))
    finally:
        gui.close()
    check_german(args, env, home, path, dialogs, photo)

    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
        for tool in list(TOOL_CONTROLS) + ["denoise-de"]:
            src = os.path.join(dialogs, f"{tool}-dialog.png")
            if tool == "denoise-de":
                src = os.path.join(dialogs, "de",
                                   "plug-in-diffusion-denoise.png")
            if os.path.exists(src):
                shutil.copy(src, os.path.join(args.screenshots,
                                              f"{tool}.png"))

    print(f"{len(failures)} failed")
    if failures:
        with open(path("gimp-gui.log")) as f:
            print(f.read()[-4000:])
        print(f"files in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


def load_show(gui, image, prep):
    ok, text = gui.send(
        f"(let* ((img (gd-load {scheme_string(image)})) "
        f"(d (car (gimp-image-get-active-drawable img)))) {prep} "
        f"(let ((disp (car (gimp-display-new img)))) "
        f"(gimp-image-clean-all img) "
        f"(gimp-displays-flush) (list img disp)))")
    if not ok:
        return None, None, text
    img, disp = text.strip("()").split()
    return int(img), int(disp), ""


def save(gui, img, out):
    return gui.send(
        f"(let* ((img {img}) (d (car (gimp-image-get-active-drawable img))))"
        f" (gd-save img d {scheme_string(out)}) "
        f"(string-append (gd-info img d)))")


def check_undo(gui, tool, path, photo, sel, own, steps):
    name = f"undo-{tool}"
    prep = sel if tool == "inpaint" else ""
    img, disp, err = load_show(gui, path(name + ".png"), prep)
    check(img is not None, f"{name}: image shown ({err})")
    if img is None:
        return
    ok, text = gui.send(
        f"(let* ((img {img}) (d (car (gimp-image-get-active-drawable img))))"
        f" {call(tool, 'RUN-NONINTERACTIVE', own, steps, precision='exact')} "
        f"(gimp-displays-flush) #t)")
    check(ok, f"{name}: the tool runs ({text.strip()[:200]})")
    ok, after = save(gui, img, path(name + ".after.png"))
    window = gui.window(name)
    check(window is not None, f"{name}: the image window is found")
    if window is None:
        return
    gui.xdotool("windowfocus", "--sync", window)
    gui.xdotool("key", "--clearmodifiers", "ctrl+z")
    deadline = time.time() + 20
    while time.time() < deadline:
        ok, dirty = gui.send(f"(car (gimp-image-is-dirty {img}))")
        if dirty.strip() == "0":
            break
        time.sleep(0.2)
    ok, info = save(gui, img, path(name + ".undone.png"))
    changed = pngfile.read(path(name + ".after.png"))[0]
    undone = pngfile.read(path(name + ".undone.png"))[0]
    check(changed.shape != photo.shape or not np.array_equal(changed, photo),
          f"{name}: the tool changed the image")
    check(undone.shape == photo.shape and np.array_equal(undone, photo),
          f"{name}: one Ctrl+Z gives back the original pixels "
          f"({info.strip()[:120]})")
    check("dirty=0" in info, f"{name}: ... and a clean image")
    gui.send(f"(gimp-display-delete {disp})")


def read_controls(path):
    controls, samplers, labels = {}, [], {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "control":
                controls.setdefault(parts[1], []).append(parts[2:])
            elif parts[0] == "sampler":
                samplers.append(parts[1])
            else:
                labels[parts[0]] = "\t".join(parts[1:])
    return controls, samplers, labels


def check_dialog(gui, tool, path, dialogs, sel, strength=None):
    """RUN-INTERACTIVE: the dialog opens with the last values (the undo
    test's), shows every control, previews, and OK runs those values."""
    name = f"dialog-{tool}"
    prep = sel if tool == "inpaint" else ""
    img, disp, err = load_show(gui, path(name + ".png"), prep)
    if img is None:
        check(False, f"{name}: image shown ({err})")
        return
    start = time.time()
    ok, text = gui.send(
        f"(let* ((img {img}) (d (car (gimp-image-get-active-drawable img))))"
        f" {call(tool, 'RUN-INTERACTIVE', [0] * (2 if tool in ('upscale', 'denoise') else 1), 0)} #t)")
    check(ok, f"{name}: the dialog's OK runs the tool ({text.strip()[:200]}, "
          f"{time.time() - start:.1f} s)")
    ok, info = save(gui, img, path(name + ".out.png"))
    proc = f"plug-in-diffusion-{tool}"
    shot = os.path.join(dialogs, proc + ".png")
    check(os.path.exists(shot) and os.path.getsize(shot) > 2000,
          f"{name}: a screenshot of the dialog ({shot})")
    if os.path.exists(shot):
        shutil.copy(shot, os.path.join(dialogs, f"{tool}-dialog.png"))
    listing = os.path.join(dialogs, proc + ".controls")
    if not os.path.exists(listing):
        check(False, f"{name}: the dialog listed its controls")
        return
    controls, samplers, labels = read_controls(listing)
    for control in TOOL_CONTROLS[tool] + COMMON_CONTROLS:
        rows = controls.get(control, [])
        check(rows and all(r[1] == "shown" for r in rows),
              f"{name}: control '{control}' shown ({rows})")
        check(rows and all(r[2] for r in rows),
              f"{name}: control '{control}' has a help text")
    check(sorted(samplers) == sorted(SAMPLERS),
          f"{name}: the sampler combo offers every sampler ({samplers})")
    check(labels.get("precision") in ("exact", "fast"),
          f"{name}: a precision ({labels.get('precision')})")
    if tool == "inpaint" and strength is not None:
        # At strength 1 the hole starts from noise: the fill is greyed.
        rows = controls.get("fill", [])
        want = "insensitive" if strength >= 1.0 else "sensitive"
        check(rows and all(len(r) > 3 and r[3] == want for r in rows),
              f"{name}: fill {want} at strength {strength} ({rows})")
    check(labels.get("preview-status", "").startswith("Preview: done"),
          f"{name}: the preview ran ({labels.get('preview-status')})")
    est = labels.get("estimate", "")
    check((est.startswith("About ") or est.startswith("Under a second"))
          and "network evaluation" in est,
          f"{name}: a time estimate ({est})")
    # The preview is the run's result where it was computed (the sample is
    # small enough to be previewed whole; noise keyed by pixel).
    region = labels.get("preview-region", "")
    preview = os.path.join(dialogs, proc + ".preview.png")
    if tool != "upscale":
        final = pngfile.read(path(name + ".out.png"))[0].astype(int)
        ok = bool(region) and os.path.exists(preview)
        worst = -1
        if ok:
            x, y = (int(v) for v in region.split("\t")[:2])
            shown = pngfile.read(preview)[0].astype(int)
            h, w = shown.shape[:2]
            part = final[y:y + h, x:x + w]
            if part.shape[:2] == shown.shape[:2]:
                # (the colour of fully transparent pixels is GIMP's)
                seen = part[..., 3] > 0
                worst = np.abs(part[..., :3] - shown)[seen].max()
        check(ok and 0 <= worst <= 1, f"{name}: the preview shows the run's "
              f"pixels (region {region!r}, max difference {worst})")
    # The dialog's OK used the last values: the undo test's run, with
    # precision exact (fast, with the dialog's preview run first in the
    # same process, the upscale came out up to 2 levels from the
    # non-interactive run in about half the runs under ASan: not yet
    # explained; the CLI gives the same bits run after run).
    check(labels.get("precision") == "exact",
          f"{name}: the last values' precision ({labels.get('precision')})")
    if os.path.exists(path(f"undo-{tool}.after.png")):
        # Within one level: the dialog's process ran the preview first,
        # and the network's float sums may round the other way in a pixel.
        out = pngfile.read(path(name + ".out.png"))[0].astype(int)
        ref = pngfile.read(path(f"undo-{tool}.after.png"))[0].astype(int)
        worst = -1
        if out.shape == ref.shape:
            seen = (out[..., 3] > 0) | (ref[..., 3] > 0)
            worst = max(np.abs(out[..., 3] - ref[..., 3]).max(),
                        np.abs(out - ref)[seen].max())
        check(0 <= worst <= 1,
              f"{name}: OK gives the non-interactive run with the same "
              f"values (max difference {worst})")
    gui.send(f"(gimp-display-delete {disp})")


def check_progress(gui, tool, path, sel, own, steps, image=None):
    """The probe installs a progress and calls the tool: every network
    evaluation must reach it as "step k of N" (", tile i of M" when the
    image is done in tiles) and a growing fraction."""
    name = f"progress-{tool}" + ("-tiles" if image else "")
    log = path(name + ".log")
    image = image or path("undo-" + tool + ".png")
    prep = sel if tool == "inpaint" else ""
    value = own[1] if tool == "upscale" else own[0]
    scale = own[0] if tool == "upscale" else own[1] if tool == "denoise" \
        else 0
    ok, text = gui.send(
        f"(let* ((img (gd-load {scheme_string(image)}"
        f")) (d (car (gimp-image-get-active-drawable img)))) {prep} "
        f"(catch #f (plug-in-gd-progress-probe RUN-NONINTERACTIVE img d "
        f"\"plug-in-diffusion-{tool}\" {value} {scale} {steps} \"ddim\" 1 "
        f"\"\" {scheme_string(log)})) (gimp-image-delete img) #t)")
    # GIMP 2.10 reports "returned no return values" for the probe itself
    # once its progress callbacks have run: the callee's status is the
    # "status" line the probe wrote.
    if not os.path.exists(log):
        check(False, f"{name}: the probe wrote {log}")
        return
    with open(log) as f:
        lines = [line.rstrip("\n").split("\t") for line in f]
    texts = [line[1] for line in lines if line[0] == "text"]
    values = [float(line[1]) for line in lines if line[0] == "value"]
    steps_texts = [t for t in texts if " step " in t]
    title = {"img2img": "Refine", "inpaint": "Inpaint", "upscale": "Upscale",
             "denoise": "Denoise"}[tool]
    check(lines and lines[0][0] == "start" and lines[0][1].startswith(title),
          f"{name}: a progress starts with the tool's name "
          f"({lines[0] if lines else None})")
    check(all(t.startswith(title + ":") for t in texts),
          f"{name}: the progress names the tool ({texts[:1]})")
    check(steps_texts and all(" of " in t for t in steps_texts),
          f"{name}: 'step k of N' ({steps_texts[:1]} ... "
          f"{steps_texts[-1:]})")
    if steps_texts:
        last = steps_texts[-1].split(" step ")[1]
        k, n = last.split(",")[0].split(" of ")
        check(k == n, f"{name}: the last text is step N of N ({last})")
        check(len(steps_texts) == len(set(steps_texts)),
              f"{name}: one text per evaluation ({len(steps_texts)})")
    # (upscale: GIMP's own "Scaling" progress follows the network's)
    ours = values[:values.index(1.0) + 1] if 1.0 in values else values
    check(ours and ours[-1] == 1.0 and
          all(b >= a for a, b in zip(ours, ours[1:])),
          f"{name}: the fraction grows to 1 ({ours[:2]} ... {ours[-2:]})")
    check(len(values) >= len(steps_texts) > 0,
          f"{name}: an update per evaluation ({len(values)} updates, "
          f"{len(steps_texts)} step texts)")
    status = [line for line in lines if line[0] == "status"]
    check(status and status[0][1] == "3",
          f"{name}: the call returned GIMP_PDB_SUCCESS ({status})")
    if name.endswith("-tiles"):
        tiled = [t for t in steps_texts if ", tile " in t]
        tiles = tiled[-1].rsplit(" of ", 1)[1] if tiled else "?"
        check(tiled and len(tiled) == len(steps_texts) and tiles != "1" and
              tiled[-1].endswith(f"tile {tiles} of {tiles}"),
              f"{name}: a large image says 'tile i of M' at every step "
              f"({steps_texts[:2]} ... {steps_texts[-1:]})")


def plugin_pids(binary):
    """The running processes of the plug-in binary under test."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/exe") == binary:
                    pids.append(int(pid))
            except OSError:
                pass
    return pids


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def check_cancel(gui, path, big, dialogs, binary):
    """As a user would: Refine from GIMP's action search on a large image,
    OK in its dialog, then the Cancel button of the image window's
    progress (GIMP 2.10 ends the plug-in's process).  The image must stay
    as it was and clean."""
    # Last values that make a long run: 60 steps on 1350 x 1200 pixels.
    ok, text = gui.send(
        f"(let* ((img (gd-load {scheme_string(path('dialog-img2img.png'))}))"
        f" (d (car (gimp-image-get-active-drawable img)))) "
        f"(plug-in-diffusion-img2img RUN-NONINTERACTIVE img d 0.5 60 "
        f"\"ddim\" 1 \"\" \"\") (gimp-image-delete img))")
    check(ok, f"cancel: last values set ({text.strip()[:100]})")
    img, disp, err = load_show(gui, path("cancel.png"), "")
    check(img is not None, f"cancel: image shown ({err})")
    window = gui.window("cancel") if img is not None else None
    if window is None:
        check(False, "cancel: the image window is found")
        return
    listing = os.path.join(dialogs, "plug-in-diffusion-img2img.controls")
    if os.path.exists(listing):
        os.remove(listing)
    gui.xdotool("windowmove", "--sync", window, "0", "0")
    gui.xdotool("windowsize", "--sync", window, "900", "700")
    gui.xdotool("windowfocus", "--sync", window)
    time.sleep(0.5)
    # Filters > Enhance > Diffusion > Refine, through "/" (search actions).
    before = set(gui.xdotool("search", "--onlyvisible", "--class", ""))
    gui.xdotool("key", "slash")
    time.sleep(1)
    for popup in set(gui.xdotool("search", "--onlyvisible", "--class",
                                 "")) - before:
        gui.xdotool("windowfocus", "--sync", popup)
    gui.xdotool("type", "--delay", "40", "Refine (img2img)")
    time.sleep(1)
    gui.xdotool("key", "Return")
    # The dialog previews, then OK (GIMP_DIFFUSION_DIALOG_TEST); the run
    # starts.
    deadline = time.time() + 300
    while not os.path.exists(listing) and time.time() < deadline:
        time.sleep(0.3)
    check(os.path.exists(listing), "cancel: the dialog opened from the "
          "menu and pressed OK")
    # Into the sampling: the plug-in has worked 2 s of CPU time since OK
    # (the dialog's preview ran in the same process before).
    at_ok = sum(cpu_seconds(pid) for pid in plugin_pids(binary))
    running, cpu = [], 0.0
    while time.time() < deadline:
        running = plugin_pids(binary)
        cpu = sum(cpu_seconds(pid) for pid in running) - at_ok
        if cpu >= 2.0:
            break
        time.sleep(0.2)
    check(running and cpu >= 2.0,
          f"cancel: the run is going on ({running}, {cpu:.1f} s of CPU)")
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root",
                        path("cancel-progress.png")], env=gui.env,
                       capture_output=True)
    # The Cancel button: the right end of the status bar of the 900 x 700
    # window; a second and a third try a little to each side.
    clicked = time.time()
    for x in (845, 825, 865):
        gui.xdotool("mousemove", "--sync", str(x), "684")
        gui.xdotool("click", "1")
        clicked = time.time()
        while plugin_pids(binary) and time.time() < clicked + 10:
            time.sleep(0.2)
        if not plugin_pids(binary):
            break
    ended = time.time() - clicked
    check(not plugin_pids(binary), f"cancel: the plug-in ended {ended:.1f} s "
          f"after the click")
    ok, info = save(gui, img, path("cancel.out.png"))
    out = pngfile.read(path("cancel.out.png"))[0]
    check(np.array_equal(out, big), "cancel: the image is as it was")
    check("dirty=0" in info, f"cancel: ... and clean ({info.strip()[:80]})")
    gui.send(f"(gimp-display-delete {disp})")


def check_german(args, env, home, path, dialogs, photo):
    """The denoise dialog in German, from headless GIMP (a plug-in's dialog
    needs only a display)."""
    de = os.path.join(dialogs, "de")
    os.makedirs(de)
    try:
        xvfb, display = start_xvfb("1024x768x24")
    except RuntimeError as e:
        check(False, f"german: {e}")
        return
    genv = dict(env, HOME=home, DISPLAY=display, LANGUAGE="de",
                GIMP_DIFFUSION_DIALOG_TEST=de,
                GIMP_DIFFUSION_DIALOG_RESPONSE="cancel")
    script = ("(begin " + SCRIPT_PRELUDE +
              f"(let* ((img (gd-load {scheme_string(path('dialog-de.png'))}))"
              " (d (car (gimp-image-get-active-drawable img))))"
              " (catch #f (plug-in-diffusion-denoise RUN-INTERACTIVE img d"
              " 0 0 0 \"\" 0 \"\" \"\"))))")
    proc = subprocess.run(
        [args.gimp.replace("gimp-2.10", "gimp-console-2.10"), "-i", "-d",
         "-f", "-b", script, "-b", "(gimp-quit 0)"],
        env=genv, capture_output=True, text=True, timeout=600,
        cwd=os.path.dirname(path("x")))
    with open(path("gimp-de.log"), "w") as f:
        f.write(proc.stdout + proc.stderr)
    xvfb.terminate()
    xvfb.wait()
    listing = os.path.join(de, "plug-in-diffusion-denoise.controls")
    if not os.path.exists(listing):
        check(False, "german: the denoise dialog opened in German")
        return
    controls, samplers, labels = read_controls(listing)
    tip = controls.get("steps", [["", "", ""]])[0][2]
    check("Netzwerk" in tip, f"german: the help texts are German ({tip})")
    check(labels.get("preview-status", "").startswith("Vorschau"),
          f"german: the labels are German "
          f"({labels.get('preview-status')})")


if __name__ == "__main__":
    sys.exit(main())
