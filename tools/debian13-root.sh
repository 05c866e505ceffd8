#!/bin/bash
# The GIMP 3 build and its tests, in a Debian 13 (trixie) root: GIMP 3.0.x
# and libgimp-3.0-dev come from Debian's archive, whatever the host runs.
#
#   tools/debian13-root.sh [OUTDIR]
#
# 1. root:    creates the root with debootstrap, or reuses the one cached in
#             $GD_DEBIAN13_ROOT (default /var/cache/gimp-diffusion/trixie,
#             outside the clone); a root that is missing, half made or
#             broken (its GIMP does not start) is made anew.
# 2. packages: apt-get update and install of GIMP 3, libgimp-3.0-dev and the
#             build and test dependencies inside it (a no-op when present).
# 3. build:   the source folder is bind-mounted at /src; meson builds it
#             against gimp-3.0 in the root's /build (kept between runs),
#             and installs it into the root (prefix /usr).
# 4. test:    meson test --suite gimp3 (the procedures in gimp-console-3.0,
#             the dialogs under Xvfb), and the host layer's unit tests.
#
# OUTDIR (default build-debian13/ in the clone) receives
# meson-logs/testlog.json (meson's, which tools/test-summary.py reads),
# the stage times (stages.txt), the logs of each stage and the dialogs'
# screenshots.  Any failure before the tests (no debootstrap, no
# network, a build error) writes a testlog.json with one failed test
# "debian13-root" that says which stage failed, so that the summary counts
# it.  Needs root (debootstrap, chroot, mount).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-debian13}
root=${GD_DEBIAN13_ROOT:-/var/cache/gimp-diffusion/trixie}
suite=trixie
# The mirror this machine's apt uses (the only archive it may reach).
mirror=${GD_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' \
  /etc/apt/sources.list.d/debian.sources 2> /dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
packages=(
  gimp libgimp-3.0-dev gir1.2-gimp-3.0 python3-gi
  meson ninja-build gcc libc6-dev pkg-config gettext
  libopenblas-dev libpng-dev libgegl-dev
  python3 python3-numpy
  xvfb xauth xdotool
)

mkdir -p "$out/meson-logs"
log="$out/meson-logs/testlog.json"
rm -f "$log" "$out/stages.txt"
stage=setup
stage_start=$SECONDS
total_start=$SECONDS
mounted=()

# The stage that failed, as one failed test in meson's testlog.json format.
fail() {
  local message=$1
  echo "debian13-root.sh: $stage: $message" >&2
  /usr/bin/python3 - "$log" "$stage" "$message" \
    "$((SECONDS - total_start))" << 'PY'
import json, sys
path, stage, message, seconds = sys.argv[1:]
with open(path, "a") as f:
    f.write(json.dumps({"name": "debian13-root", "result": "FAIL",
                        "duration": float(seconds),
                        "stdout": f"stage {stage} failed: {message}\n"}) + "\n")
PY
  exit 1
}
trap 'fail "command failed (line $LINENO)"' ERR

cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[i]}" 2> /dev/null || true
  done
  [ ${#mounted[@]} -eq 0 ] || release_mounts "$root" || true
}
trap cleanup EXIT

stage_done() {
  local took=$((SECONDS - stage_start))
  echo "debian13-root.sh: stage $stage took $took s" >&2
  echo "$stage $took" >> "$out/stages.txt"
  stage=$1
  stage_start=$SECONDS
}

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount)"
command -v debootstrap > /dev/null ||
  fail "debootstrap is not installed (tools/install-deps.sh installs it)"
mkdir -p "$(dirname "$root")"
# One run at a time per root (its mounts, its /build).
exec 9> "$root.lock"
flock 9

# Unmounts everything under a folder (deepest first); fails when a mount
# stays.  Before any rm -rf of a root: a bind mount of the clone left by a
# killed run must never be deleted through.
release_mounts() {
  local dir=$1 m
  for m in $(awk -v r="$dir" '$2 == r || index($2, r "/") == 1 { print $2 }' \
    /proc/mounts | sort -r); do
    umount -l "$m" 2> /dev/null || true
  done
  ! awk -v r="$dir" '$2 == r || index($2, r "/") == 1' /proc/mounts | grep -q .
}

in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

mount_root() {
  local target
  for target in proc sys dev dev/pts tmp src; do
    mkdir -p "$root/$target"
  done
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount --rbind /sys "$root/sys" && mounted+=("$root/sys")
  mount --rbind /dev "$root/dev" && mounted+=("$root/dev")
  mount -t tmpfs tmpfs "$root/tmp" && mounted+=("$root/tmp")
  # The clone, read-only: nothing in the root can change it.
  mount --bind "$src" "$root/src" && mounted+=("$root/src")
  mount -o remount,bind,ro "$root/src"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true
}

# 1. root
stage=root
release_mounts "$root" || fail "cannot unmount what a former run left under $root"
if [ -f "$root/.gd-ready" ] && [ -x "$root/usr/bin/apt-get" ]; then
  echo "debian13-root.sh: reusing $root" >&2
else
  echo "debian13-root.sh: debootstrap $suite into $root from $mirror" >&2
  release_mounts "$root.new" || fail "mounts remain under $root.new"
  rm -rf "$root.new"
  debootstrap --variant=minbase --include=ca-certificates "$suite" \
    "$root.new" "$mirror" > "$out/debootstrap.log" 2>&1 ||
    fail "debootstrap $suite $mirror failed (see $out/debootstrap.log)"
  rm -rf "$root"
  mv "$root.new" "$root"
  echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
  touch "$root/.gd-ready"
fi
mount_root
stage_done packages

# 2. packages (apt-get skips what is there; update only when something is
# missing, so that a warm root costs a second).
installed=$(in_root dpkg-query -W -f='${db:Status-Status}\n' \
  "${packages[@]}" 2> /dev/null | grep -c '^installed$' || true)
if [ "$installed" -eq ${#packages[@]} ]; then
  echo "debian13-root.sh: packages present" >&2
else
  in_root apt-get update > "$out/apt.log" 2>&1 ||
    fail "apt-get update failed (see $out/apt.log)"
  # A run killed while it installed leaves dpkg half done: configure what
  # is unpacked and try once more; a root that still cannot install is
  # made anew next time.
  if ! in_root apt-get install -y --no-install-recommends "${packages[@]}" \
    >> "$out/apt.log" 2>&1; then
    in_root dpkg --configure -a >> "$out/apt.log" 2>&1 || true
    if ! in_root apt-get install -y -f --no-install-recommends \
      "${packages[@]}" >> "$out/apt.log" 2>&1; then
      rm -f "$root/.gd-ready"
      fail "apt-get install failed (see $out/apt.log; the root is rebuilt next run)"
    fi
  fi
fi
# A root whose GIMP does not start is no use: made anew next time.
if ! in_root gimp-console-3.0 --version > /dev/null 2>&1; then
  rm -f "$root/.gd-ready"
  fail "gimp-console-3.0 does not start in $root (the root is rebuilt next run)"
fi
stage_done build

# 3. build
# shellcheck disable=SC2016
in_root /bin/sh -c '
  set -e
  if [ -f /build/build.ninja ]; then
    meson setup --reconfigure /build /src -Dgimp=3 -Dprefix=/usr
  else
    meson setup /build /src -Dgimp=3 -Dprefix=/usr
  fi
  ninja -C /build
  ninja -C /build install' > "$out/build.log" 2>&1 ||
  fail "the build against gimp-3.0 failed (see $out/build.log)"
stage_done test

# 4. test
trap - ERR
rm -rf "$root/build/screenshots" "$root/build/meson-logs/testlog.json"
in_root meson test -C /build --print-errorlogs --suite gimp3 --suite host \
  > "$out/test.log" 2>&1 || true
cat "$out/test.log"
rm -rf "$out/screenshots"
cp -r "$root/build/screenshots" "$out/screenshots" 2> /dev/null || true
if [ -f "$root/build/meson-logs/testlog.json" ]; then
  cp "$root/build/meson-logs/testlog.json" "$log"
else
  fail "meson test left no testlog.json (see $out/test.log)"
fi
stage_done end
echo "debian13-root.sh: all stages took $((SECONDS - total_start)) s" >&2
echo "total $((SECONDS - total_start))" >> "$out/stages.txt"
