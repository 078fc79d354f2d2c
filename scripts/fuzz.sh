#!/usr/bin/env bash
# Fuzzes vdlab's readers of untrusted input with libFuzzer (fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds build-fuzz/ (clang, -fsanitize=fuzzer,address,undefined; only what the targets need) when
# needed, runs each target for SECONDS_PER_TARGET (default 60) on a scratch copy of its seed corpus
# (fuzz/corpus/<target>), one after another at low priority, and writes results/reliability/fuzz.json:
# per target the seconds, executions, corpus sizes, libFuzzer's coverage and the crashes found and still
# open (a crash input that still crashes the current build, from this run or fuzz/regressions/).
# Entries of targets not run this time are kept.
#
# Environment: VDLAB_FUZZ_JOBS (build jobs, default 2), VDLAB_FUZZ_BUILD=0 (run the fuzzers as built,
# while another build runs in build-fuzz/), VDLAB_FUZZ_REPORT_ONLY=1 (no fuzzing: the report of the last
# run's logs, its crash inputs and the regressions replayed with the fuzzers as built now, say after a fix), VDLAB_FUZZ_MERGE=1 (add the inputs that reach
# new coverage to fuzz/corpus/<target> when it stays at most 40 files), CC/CXX (default clang-14).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(experiment_yaml clip_store cell_file split_list clip_tokenizer)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (targets: ${all_targets[*]})" >&2; exit 2; }
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS_PER_TARGET must be a whole number, got '$seconds'" >&2; exit 2; }

build=build-fuzz
if [ ! -f $build/CMakeCache.txt ]; then
  # -O1 and line tables only: the sanitizers' usual setting, and the LibTorch-heavy libraries compile
  # in a fraction of the time -O3 -g would take.
  cmake -S . -B $build -G Ninja -DCMAKE_C_COMPILER="${CC:-clang-14}" -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -gline-tables-only" \
    -DVDLAB_FUZZ=ON -DVDLAB_BUILD_TESTS=OFF -DVDLAB_BUILD_BENCHMARKS=OFF -DVDLAB_ALLOCATOR=system
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
if [ "${VDLAB_FUZZ_BUILD:-1}" = 1 ]; then
  nice -n 10 cmake --build $build -j "${VDLAB_FUZZ_JOBS:-2}" --target "${build_targets[@]}"
fi

out=results/reliability/fuzz.json
mkdir -p results/reliability
work=$root/$build/fuzz-work
entries=()
for t in "${targets[@]}"; do
  fuzzer=$root/$build/fuzz/fuzz_$t
  dir=$work/$t
  if [ "${VDLAB_FUZZ_REPORT_ONLY:-0}" != 1 ]; then
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp fuzz/corpus/$t/* "$dir/corpus/"
    # libFuzzer stops at the first crash: run again with the time left, so that one crash does not end
    # the target's run (each crash input is kept under artifacts/).
    # The HDF5 targets' mutations rewrite whole files (fuzz/hdf5_mutator.cpp): room for them to grow.
    extra=()
    case $t in clip_store | cell_file) extra=(-max_len=65536) ;; esac
    left=$seconds
    part=0
    target_began=$(date +%s)
    while [ "$left" -gt 0 ] && [ "$part" -lt 20 ]; do
      part=$((part + 1))
      began=$(date +%s)
      echo "fuzz: $t for ${left}s (part $part)"
      (cd "$dir" && nice -n 10 "$fuzzer" -max_total_time="$left" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${extra[@]}" corpus >"log.$part" 2>&1) || true
      tail -n 8 "$dir/log.$part" | sed 's/^/  /'
      left=$((left - ($(date +%s) - began)))
      grep -q '^Done [0-9]* runs' "$dir/log.$part" && break  # ran to the end of its time
    done
    echo $(($(date +%s) - target_began)) >"$dir/seconds"
  fi
  start_files=$(ls fuzz/corpus/$t | wc -l)
  end_files=$(ls "$dir/corpus" | wc -l)
  # (a run without its seconds file: what libFuzzer says it ran)
  elapsed=$(cat "$dir/seconds" 2>/dev/null || grep -ho 'Done [0-9]* runs in [0-9]*' "$dir"/log.* | awk '{s += $5} END {print s + 0}')

  # Open crashes: this run's crash inputs and the committed regressions that the build still fails on.
  open=0
  found=0
  for f in "$dir"/artifacts/* "$root"/fuzz/regressions/$t/*; do
    [ -f "$f" ] || continue
    [ "$(basename "$f")" = README.md ] && continue
    case "$f" in "$dir"/artifacts/*) found=$((found + 1)) ;; esac
    if ! (cd "$dir" && "$fuzzer" -rss_limit_mb=2048 -timeout=10 "$f" >"$dir/replay.log" 2>&1); then
      open=$((open + 1))
      echo "fuzz: $t: still crashes on $f"
    fi
  done
  regressions=0
  [ -d fuzz/regressions/$t ] && regressions=$(find fuzz/regressions/$t -type f ! -name README.md | wc -l)

  entries+=("$(python3 - "$t" "$elapsed" "$start_files" "$end_files" "$found" "$open" "$regressions" "$dir" <<'EOF'
import glob, json, re, sys
t, seconds, start, end, found, open_, regressions, d = sys.argv[1:]
execs, cov = 0, 0
for log in sorted(glob.glob(d + "/log.*")):
    text = open(log, errors="replace").read()
    m = re.findall(r"^stat::number_of_executed_units:\s*(\d+)", text, re.M)
    if m: execs += int(m[-1])
    m = re.findall(r"\bcov: (\d+)", text)
    if m: cov = max(cov, int(m[-1]))
print(json.dumps({"target": t, "seconds": int(seconds), "executions": execs,
                  "exec_per_second": round(execs / max(1, int(seconds)), 1),
                  "corpus_files_start": int(start), "corpus_files_end": int(end), "coverage": cov,
                  "crashes_found": int(found), "crashes_open": int(open_), "regressions": int(regressions)}))
EOF
)")

  if [ "${VDLAB_FUZZ_MERGE:-0}" = 1 ]; then
    merged=$dir/merged
    rm -rf "$merged" && mkdir -p "$merged" && cp fuzz/corpus/$t/* "$merged/"
    before=$(ls "$merged" | wc -l)
    (cd "$dir" && nice -n 10 "$fuzzer" -merge=1 -rss_limit_mb=2048 -timeout=10 "$merged" corpus >merge.log 2>&1) || true
    after=$(ls "$merged" | wc -l)
    if [ "$after" -le 40 ]; then
      cp -n "$merged"/* fuzz/corpus/$t/
      echo "fuzz: $t: $((after - before)) new corpus files merged into fuzz/corpus/$t"
    else
      echo "fuzz: $t: merging would make $after corpus files (over 40): corpus left as it is"
    fi
  fi
done

python3 - "$out" "${entries[@]}" <<'EOF'
import json, os, sys
out, new = sys.argv[1], [json.loads(e) for e in sys.argv[2:]]
old = json.load(open(out)) if os.path.exists(out) else []
names = {e["target"] for e in new}
order = ["experiment_yaml", "clip_store", "cell_file", "split_list", "clip_tokenizer"]
merged = [e for e in old if e["target"] not in names] + new
merged.sort(key=lambda e: order.index(e["target"]) if e["target"] in order else len(order))
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(merged, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
for e in new:
    print(f"fuzz: {e['target']}: {e['seconds']} s, {e['executions']} executions ({e['exec_per_second']}/s), "
          f"corpus {e['corpus_files_start']} -> {e['corpus_files_end']}, cov {e['coverage']}, "
          f"crashes found {e['crashes_found']}, open {e['crashes_open']}")
print(f"fuzz: wrote {out}")
EOF
