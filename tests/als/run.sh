#!/usr/bin/env bash
# tests/als/run.sh - precis-als against planted preferences, numpy references,
# P-invariance (np = 1..4), stop/resume at another rank count and edge cases.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
H=$(dirname "$0")
N=${GEN_CUSTOMERS:-20000}
run 2 $BIN/precis-gen --customers $N --items 500 --item-affinity 12 --seed 21 --out "$TMP/g" >/dev/null 2>&1 || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/pii.key"
mkdir -p "$TMP/c" "$TMP/ck"
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/c/clean.h5" >/dev/null 2>&1 || fail "clean"
C="$TMP/c/clean.h5"
A=(--factors 16 --alpha 5 --lambda 1)
metric() { $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print('%.6f' % f['metrics/$2'][${3}])" "$1"; }

echo "als: planted low-rank preferences, holdout last:1"
run 2 $BIN/precis-als --in "$C" --out "$TMP/cg.h5" "${A[@]}" --iterations 15 --holdout last:1 > "$TMP/cg.log" 2>&1 || { fail "als cg"; tail -5 "$TMP/cg.log"; }
run 2 $BIN/precis-als --in "$C" --out "$TMP/ch.h5" "${A[@]}" --iterations 15 --holdout last:1 --solver cholesky --dtype float64 > "$TMP/ch.log" 2>&1 || fail "als cholesky"
pa=$(metric "$TMP/cg.h5" als 0); pp=$(metric "$TMP/cg.h5" popularity 0)
[ "$(echo "$pa >= 3 * $pp" | bc -l)" = 1 ] && pass "precision@10 $pa >= 3 x popularity $pp" || fail "precision@10 $pa vs popularity $pp"
grep -q "precision@K  als" "$TMP/cg.log" && pass "metrics side by side on stderr" || fail "metrics not logged"
$PY - "$TMP/ch.h5" "$TMP/cg.h5" <<'PYEOF' && pass "Cholesky loss never increases (1e-9 rel); CG final loss within 1% of Cholesky" || fail "loss monotonic / CG vs Cholesky"
import sys, h5py, numpy as np
ch = h5py.File(sys.argv[1], "r")["history/loss"][:]
cg = h5py.File(sys.argv[2], "r")["history/loss"][:]
assert all(ch[i + 1] <= ch[i] * (1 + 1e-9) for i in range(len(ch) - 1)), ch
assert abs(cg[-1] - ch[-1]) <= 0.01 * ch[-1], (cg[-1], ch[-1])
PYEOF
$PY $H/check_als.py "$C" "$TMP/ch.h5" 5 1 last:1 chol > "$TMP/check.out" 2>&1 && pass "numpy: loss, item half = dense solve (1e-8), top-10 brute force, metrics recomputed" || { fail "numpy reference"; cat "$TMP/check.out"; }

echo "als: byte-identical at np=1..4 (float32 ring scoring; float64 Cholesky gather)"
for np in 1 2 3 4; do
  run $np $BIN/precis-als --in "$C" --out "$TMP/p$np.h5" "${A[@]}" --iterations 4 --holdout random:0.2 --max-replicated-mb 0 >/dev/null 2>&1 || fail "als np=$np"
done
for np in 2 3 4; do
  out=$($PY "$H/../h5same.py" "$TMP/p1.h5" "$TMP/p$np.h5" | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "recs.h5 np=$np identical to np=1 ($out)" || fail "np=$np: $out"
done
run 1 $BIN/precis-als --in "$C" --out "$TMP/d1.h5" "${A[@]}" --iterations 3 --solver cholesky --dtype float64 --exclude-seen >/dev/null 2>&1 || fail "als d1"
run 3 $BIN/precis-als --in "$C" --out "$TMP/d3.h5" "${A[@]}" --iterations 3 --solver cholesky --dtype float64 --exclude-seen >/dev/null 2>&1 || fail "als d3"
out=$($PY "$H/../h5same.py" "$TMP/d1.h5" "$TMP/d3.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "float64 Cholesky np=3 identical to np=1 ($out)" || fail "float64 np=3: $out"

echo "als: small float64 problem: CG and Cholesky converge to the same loss"
run 2 $BIN/precis-als --in "$C" --out "$TMP/sc.h5" --factors 8 --alpha 5 --lambda 1 --iterations 40 --dtype float64 > "$TMP/sc.log" 2>&1 || { fail "small cg"; tail -5 "$TMP/sc.log"; }
run 2 $BIN/precis-als --in "$C" --out "$TMP/sh.h5" --factors 8 --alpha 5 --lambda 1 --iterations 40 --dtype float64 --solver cholesky > "$TMP/sh.log" 2>&1 || { fail "small chol"; tail -5 "$TMP/sh.log"; }
$PY - "$TMP/sc.h5" "$TMP/sh.h5" <<'PYEOF' && pass "CG vs Cholesky loss within 1e-3 relative after 40 iterations" || fail "CG vs Cholesky after convergence"
import sys, h5py
a = h5py.File(sys.argv[1], "r")["history/loss"][-1]; b = h5py.File(sys.argv[2], "r")["history/loss"][-1]
print(a, b); assert abs(a - b) <= 1e-3 * b
PYEOF

HEAVY=$((N / 25))   # a few dozen items pass this at any GEN_CUSTOMERS
echo "als: heavy items (--heavy-item-users): normal equations summed on the buyers' ranks"
for np in 1 3; do
  run $np $BIN/precis-als --in "$C" --out "$TMP/hv$np.h5" "${A[@]}" --iterations 4 --solver cholesky --dtype float64 --heavy-item-users $HEAVY > "$TMP/hv$np.log" 2>&1 || { fail "heavy np=$np"; tail -3 "$TMP/hv$np.log"; }
done
grep -q "heavy items (>= $HEAVY training buyers" "$TMP/hv1.log" && pass "heavy items found and logged" || fail "no heavy items"
out=$($PY "$H/../h5same.py" "$TMP/hv1.h5" "$TMP/hv3.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "heavy items: np=3 identical to np=1 ($out)" || fail "heavy np=3: $out"
$PY $H/check_als.py "$C" "$TMP/hv1.h5" 5 1 none chol > "$TMP/hvcheck.out" 2>&1 && pass "heavy items: item half = dense numpy solve (1e-8), loss" || { fail "heavy numpy"; cat "$TMP/hvcheck.out"; }

echo "als: --confidence log, --reg-scale count, --value amount / count against numpy"
run 2 $BIN/precis-als --in "$C" --out "$TMP/o1.h5" --factors 8 --alpha 3 --lambda 0.5 --iterations 3 --solver cholesky --dtype float64 \
  --confidence log --reg-scale count --value amount > "$TMP/o1.log" 2>&1 || { fail "options run 1"; tail -3 "$TMP/o1.log"; }
$PY $H/check_als.py "$C" "$TMP/o1.h5" 3 0.5 none chol log regcount value=amount > "$TMP/o1.out" 2>&1 \
  && pass "log confidence + ALS-WR regularisation + amount: loss and item half = numpy" || { fail "options 1 vs numpy"; cat "$TMP/o1.out"; }
run 3 $BIN/precis-als --in "$C" --out "$TMP/o2.h5" --factors 8 --alpha 2 --lambda 0.5 --iterations 3 --solver cholesky --dtype float64 \
  --value count > "$TMP/o2.log" 2>&1 || { fail "options run 2"; tail -3 "$TMP/o2.log"; }
$PY $H/check_als.py "$C" "$TMP/o2.h5" 2 0.5 none chol value=count > "$TMP/o2.out" 2>&1 \
  && pass "--value count (a refund row counts -1): loss and item half = numpy" || { fail "options 2 vs numpy"; cat "$TMP/o2.out"; }

echo "als: stop through the test hook, resume at another rank count"
set +e
PRECIS_STOP_AT=iter:2 run 2 $BIN/precis-als --in "$C" --out "$TMP/s.h5" "${A[@]}" --iterations 4 --holdout random:0.2 --checkpoint-dir "$TMP/ck" > "$TMP/stop.log" 2>&1
rc=$?
set -e
expect_eq "stop exit code" "$rc" 75
[ -f "$TMP/ck/als.ckpt.h5" ] && [ ! -e "$TMP/s.h5" ] && pass "checkpoint written, no output" || fail "checkpoint/output after stop"
run 3 $BIN/precis-als --in "$C" --out "$TMP/s.h5" "${A[@]}" --iterations 4 --holdout random:0.2 --checkpoint-dir "$TMP/ck" --resume >/dev/null 2>&1 || fail "resume np=3"
out=$($PY "$H/../h5same.py" "$TMP/p1.h5" "$TMP/s.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "resumed at np=3 = uninterrupted np=1 ($out)" || fail "resume: $out"
[ ! -e "$TMP/ck/als.ckpt.h5" ] && pass "checkpoint removed after success" || fail "checkpoint left behind"
run 2 $BIN/precis-als --in "$C" --out "$TMP/e.h5" "${A[@]}" --iterations 4 --checkpoint-dir "$TMP/ck" --checkpoint-every 2 >/dev/null 2>&1 || fail "checkpoint-every"
PRECIS_STOP_AT=iter:1 run 2 $BIN/precis-als --in "$C" --out "$TMP/x.h5" "${A[@]}" --iterations 4 --checkpoint-dir "$TMP/ck" >/dev/null 2>&1 || true
set +e
run 2 $BIN/precis-als --in "$C" --out "$TMP/x.h5" --factors 8 --alpha 5 --lambda 1 --iterations 4 --checkpoint-dir "$TMP/ck" --resume > "$TMP/mis.log" 2>&1
rc=$?
set -e
expect_eq "resume with other parameters refused" "$rc" 3
grep -q "other parameters" "$TMP/mis.log" && pass "... with a message naming the cause" || fail "mismatch message"

echo "als: edge cases (item bought by everyone, one-interaction user, item without training, duplicates, negatives)"
cat > "$TMP/edge.csv" <<'CSV'
customer_id,item_id,quantity,amount,ts
U1,EVERY,1,10,2025-01-01
U2,EVERY,1,10,2025-01-01
U2,A,1,5,2025-01-02
U2,A,1,5,2025-01-02
U3,EVERY,1,10,2025-01-01
U3,B,2,8,2025-01-03
U3,B,-2,-8,2025-01-04
U4,EVERY,1,10,2025-01-01
U4,A,1,5,2025-01-05
U4,C,3,9,2025-01-06
U5,EVERY,2,20,2025-01-01
U5,D,1,4,2025-01-02
U5,D,-1,-4,2025-01-03
U5,C,1,3,2025-01-07
U6,EVERY,1,10,2025-01-01
U6,B,1,4,2025-01-08
U6,C,1,3,2025-01-08
U7,EVERY,1,10,2025-01-01
U7,EVERY,-1,-10,2025-01-02
CSV
mkdir -p "$TMP/edge"
run 2 $BIN/precis-clean --transactions "$TMP/edge.csv" --pii-key "$TMP/pii.key" --out "$TMP/edge/clean.h5" >/dev/null 2>&1 || fail "clean edge"
for np in 1 3; do
  run $np $BIN/precis-als --in "$TMP/edge/clean.h5" --out "$TMP/edge/r$np.h5" --factors 3 --alpha 2 --lambda 0.1 --iterations 5 --topn 3 --exclude-seen --solver cholesky --dtype float64 --heavy-item-users 6 > "$TMP/edge$np.log" 2>&1 || { fail "als edge np=$np"; tail -3 "$TMP/edge$np.log"; }
done
out=$($PY "$H/../h5same.py" "$TMP/edge/r1.h5" "$TMP/edge/r3.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "edge case np=3 identical to np=1 (a rank with few or no users)" || fail "edge np=3: $out"
grep -q "3 with net value <= 0 dropped" "$TMP/edge1.log" && pass "net-zero pairs (refunds) dropped and counted" || { fail "net-zero pairs count"; grep users "$TMP/edge1.log"; }
$PY $H/check_als.py "$TMP/edge/clean.h5" "$TMP/edge/r1.h5" 2 0.1 none chol excl > "$TMP/edgecheck.out" 2>&1 && pass "edge: loss, dense solve (duplicate rows summed), top-N" || { fail "edge numpy reference"; cat "$TMP/edgecheck.out"; }
$PY - "$TMP/edge/r1.h5" "$TMP/pii.key" <<'PYEOF' && pass "edge behaviours as documented" || fail "edge behaviours"
import sys, h5py, hmac, hashlib, numpy as np
f = h5py.File(sys.argv[1], "r"); key = open(sys.argv[2], "rb").read()
items = [x.decode() for x in f["items/id"][:]]
def row(cid):
    h = hmac.new(key, cid.encode(), hashlib.sha256).digest()
    k, kl = int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big")
    m = (f["users/customer_key"][:] == k) & (f["users/customer_key_lo"][:] == kl)
    return int(np.flatnonzero(m)[0])
pop = dict(zip(items, f["items/popularity"][:]))
assert pop == {"A": 2, "B": 1, "C": 3, "D": 0, "EVERY": 6}, pop
Y = f["item_factors"][:]
assert np.all(Y[items.index("D")] == 0), "an item without training pairs has a zero factor"
assert np.all(np.isfinite(Y)) and np.any(Y[items.index("EVERY")] != 0)
top, cold = f["topn/items"][:], f["topn/cold_start"][:]
every = items.index("EVERY")
for u in ("U1", "U2", "U3", "U4", "U5", "U6"):
    r = row(u)
    assert cold[r] == 0 and every not in top[r], (u, top[r])
r1 = row("U1")
assert len(set(top[r1])) == 3 and set(top[r1]) <= {items.index(x) for x in "ABCD"}, top[r1]  # one interaction: a full list
r7 = row("U7")
assert cold[r7] == 1, "a user whose only pair nets to zero is cold start"
want = sorted(range(len(items)), key=lambda j: (-pop[items[j]], j))[:3]
assert list(top[r7]) == want, (list(top[r7]), want)
assert list(f["topn/scores"][r7]) == [pop[items[j]] for j in want]
PYEOF

echo "als: generic CSV input (--user-col/--item-col/--value-col/--time-col)"
$PY - "$C" "$TMP/inter.csv" <<'PYEOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r"); t = f["transactions"]
items = [x.decode() for x in f["dict/item"][:]]
k, kl, it, q, ts = t["customer_key"][:], t["customer_key_lo"][:], t["item"][:], t["quantity"][:], t["ts"][:]
with open(sys.argv[2], "w") as o:
    o.write("user,sku,qty,when\n")
    for i in range(len(k)):
        o.write("c%x,%s,%g,%d\n" % (int(k[i]) >> 24, items[it[i]], q[i], ts[i]))
    o.write("NULL,%s,1,1700000000\n" % items[0])  # placeholders (--na-values): rejected, here and from HDF5
    o.write("c3,\\N,1,1700000000\n")
    o.write("c1,,1,1700000000\n")
    o.write("c2,SKU00001,abc,1700000000\n")
PYEOF
for np in 1 4; do
  run $np $BIN/precis-als --in "$TMP/inter.csv" --user-col user --item-col sku --value-col qty --time-col when --out "$TMP/csv$np.h5" \
    "${A[@]}" --iterations 6 --holdout last:1 > "$TMP/csv$np.log" 2>&1 || { fail "als csv np=$np"; tail -3 "$TMP/csv$np.log"; }
done
out=$($PY "$H/../h5same.py" "$TMP/csv1.h5" "$TMP/csv4.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "CSV input: np=4 identical to np=1 ($out)" || fail "csv np=4: $out"
# the same interactions as two compressed part files in a directory (zstd
# and xz, by the tools): the same recs.h5 as the plain file, no copy left
mkdir -p "$TMP/zin" "$TMP/zo"
head -n 1 "$TMP/inter.csv" > "$TMP/zhead"; n=$(($(wc -l < "$TMP/inter.csv") / 2))
{ head -n $n "$TMP/inter.csv"; } | zstd -q -c > "$TMP/zin/part-00000.csv.zst"
{ cat "$TMP/zhead"; tail -n +$((n + 1)) "$TMP/inter.csv"; } | xz -c > "$TMP/zin/part-00001.csv.xz"
run 3 $BIN/precis-als --in "$TMP/zin" --user-col user --item-col sku --value-col qty --time-col when --out "$TMP/zo/z.h5" \
  "${A[@]}" --iterations 6 --holdout last:1 > "$TMP/z.log" 2>&1 || { fail "als of compressed parts"; tail -3 "$TMP/z.log"; }
out=$($PY "$H/../h5same.py" "$TMP/csv1.h5" "$TMP/zo/z.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && grep -q "decompressed 2 inputs (1 zstd, 1 xz" "$TMP/z.log" && [ -z "$(ls -A "$TMP/zo" | grep precis-spool)" ] \
  && pass "CSV input as .csv.zst and .csv.xz part files (np=3) = the plain file's recs.h5 at np=1 ($out)" || fail "compressed CSV input: $out"
# ... and as a UTF-16LE file with a byte-order mark (Excel's "Unicode text")
rm -rf "$TMP/u16" && mkdir -p "$TMP/u16"
$PY -c "import sys; open(sys.argv[2], 'wb').write(('\ufeff' + open(sys.argv[1], encoding='utf-8').read()).encode('utf-16-le'))" "$TMP/inter.csv" "$TMP/u16/inter.csv"
run 2 $BIN/precis-als --in "$TMP/u16/inter.csv" --user-col user --item-col sku --value-col qty --time-col when --out "$TMP/u16/z.h5" \
  "${A[@]}" --iterations 6 --holdout last:1 > "$TMP/u16.log" 2>&1 || { fail "als of UTF-16"; tail -3 "$TMP/u16.log"; }
out=$($PY "$H/../h5same.py" "$TMP/csv1.h5" "$TMP/u16/z.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && grep -q "transcoded 1 input to UTF-8 (1 UTF-16LE;" "$TMP/u16.log" && [ -z "$(ls -A "$TMP/u16" | grep precis-spool)" ] \
  && pass "CSV input as UTF-16LE with a byte-order mark (np=2) = the UTF-8 file's recs.h5 at np=1 ($out)" || fail "UTF-16 CSV input: $out"
grep -q "inter.csv:[0-9]* field user: user id is a placeholder" "$TMP/csv1.log" && grep -q "4 of [0-9]* rows rejected" "$TMP/csv1.log" \
  && pass "bad CSV rows (placeholder ids NULL and \\N among them) counted, the first named by file, line and field" || { fail "CSV reject report"; grep -i reject "$TMP/csv1.log"; }
$PY - "$TMP/csv1.h5" "$TMP/inter.csv" <<'PYEOF' && pass "CSV input: ids written back as given; beats popularity 3x" || fail "CSV ids / quality"
import sys, h5py, csv
r = h5py.File(sys.argv[1], "r")
rows = list(csv.DictReader(open(sys.argv[2])))[:-4]
assert set(x.decode() for x in r["users/id"][:]) == {x["user"] for x in rows}
assert [x.decode() for x in r["items/id"][:]] == sorted({x["sku"] for x in rows}, key=str.encode)
assert "users/customer_key" not in r
assert r["metrics/als"][0] >= 3 * r["metrics/popularity"][0], (r["metrics/als"][0], r["metrics/popularity"][0])
PYEOF
$PY - "$TMP/inter.csv" "$TMP/inter.h5" <<'PYEOF'
import sys, csv, h5py, numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))[:-2]
with h5py.File(sys.argv[2], "w") as f:
    g = f.create_group("orders")
    g["visitor"] = np.array([r["user"].encode() for r in rows])
    g["sku"] = np.array([r["sku"].encode() for r in rows])
    g["qty"] = np.array([float(r["qty"]) for r in rows])
    g["when"] = np.array([int(r["when"]) for r in rows], dtype=np.int64)
PYEOF
run 3 $BIN/precis-als --in "$TMP/inter.h5:/orders" --user-col visitor --item-col sku --value-col qty --time-col when --out "$TMP/h5g.h5" \
  "${A[@]}" --iterations 6 --holdout last:1 > "$TMP/h5g.log" 2>&1 || { fail "als HDF5 group input"; tail -3 "$TMP/h5g.log"; }
out=$($PY "$H/../h5same.py" "$TMP/csv1.h5" "$TMP/h5g.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "--in FILE.h5:/group (foreign file, np=3) = the same rows as CSV (np=1) ($out)" || fail "HDF5 group vs CSV: $out"
set +e
run 2 $BIN/precis-als --in "$TMP/inter.csv" --user-col user --item-col nosuch --out "$TMP/u.h5" > "$TMP/u.log" 2>&1; rc=$?
set -e
expect_eq "CSV without the named column: exit code" "$rc" 3
grep -q "no column 'nosuch'" "$TMP/u.log" && pass "... naming the column" || fail "missing column message"

echo "als: bad input and usage"
set +e
run 2 $BIN/precis-als --in "$C" --out "$TMP/u.h5" --holdout last:x > "$TMP/u.log" 2>&1; expect_eq "bad --holdout exit code" "$?" 2
run 2 $BIN/precis-als --in "$TMP/nope.h5" --out "$TMP/u.h5" > "$TMP/u.log" 2>&1; rc=$?
[ "$rc" = 3 ] || [ "$rc" = 4 ] && pass "missing input: exit $rc" || fail "missing input: exit $rc"
run 2 $BIN/precis-als --in "$TMP/p1.h5" --out "$TMP/u.h5" > "$TMP/u.log" 2>&1; expect_eq "not a clean.h5: exit code" "$?" 3
set -e
$PY - "$TMP/p1.h5" <<'PYEOF' && pass "recs.h5 readable with h5py; documented datasets present" || fail "recs.h5 layout"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for d in ("users/id", "users/customer_key", "users/customer_key_lo", "users/slot_offsets", "items/id", "items/popularity",
          "user_factors", "item_factors", "topn/items", "topn/scores", "topn/cold_start", "metrics/name", "metrics/als",
          "metrics/popularity", "metrics/lift", "history/loss"):
    assert d in f, d
assert f.attrs["job"] in (b"als", "als") and f["user_factors"].dtype.name == "float32"
PYEOF
finish
