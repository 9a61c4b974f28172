/* quantile.h - exact global quantiles, independent of the rank count.
 *
 * DESIGN
 * Doubles map to order-preserving uint64 keys. The k-th smallest value of
 * all ranks' data is found by radix selection: four rounds over 16-bit
 * digits, each an MPI_Allreduce of a 65536-bin int64 histogram of the values
 * that match the prefix found so far. The answer is one of the input values,
 * so it does not depend on P or on the order of the data.
 *
 * A quantile_set holds one rank's values as keys, in no particular order. A
 * selection decides the top digit of every target at once (one pass over
 * the keys, one allreduce), then moves the keys under those digits to the
 * front of the set and sorts them there, so that in the three later
 * rounds the keys under a prefix are one contiguous range and a histogram
 * costs one binary search per distinct digit in that range instead of a
 * pass over the data. When more than an eighth of the keys are under those
 * digits (heavily tied values, such as quantities), they are not sorted:
 * each later round is a pass over the keys still under a target's prefix,
 * which moves those under the lengthened prefixes to the front. That needs
 * no scratch memory. PRECIS_QUANTILE_PATH=sort or =scan in the environment
 * forces one way (tests run both). Targets are selected together, up to
 * QUANTILE_BATCH per allreduce.
 *
 * quantile_linear() reproduces numpy.quantile's default 'linear' method
 * exactly (virtual index (n-1)q, and numpy's lerp). NaN inputs must be
 * removed by the caller. Every function here is collective over comm unless
 * it says otherwise.
 */
#ifndef PRECIS_QUANTILE_H
#define PRECIS_QUANTILE_H

#include "check.h"
#include <stdint.h>

#define QUANTILE_BATCH 8

typedef struct quantile_set {
    MPI_Comm comm;
    uint64_t *key; /* this rank's values as order-preserving keys, in no particular order */
    int64_t n;     /* local count */
    int64_t N;     /* global count */
    int owned;     /* key is the set's own block (quantile_set_build), not the caller's */
} quantile_set;

/* Collective. This rank's n values as keys in s (8 bytes per value; a
 * selection adds up to 8 per candidate while it runs). Returns 0, or -1
 * when out of memory. */
int quantile_set_build(MPI_Comm comm, const double *x, int64_t n, quantile_set *s, precis_err *e);

/* Collective. As quantile_set_build, without a copy: x[0..n) becomes the
 * keys in place, so its values are lost; x stays the caller's to free,
 * after quantile_set_free. */
int quantile_set_adopt(MPI_Comm comm, double *x, int64_t n, quantile_set *s, precis_err *e);

/* Collective. out[j] = the ks[j]-th smallest (0-based) of all ranks' values,
 * for j < nk; every ks[j] must be < s->N and every rank passes the same ks.
 * It reorders s's keys. */
int quantile_set_select(quantile_set *s, int nk, const int64_t *ks, double *out, precis_err *e);

/* Collective. out[j] = numpy.quantile(all values, qs[j]) with
 * method='linear'; NaN for every j when there are no values. */
int quantile_set_linear(quantile_set *s, int nq, const double *qs, double *out, precis_err *e);

/* Not collective. Frees the keys (the set's own; adopted ones stay the
 * caller's). This function can't fail. */
void quantile_set_free(quantile_set *s);

/* Collective. The k-th smallest (0-based) of all ranks' x; k < global n. */
int quantile_select(MPI_Comm comm, const double *x, int64_t n, int64_t k, double *out, precis_err *e);

/* Collective. Several order statistics of the same values at once. */
int quantile_select_many(MPI_Comm comm, const double *x, int64_t n, int nk, const int64_t *ks, double *out,
                         precis_err *e);

/* Collective. numpy.quantile(all x, q) with method='linear'. *ntotal gets the
 * global count; with no values *out is NaN and 0 is returned. */
int quantile_linear(MPI_Comm comm, const double *x, int64_t n, double q, double *out,
                    int64_t *ntotal, precis_err *e);

#endif
