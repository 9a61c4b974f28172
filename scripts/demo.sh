#!/usr/bin/env bash
# scripts/demo.sh BIN - run the pipeline that exists so far on datasets/sample.
set -euo pipefail
BIN=${1:-bin}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenBLAS 0.3.21 falls back to its slowest kernels on CPUs it does not know; every rank
# must use the same kernels anyway (precis-als logs and checks them)
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
W=build/demo
rm -rf "$W"
mkdir -p "$W"
# Git stores the sample key as 0644; key files must be 0600.
install -m 0600 datasets/sample/pii.key "$W/pii.key"
NP=${NP:-2}
echo "== precis-clean: the sample exports -> $W/clean.h5 (np=$NP)"
mpirun -np "$NP" --oversubscribe "$BIN/precis-clean" --in datasets/sample --pii-key "$W/pii.key" \
  --out "$W/clean.h5" --max-reject-rate 0.05
echo
echo "quality report: $W/quality.json; rejected rows: $W/quarantine/"
h5dump -H "$W/clean.h5" | grep -E '^ *(GROUP|DATASET)' | head -40
echo
echo "== precis-rfm: $W/clean.h5 -> $W/features.h5 (np=$NP)"
mpirun -np "$NP" --oversubscribe "$BIN/precis-rfm" --in "$W/clean.h5" --out "$W/features.h5"
/usr/bin/python3 - "$W/features.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
names = [s.decode() for s in f["dict/segment"][:]]
seg = f["rfm/segment"][:]
print("RFM segments:")
for i in np.argsort(-np.bincount(seg, minlength=len(names))):
    n = int((seg == i).sum())
    if n:
        print("  %-20s %6d customers, mean monetary %.2f" % (names[i], n, f["rfm/monetary_total"][:][seg == i].mean()))
PY
echo
echo "== precis-kmeans: 6 segments of $W/features.h5 (np=$NP)"
mpirun -np "$NP" --oversubscribe "$BIN/precis-kmeans" --in "$W/features.h5" --k 6 --seed 1 --out "$W/segments.h5" 2>&1 | grep -v iteration
/usr/bin/python3 - "$W/segments.h5" <<'PY'
import sys, h5py
s = h5py.File(sys.argv[1], "r")
print("segment centroids (recency days, orders, monetary):")
for k, (c, n) in enumerate(zip(s["centroids_original"][:], s["sizes"][:])):
    print("  %d: %6d customers  %7.1f d  %6.1f  %10.2f" % (k, n, c[0], c[1], c[2]))
PY
echo
echo "== precis-als: item recommendations from $W/clean.h5 (np=$NP), evaluated on each customer's last purchase"
mpirun -np "$NP" --oversubscribe "$BIN/precis-als" --in "$W/clean.h5" --out "$W/recs.h5" --factors 16 --alpha 5 --lambda 1 \
  --iterations 10 --holdout last:1 2>&1 | grep -v "iteration"
/usr/bin/python3 - "$W/recs.h5" <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], "r")
items = [x.decode() for x in r["items/id"][:]]
print("top-5 for the first 3 customers:")
for u in range(3):
    print("  %s: %s%s" % (r["users/id"][u].decode()[:12] + "...", ", ".join(items[j] for j in r["topn/items"][u][:5] if j >= 0),
                          " (cold start: popular items)" if r["topn/cold_start"][u] else ""))
PY
echo
echo "== precis-tokenize: keys for the sample CRM list (np=$NP)"
mpirun -np "$NP" --oversubscribe "$BIN/precis-tokenize" --in datasets/sample/customers-part-00000.csv \
  --id-column customer_id --phone-column phone --email-column email --keep city --keep gender \
  --pii-key "$W/pii.key" --out "$W/customer_keys.csv"
echo
head -5 "$W/customer_keys.csv"
echo "..."
echo "rows without a key (see the status column):"
tail -n +2 "$W/customer_keys.csv" | awk -F, '$NF != "ok" {print $NF}' | sort | uniq -c
echo
echo "== precis-gen: a fresh synthetic data set with planted truth (np=$NP)"
mpirun -np "$NP" --oversubscribe "$BIN/precis-gen" --customers 2000 --seed 1 --dirty 0.02 --out "$W/gen"
ls -l "$W/gen"
echo
echo "demo outputs are in $W/"
