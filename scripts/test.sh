#!/usr/bin/env bash
# Sets up (dependencies, build) and runs the test suite: every label but `gpu`.
# Extra arguments go to ctest, for example: scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -LE gpu -j "$(nproc)" --timeout 900 "$@"
