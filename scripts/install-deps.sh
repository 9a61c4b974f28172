#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages Precis needs to build, test and run.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libgsl-dev libcmocka-dev
  libopenblas-dev liblapacke-dev
  libssl-dev librandom123-dev libjansson-dev libdeflate-dev zlib1g-dev libzstd-dev liblzma-dev libbz2-dev liblz4-dev libzip-dev tzdata
  zstd xz-utils bzip2 lz4
  python3 python3-numpy python3-scipy python3-h5py python3-pandas python3-sklearn python3-phonenumbers bc
  slurm-wlm munge
  clang libclang-rt-14-dev
  gcc-aarch64-linux-gnu
)
# Sanitizer runtimes ship with gcc (libasan8, libubsan1) on Debian 12; clang and
# libclang-rt-14-dev (libFuzzer) build the fuzz targets of tests/fuzz;
# gcc-aarch64-linux-gnu compiles every C file for aarch64 (tests/cross); the
# zstd, xz-utils, bzip2 and lz4 tools make the compressed inputs the tests read.

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
