#!/bin/bash
# Installs the dependencies, builds and runs every test in three build
# folders, and ends with one line "N passed, N failed[, N skipped]" over all
# of them; the exit status is non-zero when a test failed or none ran.
# .ci/run calls it.
#
#   build/       (or $GD_BUILDDIR) the release build: every suite, valgrind
#                memcheck on the CLI included
#   build-asan/  (or $GD_ASAN_BUILDDIR) the whole suite again under
#                AddressSanitizer + UndefinedBehaviorSanitizer; any report
#                fails its test (the GIMP tests without LeakSanitizer, see
#                below).  GD_SANITIZE=0 skips it.
#   build-fuzz/  (or $GD_FUZZ_BUILDDIR) clang + libFuzzer: each fuzz target
#                runs $GD_FUZZ_SECONDS seconds (default 30).  GD_FUZZ=0
#                skips it.  tools/fuzz.sh runs them longer on demand.
#
# Every step runs whatever happened to the one before: a failing install,
# configure or build shows as failed tests in the closing summary line,
# never as a script that stops before it.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh || echo "test.sh: installing the packages failed" >&2

# setup DIR [MESON OPTIONS...]: configures DIR, or reconfigures it with
# the options given.
setup() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# run_tests DIR [MESON TEST OPTIONS...]: builds DIR and runs its tests; a
# build that fails leaves no test log, which the summary counts as a
# failure.
run_tests() {
  local dir=$1
  shift
  rm -f "$dir/meson-logs/testlog.json"
  if ninja -C "$dir"; then
    # Every test runs, whatever happens to the others; the summary judges.
    meson test -C "$dir" --print-errorlogs "$@" || true
  else
    echo "test.sh: the build in $dir failed" >&2
  fi
}

builddir=${GD_BUILDDIR:-build}
phase_start=$SECONDS
setup "$builddir" || echo "test.sh: configuring $builddir failed" >&2
run_tests "$builddir"
logs=("$builddir/meson-logs/testlog.json")
echo "test.sh: $builddir took $((SECONDS - phase_start)) s" >&2

if [ "${GD_SANITIZE:-1}" != 0 ]; then
  phase_start=$SECONDS
  asandir=${GD_ASAN_BUILDDIR:-build-asan}
  # Optimised as the release build (-O3, plus debug symbols), so that the
  # tests' numerical thresholds see the same floating-point arithmetic.
  setup "$asandir" -Db_sanitize=address,undefined -Dbuildtype=release \
    -Ddebug=true || echo "test.sh: configuring $asandir failed" >&2
  # The GIMP tests run the plug-in inside GIMP, whose GEGL and babl modules
  # leave allocations that LeakSanitizer reports at the plug-in's exit from
  # already unloaded modules ("<unknown module>": nothing to suppress by
  # name), and its abort then fails procedures that worked.  They run with
  # ASan and UBSan but without LeakSanitizer (test setup 'noleaks'); every
  # other test keeps it, and valgrind checks the core's leaks via the CLI.
  gimp_tests=() other_tests=()
  if ninja -C "$asandir"; then
    while read -r name; do
      case $name in
        gimp-plugin | gimp-dialogs | gimp3-plugin | gimp3-dialogs)
          gimp_tests+=("$name") ;;
        # oneDNN's OpenMP threads, still parked when the process exits,
        # make LeakSanitizer's exit scan itself crash ("Tracer caught
        # signal 11"): the fast path's tests too run without it.
        conv-fast*) gimp_tests+=("$name") ;;
        # The default setup caps the fast path at AVX2 (Winograd, under
        # LeakSanitizer, tests/meson.build): the tools' tests run again
        # without the cap, on oneDNN's BF16 path where the CPU has it,
        # without LeakSanitizer.
        tasks | tiling | denoise | inpaint | upscale | *-default)
          other_tests+=("$name") gimp_tests+=("$name") ;;
        *) other_tests+=("$name") ;;
      esac
    done < <(meson test -C "$asandir" --list 2> /dev/null | sed -n 's|^.* / ||p')
  fi
  run_tests "$asandir" "${other_tests[@]}"
  logs+=("$asandir/meson-logs/testlog.json")
  if [ ${#gimp_tests[@]} -gt 0 ]; then
    # meson names the log LOGBASE-SETUP.json
    rm -f "$asandir/meson-logs/testlog-gimp-noleaks.json"
    meson test -C "$asandir" --print-errorlogs --setup noleaks \
      --logbase testlog-gimp "${gimp_tests[@]}" || true
    logs+=("$asandir/meson-logs/testlog-gimp-noleaks.json")
  fi
  echo "test.sh: $asandir took $((SECONDS - phase_start)) s" >&2
fi

if [ "${GD_FUZZ:-1}" != 0 ]; then
  phase_start=$SECONDS
  fuzzdir=${GD_FUZZ_BUILDDIR:-build-fuzz}
  # Reconfigured with these options every time, so that a change to them
  # (or to meson_options.txt) reaches an existing folder.
  # clang-14 on Debian 12; Debian 13's is plain clang.
  fuzz_cc=${GD_FUZZ_CC:-$(command -v clang-14 || command -v clang || echo clang-14)}
  CC=$fuzz_cc setup "$fuzzdir" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dplugin=false \
    -Dbuildtype=debugoptimized -Dfuzz_seconds="${GD_FUZZ_SECONDS:-30}" \
    || echo "test.sh: configuring $fuzzdir failed" >&2
  run_tests "$fuzzdir" --suite fuzz
  logs+=("$fuzzdir/meson-logs/testlog.json")
  echo "test.sh: $fuzzdir took $((SECONDS - phase_start)) s" >&2
fi

# ---------------------------------------------------------------- GIMP 3
# The GIMP 3 front end, built and tested in a Debian 13 root made with
# debootstrap and cached outside the clone (tools/debian13-root.sh: GIMP
# 3.0 and libgimp-3.0-dev from Debian's archive; the headless procedures,
# then the dialogs under Xvfb).  GD_DEBIAN13=0 skips it.  A stage that
# cannot run (no debootstrap, no network, not root, a build error) leaves
# a failed test in its log, and a missing log counts as a failure.
if [ "${GD_DEBIAN13:-1}" != 0 ]; then
  phase_start=$SECONDS
  d13dir=${GD_DEBIAN13_BUILDDIR:-build-debian13}
  tools/debian13-root.sh "$d13dir" ||
    echo "test.sh: the Debian 13 (GIMP 3) stage failed" >&2
  logs+=("$d13dir/meson-logs/testlog.json")
  echo "test.sh: $d13dir (GIMP 3, Debian 13 root) took" \
    "$((SECONDS - phase_start)) s" >&2
fi
# ---------------------------------------------------------------- end GIMP 3

exec /usr/bin/python3 tools/test-summary.py "${logs[@]}"
