#!/usr/bin/python3
"""The Python torch side of benchmarks/bench_extract.cpp: runs the same TorchScript extractor on the same
uint8 clips, with the same batch and thread count, the way a Python FVD/FID script does (torch.no_grad,
uint8 [B, T, H, W, 3] permuted to the module's layout inside the timed loop), and prints one JSON line.

Usage (the benchmark calls it): /usr/bin/python3 benchmarks/bench_extract.py MODULE.pt video|image CLIPS.u8
    CLIPS FRAMES SIZE BATCH THREADS REPEATS
CLIPS.u8: CLIPS x FRAMES x SIZE x SIZE x 3 uint8, the clips the C++ side timed.
video: forward(x [B, 3, T, H, W] uint8, rescale=True, resize=True, return_features=True), B clips a call.
image: forward(img [N, 3, H, W] uint8, return_features=True), BATCH frames of one clip a call.
"""
import json
import sys
import time

import numpy as np
import torch


def main():
    path, kind, data = sys.argv[1], sys.argv[2], sys.argv[3]
    clips, frames, size, batch, threads, repeats = (int(v) for v in sys.argv[4:10])
    torch.set_num_threads(threads)
    module = torch.jit.load(path).eval()
    videos = torch.from_numpy(np.fromfile(data, dtype=np.uint8).reshape(clips, frames, size, size, 3))

    def one_pass():
        outs = []
        with torch.no_grad():
            if kind == "video":
                for b in range(0, clips, batch):
                    x = videos[b:b + batch].permute(0, 4, 1, 2, 3).contiguous()
                    outs.append(module(x, rescale=True, resize=True, return_features=True))
            else:
                for c in range(clips):
                    for f in range(0, frames, batch):
                        x = videos[c, f:f + batch].permute(0, 3, 1, 2).contiguous()
                        outs.append(module(x, return_features=True))
        return torch.cat(outs)

    features = one_pass()  # warm-up (the profiling executor optimises on the first calls)
    features = one_pass()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        features = one_pass()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    seconds = min(times)  # the best pass: other processes only add time
    print(json.dumps({"clips_per_second": clips / seconds, "clips_per_cpu_second": clips / min(cpu_times),
                      "seconds": seconds, "all_seconds": times,
                      "feature_sum": float(features.double().sum()), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
