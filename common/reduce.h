/* reduce.h - reproducible sums: exact, independent of rank count and order.
 *
 * DESIGN
 * A racc is an exact fixed-point accumulator for finite doubles (a
 * Kulisch-style long accumulator). Every finite double is m * 2^e with a
 * 53-bit integer m and e in [-1074, 971]; m is added, shifted, into one of
 * 64 signed 128-bit bins of 32 bits each. Integer addition is associative, so
 * the state, and the double read out of it, are the same bits whatever the
 * order of the additions and however they are split over ranks.
 *
 * Range: every finite double may be added; up to 2^40 additions between
 * normalisations (done automatically). Error bound: racc_value() returns the
 * exact sum rounded to nearest-even (at most 0.5 ulp of the exact sum), except
 * that a result in the subnormal range may be rounded twice. NaN or Inf input,
 * and a sum beyond DBL_MAX, are reported as errors (exit code 3), never
 * silently propagated.
 *
 * Cross-rank: reduce_allreduce() sums accumulators with a user MPI_Op over
 * the integer bins and converts to double once, so every rank gets the same
 * bits at any P.
 */
#ifndef PRECIS_REDUCE_H
#define PRECIS_REDUCE_H

#include "check.h"
#include <stdint.h>
#include <string.h>

#define RACC_BINS 64

typedef struct racc {
    __int128 bin[RACC_BINS];
    int64_t nadd;    /* additions since the last normalisation */
    int32_t bad;     /* 1: NaN seen, 2: +Inf, 4: -Inf */
    int32_t pad;
} racc;

/* Can't fail. */
void racc_init(racc *a);
#define RACC_BIN_BITS 32
#define RACC_EMIN (-1074)
#define RACC_NORMALISE_EVERY (INT64_C(1) << 40)

/* Carries between bins; racc_add calls it every RACC_NORMALISE_EVERY
 * additions. Can't fail. */
void racc_normalise(racc *a);

/* x = m * 2^(max(be, 1) - 1075), read off its IEEE bits: the biased
 * exponent be and a signed integer mantissa m of at most 53 bits (a
 * subnormal's be is 0, its scale 2^-1074 as for be = 1). Returns 0, or for
 * a non-finite x its mark for racc.bad: 1 NaN, 2 +Inf, 4 -Inf. */
static inline int racc_split(double x, unsigned *be, int64_t *m)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    *be = (unsigned)(u >> 52) & 0x7ff;
    int64_t f = (int64_t)(u & ((UINT64_C(1) << 52) - 1));
    if (*be == 0x7ff) return f ? 1 : ((u >> 63) ? 4 : 2);
    if (*be) f |= INT64_C(1) << 52;
    *m = (u >> 63) ? -f : f;
    return 0;
}

/* a's bins += m * 2^(max(be, 1) - 1075), for |m| < 2^63: m shifted by
 * under 32 bits into its 128-bit bin */
static inline void racc_put(racc *a, int64_t m, unsigned be)
{
    unsigned pos = (unsigned)((be ? (int)be : 1) - 1075 - RACC_EMIN), b = pos / RACC_BIN_BITS, s = pos % RACC_BIN_BITS;
    a->bin[b] += (__int128)m * ((__int128)1 << s);
}

/* Add x exactly. Non-finite x marks the accumulator bad (reported later).
 * Inline: the statistics passes call it for every value. */
static inline void racc_add(racc *a, double x)
{
    unsigned be;
    int64_t m = 0;
    int bad = racc_split(x, &be, &m);
    if (bad) {
        a->bad |= bad;
        return;
    }
    if (m == 0) return; /* +-0 */
    racc_put(a, m, be);
    if (++a->nadd >= RACC_NORMALISE_EVERY) racc_normalise(a);
}
/* A staging area in front of a racc, for long runs of additions: each
 * value's signed 53-bit mantissa is added to one int64 lane per binary
 * exponent, which holds RLANES_BATCH of them without overflow; every
 * RLANES_BATCH values the lanes they touched are added to the racc, one
 * shifted addition per lane instead of one per value. The racc ends up
 * holding the same exact sum (call rlanes_flush before reading it);
 * non-finite values mark it bad as racc_add does. */
#define RLANES_BATCH 512   /* 512 * (2^53 - 1) < 2^63 */
typedef struct rlanes {
    racc *acc;
    int n;                 /* values staged since the last flush */
    uint64_t touched[32];  /* a bit per lane */
    int64_t lane[2048];    /* by biased IEEE exponent */
} rlanes;

/* Stage into acc from empty. Can't fail. */
void rlanes_init(rlanes *l, racc *acc);
/* Add the staged values to the racc; the lanes are empty after. Can't fail. */
void rlanes_flush(rlanes *l);

static inline void rlanes_add(rlanes *l, double x)
{
    unsigned be;
    int64_t m = 0;
    int bad = racc_split(x, &be, &m);
    if (bad) {
        l->acc->bad |= bad;
        return;
    }
    l->lane[be] += m;
    l->touched[be >> 6] |= UINT64_C(1) << (be & 63);
    if (++l->n == RLANES_BATCH) rlanes_flush(l);
}

/* dst += src exactly. Can't fail. */
void racc_merge(racc *dst, const racc *src);
/* Read the sum. Returns 0, or -1 (code 3) if a non-finite value was added or
 * the sum overflows a double. `what` names the quantity in the message. */
int racc_value(const racc *a, double *out, const char *what, precis_err *e);

/* Collective. Sum n accumulators element-wise over comm (in place) and write
 * the n doubles to out on every rank. Returns 0 or -1 (same verdict on every
 * rank). */
int reduce_allreduce(MPI_Comm comm, racc *acc, int64_t n, double *out,
                     const char *what, precis_err *e);

/* Collective. Global sum of all local x[0..n) over comm: one double, the same
 * bits at any rank count and any order. Returns 0 or -1. */
int reduce_sum(MPI_Comm comm, const double *x, int64_t n, double *out, precis_err *e);

/* Collective. Column sums of a local row-major matrix x (nrows x ncols) into
 * out[ncols]. Returns 0 or -1. */
int reduce_colsum(MPI_Comm comm, const double *x, int64_t nrows, int ncols,
                  double *out, precis_err *e);

/* Slot-tree sums: reproducible and fast for large vectors.
 *
 * The sum over hash slots 0..S-1 of one n-vector per slot, added with plain
 * float64 additions in one fixed binary tree over the slot indices: a node's
 * value is left + right, or the one child that is not empty (a slot nobody
 * pushed is empty). The tree does not depend on P, so neither do the bits,
 * while the cost is one addition per element per slot instead of an exact
 * accumulation. Each rank pushes the slots of its own range [lo, hi) in
 * increasing order; the ranks' ranges must be contiguous and ascending in
 * rank order (as slots_range() gives). Partial trees travel up a binomial
 * tree of ranks (at most 2 log2 S + 2 vectors per message). */
typedef struct stree stree;

/* n doubles per slot, this rank's slots [lo, hi) of S. Returns NULL when out
 * of memory. */
stree *stree_new(int64_t n, int64_t S, int64_t lo, int64_t hi);
/* A zeroed vector for slot s (lo <= s < hi, increasing over calls) for the
 * caller to fill before the next call. NULL if s is out of order. */
double *stree_leaf(stree *t, int64_t s);
/* Collective. out[n] = the tree's sum, the same bits on every rank and at
 * any P (an all-empty tree sums to zeros). Resets t for reuse. Returns 0 or
 * -1 (same verdict on every rank). */
int stree_allreduce(MPI_Comm comm, stree *t, double *out, precis_err *e);
void stree_free(stree *t);

#endif
