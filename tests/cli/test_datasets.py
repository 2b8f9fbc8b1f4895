"""--evaluate's data set readers are bounded (issue 17):

 - a gzipped IDX file whose header claims 3,000,000 images (2.2 GiB, more than the 1 GiB the
   tool holds in memory) is refused with a message pointing to --limit, and with --limit 50
   only the first 50 images are read (the stream holds just 100: the old reader inflated
   everything and failed, or aborted in GLib on a real gzip bomb);
 - a header that claims more than the file holds is a clear error, gzipped (the trailer's
   size) or not; a CIFAR batch ending inside a record is named; --limit reads a prefix;
 - a folder where a data set file is expected is named as a folder.
"""
import gzip
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

fm, _ = T.model_path("fashion-mnist")
c10, _ = T.model_path("cifar10")
d = T.workdir("datasets")
rng = np.random.RandomState(5)


def gz_with_size(data, claimed):
    """gzip of `data` whose trailer says `claimed` bytes (mod 2^32), like the header."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = c.compress(data) + c.flush()
    return out[:-4] + struct.pack("<I", claimed & 0xffffffff)


def idx_pair(folder, n_claimed, n_real, crafted):
    os.makedirs(folder, exist_ok=True)
    pix = rng.randint(0, 256, (n_real, 28, 28), dtype=np.uint8).tobytes()
    lab = rng.randint(0, 10, n_real, dtype=np.uint8).tobytes()
    img = struct.pack(">IIII", 0x803, n_claimed, 28, 28) + pix
    lbl = struct.pack(">II", 0x801, n_claimed) + lab
    if crafted:
        img = gz_with_size(img, 16 + n_claimed * 784)
        lbl = gz_with_size(lbl, 8 + n_claimed)
    else:
        img, lbl = gzip.compress(img), gzip.compress(lbl)
    ip = os.path.join(folder, "t10k-images-idx3-ubyte.gz")
    with open(ip, "wb") as f:
        f.write(img)
    with open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(lbl)
    return ip


def evaluate(path, model, *extra):
    return T.run(["--evaluate", path, "-m", model, "--no-faithfulness", "-q", "-J", "1",
                  "--json", "-"] + list(extra))


# 1. a header claiming far more than the memory bound, with only 100 images in the stream
bomb = idx_pair(os.path.join(d, "bomb"), 3000000, 100, crafted=True)
rc, so, se = evaluate(bomb, fm)
T.check(rc == 3, f"huge header without --limit: exit {rc}, expected 3: {se!r}")
T.check("--limit" in se and "3000000 images" in se and "memory" in se,
        f"huge header: the message names the size and --limit: {se!r}")
rc, so, se = evaluate(bomb, fm, "--limit", "50")
T.check(rc == 0, f"huge header with --limit 50: exit {rc}, expected 0: {se[-400:]!r}")
if rc == 0:
    import json
    doc = json.loads(so)
    T.check(doc["dataset"]["evaluated"] == 50, f"--limit 50: {doc['dataset']['evaluated']}")
rc, so, se = evaluate(bomb, fm, "--offset", "60", "--limit", "30")
T.check(rc == 0, f"--offset 60 --limit 30 of the 100 in the stream: exit {rc}: {se[-400:]!r}")
rc, so, se = evaluate(bomb, fm, "--offset", "90", "--limit", "30")
T.check(rc == 3 and "t10k-images-idx3-ubyte.gz" in se,
        f"reading past the stream's end: exit {rc}: {se!r}")

# 2. a header claiming more than the file holds
short = idx_pair(os.path.join(d, "short"), 1000, 100, crafted=False)
for extra in ([], ["--limit", "10"]):
    rc, so, se = evaluate(short, fm, *extra)
    T.check(rc == 3 and "1000 images" in se and "holds" in se,
            f"gzip header claiming 1000 of 100 images {extra}: exit {rc}: {se!r}")
plain = os.path.join(d, "plain")
os.makedirs(plain)
with open(os.path.join(plain, "t10k-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 1000, 28, 28) + bytes(784 * 10))
with open(os.path.join(plain, "t10k-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, 1000) + bytes(10))
rc, so, se = evaluate(plain, fm)
T.check(rc == 3 and "1000 images" in se and "holds" in se, f"plain short IDX: {rc} {se!r}")

# 3. CIFAR: --limit reads a prefix; a record cut short is named
rec = 3073
cif = os.path.join(d, "cifar")
os.makedirs(cif)
recs = bytearray(rng.randint(0, 256, 10 * rec, dtype=np.uint8).tobytes())
for i in range(10):
    recs[i * rec] = i % 10
with open(os.path.join(cif, "test_batch.bin.gz"), "wb") as f:
    f.write(gzip.compress(bytes(recs)))
rc, so, se = evaluate(os.path.join(cif, "test_batch.bin.gz"), c10, "--limit", "3")
T.check(rc == 0, f"CIFAR --limit 3: exit {rc}: {se[-300:]!r}")
with open(os.path.join(cif, "cut.bin.gz"), "wb") as f:
    f.write(gzip.compress(bytes(recs[: 3 * rec + 100])))
rc, so, se = evaluate(os.path.join(cif, "cut.bin.gz"), c10)
T.check(rc == 3 and "record 3" in se, f"CIFAR cut inside a record: exit {rc}: {se!r}")

# 4. a folder where a file is expected
os.makedirs(os.path.join(d, "dir.bin"))
rc, so, se = evaluate(os.path.join(d, "dir.bin", ""), c10)
T.check(rc == 3, f"folder named .bin: exit {rc}")
fake = os.path.join(d, "folderset")
os.makedirs(os.path.join(fake, "t10k-images-idx3-ubyte"))
rc, so, se = evaluate(os.path.join(fake, "t10k-images-idx3-ubyte"), fm)
T.check(rc == 3 and "folder" in se, f"a folder named like an IDX file: exit {rc}: {se!r}")

# 5. images: a JPEG cut short is read with a warning (stderr and the JSON's "warning"); a
# folder given as an image is named as a folder; a header claiming more than the pixel limit
# is refused before decoding
from PIL import Image  # noqa: E402
im = os.path.join(d, "whole.jpg")
Image.fromarray(T.test_image(3, 120, 160, 3)).save(im, quality=90)
cut = os.path.join(d, "cut.jpg")
with open(im, "rb") as f:
    data = f.read()
with open(cut, "wb") as f:
    f.write(data[: len(data) // 2])
rc, so, se = T.run(["-m", c10, "-q", "--json", "-", im, cut])
T.check(rc == 0, f"a cut JPEG: exit {rc}: {se!r}")
import json  # noqa: E402
if rc == 0:
    st = {x["file"]: x for x in json.loads(so)["images"]}
    T.check("warning" not in st[im], f"warning for a whole JPEG: {st[im].get('warning')}")
    T.check("cut short" in st[cut].get("warning", ""), f"no warning for a cut JPEG: {st[cut]}")
T.check(f"warning: {cut}" in se and im not in se, f"stderr warning for the cut JPEG: {se!r}")
folder = os.path.join(d, "an-image-folder.png")
os.makedirs(folder)
rc, so, se = T.run(["-m", c10, "-q", folder])
T.check(rc == 1 and "is a folder" in se, f"a folder as image: exit {rc}: {se!r}")
huge = os.path.join(d, "huge.png")
# a valid PNG header (IHDR) claiming 20000 x 20000 pixels, then one small IDAT chunk


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
with open(huge, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(60001))))
rc, so, se = T.run(["-m", c10, "-q", huge])
T.check(rc == 1 and "20000x20000" in se and "megapixels" in se,
        f"an image over the pixel limit: exit {rc}: {se!r}")

T.finish()
