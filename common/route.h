/* route.h - fetch rows of a distributed table by global id, over and over.
 *
 * DESIGN
 * Iterative jobs (ALS) need, on every rank, the rows of another distributed
 * table that its own work touches: the item factors its users bought, the
 * user factors of its items' buyers. route_build() is called once: each rank
 * lists the global ids it needs and who owns each; the ids travel to their
 * owners, which turn them into local row indices. route_move() then sends,
 * in one MPI_Alltoallv per call, each needed row from its owner to exactly
 * the ranks that asked for it (never to everyone), and stores the rows in
 * the order of the caller's `need` list. Rows may travel as float32 to halve
 * the bytes; they are converted back to double on arrival.
 *
 * Limits: int counts per rank pair and per rank in total (about 2^31 rows).
 * Collective: every rank calls both functions.
 */
#ifndef PRECIS_ROUTE_H
#define PRECIS_ROUTE_H
#include "check.h"
#include <stdint.h>

typedef struct route {
    int size;
    int *scount, *sdispl, *rcount, *rdispl; /* rows per rank */
    int64_t nsend, nrecv;
    int64_t *send_idx;  /* owner side: local row sent in send position k */
    int64_t *perm;      /* receiver side: received row k goes to need position perm[k] */
    int64_t remote_rows;  /* rows this rank sends to other ranks per move */
} route;

/* Local row of global id `gid` on its owner, or -1 if this rank does not hold it. */
typedef int64_t (*route_lidx_fn)(int64_t gid, const void *ctx);

/* Collective. need[0..n) are the global ids this rank wants (any order,
 * duplicates allowed), owner[k] the rank holding need[k]. lidx maps an id
 * to a local row on its owner. Returns 0 or -1 (same on every rank). */
int route_build(MPI_Comm comm, const int64_t *need, const int *owner, int64_t n,
                route_lidx_fn lidx, const void *ctx, route *rt, precis_err *e);

/* Collective. Send rows of src (local rows of width f) along the route; dst
 * receives n x f doubles in need order. as_float: travel as float32.
 * Returns 0 or -1. */
int route_move(MPI_Comm comm, const route *rt, const double *src, int f, int as_float,
               double *dst, precis_err *e);

/* Free the route's arrays. Can't fail. */
void route_free(route *rt);
#endif
