# tests/lib.sh - helpers shared by the test scripts (sourced).
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# OpenBLAS 0.3.21 falls back to its slowest kernels on CPUs it does not know; every rank
# must use the same kernels anyway (precis-als logs and checks them)
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
# keep Open MPI quiet and local on CI machines without a network
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d /tmp/precis-test.XXXXXX)
[[ -n "${KEEP_TMP:-}" ]] && echo "keeping $TMP" || trap 'rm -rf "$TMP"' EXIT

# run N ARGS... : mpirun with N ranks and a hard timeout (a hang is a failure)
run() {
  local n=$1; shift
  timeout --signal=KILL 300 mpirun -np "$n" --oversubscribe "$@"
}

pass() { T_PASS=$((T_PASS + 1)); echo "  ok   $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "  FAIL $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# unmount DIR, waiting up to 10 s for the processes of a run that ended
# with MPI_Abort to let go of it (the launcher can return before every
# rank is gone; slower under the sanitizers), then lazily
unmount() {
  local i
  for i in $(seq 50); do umount "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "  (note: $1 still busy after 10 s; unmounted lazily)"
  umount -l "$1"
}
finish() {
  echo "  $T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
}
