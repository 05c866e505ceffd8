#!/bin/bash
# From a fresh Debian 12: installs the dependencies, builds, installs
# (plug-in, model, CLI) and runs img2img on docs/sample/chelsea.png through
# headless GIMP with the shipped model.  The result lands in build/demo/.
set -euo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh

if [ -f build/build.ninja ]; then
  meson setup --reconfigure build
else
  meson setup build
fi
ninja -C build
if [ "$(id -u)" -eq 0 ]; then
  meson install -C build --no-rebuild
else
  sudo meson install -C build --no-rebuild
fi

mkdir -p build/demo
in=$PWD/docs/sample/chelsea.png
out=$PWD/build/demo/chelsea-img2img.png
rm -f "$out"

# A throw-away HOME: GIMP finds the installed plug-in and model without any
# configuration, and the user's own GIMP settings stay as they are.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/.config/GIMP/2.10"/{brushes,dynamics,fonts,gradients,palettes,patterns,tool-presets,mypaint-brushes}

echo "run-demo: img2img (strength 0.3, 20 ddim steps, seed 42) on $in"
start=$(date +%s)
HOME=$home gimp-console-2.10 -i -d -f -b "
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$in\" \"$in\")))
         (drawable (car (gimp-image-get-active-drawable img))))
    (plug-in-diffusion-img2img RUN-NONINTERACTIVE img drawable
                               0.3 20 \"ddim\" 42 \"\")
    (gimp-file-save RUN-NONINTERACTIVE img drawable \"$out\" \"$out\")
    (gimp-image-delete img))" -b '(gimp-quit 0)'

if [ ! -f "$out" ]; then
  echo "run-demo: GIMP did not write $out (see the messages above)" >&2
  exit 1
fi
echo "run-demo: done in $(( $(date +%s) - start )) s: $out"
