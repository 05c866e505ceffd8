#!/usr/bin/python3
"""Every translatable string of the sources (po/POTFILES, extracted afresh
with xgettext) is translated in every language of po/LINGUAS, none fuzzy,
and msgfmt --check accepts each .po (format strings agree)."""

import os
import subprocess
import sys
import tempfile

KEYWORDS = ["_", "N_", "C_:1c,2", "NC_:1c,2", "g_dngettext:2,3",
            "g_dpgettext2:2c,3", "Q_"]


def main():
    po = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(po)
    with open(os.path.join(po, "POTFILES")) as f:
        sources = [line.strip() for line in f if line.strip()]
    with open(os.path.join(po, "LINGUAS")) as f:
        languages = [line.strip() for line in f
                     if line.strip() and not line.startswith("#")]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "fresh.pot")
        subprocess.run(["xgettext", "--from-code=UTF-8", "-o", pot] +
                       [f"--keyword={k}" for k in KEYWORDS] + sources,
                       cwd=top, check=True)
        for lang in languages:
            path = os.path.join(po, lang + ".po")
            for cmd in (["msgcmp", path, pot],
                        ["msgfmt", "--check", "--statistics", "-o",
                         os.devnull, path]):
                proc = subprocess.run(cmd, capture_output=True, text=True)
                ok = proc.returncode == 0
                print(("ok     " if ok else "FAILED ") + f"{lang}: "
                      f"{' '.join(os.path.basename(c) for c in cmd[:2])} "
                      f"{proc.stderr.strip()}")
                failed += not ok
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
