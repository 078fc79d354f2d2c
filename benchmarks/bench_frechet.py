#!/usr/bin/python3
"""The scipy side of benchmarks/bench_frechet.cpp: times pytorch-fid's Frechet distance (scipy.linalg.sqrtm
of S1 @ S2) on the statistics the C++ side wrote, and prints one JSON line.

Usage (the benchmark calls it): /usr/bin/python3 benchmarks/bench_frechet.py STATS.bin REPEATS
STATS.bin: int64 dim, then mu1 [dim], S1 [dim, dim], mu2 [dim], S2 [dim, dim] as float64.
"""
import json
import os
import sys
import time

import numpy as np
import scipy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "reference"))
from metrics_frechet import fd_scipy  # noqa: E402


def blas_name():
    try:
        from threadpoolctl import threadpool_info
        return ",".join(sorted({i.get("internal_api", "?") for i in threadpool_info()}))
    except ImportError:
        return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")


def main():
    path, repeats = sys.argv[1], int(sys.argv[2])
    raw = np.fromfile(path, dtype=np.float64)
    d = int(raw[:1].view(np.int64)[0])
    parts = np.split(raw[1:], np.cumsum([d, d * d, d]))
    mu1, s1, mu2, s2 = parts[0], parts[1].reshape(d, d), parts[2], parts[3].reshape(d, d)
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fd_scipy(mu1, s1, mu2, s2)
        times.append(time.perf_counter() - start)
    print(json.dumps({"value": value, "seconds": sorted(times)[len(times) // 2], "all_seconds": times,
                      "scipy": scipy.__version__, "numpy": np.__version__, "blas": blas_name()}))


if __name__ == "__main__":
    main()
