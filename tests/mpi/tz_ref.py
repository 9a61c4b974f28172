#!/usr/bin/env python3
"""tz_ref.py OUT - check t_tz's interval tables against Python's zoneinfo,
which reads the same TZif files with code of its own. For each zone: every
change of offset in zoneinfo's transition list within the span is a start
of the table; at every start, the second before has the previous offset and
the start has the new one; and at 3,000 random instants of 1899-12-30 ..
2100-01-03 (most after 2037, where offsets come from the zone's rule) the
table's offset equals zoneinfo's. Prints one line per zone; exit 1 on any
difference."""
import bisect, random, sys
from datetime import datetime, timezone
import zoneinfo._zoneinfo as pz

LO, HI = -2208988800 - 2 * 86400, 4102444800 + 2 * 86400
bad = 0
tables = []
for line in open(sys.argv[1]):
    p = line.split()
    if p[0] == "zone":
        tables.append((p[1], []))
    elif p[0] in ("error", "ranks"):
        print("  FAIL", line.strip()); bad += 1
    else:
        tables[-1][1].append((int(p[0]), int(p[1])))
rnd = random.Random(7)
for name, tab in tables:
    zi = pz.ZoneInfo.no_cache(name)
    off = lambda t: int(datetime.fromtimestamp(t, timezone.utc).astimezone(zi).utcoffset().total_seconds())
    starts = [s for s, _ in tab]
    ours = lambda t: tab[bisect.bisect_right(starts, t) - 1][1]
    errs = []
    for t in zi._trans_utc:
        if LO < t <= HI and off(t - 1) != off(t) and t not in starts:
            errs.append("change at %d missing" % t)
    for k in range(1, len(tab)):
        s, o = tab[k]
        if off(s) != o or off(s - 1) != tab[k - 1][1]:
            errs.append("start %d: ours %d/%d, zoneinfo %d/%d" % (s, tab[k - 1][1], o, off(s - 1), off(s)))
    for _ in range(3000):
        t = rnd.randrange(LO, HI) if rnd.random() < 0.3 else rnd.randrange(2145916800, HI)
        if ours(t) != off(t):
            errs.append("at %d: ours %d, zoneinfo %d" % (t, ours(t), off(t)))
            break
    if errs:
        bad += 1
        print("  FAIL %s: %s" % (name, "; ".join(errs[:3])))
    else:
        print("  ok   %s: %d intervals" % (name, len(tab)))
print("%d zones, %d differ" % (len(tables), bad))
sys.exit(1 if bad else 0)
