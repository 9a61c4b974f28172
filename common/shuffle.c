/* shuffle.c - chunked MPI_Alltoallv of fixed-size records. */
#include "shuffle.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* consume: the result reuses the send array (realloc'd; *sendp is updated
 * and owned by the caller as the result) */
static int exchange(MPI_Comm comm, void **sendp, int64_t n, size_t recsize,
                    const int *dest, int64_t chunk, int consume, void **recv, int64_t *nrecv,
                    precis_err *e)
{
    void *send = *sendp;
    int size, rank;
    MPI_Datatype rt = MPI_DATATYPE_NULL;
    int64_t *scount = NULL, *rcount = NULL, *sdispl = NULL, *rdispl = NULL, *fill = NULL;
    int *sc = NULL, *rc = NULL, *sd = NULL, *rd = NULL;
    char *sorted = send, *out = NULL, *sstage = NULL, *rstage = NULL;
    int64_t *tgt = NULL;
    *recv = NULL;
    *nrecv = 0;
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    if (chunk <= 0) {
        const char *env = getenv("PRECIS_SHUFFLE_CHUNK");
        chunk = env ? atoll(env) : 0;
        if (chunk <= 0) chunk = (INT64_C(32) << 20) / (int64_t)recsize / size; /* ~32 MiB staged per round */
    }
    if (chunk > INT_MAX / size) chunk = INT_MAX / size;
    if (chunk < 1) chunk = 1;

    scount = calloc((size_t)size, sizeof(int64_t));
    rcount = calloc((size_t)size, sizeof(int64_t));
    sdispl = calloc((size_t)size + 1, sizeof(int64_t));
    rdispl = calloc((size_t)size + 1, sizeof(int64_t));
    fill = calloc((size_t)size, sizeof(int64_t));
    sc = calloc((size_t)size, sizeof(int));
    rc = calloc((size_t)size, sizeof(int));
    sd = calloc((size_t)size, sizeof(int));
    rd = calloc((size_t)size, sizeof(int));
    CHECK(scount && rcount && sdispl && rdispl && fill && sc && rc && sd && rd, e,
          PRECIS_EXIT_INTERNAL, "out of memory in shuffle");
    for (int64_t i = 0; i < n; i++) {
        CHECK(dest[i] >= 0 && dest[i] < size, e, PRECIS_EXIT_INTERNAL,
              "shuffle: record %lld has destination %d outside [0, %d)", (long long)i, dest[i], size);
        scount[dest[i]]++;
    }
    for (int q = 0; q < size; q++) sdispl[q + 1] = sdispl[q] + scount[q];
    /* the records grouped by destination (stable), as indices: records are
     * read where they are, never permuted */
    tgt = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    CHECK(tgt, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)n);
    for (int64_t i = 0; i < n; i++) tgt[sdispl[dest[i]] + fill[dest[i]]++] = i;
    MPI_CHECK(MPI_Alltoall(scount, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, comm), e);
    for (int q = 0; q < size; q++) rdispl[q + 1] = rdispl[q] + rcount[q];
    *nrecv = rdispl[size];
    /* this rank's own records never pass through MPI: copied once, or (consume)
     * left where they are; `out` holds the others' records (consume) or all */
    const int64_t self = scount[rank];
    const int64_t nout = consume ? *nrecv - self : *nrecv;
    out = malloc(recsize * (size_t)(nout ? nout : 1));
    CHECK(out, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)*nrecv);
    if (!consume)
        for (int64_t k = 0; k < self; k++)
            memcpy(out + recsize * (size_t)(rdispl[rank] + k), sorted + recsize * (size_t)tgt[sdispl[rank] + k], recsize);

    int64_t mymax = 0, rounds = 0;
    for (int q = 0; q < size; q++) {
        if (q == rank) continue;
        int64_t a = (scount[q] + chunk - 1) / chunk, b = (rcount[q] + chunk - 1) / chunk;
        if (a > mymax) mymax = a;
        if (b > mymax) mymax = b;
    }
    MPI_CHECK(MPI_Allreduce(&mymax, &rounds, 1, MPI_INT64_T, MPI_MAX, comm), e);
    MPI_CHECK(MPI_Type_contiguous((int)recsize, MPI_BYTE, &rt), e);
    MPI_CHECK(MPI_Type_commit(&rt), e);
    int64_t stage_s = 0, stage_r = 0;
    for (int q = 0; q < size; q++) {
        if (q == rank) continue;
        stage_s += scount[q] < chunk ? scount[q] : chunk;
        stage_r += rcount[q] < chunk ? rcount[q] : chunk;
    }
    sstage = malloc(recsize * (size_t)(stage_s ? stage_s : 1));
    rstage = malloc(recsize * (size_t)(stage_r ? stage_r : 1));
    CHECK(sstage && rstage, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle staging");
    for (int64_t round = 0; round < rounds; round++) {
        int64_t off = round * chunk;
        int so = 0, ro = 0;
        for (int q = 0; q < size; q++) {
            int64_t s = q == rank ? 0 : scount[q] - off, r = q == rank ? 0 : rcount[q] - off;
            sc[q] = (int)(s <= 0 ? 0 : s < chunk ? s : chunk);
            rc[q] = (int)(r <= 0 ? 0 : r < chunk ? r : chunk);
            sd[q] = so;
            rd[q] = ro;
            for (int64_t k = 0; k < sc[q]; k++)
                memcpy(sstage + recsize * (size_t)(so + k), sorted + recsize * (size_t)tgt[sdispl[q] + off + k], recsize);
            so += sc[q];
            ro += rc[q];
        }
        MPI_CHECK(MPI_Alltoallv(sstage, sc, sd, rt, rstage, rc, rd, rt, comm), e);
        for (int q = 0; q < size; q++) {
            int64_t at = rdispl[q] - (consume && q > rank ? self : 0);
            if (rc[q]) memcpy(out + recsize * (size_t)(at + off), rstage + recsize * (size_t)rd[q], recsize * (size_t)rc[q]);
        }
    }
    if (consume) {
        /* own records to the front, grow (or shrink) the array, then put every
         * part at its place in source-rank order */
        for (int64_t k = 0; k < self; k++) {   /* sources ascend and are >= k: forward moves are safe */
            int64_t j = tgt[sdispl[rank] + k];
            if (j != k) memmove(sorted + recsize * (size_t)k, sorted + recsize * (size_t)j, recsize);
        }
        char *buf = realloc(sorted, recsize * (size_t)(*nrecv ? *nrecv : 1));
        CHECK(buf, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)*nrecv);
        *sendp = NULL;
        if (self && rdispl[rank]) memmove(buf + recsize * (size_t)rdispl[rank], buf, recsize * (size_t)self);
        for (int q = 0; q < size; q++) {
            if (q == rank || !rcount[q]) continue;
            int64_t at = rdispl[q] - (q > rank ? self : 0);
            memcpy(buf + recsize * (size_t)rdispl[q], out + recsize * (size_t)at, recsize * (size_t)rcount[q]);
        }
        free(out);
        out = buf;
    }
    *recv = out;
    out = NULL;
    free(tgt);
    tgt = NULL;
    MPI_Type_free(&rt);
    free(sstage); free(rstage);
    free(scount); free(rcount); free(sdispl); free(rdispl); free(fill);
    free(sc); free(rc); free(sd); free(rd);
    return 0;
fail:
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    free(out); free(sstage); free(rstage); free(tgt);
    free(scount); free(rcount); free(sdispl); free(rdispl); free(fill);
    free(sc); free(rc); free(sd); free(rd);
    *nrecv = 0;
    return -1;
}

int shuffle_exchange(MPI_Comm comm, void *send, int64_t n, size_t recsize,
                     const int *dest, int64_t chunk, void **recv, int64_t *nrecv,
                     precis_err *e)
{
    return exchange(comm, &send, n, recsize, dest, chunk, 0, recv, nrecv, e);
}

int shuffle_exchange_consume(MPI_Comm comm, void **send, int64_t n, size_t recsize,
                             const int *dest, int64_t chunk, void **recv, int64_t *nrecv,
                             precis_err *e)
{
    return exchange(comm, send, n, recsize, dest, chunk, 1, recv, nrecv, e);
}

/* Give back the whole pages of [p + from, p + to) (records already sent). */
static void release_pages(char *p, size_t from, size_t to)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + from + pg - 1) / pg * pg, b = ((uintptr_t)p + to) / pg * pg;
    if (b > a) madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

int shuffle_buckets(MPI_Comm comm, void **bucket, const int64_t *count, size_t recsize, int64_t chunk,
                    void **recv, int64_t *nrecv, precis_err *e)
{
    int size = 0, rank = 0;
    MPI_Datatype rt = MPI_DATATYPE_NULL;
    int64_t *rcount = NULL, *rdispl = NULL, *sent = NULL;
    int *sc = NULL, *rc = NULL, *sd = NULL, *rd = NULL;
    char *res = NULL, *sstage = NULL, *rstage = NULL;
    *recv = NULL;
    *nrecv = 0;
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    if (chunk <= 0) {
        const char *env = getenv("PRECIS_SHUFFLE_CHUNK");
        chunk = env ? atoll(env) : 0;
        if (chunk <= 0) chunk = (INT64_C(32) << 20) / (int64_t)recsize / size;
    }
    if (chunk > INT_MAX / size) chunk = INT_MAX / size;
    if (chunk < 1) chunk = 1;
    rcount = calloc((size_t)size, sizeof(int64_t));
    rdispl = calloc((size_t)size + 1, sizeof(int64_t));
    sent = calloc((size_t)size, sizeof(int64_t));
    sc = calloc((size_t)size, sizeof(int));
    rc = calloc((size_t)size, sizeof(int));
    sd = calloc((size_t)size, sizeof(int));
    rd = calloc((size_t)size, sizeof(int));
    CHECK(rcount && rdispl && sent && sc && rc && sd && rd, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle");
    MPI_CHECK(MPI_Alltoall(count, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, comm), e);
    for (int q = 0; q < size; q++) rdispl[q + 1] = rdispl[q] + rcount[q];
    *nrecv = rdispl[size];
    /* the result grows out of this rank's own bucket: pages are touched only
     * as records arrive */
    const int64_t self = count[rank];
    res = realloc(bucket[rank], recsize * (size_t)(*nrecv ? *nrecv : 1));
    CHECK(res, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)*nrecv);
    bucket[rank] = NULL;
    if (self && rdispl[rank]) memmove(res + recsize * (size_t)rdispl[rank], res, recsize * (size_t)self);
    int64_t mymax = 0, rounds = 0, stage_s = 0, stage_r = 0;
    for (int q = 0; q < size; q++) {
        if (q == rank) continue;
        int64_t a = (count[q] + chunk - 1) / chunk, b = (rcount[q] + chunk - 1) / chunk;
        if (a > mymax) mymax = a;
        if (b > mymax) mymax = b;
        stage_s += count[q] < chunk ? count[q] : chunk;
        stage_r += rcount[q] < chunk ? rcount[q] : chunk;
    }
    MPI_CHECK(MPI_Allreduce(&mymax, &rounds, 1, MPI_INT64_T, MPI_MAX, comm), e);
    MPI_CHECK(MPI_Type_contiguous((int)recsize, MPI_BYTE, &rt), e);
    MPI_CHECK(MPI_Type_commit(&rt), e);
    sstage = malloc(recsize * (size_t)(stage_s ? stage_s : 1));
    rstage = malloc(recsize * (size_t)(stage_r ? stage_r : 1));
    CHECK(sstage && rstage, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle staging");
    for (int64_t round = 0; round < rounds; round++) {
        int64_t off = round * chunk;
        int so = 0, ro = 0;
        for (int q = 0; q < size; q++) {
            int64_t s = q == rank ? 0 : count[q] - off, r = q == rank ? 0 : rcount[q] - off;
            sc[q] = (int)(s <= 0 ? 0 : s < chunk ? s : chunk);
            rc[q] = (int)(r <= 0 ? 0 : r < chunk ? r : chunk);
            sd[q] = so;
            rd[q] = ro;
            if (sc[q]) {
                char *b = bucket[q];
                memcpy(sstage + recsize * (size_t)so, b + recsize * (size_t)off, recsize * (size_t)sc[q]);
                release_pages(b, recsize * (size_t)sent[q], recsize * (size_t)(off + sc[q]));
                sent[q] = off + sc[q];
            }
            so += sc[q];
            ro += rc[q];
        }
        MPI_CHECK(MPI_Alltoallv(sstage, sc, sd, rt, rstage, rc, rd, rt, comm), e);
        for (int q = 0; q < size; q++)
            if (rc[q]) memcpy(res + recsize * (size_t)(rdispl[q] + off), rstage + recsize * (size_t)rd[q], recsize * (size_t)rc[q]);
    }
    for (int q = 0; q < size; q++) {
        free(bucket[q]);
        bucket[q] = NULL;
    }
    *recv = res;
    res = NULL;
    MPI_Type_free(&rt);
    free(sstage); free(rstage); free(rcount); free(rdispl); free(sent);
    free(sc); free(rc); free(sd); free(rd);
    return 0;
fail:
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    for (int q = 0; q < size; q++) {
        free(bucket[q]);
        bucket[q] = NULL;
    }
    free(res); free(sstage); free(rstage); free(rcount); free(rdispl); free(sent);
    free(sc); free(rc); free(sd); free(rd);
    *nrecv = 0;
    return -1;
}
