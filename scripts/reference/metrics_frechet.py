#!/usr/bin/python3
"""Reference Frechet distances for vdlab's fixtures, computed the way pytorch-fid and clean-fid do.

Reads tests/fixtures/metrics/frechet_cases.json (small recipes), regenerates each case's two feature
sets with a counter-based splitmix64 generator that tests/metrics/frechet_test.cpp reproduces bit for
bit, and writes tests/fixtures/metrics/frechet_reference.json with one number per case: the Frechet
distance of the unbiased (N - 1) statistics through scipy.linalg.sqrtm(S1 @ S2), real part taken, with
the 1e-6 offset retry when the product's root is not finite. Nothing large is committed: the 2048-dim
covariances are rebuilt from the recipe by both sides.

Run with Debian's interpreter: /usr/bin/python3 scripts/reference/metrics_frechet.py
The module's helpers (features, stats, fd_scipy) are also used by the benchmark's python side.
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.linalg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "metrics")

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
C1 = np.uint64(0xBF58476D1CE4E5B9)
C2 = np.uint64(0x94D049BB133111EB)


def uniform(seed, count):
    """count values in [-1, 1): value k = 2 * (mix64((seed << 40) ^ k) >> 11) / 2^53 - 1."""
    k = np.arange(count, dtype=np.uint64)
    z = (np.uint64(seed) << np.uint64(40)) ^ k
    with np.errstate(over="ignore"):
        z = z + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * C1
        z = (z ^ (z >> np.uint64(27))) * C2
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return 2.0 * u - 1.0


def features(case):
    """The two feature sets [n_a, dim] and [n_b, dim] of a recipe."""
    d, r = case["dim"], case["rank"]
    mix = uniform(case["seed_mix"], r * d).reshape(r, d) / np.sqrt(r)
    mix_b = mix + case["mix_b"] * uniform(case["seed_mix_b"], r * d).reshape(r, d) / np.sqrt(r)
    ga = uniform(case["seed_a"], case["n_a"] * r).reshape(case["n_a"], r)
    gb = uniform(case["seed_b"], case["n_b"] * r).reshape(case["n_b"], r)
    mean_b = case["shift"] * uniform(case["seed_b"] + 1000, d)
    return ga @ mix, gb @ mix_b + mean_b


def stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)  # unbiased, N - 1


def fd_scipy(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, restated: sqrtm of the product, real part."""
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def fd_symmetric(mu1, s1, mu2, s2):
    """The symmetric route vdlab uses, for comparison in the report only."""
    w, v = np.linalg.eigh(s1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(a @ s2 @ a)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2.0 * np.sqrt(np.clip(ev, 0, None)).sum())


def main():
    with open(os.path.join(FIXTURES, "frechet_cases.json")) as f:
        cases = json.load(f)["cases"]
    out = {"generator": "scripts/reference/metrics_frechet.py", "scipy": scipy.__version__,
           "numpy": np.__version__, "estimator": "unbiased", "values": {}}
    for case in cases:
        xa, xb = features(case)
        mu1, s1 = stats(xa)
        mu2, s2 = stats(xb)
        ref = fd_scipy(mu1, s1, mu2, s2)
        sym = fd_symmetric(mu1, s1, mu2, s2)
        out["values"][case["name"]] = ref
        print(f"{case['name']}: scipy {ref!r}  symmetric {sym!r}  rel {abs(ref - sym) / abs(ref):.3e}",
              file=sys.stderr)
    with open(os.path.join(FIXTURES, "frechet_reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
