#!/usr/bin/env python3
"""mutate_check.py BIN BASE KEY WORK [ITERATIONS] - precis-clean on damaged exports.

BASE holds a small generated data set (transactions.csv, customers.csv,
touchpoints.csv). Each iteration damages the transactions file, and
sometimes the others, with a seeded mix of byte edits that real exports
suffer: stray quotes, separators and line ends, NUL and invalid UTF-8 bytes,
a BOM, CRLF line ends, cut or repeated ranges, a field over 1 MiB, a file
cut short. Then it runs precis-clean on the result at two rank counts
(cycling through 1..4) and small reader windows, and checks, without
reference to what the code did before:
  - it ends with exit 0 or 3 (data) at both, under the test's timeout:
    never a crash, a hang or an internal error;
  - both rank counts give the same exit code, the same quality.json (its
    quarantine directory and run_id, of its own --out, aside), the same
    quarantine files byte for byte
    and, at exit 0, the same clean.h5 datasets;
  - every table conserves its rows, and its quarantine file has one row
    per rejected row;
  - each quarantine row's line number is 1 + the newlines before its byte
    offset in the named source file, and that offset starts a line.
Over all iterations, the damage must have reached the reader's and the
parser's reject paths (the reasons listed in WANT) and the clean path
(some runs end with exit 0): the check fails when it exercised too little.
"""
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys

BIN, BASE, KEY, WORK = sys.argv[1:5]
ITER = int(sys.argv[5]) if len(sys.argv) > 5 else 24
HERE = os.path.dirname(os.path.abspath(__file__))
WANT = {"field_count", "bad_quote", "open_quote", "bad_utf8", "nul_byte", "field_too_long", "nan_inf"}
PAIRS = [(1, 3), (2, 4), (1, 2), (3, 4), (1, 4), (2, 3)]
EDITS = [b'"', b",", b"\n", b"\r", b"\r\n", b"\0", b"\xff", b"\xc3", b"\xe2\x82", b" ", b"a", b"-", b".", b"e",
         b'""', b"\t", b"1e309", b"nan", b"\xef\xbb\xbf", b";"]
src = {t: open(f"{BASE}/{t}.csv", "rb").read() for t in ("transactions", "customers", "touchpoints")}


def damage(d, r):
    d = bytearray(d)
    for _ in range(r.choice([1, 2, 3, 5, 20])):
        k, p = r.randrange(9), r.randrange(len(d) + 1)
        if k <= 2 and d:
            d[p:p + 1] = r.choice(EDITS)
        elif k == 3:
            d[p:p] = r.choice(EDITS)
        elif k == 4:
            del d[p:p + r.randrange(1, 200)]
        elif k == 5 and d:
            q = r.randrange(len(d))
            d[p:p] = d[q:q + r.randrange(1, 400)]
        elif k == 6:
            d[p:p] = b"x" * r.choice([1000, 70000, 1100000])
        elif k == 7:
            d = d[:r.randrange(len(d) + 1)]
        elif k == 8:
            d = bytearray(bytes(d).replace(b"\n", b"\r\n")) if r.random() < 0.5 else bytearray(b"\xef\xbb\xbf") + d
    return bytes(d)


def line_check(quar):
    """(rows per table, first problem or None) over the quarantine files' bytes {name: bytes}"""
    rows, first, sources = {}, None, {}
    for name, text in quar.items():
        for row in csv.DictReader(io.StringIO(text.decode(), newline="")):
            t = name[:-4]
            rows[t] = rows.get(t, 0) + 1
            if row["source_file"] not in sources:
                sources[row["source_file"]] = open(row["source_file"], "rb").read()
            data = sources[row["source_file"]]
            off, line = int(row["byte_offset"]), int(row["line"])
            starts = off == 0 or data[off - 1:off] == b"\n" or (off == 3 and data[:3] == b"\xef\xbb\xbf")
            if (line != data.count(b"\n", 0, off) + 1 or not starts) and not first:
                first = f"{name}: line {line} at byte {off} ({data[max(0, off - 12):off + 12]!r})"
    return rows, first


problems, seen, clean_runs, done = [], set(), 0, 0
env = dict(os.environ)
for it in range(ITER):
    done = it + 1
    r = random.Random(1000 + it)
    d = os.path.join(WORK, "m")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d + "/in")
    for t in ["transactions"] + [t for t in ("customers", "touchpoints") if r.random() < 0.5]:
        open(f"{d}/in/{t}.csv", "wb").write(damage(src[t], r) if t == "transactions" or r.random() < 0.5 else src[t])
    window, mrr = r.choice(["", "", "4096", "1000"]), r.choice(["1", "1", "0.5", "0.01"])
    res = {}
    for np_ in PAIRS[it % len(PAIRS)]:
        o = f"{d}/o{np_}"
        os.makedirs(o)
        e = dict(env)
        if window:
            e["PRECIS_CSV_WINDOW"] = window
        p = subprocess.run(["timeout", "--signal=KILL", "300", "mpirun", "--oversubscribe", "-np", str(np_), f"{BIN}/precis-clean",
                            "--in", d + "/in", "--pii-key", KEY, "--out", o + "/clean.h5", "--max-reject-rate", mrr],
                           env=e, capture_output=True)
        err = p.stderr.decode(errors="replace")
        tag = f"iteration {it} np={np_}"
        if p.returncode not in (0, 3) or "Sanitizer" in err or "runtime error" in err:
            problems.append(f"{tag}: exit {p.returncode}: " + " | ".join(err.splitlines()[-4:])[:600])
            continue
        try:
            q = json.load(open(o + "/quality.json"))
        except (OSError, ValueError) as x:
            problems.append(f"{tag}: no quality.json ({x})")
            continue
        quar = {n: open(os.path.join(o, "quarantine", n), "rb").read() for n in sorted(os.listdir(o + "/quarantine"))} \
            if os.path.isdir(o + "/quarantine") else {}
        qrows, bad = line_check(quar)
        if bad:
            problems.append(f"{tag}: {bad}")
        for name, t in q["tables"].items():
            seen.update(t["rejected_by_reason"])
            if t["rows_in"] != t["rows_clean"] + t["rows_rejected"] + t["rows_duplicate"] + t.get("rows_dropped_outlier", 0) \
                    or not t["conserved"]:
                problems.append(f"{tag}: {name} does not conserve its rows")
            if qrows.get(name, 0) != t["rows_rejected"]:
                problems.append(f"{tag}: {name}: {qrows.get(name, 0)} quarantine rows for {t['rows_rejected']} rejected")
        q.pop("quarantine_dir", None)
        q.pop("run_id", None)  # (a hash of the params, which name each run's own --out)
        res[np_] = (p.returncode, json.dumps(q, sort_keys=True), quar)
    if len(res) == 2:
        (pa, a), (pb, b) = sorted(res.items())
        if a[0] != b[0] or a[1] != b[1] or a[2] != b[2]:
            what = "exit code" if a[0] != b[0] else "quality.json" if a[1] != b[1] else "quarantine files"
            problems.append(f"iteration {it}: np={pa} and np={pb} differ in their {what}")
        elif a[0] == 0:
            clean_runs += 1
            h = subprocess.run([sys.executable, os.path.join(HERE, "..", "h5same.py"), f"{d}/o{pa}/clean.h5", f"{d}/o{pb}/clean.h5",
                                "--ignore", "quality/report"], capture_output=True)
            if h.returncode != 0:
                problems.append(f"iteration {it}: np={pa} and np={pb} clean.h5 differ: {h.stdout.decode()[-300:]}")
    if problems:
        shutil.copytree(d, os.path.join(WORK, f"failed{it}"), dirs_exist_ok=True)
        break
missing = WANT - seen
if not problems and missing:
    problems.append(f"the damage never produced {sorted(missing)} (seen: {sorted(seen)})")
if not problems and clean_runs < ITER // 4:
    problems.append(f"only {clean_runs} of {ITER} iterations ended with a clean.h5")
for p in problems:
    print("  " + p)
print(f"{done} damaged data sets, {clean_runs} cleaned at both rank counts; reasons seen: {', '.join(sorted(seen))}")
sys.exit(1 if problems else 0)
