"""Export a model file (safetensors, export.py's format) to ONNX, for the
ONNX Runtime row of tests/bench/bench_all.py.

    /usr/bin/python3 training/export_onnx.py MODEL.safetensors OUT.onnx [--opset 13]

The graph is UNet.forward(x, t): x (1, C, H, W) FP32 with H and W dynamic
(multiples of the model's downsampling factor; eps's edge padding is left
out), t (1,) FP32, output eps of x's shape.  torch.onnx.export writes the
file itself; the `onnx` Python package is not needed (it is only used, when
installed, to check the graph).
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import load_model_file  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args(argv)
    model, _ = load_model_file(args.model)
    model.eval()
    c = model.config["in_channels"]
    f = model.downsample_factor
    x = torch.zeros(1, c, 4 * f, 4 * f)
    t = torch.tensor([500.0])
    with torch.no_grad():
        torch.onnx.export(
            model,
            (x, t),
            args.out,
            input_names=["x", "t"],
            output_names=["eps"],
            dynamic_axes={"x": {2: "height", 3: "width"}, "eps": {2: "height", 3: "width"}},
            opset_version=args.opset,
            do_constant_folding=True,
        )
    try:
        import onnx  # optional
    except ImportError:
        print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes; the onnx package is not installed, graph not checked)")
        return
    onnx.checker.check_model(onnx.load(args.out))
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, checked)")


if __name__ == "__main__":
    main()
