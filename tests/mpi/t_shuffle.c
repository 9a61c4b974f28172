/* t_shuffle.c - every record reaches its slot owner (nsize 1-4).
 * Each rank makes a rank-count dependent number of records (rank 1 makes
 * none), keyed by Philox draws; the shuffle (chunk forced by
 * PRECIS_SHUFFLE_CHUNK) must deliver each to the owner of its slot. Counts
 * and an order-free checksum are compared before and after; the
 * per-destination buckets (shuffle_buckets) must give the same records,
 * the rank's own first and then the others' in source order, where
 * shuffle_exchange gives them all in source order. Exit 0 on success. */
#include "hugemem.h"
#include "rng.h"
#include "shuffle.h"
#include "slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint64_t key, lo; int64_t payload; } rec;

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int64_t S = 64;
    int64_t n = rank == 1 ? 0 : 1000 + 37 * rank;
    rec *a = malloc(sizeof(rec) * (size_t)(n + 1));
    int *dest = malloc(sizeof(int) * (size_t)(n + 1));
    gsl_rng *r = rng_new(5, (uint64_t)rank, 9);
    uint64_t sum_before = 0, sum_after = 0, x;
    for (int64_t i = 0; i < n; i++) {
        a[i].key = rng_u64(r);
        a[i].lo = rng_u64(r);
        a[i].payload = i;
        dest[i] = slots_owner(slots_of(a[i].key, S), S, size);
        sum_before += a[i].key ^ a[i].lo ^ (uint64_t)a[i].payload;
    }
    gsl_rng_free(r);
    void *out3 = NULL;
    void **bk = calloc((size_t)size, sizeof(void *));
    int64_t *bn = calloc((size_t)size, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) bn[dest[i]]++;
    for (int q = 0; q < size; q++) bk[q] = bn[q] ? hugemem_alloc(sizeof(rec) * (size_t)bn[q]) : NULL;
    {
        int64_t *fill = calloc((size_t)size, sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) ((rec *)bk[dest[i]])[fill[dest[i]]++] = a[i];
        free(fill);
    }
    void *out = NULL;
    int64_t nout = 0, tot_in = 0, tot_out = 0;
    precis_err e;
    perr_clear(&e);
    int rc = shuffle_exchange(MPI_COMM_WORLD, a, n, sizeof(rec), dest, 0, &out, &nout, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    int64_t lo, hi, bad = 0;
    slots_range(rank, size, S, &lo, &hi);
    rec *b = out;
    for (int64_t i = 0; i < nout; i++) {
        int64_t s = slots_of(b[i].key, S);
        if (s < lo || s >= hi) bad++;
        sum_after += b[i].key ^ b[i].lo ^ (uint64_t)b[i].payload;
    }
    MPI_Allreduce(&n, &tot_in, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&nout, &tot_out, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&sum_before, &x, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    sum_before = x;
    MPI_Allreduce(&sum_after, &x, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    sum_after = x;
    int64_t gbad = 0;
    MPI_Allreduce(&bad, &gbad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    int64_t gsame = 0;
    int64_t nout3 = -1;
    /* shuffle_exchange's order with this rank's own block moved to the front */
    int64_t *rcnt = calloc((size_t)size, sizeof(int64_t)), before = 0;
    MPI_Alltoall(bn, 1, MPI_INT64_T, rcnt, 1, MPI_INT64_T, MPI_COMM_WORLD);
    for (int q = 0; q < rank; q++) before += rcnt[q];
    rec *want = malloc(sizeof(rec) * (size_t)(nout + 1));
    memcpy(want, b + before, sizeof(rec) * (size_t)rcnt[rank]);
    memcpy(want + rcnt[rank], b, sizeof(rec) * (size_t)before);
    memcpy(want + rcnt[rank] + before, b + before + rcnt[rank], sizeof(rec) * (size_t)(nout - before - rcnt[rank]));
    int rc3 = shuffle_buckets(MPI_COMM_WORLD, bk, bn, sizeof(rec), 0, &out3, &nout3, &e);
    int bk_empty = 1;
    for (int q = 0; q < size; q++) bk_empty &= bk[q] == NULL;
    int same = rc3 == 0 && bk_empty && nout3 == nout && (nout == 0 || memcmp(want, out3, sizeof(rec) * (size_t)nout) == 0);
    free(want);
    free(rcnt);
    int64_t s1 = same;
    MPI_Allreduce(&s1, &gsame, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (rank == 0) printf("shuffle np=%d: bucket variant %s\n", size, gsame ? "identical" : "DIFFERENT");
    hugemem_free(out3); free(bk); free(bn);
    int ok = rc == 0 && tot_in == tot_out && sum_before == sum_after && gbad == 0 && gsame;
    if (rank == 0)
        printf("shuffle np=%d: %lld records in, %lld out, misplaced %lld, checksum %s\n", size,
               (long long)tot_in, (long long)tot_out, (long long)gbad, sum_before == sum_after ? "equal" : "DIFFERENT");
    free(out); free(a); free(dest);
    MPI_Finalize();
    return ok ? 0 : 1;
}
