#!/bin/bash
# From a fresh Debian 12 or 13: installs the dependencies, builds, installs
# (plug-in, model, CLI) and runs img2img on docs/sample/chelsea.png through
# headless GIMP with the shipped model: GIMP 3 where the archive has it
# (Debian 13), GIMP 2.10 otherwise (Debian 12).  The result lands in
# build/demo/.
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

echo "run-demo: img2img (strength 0.3, 20 ddim steps, seed 42) on $in"
start=$(date +%s)
if pkg-config --exists gimp-3.0; then
  # GIMP 3 (meson chose it: -Dgimp=auto): Script-Fu with named arguments,
  # the layers as a vector.
  HOME=$home gimp-console-3.0 -i -d -f --quit \
    --batch-interpreter=plug-in-script-fu-eval -b "
    (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$in\")))
           (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
      (plug-in-diffusion-img2img #:run-mode RUN-NONINTERACTIVE #:image img
        #:drawables (vector layer) #:strength 0.3 #:steps 20
        #:sampler \"ddim\" #:seed 42 #:model \"\")
      (gimp-file-save RUN-NONINTERACTIVE img \"$out\" -1)
      (gimp-image-delete img))"
else
  mkdir -p "$home/.config/GIMP/2.10"/{brushes,dynamics,fonts,gradients,palettes,patterns,tool-presets,mypaint-brushes}
  HOME=$home gimp-console-2.10 -i -d -f -b "
    (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$in\" \"$in\")))
           (drawable (car (gimp-image-get-active-drawable img))))
      (plug-in-diffusion-img2img RUN-NONINTERACTIVE img drawable
                                 0.3 20 \"ddim\" 42 \"\")
      (gimp-file-save RUN-NONINTERACTIVE img drawable \"$out\" \"$out\")
      (gimp-image-delete img))" -b '(gimp-quit 0)'
fi

if [ ! -f "$out" ]; then
  echo "run-demo: GIMP did not write $out (see the messages above)" >&2
  exit 1
fi
echo "run-demo: done in $(( $(date +%s) - start )) s: $out"
