#!/usr/bin/env python3
"""check_dupes.py make DIR | check DIR QUALITY_JSON [first|last CLEAN_H5 KEY] - duplicates that differ
from the row kept, against a reference written here in plain Python.

`make` writes transactions.csv (order ids; one customer with 70 orders,
past precis-clean's small-group limit of 48 rows, and 20 with 3-10) and
customers.csv. Some rows are written again as they are, some again with a
change (another amount or item; for customers another city). A changed
copy may carry an earlier ts than the original, so that it is the row
kept. `check` computes, by the rules of jobs/clean/README.md (transactions:
per customer and order id the first by (ts, input position) is kept;
customers: per id the first in the input), how many rows are duplicates
and how many of those differ from the row kept, and compares them with
quality.json's rows_duplicate and rows_duplicate_differing. Given first or
last (--customers-keep), a clean.h5 and the key file, it also checks that
every customer's city in clean.h5 is the kept row's (keys by Python's
hmac)."""
import csv, hashlib, hmac, json, random, sys

def make(d):
    rnd = random.Random(7)
    rows = []
    custs = [("big", 70)] + [("s%d" % i, rnd.randint(3, 10)) for i in range(20)]
    for cid, n in custs:
        for j in range(n):
            rows.append(["O-%s-%d" % (cid, j), cid, "SKU%d" % rnd.randint(1, 9), str(rnd.randint(1, 3)),
                         "%.2f" % rnd.uniform(1, 99), "2024-03-%02dT%02d:00:00Z" % (rnd.randint(1, 28), rnd.randint(0, 23))])
    extra = []
    for r in rows:
        x = rnd.random()
        if x < 0.12:
            extra.append(list(r))                      # the same row again
        elif x < 0.24:
            c = list(r)
            if rnd.random() < 0.5:
                c[4] = "%.2f" % (float(c[4]) + 1)      # another amount
            else:
                c[2] = c[2] + "X"                      # another item
            if rnd.random() < 0.4:                     # earlier: the copy is kept
                c[5] = c[5][:11] + "%02d" % max(0, int(c[5][11:13]) - 1) + c[5][13:] if c[5][11:13] != "00" else c[5]
            extra.append(c)
    allrows = rows + extra
    rnd.shuffle(allrows)
    with open(d + "/transactions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order_id", "customer_id", "item_id", "quantity", "amount", "ts"])
        w.writerows(allrows)
    cities = ["Lyon", "Paris", "Nice"]
    crow = []
    for cid, _ in custs:
        r = [cid, rnd.choice(cities), rnd.choice("FM")]
        crow.append(r)
        x = rnd.random()
        if x < 0.3:
            crow.append(list(r))
        elif x < 0.6:
            crow.append([cid, cities[(cities.index(r[1]) + 1) % 3], r[2]])
    rnd.shuffle(crow)
    with open(d + "/customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "city", "gender"])
        w.writerows(crow)

def reference(path, key, order):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    groups = {}
    for pos, r in enumerate(rows):
        groups.setdefault(key(r), []).append((order(r, pos), r))
    dup = differ = 0
    for g in groups.values():
        g.sort(key=lambda t: t[0])
        kept = g[0][1]
        dup += len(g) - 1
        differ += sum(1 for _, r in g[1:] if r != kept)
    return dup, differ

if sys.argv[1] == "make":
    make(sys.argv[2])
    sys.exit(0)
d, q = sys.argv[2], json.load(open(sys.argv[3]))["tables"]
last = len(sys.argv) > 4 and sys.argv[4] == "last"
want = {"transactions": reference(d + "/transactions.csv", lambda r: (r[1], r[0]), lambda r, pos: (r[5], pos)),
        "customers": reference(d + "/customers.csv", lambda r: r[0], lambda r, pos: -pos if last else pos)}
ok = True
for tab, (dup, differ) in want.items():
    got = (q[tab]["rows_duplicate"], q[tab]["rows_duplicate_differing"])
    print("%s %s: duplicates %d, differing %d; reference %d, %d" % ("ok  " if got == (dup, differ) else "FAIL", tab, got[0], got[1], dup, differ))
    ok &= got == (dup, differ) and differ > 0 and dup > differ
if len(sys.argv) > 6:
    import h5py
    key = open(sys.argv[6], "rb").read()
    with open(d + "/customers.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    kept = {}
    for r in (reversed(rows) if not last else rows):   # the kept row is written last into kept
        kept[r[0]] = r[1]
    with h5py.File(sys.argv[5], "r") as h:
        c = h["customers"]
        names = [x.decode() for x in h["dict/city"][:]]
        got = {(int(a), int(b)): names[k] for a, b, k in zip(c["customer_key"][:], c["customer_key_lo"][:], c["city"][:])}
    bad = 0
    for cid, city in kept.items():
        hm = hmac.new(key, cid.encode(), hashlib.sha256).digest()
        bad += got.get((int.from_bytes(hm[:8], "big"), int.from_bytes(hm[8:16], "big"))) != city
    print("%s customers: %d of %d cities are not the %s row's" % ("ok  " if bad == 0 else "FAIL", bad, len(kept), "last" if last else "first"))
    ok &= bad == 0
sys.exit(0 if ok else 1)
