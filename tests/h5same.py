#!/usr/bin/env python3
"""h5same.py A.h5 B.h5 [--ignore NAME ...] [--chunks] - exit 0 when both files hold the same
datasets with byte-identical contents, dtypes and shapes (attributes are not compared:
created_utc, run_id and paths in params may differ). With --chunks, each chunked
dataset's filters and the bytes stored for each chunk (after its filters) must be
identical too. Prints the differences."""
import sys
import h5py

def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out

def stored(d):
    """A chunked dataset's filters and its chunks as stored: [(offset, mask, bytes)]."""
    if d.chunks is None:
        return None
    plist = d.id.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    chunks = []
    for i in range(d.id.get_num_chunks()):
        info = d.id.get_chunk_info(i)
        mask, data = d.id.read_direct_chunk(info.chunk_offset)
        chunks.append((info.chunk_offset, mask, bytes(data)))
    return filters, chunks

ignore = set(sys.argv[i + 1] for i, x in enumerate(sys.argv) if x == "--ignore")
raw = "--chunks" in sys.argv
args = [x for i, x in enumerate(sys.argv) if i > 0 and x != "--chunks" and sys.argv[i - 1] != "--ignore" and x != "--ignore"]
a, b = h5py.File(args[0], "r"), h5py.File(args[1], "r")
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
    elif raw and stored(x) != stored(y):
        print("stored chunks differ: %s" % name)
        bad += 1
print("%d datasets compared, %d differ" % (len(set(da) | set(db)), bad))
sys.exit(1 if bad else 0)
