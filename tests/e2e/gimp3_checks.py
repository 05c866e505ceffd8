"""The GIMP 3 plug-in's checks, run inside gimp-console-3.0 by Python-Fu
(gimp3_test.py: --batch-interpreter=python-fu-eval, exec of this file).

Reads GD_TEST_DIR (input PNGs, where results go) and GD_TEST_MODEL (the
small test model); prints one line per check, "ok     ..." or
"FAILED ...", and exports the images the runner compares with the CLI's.
"""

import os
import struct

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

DIR = os.environ["GD_TEST_DIR"]
MODEL = os.environ["GD_TEST_MODEL"]
STEPS = 2
PDB = Gimp.get_pdb()
TOOLS = ["img2img", "inpaint", "upscale", "denoise"]


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                          Gio.File.new_for_path(os.path.join(DIR, name)))


def save(img, name):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img,
                   Gio.File.new_for_path(os.path.join(DIR, name)), None)


def pixels(drawable, fmt=None):
    """The drawable's pixels as float bytes (its own channels)."""
    if fmt is None:
        fmt = {(False, False): "R'G'B' float", (False, True): "R'G'B'A float",
               (True, False): "Y' float", (True, True): "Y'A float"}[
            (drawable.is_gray(), drawable.has_alpha())]
    buf = drawable.get_buffer()
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(),
                              drawable.get_height())
    data = buf.get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE)
    return bytes(data)


def floats(data):
    return struct.unpack(f"{len(data) // 4}f", data)


def call(tool, img, drawables, **values):
    """Runs plug-in-diffusion-TOOL non-interactively; (status, message)."""
    proc = PDB.lookup_procedure("plug-in-diffusion-" + tool)
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    config.set_core_object_array("drawables", drawables)
    args = {"steps": STEPS, "seed": 1, "model": MODEL}
    if tool in ("img2img", "upscale"):
        args["strength"] = 0.5
    if tool == "inpaint":
        args["strength"] = 1.0
    if tool == "upscale":
        args["scale"] = 2
    args.update(values)
    mode = args.pop("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("run-mode", mode)
    for key, value in args.items():
        config.set_property(key, value)
    result = proc.run(config)
    status = result.index(0)
    message = result.index(1) if result.length() > 1 else ""
    return status, message


def select_box(img, x, y, w, h, feather=0.0):
    Gimp.context_set_feather(feather > 0)
    Gimp.context_set_feather_radius(feather, feather)
    img.select_ellipse(Gimp.ChannelOps.REPLACE, x, y, w, h)
    Gimp.context_set_feather(False)


KINDS = {
    # name: (file, precision or None)
    "rgb8": ("rgb.png", None),
    "rgba8": ("rgba.png", None),
    "gray8": ("gray.png", None),
    "rgbfloat": ("rgb.png", Gimp.Precision.FLOAT_NON_LINEAR),
    "rgbafloat": ("rgba.png", Gimp.Precision.FLOAT_NON_LINEAR),
    "grayfloat": ("gray.png", Gimp.Precision.FLOAT_NON_LINEAR),
}


def kinds():
    for kind, (name, precision) in KINDS.items():
        img = load(name)
        if precision is not None:
            img.convert_precision(precision)
        yield kind, img


def check_tools():
    """Each tool on RGB, RGBA and GRAY, 8-bit and 32-bit float."""
    for tool in TOOLS:
        for kind, img in kinds():
            d = img.get_layers()[0]
            w, h = d.get_width(), d.get_height()
            base, precision = img.get_base_type(), img.get_precision()
            if tool == "inpaint":
                select_box(img, 8, 6, 16, 12)
            alpha_before = pixels(d, "A float") if d.has_alpha() else None
            before = pixels(d)
            status, message = call(tool, img, [d])
            name = f"{tool}-{kind}"
            check(status == Gimp.PDBStatusType.SUCCESS,
                  f"{name}: runs ({message})")
            if status != Gimp.PDBStatusType.SUCCESS:
                continue
            scale = 2 if tool == "upscale" else 1
            check(d.get_width() == w * scale and d.get_height() == h * scale,
                  f"{name}: size {d.get_width()} x {d.get_height()}")
            check(img.get_base_type() == base
                  and img.get_precision() == precision,
                  f"{name}: mode and precision kept")
            if tool != "upscale":
                check(pixels(d) != before, f"{name}: the pixels changed")
                if alpha_before is not None:
                    check(pixels(d, "A float") == alpha_before,
                          f"{name}: alpha unchanged")
            if kind == "rgba8":
                save(img, f"{tool}-rgba8.png")
            img.delete()


def check_feather():
    """A feathered selection: outside it nothing changes, bit for bit."""
    img = load("rgb.png")
    d = img.get_layers()[0]
    select_box(img, 12, 8, 24, 20, feather=6.0)
    sel = floats(pixels(img.get_selection(), "Y float"))
    before = floats(pixels(d, "R'G'B' float"))
    status, message = call("img2img", img, [d])
    after = floats(pixels(d, "R'G'B' float"))
    outside = [i for i, v in enumerate(sel) if v == 0.0]
    inside = [i for i, v in enumerate(sel) if v == 1.0]
    same_out = all(before[3 * i + c] == after[3 * i + c]
                   for i in outside for c in range(3))
    changed_in = sum(before[3 * i + c] != after[3 * i + c]
                     for i in inside for c in range(3))
    check(status == Gimp.PDBStatusType.SUCCESS and same_out and changed_in,
          f"feather: {len(outside)} pixels outside unchanged bit for bit, "
          f"{changed_in} values inside changed ({message})")
    img.delete()


def check_offsets():
    """A layer with offsets under a feathered selection: the mask follows
    the layer (outside the selection unchanged, bit for bit)."""
    img = load("rgb.png")
    base = img.get_layers()[0]
    layer = base.copy()
    img.insert_layer(layer, None, 0)
    layer.set_offsets(7, 5)
    select_box(img, 10, 8, 18, 14, feather=4.0)
    w, h = layer.get_width(), layer.get_height()
    buf = img.get_selection().get_buffer()
    sel = floats(bytes(buf.get(Gegl.Rectangle.new(7, 5, w, h), 1.0,
                               "Y float", Gegl.AbyssPolicy.NONE)))
    before = floats(pixels(layer, "R'G'B' float"))
    status, message = call("img2img", img, [layer])
    after = floats(pixels(layer, "R'G'B' float"))
    outside = [i for i, v in enumerate(sel) if v == 0.0]
    same = all(before[3 * i + c] == after[3 * i + c]
               for i in outside for c in range(3))
    check(status == Gimp.PDBStatusType.SUCCESS and same and before != after,
          f"offsets: a layer at 7, 5: outside the selection unchanged "
          f"({message})")
    img.delete()


def check_floating():
    """A floating selection: upscale and inpaint refuse it with a message
    (anchor it first), the others work on it as on a layer."""
    img = load("rgb.png")
    d = img.get_layers()[0]
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 4, 4, 12, 10)
    Gimp.edit_copy([d])
    floating = Gimp.edit_paste(d, False)[0]
    for tool, expect in (("upscale", "anchor"), ("inpaint", "floating")):
        status, message = call(tool, img, [d])
        check(status != Gimp.PDBStatusType.SUCCESS and expect in message,
              f"floating selection: {tool} refused ({message!r})")
    before = pixels(floating)
    status, message = call("denoise", img, [floating], sigma=20.0)
    check(status == Gimp.PDBStatusType.SUCCESS
          and img.get_floating_sel() is not None
          and pixels(floating) != before,
          f"floating selection: denoised, still floating ({message})")
    img.delete()


def check_seed():
    """The same seed gives the same pixels; another seed others."""
    results = []
    for seed in (5, 5, 6):
        img = load("rgb.png")
        d = img.get_layers()[0]
        call("img2img", img, [d], seed=seed)
        results.append(pixels(d))
        img.delete()
    check(results[0] == results[1], "seed: the same seed, the same pixels")
    check(results[0] != results[2], "seed: another seed, other pixels")


def check_refused():
    """Bad values, an indexed image, a layer group, inpaint without a
    selection: refused with a message, the image unchanged."""
    cases = [
        ("upscale", {"scale": 3}, "scale 3"),
        ("denoise", {"ensemble": 3}, "self-ensemble 3"),
        ("img2img", {"sampler": "bogus"}, "unknown sampler"),
        ("img2img", {"model": "/nonexistent.safetensors"},
         "/nonexistent.safetensors"),
        ("inpaint", {}, "needs a selection"),
    ]
    for tool, values, expect in cases:
        img = load("rgba.png")
        d = img.get_layers()[0]
        before = pixels(d)
        status, message = call(tool, img, [d], **values)
        check(status != Gimp.PDBStatusType.SUCCESS and expect in message
              and pixels(d) == before and d.get_width() == 32,
              f"refused: {tool} {values}: {message!r}, image unchanged")
        img.delete()

    for tool in TOOLS:
        img = load("rgb.png")
        img.convert_indexed(Gimp.ConvertDitherType.NONE,
                            Gimp.ConvertPaletteType.GENERATE, 16, False,
                            False, "")
        d = img.get_layers()[0]
        before = pixels(d, "R'G'B' u8")
        if tool == "inpaint":
            select_box(img, 8, 6, 16, 12)
        status, message = call(tool, img, [d])
        check(status != Gimp.PDBStatusType.SUCCESS
              and "Indexed images are not supported" in message
              and pixels(d, "R'G'B' u8") == before,
              f"indexed: {tool} refused ({message!r}), image unchanged")
        img.delete()

    img = load("rgb.png")
    group = Gimp.GroupLayer.new(img, "group")
    img.insert_layer(group, None, 0)
    status, message = call("denoise", img, [group])
    check(status != Gimp.PDBStatusType.SUCCESS and "layer groups" in message,
          f"a layer group refused ({message!r})")
    img.delete()


def check_several_layers():
    """Several selected layers: each is processed, as one undo step;
    upscale refuses them."""
    img = load("rgb.png")
    base = img.get_layers()[0]
    top = base.copy()
    img.insert_layer(top, None, 0)
    before = [pixels(base), pixels(top)]
    status, message = call("denoise", img, [base, top], sigma=20.0)
    check(status == Gimp.PDBStatusType.SUCCESS
          and pixels(base) != before[0] and pixels(top) != before[1]
          and pixels(base) == pixels(top),
          f"several layers: each denoised, alike ({message})")
    status, message = call("upscale", img, [base, top])
    check(status != Gimp.PDBStatusType.SUCCESS and "one layer" in message,
          f"several layers: upscale refused ({message!r})")
    img.delete()


def check_shipped_model():
    """model "": the model installed with the plug-in, no configuration."""
    img = load("rgb.png")
    d = img.get_layers()[0]
    status, message = call("denoise", img, [d], model="", sigma=10.0, steps=1)
    check(status == Gimp.PDBStatusType.SUCCESS,
          f"the shipped model is found without configuration ({message})")
    img.delete()


def check_fill_precision():
    """inpaint's fill and every tool's precision, by name: the results go
    to the runner, which compares them with the CLI's --fill and
    --precision (a rectangle, so that its mask is exact; small enough
    that whole 9 x 9 patches lie around it in the 32 x 24 image)."""
    results = {}
    for name, tool, values in (
            ("inpaint-smooth", "inpaint", {"strength": 0.5, "fill": "smooth"}),
            ("inpaint-patch", "inpaint", {"strength": 0.5, "fill": "patch"}),
            ("img2img-fast", "img2img", {"precision": "fast"})):
        img = load("rgba.png")
        d = img.get_layers()[0]
        if tool == "inpaint":
            img.select_rectangle(Gimp.ChannelOps.REPLACE, 12, 8, 8, 8)
        status, message = call(tool, img, [d], **values)
        check(status == Gimp.PDBStatusType.SUCCESS, f"{name}: runs ({message})")
        results[name] = pixels(d)
        save(img, f"{name}-rgba8.png")
        img.delete()
    check(results["inpaint-smooth"] != results["inpaint-patch"],
          "fill: smooth and patch give other pixels")
    proc = PDB.lookup_procedure("plug-in-diffusion-inpaint")
    config = proc.create_config()
    check(config.get_property("fill") in ("auto", "patch", "smooth")
          and config.get_property("precision") in ("exact", "fast"),
          f"fill and precision default to {config.get_property('fill')!r}, "
          f"{config.get_property('precision')!r}")


def check_procedures():
    """The four procedures, their arguments by name, the menu."""
    for tool in TOOLS:
        proc = PDB.lookup_procedure("plug-in-diffusion-" + tool)
        if proc is None:
            check(False, f"plug-in-diffusion-{tool} registered")
            continue
        names = [a.name for a in proc.get_arguments()]
        own = {"img2img": ["strength"], "inpaint": ["strength"],
               "upscale": ["scale", "strength"],
               "denoise": ["sigma", "ensemble"]}[tool]
        # fill and precision after the first release's arguments, so that
        # a call by position keeps working
        check(names == ["run-mode", "image", "drawables"] + own
              + ["steps", "sampler", "seed", "model"]
              + (["fill"] if tool == "inpaint" else []) + ["precision"],
              f"plug-in-diffusion-{tool}: arguments {names}")
        check("<Image>/Filters/Enhance/Diffusion" in proc.get_menu_paths(),
              f"plug-in-diffusion-{tool}: menu {proc.get_menu_paths()}")


check_procedures()
check_tools()
check_fill_precision()
check_feather()
check_offsets()
check_floating()
check_seed()
check_refused()
check_several_layers()
check_shipped_model()
print("checks done", flush=True)
