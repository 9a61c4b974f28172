"""check_phone.py BIN TMPDIR - phone tokens against python3-phonenumbers.

For every --phone-region precis knows, a CSV of phone numbers written the
ways exports write them (national, international, E.164, tel: URIs, the
international prefix dialled from the region, a "(0)" national prefix, an
extension, full-width and Arabic-Indic digits, foreign numbers, junk) goes through
precis-tokenize. Each phone_token must be the token of the number's E.164
form as libphonenumber's Python port (Debian's python3-phonenumbers)
parses it with that region as the default, computed here with Python's
hmac: the first 8 bytes of HMAC-SHA256(key, "phone\\0" + E.164). A value
libphonenumber cannot parse, or finds no possible number for, must give 0.

The numbers come from libphonenumber's own example numbers per region and
type, with their last digits varied by a seeded RNG; what the reference
says of each string decides what is expected, never precis' own output.
Where precis reads a value otherwise on purpose (letters of vanity numbers,
unknown country codes), DEVIATE says what it gives instead; a country code
written without + or 00 where the rest could be a national number is not
in the corpus. See jobs/clean/README.md, "Phone numbers".
"""
import hashlib
import hmac
import os
import random
import subprocess
import sys

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as F, PhoneNumberType as T

BIN, TMP = sys.argv[1], sys.argv[2]
REGIONS = ["CN", "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "JP", "AU"]
FOREIGN = ["HK", "SG", "BR", "KR", "MX", "ZA", "SE", "AE"]
IDD = {"US": "011", "CA": "011", "JP": "010", "AU": "0011"}
rng = random.Random(20261204)
FULL = {ord(c): chr(0xFF10 + int(c)) for c in "0123456789"}
FULL[ord("+")] = "\uff0b"
ARABIC = {ord(c): chr(0x660 + int(c)) for c in "0123456789"}   # Arabic-Indic
PERSIAN = {ord(c): chr(0x6F0 + int(c)) for c in "0123456789"}  # extended Arabic-Indic


def numbers(region):
    """Example numbers of the region, and copies with their last digits varied."""
    out = []
    for t in (T.MOBILE, T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE):
        ex = pn.example_number_for_type(region, t)
        if ex is None:
            continue
        out.append(ex)
        nsn = pn.national_significant_number(ex)
        for _ in range(3):
            k = min(4, len(nsn) - 3)
            v = nsn[:-k] + "".join(rng.choice("0123456789") for _ in range(k))
            try:
                out.append(pn.parse("+%d%s" % (ex.country_code, v), None))
            except pn.NumberParseException:
                pass
    return out


def written(n, region, home):
    """The ways a number is written in an export from `region`."""
    intl = pn.format_number(n, F.INTERNATIONAL)
    e164 = pn.format_number(n, F.E164)
    nsn = pn.national_significant_number(n)
    forms = [intl, e164, pn.format_number(n, F.RFC3966), intl.translate(FULL),
             pn.format_out_of_country_calling_number(n, region),
             "%s %d %s" % (IDD.get(region, "00"), n.country_code, nsn)]
    if home:
        nat = pn.format_number(n, F.NATIONAL)
        forms += [nat, "".join(ch for ch in nat if ch.isdigit()), nat.translate(FULL), intl.translate(ARABIC), nat.translate(PERSIAN),
                  nat + " ext. 123", nat + " x45", nat + "#7", e164 + ";ext=9", " " + nat.replace(" ", "-") + " ",
                  pn.format_number(n, F.RFC3966) + ";ext=12", nat.replace(" ", "."), nat.replace(" ", "\u00a0")]
        meta = pn.PhoneMetadata.metadata_for_region(region)
        if meta.national_prefix == "0":
            forms.append("+%d (0)%s" % (n.country_code, nsn))
        if region == "CN" and len(nsn) == 11:  # a country code without +: "86 138 ...", "(86) 138 ..."
            forms += ["86" + nsn, "(86) %s %s %s" % (nsn[:3], nsn[3:7], nsn[7:])]
    return forms


JUNK = ["n/a", "unknown", "12", "0", "+", "++44 20 7946 0958", "+0 1234 5678", "1" * 30, "abc123",
        "138 0013 8000 x", "555-0100", "ext 12", "+44 20 7946 0958 +", "tel:", "(  )", "- - -",
        "020 7946 0958 / 0959", "+86 138 0013 8000 ext. 12 34"]

# Where precis reads a value otherwise, on purpose: letters are no digits
# (libphonenumber reads "FLOWERS" and "ext" as keypad letters), and a
# country code is not checked against the list of countries.
DEVIATE = {"1-800-FLOWERS": None, "138 0013 8000 ext": None, "+999 1234 5678": "+99912345678"}

key = os.urandom(48)
kpath = os.path.join(TMP, "phone.key")
with open(os.open(kpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
    f.write(key)


def token(e164):
    if e164 is None:
        return 0
    t = int.from_bytes(hmac.new(key, b"phone\0" + e164.encode(), hashlib.sha256).digest()[:8], "big")
    return t or 1


def reference(s, region):
    try:
        n = pn.parse(s, region)
    except pn.NumberParseException:
        return None
    if pn.is_possible_number_with_reason(n) != pn.ValidationResult.IS_POSSIBLE:
        return None
    return pn.format_number(n, F.E164)


def csv_field(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s


total = bad = valid = 0
for region in REGIONS:
    rows = []
    for src in REGIONS + FOREIGN:
        for n in numbers(src):
            rows += written(n, region, src == region)
    rows += JUNK + list(DEVIATE)
    path = os.path.join(TMP, "phones-%s.csv" % region)
    with open(path, "w", encoding="utf-8") as f:
        f.write("customer_id,phone\n")
        for i, s in enumerate(rows):
            f.write("c%d,%s\n" % (i, csv_field(s)))
    out = os.path.join(TMP, "phones-%s.out.csv" % region)
    subprocess.run([os.path.join(BIN, "precis-tokenize"), "--in", path, "--out", out, "--pii-key", kpath,
                    "--id-column", "customer_id", "--phone-column", "phone", "--phone-region", region],
                   check=True, stderr=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split(",")
        col = head.index("phone_token")
        got = [int(line.rstrip("\n").split(",")[col]) for line in f]
    assert len(got) == len(rows), (region, len(got), len(rows))
    for s, g in zip(rows, got):
        ref = DEVIATE[s] if s in DEVIATE else reference(s, region)
        total += 1
        valid += ref is not None
        if g != token(ref):
            bad += 1
            if bad <= 60:
                print("region %s: %r: expected %s, got %s" % (region, s, ref or "no number",
                      "no number" if g == 0 else "another token"))
print("%d phone values in %d regions (%d numbers, %d without one): %d differ from python3-phonenumbers"
      % (total, len(REGIONS), valid, total - valid, bad))
sys.exit(1 if bad or valid < total // 2 else 0)
