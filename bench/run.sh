#!/usr/bin/env bash
# bench/run.sh BIN - throughput against a reference measured in the same run.
# Prints ratios and the peak RSS of every rank. Never run by the tests.
set -euo pipefail
BIN=${1:-bin}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for b in bench/bench_*.sh; do
  echo "== $b"
  bash "$b" "$BIN"
done
