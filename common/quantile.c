/* quantile.c - radix selection over allreduced histograms. */
#include "quantile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

int quantile_select(MPI_Comm comm, const double *x, int64_t n, int64_t k, double *out, precis_err *e)
{
    enum { BINS = 65536 };
    int64_t *h = malloc(sizeof(int64_t) * BINS), *g = malloc(sizeof(int64_t) * BINS);
    uint64_t prefix = 0;
    CHECK(h && g, e, PRECIS_EXIT_INTERNAL, "out of memory in quantile_select");
    for (int pass = 0; pass < 4; pass++) {
        int shift = 48 - 16 * pass;
        uint64_t mask = pass == 0 ? 0 : ~UINT64_C(0) << (shift + 16);
        memset(h, 0, sizeof(int64_t) * BINS);
        for (int64_t i = 0; i < n; i++) {
            uint64_t key = okey(x[i]);
            if ((key & mask) == prefix) h[(key >> shift) & 0xFFFF]++;
        }
        MPI_CHECK(MPI_Allreduce(h, g, BINS, MPI_INT64_T, MPI_SUM, comm), e);
        int b = 0;
        while (b < BINS - 1 && k >= g[b]) k -= g[b++];
        CHECK(k < g[b], e, PRECIS_EXIT_INTERNAL, "quantile_select: rank beyond the data");
        prefix |= (uint64_t)b << shift;
    }
    *out = unkey(prefix);
    free(h);
    free(g);
    return 0;
fail:
    free(h);
    free(g);
    return -1;
}

int quantile_linear(MPI_Comm comm, const double *x, int64_t n, double q, double *out,
                    int64_t *ntotal, precis_err *e)
{
    int64_t N = 0;
    MPI_CHECK(MPI_Allreduce(&n, &N, 1, MPI_INT64_T, MPI_SUM, comm), e);
    *ntotal = N;
    if (N == 0) {
        *out = NAN;
        return 0;
    }
    double h = (double)(N - 1) * q;
    int64_t lo = (int64_t)floor(h);
    if (lo > N - 1) lo = N - 1;
    double t = h - (double)lo, a, b;
    if (quantile_select(comm, x, n, lo, &a, e)) return -1;
    if (lo + 1 < N) {
        if (quantile_select(comm, x, n, lo + 1, &b, e)) return -1;
    } else {
        b = a;
    }
    double d = b - a; /* numpy's _lerp */
    *out = t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
    return 0;
fail:
    return -1;
}
