/* route.c - precomputed row exchange (see route.h). */
#include "route.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void route_free(route *rt)
{
    free(rt->scount); free(rt->sdispl); free(rt->rcount); free(rt->rdispl);
    free(rt->send_idx); free(rt->perm);
    memset(rt, 0, sizeof *rt);
}

int route_build(MPI_Comm comm, const int64_t *need, const int *owner, int64_t n,
                route_lidx_fn lidx, const void *ctx, route *rt, precis_err *e)
{
    int size, rank, ok = 1;
    int64_t *req = NULL, *got = NULL, *fill = NULL;
    memset(rt, 0, sizeof *rt);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    rt->size = size;
    rt->scount = calloc((size_t)size, sizeof(int));
    rt->sdispl = calloc((size_t)size + 1, sizeof(int));
    rt->rcount = calloc((size_t)size, sizeof(int));
    rt->rdispl = calloc((size_t)size + 1, sizeof(int));
    rt->perm = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    req = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    fill = calloc((size_t)size + 1, sizeof(int64_t));
    if (!rt->scount || !rt->sdispl || !rt->rcount || !rt->rdispl || !rt->perm || !req || !fill || n > INT_MAX) ok = 0;
    for (int64_t k = 0; ok && k < n; k++) {
        if (owner[k] < 0 || owner[k] >= size) ok = 0;
        else fill[owner[k] + 1]++;
    }
    if (ok) {
        /* counting sort of the requests by owner (stable: need order within an owner) */
        for (int r = 0; r < size; r++) {
            rt->rcount[r] = (int)fill[r + 1];
            fill[r + 1] += fill[r];
            rt->rdispl[r + 1] = (int)fill[r + 1];
        }
        for (int64_t k = 0; k < n; k++) {
            int64_t pos = fill[owner[k]]++;
            req[pos] = need[k];
            rt->perm[pos] = k;
        }
    }
    if (precis_agree(comm, e) || !ok) {
        if (!e->code) PERR(e, PRECIS_EXIT_INTERNAL, "route: out of memory or bad owner");
        precis_agree(comm, e);
        goto fail;
    }
    rt->nrecv = n;
    MPI_CHECK(MPI_Alltoall(rt->rcount, 1, MPI_INT, rt->scount, 1, MPI_INT, comm), e);
    int64_t ns = 0;
    for (int r = 0; r < size; r++) {
        ns += rt->scount[r];
        if (ns > INT_MAX) ok = 0;
        else rt->sdispl[r + 1] = (int)ns;
        if (r != rank) rt->remote_rows += rt->scount[r];
    }
    rt->nsend = ns;
    got = ok ? malloc(sizeof(int64_t) * (size_t)(ns ? ns : 1)) : NULL;
    rt->send_idx = ok ? malloc(sizeof(int64_t) * (size_t)(ns ? ns : 1)) : NULL;
    if (!got || !rt->send_idx) ok = 0;
    if (!ok) PERR(e, PRECIS_EXIT_INTERNAL, "route: out of memory (%lld rows requested of this rank)", (long long)ns);
    if (precis_agree(comm, e)) goto fail;
    MPI_CHECK(MPI_Alltoallv(req, rt->rcount, rt->rdispl, MPI_INT64_T, got, rt->scount, rt->sdispl, MPI_INT64_T, comm), e);
    for (int64_t k = 0; k < ns; k++) {
        rt->send_idx[k] = lidx(got[k], ctx);
        if (rt->send_idx[k] < 0 && ok) {
            ok = 0;
            PERR(e, PRECIS_EXIT_INTERNAL, "route: rank %d was asked for id %lld that it does not hold", rank, (long long)got[k]);
        }
    }
    free(req); free(got); free(fill);
    return precis_agree(comm, e) ? (route_free(rt), -1) : 0;
fail:
    free(req); free(got); free(fill);
    route_free(rt);
    return -1;
}

/* Row k of src through float32 when the move rounds (as on the wire). */
static void copy_row(double *d, const double *s, int f, int as_float)
{
    if (as_float) for (int j = 0; j < f; j++) d[j] = (double)(float)s[j];
    else memcpy(d, s, sizeof(double) * (size_t)f);
}

int route_move(MPI_Comm comm, const route *rt, const double *src, int f, int as_float,
               double *dst, precis_err *e)
{
    MPI_Datatype row = MPI_DATATYPE_NULL;
    int me = 0;
    MPI_Comm_rank(comm, &me);
    size_t esz = as_float ? sizeof(float) : sizeof(double);
    /* the buffers keep the route's layout; this rank's own rows skip them
     * (pages never touched cost nothing) */
    char *sb = malloc(esz * (size_t)f * (size_t)(rt->nsend ? rt->nsend : 1));
    char *rb = malloc(esz * (size_t)f * (size_t)(rt->nrecv ? rt->nrecv : 1));
    int *sc = malloc(sizeof(int) * (size_t)rt->size), *rc = malloc(sizeof(int) * (size_t)rt->size);
    int ok = sb && rb && sc && rc;
    if (!ok) PERR(e, PRECIS_EXIT_INTERNAL, "route: out of memory moving %lld rows", (long long)rt->nrecv);
    if (precis_agree(comm, e)) goto fail;
    memcpy(sc, rt->scount, sizeof(int) * (size_t)rt->size);
    memcpy(rc, rt->rcount, sizeof(int) * (size_t)rt->size);
    sc[me] = rc[me] = 0;
    for (int64_t k = 0; k < rt->scount[me]; k++)
        copy_row(dst + rt->perm[rt->rdispl[me] + k] * f, src + rt->send_idx[rt->sdispl[me] + k] * f, f, as_float);
    for (int64_t k = 0; k < rt->nsend; k++) {
        if (k == rt->sdispl[me]) k += rt->scount[me];
        if (k >= rt->nsend) break;
        const double *s = src + rt->send_idx[k] * f;
        if (as_float) {
            float *d = (float *)sb + k * f;
            for (int j = 0; j < f; j++) d[j] = (float)s[j];
        } else {
            memcpy((double *)sb + k * f, s, sizeof(double) * (size_t)f);
        }
    }
    MPI_CHECK(MPI_Type_contiguous(f, as_float ? MPI_FLOAT : MPI_DOUBLE, &row), e);
    MPI_CHECK(MPI_Type_commit(&row), e);
    MPI_CHECK(MPI_Alltoallv(sb, sc, rt->sdispl, row, rb, rc, rt->rdispl, row, comm), e);
    MPI_Type_free(&row);
    for (int64_t k = 0; k < rt->nrecv; k++) {
        if (k == rt->rdispl[me]) k += rt->rcount[me];
        if (k >= rt->nrecv) break;
        double *d = dst + rt->perm[k] * f;
        if (as_float) {
            const float *s = (const float *)rb + k * f;
            for (int j = 0; j < f; j++) d[j] = (double)s[j];
        } else {
            memcpy(d, (double *)rb + k * f, sizeof(double) * (size_t)f);
        }
    }
    free(sb); free(rb); free(sc); free(rc);
    return 0;
fail:
    if (row != MPI_DATATYPE_NULL) MPI_Type_free(&row);
    free(sb); free(rb); free(sc); free(rc);
    return -1;
}
