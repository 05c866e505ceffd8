"""Plot a model's validation history (stored in its safetensors metadata by
train.py --export) as a PNG: validation loss and one-step PSNR at t = 56
against training steps.

    /usr/bin/python3 training/plot_history.py models/default.safetensors models/loss-curve.png
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import read_safetensors  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit("usage: plot_history.py MODEL.safetensors OUT.png")
    import json
    _, meta = read_safetensors(argv[0])
    history = json.loads(meta.get("training", "{}")).get("history", [])
    if not history:
        sys.exit(f"{argv[0]}: no training history in its metadata")
    steps = [h["step"] for h in history]
    fig, ax1 = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax1.plot(steps, [h["val_loss"] for h in history], "o-", color="tab:blue")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("validation loss (eps MSE)", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(steps, [h["psnr_t56"] for h in history], "s--", color="tab:red")
    ax2.set_ylabel("one-step PSNR at t = 56 (dB)", color="tab:red")
    ax1.set_title(os.path.basename(argv[0]) + ": validation")
    fig.tight_layout()
    fig.savefig(argv[1])
    print(f"{argv[1]}: {len(history)} points, steps {steps[0]}..{steps[-1]}")


if __name__ == "__main__":
    main()
