#!/usr/bin/env bash
# bench_kmeans.sh BIN - precis-kmeans (Lloyd) against scikit-learn's KMeans
# (algorithm="lloyd", its default 2 OpenMP threads here) on the same
# 5M x 8 float64 matrix (8 Gaussian blobs), K = 8, from the same initial
# centroids, a fixed 20 iterations (tol 0), measured in the same run. Prints
# seconds per iteration, the ratio to scikit-learn, the ratio to one bare
# streaming pass over X (numpy X.sum(axis=0)), the bytes each rank
# contributes to the one allreduce per iteration, and peak RSS per rank.
set -euo pipefail
BIN=${1:-bin}
N=${BENCH_KMEANS_ROWS:-5000000}; D=8; K=8; IT=20
T=$(mktemp -d /tmp/precis-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
$PY - "$T/x.h5" "$N" "$D" "$K" <<'PY'
import sys, h5py, numpy as np
path, n, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(3)
centres = rng.normal(size=(k, d)) * 4
with h5py.File(path, "w") as f:
    X = f.create_dataset("X", shape=(n, d), dtype="f8")
    for a in range(0, n, 1000000):
        b = min(n, a + 1000000)
        X[a:b] = centres[rng.integers(0, k, size=b - a)] + rng.normal(size=(b - a, d))
    f["C0"] = X[:k * 1000:1000]          # the shared initial centroids: k rows of X
PY
ref=$($PY - "$T/x.h5" "$IT" <<'PY'
import sys, time, h5py, numpy as np
from sklearn.cluster import KMeans
f = h5py.File(sys.argv[1], "r"); X = f["X"][:]; C0 = f["C0"][:]; it = int(sys.argv[2])
t = time.perf_counter(); s = X.sum(axis=0); stream = time.perf_counter() - t
t = time.perf_counter(); s = X.sum(axis=0); stream = min(stream, time.perf_counter() - t)
km = KMeans(n_clusters=len(C0), init=C0, n_init=1, max_iter=it, tol=0, algorithm="lloyd")
t = time.perf_counter(); km.fit(X); sk = time.perf_counter() - t
print("%.5f %.5f %d %.10g" % (sk / km.n_iter_, stream, km.n_iter_, km.inertia_))
PY
)
read -r sk stream skit skin <<< "$ref"
printf "data: %d x %d float64 (%.0f MiB), K=%d, %d iterations from the same centroids\n" "$N" "$D" "$(echo "$N * $D * 8 / 1048576" | bc -l)" "$K" "$IT"
printf "scikit-learn lloyd: %.4f s per iteration (%d iterations, inertia %s); numpy streaming pass over X: %.4f s\n" "$sk" "$skit" "$skin" "$stream"
declare -A per
for alg in lloyd hamerly; do
for np in 1 2; do
  mpirun -np $np --oversubscribe "$BIN/precis-kmeans" --in "$T/x.h5:/X" --k $K --init "$T/x.h5:/C0" --n-init 1 \
    --max-iter $IT --tol 0 --algorithm $alg --out "$T/s$np.h5" 2> "$T/km$np.log"
  per[$np]=$(grep -E "run 0 iteration [0-9]+:" "$T/km$np.log" | tail -n +2 | sed -E 's/.*, ([0-9.]+) s$/\1/' | sort -g |
    awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  inert=$(grep -oE "inertia [0-9.e+]+ \(run" "$T/km$np.log" | awk '{print $2}')
  bytes=$(grep -oE "[0-9]+ bytes per rank per iteration" "$T/km$np.log" | awk '{print $1}')
  rss=$(grep "peak RSS" "$T/km$np.log" | sed 's/.*(MiB): //')
  printf "precis-kmeans $alg np=%d: %.4f s per iteration = %.2fx faster than scikit-learn, %.2fx the streaming pass; inertia %s; %s bytes per rank per iteration into the allreduce; peak RSS per rank (MiB): %s\n" \
    $np "${per[$np]}" "$(echo "$sk / ${per[$np]}" | bc -l)" "$(echo "${per[$np]} / $stream" | bc -l)" "$inert" "$bytes" "$rss"
  per[$alg$np]=${per[$np]}
done
done
printf "targets: >= 2x scikit-learn at np=2 (lloyd %.2fx, hamerly %.2fx); hamerly <= 1.3x the streaming pass (%.2fx at np=2)\n" \
  "$(echo "$sk / ${per[lloyd2]}" | bc -l)" "$(echo "$sk / ${per[hamerly2]}" | bc -l)" "$(echo "${per[hamerly2]} / $stream" | bc -l)"
