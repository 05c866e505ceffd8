#!/usr/bin/python3
"""Reads meson's testlog.json of one or more build folders and prints one
line per folder, then the total 'N passed, N failed[, N skipped]' as the
last line; exits 1 when a test failed or none ran.

Usage: test-summary.py TESTLOG.json...
A log that is missing or empty (its build failed, or its tests never ran)
counts as one failed test, so that a broken build cannot pass unseen."""

import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def count(path):
    """(passed, failed, skipped) of one testlog.json."""
    passed = failed = skipped = 0
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
    except OSError as e:
        print(f"test-summary: cannot read {path}: {e}", file=sys.stderr)
        lines = []
    for line in lines:
        result = json.loads(line).get("result", "")
        if result in PASSED:
            passed += 1
        elif result in SKIPPED:
            skipped += 1
        else:
            failed += 1
    if not lines:
        print(f"test-summary: no test ran in {path}: counted as one failure",
              file=sys.stderr)
        failed += 1
    return passed, failed, skipped


def line(passed, failed, skipped):
    text = f"{passed} passed, {failed} failed"
    if skipped:
        text += f", {skipped} skipped"
    return text


def main(paths):
    totals = [0, 0, 0]
    for path in paths:
        counts = count(path)
        if len(paths) > 1:
            # build-asan/meson-logs/testlog.json -> build-asan, and
            # .../testlog-gimp-noleaks.json -> build-asan (gimp-noleaks)
            folder = os.path.dirname(os.path.dirname(os.path.abspath(path)))
            label = os.path.basename(folder)
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem.startswith("testlog-"):
                label += f" ({stem[len('testlog-'):]})"
            print(f"{label}: {line(*counts)}")
        totals = [t + c for t, c in zip(totals, counts)]
    print(line(*totals))
    return 1 if totals[1] or totals[0] == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
