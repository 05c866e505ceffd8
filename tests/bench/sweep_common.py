"""What the tool sweeps (inpaint_sweep.py, upscale_sweep.py) share: the
repository's paths and the options every sweep takes."""

import argparse
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parser(doc):
    """An ArgumentParser with --cli, --model, --eval and --seed."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "core", "cli",
                                                  "gimp-diffusion-cli"))
    ap.add_argument("--model", default=os.path.join(REPO, "models",
                                                    "default.safetensors"))
    ap.add_argument("--eval", default=os.path.join(REPO, "..", "shared", "data",
                                                   "eval"))
    ap.add_argument("--seed", type=int, default=1)
    return ap
