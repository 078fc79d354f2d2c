#!/usr/bin/env bash
# Installs every dependency of vdlab from Debian's package repositories. Idempotent: packages already
# present are left alone, so a second run costs a few seconds.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries
  libtorch-dev python3-torch libopenblas0-pthread libopenblas-dev liblapacke-dev
  libhdf5-dev hdf5-tools libeigen3-dev libboost-program-options-dev libopencv-dev
  libyaml-cpp-dev nlohmann-json3-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgoogle-perftools-dev libcairo2-dev
  # data and tools for tests, fixtures and reports
  ffmpeg dataset-fashion-mnist opencv-doc
  python3-numpy python3-scipy python3-sklearn python3-h5py python3-matplotlib python3-regex
  python3-torchvision python3-pandas
  # headless browser for the report.html test
  chromium
  # single-node Slurm for the cluster tests
  slurm-wlm munge
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
