#!/usr/bin/env python3
"""Import a torchvision classifier as a ready gimp-cam model.

usage: import-torchvision.py NAME [--weights DEFAULT|none|WEIGHTS] [-o OUT] [--opset N]

Writes NAME.onnx (or OUT): the network exported with torch.onnx.export (opset 17
by default, dynamic batch), with gimp-cam's metadata taken from torchvision's
weight metadata: the class labels (meta["categories"]) and the preprocessing of
weights.transforms() -- Resize(resize_size) with its interpolation
(antialiased), CenterCrop(crop_size), pixels / 255, mean and std. The layer to
explain is left to the engine's automatic choice.

--weights DEFAULT (the default) downloads the pretrained weights (internet
needed once; torch caches them in ~/.cache/torch); --weights none exports the
same architecture with random weights and no download (the metadata still comes
from the DEFAULT weights' description), for tests; any other value names a
weights entry of the model (IMAGENET1K_V1, ...).

Examples:
  weights/import-torchvision.py resnet50
  cam-heatmap -m resnet50.onnx -o cat-heatmap.png cat.jpg
"""
import argparse
import os
import sys
import tempfile


def fail(msg):
    print("import-torchvision: " + msg, file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(
        description="Export a torchvision classifier to ONNX with gimp-cam's metadata.")
    ap.add_argument("name", metavar="NAME",
                    help="torchvision model name (resnet50, mobilenet_v3_large, vit_b_16, ...)")
    ap.add_argument("--weights", default="DEFAULT",
                    help="DEFAULT (pretrained; downloads once), none (random, no download) or "
                         "a weights entry such as IMAGENET1K_V1")
    ap.add_argument("-o", "--output", help="output file (default: NAME.onnx)")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    args = ap.parse_args()

    try:
        import torch
        import torchvision
        import onnx
    except ImportError as e:
        fail("%s (needs torch, torchvision and onnx: pip install torch torchvision onnx, or "
             "Debian's python3-torch python3-torchvision python3-onnx)" % e)

    try:
        weights_enum = torchvision.models.get_model_weights(args.name)
    except (ValueError, KeyError):
        known = ", ".join(sorted(torchvision.models.list_models(module=torchvision.models)))
        fail("unknown model '%s'; torchvision's classifiers: %s" % (args.name, known))
    described = weights_enum.DEFAULT
    if args.weights.lower() == "none":
        weights = None
    elif args.weights == "DEFAULT":
        weights = described
    else:
        try:
            weights = weights_enum[args.weights]
        except KeyError:
            fail("model %s has no weights '%s' (known: DEFAULT, none, %s)"
                 % (args.name, args.weights, ", ".join(w.name for w in weights_enum)))
        described = weights

    meta = described.meta
    categories = meta.get("categories")
    transforms = described.transforms()
    crop = list(getattr(transforms, "crop_size", [224]))
    resize = list(getattr(transforms, "resize_size", [256]))
    mean = list(getattr(transforms, "mean", [0.485, 0.456, 0.406]))
    std = list(getattr(transforms, "std", [0.229, 0.224, 0.225]))
    interpolation = getattr(transforms, "interpolation",
                            torchvision.transforms.InterpolationMode.BILINEAR)
    interpolation = {"bilinear": "bilinear", "bicubic": "bicubic"}.get(interpolation.value)
    if interpolation is None:
        fail("weights %s use %s interpolation, which gimp-cam does not implement"
             % (described, getattr(transforms, "interpolation", "?")))
    if len(crop) != 1 or len(resize) != 1:
        fail("unexpected transforms %s (one crop and one resize size expected)" % transforms)

    torch.manual_seed(0)
    model = torchvision.models.get_model(args.name, weights=weights).eval()
    out = args.output or args.name + ".onnx"
    size = crop[0]
    dummy = torch.rand(1, 3, size, size)
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".import-", suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), tmp, opset_version=args.opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              dynamo=False)
        proto = onnx.load(tmp)
        source = "torchvision %s %s, %s" % (torchvision.__version__, args.name,
                                             ("weights " + str(weights)) if weights
                                             else "random weights (--weights none)")
        metadata = {
            "cam.name": args.name,
            "cam.description": "%s (torchvision, %s)" % (
                args.name, str(weights) if weights else "untrained: random weights"),
            "cam.input.scale": repr(1.0 / 255.0),
            "cam.input.mean": ",".join(repr(float(v)) for v in mean),
            "cam.input.std": ",".join(repr(float(v)) for v in std),
            "cam.input.channel-order": "rgb",
            "cam.input.resize-policy": "crop",
            "cam.input.resize": str(resize[0]),
            "cam.input.crop": str(size),
            "cam.input.interpolation": interpolation,
            "cam.input.layout": "nchw",
            "cam.input.description": "RGB %dx%d: Resize(%d, %s, antialias) + CenterCrop(%d), "
                                     "/255, ImageNet mean/std" % (size, size, resize[0],
                                                                  interpolation, size),
            "cam.provenance.source": source,
            "cam.provenance.command": "weights/import-torchvision.py " + " ".join(sys.argv[1:]),
        }
        if categories:
            metadata["cam.labels"] = "\n".join(categories)
        for key in ("_metrics", "recipe", "num_params"):
            if key in meta and weights is not None:
                metadata["cam.provenance." + key.strip("_")] = str(meta[key])
        del proto.metadata_props[:]
        for k, v in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(proto, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print("wrote %s: %s, input 3x%dx%d, %d classes" % (out, source, size, size,
                                                       len(categories or [])))


if __name__ == "__main__":
    main()
