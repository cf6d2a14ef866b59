#!/usr/bin/env python3
"""ResLab beside PyTorch on the same recipe: a table and the loss curves.

    python3 scripts/parity-report.py RESULTS_DIR [--svg docs/parity.svg]

RESULTS_DIR holds result JSONs named `reslab-<model>-s<seed>.json` (the CLI's
`reslab train --out`) and `torch-<model>-s<seed>.json` (the PyTorch reference
trainer's `--out`). Both carry every step's training loss (`steps`) and the
final `test_accuracy`. Prints a Markdown table per model: test accuracy per
seed, mean and spread (sample standard deviation) on each side, the gap of the
means, and the training loss averaged over windows of steps, so the curves can
be compared in numbers as well as in the SVG.

Standard library only, so it runs wherever the CLI does.
"""

import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

WINDOWS = [(1, 50), (51, 100), (101, 250), (251, 500), (501, 750), (751, 1000)]
COLOURS = {"reslab": "#0072B2", "torch": "#D55E00"}


def load(folder):
    """{(side, model): {seed: result}}"""
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        m = re.fullmatch(r"(reslab|torch)-(\w+)-s(\d+)\.json", os.path.basename(path))
        if not m:
            continue
        with open(path) as fh:
            r = json.load(fh)
        if r.get("status") != "finished" or r.get("test_accuracy") is None:
            print(f"skipped {path}: status {r.get('status')}", file=sys.stderr)
            continue
        runs.setdefault((m[1], m[2]), {})[int(m[3])] = r
    return runs


def losses(result):
    """[(step, loss)] from `steps` (ResLab and the reference both write every step)."""
    return [(p["step"], p["loss"]) for p in result.get("steps", []) if p.get("loss") is not None]


def window_mean(points, lo, hi):
    v = [l for s, l in points if lo <= s <= hi]
    return sum(v) / len(v) if v else None


def mean_spread(values):
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt_pct(x):
    return "—" if x is None else f"{100 * x:.2f} %"


def table(runs):
    out = []
    models = sorted({m for _, m in runs})
    for model in models:
        sides = {side: runs.get((side, model), {}) for side in ("reslab", "torch")}
        out.append(f"### {model}\n")
        out.append("| | seeds | test accuracy per seed | mean ± spread |")
        out.append("|---|---|---|---|")
        means = {}
        for side, by_seed in sides.items():
            accs = [by_seed[s]["test_accuracy"] for s in sorted(by_seed)]
            mean, sd = mean_spread(accs)
            means[side] = mean
            per = ", ".join(f"{s}: {fmt_pct(by_seed[s]['test_accuracy'])}" for s in sorted(by_seed)) or "—"
            ms = "—" if mean is None else f"{100 * mean:.2f} ± {100 * sd:.2f} %"
            out.append(f"| {'ResLab' if side == 'reslab' else 'PyTorch'} | {len(accs)} | {per} | {ms} |")
        if means["reslab"] is not None and means["torch"] is not None:
            out.append(f"\nGap of the means (ResLab − PyTorch): {100 * (means['reslab'] - means['torch']):+.2f} pp.\n")
        head = "| training loss, steps | " + " | ".join(f"{lo}–{hi}" for lo, hi in WINDOWS) + " |"
        out.append(head)
        out.append("|---" * (len(WINDOWS) + 1) + "|")
        for side, by_seed in sides.items():
            for seed in sorted(by_seed):
                pts = losses(by_seed[seed])
                cells = [window_mean(pts, lo, hi) for lo, hi in WINDOWS]
                name = f"{'ResLab' if side == 'reslab' else 'PyTorch'} seed {seed}"
                out.append(f"| {name} | " + " | ".join("—" if c is None else f"{c:.3f}" for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def smooth(points, k=20):
    """Mean over the last k steps, so seed noise does not hide the curve."""
    out, acc = [], []
    for s, l in points:
        acc.append(l)
        if len(acc) > k:
            acc.pop(0)
        out.append((s, sum(acc) / len(acc)))
    return out


def svg(runs, path):
    models = sorted({m for _, m in runs})
    w, h, pad = 420, 260, 40
    panels = []
    all_pts = [p for r in runs.values() for res in r.values() for p in losses(res)]
    if not all_pts:
        return
    xmax = max(s for s, _ in all_pts)
    ymax = min(3.0, max(l for _, l in all_pts))
    for i, model in enumerate(models):
        x0 = i * (w + 10)
        lines = [f'<g transform="translate({x0},0)">',
                 f'<rect x="{pad}" y="10" width="{w - pad - 10}" height="{h - pad - 10}" fill="none" stroke="#999"/>',
                 f'<text x="{w / 2}" y="{h - 5}" text-anchor="middle" font-size="12">{model}: training loss (mean of 20 steps) vs step</text>']
        for t in range(0, int(ymax) + 1):
            y = 10 + (h - pad - 10) * (1 - t / ymax)
            lines.append(f'<text x="{pad - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{t}</text>')
        for q in range(5):
            step = round(xmax * q / 4)
            x = pad + (w - pad - 10) * step / xmax
            lines.append(f'<text x="{x:.1f}" y="{h - pad + 12}" text-anchor="middle" font-size="10">{step}</text>')
        for side in ("torch", "reslab"):
            for seed, res in sorted(runs.get((side, model), {}).items()):
                pts = smooth(losses(res))
                d = " ".join(f"{pad + (w - pad - 10) * s / xmax:.1f},{10 + (h - pad - 10) * (1 - min(l, ymax) / ymax):.1f}" for s, l in pts)
                lines.append(f'<polyline fill="none" stroke="{COLOURS[side]}" stroke-width="1" opacity="0.8" points="{d}"/>')
        lines.append("</g>")
        panels.append("\n".join(lines))
    legend = (f'<text x="{pad}" y="{h + 14}" font-size="12" fill="{COLOURS["reslab"]}">ResLab (CPU backend)</text>'
              f'<text x="{pad + 170}" y="{h + 14}" font-size="12" fill="{COLOURS["torch"]}">PyTorch reference</text>')
    total_w = len(models) * (w + 10)
    with open(path, "w") as fh:
        fh.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{h + 24}" font-family="sans-serif">\n'
                 f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(panels) + "\n" + legend + "\n</svg>\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--svg", default=None, help="write the loss curves here")
    a = p.parse_args()
    runs = load(a.folder)
    if not runs:
        sys.exit(f"no finished result JSONs in {a.folder}")
    print(table(runs))
    if a.svg:
        svg(runs, a.svg)
        print(f"curves: {a.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
