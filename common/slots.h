/* slots.h - hash slots: customer_key -> slot -> owning rank (DESIGN.md).
 *
 * DESIGN
 * slot = customer_key mod S with S a power of two (default 16384, stored as
 * the `slots` attribute). Of P ranks, rank r owns [r*S/P, (r+1)*S/P). Tables
 * keyed by customer are sorted by slot and carry `slot_offsets` (S+1 int64):
 * rows of slot s are [offsets[s], offsets[s+1]). All pure functions; none is
 * collective except where stated.
 */
#ifndef PRECIS_SLOTS_H
#define PRECIS_SLOTS_H

#include "check.h"
#include <stdint.h>

#define SLOTS_DEFAULT 16384

/* Nonzero when S is a power of two in [1, 2^30]. */
int slots_valid(int64_t S);

static inline int64_t slots_of(uint64_t customer_key, int64_t S)
{
    return (int64_t)(customer_key & (uint64_t)(S - 1));
}

/* Rank r's slot range [lo, hi) of S slots over P ranks. Can't fail. */
void slots_range(int rank, int size, int64_t S, int64_t *lo, int64_t *hi);

/* The rank that owns `slot`: floor(((slot + 1) * P - 1) / S). Inline and
 * in 64 bits where that cannot overflow (a shift for S a power of two):
 * precis-clean asks once per row, and a 128-bit division is a library call
 * of ~40 cycles. Can't fail. */
static inline int slots_owner(int64_t slot, int64_t S, int size)
{
    if (S <= (INT64_C(1) << 40) && size <= (1 << 22)) { /* (slot + 1) * size < 2^62 */
        int64_t x = (slot + 1) * (int64_t)size - 1;
        return (int)((S & (S - 1)) == 0 ? x >> __builtin_ctzll((uint64_t)S) : x / S);
    }
    return (int)(((__int128)(slot + 1) * size - 1) / S);
}

/* Collective. Given this rank's rows, already sorted by slot and all within
 * this rank's slot range [lo, hi), build this rank's part of the global
 * slot_offsets: out[0 .. hi-lo] (hi-lo+1 values; the last equals the global
 * row offset after this rank). `slot_of_row[i]` is row i's slot.
 * Returns 0 or -1 (MPI failure). */
int slots_offsets_local(MPI_Comm comm, const int64_t *slot_of_row, int64_t nrows,
                        int64_t lo, int64_t hi, int64_t *out, precis_err *e);

#endif
