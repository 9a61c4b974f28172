/* quantile.c - radix selection over allreduced histograms of sorted keys. */
#include "quantile.h"
#include "hugemem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BITS = 16, BINS = 1 << BITS, ROUNDS = 64 / BITS };

static inline uint64_t okey(double v)
{
    uint64_t u;
    if (v == 0.0) v = 0.0; /* -0.0 and 0.0 are one value */
    memcpy(&u, &v, 8);
    return (u >> 63) ? ~u : (u | (UINT64_C(1) << 63));
}

static inline double unkey(uint64_t k)
{
    uint64_t u = (k >> 63) ? (k & ~(UINT64_C(1) << 63)) : ~k;
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* LSD radix sort of a[0..n) by 16-bit digits; a digit every key shares is
 * skipped. Returns 0, or -1 when out of memory (a is then unsorted). */
static int sort_keys(uint64_t *a, int64_t n)
{
    if (n < 2) return 0;
    uint64_t *b = hugemem_alloc(sizeof(uint64_t) * (size_t)n);
    int64_t *cnt = calloc((size_t)ROUNDS * BINS, sizeof(int64_t));
    if (!b || !cnt) {
        hugemem_free(b);
        free(cnt);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < ROUNDS; d++) cnt[d * BINS + ((a[i] >> (BITS * d)) & (BINS - 1))]++;
    uint64_t *src = a, *dst = b;
    for (int d = 0; d < ROUNDS; d++) {
        int64_t *c = cnt + d * BINS, sum = 0;
        if (c[(src[0] >> (BITS * d)) & (BINS - 1)] == n) continue; /* one digit for all */
        for (int v = 0; v < BINS; v++) {
            int64_t t = c[v];
            c[v] = sum;
            sum += t;
        }
        for (int64_t i = 0; i < n; i++) dst[c[(src[i] >> (BITS * d)) & (BINS - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, sizeof(uint64_t) * (size_t)n);
    hugemem_free(b);
    free(cnt);
    return 0;
}

/* First index in [i, hi) whose key is > v (keys sorted; key[i] <= v):
 * galloping, so a short run costs O(log run). */
static int64_t run_end(const uint64_t *key, int64_t i, int64_t hi, uint64_t v)
{
    int64_t step = 1, lo = i;
    while (lo + step < hi && key[lo + step] <= v) {
        lo += step;
        step *= 2;
    }
    int64_t r = lo + step < hi ? lo + step : hi; /* key[lo] <= v; key[r] > v or r == hi */
    while (r - lo > 1) {
        int64_t m = lo + (r - lo) / 2;
        if (key[m] <= v) lo = m;
        else r = m;
    }
    return r;
}

/* s->key[0..n) = the keys of x[0..n) (x may be s->key itself: each value
 * is read before its key is written), and the global count. */
static int set_keys(quantile_set *s, const double *x, precis_err *e)
{
    for (int64_t i = 0; i < s->n; i++) {
        double v = x[i];
        s->key[i] = okey(v);
    }
    MPI_CHECK(MPI_Allreduce(&s->n, &s->N, 1, MPI_INT64_T, MPI_SUM, s->comm), e);
    return 0;
fail:
    quantile_set_free(s);
    return -1;
}

int quantile_set_build(MPI_Comm comm, const double *x, int64_t n, quantile_set *s, precis_err *e)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    s->n = n;
    s->owned = 1;
    s->key = hugemem_alloc(sizeof(uint64_t) * (size_t)n);
    if (!s->key) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory in quantile_set_build (%lld values)", (long long)n);
    if (precis_agree(comm, e)) goto fail;
    return set_keys(s, x, e);
fail:
    quantile_set_free(s);
    return -1;
}

int quantile_set_adopt(MPI_Comm comm, double *x, int64_t n, quantile_set *s, precis_err *e)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    s->n = n;
    s->key = (uint64_t *)(void *)x;
    return set_keys(s, x, e);
}

void quantile_set_free(quantile_set *s)
{
    if (s->owned) hugemem_free(s->key);
    s->key = NULL;
    s->n = s->N = 0;
    s->owned = 0;
}

/* The digit b of a histogram g (global counts per digit) under which the
 * rank *k falls, with *k made the rank within that digit; -1 when *k is
 * beyond the counts (ranks disagree about the data: a bug). */
static int pick_digit(const int64_t *g, int64_t *k)
{
    int b = 0;
    while (b < BINS - 1 && *k >= g[b]) *k -= g[b++];
    return *k < g[b] ? b : -1;
}

/* [*lo, *hi) narrowed to the sorted keys in [prefix, prefix | below] */
static void narrow(const uint64_t *c, int64_t *lo, int64_t *hi, uint64_t prefix, uint64_t below)
{
    int64_t a = *lo, z = *hi;
    while (a < z) {
        int64_t m = a + (z - a) / 2;
        if (c[m] < prefix) a = m + 1;
        else z = m;
    }
    *hi = a < *hi && c[a] <= (prefix | below) ? run_end(c, a, *hi, prefix | below) : a;
    *lo = a;
}

/* Up to QUANTILE_BATCH targets whose top digit is known (top[j], with kin[j]
 * the rank left within it), over the sorted candidates c[0..nc): the three
 * lower digits, one allreduce each. */
static int select_batch(MPI_Comm comm, const uint64_t *c, int64_t nc, int nk, const uint64_t *top,
                        const int64_t *kin, double *out, int64_t *h, int64_t *g, precis_err *e)
{
    uint64_t prefix[QUANTILE_BATCH];
    int64_t k[QUANTILE_BATCH], lo[QUANTILE_BATCH], hi[QUANTILE_BATCH];
    for (int j = 0; j < nk; j++) {
        prefix[j] = top[j];
        k[j] = kin[j];
        lo[j] = 0;
        hi[j] = nc;
        narrow(c, &lo[j], &hi[j], prefix[j], (UINT64_C(1) << (64 - BITS)) - 1);
    }
    for (int round = 1; round < ROUNDS; round++) {
        int shift = 64 - BITS * (round + 1);
        uint64_t below = shift ? (UINT64_C(1) << shift) - 1 : 0;
        memset(h, 0, sizeof(int64_t) * (size_t)nk * BINS);
        for (int j = 0; j < nk; j++)
            for (int64_t i = lo[j]; i < hi[j];) { /* one run per distinct digit */
                int64_t end = run_end(c, i, hi[j], c[i] | below);
                h[(int64_t)j * BINS + ((c[i] >> shift) & (BINS - 1))] += end - i;
                i = end;
            }
        MPI_CHECK(MPI_Allreduce(h, g, nk * BINS, MPI_INT64_T, MPI_SUM, comm), e);
        for (int j = 0; j < nk; j++) {
            int b = pick_digit(g + (int64_t)j * BINS, &k[j]);
            CHECK(b >= 0, e, PRECIS_EXIT_INTERNAL, "quantile_select: rank beyond the data");
            prefix[j] |= (uint64_t)b << shift;
            narrow(c, &lo[j], &hi[j], prefix[j], below);   /* this rank's keys under the longer prefix */
        }
    }
    for (int j = 0; j < nk; j++) out[j] = unkey(prefix[j]);
    return 0;
fail:
    return -1;
}

/* As select_batch, over unsorted candidates c[0..nc), which it reorders:
 * each round is one pass over the keys under some target's prefix so far,
 * which counts their next digit and moves them to the front, so the next
 * round reads only those. Prefixes of one length are equal or disjoint, so
 * a key is under at most one of the distinct ones (targets often share
 * theirs: a quantile's two neighbours, or tied values), and is counted
 * once. */
static int scan_batch(MPI_Comm comm, uint64_t *c, int64_t nc, int nk, const uint64_t *top, const int64_t *kin,
                      double *out, int64_t *h, int64_t *g, precis_err *e)
{
    uint64_t prefix[QUANTILE_BATCH], u[QUANTILE_BATCH];
    int64_t k[QUANTILE_BATCH], m = nc;
    int of[QUANTILE_BATCH];
    for (int j = 0; j < nk; j++) prefix[j] = top[j], k[j] = kin[j];
    for (int round = 1; round < ROUNDS; round++) {
        int shift = 64 - BITS * (round + 1), have = shift + BITS;   /* bits of the prefix known */
        int nu = 0;
        for (int j = 0; j < nk; j++) {
            int a = 0;
            while (a < nu && u[a] != prefix[j] >> have) a++;
            if (a == nu) u[nu++] = prefix[j] >> have;
            of[j] = a;   /* target j's histogram is distinct prefix a's */
        }
        memset(h, 0, sizeof(int64_t) * (size_t)nu * BINS);
        int64_t w = 0;
        for (int64_t i = 0; i < m; i++) {
            uint64_t x = c[i];
            for (int a = 0; a < nu; a++)
                if (x >> have == u[a]) {
                    h[(int64_t)a * BINS + ((x >> shift) & (BINS - 1))]++;
                    c[i] = c[w];
                    c[w++] = x;
                    break;
                }
        }
        m = w;
        for (int j = nk - 1; j >= 0; j--)   /* one row per target (of[j] <= j) */
            if (of[j] != j) memcpy(h + (int64_t)j * BINS, h + (int64_t)of[j] * BINS, sizeof(int64_t) * BINS);
        MPI_CHECK(MPI_Allreduce(h, g, nk * BINS, MPI_INT64_T, MPI_SUM, comm), e);
        for (int j = 0; j < nk; j++) {
            int b = pick_digit(g + (int64_t)j * BINS, &k[j]);
            CHECK(b >= 0, e, PRECIS_EXIT_INTERNAL, "quantile_select: rank beyond the data");
            prefix[j] |= (uint64_t)b << shift;
        }
    }
    for (int j = 0; j < nk; j++) out[j] = unkey(prefix[j]);
    return 0;
fail:
    return -1;
}

int quantile_set_select(quantile_set *s, int nk, const int64_t *ks, double *out, precis_err *e)
{
    const int top_shift = 64 - BITS;
    int64_t *h = malloc(sizeof(int64_t) * QUANTILE_BATCH * BINS), *g = malloc(sizeof(int64_t) * QUANTILE_BATCH * BINS);
    int64_t *k = malloc(sizeof(int64_t) * (size_t)(nk > 0 ? nk : 1)), nc = 0;
    uint64_t *top = malloc(sizeof(uint64_t) * (size_t)(nk > 0 ? nk : 1)), *c = NULL;
    uint8_t *want = calloc(BINS, 1);
    /* a rank that fails on its own stops every rank before the next
     * allreduce, which would otherwise wait for it */
    if (!(h && g && k && top && want)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory in quantile_select");
    if (precis_agree(s->comm, e)) goto fail;
    for (int j = 0; j < nk; j++)
        CHECK(ks[j] >= 0 && ks[j] < s->N, e, PRECIS_EXIT_INTERNAL, "quantile: rank %lld outside [0, %lld)",
              (long long)ks[j], (long long)s->N);
    /* the top digit of every target at once: one pass over the keys, one allreduce */
    memset(h, 0, sizeof(int64_t) * BINS);
    for (int64_t i = 0; i < s->n; i++) h[s->key[i] >> top_shift]++;
    MPI_CHECK(MPI_Allreduce(h, g, BINS, MPI_INT64_T, MPI_SUM, s->comm), e);
    for (int j = 0; j < nk; j++) {
        int64_t kk = ks[j];
        int b = pick_digit(g, &kk);
        CHECK(b >= 0, e, PRECIS_EXIT_INTERNAL, "quantile_select: rank beyond the data");
        top[j] = (uint64_t)b << top_shift;
        k[j] = kk;
        want[b] = 1;
    }
    /* only the keys under those digits are sorted, moved to the front of
     * the set's own keys (a set is a multiset: its order is free) */
    c = s->key;
    for (int64_t i = 0; i < s->n; i++) {
        uint64_t x = c[i];
        if (want[x >> top_shift]) {
            c[i] = c[nc];
            c[nc++] = x;
        }
    }
    /* Few candidates are sorted, so that a round's histogram is a binary
     * search per distinct digit. Many (heavily tied values: quantities,
     * ratings) would take a sort's scratch of their size in fresh pages and
     * several passes, to save little: they are scanned instead, the ones
     * under each round's prefixes kept at the front. Either way the answer
     * is the same exact key. Every rank decides alone: the choice changes
     * no collective. */
    int scan = nc > s->n / 8;
    const char *force = getenv("PRECIS_QUANTILE_PATH");
    if (force && !strcmp(force, "sort")) scan = 0;
    if (force && !strcmp(force, "scan")) scan = 1;
    if (!scan && sort_keys(c, nc)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory sorting %lld values", (long long)nc);
    if (precis_agree(s->comm, e)) goto fail;
    for (int j = 0; j < nk; j += QUANTILE_BATCH) {
        int nb = nk - j < QUANTILE_BATCH ? nk - j : QUANTILE_BATCH;
        if (scan ? scan_batch(s->comm, c, nc, nb, top + j, k + j, out + j, h, g, e)
                 : select_batch(s->comm, c, nc, nb, top + j, k + j, out + j, h, g, e))
            goto fail;
    }
    free(h); free(g); free(k); free(top); free(want);
    return 0;
fail:
    free(h); free(g); free(k); free(top); free(want);
    return -1;
}

int quantile_set_linear(quantile_set *s, int nq, const double *qs, double *out, precis_err *e)
{
    int64_t N = s->N, *ks = calloc((size_t)(2 * nq + 1), sizeof(int64_t));
    double *v = malloc(sizeof(double) * (size_t)(2 * nq + 1));
    CHECK(ks && v, e, PRECIS_EXIT_INTERNAL, "out of memory in quantile_linear");
    if (N == 0) {
        for (int j = 0; j < nq; j++) out[j] = NAN;
        free(ks);
        free(v);
        return 0;
    }
    for (int j = 0; j < nq; j++) {
        int64_t lo = (int64_t)floor((double)(N - 1) * qs[j]);
        if (lo > N - 1) lo = N - 1;
        if (lo < 0) lo = 0;
        ks[2 * j] = lo;
        ks[2 * j + 1] = lo + 1 < N ? lo + 1 : lo;
    }
    if (quantile_set_select(s, 2 * nq, ks, v, e)) goto fail;
    for (int j = 0; j < nq; j++) {
        double h = (double)(N - 1) * qs[j], a = v[2 * j], b = v[2 * j + 1];
        double t = h - (double)ks[2 * j], d = b - a; /* numpy's _lerp */
        out[j] = t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
    }
    free(ks);
    free(v);
    return 0;
fail:
    free(ks);
    free(v);
    return -1;
}

int quantile_select_many(MPI_Comm comm, const double *x, int64_t n, int nk, const int64_t *ks, double *out,
                         precis_err *e)
{
    quantile_set s;
    if (quantile_set_build(comm, x, n, &s, e)) return -1;
    int rc = quantile_set_select(&s, nk, ks, out, e);
    quantile_set_free(&s);
    return rc;
}

int quantile_select(MPI_Comm comm, const double *x, int64_t n, int64_t k, double *out, precis_err *e)
{
    return quantile_select_many(comm, x, n, 1, &k, out, e);
}

int quantile_linear(MPI_Comm comm, const double *x, int64_t n, double q, double *out,
                    int64_t *ntotal, precis_err *e)
{
    quantile_set s;
    if (quantile_set_build(comm, x, n, &s, e)) return -1;
    *ntotal = s.N;
    int rc = quantile_set_linear(&s, 1, &q, out, e);
    quantile_set_free(&s);
    return rc;
}
