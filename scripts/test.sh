#!/usr/bin/env bash
# Sets up (dependencies, build) and runs the test suite: every label but `gpu`.
# Extra arguments go to ctest, for example: scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that spin while waiting steal the cores from each other and from parallel tests:
# training ran 10-50x slower under load without this.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -LE gpu -j "$(nproc)" --timeout 900 "$@"
