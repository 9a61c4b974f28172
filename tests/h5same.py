#!/usr/bin/env python3
"""h5same.py A.h5 B.h5 [--ignore NAME ...] - exit 0 when both files hold the same datasets with
byte-identical contents, dtypes and shapes (attributes are not compared:
created_utc, run_id and paths in params may differ). Prints the differences."""
import sys
import h5py

def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out

ignore = set(sys.argv[i + 1] for i, x in enumerate(sys.argv) if x == "--ignore")
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
da, db = datasets(a), datasets(b)
bad = 0
for name in sorted(set(da) | set(db)):
    if name in ignore:
        continue
    if name not in da or name not in db:
        print("only in one file: %s" % name)
        bad += 1
        continue
    x, y = da[name], db[name]
    if x.dtype != y.dtype or x.shape != y.shape or x[()].tobytes() != y[()].tobytes():
        print("differs: %s" % name)
        bad += 1
print("%d datasets compared, %d differ" % (len(set(da) | set(db)), bad))
sys.exit(1 if bad else 0)
