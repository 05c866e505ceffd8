"""PNG files for the end-to-end tests: a small reader and writer (zlib and
numpy only) for every bit depth and colour type the tools handle, so 16-bit
files are compared exactly, and the test images the tests run on."""

import struct
import zlib

import numpy as np

# colour type -> channels
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
_COLOR_TYPE = {1: 0, 3: 2, 2: 4, 4: 6}


def read(path):
    """Returns (pixels, bit_depth): pixels is H x W x C, uint8 or uint16."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = ihdr
    if ctype not in _CHANNELS or depth not in (8, 16) or interlace != 0:
        raise ValueError(f"{path}: colour type {ctype}, depth {depth}, "
                         f"interlace {interlace} not handled by the test reader")
    channels = _CHANNELS[ctype]
    bpp = channels * depth // 8
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        else:
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if ftype == 1:
                    pred = a
                elif ftype == 3:
                    pred = (a + b) // 2
                elif ftype == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else:
                    raise ValueError(f"{path}: bad filter {ftype}")
                cur[x] = (line[x] + pred) & 0xFF
        out[y] = cur
        prev = cur
    out = out.astype(np.uint8)
    if depth == 16:
        pix = out.reshape(height, width * channels, 2)
        pix = (pix[..., 0].astype(np.uint16) << 8) | pix[..., 1]
    else:
        pix = out
    return pix.reshape(height, width, channels), depth


def write(path, pixels, depth):
    """Writes H x W x C (C in 1..4) integer pixels at depth 8 or 16."""
    height, width, channels = pixels.shape
    if depth == 16:
        body = pixels.astype(">u2").tobytes()
    else:
        body = pixels.astype(np.uint8).tobytes()
    stride = width * channels * depth // 8
    rows = b"".join(b"\x00" + body[y * stride : (y + 1) * stride]
                    for y in range(height))

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + \
            struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth,
                       _COLOR_TYPE[channels], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def test_image(width=64, height=48, channels=4, depth=8, seed=7):
    """A small picture with edges, gradients and texture; alpha (when
    channels is 2 or 4) varies across the image and holds 0 and max."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 0.5 + 0.4 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
    g = np.clip((xx + yy) / (width + height), 0, 1)
    b = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (height / 3) ** 2)
    rgb = np.stack([r, g, 0.2 + 0.6 * b], axis=-1)
    rgb = np.clip(rgb + 0.05 * rng.standard_normal(rgb.shape), 0, 1)
    gray = rgb.mean(axis=-1, keepdims=True)
    color = gray if channels in (1, 2) else rgb
    maxv = 65535 if depth == 16 else 255
    pix = [np.rint(color * maxv)]
    if channels in (2, 4):
        alpha = np.clip(xx / (width - 1) * 1.2 - 0.1, 0, 1)[..., None]
        pix.append(np.rint(alpha * maxv))
    dtype = np.uint16 if depth == 16 else np.uint8
    return np.concatenate(pix, axis=-1).astype(dtype)
