"""The GIMP 3 dialogs, run inside GIMP under Xvfb by Python-Fu
(gimp3_gui_test.py).  Each procedure first runs non-interactively with
the small test model, then RUN-INTERACTIVE with the same values twice: the
dialog (GIMP_DIFFUSION_DIALOG_TEST) saves its screenshot and answers OK,
then Cancel, as GD_TEST_DIR/response says.  OK must give the
non-interactive run's pixels; Cancel must leave the image as it was.  Then
RUN-WITH-LAST-VALS (Filters > Repeat) with other values must repeat the
dialog's run: GIMP 3 keeps the values of a successful interactive run."""

import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

DIR = os.environ["GD_TEST_DIR"]
MODEL = os.environ["GD_TEST_MODEL"]
STEPS = int(os.environ.get("GD_TEST_STEPS", "2"))
PDB = Gimp.get_pdb()
OWN = {"img2img": {"strength": 0.5}, "inpaint": {"strength": 1.0},
       "upscale": {"scale": 2, "strength": 0.5},
       "denoise": {"sigma": 20.0, "ensemble": 1}}


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)


def pixels(d):
    buf = d.get_buffer()
    rect = Gegl.Rectangle.new(0, 0, d.get_width(), d.get_height())
    return bytes(buf.get(rect, 1.0, "R'G'B'A float", Gegl.AbyssPolicy.NONE))


def image(tool):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                         Gio.File.new_for_path(os.path.join(DIR, "rgb.png")))
    if tool == "inpaint":
        w, h = img.get_width(), img.get_height()
        img.select_rectangle(Gimp.ChannelOps.REPLACE, w * 3 // 8, h * 3 // 8,
                             w // 4, h // 4)
    return img, img.get_layers()[0]


def run(tool, img, d, mode, seed=3):
    proc = PDB.lookup_procedure("plug-in-diffusion-" + tool)
    config = proc.create_config()
    config.set_property("run-mode", mode)
    config.set_property("image", img)
    config.set_core_object_array("drawables", [d])
    for key, value in dict(OWN[tool], steps=STEPS, seed=seed,
                           model=MODEL).items():
        config.set_property(key, value)
    result = proc.run(config)
    return result.index(0), (result.index(1) if result.length() > 1 else "")


for tool in OWN:
    img, d = image(tool)
    status, message = run(tool, img, d, Gimp.RunMode.NONINTERACTIVE)
    want = pixels(d)
    check(status == Gimp.PDBStatusType.SUCCESS,
          f"{tool}: non-interactive run ({message})")
    img.delete()

    for answer in ("ok", "cancel"):
        with open(os.path.join(DIR, "response"), "w") as f:
            f.write(answer)
        img, d = image(tool)
        before = pixels(d)
        status, message = run(tool, img, d, Gimp.RunMode.INTERACTIVE)
        shot = os.path.join(DIR, f"plug-in-diffusion-{tool}.png")
        if answer == "ok":
            check(status == Gimp.PDBStatusType.SUCCESS and pixels(d) == want,
                  f"{tool}: the dialog opens and OK applies its values "
                  f"(the non-interactive run's pixels) ({message})")
            check(os.path.exists(shot), f"{tool}: the dialog's screenshot")
            listing = os.path.join(DIR, f"plug-in-diffusion-{tool}.controls")
            labels = {}
            if os.path.exists(listing):
                with open(listing) as f:
                    labels = dict(line.rstrip("\n").split("\t", 1)
                                  for line in f if "\t" in line)
            check(labels.get("precision") in ("exact", "fast"),
                  f"{tool}: the dialog has a precision "
                  f"({labels.get('precision')})")
            if tool == "inpaint":
                # strength 1 starts from noise: the fill is greyed
                check(labels.get("fill-sensitive") == "0"
                      and labels.get("fill") in ("auto", "patch", "smooth"),
                      f"{tool}: fill {labels.get('fill')} greyed at "
                      f"strength 1 ({labels.get('fill-sensitive')})")
            if os.path.exists(shot):
                os.rename(shot, os.path.join(DIR, f"gimp3-{tool}.png"))
        else:
            check(status == Gimp.PDBStatusType.CANCEL
                  and pixels(d) == before,
                  f"{tool}: Cancel leaves the image as it was ({status})")
        img.delete()

    img, d = image(tool)
    status, message = run(tool, img, d, Gimp.RunMode.WITH_LAST_VALS, seed=77)
    check(status == Gimp.PDBStatusType.SUCCESS and pixels(d) == want,
          f"{tool}: RUN-WITH-LAST-VALS repeats the dialog's run, not the "
          f"call's values ({message})")
    img.delete()

def check_cancel():
    """A long run shown in an image window, cancelled with the Cancel
    button of its status bar (the runner clicks it once it has started):
    GIMP 3 ends the plug-in, the call returns CANCEL, the image is as it
    was."""
    img = Gimp.Image.new(700, 600, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "white", 700, 600, Gimp.ImageType.RGB_IMAGE,
                           100, Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    layer.fill(Gimp.FillType.WHITE)
    Gimp.Display.new(img)
    Gimp.displays_flush()
    proc = PDB.lookup_procedure("plug-in-diffusion-img2img")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    config.set_core_object_array("drawables", [layer])
    config.set_property("strength", 0.5)
    config.set_property("steps", 200)
    config.set_property("model", MODEL)
    with open(os.path.join(DIR, "cancel-started"), "w") as f:
        f.write("1")
    result = proc.run(config)
    status = result.index(0)
    rect = Gegl.Rectangle.new(0, 0, 700, 600)
    data = bytes(layer.get_buffer().get(rect, 1.0, "R'G'B' u8",
                                        Gegl.AbyssPolicy.NONE))
    check(status == Gimp.PDBStatusType.CANCEL
          and all(b == 255 for b in data),
          f"cancel: the call returns {status}, the image is as it was")


if os.environ.get("GD_TEST_CANCEL"):
    check_cancel()
print("checks done", flush=True)
