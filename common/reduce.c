/* reduce.c - exact long accumulator and its reproducible MPI allreduce. */
#include "reduce.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIN_BITS 32
#define EMIN (-1074)
#define NORMALISE_EVERY (INT64_C(1) << 40)

void racc_init(racc *a) { memset(a, 0, sizeof *a); }

/* Bring every bin but the top into [0, 2^32); the top keeps the sign. */
static void racc_normalise(racc *a)
{
    for (int i = 0; i < RACC_BINS - 1; i++) {
        __int128 carry = a->bin[i] >> BIN_BITS; /* arithmetic: floor division */
        a->bin[i] -= carry * ((__int128)1 << BIN_BITS);
        a->bin[i + 1] += carry;
    }
    a->nadd = 0;
}

void racc_add(racc *a, double x)
{
    /* x = m * 2^e with an integer m of at most 53 bits, read off the IEEE bits */
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    int be = (int)((u >> 52) & 0x7ff);
    int64_t m = (int64_t)(u & ((UINT64_C(1) << 52) - 1));
    if (be == 0x7ff) {
        a->bad |= m ? 1 : ((u >> 63) ? 4 : 2);
        return;
    }
    int e = EMIN;                        /* subnormal: x = frac * 2^-1074 */
    if (be) {
        m |= INT64_C(1) << 52;
        e = be - 1075;
    } else if (m == 0) {
        return;                          /* +-0 */
    }
    if (u >> 63) m = -m;
    int pos = e - EMIN, b = pos / BIN_BITS, s = pos % BIN_BITS;
    a->bin[b] += (__int128)m * ((__int128)1 << s);
    if (++a->nadd >= NORMALISE_EVERY) racc_normalise(a);
}

void racc_merge(racc *dst, const racc *src)
{
    racc t;
    memcpy(&t, src, sizeof t);
    racc_normalise(&t);
    racc_normalise(dst);
    for (int i = 0; i < RACC_BINS; i++) dst->bin[i] += t.bin[i];
    dst->bad |= t.bad;
    racc_normalise(dst);
}

static int bitlen128(unsigned __int128 v)
{
    int n = 0;
    while (v) { n++; v >>= 1; }
    return n;
}

/* Correctly rounded conversion of a non-negative normalised accumulator. */
static double racc_to_double_pos(const racc *a)
{
    int h = RACC_BINS - 1;
    while (h >= 0 && a->bin[h] == 0) h--;
    if (h < 0) return 0.0;
    if (a->bin[h] >= ((__int128)1 << 90)) return INFINITY; /* far beyond DBL_MAX */
    /* the top bin is not bounded by normalisation: then take one bin less */
    int lo = a->bin[h] >= ((__int128)1 << BIN_BITS) ? h - 1 : h - 2;
    if (lo < 0) lo = 0;
    unsigned __int128 v = 0;
    for (int i = h; i >= lo; i--) v = (v << BIN_BITS) | (unsigned __int128)a->bin[i];
    int sticky = 0;
    for (int i = lo - 1; i >= 0; i--) if (a->bin[i]) { sticky = 1; break; }
    int L = bitlen128(v), shift = 0;
    if (L > 53) {
        shift = L - 53;
        unsigned __int128 q = v >> shift, rem = v & ((((unsigned __int128)1) << shift) - 1);
        unsigned __int128 half = ((unsigned __int128)1) << (shift - 1);
        if (rem > half || (rem == half && (sticky || (q & 1)))) q++;
        v = q;
    }
    return ldexp((double)(uint64_t)v, shift + lo * BIN_BITS + EMIN);
}

int racc_value(const racc *a, double *out, const char *what, precis_err *e)
{
    if (a->bad)
        return PERR(e, PRECIS_EXIT_DATA, "%s: sum over %s values", what ? what : "sum",
                    (a->bad & 1) ? "NaN" : "infinite");
    racc t;
    memcpy(&t, a, sizeof t);
    racc_normalise(&t);
    int neg = t.bin[RACC_BINS - 1] < 0;
    if (neg) {
        for (int i = 0; i < RACC_BINS; i++) t.bin[i] = -t.bin[i];
        racc_normalise(&t);
    }
    double v = racc_to_double_pos(&t);
    if (!isfinite(v))
        return PERR(e, PRECIS_EXIT_DATA, "%s: sum overflows a double (beyond %g)", what ? what : "sum", DBL_MAX);
    *out = neg ? -v : v;
    return 0;
}

/* MPI user op: element-wise exact sum of racc arrays. Buffers may be unaligned. */
static void racc_op(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    racc a, b;
    for (int i = 0; i < *len; i++) {
        memcpy(&a, (char *)in + (size_t)i * sizeof(racc), sizeof a);
        memcpy(&b, (char *)inout + (size_t)i * sizeof(racc), sizeof b);
        racc_merge(&b, &a);
        memcpy((char *)inout + (size_t)i * sizeof(racc), &b, sizeof b);
    }
}

int reduce_allreduce(MPI_Comm comm, racc *acc, int64_t n, double *out,
                     const char *what, precis_err *e)
{
    MPI_Datatype t = MPI_DATATYPE_NULL;
    MPI_Op op = MPI_OP_NULL;
    racc *tmp = NULL;
    int rc = -1;
    for (int64_t i = 0; i < n; i++) racc_normalise(&acc[i]);
    MPI_CHECK(MPI_Type_contiguous((int)sizeof(racc), MPI_BYTE, &t), e);
    MPI_CHECK(MPI_Type_commit(&t), e);
    MPI_CHECK(MPI_Op_create(racc_op, 1, &op), e);
    /* chunk so that each call's count fits in an int and buffers stay small */
    const int64_t chunk = 4096;
    tmp = malloc(sizeof(racc) * (size_t)(n < chunk ? (n ? n : 1) : chunk));
    CHECK(tmp, e, PRECIS_EXIT_INTERNAL, "out of memory in reduce_allreduce");
    for (int64_t off = 0; off < n; off += chunk) {
        int c = (int)(n - off < chunk ? n - off : chunk);
        MPI_CHECK(MPI_Allreduce(acc + off, tmp, c, t, op, comm), e);
        memcpy(acc + off, tmp, sizeof(racc) * (size_t)c);
    }
    rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++)
        if (racc_value(&acc[i], &out[i], what, e)) rc = -1;
fail:
    free(tmp);
    if (op != MPI_OP_NULL) MPI_Op_free(&op);
    if (t != MPI_DATATYPE_NULL) MPI_Type_free(&t);
    return rc;
}

int reduce_sum(MPI_Comm comm, const double *x, int64_t n, double *out, precis_err *e)
{
    racc a;
    racc_init(&a);
    for (int64_t i = 0; i < n; i++) racc_add(&a, x[i]);
    return reduce_allreduce(comm, &a, 1, out, "sum", e);
}

int reduce_colsum(MPI_Comm comm, const double *x, int64_t nrows, int ncols,
                  double *out, precis_err *e)
{
    racc *a = malloc(sizeof(racc) * (size_t)(ncols > 0 ? ncols : 1));
    if (!a) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory in reduce_colsum");
    for (int j = 0; j < ncols; j++) racc_init(&a[j]);
    for (int64_t i = 0; i < nrows; i++)
        for (int j = 0; j < ncols; j++) racc_add(&a[j], x[i * ncols + j]);
    int rc = reduce_allreduce(comm, a, ncols, out, "column sum", e);
    free(a);
    return rc;
}
