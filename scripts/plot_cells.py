#!/usr/bin/env python3
"""Plots every metric of a vdlab run against one config field, one line per value of another.

Reads the cell files (cells/*.h5) with h5py only, so it also shows how to use results without vdlab:
    /usr/bin/python3 scripts/plot_cells.py runs/demo --x sampler.steps --group sampler.name --out plot.png
Field paths are looked up in the cell's variant config first, then in the whole config.
"""
import argparse
import collections
import glob
import json
import math
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def lookup(config, path):
    for root in (config.get("variant", {}), config):
        node = root
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--x", default="sampler.steps")
    ap.add_argument("--group", default="sampler.name")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    # metric -> group -> x -> [values over seeds]
    data = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
    files = sorted(glob.glob(os.path.join(args.run_dir, "cells", "*.h5")))
    if not files:
        raise SystemExit(f"plot_cells: no cell files under {args.run_dir}/cells")
    for path in files:
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["config"])
            x, group = lookup(config, args.x), lookup(config, args.group)
            for key in f["metrics"]:
                g = f["metrics"][key]
                if g.attrs["skipped"]:
                    continue
                data[g.attrs["key"]][str(group)][x].append(float(g.attrs["value"]))

    metrics = sorted(data)
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for group, points in sorted(data[metric].items()):
            xs = sorted(points)
            means = [sum(points[x]) / len(points[x]) for x in xs]
            ax.plot(xs, means, marker="o", label=group)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel(args.x)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{os.path.basename(os.path.normpath(args.run_dir))}: mean over seeds", fontsize=11)
    fig.tight_layout()
    out = args.out or os.path.join(args.run_dir, "plot.png")
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)
    print(f"plot_cells: {out}")


if __name__ == "__main__":
    main()
