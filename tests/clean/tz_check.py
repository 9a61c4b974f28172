#!/usr/bin/env python3
"""tz_check.py make CSV | check ZONE CSV CLEAN_H5 QUALITY_JSON

make: an orders-only export whose ts column holds local wall times (random
ones over 1900-2099, and ones at, just before, inside and just after the
clock changes of Europe/Berlin, America/Sao_Paulo, Australia/Lord_Howe and
America/New_York, as date-times and as dates), plus some with an explicit
offset. Row i has amount i, so its ts can be found after the sort.

check: every ts in clean.h5 equals Python's zoneinfo reading of the wall
time with fold=0 (PEP 495: a repeated time is its first instant, a skipped
one is read with the offset from before the change), explicit offsets are
kept as written, and quality.json's tz_nonexistent and tz_ambiguous for
transactions.ts equal the counts of skipped and repeated wall times."""
import json, random, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
import zoneinfo._zoneinfo as pz
import h5py, numpy as np

ZONES = ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "America/New_York"]
LO, HI = datetime(1900, 1, 2), datetime(2099, 12, 30)

def make(path):
    rnd = random.Random(3)
    vals = []
    for _ in range(3000):
        w = LO + timedelta(seconds=rnd.randrange(int((HI - LO).total_seconds())))
        vals.append(w.strftime("%Y-%m-%d" + rnd.choice([" ", "T"]) + "%H:%M:%S"))
    for z in ZONES:
        zi, zu = ZoneInfo(z), pz.ZoneInfo.no_cache(z)
        trans = [t for t in zu._trans_utc if -2208988800 + 86400 < t < 4102444800 - 86400]
        # the zone's rule after its list (2037 on), every 7th year
        trans += [t for y in range(2040, 2100, 7) for t in range(int(datetime(y, 1, 1, tzinfo=timezone.utc).timestamp()),
                  int(datetime(y + 1, 1, 1, tzinfo=timezone.utc).timestamp()), 3600)
                  if zi.utcoffset(datetime.fromtimestamp(t - 1, timezone.utc).replace(tzinfo=None)) is not None and
                  datetime.fromtimestamp(t - 1, zi).utcoffset() != datetime.fromtimestamp(t, zi).utcoffset()]
        for t in rnd.sample(trans, min(60, len(trans))):
            o1 = datetime.fromtimestamp(t - 1, zi).utcoffset().total_seconds()
            o2 = datetime.fromtimestamp(t, zi).utcoffset().total_seconds()
            for d in (o1 - 1, o1, (o1 + o2) / 2, o2 - 1, o2, o2 + 1):
                w = datetime(1970, 1, 1) + timedelta(seconds=t + int(d))
                vals.append(w.strftime("%Y-%m-%d %H:%M:%S"))
            vals.append((datetime(1970, 1, 1) + timedelta(seconds=t + int(o1))).strftime("%Y-%m-%d"))
    vals += ["2018-11-04", "2018-11-04 00:30:00", "2024-03-31T02:30:00+05:30", "2024-10-27T02:30:00Z", "1950-06-01 12:00:00-04:00"]
    with open(path, "w") as f:
        f.write("customer_id,ts,quantity,amount\n")
        for i, v in enumerate(vals):
            f.write("c%d,%s,1,%d\n" % (i, v, i + 1))

def expect(z, v):
    """(UTC seconds, 'gap' | 'fold' | '') of value v in zone z"""
    if len(v) > 19:
        return int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()), ""
    w = datetime.fromisoformat(v) if len(v) > 10 else datetime.fromisoformat(v + " 00:00:00")
    zi = ZoneInfo(z)
    a, b = w.replace(tzinfo=zi, fold=0), w.replace(tzinfo=zi, fold=1)
    ts = int(a.timestamp())
    back = datetime.fromtimestamp(ts, zi).replace(tzinfo=None)
    kind = "gap" if back != w else "fold" if a.utcoffset() != b.utcoffset() else ""
    return ts, kind

def check(z, csv, h5, qj):
    rows = [l.rstrip("\n").split(",") for l in open(csv)][1:]
    want = np.zeros(len(rows), dtype=np.int64)
    kinds = {"gap": 0, "fold": 0, "": 0}
    for i, r in enumerate(rows):
        want[i], k = expect(z, r[1])
        kinds[k] += 1
    f = h5py.File(h5, "r")
    amt = f["transactions/amount"][:].astype(np.int64) - 1
    got = np.zeros(len(rows), dtype=np.int64)
    got[amt] = f["transactions/ts"][:]
    assert len(amt) == len(rows) and np.array_equal(np.sort(amt), np.arange(len(rows))), "rows lost or repeated"
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, "%d ts differ, e.g. %s: got %d want %d" % (bad.size, rows[bad[0]][1], got[bad[0]], want[bad[0]])
    tzattr = f.attrs["tz"]
    assert (tzattr.decode() if isinstance(tzattr, bytes) else tzattr) == z
    q = json.load(open(qj))
    col = q["tables"]["transactions"]["columns"]["ts"]
    assert col["tz_nonexistent"] == kinds["gap"] and col["tz_ambiguous"] == kinds["fold"], (col, kinds)
    assert q["tz"] == z
    if z != "UTC":
        assert "tzdata" in f.attrs and q["tzdata"] == (f.attrs["tzdata"].decode() if isinstance(f.attrs["tzdata"], bytes) else f.attrs["tzdata"])
    print("%s: %d ts equal zoneinfo's; %d skipped and %d repeated wall times counted" % (z, len(rows), kinds["gap"], kinds["fold"]))

if sys.argv[1] == "make":
    make(sys.argv[2])
else:
    check(*sys.argv[2:6])
