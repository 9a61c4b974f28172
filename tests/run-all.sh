#!/usr/bin/env bash
# tests/run-all.sh BUILD BIN - every test: unit (cmocka), MPI (np=1..4), jobs, Slurm.
# With PRECIS_ASAN=1 the binaries are the sanitizer build (make asan).
set -uo pipefail
export BUILD=${1:-build} BIN=${2:-bin}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ "${PRECIS_ASAN:-0}" = 1 ]; then
  source tests/sanitizers.sh
  export GEN_CUSTOMERS=5000
fi
status=0
start=$(date +%s)
echo "== unit tests (cmocka, serial)"
for t in "$BUILD"/tests/test_*; do
  # through mpirun -np 1: under LSan an MPI singleton can crash LSan's tracer
  if timeout --signal=KILL 300 mpirun -np 1 "$t" > "$BUILD/$(basename "$t").log" 2>&1; then
    echo "  ok   $(basename "$t") ($(grep -c '\[       OK \]' "$BUILD/$(basename "$t").log") cases)"
  else
    echo "  FAIL $(basename "$t")"; tail -20 "$BUILD/$(basename "$t").log"; status=1
  fi
done
for suite in tests/mpi/run.sh tests/jobs/run.sh tests/clean/run.sh tests/rfm/run.sh tests/kmeans/run.sh tests/als/run.sh tests/slurm/run.sh; do
  [ -f "$suite" ] || continue
  echo "== $suite"
  bash "$suite" > "$BUILD/suite.log" 2>&1 || status=1
  grep -v -E "^(-{20,}|Primary job  terminated normally|a non-zero exit code|Per user-direction|mpirun detected|the job to be terminated|  Process name|  Exit code|$)" "$BUILD/suite.log" || true
done
echo "== all tests: $([ $status = 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
