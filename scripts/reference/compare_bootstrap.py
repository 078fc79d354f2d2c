#!/usr/bin/python3
"""Brute-force check of `vdlab compare`'s paired bootstrap intervals, from the sweep files alone.

Reads the candidate's and the baseline's sweep.h5 (h5py, no vdlab), matches values on (dataset split,
metric key, seed) for each row of comparison.csv, builds the same groups (per seed: the per-sample
differences when both sides have per-sample values of one length, else the one set-level difference),
and resamples them with the documented stream (results/bootstrap.h): splitmix64 from --seed, an index in
[0, n) is next() % n, per replicate for each of the G groups one group index then that group's n sample
indices; interval = numpy.quantile of the replicate means (linear). Prints one line per row and exits
non-zero on any disagreement beyond --tol.

usage: compare_bootstrap.py CANDIDATE.h5 BASELINE.h5 COMPARISON.csv --replicates R --seed S [--confidence C]
"""
import argparse
import json
import sys

import h5py
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def splitmix64_stream(seed, count):
    """The first `count` outputs of splitmix64 from `seed` (its state is seed + k * GAMMA, mod 2^64)."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def paired_bootstrap(groups, replicates, confidence, seed):
    groups = [np.asarray(g, dtype=np.float64) for g in groups]
    n_groups = len(groups)
    longest = max(len(g) for g in groups)
    stream = splitmix64_stream(seed, replicates * n_groups * (1 + longest))
    pos = 0
    draws = np.empty(replicates)
    for r in range(replicates):
        means = np.empty(n_groups)
        for k in range(n_groups):
            g = groups[int(stream[pos] % np.uint64(n_groups))]
            pos += 1
            idx = (stream[pos:pos + len(g)] % np.uint64(len(g))).astype(np.int64)
            pos += len(g)
            means[k] = g[idx].mean()
        draws[r] = means.mean()
    estimate = np.mean([g.mean() for g in groups])
    low, high = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return estimate, low, high


def read_sweep(path):
    with h5py.File(path, "r") as f:
        t = f["table"]
        text = lambda c: [s.decode() if isinstance(s, bytes) else s for s in t[c][:]]
        rows = {
            "label": text("label"), "split_hash": text("split_hash"), "metric": text("metric"),
            "seed": t["seed"][:], "value": t["value"][:], "offset": t["per_sample_offset"][:], "n": t["n_samples"][:],
        }
        samples = f["per_sample/values"][:]
    out = {}
    for i in range(len(rows["label"])):
        key = (rows["label"][i], rows["split_hash"][i], rows["metric"][i], int(rows["seed"][i]))
        o, n = int(rows["offset"][i]), int(rows["n"][i])
        out[key] = (float(rows["value"][i]), samples[o:o + n])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("candidate")
    ap.add_argument("baseline")
    ap.add_argument("comparison_csv")
    ap.add_argument("--replicates", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args()
    cand, base = read_sweep(a.candidate), read_sweep(a.baseline)
    import csv
    bad = 0
    rows = list(csv.DictReader(open(a.comparison_csv)))
    for row in rows:
        seeds = [int(s) for s in row["seeds"].split()]
        groups = []
        for s in seeds:
            cv, cs = cand[(row["variant"], row["split_hash"], row["metric"], s)]
            bv, bs = base[(row["baseline_variant"], row["split_hash"], row["metric"], s)]
            groups.append(cs - bs if row["per_sample"] == "1" else np.array([cv - bv]))
        if row["ci_low"] == "nan":
            print("skip (no interval):", row["variant"], row["metric"])
            continue
        est, low, high = paired_bootstrap(groups, a.replicates, a.confidence, a.seed)
        got = [float(row["delta"]), float(row["ci_low"]), float(row["ci_high"])]
        want = [est, low, high]
        ok = all(abs(g - w) <= a.tol * max(1.0, abs(w)) for g, w in zip(got, want))
        bad += not ok
        print("ok " if ok else "BAD", row["variant"], "vs", row["baseline_variant"], row["metric"],
              json.dumps({"vdlab": got, "numpy": want}))
    if not rows:
        print("no rows"); sys.exit(1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
