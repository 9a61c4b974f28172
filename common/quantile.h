/* quantile.h - exact global quantiles, independent of the rank count.
 *
 * DESIGN
 * Doubles map to order-preserving uint64 keys. The k-th smallest value of
 * all ranks' data is found by radix selection: four passes over 16-bit
 * digits, each an MPI_Allreduce of a 65536-bin int64 histogram of the values
 * that match the prefix found so far. The answer is one of the input values,
 * so it does not depend on P or on the order of the data. quantile_linear()
 * reproduces numpy.quantile's default 'linear' method exactly (virtual index
 * (n-1)q, and numpy's lerp). NaN inputs must be removed by the caller.
 * Collective; O(4 * n) work per rank.
 */
#ifndef PRECIS_QUANTILE_H
#define PRECIS_QUANTILE_H

#include "check.h"
#include <stdint.h>

/* Collective. The k-th smallest (0-based) of all ranks' x; k < global n. */
int quantile_select(MPI_Comm comm, const double *x, int64_t n, int64_t k, double *out, precis_err *e);

/* Collective. numpy.quantile(all x, q) with method='linear'. *ntotal gets the
 * global count; with no values *out is NaN and 0 is returned. */
int quantile_linear(MPI_Comm comm, const double *x, int64_t n, double q, double *out,
                    int64_t *ntotal, precis_err *e);

#endif
