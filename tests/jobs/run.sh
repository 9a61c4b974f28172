#!/usr/bin/env bash
# tests/jobs/run.sh - precis-gen and precis-tokenize end to end at 1-4 ranks.
source "$(dirname "$0")/../lib.sh"
B=$BUILD/tests
PY=/usr/bin/python3
N=${GEN_CUSTOMERS:-20000}

echo "jobs: precis-gen --customers $N --seed 7 is the same set of rows at np=1 and np=3"
run 1 $BIN/precis-gen --customers $N --seed 7 --dirty 0.02 --out "$TMP/g1" 2>"$TMP/gen1.log" || fail "gen np=1"
run 3 $BIN/precis-gen --customers $N --seed 7 --dirty 0.02 --out "$TMP/g3" 2>"$TMP/gen3.log" || fail "gen np=3"
for t in customers transactions touchpoints spend experiments; do
  a=$(tail -q -n +2 "$TMP"/g1/$t-part-*.csv | LC_ALL=C sort | sha256sum)
  b=$(tail -q -n +2 "$TMP"/g3/$t-part-*.csv | LC_ALL=C sort | sha256sum)
  expect_eq "gen $t sorted rows np=1 vs np=3" "$b" "$a"
done
expect_eq "gen pii.key identical and mode 0600" "$(stat -c %a "$TMP/g3/pii.key"):$(cmp -s "$TMP/g1/pii.key" "$TMP/g3/pii.key" && echo same)" "600:same"
# truth.h5 holds the same datasets at any P (attributes aside)
$PY "$(dirname "$0")/../h5same.py" "$TMP/g1/truth.h5" "$TMP/g3/truth.h5" > "$TMP/h5diff.out" 2>&1 && pass "truth.h5 datasets identical np=1 vs np=3 ($(tail -1 "$TMP/h5diff.out"))" || { fail "truth.h5 differs"; head "$TMP/h5diff.out"; }
run 2 $BIN/precis-gen --customers 3000 --seed 8 --out "$TMP/g2" 2>/dev/null
expect_eq "another seed gives other rows" "$(cmp -s "$TMP/g2/pii.key" "$TMP/g1/pii.key" && echo same || echo differ)" "differ"

echo "jobs: planted defects equal what independent readers find"
mkdir -p "$TMP/tcsv"
for t in customers transactions touchpoints spend experiments; do
  run 3 $B/t_csv "$TMP"/g3/$t-part-*.csv > "$TMP/tcsv/$t.out" || fail "t_csv $t"
done
if $PY "$(dirname "$0")/check_gen_defects.py" "$TMP/g3" "$TMP/tcsv" > "$TMP/defects.out"; then pass "defect counts ($(grep -c ' ok ' "$TMP/defects.out") checks)"; else fail "defect counts"; fi
grep -E "FAIL" "$TMP/defects.out" || true
$PY - "$TMP/g3" <<'PYEOF' && pass "planted truth is consistent (segments, lifts, response curves)" || fail "planted truth"
import sys, h5py, numpy as np
t = h5py.File(sys.argv[1] + "/truth.h5", "r")
seg = t["customers/segment"][:]
assert seg.min() >= 0 and seg.max() < len(t["segments/name"]) and len(np.unique(seg)) == len(t["segments/name"])
st = t["experiments/stats"][:]
assert st.shape[1] == 5 and (st[:, 1] > 0).all() and (st[:, 2] > 0).all()
# the largest planted lift shows in the realised conversion rates
k = int(np.argmax(st[:, 0]))
assert st[k, 3] / st[k, 1] > st[k, 4] / st[k, 2]
exp, real = t["media/expected_revenue"][:], t["media/realised_revenue"][:]
assert exp.shape == real.shape and (exp > 0).all()
assert abs(real.sum() / exp.sum() - 1) < 0.25, real.sum() / exp.sum()
PYEOF

echo "jobs: precis-tokenize"
for np in 1 2 3 4; do
  run $np $BIN/precis-tokenize --in "$TMP/g1/customers-part-00000.csv" --id-column customer_id --phone-column phone \
      --email-column email --keep city --pii-key "$TMP/g1/pii.key" --out "$TMP/tk$np.csv" 2>/dev/null || fail "tokenize np=$np"
done
for np in 2 3 4; do cmp -s "$TMP/tk1.csv" "$TMP/tk$np.csv" && pass "tokenize np=$np identical to np=1" || fail "tokenize np=$np"; done
# a compressed input (two members, frames or streams) reads as the plain
# one; the output names the compressed file, and its decompressed copy is gone
for k in gzip:gz zstd:zst xz:xz bzip2:bz2; do
  tool=${k%:*} x=${k#*:}
  rm -rf "$TMP/tkgz" && mkdir -p "$TMP/tkgz"
  { head -n 500 "$TMP/g1/customers-part-00000.csv" | $tool -c; tail -n +501 "$TMP/g1/customers-part-00000.csv" | $tool -c; } > "$TMP/tkgz/customers-part-00000.csv.$x"
  if run 3 $BIN/precis-tokenize --in "$TMP/tkgz" --id-column customer_id --phone-column phone --email-column email --keep city \
       --pii-key "$TMP/g1/pii.key" --out "$TMP/tkgz/out.csv" 2>/dev/null &&
     cmp -s "$TMP/tk1.csv" <(sed "s#$TMP/tkgz/customers-part-00000.csv.$x#$TMP/g1/customers-part-00000.csv#" "$TMP/tkgz/out.csv") &&
     grep -q "customers-part-00000.csv.$x" "$TMP/tkgz/out.csv" && [ -z "$(ls -A "$TMP/tkgz" | grep precis-spool)" ]; then
    pass "tokenize np=3 of a .csv.$x ($tool, two members) = np=1 of the plain file, the .csv.$x named, no copy left"
  else fail "tokenize of a .csv.$x"; fi
done
# UTF-16 (a byte-order mark, and none with --encoding) and UTF-32 read as
# the UTF-8 file: Python's codecs write them (bytes that are not UTF-8 as
# lone surrogates, read back as the byte ff, so those rows are bad_utf8 in
# both), and the output is the plain file's, the file named
for k in "utf-16-le:bom:" "utf-16-be:bom:" "utf-16-le::--encoding UTF-16LE" "utf-32-be:bom:" "utf-16-be::--encoding utf16"; do
  codec=${k%%:*} rest=${k#*:}; bom=${rest%%:*} opt=${rest#*:}
  rm -rf "$TMP/tk16" && mkdir -p "$TMP/tk16"
  $PY -c "import sys; t = open(sys.argv[1], 'rb').read().decode('utf-8', 'surrogateescape'); open(sys.argv[2], 'wb').write((('\ufeff' if sys.argv[4] else '') + t).encode(sys.argv[3], 'surrogatepass'))" \
    "$TMP/g1/customers-part-00000.csv" "$TMP/tk16/c.csv" "$codec" "$bom"
  if run 3 $BIN/precis-tokenize --in "$TMP/tk16/c.csv" --id-column customer_id --phone-column phone --email-column email --keep city \
       --pii-key "$TMP/g1/pii.key" --out "$TMP/tk16/out.csv" $opt 2> "$TMP/tk16.log" &&
     cmp -s "$TMP/tk1.csv" <(sed "s#$TMP/tk16/c.csv#$TMP/g1/customers-part-00000.csv#" "$TMP/tk16/out.csv") &&
     grep -q "transcoded 1 input to UTF-8 (1 $(echo "${codec%-*}" | tr a-z A-Z)$(echo "${codec##*-}" | tr a-z A-Z);" "$TMP/tk16.log" && [ -z "$(ls -A "$TMP/tk16" | grep precis-spool)" ]; then
    pass "tokenize np=3 of $codec${bom:+ with a byte-order mark}${opt:+ ($opt)} = np=1 of the UTF-8 file"
  else fail "tokenize of $codec $bom $opt"; tail -2 "$TMP/tk16.log"; cmp "$TMP/tk1.csv" <(sed "s#$TMP/tk16/c.csv#$TMP/g1/customers-part-00000.csv#" "$TMP/tk16/out.csv") | head -2; fi
done
$PY - "$TMP/g1/pii.key" "$TMP/tk1.csv" "$TMP/g1/customers-part-00000.csv" <<'PYEOF' && pass "tokenize keys equal an independent HMAC-SHA256 (Python hmac)" || fail "tokenize keys"
import csv, hmac, hashlib, sys
key = open(sys.argv[1], "rb").read()
out = list(csv.DictReader(open(sys.argv[2])))
raw = {}
with open(sys.argv[3], "rb") as f:
    f.readline()
    for ln, line in enumerate(f, start=2):
        raw[ln] = line
n = 0
for row in out:
    if row["status"] != "ok":
        continue
    cid = raw[int(row["source_line"])].split(b",")[0].strip()
    h = hmac.new(key, cid, hashlib.sha256).digest()
    assert int(row["customer_key"]) == int.from_bytes(h[:8], "big"), row
    assert int(row["customer_key_lo"]) == int.from_bytes(h[8:16], "big"), row
    n += 1
assert n > 1000
PYEOF
if grep -q -F -f <(tail -n +2 "$TMP/g1/customers-part-00000.csv" | cut -d, -f1 | head -200) "$TMP/tk1.csv"; then
  fail "tokenize output holds a raw customer id"
else pass "tokenize output holds no raw customer id"; fi
chmod 644 "$TMP/g1/pii.key"
set +e; out=$(run 2 $BIN/precis-tokenize --in "$TMP/g1/customers-part-00000.csv" --id-column customer_id --pii-key "$TMP/g1/pii.key" --out "$TMP/x.csv" 2>&1); rc=$?; set -e
expect_eq "a 0644 key file is refused with exit 3" "$rc" "3"
[[ "$out" == *"mode 0644"*"0600"* ]] && pass "with a clear message" || fail "message: $out"
chmod 600 "$TMP/g1/pii.key"
set +e; out=$(run 2 $BIN/precis-tokenize --in "$TMP/g1/customers-part-00000.csv" --id-column customer_id --pii-key "$TMP/g1/pii.key" \
  --out "$TMP/g1/./customers-part-00000.csv" 2>&1); rc=$?; set -e
[[ $rc = 2 && "$out" == *"is the input"* ]] && head -1 "$TMP/g1/customers-part-00000.csv" | grep -q "^customer_id,name," \
  && pass "tokenize: an --out that is the input is refused (exit 2), the input untouched" || fail "tokenize --out = input: exit $rc"
# a full file system (a 64 KiB tmpfs): MPI-IO reports a short write as a
# success, so the count is checked: exit 4 naming the file, no output left
mkdir -p "$TMP/full"
if mount -t tmpfs -o size=64k tmpfs "$TMP/full" 2>/dev/null; then
  set +e; out=$(run 3 $BIN/precis-tokenize --in "$TMP/g1/customers-part-00000.csv" --id-column customer_id --phone-column phone \
    --pii-key "$TMP/g1/pii.key" --out "$TMP/full/tk.csv" 2>&1); rc=$?; set -e
  left=$(ls -A "$TMP/full" | tr '\n' ' '); unmount "$TMP/full"
  [[ $rc = 4 && "$out" == *"writing $TMP/full/tk.csv.tmp failed after"*"its file system has"* && -z "$left" ]] \
    && pass "tokenize on a full file system: exit 4, the file and its free space named, nothing left" \
    || { fail "tokenize on a full file system: exit $rc, left '$left'"; echo "$out" | grep error | head -3; }
else
  echo "  (not run: mounting a small tmpfs for the full-file-system case is not allowed here)"
fi
set +e; run 2 $BIN/precis-tokenize --in "$TMP/g1/customers-part-00000.csv" --id-column nope --pii-key "$TMP/g1/pii.key" --out "$TMP/x.csv" >/dev/null 2>&1; rc=$?; set -e
expect_eq "a missing column is exit 3" "$rc" "3"
# a header naming the id column twice: which one holds the ids is not guessed
{ echo "crm_row,customer_id,city,customer_id"; echo "1,CU1,Paris,CU9"; } > "$TMP/dup.csv"
set +e; out=$(run 2 $BIN/precis-tokenize --in "$TMP/dup.csv" --id-column customer_id --pii-key "$TMP/g1/pii.key" --out "$TMP/x.csv" 2>&1); rc=$?; set -e
expect_eq "an id column named twice is exit 3" "$rc" "3"
[[ "$out" == *"dup.csv:1: header fields 2 and 4 are both named 'customer_id'"* && ! -e "$TMP/x.csv" ]] && pass "naming both fields, and no output" || fail "message: $out"
set +e; out=$(run 2 $BIN/precis-tokenize --in "$TMP/dup.csv" --id-column crm_row --keep customer_id --pii-key "$TMP/g1/pii.key" --out "$TMP/x.csv" 2>&1); rc=$?; set -e
expect_eq "--keep of a column named twice is exit 2" "$rc" "2"
# --delimiter: a ';' file gives the keys of the same file with ','
{ echo "crm_row,customer_id,city"; echo "1,CU1,Paris"; echo '2,CU2,"Lyon; Rhone"'; } > "$TMP/c.csv"
{ echo "crm_row;customer_id;city"; echo "1;CU1;Paris"; echo '2;CU2;"Lyon; Rhone"'; } > "$TMP/s.csv"
if run 2 $BIN/precis-tokenize --in "$TMP/c.csv" --id-column customer_id --keep city --pii-key "$TMP/g1/pii.key" --out "$TMP/c_out.csv" 2>/dev/null &&
   run 2 $BIN/precis-tokenize --in "$TMP/s.csv" --delimiter ';' --id-column customer_id --keep city --pii-key "$TMP/g1/pii.key" --out "$TMP/s_out.csv" 2>/dev/null &&
   cmp -s <(cut -d, -f2- "$TMP/c_out.csv") <(cut -d, -f2- "$TMP/s_out.csv") && grep -q ',Lyon; Rhone,ok' "$TMP/s_out.csv"; then
  pass "--delimiter ';' reads what ',' reads (keys and kept fields)"
else fail "--delimiter ';'"; fi
set +e; run 2 $BIN/precis-tokenize --in "$TMP/s.csv" --delimiter '"' --id-column customer_id --pii-key "$TMP/g1/pii.key" --out "$TMP/x.csv" >/dev/null 2>&1; rc=$?; set -e
expect_eq "--delimiter '\"' is exit 2" "$rc" "2"
# --encoding: a CP1252 CRM list gives the keys and (UTF-8) kept fields of the same list in UTF-8
printf 'crm_row,customer_id,name,city\n1,CU1,José Müller,München\n2,CUé2,Zoë,"Zürich, €-Zone"\n' > "$TMP/u8.csv"
iconv -f UTF-8 -t CP1252 "$TMP/u8.csv" > "$TMP/cp.csv"
if run 2 $BIN/precis-tokenize --in "$TMP/u8.csv" --id-column customer_id --keep city --pii-key "$TMP/g1/pii.key" --out "$TMP/u8_out.csv" 2>/dev/null &&
   run 2 $BIN/precis-tokenize --in "$TMP/cp.csv" --encoding CP1252 --id-column customer_id --keep city --pii-key "$TMP/g1/pii.key" --out "$TMP/cp_out.csv" 2>/dev/null &&
   cmp -s <(cut -d, -f2- "$TMP/u8_out.csv") <(cut -d, -f2- "$TMP/cp_out.csv") && grep -q ',"Zürich, €-Zone",ok' "$TMP/cp_out.csv"; then
  pass "--encoding CP1252 gives the UTF-8 list's keys (an accented id among them) and kept fields, in UTF-8"
else fail "tokenize --encoding CP1252"; fi

echo "jobs: command lines (under mpirun: LeakSanitizer cannot trace Open MPI singletons)"
for j in gen tokenize clean rfm; do
  out=$(run 1 $BIN/precis-$j --help) && [[ "$out" == *"Example:"* && "$out" == *"default"* ]] && pass "precis-$j --help" || fail "precis-$j --help"
  run 1 $BIN/precis-$j --version | grep -q "precis-$j" && pass "precis-$j --version" || fail "precis-$j --version"
  set +e; out=$(run 1 $BIN/precis-$j --bogus 2>&1); rc=$?; set -e
  expect_eq "precis-$j --bogus exits 2" "$rc" "2"
  [[ "$out" == *"--bogus"* ]] && pass "and names the option" || fail "message: $out"
done
set +e; run 1 $BIN/precis-gen --customers abc --out "$TMP/x" >/dev/null 2>&1; rc=$?; set -e
expect_eq "precis-gen --customers abc exits 2" "$rc" "2"
printf 'customers = 50\nout = %s\nbogus_key = 1\n' "$TMP/cfg" > "$TMP/bad.conf"
set +e; out=$(run 1 $BIN/precis-gen --config "$TMP/bad.conf" 2>&1); rc=$?; set -e
expect_eq "an unknown config key exits 2" "$rc" "2"
[[ "$out" == *"bad.conf:3"* ]] && pass "and names file:line" || fail "message: $out"
printf 'customers = 50\nout = %s\n' "$TMP/cfg" > "$TMP/ok.conf"
run 2 $BIN/precis-gen --config "$TMP/ok.conf" --customers 80 --log-json 2> "$TMP/json.log" || fail "gen with config"
$PY -c "
import json,sys
lines=[json.loads(l) for l in open('$TMP/json.log') if l.startswith('{')]
assert lines and all('level' in l and 'msg' in l for l in lines)
assert any('wrote 80 customers' in l['msg'] for l in lines)" && pass "config file + command line override + --log-json" || fail "config/log-json"
echo "jobs: an --out in a missing directory stops each job at its start (np=2)"
# (before: precis-clean with --quarantine elsewhere parsed, shuffled and
# wrote the quarantine, then failed on quality.json; the others after their work)
for j in clean rfm kmeans als tokenize; do
  case $j in clean) args=(--transactions "$TMP/g1/transactions-part-00000.csv" --pii-key "$TMP/g1/pii.key" --quarantine "$TMP/q_early");;
             *) args=(--in "$TMP/none.h5");; esac
  set +e; out=$(run 2 $BIN/precis-$j "${args[@]}" --out "$TMP/nodir/out.h5" 2>&1); rc=$?; set -e
  [[ $rc == 4 && "$out" == *"--out $TMP/nodir/out.h5: directory $TMP/nodir: No such file or directory"* ]] \
    && pass "precis-$j: exit 4 naming the missing directory" || { fail "precis-$j --out in a missing directory: exit $rc"; echo "$out" | grep error; }
done
[ ! -e "$TMP/q_early" ] && pass "precis-clean wrote nothing before stopping (no quarantine directory)" || fail "precis-clean worked before the --out check"
set +e; out=$(run 1 $BIN/precis-rfm --in "$TMP/none.h5" --out "$TMP/g1/" 2>&1); rc=$?; set -e
[[ $rc == 2 && "$out" == *"a file name is needed"* ]] && pass "--out naming a directory: exit 2" || fail "--out DIR/: exit $rc"
finish
