/* ntile.h - exact global ranks and NTILE scores, independent of P.
 *
 * DESIGN
 * Each rank holds items (value, key, key_lo, local index). ntile_scores()
 * gives every item the score 1 + floor(q * (i - 1) / n) of its 1-based rank
 * i among all n items of all ranks, sorted by (value, key, key_lo) - SQL's
 * NTILE(q). Items are range-partitioned by value with exact splitters
 * (quantile_select), so equal values meet on one rank; each rank sorts its
 * part, the MPI_Exscan of the part sizes gives global ranks, and the scores
 * go back to the owners with a second shuffle. NaN values are not allowed.
 * Collective.
 */
#ifndef PRECIS_NTILE_H
#define PRECIS_NTILE_H

#include "check.h"
#include <stdint.h>

/* Collective. value/key/key_lo have n local entries; score[i] (1..q) is
 * written for each. Returns 0 or -1. */
int ntile_scores(MPI_Comm comm, const double *value, const uint64_t *key, const uint64_t *key_lo,
                 int64_t n, int q, int32_t *score, precis_err *e);

#endif
