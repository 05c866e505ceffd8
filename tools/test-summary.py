#!/usr/bin/python3
"""Reads meson's testlog.json and prints 'N passed, N failed[, N skipped]';
exits 1 when a test failed or none ran."""

import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(path):
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
    summary = f"{passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    print(summary)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
