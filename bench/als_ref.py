#!/usr/bin/env python3
"""als_ref.py IN.h5 ITERS FACTORS - the bench's reference: the same implicit
ALS with conjugate gradient (3 steps, warm-started; Hu et al. confidence
1 + alpha*v, alpha = 1, lambda = 0.01) written with numpy and scipy.sparse,
vectorised over blocks of users/items, in float32 like the `implicit`
library. Prints seconds per iteration (numpy's BLAS uses every core)."""
import sys
import time
import h5py
import numpy as np
import scipy.sparse as sp

path, iters, f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
alpha, lam, steps = 1.0, 0.01, 3
t = h5py.File(path, "r")["transactions"]
k, kl, item, q = t["customer_key"][:], t["customer_key_lo"][:], t["item"][:], t["quantity"][:]
uid = np.concatenate(([0], np.cumsum((k[1:] != k[:-1]) | (kl[1:] != kl[:-1]))))
NU, NI = int(uid[-1]) + 1, int(item.max()) + 1
V = sp.csr_matrix((q, (uid, item)), shape=(NU, NI), dtype=np.float64)
V.sum_duplicates()
V.data = np.where(V.data > 0, V.data, 0)
V.eliminate_zeros()
Cu = V.astype(np.float32); Cu.data = (alpha * Cu.data).astype(np.float32)   # c - 1
Ci = Cu.T.tocsr()
rng = np.random.default_rng(1)
X = (rng.standard_normal((NU, f)) * 0.1 / np.sqrt(f)).astype(np.float32)
Y = (rng.standard_normal((NI, f)) * 0.1 / np.sqrt(f)).astype(np.float32)

def half(C, X, Y, block=20000):
    """Solve every row of X against Y: (Y'Y + Y' (C_u - I) Y + lam I) x = Y' c_u."""
    G = (Y.T @ Y + lam * np.eye(f, dtype=np.float32)).astype(np.float32)
    for a in range(0, C.shape[0], block):
        S = C[a:a + block]
        rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
        cols, w = S.indices, S.data
        Yc = Y[cols]
        def Ap(P):
            t = np.einsum("ij,ij->i", Yc, P[rows]) * w
            return P @ G + sp.csr_matrix((t, cols, S.indptr), shape=S.shape) @ Y
        x = X[a:a + block]
        b = sp.csr_matrix((w + 1, cols, S.indptr), shape=S.shape) @ Y
        r = b - Ap(x); p = r.copy(); rs = np.einsum("ij,ij->i", r, r)
        for _ in range(steps):
            A = Ap(p)
            al = rs / np.maximum(np.einsum("ij,ij->i", p, A), 1e-30)
            x = x + al[:, None] * p; r = r - al[:, None] * A
            rn = np.einsum("ij,ij->i", r, r)
            p = r + (rn / np.maximum(rs, 1e-30))[:, None] * p; rs = rn
        X[a:a + block] = x

times = []
for it in range(iters):
    t0 = time.perf_counter()
    half(Cu, X, Y)
    half(Ci, Y, X)
    times.append(time.perf_counter() - t0)
print("reference: %d users, %d items, %d interactions; seconds per iteration: %s" % (NU, NI, Cu.nnz, " ".join("%.2f" % s for s in times)))
print("REF_SECONDS %.4f" % np.median(times))
