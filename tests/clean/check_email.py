"""check_email.py BIN TMPDIR - email tokens against the HTML standard's rule.

Which values are email addresses is decided here by the regular expression
of the HTML standard's "valid e-mail address" (WHATWG), applied with
Python's re to the value's UTF-8 bytes. It is widened, as
common/pii.h says, to UTF-8 letters (bytes 0x80-0xff) in both parts, and
narrowed to a domain of at least two labels, a local part of at most 64
bytes and 254 bytes in all. The values: random addresses built from every
allowed character, and copies damaged one way each (a character inserted,
removed or swapped for one that is not allowed, a label too long, a hyphen
at a label's edge, a second '@', no dot, spaces inside or around).

They go through precis-tokenize. An address's email_token must be the
first 8 bytes of HMAC-SHA256(key, "email\\0" + the trimmed address with ASCII
capitals lowered), computed here with Python's hmac; any other value must
give 0.
"""
import hashlib
import hmac
import os
import random
import re
import subprocess
import sys

BIN, TMP = sys.argv[1], sys.argv[2]
rng = random.Random(20261204)

LOCAL_CH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-"
LABEL_CH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UNI = ["\u00e9", "\u00fc", "\u4e2d", "\u6587", "\u0436", "\U0001f600"]
BAD = [" ", "@", "(", ")", ",", ":", ";", "<", ">", "[", "]", "\\", '"', "\u00a0", "\t"]

WHATWG_LABEL = rb"[a-zA-Z0-9\x80-\xff](?:[a-zA-Z0-9\x80-\xff-]{0,61}[a-zA-Z0-9\x80-\xff])?"
EMAIL = re.compile(rb"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\x80-\xff-]{1,64}@" + WHATWG_LABEL + rb"(?:\." + WHATWG_LABEL + rb")+")


def reference(s):
    b = s.encode().strip(b" \t\n\r\x0b\x0c")
    if len(b) > 254 or not EMAIL.fullmatch(b):
        return None
    return bytes(c + 32 if 65 <= c <= 90 else c for c in b)


def label(n):
    if n == 1:
        return rng.choice(LABEL_CH)
    inner = "".join(rng.choice(LABEL_CH + "-" + "".join(UNI[:3])) for _ in range(n - 2))
    return rng.choice(LABEL_CH) + inner + rng.choice(LABEL_CH)


def address():
    local = "".join(rng.choice(LOCAL_CH) if rng.random() > 0.05 else rng.choice(UNI) for _ in range(rng.randint(1, 20)))
    labels = [label(rng.choice([1, 2, 5, 10, 63] if rng.random() < 0.1 else [2, 3, 5, 8])) for _ in range(rng.randint(2, 4))]
    return local + "@" + ".".join(labels)


def damaged(a):
    at = a.index("@")
    k = rng.randrange(10)
    i = rng.randrange(len(a) + 1)
    if k == 0:
        return a[:i] + rng.choice(BAD) + a[i:]
    if k == 1:
        return a[:i] + a[i + 1:]
    if k == 2:
        return a[:at] + "@" + "-" + a[at + 1:]
    if k == 3:
        return a + "-"
    if k == 4:
        return a[:at + 1] + "x" * rng.choice([63, 64]) + "." + a[at + 1:]
    if k == 5:
        return "y" * rng.choice([64, 65]) + a[at:]
    if k == 6:
        return a.replace(".", "", 1) if a.count(".", at) == 1 else a[:at] + "@" + a[at + 1:].split(".")[0]
    if k == 7:
        return a + "."
    if k == 8:
        return rng.choice([" ", "\t", "  "]) + a + rng.choice(["", " ", "\t"])
    return a[:at] + "@" + a[:at] + a[at:]


rows = ["a@b.c", "A@B.CO", "x@localhost", "@example.com", "user@", "user@.com", "user@com.", "a..b@c.d",
        ".a@b.cd", "a@b..cd", "a@-b.cd", "a@b-.cd", "a@b_c.de", "Min.Yang0@mail.example.cn", " Wei.Wang@Example.COM ",
        "n/a", "none", "-", "user at example dot com", "\u201cq\u201d@x.y", "a@b.c" + "d" * 300,
        ("l" * 64) + "@" + ".".join(["d" * 63] * 3) + ".com", "x" * 40 + "@" + ".".join(["d" * 63] * 3) + ".de"]
for _ in range(6000):
    a = address()
    rows.append(a)
    rows.append(damaged(a))

key = os.urandom(40)
kpath = os.path.join(TMP, "email.key")
with open(os.open(kpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
    f.write(key)
path, out = os.path.join(TMP, "emails.csv"), os.path.join(TMP, "emails.out.csv")
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("customer_id,email\n")
    for i, s in enumerate(rows):
        f.write("c%d,%s\n" % (i, '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"') else s))
subprocess.run([os.path.join(BIN, "precis-tokenize"), "--in", path, "--out", out, "--pii-key", kpath,
                "--id-column", "customer_id", "--email-column", "email"], check=True, stderr=subprocess.DEVNULL)
with open(out, encoding="utf-8") as f:
    col = f.readline().rstrip("\n").split(",").index("email_token")
    got = [int(line.rstrip("\n").split(",")[col]) for line in f]
assert len(got) == len(rows), (len(got), len(rows))
bad = valid = 0
for s, g in zip(rows, got):
    ref = reference(s)
    valid += ref is not None
    want = 0
    if ref is not None:
        want = int.from_bytes(hmac.new(key, b"email\0" + ref, hashlib.sha256).digest()[:8], "big") or 1
    if g != want:
        bad += 1
        if bad <= 20:
            print("%r: expected %s, got %s" % (s, "an address" if ref else "none", "none" if g == 0 else "another token"))
print("%d email values (%d addresses, %d not): %d differ from the HTML standard's rule" % (len(rows), valid, len(rows) - valid, bad))
sys.exit(1 if bad or not (0.3 < valid / len(rows) < 0.8) else 0)
