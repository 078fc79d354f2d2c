#!/usr/bin/env bash
# Builds vdlab with AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/ (VDLAB_SANITIZE,
# cmake/VdlabTargets.cmake) and runs tests under them: the unit tests, then the integration tests, or
# what the arguments (ctest's, e.g. -L unit) select. Any sanitizer report fails the test that met it.
# Writes build-sanitize/sanitizer.json: commit, compiler, build and test seconds, tests run and failed,
# the sanitizer fixes in the history and the suppressions in force (scripts/sanitize/summary.py).
# Called by scripts/test.sh --sanitize, which installs the dependencies first.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=$root/build-sanitize
jobs=${VDLAB_BUILD_JOBS:-$(nproc)}

# Sanitizer options (env.sh), for the build too: gtest_discover_tests runs every test binary to list
# its tests.
source "$root/scripts/sanitize/env.sh"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
# VDLAB_SANITIZE_TESTS names the test binaries (by library) to build and run, all six by default; the
# build is those binaries, what they link and, for the runners tests, the vdlab command they run.
read -r -a binaries <<<"${VDLAB_SANITIZE_TESTS:-core datasets results methods metrics runners}"
targets=()
for b in "${binaries[@]}"; do
  targets+=("${b}_tests")
  [ "$b" = runners ] && targets+=(vdlab)
done
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVDLAB_SANITIZE=ON \
  -DVDLAB_BUILD_BENCHMARKS=OFF -DVDLAB_WERROR="${VDLAB_WERROR:-OFF}" -DVDLAB_TEST_BINARIES="$(IFS=';'; echo "${binaries[*]}")"
ninja_log_lines() { if [ -f "$build/.ninja_log" ]; then wc -l <"$build/.ninja_log"; else echo 0; fi; }
steps_before=$(ninja_log_lines)
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
# How many build steps (compiles, links) this run did: build_seconds is a full compile's only when
# this is all of them, not an incremental build's.
build_steps=$(($(ninja_log_lines) - steps_before))
[ "$build_steps" -ge 0 ] || build_steps=0  # ninja compacted its log
build_seconds=$(($(date +%s) - start))
# The compilers' CPU time (user + system of this script's finished children so far): what the build
# costs on cores of its own, whatever else shares them now. `times` must run in this shell: in a pipe or
# $(...) it reports the forked subshell's own (zero) children.
times >"$build/times.txt"
build_cpu_seconds=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$build/times.txt")

# The unit and then the integration tests, or one run of what the arguments select.
status=0
junits=()
labels=()
run_ctest() {  # LABEL CTEST_ARGUMENTS...
  local junit=$build/sanitize-junit-${#junits[@]}.xml
  rm -f "$junit"
  labels+=("$1")
  junits+=("$junit")
  shift
  (cd "$build" && ctest --output-on-failure -LE gpu -j "$(nproc)" --timeout 1800 --output-junit "$junit" "$@") || status=1
}
start=$(date +%s)
if [ $# -gt 0 ]; then
  run_ctest "$*" "$@"
else
  run_ctest unit -L '^unit$'
  run_ctest integration -L '^integration$'
fi
test_seconds=$(($(date +%s) - start))

summary=(--build "$build" --out "$build/sanitizer.json" --build-seconds "$build_seconds"
         --build-cpu-seconds "$build_cpu_seconds" --test-seconds "$test_seconds" --jobs "$jobs"
         --build-steps "$build_steps" --binaries "${binaries[*]}")
for i in "${!junits[@]}"; do
  summary+=("--label=${labels[$i]}" "--junit=${junits[$i]}")
done
/usr/bin/python3 "$root/scripts/sanitize/summary.py" "${summary[@]}"
exit $status
