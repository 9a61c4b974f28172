/* rsort.h - sort large arrays of wide records by a 64-bit key.
 *
 * While a range holds more than a block (16384 records), it is distributed
 * in place into 2^8..2^11 buckets by the top bits in which its keys differ
 * (American flag sort: every record moves once, along one sequential stream
 * per bucket). A block is sorted without moving its records: (key, index)
 * pairs are radix sorted (LSD, 8- or 11-bit digits, digits every key shares
 * are skipped), runs of equal keys are ordered with the caller's comparator
 * (by insertion up to 64 records, which is linear on runs already in order),
 * then the records are permuted in place along the cycles, within the
 * cache. The extra memory is a block's pairs. The result equals qsort with
 * a comparator that orders by key first, then by cmp (cmp must be a total
 * order for the result to be unique). cmp is only ever given two records
 * with equal keys, so it need not compare what the key holds. */
#ifndef PRECIS_RSORT_H
#define PRECIS_RSORT_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*rsort_key_fn)(const void *rec, const void *ctx);

/* Returns 0, or -1 when out of memory (base then holds its records in some
 * order). */
int rsort_records(void *base, int64_t n, size_t recsize, rsort_key_fn key, const void *ctx,
                  int (*cmp)(const void *, const void *));

#endif
