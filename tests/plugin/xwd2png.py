#!/usr/bin/env python3
"""Converts an X window dump (xwd, ZPixmap, 24/32 bits per pixel, TrueColor) to PNG,
for build-aux/screenshot-dialog.sh (Pillow does not read XWD).

    python3 tests/plugin/xwd2png.py IN.xwd OUT.png
"""
import struct
import sys

import numpy as np
from PIL import Image


def read_xwd(path):
    data = open(path, "rb").read()
    fields = struct.unpack(">25I", data[:100])
    (header_size, _version, pixmap_format, _depth, width, height, _xoffset, byte_order,
     _unit, _bit_order, _pad, bits_per_pixel, bytes_per_line, _visual, red_mask, green_mask,
     blue_mask, _bits_rgb, _entries, ncolors) = fields[:20]
    if pixmap_format != 2 or bits_per_pixel not in (24, 32):
        raise ValueError(f"{path}: only 24/32-bit ZPixmap dumps are supported")
    offset = header_size + 12 * ncolors
    bpp = bits_per_pixel // 8
    rows = np.frombuffer(data, np.uint8, bytes_per_line * height, offset)
    rows = rows.reshape(height, bytes_per_line)[:, :width * bpp].reshape(height, width, bpp)
    order = "<" if byte_order == 0 else ">"
    if bpp == 4:
        px = rows.copy().view(order + "u4")[:, :, 0].astype(np.uint32)
    else:
        px = (rows[:, :, 0].astype(np.uint32) | rows[:, :, 1].astype(np.uint32) << 8 |
              rows[:, :, 2].astype(np.uint32) << 16)
        if order == ">":
            px = (rows[:, :, 2].astype(np.uint32) | rows[:, :, 1].astype(np.uint32) << 8 |
                  rows[:, :, 0].astype(np.uint32) << 16)

    def channel(mask):
        shift = (mask & -mask).bit_length() - 1
        return ((px & mask) >> shift).astype(np.uint8)
    return np.dstack([channel(red_mask), channel(green_mask), channel(blue_mask)])


if __name__ == "__main__":
    Image.fromarray(read_xwd(sys.argv[1])).save(sys.argv[2], optimize=True)
