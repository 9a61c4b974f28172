/* shuffle.c - chunked MPI_Alltoallv of fixed-size records. */
#include "shuffle.h"
#include "hugemem.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The chunk: given, or PRECIS_SHUFFLE_CHUNK, or about 32 MiB staged per
 * round; capped so a round's int displacements fit. */
static int64_t pick_chunk(int64_t chunk, size_t recsize, int size)
{
    if (chunk <= 0) {
        const char *env = getenv("PRECIS_SHUFFLE_CHUNK");
        chunk = env ? atoll(env) : 0;
        if (chunk <= 0) chunk = (INT64_C(32) << 20) / (int64_t)recsize / size;
    }
    if (chunk > INT_MAX / size) chunk = INT_MAX / size;
    return chunk < 1 ? 1 : chunk;
}

/* Collective. The rounds that move every pair's records, at most chunk
 * per pair per round: the most any rank needs. */
static int count_rounds(MPI_Comm comm, int size, int rank, int64_t chunk, const int64_t *scount,
                        const int64_t *rcount, int64_t *rounds, precis_err *e)
{
    int64_t mymax = 0;
    for (int q = 0; q < size; q++) {
        if (q == rank) continue;
        int64_t a = (scount[q] + chunk - 1) / chunk, b = (rcount[q] + chunk - 1) / chunk;
        if (a > mymax) mymax = a;
        if (b > mymax) mymax = b;
    }
    MPI_CHECK(MPI_Allreduce(&mymax, rounds, 1, MPI_INT64_T, MPI_MAX, comm), e);
    return 0;
fail:
    return -1;
}

/* Packs the n records from offset off of this rank's records for rank q
 * into dst. */
typedef void (*pack_fn)(void *ctx, int q, int64_t off, int64_t n, char *dst);

/* Collective. The rounds of MPI_Alltoallv that move scount[q] records to
 * every other rank q and receive rcount[q] from it, at most chunk per pair
 * per round; records from q land at out + rpos[q] (in records), in order. */
static int exchange_rounds(MPI_Comm comm, int size, int rank, size_t recsize, int64_t chunk, const int64_t *scount,
                           const int64_t *rcount, pack_fn pack, void *ctx, char *out, const int64_t *rpos, precis_err *e)
{
    MPI_Datatype rt = MPI_DATATYPE_NULL;
    int *sc = calloc((size_t)size, sizeof(int)), *rc = calloc((size_t)size, sizeof(int));
    int *sd = calloc((size_t)size, sizeof(int)), *rd = calloc((size_t)size, sizeof(int));
    char *sstage = NULL, *rstage = NULL;
    int64_t rounds = 0, stage_s = 0, stage_r = 0;
    for (int q = 0; q < size; q++) {
        if (q == rank) continue;
        stage_s += scount[q] < chunk ? scount[q] : chunk;
        stage_r += rcount[q] < chunk ? rcount[q] : chunk;
    }
    sstage = malloc(recsize * (size_t)(stage_s ? stage_s : 1));
    rstage = malloc(recsize * (size_t)(stage_r ? stage_r : 1));
    CHECK(sc && rc && sd && rd && sstage && rstage, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle staging");
    TRY(count_rounds(comm, size, rank, chunk, scount, rcount, &rounds, e));
    MPI_CHECK(MPI_Type_contiguous((int)recsize, MPI_BYTE, &rt), e);
    MPI_CHECK(MPI_Type_commit(&rt), e);
    for (int64_t round = 0; round < rounds; round++) {
        int64_t off = round * chunk;
        int so = 0, ro = 0;
        for (int q = 0; q < size; q++) {
            int64_t s = q == rank ? 0 : scount[q] - off, r = q == rank ? 0 : rcount[q] - off;
            sc[q] = (int)(s <= 0 ? 0 : s < chunk ? s : chunk);
            rc[q] = (int)(r <= 0 ? 0 : r < chunk ? r : chunk);
            sd[q] = so;
            rd[q] = ro;
            if (sc[q]) pack(ctx, q, off, sc[q], sstage + recsize * (size_t)so);
            so += sc[q];
            ro += rc[q];
        }
        MPI_CHECK(MPI_Alltoallv(sstage, sc, sd, rt, rstage, rc, rd, rt, comm), e);
        for (int q = 0; q < size; q++)
            if (rc[q]) memcpy(out + recsize * (size_t)(rpos[q] + off), rstage + recsize * (size_t)rd[q], recsize * (size_t)rc[q]);
    }
    MPI_Type_free(&rt);
    free(sc); free(rc); free(sd); free(rd); free(sstage); free(rstage);
    return 0;
fail:
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    free(sc); free(rc); free(sd); free(rd); free(sstage); free(rstage);
    return -1;
}

/* shuffle_exchange(): records are gathered by index, grouped by destination */
typedef struct idx_pack {
    const char *base;
    size_t recsize;
    const int64_t *tgt, *sdispl;
} idx_pack;

static void pack_by_index(void *ctx, int q, int64_t off, int64_t n, char *dst)
{
    const idx_pack *p = ctx;
    for (int64_t k = 0; k < n; k++)
        memcpy(dst + p->recsize * (size_t)k, p->base + p->recsize * (size_t)p->tgt[p->sdispl[q] + off + k], p->recsize);
}

int shuffle_exchange(MPI_Comm comm, void *send, int64_t n, size_t recsize,
                     const int *dest, int64_t chunk, void **recv, int64_t *nrecv,
                     precis_err *e)
{
    int size, rank;
    int64_t *scount = NULL, *rcount = NULL, *sdispl = NULL, *rdispl = NULL, *fill = NULL;
    char *sorted = send, *out = NULL;
    int64_t *tgt = NULL;
    *recv = NULL;
    *nrecv = 0;
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    chunk = pick_chunk(chunk, recsize, size);
    scount = calloc((size_t)size, sizeof(int64_t));
    rcount = calloc((size_t)size, sizeof(int64_t));
    sdispl = calloc((size_t)size + 1, sizeof(int64_t));
    rdispl = calloc((size_t)size + 1, sizeof(int64_t));
    fill = calloc((size_t)size, sizeof(int64_t));
    CHECK(scount && rcount && sdispl && rdispl && fill, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle");
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
    out = malloc(recsize * (size_t)(*nrecv ? *nrecv : 1));
    CHECK(out, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)*nrecv);
    /* this rank's own records never pass through MPI */
    for (int64_t k = 0; k < scount[rank]; k++)
        memcpy(out + recsize * (size_t)(rdispl[rank] + k), sorted + recsize * (size_t)tgt[sdispl[rank] + k], recsize);
    idx_pack ip = {sorted, recsize, tgt, sdispl};
    TRY(exchange_rounds(comm, size, rank, recsize, chunk, scount, rcount, pack_by_index, &ip, out, rdispl, e));
    *recv = out;
    free(tgt);
    free(scount); free(rcount); free(sdispl); free(rdispl); free(fill);
    return 0;
fail:
    free(out); free(tgt);
    free(scount); free(rcount); free(sdispl); free(rdispl); free(fill);
    *nrecv = 0;
    return -1;
}

/* Give back the whole pages of [p + from, p + to) (records already sent). */
static void release_pages(char *p, size_t from, size_t to)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + from + pg - 1) / pg * pg, b = ((uintptr_t)p + to) / pg * pg;
    if (b > a) madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

/* shuffle_buckets(): each bucket is contiguous, and so is each source's
 * place in the result, so every round sends straight from the buckets and
 * receives straight into the result (point to point, no staging copies);
 * the pages of a bucket are given back once its round is sent. */
static int direct_rounds(MPI_Comm comm, int size, int rank, size_t recsize, int64_t chunk, void **bucket,
                         const int64_t *scount, const int64_t *rcount, char *out, const int64_t *rpos, precis_err *e)
{
    MPI_Datatype rt = MPI_DATATYPE_NULL;
    MPI_Request *req = malloc(sizeof(MPI_Request) * 2 * (size_t)size);
    int64_t rounds = 0;
    CHECK(req, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle");
    TRY(count_rounds(comm, size, rank, chunk, scount, rcount, &rounds, e));
    MPI_CHECK(MPI_Type_contiguous((int)recsize, MPI_BYTE, &rt), e);
    MPI_CHECK(MPI_Type_commit(&rt), e);
    for (int64_t round = 0; round < rounds; round++) {
        int64_t off = round * chunk;
        int nr = 0;
        for (int q = 0; q < size; q++) {
            int64_t r = q == rank ? 0 : rcount[q] - off;
            if (r > 0) MPI_CHECK(MPI_Irecv(out + recsize * (size_t)(rpos[q] + off), (int)(r < chunk ? r : chunk), rt, q, 0, comm, &req[nr++]), e);
        }
        for (int q = 0; q < size; q++) {
            int64_t n = q == rank ? 0 : scount[q] - off;
            if (n > 0) MPI_CHECK(MPI_Isend((char *)bucket[q] + recsize * (size_t)off, (int)(n < chunk ? n : chunk), rt, q, 0, comm, &req[nr++]), e);
        }
        MPI_CHECK(MPI_Waitall(nr, req, MPI_STATUSES_IGNORE), e);
        for (int q = 0; q < size; q++) {
            int64_t n = q == rank ? 0 : scount[q] - off;
            if (n > 0) release_pages(bucket[q], recsize * (size_t)off, recsize * (size_t)(off + (n < chunk ? n : chunk)));
        }
    }
    MPI_Type_free(&rt);
    free(req);
    return 0;
fail:
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    free(req);
    return -1;
}

int shuffle_buckets(MPI_Comm comm, void **bucket, const int64_t *count, size_t recsize, int64_t chunk,
                    void **recv, int64_t *nrecv, precis_err *e)
{
    int size = 0, rank = 0;
    int64_t *rcount = NULL, *rdispl = NULL;
    char *res = NULL;
    *recv = NULL;
    *nrecv = 0;
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    chunk = pick_chunk(chunk, recsize, size);
    rcount = calloc((size_t)size, sizeof(int64_t));
    rdispl = calloc((size_t)size + 1, sizeof(int64_t));
    CHECK(rcount && rdispl, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle");
    MPI_CHECK(MPI_Alltoall(count, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, comm), e);
    /* where each source's records go: this rank's own first, then the
     * others' in rank order */
    rdispl[rank] = 0;
    *nrecv = rcount[rank];
    for (int q = 0; q < size; q++)
        if (q != rank) {
            rdispl[q] = *nrecv;
            *nrecv += rcount[q];
        }
    /* the result grows out of this rank's own bucket, in place: its pages
     * are neither copied nor touched again, and others' records land after
     * them as they arrive */
    res = hugemem_realloc(bucket[rank], recsize * (size_t)*nrecv);
    CHECK(res, e, PRECIS_EXIT_INTERNAL, "out of memory in shuffle (%lld records)", (long long)*nrecv);
    bucket[rank] = NULL;
    TRY(direct_rounds(comm, size, rank, recsize, chunk, bucket, count, rcount, res, rdispl, e));
    for (int q = 0; q < size; q++) {
        hugemem_free(bucket[q]);
        bucket[q] = NULL;
    }
    *recv = res;
    res = NULL;
    free(rcount); free(rdispl);
    return 0;
fail:
    for (int q = 0; q < size; q++) {
        hugemem_free(bucket[q]);
        bucket[q] = NULL;
    }
    hugemem_free(res); free(rcount); free(rdispl);
    *nrecv = 0;
    return -1;
}
