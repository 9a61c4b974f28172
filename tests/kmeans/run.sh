#!/usr/bin/env bash
# tests/kmeans/run.sh - precis-kmeans at np = 1..4 against scikit-learn and itself.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
H=$(dirname "$0")
N=${GEN_CUSTOMERS:-8000}
run 2 $BIN/precis-gen --customers $N --seed 41 --out "$TMP/g" 2>/dev/null || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/key"
mkdir -p "$TMP/c"
run 2 $BIN/precis-clean --in "$TMP/g" --pii-key "$TMP/key" --out "$TMP/c/clean.h5" >/dev/null 2>&1 || fail "clean"
run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/f.h5" >/dev/null 2>&1 || fail "rfm"

echo "kmeans: byte-identical labels and centroids at np=1..4, for each init"
for init in kmeans-par kmeans++ random; do
  for np in 1 2 3 4; do
    run $np $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --init $init --seed 9 --out "$TMP/s-$init-$np.h5" > "$TMP/km.log" 2>&1 || { fail "kmeans $init np=$np"; tail -3 "$TMP/km.log"; }
  done
  for np in 2 3 4; do
    out=$($PY "$H/../h5same.py" "$TMP/s-$init-1.h5" "$TMP/s-$init-$np.h5" | tail -1 || true)
    [[ "$out" == *", 0 differ" ]] && pass "$init np=$np identical to np=1 ($out)" || fail "$init np=$np: $out"
  done
done

echo "kmeans: --algorithm hamerly gives Lloyd's bytes (labels, centroids, history) at np=1..4"
for init in kmeans-par kmeans++; do
  for np in 1 2 3 4; do
    run $np $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --init $init --seed 9 --algorithm hamerly --out "$TMP/h-$init-$np.h5" > "$TMP/h.log" 2>&1 || { fail "hamerly $init np=$np"; tail -3 "$TMP/h.log"; }
    out=$($PY "$H/../h5same.py" "$TMP/s-$init-1.h5" "$TMP/h-$init-$np.h5" | tail -1 || true)
    [[ "$out" == *", 0 differ" ]] && pass "hamerly $init np=$np = lloyd np=1 ($out)" || fail "hamerly $init np=$np: $out"
  done
done
mkdir -p "$TMP/hck"
set +e
PRECIS_STOP_AT=iter:4 run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --algorithm hamerly --checkpoint-dir "$TMP/hck" --out "$TMP/hr.h5" >/dev/null 2>&1; rc=$?
set -e
expect_eq "hamerly stop at iteration 4: exit code" "$rc" 75
run 3 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --algorithm hamerly --checkpoint-dir "$TMP/hck" --resume --out "$TMP/hr.h5" >/dev/null 2>&1 || fail "hamerly resume"
out=$($PY "$H/../h5same.py" "$TMP/s-kmeans-par-1.h5" "$TMP/hr.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "hamerly resumed at np=3 (bounds recomputed) = uninterrupted lloyd ($out)" || fail "hamerly resume: $out"
run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --algorithm hamerly --log-level debug --out "$TMP/hd.h5" > "$TMP/hd.log" 2>&1 || fail "hamerly debug"
$PY - "$TMP/hd.log" <<'PYEOF' && pass "hamerly skips most distance computations after the first iterations" || fail "hamerly skipping"
import re, sys
v = [(int(a), int(b)) for a, b in re.findall(r"\[rank 0\].*hamerly: (\d+) of (\d+) points re-examined", open(sys.argv[1]).read())]
late = v[3:]
assert late and sum(a for a, b in late) < 0.5 * sum(b for a, b in late), v[:8]
PYEOF

echo "kmeans: inertia within 1.001x of scikit-learn from the same initial centroids"
$PY - "$TMP/f.h5" "$TMP/s-kmeans++-1.h5" <<'PYEOF' && pass "inertia vs sklearn.cluster.KMeans (lloyd)" || fail "inertia vs sklearn"
import sys, h5py, numpy as np
from sklearn.cluster import KMeans
X = h5py.File(sys.argv[1], "r")["features/X"][:]
s = h5py.File(sys.argv[2], "r")
init = s["init_centroids"][:]
km = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", tol=1e-4, max_iter=300).fit(X)
ours = float(s["inertia"][0])
print("ours %.10g sklearn %.10g ratio %.6f" % (ours, km.inertia_, ours / km.inertia_))
assert ours <= 1.001 * km.inertia_
# our inertia is the inertia of our labels and centroids
lab, C = s["labels"][:], s["centroids"][:]
assert abs(((X - C[lab]) ** 2).sum() - ours) <= 1e-9 * ours
assert (np.bincount(lab, minlength=len(C)) == s["sizes"][:]).all()
# centroids_original = inverse scaler, then expm1 on log1p columns
f = h5py.File(sys.argv[1], "r")
orig = C * f["features/scaler_std"][:] + f["features/scaler_mean"][:]
orig[:, 1:] = np.expm1(orig[:, 1:])
assert np.allclose(orig, s["centroids_original"][:], rtol=1e-12, atol=1e-9)
PYEOF

$PY - "$TMP/f.h5" "$TMP/s-kmeans++-1.h5" <<'PYEOF' && pass "/profile/rfm_mean equals the per-segment mean of /rfm (pandas)" || fail "profile"
import sys, h5py, numpy as np, pandas as pd
f, s = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
cols = ["recency_days", "frequency", "monetary_total", "monetary_avg", "tenure_days"]
df = pd.DataFrame({c: f["rfm/" + c][:] for c in cols})
df["lab"] = s["labels"][:]
want = df.groupby("lab")[cols].mean().reindex(range(len(s["sizes"]))).to_numpy()
assert np.allclose(s["profile/rfm_mean"][:], want, rtol=1e-12, atol=1e-9, equal_nan=True)
assert len(s["profile/name"]) == len(s["sizes"])
PYEOF

echo "kmeans: stop at iteration 5, resume at another rank count"
mkdir -p "$TMP/ck"
set +e
PRECIS_STOP_AT=iter:5 run 3 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --checkpoint-dir "$TMP/ck" --out "$TMP/r.h5" >/dev/null 2>&1; rc=$?
set -e
expect_eq "PRECIS_STOP_AT=iter:5 exits 75" "$rc" "75"
[ ! -e "$TMP/r.h5" ] && pass "no output after the stop" || fail "output after stop"
run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --checkpoint-dir "$TMP/ck" --resume --out "$TMP/r.h5" >/dev/null 2>&1 || fail "resume"
out=$($PY "$H/../h5same.py" "$TMP/s-kmeans-par-1.h5" "$TMP/r.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "resumed at np=2: identical to the uninterrupted run ($out)" || fail "resume: $out"
set +e
run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 6 --seed 9 --checkpoint-dir "$TMP/ck" --resume --out "$TMP/r2.h5" >/dev/null 2>&1; rc=$?
set -e
[ "$rc" != 0 ] && pass "--resume without a matching checkpoint fails (exit $rc)" || fail "resume with other k succeeded"

echo "kmeans: SIGUSR1 under mpirun stops every rank at an iteration boundary (exit 75)"
rm -rf "$TMP/sig" && mkdir -p "$TMP/sig"
( set +e; run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --n-init 200 --checkpoint-dir "$TMP/sig" --out "$TMP/sig.h5" \
    > "$TMP/sig.log" 2>&1; echo "exit=$?" >> "$TMP/sig.log" ) &
for i in $(seq 1 600); do grep -q "iteration" "$TMP/sig.log" 2>/dev/null && break; sleep 0.05; done
# this run's mpirun alone (mpirun forwards SIGUSR1 to the ranks); not every
# mpirun on the machine, which would stop another test run sharing it
pkill -USR1 -f "^mpirun .*--checkpoint-dir $TMP/sig " || true
for i in $(seq 1 1200); do grep -q "^exit=" "$TMP/sig.log" 2>/dev/null && break; sleep 0.05; done
expect_eq "SIGUSR1 -> exit 75" "$(grep -o '^exit=.*' "$TMP/sig.log")" "exit=75"
[ -s "$TMP/sig/kmeans.ckpt" ] && [ ! -e "$TMP/sig.h5" ] && pass "a checkpoint and no output" || fail "after SIGUSR1"
run 3 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --n-init 200 --checkpoint-dir "$TMP/sig" --resume --out "$TMP/sig.h5" >/dev/null 2>&1 || fail "resume after SIGUSR1"
run 1 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --n-init 200 --out "$TMP/nosig.h5" >/dev/null 2>&1 || fail "uninterrupted n-init 200"
out=$($PY "$H/../h5same.py" "$TMP/nosig.h5" "$TMP/sig.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "resumed at np=3 after SIGUSR1: identical to the uninterrupted run ($out)" || fail "resume after signal: $out"

echo "kmeans: --predict"
for np in 1 3; do
  run $np $BIN/precis-kmeans --predict --model "$TMP/s-kmeans++-1.h5" --in "$TMP/f.h5" --out "$TMP/p$np.h5" >/dev/null 2>&1 || fail "predict np=$np"
done
$PY -c "
import h5py
a, b, c = h5py.File('$TMP/s-kmeans++-1.h5'), h5py.File('$TMP/p1.h5'), h5py.File('$TMP/p3.h5')
assert (a['labels'][:] == b['labels'][:]).all() and (b['labels'][:] == c['labels'][:]).all()
assert (a['customers/customer_key'][:] == b['customers/customer_key'][:]).all()" \
  && pass "--predict on the training customers reproduces their labels exactly (np=1 and 3)" || fail "predict labels"
run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/f_win.h5" --window-days 200 >/dev/null 2>&1 || fail "rfm window"
run 2 $BIN/precis-kmeans --predict --model "$TMP/s-kmeans++-1.h5" --in "$TMP/f_win.h5" --out "$TMP/pw.h5" >/dev/null 2>&1 || fail "predict new quarter"
$PY - "$TMP/f_win.h5" "$TMP/s-kmeans++-1.h5" "$TMP/pw.h5" <<'PYEOF' && pass "--predict maps new features through both scalers to the nearest model centroid" || fail "predict mapping"
import sys, h5py, numpy as np
f, s, p = (h5py.File(x, "r") for x in sys.argv[1:])
X = f["features/X"][:] * f["features/scaler_std"][:] + f["features/scaler_mean"][:]
X = (X - s["model/scaler_mean"][:]) / s["model/scaler_std"][:]
C = s["centroids"][:]
want = ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1)
assert (want == p["labels"][:]).mean() > 0.999, (want == p["labels"][:]).mean()
PYEOF
run 2 $BIN/precis-rfm --in "$TMP/c/clean.h5" --out "$TMP/f_other.h5" --features recency_days,frequency,monetary_total >/dev/null 2>&1 || fail "rfm other features"
set +e; out=$(run 2 $BIN/precis-kmeans --predict --model "$TMP/s-kmeans++-1.h5" --in "$TMP/f_other.h5" --out "$TMP/px.h5" 2>&1); rc=$?; set -e
expect_eq "--predict refuses other columns or transforms (exit 3)" "$rc" "3"

echo "kmeans: degenerate inputs"
$PY - "$TMP" <<'PYEOF'
import sys, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1)
with h5py.File(d + "/nan.h5", "w") as f:
    x = rng.normal(size=(50, 3)); x[17, 2] = np.nan; f["X"] = x
with h5py.File(d + "/same.h5", "w") as f:
    f["X"] = np.ones((40, 2))
with h5py.File(d + "/few.h5", "w") as f:
    f["X"] = rng.normal(size=(3, 2))
with h5py.File(d + "/blobs.h5", "w") as f:
    c = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    f["X"] = np.vstack([c[i] + rng.normal(scale=0.5, size=(100, 2)) for i in range(4)]).astype(np.float32)
PYEOF
set +e
out=$(run 3 $BIN/precis-kmeans --in "$TMP/nan.h5:/X" --k 2 --out "$TMP/x.h5" 2>&1); rc=$?
set -e
expect_eq "NaN in X refused (exit 3)" "$rc" "3"
[[ "$out" == *"row 17"* ]] && pass "and the message names the row" || fail "message: $out"
set +e; run 3 $BIN/precis-kmeans --in "$TMP/few.h5:/X" --k 5 --out "$TMP/x.h5" >/dev/null 2>&1; rc=$?; set -e
expect_eq "fewer rows than k refused (exit 3)" "$rc" "3"
run 3 $BIN/precis-kmeans --in "$TMP/same.h5:/X" --k 3 --out "$TMP/same-out.h5" >/dev/null 2>&1 && \
  $PY -c "import h5py; s = h5py.File('$TMP/same-out.h5'); assert s['sizes'][:].sum() == 40 and (s['centroids'][:] == 1).all()" \
  && pass "all-identical rows: k centroids on the point, documented sizes" || fail "identical rows"
run 4 $BIN/precis-kmeans --in "$TMP/same.h5:/X" --k 1 --out "$TMP/k1.h5" >/dev/null 2>&1 && pass "k=1" || fail "k=1"
out=$(run 4 $BIN/precis-kmeans --in "$TMP/blobs.h5:/X" --k 4 --out "$TMP/b.h5" 2>&1) && [[ "$out" == *"not a Precis file"* ]] \
  && pass "a foreign float32 matrix is accepted with a warning" || fail "foreign input: $out"
$PY - "$TMP/blobs.h5" "$TMP/b.h5" <<'PYEOF' && pass "well-separated blobs are recovered (ARI = 1 vs the truth)" || fail "blobs"
import sys, h5py, numpy as np
from sklearn.metrics import adjusted_rand_score
lab = h5py.File(sys.argv[2], "r")["labels"][:]
truth = np.repeat(np.arange(4), 100)
assert adjusted_rand_score(truth, lab) == 1.0
PYEOF

echo "kmeans: --k-range"
for np in 1 3; do
  run $np $BIN/precis-kmeans --in "$TMP/f.h5" --k-range 2:5 --sample-silhouette 1500 --n-init 2 --out "$TMP/kr$np.h5" > "$TMP/kr.log" 2>&1 || fail "k-range np=$np"
done
out=$($PY "$H/../h5same.py" "$TMP/kr1.h5" "$TMP/kr3.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "--k-range identical at np=1 and 3 ($out)" || fail "k-range np=3: $out"
grep -q "chose k=" "$TMP/kr.log" && pass "the choice is logged with its reason" || fail "no k-range log"
$PY - "$TMP/f.h5" "$TMP/kr1.h5" <<'PYEOF' && pass "silhouette (sampled) and Calinski-Harabasz equal scikit-learn's; the highest silhouette is chosen" || fail "k-range metrics"
import sys, h5py, numpy as np
from sklearn.metrics import silhouette_score, calinski_harabasz_score
X = h5py.File(sys.argv[1], "r")["features/X"][:]
s = h5py.File(sys.argv[2], "r")
sc = s["k_selection/scores"][:]
k = int(s["k_selection"].attrs["chosen_k"])
assert k == int(s.attrs["k"]) == len(s["sizes"])
best = sc[np.argmax(sc[:, 2])]
assert int(best[0]) == k
row = sc[sc[:, 0] == k][0]
lab, rows = s["labels"][:], s["sample_rows"][:] if "sample_rows" in s else s["k_selection/sample_rows"][:]
assert abs(silhouette_score(X[rows], lab[rows]) - row[2]) < 1e-9, (silhouette_score(X[rows], lab[rows]), row[2])
assert abs(calinski_harabasz_score(X, lab) - row[3]) <= 1e-9 * row[3], (calinski_harabasz_score(X, lab), row[3])
assert abs(row[1] - float(s["inertia"][0])) <= 1e-12 * row[1]
PYEOF
echo "kmeans: a --k-range sweep stops and resumes at other rank counts (between k, inside a fit, before the refit)"
KR=(--in "$TMP/f.h5" --k-range 2:5 --sample-silhouette 1500 --n-init 2 --checkpoint-dir "$TMP/krck" --out "$TMP/krr.h5")
mkdir -p "$TMP/krck"
set +e
PRECIS_STOP_AT=k:4 run 2 $BIN/precis-kmeans "${KR[@]}" > "$TMP/krr.log" 2>&1; rc1=$?
PRECIS_STOP_AT=iter:1 run 4 $BIN/precis-kmeans "${KR[@]}" --resume > "$TMP/krr2.log" 2>&1; rc2=$?
PRECIS_STOP_AT=refit run 1 $BIN/precis-kmeans "${KR[@]}" --resume > "$TMP/krr3.log" 2>&1; rc3=$?
set -e
expect_eq "k-range stops (before k=4 at np=2, at k=4 iteration 1 at np=4, before the refit at np=1): exit codes" "$rc1 $rc2 $rc3" "75 75 75"
grep -q "resuming the k-range sweep at k=4 (2 of 4 scored) run 0 iteration 0" "$TMP/krr2.log" && pass "the sweep resumed at k=4 with k=2,3 scored" || fail "k-range resume position: $(grep resum "$TMP/krr2.log")"
[ ! -e "$TMP/krr.h5" ] && pass "no output while stopped" || fail "output written by a stopped sweep"
run 3 $BIN/precis-kmeans "${KR[@]}" --resume > "$TMP/krr4.log" 2>&1 || { fail "k-range final resume"; tail -3 "$TMP/krr4.log"; }
out=$($PY "$H/../h5same.py" "$TMP/kr1.h5" "$TMP/krr.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "k-range stopped 3 times, finished at np=3 = uninterrupted np=1 ($out)" || fail "k-range resume: $out"
[ ! -e "$TMP/krck/kmeans.ckpt" ] && pass "checkpoint removed after success" || fail "k-range checkpoint left behind"
set +e; run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k-range 2:6 --sample-silhouette 1500 --n-init 2 --checkpoint-dir "$TMP/krck" --resume --out "$TMP/x.h5" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" != 0 ] && pass "--resume refuses a sweep without its checkpoint (exit $rc)" || fail "k-range resume without checkpoint"
run 2 $BIN/precis-kmeans --in "$TMP/blobs.h5:/X" --k-range 2:7 --out "$TMP/bk.h5" >/dev/null 2>&1 || fail "k-range blobs"
$PY -c "import h5py; assert h5py.File('$TMP/bk.h5').attrs['k'] == 4" && pass "--k-range finds the 4 planted blobs" || fail "k-range blobs k"
set +e; run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k-range 5:2 --out "$TMP/x.h5" >/dev/null 2>&1; rc=$?; set -e
expect_eq "a bad --k-range exits 2" "$rc" "2"
echo "kmeans: --checkpoint-every survives a crash (here: an --out that is a directory, found only when the output is committed)"
mkdir -p "$TMP/every" "$TMP/isdir.h5"
set +e
run 2 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --checkpoint-dir "$TMP/every" --checkpoint-every 2 --out "$TMP/isdir.h5" >/dev/null 2>&1; rc=$?
set -e
[ "$rc" != 0 ] && [ -f "$TMP/every/kmeans.ckpt" ] && pass "failed run (exit $rc) left its periodic checkpoint" || fail "periodic checkpoint (rc=$rc)"
run 3 $BIN/precis-kmeans --in "$TMP/f.h5" --k 5 --seed 9 --checkpoint-dir "$TMP/every" --resume --out "$TMP/every.h5" >/dev/null 2>&1 || fail "resume from periodic checkpoint"
out=$($PY "$H/../h5same.py" "$TMP/s-kmeans-par-1.h5" "$TMP/every.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "resumed at np=3 = uninterrupted ($out)" || fail "resume from periodic: $out"

echo "kmeans: planted segments of the generator (--separated-segments) are recovered"
run 2 $BIN/precis-gen --customers 4000 --segments 4 --separated-segments --weeks 13 --seed 5 --out "$TMP/sg" >/dev/null 2>&1 || fail "gen separated"
install -m 0600 "$TMP/sg/pii.key" "$TMP/sgkey"
mkdir -p "$TMP/sgc"
run 2 $BIN/precis-clean --in "$TMP/sg" --pii-key "$TMP/sgkey" --out "$TMP/sgc/clean.h5" >/dev/null 2>&1 || fail "clean separated"
run 2 $BIN/precis-rfm --in "$TMP/sgc/clean.h5" --out "$TMP/sgc/f.h5" --features "log1p(frequency),log1p(monetary_total)" >/dev/null 2>&1 || fail "rfm separated"
run 3 $BIN/precis-kmeans --in "$TMP/sgc/f.h5" --k 4 --out "$TMP/sgc/s.h5" >/dev/null 2>&1 || fail "kmeans separated"
$PY $H/check_planted.py "$TMP/sg/truth.h5" "$TMP/sgc/s.h5" "$TMP/sgkey" > "$TMP/planted.out" 2>&1 \
  && pass "$(head -1 "$TMP/planted.out") >= 0.9; every planted segment recovered (recall and precision >= 0.9)" || { fail "planted segments"; cat "$TMP/planted.out"; }

echo "kmeans: --previous keeps segment IDs across quarters"
$PY $H/make_quarters.py "$TMP"
run 2 $BIN/precis-kmeans --in "$TMP/q1.h5" --k 6 --seed 1 --out "$TMP/s1.h5" >/dev/null 2>&1 || fail "quarter 1"
run 2 $BIN/precis-kmeans --in "$TMP/q2.h5" --k 6 --seed 7 --out "$TMP/s2raw.h5" >/dev/null 2>&1 || fail "quarter 2 without --previous"
for np in 1 3; do
  run $np $BIN/precis-kmeans --in "$TMP/q2.h5" --k 6 --seed 7 --previous "$TMP/s1.h5" --out "$TMP/s2p$np.h5" > "$TMP/prev$np.log" 2>&1 || fail "quarter 2 --previous np=$np"
done
out=$($PY "$H/../h5same.py" "$TMP/s2p1.h5" "$TMP/s2p3.h5" | tail -1 || true)
[[ "$out" == *", 0 differ" ]] && pass "--previous: np=3 identical to np=1 ($out)" || fail "--previous np=3: $out"
$PY - "$TMP" <<'PYEOF' && pass "stable IDs for every customer, transition matrix = the planted moves (5% changed)" || fail "--previous IDs / transitions"
import sys, h5py, numpy as np
d = sys.argv[1]
t = np.load(d + "/truth.npz"); s1, s2 = t["seg1"], t["seg2"]
a = h5py.File(d + "/s1.h5", "r")["labels"][:]
raw = h5py.File(d + "/s2raw.h5", "r")["labels"][:]
p = h5py.File(d + "/s2p1.h5", "r")
f = {s: int(np.bincount(a[s1 == s]).argmax()) for s in range(6)}          # planted segment -> quarter-1 ID
g = {s: int(np.bincount(raw[s2 == s]).argmax()) for s in range(6)}
assert sorted(f.values()) == list(range(6)) and all((a == np.array([f[x] for x in s1])))
print("quarter-1 IDs", f, "quarter-2 IDs without --previous", g)
assert f != g, "the test needs quarter 2 to number its clusters differently"
lab = p["labels"][:]
assert (lab == np.array([f[x] for x in s2])).all(), "a customer got another ID"
want = np.zeros((6, 6), dtype=np.int64)
for x, y in zip(s1, s2):
    want[f[x], f[y]] += 1
T = p["transitions"][:]
assert (T == want).all(), (T, want)
assert abs(p["transitions"].attrs["changed_share"] - 0.05) < 1e-12
assert list(p["segment_ids"][:]) == list(range(6)) and list(p["mapping_to_previous"][:]) == list(range(6))
c1, c2 = h5py.File(d + "/s1.h5", "r")["centroids"][:], p["centroids"][:]
assert np.abs(c1 - c2).max() < 0.1, "row r of both models is the same segment"
PYEOF
run 2 $BIN/precis-kmeans --predict --model "$TMP/s2p1.h5" --in "$TMP/q2.h5" --out "$TMP/pl.h5" >/dev/null 2>&1 || fail "predict with a --previous model"
$PY -c "import h5py,sys; a=h5py.File(sys.argv[1])['labels'][:]; b=h5py.File(sys.argv[2])['labels'][:]; sys.exit(0 if (a==b).all() else 1)" "$TMP/s2p1.h5" "$TMP/pl.h5" \
  && pass "--predict with a --previous model gives the segment IDs" || fail "predict IDs"
$PY - "$TMP" <<'PYEOF'
import sys, h5py
d = sys.argv[1]
with h5py.File(d + "/q2.h5", "r") as src, h5py.File(d + "/q2cols.h5", "w") as dst:
    for k, v in src.attrs.items(): dst.attrs[k] = v
    for g in ("customers", "features"): src.copy(g, dst)
    dst["features/X"].attrs["columns"] = "a,b,z"
PYEOF
set +e
run 2 $BIN/precis-kmeans --in "$TMP/q2cols.h5" --k 6 --previous "$TMP/s1.h5" --out "$TMP/sx.h5" > "$TMP/px.log" 2>&1; rc=$?
set -e
expect_eq "--previous with other feature columns: exit code" "$rc" 3
grep -q "feature columns differ" "$TMP/px.log" && pass "... with a message naming the cause" || fail "--previous refusal message"

finish
