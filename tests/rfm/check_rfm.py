#!/usr/bin/env python3
"""check_rfm.py CLEAN_H5 FEATURES_H5 - every /rfm, /clv_summary, /behaviour
and /features value of precis-rfm against an independent pandas computation
from the same clean.h5 (tolerance 1e-9). Exit 0 when all match."""
import sys
import h5py, numpy as np, pandas as pd

c, f = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
t = c["transactions"]
tzs = c.attrs["tz"]
tzs = tzs.decode() if isinstance(tzs, bytes) else tzs
named = tzs not in ("UTC", "Z", "utc") and tzs[0] not in "+-"
tz = 0 if tzs in ("UTC", "Z", "utc") or named else (1 if tzs[0] == "+" else -1) * (int(tzs[1:3]) * 3600 + int(tzs[4:6]) * 60)
df = pd.DataFrame({"key": t["customer_key"][:], "lo": t["customer_key_lo"][:], "ts": t["ts"][:],
                   "amount": t["amount"][:], "flags": t["flags"][:], "item": t["item"][:],
                   "cat": t["category"][:], "chan": t["channel"][:]})
has_order = "order_key" in t
if has_order:
    df["order"] = t["order_key"][:]
if named:  # a zone name: the calendar day of each instant in it, by pandas' own zone handling
    local = pd.to_datetime(df.ts, unit="s", utc=True).dt.tz_convert(tzs).dt.tz_localize(None)
    df["day"] = (local - pd.Timestamp("1970-01-01")).dt.days.astype("int64")
else:
    df["day"] = (df.ts + tz) // 86400
df["refund"] = (df["flags"] & 4) > 0
as_of = int(f.attrs["as_of_day"])
cal_end = int(f.attrs["calibration_end_day"])
win = int(f.attrs["window_days"])
if win > 0:
    df = df[df.day >= as_of - win]
df = df[df.day < as_of]
p = df[~df.refund]
g = p.groupby(["key", "lo"])
ref = pd.DataFrame({"frequency": g["order"].nunique() if has_order else g.size(),
                    "last_day": g.day.max(), "first_day": g.day.min(),
                    "first_ts": g.ts.min(), "last_ts": g.ts.max(),
                    "ndays": g.day.nunique(), "items": g.item.nunique(), "purch": g.amount.sum()})
ref["monetary_total"] = df.groupby(["key", "lo"]).amount.sum().reindex(ref.index)
ref["recency_days"] = as_of - ref.last_day
ref["tenure_days"] = as_of - ref.first_day
ref["monetary_avg"] = ref.monetary_total / ref.frequency
ref["avg_gap_days"] = np.where(ref.ndays >= 2, (ref.last_day - ref.first_day) / (ref.ndays - 1).clip(lower=1), 0.0)
cal = p[p.day < cal_end].groupby(["key", "lo", "day"]).amount.sum().reset_index()
cg = cal.groupby(["key", "lo"])
first_day = cg.day.transform("min")
rep = cal[cal.day != first_day].groupby(["key", "lo"]).amount.mean()
clv = pd.DataFrame({"frequency": cg.day.nunique() - 1, "recency": cg.day.max() - cg.day.min(), "T": cal_end - cg.day.min()})
clv["monetary_value"] = rep.reindex(clv.index).fillna(0.0)
clv = clv.reindex(ref.index)

out = pd.DataFrame({"key": f["customers/customer_key"][:], "lo": f["customers/customer_key_lo"][:]}).set_index(["key", "lo"])
bad = 0
def same(name, got, want):
    global bad
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=1e-9, equal_nan=True)
    if not ok:
        bad += 1
        i = np.argmax(~np.isclose(got, want, rtol=1e-12, atol=1e-9, equal_nan=True)) if got.shape == want.shape else 0
        print("  FAIL %s: e.g. row %d got %r want %r" % (name, i, got[i] if got.size else None, want[i] if want.size else None))
    else:
        print("  ok   %s (%d customers)" % (name, got.size))
r = ref.reindex(out.index)
assert len(out) == len(ref), (len(out), len(ref))
for col in ["recency_days", "frequency", "monetary_total", "monetary_avg", "tenure_days", "first_ts", "last_ts"]:
    same("/rfm/" + col, f["rfm/" + col][:], r[col])
cl = clv.reindex(out.index)
for col in ["frequency", "recency", "T", "monetary_value"]:
    same("/clv_summary/" + col, f["clv_summary/" + col][:], cl[col])
if "holdout_frequency" in f["clv_summary"]:
    hold = p[p.day >= cal_end].groupby(["key", "lo"]).day.nunique().reindex(out.index).fillna(0)
    same("/clv_summary/holdout_frequency", f["clv_summary/holdout_frequency"][:], hold)
else:
    assert cal_end >= as_of
same("/behaviour/avg_gap_days", f["behaviour/avg_gap_days"][:], r.avg_gap_days)
same("/behaviour/distinct_items", f["behaviour/distinct_items"][:], r["items"])
# channel shares
chs = p.groupby(["key", "lo", "chan"]).amount.sum().unstack(fill_value=0.0)
nch = f["behaviour/channel_share"].shape[1]
chs = chs.reindex(columns=range(nch), fill_value=0.0).reindex(out.index)
purch = r.purch.to_numpy()[:, None]
same("/behaviour/channel_share", f["behaviour/channel_share"][:], np.where(purch != 0, chs.to_numpy() / np.where(purch != 0, purch, 1), 0))
# NTILE scores: sort by (value, key, lo); recency descending
def ntile(values):
    o = pd.DataFrame({"v": values, "k": out.index.get_level_values(0).astype(np.uint64), "l": out.index.get_level_values(1).astype(np.uint64)})
    order = np.lexsort((o.l.to_numpy(), o.k.to_numpy(), o.v.to_numpy()))
    s = np.empty(len(o), dtype=np.int64)
    s[order] = 1 + (5 * np.arange(len(o))) // len(o)
    return s
# The scores rank the job's own values (checked above against pandas to
# 1e-9): pandas' sums may differ in the last bit, which can reorder near-ties.
same("/rfm/score_r", f["rfm/score_r"][:], ntile(-f["rfm/recency_days"][:]))
same("/rfm/score_f", f["rfm/score_f"][:], ntile(f["rfm/frequency"][:]))
same("/rfm/score_m", f["rfm/score_m"][:], ntile(f["rfm/monetary_total"][:]))
# features: default recency_days, log1p(frequency), log1p(monetary_total clipped at 0), z-scored (ddof 0)
X = np.column_stack([r.recency_days.to_numpy(float), np.log1p(r.frequency.to_numpy(float)), np.log1p(r.monetary_total.clip(lower=0).to_numpy(float))])
mu, sd = X.mean(axis=0), X.std(axis=0)
same("/features/scaler_mean", f["features/scaler_mean"][:], mu)
same("/features/scaler_std", f["features/scaler_std"][:], sd)
same("/features/X", f["features/X"][:], (X - mu) / np.where(sd > 0, sd, 1))
sys.exit(1 if bad else 0)
