#!/usr/bin/env python3
"""Writes imagenet.txt: the 1000 ImageNet-1k class names, one per line, in the
order of the outputs of torchvision's classifiers, from torchvision's weight
metadata (ResNet50_Weights.IMAGENET1K_V2.meta["categories"]; no download: the
metadata is part of the torchvision package).

usage: make-imagenet-labels.py [OUT]   (default: imagenet.txt beside this script)
Run inside the build environment (python3-torchvision); the output is committed.
"""
import os
import sys

from torchvision.models import ResNet50_Weights


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "imagenet.txt")
    categories = ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
    if len(categories) != 1000 or any(not c or "\n" in c for c in categories):
        sys.exit("unexpected categories in torchvision's metadata")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(categories) + "\n")
    os.replace(tmp, out)
    print("wrote %d labels to %s" % (len(categories), out))


if __name__ == "__main__":
    main()
