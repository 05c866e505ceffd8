"""Train the eps-prediction UNet (model.py) with L_simple, resumably.

    L_simple = E || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1-abar_t) eps, t) ||^2

Data: the folder written by prepare.py (train/ and val/ images).  Random
crops with flips and 90-degree rotations; t drawn half uniformly from 1..T and
half from 1..t_low (default 300), where denoising and upscaling spend their
steps.  An EMA of the weights is kept and is what gets exported.

Runs on CUDA when present (bf16 autocast), else on the CPU (float32).

    # start or resume (CPU, in the background, lowest priority):
    nohup nice -n 19 /usr/bin/python3 training/train.py --data DATA --ckpt CKPT_DIR &
    # a fixed wall-clock budget (e.g. on a GPU machine), exporting at the end:
    python3 training/train.py --data DATA --ckpt CKPT_DIR --time-budget 420 \
        --export models/default.safetensors

The checkpoint (CKPT_DIR/last.pt: weights, EMA, optimizer, step, elapsed
time, validation history) is rewritten every --ckpt-every seconds and at the
end, atomically, so a killed run loses at most that much.  --split-out DIR
also writes the weights as files under 15 MiB each (for transfer).
"""

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import UNet, linear_schedule, count_params  # noqa: E402


def amp_context(use_amp):
    """bf16 autocast on CUDA; nothing on the CPU (torch 1.13 rejects even a
    disabled CUDA autocast when CUDA is absent)."""
    if use_amp:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def load_images(folder, device):
    imgs = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        a = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.uint8)
        imgs.append(torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous().to(device))
    if not imgs:
        sys.exit(f"train.py: no images in {folder}")
    return imgs


class CropSampler:
    """Random crops from a list of uint8 CHW images, weighted by area."""

    def __init__(self, imgs, crop, gen):
        self.imgs = [im for im in imgs if im.shape[1] >= crop and im.shape[2] >= crop]
        areas = np.array([im.shape[1] * im.shape[2] for im in self.imgs], dtype=np.float64)
        self.p = areas / areas.sum()
        self.crop = crop
        self.rng = gen

    def batch(self, n):
        idx = self.rng.choice(len(self.imgs), size=n, p=self.p)
        out = []
        c = self.crop
        for i in idx:
            im = self.imgs[i]
            y = int(self.rng.integers(0, im.shape[1] - c + 1))
            x = int(self.rng.integers(0, im.shape[2] - c + 1))
            p = im[:, y:y + c, x:x + c]
            k = int(self.rng.integers(0, 8))
            if k & 1:
                p = p.flip(2)
            p = torch.rot90(p, k >> 1, dims=(1, 2))
            out.append(p)
        x0 = torch.stack(out).float() / 127.5 - 1.0
        return x0


def val_batches(imgs, crop, device):
    """Fixed validation set: non-overlapping centre-ish crops, fixed t and noise."""
    crops = []
    for im in imgs:
        h, w = im.shape[1:]
        for y in range(0, h - crop + 1, crop * 2):
            for x in range(0, w - crop + 1, crop * 2):
                crops.append(im[:, y:y + crop, x:x + crop])
    x0 = torch.stack(crops).float() / 127.5 - 1.0
    g = torch.Generator().manual_seed(1234)
    ts = [25, 56, 100, 250, 500, 750, 999]
    noise = torch.randn((len(ts),) + tuple(x0.shape), generator=g)
    return x0.to(device), ts, noise.to(device)


@torch.no_grad()
def validate(model, val, abar, device, use_amp):
    x0, ts, noise = val
    model.eval()
    per_t = {}
    for k, t in enumerate(ts):
        a = abar[t].float().to(device)
        tot, cnt = 0.0, 0
        for i in range(0, x0.shape[0], 32):
            xb, nb = x0[i:i + 32], noise[k, i:i + 32]
            xt = a.sqrt() * xb + (1 - a).sqrt() * nb
            tt = torch.full((xb.shape[0],), float(t), device=device)
            with amp_context(use_amp):
                e = model(xt, tt)
            tot += F.mse_loss(e.float(), nb, reduction="sum").item()
            cnt += nb.numel()
        per_t[t] = tot / cnt
    model.train()
    # PSNR of one-step x0_hat at t = 56 (sigma ~ 25/255 on the [-1,1] scale).
    a56 = abar[56].item()
    mse_x0 = per_t[56] * (1 - a56) / a56 / 4.0  # eps error -> x0 error on 0..1 scale
    return {"loss": sum(per_t.values()) / len(per_t), "per_t": per_t,
            "psnr_t56": 10 * math.log10(1.0 / mse_x0)}


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_split(state, folder, prefix, max_bytes=15 * 1024 * 1024):
    """Write a state dict as several torch files, each under max_bytes."""
    os.makedirs(folder, exist_ok=True)
    part, size, n = {}, 0, 0
    for k, v in state.items():
        b = v.numel() * v.element_size()
        if part and size + b > max_bytes:
            save_atomic(part, os.path.join(folder, f"{prefix}.{n}.pt"))
            part, size, n = {}, 0, n + 1
        part[k] = v.detach().float().cpu()
        size += b
    save_atomic(part, os.path.join(folder, f"{prefix}.{n}.pt"))


def load_split(folder, prefix):
    state, n = {}, 0
    while os.path.exists(os.path.join(folder, f"{prefix}.{n}.pt")):
        state.update(torch.load(os.path.join(folder, f"{prefix}.{n}.pt"), map_location="cpu"))
        n += 1
    return state


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train the gimp-diffusion UNet (L_simple).")
    ap.add_argument("--data", required=True, help="folder written by prepare.py")
    ap.add_argument("--ckpt", required=True, help="checkpoint folder (resumed if it holds last.pt)")
    ap.add_argument("--init-split", help="start from weights saved by --split-out (folder)")
    ap.add_argument("--init-model", help="start from a safetensors model file (e.g. the shipped one)")
    ap.add_argument("--config", default=None, help="model config JSON (new runs only)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lr-min", type=float, default=2e-5)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--cosine", action="store_true",
                    help="cosine decay lr -> lr-min over the time budget (else constant)")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--t-low", type=int, default=300)
    ap.add_argument("--time-budget", type=float, default=0, help="seconds (0 = no limit)")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--ckpt-every", type=float, default=600, help="seconds")
    ap.add_argument("--val-every", type=int, default=1000, help="steps")
    ap.add_argument("--export", help="write the EMA weights as safetensors at the end")
    ap.add_argument("--export-dtype", default="F16")
    ap.add_argument("--split-out", help="also write weights as <15 MiB files here")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    use_amp = device == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    os.makedirs(args.ckpt, exist_ok=True)
    last = os.path.join(args.ckpt, "last.pt")

    ckpt = torch.load(last, map_location="cpu") if os.path.exists(last) else None
    if ckpt:
        config = ckpt["config"]
    elif args.config:
        config = json.loads(args.config)
    else:
        config = None
    model = UNet(config).to(device)
    ema = UNet(model.config).to(device)
    if device == "cuda":
        model = model.to(memory_format=torch.channels_last)
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    step, elapsed, history = 0, 0.0, []
    if ckpt:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["opt"])
        step, elapsed, history = ckpt["step"], ckpt["elapsed"], ckpt["history"]
        log(f"resumed {last} at step {step} ({elapsed / 3600:.2f} h trained)")
    else:
        if args.init_split:
            model.load_state_dict(load_split(args.init_split, "model"))
            es = load_split(args.init_split, "ema")
            ema.load_state_dict(es if es else model.state_dict())
            meta = os.path.join(args.init_split, "progress.json")
            if os.path.exists(meta):
                with open(meta) as f:
                    pj = json.load(f)
                step, elapsed, history = pj["step"], pj["elapsed"], pj["history"]
            log(f"initialised from {args.init_split} (step {step})")
        elif args.init_model:
            from export import load_model_file  # noqa: E402
            m, info = load_model_file(args.init_model)
            model.load_state_dict(m.state_dict())
            ema.load_state_dict(m.state_dict())
            tr = info.get("training", {})
            step, elapsed = int(tr.get("steps", 0)), float(tr.get("train_seconds", 0.0))
            history = tr.get("history", [])
            log(f"initialised from {args.init_model} (step {step})")
        else:
            ema.load_state_dict(model.state_dict())
    log(f"device {device}, params {count_params(model)}, config {model.config}")

    _, abar = linear_schedule()
    abar_dev = abar.float().to(device)
    T = 1000
    train_imgs = load_images(os.path.join(args.data, "train"), device)
    val_imgs = load_images(os.path.join(args.data, "val"), device)
    sampler = CropSampler(train_imgs, args.crop, np.random.default_rng(args.seed + step))
    val = val_batches(val_imgs, 64, device)
    log(f"{len(train_imgs)} train images, {val[0].shape[0]} val crops")

    gen = torch.Generator(device=device).manual_seed(args.seed * 1000003 + step)
    start = time.time()
    base_elapsed = elapsed
    last_ckpt = time.time()
    run_steps = 0
    loss_acc, loss_n = 0.0, 0

    def lr_at(run_step, frac):
        if run_step < args.warmup:
            return args.lr * (run_step + 1) / args.warmup
        if args.cosine and args.time_budget > 0:
            return args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * min(1.0, frac)))
        return args.lr

    def checkpoint():
        state = {"config": model.config, "model": model.state_dict(), "ema": ema.state_dict(),
                 "opt": opt.state_dict(), "step": step, "elapsed": elapsed, "history": history}
        save_atomic(state, last)
        if args.split_out:
            save_split(ema.state_dict(), args.split_out, "ema")
            save_split(model.state_dict(), args.split_out, "model")
            with open(os.path.join(args.split_out, "progress.json"), "w") as f:
                json.dump({"step": step, "elapsed": elapsed, "history": history,
                           "config": model.config}, f)

    def do_validate():
        v = validate(ema, val, abar, device, use_amp)
        rec = {"step": step, "hours": round(elapsed / 3600, 4), "val_loss": v["loss"],
               "psnr_t56": v["psnr_t56"], "train_loss": loss_acc / max(1, loss_n)}
        history.append(rec)
        log(f"val step {step}: loss {v['loss']:.5f} psnr@t56 {v['psnr_t56']:.2f} dB "
            f"train {rec['train_loss']:.5f} lr {opt.param_groups[0]['lr']:.2e}")

    model.train()
    while True:
        now = time.time()
        elapsed = base_elapsed + (now - start)
        frac = (now - start) / args.time_budget if args.time_budget else 0.0
        if (args.time_budget and now - start >= args.time_budget) or \
                (args.max_steps and run_steps >= args.max_steps):
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(run_steps, frac)
        x0 = sampler.batch(args.batch)
        b = x0.shape[0]
        half = b // 2
        t = torch.cat([torch.randint(1, T + 1, (b - half,), device=device, generator=gen),
                       torch.randint(1, args.t_low + 1, (half,), device=device, generator=gen)])
        eps = torch.randn(x0.shape, device=device, generator=gen)
        a = abar_dev[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        with amp_context(use_amp):
            pred = model(xt, t.float())
        loss = F.mse_loss(pred.float(), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + step) / (10 + step))
            ema_p, model_p = list(ema.parameters()), [p.detach() for p in model.parameters()]
            torch._foreach_mul_(ema_p, d)
            torch._foreach_add_(ema_p, model_p, alpha=1 - d)
        step += 1
        run_steps += 1
        if run_steps % 50 == 0:
            loss_acc += loss.item()
            loss_n += 1
        if run_steps % 200 == 0:
            log(f"step {step} loss {loss.item():.5f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{run_steps / (time.time() - start):.2f} it/s")
        if step % args.val_every == 0:
            do_validate()
            loss_acc, loss_n = 0.0, 0
        if time.time() - last_ckpt >= args.ckpt_every:
            checkpoint()
            last_ckpt = time.time()
    elapsed = base_elapsed + (time.time() - start)
    do_validate()
    checkpoint()
    log(f"stopped at step {step}, {elapsed / 3600:.2f} h trained in all")
    if args.export:
        from export import export_model  # noqa: E402
        info = {"steps": step, "train_seconds": round(elapsed, 1), "device": device,
                "batch": args.batch, "crop": args.crop, "lr": args.lr, "ema": args.ema,
                "t_sampling": f"half uniform 1..{T}, half uniform 1..{args.t_low}",
                "val_loss": history[-1]["val_loss"], "psnr_t56": history[-1]["psnr_t56"],
                "history": history}
        export_model(ema.cpu(), args.export, info, dtype=args.export_dtype)
        log(f"exported EMA weights to {args.export}")


if __name__ == "__main__":
    main()
