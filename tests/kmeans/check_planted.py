#!/usr/bin/env python3
"""check_planted.py truth.h5 segments.h5 pii.key - the Adjusted Rand Index of
precis-kmeans labels against precis-gen's planted segments (joined through
HMAC keys of the raw ids, computed here with Python's hmac), and every planted
segment recovered: its majority cluster holds >= 90% of it and is >= 90% it."""
import sys
import hashlib
import hmac
import h5py
import numpy as np
from sklearn.metrics import adjusted_rand_score

truth, seg, key = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), open(sys.argv[3], "rb").read()
planted = {}
for cid, s in zip(truth["customers/customer_id"][:], truth["customers/segment"][:]):
    h = hmac.new(key, cid.decode().strip().encode(), hashlib.sha256).digest()
    planted[(int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big"))] = int(s)
k, kl, lab = seg["customers/customer_key"][:], seg["customers/customer_key_lo"][:], seg["labels"][:]
t = np.array([planted[(int(a), int(b))] for a, b in zip(k, kl)])
ari = adjusted_rand_score(t, lab)
ok = ari >= 0.9
print("ARI %.4f over %d customers" % (ari, len(t)))
used = set()
for s in np.unique(t):
    c = int(np.bincount(lab[t == s]).argmax())
    recall, precision = np.mean(lab[t == s] == c), np.mean(t[lab == c] == s)
    print("planted segment %d -> cluster %d: recall %.3f precision %.3f" % (s, c, recall, precision))
    ok = ok and recall >= 0.9 and precision >= 0.9 and c not in used
    used.add(c)
sys.exit(0 if ok else 1)
