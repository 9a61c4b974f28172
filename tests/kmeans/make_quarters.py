#!/usr/bin/env python3
"""make_quarters.py DIR - two quarters of well-separated planted segments for
precis-kmeans --previous, in the features.h5 layout (customer keys sorted by
slot, slot_offsets, /features/X with columns and transform, a scaler).
Quarter 2 has the same customers; 5% of them move to another segment
(planted), and the rows' segment order is shuffled, so that k-means numbers
the clusters differently. Writes q1.h5, q2.h5 and truth.npz (segment of
every customer in each quarter, in file row order)."""
import sys
import h5py
import numpy as np

d = sys.argv[1]
rng = np.random.default_rng(11)
N, K, D, S = 12000, 6, 3, 1024
centres = rng.normal(size=(K, D)) * 10.0
key = rng.integers(1, 2**63, size=N, dtype=np.int64).astype(np.uint64)
key_lo = rng.integers(1, 2**63, size=N, dtype=np.int64).astype(np.uint64)
slot = (key & np.uint64(S - 1)).astype(np.int64)
order = np.lexsort((key_lo, key, slot))
key, key_lo, slot = key[order], key_lo[order], slot[order]
seg1 = rng.integers(0, K, size=N)
seg2 = seg1.copy()
moved = rng.choice(N, size=N // 20, replace=False)
seg2[moved] = (seg1[moved] + rng.integers(1, K, size=len(moved))) % K

def write(path, seg, noise_seed):
    r = np.random.default_rng(noise_seed)
    raw = centres[seg] + r.normal(size=(N, D)) * 0.5 + 50.0
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    with h5py.File(path, "w") as f:
        for a, v in (("format", "precis/1"), ("job", "rfm"), ("version", "test"), ("params", "{}"), ("run_id", path),
                     ("inputs", "[]"), ("key_fingerprint", "00112233aabbccdd"), ("created_utc", "2026-01-01T00:00:00Z")):
            f.attrs[a] = v
        f.attrs["complete"] = np.int64(1)
        f["customers/customer_key"] = key
        f["customers/customer_key_lo"] = key_lo
        f["customers/slot_offsets"] = np.searchsorted(slot, np.arange(S + 1)).astype(np.int64)
        f["customers"].attrs["slots"] = np.int64(S)
        f["features/X"] = (raw - mean) / std
        f["features/X"].attrs["columns"] = "a,b,c"
        f["features/X"].attrs["transform"] = "none,none,none"
        f["features/X"].attrs["row_keys"] = "/customers"
        f["features/scaler_mean"] = mean
        f["features/scaler_std"] = std

write(d + "/q1.h5", seg1, 1)
write(d + "/q2.h5", seg2, 2)
np.savez(d + "/truth.npz", seg1=seg1, seg2=seg2)
