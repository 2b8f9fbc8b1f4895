#!/usr/bin/env python3
"""The README's faithfulness tables from the evaluation JSONs of docs/faithfulness/run.sh.

One row per method, in the engine's order, then the random-map baseline (from the first
JSON holding it on the largest slice). Usage: table.py JSON... (prints Markdown)."""
import json
import sys

rows, order, random_row = {}, [], None
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    n = doc["dataset"]["evaluated"]
    for m in doc["faithfulness"]["methods"]:
        m = dict(m, slice=n, layer=m["layer"])
        if m["method"] == "random":
            if random_row is None or n > random_row["slice"]:
                random_row = m
            continue
        rows[m["method"]] = m
        order.append(m["method"])
print("| method | images | Average Drop | Increase in Confidence | deletion AUC | insertion AUC "
      "| ROAD MoRF | ROAD LeRF | map CPU ms / image |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in [rows[k] for k in dict.fromkeys(order)] + ([random_row] if random_row else []):
    print(f"| {m['method']} | {m['images']} | {100 * m['average_drop']:.2f}% "
          f"| {100 * m['increase_in_confidence']:.2f}% | {m['deletion_auc']:.4f} "
          f"| {m['insertion_auc']:.4f} | {m['road_morf']:.4f} | {m['road_lerf']:.4f} "
          f"| {m['map_cpu_ms']:.3f} |")
