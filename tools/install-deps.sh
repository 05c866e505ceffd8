#!/bin/bash
# Installs the Debian packages that building, installing and testing
# gimp-diffusion need (as root, or through sudo).  The GIMP is the one the
# archive has: GIMP 3 (gimp, libgimp-3.0-dev) where it exists (Debian 13
# and later), GIMP 2.10 (libgimp2.0-dev) otherwise (Debian 12); meson then builds the plug-in for it (-Dgimp=auto).  clang-14 and
# libclang-rt-14-dev build the fuzzers (tools/fuzz.sh), valgrind checks the
# CLI for memory errors and leaks (tests/robustness).  libdnnl-dev gives
# the convolutions' fast path (--precision fast; optional: the build and
# every test pass without it).
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc libc6-dev
  libopenblas-dev libpng-dev
  libgegl-dev
  libdnnl-dev  # optional: the fast path (core/conv-fast.c)
  python3 python3-numpy python3-pil python3-torch
  gettext
  valgrind
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

has() { apt-cache show "$1" > /dev/null 2>&1; }
if has libgimp-3.0-dev; then
  # (python3-gi and the typelib: Python-Fu, which the GIMP 3 tests use)
  packages+=(gimp libgimp-3.0-dev gir1.2-gimp-3.0 python3-gi)
else
  packages+=(gimp libgimp2.0-dev)
fi
# clang-14 builds the fuzzers (tools/fuzz.sh, GD_FUZZ_CC); where the
# archive has no clang-14, its default clang.
if has clang-14; then
  packages+=(clang-14 libclang-rt-14-dev)
else
  packages+=(clang libclang-rt-dev)
fi
"${sudo[@]}" apt-get install -y "${packages[@]}"
