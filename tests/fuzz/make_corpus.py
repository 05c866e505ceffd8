#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/).

model/: small valid gd-unet-v1 files (F32, F16, BF16; one and two levels;
1 and 3 channels) and one file per kind of defect the loader must refuse;
json/: model headers and metadata strings, valid and broken; arch/: the
architecture picks of fuzz_arch.c.  Every file is
a few KB, so that libFuzzer mutates them quickly.  Deterministic: running it
again rewrites the same bytes.  Files whose names start with "crash-" are
inputs that once broke the loader: this script never touches them.

Usage: tests/fuzz/make_corpus.py [CORPUS_DIR]
"""

import json
import math
import os
import random
import struct
import sys

ARCH = "gd-unet-v1"
SCHEDULE = {"type": "linear", "T": 1000, "beta_start": 0.0001,
            "beta_end": 0.02}


def unet_shapes(in_ch, base, mult, n_res):
    """The tensors of core/unet.c's model_walk, in its order."""
    emb = 4 * base
    out = []

    def linear(name, n_in, n_out):
        out.append((name + ".weight", [n_out, n_in]))
        out.append((name + ".bias", [n_out]))

    def conv(name, cin, cout, k):
        out.append((name + ".weight", [cout, cin, k, k]))
        out.append((name + ".bias", [cout]))

    def norm(name, ch):
        out.append((name + ".weight", [ch]))
        out.append((name + ".bias", [ch]))

    def res(name, cin, cout):
        norm(name + ".norm1", cin)
        conv(name + ".conv1", cin, cout, 3)
        linear(name + ".emb", emb, cout)
        norm(name + ".norm2", cout)
        conv(name + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(name + ".skip", cin, cout, 1)

    linear("temb.lin1", base, emb)
    linear("temb.lin2", emb, emb)
    conv("conv_in", in_ch, base, 3)
    skips = [base]
    ch = base
    levels = len(mult)
    for level in range(levels):
        o = base * mult[level]
        for i in range(n_res):
            res(f"down.{level}.res.{i}", ch, o)
            ch = o
            skips.append(ch)
        if level < levels - 1:
            conv(f"down.{level}.down", ch, ch, 3)
            skips.append(ch)
    res("mid.res.0", ch, ch)
    res("mid.res.1", ch, ch)
    for level in reversed(range(levels)):
        o = base * mult[level]
        for i in range(n_res + 1):
            res(f"up.{level}.res.{i}", ch + skips.pop(), o)
            ch = o
        if level > 0:
            conv(f"up.{level}.up", ch, ch, 3)
    norm("norm_out", ch)
    conv("conv_out", ch, in_ch, 3)
    return out


def f32_bytes(v):
    return struct.pack("<f", v)


def f16_bytes(v):
    return struct.pack("<e", v)


def bf16_bytes(v):
    return struct.pack("<f", v)[2:]


ENCODERS = {"F32": (4, f32_bytes), "F16": (2, f16_bytes),
            "BF16": (2, bf16_bytes)}


def safetensors(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def model(in_ch=3, base=2, mult=(1,), n_res=0, dtype="F32", seed=1,
          drop=None, reshape=None, poison=None, meta=None, config=None):
    """A model file; drop / reshape name a tensor to break, poison lists
    (name, value[, every element]) to set."""
    rng = random.Random(seed)
    size, enc = ENCODERS[dtype]
    cfg = {"arch": ARCH, "in_channels": in_ch, "base_channels": base,
           "channel_mult": list(mult), "n_res_blocks": n_res}
    if config is not None:
        cfg = config
    metadata = {"arch": ARCH, "config": json.dumps(cfg),
                "schedule": json.dumps(SCHEDULE), "training": "{}"}
    if meta is not None:
        metadata.update(meta)
        metadata = {k: v for k, v in metadata.items() if v is not None}
    header = {"__metadata__": metadata}
    data = bytearray()
    for name, shape in unet_shapes(in_ch, base, list(mult), n_res):
        if name == drop:
            continue
        numel = math.prod(shape)
        if name == reshape:
            shape = [numel]
        values = [rng.uniform(-0.3, 0.3) for _ in range(numel)]
        if name.endswith("norm1.weight") or name.endswith("norm2.weight"):
            values = [1.0 + v for v in values]
        for p in poison or []:
            # (name, value): element 0; (name, value, True): every element
            if name == p[0]:
                for k in range(numel if len(p) > 2 else 1):
                    values[k] = p[1]
        begin = len(data)
        for v in values:
            data += enc(v)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [begin, len(data)]}
    return safetensors(header, bytes(data))


def raw(header_text, data=b"", length=None):
    text = header_text.encode()
    if length is None:
        length = len(text)
    return struct.pack("<Q", length) + text + data


def one_tensor(entry, data=b"\0" * 16):
    return raw(json.dumps({"w": entry}), data)


def model_corpus():
    four = struct.pack("<4f", 1.0, -2.0, 3.5, 0.25)
    c = {
        # Valid models: the fuzzer starts from files that load and run.
        "valid-1level-f32": model(),
        "valid-2level-f16": model(in_ch=1, base=2, mult=(1, 2), n_res=1,
                                  dtype="F16", seed=2),
        "valid-2level-bf16": model(in_ch=3, base=2, mult=(2, 1), n_res=1,
                                   dtype="BF16", seed=3),
        "valid-3level-f16": model(in_ch=3, base=2, mult=(1, 1, 2), n_res=0,
                                  dtype="F16", seed=4),
        # Raw-file defects.
        "bad-empty": b"",
        "bad-5-bytes": b"\x10\0\0\0\0",
        "bad-length-beyond": raw("{}", length=1000),
        "bad-length-huge": raw("{}", length=2**64 - 1),
        "bad-length-zero": raw("{}", length=0),
        "bad-json": raw('{"a": [1, 2}'),
        "bad-header-array": raw("[1, 2]"),
        "bad-dtype": one_tensor({"dtype": "F64", "shape": [2],
                                 "data_offsets": [0, 16]}, four),
        "bad-size": one_tensor({"dtype": "F32", "shape": [2, 2],
                                "data_offsets": [0, 12]}, four),
        "bad-range": one_tensor({"dtype": "F32", "shape": [4],
                                 "data_offsets": [0, 16]}, four[:8]),
        "bad-reversed": one_tensor({"dtype": "F32", "shape": [0],
                                    "data_offsets": [8, 4]}, four),
        "bad-overlap": raw(json.dumps({
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}),
            four),
        "bad-offset-overflow": one_tensor({
            "dtype": "F32", "shape": [1],
            "data_offsets": [2**64 - 4, 2**64 - 1]}, four),
        "bad-shape-overflow": one_tensor({
            "dtype": "F32", "shape": [2**32, 2**32, 2**32],
            "data_offsets": [0, 16]}, four),
        "bad-shape-negative": one_tensor({"dtype": "F32", "shape": [-4],
                                          "data_offsets": [0, 16]}, four),
        "bad-nine-dims": one_tensor({"dtype": "F32", "shape": [1] * 8 + [4],
                                     "data_offsets": [0, 16]}, four),
        "bad-unknown-key": one_tensor({"dtype": "F32", "shape": [4],
                                       "data_offsets": [0, 16], "x": 1},
                                      four),
        "bad-metadata-type": raw('{"__metadata__": {"arch": 3}}'),
        "bad-metadata-nul": model(meta={"arch": "gd-unet-v1\0v2"}),
        "bad-duplicate": raw(
            '{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},'
            ' "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}',
            four),
        "bad-nul-name": raw(
            '{"a\\u0000b": {"dtype": "F32", "shape": [4], '
            '"data_offsets": [0, 16]}}', four),
        # Model-level defects, on the smallest valid model.
        "bad-missing-tensor": model(drop="mid.res.1.conv2.bias"),
        "bad-wrong-shape": model(reshape="conv_in.weight"),
        "bad-nan-weight": model(poison=[("up.0.res.0.conv1.weight",
                                         float("nan"))]),
        "bad-inf-weight-bf16": model(dtype="BF16",
                                     poison=[("temb.lin1.bias", float("inf"))]),
        "huge-weights-overflow": model(poison=[
            ("norm_out.bias", 1e3, True), ("conv_out.weight", 3e38, True)]),
        "bad-unknown-arch": model(meta={"arch": "gd-unet-v2"}),
        "bad-no-config": model(meta={"config": None}),
        "bad-config-json": model(meta={"config": '{"base_channels": 8,'}),
        "bad-config-odd": model(config={"in_channels": 3, "base_channels": 3,
                                        "channel_mult": [1],
                                        "n_res_blocks": 0}),
        "bad-config-levels": model(config={
            "in_channels": 3, "base_channels": 2,
            "channel_mult": [1] * 9, "n_res_blocks": 0}),
        "bad-config-mismatch": model(config={
            "in_channels": 3, "base_channels": 2, "channel_mult": [1, 2],
            "n_res_blocks": 0}),
        "bad-schedule-cosine": model(meta={"schedule": json.dumps(
            {"type": "cosine", "T": 1000})}),
        "bad-schedule-T": model(meta={"schedule": json.dumps(
            {"type": "linear", "T": 5000, "beta_start": 0.0001,
             "beta_end": 0.02})}),
        "bad-schedule-beta": model(meta={"schedule": json.dumps(
            {"type": "linear", "T": 1000, "beta_start": 0.5,
             "beta_end": 0.02})}),
    }
    valid = c["valid-1level-f32"]
    c["bad-truncated"] = valid[:len(valid) // 2]
    c["bad-truncated-data"] = valid[:-100]
    return c


def json_corpus(models):
    c = {}
    for name in ("valid-1level-f32", "valid-2level-f16"):
        blob = models[name]
        n = struct.unpack("<Q", blob[:8])[0]
        header = blob[8:8 + n]
        c["header-" + name] = header
        meta = json.loads(header)["__metadata__"]
        c["config-" + name] = meta["config"].encode()
    c["schedule"] = json.dumps(SCHEDULE).encode()
    c["scalars"] = b' [1, -2.5e3, 0.02, 18446744073709551615, ' \
                   b'18446744073709551616, true, false, null, "x"] '
    c["escapes"] = '"\\u00e9\\ud83d\\ude00\\n\\"\\/\\b\\f\\r\\t caf\u00e9"' \
        .encode()
    c["nested"] = b"[" * 64 + b"]" * 64
    c["too-deep"] = b"[" * 65 + b"]" * 65
    c["bad-trailing-comma"] = b'{"a":1,}'
    c["bad-lone-surrogate"] = b'"\\ud800"'
    c["bad-overlong-utf8"] = b'"\xc0\xaf"'
    c["bad-duplicate-key"] = b'{"a":1,"a":2}'
    c["bad-number"] = b"1e400"
    return c


def arch_corpus():
    """Seeds of fuzz_arch.c: the bytes pick in_channels, base, levels,
    multipliers, blocks, dtype, weight scale, rng seed, width, height, t
    and tile (see its LLVMFuzzerTestOneInput), then the pixels."""
    pixels = bytes(range(0, 250, 7)) * 4
    return {
        # 3 channels, base 4, 3 levels [1, 2, 2], 1 block: the tiny model
        "tiny-like-21x13": bytes([2, 1, 2, 0, 1, 1, 0, 1, 0, 4, 7, 0, 20,
                                  12, 0, 128, 0]) + pixels,
        # 1 channel, base 2, 1 level, no blocks, 1x1, F16
        "one-level-1x1-f16": bytes([0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 3, 1, 0,
                                    0, 10, 0, 0]),
        # 4 channels, base 8, 4 levels [3, 1, 2, 1], 2 blocks, BF16, 47x5,
        # tiles of 32
        "four-levels-bf16-tiled": bytes([3, 3, 3, 2, 0, 1, 0, 2, 2, 20, 1,
                                         2, 46, 4, 255, 255, 32, 1]) + pixels,
        # weights scaled up: the network may overflow (GD_ERR_NUMERIC)
        "large-weights": bytes([2, 3, 1, 2, 2, 0, 0, 1, 0, 63, 5, 5, 16, 16,
                                0, 64, 0]) + pixels,
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    models = model_corpus()
    for sub, files in (("model", models), ("json", json_corpus(models)),
                       ("arch", arch_corpus())):
        folder = os.path.join(root, sub)
        os.makedirs(folder, exist_ok=True)
        for name, blob in sorted(files.items()):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(blob)
        total = sum(len(b) for b in files.values())
        print(f"{folder}: {len(files)} files, {total} bytes")


if __name__ == "__main__":
    main()
