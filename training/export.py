"""Exporter: a gd-unet-v1 model as a safetensors file for core/unet.c, and
golden input/output vectors for the C forward-pass test.

The safetensors format is written by hand (Debian 12 has no `safetensors`
package): an 8-byte little-endian header length N, N bytes of JSON (padded
with spaces to a multiple of 8, as the reference implementation does), then
the raw little-endian tensor data.  Each tensor entry is
{"dtype": "F32"|"F16"|"BF16", "shape": [...], "data_offsets": [begin, end]},
offsets relative to the data start.  "__metadata__" (string -> string):

    arch      "gd-unet-v1"
    config    JSON text: arch, in_channels, base_channels, channel_mult,
              n_res_blocks (model.py's UNet config)
    schedule  JSON text: {"type": "linear", "T": 1000, "beta_start": 1e-4,
              "beta_end": 0.02}
    training  JSON text, free form (steps, time, loss, ...)

Golden files hold, for each case k, "case{k}.input" (1, C, H, W) on [-1, 1],
"case{k}.t" (1,) and "case{k}.output" = model.eps(input, t), all F32, with
metadata {"kind": "gd-golden", "cases": "<n>", "arch", "config"}.

Command line (run with /usr/bin/python3):
    python3 training/export.py --checkpoint CKPT --out models/default.safetensors \
        --golden tests/data/golden-default.safetensors
    python3 training/export.py --random-init --seed 0 --config '{"base_channels": 8, ...}' \
        --out tests/data/tiny.safetensors --golden tests/data/golden-tiny.safetensors
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ARCH, UNet, count_params  # noqa: E402

SCHEDULE = {"type": "linear", "T": 1000, "beta_start": 1e-4, "beta_end": 0.02}
DTYPES = ("F32", "F16", "BF16")
# (height, width, t): a size that is a multiple of every factor up to 8, one
# that is not (37 wide, 29 high) with a fractional t, one smaller than the
# downsampling factor, and the two ends of the t range.
GOLDEN_CASES = ((32, 32, 10.0), (29, 37, 500.5), (5, 3, 999.25), (16, 24, 0.0), (24, 16, 1000.0))


def _tensor_bytes(t, dtype):
    """Little-endian bytes of tensor t converted to dtype."""
    t = t.detach().to("cpu", torch.float32).contiguous()
    if dtype == "F32":
        return t.numpy().astype("<f4").tobytes()
    if dtype == "F16":
        a = t.numpy().astype("<f2")
        if not np.isfinite(a).all():
            raise ValueError("a value overflows float16; export as F32 or BF16")
        return a.tobytes()
    if dtype == "BF16":
        # torch rounds to nearest even; keep the raw 16-bit patterns.
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(f"unknown dtype {dtype!r} (choose from {', '.join(DTYPES)})")


def write_safetensors(path, tensors, metadata, dtype="F32"):
    """tensors: {name: torch.Tensor}; metadata: {str: str}.  Written
    atomically (a temporary file renamed over path)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r} (choose from {', '.join(DTYPES)})")
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = _tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns ({name: float32 tensor}, {metadata}) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: truncated")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} beyond the end of the file")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    np_types = {"F32": "<f4", "F16": "<f2", "BF16": "<i2"}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        a = np.frombuffer(data[b:end], dtype=np_types[e["dtype"]])
        if e["dtype"] == "BF16":
            t = torch.from_numpy(a.astype(np.int32) << 16).view(torch.float32)
        else:
            t = torch.from_numpy(a.astype(np.float32))
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def model_config(model):
    cfg = model.config
    return {
        "arch": ARCH,
        "in_channels": cfg["in_channels"],
        "base_channels": cfg["base_channels"],
        "channel_mult": list(cfg["channel_mult"]),
        "n_res_blocks": cfg["n_res_blocks"],
    }


def export_model(model: UNet, path: str, training_info: dict, dtype: str = "F32"):
    """Writes model.state_dict() as a self-describing safetensors file."""
    metadata = {
        "arch": ARCH,
        "config": json.dumps(model_config(model)),
        "schedule": json.dumps(SCHEDULE),
        "training": json.dumps(training_info if training_info is not None else {}, default=str),
    }
    write_safetensors(path, model.state_dict(), metadata, dtype)


def load_model_file(path):
    """The UNet stored in a safetensors file written by export_model, and its
    metadata as a dict (config, schedule and training parsed from JSON)."""
    tensors, meta = read_safetensors(path)
    if meta.get("arch") != ARCH:
        raise ValueError(f"{path}: unknown architecture {meta.get('arch')!r}")
    info = {"arch": meta["arch"]}
    for key in ("config", "schedule", "training"):
        if key in meta:
            info[key] = json.loads(meta[key])
    model = UNet(info["config"])
    model.load_state_dict(tensors)
    model.eval()
    return model, info


def random_init(model, seed=0, std=0.05):
    """Every parameter random (conv_out included, which model.py zero-inits),
    so that a golden test on the result means something.  Norm weights are
    1 + N(0, std), everything else N(0, std)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen) * std
            is_norm_weight = name.endswith(".weight") and p.dim() == 1
            p.copy_(noise + 1.0 if is_norm_weight else noise)
    return model


def export_golden(model, path, cases=GOLDEN_CASES, seed=1234):
    """Writes golden vectors: for each (height, width, t) case, a random
    input on [-1, 1], t, and model.eps(input, t) computed in float32."""
    model = model.eval()
    gen = torch.Generator().manual_seed(seed)
    c = model.config["in_channels"]
    tensors = {}
    with torch.no_grad():
        for k, (h, w, t) in enumerate(cases):
            x = torch.rand((1, c, h, w), generator=gen) * 2 - 1
            tt = torch.tensor([t], dtype=torch.float32)
            tensors[f"case{k}.input"] = x
            tensors[f"case{k}.t"] = tt
            tensors[f"case{k}.output"] = model.eps(x, tt)
    metadata = {"kind": "gd-golden", "cases": str(len(cases)), "arch": ARCH,
                "config": json.dumps(model_config(model))}
    write_safetensors(path, tensors, metadata, "F32")


def _load_checkpoint(path):
    """A trainer checkpoint (training/train.py's last.pt, or its folder):
    the EMA weights when present, else the raw ones, and the training record."""
    if os.path.isdir(path):
        path = os.path.join(path, "last.pt")
    ckpt = torch.load(path, map_location="cpu")
    model = UNet(ckpt["config"])
    model.load_state_dict(ckpt["ema"] if "ema" in ckpt else ckpt["model"])
    history = ckpt.get("history", [])
    info = {"steps": ckpt.get("step"), "train_seconds": ckpt.get("elapsed"),
            "weights": "ema" if "ema" in ckpt else "model", "history": history}
    if history:
        info.update({k: v for k, v in history[-1].items() if k in ("val_loss", "psnr_t56")})
    return model, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="trainer checkpoint (last.pt or its folder)")
    src.add_argument("--random-init", action="store_true", help="random weights (tests, benchmarks)")
    ap.add_argument("--seed", type=int, default=0, help="random-init seed")
    ap.add_argument("--std", type=float, default=0.05, help="random-init standard deviation")
    ap.add_argument("--config", help="model config JSON for --random-init (default: model.py's)")
    ap.add_argument("--out", required=True, help="model safetensors file to write")
    ap.add_argument("--dtype", default="F32", choices=DTYPES)
    ap.add_argument("--golden", help="also write golden vectors here")
    args = ap.parse_args(argv)

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.random_init:
        model = random_init(UNet(json.loads(args.config) if args.config else None), args.seed, args.std)
        info = {"random_init": {"seed": args.seed, "std": args.std}, "steps": 0}
    else:
        model, info = _load_checkpoint(args.checkpoint)
    model.eval()
    export_model(model, args.out, info, args.dtype)
    print(f"{args.out}: {ARCH} {model_config(model)}, {count_params(model)} parameters, {args.dtype}")
    if args.golden:
        # The golden output is that of the weights as stored: round-trip them
        # (F16/BF16 lose precision) before computing it.
        stored, _ = load_model_file(args.out)
        export_golden(stored, args.golden)
        print(f"{args.golden}: {len(GOLDEN_CASES)} cases")


if __name__ == "__main__":
    main()
