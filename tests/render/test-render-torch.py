#!/usr/bin/env python3
"""Cross-check the renderer and the preprocessor with independent references:
torch.nn.functional.interpolate (upsampling), matplotlib (colormap tables),
numpy (normalisation, colormap indexing, blending, exact-coverage area
averaging). Drives the C code through the render-tool executable.

usage: test-render-torch.py RENDER_TOOL
Exit 0: all checks passed; 1: a check failed; 77: a Python module is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import matplotlib
except ImportError as e:  # pragma: no cover
    print("SKIP: %s (needs python3-torch, python3-matplotlib, python3-numpy)" % e)
    sys.exit(77)

TOOL = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="cam-render-test-")
FAILURES = []
RNG = np.random.default_rng(12345)

COLORMAPS = [("jet", "jet"), ("turbo", "turbo"), ("viridis", "viridis"), ("inferno", "inferno"),
             ("magma", "magma"), ("plasma", "plasma"), ("cividis", "cividis"), ("gray", "gray"),
             ("greens", "Greens"), ("reds", "Reds")]


def fail(msg):
    print("FAIL:", msg)
    FAILURES.append(msg)


def ok(msg):
    print("ok:", msg)


def path(name):
    return os.path.join(TMP, name)


def tool(*args):
    r = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("render-tool %s failed (%d): %s" % (args[0], r.returncode, r.stderr))
    return r.stdout


def mpl_table(name):
    cmap = matplotlib.colormaps[name]
    if cmap.N != 256:
        cmap = cmap.resampled(256)
    return cmap(np.arange(256), bytes=True)[:, :3].astype(np.uint8)


def torch_up(m, oh, ow, mode):
    t = torch.from_numpy(m.astype(np.float32))[None, None]
    return F.interpolate(t, size=(oh, ow), mode=mode, align_corners=False)[0, 0].numpy()


def c_values(m, oh, ow, mode, kind="raw", **kw):
    m = np.ascontiguousarray(m, dtype=np.float32)
    m.tofile(path("map.f32"))
    extra = ["%s=%s" % (k, v) for k, v in kw.items()]
    out = tool("values", "map=" + path("map.f32"), "mw=%d" % m.shape[1], "mh=%d" % m.shape[0],
               "ow=%d" % ow, "oh=%d" % oh, "upsample=" + mode, "kind=" + kind,
               "out=" + path("values.f32"), *extra)
    vals = np.fromfile(path("values.f32"), dtype=np.float32).reshape(oh, ow)
    lo, hi = (float(x) for x in out.split()[1:3])
    return vals, lo, hi


def c_render(m, oh, ow, src=None, sc=4, st="u8", dc=4, dt="u8", **kw):
    m = np.ascontiguousarray(m, dtype=np.float32)
    m.tofile(path("map.f32"))
    args = ["map=" + path("map.f32"), "mw=%d" % m.shape[1], "mh=%d" % m.shape[0],
            "ow=%d" % ow, "oh=%d" % oh, "dc=%d" % dc, "dt=" + dt, "out=" + path("out.raw")]
    if src is not None:
        src.tofile(path("src.raw"))
        args += ["src=" + path("src.raw"), "sc=%d" % sc, "st=" + st]
    args += ["%s=%s" % (k, v) for k, v in kw.items()]
    tool("render", *args)
    dtype = {"u8": np.uint8, "u16": np.uint16, "f32": np.float32}[dt]
    return np.fromfile(path("out.raw"), dtype=dtype).reshape(oh, ow, dc)


# ---------------------------------------------------------------------------
def check_tables():
    for cam_name, mpl_name in COLORMAPS:
        tool("table", cam_name, path("table.bin"))
        ours = np.fromfile(path("table.bin"), dtype=np.uint8).reshape(256, 3)
        ref = mpl_table(mpl_name)
        if not np.array_equal(ours, ref):
            bad = np.argwhere(ours != ref)
            fail("colormap %s differs from matplotlib %s at %d entries, first %s: %s vs %s" %
                 (cam_name, mpl_name, len(bad), bad[0], ours[bad[0][0]], ref[bad[0][0]]))
        else:
            ok("colormap %s == matplotlib %s" % (cam_name, mpl_name))
    # The committed generated file must be what the generator writes now.
    src = os.environ.get("CAM_SOURCE_DIR")
    if src:
        gen = os.path.join(src, "engine", "render", "gen-colormaps.py")
        committed = os.path.join(src, "engine", "render", "cam-colormap-tables.c")
        r = subprocess.run([sys.executable, gen], capture_output=True, text=True, check=True)

        def body(text):  # the tables, without the comment naming the matplotlib version
            return text[text.index("#include"):]

        with open(committed) as f:
            if body(f.read()) != body(r.stdout):
                fail("engine/render/cam-colormap-tables.c is not what gen-colormaps.py writes; "
                     "regenerate it")
            else:
                ok("cam-colormap-tables.c is up to date with gen-colormaps.py")


def check_upsampling():
    cases = [(3, 3, 28, 28), (7, 7, 224, 224), (3, 3, 32, 45), (1, 1, 5, 7), (1, 5, 3, 40),
             (6, 1, 50, 4), (4, 5, 4, 5), (9, 11, 4, 3), (3, 3, 20, 30000), (2, 3, 1, 1),
             (14, 14, 333, 257)]
    # Maps scaled to max |value| = 1: absolute tolerance 1e-5. One map of large
    # values: tolerance 1e-5 * max |value| (float32 coordinates limit both torch and
    # us to about that: each is ~1e-5 * scale from a float64 computation).
    for scale in (1.0, 1000.0):
        for mh, mw, oh, ow in cases if scale == 1.0 else cases[:3]:
            m = RNG.standard_normal((mh, mw))
            m = (m / np.max(np.abs(m)) * scale).astype(np.float32)
            for mode in ("bilinear", "bicubic"):
                ours, _, _ = c_values(m, oh, ow, mode)
                ref = torch_up(m, oh, ow, mode)
                err = float(np.max(np.abs(ours - ref)))
                what = "%s %dx%d -> %dx%d (map w x h -> out w x h, max |map| %g): max |diff| %.2e" % (
                    mode, mw, mh, ow, oh, scale, err)
                (ok if err <= 1e-5 * scale else fail)(what)
    # Constant map: exactly constant, any mode.
    m = np.full((3, 3), 2.5, np.float32)
    for mode in ("bilinear", "bicubic"):
        ours, lo, hi = c_values(m, 17, 23, mode)
        err = float(np.max(np.abs(ours - torch_up(m, 17, 23, mode))))
        (ok if np.all(np.abs(ours - 2.5) <= 1e-5) and err <= 1e-5 else fail)(
            "constant map stays constant (%s): max |diff| from 2.5 %.2e" % (mode, float(np.max(np.abs(ours - 2.5)))))
        norm, _, _ = c_values(m, 17, 23, mode, kind="normalized")
        (ok if np.all(norm == 0.0) else fail)("constant map normalises to 0 (%s)" % mode)


def check_window():
    # PAD placement: a 56x28 image in a 28x28 input sits at content rows 7..20;
    # rendering the map's window over the image equals rows 14..41 of a 56x56
    # render of the whole map (torch), the image's part of the padded input.
    m = RNG.standard_normal((7, 7)).astype(np.float32)
    ours, _, _ = c_values(m, 28, 56, "bilinear", window="0,1.75,7,3.5")
    ref = torch_up(m, 56, 56, "bilinear")[14:42]
    err = float(np.max(np.abs(ours - ref)))
    (ok if err <= 1e-5 else fail)("window render equals the matching part of the full render: %.2e" % err)


def ref_index(t):
    """matplotlib: floor(t * 256) clipped to 0..255 (t already clipped to [0,1])."""
    return np.clip(np.floor(t * 256.0), 0, 255).astype(np.int64)


def near_boundary(t, tol=2e-4):
    x = t * 256.0
    return (np.abs(x - np.round(x)) < tol) & (x > 0.5) & (x < 255.5)


def check_normalisation():
    m = RNG.standard_normal((5, 6)).astype(np.float32)
    for relu in (0, 1):
        for norm in ("minmax", "minmax-output"):
            for mode in ("bilinear", "bicubic"):
                up = torch_up(m, 40, 37, mode).astype(np.float64)
                if relu:
                    up = np.maximum(up, 0.0)
                base = np.maximum(m, 0) if relu else m
                lo, hi = (up.min(), up.max()) if norm == "minmax-output" else (base.min(), base.max())
                ref = np.clip((up - lo) / (hi - lo), 0, 1)
                ours, clo, chi = c_values(m, 40, 37, mode, kind="normalized", relu=relu,
                                          normalize=norm)
                err = float(np.max(np.abs(ours - ref)))
                (ok if err <= 1e-5 and abs(clo - lo) < 1e-5 and abs(chi - hi) < 1e-5 else fail)(
                    "normalised values %s relu=%d %s: max |diff| %.2e, range %.6f..%.6f vs %.6f..%.6f"
                    % (norm, relu, mode, err, clo, chi, lo, hi))
    ours, _, _ = c_values(m, 30, 30, "bilinear", kind="normalized", normalize="range", range="-0.5,0.5")
    ref = np.clip((torch_up(m, 30, 30, "bilinear").astype(np.float64) + 0.5) / 1.0, 0, 1)
    err = float(np.max(np.abs(ours - ref)))
    (ok if err <= 1e-5 else fail)("explicit range normalisation: %.2e" % err)


def reference_render(m, oh, ow, src, cmap, alpha, output, relu=0, alpha_from_map=0, mode="bilinear"):
    up = torch_up(m, oh, ow, mode).astype(np.float64)
    if relu:
        up = np.maximum(up, 0)
    base = np.maximum(m, 0) if relu else m
    lo, hi = float(base.min()), float(base.max())
    t = np.clip((up - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(up)
    idx = ref_index(t)
    table = mpl_table(cmap)
    return t, idx, table


def check_render():
    ow, oh = 131, 77
    m = RNG.standard_normal((3, 3)).astype(np.float32)
    src = RNG.integers(0, 256, size=(oh, ow, 4), dtype=np.uint8)
    for cam_name, mpl_name in (("jet", "jet"), ("viridis", "viridis"), ("greens", "Greens")):
        for output in ("heatmap", "blend"):
            for afm in (0, 1):
                alpha = 0.4
                t, idx, table = reference_render(m, oh, ow, src, mpl_name, alpha, output)
                ours = c_render(m, oh, ow, src=src if output == "blend" else None,
                                colormap=cam_name, alpha=alpha, output=output, alpha_from_map=afm)
                # Which index did the C code use? Accept idx +- 1 only at bin boundaries.
                edge = near_boundary(t)
                ok_px = np.zeros((oh, ow), bool)
                for d in (0, -1, 1):
                    j = np.clip(idx + d, 0, 255)
                    if d != 0:
                        allowed = edge
                    else:
                        allowed = np.ones_like(edge)
                    k = table[j].astype(np.float64)
                    a = alpha * (j / 255.0 if afm else np.ones(j.shape))
                    if output == "heatmap":
                        exp = np.concatenate([table[j], (j if afm else np.full_like(j, 255))[..., None]],
                                             axis=2).astype(np.uint8)
                        match = np.all(ours == exp, axis=2)
                    else:
                        exact = (1 - a)[..., None] * src[..., :3] + a[..., None] * k
                        rnd = np.floor(exact + 0.5)
                        tie = np.abs(exact - np.floor(exact) - 0.5) < 1e-4
                        diff = np.abs(ours[..., :3].astype(np.float64) - rnd)
                        match = np.all((diff == 0) | (tie & (diff <= 1)), axis=2) & (ours[..., 3] == src[..., 3])
                    ok_px |= match & allowed
                bad = int((~ok_px).sum())
                (ok if bad == 0 else fail)("render %s %s alpha_from_map=%d: %d of %d pixels differ "
                                            "from torch+matplotlib+formula (%d near bin edges)" %
                                            (cam_name, output, afm, bad, ow * oh, int(edge.sum())))
    # Confidence rule: greens above the threshold, reds below.
    for p, want in ((0.97, "Greens"), (0.95, "Reds"), (0.5, "Reds")):
        ours = c_render(m, 9, 9, colormap="greens-reds", probability=p, output="heatmap")
        t, idx, table = reference_render(m, 9, 9, None, want, 1.0, "heatmap")
        edge = near_boundary(t)
        match = np.all(ours[..., :3] == table[idx], axis=2) | edge
        (ok if match.all() else fail)("greens-reds with probability %.2f uses %s" % (p, want))
    # Strips, threads: bit-identical.
    big_src = RNG.integers(0, 256, size=(301, 517, 4), dtype=np.uint8)
    one = c_render(m, 301, 517, src=big_src, output="blend", threads=1)
    for strip, threads in ((1, 0), (7, 2), (64, 3), (300, 0)):
        other = c_render(m, 301, 517, src=big_src, output="blend", strip=strip, threads=threads)
        (ok if np.array_equal(one, other) else fail)("strips of %d rows, %d threads == one shot" % (strip, threads))
    # 16-bit and float outputs follow the same formula.
    t, idx, table = reference_render(m, oh, ow, None, "jet", 0.5, "blend")
    src16 = RNG.integers(0, 65536, size=(oh, ow, 3), dtype=np.uint16)
    o16 = c_render(m, oh, ow, src=src16, sc=3, st="u16", dc=3, dt="u16", output="blend", alpha=0.5)
    exact = 0.5 * src16 + 0.5 * table[idx].astype(np.float64) * 257
    err16 = np.abs(o16 - exact)
    good = (err16 <= 0.5 + 1e-4) | near_boundary(t)[..., None]
    (ok if good.all() else fail)("16-bit blend: max |diff| %.3f (levels)" % float(err16[~near_boundary(t)].max()))
    srcf = RNG.random((oh, ow, 4), dtype=np.float32)
    of = c_render(m, oh, ow, src=srcf, sc=4, st="f32", dc=4, dt="f32", output="blend", alpha=0.5)
    exact = 0.5 * srcf[..., :3] + 0.5 * table[idx] / 255.0
    errf = np.abs(of[..., :3] - exact)
    goodf = (errf <= 1e-6) | near_boundary(t)[..., None]
    (ok if goodf.all() and np.array_equal(of[..., 3], srcf[..., 3]) else fail)(
        "float blend: max |diff| %.2e" % float(errf[~near_boundary(t)].max()))


def c_preprocess(img, it, **kw):
    img.tofile(path("img.raw"))
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    args = ["img=" + path("img.raw"), "iw=%d" % w, "ih=%d" % h, "ic=%d" % c, "it=" + it,
            "out=" + path("input.f32")] + ["%s=%s" % (k, v) for k, v in kw.items()]
    info = tool("preprocess", *args)
    ch, H, W = int(kw.get("channels", 1)), int(kw.get("height", 28)), int(kw.get("width", 28))
    return np.fromfile(path("input.f32"), dtype=np.float32).reshape(ch, H, W), info


def area_resize(plane, W, H):
    """Exact area averaging (fractional coverage, as OpenCV INTER_AREA): repeat every
    pixel W times along x (H times along y), then average blocks of the input size."""
    h, w = plane.shape
    big = np.repeat(np.repeat(plane.astype(np.float64), H, axis=0), W, axis=1)
    return big.reshape(H, h, W, w).mean(axis=(1, 3))


def check_preprocess():
    # Gray model, RGB float image, both axes shrink: luminance then area average (exact coverage).
    img = RNG.random((61, 97, 3), dtype=np.float32)
    ours, _ = c_preprocess(img, "f32", channels=1, width=28, height=28, invert="off")
    lum = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    ref = area_resize(lum, 28, 28)
    err = float(np.max(np.abs(ours[0] - ref)))
    (ok if err <= 1e-5 else fail)("luminance + area downscale 97x61 -> 28x28 vs exact coverage: %.2e" % err)
    # RGB model with mean/std, 8-bit RGBA image (alpha composited onto black for NONE).
    img8 = RNG.integers(0, 256, size=(48, 64, 4), dtype=np.uint8)
    mean, std = (0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)
    ours, _ = c_preprocess(img8, "u8", channels=3, width=32, height=32, mean="%g,%g,%g" % mean,
                           std="%g,%g,%g" % std)
    a = img8[..., 3] / 255.0
    worst = 0.0
    for c in range(3):
        comp = (img8[..., c] / 255.0) * a
        ref = (area_resize(comp, 32, 32) - mean[c]) / std[c]
        worst = max(worst, float(np.max(np.abs(ours[c] - ref))))
    (ok if worst <= 1e-4 else fail)("RGBA 8-bit -> RGB 32x32 with mean/std vs exact coverage: %.2e" % worst)
    # Upscale (both axes): bilinear, align_corners=False (torch).
    small = RNG.random((7, 10), dtype=np.float32)
    ours, _ = c_preprocess(small, "f32", channels=1, width=28, height=28, invert="off")
    ref = torch_up(small, 28, 28, "bilinear")
    err = float(np.max(np.abs(ours[0] - ref)))
    (ok if err <= 1e-5 else fail)("upscale 10x7 -> 28x28 vs torch bilinear: %.2e" % err)
    # Mixed: width shrinks (area), height grows (bilinear).
    mixed = RNG.random((10, 100), dtype=np.float32)
    ours, _ = c_preprocess(mixed, "f32", channels=1, width=28, height=28, invert="off")
    ref = torch_up(area_resize(mixed, 28, 10).astype(np.float32), 28, 28, "bilinear")
    err = float(np.max(np.abs(ours[0] - ref)))
    (ok if err <= 1e-5 else fail)("mixed 100x10 -> 28x28 (area x, bilinear y): %.2e" % err)
    # 16-bit input equals the same image as float.
    img16 = RNG.integers(0, 65536, size=(50, 40, 3), dtype=np.uint16)
    o16, _ = c_preprocess(img16, "u16", channels=3, width=16, height=16)
    of, _ = c_preprocess((img16 / 65535.0).astype(np.float32), "f32", channels=3, width=16, height=16)
    err = float(np.max(np.abs(o16 - of)))
    (ok if err <= 1e-5 else fail)("16-bit input equals float input: %.2e" % err)


def main():
    try:
        for check in (check_tables, check_upsampling, check_window, check_normalisation,
                      check_render, check_preprocess):
            check()
    except RuntimeError as e:
        fail(str(e))
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
