#!/usr/bin/env bash
# Sets up (dependencies, build) and runs the demo experiment end to end: trains the tiny backbone on
# moving-shapes (once; cached), samples with DDIM, DPM-Solver++ and UniPC at 10 and 20 steps over a few
# seeds, scores every cell, and writes runs/demo/{report.md, cells.csv, samples/, plot.png}.
# Extra arguments go to `vdlab run`, for example: scripts/demo.sh seeds=[0]
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo is one process that owns the cores: OpenMP's default wait policy (spin briefly, then sleep)
# trains the tiny backbone twice as fast as OMP_WAIT_POLICY=passive here (bench_train_tiny, 2 threads:
# 10.5 vs 5.2 steps/s). Set passive yourself when other work shares the cores.
./scripts/install-deps.sh
./scripts/build.sh
out=${VDLAB_DEMO_OUT:-runs/demo}
start=$(date +%s)
./build/runners/vdlab run experiments/demo.yaml --out "$out" "$@"
/usr/bin/python3 scripts/plot_cells.py "$out" --x sampler.steps --group sampler.name --out "$out/plot.png"
echo "demo: finished in $(( $(date +%s) - start )) s after the build; see $out/report.md, $out/samples/grid.png and $out/plot.png"
