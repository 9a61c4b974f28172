#!/usr/bin/env bash
# tests/slurm/run.sh - a real single-node Slurm (munge, slurmctld, slurmd)
# started here, running slurm/pipeline.sbatch with sbatch on 3 tasks; the
# outputs must equal an mpirun run at np=1. Slurm is stopped by PID.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
H=$(dirname "$0")
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  fail "slurm-wlm and munge are not installed (scripts/install-deps.sh installs them)"; finish; exit 1
fi
S="$TMP/slurm"
chmod 0755 "$TMP"   # munged runs as the munge user and must reach its directory
trap 'bash "$H/slurm-down.sh" "$S"; rm -rf "$TMP"' EXIT
if bash "$H/slurm-up.sh" "$S" > "$TMP/up.log" 2>&1; then pass "slurm started (munged, slurmctld, slurmd)"
else fail "slurm did not start"; cat "$TMP/up.log"; finish; exit 1; fi
export SLURM_CONF="$S/slurm.conf"
run 2 $BIN/precis-gen --customers 3000 --seed 31 --dirty 0.01 --out "$TMP/g" 2>/dev/null || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/key"
mkdir -p "$TMP/ref"
run 1 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/key" --out "$TMP/ref/clean.h5" --max-reject-rate 0.05 >/dev/null 2>&1 || fail "reference clean"
run 1 $BIN/precis-rfm --in "$TMP/ref/clean.h5" --out "$TMP/ref/features.h5" >/dev/null 2>&1 || fail "reference rfm"
run 1 $BIN/precis-kmeans --in "$TMP/ref/features.h5" --out "$TMP/ref/segments.h5" --k 8 >/dev/null 2>&1 || fail "reference kmeans"
run 1 $BIN/precis-als --in "$TMP/ref/clean.h5" --out "$TMP/ref/recs.h5" --iterations 5 >/dev/null 2>&1 || fail "reference als"
set +e
timeout 300 sbatch --wait -N 1 -n 3 --overcommit -o "$TMP/job.out" --chdir "$PWD" --export=ALL,PRECIS_BIN="$(cd "$BIN" && pwd)",CLEAN_OPTS="--max-reject-rate 0.05",ALS_OPTS="--iterations 5" \
  slurm/pipeline.sbatch "$TMP/g" "$TMP/key" "$TMP/out" > "$TMP/sbatch.log" 2>&1
rc=$?
set -e
expect_eq "sbatch --wait slurm/pipeline.sbatch on 3 tasks exits 0" "$rc" "0"
[ $rc -eq 0 ] || { tail -20 "$TMP/job.out" "$TMP/sbatch.log" 2>/dev/null; }
grep -q "pipeline done" "$TMP/job.out" 2>/dev/null && pass "the job ran every step" || fail "job log: $(tail -3 "$TMP/job.out" 2>/dev/null)"
for f in clean.h5 features.h5 segments.h5 recs.h5; do
  # the quality report names the output paths, which differ here by design
  out=$($PY "$H/../h5same.py" "$TMP/ref/$f" "$TMP/out/$f" --ignore quality/report 2>&1 | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "$f under srun (3 tasks) identical to mpirun np=1 ($out)" || fail "$f: $out"
done
finish
