#!/usr/bin/env python3
"""make_split_csv.py - CSV fixtures for the parallel reader tests.

make_split_csv.py OUT.csv EXPECTED
    A 6000-byte file whose quoted fields hold a newline exactly on (or just
    before) every byte split point of np = 2, 3 and 4, plus the records as
    Python's csv module reads them, printed the way t_csv prints them.
make_split_csv.py --multiline OUT.csv EXPECTED
    Every record holds a quoted field of several lines. A reader that starts
    inside such a field and guesses the wrong quote parity stays out of step
    to the end of the file, so the guesses of a split never meet.
make_split_csv.py --dirty DIR
    Three part files (one with a BOM and CRLF) with broken records; writes
    DIR/expected_bad with the number of bad records.
"""
import csv, io, os, random, sys

def targets(total, header):
    data = total - header
    return sorted({header + r * data // p for p in (2, 3, 4) for r in range(1, p)})

def make_split(out, expected):
    rnd = random.Random(4)
    total, header = 6000, "id,text,n\n"
    buf = header
    i = 0
    for k, t in enumerate(targets(total, len(header))):
        at = t if k % 2 == 0 else t - 1          # newline at the split byte, or just before it
        while True:
            rec = '%d,"%s",%d\n' % (i, "w" * rnd.randint(1, 30) + ("," if i % 3 == 0 else "") + ('""q""' if i % 4 == 0 else ""), i % 7)
            if len(buf) + len(rec) + 40 > at:
                break
            buf += rec
            i += 1
        prefix = '%d,"' % i
        fill = at - len(buf) - len(prefix)
        assert fill >= 0
        buf += prefix + "x" * fill + "\n" + "tail" + '",%d\n' % (i % 7)
        assert buf[at] == "\n"
        i += 1
    prefix, suffix = '%d,"' % i, '",0\n'
    pad = total - len(buf) - len(prefix) - len(suffix)
    assert pad >= 1
    buf += prefix + "z" * pad + suffix
    assert len(buf) == total
    write_expected(out, expected, buf)

def write_expected(out, expected, buf):
    open(out, "w", newline="").write(buf)
    lines = []
    r = csv.reader(io.StringIO(buf, newline=""))
    next(r)
    prev = r.line_num
    for row in r:
        start = prev + 1
        prev = r.line_num
        fields = "\x1f".join(f.replace("\n", "\\n").replace("\r", "\\r") for f in row)
        lines.append("0:%d\tok\t%s\n" % (start, fields))
    open(expected, "w", newline="").write("".join(lines))

def make_multiline(out, expected):
    rnd = random.Random(7)
    buf = "id,note,n\n"
    for i in range(300):
        parts = ["w" * rnd.randint(0, 12) + ("," if rnd.random() < 0.3 else "") + ('""' if rnd.random() < 0.2 else "")
                 for _ in range(rnd.randint(2, 4))]
        buf += '%d,"%s",%d\n' % (i, "\n".join(parts), i % 9)
    write_expected(out, expected, buf)

def make_dirty(d):
    os.makedirs(d, exist_ok=True)
    bad = 0
    rows = []
    for i in range(300):
        if i % 50 == 7:
            rows.append('%d,"x"y,1' % i); bad += 1            # text after closing quote
        elif i % 50 == 19:
            rows.append('%d,a,b,c' % i); bad += 1              # field count
        elif i % 50 == 31:
            rows.append('%d,caf\xc3\x28,2' % i); bad += 1      # invalid UTF-8 (latin-1 written below)
        elif i % 50 == 43:
            rows.append('%d,"multi\nline, ok",3' % i)
        else:
            rows.append('%d,plain%d,%d' % (i, i, i % 5))
    parts = [rows[:100], rows[100:200], rows[200:]]
    for k, part in enumerate(parts):
        nl = "\r\n" if k == 1 else "\n"
        text = ("\ufeff" if k == 1 else "") + "id,text,n" + nl + nl.join(part) + nl
        if k == 2:
            text += '999,"never closed' + nl + "1000,x,1" + nl  # open quote to EOF: one bad record, then resync
            bad += 1
        # rows hold \xc3\x28 as two code points: write them byte for byte
        data = (b"\xef\xbb\xbf" + bytes(ord(c) for c in text[1:])) if k == 1 else bytes(ord(c) for c in text)
        open(os.path.join(d, "part-%d.csv" % k), "wb").write(data)
    open(os.path.join(d, "expected_bad"), "w").write("%d\n" % bad)

if __name__ == "__main__":
    if sys.argv[1] == "--dirty":
        make_dirty(sys.argv[2])
    elif sys.argv[1] == "--multiline":
        make_multiline(sys.argv[2], sys.argv[3])
    else:
        make_split(sys.argv[1], sys.argv[2])
