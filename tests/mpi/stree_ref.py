"""stree_ref.py VALUES.bin S N - the slot-tree sum by its definition: a perfect
binary tree over slot indices, a node = left + right, or the one non-empty
child (a NaN row = an empty slot). Prints the N sums in float.hex, then
whether each is within 1e-12 relative (of the sum of magnitudes) of math.fsum."""
import math, struct, sys

d = open(sys.argv[1], "rb").read()
S, N = int(sys.argv[2]), int(sys.argv[3])
x = struct.unpack("<%dd" % (len(d) // 8), d)
rows = [None if math.isnan(x[s * N]) else list(x[s * N:(s + 1) * N]) for s in range(S)]
L = max(1, (S - 1).bit_length())


def node(level, idx):
    if level == 0:
        return rows[idx] if idx < S else None
    if idx << level >= S:
        return None
    a, b = node(level - 1, 2 * idx), node(level - 1, 2 * idx + 1)
    if a is None:
        return b
    if b is None:
        return a
    return [p + q for p, q in zip(a, b)]


root = node(L, 0)
print(" ".join(float.hex(v) for v in root))
ok = True
for j in range(N):
    col = [r[j] for r in rows if r is not None]
    ok &= abs(root[j] - math.fsum(col)) <= 1e-12 * sum(abs(v) for v in col)
print("close" if ok else "far")
