"""Writes the fixed inpainting masks of the quality benchmark.

Run once; the PNGs it writes are committed in tests/bench/masks/ and
quality.py reads them from there, so every run and every method sees the
same holes.  255 = the pixel is to be filled, 0 = known.

    /usr/bin/python3 tests/bench/make_masks.py

Three mask sets, each in both Kodak24 orientations (768x512 and 512x768):
- box:     a centred rectangle of 10% of the image area, with the image's
           aspect ratio (243x162 or 162x243 pixels, 10.01%);
- strokes: random brush strokes (seeded random walks drawn with a round
           brush 12..32 pixels wide) added until they cover 15% of the area;
- objects: object removal, three blobs (each a union of a few seeded
           random ellipses, the outline of a thing to remove) of 0.5%, 1.5%
           and 4% of the area at seeded random positions, apart from each
           other and from the border.
"""

import argparse
import math
import os

import numpy as np
from PIL import Image, ImageDraw

SIZES = [(768, 512), (512, 768)]
BOX_AREA = 0.10
STROKE_AREA = 0.15
SEED = 20240607


def box_mask(width, height, area=BOX_AREA):
    bw = int(round(width * math.sqrt(area)))
    bh = int(round(height * math.sqrt(area)))
    x0 = (width - bw) // 2
    y0 = (height - bh) // 2
    m = np.zeros((height, width), np.uint8)
    m[y0:y0 + bh, x0:x0 + bw] = 255
    return m


def stroke_mask(width, height, seed, area=STROKE_AREA):
    rng = np.random.default_rng(seed)
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    target = area * width * height
    while True:
        # one stroke: a smooth random walk of 4..9 segments
        x, y = rng.uniform(0.05, 0.95) * width, rng.uniform(0.05, 0.95) * height
        angle = rng.uniform(0, 2 * math.pi)
        brush = int(rng.integers(12, 33))
        pts = [(x, y)]
        for _ in range(int(rng.integers(4, 10))):
            angle += rng.normal(0, 0.6)
            step = rng.uniform(20, 60)
            nx, ny = x + step * math.cos(angle), y + step * math.sin(angle)
            if not (0 <= nx < width and 0 <= ny < height):
                angle += math.pi  # turn back at the border
                nx, ny = x + step * math.cos(angle), y + step * math.sin(angle)
            x = min(max(nx, 0), width - 1)
            y = min(max(ny, 0), height - 1)
            pts.append((x, y))
        before = img.copy()
        draw.line(pts, fill=255, width=brush, joint="curve")
        r = brush / 2
        for px, py in pts:
            draw.ellipse([px - r, py - r, px + r, py + r], fill=255)
        covered = np.count_nonzero(np.asarray(img))
        if covered >= target:
            # keep the stroke that crosses the target only if that lands
            # closer to it than stopping before it
            prev = np.count_nonzero(np.asarray(before))
            if abs(prev - target) < abs(covered - target):
                img = before
            break
    return np.asarray(img, dtype=np.uint8)


OBJECT_AREAS = (0.005, 0.015, 0.04)


def blob(width, height, cx, cy, area, rng):
    """A union of 3..5 ellipses around (cx, cy), scaled to `area`."""
    parts = []
    for k in range(int(rng.integers(3, 6))):
        parts.append((rng.normal(0, 0.35), rng.normal(0, 0.35),
                      rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0)))
    yy, xx = np.mgrid[0:height, 0:width]
    lo, hi = 1.0, 400.0
    for _ in range(40):  # bisection on the scale for the area
        s = 0.5 * (lo + hi)
        m = np.zeros((height, width), bool)
        for dx, dy, ax, ay in parts:
            m |= ((xx - cx - dx * s) / (ax * s)) ** 2 + \
                 ((yy - cy - dy * s) / (ay * s)) ** 2 <= 1
        if m.sum() < area * width * height:
            lo = s
        else:
            hi = s
    return m


def objects_mask(width, height, seed):
    rng = np.random.default_rng(seed)
    m = np.zeros((height, width), bool)
    centres = []
    for area in OBJECT_AREAS:
        r = math.sqrt(area * width * height / math.pi)
        for _ in range(100000):
            cx = rng.uniform(1.6 * r + 16, width - 1.6 * r - 16)
            cy = rng.uniform(1.6 * r + 16, height - 1.6 * r - 16)
            if all(math.hypot(cx - x, cy - y) > 1.8 * (r + rr) + 24
                   for x, y, rr in centres):
                break
        else:
            raise ValueError("no room for a blob of %g %% apart from the "
                             "others in %d x %d" % (100 * area, width, height))
        centres.append((cx, cy, r))
        m |= blob(width, height, cx, cy, area, rng)
    return np.where(m, 255, 0).astype(np.uint8)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "masks"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for k, (w, h) in enumerate(SIZES):
        for name, m in (("box", box_mask(w, h)),
                        ("strokes", stroke_mask(w, h, SEED + k)),
                        ("objects", objects_mask(w, h, SEED + 17 + k))):
            path = os.path.join(args.out, f"{name}-{w}x{h}.png")
            Image.fromarray(m, "L").save(path, optimize=True)
            print(f"{path}: {100.0 * np.count_nonzero(m) / m.size:.2f}% "
                  f"of {w}x{h}")


if __name__ == "__main__":
    main()
