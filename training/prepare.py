"""Turn the raw corpus (training/corpus.sh OUTDIR) into training images.

Large photos are box-downscaled (PIL's area filter) so their short side is at
most --short-side pixels: that averages away most of the JPEG artefacts of the
wallpapers, so the model learns clean images.  Small photos are kept as they
are.  Each image is written as a 4:4:4 JPEG of quality 95 (small enough to
travel to a GPU machine) or PNG (--png, lossless).  A fixed, deterministic
split holds out about 8% of the images, spread over the packages, for the
validation loss.

    /usr/bin/python3 training/prepare.py CORPUS_DIR OUT_DIR

writes OUT_DIR/train/*.jpg, OUT_DIR/val/*.jpg and OUT_DIR/split.json
(image names, sizes, source packages and the settings used).
"""

import argparse
import hashlib
import json
import os
import sys

from PIL import Image


def list_images(corpus):
    images = []
    for pkg in sorted(os.listdir(corpus)):
        d = os.path.join(corpus, pkg)
        if pkg.startswith("_") or not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.lower().endswith((".jpg", ".jpeg", ".png")):
                images.append((pkg, name, os.path.join(d, name)))
    return images


def is_val(pkg, name, val_fraction):
    h = int(hashlib.sha256(f"{pkg}/{name}".encode()).hexdigest()[:8], 16)
    return (h % 1000) < val_fraction * 1000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--short-side", type=int, default=512)
    ap.add_argument("--val-fraction", type=float, default=0.08)
    ap.add_argument("--png", action="store_true", help="write lossless PNG")
    args = ap.parse_args(argv)

    images = list_images(args.corpus)
    if not images:
        sys.exit(f"prepare.py: no images under {args.corpus} (run training/corpus.sh first)")
    for sub in ("train", "val"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    record = {"short_side": args.short_side, "format": "png" if args.png else "jpeg-q95-444",
              "train": [], "val": []}
    total_px = 0
    for pkg, name, path in images:
        img = Image.open(path).convert("RGB")
        w, h = img.size
        scale = min(1.0, args.short_side / min(w, h))
        if scale < 1.0:
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            img = img.resize((nw, nh), Image.BOX)
        split = "val" if is_val(pkg, name, args.val_fraction) else "train"
        stem = f"{pkg}__{os.path.splitext(name)[0]}"
        if args.png:
            out_name = stem + ".png"
            img.save(os.path.join(args.out, split, out_name))
        else:
            out_name = stem + ".jpg"
            img.save(os.path.join(args.out, split, out_name), quality=95, subsampling=0)
        record[split].append({"file": out_name, "package": pkg, "source": name,
                              "width": img.size[0], "height": img.size[1],
                              "original": [w, h]})
        total_px += img.size[0] * img.size[1]
    record["megapixels"] = round(total_px / 1e6, 2)
    with open(os.path.join(args.out, "split.json"), "w") as f:
        json.dump(record, f, indent=1)
    print(f"{len(record['train'])} train + {len(record['val'])} val images, "
          f"{record['megapixels']} MP, in {args.out}")


if __name__ == "__main__":
    main()
