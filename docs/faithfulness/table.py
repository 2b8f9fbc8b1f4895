#!/usr/bin/env python3
"""The README's faithfulness tables from the evaluation JSONs of docs/faithfulness/run.sh.

One row per method, in the order first seen, the random-map baseline last. A method found
in several JSONs of disjoint slices (--offset) is merged: its means weighted by the image
counts; of overlapping slices only the largest counts (the random baseline is in every
JSON). Usage: table.py JSON... (prints Markdown)."""
import json
import sys

KEYS = ("average_drop", "increase_in_confidence", "deletion_auc", "insertion_auc",
        "road_morf", "road_lerf", "map_cpu_ms")
parts = {}  # method -> {(offset, images): row}
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    sl = (doc["dataset"]["offset"], doc["dataset"]["images"])
    for m in doc["faithfulness"]["methods"]:
        parts.setdefault(m["method"], {}).setdefault(sl, m)
names = [k for k in parts if k != "random"] + (["random"] if "random" in parts else [])
print("| method | images | Average Drop | Increase in Confidence | deletion AUC | insertion AUC "
      "| ROAD MoRF | ROAD LeRF | map CPU ms / image |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in names:
    rows = []  # non-overlapping slices, the largest first
    for (off, cnt), r in sorted(parts[name].items(), key=lambda kv: -kv[0][1]):
        if all(off + cnt <= o or o + c <= off for (o, c), _ in rows):
            rows.append(((off, cnt), r))
    rows = [r for _, r in rows]
    n = sum(r["images"] for r in rows)
    v = {k: sum(r[k] * r["images"] for r in rows) / n for k in KEYS}
    print(f"| {name} | {n} | {100 * v['average_drop']:.2f}% "
          f"| {100 * v['increase_in_confidence']:.2f}% | {v['deletion_auc']:.4f} "
          f"| {v['insertion_auc']:.4f} | {v['road_morf']:.4f} | {v['road_lerf']:.4f} "
          f"| {v['map_cpu_ms']:.3f} |")
