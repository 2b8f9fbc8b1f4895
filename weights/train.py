"""Train one of the reference networks and export it to ONNX.

    python3 weights/train.py NETWORK [options]

NETWORK is fashion-mnist or cifar10 (architectures in weights/networks.py, exactly
as ../shared/docs/MODELS.md). The recipe: AdamW with a one-cycle learning-rate
schedule, cross-entropy on the logits with label smoothing, random crops (zero
padding) and horizontal flips. A validation split (the last --val images of a
seeded permutation of the training set) is held out and chooses the recipe; the
official test set is evaluated once, at the end. Every epoch is logged. All
randomness (initialisation, shuffling, augmentation, dropout) flows from --seed;
data order and augmentation come from a CPU generator, so they are the same on
CPU and GPU (the arithmetic is not bit-identical across devices).

Outputs: OUTPUT.onnx (with metadata, see weights/export.py), and beside it
NETWORK-training.json (recipe, per-epoch log, test accuracy, per-class accuracy,
confusion matrix, dataset checksums, timings). --limit N trains on N images for a
smoke run.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datasets  # noqa: E402
import export  # noqa: E402
import networks  # noqa: E402

RECIPES = {  # chosen on the validation split (see weights/README.md)
    "fashion-mnist": dict(epochs=40, lr=4e-3, batch=128, weight_decay=5e-4, crop_pad=0,
                          flip=True, label_smoothing=0.1),
    # batch 32: with Debian 13's torch on this 2-core CPU a batch of 128 runs at ~4 min an
    # epoch (30 epochs: over the 2-hour budget), a batch of 32 at ~1.4-3 min (oneDNN,
    # channels_last; smaller batches stay in cache).
    "cifar10": dict(epochs=30, lr=2e-3, batch=32, weight_decay=5e-4, crop_pad=4,
                    flip=True, label_smoothing=0.1),
}


def augment(x, gen, crop_pad, flip):
    """Random crop with zero padding and horizontal flip, per image, on x's device."""
    n, c, h, w = x.shape
    dev = x.device
    if crop_pad:
        padded = nn.functional.pad(x, (crop_pad,) * 4)
        oy = torch.randint(0, 2 * crop_pad + 1, (n,), generator=gen).to(dev)
        ox = torch.randint(0, 2 * crop_pad + 1, (n,), generator=gen).to(dev)
        rows = (oy[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
        x = padded[torch.arange(n, device=dev)[:, None, None, None],
                   torch.arange(c, device=dev)[None, :, None, None], rows, cols]
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).to(dev)
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


@torch.no_grad()
def predict(net, images_u8, device, batch=1000):
    net.eval()
    out = []
    for i in range(0, len(images_u8), batch):
        x = torch.from_numpy(images_u8[i:i + batch]).to(device).float() / 255.0
        out.append(net(x).argmax(1).cpu())
    return torch.cat(out).numpy()


def main():
    ap = argparse.ArgumentParser(description="Train a gimp-cam reference network and export ONNX.")
    ap.add_argument("network", choices=sorted(networks.NETWORKS))
    ap.add_argument("--data-dir", default=None, help="datasets folder (default $CAM_DATA_DIR, else ../shared/data)")
    ap.add_argument("--output", default=None, help="ONNX file (default weights/NETWORK.onnx)")
    ap.add_argument("--report", default=None, help="training report JSON (default beside --output)")
    ap.add_argument("--state", default=None, help="also save the trained state_dict here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--val", type=int, default=5000, help="validation images held out of the training set")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke run)")
    ap.add_argument("--test-limit", type=int, default=0, help="evaluate on the first N test images only")
    ap.add_argument("--skip-test", action="store_true", help="do not touch the test set (recipe search)")
    ap.add_argument("--no-export", action="store_true", help="write no ONNX (use export.py --report later)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores this process may use)")
    ap.add_argument("--channels-last", type=lambda s: s.lower() in ("1", "true", "yes"), default=None,
                    help="NHWC activations (default: yes on the CPU, where oneDNN's convolutions are faster)")
    for key, val in RECIPES["cifar10"].items():
        kind = type(val) if not isinstance(val, bool) else (lambda s: s.lower() in ("1", "true", "yes"))
        ap.add_argument("--" + key.replace("_", "-"), type=kind, default=None,
                        help=f"override the recipe's {key}")
    args = ap.parse_args()

    recipe = dict(RECIPES[args.network])
    for key in recipe:
        v = getattr(args, key)
        if v is not None:
            recipe[key] = v
    data_dir = args.data_dir or datasets.default_data_dir()
    output = args.output or os.path.join(HERE, args.network + ".onnx")
    report_path = args.report or os.path.join(os.path.dirname(os.path.abspath(output)),
                                              args.network + "-training.json")
    # torch's own default can be 1 inside a chroot without /sys; ask the kernel instead.
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    device = torch.device(args.device)
    channels_last = args.channels_last if args.channels_last is not None else device.type == "cpu"
    layout = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    train_x, train_y, digests = datasets.load(args.network, data_dir, "train")
    test_x, test_y, test_digests = datasets.load(args.network, data_dir, "test")
    digests += test_digests
    perm = torch.randperm(len(train_x), generator=gen).numpy()
    val_idx, fit_idx = perm[len(perm) - args.val:], perm[:len(perm) - args.val]
    if args.limit:
        fit_idx = fit_idx[:args.limit]
        val_idx = val_idx[:max(args.limit // 5, 1)]
    if args.test_limit:
        test_x, test_y = test_x[:args.test_limit], test_y[:args.test_limit]
    fit_x = torch.from_numpy(train_x[fit_idx]).to(device)
    fit_y = torch.from_numpy(train_y[fit_idx]).to(device)
    val_x, val_y = train_x[val_idx], train_y[val_idx]
    print(f"{args.network}: {len(fit_idx)} training, {len(val_idx)} validation, {len(test_x)} test images; "
          f"device {device}, {torch.get_num_threads()} CPU threads; recipe {recipe}", flush=True)

    net = networks.build(args.network).to(device, memory_format=layout)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    steps_per_epoch = (len(fit_idx) + recipe["batch"] - 1) // recipe["batch"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["lr"], epochs=recipe["epochs"],
                                                steps_per_epoch=steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"])
    log = []
    train_start = time.time()
    for epoch in range(1, recipe["epochs"] + 1):
        e0 = time.time()
        net.train()
        order = torch.randperm(len(fit_idx), generator=gen).to(device)
        total_loss, correct = 0.0, 0
        for s in range(steps_per_epoch):
            idx = order[s * recipe["batch"]:(s + 1) * recipe["batch"]]
            x = augment(fit_x[idx].float() / 255.0, gen, recipe["crop_pad"], recipe["flip"])
            x = x.contiguous(memory_format=layout)
            y = fit_y[idx]
            logits = net(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        val_acc = float((predict(net, val_x, device) == val_y).mean())
        entry = dict(epoch=epoch, loss=total_loss / len(fit_idx), train_accuracy=correct / len(fit_idx),
                     val_accuracy=val_acc, seconds=round(time.time() - e0, 2))
        log.append(entry)
        print("epoch {epoch:3d}  loss {loss:.4f}  train {train_accuracy:.4f}  val {val_accuracy:.4f}  "
              "{seconds:.1f} s".format(**entry), flush=True)
    train_seconds = time.time() - train_start
    net = net.to(memory_format=torch.contiguous_format)  # plain NCHW for the state and the export

    # The test set, once.
    report = dict(network=args.network, recipe=recipe, seed=args.seed,
                  command="python3 weights/train.py " + " ".join(sys.argv[1:]),
                  device=str(device), torch=torch.__version__, python=platform.python_version(),
                  cpu_threads=torch.get_num_threads(), channels_last=channels_last,
                  training_images=int(len(fit_idx)),
                  validation_images=int(len(val_idx)), train_seconds=round(train_seconds, 1),
                  labels=net.labels, epochs=log, datasets=dict(digests))
    if not args.skip_test:
        pred = predict(net, test_x, device)
        n_classes = len(net.labels)
        confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(confusion, (test_y, pred), 1)
        test_acc = float((pred == test_y).mean())
        report.update(test_images=int(len(test_y)), test_accuracy=test_acc,
                      per_class_accuracy={net.labels[i]: float(confusion[i, i] / max(confusion[i].sum(), 1))
                                          for i in range(n_classes)},
                      confusion_matrix=confusion.tolist())
        print(f"test accuracy {test_acc:.4f} ({len(test_y)} images)", flush=True)
    print(f"training took {train_seconds / 60:.1f} min", flush=True)
    report["provenance"] = export.provenance_from_report(report)
    if args.state:
        torch.save(net.state_dict(), args.state)
    if not args.no_export:
        report["onnx"] = os.path.basename(output)
        report["onnx_bytes"] = export.export(args.network, net, output, report["provenance"])
        print(f"wrote {output} ({report['onnx_bytes']} bytes)")
    report["total_seconds"] = round(time.time() - t0, 1)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {report_path}")


if __name__ == "__main__":
    main()
