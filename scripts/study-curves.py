#!/usr/bin/env python3
"""A study's curves as one SVG: training loss per step and validation
accuracy per epoch, one line per run, one row of panels per dataset.

    python3 scripts/study-curves.py RESULTS_DIR --svg curves.svg [--title TEXT]

RESULTS_DIR holds result JSONs as `reslab train --preset ID --out DIR` writes
them (or the page's exported runs, one per file). The loss is the mean of the
last 20 steps at each step, as the page's chart smooths it, so batch noise
does not hide the trend. Standard library only, so it runs wherever the CLI
does.
"""

import argparse
import glob
import json
import math
import os
import sys

# Okabe-Ito: told apart by colour-blind readers too.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
W, H, PAD = 430, 250, 44


def load(folder):
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as fh:
            r = json.load(fh)
        if not isinstance(r, dict) or "config" not in r:
            continue
        runs.append(r)
    return runs


def smooth(values, k=20):
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def label_of(r):
    """The run's label without the dataset, which the panel title gives."""
    text = r.get("label") or r["config"].get("model", "?")
    parts = [p for p in text.split(" · ") if p != r["config"].get("dataset")]
    return " · ".join(parts) or text


def panel(x0, y0, title, series, xlabel, ymin, ymax, yfmt):
    """series: [(colour, [(x, y)])]. Returns SVG elements."""
    pw, ph = W - PAD - 10, H - PAD - 24
    xmax = max((x for _, pts in series for x, _ in pts), default=1) or 1
    sx = lambda x: x0 + PAD + pw * x / xmax
    sy = lambda y: y0 + 20 + ph * (1 - (min(max(y, ymin), ymax) - ymin) / (ymax - ymin))
    out = [f'<rect x="{x0 + PAD}" y="{y0 + 20}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
           f'<text x="{x0 + PAD}" y="{y0 + 13}" font-size="12">{title}</text>',
           f'<text x="{x0 + PAD + pw / 2}" y="{y0 + H - 8}" text-anchor="middle" font-size="11">{xlabel}</text>']
    for q in range(5):
        y = ymin + (ymax - ymin) * q / 4
        out.append(f'<text x="{x0 + PAD - 4}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="10">{yfmt(y)}</text>')
        x = xmax * q / 4
        out.append(f'<text x="{sx(x):.1f}" y="{y0 + 20 + ph + 13}" text-anchor="middle" font-size="10">{round(x)}</text>')
    for colour, pts in series:
        if len(pts) == 1:
            x, y = pts[0]
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>')
        elif pts:
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.4" points="{d}"/>')
    return out


def svg(runs, title):
    datasets = list(dict.fromkeys(r["config"].get("dataset", "?") for r in runs))
    names = list(dict.fromkeys(label_of(r) for r in runs))
    colour = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    parts, y0 = [f'<text x="{PAD}" y="16" font-size="14" font-weight="bold">{title}</text>'], 24
    for ds in datasets:
        mine = [r for r in runs if r["config"].get("dataset", "?") == ds]
        loss_series, acc_series, top = [], [], 0.0
        for r in mine:
            pts = [(p["step"], p["loss"]) for p in r.get("steps", []) if isinstance(p.get("loss"), (int, float))]
            ys = smooth([l for _, l in pts])
            loss_series.append((colour[label_of(r)], [(s, y) for (s, _), y in zip(pts, ys)]))
            top = max([top] + ys)
            acc = [(e["epoch"], e["val_accuracy"]) for e in r.get("epochs", []) if isinstance(e.get("val_accuracy"), (int, float))]
            acc_series.append((colour[label_of(r)], acc))
        ymax = min(3.5, math.ceil(top * 2) / 2) if top > 0 else 1.0
        parts += panel(0, y0, f"{ds}: training loss (mean of 20 steps)", loss_series, "step", 0.0, ymax, lambda v: f"{v:.2f}".rstrip("0").rstrip("."))
        parts += panel(W + 10, y0, f"{ds}: validation accuracy", acc_series, "epoch", 0.0, 1.0, lambda v: f"{100 * v:.0f}%")
        y0 += H + 6
    legend_y = y0 + 6
    x = PAD
    for n in names:
        parts.append(f'<rect x="{x}" y="{legend_y}" width="14" height="4" fill="{colour[n]}"/>')
        parts.append(f'<text x="{x + 18}" y="{legend_y + 6}" font-size="11">{n}</text>')
        x += 26 + 7 * len(n)
    width, height = 2 * W + 20, legend_y + 16
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--svg", required=True, help="write the curves here")
    p.add_argument("--title", default=None)
    a = p.parse_args()
    runs = load(a.folder)
    if not runs:
        sys.exit(f"no result JSONs in {a.folder}")
    with open(a.svg, "w") as fh:
        fh.write(svg(runs, a.title or os.path.basename(os.path.normpath(a.folder))))
    print(f"curves: {a.svg} ({len(runs)} runs)", file=sys.stderr)


if __name__ == "__main__":
    main()
