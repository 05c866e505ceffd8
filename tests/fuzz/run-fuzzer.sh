#!/bin/sh
# run-fuzzer.sh FUZZER SECONDS WORKDIR SEED_DIR [DICT]
# A bounded libFuzzer run: new inputs go to WORKDIR (never into the committed
# SEED_DIR), a crashing input to WORKDIR/artifacts/, and the exit status is
# libFuzzer's (non-zero on a crash, a leak, a timeout or an out-of-memory).
set -eu
fuzzer=$1
seconds=$2
workdir=$3
seeds=$4
dict=${5:-}

mkdir -p "$workdir/corpus" "$workdir/artifacts"
set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=32768 -print_final_stats=1 \
  -artifact_prefix="$workdir/artifacts/"
if [ -n "$dict" ]; then
  set -- "$@" -dict="$dict"
fi
# Sanitizer reports end the run (libFuzzer saves the input that caused
# them); a huge allocation is reported by libFuzzer's -rss_limit_mb.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
exec "$fuzzer" "$@" "$workdir/corpus" "$seeds"
