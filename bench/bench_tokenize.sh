#!/usr/bin/env bash
# bench_tokenize.sh BIN - precis-tokenize (parallel CSV read + HMAC-SHA256 of
# every id, phone and email) against a Python reference doing the same with
# the csv and hmac modules, on the customers table of a generated data set.
set -euo pipefail
BIN=${1:-bin}
N=${BENCH_CUSTOMERS:-400000}
T=$(mktemp -d /tmp/precis-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
mpirun -np 2 --oversubscribe "$BIN/precis-gen" --customers "$N" --seed 1 --out "$T/g" 2>/dev/null
cat "$T"/g/customers-part-*.csv | awk 'NR == 1 || !/^customer_id/' > "$T/customers.csv"
MB=$(du -m "$T/customers.csv" | cut -f1)
t0=$(date +%s.%N)
/usr/bin/python3 - "$T/g/pii.key" "$T/customers.csv" "$T/ref.csv" <<'PY'
import csv, hmac, hashlib, sys, re
key = open(sys.argv[1], "rb").read()
out = csv.writer(open(sys.argv[3], "w", newline=""))
for row in csv.DictReader(open(sys.argv[2], newline="")):
    h = hmac.new(key, row["customer_id"].strip().encode(), hashlib.sha256).digest()
    p = re.sub(r"\D", "", row["phone"])
    tp = hmac.new(key, b"phone\0" + p.encode(), hashlib.sha256).digest()
    te = hmac.new(key, b"email\0" + row["email"].strip().lower().encode(), hashlib.sha256).digest()
    out.writerow([int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big"), tp[:8].hex(), te[:8].hex()])
PY
t1=$(date +%s.%N)
ref=$(echo "$t1 - $t0" | bc)
for np in 1 2; do
  t0=$(date +%s.%N)
  mpirun -np $np --oversubscribe "$BIN/precis-tokenize" --in "$T/customers.csv" --id-column customer_id \
    --phone-column phone --email-column email --pii-key "$T/g/pii.key" --out "$T/tk.csv" 2> "$T/tk.log"
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc)
  printf "tokenize np=%d: %d MB in %.2f s (%.1f MB/s per rank); python reference %.2f s; speed-up %.1fx; %s\n" \
    $np "$MB" "$s" "$(echo "$MB / $s / $np" | bc -l)" "$ref" "$(echo "$ref / $s" | bc -l)" "$(grep -o 'peak RSS.*' "$T/tk.log")"
done
