"""The training recipe end to end, small: prepare -> train (a few steps,
checkpoint, resume) -> export -> the C forward pass agrees with PyTorch.

    /usr/bin/python3 tests/training/test_recipe.py SOURCE_ROOT TEST_GOLDEN_EXE

Uses generated images (smooth random fields), a tiny network and a few
steps, so it runs in seconds; it checks what the recipe promises:
the split is deterministic, the loss is finite, a resumed run continues the
step count, the exported file is self-describing and the C model computes
what PyTorch computes from it.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

root, test_golden = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "training"))
import export  # noqa: E402
import prepare  # noqa: E402
import train  # noqa: E402

TINY = json.dumps({"base_channels": 8, "channel_mult": [1, 2], "n_res_blocks": 1})
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    corpus = os.path.join(tmp, "corpus")
    rng = np.random.default_rng(0)
    for pkg in ("pkg-a", "pkg-b"):
        os.makedirs(os.path.join(corpus, pkg))
        for k in range(14):
            small = rng.uniform(0, 255, (6, 8, 3))
            img = Image.fromarray(small.astype(np.uint8)).resize((300, 220), Image.BICUBIC)
            img.save(os.path.join(corpus, pkg, f"img{k}.png"))
    os.makedirs(os.path.join(corpus, "_meta"))

    data = os.path.join(tmp, "data")
    prepare.main([corpus, data, "--short-side", "110", "--png"])
    split = json.load(open(os.path.join(data, "split.json")))
    check(len(split["train"]) + len(split["val"]) == 28, "prepare: every image lands in one split")
    check(len(split["val"]) >= 1 and len(split["train"]) >= 20, "prepare: a validation hold-out")
    check(all(min(e["width"], e["height"]) <= 110 for e in split["train"]),
          "prepare: short side downscaled to the limit")
    data2 = os.path.join(tmp, "data2")
    prepare.main([corpus, data2, "--short-side", "110", "--png"])
    split2 = json.load(open(os.path.join(data2, "split.json")))
    check([e["file"] for e in split["val"]] == [e["file"] for e in split2["val"]],
          "prepare: the split is deterministic")

    ckpt = os.path.join(tmp, "ckpt")
    common = ["--data", data, "--ckpt", ckpt, "--batch", "4", "--crop", "32",
              "--warmup", "2", "--threads", "1", "--val-every", "1000"]
    train.main(common + ["--config", TINY, "--max-steps", "3"])
    import torch  # noqa: E402
    c1 = torch.load(os.path.join(ckpt, "last.pt"), map_location="cpu")
    check(c1["step"] == 3, "train: 3 steps, checkpoint written")
    check(all(np.isfinite(h["val_loss"]) for h in c1["history"]), "train: finite validation loss")
    model_file = os.path.join(tmp, "model.safetensors")
    train.main(common + ["--max-steps", "2", "--export", model_file, "--export-dtype", "F32"])
    c2 = torch.load(os.path.join(ckpt, "last.pt"), map_location="cpu")
    check(c2["step"] == 5, "train: a resumed run continues the step count (3 + 2)")
    check(c2["config"]["base_channels"] == 8, "train: the resumed run keeps the checkpoint's config")

    model, info = export.load_model_file(model_file)
    check(info["training"]["steps"] == 5, "export: the training record is in the metadata")
    check(info["schedule"]["T"] == 1000, "export: the schedule is in the metadata")
    ema_sd = c2["ema"]
    same = all(torch.equal(model.state_dict()[k], ema_sd[k].float()) for k in ema_sd)
    check(same, "export: the EMA weights are what is exported")

    golden = os.path.join(tmp, "golden.safetensors")
    export.export_golden(model, golden)
    r = subprocess.run([test_golden, model_file, golden], capture_output=True, text=True)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, "C forward pass = PyTorch on the freshly trained model")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
