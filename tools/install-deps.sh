#!/bin/bash
# Installs the Debian 12 packages that building, installing and testing
# gimp-diffusion need (as root, or through sudo).  clang-14 and
# libclang-rt-14-dev build the fuzzers (tools/fuzz.sh), valgrind checks the
# CLI for memory errors and leaks (tests/robustness).
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc libc6-dev
  libopenblas-dev libpng-dev
  libgimp2.0-dev libgegl-dev gimp
  python3 python3-numpy python3-pil python3-torch
  gettext
  clang-14 libclang-rt-14-dev valgrind
  xvfb xauth xdotool  # GIMP's UI under Xvfb: tests/e2e/gimp_gui_test.py
  debootstrap  # the Debian 13 root of the GIMP 3 tests: tools/debian13-root.sh
)

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo > /dev/null; then
  sudo=(sudo)
else
  echo "install-deps.sh: run as root, or install sudo" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y "${packages[@]}"
