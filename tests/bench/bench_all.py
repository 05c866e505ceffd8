"""The shipped model's forward pass in every implementation at hand, side by
side: our exact and fast paths (under OpenBLAS's kernels as this
environment sets them and as OpenBLAS chooses itself), PyTorch FP32 and BF16
autocast (Debian's torch, same weights and input) and ONNX Runtime
(onnxruntime-node, the model exported by training/export_onnx.py), against
the machine's peaks measured in the same run.  Writes a markdown report.

    /usr/bin/python3 tests/bench/bench_all.py [--sizes 256,512,1024]
        [--threads 1,2] [--repeats 5] [--out report.md]

Needs: `ninja -C build tests/bench_worker`; for ONNX Runtime
`cd tests/bench/ort && npm ci --ignore-scripts` (node_modules is not
in git; without it that row says so and the others run).

For each thread count, then each size, every implementation is its own
process (a worker, started one after the other so that warm-ups do not
overlap): it loads the model, runs one pass on the same input (uniform in
[-1, 1], t = 500) and writes the output, which is compared with our exact
path's (max abs difference) before any timing.  Then REPEATS rounds: in each
round every worker times one pass, in an order rotated from round to round,
and the peak workers time their loops (sgemm 2048^3 FP32 under each OpenBLAS
kernel choice, a vdpbf16ps loop (AVX512_BF16, C intrinsics) and an AMX
tdpbf16ps loop, all in tests/bench/bench_worker.c).  Reported: medians,
ratios against our exact path, GFLOP/s of the convolutions (268.5 GFLOP at
512x512) against the peaks, CPU time, our time in convolutions against the
rest, peak resident memory (VmHWM of each worker), the load average.

--caps adds the fast path with its ISA capped (GD_MAX_ISA; default avx2,
the Winograd path a laptop without AVX-512 runs), under the first kernel
choice.

OpenBLAS kernel choices (--blas): "env" is the environment as it is, "own"
runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed (OpenBLAS's own
detection), "haswell" sets OPENBLAS_CORETYPE=Haswell (AVX2 kernels).  The
default is env,own; where the environment sets no OPENBLAS_CORETYPE, "env"
is "own" and the default is own,haswell.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
T_EVAL = 500.0
SGEMM_N = 2048


# Workers in this file: PyTorch.


def torch_worker(model_path, size, threads, in_path, out_path, bf16):
    import numpy as np
    import torch

    sys.path.insert(0, os.path.join(ROOT, "training"))
    from export import load_model_file

    torch.set_num_threads(threads)
    model, _ = load_model_file(model_path)
    model.eval()
    c = model.config["in_channels"]
    x = torch.from_numpy(np.fromfile(in_path, dtype=np.float32).reshape(1, c, size, size))
    t = torch.tensor([T_EVAL])
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    with torch.no_grad(), autocast:
        y = model.eps(x, t)
    y.float().numpy().astype(np.float32).tofile(out_path)
    print(json.dumps({"ready": f"torch {torch.__version__}"}), flush=True)
    for line in sys.stdin:
        if line.startswith("quit"):
            break
        n = int(line.split()[1])
        times, cpu = [], []
        with torch.no_grad(), autocast:
            for _ in range(n):
                t0, c0 = time.perf_counter(), time.process_time()
                model.eps(x, t)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        print(json.dumps({"times": times, "cpu": cpu}), flush=True)


# The driver.


def blas_env(choice):
    env = dict(os.environ)
    if choice == "own":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    elif choice == "haswell":
        env["OPENBLAS_CORETYPE"] = "Haswell"
    return env


def blas_label(choice):
    if choice == "env":
        return "env (OPENBLAS_CORETYPE=%s)" % os.environ.get("OPENBLAS_CORETYPE", "unset")
    return {"own": "OpenBLAS's own", "haswell": "Haswell"}[choice]


class Worker:
    def __init__(self, name, cmd, env, kind, log_path, out_path=None):
        self.name, self.kind, self.out_path = name, kind, out_path
        self.times, self.cpu, self.conv = [], [], []
        self.info, self.error, self.hwm_mib = {}, None, None
        # stderr to a file: a pipe nobody reads could fill and stall it.
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=ROOT,
            )
        line = self._read()
        if line is not None:
            self.info = json.loads(line)

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            with open(self.log_path) as log:
                err = log.read().strip().splitlines()
            self.error = "exit %s: %s" % (self.proc.returncode, err[-1] if err else "no message")
            return None
        return line

    def run(self, n):
        if self.error:
            return
        self.proc.stdin.write("run %d\n" % n)
        self.proc.stdin.flush()
        line = self._read()
        if line is None:
            return
        r = json.loads(line)
        self.times += r["times"]
        self.cpu += r["cpu"]
        self.conv += [c for c in r.get("conv", []) if c >= 0]

    def close(self):
        if self.proc.poll() is None:
            try:
                with open("/proc/%d/status" % self.proc.pid) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.hwm_mib = int(line.split()[1]) / 1024
            except OSError:
                pass
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        self.proc.wait()


class Missing:
    """An implementation that cannot run here: a row that says why."""

    def __init__(self, name, kind, error):
        self.name, self.kind, self.error = name, kind, error
        self.times, self.cpu, self.conv, self.info = [], [], [], {}
        self.proc, self.out_path, self.hwm_mib = None, None, None

    def run(self, n):
        pass


def median(v):
    v = sorted(v)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2]))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def export_onnx(args):
    onnx_path = os.path.join(args.work, "model.onnx")
    if not os.path.exists(onnx_path) or os.path.getmtime(onnx_path) < os.path.getmtime(args.model):
        subprocess.run(
            [sys.executable, os.path.join(ROOT, "training", "export_onnx.py"), args.model, onnx_path],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return onnx_path


def net_workers(args, size, threads, in_path):
    """(name, command, env, kind) of every implementation; kind: fp32 or
    bf16 (the peak its GFLOP/s are held against)."""
    worker = os.path.join(args.build, "tests", "bench_worker")
    out = lambda name: os.path.join(args.work, "%s-%d-%d.f32" % (name, size, threads))  # noqa: E731
    specs = []
    for choice in args.blas:
        for prec in ("exact", "fast"):
            name = "%s, %s" % (prec, blas_label(choice))
            cmd = [worker, "net", args.model, str(size), str(threads), prec, in_path, out(prec + "-" + choice)]
            specs.append((name, cmd, blas_env(choice), "fp32" if prec == "exact" else "bf16", out(prec + "-" + choice)))
    for cap in args.caps:
        # The fast path with the ISA capped (GD_MAX_ISA), e.g. avx2: what a
        # laptop without AVX-512 runs (Winograd below BF16).
        env = blas_env(args.blas[0])
        env["GD_MAX_ISA"] = cap
        name = "fast, GD_MAX_ISA=%s, %s" % (cap, blas_label(args.blas[0]))
        cmd = [worker, "net", args.model, str(size), str(threads), "fast", in_path, out("fast-" + cap)]
        specs.append((name, cmd, env, "fp32" if cap in ("avx2", "avx512") else "bf16", out("fast-" + cap)))
    for impl in args.impls:
        if impl in ("torch-fp32", "torch-bf16"):
            bf16 = impl == "torch-bf16"
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, args.model, str(size), str(threads), in_path, out(impl)]
            specs.append(("PyTorch " + ("BF16 autocast" if bf16 else "FP32"), cmd, dict(os.environ), "bf16" if bf16 else "fp32", out(impl)))
        elif impl == "ort":
            cmd = ["node", os.path.join(HERE, "ort", "worker.js"), args.onnx or "", str(size), str(threads), in_path, out(impl)]
            specs.append(("ONNX Runtime (FP32)", cmd, dict(os.environ), "fp32", out(impl)))
    return specs


def peak_workers(args, threads):
    worker = os.path.join(args.build, "tests", "bench_worker")
    specs = []
    for choice in args.blas:
        specs.append(("sgemm %d^3 FP32, %s" % (SGEMM_N, blas_label(choice)), [worker, "sgemm", str(SGEMM_N), str(threads)], blas_env(choice), "fp32"))
    specs.append(("vdpbf16ps loop (AVX512_BF16)", [worker, "bf16", str(threads)], dict(os.environ), "bf16"))
    specs.append(("tdpbf16ps loop (AMX)", [worker, "amx", str(threads)], dict(os.environ), "amx"))
    return specs


def run_config(args, threads, size, peaks, lines):
    import numpy as np

    in_path = os.path.join(args.work, "input-%d.f32" % size)
    rng = np.random.default_rng(12345)
    rng.uniform(-1, 1, 3 * size * size).astype(np.float32).tofile(in_path)
    load0 = loadavg()
    t_start = time.monotonic()
    workers = []
    for name, cmd, env, kind, out_path in net_workers(args, size, threads, in_path):
        if cmd[0] == "node" and not args.onnx:
            w = Missing(name, kind, args.ort_missing)
        else:
            print("  starting %s" % name, file=sys.stderr, flush=True)
            w = Worker(name, cmd, env, kind, out_path[:-4] + ".log", out_path)
        workers.append(w)
    # Outputs compared before timing: against our exact path (the first).
    ref = np.fromfile(workers[0].out_path, dtype=np.float32) if not workers[0].error else None
    diffs = {}
    for w in workers:
        if w.error or ref is None:
            continue
        y = np.fromfile(w.out_path, dtype=np.float32)
        diffs[w.name] = float(np.abs(y.astype(np.float64) - ref).max()) if y.size == ref.size else None
    for r in range(args.repeats):
        order = workers[r % len(workers):] + workers[: r % len(workers)]
        for w in order:
            w.run(1)
        for p in peaks:
            p.run(3)
        print("  round %d/%d done (load %s)" % (r + 1, args.repeats, loadavg()), file=sys.stderr, flush=True)
    for w in workers:
        if w.proc is not None:
            w.close()
    elapsed = time.monotonic() - t_start
    flop = next((w.info.get("flop") for w in workers if w.info.get("flop")), None)
    peak = {p.kind: max(p.info["flop"] / t for t in p.times) for p in peaks if p.times}
    fp32_peak = max((v for k, v in peak.items() if k == "fp32"), default=None)
    bf16_peak = peak.get("amx") or peak.get("bf16")
    ref_med = median(workers[0].times)
    lines.append("")
    lines.append("### %dx%d, %d thread%s" % (size, size, threads, "s" if threads > 1 else ""))
    lines.append("")
    lines.append("Load average %s at the start, %s at the end; %.0f s for this table; %s GFLOP of convolutions per pass." % (load0, loadavg(), elapsed, fmt(flop and flop * 1e-9, ".1f")))
    lines.append("")
    lines.append("| implementation | median s | min s | exact / this | GFLOP/s | % of peak | CPU s / wall s | convolutions / rest s | max abs diff vs exact | peak RSS MiB |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for w in workers:
        if w.error or not w.times:
            lines.append("| %s | not run: %s | | | | | | | | |" % (w.name, w.error))
            continue
        med = median(w.times)
        gf = flop / med * 1e-9 if flop else None
        pk = fp32_peak if w.kind == "fp32" else bf16_peak
        pct = 100 * gf * 1e9 / pk if gf and pk else None
        split = "-"
        if w.conv:
            c = median(w.conv)
            split = "%.3f / %.3f (%.0f %%)" % (c, med - c, 100 * c / med)
        name = w.name + (" [%s]" % w.info["fast_path"] if w.name.startswith("fast") and w.info.get("fast_path") else "")
        lines.append(
            "| %s | %.3f | %.3f | %s | %s | %s | %.2f | %s | %s | %s |"
            % (
                name,
                med,
                min(w.times),
                fmt(ref_med and ref_med / med, ".2f"),
                fmt(gf, ".0f"),
                fmt(pct, ".0f"),
                median([c / t for c, t in zip(w.cpu, w.times)]),
                split,
                fmt(diffs.get(w.name), ".2g"),
                fmt(w.hwm_mib, ".0f"),
            )
        )
    return elapsed


def peaks_table(peaks, lines):
    lines.append("| peak loop | median GFLOP/s | best GFLOP/s |")
    lines.append("|---|---|---|")
    for p in peaks:
        if p.error or not p.times:
            lines.append("| %s | not run: %s | |" % (p.name, p.error))
            continue
        gf = [p.info["flop"] / t * 1e-9 for t in p.times]
        lines.append("| %s | %.0f | %.0f |" % (p.name, median(gf), max(gf)))


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--worker"]:
        impl, model, size, threads, in_path, out_path = argv[1:7]
        torch_worker(model, int(size), int(threads), in_path, out_path, impl == "torch-bf16")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.safetensors"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--blas", default="default", help="env, own, haswell (comma-separated)")
    ap.add_argument("--impls", default="torch-fp32,torch-bf16,ort", help="besides ours: torch-fp32, torch-bf16, ort")
    ap.add_argument("--caps", default="avx2", help="also the fast path under these GD_MAX_ISA caps (comma-separated; '' for none)")
    ap.add_argument("--work", default="/tmp/gd-bench-all")
    ap.add_argument("--out", help="markdown report (default: stdout)")
    args = ap.parse_args(argv)
    if args.blas == "default":
        args.blas = "env,own" if os.environ.get("OPENBLAS_CORETYPE") else "own,haswell"
    args.blas = args.blas.split(",")
    args.impls = [i for i in args.impls.split(",") if i]
    args.caps = [c for c in args.caps.split(",") if c]
    args.model = os.path.abspath(args.model)
    args.build = os.path.abspath(args.build)
    os.makedirs(args.work, exist_ok=True)
    args.onnx, args.ort_missing = None, None
    if "ort" in args.impls:
        if not os.path.isdir(os.path.join(HERE, "ort", "node_modules", "onnxruntime-node")):
            args.ort_missing = "onnxruntime-node not installed (cd tests/bench/ort && npm ci --ignore-scripts)"
        else:
            try:
                args.onnx = export_onnx(args)
            except subprocess.CalledProcessError as e:
                args.ort_missing = "ONNX export failed (%s)" % e
    lines = []
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    lines.append("## Forward pass, every implementation (tests/bench/bench_all.py)")
    lines.append("")
    lines.append("%s UTC; %s, %d CPUs; OPENBLAS_CORETYPE in the environment: %s; PyTorch %s; command: `%s`"
                 % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), cpu, os.cpu_count(),
                    os.environ.get("OPENBLAS_CORETYPE", "unset"), torch_version,
                    " ".join(["/usr/bin/python3", "tests/bench/bench_all.py"] + argv)))
    lines.append("")
    lines.append("Medians of %d rounds (each implementation its own process, rounds alternating). "
                 "GFLOP/s: the convolutions' FLOP over the median; %% of peak: FP32 rows against the best "
                 "sgemm, BF16 rows (fast, PyTorch BF16) against the AMX loop where there is AMX, else the "
                 "vdpbf16ps loop. Max abs diff: of eps, against the first exact row, before timing." % args.repeats)
    total = time.monotonic()
    for threads in [int(t) for t in args.threads.split(",")]:
        print("%d thread(s): peaks" % threads, file=sys.stderr, flush=True)
        peaks = [Worker(n, c, e, k, os.path.join(args.work, "peak-%d-%d.log" % (threads, i)))
                 for i, (n, c, e, k) in enumerate(peak_workers(args, threads))]
        body = []
        for size in [int(s) for s in args.sizes.split(",")]:
            print("%d thread(s), %dx%d" % (threads, size, size), file=sys.stderr, flush=True)
            run_config(args, threads, size, peaks, body)
        for p in peaks:
            p.close()
        lines.append("")
        lines.append("### Peaks, %d thread%s (measured in the rounds below)" % (threads, "s" if threads > 1 else ""))
        lines.append("")
        peaks_table(peaks, lines)
        lines += body
    lines.append("")
    lines.append("Whole run: %.0f s." % (time.monotonic() - total))
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
