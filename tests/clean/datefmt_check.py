#!/usr/bin/env python3
"""datefmt_check.py make DIR | check PATTERN ZONE CSV CLEAN_H5 QUARANTINE_CSV

make: DIR/p<i>.csv, an orders-only export per pattern of PATTERNS, whose ts
column holds random date-times of 1901-2099 written in that pattern (month,
day and hour without their leading zero now and then, names in any case),
plus values that do not fit it. Row i has amount i + 1.

check: the rows Python's datetime.strptime refuses are exactly the
quarantined ones (invalid_date, by line), and every kept row's ts equals
strptime's reading, localised in ZONE with fold=0 when the pattern has no
%z."""
import csv, random, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
import h5py, numpy as np

PATTERNS = [("%m/%d/%Y %I:%M %p", "America/Chicago"), ("%d.%m.%Y %H:%M:%S", "Europe/Berlin"),
            ("%d %b %Y %H:%M", "UTC"), ("%a, %d %b %Y %H:%M:%S %z", "Asia/Kolkata"),
            ("%Y%m%d%H%M%S", "+05:30"), ("%d/%m/%y", "Australia/Lord_Howe"), ("%m/%d/%Y", "UTC"), ("%B %d, %Y %H:%M:%S.%f", "America/New_York")]
BAD = ["13/01/2024 01:00 PM", "02/29/2023 10:00 AM", "1/1/2024 13:00 PM", "1/1/2024 10:00", "1/1/2024 10:00 AM x",
       "31.04.2024 10:00:00", "1.1.2024 24:00:00", "32 Jan 2024 10:00", "05 Foo 2024 10:00", "Mon, 05 Mar 2024 10:00:00 +2400",
       "2024010112", "29/02/23", "12/ 0/2024", "12/  3/2024", "12/ 32/2024", "March 5 2024 10:00:00.1", "1/1/2024 10:00 AM\t", "x"]

def unpad(s, rnd):
    # drop one leading zero of a one-or-two-digit field now and then: "03/04" -> "3/04"
    if rnd.random() < 0.5 and len(s) > 1 and s[0] == "0" and s[1].isdigit():
        return s[1:]
    return s

def render(fmt, dt, rnd):
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i + 1]
            v = dt.strftime("%" + d)
            if d in "mdHIMS":
                v = unpad(v, rnd)
            if d == "d" and len(v) == 2 and v[0] == "0" and rnd.random() < 0.3:
                v = " " + v[1]   # strptime's %d takes a space-padded day too
            if d in "bBaAp":
                v = rnd.choice([v, v.upper(), v.lower()])
            if d == "f":
                v = v[: rnd.randint(1, 6)]
            if d == "z":
                v = rnd.choice(["+0530", "-08:00", "Z", "+0000", "+14:00"])
            out.append(v)
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)

def make(d):
    rnd = random.Random(5)
    for p, (fmt, _) in enumerate(PATTERNS):
        with open("%s/p%d.csv" % (d, p), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["customer_id", "ts", "quantity", "amount"])
            vals = [render(fmt, datetime(1901, 1, 2) + timedelta(seconds=rnd.randrange(6200000000), microseconds=rnd.randrange(10**6)), rnd)
                    for _ in range(1500)] + BAD
            for i, v in enumerate(vals):
                w.writerow(["c%d" % (i % 97), v, 1, i + 1])

def expect(fmt, zone, v):
    try:
        dt = datetime.strptime(v.strip(" \t"), fmt)  # precis-clean trims every field's spaces and tabs
    except ValueError:
        return None
    if dt.tzinfo is None:
        if zone == "UTC" or zone[0] in "+-":
            off = 0 if zone == "UTC" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
            dt = dt.replace(tzinfo=timezone(timedelta(seconds=off)))
        else:
            dt = dt.replace(tzinfo=ZoneInfo(zone), fold=0)
    return int(dt.replace(microsecond=0).timestamp())

def check(fmt, zone, path, h5, quar):
    rows = list(csv.reader(open(path, newline="")))[1:]
    want = [expect(fmt, zone, r[1]) for r in rows]
    q = list(csv.DictReader(open(quar, newline="")))
    qlines = sorted(int(r["line"]) for r in q)
    assert all(r["reason"] == "invalid_date" for r in q), set(r["reason"] for r in q)
    refused = [i + 2 for i, w in enumerate(want) if w is None]
    assert qlines == refused, "quarantined lines %s, strptime refuses %s" % (qlines[:10], refused[:10])
    f = h5py.File(h5, "r")
    amt = f["transactions/amount"][:].astype(np.int64) - 1
    ts = f["transactions/ts"][:]
    for a, t in zip(amt, ts):
        assert want[a] == t, "%r: got %d, strptime %d" % (rows[a][1], t, want[a])
    assert len(amt) + len(refused) == len(rows)
    print("%s in %s: %d values equal strptime's, the %d it refuses quarantined" % (fmt, zone, len(amt), len(refused)))

if sys.argv[1] == "make":
    make(sys.argv[2])
elif sys.argv[1] == "patterns":
    for fmt, zone in PATTERNS:
        print("%s\t%s" % (fmt, zone))
else:
    check(*sys.argv[2:7])
