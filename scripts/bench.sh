#!/usr/bin/env bash
# Runs vdlab's speed benchmarks, each against its Python counterpart in the same run, and writes one
# table with provenance (commit, machine, cores, threads, BLAS, allocator) so that a later change is
# compared against it:
#
#   scripts/bench.sh [OUT.md]        (default results/bench/bench.md; one to two minutes on 2 cores)
#
# Run it on an otherwise idle machine: other processes slow the two sides of a comparison unevenly.
# The benchmarks, one by one (build/benchmarks/):
#   bench_frechet            2048-dimensional Frechet distance against scipy's sqrtm (pytorch-fid)
#   bench_sampler_overhead   each sampler's arithmetic as a share of one tiny-UNet forward
#   bench_train_tiny         tiny-UNet training steps/s against Python torch, GFLOP/s against the ceiling
#   bench_extract            FVD/FID feature extraction clips/s against the same TorchScript in Python
# bench_metric_memory, bench_tiny_quality and bench_unipc_dynamic are longer and run on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/bench/bench.md}
bin=build/benchmarks
for b in bench_frechet bench_sampler_overhead bench_train_tiny bench_extract; do
  [ -x "$bin/$b" ] || { echo "bench: $bin/$b is missing; build first (scripts/build.sh)" >&2; exit 2; }
done
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp"' EXIT

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- . ":(exclude)$out" 2>/dev/null || commit="$commit-dirty"  # the table itself is not code
blas=$(readlink -f "$(ldconfig -p | awk '/libblas.so.3 /{print $NF; exit}')" 2>/dev/null || echo unknown)
alloc=$(grep -o 'VDLAB_ALLOCATOR:STRING=[a-z]*' build/CMakeCache.txt | cut -d= -f2 || true)
cores=$(nproc)
{
  echo "# vdlab benchmarks"
  echo
  echo "Regenerate: \`scripts/bench.sh\` (on an idle machine)."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| commit | $commit |"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| machine | $(hostname), $cores cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) |"
  echo "| BLAS | $blas |"
  echo "| allocator | ${alloc:-system} |"
  echo "| load average before | $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo
} > "$tmp"

section() {  # title, command...
  local title=$1
  shift
  echo "bench: $title" >&2
  {
    echo "## $title"
    echo
    echo "\`$*\`"
    echo
    echo '```'
    "$@" 2>&1 | grep -v '^\(Failed to match\|$\)' || true
    echo '```'
    echo
  } >> "$tmp"
}

section "Frechet distance, 2048 dimensions: vdlab against scipy" "$bin/bench_frechet" --repeats 3
section "Sampler arithmetic against one tiny-UNet forward" "$bin/bench_sampler_overhead" --benchmark_filter=NONE
section "Tiny-UNet training: C++ against Python torch, and the ceiling" \
  "$bin/bench_train_tiny" --threads "$cores" --steps 40 --batch 8 --frames 8 --size 32
section "Feature extraction: C++ against Python torch, same TorchScript" "$bin/bench_extract"
mv "$tmp" "$out"
trap - EXIT
echo "bench: wrote $out" >&2
