"""One-step denoising PSNR of a model (the model card's quality figure).

The clean image x (sRGB, 0..1) gets white Gaussian noise of standard
deviation sigma (0..1 scale), y = x + sigma n, with a fixed seed per image.
The noisy photo is read as x_t* (DESIGN.md, denoise): on the [-1, 1] scale the
noise is 2 sigma, t* solves sqrt((1 - abar)/abar) = 2 sigma (fractional t,
log sqrt(abar) piecewise linear), x_t* = sqrt(abar_t*) (2y - 1), and the
one-step MMSE estimate is x0_hat = (x_t* - sqrt(1 - abar) eps_hat) /
sqrt(abar) = (2y - 1) - 2 sigma eps_hat.  PSNR on 0..255 after rounding to 8
bits, full image, mean over the images.

    /usr/bin/python3 training/evaluate.py MODEL ../shared/data/eval/Kodak24 --sigma 25

MODEL is a safetensors file, a trainer checkpoint (last.pt or its folder) or
a folder of split weights (train.py --split-out).
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import UNet, linear_schedule  # noqa: E402


def load_any(path):
    if path.endswith(".safetensors"):
        from export import load_model_file
        model, _ = load_model_file(path)
        return model
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "ema.0.pt")):
        import json
        from train import load_split
        with open(os.path.join(path, "progress.json")) as f:
            config = json.load(f)["config"]
        model = UNet(config)
        model.load_state_dict(load_split(path, "ema"))
        return model.eval()
    if os.path.isdir(path):
        path = os.path.join(path, "last.pt")
    ckpt = torch.load(path, map_location="cpu")
    model = UNet(ckpt["config"])
    model.load_state_dict(ckpt["ema"])
    return model.eval()


def abar_at(abar, t):
    """DPM-Solver's discrete schedule: log sqrt(abar) linear between integers."""
    lo = int(math.floor(t))
    hi = min(lo + 1, len(abar) - 1)
    f = t - lo
    la = (1 - f) * math.log(abar[lo]) + f * math.log(abar[hi])
    return math.exp(la)


def t_of_sigma(abar, sigma):
    """t* with sqrt((1 - abar)/abar) = sigma, by bisection on [0, T]."""
    lo, hi = 0.0, float(len(abar) - 1)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        a = abar_at(abar, mid)
        if math.sqrt((1 - a) / a) < sigma:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255.0 ** 2 / mse)


@torch.no_grad()
def denoise_one_step(model, y, sigma, abar, ensemble=1):
    """y: (3, H, W) noisy, 0..1 scale.  Returns x0_hat on 0..1."""
    s = 2 * sigma
    t = t_of_sigma(abar, s)
    a = abar_at(abar, t)
    xt = math.sqrt(a) * (2 * y - 1)
    tt = torch.tensor([t], dtype=torch.float32)
    if ensemble == 1:
        eps = model.eps(xt[None].float(), tt)[0]
    else:
        # Geometric self-ensemble: eps_hat of each flip/rotation of x_t,
        # mapped back and averaged.
        eps = torch.zeros_like(xt)
        for k in range(ensemble):
            v = xt.flip(2) if k & 1 else xt
            v = torch.rot90(v, k >> 1, dims=(1, 2))
            e = model.eps(v[None].float(), tt)[0]
            e = torch.rot90(e, -(k >> 1), dims=(1, 2))
            eps += e.flip(2) if k & 1 else e
        eps /= ensemble
    x0 = (xt - math.sqrt(1 - a) * eps) / math.sqrt(a)
    return ((x0 + 1) / 2).clamp(0, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description="One-step denoising PSNR on an image folder.")
    ap.add_argument("model")
    ap.add_argument("folder")
    ap.add_argument("--sigma", type=float, default=25.0, help="on 0..255")
    ap.add_argument("--limit", type=int, default=0, help="first N images only")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ensemble", type=int, default=1, choices=(1, 2, 4, 8),
                    help="average eps_hat over this many flips/rotations")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_any(args.model)
    _, abar = linear_schedule()
    abar = abar.tolist()
    names = sorted(n for n in os.listdir(args.folder) if n.lower().endswith(".png"))
    if args.limit:
        names = names[:args.limit]
    sigma = args.sigma / 255.0
    before, after = [], []
    start = time.time()
    for k, name in enumerate(names):
        x = np.asarray(Image.open(os.path.join(args.folder, name)).convert("RGB"))
        xf = torch.from_numpy(x.astype(np.float32) / 255.0).permute(2, 0, 1)
        g = torch.Generator().manual_seed(1000 + k)
        y = xf + sigma * torch.randn(xf.shape, generator=g)
        den = denoise_one_step(model, y, sigma, abar, args.ensemble)
        y8 = (y.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        d8 = (den * 255).round().byte().permute(1, 2, 0).numpy()
        before.append(psnr(x, y8))
        after.append(psnr(x, d8))
    print(f"{args.folder}: {len(names)} images, sigma {args.sigma:g}/255, "
          f"noisy {np.mean(before):.2f} dB -> one-step {np.mean(after):.2f} dB "
          f"(x{args.ensemble} ensemble, t* = {t_of_sigma(abar, 2 * sigma):.2f}, {time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
