"""The quarantine's line_hash, computed independently of precis-clean.

line_hash(key, text, offset, line) checks that the record at byte offset of
text (the file's text as precis-clean reads it: decompressed, transcoded)
is on that line, and returns the 16 hex digits precis-clean should write:
the first 8 bytes of HMAC-SHA256(key, "line\\0" + record), 0 read as 1. The
record ends at the first newline outside quotes, a CR before it dropped."""
import csv
import hashlib
import hmac
import json
import os
import re

_QUOTE_OR_NL = re.compile(rb'["\n]')


def line_hash(key, text, offset, line):
    assert text.count(b"\n", 0, offset) + 1 == line, ("line", line, offset)
    quoted, end = False, len(text)
    for m in _QUOTE_OR_NL.finditer(text, offset):
        if m.group() == b'"':
            quoted = not quoted
        elif not quoted:
            end = m.start()
            break
    if end > offset and text[end - 1:end] == b"\r":
        end -= 1
    h = int.from_bytes(hmac.new(key, b"line\0" + text[offset:end], hashlib.sha256).digest()[:8], "big") or 1
    return "%016x" % h


TABLES = ("transactions", "customers", "touchpoints", "spend", "experiments")


def quarantine_pairs(a, b):
    """(table, row of a, row of b) over the quarantines of the runs in the
    directories a and b, which must have the same header and number of
    rows in each table."""
    for t in TABLES:
        pa, pb = ("%s/quarantine/%s.csv" % (d, t) for d in (a, b))
        if not os.path.exists(pa):
            continue
        ra, rb = ([r for r in csv.reader(open(p, newline=""))] for p in (pa, pb))
        assert ra[0] == rb[0] and len(ra) == len(rb), (t, len(ra), len(rb))
        for x, y in zip(ra[1:], rb[1:]):
            yield t, x, y


def same_report(a, b, name):
    """Assert that the quality.json of the runs in a and b are equal but for
    the quarantine directory, the run_id (of other inputs) and the input
    files' names, which name() maps to a common form."""
    qa, qb = (json.load(open(d + "/quality.json")) for d in (a, b))
    for q in (qa, qb):
        q.pop("quarantine_dir")
        q.pop("run_id")
        for t in q["tables"].values():
            t["files"] = [name(p) for p in t.get("files", [])]
    assert qa == qb
