/* kmeans.h - precis-kmeans: distributed, reproducible k-means segmentation. */
#ifndef PRECIS_KMEANS_H
#define PRECIS_KMEANS_H

#include <mpi.h>

/* Run precis-kmeans with argv on comm. Returns the exit code. Collective. */
int kmeans_run(int argc, char **argv, MPI_Comm comm);

/* --previous (previous.c) */
#include "check.h"
struct h5io_file;
typedef struct km_prev {
    struct h5io_file *file;   /* the previous segments.h5, open */
    int32_t *id;              /* K: the segment ID given to each new cluster */
    int32_t *prev_id;         /* K: the matched previous ID, or -1 (new segment) */
    double *dist;             /* K: distance to the matched previous centroid */
    int32_t n_old_ids, n_new_ids;
    int64_t *trans;           /* n_old_ids x n_new_ids customers moving from old ID to new ID */
    int have_trans;
    int64_t both, only_new, only_old;
    double changed_share;
} km_prev;
/* Collective. Check compatibility (columns, transform, key fingerprint) and
 * match the previous centroids to C (K x D, standardised). */
int km_previous(km_prev *pv, MPI_Comm comm, const char *path, int64_t K, int64_t D, const char *cols,
                const char *transform, const char *fp, const double *smean, const double *sstd, const double *C,
                precis_err *e);
/* Collective. Join this rank's customers (sorted by slot) with the previous
 * file's and count transitions. ids[i] is customer i's new segment ID. */
int km_transitions(km_prev *pv, MPI_Comm comm, int rank, int size, int64_t S, const uint64_t *keys,
                   const uint64_t *keys_lo, const int32_t *ids, int64_t n, precis_err *e);
void km_prev_free(km_prev *pv);
/* Minimum-cost assignment of n rows to distinct columns of an n x m cost matrix (n <= m). */
int km_hungarian(const double *cost, int n, int m, int *col_of_row);

#endif
