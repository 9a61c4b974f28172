#!/usr/bin/env python3
"""als_data.py OUT.h5 USERS ITEMS MEAN_ITEMS SEED - synthetic interactions for
bench_als.sh in the clean.h5 layout precis-als reads: planted low-rank tastes
(8 taste clusters in 4 latent dimensions, P(item) ~ exp(12 cos(u, v))),
users' keys random, rows sorted by (slot, key, key_lo, ts) with slot_offsets."""
import sys
import h5py
import numpy as np

out, U, I, mean, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
S = 16384
rng = np.random.default_rng(seed)
V = rng.normal(size=(I, 4)); V /= np.linalg.norm(V, axis=1, keepdims=True)
T = rng.normal(size=(8, 4)); T /= np.linalg.norm(T, axis=1, keepdims=True)
cl = rng.integers(0, 8, size=U)
n = 1 + rng.poisson(mean - 1, size=U)
rows_u = np.repeat(np.arange(U), n)
items = np.empty(len(rows_u), dtype=np.int32)
for k in range(8):
    w = np.exp(12 * (V @ T[k])); w /= w.sum()
    m = cl[rows_u] == k
    items[m] = rng.choice(I, size=int(m.sum()), p=w)
key = rng.integers(0, 2**63, size=U, dtype=np.int64).astype(np.uint64) * np.uint64(2) + rng.integers(0, 2, size=U).astype(np.uint64)
key_lo = rng.integers(0, 2**63, size=U, dtype=np.int64).astype(np.uint64)
ts = 1_700_000_000 + rng.integers(0, 365 * 86400, size=len(rows_u))
k, kl = key[rows_u], key_lo[rows_u]
slot = (k & np.uint64(S - 1)).astype(np.int64)
order = np.lexsort((ts, kl, k, slot))
with h5py.File(out, "w") as f:
    t = f.create_group("transactions")
    t["customer_key"] = k[order]
    t["customer_key_lo"] = kl[order]
    t["item"] = items[order]
    t["quantity"] = np.ones(len(order))
    t["amount"] = np.full(len(order), 10.0)
    t["ts"] = ts[order].astype(np.int64)
    t["flags"] = np.zeros(len(order), dtype=np.uint8)
    t["slot_offsets"] = np.searchsorted(slot[order], np.arange(S + 1)).astype(np.int64)
    t.attrs["slots"] = S
    f["dict/item"] = np.array([b"SKU%07d" % j for j in range(I)])
    for a, v in (("format", "precis/1"), ("job", "clean"), ("version", "bench"), ("params", "{}"), ("run_id", "bench"),
                 ("inputs", "[]"), ("key_fingerprint", "bench0000000000"), ("created_utc", "2026-01-01T00:00:00Z"), ("tz", "UTC")):
        f.attrs[a] = v
    f.attrs["slots"] = np.int64(S)
    f.attrs["complete"] = np.int64(1)
print("%d users, %d items, %d rows" % (U, I, len(order)))
