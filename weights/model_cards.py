"""Write weights/README.md (the model cards) from the training reports.

    python3 weights/model_cards.py

Reads weights/NETWORK-training.json and weights/NETWORK.onnx; the checksums and
figures in the cards come from those files, never typed by hand.
"""
import argparse
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

INTRO = """# The bundled networks

gimp-cam ships two trained convolutional networks as ONNX files; users need no
download. Both were trained by `weights/train.py` (PyTorch, Debian 13's
python3-torch) on the official datasets, with the architectures of
`../shared/docs/MODELS.md` unchanged (no added layers). They are found by short
name (`fashion-mnist`, `cifar10`) or by path.

Files here:

| file | what |
|---|---|
| `networks.py` | the two architectures as PyTorch modules (also used by tests/reference) |
| `datasets.py` | readers for the official IDX and CIFAR binary files (`.gz` or not) |
| `train.py` | the training program: fixed seed, validation split, epoch log, ONNX export |
| `evaluate.py` | test-set figures for a trained state (used once, for the chosen recipe) |
| `export.py` | ONNX export with gimp-cam metadata (labels, input description, default layer, display defaults, provenance) |
| `model_cards.py` | writes this file from the training reports |
| `*-training.json` | the training reports: recipe, every epoch, recipe search, test figures, dataset checksums |

## Getting the datasets

The datasets are not part of gimp-cam. Training and the dataset tests read them from
`--data-dir`, else `$CAM_DATA_DIR`, else `../shared/data` beside the source tree, in
either the official layout or with each file gzipped:

- Fashion-MNIST (MIT licence, Zalando): the four IDX files
  `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` from
  https://github.com/zalandoresearch/fashion-mnist (folder `data/fashion`), into
  `DATA/fashion-mnist/`.
- CIFAR-10 (Krizhevsky 2009): the "CIFAR-10 binary version" from
  https://www.cs.toronto.edu/~kriz/cifar.html; unpack it into `DATA/` (giving
  `DATA/cifar-10-batches-bin/*.bin`) or put `data_batch_1..5.bin[.gz]` and
  `test_batch.bin[.gz]` into `DATA/cifar-10/`.

## How the recipe was chosen

Each network holds out the last 5,000 images of a seeded permutation of its training
set as a validation split. Candidate recipes were trained with `--skip-test` (the
test set untouched) and compared on validation accuracy; the best became
`train.py`'s default. The test set was then evaluated once, for that recipe
(`evaluate.py`).

- Fashion-MNIST: the candidates and the shipped run were made on an NVIDIA H100
  (`--device cuda`). Data order and augmentation come from a CPU random generator, so
  a CPU run follows the same recipe, with close but not bit-identical weights; the
  card gives the time and validation accuracy of a full CPU run on this machine.
- CIFAR-10: the learning rate was chosen on the H100 at batch 128 (0.002 over 0.004).
  With Debian 13's torch on this 2-core CPU, batch 128 runs at about 4 minutes an
  epoch, so 30 epochs do not fit the 2-hour budget; batch 32 runs at 1.4 to 3 minutes
  (oneDNN with channels_last: the small batches stay in cache). The shipped network
  was trained on this machine's CPU at batch 32 with that learning rate; a second CPU
  candidate (lr 0.001) was stopped early to leave the chosen run a core (see the
  recipe search in its card).
"""


def card(name, title, report, onnx_path):
    with open(onnx_path, "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    r = report
    rec = r["recipe"]
    labels = r["labels"]
    lines = [f"## {title} (`{name}`)", ""]
    lines.append(f"- file: `weights/{os.path.basename(onnx_path)}`, {len(data):,} bytes")
    lines.append(f"- sha256: {sha}")
    arch = {"fashion-mnist": "FashionCNN in networks.py: 1x28x28 -> conv16-pool-conv32-pool-conv64-pool-"
                             "conv128 (`conv2d_3`, the CAM layer, 128x3x3) -> global average pool -> dense 10; "
                             "98,442 parameters, about 2.58 M multiply-adds per image",
            "cifar10": "Cifar10CNN in networks.py: 3x32x32 -> nine 3x3 convs with ReLU, max pools, "
                       "dropouts and two batch norms -> `conv2d_8` (the Grad-CAM layer, 16x3x3) -> pool -> "
                       "BN -> dense 128-64-10; 201,354 parameters, about 54 M multiply-adds per image"}[name]
    lines.append(f"- architecture: {arch}")
    lines.append(f"- data: {r['training_images']:,} training images, {r['validation_images']:,} held out for "
                 f"validation, {r['test_images']:,} official test images; dataset files (sha256): " +
                 ", ".join(f"`{k}` {v[:16]}…" for k, v in sorted(r["datasets"].items())))
    lines.append(f"- recipe: AdamW (weight decay {rec['weight_decay']}), one-cycle learning rate up to "
                 f"{rec['lr']}, batch {rec['batch']}, {rec['epochs']} epochs, cross-entropy with label "
                 f"smoothing {rec['label_smoothing']}, horizontal flips"
                 + (f", random crops with {rec['crop_pad']}-pixel zero padding" if rec["crop_pad"] else "")
                 + f", seed {r['seed']}")
    search = "; ".join(f"lr {s['recipe']['lr']}, batch {s['recipe']['batch']}, crop padding "
                       f"{s['recipe']['crop_pad']}, {s.get('device', 'cuda')}: {s['val_accuracy']:.4f}"
                       + (f" ({s['remark']})" if s.get("remark") else "")
                       for s in r.get("recipe_search", []))
    if search:
        lines.append(f"- recipe search (validation accuracy): {search}")
    if r["device"] == "cpu":
        lines.append(f"- training time: {r['train_seconds'] / 60:.1f} min on this 2-core machine's CPU "
                     f"({r['cpu_threads']} thread{'s' if r['cpu_threads'] > 1 else ''}, torch {r['torch']}"
                     + (", channels_last" if r.get("channels_last") else "") + ")"
                     + (f"; {r['timing_note']}" if r.get("timing_note") else ""))
    else:
        lines.append(f"- training time: {r['train_seconds'] / 60:.1f} min on {r['device']} (torch {r['torch']})")
    cpu = r.get("cpu_run")
    if cpu:
        lines.append(f"- the same recipe on this 2-core machine's CPU: `{cpu['command']}` took "
                     f"{cpu['train_seconds'] / 60:.1f} min ({cpu['cpu_threads']} thread"
                     f"{'s' if cpu['cpu_threads'] > 1 else ''}, torch {cpu['torch']}), final validation "
                     f"accuracy {cpu['final_val_accuracy']:.4f} (those weights are not the shipped ones)")
    lines.append(f"- final validation accuracy: {r['epochs'][-1]['val_accuracy']:.4f}")
    lines.append(f"- **test accuracy: {100 * r['test_accuracy']:.2f}%** (PyTorch; the C engine's figure on "
                 "the shipped file is asserted by tests/weights)")
    if r["device"] == "cpu":
        lines.append(f"- reproduce: `build-aux/gimp3-env.sh python3 weights/train.py {name}` (the CPU, all "
                     "cores; same recipe and seed, so the same data order and augmentation)")
    else:
        lines.append(f"- reproduce: `python3 weights/train.py {name} --device cuda` "
                     f"(or `--device cpu`), run as `build-aux/gimp3-env.sh python3 weights/train.py {name} ...`")
    lines.append(f"- the run that made the shipped file: `{r['command']}`, then "
                 f"`python3 weights/evaluate.py {name} STATE --report weights/{name}-training.json` and "
                 f"`python3 weights/export.py {name} STATE weights/{name}.onnx --report weights/{name}-training.json`")
    lines += ["", "Per-class test accuracy and confusion matrix (rows: true class, columns: predicted):", ""]
    header = "| class | accuracy | " + " | ".join(str(i) for i in range(len(labels))) + " |"
    lines.append(header)
    lines.append("|---" * (len(labels) + 2) + "|")
    for i, lab in enumerate(labels):
        row = r["confusion_matrix"][i]
        lines.append(f"| {i} {lab} | {100 * r['per_class_accuracy'][lab]:.1f}% | " +
                     " | ".join(str(v) for v in row) + " |")
    lines.append("")
    lines.append("Metadata in the file (ONNX metadata_props, see engine/include/camengine.h): labels, "
                 "input description and scaling, training background, default method and layer, display "
                 "defaults, and provenance (dataset checksums, epochs, accuracy, command).")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    out = [INTRO]
    for name, title in (("fashion-mnist", "Fashion-MNIST, explained with CAM"),
                        ("cifar10", "CIFAR-10, explained with Grad-CAM")):
        with open(os.path.join(HERE, f"{name}-training.json")) as f:
            report = json.load(f)
        out.append(card(name, title, report, os.path.join(HERE, f"{name}.onnx")))
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
