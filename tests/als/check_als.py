#!/usr/bin/env python3
"""check_als.py clean.h5 recs.h5 ALPHA LAMBDA HOLDOUT [chol] [excl] [log] [regcount] [value=quantity|amount|count]
Independent numpy/pandas checks of a precis-als run (linear confidence,
--value quantity, float64 factors):
  - the interactions (aggregated with pandas, net value > 0, holdout none or last:1);
  - the loss of the final factors equals /history/loss[-1] (1e-9 relative);
  - chol: the item factors are the dense numpy solve of the item normal
    equations given the user factors (one Cholesky half-iteration, 1e-8);
  - the top-10 lists and scores equal a brute-force ranking of X Y';
  - with last:1, precision/recall/NDCG/MAP@10 of ALS and of the popularity
    baseline equal a recomputation."""
import sys
import h5py
import numpy as np
import pandas as pd

clean, recs, alpha, lam, holdout = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
chol = "chol" in sys.argv[6:]
excl_flag = "excl" in sys.argv[6:]
logc = "log" in sys.argv[6:]            # --confidence log (eps 1)
regcount = "regcount" in sys.argv[6:]   # --reg-scale count
value = ([a[6:] for a in sys.argv[6:] if a.startswith("value=")] or ["quantity"])[0]
conf = (lambda v: 1 + alpha * np.log1p(v)) if logc else (lambda v: 1 + alpha * v)
c, r = h5py.File(clean, "r"), h5py.File(recs, "r")
t = c["transactions"]
v = {"quantity": t["quantity"][:], "amount": t["amount"][:],
     "count": np.where(t["flags"][:] & 4, -1.0, 1.0)}[value]
df = pd.DataFrame({"k": t["customer_key"][:], "kl": t["customer_key_lo"][:], "item": t["item"][:], "v": v, "ts": t["ts"][:]})
agg = df.groupby(["k", "kl", "item"], sort=False).agg(v=("v", "sum"), ts=("ts", "max")).reset_index()
agg = agg[agg.v > 0]
users = pd.DataFrame({"k": r["users/customer_key"][:], "kl": r["users/customer_key_lo"][:]})
users["row"] = np.arange(len(users))
agg = agg.merge(users, on=["k", "kl"], how="left")
assert agg.row.notna().all(), "a user of clean.h5 is missing from recs.h5"
held = pd.DataFrame(columns=agg.columns)
if holdout == "last:1":
    agg = agg.sort_values(["row", "ts", "item"], ascending=[True, False, True])
    first = ~agg.row.duplicated()
    many = agg.groupby("row").item.transform("size") > 1
    held = agg[first & many]
    agg = agg[~(first & many)]
X = r["user_factors"][:].astype(np.float64)
Y = r["item_factors"][:].astype(np.float64)
NU, NI = X.shape[0], Y.shape[0]
assert NI == len(c["dict/item"]), (NI, len(c["dict/item"]))
ok = True
def report(name, good, detail=""):
    global ok
    print(("  ok   " if good else "  FAIL ") + name + (" " + detail if detail else ""))
    ok = ok and good

# loss over the whole matrix
rows, cols, vals = agg.row.to_numpy().astype(int), agg.item.to_numpy().astype(int), agg.v.to_numpy()
S = X @ Y.T
C = np.ones((NU, NI)); P = np.zeros((NU, NI))
C[rows, cols] = conf(vals)
P[rows, cols] = 1
nu_ = np.bincount(rows, minlength=NU) if regcount else np.ones(NU)
ni_ = np.bincount(cols, minlength=NI) if regcount else np.ones(NI)
loss = float((C * (P - S) ** 2).sum() + lam * ((nu_ * (X ** 2).sum(axis=1)).sum() + (ni_ * (Y ** 2).sum(axis=1)).sum()))
got = float(r["history/loss"][-1])
report("loss of the final factors", abs(loss - got) <= 1e-9 * abs(loss), "numpy %.12g precis %.12g" % (loss, got))

if chol:
    G = X.T @ X
    worst = 0.0
    by_item = agg.groupby("item")
    want = np.zeros_like(Y)
    for i, g in by_item:
        xu = X[g.row.to_numpy().astype(int)]
        cu = conf(g.v.to_numpy())
        A = G + (xu * (cu - 1)[:, None]).T @ xu + lam * ni_[i] * np.eye(X.shape[1])
        b = (xu * cu[:, None]).sum(axis=0)
        want[i] = np.linalg.solve(A, b)
    worst = float(np.abs(want - Y).max() / max(1.0, np.abs(want).max()))
    report("item half-iteration = dense numpy solve", worst <= 1e-8, "max rel diff %.3g" % worst)

# top-10 by brute force: score desc, code asc; training items excluded when a holdout is on
N = r["topn/items"].shape[1]
ti, ts_, cold = r["topn/items"][:], r["topn/scores"][:], r["topn/cold_start"][:]
excl = holdout != "none" or excl_flag
seen = {}
for u, i in zip(rows, cols):
    seen.setdefault(u, set()).add(i)
bad = 0
rng = np.random.default_rng(0)
sample = rng.choice(NU, size=min(NU, 400), replace=False)
for u in sample:
    if cold[u]:
        continue
    s = S[u].copy()
    order = sorted(range(NI), key=lambda j: (-s[j], j))
    if excl:
        order = [j for j in order if j not in seen.get(u, ())]
    if list(ti[u][: len(order[:N])]) != order[:N] or np.abs(ts_[u][: len(order[:N])] - s[order[:N]]).max() > 1e-9 * max(1, np.abs(s).max()):
        bad += 1
report("top-%d lists and scores of 400 users = brute force" % N, bad == 0, "%d differ" % bad)

if holdout == "last:1":
    pop = np.bincount(cols, minlength=NI)
    assert (pop == r["items/popularity"][:]).all()
    porder = sorted(range(NI), key=lambda j: (-pop[j], j))
    hsets = {}
    for u, i in zip(held.row.to_numpy().astype(int), held.item.to_numpy().astype(int)):
        hsets.setdefault(u, set()).add(i)
    def metrics(lst, h):
        hits, dcg, ap = 0, 0.0, 0.0
        for k, j in enumerate(lst):
            if j in h:
                hits += 1; dcg += 1 / np.log2(k + 2); ap += hits / (k + 1)
        ideal = min(len(h), N)
        idcg = sum(1 / np.log2(k + 2) for k in range(ideal))
        return np.array([hits / N, hits / len(h), dcg / idcg, ap / ideal])
    m_als, m_pop = np.zeros(4), np.zeros(4)
    for u, h in hsets.items():
        m_als += metrics([j for j in ti[u] if j >= 0], h)
        plist = [j for j in porder if j not in seen.get(u, ())][:N]
        m_pop += metrics(plist, h)
    m_als /= len(hsets); m_pop /= len(hsets)
    ga, gp = r["metrics/als"][:4], r["metrics/popularity"][:4]
    report("precision/recall/ndcg/map of ALS recomputed", np.allclose(m_als, ga, rtol=1e-12, atol=0), "%s vs %s" % (m_als, ga))
    report("... and of the popularity baseline", np.allclose(m_pop, gp, rtol=1e-12, atol=0), "%s vs %s" % (m_pop, gp))
    report("users evaluated", int(r["metrics/als"][6]) == len(hsets), "%d vs %d" % (r["metrics/als"][6], len(hsets)))
sys.exit(0 if ok else 1)
