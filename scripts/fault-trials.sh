#!/usr/bin/env bash
# SIGKILL fault trials: N seeded kills (per scenario) of `vdlab run` during cell writes, of `vdlab run`
# during backbone training, and of `vdlab collect`, each followed by a rerun to completion; counts lost
# finished files and partial files (defined in tests/runners/fault_support.h) and writes the figures to
#
#   scripts/fault-trials.sh N [OUT.json]     (default results/reliability/faults.json)
#
# VDLAB_KILL_SEED sets the seed (default 20261201). The trials are the KillTrialsIntegration tests of
# build/tests/runners_tests (tests/runners/kill_trials_integration_test.cpp) with VDLAB_KILL_TRIALS=N;
# ctest runs them with 3 trials each. A trial takes 2-10 s on 2 cores: N = 70 (210 trials) is about
# 30 minutes. The exit status is the tests': 0 when every trial lost nothing and left nothing partial.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: scripts/fault-trials.sh N [OUT.json]}
out=${2:-results/reliability/faults.json}
bin=build/tests/runners_tests
[ -x "$bin" ] || { echo "fault-trials: $bin is missing; build first (scripts/build.sh)" >&2; exit 2; }
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
start=$(date -u '+%Y-%m-%d %H:%M UTC')
code=0
OMP_WAIT_POLICY=passive VDLAB_KILL_TRIALS=$n VDLAB_FAULTS_OUT=$parts \
  "$bin" --gtest_filter='KillTrialsIntegration.*' || code=$?
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
mkdir -p "$(dirname "$out")"
python3 - "$parts" "$out" "$n" "$commit" "$start" "$(hostname), $(nproc) cores" <<'PY'
import json, os, sys
parts, out, n, commit, start, machine = sys.argv[1:]
scenarios = []
for name in ("cell-writes", "backbone-training", "collect"):
    path = os.path.join(parts, name + ".json")
    if os.path.exists(path):
        scenarios.append(json.load(open(path)))
total = {k: sum(s[k] for s in scenarios) for k in
         ("trials", "kills_landed", "lost_finished", "partial_files", "reruns_completed", "reruns_equal_to_uninterrupted")}
doc = {
    "what": "SIGKILL at seeded random moments, then a rerun to completion; lost_finished: finished files "
            "(cells, EMA snapshots, final weights) gone or changed after the kill or the rerun; partial_files: "
            "files not complete and readable after the kill, or temp files the rerun left (tests/runners/fault_support.h)",
    "command": "scripts/fault-trials.sh " + n,
    "commit": commit, "date": start, "machine": machine,
    "total": total, "scenarios": scenarios,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
print(json.dumps(total))
PY
exit $code
