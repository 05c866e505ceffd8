#!/bin/bash
# Installs the dependencies, builds in build/ (or $GD_BUILDDIR) and runs
# every test; the last line is "N passed, N failed[, N skipped]" and the
# exit status is non-zero when a test failed or none ran.  .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

builddir=${GD_BUILDDIR:-build}
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir"
else
  meson setup "$builddir"
fi
ninja -C "$builddir"

# Every test runs, whatever happens to the others; the summary judges.
meson test -C "$builddir" --print-errorlogs || true
exec /usr/bin/python3 tools/test-summary.py "$builddir/meson-logs/testlog.json"
