/* rsort.h - sort large arrays of wide records by a 64-bit key.
 *
 * The records are not moved while sorting: (key, index) pairs are radix
 * sorted (LSD, 11-bit digits, digits that every key shares are skipped),
 * runs of equal keys are ordered with the caller's comparator, then the
 * records are permuted in place along the permutation's cycles. So a 136-byte
 * record moves once, and the extra memory is 32 bytes per record. The result
 * equals qsort with a comparator that orders by key first, then by cmp
 * (cmp must be a total order for the result to be unique). */
#ifndef PRECIS_RSORT_H
#define PRECIS_RSORT_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*rsort_key_fn)(const void *rec, const void *ctx);

/* Returns 0, or -1 when out of memory (base is then unchanged). */
int rsort_records(void *base, int64_t n, size_t recsize, rsort_key_fn key, const void *ctx,
                  int (*cmp)(const void *, const void *));

#endif
