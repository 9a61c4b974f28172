/* shuffle.h - send fixed-size records to the ranks that own them.
 *
 * DESIGN
 * Records are fixed-size byte blobs. The caller gives each record's
 * destination rank. Counts are int64 everywhere; the exchange runs in rounds
 * of MPI_Alltoallv over a contiguous record datatype, each round moving at
 * most `chunk` records per (source, destination) pair, so counts and
 * displacements above 2^31 work. The received records are ordered by source
 * rank, then by their order on the source, whatever the chunk size.
 * The chunk defaults to about 32 MiB of records per round in all (capped so
 * a round's displacements fit an int), which bounds the staging memory, and
 * can be forced with the PRECIS_SHUFFLE_CHUNK environment variable, as tests
 * do. A rank's records for itself never pass through MPI. Collective.
 */
#ifndef PRECIS_SHUFFLE_H
#define PRECIS_SHUFFLE_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>

/* Collective. Send n records of `recsize` bytes from `send`; record i goes to
 * rank dest[i]. `send` is only read (records are packed by index, never
 * permuted). On success *recv is a malloc'd array of *nrecv records, in
 * source-rank order and, within a source, in send order (free it with
 * free()). chunk <= 0 means the default (or the environment's). Returns 0,
 * or -1 on every rank. */
int shuffle_exchange(MPI_Comm comm, void *send, int64_t n, size_t recsize,
                     const int *dest, int64_t chunk, void **recv, int64_t *nrecv,
                     precis_err *e);

/* Collective. The records come in one array per destination: bucket[q]
 * holds count[q] records for rank q (a hugemem block, see hugemem.h; when
 * count[q] is 0, NULL or a block of any size). Every bucket is consumed (set to NULL and freed) on
 * success and on failure. On success *recv, a hugemem block (free it with
 * hugemem_free()), holds this rank's own records first, then those from
 * the other ranks in rank order (within a source, in bucket order); it
 * grows in place out of this rank's own bucket (no copy), and the pages of
 * the others' buckets are given back as they are sent, so the peak stays
 * near the records held before. The order is not the one shuffle_exchange
 * gives: callers sort or group what they receive.
 * The rounds go point to point from the buckets into the result, without
 * staging copies. */
int shuffle_buckets(MPI_Comm comm, void **bucket, const int64_t *count, size_t recsize, int64_t chunk,
                    void **recv, int64_t *nrecv, precis_err *e);

#endif
