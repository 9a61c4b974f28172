#!/usr/bin/env bash
# tests/run-asan-smoke.sh BUILD BIN - part of `make check`: the unit tests and an
# np=2 smoke run (generator, tokenizer, shuffle, h5io) under ASan + UBSan.
set -euo pipefail
BUILD=${1:-build-asan} BIN=${2:-bin-asan}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source tests/sanitizers.sh
T=$(mktemp -d /tmp/precis-asan.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "== sanitizer smoke (ASan + UBSan + LSan)"
# through mpirun: LSan's tracer can crash in an MPI singleton (Open MPI's own threads)
for t in "$BUILD"/tests/test_*; do
  timeout --signal=KILL 300 mpirun -np 1 "$t" > "$T/unit.log" 2>&1 || { echo "  FAIL $(basename "$t")"; tail -30 "$T/unit.log"; exit 1; }
  echo "  ok   $(basename "$t")"
done
run2() { timeout --signal=KILL 300 mpirun -np 2 --oversubscribe "$@"; }
run2 "$BIN/precis-gen" --customers 2000 --seed 3 --dirty 0.05 --out "$T/g" 2> "$T/gen.log" || { echo "  FAIL precis-gen np=2"; tail -30 "$T/gen.log"; exit 1; }
echo "  ok   precis-gen np=2"
run2 "$BIN/precis-tokenize" --in "$T/g/customers-part-00000.csv" --id-column customer_id --phone-column phone \
  --pii-key "$T/g/pii.key" --out "$T/tk.csv" 2> "$T/tk.log" || { echo "  FAIL precis-tokenize np=2"; tail -30 "$T/tk.log"; exit 1; }
echo "  ok   precis-tokenize np=2"
install -m 0600 "$T/g/pii.key" "$T/key"
mkdir -p "$T/c"
run2 "$BIN/precis-clean" --in "$T/g" --pii-key "$T/key" --out "$T/c/clean.h5" --max-reject-rate 0.2 2> "$T/clean.log" || { echo "  FAIL precis-clean np=2"; tail -30 "$T/clean.log"; exit 1; }
echo "  ok   precis-clean np=2"
run2 "$BIN/precis-rfm" --in "$T/c/clean.h5" --out "$T/c/features.h5" 2> "$T/rfm.log" || { echo "  FAIL precis-rfm np=2"; tail -30 "$T/rfm.log"; exit 1; }
echo "  ok   precis-rfm np=2"
run2 "$BIN/precis-kmeans" --in "$T/c/features.h5" --k 4 --out "$T/c/segments.h5" 2> "$T/km.log" || { echo "  FAIL precis-kmeans np=2"; tail -30 "$T/km.log"; exit 1; }
echo "  ok   precis-kmeans np=2"
run2 "$BIN/precis-als" --in "$T/c/clean.h5" --factors 8 --iterations 2 --holdout last:1 --max-replicated-mb 0 --out "$T/c/recs.h5" 2> "$T/als.log" || { echo "  FAIL precis-als np=2"; tail -30 "$T/als.log"; exit 1; }
echo "  ok   precis-als np=2"
PRECIS_SHUFFLE_CHUNK=5 run2 "$BUILD/tests/t_shuffle" > "$T/sh.log" 2>&1 || { echo "  FAIL t_shuffle np=2"; tail -30 "$T/sh.log"; exit 1; }
echo "  ok   t_shuffle np=2"
run2 "$BUILD/tests/t_h5io" write "$T/h.h5" > "$T/h.log" 2>&1 && run2 "$BUILD/tests/t_h5io" read "$T/h.h5" >> "$T/h.log" 2>&1 \
  || { echo "  FAIL t_h5io np=2"; tail -30 "$T/h.log"; exit 1; }
echo "  ok   t_h5io np=2"
run2 "$BUILD/tests/t_csv" "$T"/g/transactions-part-*.csv > /dev/null 2> "$T/csv.log" || { echo "  FAIL t_csv np=2"; tail -30 "$T/csv.log"; exit 1; }
echo "  ok   t_csv np=2"
