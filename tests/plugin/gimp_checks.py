# Runs inside GIMP 3 (gimp-console, Python-Fu batch interpreter), started by
# tests/plugin/test_plugin.py: calls plug-in-cam-heatmap on images of every kind
# and records what happened in $CAM_TEST_WORK/results.json (values, layer
# properties, image state) and $CAM_TEST_WORK/<case>.raw (pixels, R'G'B'A u8 or u16).
# The assertions are made by test_plugin.py outside GIMP.
import hashlib
import json
import os
import time
import traceback

import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

WORK = os.environ["CAM_TEST_WORK"]
SAMPLE = os.environ["CAM_TEST_SAMPLE"]
PARAMS = json.load(open(os.path.join(WORK, "params.json")))
PDB = Gimp.get_pdb()
PROC = PDB.lookup_procedure("plug-in-cam-heatmap")
results = {"procedure_found": PROC is not None, "cases": {}}


def load(path=SAMPLE):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def pixels(drawable, fmt="R'G'B'A u8"):
    w, h = drawable.get_width(), drawable.get_height()
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt,
                                           Gegl.AbyssPolicy.NONE))


def dump(name, drawable, fmt="R'G'B'A u8"):
    with open(os.path.join(WORK, name + ".raw"), "wb") as f:
        f.write(pixels(drawable, fmt))


def items(img):
    """Every layer, recursively, with its parent, in stacking order."""
    out = []

    def walk(layers, parent):
        for layer in layers:
            out.append((layer, parent))
            if layer.is_group_layer():
                walk(layer.get_children(), layer)
    walk(img.get_layers(), None)
    return out


def state(img):
    """Everything a failed call must leave as it was."""
    layers = []
    for layer, parent in items(img):
        ok, x, y = layer.get_offsets()
        layers.append([layer.get_name(), layer.get_width(), layer.get_height(), x, y,
                       round(layer.get_opacity(), 4), parent.get_name() if parent else None,
                       hashlib.sha1(pixels(layer)).hexdigest()])
    sel = img.get_selection()
    return {"layers": layers, "base_type": int(img.get_base_type()),
            "precision": int(img.get_precision()),
            "selection": hashlib.sha1(pixels(sel, "Y u8")).hexdigest(),
            "dirty": bool(img.is_dirty())}


def run(img, drawables, run_mode=Gimp.RunMode.NONINTERACTIVE, **args):
    cfg = PROC.create_config()
    cfg.set_property("run-mode", run_mode)
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", drawables)
    for key, value in args.items():
        key = key.rstrip("_").replace("_", "-")
        if key == "model-file":
            value = Gio.File.new_for_path(value)
        cfg.set_property(key, value)
    res = PROC.run(cfg)
    status = int(res.index(0))
    out = {"status": status}
    if status == int(Gimp.PDBStatusType.SUCCESS) and res.index(4) is None:
        # outputs without a layer (selection, bounding box)
        out.update(class_index=res.index(1), label=res.index(2), probability=res.index(3),
                   base_type=int(img.get_base_type()), n_layers=len(items(img)))
    elif status == int(Gimp.PDBStatusType.SUCCESS):
        layer = res.index(4)
        ok, x, y = layer.get_offsets()
        parent = layer.get_parent()
        out.update(class_index=res.index(1), label=res.index(2), probability=res.index(3),
                   name=layer.get_name(), width=layer.get_width(), height=layer.get_height(),
                   x=x, y=y, opacity=layer.get_opacity(), mode=int(layer.get_mode()),
                   composite_space=int(layer.get_composite_space()),
                   blend_space=int(layer.get_blend_space()),
                   position=img.get_item_position(layer),
                   parent=parent.get_name() if parent else None,
                   base_type=int(img.get_base_type()), n_layers=len(items(img)))
        out["layer"] = layer
    else:
        out["error"] = PDB.get_last_error()
    return out


def record(case, out, dump_format=None):
    layer = out.pop("layer", None)
    if layer is not None and dump_format:
        dump(case, layer, dump_format)
    results["cases"][case] = out


# Two parts, each run in its own GIMP session: "main" (test_plugin.py) and "methods"
# (test_methods.py: every method of the engine, issue 13).
PART = PARAMS.get("part", "main")


def run_case(fn):
    try:
        fn()
    except Exception:
        results["cases"][fn.__name__] = {"exception": traceback.format_exc()}


def case(fn):
    if PART == "main":
        run_case(fn)


def methods_case(fn):
    if PART == "methods":
        run_case(fn)


PERCEPTUAL = int(Gimp.LayerColorSpace.RGB_PERCEPTUAL)
results["perceptual"] = PERCEPTUAL
results["success"] = int(Gimp.PDBStatusType.SUCCESS)
results["calling_error"] = int(Gimp.PDBStatusType.CALLING_ERROR)
results["execution_error"] = int(Gimp.PDBStatusType.EXECUTION_ERROR)
results["rgb"] = int(Gimp.ImageBaseType.RGB)


@case
def rgb_heatmap():
    img = load()
    src = img.get_layers()[0]
    before = len(items(img))
    out = run(img, [src], model="cifar10")
    out["n_layers_before"] = before
    record("rgb_heatmap", out, "R'G'B'A u8")
    flat = img.duplicate()
    dump("rgb_heatmap_flat", flat.flatten())
    flat.delete()
    img.delete()


@case
def rgb_blend():
    img = load()
    record("rgb_blend", run(img, [img.get_layers()[0]], model="cifar10", output="blend"),
           "R'G'B'A u8")
    img.delete()


@case
def fashion_options():
    img = load()
    record("fashion_options", run(img, [img.get_layers()[0]], model="fashion-mnist",
                                  method="grad-cam", class_=3, alpha=0.3, colormap="viridis"),
           "R'G'B'A u8")
    img.delete()


@case
def user_model_file():
    img = load()
    record("user_model_file", run(img, [img.get_layers()[0]], model="file",
                                  model_file=PARAMS["cifar10_path"], output="blend"),
           "R'G'B'A u8")
    img.delete()


@case
def user_catalog_model():
    img = load()
    record("user_catalog_model", run(img, [img.get_layers()[0]], model="my-own-net",
                                     output="blend"), "R'G'B'A u8")
    img.delete()


@case
def last_values():
    img = load()
    src = img.get_layers()[0]
    run(img, [src], model="cifar10", class_=2, alpha=0.25, colormap="gray")
    # GIMP saves last values after successful interactive runs only; after a
    # non-interactive one, RUN_WITH_LAST_VALS still has the defaults.
    record("last_values", run(img, [src], run_mode=Gimp.RunMode.WITH_LAST_VALS))
    img.delete()


@case
def selection():
    img = load()
    img.select_ellipse(Gimp.ChannelOps.REPLACE, 20, 10, 50, 40)
    record("selection", run(img, [img.get_layers()[0]], model="cifar10"), "R'G'B'A u8")
    img.delete()


@case
def offset_layer_with_alpha():
    img = load()
    src = img.get_layers()[0]
    layer = Gimp.Layer.new_from_drawable(src, img)
    img.insert_layer(layer, None, 0)
    layer.add_alpha()
    layer.scale(60, 40, False)
    layer.set_offsets(17, 9)
    record("offset_layer_with_alpha", run(img, [layer], model="cifar10", output="blend"),
           "R'G'B'A u8")
    dump("offset_layer_with_alpha_source", layer)
    img.delete()


@case
def layer_in_group():
    img = load()
    group = Gimp.GroupLayer.new(img, "group")
    img.insert_layer(group, None, 0)
    a = Gimp.Layer.new_from_drawable(img.get_layers()[1], img)
    a.set_name("inner")
    img.insert_layer(a, group, 0)
    b = Gimp.Layer.new_from_drawable(img.get_layers()[1], img)
    b.set_name("inner-bottom")
    img.insert_layer(b, group, 1)
    record("layer_in_group", run(img, [b], model="cifar10"))
    img.delete()


@case
def grayscale():
    img = load()
    img.convert_grayscale()
    dump("grayscale_source", img.get_layers()[0])
    record("grayscale", run(img, [img.get_layers()[0]], model="fashion-mnist", output="blend"),
           "R'G'B'A u8")
    img.delete()


@case
def indexed():
    img = load()
    img.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 64,
                        False, False, "")
    dump("indexed_source", img.get_layers()[0])
    record("indexed", run(img, [img.get_layers()[0]], model="cifar10", output="blend"),
           "R'G'B'A u8")
    img.delete()


@case
def precision16():
    img = load()
    img.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    record("precision16", run(img, [img.get_layers()[0]], model="cifar10", output="blend"),
           "R'G'B'A u16")
    img.delete()


@case
def sample_merged():
    img = load()
    top = Gimp.Layer.new(img, "top", 30, 20, Gimp.ImageType.RGBA_IMAGE, 100,
                         Gimp.LayerMode.NORMAL)
    img.insert_layer(top, None, 0)
    top.fill(Gimp.FillType.WHITE)
    top.set_offsets(5, 5)
    bottom = img.get_layers()[1]
    visible = img.duplicate()
    dump("sample_merged_visible", visible.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE))
    visible.delete()
    out = run(img, [bottom], model="cifar10", sample_merged=True, output="blend")
    record("sample_merged", out, "R'G'B'A u8")
    img.delete()


# GIMP-native outputs (issue 15): selection, mask, bounding box, compare. Each records
# the source layer's state before and after (it must never change) and what was made.
def source_state(layer):
    ok, x, y = layer.get_offsets()
    return [layer.get_name(), layer.get_width(), layer.get_height(), x, y,
            hashlib.sha1(pixels(layer)).hexdigest(), layer.get_mask() is not None]


def selection_bounds(img):
    r = Gimp.Selection.bounds(img)
    # (success, non_empty, x1, y1, x2, y2)
    return list(r[1:]) if len(r) == 6 else list(r)


@case
def out_selection():
    img = load()
    src = img.get_layers()[0]
    before = source_state(src)
    n_before = len(items(img))
    out = run(img, [src], model="cifar10", output="selection", threshold=0.2)
    out["source_unchanged"] = source_state(src) == before
    out["n_layers_same"] = len(items(img)) == n_before
    out["n_channels"] = len(img.get_channels())
    out["bounds"] = selection_bounds(img)
    dump("out_selection", img.get_selection(), "Y u8")
    record("out_selection", out)
    img.delete()


@case
def out_selection_in_ellipse():
    img = load()
    img.select_ellipse(Gimp.ChannelOps.REPLACE, 20, 10, 50, 40)
    dump("out_selection_ellipse", img.get_selection(), "Y u8")
    out = run(img, [img.get_layers()[0]], model="cifar10", output="selection", threshold=0.3)
    dump("out_selection_in_ellipse", img.get_selection(), "Y u8")
    record("out_selection_in_ellipse", out)
    img.delete()


@case
def out_mask():
    img = load()
    src = img.get_layers()[0]
    before = source_state(src)
    out = run(img, [src], model="cifar10", output="mask")
    out["source_unchanged"] = source_state(src) == before
    layer = out.get("layer")
    if layer is not None:
        mask = layer.get_mask()
        out["has_mask"] = mask is not None
        out["same_pixels_as_source"] = (
            hashlib.sha1(pixels(layer)).hexdigest() == hashlib.sha1(pixels(src)).hexdigest())
        if mask is not None:
            dump("out_mask_mask", mask, "Y u8")
    record("out_mask", out)
    img.delete()


@case
def out_mask_in_ellipse():
    img = load()
    img.select_ellipse(Gimp.ChannelOps.REPLACE, 20, 10, 50, 40)
    dump("out_mask_in_ellipse_selection", img.get_selection(), "Y u8")
    out = run(img, [img.get_layers()[0]], model="cifar10", output="mask")
    layer = out.get("layer")
    if layer is not None and layer.get_mask() is not None:
        dump("out_mask_in_ellipse", layer.get_mask(), "Y u8")
    record("out_mask_in_ellipse", out)
    img.delete()


@case
def out_mask_gray():
    img = load()
    img.convert_grayscale()
    out = run(img, [img.get_layers()[0]], model="fashion-mnist", output="mask")
    layer = out.get("layer")
    out["has_mask"] = layer is not None and layer.get_mask() is not None
    record("out_mask_gray", out)
    img.delete()


@case
def out_bounding_box():
    img = load()
    src = img.get_layers()[0]
    before = source_state(src)
    n_before = len(items(img))
    res_path = None
    cfg = PROC.create_config()
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [src])
    cfg.set_property("model", "cifar10")
    cfg.set_property("output", "bounding-box")
    cfg.set_property("threshold", 0.2)
    res = PROC.run(cfg)
    out = {"status": int(res.index(0))}
    if out["status"] == int(Gimp.PDBStatusType.SUCCESS):
        out["class_index"] = res.index(1)
        out["layer_is_none"] = res.index(4) is None
        res_path = res.index(5)
        out["path_name"] = res_path.get_name()
        strokes = res_path.get_strokes()
        out["n_strokes"] = len(strokes)
        t, points, closed = res_path.stroke_get_points(strokes[0])
        out["points"] = list(points)
        out["closed"] = bool(closed)
        out["n_paths"] = len(img.get_paths())
    else:
        out["error"] = PDB.get_last_error()
    out["source_unchanged"] = source_state(src) == before
    out["n_layers_same"] = len(items(img)) == n_before
    record("out_bounding_box", out)
    img.delete()


@case
def out_compare():
    img = load()
    src = img.get_layers()[0]
    before = source_state(src)
    out = run(img, [src], model="cifar10", output="compare", top_k=3)
    out["source_unchanged"] = source_state(src) == before
    group = out.get("layer")
    if group is not None:
        out["is_group"] = group.is_group_layer()
        children = group.get_children()
        out["children"] = [c.get_name() for c in children]
        out["child_opacity"] = [c.get_opacity() for c in children]
        for i, c in enumerate(children):
            dump("out_compare_%d" % i, c, "R'G'B'A u8")
    record("out_compare", out)
    img.delete()


@case
def out_compare_default_top_k():
    img = load()
    out = run(img, [img.get_layers()[0]], model="fashion-mnist", output="compare")
    group = out.get("layer")
    out["n_children"] = len(group.get_children()) if group is not None else -1
    record("out_compare_default_top_k", out)
    img.delete()


# Every method of the engine (issue 13): the names come from cam-heatmap --help
# (test_methods.py), the plug-in's list (its dialog's entries and tooltips) from
# plug-in-cam-methods.
@methods_case
def every_method():
    methods = PDB.lookup_procedure("plug-in-cam-methods")
    r = methods.run(methods.create_config())
    out = {"methods_status": int(r.index(0)),
           "choice": [list(t) for t in zip(r.index(1), r.index(2), r.index(3))], "runs": {}}
    start = time.monotonic()
    img = load()
    src = img.get_layers()[0]
    for name in PARAMS["methods"]:
        r = run(img, [src], model="fashion-mnist", method=name)
        layer = r.pop("layer", None)
        if layer is not None and name in PARAMS["dump_methods"]:
            dump("method_" + name, layer)
        out["runs"][name] = r
    out["seconds"] = time.monotonic() - start
    record("every_method", out)
    img.delete()


@methods_case
def method_smoothing():
    img = load()
    record("method_smoothing", run(img, [img.get_layers()[0]], model="cifar10",
                                   method="layer-cam", eigen_smooth=True, aug_smooth=True),
           "R'G'B'A u8")
    img.delete()


# Errors: each must leave the image exactly as it was.
def error_case(name, make, **args):
    def fn():
        img, drawables = make()
        img.clean_all()
        before = state(img)
        out = run(img, drawables, **args)
        out["unchanged"] = state(img) == before
        out["before"], out["after"] = before, state(img)
        record(name, out)
        img.delete()
    fn.__name__ = name
    case(fn)


def plain():
    img = load()
    return img, [img.get_layers()[0]]


def gray_image():
    img = load()
    img.convert_grayscale()
    return img, [img.get_layers()[0]]


def group_image():
    img = load()
    group = Gimp.GroupLayer.new(img, "group")
    img.insert_layer(group, None, 0)
    inner = Gimp.Layer.new_from_drawable(img.get_layers()[1], img)
    img.insert_layer(inner, group, 0)
    return img, [group]


def mask_image():
    img = load()
    layer = img.get_layers()[0]
    layer.add_alpha()
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    layer.add_mask(mask)
    return img, [mask]


def channel_image():
    img = load()
    channel = Gimp.Channel.new(img, "a channel", img.get_width(), img.get_height(), 50.0,
                               Gegl.Color.new("red"))
    img.insert_channel(channel, None, 0)
    return img, [channel]


def outside_selection():
    img = load()
    layer = Gimp.Layer.new(img, "small", 10, 10, Gimp.ImageType.RGBA_IMAGE, 100,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    layer.set_offsets(0, 0)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 50, 40, 20, 20)
    return img, [layer]


def two_layers():
    img = load()
    copy = Gimp.Layer.new_from_drawable(img.get_layers()[0], img)
    img.insert_layer(copy, None, 0)
    return img, img.get_layers()


error_case("error_class", plain, model="cifar10", class_=99)
error_case("error_layer", plain, model="cifar10", target_layer="no-such-tensor")
error_case("error_no_file", plain, model="file")
error_case("error_bad_file", plain, model="file", model_file=SAMPLE)
error_case("error_gray_bad_class", gray_image, model="fashion-mnist", class_=42)
error_case("error_group", group_image, model="cifar10")
error_case("error_mask", mask_image, model="cifar10")
error_case("error_channel", channel_image, model="cifar10")
error_case("error_outside_selection", outside_selection, model="cifar10")
error_case("error_two_layers", two_layers, model="cifar10")
# unknown choices and out-of-range numbers (issue 17): a calling error naming the argument
error_case("error_choice_model", plain, model="nope")
error_case("error_choice_model_lists_user_models", plain, model="nope")
error_case("error_choice_method", plain, model="cifar10", method="nope")
error_case("error_choice_method_display_name", plain, model="cifar10", method="Grad-CAM++")
error_case("error_cam_without_head", plain, model="cifar10", method="cam")
error_case("error_choice_colormap", plain, model="cifar10", colormap="nope")
error_case("error_choice_output", plain, model="cifar10", output="nope")
error_case("error_alpha_negative", plain, model="cifar10", alpha=-0.5)
error_case("error_output_outside_selection", outside_selection, model="cifar10", output="selection")
error_case("error_mask_group", group_image, model="cifar10", output="mask")

with open(os.path.join(WORK, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
