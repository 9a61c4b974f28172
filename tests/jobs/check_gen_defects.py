#!/usr/bin/env python3
"""check_gen_defects.py DIR T_CSV_OUTPUT_DIR - compare precis-gen's recorded
defects (truth.h5 /defects) with what independent readers find in the CSV:

* rows with broken structure (field_count, bad_quote, bad_utf8) must equal
  the records the Precis CSV reader flags with those statuses (t_csv output);
* exact duplicate rows must equal the surplus of identical lines;
* required/optional empty fields (empty, or a placeholder NULL, \\N, N/A,
  #N/A) and NaN/Inf must be found by Python's csv module exactly as often
  as recorded.
Exit 0 when every count matches."""
import collections, csv, glob, os, sys
import h5py

d, tcsv = sys.argv[1], sys.argv[2]
t = h5py.File(os.path.join(d, "truth.h5"), "r")
rec = collections.Counter()
for tab, kind, fld, cnt in zip(t["defects/table"][:], t["defects/kind"][:], t["defects/field"][:], t["defects/count"][:]):
    rec[(tab.decode(), kind.decode(), int(fld))] += int(cnt)
def recorded(tab, kind, fld=None):
    return sum(v for (a, b, f), v in rec.items() if a == tab and b == kind and (fld is None or f == fld))

ok = True
def check(what, got, want):
    global ok
    flag = "ok  " if got == want else "FAIL"
    ok &= got == want
    print("  %s %s: found %d, recorded %d" % (flag, what, got, want))

NA = ("", "NULL", "\\N", "N/A", "#N/A")
rows_total = dict(zip([n.decode() for n in t["tables/name"][:]], [int(x) for x in t["tables/rows"][:]]))
for tab in ("customers", "transactions", "touchpoints", "experiments", "spend"):
    flagged = collections.Counter()
    n = 0
    for line in open(os.path.join(tcsv, tab + ".out"), encoding="utf-8", errors="surrogateescape"):
        n += 1
        flagged[line.split("\t")[1]] += 1
    check("%s rows read" % tab, n, rows_total[tab])
    check("%s field_count" % tab, flagged["field_count"], recorded(tab, "field_count"))
    check("%s bad_quote" % tab, flagged["bad_quote"], recorded(tab, "bad_quote"))
    check("%s bad_utf8" % tab, flagged["bad_utf8"], recorded(tab, "bad_utf8"))
    lines = collections.Counter()
    for p in sorted(glob.glob(os.path.join(d, tab + "-part-*.csv"))):
        with open(p, "rb") as f:
            next(f)
            # rows whose customer id is missing are rejected before dedup, and
            # may coincide (e.g. experiments rows): leave them out
            lines.update(l for l in f if l.split(b",")[0].decode("utf-8", "replace") not in NA)
    check("%s exact duplicates" % tab, sum(c - 1 for c in lines.values()), recorded(tab, "dup_exact"))

# empty fields and NaN/Inf with Python's csv module, on structurally good rows only
hdr = {"transactions": ["order_id", "customer_id", "item_id", "category", "quantity", "unit_price", "amount", "ts", "channel", "campaign_id"],
       "customers": ["customer_id", "name", "phone", "email", "gender", "birth_date", "city", "signup_ts"]}
for tab, cols in hdr.items():
    empty = collections.Counter()
    nonfinite = 0
    for p in sorted(glob.glob(os.path.join(d, tab + "-part-*.csv"))):
        with open(p, encoding="utf-8", errors="surrogateescape", newline="") as f:
            for row in csv.DictReader(f):
                if None in row or len(row) != len(cols) or any(v is None for v in row.values()):
                    continue
                for i, c in enumerate(cols):
                    if row[c] in NA:
                        empty[i] += 1
                if tab == "transactions" and row["amount"].lower().lstrip("-") in ("nan", "inf", "infinity"):
                    nonfinite += 1
    for i, c in enumerate(cols):
        want = recorded(tab, "missing_optional", i) + recorded(tab, "missing_required", i)
        if want or empty[i]:
            check("%s empty %s" % (tab, c), empty[i], want)
    if tab == "transactions":
        check("transactions NaN/Inf amounts", nonfinite, recorded(tab, "nan_inf"))
sys.exit(0 if ok else 1)
