#!/usr/bin/env python3
"""check_pii.py GEN_DIR FILE... - no raw identifier of the inputs appears in
any of the given files (outputs and logs): customer ids, phone numbers (as a
whole digit run, or in any written format), emails (case-insensitive) and
full names. Exit 0 when none is found."""
import csv, glob, os, re, subprocess, sys, tempfile

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
by_domain = {}
for e in emails:
    loc, _, dom = e.partition("@")
    if loc and dom:
        by_domain.setdefault(dom, set()).add(loc)
max_local = max((len(e.partition("@")[0]) for e in emails), default=0)
max_domain = max((len(e.partition("@")[2]) for e in emails), default=0)
AT, LOCAL_END, DOMAIN = re.compile("@"), re.compile(r"[^@]*$"), re.compile(r"[^@]*")
# names by GNU grep's multi-string search (-F -f), over bytes: one pass per
# file instead of one substring scan per name. A name holding a line break
# is searched as its separate lines of 3 or more bytes.
pats = sorted({ln for n in names for ln in n.encode("utf-8", "surrogateescape").splitlines() if len(ln) >= 3})
pf = tempfile.NamedTemporaryFile(delete=False)
pf.write(b"\n".join(pats) + b"\n")
pf.close()
bad = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    text = data.decode("latin-1")
    low = text.lower()
    found = set(re.findall(r"CU\d{8}", text)) & ids
    found |= set(re.findall(r"(?<!\d)(\d{11})(?!\d)", text)) & phones
    # every '@': any local part ending at it and any domain starting after it
    # (linear; a findall of [\w.+-]+@[\w.-]+ backtracks quadratically on the
    # long word runs of binary files)
    for m in AT.finditer(low):
        p = m.start()
        left = LOCAL_END.search(low, max(0, p - max_local), p).group()
        right = DOMAIN.match(low, p + 1, p + 1 + max_domain).group()
        for b in range(1, len(right) + 1):
            for loc in by_domain.get(right[:b], ()):
                if left.endswith(loc):
                    found.add(loc + "@" + right[:b])
    if pats:
        r = subprocess.run(["grep", "-a", "-o", "-F", "-f", pf.name, path], capture_output=True,
                           env=dict(os.environ, LC_ALL="C"))
        if r.returncode > 1:
            sys.exit("grep failed on %s: %s" % (path, r.stderr.decode(errors="replace")))
        found |= {x.decode("latin-1") for x in r.stdout.splitlines()}
    if found:
        bad += 1
        print("raw identifiers in %s: %s" % (path, sorted(found)[:5]))
os.unlink(pf.name)
print("%d files checked for %d ids, %d phones, %d emails, %d names: %d with raw identifiers"
      % (len(sys.argv) - 2, len(ids), len(phones), len(emails), len(names), bad))
sys.exit(1 if bad else 0)
