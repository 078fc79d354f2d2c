#!/usr/bin/env bash
# Configures and builds vdlab in build/ (Release, ninja and ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DVDLAB_WERROR="${VDLAB_WERROR:-OFF}"
fi
cmake --build build -j "$(nproc)"
echo "vdlab: $(pwd)/build/runners/vdlab (to call it as vdlab: export PATH=$(pwd)/build/runners:\$PATH)"
