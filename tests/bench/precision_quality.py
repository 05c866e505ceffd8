#!/usr/bin/python3
"""precision_quality.py: does the fast path move tests/bench/quality.py's
denoise and upscale rows?  Our rows of quality.py (same inputs, metrics,
seeds and cache) run twice, with --precision exact and fast, and each row's
mean PSNR / SSIM is printed for both with the difference, beside the PSNR
of each fast result against the exact one (its minimum over the images).
Issue 15's rule: fast is the default only where every row moves by 0.05 dB
or less and each tool stays at 40 dB or more against exact.

Usage (docs/benchmarks/performance.md, "Quality of the fast path"):
  nice -n 10 /usr/bin/python3 tests/bench/precision_quality.py \\
      --eval ../shared/data/eval --work ../data/bench-cache [--subset N]
GD_MAX_ISA (conv-fast.h) caps the fast path's ISA as for the CLI.
"""
import argparse
import hashlib
import os
import stat
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality as Q  # noqa: E402

ROWS = {
    # row key: (task, sets, sigmas or scales, images per set or None = all)
    "denoise/ours-1step": ("denoise", ("CBSD68", "Kodak24"), Q.SIGMAS, None),
    "denoise/ours-sampled": ("denoise", ("CBSD68", "Kodak24"), Q.SIGMAS, 8),
    "denoise/ours-1step-noclip": ("denoise", ("CBSD68",), Q.SIGMAS, 8),
    "denoise/ours-1step-x8": ("denoise", ("CBSD68",), (25,), 8),
    "upscale/ours": ("upscale", ("Set5", "Set14"), Q.SCALES, None),
}


def wrapper(work, cli, precision):
    """A CLI that adds --precision: quality.py keys its cache by the CLI
    file's digest, so the wrapper names the real binary's digest."""
    with open(cli, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    isa = os.environ.get("GD_MAX_ISA", "")
    path = os.path.join(work, "cli-%s-%s%s" % (precision, digest[:12],
                                               "-" + isa if isa else ""))
    with open(path, "w") as f:
        f.write("#!/bin/sh\n# %s sha256 %s, GD_MAX_ISA=%s\n"
                "exec %s \"$@\" --precision %s\n"
                % (cli, digest, isa, cli, precision))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", default=os.path.join(Q.REPO, "..", "shared",
                                                   "data", "eval"))
    ap.add_argument("--work", default=os.path.join(
        os.path.expanduser("~"), ".cache", "gimp-diffusion-bench"))
    ap.add_argument("--cli", default=os.path.join(
        Q.REPO, "build", "core", "cli", "gimp-diffusion-cli"))
    ap.add_argument("--model", default=os.path.join(Q.REPO, "models",
                                                    "default.safetensors"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rows", default=",".join(ROWS),
                    help="comma list of " + ", ".join(ROWS))
    ap.add_argument("--subset", type=int, default=0,
                    help="at most N images per set for every row (0: each "
                         "row's own count)")
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    cli = os.path.abspath(args.cli)
    # quality.py's own defaults (step budgets, seed), parsed by its own
    # parser: a row here is the row there.
    ns = Q.parse_args(["--eval", args.eval, "--work", work, "--cli", cli,
                       "--model", args.model, "--threads", str(args.threads),
                       "--tasks", "denoise,upscale", "--skip-slow"])
    benches = {}
    for prec in ("exact", "fast"):
        ns.cli = wrapper(work, cli, prec)
        benches[prec] = Q.Bench(Q.Config(ns))
    b0 = benches["exact"]
    print("| row | set | condition | images | exact PSNR / SSIM | fast PSNR / "
          "SSIM | fast - exact (dB) | fast vs exact, min PSNR (dB) |")
    print("|---|---|---|---|---|---|---|---|")
    worst_move, worst_vs = 0.0, float("inf")
    for row in args.rows.split(","):
        task, sets, conds, count = ROWS[row]
        key = row.split("/", 1)[1]
        if args.subset:
            count = min(count or args.subset, args.subset)
        methods = {}
        for prec, b in benches.items():
            if task == "denoise":
                methods[prec] = [m for m in Q.denoise_methods(b)[0]
                                 if m.key == key][0]
            else:
                methods[prec] = Q.sr_methods(b)[0]
        for s in sets:
            names = Q.list_set(b0.cfg, s)
            if count:
                names = Q.pick(names, count)
            for c in conds:
                if task == "denoise":
                    inputs = Q.denoise_inputs(b0, s, names)
                else:
                    inputs = Q.sr_inputs(b0, s, names, c)
                recs = {"exact": [], "fast": []}
                vs = []
                for n in names:
                    outs = {}
                    for prec, b in benches.items():
                        keep = os.path.join(work, "kept-precision", prec, task,
                                            key, s, "%s_%s.png" % (
                                                Q.stem(n), c))
                        if task == "denoise":
                            clean = Q.load_clean(b.cfg, s, n)
                            metric = (lambda out, clean=clean: {
                                "psnr": Q.psnr(clean, out),
                                "ssim": Q.ssim(clean, out)})
                            rec = b.measure(task, methods[prec], s, n,
                                            "s%d" % c, inputs[(n, c)], metric,
                                            keep_as=keep, sigma=c)
                        else:
                            hr_p, lr_p = inputs[n]
                            hb = Q.read_rgb(hr_p)[c:-c, c:-c]
                            metric = (lambda out, hb=hb, c=c: {
                                "psnr": Q.psnr(hb, out[c:-c, c:-c]),
                                "ssim": Q.ssim(hb, out[c:-c, c:-c])})
                            rec = b.measure(task, methods[prec], s, n,
                                            "x%d" % c, lr_p, metric,
                                            keep_as=keep, scale=c)
                        if rec is None:
                            raise SystemExit("%s %s %s %s failed: %s" % (
                                prec, row, s, n, b.failures[-1:]))
                        recs[prec].append(rec)
                        outs[prec] = Q.read_rgb(keep).astype(np.float64)
                    vs.append(Q.psnr(outs["exact"], outs["fast"]))
                agg = {p: Q.aggregate(r) for p, r in recs.items()}
                move = agg["fast"]["psnr"] - agg["exact"]["psnr"]
                worst_move = max(worst_move, abs(move))
                worst_vs = min(worst_vs, min(vs))
                print("| %s | %s | %s%d | %d | %.3f / %.4f | %.3f / %.4f | "
                      "%+.3f | %.2f |" % (
                          row, s, "sigma " if task == "denoise" else "x", c,
                          len(names), agg["exact"]["psnr"],
                          agg["exact"]["ssim"], agg["fast"]["psnr"],
                          agg["fast"]["ssim"], move, min(vs)), flush=True)
    print("\nlargest move of a row's mean PSNR: %.3f dB (rule: <= 0.05); "
          "lowest PSNR of a fast result against exact: %.2f dB (rule: >= 40)"
          % (worst_move, worst_vs))
    return 0 if worst_move <= 0.05 and worst_vs >= 40.0 else 1


if __name__ == "__main__":
    sys.exit(main())
