#!/usr/bin/python3
"""End to end: the GIMP 3 dialogs under Xvfb (gimp3_gui_checks.py inside
GIMP 3 with its user interface): each opens, its screenshot goes to
--screenshots, OK applies, Cancel leaves the image."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngfile  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--screenshots", help="where the dialogs' screenshots go")
    ap.add_argument("--photo", help="a photograph: its middle is the image "
                    "(else a synthetic one)")
    args = ap.parse_args()
    xvfb, display = start_xvfb()
    failed = 0
    try:
        with tempfile.TemporaryDirectory(prefix="gd-gimp3-gui-") as tmp:
            os.makedirs(os.path.join(tmp, "home"))
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
            checks = os.path.join(HERE, "gimp3_gui_checks.py")
            proc = subprocess.run(
                ["gimp-3.0", "-d", "-f", "-s", "--quit",
                 "--batch-interpreter=python-fu-eval",
                 "-b", f"exec(open({checks!r}).read())"],
                capture_output=True, text=True, timeout=600, env=env)
            log = proc.stdout + proc.stderr
            lines = [line for line in log.splitlines()
                     if line.startswith(("ok     ", "FAILED "))]
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
