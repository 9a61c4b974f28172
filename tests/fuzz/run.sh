#!/usr/bin/env bash
# tests/fuzz/run.sh DIR replay|explore - the libFuzzer targets built in DIR.
#   replay (part of `make check`): every input of tests/fuzz/corpus/<target>
#     once, then FUZZ_RUNS_<target> new inputs made from them with a fixed
#     seed (the same inputs on every run of the same build). Any failed
#     check, sanitizer report or timeout fails the suite.
#   explore (`make fuzz`): FUZZ_SECONDS (default 300) per target, with a
#     time seed; what it adds goes to DIR/corpus-<target> (copy what it
#     finds worth keeping into tests/fuzz/corpus after a merge), crashes to
#     DIR/crash-*.
set -uo pipefail
DIR=${1:?usage: run.sh DIR replay|explore}
MODE=${2:-replay}
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source tests/sanitizers.sh
# Open MPI's own handler for SIGABRT and SIGSEGV would end the process
# before libFuzzer keeps the input that failed
export OMPI_MCA_opal_signal=
FUZZ_RUNS_csv=${FUZZ_RUNS_csv:-2000}
FUZZ_RUNS_date=${FUZZ_RUNS_date:-200000}
FUZZ_RUNS_num=${FUZZ_RUNS_num:-200000}
FUZZ_RUNS_pii=${FUZZ_RUNS_pii:-200000}
T=$(mktemp -d /tmp/precis-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT
status=0
echo "== fuzz targets ($MODE, built in $DIR)"
for t in csv date num pii; do
  bin="$DIR/fuzz_$t" corpus="tests/fuzz/corpus/$t"
  n=$(ls "$corpus" | wc -l)
  if [ "$MODE" = explore ]; then
    mkdir -p "$DIR/corpus-$t"
    "$bin" -max_len=4096 -timeout=10 -max_total_time="${FUZZ_SECONDS:-300}" -print_final_stats=1 \
      -artifact_prefix="$DIR/" "$DIR/corpus-$t" "$corpus" > "$DIR/fuzz_$t.log" 2>&1
    rc=$?
  else
    runs=FUZZ_RUNS_$t
    mkdir -p "$T/new-$t"
    # new inputs go to the first directory (a scratch one), never into the repository
    timeout --signal=KILL 600 "$bin" -seed=1 -runs="${!runs}" -max_len=4096 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$T/" "$T/new-$t" "$corpus" > "$T/fuzz_$t.log" 2>&1
    rc=$?
    cp "$T/fuzz_$t.log" "$DIR/fuzz_$t.log"
  fi
  execs=$(grep -o 'number_of_executed_units: [0-9]*' "$DIR/fuzz_$t.log" | grep -o '[0-9]*$')
  if [ $rc = 0 ] && [ -n "$execs" ]; then
    echo "  ok   fuzz_$t: $n corpus inputs, $execs inputs run in all, every check held"
  else
    echo "  FAIL fuzz_$t (exit $rc): see $DIR/fuzz_$t.log"
    grep -E 'ERROR|SUMMARY|check failed|differs|Test unit written|^Base64' "$DIR/fuzz_$t.log" | head -10
    for a in "$T"/crash-* "$T"/timeout-* "$T"/leak-*; do [ -f "$a" ] && cp "$a" "$DIR/"; done
    status=1
  fi
done
exit $status
