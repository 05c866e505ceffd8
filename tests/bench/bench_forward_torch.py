"""Time one PyTorch forward pass (model.eps) of a safetensors model file, the
counterpart of bench_forward.c.

    /usr/bin/python3 tests/bench/bench_forward_torch.py MODEL [--size 512] [--repeats 3] [--threads 2] [--bf16]

--bf16 runs under CPU autocast to bfloat16 (oneDNN's BF16 convolutions), the
counterpart of bench_network's fast path.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training"))
from export import load_model_file  # noqa: E402
from model import count_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_model_file(args.model)
    model.eval()
    c = model.config["in_channels"]
    x = torch.rand(1, c, args.size, args.size) * 2 - 1
    t = torch.tensor([500.0])
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)
    with torch.no_grad(), autocast:
        t0 = time.perf_counter()
        model.eps(x, t)
        first = time.perf_counter() - t0
        best = best_cpu = float("inf")
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            model.eps(x, t)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"PyTorch {torch.__version__} {'BF16 autocast' if args.bf16 else 'FP32'} forward {args.size}x{args.size}, {args.threads} thread(s), "
          f"{count_params(model)} params: first {first:.3f} s, best of {args.repeats} {best:.3f} s "
          f"(cpu {best_cpu:.3f} s)")


if __name__ == "__main__":
    main()
