#!/usr/bin/env python3
"""thousands_check.py make CSV THOU DEC DELIM | check CSV THOU DEC DELIM CLEAN_H5 QUALITY_JSON

make: an orders-only export whose amounts are written with thousands marks
THOU and decimal mark DEC (groups of three, and India's twos then a three),
plus amounts whose marks do not group a number (1,5; 12,3456; a mark in the
fraction). Row i has quantity i + 1.

check: every well-grouped amount equals Python's float() of the text with
its marks removed and the decimal mark made '.', and exactly the others are
rejected as invalid_number."""
import csv, json, random, sys
import h5py, numpy as np

def group(intpart, thou, indian):
    s = str(intpart)
    if len(s) <= 3:
        return s
    head, last = s[:-3], s[-3:]
    step = 2 if indian else 3
    parts = []
    while len(head) > step:
        parts.insert(0, head[-step:])
        head = head[:-step]
    return thou.join([head] + parts + [last])

def values(thou, dec):
    rnd = random.Random(9)
    good = []
    for _ in range(2000):
        n = rnd.randrange(10 ** rnd.randint(1, 11))
        frac = "%02d" % rnd.randrange(100)
        sign = rnd.choice(["", "", "-"])
        g = group(n, thou, rnd.random() < 0.3)
        if thou == " ":  # French-locale exports: no-break spaces (U+00A0, U+202F) as well
            g = "".join(rnd.choice(SPACES) if ch == " " else ch for ch in g)
        good.append(sign + g + (dec + frac if rnd.random() < 0.8 else ""))
    bad = ["1%s5" % thou, "12%s3456%s00" % (thou, dec), "%s123" % thou, "123%s" % thou, "1%s%s234" % (thou, thou),
           "1%s234%s5%s6" % (thou, dec, thou), "1234%s567" % thou, "12%s34%s567%s890" % (thou, thou, thou), "1%s23" % thou]
    if thou == " ":  # a field's spaces at either end are trimmed, as every field's are: " 123" is 123
        bad = [v for v in bad if v.strip(" ") == v]
        bad += [v.replace(" ", s) for s in SPACES[1:] for v in bad] + ["\u00a01 234", "1\u00a0\u202f234", "1 234,5\u00a06"]
    return good, bad

SPACES = [" ", "\u00a0", "\u202f"]

def ref(v, thou, dec):
    for m in SPACES if thou == " " else [thou]:
        v = v.replace(m, "")
    return float(v.replace(dec, "."))

thou_arg = lambda t: " " if t == "space" else t

if sys.argv[1] == "make":
    path, thou, dec, delim = sys.argv[2], thou_arg(sys.argv[3]), sys.argv[4], sys.argv[5]
    good, bad = values(thou, dec)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delim)
        w.writerow(["customer_id", "ts", "quantity", "amount"])
        for i, v in enumerate(good + bad):
            w.writerow(["c%d" % (i % 50), "2024-01-01", i + 1, v])
else:
    path, thou, dec, delim, h5, qj = sys.argv[2], thou_arg(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
    good, bad = values(thou, dec)
    f = h5py.File(h5, "r")
    q = f["transactions/quantity"][:].astype(np.int64) - 1
    a = f["transactions/amount"][:]
    assert sorted(q.tolist()) == list(range(len(good))), "kept rows are not exactly the well-grouped ones"
    for i, x in zip(q, a):
        assert x == ref(good[i], thou, dec), (good[i], x, ref(good[i], thou, dec))
    rj = json.load(open(qj))["tables"]["transactions"]["rejected_by_reason"]
    assert rj == {"invalid_number": len(bad)}, rj
    print("--thousands '%s' --decimal '%s': %d amounts equal float(), %d badly grouped ones rejected" % (thou, dec, len(good), len(bad)))
