#!/usr/bin/env bash
# tests/mpi/run.sh - library tests under mpirun at 1-4 ranks (see each t_*.c for what it asserts).
source "$(dirname "$0")/../lib.sh"
B=$BUILD/tests
PY=/usr/bin/python3

echo "mpi: reduce is bit-identical at np=1..4 and equals the correctly rounded sum (math.fsum)"
ref=""
for np in 1 2 3 4; do
  out=$(run $np $B/t_reduce "$TMP/values.bin" 2>"$TMP/reduce.err") || { fail "t_reduce np=$np exited $?"; cat "$TMP/reduce.err"; continue; }
  grep -q "expected error: .*NaN" "$TMP/reduce.err" && pass "np=$np NaN on one rank is reported on every rank" || fail "np=$np NaN not reported"
  [ -z "$ref" ] && ref=$out
  expect_eq "t_reduce np=$np" "$out" "$ref"
done
fsum=$($PY -c "
import math, struct, sys
d = open('$TMP/values.bin','rb').read()
x = struct.unpack('<%dd' % (len(d)//8), d)
print(float.hex(math.fsum(x)))")
got=$($PY -c "print(float.hex(float.fromhex('$ref')))")
expect_eq "reduce equals math.fsum" "$got" "$fsum"

echo "mpi: slot-tree sums are bit-identical at np=1..4 and equal the tree's definition (tests/mpi/stree_ref.py)"
sref=""
for np in 1 2 3 4; do
  out=$(run $np $B/t_stree "$TMP/stree.bin" 2>"$TMP/stree.err") || { fail "t_stree np=$np exited $?"; cat "$TMP/stree.err"; continue; }
  [ "$(echo "$out" | sed -n 1p)" = "$(echo "$out" | sed -n 2p)" ] && pass "stree np=$np: reuse after reset gives the same sums" || fail "stree np=$np reuse: $out"
  out=$(echo "$out" | sed -n 1p)
  [ -z "$sref" ] && sref=$out
  expect_eq "stree np=$np (5 sums, S=1000, empty slots)" "$out" "$sref"
done
want=$($PY "$(dirname "$0")/stree_ref.py" "$TMP/stree.bin" 1000 5)
got=$(echo "$sref" | $PY -c "import sys; print(' '.join(float.hex(float.fromhex(v)) for v in sys.stdin.read().split()))")
expect_eq "stree = the fixed tree computed in Python; within 1e-12 of math.fsum" "$got
close" "$want"

echo "mpi: exact global quantiles equal numpy.quantile and sorted order statistics at np=1..4 (one empty rank)"
$PY - "$TMP/q.bin" <<'PYEOF'
import sys, numpy as np
r = np.random.default_rng(7)
x = np.concatenate([np.round(r.lognormal(3, 1, 30000), 2), np.ones(20000), -np.round(r.exponential(50, 3000), 2),
                    np.zeros(500), -np.zeros(500), r.standard_normal(2000) * 1e-310, np.ldexp(r.random(2000), r.integers(-900, 900, 2000)),
                    np.full(7, 7.0), [1e300, -1e300]])
r.shuffle(x)
x.astype("<f8").tofile(sys.argv[1])
PYEOF
QS="0 0.25 0.5 0.75 1 0.01 0.999 0.3333"
N=$($PY -c "import os; print(os.path.getsize('$TMP/q.bin') // 8)")
KS="0 1 $((N / 2)) $((N - 1)) 17 20000 31000 40000 50000 55000 57000 100 3 $((N - 2))"
want=$($PY - "$TMP/q.bin" $QS <<PYEOF
import sys, numpy as np
x = np.fromfile(sys.argv[1], dtype="<f8")
q = np.quantile(x, [float(v) for v in sys.argv[2:]])
s = np.sort(x)
print("linear " + " ".join(float(v).hex() for v in q))
print("select " + " ".join(float(s[int(k)]).hex() for k in "$KS".split()))
PYEOF
)
# t_quantile's lines with every %a value in Python's float.hex spelling
hex_norm() {
  $PY -c "
import sys
for l in sys.stdin.read().splitlines():
    w = l.split(); print(' '.join([w[0]] + [float.hex(float.fromhex(v)) for v in w[1:]]))"
}
for np in 1 2 3 4; do
  out=$(T_QUANTILE_KS="$KS" run $np $B/t_quantile "$TMP/q.bin" $QS 2>"$TMP/q.err") || { fail "t_quantile np=$np exited $?"; cat "$TMP/q.err"; continue; }
  got=$(echo "$out" | hex_norm)
  expect_eq "quantiles np=$np (8 quantiles, 14 order statistics of $N values)" "$got" "$want"
done
# The selection sorts few candidates and scans many (a fifth of these values
# are 1.0): each way forced on every target must give numpy's answers too.
for path in sort scan; do
  for np in 1 3; do
    out=$(PRECIS_QUANTILE_PATH=$path T_QUANTILE_KS="$KS" run $np -x PRECIS_QUANTILE_PATH -x T_QUANTILE_KS $B/t_quantile "$TMP/q.bin" $QS 2>"$TMP/q.err") \
      || { fail "t_quantile $path np=$np exited $?"; cat "$TMP/q.err"; continue; }
    got=$(echo "$out" | hex_norm)
    expect_eq "quantiles np=$np, PRECIS_QUANTILE_PATH=$path" "$got" "$want"
  done
done
# Each rank chooses its own way; ranks that choose differently must still
# meet in every allreduce and agree (rank 0 sorts, ranks 1 and 2 scan).
out=$(T_QUANTILE_KS="$KS" run 1 -x PRECIS_QUANTILE_PATH=sort $B/t_quantile "$TMP/q.bin" $QS : \
      -np 2 -x PRECIS_QUANTILE_PATH=scan $B/t_quantile "$TMP/q.bin" $QS 2>"$TMP/q.err") \
  || { fail "t_quantile with mixed ways exited $?"; cat "$TMP/q.err"; }
got=$(echo "$out" | hex_norm)
expect_eq "quantiles np=3, rank 0 sorting and ranks 1-2 scanning" "$got" "$want"

echo "mpi: csv records equal Python's csv module at np=1..4, with quoted newlines on the split points"
# csv_vs_python NAME: $TMP/NAME.csv read at np=1..4 equals $TMP/NAME.expected
csv_vs_python() {
  for np in 1 2 3 4; do
    run $np $B/t_csv "$TMP/$1.csv" > "$TMP/$1.$np" 2>"$TMP/csv.err" || { fail "t_csv $1 np=$np"; cat "$TMP/csv.err"; continue; }
    if cmp -s "$TMP/$1.$np" "$TMP/$1.expected"; then pass "$1 csv np=$np ($(wc -l < "$TMP/$1.expected") records)"
    else fail "$1 csv np=$np differs from Python csv"; diff "$TMP/$1.$np" "$TMP/$1.expected" | head -5; fi
  done
}
$PY "$(dirname "$0")/make_split_csv.py" "$TMP/split.csv" "$TMP/split.expected"
csv_vs_python split
# forced split points: every byte offset class around a quoted newline, and a
# record longer than a whole share (a rank with no records)
for sb in 1 7 13 64; do
  T_CSV_SPLIT=$sb run 4 $B/t_csv "$TMP/split.csv" > "$TMP/splitb" 2>/dev/null || true
  cmp -s "$TMP/splitb" "$TMP/split.expected" && pass "split csv np=4 split_bytes=$sb" || fail "split csv np=4 split_bytes=$sb"
done
# several part files with headers, a BOM and CRLF, and broken records: all P agree
$PY "$(dirname "$0")/make_split_csv.py" --dirty "$TMP/parts"
ref=""
for np in 1 2 3 4; do
  run $np $B/t_csv "$TMP"/parts/*.csv > "$TMP/parts.$np" 2>/dev/null || fail "t_csv parts np=$np"
  [ -z "$ref" ] && ref=$(sha256sum < "$TMP/parts.$np")
  expect_eq "dirty part files np=$np identical" "$(sha256sum < "$TMP/parts.$np")" "$ref"
done
# the same records from SSE2's line splitter as from AVX2's (csv_open picks AVX2 where the CPU has it)
PRECIS_CSV_NO_AVX2=1 run 2 -x PRECIS_CSV_NO_AVX2 $B/t_csv "$TMP"/parts/*.csv > "$TMP/parts.sse2" 2>/dev/null || fail "t_csv parts np=2 without AVX2"
expect_eq "dirty part files np=2 without AVX2 identical" "$(sha256sum < "$TMP/parts.sse2")" "$ref"
expect_eq "dirty part files: bad records reported" "$(grep -c -P '\t(open_quote|bad_quote|bad_utf8|field_count)\t' "$TMP/parts.1")" "$(cat "$TMP/parts/expected_bad")"
# every record a quoted field of several lines: a wrong parity guess never
# meets the right one, so each guess's own end must be right
$PY "$(dirname "$0")/make_split_csv.py" --multiline "$TMP/multiline.csv" "$TMP/multiline.expected"
csv_vs_python multiline
# csv_next reads through a window of 8 MiB refilled at a record start; with
# windows of a few bytes records cross its end, grow it, and the longest
# (over 8 windows, or a quote open to the end of the file) are read through
# the mapping: the records stay Python's
for w in 1 5 64; do
  for f in split multiline; do
    PRECIS_CSV_WINDOW=$w run 3 -x PRECIS_CSV_WINDOW $B/t_csv "$TMP/$f.csv" > "$TMP/$f.w" 2>/dev/null || fail "t_csv $f window $w"
    cmp -s "$TMP/$f.w" "$TMP/$f.expected" && pass "$f csv np=3 through a window of $w bytes" || fail "$f csv np=3 window $w differs from Python csv"
  done
  PRECIS_CSV_WINDOW=$w run 2 -x PRECIS_CSV_WINDOW $B/t_csv "$TMP"/parts/*.csv > "$TMP/parts.w" 2>/dev/null || fail "t_csv parts window $w"
  expect_eq "dirty part files np=2 through a window of $w bytes identical" "$(sha256sum < "$TMP/parts.w")" "$ref"
done
# the split agreement at every byte: each split of 1..N bytes per rank reads
# the records of the even split
for np in 3 4; do
  for f in split.csv multiline.csv parts; do
    files="$TMP/$f"; [ "$f" = parts ] && files=$(ls "$TMP"/parts/*.csv)
    out=$(T_CSV_SWEEP=2500 run $np $B/t_csv $files 2>&1 | tail -1)
    expect_eq "split sweep np=$np $f" "$out" "sweep: 0 of 2500 splits differ"
  done
done
# the libFuzzer corpus of the CSV reader (tests/fuzz/corpus/csv: stray and
# open quotes, CR without LF, NUL, invalid UTF-8, long fields), without each
# input's two option bytes and read without a header, in groups of 20 files:
# every split of 1..T_CSV_FUZZ_SWEEP bytes (default 100; 0: every byte of
# the group) at np=3 reads the records of the even split
mkdir -p "$TMP/fz"
i=0
for f in "$(dirname "$0")"/../fuzz/corpus/csv/*; do tail -c +3 "$f" > "$TMP/fz/$(printf %04d $i).csv"; i=$((i + 1)); done
(cd "$TMP/fz" && ls ./*.csv | split -l 20 - grp.)
ng=0; nbad=0
for g in "$TMP"/fz/grp.*; do
  files=$(sed "s|^\./|$TMP/fz/|" "$g")
  n=${T_CSV_FUZZ_SWEEP:-100}; [ "$n" = 0 ] && n=$(cat $files | wc -c)
  out=$(T_CSV_NOHEADER=1 T_CSV_SWEEP=$n run 3 -x T_CSV_NOHEADER -x T_CSV_SWEEP $B/t_csv $files 2>&1 | tail -1)
  ng=$((ng + 1))
  [ "$out" = "sweep: 0 of $n splits differ" ] || { nbad=$((nbad + 1)); echo "  $(basename "$g"): $out"; }
done
expect_eq "split sweep np=3 of the fuzz corpus ($i files in $ng groups)" "$nbad groups differ" "0 groups differ"
# the split agreement reads its shares with pread in blocks (1 MiB, or the
# window if smaller): blocks of 3 bytes at every split
for f in split.csv multiline.csv parts; do
  files="$TMP/$f"; [ "$f" = parts ] && files=$(ls "$TMP"/parts/*.csv)
  out=$(PRECIS_CSV_WINDOW=3 T_CSV_SWEEP=2500 run 3 -x PRECIS_CSV_WINDOW $B/t_csv $files 2>&1 | tail -1)
  expect_eq "split sweep np=3 $f through blocks of 3 bytes" "$out" "sweep: 0 of 2500 splits differ"
done

echo "mpi: shuffle delivers every record to its slot owner with a tiny chunk"
for np in 1 2 3 4; do
  out=$(PRECIS_SHUFFLE_CHUNK=3 run $np $B/t_shuffle 2>&1) && pass "$out" || fail "t_shuffle np=$np: $out"
done

echo "mpi: rng draws per entity do not depend on the rank"
ref=""
for np in 1 2 3 4; do
  run $np $B/t_rng > "$TMP/rng.$np"
  [ -z "$ref" ] && ref=$(sha256sum < "$TMP/rng.$np")
  expect_eq "rng np=$np" "$(sha256sum < "$TMP/rng.$np")" "$ref"
done

echo "mpi: h5io columns written at np=3 read back at np=2 (and every P)"
for wnp in 3 1 4; do
  rm -f "$TMP/h.h5"
  run $wnp $B/t_h5io write "$TMP/h.h5" || fail "t_h5io write np=$wnp"
  for rnp in 2 1 3 4; do
    out=$(run $rnp $B/t_h5io read "$TMP/h.h5" 2>&1) && [[ "$out" == *"0 wrong"* ]] && pass "written np=$wnp, $out" || fail "read np=$rnp: $out"
  done
done
echo "mpi: h5io columns written in bands (h5io_col_bands), four open at once, at np=1..4"
# A chunk written by two calls is read back, merged and compressed again,
# and the file keeps its first version's space: h5stat counts that as
# unaccounted space. So every rank count must leave the same (the metadata
# blocks' slack, about 56 KiB here), below one chunk's first version.
unacc=""
for np in 1 2 3 4; do
  rm -f "$TMP/bands.h5"
  if run $np $B/t_h5io bands "$TMP/bands.h5"; then
    out=$(run 1 $B/t_h5io bandcheck "$TMP/bands.h5" 2>&1) && pass "np=$np: $out" || fail "bands np=$np: $out"
    unacc="$unacc $(h5stat -S "$TMP/bands.h5" | awk '/Unaccounted space/ {print $3}')"
  else fail "t_h5io bands np=$np"; fi
done
set -- $unacc
[ $# = 4 ] && [ "$1" = "$2" ] && [ "$1" = "$3" ] && [ "$1" = "$4" ] && [ "$1" -lt 100000 ] \
  && pass "no chunk written twice: the same unaccounted space at np=1..4 ($1 bytes)" || fail "unaccounted space at np=1..4:$unacc bytes"
out=$(run 2 $B/t_h5io chunk "$TMP/h.h5" 2>&1) && pass "$out" || fail "t_h5io chunk: $out"
h5dump -H "$TMP/h.h5" > /dev/null && pass "h5dump reads the file" || fail "h5dump"
$PY -c "import h5py; f = h5py.File('$TMP/h.h5'); assert f['/t/ints'][3] == 9 and f.attrs['complete'] == 1" && pass "h5py reads the file" || fail "h5py"
rm -f "$TMP/k.h5" "$TMP/k.h5.tmp"
set +e
run 3 $B/t_h5io kill "$TMP/k.h5" > /dev/null 2>&1
set -e
[ ! -e "$TMP/k.h5" ] && pass "a killed writer leaves no output file" || fail "killed writer left $TMP/k.h5"
if [ -e "$TMP/k.h5.tmp" ]; then
  cp "$TMP/k.h5.tmp" "$TMP/incomplete.h5"
  set +e; out=$(run 2 $B/t_h5io open "$TMP/incomplete.h5" 2>&1); rc=$?; set -e
  expect_eq "a file without complete=1 is refused (exit 3)" "$rc" "3"
  [[ "$out" == *"incomplete"* ]] && pass "refusal names the problem" || fail "message: $out"
else
  fail "killed writer left no .tmp to inspect"
fi
$PY -c "import h5py, numpy; f = h5py.File('$TMP/foreign.h5', 'w'); f['x'] = numpy.arange(5)"
set +e; run 2 $B/t_h5io open "$TMP/foreign.h5" >/dev/null 2>&1; rc=$?; set -e
expect_eq "foreign file refused where generic input is not allowed" "$rc" "3"
set +e; out=$(run 2 $B/t_h5io open "$TMP/foreign.h5" generic 2>&1); rc=$?; set -e
expect_eq "foreign file accepted as generic input" "$rc" "0"
[[ "$out" == *"not a Precis file"* ]] && pass "with a warning" || fail "no warning: $out"
$PY -c "
import h5py
f = h5py.File('$TMP/h.h5', 'r+'); f.attrs['format'] = 'precis/0'"
set +e; out=$(run 2 $B/t_h5io open "$TMP/h.h5" 2>&1); rc=$?; set -e
expect_eq "another format is refused" "$rc" "3"
[[ "$out" == *"format 'precis/0'"* ]] && pass "refusal names the format" || fail "message: $out"

echo "mpi: stop protocol and checkpoints"
for np in 1 3; do
  rm -rf "$TMP/ck"; mkdir -p "$TMP/ck"
  full=$(run $np $B/t_ckpt "$TMP/ck" run)
  set +e
  out=$(PRECIS_STOP_AT=loop:7 run $np $B/t_ckpt "$TMP/ck" run 2>/dev/null); rc=$?
  set -e
  expect_eq "np=$np PRECIS_STOP_AT stops every rank at iteration 7 with exit 75" "$rc:$out" "75:$(echo "$out" | grep 'iteration 7 ' || echo none)"
  rnp=$(( np == 1 ? 4 : 2 ))
  res=$(run $rnp $B/t_ckpt "$TMP/ck" resume)
  expect_eq "np=$np checkpoint resumed at np=$rnp gives the uninterrupted result" "$res" "$full"
  set +e; run $rnp $B/t_ckpt "$TMP/ck" other >/dev/null 2>"$TMP/ck.err"; rc=$?; set -e
  expect_eq "a checkpoint from other parameters is refused (exit 3)" "$rc" "3"
  printf 'X' | dd of="$TMP/ck/t.ckpt" bs=1 seek=90 conv=notrunc 2>/dev/null
  set +e; run $rnp $B/t_ckpt "$TMP/ck" resume >/dev/null 2>"$TMP/ck.err"; rc=$?; set -e
  expect_eq "a corrupt checkpoint is refused (exit 3)" "$rc" "3"
done

echo "mpi: one rank's error stops all ranks with one message"
for np in 1 2 3 4; do
  set +e; out=$(run $np $B/t_agree 2>/dev/null); rc=$?; set -e
  expect_eq "agree np=$np ($out)" "$rc" "3"
done
echo "mpi: time zone tables equal Python's zoneinfo (every 5th zone of the database and named ones), the same on every rank"
zones="Europe/Berlin America/New_York Australia/Lord_Howe America/Sao_Paulo Asia/Kolkata UTC $($PY -c "import zoneinfo; print(' '.join(sorted(zoneinfo.available_timezones())[::5]))")"
for np in 1 3; do
  [ $np = 3 ] && zones="Europe/Berlin Australia/Lord_Howe Nowhere/City"
  run $np $B/t_tz $zones > "$TMP/tz$np.out" 2>"$TMP/tz.err" || { fail "t_tz np=$np exited $?"; cat "$TMP/tz.err"; continue; }
  if [ $np = 1 ]; then
    $PY "$(dirname "$0")/tz_ref.py" "$TMP/tz1.out" > "$TMP/tzref.out" && pass "tz tables: $(tail -1 "$TMP/tzref.out")" || { fail "tz tables vs zoneinfo"; grep FAIL "$TMP/tzref.out" | head -5; }
  else
    grep -q "^error .*'Nowhere/City' is not a time zone" "$TMP/tz3.out" && ! grep -q "ranks differ" "$TMP/tz3.out" &&
      [ "$(grep -c '^zone' "$TMP/tz3.out")" = 2 ] && pass "np=3: every rank has rank 0's table; an unknown name fails on every rank" || fail "t_tz np=3: $(cat "$TMP/tz3.out" | grep -v '^-\?[0-9]')"
  fi
done

finish
