#!/usr/bin/env bash
# Sets up (dependencies, build) and runs the test suite: every label but `gpu`.
# Extra arguments go to ctest, for example: scripts/test.sh -L unit
# scripts/test.sh --sanitize [ctest arguments]: the tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-sanitize/ (scripts/sanitize/run.sh): the unit tests, then the
# integration tests, unless ctest arguments choose others.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=1
  shift
fi
# OpenMP threads that spin while waiting steal the cores from each other and from parallel tests:
# training ran 10-50x slower under load without this.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
./scripts/install-deps.sh
if [ "$sanitize" -eq 1 ]; then
  exec ./scripts/sanitize/run.sh "$@"
fi
./scripts/build.sh
cd build
ctest --output-on-failure -LE gpu -j "$(nproc)" --timeout 900 "$@"
