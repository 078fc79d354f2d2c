#!/usr/bin/env bash
# Runs every reliability measurement and writes docs/reliability.md from their figures:
#   1. the sanitized tests (scripts/test.sh --sanitize)   -> results/reliability/sanitizer.json
#   2. the fuzzers, SECONDS each (scripts/fuzz.sh; clang) -> results/reliability/fuzz.json
#   3. the SIGKILL fault trials, N per scenario (scripts/fault-trials.sh) -> results/reliability/faults.json
#   4. scripts/reliability_page.py -> docs/reliability.md
# Usage: scripts/reliability.sh [--fuzz-seconds S (600)] [--kill-trials N (70)] [--skip sanitize,fuzz,faults]
# Hours of CPU on a 2-core machine with the defaults; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=600
kill_trials=70
skip=""
while [ $# -gt 0 ]; do
  case $1 in
    --fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
    --kill-trials) kill_trials=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reliability: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
wants() { [[ ",$skip," != *",$1,"* ]]; }
mkdir -p results/reliability
if wants sanitize; then
  ./scripts/test.sh --sanitize
  cp build-sanitize/sanitizer.json results/reliability/sanitizer.json
fi
wants fuzz && ./scripts/fuzz.sh "$fuzz_seconds"
if wants faults; then
  ./scripts/build.sh
  ./scripts/fault-trials.sh "$kill_trials"
fi
python3 scripts/reliability_page.py
