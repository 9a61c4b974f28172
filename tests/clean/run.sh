#!/usr/bin/env bash
# tests/clean/run.sh - precis-clean end to end (np = 1..4) against planted truth.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
H=$(dirname "$0")
N=${GEN_CUSTOMERS:-20000}

run 2 $BIN/precis-gen --customers $N --seed 11 --dirty 0.02 --out "$TMP/g" 2>/dev/null || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/pii.key"
mkdir -p "$TMP/out"

echo "clean: dirty data (--dirty 0.02) at np=1..4"
# np=3 and 4 write their tables in bands of one chunk (65536 rows), np=1
# and 2 in one band: the same chunks, byte for byte (h5same --chunks)
for np in 1 2 3 4; do
  rm -rf "$TMP/out"/*
  band=0; [ $np -ge 3 ] && band=1
  if PRECIS_WRITE_BAND_ROWS=$band run $np $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/out/clean.h5" \
        --max-reject-rate 0.05 > "$TMP/log.$np" 2>&1; then pass "clean np=$np exit 0"; else fail "clean np=$np"; tail -5 "$TMP/log.$np"; fi
  mkdir -p "$TMP/np$np" && cp -r "$TMP/out"/. "$TMP/np$np/"
done
if $PY $H/check_truth.py "$TMP/g" "$TMP/np3/quality.json" > "$TMP/truth.out"; then
  pass "quarantine, duplicate, imputation, invalid-value and refund counts equal the planted defects; rows conserved ($(grep -c ' ok ' "$TMP/truth.out") checks)"
else fail "counts vs planted truth"; grep FAIL "$TMP/truth.out"; fi
for np in 2 3 4; do
  out=$($PY "$H/../h5same.py" "$TMP/np1/clean.h5" "$TMP/np$np/clean.h5" --chunks | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "clean.h5 np=$np identical to np=1, chunk for chunk ($out)" || fail "clean.h5 np=$np: $out"
  diff -r -q "$TMP/np1/quarantine" "$TMP/np$np/quarantine" >/dev/null && pass "quarantine np=$np identical" || fail "quarantine np=$np differs"
  cmp -s "$TMP/np1/quality.json" "$TMP/np$np/quality.json" && pass "quality.json np=$np identical" || fail "quality.json np=$np differs"
done
! grep -q "parse in no automatic date format" "$TMP"/log.* && ! grep -q date_hint "$TMP"/np*/quality.json \
  && pass "no date-format hint where most dates parse (the planted invalid dates aside), on stderr or in quality.json" || fail "a date hint on the dirty data"
# quality.json names the clean.h5 it describes: its run_id (the file's
# attribute, = Python's SHA-256 of job, version, params and inputs) and
# whether this run wrote it. A run stopped by the reject rate over an
# earlier clean.h5 says so, in the report and the message
$PY - "$TMP/np1" <<'PYEOF' && pass "quality.json's run_id = clean.h5's run_id attribute = Python's SHA-256 of job, version, params and inputs; clean_h5_written true, the embedded report = quality.json" || fail "quality.json run_id"
import hashlib, h5py, json, sys
d = sys.argv[1]
q = json.load(open(d + "/quality.json"))
with h5py.File(d + "/clean.h5", "r") as f:
    a = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
    rep = json.loads(f["quality/report"][0])
h = hashlib.sha256(b"".join(a[k].encode() + b"\0" for k in ("job", "version", "params", "inputs"))).hexdigest()[:32]
assert q["run_id"] == a["run_id"] == h, (q["run_id"], a["run_id"], h)
assert q["clean_h5_written"] is True and rep == q
PYEOF
rm -rf "$TMP/stale" && cp -r "$TMP/np1" "$TMP/stale"
set +e; out=$(run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/stale/clean.h5" --max-reject-rate 0.001 2>&1); rc=$?; set -e
[ $rc = 3 ] && [[ "$out" == *"no $TMP/stale/clean.h5 written (the file of that name is an earlier run's, left as it was)"* ]] && cmp -s "$TMP/np1/clean.h5" "$TMP/stale/clean.h5" \
  && $PY -c "import h5py, json, sys; q = json.load(open(sys.argv[1] + '/quality.json')); r = h5py.File(sys.argv[1] + '/clean.h5', 'r').attrs['run_id']; r = r.decode() if isinstance(r, bytes) else r
sys.exit(not (q['clean_h5_written'] is False and q['run_id'] != r and q['max_reject_rate'] == 0.001))" "$TMP/stale" \
  && [ ! -e "$TMP/stale/quality.json.tmp" ] \
  && pass "a run stopped by the reject rate beside an earlier clean.h5: exit 3 naming it as an earlier run's; quality.json says clean_h5_written false, with a run_id that is not the file's" \
  || { fail "stopped run beside an earlier clean.h5: exit $rc"; echo "$out" | grep error; }
rm -rf "$TMP/stale"
# the scale-offset columns (codes, timestamps, birth years with 0 for missing)
# through HDF5's own filter instead of common/h5so: the same bytes in every chunk
rm -rf "$TMP/so" && mkdir -p "$TMP/so"
if PRECIS_H5_BUILTIN_SCALEOFFSET=1 run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/so/clean.h5" \
     --max-reject-rate 0.05 > "$TMP/so/log" 2>&1; then
  out=$($PY "$H/../h5same.py" "$TMP/np2/clean.h5" "$TMP/so/clean.h5" --chunks --ignore quality/report | tail -1 || true)
  n_so=$(h5dump -p -H "$TMP/so/clean.h5" | grep -c "SCALEOFFSET" || true)
  [[ "$out" == *", 0 differ" && $n_so -ge 8 ]] && pass "np=2: the $n_so scale-offset datasets (and all others) store the same chunk bytes as with HDF5's own filter ($out)" \
    || fail "h5so against HDF5's filter: $out, $n_so scale-offset datasets"
else fail "clean with HDF5's own scale-offset filter"; tail -3 "$TMP/so/log"; fi
if $PY $H/check_pii.py "$TMP/g" "$TMP/np3/clean.h5" "$TMP/np3/quality.json" "$TMP"/np3/quarantine/*.csv "$TMP"/log.* > "$TMP/pii.out"; then
  pass "no raw id, phone, email or name in any output or log ($(tail -1 "$TMP/pii.out"))"
else fail "raw identifiers found"; cat "$TMP/pii.out"; fi
h5dump -H "$TMP/np3/clean.h5" > "$TMP/h5dump.out" && grep -q "slot_offsets" "$TMP/h5dump.out" && pass "h5dump -H reads clean.h5" || fail "h5dump"
$PY - "$TMP/np3/clean.h5" "$TMP/pii.key" "$TMP/g" <<'PYEOF' && pass "h5py reads clean.h5; schema, sort order, slot_offsets, keys and phone tokens (Python hmac, python3-phonenumbers), outlier bounds (numpy.quantile), dictionaries" || fail "clean.h5 contents"
import sys, hmac, hashlib, json, glob, csv
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
key = open(sys.argv[2], "rb").read()
assert f.attrs["format"] == b"precis/1" or f.attrs["format"] == "precis/1"
assert f.attrs["complete"] == 1
S = int(f.attrs["slots"])
t = f["transactions"]
for c in ["customer_key", "customer_key_lo", "order_key", "item", "category", "channel", "campaign", "quantity", "unit_price", "amount", "ts", "flags", "slot_offsets"]:
    assert c in t, c
k, lo, ts = t["customer_key"][:], t["customer_key_lo"][:], t["ts"][:]
slot = (k & np.uint64(S - 1)).astype(np.int64)
order = np.lexsort((ts, lo, k, slot))
assert (order == np.arange(len(k))).all(), "not sorted by (slot, key, key_lo, ts)"
off = t["slot_offsets"][:]
assert len(off) == S + 1 and off[0] == 0 and off[-1] == len(k)
assert (np.searchsorted(slot, np.arange(S + 1), side="left") == off).all()
# keys equal an independent HMAC-SHA256 of the raw ids
raw = set()
for p in glob.glob(sys.argv[3] + "/transactions-part-*.csv"):
    for row in csv.reader(open(p, encoding="utf-8", errors="ignore")):
        if len(row) == 10 and row[1].startswith("CU"):
            raw.add(row[1])
mine = set(zip(k.tolist(), lo.tolist()))
ref = {(int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big")) for h in (hmac.new(key, r.encode(), hashlib.sha256).digest() for r in raw)}
assert mine <= ref and len(mine) > 0.9 * len(ref), (len(mine), len(ref))
# outlier bounds: numpy.quantile over clean, non-imputed amounts (flags)
q = json.loads(f["quality/report"][0])
b = q["tables"]["transactions"]["columns"]["amount"]["outlier_bounds"]
amt = t["amount"][:]
q1, q3 = np.quantile(amt, [0.25, 0.75])
assert b == [q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)], (b, q1, q3)
fl = t["flags"][:]
qb = q["tables"]["transactions"]["columns"]["quantity"]["outlier_bounds"]
qty = t["quantity"][:]
want = (amt < b[0]) | (amt > b[1]) | (qty < qb[0]) | (qty > qb[1])
assert ((fl & 2) > 0).tolist() == want.tolist(), "outlier flags differ from the bounds"
assert want.sum() > 0
# dictionaries: sorted, and item codes dense
for d in f["dict"]:
    v = [x.decode() for x in f["dict"][d][:]]
    assert v == sorted(v, key=lambda s: s.encode()), d
assert t["item"][:].max() < len(f["dict/item"])
# customers: one row per key
c = f["customers"]
ck = list(zip(c["customer_key"][:].tolist(), c["customer_key_lo"][:].tolist()))
assert len(ck) == len(set(ck))
# phone tokens: HMAC of the E.164 form python3-phonenumbers gives (CN the default region)
import phonenumbers as pn
want = {}
for p in glob.glob(sys.argv[3] + "/customers-part-*.csv"):
    for row in csv.reader(open(p, encoding="utf-8", errors="ignore")):
        if len(row) != 8 or not row[0].startswith("CU") or not row[2].strip():
            continue
        try:
            n = pn.parse(row[2], "CN")
            e164 = pn.format_number(n, pn.PhoneNumberFormat.E164) if pn.is_possible_number_with_reason(n) == pn.ValidationResult.IS_POSSIBLE else None
        except pn.NumberParseException:
            e164 = None
        h = hmac.new(key, b"phone\0" + e164.encode(), hashlib.sha256).digest() if e164 else None
        tok = (int.from_bytes(h[:8], "big") or 1) if h else 0
        kh = hmac.new(key, row[0].strip().encode(), hashlib.sha256).digest()
        want.setdefault((int.from_bytes(kh[:8], "big"), int.from_bytes(kh[8:16], "big")), set()).add(tok)
pt = c["phone_token"][:].tolist()
sure = [(t, want[x]) for x, t in zip(ck, pt) if x in want and len(want[x]) == 1]
assert len(sure) > 0.9 * len(ck) and sum(1 for t, w in sure if t) > 0.5 * len(sure), (len(sure), len(ck))
assert all(t in w for t, w in sure), [(t, w) for t, w in sure if t not in w][:5]
PYEOF

echo "clean: phone numbers as exports write them (python3-phonenumbers), email addresses (the HTML standard's rule)"
mkdir -p "$TMP/phone"
if $PY $H/check_phone.py "$BIN" "$TMP/phone" > "$TMP/phone.out" 2>&1; then pass "phone tokens: $(tail -1 "$TMP/phone.out")"
else fail "phone tokens"; tail -25 "$TMP/phone.out"; fi
if $PY $H/check_email.py "$BIN" "$TMP/phone" > "$TMP/email.out" 2>&1; then pass "email tokens: $(tail -1 "$TMP/email.out")"
else fail "email tokens"; tail -25 "$TMP/email.out"; fi

echo "clean: CDNOW-style orders (customer_id,ts,quantity,amount; YYYYMMDD; no order id)"
{ echo "customer_id,ts,quantity,amount"
  for i in $(seq 1 400); do echo "$((i % 37 + 1)),199$((i % 8 + 1))0$((i % 9 + 1))1$((i % 9)),$((i % 3 + 1)),$((i % 50)).99"; done
  for i in 1 2 3 4 5; do echo "7,19970101,1,12.00"; done; } > "$TMP/cdnow.csv"
rm -rf "$TMP/cd" && mkdir -p "$TMP/cd"
run 3 $BIN/precis-clean --transactions "$TMP/cdnow.csv" --pii-key "$TMP/pii.key" --out "$TMP/cd/clean.h5" > "$TMP/cd.log" 2>&1 \
  && pass "CDNOW np=3 exit 0" || { fail "CDNOW np=3"; tail -5 "$TMP/cd.log"; }
$PY - "$TMP/cd/quality.json" <<'PYEOF' && pass "CDNOW: zero rejects, yyyymmdd detected, identical rows kept and reported" || fail "CDNOW quality"
import json, sys
q = json.load(open(sys.argv[1]))["tables"]["transactions"]
assert q["rows_in"] == 405 and q["rows_rejected"] == 0 and q["rows_duplicate"] == 0, q
assert q["rows_clean"] == 405 and q["rows_identical_kept"] >= 4, q
assert q["columns"]["ts"]["date_format"] == "yyyymmdd"
PYEOF
rm -rf "$TMP/cd"/* 
run 2 $BIN/precis-clean --transactions "$TMP/cdnow.csv" --pii-key "$TMP/pii.key" --out "$TMP/cd/clean.h5" --dedup-exact > /dev/null 2>&1
$PY -c "import json; q = json.load(open('$TMP/cd/quality.json'))['tables']['transactions']; assert q['rows_duplicate'] >= 4 and q['rows_identical_kept'] == 0" \
  && pass "--dedup-exact drops identical orders-only rows" || fail "--dedup-exact"

echo "clean: placeholders for missing values (--na-values), against pandas' reading"
mkdir -p "$TMP/na"
$PY - "$TMP/na" <<'PYEOF'
import random, sys
rng = random.Random(7)
NA = ["NULL", "null", "\\N", "N/A", "n/a", "#N/A"]
cols = ["order_id", "customer_id", "item_id", "category", "quantity", "unit_price", "amount", "ts", "channel", "campaign_id"]
opt = ["order_id", "item_id", "category", "quantity", "unit_price", "channel", "campaign_id"]
with open(sys.argv[1] + "/t.csv", "w") as f:
    f.write(",".join(cols) + "\n")
    for i in range(3000):
        r = {"order_id": "O%d" % i, "customer_id": "C%d" % rng.randrange(400), "item_id": "I%d" % rng.randrange(50),
             "category": rng.choice(["books", "toys", "Null"]), "quantity": str(rng.randint(1, 4)),
             "unit_price": "%.2f" % rng.uniform(1, 50), "amount": "%.2f" % rng.uniform(1, 200),
             "ts": "2025-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)), "channel": rng.choice(["email", "sms", "None"]),
             "campaign_id": "K%d" % rng.randrange(5)}
        if i % 10 == 3:  # one required field a placeholder, nothing else
            r[rng.choice(["customer_id", "amount", "ts"])] = rng.choice(NA)
        else:  # some optional fields placeholders (or blank)
            for c in opt:
                if rng.random() < 0.08:
                    r[c] = rng.choice(NA + [""])
        f.write(",".join(r[c] for c in cols) + "\n")
PYEOF
for np in 1 3; do # (one --out: the report names its quarantine directory)
  rm -rf "$TMP/na/o" && mkdir -p "$TMP/na/o"
  run $np $BIN/precis-clean --transactions "$TMP/na/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/na/o/clean.h5" \
    --max-reject-rate 0.2 > "$TMP/na/log$np" 2>&1 || { fail "placeholders np=$np"; tail -3 "$TMP/na/log$np"; }
  mv "$TMP/na/o" "$TMP/na/o$np"
done
out=$($PY "$H/../h5same.py" "$TMP/na/o1/clean.h5" "$TMP/na/o3/clean.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "placeholders: clean.h5 np=3 identical to np=1 ($out)" || fail "placeholders np=3: $out"
$PY - "$TMP/na" <<'PYEOF' && pass "placeholders: missing, imputed and rejected counts = pandas' na_values reading; no placeholder in a dictionary; no order-id conflict among them" || fail "placeholders"
import json, sys
import h5py, pandas as pd
d = sys.argv[1]
NA = ["NULL", "null", "\\N", "N/A", "n/a", "#N/A"]
df = pd.read_csv(d + "/t.csv", dtype=str, keep_default_na=False, na_values=NA + [""])
req = df[["customer_id", "amount", "ts"]].isna().any(axis=1)
q = json.load(open(d + "/o1/quality.json"))["tables"]["transactions"]
assert q["rows_in"] == len(df) and q["rejected_by_reason"] == {"missing_required": int(req.sum())}, (q["rejected_by_reason"], int(req.sum()))
ok = df[~req]
for c in ["order_id", "item_id", "category", "quantity", "unit_price", "channel", "campaign_id"]:
    col = q["columns"][c]
    assert col["missing"] == int(ok[c].isna().sum()), (c, col["missing"], int(ok[c].isna().sum()))
    if c not in ("order_id",):
        assert col["imputed"] == col["missing"], (c, col)
f = h5py.File(d + "/o1/clean.h5", "r")
for name in f["dict"]:
    v = {x.decode() for x in f["dict"][name][:]}
    assert not v & set(NA), (name, v & set(NA))
assert "Null" in {x.decode() for x in f["dict/category"][:]} and "None" in {x.decode() for x in f["dict/channel"][:]}
PYEOF
mkdir -p "$TMP/na/none"
run 2 $BIN/precis-clean --transactions "$TMP/na/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/na/none/clean.h5" --na-values '' \
  --max-reject-rate 0.2 > "$TMP/na/lognone" 2>&1 || fail "--na-values '' run"
$PY -c "
import h5py, sys; f = h5py.File(sys.argv[1], 'r'); v = {x.decode() for x in f['dict/channel'][:]}; sys.exit(not {'NULL', 'n/a'} <= v)" "$TMP/na/none/clean.h5" \
  && pass "--na-values '': placeholders are values again (channel NULL, n/a)" || fail "--na-values ''"
set +e; run 1 $BIN/precis-clean --transactions "$TMP/na/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/na/none/clean.h5" --na-values 'NULL,,x' > "$TMP/na/logbad" 2>&1; rc=$?; set -e
[ $rc = 2 ] && grep -q "na-values.*empty value" "$TMP/na/logbad" && pass "--na-values with an empty item: exit 2 naming it" || fail "--na-values 'NULL,,x'"
# one column's own list (--na-values-for): category reads none, so its
# placeholders are categories; channel reads None and NULL only; every
# other column the default list. Counts = pandas' per-column na_values, at
# np=2 and 3 (identical)
for np in 2 3; do
  rm -rf "$TMP/na/for$np" && mkdir -p "$TMP/na/for$np"
  run $np $BIN/precis-clean --transactions "$TMP/na/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/na/for$np/clean.h5" \
    --na-values-for transactions.category='' --na-values-for 'transactions.channel=None,NULL' --max-reject-rate 0.2 \
    > "$TMP/na/logfor$np" 2>&1 || { fail "--na-values-for np=$np"; tail -3 "$TMP/na/logfor$np"; }
done
out=$($PY "$H/../h5same.py" "$TMP/na/for2/clean.h5" "$TMP/na/for3/clean.h5" --ignore quality/report | tail -1 || true)
$PY - "$TMP/na" <<'PYEOF' && [[ "$out" == *", 0 differ" ]] && pass "--na-values-for: per-column missing and imputed counts = pandas' per-column na_values; np=3 = np=2 ($out)" || fail "--na-values-for ($out)"
import json, sys
import h5py, pandas as pd
d = sys.argv[1]
NA = ["NULL", "null", "\\N", "N/A", "n/a", "#N/A", ""]
cols = ["order_id", "customer_id", "item_id", "category", "quantity", "unit_price", "amount", "ts", "channel", "campaign_id"]
per = {c: NA for c in cols}
per["category"], per["channel"] = [""], ["None", "NULL", ""]
df = pd.read_csv(d + "/t.csv", dtype=str, keep_default_na=False, na_values=per)
req = df[["customer_id", "amount", "ts"]].isna().any(axis=1)
q = json.load(open(d + "/for2/quality.json"))["tables"]["transactions"]
assert q["rejected_by_reason"] == {"missing_required": int(req.sum())}, q["rejected_by_reason"]
ok = df[~req]
for c in ["item_id", "category", "quantity", "unit_price", "channel", "campaign_id"]:
    col = q["columns"][c]
    assert col["missing"] == int(ok[c].isna().sum()) and col["imputed"] == col["missing"], (c, col, int(ok[c].isna().sum()))
f = h5py.File(d + "/for2/clean.h5", "r")
cat, ch = ({x.decode() for x in f["dict/" + n][:]} for n in ("category", "channel"))
assert {"NULL", "N/A"} <= cat and "None" not in ch and "NULL" not in ch and "n/a" in ch, (cat, ch)
PYEOF
set +e; run 1 $BIN/precis-clean --transactions "$TMP/na/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/na/none/clean.h5" \
  --na-values-for transactions.category=a --na-values-for transactions.category=b > "$TMP/na/logbad" 2>&1; rc=$?; set -e
[ $rc = 2 ] && grep -q "transactions.category is given twice" "$TMP/na/logbad" && pass "--na-values-for one column twice: exit 2" || fail "--na-values-for twice"
printf 'customer_id,phone\nC1,13800138000\nNULL,13800138001\n  \\N ,\n' > "$TMP/na/crm.csv"
run 1 $BIN/precis-tokenize --in "$TMP/na/crm.csv" --out "$TMP/na/crm.out" --pii-key "$TMP/pii.key" --id-column customer_id --phone-column phone > /dev/null 2>&1 || fail "tokenize run"
[ "$(cut -d, -f6 "$TMP/na/crm.out" | tr '\n' ' ')" = "status ok missing_id missing_id " ] \
  && pass "precis-tokenize: ids NULL and \\N are missing_id" || { fail "tokenize placeholders"; cat "$TMP/na/crm.out"; }

echo "clean: --map renames export columns"
sed '1s/.*/CustID,Date,Qty,Total/' "$TMP/cdnow.csv" > "$TMP/mapped.csv"
rm -rf "$TMP/cd"/*
run 2 $BIN/precis-clean --transactions "$TMP/mapped.csv" --map transactions.customer_id=CustID --map transactions.ts=Date \
   --map transactions.quantity=Qty --map transactions.amount=Total --pii-key "$TMP/pii.key" --out "$TMP/cd/clean.h5" > /dev/null 2>&1 \
  && pass "--map" || fail "--map"

echo "clean: duplicates that differ from the row kept, --customers-keep (a plain-Python reference)"
mkdir -p "$TMP/dd"
$PY $H/check_dupes.py make "$TMP/dd"
for npk in "1 first" "3 first" "1 last" "3 last"; do
  read -r np keep <<< "$npk"
  rm -rf "$TMP/dd/o$np" && mkdir -p "$TMP/dd/o$np"
  run $np $BIN/precis-clean --transactions "$TMP/dd/transactions.csv" --customers "$TMP/dd/customers.csv" --pii-key "$TMP/pii.key" \
    --customers-keep $keep --out "$TMP/dd/o$np/clean.h5" > "$TMP/dd/log$np" 2>&1 || { fail "duplicates np=$np"; tail -3 "$TMP/dd/log$np"; }
  if out=$($PY $H/check_dupes.py check "$TMP/dd" "$TMP/dd/o$np/quality.json" $keep "$TMP/dd/o$np/clean.h5" "$TMP/pii.key"); then
    pass "np=$np --customers-keep $keep: $(echo "$out" | sed 's/^ok  //' | paste -sd ';')"
  else fail "duplicates np=$np --customers-keep $keep"; echo "$out"; fi
done
want=$(echo "$out" | sed -n -E 's/.*transactions:.*reference [0-9]+, ([0-9]+)$/\1/p')
[ -n "$want" ] && grep -q -E "differing dupes +$want \(unlike the row kept\)\$" "$TMP/dd/log3" \
  && pass "the stderr table gives the $want differing duplicates of transactions" || fail "differing duplicates on stderr ($want)"

echo "clean: date-format vote over all ranks (one pass, or two when a column mixes formats)"
rm -rf "$TMP/cd"/*
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/cd/clean.h5" --date-format iso \
    --max-reject-rate 0.05 > /dev/null 2>&1 || fail "generator data with --date-format iso"
# the same report but for where the quarantine went
samejson() { # (the directory and the run_id, of other params, aside)
  $PY -c 'import json, sys; a, b = (json.load(open(p)) for p in sys.argv[1:]); [x.pop(k) for x in (a, b) for k in ("quarantine_dir", "run_id")]; sys.exit(a != b)' "$1" "$2"; }
out=$($PY "$H/../h5same.py" "$TMP/np1/clean.h5" "$TMP/cd/clean.h5" --ignore quality/report | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && diff -r -q "$TMP/np1/quarantine" "$TMP/cd/quarantine" >/dev/null && samejson "$TMP/np1/quality.json" "$TMP/cd/quality.json" \
  && pass "voted in the parsing pass = parsed in the forced format ($out, same quarantine)" || fail "vote vs forced: $out"
mkdir -p "$TMP/dv"
# channel "tv" and the empty ones are only on rows the winning format rejects: the
# second pass must forget what the first one interned and counted
{ echo "customer_id,ts,quantity,amount,channel"
  for i in $(seq 1 30); do echo "c$i,2020-01-$(printf %02d $((i % 28 + 1)))T10:00:00Z,1,$i.5,web"; done
  for i in $(seq 1 12); do echo "e$i,$((1600000000 + i * 3600)),2,$i.25,tv"; done
  for i in 1 2 3 4 5; do echo "y$i,2020010$i,3,9.75,"; done
  for i in 1 2 3; do echo "g$i,soon,1,1.00,web"; done; } > "$TMP/dv/mixed.csv"
{ echo "customer_id,ts,quantity,amount"
  for i in 1 2 3 4; do echo "y$i,2021030$i,1,2.00"; echo "e$i,$((1500000000 + i)),1,3.00"; done; } > "$TMP/dv/tie.csv"
{ echo "customer_id,signup_ts"
  for i in $(seq 1 10); do echo "s$i,$((1400000000 + i * 86400))"; done
  for i in 1 2 3 4; do echo "t$i,2019-05-0$i"; done; } > "$TMP/dv/cust.csv"
{ echo "customer_id,ts,quantity,amount"; echo "s1,1400000000,1,1.00"; } > "$TMP/dv/one.csv"
for np in 1 2 3 4; do
  rm -rf "$TMP/dv/$np" && mkdir -p "$TMP/dv/$np"
  run $np $BIN/precis-clean --transactions "$TMP/dv/mixed.csv" --pii-key "$TMP/pii.key" --out "$TMP/dv/$np/m.h5" \
      --quarantine "$TMP/dv/$np/qm" --max-reject-rate 0.9 > "$TMP/dv/$np/m.log" 2>&1 || fail "mixed dates np=$np"
  mv "$TMP/dv/$np/quality.json" "$TMP/dv/$np/m.json"
  run $np $BIN/precis-clean --transactions "$TMP/dv/tie.csv" --pii-key "$TMP/pii.key" --out "$TMP/dv/$np/t.h5" \
      --quarantine "$TMP/dv/$np/qt" --max-reject-rate 0.9 > /dev/null 2>&1 || fail "tied dates np=$np"
  mv "$TMP/dv/$np/quality.json" "$TMP/dv/$np/t.json"
  run $np $BIN/precis-clean --transactions "$TMP/dv/one.csv" --customers "$TMP/dv/cust.csv" --pii-key "$TMP/pii.key" \
      --out "$TMP/dv/$np/c.h5" --quarantine "$TMP/dv/$np/qc" --max-reject-rate 0.9 > /dev/null 2>&1 || fail "customer dates np=$np"
  mv "$TMP/dv/$np/quality.json" "$TMP/dv/$np/c.json"
done
rm -rf "$TMP/dv/f" && mkdir -p "$TMP/dv/f"
run 3 $BIN/precis-clean --transactions "$TMP/dv/mixed.csv" --pii-key "$TMP/pii.key" --out "$TMP/dv/f/m.h5" \
    --quarantine "$TMP/dv/f/qm" --max-reject-rate 0.9 --date-format iso > /dev/null 2>&1 || fail "mixed dates, forced iso"
$PY - "$TMP/dv" <<'PYEOF' && pass "mixed ts: iso wins 30 to 12 to 5, the other 20 rows rejected; a tie goes to yyyymmdd; an optional date column counts the minority invalid; same at np=1..4" || fail "date-format vote"
import json, sys
d = sys.argv[1]
for np in "1234":
    m = json.load(open(f"{d}/{np}/m.json"))["tables"]["transactions"]
    assert m["columns"]["ts"]["date_format"] == "iso", m
    assert m["rows_clean"] == 30 and m["rejected_by_reason"] == {"invalid_date": 20}, m
    assert m["columns"]["channel"]["distinct"] == 1 and m["columns"]["channel"]["missing"] == 0, m
    t = json.load(open(f"{d}/{np}/t.json"))["tables"]["transactions"]
    assert t["columns"]["ts"]["date_format"] == "yyyymmdd", t
    assert t["rows_clean"] == 4 and t["rejected_by_reason"] == {"invalid_date": 4}, t
    c = json.load(open(f"{d}/{np}/c.json"))["tables"]["customers"]
    s = c["columns"]["signup_ts"]
    assert s["date_format"] == "epoch" and s["invalid"] == 4 and c["rows_rejected"] == 0 and c["rows_clean"] == 14, c
    assert "parsing it again" in open(f"{d}/{np}/m.log").read()
PYEOF
ok=1
for np in 2 3 4; do
  for x in m t c; do
    out=$($PY "$H/../h5same.py" "$TMP/dv/1/$x.h5" "$TMP/dv/$np/$x.h5" --ignore quality/report | tail -1 || true)
    [[ "$out" == *", 0 differ" ]] && samejson "$TMP/dv/1/$x.json" "$TMP/dv/$np/$x.json" || ok=0
  done
  diff -r -q "$TMP/dv/1/qm" "$TMP/dv/$np/qm" >/dev/null || ok=0
done
out=$($PY "$H/../h5same.py" "$TMP/dv/1/m.h5" "$TMP/dv/f/m.h5" --ignore quality/report | tail -1 || true)
mv "$TMP/dv/f/quality.json" "$TMP/dv/f/m.json"
[[ "$out" == *", 0 differ" ]] && samejson "$TMP/dv/1/m.json" "$TMP/dv/f/m.json" && diff -q "$TMP/dv/1/qm/transactions.csv" "$TMP/dv/f/qm/transactions.csv" >/dev/null || ok=0
[[ $ok == 1 ]] && pass "mixed-date outputs identical at np=1..4 and to --date-format iso" || fail "mixed-date outputs differ"

echo "clean: bad inputs end with a clear message and the documented exit code (np=3)"
mkdir -p "$TMP/bad"
expect_exit() { # WHAT CODE PATTERN ARGS...
  local what=$1 code=$2 pat=$3; shift 3
  rm -rf "$TMP/bad/out"; mkdir -p "$TMP/bad/out"
  set +e; out=$(run 3 $BIN/precis-clean --pii-key "$TMP/pii.key" --out "$TMP/bad/out/clean.h5" "$@" 2>&1); rc=$?; set -e
  if [ "$rc" = "$code" ] && [[ "$out" == *$pat* ]]; then pass "$what: exit $rc"; else fail "$what: exit $rc, want $code with '$pat'"; echo "$out" | grep -v -E '^(-|Primary|a non-zero|Per user|mpirun|the job|  Process|  Exit)' | tail -3; fi
}
printf 'customer_id,ts,quantity,amount\n' > "$TMP/bad/header_only.csv"
expect_exit "header-only file" 0 "transactions" --transactions "$TMP/bad/header_only.csv"
: > "$TMP/bad/empty.csv"
expect_exit "empty file" 3 "empty" --transactions "$TMP/bad/empty.csv"
printf 'customer_id,ts,quantity,amount\n,20200101,1,2\nC1,notadate,1,2\nC2,20200101,1,NaN\n"C3,20200101,1,2\n' > "$TMP/bad/only_bad.csv"
expect_exit "only bad rows" 3 "rejected" --transactions "$TMP/bad/only_bad.csv"
[ ! -e "$TMP/bad/out/clean.h5" ] && [ -s "$TMP/bad/out/quarantine/transactions.csv" ] && [ -s "$TMP/bad/out/quality.json" ] \
  && pass "over the reject limit: quarantine and report written, no clean.h5" || fail "reject limit outputs"
{ echo "customer_id,ts,quantity,amount"; for i in $(seq 1 200); do echo "C$i,2020-01-0$((i % 9 + 1)),1,$i.5"; done
  printf 'C9,2020-01-01,1,"'; head -c 2200000 /dev/zero | tr '\0' 'x'; printf '"\n'; echo "C10,2020-01-02,2,3.5"; } > "$TMP/bad/huge_field.csv"
expect_exit "a 2 MiB field" 0 "wrote" --transactions "$TMP/bad/huge_field.csv" --max-reject-rate 0.05
grep -q ",field_too_long," "$TMP/bad/out/quarantine/transactions.csv" && pass "the 2 MiB field's row is quarantined (field_too_long)" || fail "2 MiB field quarantine"
printf '\xef\xbb\xbfcustomer_id,ts,quantity,amount\r\nC1,2020-01-01T10:00:00Z,1,2.5\r\n\r\nC2,2020-01-02T10:00:00+08:00,2,3.5\r\n\n' > "$TMP/bad/bom_crlf.csv"
expect_exit "BOM and CRLF" 0 "wrote" --transactions "$TMP/bad/bom_crlf.csv"
$PY -c "import json; q=json.load(open('$TMP/bad/out/quality.json'))['tables']['transactions']; assert q['rows_clean']==2 and q['rows_rejected']==0 and q['blank_lines']==2, q" \
  && pass "BOM and CRLF rows clean, the two blank lines counted" || fail "BOM/CRLF rows"
# blank lines before the header are skipped as pandas skips them, counted
# once (every rank reads the header; at np=3 a count per rank would be 6),
# and the lines after keep their true numbers
printf '\n\r\ncustomer_id,ts,quantity,amount\nC1,2020-01-01,1,2.5\nC2,notadate,1,2\nC3,2020-01-03,1,3.5\n' > "$TMP/bad/lead_blank.csv"
expect_exit "blank lines before the header" 0 "wrote" --transactions "$TMP/bad/lead_blank.csv" --max-reject-rate 0.5
$PY - "$TMP/bad/out" <<'PYEOF' && pass "blank lines before the header: counted once, the bad row quarantined at line 5" || fail "blank lines before the header"
import csv, json, sys
d = sys.argv[1]
q = json.load(open(d + "/quality.json"))["tables"]["transactions"]
assert q["rows_in"] == 3 and q["rows_clean"] == 2 and q["blank_lines"] == 2, q
rows = list(csv.DictReader(open(d + "/quarantine/transactions.csv")))
assert [(r["reason"], int(r["line"])) for r in rows] == [("invalid_date", 5)], rows
PYEOF
# two header fields for one column: the exact spelling wins, --map picks
# the other; two of one spelling stop the job, naming both fields
printf 'customer_id,ts,quantity,Amount,amount\nC1,2020-01-01,1,9,2.5\n' > "$TMP/bad/amount_twice.csv"
expect_exit "amount and Amount in one header" 0 "wrote" --transactions "$TMP/bad/amount_twice.csv"
$PY -c "import h5py; a=h5py.File('$TMP/bad/out/clean.h5')['transactions/amount'][:]; assert list(a)==[2.5], a" \
  && pass "amount and Amount: the exact spelling is read" || fail "amount and Amount: wrong column read"
expect_exit "amount and Amount, --map to Amount" 0 "wrote" --transactions "$TMP/bad/amount_twice.csv" --map transactions.amount=Amount
$PY -c "import h5py; a=h5py.File('$TMP/bad/out/clean.h5')['transactions/amount'][:]; assert list(a)==[9.0], a" \
  && pass "amount and Amount, --map: Amount is read" || fail "amount and Amount, --map: wrong column read"
printf 'customer_id,ts,quantity,amount,amount\nC1,2020-01-01,1,2.5,9\n' > "$TMP/bad/amount_dup.csv"
expect_exit "a column named twice" 3 "header fields 4 and 5 are both named 'amount'" --transactions "$TMP/bad/amount_dup.csv"
printf 'customer_id;ts;quantity;amount\nC1;2020-01-01;1;2.5\n' > "$TMP/bad/semicolon.csv"
expect_exit "a semicolon-delimited file" 3 "one field holding ';'" --transactions "$TMP/bad/semicolon.csv"
printf '\n\r\n\n' > "$TMP/bad/blank_only.csv"
expect_exit "a file of blank lines" 3 "only blank lines" --transactions "$TMP/bad/blank_only.csv"
printf '\n\ncustomer_id,quantity,amount\nC1,1,2\n' > "$TMP/bad/lead_no_ts.csv"
expect_exit "missing column, named at the header's line" 3 "lead_no_ts.csv:3: required column 'ts'" --transactions "$TMP/bad/lead_no_ts.csv"
# NUL bytes: a plain row (in category) and a quoted one (in channel) are
# quarantined as nul_byte, not cut at the NUL; a UTF-16 export without a
# byte-order mark (NULs in the header) stops at once, naming the --encoding
{ echo "customer_id,ts,quantity,amount,category,channel"; for i in $(seq 1 60); do echo "C$i,2020-01-0$((i % 9 + 1)),1,$i.5,toys,web"; done
  printf 'C7,2020-01-03,1,2.5,to\0ys,web\n'; printf 'C8,2020-01-04,1,2.5,toys,"w\0eb"\n'; echo "C9,2020-01-05,1,2.5,toys,web"; } > "$TMP/bad/nul.csv"
expect_exit "NUL bytes in two rows" 0 "wrote" --transactions "$TMP/bad/nul.csv" --max-reject-rate 0.05
$PY - "$TMP/bad/out" <<'PYEOF' && pass "NUL rows quarantined as nul_byte with line and field; nothing cut" || fail "NUL rows"
import csv, json, sys, h5py
d = sys.argv[1]
q = json.load(open(d + "/quality.json"))["tables"]["transactions"]
assert q["rows_in"] == 63 and q["rows_clean"] == 61 and q["rows_rejected"] == 2, q
assert q["rejected_by_reason"] == {"nul_byte": 2}, q["rejected_by_reason"]
rows = [r for r in csv.DictReader(open(d + "/quarantine/transactions.csv")) if r["reason"] == "nul_byte"]
assert sorted((int(r["line"]), r["field"]) for r in rows) == [(62, "category"), (63, "channel")], rows
with h5py.File(d + "/clean.h5", "r") as f:
    assert [s.decode() for s in f["dict/category"][:]] == ["toys"], f["dict/category"][:]
    assert [s.decode() for s in f["dict/channel"][:]] == ["web"], f["dict/channel"][:]
PYEOF
printf 'customer_id,ts,quantity,amount\nC1,20200101,1,2\n' | iconv -f UTF-8 -t UTF-16LE > "$TMP/bad/utf16.csv"
expect_exit "a UTF-16LE file without a byte-order mark" 3 "utf16.csv:1: the header reads as UTF-16LE without a byte-order mark: give --encoding UTF-16LE" --transactions "$TMP/bad/utf16.csv"
printf 'a,b\0c\nC1,1\n' > "$TMP/bad/nulhead.csv"
expect_exit "a header with a NUL byte (binary)" 3 "nulhead.csv:1: header holds a NUL byte (a binary file?" --transactions "$TMP/bad/nulhead.csv"
printf 'customer_id,quantity,amount\nC1,1,2\n' > "$TMP/bad/no_ts.csv"
expect_exit "missing required column" 3 "required column 'ts'" --transactions "$TMP/bad/no_ts.csv"
expect_exit "no transactions input" 2 "transactions" --customers "$TMP/g/customers-part-00000.csv"
# a row's source position addresses 1 TiB per file: a larger one (sparse,
# so no disk is used) stops before anything is read
truncate -s 1100G "$TMP/bad/over_1tib.csv"
expect_exit "a file over 1 TiB" 3 "more than the 1 TiB" --transactions "$TMP/bad/over_1tib.csv"
rm -f "$TMP/bad/over_1tib.csv"
chmod 644 "$TMP/pii.key"
expect_exit "0644 key file" 3 "0600" --transactions "$TMP/bad/bom_crlf.csv"
chmod 600 "$TMP/pii.key"
expect_exit "bad --map" 2 "--map" --transactions "$TMP/bad/bom_crlf.csv" --map nonsense
# a --map that names no header field is refused, not read as a missing
# column (here the file's own quantity would have been imputed away); one
# column mapped to two sources, and one field read as two columns, too
expect_exit "--map to a column the file lacks" 3 "column 'Qty', which --map transactions.quantity=Qty names, is not in the header" \
  --transactions "$TMP/bad/bom_crlf.csv" --map transactions.quantity=Qty
expect_exit "--map of one column twice" 2 "transactions.amount is mapped twice, to 'quantity' and to 'amt'" \
  --transactions "$TMP/bad/bom_crlf.csv" --map transactions.amount=quantity --map transactions.amount=amt
expect_exit "--map reading one field as two columns" 3 "header field 3 ('quantity') would be read as both transactions.quantity and transactions.amount" \
  --transactions "$TMP/bad/bom_crlf.csv" --map transactions.amount=quantity
# one file that two matched names reach (x.csv beside the x.csv.gz that
# gzip -k leaves; a link) stops the job rather than read its rows twice
mkdir -p "$TMP/bad/twice" && cp "$TMP/bad/bom_crlf.csv" "$TMP/bad/twice/transactions.csv"
gzip -k "$TMP/bad/twice/transactions.csv"
expect_exit "x.csv and x.csv.gz" 4 "transactions.csv.gz: the second is the first compressed" --in "$TMP/bad/twice"
rm "$TMP/bad/twice/transactions.csv.gz" && ln -s transactions.csv "$TMP/bad/twice/transactions-b.csv"
expect_exit "a link beside its file" 4 "transactions.csv are one file" --in "$TMP/bad/twice"
expect_exit "bad --refunds" 2 "net|reject" --transactions "$TMP/bad/bom_crlf.csv" --refunds maybe
# outputs that would replace or join the inputs: --out an input, the
# quarantine in the inputs' directory (its transactions.csv would have
# replaced the export): exit 2, the inputs untouched
mkdir -p "$TMP/clob" && cp "$TMP/bad/bom_crlf.csv" "$TMP/clob/transactions.csv"
sum0=$(md5sum < "$TMP/clob/transactions.csv")
expect_exit "--out that is the input" 2 "--out $TMP/clob/transactions.csv is the input" --transactions "$TMP/clob/transactions.csv" \
  --out "$TMP/clob/transactions.csv"
expect_exit "--quarantine in the --in directory" 2 "the quarantine file $TMP/clob/transactions.csv is the input" --in "$TMP/clob" \
  --quarantine "$TMP/clob"
cp "$TMP/clob/transactions.csv" "$TMP/clob/orders.csv"
expect_exit "--quarantine in an input's directory" 2 "is the directory of the input" --transactions "$TMP/clob/orders.csv" \
  --quarantine "$TMP/clob"
[ "$(md5sum < "$TMP/clob/transactions.csv")" = "$sum0" ] && [ ! -e "$TMP/clob/customers.csv" ] \
  && pass "the inputs untouched, nothing written among them" || fail "an input was changed"
# a full file system (small tmpfs mounts) at each output: exit 4 naming the
# file and the reason, nothing half-written left, never a hang (HDF5's
# collective write can fail on one rank while the others wait inside it)
mkdir -p "$TMP/full"
if mount -t tmpfs -o size=64k tmpfs "$TMP/full" 2>/dev/null; then
  unmount "$TMP/full"
  full_fs() { # SIZE WHAT PATTERN ARGS...: precis-clean at np=3 with a SIZE file system at $TMP/full
    local size=$1 what=$2 pat=$3; shift 3
    rm -rf "$TMP/full-q" "$TMP/full-o"; mkdir -p "$TMP/full-o"
    mount -t tmpfs -o size=$size tmpfs "$TMP/full"
    set +e; out=$(run 3 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --max-reject-rate 0.05 "$@" 2>&1); rc=$?; set -e
    # complete files written before the failure (one table's quarantine
    # before the next) may stay; no .tmp, no clean.h5, and no quality.json
    # (put in place only with clean.h5: no report of a file not there)
    local left; left=$(cd "$TMP/full" && find . -name '*.tmp' -o -name clean.h5 -o -name quality.json | tr '\n' ' ')
    unmount "$TMP/full"
    [[ $rc = 4 && "$out" == *$pat* && -z "$left" ]] \
      && pass "a full file system for $what: exit 4, the file and the reason named, nothing half-written left" \
      || { fail "full file system for $what: exit $rc, left: '$left'"; echo "$out" | grep "error" | head -3; }
  }
  full_fs 256k clean.h5 "$TMP/full/clean.h5.tmp failed: a write of*bytes*; its file system has*KiB free" \
    --out "$TMP/full/clean.h5" --quarantine "$TMP/full-q"
  # Open MPI's fcoll component dynamic_gen2 loses the failed write (every
  # H5Dwrite returns success): h5io's own check of the writes stops the job
  OMPI_MCA_fcoll=dynamic_gen2 full_fs 256k "clean.h5, with MPI-IO's collective writes by dynamic_gen2," \
    "$TMP/full/clean.h5.tmp failed: a write of*bytes*; its file system has*KiB free" --out "$TMP/full/clean.h5" --quarantine "$TMP/full-q"
  full_fs 16k "the quarantine" "quarantine/*.csv.tmp failed after*its file system has*KiB free" \
    --out "$TMP/full-o/clean.h5" --quarantine "$TMP/full/quarantine"
  full_fs 8k quality.json "quality.json: No space left on device" --out "$TMP/full/clean.h5" --quarantine "$TMP/full-q"
else
  echo "  (not run: mounting a small tmpfs for the full-file-system cases is not allowed here)"
fi

echo "clean: a stop signal between phases exits 75 and leaves no output"
rm -rf "$TMP/out"/*
set +e; PRECIS_STOP_AT=parse:1 run 3 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/out/clean.h5" --max-reject-rate 0.05 >/dev/null 2>&1; rc=$?; set -e
expect_eq "PRECIS_STOP_AT=parse:1 exits 75" "$rc" "75"
[ ! -e "$TMP/out/clean.h5" ] && [ ! -e "$TMP/out/clean.h5.tmp" ] && pass "no clean.h5 or .tmp left" || fail "stop left files"

echo "clean: a Spark-style export of many part files (np=1, 3)"
# 4200 small part files and two of several MiB: the inputs
# attribute (root, JSON) describes every file, whichever rank hashed it, and
# is larger than HDF5's 64 KiB limit for attributes kept in object headers
# (before: the write failed after all the work; and the list stopped at
# 4096 files). Each entry is checked against Python's stat and hashlib.
mkdir -p "$TMP/many"
$PY - "$TMP/many" <<'PYEOF'
import sys
for i in range(4200):
    with open("%s/transactions-part-%05d.csv" % (sys.argv[1], i), "w") as f:
        f.write("customer_id,ts,quantity,amount\n")
        for j in range(3):
            f.write("M%d,2021-02-%02d,1,%d.5\n" % ((7 * i + j) % 500, (i + j) % 28 + 1, i % 97))
for i, n in ((90000, 110000), (90001, 130000)):   # 3.1 and 3.7 MiB: first, middle and last MiB hashed
    with open("%s/transactions-part-%05d.csv" % (sys.argv[1], i), "w") as f:
        f.write("customer_id,ts,quantity,amount\n")
        for j in range(n):
            f.write("B%07d,2021-03-%02d,%d,%d.25\n" % (j, j % 28 + 1, j % 5 + 1, j % 1000))
PYEOF
ok=1
for np in 1 3; do
  rm -rf "$TMP/many_o$np"; mkdir -p "$TMP/many_o$np"
  run $np $BIN/precis-clean --transactions "$TMP/many" --pii-key "$TMP/pii.key" --out "$TMP/many_o$np/clean.h5" \
      --max-reject-rate 0.05 > "$TMP/many_o$np.log" 2>&1 || { ok=0; tail -3 "$TMP/many_o$np.log"; }
done
[[ $ok == 1 ]] && pass "4202 part files clean at np=1 and np=3" || fail "many part files"
$PY - "$TMP/many" "$TMP/many_o1/clean.h5" "$TMP/many_o3/clean.h5" <<'PYEOF' && pass "inputs describes all 4202 files (size, mtime, SHA-256 of first/middle/last MiB as hashlib computes), identical at np=1 and np=3" || fail "inputs attribute"
import glob, hashlib, json, os, sys
import h5py
def attr(p):
    v = h5py.File(p, "r").attrs["inputs"]
    return v.decode() if isinstance(v, bytes) else v
a1, a3 = attr(sys.argv[2]), attr(sys.argv[3])
assert a1 == a3, "inputs differ between np=1 and np=3"
assert len(a1) > 65536, len(a1)
got = json.loads(a1)
files = sorted(glob.glob(sys.argv[1] + "/*.csv"))
assert [g["path"] for g in got] == files, (len(got), len(files))
M = 1 << 20
for g, p in zip(got, files):
    st = os.stat(p)
    assert g["size"] == st.st_size and g["mtime"] == int(st.st_mtime), (g, st)
    with open(p, "rb") as f:
        b = f.read()
    h = hashlib.sha256(b[:M])
    if len(b) > M:
        mid = max(len(b) // 2 - M // 2, 0)
        h.update(b[mid:mid + M]); h.update(b[len(b) - M:])
    assert g["sha256_first_mid_last_mib"] == h.hexdigest(), p
assert max(g["size"] for g in got) > 3 * M
PYEOF

echo "clean: input layouts (np=2)"
# a directory per table of Spark part files (with _SUCCESS and .crc files,
# and the hidden ._ files a copy from macOS leaves),
# given per table or found by --in as DIR/<table>/; the rows read are all
# the part files' rows
mkdir -p "$TMP/spark/transactions" "$TMP/spark/customers" "$TMP/gz"
for i in 0 1 2; do
  { echo "customer_id,ts,quantity,amount"; for j in $(seq 1 20); do printf "S%d,2022-03-%02d,1,%d.25\n" $((i * 20 + j)) $((j % 27 + 1)) $j; done; } \
    > "$TMP/spark/transactions/part-0000$i-4f1c-c000.csv"
  echo "junk" > "$TMP/spark/transactions/.part-0000$i-4f1c-c000.csv.crc"
  printf '\0\5\26\7junk' > "$TMP/spark/transactions/._part-0000$i-4f1c-c000.csv"   # macOS AppleDouble
done
: > "$TMP/spark/transactions/_SUCCESS"
{ echo "customer_id,gender"; for j in $(seq 1 60); do echo "S$j,f"; done; } > "$TMP/spark/customers/part-00000-9e2a-c000.csv"
layout() { # WHAT TABLES_ROWS ARGS...: exit 0 and rows_in of each table as given (t=60 c=60)
  local what=$1 want=$2; shift 2
  rm -rf "$TMP/spark_o"; mkdir -p "$TMP/spark_o"
  if run 2 $BIN/precis-clean --pii-key "$TMP/pii.key" --out "$TMP/spark_o/clean.h5" "$@" > "$TMP/spark_o.log" 2>&1 &&
     $PY -c "import json,sys; q=json.load(open('$TMP/spark_o/quality.json'))['tables']; got=' '.join('%s=%d' % (k[0], q[k]['rows_in']) for k in sorted(q)); sys.exit(got != '$want' and print(got) is None)"; then
    pass "$what"; else fail "$what"; tail -3 "$TMP/spark_o.log"; fi
}
layout "--transactions DIR of Spark part files: every part-*.csv read" "t=60" --transactions "$TMP/spark/transactions"
layout "--in DIR with DIR/transactions/ and DIR/customers/" "c=60 t=60" --in "$TMP/spark"
mkdir -p "$TMP/win" && cp "$TMP/spark/transactions/part-00000-4f1c-c000.csv" "$TMP/win/Transactions.CSV"
gzip -c "$TMP/spark/customers/part-00000-9e2a-c000.csv" > "$TMP/win/CUSTOMERS.CSV.GZ"
layout "--in DIR of exports named as Windows tools name them (Transactions.CSV, CUSTOMERS.CSV.GZ)" "c=60 t=20" --in "$TMP/win"
gzip -c "$TMP/spark/transactions/part-00000-4f1c-c000.csv" > "$TMP/gz/part-00000.csv.gz"
layout "--transactions DIR of part-*.csv.gz: read" "t=20" --transactions "$TMP/gz"
mkdir -p "$TMP/zst" && zstd -q -c "$TMP/spark/transactions/part-00000-4f1c-c000.csv" > "$TMP/zst/part-00000.csv.zst"
layout "--transactions DIR of part-*.csv.zst: read" "t=20" --transactions "$TMP/zst"
mkdir -p "$TMP/zst2" "$TMP/zst3"
{ printf '\x50\x2a\x4d\x18\x05\x00\x00\x00hello'; cat "$TMP/zst/part-00000.csv.zst"; printf '\x5f\x2a\x4d\x18\x02\x00\x00\x00hi'; } > "$TMP/zst2/part-00000.csv.zst"
zstd -dc "$TMP/zst2/part-00000.csv.zst" | cmp -s - "$TMP/spark/transactions/part-00000-4f1c-c000.csv" || fail "zstd -d of skippable frames"
layout "a .csv.zst with skippable frames before and after its frame (as zstd -d reads it)" "t=20" --transactions "$TMP/zst2"
zstd -q --long=31 -c < "$TMP/spark/transactions/part-00000-4f1c-c000.csv" > "$TMP/zst3/part-00000.csv.zst"
layout "a .csv.zst of zstd --long=31 (a 2 GiB window, which zstd -d refuses without --long=31)" "t=20" --transactions "$TMP/zst3"
# a file of a few hundred bytes that decompresses to 3 MB, three times the
# spool's output buffer, in each kind: every row read (the decoder is
# called again while it fills the buffer)
mkdir -p "$TMP/rep"
awk 'BEGIN { print "customer_id,ts,quantity,amount"; for (i = 0; i < 150000; i++) print "C1,19970101,1,10.50" }' > "$TMP/rep/r.csv"
for k in gzip:gz zstd:zst xz:xz bzip2:bz2; do
  rm -f "$TMP"/rep/r.csv.*
  ${k%:*} -9 -c "$TMP/rep/r.csv" > "$TMP/rep/r.csv.${k#*:}"
  layout "a ${k#*:} file of $(stat -c %s "$TMP/rep/r.csv.${k#*:}") bytes that decompresses to 3 MB: every row read" "t=150000" --transactions "$TMP/rep/r.csv.${k#*:}"
done
# a long decompression says how far it is (every 10 s; the hook makes it
# every chunk): the file, the text so far and the share of the file read
mkdir -p "$TMP/prog"
set +e; PRECIS_PROGRESS_S=0 run 2 $BIN/precis-clean --transactions "$TMP/rep/r.csv.bz2" --pii-key "$TMP/pii.key" --out "$TMP/prog/clean.h5" \
  > "$TMP/prog.log" 2>&1; set -e
grep -q "r.csv.bz2: [0-9.]* MB of its text so far, 100% of the file read ([0-9]* s)" "$TMP/prog.log" \
  && pass "a decompression's progress line: file, text so far, share of the file read" || { fail "progress line"; grep "so far" "$TMP/prog.log" | head -2; }
rm -rf "$TMP/prog"
rm -rf "$TMP/rep"
# zip archives (Python's zipfile) of one CSV file, with the folder and
# macOS entries an archiver adds: read; of two files, or damaged: exit 3
mkdir -p "$TMP/zip" "$TMP/zip2" "$TMP/zip3"
$PY - "$TMP/spark/transactions/part-00000-4f1c-c000.csv" "$TMP" <<'PYEOF'
import sys, zipfile
src, t = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(t + "/zip/part-00000.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("exports/", b"")
    z.write(src, "exports/part-00000.csv")
    z.writestr("__MACOSX/exports/._part-00000.csv", b"\0\5\26\7")
with zipfile.ZipFile(t + "/zip2/z.csv", "w", zipfile.ZIP_STORED) as z:
    z.write(src, "t.csv")
with zipfile.ZipFile(t + "/zip3/two.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.write(src, "a.csv")
    z.write(src, "b.csv")
d = bytearray(open(t + "/zip/part-00000.zip", "rb").read())
d[200] ^= 0xff
open(t + "/zip3/bad.zip", "wb").write(d)
PYEOF
layout "--transactions DIR of a .zip of one CSV (a folder and macOS entries aside): read" "t=20" --transactions "$TMP/zip"
layout "a zip archive named .csv: read" "t=20" --transactions "$TMP/zip2/z.csv"
expect_exit "a zip archive of two files" 3 "two.zip: a zip archive of 2 files (a.csv, b.csv); Precis reads an archive of one CSV file" --transactions "$TMP/zip3/two.zip"
expect_exit "a damaged zip archive" 3 "bad.zip: the zip data of exports/part-00000.csv is damaged (libzip:" --transactions "$TMP/zip3/bad.zip"
# a password-protected archive (the encryption flag set in its local and
# central headers, as zip -e sets it): refused by name, not read as junk
$PY -c "
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[b.find(b'PK\x03\x04') + 6] |= 1
b[b.find(b'PK\x01\x02') + 8] |= 1
open(sys.argv[2], 'wb').write(b)" "$TMP/zip2/z.csv" "$TMP/zip3/locked.zip"
expect_exit "a password-protected zip archive" 3 "locked.zip: its file t.csv is encrypted (a password-protected archive)" --transactions "$TMP/zip3/locked.zip"
mkdir -p "$TMP/zip4" && cp "$TMP/zip/part-00000.zip" "$TMP/zip4/Transactions.zip" && cp "$TMP/spark/transactions/part-00000-4f1c-c000.csv" "$TMP/zip4/transactions.csv"
expect_exit "x.csv beside x.zip" 4 "Transactions.zip: the second is the first compressed" --in "$TMP/zip4"
rm "$TMP/zip4/transactions.csv"
layout "--in DIR holding Transactions.zip (as Windows names an archive)" "t=20" --in "$TMP/zip4"
mkdir -p "$TMP/zip5" && printf 'a,b\n1,2\n' > "$TMP/zip5/notes.txt" && cp "$TMP/zip5/notes.txt" "$TMP/zip5/part.tsv"
expect_exit "a directory with no CSV" 4 "holds no transactions*.csv and no *.csv (plain or .gz, .zst, .xz, .bz2, .lz4, or a .zip)" --transactions "$TMP/zip5"
expect_exit "--in a file" 4 "not a directory" --in "$TMP/spark/customers/part-00000-9e2a-c000.csv"
# Spark's df.write.csv("transactions.csv") makes a directory of that name:
# found by --in and by a glob, its part files read
mkdir -p "$TMP/spark2" && cp -r "$TMP/spark/transactions" "$TMP/spark2/transactions.csv"
layout "--in DIR holding a Spark directory transactions.csv/" "t=60" --in "$TMP/spark2"
layout "a glob matching a Spark directory *.csv/" "t=60" --transactions "$TMP/spark2/*.csv"
# a matched name that cannot be read is an error, not a file skipped: a
# broken link, and a path longer than the system takes (it was cut to 4095
# bytes, the file then skipped without a word)
cp -r "$TMP/spark/transactions" "$TMP/broken" && ln -s "$TMP/nowhere.csv" "$TMP/broken/part-00009.csv"
expect_exit "a broken link among the part files" 4 "part-00009.csv: No such file" --transactions "$TMP/broken"
long="$TMP/long"; for i in $(seq 1 18); do long="$long/$(printf 'd%.0s' $(seq 1 220))"; done
mkdir -p "$long" && (cd "$long" && cp "$TMP/spark/transactions/part-00000-4f1c-c000.csv" "transactions-$(printf 'x%.0s' $(seq 1 200)).csv")
expect_exit "a part file whose path is longer than PATH_MAX" 4 "File name too long" --transactions "$long"
# a pipe, a device: refused at once (no rank opens them), given or matched
mkfifo "$TMP/bad/pipe.csv"
expect_exit "a named pipe as the input" 4 "pipe.csv is a named pipe (FIFO)" --transactions "$TMP/bad/pipe.csv"
expect_exit "a character device as the input" 4 "/dev/null is a character device" --transactions /dev/null
mkdir -p "$TMP/fifodir"; cp "$TMP/bad/bom_crlf.csv" "$TMP/fifodir/transactions-part-00000.csv"; mkfifo "$TMP/fifodir/transactions-part-00001.csv"
expect_exit "a named pipe among the part files" 4 "transactions-part-00001.csv is a named pipe (FIFO)" --in "$TMP/fifodir"

echo "clean: compressed inputs, gzip, zstd, xz, bzip2 and lz4 (np=1, 3)"
# the dirty data of the first test, compressed in the ways exports are, by
# the command-line tools: gzip -1, and two members with zero padding after
# them (as pigz and bgzip write); zstd as two frames (as pzstd writes), xz
# as two streams with stream padding; bzip2 as two streams (as pbzip2
# writes) and bzip2 -1; lz4 as two frames with a skippable frame between
# them; zstd data under a .csv name; the rest plain. Every
# dataset, quarantine row (the file's name aside), planted-defect count and
# report entry equals np=1's plain run, and no decompressed copy is left
mkdir -p "$TMP/gzin"
two() { # FILE A B EXT: FILE's first 3000 lines through A, the rest through B
  { head -n 3000 "$1" | $2; tail -n +3001 "$1" | $3; } > "$TMP/gzin/$(basename "$1")$4"; }
for f in "$TMP"/g/*.csv; do b=$(basename "$f"); case "$b" in
  transactions-part-00000.csv) gzip -1 -c "$f" > "$TMP/gzin/$b.gz" ;;
  transactions-part-00001.csv) { head -n 3000 "$f" | gzip -c; tail -n +3001 "$f" | gzip -9 -c; head -c 700 /dev/zero; } > "$TMP/gzin/$b.gz" ;;
  touchpoints-part-00000.csv) two "$f" "zstd -q -c" "zstd -q -19 -c" .zst ;;
  touchpoints-part-00001.csv) two "$f" "xz -c" "xz -1 -c" .xz && head -c 8 /dev/zero >> "$TMP/gzin/$b.xz" ;;
  customers-part-00000.csv) two "$f" "bzip2 -c" "bzip2 -9 -c" .bz2 ;;
  customers-part-00001.csv) bzip2 -1 -c "$f" > "$TMP/gzin/$b.bz2" ;;
  spend-part-00000.csv) zstd -q -c "$f" > "$TMP/gzin/$b" ;;
  experiments-part-00000.csv) { head -n 3000 "$f" | lz4 -q -c; printf 'P*M\030\005\000\000\000skip!'; tail -n +3001 "$f" | lz4 -q -9 -c; } \
    > "$TMP/gzin/$b.lz4" ;;
  *) cp "$f" "$TMP/gzin/" ;;
esac; done
cp "$TMP/g/truth.h5" "$TMP/gzin/" 2>/dev/null || true
# spooled_run IN TAG PATTERN WANT WHAT: precis-clean --in IN at np=1 and 3
# (into $TMP/<TAG>o<np>); the log's matches of PATTERN, sorted and joined
# by |, are WANT; every dataset equals np=1's plain run; no copy is left
spooled_run() {
  local in=$1 tag=$2 pat=$3 want=$4 what=$5 np o out
  for np in 1 3; do
    o="$TMP/${tag}o$np"
    rm -rf "$o" && mkdir -p "$o"
    if run $np $BIN/precis-clean --in "$in" --pii-key "$TMP/pii.key" --out "$o/clean.h5" --max-reject-rate 0.05 > "$o.log" 2>&1 \
       && [ "$(grep -o "$pat" "$o.log" | sort | tr '\n' '|')" = "$want" ]; then
      out=$($PY "$H/../h5same.py" "$TMP/np1/clean.h5" "$o/clean.h5" --ignore quality/report | tail -1 || true)
      [[ "$out" == *", 0 differ" ]] && pass "np=$np: $what give np=1's plain datasets ($out)" || fail "$what np=$np: $out"
      expect_eq "np=$np: no spooled copy left in the spool directory (the output's)" "$(ls -A "$o" | grep -c precis-spool || true)" "0"
    else fail "$what np=$np"; tail -3 "$o.log"; grep -o "$pat" "$o.log" || true; fi
  done
}
spooled_run "$TMP/gzin" gz 'decompressed [0-9]* inputs\? ([^;]*' \
  "decompressed 1 input (1 lz4|decompressed 1 input (1 zstd|decompressed 2 inputs (1 zstd, 1 xz|decompressed 2 inputs (2 bzip2|decompressed 2 inputs (2 gzip|" \
  "8 compressed inputs (2 gzip, 2 zstd, 1 xz, 2 bzip2, 1 lz4; one zstd as .csv)"
$PY $H/check_truth.py "$TMP/g" "$TMP/gzo3/quality.json" > "$TMP/gztruth.out" \
  && pass "compressed inputs np=3: counts equal the planted defects ($(grep -c ' ok ' "$TMP/gztruth.out") checks)" || { fail "gzip inputs vs planted truth"; grep FAIL "$TMP/gztruth.out"; }
$PY - "$TMP/np1" "$TMP/gzo3" "$TMP/pii.key" "$H" <<'PYEOF' && pass "compressed inputs np=3: the same quarantine rows and report, naming the compressed files; every line_hash is the HMAC of the record at its line and offset in the text Python's gzip and bz2 (and the zstd, xz and lz4 tools) decompress, order conflicts (read again) included" || fail "compressed inputs' quarantine or report"
import bz2, csv, glob, gzip, json, os, re, subprocess, sys
sys.path.insert(0, sys.argv[4])
from qhash import line_hash, quarantine_pairs, same_report
plain, gz, key = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
name = lambda p: re.sub(r"\.(gz|zst|xz|bz2|lz4)$", "", os.path.basename(p))
def unpack(raw, p):
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-q", "-d", "-c", p], check=True, capture_output=True).stdout
    if raw[:6] == b"\xfd7zXZ\0":  # (Python's lzma stops at stream padding, which the xz tool reads)
        return subprocess.run(["xz", "-q", "-d", "-c", p], check=True, capture_output=True).stdout
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    if raw[:4] == b"\x04\x22\x4d\x18":
        return subprocess.run(["lz4", "-q", "-d", "-c", p], check=True, capture_output=True).stdout
    return raw
data, checked, late, kinds = {}, 0, 0, {"": 0, ".gz": 0, ".zst": 0, ".xz": 0, ".bz2": 0, ".lz4": 0}
for t, x, y in quarantine_pairs(plain, gz):
    assert [name(x[0])] + x[1:] == [name(y[0])] + y[1:], (x, y)
    kinds[os.path.basename(y[0])[len(name(y[0])):]] += 1
    if y[3] in ("bad_quote", "open_quote", "field_too_long"):
        continue
    p = y[0]
    if p not in data:
        with open(p, "rb") as f:
            raw = f.read()
        data[p] = unpack(raw, p)
    assert line_hash(key, data[p], int(y[2]), int(y[1])) == y[5], ("line_hash", y[:6])
    checked += 1
    late += y[3] == "order_conflict"
assert checked > 100 and late > 10 and min(kinds.values()) > 5, (checked, late, kinds)
same_report(plain, gz, name)
print(checked, "line hashes,", late, "of order conflicts; rows per suffix", kinds)
PYEOF
rm -rf "$TMP/gzo1" && mkdir -p "$TMP/gzo1"
set +e; PRECIS_STOP_AT=spool:0 run 3 $BIN/precis-clean --in "$TMP/gzin" --pii-key "$TMP/pii.key" --out "$TMP/gzo1/clean.h5" \
  --max-reject-rate 0.05 > "$TMP/gzstop.log" 2>&1; rc=$?; set -e
expect_eq "PRECIS_STOP_AT=spool:0 (a stop while decompressing) exits 75" "$rc" "75"
[ -z "$(ls -A "$TMP/gzo1" | grep -E 'precis-spool|clean.h5')" ] && grep -q "while decompressing" "$TMP/gzstop.log" \
  && pass "stopped while decompressing: no decompressed copy and no clean.h5 left" || fail "stop while decompressing"
rm -rf "$TMP/gzin" "$TMP/gzo1"
echo "clean: UTF-16 and UTF-32 inputs (np=1, 3)"
# the dirty data of the first test written as Excel's "Unicode text",
# SQL Server's bcp -w and PowerShell write it: UTF-16LE with a byte-order
# mark; UTF-16BE with a mark, gzipped; UTF-32LE with a mark; UTF-16LE in a
# zip archive; the rest plain. Its bytes that are not UTF-8 are written as
# lone surrogates (Python's surrogateescape), which the reader turns into
# the byte ff: their rows are quarantined as bad_utf8, as in the plain run.
# So every dataset, quarantine row and report entry equals np=1's plain
# run, and every line_hash is the HMAC of the record in the UTF-8 that
# Python's codecs make of the file
mkdir -p "$TMP/u16in"
$PY - "$TMP/g" "$TMP/u16in" <<'PYEOF'
import glob, gzip, os, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
def enc(path, codec):
    return ("\ufeff" + open(path, "rb").read().decode("utf-8", "surrogateescape")).encode(codec, "surrogatepass")
for p in sorted(glob.glob(src + "/*.csv")):
    b = os.path.basename(p)
    if b == "transactions-part-00000.csv":
        open(dst + "/" + b, "wb").write(enc(p, "utf-16-le"))
    elif b == "transactions-part-00001.csv":
        open(dst + "/" + b + ".gz", "wb").write(gzip.compress(enc(p, "utf-16-be")))
    elif b == "touchpoints-part-00000.csv":
        open(dst + "/" + b, "wb").write(enc(p, "utf-32-le"))
    elif b == "customers-part-00000.csv":
        with zipfile.ZipFile(dst + "/customers-part-00000.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(b, enc(p, "utf-16-le"))
    else:
        shutil.copy(p, dst)
PYEOF
spooled_run "$TMP/u16in" u16 'transcoded [0-9]* inputs\? to UTF-8 ([^;]*' \
  "transcoded 1 input to UTF-8 (1 UTF-16LE|transcoded 1 input to UTF-8 (1 UTF-32LE|transcoded 2 inputs to UTF-8 (1 UTF-16LE, 1 UTF-16BE|" \
  "4 UTF-16 and UTF-32 inputs (one gzipped, one zipped)"
$PY - "$TMP/np1" "$TMP/u16o3" "$TMP/pii.key" "$H" <<'PYEOF' && pass "UTF-16 and UTF-32 inputs np=3: the same quarantine rows (offsets too) and report; every line_hash is the HMAC of the record in Python's UTF-8 of the file, bad_utf8 rows included" || fail "UTF-16 inputs' quarantine or report"
import codecs, csv, gzip, io, json, os, re, sys, zipfile
sys.path.insert(0, sys.argv[4])
from qhash import line_hash, quarantine_pairs, same_report
plain, u16, key = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
codecs.register_error("ff", lambda x: (b"\xff" * (x.end - x.start), x.end))
name = lambda p: re.sub(r"\.(gz|zip)$", ".csv", os.path.basename(p)).replace(".csv.csv", ".csv")
def text(p):
    raw = open(p, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            raw = z.read(z.namelist()[0])
    for bom, codec in ((b"\xff\xfe\0\0", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(codec, "surrogatepass").encode("utf-8", "ff")
    return raw
data, checked, bad, conv = {}, 0, 0, 0
for t, x, y in quarantine_pairs(plain, u16):
    # the raw bytes of a bad_utf8 row differ (ff for each byte that is not UTF-8), so its hash does
    assert [name(x[0])] + x[1:5] + x[6:] == [name(y[0])] + y[1:5] + y[6:], (x, y)
    if y[3] in ("bad_quote", "open_quote", "field_too_long"):
        continue
    p = y[0]
    if p not in data:
        data[p] = text(p)
    assert line_hash(key, data[p], int(y[2]), int(y[1])) == y[5], ("line_hash", y[:6])
    checked += 1
    conv += p.endswith((".gz", ".zip")) or "part-00000" in p and t in ("transactions", "touchpoints")
    bad += y[3] == "bad_utf8" and x[5] != y[5]
assert checked > 100 and conv > 50 and bad > 5, (checked, conv, bad)
same_report(plain, u16, name)
print(checked, "line hashes,", conv, "of transcoded files,", bad, "bad_utf8 rows")
PYEOF
$PY $H/check_truth.py "$TMP/g" "$TMP/u16o3/quality.json" > "$TMP/u16truth.out" \
  && pass "UTF-16 inputs np=3: counts equal the planted defects ($(grep -c ' ok ' "$TMP/u16truth.out") checks)" || { fail "UTF-16 inputs vs planted truth"; grep FAIL "$TMP/u16truth.out"; }
rm -rf "$TMP/u16in" "$TMP/u16o1" "$TMP/u16o3"
# a lone surrogate and an odd last byte: a warning, and each one's row
# quarantined as bad_utf8 at its line (the odd byte is a line of its own)
mkdir -p "$TMP/u16"
$PY - "$TMP/u16" <<'PYEOF'
import sys
d = sys.argv[1]
t = "customer_id,ts,quantity,amount\nc1,20240101,1,10.5\nc2,20240102,2,3.25\nc3,20240103,1,7\n"
open(d + "/le.csv", "wb").write(t.encode("utf-16-le"))
open(d + "/be_bom.csv", "wb").write(("\ufeff" + t).encode("utf-16-be"))
open(d + "/le_bom.csv", "wb").write(("\ufeff" + t).encode("utf-16-le"))
open(d + "/u8_bom.csv", "wb").write(("\ufeff" + t).encode("utf-8"))
open(d + "/bad.csv", "wb").write(("\ufeff" + t.replace("c2,", "c\udc802,")).encode("utf-16-le", "surrogatepass") + b"x")
PYEOF
rm -rf "$TMP/bad/out"; mkdir -p "$TMP/bad/out"
run 3 $BIN/precis-clean --pii-key "$TMP/pii.key" --out "$TMP/bad/out/clean.h5" --transactions "$TMP/u16/bad.csv" --max-reject-rate 0.9 > "$TMP/u16bad.log" 2>&1 || true
got=$($PY -c "import csv,json,sys; q=json.load(open(sys.argv[1]+'/quality.json'))['tables']['transactions']; print(q['rows_in'], q['rows_clean'], ' '.join(r[1]+':'+r[3] for r in list(csv.reader(open(sys.argv[1]+'/quarantine/transactions.csv')))[1:]))" "$TMP/bad/out" 2>&1 || true)
expect_eq "UTF-16LE with a lone surrogate and an odd last byte: rows in, clean, and the quarantined lines" "$got" "4 2 3:bad_utf8 5:bad_utf8"
grep -q "bad.csv: 2 code units are not UTF-16LE (a lone surrogate, or a cut last character), the first at byte 104 of its text" "$TMP/u16bad.log" \
  && pass "the bad code units are counted in a warning, the first at its byte" || { fail "bad code units' warning"; grep -i warn "$TMP/u16bad.log"; }
layout "UTF-16LE without a byte-order mark, --encoding UTF-16 (the order from the header)" "t=3" --transactions "$TMP/u16/le.csv" --encoding UTF-16
layout "UTF-16LE without a mark, --encoding ucs-2le" "t=3" --transactions "$TMP/u16/le.csv" --encoding ucs-2le
# Excel's "Unicode text" export: Transactions.txt, UTF-16LE with a mark,
# tab-separated, CRLF. --in does not take a .txt by guess but names it;
# given, with --delimiter tab, every row is read
$PY -c "
import sys
t = 'customer_id\tts\tquantity\tamount\r\n' + ''.join('c%d\t2024-01-%02d\t1\t%d.5\r\n' % (i % 7, i % 28 + 1, i) for i in range(40))
open(sys.argv[1], 'wb').write(('\ufeff' + t).encode('utf-16-le'))" "$TMP/u16/Transactions.txt"
expect_exit "--in DIR holding only Excel's Transactions.txt" 2 "no transactions input: give --transactions PATH, or --in DIR holding transactions*.csv ($TMP/u16 holds $TMP/u16/Transactions.txt: give it with --transactions, and --delimiter tab" --in "$TMP/u16"
layout "Excel's Unicode text (UTF-16LE, tabs, CRLF) with --delimiter tab: every row read" "t=40" --transactions "$TMP/u16/Transactions.txt" --delimiter tab
# --encoding-for: SQL Server's bcp -w transactions (UTF-16LE, no mark)
# beside a UTF-8 customers export, in one run; refused forms exit 2
mkdir -p "$TMP/mix" && cp "$TMP/u16/le.csv" "$TMP/mix/transactions.csv" && printf 'customer_id,city\nc1,Berlin\nc2,Paris\n' > "$TMP/mix/customers.csv"
layout "--encoding-for transactions=UTF-16LE beside UTF-8 customers" "c=2 t=3" --in "$TMP/mix" --encoding-for transactions=UTF-16LE
expect_exit "--encoding-for an unknown table" 2 "option --encoding-for: 'orders=UTF-8' is not table=ENCODING" --in "$TMP/mix" --encoding-for orders=UTF-8
expect_exit "--encoding-for a table twice" 2 "option --encoding-for: transactions is given twice" --in "$TMP/mix" --encoding-for transactions=UTF-16LE --encoding-for transactions=UTF-16
expect_exit "--encoding-for an encoding iconv does not know" 2 "option --encoding-for transactions: 'NO-SUCH' is not an encoding" --in "$TMP/mix" --encoding-for transactions=NO-SUCH
expect_exit "UTF-16LE without a mark, no --encoding" 3 "le.csv:1: the header reads as UTF-16LE without a byte-order mark: give --encoding UTF-16LE" --transactions "$TMP/u16/le.csv"
expect_exit "a UTF-16BE mark under --encoding UTF-16LE" 3 "be_bom.csv starts with a UTF-16BE byte-order mark, but --encoding UTF-16LE was given" --transactions "$TMP/u16/be_bom.csv" --encoding UTF-16LE
expect_exit "a UTF-16LE mark under --encoding CP1252" 3 "le_bom.csv starts with a UTF-16LE byte-order mark, but --encoding CP1252 was given: give --encoding UTF-16LE" --transactions "$TMP/u16/le_bom.csv" --encoding CP1252
expect_exit "a UTF-8 mark under --encoding UTF-16" 3 "u8_bom.csv starts with a UTF-8 byte-order mark, but --encoding UTF-16 was given" --transactions "$TMP/u16/u8_bom.csv" --encoding UTF-16
# damaged, cut short, or followed by junk, in each kind: stopped with the
# file named, nothing left in the spool directory
left=0
spool_left() { left=$((left + $(ls -A "$TMP/bad/out" | grep -c precis-spool || true))); }
for k in gzip:gz zstd:zst xz:xz bzip2:bz2 lz4:lz4; do
  tool=${k%:*} x=${k#*:}
  $tool -q -c < "$TMP/g/transactions-part-00000.csv" > "$TMP/gz/ok.$x"
  sz=$(stat -c %s "$TMP/gz/ok.$x")
  head -c $((sz - 12)) "$TMP/gz/ok.$x" > "$TMP/gz/cut.csv.$x"
  $PY -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); h = len(d) // 2; d[h] ^= 0xff; d[h + 1] ^= 0x55; open(sys.argv[2], 'wb').write(d)" "$TMP/gz/ok.$x" "$TMP/gz/bad.csv.$x"
  { cat "$TMP/gz/ok.$x"; echo "id,ts"; } > "$TMP/gz/junk.csv.$x"
  expect_exit "a .csv.$x cut short" 3 "cut.csv.$x: the $tool data ends early, after $((sz - 12)) compressed bytes" --transactions "$TMP/gz/cut.csv.$x"; spool_left
  expect_exit "a damaged .csv.$x" 3 "bad.csv.$x: the $tool data is damaged (found by compressed byte" --transactions "$TMP/gz/bad.csv.$x"; spool_left
  # the byte it names comes after the damage (bytes sz/2 and sz/2 + 1), within the file
  by=$(echo "$out" | grep -o 'found by compressed byte [0-9]*' | grep -o '[0-9]*$' | head -1 || true)
  [ -n "$by" ] && [ "$by" -gt $((sz / 2)) ] && [ "$by" -le "$sz" ] \
    && pass "the damaged .csv.$x: found by compressed byte $by, past the damage at byte $((sz / 2)) of $sz" \
    || fail "the damaged .csv.$x: found by compressed byte '$by', the damage at byte $((sz / 2)) of $sz"
  expect_exit "text after the $tool stream" 3 "junk.csv.$x: data that is not $tool follows the compressed stream, at compressed byte $sz;" --transactions "$TMP/gz/junk.csv.$x"; spool_left
done
expect_exit "a spool directory that does not exist" 4 "cannot create $TMP/nowhere/.precis-spool" --transactions "$TMP/gz/ok.gz" --spool "$TMP/nowhere"
lz4 -q -l -c < "$TMP/g/transactions-part-00000.csv" > "$TMP/gz/legacy.csv.lz4"
expect_exit "lz4's legacy format (lz4 -l)" 3 "legacy.csv.lz4: lz4's legacy format (as \`lz4 -l\` writes it), at compressed byte 0, which liblz4 does not read: compress the file again without -l" \
  --transactions "$TMP/gz/legacy.csv.lz4"; spool_left
expect_eq "no decompressed copy left after the sixteen damaged inputs" "$left" "0"
# a run killed (SIGKILL) while decompressing leaves its copy, named after its
# host and process; the next run that spools on this host removes it, and
# leaves other hosts' copies and those of processes that still run
mkdir -p "$TMP/sp"
for i in $(seq 40); do cat "$TMP/g/transactions-part-00000.csv"; done | gzip -1 > "$TMP/gz/big.csv.gz"
run 1 $BIN/precis-clean --transactions "$TMP/gz/big.csv.gz" --pii-key "$TMP/pii.key" --out "$TMP/sp/clean.h5" --max-reject-rate 1 > /dev/null 2>&1 &
bg=$!
for i in $(seq 500); do ls -A "$TMP/sp" | grep -q precis-spool && break; sleep 0.01; done
pkill -KILL -f "^$BIN/precis-clean --transactions $TMP/gz/big.csv.gz" || true   # the rank, not mpirun
wait $bg 2>/dev/null || true
left=$(ls -A "$TMP/sp" | grep precis-spool || true)
[[ "$left" =~ ^\.precis-spool\.$(hostname)\.[0-9]+\.0\.0$ ]] && pass "SIGKILL while decompressing leaves $left" || fail "killed run's copy: '$left'"
sh -c 'exit 0' & dead=$!; wait $dead
touch "$TMP/sp/.precis-spool.other-host.$dead.0.0" "$TMP/sp/.precis-spool.$(hostname).$$.0.0" "$TMP/sp/.precis-spool.$(hostname).$dead.3.1"
run 2 $BIN/precis-clean --transactions "$TMP/gz/ok.gz" --pii-key "$TMP/pii.key" --out "$TMP/sp/clean.h5" --max-reject-rate 0.5 > "$TMP/sp.log" 2>&1 || fail "run after a killed one"
expect_eq "the next run removes this host's copies of gone processes, keeps another host's and a live process's" \
  "$(ls -A "$TMP/sp" | grep precis-spool | sort | tr '\n' ' ')" "$(printf '%s\n' ".precis-spool.$(hostname).$$.0.0" ".precis-spool.other-host.$dead.0.0" | sort | tr '\n' ' ')"
[ "$(grep -c "warn: removed $TMP/sp/.precis-spool.$(hostname).[0-9]*.[0-9].[0-9]: a decompressed input left by a run that was killed" "$TMP/sp.log")" = 2 ] \
  && pass "each removal is named in a warning" || fail "removal warnings: $(grep warn "$TMP/sp.log")"
# a run of plain inputs removes them too (its --out directory is the default spool directory)
touch "$TMP/sp/.precis-spool.$(hostname).$dead.0.0"
run 2 $BIN/precis-clean --transactions "$TMP/g/transactions-part-00000.csv" --pii-key "$TMP/pii.key" --out "$TMP/sp/clean.h5" \
  --max-reject-rate 0.5 > "$TMP/sp.log" 2>&1 || fail "plain run after a killed one"
[ "$(ls -A "$TMP/sp" | grep precis-spool | sort | tr '\n' ' ')" = "$(printf '%s\n' ".precis-spool.$(hostname).$$.0.0" ".precis-spool.other-host.$dead.0.0" | sort | tr '\n' ' ')" ] \
  && grep -q "warn: removed $TMP/sp/.precis-spool.$(hostname).$dead.0.0: a decompressed input left" "$TMP/sp.log" \
  && pass "a run of plain CSV removes a killed run's copy too, naming it" || fail "plain run's sweep: $(ls -A "$TMP/sp" | grep precis-spool | tr '\n' ' ')"
rm -rf "$TMP/sp" "$TMP/gz/big.csv.gz"

echo "clean: --tz with a zone name: local times as Python's zoneinfo reads them (np=1, 3)"
$PY "$H/tz_check.py" make "$TMP/tz.csv"
for z in Europe/Berlin America/Sao_Paulo Australia/Lord_Howe America/New_York UTC; do
  rm -rf "$TMP/tz" && mkdir -p "$TMP/tz"
  run 3 $BIN/precis-clean --transactions "$TMP/tz.csv" --pii-key "$TMP/pii.key" --out "$TMP/tz/clean.h5" --max-reject-rate 0 --tz $z > "$TMP/tz.log" 2>&1 \
    || { fail "--tz $z np=3"; tail -3 "$TMP/tz.log"; continue; }
  out=$($PY "$H/tz_check.py" check $z "$TMP/tz.csv" "$TMP/tz/clean.h5" "$TMP/tz/quality.json" 2>&1) && pass "$out" || fail "--tz $z: $out"
  if [ $z = Europe/Berlin ]; then
    grep -q "warn: transactions.ts: [1-9][0-9]* local times fall where Europe/Berlin's clocks skip" "$TMP/tz.log" && pass "the skipped and repeated local times are named on stderr" || fail "tz warning: $(grep warn "$TMP/tz.log")"
    mv "$TMP/tz/clean.h5" "$TMP/tz3.h5" && rm -rf "$TMP/tz"/*   # the same --out: the report names the quarantine directory
    run 1 $BIN/precis-clean --transactions "$TMP/tz.csv" --pii-key "$TMP/pii.key" --out "$TMP/tz/clean.h5" --max-reject-rate 0 --tz $z >/dev/null 2>&1
    out=$($PY "$H/../h5same.py" "$TMP/tz3.h5" "$TMP/tz/clean.h5" | tail -1 || true)
    [[ "$out" == *", 0 differ" ]] && pass "--tz $z: np=1 equals np=3 ($out)" || fail "--tz $z np=1 vs np=3: $out"
  fi
done
# a birth date is a local calendar date: its year survives a zone 14 hours east of UTC
printf 'customer_id,gender,birth_date\nK1,F,2000-01-01\nK2,M,1999-12-31\n' > "$TMP/tzc.csv"
printf 'customer_id,ts,quantity,amount\nK1,2024-01-01 00:30:00,1,5\n' > "$TMP/tzt.csv"
rm -rf "$TMP/tz" && mkdir -p "$TMP/tz"
run 2 $BIN/precis-clean --transactions "$TMP/tzt.csv" --customers "$TMP/tzc.csv" --pii-key "$TMP/pii.key" --out "$TMP/tz/clean.h5" --tz Pacific/Kiritimati >/dev/null 2>&1
$PY -c "
import h5py; f = h5py.File('$TMP/tz/clean.h5', 'r')
assert sorted(f['customers/birth_year'][:].tolist()) == [1999, 2000], f['customers/birth_year'][:]
assert f['transactions/ts'][0] == 1704018600, f['transactions/ts'][0]" && pass "--tz Pacific/Kiritimati (+14): birth years 1999 and 2000 kept; 00:30 local is 10:30 UTC the day before" || fail "Kiritimati birth years"
for bad in Mars/Olympus ../../etc/passwd right/Europe/Berlin; do
  set +e; run 3 $BIN/precis-clean --transactions "$TMP/tzt.csv" --pii-key "$TMP/pii.key" --out "$TMP/tz/x.h5" --tz $bad > "$TMP/tz.log" 2>&1; rc=$?; set -e
  [ $rc = 2 ] && grep -q "option --tz: '$bad' is not" "$TMP/tz.log" && pass "--tz $bad: exit 2 naming it" || fail "--tz $bad: rc=$rc $(grep error "$TMP/tz.log" | head -1)"
done

echo "clean: --date-format patterns read as Python's datetime.strptime reads them (np=3)"
mkdir -p "$TMP/df" && $PY "$H/datefmt_check.py" make "$TMP/df"
p=0
while IFS=$'\t' read -r fmt zone; do
  # without --date-format, a column most of whose values parse in no
  # automatic format is named on stderr with the pattern its values'
  # shapes point to: the very pattern the values were written in (the
  # check below then reads them with it as strptime does), or month names
  rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
  run 3 $BIN/precis-clean --transactions "$TMP/df/p$p.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" --max-reject-rate 1 \
    > "$TMP/dfo.log" 2>&1 < /dev/null || { fail "auto dates of '$fmt'"; tail -3 "$TMP/dfo.log"; }
  said=$(grep "warn: transactions.ts: [0-9]* of [0-9]* values parse in no automatic date format" "$TMP/dfo.log" || true)
  case "$fmt" in
    *%b*|*%B*) want="they hold month names: give --date-format transactions.ts= with a pattern that has %b" ;;
    %Y%m%d*) want="" ;;   # (unpadded, most are not 14 digits: read as epoch seconds or milliseconds, no hint)
    *) want="give --date-format transactions.ts='$fmt'" ;;
  esac
  # (and quality.json's date_hint, for the data owners, is the same words)
  inq=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['tables']['transactions']['columns']['ts'].get('date_hint', ''))" "$TMP/dfo/quality.json")
  if [ -z "$want" ]; then [ -z "$said$inq" ] && pass "'$fmt' without --date-format: no hint (its values parse as epoch_ms)" || fail "hint for '$fmt': $said"
  else [[ "$said" == *"$want"* && "$said" == *": warn: $inq" ]] && pass "'$fmt' without --date-format: the hint on stderr and in quality.json names it (${want:0:60})" || fail "hint for '$fmt': '$said' / '$inq'"; fi
  rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
  run 3 $BIN/precis-clean --transactions "$TMP/df/p$p.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" --max-reject-rate 0.5 \
    --date-format "$fmt" --tz "$zone" > "$TMP/dfo.log" 2>&1 < /dev/null || { fail "--date-format '$fmt'"; tail -3 "$TMP/dfo.log"; }
  out=$($PY "$H/datefmt_check.py" check "$fmt" "$zone" "$TMP/df/p$p.csv" "$TMP/dfo/clean.h5" "$TMP/dfo/quarantine/transactions.csv" 2>&1 | tail -1) \
    && pass "$out" || fail "'$fmt': $out"
  $PY -c "import json, sys; c = json.load(open(sys.argv[1]))['tables']['transactions']['columns']['ts']; assert c['date_format'] == sys.argv[2], c" \
    "$TMP/dfo/quality.json" "$fmt" || fail "'$fmt': quality.json date_format"
  p=$((p + 1))
done < <($PY "$H/datefmt_check.py" patterns)
# compact local date-times (yyyymmddHHMMSS, 14 digits) parse as epoch
# milliseconds, the automatic format: the hint names them, and read with
# the pattern it names they are what strptime reads
$PY - "$TMP/dfz.csv" <<'PYEOF'
import csv, random, sys
from datetime import datetime, timedelta
rnd = random.Random(8)
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "ts", "quantity", "amount"])
    for i in range(400):
        w.writerow(["c%d" % (i % 31), (datetime(1990, 1, 1) + timedelta(seconds=rnd.randrange(1300000000))).strftime("%Y%m%d%H%M%S"), 1, i + 1])
PYEOF
rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
run 3 $BIN/precis-clean --transactions "$TMP/dfz.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" --max-reject-rate 1 > "$TMP/dfo.log" 2>&1 || true
said=$(grep -o "warn: transactions.ts: 400 of 400 values are 14 digits that read as epoch milliseconds but look like compact local date-times.*give --date-format transactions.ts='[^']*'" "$TMP/dfo.log" || true)
hinted=$(echo "$said" | sed -n "s/.*transactions.ts='\([^']*\)'$/\1/p")
rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
if [ "$hinted" = "%Y%m%d%H%M%S" ] && run 3 $BIN/precis-clean --transactions "$TMP/dfz.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" \
     --max-reject-rate 0 --date-format "$hinted" > "$TMP/dfo.log" 2>&1 &&
   out=$($PY "$H/datefmt_check.py" check "$hinted" UTC "$TMP/dfz.csv" "$TMP/dfo/clean.h5" /dev/null 2>&1 | tail -1); then
  pass "compact yyyymmddHHMMSS values: the hint names '$hinted'; given, $out"
else fail "compact date-time hint: '$said' / ${out:-}"; fi
# one pattern for every date column, another for one column; the vote for a column set back to auto
printf 'customer_id,gender,birth_date,signup_ts\nK1,F,31.12.1980,12/31/2024 11:59 PM\nK2,M,01.02.1975,\n' > "$TMP/dfc.csv"
printf 'customer_id,ts,quantity,amount\nK1,1/2/2024 1:00 AM,1,5\nK2,2024-01-02,1,6\n' > "$TMP/dft.csv"
printf 'customer_id,ts,channel,event\nK1,2024-01-03 10:00:00,email,open\n' > "$TMP/dfp.csv"
rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
run 2 $BIN/precis-clean --transactions "$TMP/dft.csv" --customers "$TMP/dfc.csv" --touchpoints "$TMP/dfp.csv" --pii-key "$TMP/pii.key" \
  --out "$TMP/dfo/clean.h5" --max-reject-rate 0.5 --date-format customers.birth_date=%d.%m.%Y --date-format '%m/%d/%Y %I:%M %p' \
  --date-format touchpoints.ts=auto > "$TMP/dfo.log" 2>&1 || { fail "per-column --date-format"; tail -3 "$TMP/dfo.log"; }
$PY - "$TMP/dfo" <<'PYEOF' && pass "per-column --date-format: birth dates d.m.Y, signups and orders m/d/Y I:M p, touchpoints voted (iso); the other format quarantined" || fail "per-column --date-format"
import json, sys, h5py
d = sys.argv[1]
q = json.load(open(d + "/quality.json"))["tables"]
assert q["customers"]["columns"]["birth_date"]["date_format"] == "%d.%m.%Y"
assert q["customers"]["columns"]["signup_ts"]["date_format"] == "%m/%d/%Y %I:%M %p"
assert q["transactions"]["columns"]["ts"]["date_format"] == "%m/%d/%Y %I:%M %p"
assert q["touchpoints"]["columns"]["ts"]["date_format"] == "iso"
assert q["transactions"]["rejected_by_reason"] == {"invalid_date": 1}, q["transactions"]["rejected_by_reason"]
f = h5py.File(d + "/clean.h5", "r")
assert sorted(f["customers/birth_year"][:].tolist()) == [1975, 1980]
assert sorted(f["customers/signup_ts"][:].tolist())[-1] == 1735689540      # 2024-12-31 23:59 UTC
assert f["transactions/ts"][:].tolist() == [1704157200]                   # 2024-01-02 01:00 UTC
assert f["touchpoints/ts"][:].tolist() == [1704276000]
PYEOF
# a table with one column given and one voted: the given one is parsed in its pattern during the vote
printf 'customer_id,gender,birth_date,signup_ts\nK1,F,31.12.1980,2024-12-31T23:59:00Z\nK2,M,1.2.1975,20240101\nK3,F,1980-01-01,2024-06-01 10:00:00\n' > "$TMP/dfc2.csv"
rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
run 3 $BIN/precis-clean --transactions "$TMP/dft.csv" --customers "$TMP/dfc2.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" \
  --max-reject-rate 0.9 --date-format customers.birth_date=%d.%m.%Y > "$TMP/dfo.log" 2>&1 || { fail "--date-format for one of two columns"; tail -3 "$TMP/dfo.log"; }
$PY - "$TMP/dfo" <<'PYEOF' && pass "one column given, one voted in the same table: the pattern's dates kept, the voted column's other format invalid" || fail "one column given, one voted"
import json, sys, h5py
d = sys.argv[1]
c = json.load(open(d + "/quality.json"))["tables"]["customers"]["columns"]
assert c["birth_date"]["date_format"] == "%d.%m.%Y" and c["birth_date"]["invalid"] == 1, c["birth_date"]
assert c["signup_ts"]["date_format"] == "iso" and c["signup_ts"]["invalid"] == 1, c["signup_ts"]
f = h5py.File(d + "/clean.h5", "r")
assert sorted(f["customers/birth_year"][:].tolist()) == [0, 1975, 1980]
PYEOF
# epoch milliseconds (event exports) are found by the vote: floored to seconds, as Python's // does
$PY -c "
import random
r = random.Random(4)
print('customer_id,ts,quantity,amount')
for i in range(300): print('m%d,%d,1,%d' % (i, r.randrange(100000000000, 4102444799999) * r.choice([1, 1, 1, -1]) // 1 if i % 7 else r.randrange(100000000000, 4102444799999), i + 1))
" > "$TMP/ms.csv"
rm -rf "$TMP/dfo" && mkdir -p "$TMP/dfo"
run 3 $BIN/precis-clean --transactions "$TMP/ms.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/clean.h5" --max-reject-rate 0.9 > "$TMP/dfo.log" 2>&1 || fail "epoch_ms clean"
$PY - "$TMP/ms.csv" "$TMP/dfo" <<'PYEOF' && pass "epoch milliseconds: voted epoch_ms, every ts = value // 1000, those before 1900 rejected as date_range" || fail "epoch_ms"
import csv, json, sys, h5py, numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
q = json.load(open(sys.argv[2] + "/quality.json"))["tables"]["transactions"]
assert q["columns"]["ts"]["date_format"] == "epoch_ms", q["columns"]["ts"]
f = h5py.File(sys.argv[2] + "/clean.h5", "r")
got = dict(zip((f["transactions/amount"][:].astype(int) - 1).tolist(), f["transactions/ts"][:].tolist()))
want = {i: int(r["ts"]) // 1000 for i, r in enumerate(rows)}
keep = {i: w for i, w in want.items() if -2208988800 <= w < 4102444800}
assert got == keep, [(i, got.get(i), keep.get(i)) for i in keep if got.get(i) != keep[i]][:3]
assert q["rejected_by_reason"] == ({"date_range": len(want) - len(keep)} if len(want) > len(keep) else {}), q["rejected_by_reason"]
assert len(want) > len(keep) > 200
PYEOF
# a format the user names takes epoch values of any digit count: those
# within about three years of 1970 (|s| < 10^8, |ms| < 10^11), which the
# vote's digit counts leave out, among them. Every value against Python's
# own reading; under auto the short ones are invalid dates (documented).
$PY -c "
import random
r = random.Random(7)
vals = [r.randrange(-99999999, 99999999) for _ in range(120)] + [r.randrange(100000000, 4102444799) for _ in range(60)] + [0, 7, -1, -59, 86399, 99999999, -99999999]
print('customer_id,ts,quantity,amount')
for i, v in enumerate(vals): print('e%d,%d,1,%d' % (i, v, i + 1))
" > "$TMP/es.csv"
$PY -c "
import random
r = random.Random(8)
vals = [r.randrange(-99999999999, 99999999999) for _ in range(120)] + [r.randrange(100000000000, 4102444799999) for _ in range(60)] + [0, -1, -999, 999, -1000, -1001]
print('customer_id,name,birth_date')
for i, v in enumerate(vals): print('b%d,x,%d' % (i, v))
" > "$TMP/eb.csv"
for np in 1 3; do
  rm -rf "$TMP/ego$np" && mkdir -p "$TMP/ego$np"
  run $np $BIN/precis-clean --transactions "$TMP/es.csv" --customers "$TMP/eb.csv" --pii-key "$TMP/pii.key" --out "$TMP/ego$np/clean.h5" \
      --date-format transactions.ts=epoch --date-format customers.birth_date=epoch_ms --max-reject-rate 0.9 > "$TMP/ego$np.log" 2>&1 || fail "given epoch np=$np"
done
rm -rf "$TMP/eao" && mkdir -p "$TMP/eao"
run 3 $BIN/precis-clean --transactions "$TMP/es.csv" --pii-key "$TMP/pii.key" --out "$TMP/eao/clean.h5" --max-reject-rate 0.9 > "$TMP/eao.log" 2>&1 || fail "auto epoch"
$PY - "$TMP" <<'PYEOF' && pass "a given epoch / epoch_ms: 1-15 digit values equal Python's (ts = v, birth year of v // 1000 ms), np=1 and 3; auto: the short ones are invalid dates" || fail "given epoch formats"
import csv, datetime, json, sys, h5py
d = sys.argv[1]
ts = {int(r["amount"]) - 1: int(r["ts"]) for r in csv.DictReader(open(d + "/es.csv"))}
births = [int(r["birth_date"]) for r in csv.DictReader(open(d + "/eb.csv"))]
short = sum(abs(v) < 10**8 for v in ts.values())
assert 100 < short < len(ts)
want_years = sorted((datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=v // 1000)).year for v in births)
assert sum(abs(v) < 10**11 for v in births) > 100
for np in "13":
    f = h5py.File(f"{d}/ego{np}/clean.h5", "r")
    got = dict(zip((f["transactions/amount"][:].astype(int) - 1).tolist(), f["transactions/ts"][:].tolist()))
    assert got == ts, [(i, got.get(i), v) for i, v in ts.items() if got.get(i) != v][:3]
    assert sorted(f["customers/birth_year"][:].tolist()) == want_years
    q = json.load(open(f"{d}/ego{np}/quality.json"))["tables"]
    assert q["transactions"]["rows_rejected"] == 0 and q["customers"]["columns"]["birth_date"]["invalid"] == 0, q
    assert q["transactions"]["columns"]["ts"]["date_format"] == "epoch", q["transactions"]["columns"]["ts"]
q = json.load(open(d + "/eao/quality.json"))["tables"]["transactions"]
assert q["columns"]["ts"]["date_format"] == "epoch" and q["rejected_by_reason"] == {"invalid_date": short}, q
PYEOF
for bad in "%Y-%m-%Q" "%Y-%m" "%Y-%m-%d %H:%I %p" "%m/%d/%Y %I:%M" "transactions.amount=%Y" "customers.birth_date=dd.mm.yyyy" "%Y-%m-%d %%Y %d"; do
  set +e; run 3 $BIN/precis-clean --transactions "$TMP/dft.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/x.h5" --date-format "$bad" > "$TMP/dfo.log" 2>&1; rc=$?; set -e
  [ $rc = 2 ] && grep -q "error: .*option --date-format: " "$TMP/dfo.log" && pass "--date-format '$bad': exit 2 ($(grep -o 'option --date-format: .*' "$TMP/dfo.log" | cut -c23-90))" || fail "--date-format '$bad': rc=$rc $(grep error "$TMP/dfo.log")"
done
set +e; run 2 $BIN/precis-clean --transactions "$TMP/dft.csv" --pii-key "$TMP/pii.key" --out "$TMP/dfo/x.h5" --date-format iso --date-format epoch > "$TMP/dfo.log" 2>&1; rc=$?; set -e
[ $rc = 2 ] && grep -q "'iso' and 'epoch' both name the format of every date column" "$TMP/dfo.log" && pass "two formats for every column: exit 2" || fail "two global formats: rc=$rc"

echo "clean: --delimiter and --decimal, a European export (np=3)"
# the same clean data written with ';' between fields and ',' as the decimal
# mark (as a European spreadsheet exports it): the same clean.h5 datasets
run 2 $BIN/precis-gen --customers 1500 --seed 4 --dirty 0 --out "$TMP/eu" 2>/dev/null || fail "gen eu"
mkdir -p "$TMP/eu_sc"
$PY - "$TMP/eu" "$TMP/eu_sc" <<'PYEOF'
import csv, glob, os, re, sys
num = {"quantity", "unit_price", "amount", "cost", "spend"}
for p in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    with open(p, newline="") as f, open(os.path.join(sys.argv[2], os.path.basename(p)), "w", newline="") as g:
        r = csv.reader(f)
        w = csv.writer(g, delimiter=";", lineterminator="\n")
        head = next(r)
        w.writerow(head)
        cols = [i for i, h in enumerate(head) if h in num]
        for row in r:
            for i in cols:
                assert "," not in row[i]
                row[i] = row[i].replace(".", ",")
            w.writerow(row)
PYEOF
mkdir -p "$TMP/eu_o1" "$TMP/eu_o2"
if run 3 $BIN/precis-clean --in "$TMP/eu" --pii-key "$TMP/eu/pii.key" --out "$TMP/eu_o1/clean.h5" --max-reject-rate 0 > "$TMP/eu.log" 2>&1 &&
   run 3 $BIN/precis-clean --in "$TMP/eu_sc" --delimiter ';' --decimal , --pii-key "$TMP/eu/pii.key" --out "$TMP/eu_o2/clean.h5" --max-reject-rate 0 >> "$TMP/eu.log" 2>&1; then
  out=$($PY "$H/../h5same.py" "$TMP/eu_o1/clean.h5" "$TMP/eu_o2/clean.h5" --ignore quality/report | tail -1 || true)
  amt=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); a=f['transactions/amount'][:]; print(int((a != a.round(0)).sum()))" "$TMP/eu_o2/clean.h5")
  [[ "$out" == *", 0 differ" && $amt -gt 0 ]] && pass "';' and decimal ',' give the same datasets as ',' and '.' ($out; $amt amounts with cents)" || fail "European export: $out, $amt"
else fail "European export"; tail -3 "$TMP/eu.log"; fi
echo "clean: every field quoted (np=1 against np=2, 3, 4)"
# the same clean data written by Python's csv module twice: quoting only
# where needed, and quoting every field (as CRM exports do); every tenth
# category holds a quote (doubled inside its quoted field) and every
# seventh a delimiter. The reader splits most quoted records in one pass of
# blocks and the split agreement walks quote parity in blocks: the datasets
# must equal those of the minimally quoted files, through 8 MiB and 4 KiB
# reader windows, and the category dictionary must hold exactly the values
# Python's csv module reads (both files quote the fields with a quote, so
# only Python can tell a wrong unescape)
mkdir -p "$TMP/qa_min" "$TMP/qa_all"
$PY - "$TMP/eu" "$TMP/qa_min" "$TMP/qa_all" <<'PYEOF'
import csv, glob, os, sys
for p in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    with open(p, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        rows = list(r)
    if "category" in head:
        c = head.index("category")
        for i, row in enumerate(rows):
            if i % 10 == 0: row[c] += '"x'
            elif i % 7 == 0: row[c] += ",y"
    for d, q in ((sys.argv[2], csv.QUOTE_MINIMAL), (sys.argv[3], csv.QUOTE_ALL)):
        with open(os.path.join(d, os.path.basename(p)), "w", newline="") as g:
            w = csv.writer(g, quoting=q, lineterminator="\n")
            w.writerow(head)
            w.writerows(rows)
PYEOF
rm -rf "$TMP/qa_o1" && mkdir -p "$TMP/qa_o1"
if run 1 $BIN/precis-clean --in "$TMP/qa_min" --pii-key "$TMP/eu/pii.key" --out "$TMP/qa_o1/clean.h5" --max-reject-rate 0 > "$TMP/qa.log" 2>&1; then
  for np in 2 3 4; do
    for w in 8388608 4096; do
      rm -rf "$TMP/qa_o$np" && mkdir -p "$TMP/qa_o$np"
      if PRECIS_CSV_WINDOW=$w run $np $BIN/precis-clean --in "$TMP/qa_all" --pii-key "$TMP/eu/pii.key" --out "$TMP/qa_o$np/clean.h5" --max-reject-rate 0 >> "$TMP/qa.log" 2>&1; then
        out=$($PY "$H/../h5same.py" "$TMP/qa_o1/clean.h5" "$TMP/qa_o$np/clean.h5" --ignore quality/report | tail -1 || true)
        ncat=$($PY - "$TMP/qa_o$np/clean.h5" "$TMP/qa_all" <<'PYEOF'
import csv, glob, h5py, sys
d = {x.decode() for x in h5py.File(sys.argv[1], "r")["dict/category"][:]}
want = set()
for p in glob.glob(sys.argv[2] + "/transactions*.csv"):
    with open(p, newline="") as f:
        want |= {row["category"].strip() for row in csv.DictReader(f)}
# the dictionary holds exactly the categories Python reads (and unknown, for missing ones)
print(sum('"x' in x for x in d), sum(",y" in x for x in d) if d - {"unknown"} == want - {""} else "dictionary != Python's categories")
PYEOF
)
        [[ "$out" == *", 0 differ" && "$ncat" =~ ^[1-9][0-9]*\ [1-9][0-9]*$ ]] && pass "np=$np, window $w: every field quoted gives the same datasets ($out) and the category dictionary is Python's reading (with a quote, with a comma: $ncat)" || fail "quoted np=$np window $w: $out, $ncat"
      else fail "quoted np=$np window $w"; tail -3 "$TMP/qa.log"; fi
    done
  done
else fail "minimally quoted export"; tail -3 "$TMP/qa.log"; fi
{ echo "customer_id;ts;quantity;amount"; echo "E1;2024-01-02;1;12,50"; echo "E2;2024-01-03;2;1.234,50"; echo "E3;2024-01-04;1;7"; } > "$TMP/eu1.csv"
rm -rf "$TMP/eu_o3" && mkdir -p "$TMP/eu_o3"
if run 3 $BIN/precis-clean --transactions "$TMP/eu1.csv" --delimiter ';' --decimal , --pii-key "$TMP/pii.key" --out "$TMP/eu_o3/clean.h5" --max-reject-rate 0.5 > "$TMP/eu1.log" 2>&1; then
  got=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(sorted(f['transactions/amount'][:].tolist()))" "$TMP/eu_o3/clean.h5")
  q=$(grep -c "invalid_number\|missing_required" "$TMP/eu_o3/quarantine/transactions.csv" || true)
  [[ "$got" == "[7.0, 12.5]" && $q -eq 1 ]] && pass "12,50 reads 12.5; 1.234,50 (a thousands mark) is quarantined, not misread" || fail "decimal comma: $got, $q quarantined"
else fail "decimal comma"; tail -3 "$TMP/eu1.log"; fi
expect_exit "--decimal , with the ',' delimiter" 2 "also the delimiter" --transactions "$TMP/eu1.csv" --decimal ,
expect_exit "--delimiter of two characters" 2 "not one character" --transactions "$TMP/eu1.csv" --delimiter ';;'
expect_exit "a ';' file read as ','" 3 "give --delimiter ';'" --transactions "$TMP/eu1.csv"

echo "clean: --thousands: amounts with thousands marks (np=3)"
for cfg in ",|.|," ".|,|;" "space|,|;" "'|.|,"; do
  IFS='|' read -r th de dl <<< "$cfg"
  $PY "$H/thousands_check.py" make "$TMP/th.csv" "$th" "$de" "$dl"
  rm -rf "$TMP/tho" && mkdir -p "$TMP/tho"
  run 3 $BIN/precis-clean --transactions "$TMP/th.csv" --pii-key "$TMP/pii.key" --out "$TMP/tho/clean.h5" --max-reject-rate 0.5 \
    --thousands "$th" --decimal "$de" --delimiter "$dl" > "$TMP/th.log" 2>&1 || { fail "--thousands '$th'"; tail -3 "$TMP/th.log"; }
  out=$($PY "$H/thousands_check.py" check "$TMP/th.csv" "$th" "$de" "$dl" "$TMP/tho/clean.h5" "$TMP/tho/quality.json" 2>&1 | tail -1) \
    && pass "$out" || fail "--thousands '$th': $out"
done
set +e; run 2 $BIN/precis-clean --transactions "$TMP/th.csv" --pii-key "$TMP/pii.key" --out "$TMP/tho/x.h5" --thousands , --decimal , --delimiter ';' > "$TMP/th.log" 2>&1; rc=$?; set -e
[ $rc = 2 ] && grep -q "option --thousands: ',' is also the decimal mark" "$TMP/th.log" && pass "--thousands equal to --decimal: exit 2" || fail "--thousands = --decimal: rc=$rc"
printf 'customer_id,ts,quantity,amount\nA,2024-01-01,1,"1,234.50"\n' > "$TMP/th.csv"
rm -rf "$TMP/tho" && mkdir -p "$TMP/tho"
run 2 $BIN/precis-clean --transactions "$TMP/th.csv" --pii-key "$TMP/pii.key" --out "$TMP/tho/clean.h5" --max-reject-rate 1 > /dev/null 2>&1
$PY -c "import json; r = json.load(open('$TMP/tho/quality.json'))['tables']['transactions']['rejected_by_reason']; assert r == {'invalid_number': 1}, r" \
  && pass "without --thousands, 1,234.50 is an invalid number (never 1.234)" || fail "1,234.50 without --thousands"

echo "clean: --encoding: CP1252 and GB18030 exports give the datasets of the same data in UTF-8 (np=3)"
mkdir -p "$TMP/enc/u8" "$TMP/enc/cp" "$TMP/enc/gb" "$TMP/enc/zh8"
$PY - "$TMP/enc" <<'PYEOF'
import sys
d = sys.argv[1]
cust = ["customer_id,name,phone,email,gender,birth_date,city,signup_ts"]
tx = ["order_id,customer_id,item_id,category,quantity,unit_price,Betrag €,ts,channel,campaign_id"]
cities = ["München", "São Paulo", "Zürich", "Kraków", "Málaga", "Reykjavík", "Genève"]
names = ["José Müller", "Zoë Brontë", "Ægir Þórsson", "François Lefèvre", "Łucja Nowak"]
for i in range(400):
    nm = names[i % 5] if "Ł" not in names[i % 5] else "Anna Nowak"
    cust.append("C%03d,%s,1300000%04d,c%d@example.com,%s,1980-01-%02d,%s,2024-01-01" % (i, nm, i, i, "FM"[i % 2], i % 28 + 1, cities[i % 7]))
    for j in range(3):
        tx.append("O%d-%d,C%03d,Crème-%d,Küche & Bad %d,1,9.5,%d.50,2024-02-%02d 10:00:00,e-mail,Sommer-€-Aktion %d" % (i, j, i, j, i % 4, i + j, j + 1, i % 3))
for name, lines in (("customers.csv", cust), ("transactions.csv", tx)):
    text = "\n".join(lines) + "\n"
    open("%s/u8/%s" % (d, name), "w", encoding="utf-8").write(text)
    open("%s/cp/%s" % (d, name), "w", encoding="cp1252").write(text)
zh = ["customer_id,gender,city"] + ["Z%03d,%s,%s" % (i, "男女"[i % 2], ["北京", "上海", "广州", "深圳", "成都"][i % 5]) for i in range(300)]
zt = ["customer_id,ts,quantity,amount,category"] + ["Z%03d,2024-03-01,1,%d,%s" % (i, i + 1, ["食品", "服装", "电子"][i % 3]) for i in range(300)]
for name, lines in (("customers.csv", zh), ("transactions.csv", zt)):
    text = "\n".join(lines) + "\n"
    open("%s/zh8/%s" % (d, name), "w", encoding="utf-8").write(text)
    open("%s/gb/%s" % (d, name), "w", encoding="gb18030").write(text)
PYEOF
for v in u8 cp zh8 gb; do
  enc=UTF-8; [ $v = cp ] && enc=CP1252; [ $v = gb ] && enc=GB18030
  map=(); [[ $v = u8 || $v = cp ]] && map=(--map "transactions.amount=Betrag €")
  rm -rf "$TMP/enc/o$v" && mkdir -p "$TMP/enc/o$v"
  run 3 $BIN/precis-clean --in "$TMP/enc/$v" --pii-key "$TMP/pii.key" --out "$TMP/enc/o$v/clean.h5" --max-reject-rate 0 --encoding $enc \
    "${map[@]}" > "$TMP/enc/$v.log" 2>&1 || { fail "--encoding $enc ($v)"; tail -3 "$TMP/enc/$v.log"; }
done
for pair in "u8 cp CP1252 (its header's 'Betrag €' mapped)" "zh8 gb GB18030"; do
  set -- $pair; e3="${pair#* * }"
  out=$($PY "$H/../h5same.py" "$TMP/enc/o$1/clean.h5" "$TMP/enc/o$2/clean.h5" --ignore quality/report | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "--encoding $e3 gives the UTF-8 export's datasets ($out)" || fail "--encoding $e3: $out"
done
$PY -c "
import h5py; f = h5py.File('$TMP/enc/ocp/clean.h5', 'r')
assert 'München' in [x.decode() for x in f['dict/city'][:]] and 'Sommer-€-Aktion 1' in [x.decode() for x in f['dict/campaign'][:]]
g = h5py.File('$TMP/enc/ogb/clean.h5', 'r'); assert '北京' in [x.decode() for x in g['dict/city'][:]]" \
  && pass "dictionaries hold UTF-8 (München, Sommer-€-Aktion, 北京)" || fail "UTF-8 dictionaries"
# without --encoding, a CP1252 header stops the job; with it, a byte CP1252 does not define is bad_encoding (and in quality.json)
rm -rf "$TMP/enc/ox" && mkdir -p "$TMP/enc/ox"
run 2 $BIN/precis-clean --transactions "$TMP/enc/cp/transactions.csv" --pii-key "$TMP/pii.key" --out "$TMP/enc/ox/clean.h5" --max-reject-rate 1 \
  --map "transactions.amount=Betrag €" > "$TMP/enc/x.log" 2>&1 || true
grep -q "header is not valid UTF-8 (give --encoding" "$TMP/enc/x.log" && pass "CP1252 read as UTF-8: exit 3, the header named, --encoding suggested" || fail "CP1252 without --encoding: $(grep error "$TMP/enc/x.log")"
printf 'customer_id,ts,quantity,amount,category\nA,2024-01-01,1,5,ok\nB,2024-01-01,1,6,bad\x81byte\n' > "$TMP/enc/x81.csv"
rm -rf "$TMP/enc/ox" && mkdir -p "$TMP/enc/ox"
run 2 $BIN/precis-clean --transactions "$TMP/enc/x81.csv" --pii-key "$TMP/pii.key" --out "$TMP/enc/ox/clean.h5" --max-reject-rate 1 --encoding CP1252 > /dev/null 2>&1 || true
$PY -c "
import csv; q = list(csv.DictReader(open('$TMP/enc/ox/quarantine/transactions.csv')))
assert [(r['line'], r['reason'], r['field']) for r in q] == [('3', 'bad_encoding', 'category')], q
import json; t = json.load(open('$TMP/enc/ox/quality.json'))['tables']['transactions']
assert t['rejected_by_reason'] == {'bad_encoding': 1} and t['rows_clean'] == 1, t" \
  && pass "a byte CP1252 leaves undefined (0x81): quarantined as bad_encoding, naming the field" || fail "undefined CP1252 byte"
for bad in IBM037 NO-SUCH-CODE; do   # (EBCDIC: not ASCII-compatible; UTF-16 is read, above)
  set +e; run 2 $BIN/precis-clean --transactions "$TMP/enc/x81.csv" --pii-key "$TMP/pii.key" --out "$TMP/enc/ox/x.h5" --encoding $bad > "$TMP/enc/x.log" 2>&1; rc=$?; set -e
  [ $rc = 2 ] && grep -q "option --encoding: '$bad' is not" "$TMP/enc/x.log" && pass "--encoding $bad: exit 2 ($(grep -o "is not [a-zA-Z -]*" "$TMP/enc/x.log" | head -1))" || fail "--encoding $bad: rc=$rc"
done

echo "clean: order-id conflicts, by hand (np=1..4)"
# Order A is under three customers: C2's row is first by (ts, source) and
# keeps it, C1's and C3's are conflicts (C3 ties C2 on ts, later in the
# file). B is twice under C4 (one duplicate) and once under C5, later: C5's
# is a conflict. D is under C6 alone. Fillers spread the rows over ranks.
mkdir -p "$TMP/oc"
{ echo "order_id,customer_id,ts,quantity,amount"
  for i in $(seq 1 60); do printf "F%d,K%d,2024-03-%02d,1,%d.25\n" $i $i $((i % 28 + 1)) $i; done
  echo "A,C1,2024-01-02,1,10"        # line 62: conflict
  for i in $(seq 61 120); do printf "F%d,K%d,2024-04-%02d,1,%d.5\n" $i $i $((i % 28 + 1)) $i; done
  echo "A,C2,2024-01-01,1,11"        # line 123: keeps A
  echo "B,C4,2024-02-01,1,12"        # line 124: keeps B
  echo "B,C4,2024-02-03,1,13"        # line 125: duplicate of C4's B
  for i in $(seq 121 180); do printf "F%d,K%d,2024-05-%02d,1,%d.75\n" $i $i $((i % 28 + 1)) $i; done
  echo "A,C3,2024-01-01,1,14"        # line 186: conflict (ties C2 on ts)
  echo "B,C5,2024-02-02,1,15"        # line 187: conflict
  echo "D,C6,2024-02-02,1,16"; } > "$TMP/oc/t.csv"
ok=1
for np in 1 2 3 4; do
  rm -rf "$TMP/oc/$np"; mkdir -p "$TMP/oc/$np"
  run $np $BIN/precis-clean --transactions "$TMP/oc/t.csv" --pii-key "$TMP/pii.key" --out "$TMP/oc/$np/clean.h5" \
      --max-reject-rate 0.05 > "$TMP/oc/$np.log" 2>&1 || { ok=0; tail -3 "$TMP/oc/$np.log"; continue; }
  $PY - "$TMP/oc/$np" <<'PYEOF' || ok=0
import csv, json, sys
d = sys.argv[1]
t = json.load(open(d + "/quality.json"))["tables"]["transactions"]
assert t["rejected_by_reason"].get("order_conflict") == 3, t["rejected_by_reason"]
assert t["rows_duplicate"] == 1 and t["rows_clean"] == 183, (t["rows_duplicate"], t["rows_clean"])
lines = sorted(int(r["line"]) for r in csv.DictReader(open(d + "/quarantine/transactions.csv")) if r["reason"] == "order_conflict")
assert lines == [62, 186, 187], lines
PYEOF
done
[[ $ok == 1 ]] && pass "an order id under three customers, and one under a customer twice and another once: 3 conflicts (lines 62, 186, 187), 1 duplicate, at np=1..4" \
  || fail "order-id conflicts by hand"

echo "clean: options change behaviour as documented"
rm -rf "$TMP/out"/*
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/pii.key" --out "$TMP/out/clean.h5" --max-reject-rate 0.05 \
    --refunds reject --outliers drop --impute mean > /dev/null 2>&1 || fail "options run"
$PY - "$TMP/out/quality.json" "$TMP/np1/quality.json" <<'PYEOF' && pass "--refunds reject, --outliers drop, --impute mean" || fail "option effects"
import json, sys
a = json.load(open(sys.argv[1]))["tables"]["transactions"]
b = json.load(open(sys.argv[2]))["tables"]["transactions"]
assert a["rejected_by_reason"]["refund"] == b["refunds"] > 0
assert a["rows_dropped_outlier"] > 0
assert a["columns"]["quantity"]["imputed_with"] != b["columns"]["quantity"]["imputed_with"]
assert a["rows_in"] == a["rows_clean"] + a["rows_rejected"] + a["rows_duplicate"] + a["rows_dropped_outlier"]
PYEOF
echo "clean: customer keys row by row, through the id cache's modes (np=1, 2)"
# grouped ids (each new: the cache's table is skipped after a window without
# hits), then 150 ids over and over (the table hits again once a window
# looks), then grouped again: every row's key = Python's HMAC of its own id
$PY -c "
print('customer_id,ts,quantity,amount')
n = 0
def row(i):
    global n
    n += 1
    print('c%d,2024-01-01,1,%d' % (i, n))
for i in range(30000):
    for _ in range(1 + i % 3): row(i)
for j in range(100000): row(100000 + (j * 7) % 150)
for i in range(200000, 215000): row(i); row(i)
" > "$TMP/idc.csv"
for np in 1 2; do
  rm -rf "$TMP/idc$np" && mkdir -p "$TMP/idc$np"
  run $np $BIN/precis-clean --transactions "$TMP/idc.csv" --pii-key "$TMP/pii.key" --out "$TMP/idc$np/clean.h5" > /dev/null 2>&1 || fail "id cache np=$np"
done
$PY - "$TMP" <<'PYEOF' && pass "every row's customer_key and customer_key_lo = Python's HMAC-SHA256 of its id (190,000 rows; grouped, repeating, grouped), np=1 and 2" || fail "keys row by row"
import csv, hashlib, hmac, sys, h5py
d = sys.argv[1]
key = open(d + "/pii.key", "rb").read()
ids = {int(r["amount"]): r["customer_id"] for r in csv.DictReader(open(d + "/idc.csv"))}
assert len(ids) == 190000
for np in "12":
    f = h5py.File(f"{d}/idc{np}/clean.h5", "r")["transactions"]
    got = zip(f["amount"][:].astype(int).tolist(), f["customer_key"][:].tolist(), f["customer_key_lo"][:].tolist())
    n = 0
    for a, k, lo in got:
        h = hmac.new(key, ids[a].encode(), hashlib.sha256).digest()
        assert (k, lo) == (int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big")), (np, a, ids[a])
        n += 1
    assert n == len(ids), n
PYEOF

echo "clean: damaged exports (np pairs of 1..4, small reader windows)"
# a seeded mix of byte damage on a small generated data set: exit 0 or 3 only,
# the same results at both rank counts, rows conserved, one quarantine row per
# reject, each at the line and offset it names (mutate_check.py says more)
run 1 $BIN/precis-gen --customers 300 --seed 9 --dirty 0.05 --out "$TMP/mg" 2>/dev/null || fail "gen (damage)"
mkdir -p "$TMP/mb" "$TMP/mw"
for t in transactions customers touchpoints; do cp "$TMP/mg/$t-part-00000.csv" "$TMP/mb/$t.csv"; done
if out=$($PY "$H/mutate_check.py" "$BIN" "$TMP/mb" "$TMP/pii.key" "$TMP/mw" "${CLEAN_MUTATIONS:-24}" 2>&1); then
  pass "damaged exports: $(echo "$out" | tail -1)"
else
  fail "damaged exports: $out"
fi
finish
