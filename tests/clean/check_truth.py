#!/usr/bin/env python3
"""check_truth.py GEN_DIR QUALITY_JSON - precis-clean's counts against the
defects precis-gen planted (truth.h5 /defects): rejects by reason,
duplicates (and those that differ from the row kept), imputed values, missing identifiers, phones and emails that
are no number or address (kept, counted invalid; 0 in every other
column), refunds, and row conservation in every table. Exit 0 when every count is exact."""
import collections, json, sys
import h5py

t = h5py.File(sys.argv[1] + "/truth.h5", "r")
q = json.load(open(sys.argv[2]))
rec = collections.Counter()
for tab, kind, fld, cnt in zip(t["defects/table"][:], t["defects/kind"][:], t["defects/field"][:], t["defects/count"][:]):
    rec[(tab.decode(), kind.decode(), int(fld))] += int(cnt)
def planted(tab, kind, fld=None):
    return sum(v for (a, b, f), v in rec.items() if a == tab and b == kind and (fld is None or f == fld))

cols = {"customers": ["customer_id", "name", "phone", "email", "gender", "birth_date", "city", "signup_ts"],
        "transactions": ["order_id", "customer_id", "item_id", "category", "quantity", "unit_price", "amount", "ts", "channel", "campaign_id"],
        "touchpoints": ["customer_id", "ts", "channel", "campaign_id", "event", "cost"],
        "experiments": ["customer_id", "campaign_id", "group"], "spend": ["week_start", "channel", "campaign_id", "spend"]}
reasons = {"field_count": "field_count", "bad_quote": "bad_quote", "bad_utf8": "bad_utf8", "missing_required": "missing_required",
           "nan_inf": "nan_inf", "date_range": "date_range", "bad_value": "bad_value", "conflict_order": "order_conflict"}
ok = True
def check(what, got, want):
    global ok
    ok &= got == want
    print("  %s %-45s clean %7d   planted %7d" % ("ok  " if got == want else "FAIL", what, got, want))

for tab, tq in q["tables"].items():
    rj = tq["rejected_by_reason"]
    for kind, reason in reasons.items():
        check("%s rejected %s" % (tab, reason), rj.get(reason, 0), planted(tab, kind))
    check("%s rejected (total)" % tab, tq["rows_rejected"], sum(planted(tab, k) for k in reasons))
    check("%s duplicates" % tab, tq["rows_duplicate"], planted(tab, "dup_exact") + planted(tab, "dup_order") + planted(tab, "dup_changed"))
    check("%s duplicates differing from the row kept" % tab, tq["rows_duplicate_differing"],
          planted(tab, "dup_order") + planted(tab, "dup_changed"))
    check("%s refunds" % tab, tq["refunds"], planted(tab, "negative_quantity"))
    for i, c in enumerate(cols[tab]):
        cq = tq["columns"].get(c)
        if cq is None or c in ("customer_id",):
            continue
        n = planted(tab, "missing_optional", i)
        key = "missing" if c in ("phone", "email", "birth_date", "signup_ts", "order_id") else "imputed"
        check("%s %s %s" % (tab, c, key), cq[key], n)
    for i, c in enumerate(cols[tab]):
        if c in tq["columns"]:
            kind = {"phone": "phone_invalid", "email": "email_invalid"}.get(c) if tab == "customers" else None
            check("%s %s invalid" % (tab, c), tq["columns"][c]["invalid"], planted(tab, kind, i) if kind else 0)
    check("%s rows conserved" % tab, tq["rows_in"],
          tq["rows_clean"] + tq["rows_rejected"] + tq["rows_duplicate"] + tq["rows_dropped_outlier"])
    rows = dict(zip([n.decode() for n in t["tables/name"][:]], [int(x) for x in t["tables/rows"][:]]))
    check("%s rows_in = rows written" % tab, tq["rows_in"], rows[tab])
sys.exit(0 if ok else 1)
