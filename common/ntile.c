/* ntile.c - global rank NTILE by value-range partitioning. */
#include "ntile.h"
#include "quantile.h"
#include "shuffle.h"

#include <stdlib.h>

typedef struct nt_item {
    double v;
    uint64_t key, lo;
    int64_t idx;  /* index on the owner */
    int32_t owner, score;
} nt_item;

static int cmp_item(const void *a, const void *b)
{
    const nt_item *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int ntile_scores(MPI_Comm comm, const double *value, const uint64_t *key, const uint64_t *key_lo,
                 int64_t n, int q, int32_t *score, precis_err *e)
{
    int rank, size, rc = -1;
    nt_item *it = NULL, *got = NULL, *back = NULL;
    int *dest = NULL;
    double *split = NULL;
    int64_t N = 0, ng = 0, nb = 0, off = 0;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Allreduce(&n, &N, 1, MPI_INT64_T, MPI_SUM, comm), e);
    split = malloc(sizeof(double) * (size_t)size);
    it = malloc(sizeof(nt_item) * (size_t)(n ? n : 1));
    dest = malloc(sizeof(int) * (size_t)(n ? n : 1));
    CHECK(split && it && dest, e, PRECIS_EXIT_INTERNAL, "out of memory");
    /* splitter s_r = value at global rank r*N/P: items with v < s_1 go to 0, ... */
    if (N == 0) {
        for (int r = 1; r < size; r++) split[r] = 0;
    } else if (size > 1) { /* every splitter in one selection */
        int64_t *ks = malloc(sizeof(int64_t) * (size_t)(size - 1));
        CHECK(ks, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int r = 1; r < size; r++) {
            int64_t k = (int64_t)((__int128)r * N / size);
            ks[r - 1] = k < N ? k : N - 1;
        }
        int qrc = quantile_select_many(comm, value, n, size - 1, ks, split + 1, e);
        free(ks);
        if (qrc) goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        it[i] = (nt_item){value[i], key[i], key_lo[i], i, rank, 0};
        int d = 0;
        while (d + 1 < size && value[i] >= split[d + 1]) d++;
        dest[i] = d;
    }
    TRY(shuffle_exchange(comm, it, n, sizeof(nt_item), dest, 0, (void **)&got, &ng, e));
    qsort(got, (size_t)ng, sizeof(nt_item), cmp_item);
    MPI_CHECK(MPI_Exscan(&ng, &off, 1, MPI_INT64_T, MPI_SUM, comm), e);
    if (rank == 0) off = 0;
    free(dest);
    dest = malloc(sizeof(int) * (size_t)(ng ? ng : 1));
    CHECK(dest, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < ng; i++) {
        got[i].score = (int32_t)(1 + ((__int128)q * (off + i)) / N);
        dest[i] = got[i].owner;
    }
    TRY(shuffle_exchange(comm, got, ng, sizeof(nt_item), dest, 0, (void **)&back, &nb, e));
    for (int64_t i = 0; i < nb; i++) score[back[i].idx] = back[i].score;
    rc = 0;
fail:
    free(split); free(it); free(got); free(back); free(dest);
    return rc;
}
