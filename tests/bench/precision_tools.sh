#!/bin/bash
# precision_tools.sh: each tool at its defaults, exact against fast, on one
# eval image each: PSNR of the fast result against the exact one, and the
# wall time of both (docs/benchmarks/performance.md).
# Usage: tests/bench/precision_tools.sh BUILD_DIR EVAL_DIR OUT_DIR [THREADS]
set -euo pipefail
build=$1 eval=$2 out=$3 threads=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
cli=$build/core/cli/gimp-diffusion-cli
model=$here/../../models/default.safetensors
mkdir -p "$out"
py=/usr/bin/python3
# A noisy CBSD68 image (sigma 25), a 96x96 crop of a Set5 image to enlarge
# x4, a Kodak
# image with the box mask, the same Kodak image for img2img.
"$py" - "$eval" "$out" <<'PY'
import sys, numpy as np
from PIL import Image
ev, out = sys.argv[1], sys.argv[2]
im = np.asarray(Image.open(ev + '/CBSD68/101085.png').convert('RGB')).astype(float)
rng = np.random.default_rng(0)
Image.fromarray(np.clip(im + rng.normal(0, 25, im.shape), 0, 255).round().astype(np.uint8)).save(out + '/noisy.png')
Image.open(ev + '/Set5/butterfly.png').convert('RGB').crop((64, 64, 160, 160)).save(out + '/small.png')
k = Image.open(ev + '/Kodak24/kodim01.png').convert('RGB')
k.save(out + '/kodak.png')
PY
mask=$here/masks/box-${KODAK_SIZE:-768x512}.png
run () {  # name precision args...
  local name=$1 prec=$2; shift 2
  local t0=$(date +%s.%N)
  "$cli" "$@" -o "$out/$name-$prec.png" --precision "$prec" --threads "$threads" \
    --model "$model" -q
  echo "$name $prec $(echo "$(date +%s.%N) - $t0" | bc) s"
}
for prec in exact fast; do
  run denoise "$prec" denoise "$out/noisy.png" --sigma 25
  run upscale "$prec" upscale "$out/small.png" --scale 4
  run inpaint "$prec" inpaint "$out/kodak.png" --mask "$mask"
  run img2img "$prec" img2img "$out/kodak.png"
done
for name in denoise upscale inpaint img2img; do
  "$py" -c "
import sys, numpy as np; from PIL import Image
a = np.asarray(Image.open('$out/$name-exact.png')).astype(float)
b = np.asarray(Image.open('$out/$name-fast.png')).astype(float)
mse = ((a - b) ** 2).mean()
print('$name: PSNR fast vs exact %s dB, max abs %d' % ('inf' if mse == 0 else '%.2f' % (10 * np.log10(255 ** 2 / mse)), np.abs(a - b).max()))"
done
