#!/bin/bash
# Fuzzes the model loader on demand (issue 6).
#
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long each target runs (default 600)
#   TARGET   json, model, arch (default: all three)
#
# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/ (or $GD_FUZZ_BUILDDIR), runs
# each at nice 10 (the machine is shared; GD_FUZZ_NICE=0 to change), and
# prints one line per target: executions, seconds, new inputs, crashes.
# The inputs found accumulate in BUILDDIR/tests/fuzz/run-TARGET/corpus, so
# runs build on each other; the lines are appended to
# BUILDDIR/fuzz-record.tsv for docs/robustness.md.
#
# A crash leaves its input in BUILDDIR/tests/fuzz/run-TARGET/artifacts/.
# Copy it to tests/fuzz/corpus/TARGET/crash-WHAT (the fuzz-corpus-TARGET
# test of every build then replays it), fix the bug, commit both.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(json model arch)
fi
builddir=${GD_FUZZ_BUILDDIR:-build-fuzz}
nice_level=${GD_FUZZ_NICE:-10}

if [ ! -f "$builddir/build.ninja" ]; then
  CC=${GD_FUZZ_CC:-clang-14} meson setup "$builddir" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dplugin=false \
    -Dbuildtype=debugoptimized
fi
ninja -C "$builddir" tests/fuzz/fuzz-json tests/fuzz/fuzz-model tests/fuzz/fuzz-arch

status=0
for target in "${targets[@]}"; do
  fuzzer=$builddir/tests/fuzz/fuzz-$target
  workdir=$builddir/tests/fuzz/run-$target
  if [ ! -x "$fuzzer" ]; then
    echo "fuzz.sh: no target '$target' (json, model, arch)" >&2
    exit 2
  fi
  mkdir -p "$workdir/artifacts"
  log=$workdir/last.log
  before=$(find "$workdir/artifacts" -type f | wc -l)
  rc=0
  dict=tests/fuzz/$target.dict
  [ -f "$dict" ] || dict=
  nice -n "$nice_level" tests/fuzz/run-fuzzer.sh "$fuzzer" "$seconds" \
    "$workdir" "tests/fuzz/corpus/$target" $dict > "$log" 2>&1 || rc=$?
  after=$(find "$workdir/artifacts" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  crashes=$((after - before))
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ)	$target	${seconds}s	${execs:-?} executions	${added:-?} new inputs	$crashes crashes	exit $rc"
  echo "$line"
  echo "$line" >> "$builddir/fuzz-record.tsv"
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "fuzz.sh: $target failed; the log is $log, the input in $workdir/artifacts/" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*fuzz invariant)" "$log" | head -5 >&2 || true
  fi
done
exit $status
