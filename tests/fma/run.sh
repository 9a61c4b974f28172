#!/usr/bin/env bash
# tests/fma/run.sh BUILD BIN FMA_BUILD FMA_BIN - the same results from a build
# that may fuse a*b+c into FMA instructions (FMA_*, made with -mfma, as
# -march=native or an aarch64 build would be) as from the default build.
# The Makefile's -ffp-contract=off is what makes them equal: without it,
# the fused build's exact quantiles differed from numpy's and precis-kmeans's
# centroids from the default build's in their last bits.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
FB=${3:?fma build dir} FBIN=${4:?fma bin dir}
echo "fma: a build with FMA instructions enabled gives the default build's bytes"
if ! grep -qw fma /proc/cpuinfo; then
  echo "  skip this CPU has no FMA: the -mfma build cannot run here"
  finish
  exit 0
fi
# exact quantiles and order statistics (what precis-clean's outlier bounds
# and medians use) of values with every kind of rounding
$PY - "$TMP/q.bin" <<'PYEOF'
import sys, numpy as np
r = np.random.default_rng(11)
x = np.concatenate([np.round(r.lognormal(3, 1, 20000), 2), -np.round(r.exponential(50, 3000), 2),
                    r.standard_normal(3000) * 1e-3, np.ldexp(r.random(2000), r.integers(-900, 900, 2000))])
r.shuffle(x)
x.astype("<f8").tofile(sys.argv[1])
PYEOF
QS="0.25 0.5 0.75 0.01 0.999 0.3333 0.1 0.9"
for np in 1 3; do
  a=$(T_QUANTILE_KS="0 1 100" run $np "$BUILD/tests/t_quantile" "$TMP/q.bin" $QS 2>&1) || fail "t_quantile np=$np"
  b=$(T_QUANTILE_KS="0 1 100" run $np "$FB/tests/t_quantile" "$TMP/q.bin" $QS 2>&1) || fail "fma t_quantile np=$np"
  expect_eq "quantiles np=$np: the FMA build's = the default build's" "$b" "$a"
done
# the pipeline to features, then k-means (its init's weighted sums, the
# scaler, the inverse transform) by each build
run 2 "$BIN/precis-gen" --customers 2000 --seed 12 --out "$TMP/g" > /dev/null 2>&1 || fail "gen"
install -m 0600 "$TMP/g/pii.key" "$TMP/key"
run 1 "$BIN/precis-clean" --in "$TMP/g" --pii-key "$TMP/key" --out "$TMP/clean.h5" > /dev/null 2>&1 || fail "clean"
run 1 "$BIN/precis-rfm" --in "$TMP/clean.h5" --out "$TMP/features.h5" > /dev/null 2>&1 || fail "rfm"
for np in 1 3; do
  run $np "$BIN/precis-kmeans" --in "$TMP/features.h5" --out "$TMP/seg$np.h5" --k 6 > /dev/null 2>&1 || fail "kmeans np=$np"
  run $np "$FBIN/precis-kmeans" --in "$TMP/features.h5" --out "$TMP/segf$np.h5" --k 6 > /dev/null 2>&1 || fail "fma kmeans np=$np"
  out=$($PY "$(dirname "$0")/../h5same.py" "$TMP/seg$np.h5" "$TMP/segf$np.h5" --ignore quality/report 2>&1 | tail -1 || true)
  [[ "$out" == *", 0 differ" ]] && pass "precis-kmeans np=$np: the FMA build's segments.h5 = the default build's ($out)" || fail "kmeans np=$np: $out"
done
finish
