#!/usr/bin/env python3
"""check_pii.py GEN_DIR FILE... - no raw identifier of the inputs appears in
any of the given files (outputs and logs): customer ids, phone numbers (as a
whole digit run, or in any written format), emails (case-insensitive) and
full names. Exit 0 when none is found."""
import csv, glob, re, sys

d = sys.argv[1]
ids, phones, emails, names = set(), set(), set(), set()
for p in glob.glob(d + "/customers-part-*.csv"):
    with open(p, encoding="utf-8", errors="surrogateescape", newline="") as f:
        for row in csv.reader(f):
            if len(row) < 4 or row[0] == "customer_id":
                continue
            ids.add(row[0].strip())
            digits = re.sub(r"\D", "", row[2])
            if len(digits) >= 11:
                phones.add(digits[-11:])
            if "@" in row[3]:
                emails.add(row[3].strip().lower())
            if len(row[1]) > 5:
                names.add(row[1].strip())
for p in glob.glob(d + "/*-part-*.csv"):
    with open(p, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            for x in re.findall(r"CU\d{8}", line):
                ids.add(x)
ids.discard("")
bad = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    text = data.decode("latin-1")
    low = text.lower()
    found = set(re.findall(r"CU\d{8}", text)) & ids
    found |= set(re.findall(r"(?<!\d)(\d{11})(?!\d)", text)) & phones
    found |= {e for e in re.findall(r"[\w.+-]+@[\w.-]+", low) if e in emails}
    found |= {n for n in names if n in text}
    if found:
        bad += 1
        print("raw identifiers in %s: %s" % (path, sorted(found)[:5]))
print("%d files checked for %d ids, %d phones, %d emails, %d names: %d with raw identifiers"
      % (len(sys.argv) - 2, len(ids), len(phones), len(emails), len(names), bad))
sys.exit(1 if bad else 0)
