"""cam-heatmap --jobs 4 writes exactly the bytes of --jobs 1 (images, heatmaps and JSON),
for both models and a mix of sizes and channel layouts, including repeated file names
in different folders (out/x.png, out/x-2.png in input order)."""
import filecmp
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

d = T.workdir("parallel")
inputs = []
for i in range(12):
    h, w, c = [(32, 32, 3), (17, 45, 4), (80, 60, 1), (28, 28, 3)][i % 4]
    sub = os.path.join(d, "in", "a" if i < 6 else "b")
    os.makedirs(sub, exist_ok=True)
    p = os.path.join(sub, f"img{i % 6}.png")
    T.write_png(p, T.test_image(100 + i, h, w, c))
    inputs.append(p)

for name in ("cifar10", "fashion-mnist"):
    model, _ = T.model_path(name)
    for extra in ([], ["--heatmap", "--alpha-from-map"], ["--aspect", "crop", "-f", "jpg"]):
        tag = name + "".join(extra).replace("-", "")
        outs = {}
        for jobs in (1, 4):
            o = os.path.join(d, f"{tag}-j{jobs}")
            j = o + ".json"
            rc, so, se = T.run(["-m", model, "-o", o, "--json", j, "--jobs", str(jobs), "-q"]
                               + extra + inputs)
            T.check(rc == 0, f"{tag} --jobs {jobs}: exit {rc}: {se}")
            outs[jobs] = (o, j)
        files1 = sorted(os.listdir(outs[1][0]))
        files4 = sorted(os.listdir(outs[4][0]))
        T.check(len(files1) == 12, f"{tag}: {len(files1)} files written, expected 12: {files1}")
        T.check(files1 == files4, f"{tag}: different file names: {files1} vs {files4}")
        for f in files1:
            if f in files4:
                T.check(filecmp.cmp(os.path.join(outs[1][0], f), os.path.join(outs[4][0], f),
                                    shallow=False), f"{tag}: {f} differs between --jobs 1 and 4")
        # the JSON differs only in the output folder names
        with open(outs[1][1]) as a, open(outs[4][1]) as b:
            ja = a.read().replace(outs[1][0], "OUT")
            jb = b.read().replace(outs[4][0], "OUT")
        T.check(ja == jb, f"{tag}: JSON differs between --jobs 1 and 4")
        print(f"{tag}: --jobs 4 == --jobs 1 ({len(files1)} images)")

T.finish()
