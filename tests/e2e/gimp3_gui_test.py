#!/usr/bin/python3
"""End to end: the GIMP 3 dialogs under Xvfb (gimp3_gui_checks.py inside
GIMP 3 with its user interface): each opens, its screenshot goes to
--screenshots, OK applies, Cancel leaves the image, Repeat repeats the
dialog's run; and a long run shown in an image window is cancelled with
the Cancel button of its status bar (clicked here with xdotool): GIMP ends
the plug-in, the call returns CANCEL and the image is as it was."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngfile  # noqa: E402
from gimp3_test import plugin_setup  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def start_xvfb():
    """An Xvfb on a free display; returns (process, ":N")."""
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x1024x24",
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
    display = ":" + number.decode().strip()
    deadline = time.time() + 30
    while not os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"):
        if time.time() > deadline:
            raise RuntimeError("Xvfb does not listen")
        time.sleep(0.1)
    return xvfb, display


def screenshot(display, path):
    """The whole screen into path (GDK, from GIMP's own dependencies)."""
    code = ("import gi; gi.require_version('Gdk', '3.0'); "
            "from gi.repository import Gdk; "
            "w = Gdk.get_default_root_window(); "
            "Gdk.pixbuf_get_from_window(w, 0, 0, w.get_width(), "
            f"w.get_height()).savev({path!r}, 'png', [], [])")
    subprocess.run([sys.executable, "-c", code], capture_output=True,
                   env=dict(os.environ, DISPLAY=display))


def plugin_pids():
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
            if argv0.endswith(b"/gimp-diffusion"):
                pids.append(pid)
        except OSError:
            pass
    return pids


def click_cancel(tmp, display):
    """Once the cancel check's run has gone on for 5 s, clicks the Cancel
    button of the image window's status bar (GIMP 3.0's default layout in a
    fresh HOME on a 1280 x 1024 screen: the window at 0, 0, 1169 x 740; a
    try a little to each side); returns the seconds from the click to the
    plug-in's end, or None."""
    env = dict(os.environ, DISPLAY=display)
    marker = os.path.join(tmp, "cancel-started")
    deadline = time.time() + 400
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.2)
    while not plugin_pids() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(5)
    # The image window on top, and where it is.
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name",
                            "Untitled"], env=env, capture_output=True,
                           text=True).stdout.split()
    right, bottom = 1169, 740
    if found:
        subprocess.run(["xdotool", "windowraise", found[0]], env=env,
                       capture_output=True)
        geometry = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", found[0]], env=env,
            capture_output=True, text=True).stdout
        values = dict(line.split("=", 1) for line in geometry.split()
                      if "=" in line)
        right = int(values.get("X", 0)) + int(values.get("WIDTH", right))
        bottom = int(values.get("Y", 0)) + int(values.get("HEIGHT", bottom))
    if not plugin_pids():
        return None  # ended before the click: the run was not long enough
    for dx in (283, 303, 263):
        subprocess.run(["xdotool", "mousemove", "--sync", str(right - dx),
                        str(bottom - 18), "click", "1"], env=env,
                       capture_output=True)
        clicked = time.time()
        while plugin_pids() and time.time() < clicked + 10:
            time.sleep(0.05)
        if not plugin_pids():
            return time.time() - clicked
    screenshot(display, os.path.join(tmp, "gimp3-cancel-missed.png"))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--plugin", required=True, help="the built plug-in")
    ap.add_argument("--installed", required=True,
                    help="where it is installed (else it is installed per "
                    "user)")
    ap.add_argument("--screenshots", help="where the dialogs' screenshots go")
    ap.add_argument("--photo", help="a photograph: its middle is the image "
                    "(else a synthetic one)")
    args = ap.parse_args()
    xvfb, display = start_xvfb()
    failed = 0
    try:
        with tempfile.TemporaryDirectory(prefix="gd-gimp3-gui-") as tmp:
            os.makedirs(os.path.join(tmp, "home"))
            ok, what = plugin_setup(os.path.join(tmp, "home"), args.plugin,
                                    args.installed, "")
            # No welcome dialog over the image window.
            config = os.path.join(tmp, "home", ".config", "GIMP", "3.0")
            os.makedirs(config, exist_ok=True)
            with open(os.path.join(config, "gimprc"), "a") as f:
                f.write("(show-welcome-dialog no)\n")
            if not ok:
                print("FAILED " + what)
                return 1
            if args.photo:
                photo = pngfile.read(args.photo)[0][..., :3]
                h, w = photo.shape[:2]
                crop = photo[(h - 120) // 2:(h - 120) // 2 + 120,
                             (w - 160) // 2:(w - 160) // 2 + 160]
                pngfile.write(os.path.join(tmp, "rgb.png"), crop, 8)
            else:
                pngfile.write(os.path.join(tmp, "rgb.png"),
                              pngfile.test_image(64, 48, 3, 8), 8)
            env = dict(os.environ, HOME=os.path.join(tmp, "home"),
                       DISPLAY=display, GD_TEST_DIR=tmp, LANG="C.UTF-8",
                       GD_TEST_MODEL=os.path.abspath(args.model),
                       GIMP_DIFFUSION_DIALOG_TEST=tmp, NO_AT_BRIDGE="1")
            # The cancel check clicks with xdotool (debian13-root.sh
            # installs it); without it, it fails.
            if shutil.which("xdotool"):
                env["GD_TEST_CANCEL"] = "1"
            checks = os.path.join(HERE, "gimp3_gui_checks.py")
            gimp = subprocess.Popen(
                ["gimp-3.0", "-d", "-f", "-s", "--quit",
                 "--batch-interpreter=python-fu-eval",
                 "-b", f"exec(open({checks!r}).read())"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env=env)
            ended = None
            if "GD_TEST_CANCEL" in env:
                ended = click_cancel(tmp, display)
            log = gimp.communicate(timeout=600)[0]
            lines = [line for line in log.splitlines()
                     if line.startswith(("ok     ", "FAILED "))]
            if "GD_TEST_CANCEL" not in env:
                lines.append("FAILED cancel: xdotool is not installed")
            else:
                lines.append(("ok     " if ended is not None and ended < 5
                              else "FAILED ")
                             + "cancel: the plug-in ended "
                             + (f"{ended:.2f} s" if ended is not None
                                else "not")
                             + " after the click on Cancel")
            for line in lines:
                print(line)
            failed = sum(line.startswith("FAILED") for line in lines)
            if "checks done" not in log:
                print("FAILED the dialog checks did not all run")
                failed += 1
            if failed:
                print(log)
            if args.screenshots:
                os.makedirs(args.screenshots, exist_ok=True)
                for name in sorted(os.listdir(tmp)):
                    if name.startswith("gimp3-") and name.endswith(".png"):
                        shutil.copy(os.path.join(tmp, name),
                                    os.path.join(args.screenshots, name))
            print(f"{len(lines) - failed} checks passed, {failed} failed")
    finally:
        xvfb.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
