#!/usr/bin/python3
"""Reference NMI values for vdlab's fixture, from scikit-learn.

Regenerates real-valued arrays from small recipes with the counter-based splitmix64 generator of
metrics_frechet.py (tests/metrics/nmi_test.cpp reproduces it), bins them into fixed equal-width bins
(floor((v - lo) / (hi - lo) * bins), clamped to the first and last bin), and writes
tests/fixtures/metrics/nmi_reference.json with sklearn's normalized_mutual_info_score(
average_method="geometric") on the binned labels.

y = a * x + b * noise: a = 1, b = 0 is the identical case; a = 0 independent; values reach past [-1, 1]
to exercise the clamping. Run: /usr/bin/python3 scripts/reference/metrics_nmi.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import normalized_mutual_info_score

from metrics_frechet import FIXTURES, uniform

CASES = [
    {"name": "independent", "n": 4096, "seed_x": 101, "seed_noise": 102, "a": 0.0, "b": 1.0, "bins": 64, "lo": -1.0, "hi": 1.0},
    {"name": "correlated", "n": 4096, "seed_x": 103, "seed_noise": 104, "a": 0.8, "b": 0.3, "bins": 64, "lo": -1.0, "hi": 1.0},
    {"name": "strong_clamped", "n": 2000, "seed_x": 105, "seed_noise": 106, "a": 1.3, "b": 0.05, "bins": 64, "lo": -1.0, "hi": 1.0},
    {"name": "identical", "n": 1000, "seed_x": 107, "seed_noise": 108, "a": 1.0, "b": 0.0, "bins": 64, "lo": -1.0, "hi": 1.0},
    {"name": "few_bins", "n": 500, "seed_x": 109, "seed_noise": 110, "a": 0.5, "b": 0.5, "bins": 8, "lo": -0.5, "hi": 0.5},
    {"name": "y_constant", "n": 300, "seed_x": 111, "seed_noise": 112, "a": 0.0, "b": 0.0, "bins": 64, "lo": -1.0, "hi": 1.0},
]


def arrays(case):
    x = uniform(case["seed_x"], case["n"])
    noise = uniform(case["seed_noise"], case["n"])
    return x, case["a"] * x + case["b"] * noise


def binned(v, bins, lo, hi):
    return np.clip(np.floor((v - lo) / (hi - lo) * bins), 0, bins - 1).astype(np.int64)


def main():
    out = {"generator": "scripts/reference/metrics_nmi.py", "sklearn": sklearn.__version__, "cases": []}
    for case in CASES:
        x, y = arrays(case)
        lx = binned(x, case["bins"], case["lo"], case["hi"])
        ly = binned(y, case["bins"], case["lo"], case["hi"])
        value = normalized_mutual_info_score(lx, ly, average_method="geometric")
        out["cases"].append(dict(case, nmi=float(value)))
        print(case["name"], repr(float(value)))
    with open(os.path.join(FIXTURES, "nmi_reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
