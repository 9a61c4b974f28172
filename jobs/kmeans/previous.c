/* previous.c - stable segment IDs across quarters (precis-kmeans --previous).
 *
 * DESIGN
 * Last quarter's centroids in original units (/centroids_original) are
 * mapped into this quarter's standardised space with this quarter's
 * transform and scaler, and matched to the new centroids by an optimal
 * assignment (Hungarian, O(n^2 m)) on Euclidean distance. A matched new
 * segment takes the old ID; unmatched new segments get new IDs after the
 * largest old one. Rows of the model stay sorted by ID. Customers are joined
 * on (customer_key, customer_key_lo): both files are sorted by slot, so each
 * rank merge-joins its own slot range, and the transition counts are summed
 * as integers (P-invariant).
 */
#include "kmeans.h"
#include "h5io.h"
#include "log.h"
#include "slots.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Minimum-cost assignment of the n rows of cost (n x m, n <= m) to distinct
 * columns: col_of_row[i]. Potentials method; deterministic. Returns 0 or -1. */
int km_hungarian(const double *cost, int n, int m, int *col_of_row)
{
    double *u = calloc((size_t)n + 1, 8), *v = calloc((size_t)m + 1, 8), *minv = malloc(8 * ((size_t)m + 1));
    int *p = calloc((size_t)m + 1, sizeof(int)), *way = calloc((size_t)m + 1, sizeof(int));
    char *used = malloc((size_t)m + 1);
    int rc = -1;
    if (!u || !v || !minv || !p || !way || !used || n > m) goto out;
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= m; j++) { minv[j] = INFINITY; used[j] = 0; }
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = -1;
            double delta = INFINITY;
            for (int j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = cost[(size_t)(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                if (minv[j] < delta) { delta = minv[j]; j1 = j; }
            }
            if (j1 < 0) goto out;
            for (int j = 0; j <= m; j++) {
                if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                else minv[j] -= delta;
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (int j = 1; j <= m; j++)
        if (p[j]) col_of_row[p[j] - 1] = j - 1;
    rc = 0;
out:
    free(u); free(v); free(minv); free(p); free(way); free(used);
    return rc;
}

static int same_attr(h5io_file *f, const char *obj, const char *name, const char *want)
{
    precis_err e2;
    char *got = NULL;
    perr_clear(&e2);
    int same = h5io_attr_get_str(f, obj, name, &got, &e2) == 0 ? !strcmp(got, want ? want : "") : !want || !*want;
    free(got);
    return same;
}

int km_previous(km_prev *pv, MPI_Comm comm, const char *path, int64_t K, int64_t D, const char *cols, const char *transform,
                const char *fp, const double *smean, const double *sstd, const double *C, precis_err *e)
{
    h5io_file *f = NULL;
    int64_t Ko = 0, d2 = 0;
    double *old = NULL, *cost = NULL;
    int32_t *oid = NULL;
    int *match = NULL;
    memset(pv, 0, sizeof *pv);
    TRY(h5io_open(comm, path, 0, &f, e));
    CHECK(same_attr(f, "/model", "columns", cols), e, PRECIS_EXIT_DATA,
          "--previous %s: its feature columns differ from this input's (%s); segment IDs can only be carried over between the same features",
          path, cols ? cols : "none");
    CHECK(same_attr(f, "/model", "transform", transform), e, PRECIS_EXIT_DATA,
          "--previous %s: its feature transform differs from this input's (%s)", path, transform ? transform : "none");
    CHECK(same_attr(f, "/", "key_fingerprint", fp), e, PRECIS_EXIT_DATA,
          "--previous %s: its key_fingerprint differs: it was built with another PII key, so customers cannot be joined", path);
    TRY(h5io_dims(f, "/centroids_original", &Ko, &d2, e));
    CHECK(d2 == D && Ko >= 1, e, PRECIS_EXIT_DATA, "--previous %s: /centroids_original is %lld x %lld, not k x %lld", path,
          (long long)Ko, (long long)d2, (long long)D);
    old = malloc(8 * (size_t)(Ko * D));
    oid = malloc(4 * (size_t)Ko);
    CHECK(old && oid, e, PRECIS_EXIT_INTERNAL, "out of memory");
    TRY(h5io_read_rows(f, "/centroids_original", H5T_NATIVE_DOUBLE, 0, Ko, old, e));
    if (h5io_exists(f, "/segment_ids")) TRY(h5io_read_rows(f, "/segment_ids", H5T_NATIVE_INT32, 0, Ko, oid, e));
    else
        for (int64_t i = 0; i < Ko; i++) oid[i] = (int32_t)i;
    /* old centroids -> this quarter's standardised space */
    for (int64_t i = 0; i < Ko; i++) {
        const char *tp = transform;
        for (int64_t d = 0; d < D; d++) {
            double v = old[i * D + d];
            if (tp && !strncmp(tp, "log1p", 5)) v = log1p(v);
            old[i * D + d] = (v - smean[d]) / (sstd[d] > 0 ? sstd[d] : 1.0);
            if (tp) { tp = strchr(tp, ','); if (tp) tp++; }
        }
    }
    /* optimal assignment on Euclidean distance; the smaller side is the rows */
    int64_t n = Ko < K ? Ko : K, mm = Ko < K ? K : Ko;
    cost = malloc(8 * (size_t)(n * mm));
    match = malloc(sizeof(int) * (size_t)n);
    pv->prev_id = malloc(4 * (size_t)K);
    pv->dist = malloc(8 * (size_t)K);
    pv->id = malloc(4 * (size_t)K);
    CHECK(cost && match && pv->prev_id && pv->dist && pv->id, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = 0; b < mm; b++) {
            int64_t io = Ko < K ? a : b, jn = Ko < K ? b : a;
            double s = 0;
            for (int64_t d = 0; d < D; d++) s += (old[io * D + d] - C[jn * D + d]) * (old[io * D + d] - C[jn * D + d]);
            cost[a * mm + b] = sqrt(s);
        }
    CHECK(km_hungarian(cost, (int)n, (int)mm, match) == 0, e, PRECIS_EXIT_INTERNAL, "assignment failed");
    int32_t maxold = -1;
    for (int64_t i = 0; i < Ko; i++)
        if (oid[i] > maxold) maxold = oid[i];
    for (int64_t j = 0; j < K; j++) { pv->prev_id[j] = -1; pv->dist[j] = NAN; }
    for (int64_t a = 0; a < n; a++) {
        int64_t io = Ko < K ? a : match[a], jn = Ko < K ? match[a] : a;
        pv->prev_id[jn] = oid[io];
        pv->dist[jn] = cost[a * mm + match[a]];
    }
    int32_t next = maxold + 1;
    for (int64_t j = 0; j < K; j++) pv->id[j] = pv->prev_id[j] >= 0 ? pv->prev_id[j] : next++;
    pv->n_old_ids = maxold + 1;
    pv->n_new_ids = 0;
    for (int64_t j = 0; j < K; j++)
        if (pv->id[j] + 1 > pv->n_new_ids) pv->n_new_ids = pv->id[j] + 1;
    pv->file = f;
    f = NULL;
    free(old); free(cost); free(match); free(oid);
    return precis_agree(comm, e);
fail:
    if (f) h5io_close(f);
    free(old); free(cost); free(match); free(oid);
    precis_agree(comm, e);
    return -1;
}

int km_transitions(km_prev *pv, MPI_Comm comm, int rank, int size, int64_t S, const uint64_t *keys, const uint64_t *keys_lo,
                   const int32_t *ids, int64_t n, precis_err *e)
{
    int64_t lo, hi, off = 0, cnt = 0, So = 0;
    uint64_t *ok = NULL, *okl = NULL;
    int32_t *ol = NULL;
    h5io_file *f = pv->file;
    pv->trans = calloc((size_t)(pv->n_old_ids * pv->n_new_ids + 1), 8);
    if (!pv->trans) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(comm, e)) return -1;
    if (!keys || !h5io_exists(f, "/customers/slot_offsets") || h5io_attr_get_i64(f, "/customers", "slots", &So, e) || So != S) {
        perr_clear(e);
        LOG_WARN("--previous: no customer keys with the same slots in both files; no transition matrix");
        return 0;
    }
    slots_range(rank, size, S, &lo, &hi);
    if (h5io_slot_rows(f, "/customers", lo, hi, &off, &cnt, e)) goto agree;
    ok = malloc(8 * (size_t)(cnt + 1)); okl = malloc(8 * (size_t)(cnt + 1)); ol = malloc(4 * (size_t)(cnt + 1));
    if (!ok || !okl || !ol) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto agree; }
    if (h5io_read_rows(f, "/customers/customer_key", H5T_NATIVE_UINT64, off, cnt, ok, e) ||
        h5io_read_rows(f, "/customers/customer_key_lo", H5T_NATIVE_UINT64, off, cnt, okl, e) ||
        h5io_read_rows(f, "/labels", H5T_NATIVE_INT32, off, cnt, ol, e))
        goto agree;
agree:
    if (precis_agree(comm, e)) goto out;
    int64_t c[3] = {0, 0, 0};   /* both, only new, only old */
    for (int64_t i = 0, j = 0; i < n || j < cnt;) {
        int cmp;
        if (i >= n) cmp = 1;
        else if (j >= cnt) cmp = -1;
        else {
            int64_t si = slots_of(keys[i], S), sj = slots_of(ok[j], S);
            cmp = si != sj ? (si < sj ? -1 : 1) : keys[i] != ok[j] ? (keys[i] < ok[j] ? -1 : 1)
                                                 : keys_lo[i] != okl[j] ? (keys_lo[i] < okl[j] ? -1 : 1) : 0;
        }
        if (cmp == 0) {
            if (ol[j] >= 0 && ol[j] < pv->n_old_ids) pv->trans[(int64_t)ol[j] * pv->n_new_ids + ids[i]]++;
            c[0]++; i++; j++;
        } else if (cmp < 0) { c[1]++; i++; }
        else { c[2]++; j++; }
    }
    if (MPI_Allreduce(MPI_IN_PLACE, pv->trans, (int)(pv->n_old_ids * pv->n_new_ids), MPI_INT64_T, MPI_SUM, comm) != MPI_SUCCESS ||
        MPI_Allreduce(MPI_IN_PLACE, c, 3, MPI_INT64_T, MPI_SUM, comm) != MPI_SUCCESS) {
        PERR(e, PRECIS_EXIT_INTERNAL, "MPI_Allreduce of the transition matrix failed");
        goto out;
    }
    pv->both = c[0]; pv->only_new = c[1]; pv->only_old = c[2];
    int64_t stay = 0;
    for (int64_t a = 0; a < pv->n_old_ids && a < pv->n_new_ids; a++) stay += pv->trans[a * pv->n_new_ids + a];
    pv->changed_share = c[0] ? (double)(c[0] - stay) / (double)c[0] : 0;
    pv->have_trans = 1;
    LOG_INFO("--previous: %lld customers in both quarters, %.4f changed segment; %lld new, %lld gone",
             (long long)c[0], pv->changed_share, (long long)c[1], (long long)c[2]);
out:
    free(ok); free(okl); free(ol);
    return e->code ? -1 : 0;
}

void km_prev_free(km_prev *pv)
{
    if (pv->file) h5io_close(pv->file);
    free(pv->prev_id); free(pv->dist); free(pv->id); free(pv->trans);
    memset(pv, 0, sizeof *pv);
}
