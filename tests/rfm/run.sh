#!/usr/bin/env bash
# tests/rfm/run.sh - precis-rfm against an independent pandas computation, at np = 1..4.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
H=$(dirname "$0")
N=${GEN_CUSTOMERS:-20000}
run 2 $BIN/precis-gen --customers $N --seed 21 --dirty 0.01 --out "$TMP/g" 2>/dev/null || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/pii.key"
mkdir -p "$TMP/c"
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/c/clean.h5" --max-reject-rate 0.05 >/dev/null 2>&1 || fail "clean"

echo "rfm: byte-identical at np=1..4; every value equals pandas"
for np in 1 2 3 4; do
  run $np $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/f$np.h5" > "$TMP/rfm$np.log" 2>&1 || { fail "rfm np=$np"; tail -3 "$TMP/rfm$np.log"; }
done
for np in 2 3 4; do
  out=$($PY "$H/../h5same.py" "$TMP/f1.h5" "$TMP/f$np.h5" | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "features.h5 np=$np identical to np=1 ($out)" || fail "np=$np: $out"
done
$PY $H/check_rfm.py "$TMP/c/clean.h5" "$TMP/f3.h5" > "$TMP/check.out" && pass "pandas reference ($(grep -c '  ok' "$TMP/check.out") datasets)" || { fail "pandas reference"; grep FAIL "$TMP/check.out"; }
run 3 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/fh.h5" --calibration-end 2025-10-01 --window-days 300 >/dev/null 2>&1 || fail "rfm with calibration/window"
$PY $H/check_rfm.py "$TMP/c/clean.h5" "$TMP/fh.h5" > "$TMP/check2.out" && pass "--calibration-end (holdout) and --window-days vs pandas" || { fail "holdout/window vs pandas"; grep FAIL "$TMP/check2.out"; }
$PY - "$TMP/f1.h5" <<'PYEOF' && pass "scores are quintiles; segment dictionary; feature attributes" || fail "scores/attributes"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
n = len(f["rfm/score_r"])
for s in ("score_r", "score_f", "score_m"):
    counts = np.bincount(f["rfm/" + s][:], minlength=6)[1:]
    assert counts.sum() == n and counts.max() - counts.min() <= 1, counts
segs = [x.decode() for x in f["dict/segment"][:]]
assert segs == sorted(segs, key=str.encode) and len(segs) == 11
assert f["rfm/segment"][:].max() < 11
X = f["features/X"]
assert X.attrs["columns"] in (b"recency_days,log1p(frequency),log1p(monetary_total)", "recency_days,log1p(frequency),log1p(monetary_total)")
assert X.attrs["row_keys"] in (b"/customers", "/customers")
assert np.allclose(X[:].mean(axis=0), 0, atol=1e-9) and np.allclose(X[:].std(axis=0), 1, atol=1e-9)
PYEOF

echo "rfm: days are calendar days in clean.h5's named zone (--tz America/New_York)"
mkdir -p "$TMP/ny"
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/ny/clean.h5" --max-reject-rate 0.05 --tz America/New_York >/dev/null 2>&1 || fail "clean --tz"
run 3 $BIN/precis-rfm --in "$TMP/ny/clean.h5" --out "$TMP/ny/f.h5" --calibration-end 2025-10-01 >/dev/null 2>&1 || fail "rfm of a named zone"
$PY $H/check_rfm.py "$TMP/ny/clean.h5" "$TMP/ny/f.h5" > "$TMP/check3.out" && pass "every value equals pandas with days in America/New_York" || { fail "named zone vs pandas"; grep FAIL "$TMP/check3.out"; }
$PY -c "
import h5py, numpy as np, pandas as pd
ts = h5py.File('$TMP/ny/clean.h5', 'r')['transactions/ts'][:]
local = pd.to_datetime(ts, unit='s', utc=True).tz_convert('America/New_York').tz_localize(None)
moved = int(((local - pd.Timestamp('1970-01-01')).days.to_numpy() != ts // 86400).sum())
assert moved > len(ts) // 20, moved
print(moved)" > "$TMP/moved.out" && pass "the check has teeth: $(cat "$TMP/moved.out") purchases fall on another day in New York than in UTC" || fail "moved days"
cp "$TMP/ny/clean.h5" "$TMP/ny/bad.h5"
$PY -c "import h5py; h5py.File('$TMP/ny/bad.h5', 'r+').attrs['tz'] = 'Nowhere/City'"
set +e; run 2 $BIN/precis-rfm --in "$TMP/ny/bad.h5" --out "$TMP/ny/x.h5" > "$TMP/ny.log" 2>&1; rc=$?; set -e
[ $rc = 3 ] && grep -q "bad.h5: tz attribute: 'Nowhere/City' is not a time zone" "$TMP/ny.log" && pass "a zone this machine lacks: exit 3 naming it" || fail "unknown zone attribute: rc=$rc $(grep error "$TMP/ny.log")"

echo "rfm: special customers (one order, one day, only rejected rows, zero amounts, refunds)"
cat > "$TMP/special.csv" <<'CSV'
order_id,customer_id,item_id,category,quantity,unit_price,amount,ts,channel,campaign_id
o1,ONE,i1,c1,1,10,10.00,2025-01-10 10:00:00,email,x
o2,SAMEDAY,i1,c1,1,5,5.00,2025-01-11 09:00:00,email,x
o3,SAMEDAY,i2,c1,1,7,7.00,2025-01-11 18:00:00,sms,x
o4,REJECTED,i1,c1,1,5,NaN,2025-01-12 09:00:00,email,x
o5,REJECTED,i1,c1,1,5,inf,2025-01-13 09:00:00,email,x
o6,ZERO,i1,c1,1,0,0.00,2025-01-05 09:00:00,email,x
o7,REFUND,i1,c1,2,10,20.00,2025-01-01 09:00:00,email,x
o8,REFUND,i1,c1,-1,10,-10.00,2025-01-03 09:00:00,email,x
o9,REFUND,i2,c1,1,4,4.00,2025-01-20 09:00:00,email,x
CSV
mkdir -p "$TMP/s"
run 2 $BIN/precis-clean --transactions "$TMP/special.csv" --pii-key "$TMP/pii.key" --out "$TMP/s/clean.h5" --max-reject-rate 0.5 >/dev/null 2>&1 || fail "clean special"
run 3 $BIN/precis-rfm --in "$TMP/s/clean.h5" --out "$TMP/s/f.h5" >/dev/null 2>&1 || fail "rfm special"
$PY - "$TMP/s/f.h5" "$TMP/pii.key" <<'PYEOF' && pass "special customers as documented" || fail "special customers"
import sys, hmac, hashlib, h5py
f = h5py.File(sys.argv[1], "r")
key = open(sys.argv[2], "rb").read()
def k(cid):
    h = hmac.new(key, cid.encode(), hashlib.sha256).digest()
    return int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big")
rows = {(a, b): i for i, (a, b) in enumerate(zip(f["customers/customer_key"][:].tolist(), f["customers/customer_key_lo"][:].tolist()))}
g = lambda name, cid: f[name][rows[k(cid)]]
as_of = int(f.attrs["as_of_day"])
assert k("REJECTED") not in rows                      # only rejected rows: not a row
assert len(rows) == 4
assert g("rfm/frequency", "ONE") == 1 and g("clv_summary/frequency", "ONE") == 0 and g("clv_summary/monetary_value", "ONE") == 0
assert g("rfm/frequency", "SAMEDAY") == 2 and g("clv_summary/frequency", "SAMEDAY") == 0 and g("clv_summary/recency", "SAMEDAY") == 0
assert g("rfm/monetary_total", "SAMEDAY") == 12 and g("behaviour/avg_gap_days", "SAMEDAY") == 0
assert g("rfm/monetary_total", "ZERO") == 0 and g("rfm/frequency", "ZERO") == 1 and g("rfm/monetary_avg", "ZERO") == 0
assert g("rfm/frequency", "REFUND") == 2                # the refund is not an order
assert g("rfm/monetary_total", "REFUND") == 14          # 20 - 10 + 4
assert g("clv_summary/frequency", "REFUND") == 1 and g("clv_summary/monetary_value", "REFUND") == 4
assert as_of == 20109                                   # last purchase day (2025-01-20 = day 20108) + 1
assert g("rfm/recency_days", "REFUND") == 1 and g("rfm/recency_days", "ONE") == 11
PYEOF

echo "rfm: bad inputs"
set +e
run 2 $BIN/precis-rfm --in "$TMP/nope.h5" --out "$TMP/x.h5" >/dev/null 2>&1; rc=$?
expect_eq "missing input exits 4" "$rc" "4"
$PY -c "import h5py; f=h5py.File('$TMP/inc.h5','w'); f.attrs['format']='precis/1'; f['x']=[1]"
out=$(run 2 $BIN/precis-rfm --in "$TMP/inc.h5" --out "$TMP/x.h5" 2>&1); rc=$?
expect_eq "an incomplete Precis file exits 3" "$rc" "3"
run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/x.h5" --features 'log1p(bogus)' >/dev/null 2>&1; rc=$?
expect_eq "an unknown feature exits 2" "$rc" "2"
run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/x.h5" --as-of 2025-13-45 >/dev/null 2>&1; rc=$?
expect_eq "a bad --as-of exits 2" "$rc" "2"
# an --out that is the input (another spelling of it, or a link) would
# replace the data being read: refused, the input untouched
sum0=$(md5sum < "$TMP/c/clean.h5"); ln -sf clean.h5 "$TMP/c/link.h5"
for o in "$TMP/c/./clean.h5" "$TMP/c/link.h5"; do
  out=$(run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$o" 2>&1); rc=$?
  [[ $rc = 2 && "$out" == *"is the input"* && "$(md5sum < "$TMP/c/clean.h5")" = "$sum0" ]] \
    && pass "--out $(basename "$o") that is the input: exit 2, input untouched" || fail "--out that is the input: exit $rc"
done
for j in "precis-kmeans --k 3" "precis-als"; do
  out=$(run 2 $BIN/$j --in "$TMP/c/clean.h5" --out "$TMP/c/link.h5" 2>&1); rc=$?
  [[ $rc = 2 && "$out" == *"is the input"* && "$(md5sum < "$TMP/c/clean.h5")" = "$sum0" ]] \
    && pass "${j%% *}: an --out that is the input: exit 2" || fail "${j%% *} --out that is the input: exit $rc"
done
set -e
[ ! -e "$TMP/x.h5" ] && pass "no output after a failure" || fail "output left after failure"
finish
