/* kmeans.c - precis-kmeans: Lloyd k-means whose every byte is P-invariant.
 *
 * DESIGN
 * Rows are split by the input's slot_offsets (when its row keys have them)
 * or in even blocks; each rank knows its global row offset. Everything
 * random is drawn from Philox streams keyed by (seed, run, purpose), and
 * sampling picks global row indices from exact integer prefix sums, so the
 * init is the same at any P. Each iteration assigns points to the nearest
 * centroid (one distance kernel; ties to the lowest index), and the new
 * centroids are exact sums (common/reduce) divided once. An empty cluster
 * is re-seeded with the point farthest from its centroid (ties: lowest
 * global row). Convergence is scikit-learn's: shift = sum_k |c_k' - c_k|^2
 * <= tol * mean per-feature variance of X. The state after an iteration is
 * only the centroids, so a checkpoint (run, iteration, centroids, history,
 * best run so far) resumes at any rank count with identical output.
 */
#include "kmeans.h"
#include "check.h"
#include "ckpt.h"
#include "h5io.h"
#include "job.h"
#include "log.h"
#include "opts.h"
#include "reduce.h"
#include "rng.h"
#include "slots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct km_opts {
    char *in, *out, *init, *model, *k_range, *previous, *algorithm;
    int predict;
    int64_t k, n_init, max_iter, sample_sil, checkpoint_every;
    double tol;
    opt_common c;
} km_opts;

typedef struct km {
    MPI_Comm comm;
    int rank, size;
    int64_t n, N, off, D, K;   /* local rows, global rows, my first global row, dims, clusters */
    double *X;                 /* n x D */
    int64_t *offs;             /* size+1 global row offsets per rank */
    uint64_t seed;
} km;

/* checkpointed state: the position in a --k-range sweep (pass 0 scores every
 * k, pass 1 fits the chosen k), then the state of the current fit */
typedef struct km_sweep {
    int64_t pass, kk, nsel, chosen;
} km_sweep;

typedef struct km_state {
    int64_t run, iter, best_run, best_iters, done;
    double best_inertia;
} km_state;

static inline double dist2(const double *x, const double *c, int64_t D)
{
    double s = 0;
    for (int64_t d = 0; d < D; d++) {
        double t = x[d] - c[d];
        s += t * t;
    }
    return s;
}

static inline int nearest(const double *x, const double *C, int64_t K, int64_t D, double *best)
{
    int b = 0;
    double bd = dist2(x, C, D);
    for (int64_t k = 1; k < K; k++) {
        double dd = dist2(x, C + k * D, D);
        if (dd < bd) { bd = dd; b = (int)k; }
    }
    *best = bd;
    return b;
}

/* Copy global row g into out (every rank gets it). */
static int fetch_row(km *m, int64_t g, double *out, precis_err *e)
{
    int owner = 0;
    while (owner + 1 < m->size && g >= m->offs[owner + 1]) owner++;
    if (owner == m->rank) memcpy(out, m->X + (g - m->off) * m->D, sizeof(double) * (size_t)m->D);
    MPI_CHECK(MPI_Bcast(out, (int)m->D, MPI_DOUBLE, owner, m->comm), e);
    return 0;
fail:
    return -1;
}

/* Pick a global row with probability proportional to w (exact int64 weights). */
static int pick_weighted(km *m, const uint64_t *w, double u, int64_t *row, precis_err *e)
{
    uint64_t lw = 0, tot = 0, before = 0;
    for (int64_t i = 0; i < m->n; i++) lw += w[i];
    MPI_CHECK(MPI_Allreduce(&lw, &tot, 1, MPI_UINT64_T, MPI_SUM, m->comm), e);
    MPI_CHECK(MPI_Exscan(&lw, &before, 1, MPI_UINT64_T, MPI_SUM, m->comm), e);
    if (m->rank == 0) before = 0;
    if (tot == 0) { *row = (int64_t)(u * (double)m->N); if (*row >= m->N) *row = m->N - 1; return 0; }
    uint64_t t = (uint64_t)((unsigned __int128)(u * 9007199254740992.0) * tot >> 53); /* floor(u * tot) */
    int64_t mine = -1;
    if (t >= before && t < before + lw) {
        uint64_t acc = before;
        for (int64_t i = 0; i < m->n; i++) {
            acc += w[i];
            if (acc > t) { mine = m->off + i; break; }
        }
    }
    MPI_CHECK(MPI_Allreduce(&mine, row, 1, MPI_INT64_T, MPI_MAX, m->comm), e);
    return 0;
fail:
    return -1;
}


#define PAR_ROUNDS 5

/* k-means|| (Bahmani et al.): a uniform first candidate, then PAR_ROUNDS
 * rounds in which every row joins independently with probability
 * min(1, l d^2 / psi), l = 2k, its draw keyed by (seed, run, row, round);
 * candidates are weighted by the rows nearest to them (integer counts) and
 * reduced to k centres by a weighted k-means++ and 10 weighted Lloyd steps,
 * computed identically on every rank. psi is an exact sum, candidates are
 * gathered in global row order: the same at any P. */
static int init_par(km *m, int64_t run, gsl_rng *r, double *C, precis_err *e)
{
    int64_t K = m->K, D = m->D, nc = 1, cap = 64;
    double *cand = malloc(8 * (size_t)(cap * D)), *d2 = malloc(8 * (size_t)(m->n + 1)), *sel = NULL, *cw = NULL, *cd = NULL;
    int *cnt = malloc(sizeof(int) * (size_t)m->size), *dsp = malloc(sizeof(int) * (size_t)m->size);
    int64_t *w = NULL;
    gsl_rng *rr = rng_new(0, 0, 0);
    MPI_Datatype row = MPI_DATATYPE_NULL;
    int rc = -1;
    double psi;
    CHECK(cand && d2 && cnt && dsp && rr, e, PRECIS_EXIT_INTERNAL, "out of memory");
    MPI_CHECK(MPI_Type_contiguous((int)D, MPI_DOUBLE, &row), e);
    MPI_CHECK(MPI_Type_commit(&row), e);
    int64_t first = (int64_t)(gsl_rng_uniform(r) * (double)m->N);
    TRY(fetch_row(m, first < m->N ? first : m->N - 1, cand, e));
    for (int64_t i = 0; i < m->n; i++) d2[i] = dist2(m->X + i * D, cand, D);
    TRY(reduce_sum(m->comm, d2, m->n, &psi, e));
    uint64_t seed = m->seed ^ rng_mix64((uint64_t)run + 1);
    for (int round = 0; round < PAR_ROUNDS && psi > 0; round++) {
        int64_t ns = 0;
        free(sel);
        sel = malloc(8 * (size_t)(m->n * D + 1));
        CHECK(sel, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t i = 0; i < m->n; i++) {
            rng_key(rr, seed, (uint64_t)(m->off + i), rng_purpose("kmeans-par") + (uint64_t)round);
            double p = 2.0 * (double)K * d2[i] / psi;
            if (gsl_rng_uniform(rr) < p) memcpy(sel + (ns++) * D, m->X + i * D, 8 * (size_t)D);
        }
        int mine = (int)ns, tot = 0;
        MPI_CHECK(MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, m->comm), e);
        for (int q = 0; q < m->size; q++) { dsp[q] = tot; tot += cnt[q]; }
        if (nc + tot > cap) {
            while (nc + tot > cap) cap *= 2;
            double *t = realloc(cand, 8 * (size_t)(cap * D));
            CHECK(t, e, PRECIS_EXIT_INTERNAL, "out of memory");
            cand = t;
        }
        MPI_CHECK(MPI_Allgatherv(sel, mine, row, cand + nc * D, cnt, dsp, row, m->comm), e);
        for (int64_t i = 0; i < m->n; i++)
            for (int64_t c = nc; c < nc + tot; c++) {
                double dd = dist2(m->X + i * D, cand + c * D, D);
                if (dd < d2[i]) d2[i] = dd;
            }
        nc += tot;
        TRY(reduce_sum(m->comm, d2, m->n, &psi, e));
    }
    /* weights: rows nearest to each candidate (ties: lowest candidate) */
    w = calloc((size_t)nc, 8);
    cw = malloc(8 * (size_t)nc);
    cd = malloc(8 * (size_t)nc);
    CHECK(w && cw && cd, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < m->n; i++) {
        double dd;
        w[nearest(m->X + i * D, cand, nc, D, &dd)]++;
    }
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, w, (int)nc, MPI_INT64_T, MPI_SUM, m->comm), e);
    LOG_DEBUG("k-means|| run %lld: %lld candidates after %d rounds", (long long)run, (long long)nc, PAR_ROUNDS);
    /* weighted k-means++ over the candidates (serial, the same on every rank):
     * cd = squared distance to the nearest chosen centre, sel = weights */
    free(sel);
    sel = malloc(8 * (size_t)nc);
    CHECK(sel, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t c = 0; c < nc; c++) {
        cw[c] = (double)w[c];
        cd[c] = INFINITY;
    }
    for (int64_t k = 0; k < K; k++) {
        double tot = 0;
        for (int64_t c = 0; c < nc; c++) {
            sel[c] = k == 0 ? cw[c] : cw[c] * cd[c];
            tot += sel[c];
        }
        int64_t pick = k % nc;
        if (tot > 0) {
            double u = gsl_rng_uniform(r) * tot;
            pick = nc - 1;
            for (int64_t c = 0; c < nc; c++) {
                if (u < sel[c]) { pick = c; break; }
                u -= sel[c];
            }
        }
        memcpy(C + k * D, cand + pick * D, 8 * (size_t)D);
        for (int64_t c = 0; c < nc; c++) {
            double dd = dist2(cand + c * D, C + k * D, D);
            if (dd < cd[c]) cd[c] = dd;
        }
    }
    /* weighted Lloyd steps on the candidates */
    for (int it = 0; it < 10; it++) {
        double *sum = calloc((size_t)(K * D), 8), *ws = calloc((size_t)K, 8);
        CHECK(sum && ws, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t c = 0; c < nc; c++) {
            double dd;
            int b = nearest(cand + c * D, C, K, D, &dd);
            ws[b] += cw[c];
            for (int64_t d = 0; d < D; d++) sum[b * D + d] += cw[c] * cand[c * D + d];
        }
        for (int64_t k = 0; k < K; k++)
            if (ws[k] > 0)
                for (int64_t d = 0; d < D; d++) C[k * D + d] = sum[k * D + d] / ws[k];
        free(sum);
        free(ws);
    }
    rc = 0;
fail:
    if (row != MPI_DATATYPE_NULL) MPI_Type_free(&row);
    if (rr) gsl_rng_free(rr);
    free(cand); free(d2); free(sel); free(cw); free(cd); free(w); free(cnt); free(dsp);
    return rc;
}

/* k-means++ (D^2 sampling) or random rows; deterministic at any P. */
static int init_centroids(km *m, const char *method, int64_t run, double *C, precis_err *e)
{
    gsl_rng *r = rng_new(m->seed, (uint64_t)run, rng_purpose("kmeans-init"));
    double *d2 = malloc(sizeof(double) * (size_t)(m->n ? m->n : 1));
    uint64_t *w = malloc(sizeof(uint64_t) * (size_t)(m->n ? m->n : 1));
    int64_t row;
    int rc = -1;
    CHECK(r && d2 && w, e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (!strcmp(method, "kmeans-par")) {
        rc = init_par(m, run, r, C, e);
        goto fail;
    }
    if (!strcmp(method, "random")) {
        /* K distinct rows (or with repeats if N < K), by rejection over global indices */
        int64_t *chosen = malloc(sizeof(int64_t) * (size_t)m->K);
        CHECK(chosen, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t k = 0; k < m->K; k++) {
            int again;
            do {
                row = (int64_t)(gsl_rng_uniform(r) * (double)m->N);
                again = 0;
                for (int64_t j = 0; j < k && m->N >= m->K; j++) again |= chosen[j] == row;
            } while (again);
            chosen[k] = row;
            if (fetch_row(m, row, C + k * m->D, e)) { free(chosen); goto fail; }
        }
        free(chosen);
    } else {
        row = (int64_t)(gsl_rng_uniform(r) * (double)m->N);
        TRY(fetch_row(m, row, C, e));
        for (int64_t i = 0; i < m->n; i++) d2[i] = dist2(m->X + i * m->D, C, m->D);
        for (int64_t k = 1; k < m->K; k++) {
            double mx = 0, gmx = 0;
            for (int64_t i = 0; i < m->n; i++) mx = d2[i] > mx ? d2[i] : mx;
            MPI_CHECK(MPI_Allreduce(&mx, &gmx, 1, MPI_DOUBLE, MPI_MAX, m->comm), e);
            /* integer weights: exact sums, no dependence on P or order */
            double scale = gmx > 0 ? (double)(INT64_C(1) << 30) / gmx : 0;
            for (int64_t i = 0; i < m->n; i++) w[i] = (uint64_t)llround(d2[i] * scale);
            TRY(pick_weighted(m, w, gsl_rng_uniform(r), &row, e));
            TRY(fetch_row(m, row, C + k * m->D, e));
            for (int64_t i = 0; i < m->n; i++) {
                double dd = dist2(m->X + i * m->D, C + k * m->D, m->D);
                if (dd < d2[i]) d2[i] = dd;
            }
        }
    }
    rc = 0;
fail:
    if (r) gsl_rng_free(r);
    free(d2);
    free(w);
    return rc;
}

/* Hamerly's bounds (one lower bound per point) with exact per-cluster sums
 * kept incrementally: a point that keeps its centroid costs one distance and
 * no sum update. */
typedef struct hamerly {
    int valid;        /* bounds and sums describe the current labels */
    double *l;        /* n: lower bound on the distance to every other centroid */
    racc *S;          /* K*D: exact local sums of the points of each cluster */
    int64_t *cnt;     /* K: local counts */
    double *Cprev;    /* K*D: the centroids the bounds refer to */
    racc *tmp;        /* K*D + 1: scratch for the allreduce */
} hamerly;

/* nearest and second-nearest squared distances; the same choice as nearest() */
static inline int nearest2(const double *x, const double *C, int64_t K, int64_t D, double *best, double *second)
{
    int b = 0;
    double bd = dist2(x, C, D), sd = INFINITY;
    for (int64_t k = 1; k < K; k++) {
        double dd = dist2(x, C + k * D, D);
        if (dd < bd) { sd = bd; bd = dd; b = (int)k; }
        else if (dd < sd) sd = dd;
    }
    *best = bd;
    *second = sd;
    return b;
}

/* One Lloyd step: labels, exact sums, new centroids, inertia, empty-cluster
 * re-seeding. Returns the inertia of the labels w.r.t. the old centroids.
 * With H (Hamerly), a point is re-examined only when its distance to its own
 * centroid exceeds, by a relative margin of 1e-9 (far above rounding), the
 * larger of its lower bound and half the distance from that centroid to the
 * nearest other one; every examined point uses the same kernel as Lloyd, so
 * labels, sums and centroids are the same bits as Lloyd's. */
static int lloyd_step(km *m, const double *C, double *Cn, int32_t *lab, double *inertia, hamerly *H, int first,
                      int64_t *moved, precis_err *e)
{
    int64_t K = m->K, D = m->D, full = 0, nmoved = 0;
    racc *acc = H ? H->tmp : calloc((size_t)(K * D + 1), sizeof(racc));
    int64_t *cnt = H ? H->cnt : calloc((size_t)K, sizeof(int64_t)), *gcnt = calloc((size_t)K, sizeof(int64_t));
    double *sums = malloc(sizeof(double) * (size_t)(K * D + 1)), *dmin = malloc(sizeof(double) * (size_t)(m->n ? m->n : 1));
    double *half = malloc(sizeof(double) * (size_t)K), *delta = malloc(sizeof(double) * (size_t)K);
    int rc = -1;
    CHECK(acc && cnt && gcnt && sums && dmin && half && delta, e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (!H) {
        for (int64_t i = 0; i < m->n; i++) {
            const double *x = m->X + i * D;
            int b = nearest(x, C, K, D, &dmin[i]);
            nmoved += first || b != lab[i];
            lab[i] = b;
            cnt[b]++;
            for (int64_t d = 0; d < D; d++) racc_add(&acc[b * D + d], x[d]);
            racc_add(&acc[K * D], dmin[i]);
        }
    } else {
        racc ia;
        racc_init(&ia);
        if (!H->valid) {
            for (int64_t t = 0; t < K * D; t++) racc_init(&H->S[t]);
            memset(cnt, 0, sizeof(int64_t) * (size_t)K);
        }
        /* centroid moves since the bounds were set, and half-distances to the nearest other centroid */
        double dmax = 0, dmax2 = 0;
        int64_t kmax = -1;
        for (int64_t k = 0; k < K; k++) {
            delta[k] = H->valid ? sqrt(dist2(C + k * D, H->Cprev + k * D, D)) : 0;
            if (delta[k] > dmax) { dmax2 = dmax; dmax = delta[k]; kmax = k; }
            else if (delta[k] > dmax2) dmax2 = delta[k];
            half[k] = INFINITY;
            for (int64_t j = 0; j < K; j++)
                if (j != k) {
                    double h = 0.5 * sqrt(dist2(C + k * D, C + j * D, D));
                    if (h < half[k]) half[k] = h;
                }
        }
        for (int64_t i = 0; i < m->n; i++) {
            const double *x = m->X + i * D;
            if (H->valid) {
                int a = lab[i];
                double da = dist2(x, C + a * D, D);
                H->l[i] -= a == kmax ? dmax2 : dmax;
                double bound = H->l[i] > half[a] ? H->l[i] : half[a];
                if (sqrt(da) <= bound * (1.0 - 1e-9)) {
                    dmin[i] = da;
                    racc_add(&ia, da);
                    continue;
                }
            }
            full++;
            double d1, d2;
            int b = nearest2(x, C, K, D, &d1, &d2);
            dmin[i] = d1;
            H->l[i] = sqrt(d2);
            racc_add(&ia, d1);
            nmoved += first || b != lab[i];
            if (!H->valid || b != lab[i]) {
                if (H->valid) {
                    for (int64_t d = 0; d < D; d++) racc_add(&H->S[lab[i] * D + d], -x[d]);
                    cnt[lab[i]]--;
                }
                for (int64_t d = 0; d < D; d++) racc_add(&H->S[b * D + d], x[d]);
                cnt[b]++;
                lab[i] = b;
            }
        }
        H->valid = 1;
        memcpy(H->Cprev, C, sizeof(double) * (size_t)(K * D));
        memcpy(acc, H->S, sizeof(racc) * (size_t)(K * D));   /* the allreduce works in place */
        acc[K * D] = ia;
        LOG_DEBUG("hamerly: %lld of %lld points re-examined", (long long)full, (long long)m->n);
    }
    MPI_CHECK(MPI_Allreduce(cnt, gcnt, (int)K, MPI_INT64_T, MPI_SUM, m->comm), e);
    MPI_CHECK(MPI_Allreduce(&nmoved, moved, 1, MPI_INT64_T, MPI_SUM, m->comm), e);
    TRY(reduce_allreduce(m->comm, acc, K * D + 1, sums, "centroid sums", e));
    *inertia = sums[K * D];
    for (int64_t k = 0; k < K; k++)
        for (int64_t d = 0; d < D; d++)
            Cn[k * D + d] = gcnt[k] ? sums[k * D + d] / (double)gcnt[k] : C[k * D + d];
    for (int64_t k = 0; k < K; k++) {
        if (gcnt[k]) continue;
        /* re-seed with the point farthest from its centroid; ties: lowest global row */
        struct { double v; int r; } in = {-1.0, m->rank}, out;
        int64_t best = -1;
        for (int64_t i = 0; i < m->n; i++)
            if (dmin[i] > in.v) { in.v = dmin[i]; best = i; }
        MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, m->comm), e);
        int64_t g = out.r == m->rank ? m->off + best : 0, gg = 0;
        MPI_CHECK(MPI_Allreduce(&g, &gg, 1, MPI_INT64_T, MPI_SUM, m->comm), e);
        TRY(fetch_row(m, gg, Cn + k * D, e));
        if (out.r == m->rank) dmin[best] = -1.0; /* not chosen twice */
        LOG_INFO("cluster %lld was empty: re-seeded with row %lld", (long long)k, (long long)gg);
    }
    rc = 0;
fail:
    if (!H) { free(acc); free(cnt); }
    free(gcnt); free(sums); free(dmin); free(half); free(delta);
    return rc;
}

/* Copy the n parts to (out=1) or from (out=0) a checkpoint blob. Can't fail. */
static void ckpt_blob(char *blob, int out, void *const *parts, const size_t *sizes, int n)
{
    for (int i = 0; i < n; i++) {
        if (!sizes[i]) continue;
        if (out) memcpy(blob, parts[i], sizes[i]);
        else memcpy(parts[i], blob, sizes[i]);
        blob += sizes[i];
    }
}

/* Write the checkpoint made of the n parts. */
static int ckpt_save(MPI_Comm comm, const char *dir, const char *pj, void *const *parts, const size_t *sizes, int n, precis_err *e)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) len += sizes[i];
    char *b = malloc(len ? len : 1);
    if (!b) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    ckpt_blob(b, 1, parts, sizes, n);
    int w = ckpt_write(comm, dir, "kmeans", pj, b, len, e);
    free(b);
    return w;
}

static int read_rows(h5io_file *f, const char *dset, km *m, int *by_slots, int64_t *S, precis_err *e)
{
    int64_t rows, cols, lo = 0, hi = 0, off, cnt;
    if (h5io_dims(f, dset, &rows, &cols, e)) return -1;
    m->N = rows;
    m->D = cols;
    *by_slots = 0;
    if (h5io_exists(f, "/customers/slot_offsets") && h5io_attr_get_i64(f, "/customers", "slots", S, e) == 0) {
        int64_t srows, one;
        if (h5io_dims(f, "/customers/customer_key", &srows, &one, e)) return -1;
        if (srows == rows && slots_valid(*S)) *by_slots = 1;
    }
    perr_clear(e);
    if (*by_slots) {
        slots_range(m->rank, m->size, *S, &lo, &hi);
        if (h5io_slot_rows(f, "/customers", lo, hi, &off, &cnt, e)) return -1;
    } else {
        h5io_even_block(rows, m->rank, m->size, &off, &cnt);
    }
    m->n = cnt;
    m->off = off;
    m->X = malloc(sizeof(double) * (size_t)(cnt * cols + 1));
    m->offs = malloc(sizeof(int64_t) * (size_t)(m->size + 1));
    if (!m->X || !m->offs) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (h5io_read_rows(f, dset, H5T_NATIVE_DOUBLE, off, cnt, m->X, e)) return -1;
    MPI_CHECK(MPI_Allgather(&off, 1, MPI_INT64_T, m->offs, 1, MPI_INT64_T, m->comm), e);
    m->offs[m->size] = rows;
    for (int64_t i = 0; i < cnt * cols; i++)
        if (!isfinite(m->X[i]))
            return PERR(e, PRECIS_EXIT_DATA, "%s: row %lld, column %lld is %s; k-means needs finite values",
                        dset, (long long)(off + i / cols), (long long)(i % cols), isnan(m->X[i]) ? "NaN" : "infinite");
    return 0;
fail:
    return -1;
}

/* Sampled silhouette (Euclidean; rows drawn by a Philox stream keyed by
 * (seed, row), so the sample is the same at any P) and Calinski-Harabasz
 * (exact sums) of the labels that centroids C give. The sample's global rows
 * are returned when rows != NULL (malloc'd, on every rank). Collective. */
static int select_metrics(km *m, const double *C, double inertia, double *sil, double *ch, int64_t **rows,
                          int64_t *nrows, int64_t sample, precis_err *e)
{
    int64_t K = m->K, D = m->D, ns = 0, NS = 0;
    int rc = -1;
    double *mine = malloc(8 * (size_t)((m->n + 1) * (D + 2))), *all = NULL;
    int *cnts = malloc(sizeof(int) * (size_t)m->size), *displ = malloc(sizeof(int) * (size_t)m->size);
    int64_t *nk = calloc((size_t)K, 8), *gnk = calloc((size_t)K, 8);
    racc *acc = calloc((size_t)D, sizeof(racc));
    double *mean = malloc(8 * (size_t)D);
    gsl_rng *r = gsl_rng_alloc(rng_philox);
    CHECK(mine && cnts && displ && nk && gnk && acc && mean && r, e, PRECIS_EXIT_INTERNAL, "out of memory");
    double p = m->N <= sample ? 1.0 : (double)sample / (double)m->N;
    for (int64_t i = 0; i < m->n; i++) {
        double dd;
        int l = nearest(m->X + i * D, C, K, D, &dd);
        nk[l]++;
        for (int64_t d = 0; d < D; d++) racc_add(&acc[d], m->X[i * D + d]);
        rng_key(r, m->seed, (uint64_t)(m->off + i), rng_purpose("silhouette"));
        if (gsl_rng_uniform(r) < p) {
            double *q = mine + ns * (D + 2);
            q[0] = (double)(m->off + i);
            q[1] = l;
            memcpy(q + 2, m->X + i * D, 8 * (size_t)D);
            ns++;
        }
    }
    MPI_CHECK(MPI_Allreduce(nk, gnk, (int)K, MPI_INT64_T, MPI_SUM, m->comm), e);
    TRY(reduce_allreduce(m->comm, acc, D, mean, "mean", e));
    {
        /* Calinski-Harabasz on the labels' own cluster means (exact sums):
         * (B / (k - 1)) / (W / (N - k)) */
        racc *ka = calloc((size_t)(K * D + 1), sizeof(racc));
        double *mu = malloc(8 * (size_t)(K * D + 1)), W = 0;
        int bad = !ka || !mu;
        for (int64_t i = 0; !bad && i < m->n; i++) {
            double dd;
            int l = nearest(m->X + i * D, C, K, D, &dd);
            for (int64_t d = 0; d < D; d++) racc_add(&ka[l * D + d], m->X[i * D + d]);
        }
        if (!bad) bad = reduce_allreduce(m->comm, ka, K * D, mu, "cluster sums", e);
        for (int64_t k = 0; !bad && k < K; k++)
            for (int64_t d = 0; d < D; d++) mu[k * D + d] = gnk[k] ? mu[k * D + d] / (double)gnk[k] : 0;
        for (int64_t j = 0; !bad && j <= K * D; j++) racc_init(&ka[j]);
        for (int64_t i = 0; !bad && i < m->n; i++) {
            double dd;
            int l = nearest(m->X + i * D, C, K, D, &dd);
            racc_add(&ka[0], dist2(m->X + i * D, mu + l * D, D));
        }
        if (!bad) bad = reduce_allreduce(m->comm, ka, 1, &W, "within-cluster dispersion", e);
        double B = 0;
        for (int64_t k = 0; !bad && k < K; k++) {
            double s = 0;
            for (int64_t d = 0; d < D; d++) {
                double t = mu[k * D + d] - mean[d] / (double)m->N;
                s += t * t;
            }
            B += (double)gnk[k] * s;
        }
        free(ka);
        free(mu);
        if (bad) { if (!e->code) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto fail; }
        *ch = K > 1 && m->N > K && W > 0 ? (B / (double)(K - 1)) / (W / (double)(m->N - K)) : NAN;
        (void)inertia;
    }
    int mc = (int)(ns * (D + 2));
    MPI_CHECK(MPI_Allgather(&mc, 1, MPI_INT, cnts, 1, MPI_INT, m->comm), e);
    int64_t tot = 0;
    for (int q = 0; q < m->size; q++) { displ[q] = (int)tot; tot += cnts[q]; }
    NS = tot / (D + 2);
    all = malloc(8 * (size_t)(tot + 1));
    CHECK(all, e, PRECIS_EXIT_INTERNAL, "out of memory");
    MPI_CHECK(MPI_Allgatherv(mine, mc, MPI_DOUBLE, all, cnts, displ, MPI_DOUBLE, m->comm), e);
    /* silhouette on rank 0, broadcast */
    double s = NAN;
    if (m->rank == 0 && K > 1 && NS > 1) {
        double *sum = malloc(8 * (size_t)K);
        int64_t *cnt = calloc((size_t)K, 8);
        CHECK(sum && cnt, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t i = 0; i < NS; i++) cnt[(int)all[i * (D + 2) + 1]]++;
        racc total;
        racc_init(&total);
        for (int64_t i = 0; i < NS; i++) {
            const double *xi = all + i * (D + 2);
            int li = (int)xi[1];
            for (int64_t k = 0; k < K; k++) sum[k] = 0;
            for (int64_t j = 0; j < NS; j++) {
                const double *xj = all + j * (D + 2);
                sum[(int)xj[1]] += sqrt(dist2(xi + 2, xj + 2, D));
            }
            double si = 0;
            if (cnt[li] > 1) {
                double a = sum[li] / (double)(cnt[li] - 1), b = INFINITY;
                for (int64_t k = 0; k < K; k++)
                    if (k != li && cnt[k] > 0 && sum[k] / (double)cnt[k] < b) b = sum[k] / (double)cnt[k];
                double mx = a > b ? a : b;
                si = mx > 0 && isfinite(b) ? (b - a) / mx : 0;
            }
            racc_add(&total, si);
        }
        double st;
        if (racc_value(&total, &st, "silhouette", e) == 0) s = st / (double)NS;
        free(sum);
        free(cnt);
    }
    MPI_CHECK(MPI_Bcast(&s, 1, MPI_DOUBLE, 0, m->comm), e);
    *sil = s;
    if (rows) {
        *rows = malloc(8 * (size_t)(NS ? NS : 1));
        CHECK(*rows, e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t i = 0; i < NS; i++) (*rows)[i] = (int64_t)all[i * (D + 2)];
        *nrows = NS;
    }
    rc = 0;
fail:
    if (r) gsl_rng_free(r);
    free(mine); free(all); free(cnts); free(displ); free(nk); free(gnk); free(acc); free(mean);
    return rc;
}

static const char *const profile_cols[] = {"recency_days", "frequency", "monetary_total", "monetary_avg", "tenure_days"};
enum { NPROF = 5 };

/* /profile: the mean of each /rfm column per segment (exact sums), and a
 * descriptive name from how each segment's means compare with the overall
 * mean. Only when the input has /rfm rows aligned with the matrix. */
static int write_profile(km *m, h5io_file *in, h5io_file *out, const int32_t *lab, precis_err *e)
{
    int64_t K = m->K, rows, one;
    for (int j = 0; j < NPROF; j++) {
        char p[64];
        snprintf(p, sizeof p, "/rfm/%s", profile_cols[j]);
        if (!h5io_exists(in, p) || h5io_dims(in, p, &rows, &one, e) || rows != m->N) { perr_clear(e); return 0; }
    }
    double *v = malloc(8 * (size_t)(m->n ? m->n : 1)), *mean = malloc(8 * (size_t)(K * NPROF)), *all = malloc(8 * NPROF);
    racc *acc = calloc((size_t)((K + 1) * NPROF), sizeof(racc));
    double *sums = malloc(8 * (size_t)((K + 1) * NPROF));
    int64_t *cnt = calloc((size_t)K, 8), *gcnt = calloc((size_t)K, 8);
    char **names = calloc((size_t)K, sizeof(char *));
    int rc = -1;
    CHECK(v && mean && all && acc && sums && cnt && gcnt && names, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int j = 0; j < NPROF; j++) {
        char p[64];
        snprintf(p, sizeof p, "/rfm/%s", profile_cols[j]);
        TRY(h5io_read_rows(in, p, H5T_NATIVE_DOUBLE, m->off, m->n, v, e));
        for (int64_t i = 0; i < m->n; i++) {
            racc_add(&acc[lab[i] * NPROF + j], v[i]);
            racc_add(&acc[K * NPROF + j], v[i]);
        }
    }
    for (int64_t i = 0; i < m->n; i++) cnt[lab[i]]++;
    MPI_CHECK(MPI_Allreduce(cnt, gcnt, (int)K, MPI_INT64_T, MPI_SUM, m->comm), e);
    TRY(reduce_allreduce(m->comm, acc, (K + 1) * NPROF, sums, "profile", e));
    for (int j = 0; j < NPROF; j++) all[j] = sums[K * NPROF + j] / (double)m->N;
    for (int64_t k = 0; k < K; k++) {
        for (int j = 0; j < NPROF; j++) mean[k * NPROF + j] = gcnt[k] ? sums[k * NPROF + j] / (double)gcnt[k] : NAN;
        const double *mk = mean + k * NPROF;
        char buf[128];
        snprintf(buf, sizeof buf, "%s value, %s, %s",
                 mk[2] > 1.5 * all[2] ? "high" : mk[2] < 0.5 * all[2] ? "low" : "mid",
                 mk[0] < 0.5 * all[0] ? "recent" : mk[0] > 1.5 * all[0] ? "lapsed" : "active",
                 mk[1] > 1.5 * all[1] ? "frequent" : mk[1] < 0.5 * all[1] ? "rare" : "regular");
        names[k] = strdup(gcnt[k] ? buf : "empty");
        CHECK(names[k], e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    int me0 = m->rank == 0;
    TRY(h5io_write_mat(out, "/profile/rfm_mean", H5T_NATIVE_DOUBLE, mean, me0 ? K : 0, NPROF, profile_cols, e));
    TRY(h5io_write_strings(out, "/profile/name", (const char *const *)names, me0 ? K : 0, e));
    if (me0)
        for (int64_t k = 0; k < K; k++)
            LOG_INFO("segment %lld: %lld customers, %s (recency %.0f d, %.1f orders, %.2f spent)", (long long)k,
                     (long long)gcnt[k], names[k], mean[k * NPROF], mean[k * NPROF + 1], mean[k * NPROF + 2]);
    rc = 0;
fail:
    for (int64_t k = 0; names && k < K; k++) free(names[k]);
    free(names); free(v); free(mean); free(all); free(acc); free(sums); free(cnt); free(gcnt);
    return rc;
}

/* read a string attribute or NULL when absent */
static char *attr_or_null(h5io_file *f, const char *obj, const char *name)
{
    char *v = NULL;
    precis_err tmp;
    perr_clear(&tmp);
    if (!h5io_exists(f, obj) && strcmp(obj, "/")) return NULL;
    if (h5io_attr_get_str(f, obj, name, &v, &tmp)) return NULL;
    return v;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* --predict: map the input through its own scaler back to transformed units,
 * then through the model's scaler (skipped when both scalers are the same
 * bits, so the training rows reproduce their labels exactly), and assign
 * each row to the nearest model centroid. Collective. */
static int kmeans_predict(km *m, km_opts *o, const char *path, const char *dset, const char *params, precis_err *e)
{
    h5io_file *mf = NULL, *in = NULL, *out = NULL;
    char *mcols = NULL, *mtr = NULL, *mfp = NULL, *icols = NULL, *itr = NULL, *ifp = NULL, *inputs = NULL;
    double *C = NULL, *ms = NULL, *md = NULL, *is = NULL, *id = NULL;
    int32_t *lab = NULL, *segid = NULL;
    uint64_t *keys = NULL, *klo = NULL;
    int64_t K = 0, KD = 0, S = 0;
    int by_slots = 0, rc = -1;
    TRY(h5io_open(m->comm, o->model, 0, &mf, e));
    TRY(h5io_open(m->comm, path, 1, &in, e));
    TRY(read_rows(in, dset, m, &by_slots, &S, e));
    TRY(h5io_dims(mf, "/centroids", &K, &KD, e));
    CHECK(KD == m->D, e, PRECIS_EXIT_DATA, "%s has %lld columns; the model %s has %lld", path, (long long)m->D, o->model, (long long)KD);
    mcols = attr_or_null(mf, "/model", "columns"); mtr = attr_or_null(mf, "/model", "transform"); mfp = attr_or_null(mf, "/", "key_fingerprint");
    icols = attr_or_null(in, dset, "columns"); itr = attr_or_null(in, dset, "transform"); ifp = attr_or_null(in, "/", "key_fingerprint");
    if (mcols && !*mcols) { free(mcols); mcols = NULL; }
    if (mtr && !*mtr) { free(mtr); mtr = NULL; }
    if (mfp && !*mfp) { free(mfp); mfp = NULL; }
    CHECK(same_str(mcols, icols) && same_str(mtr, itr), e, PRECIS_EXIT_DATA,
          "%s%s has columns '%s' (transform '%s') but the model %s has '%s' ('%s'); refusing to mix them", path, dset,
          icols ? icols : "", itr ? itr : "", o->model, mcols ? mcols : "", mtr ? mtr : "");
    CHECK(!mfp || !ifp || !strcmp(mfp, ifp), e, PRECIS_EXIT_DATA,
          "key_fingerprint of %s (%s) differs from the model's (%s): the files were made with different PII keys", path, ifp, mfp);
    C = malloc(8 * (size_t)(K * KD)); ms = malloc(8 * (size_t)KD); md = malloc(8 * (size_t)KD);
    is = malloc(8 * (size_t)KD); id = malloc(8 * (size_t)KD); lab = malloc(4 * (size_t)(m->n ? m->n : 1));
    CHECK(C && ms && md && is && id && lab, e, PRECIS_EXIT_INTERNAL, "out of memory");
    TRY(h5io_read_rows(mf, "/centroids", H5T_NATIVE_DOUBLE, 0, K, C, e));
    if (h5io_exists(mf, "/segment_ids")) {
        segid = malloc(4 * (size_t)K);
        CHECK(segid, e, PRECIS_EXIT_INTERNAL, "out of memory");
        TRY(h5io_read_rows(mf, "/segment_ids", H5T_NATIVE_INT32, 0, K, segid, e));
    }
    TRY(h5io_read_rows(mf, "/model/scaler_mean", H5T_NATIVE_DOUBLE, 0, KD, ms, e));
    TRY(h5io_read_rows(mf, "/model/scaler_std", H5T_NATIVE_DOUBLE, 0, KD, md, e));
    for (int64_t d = 0; d < KD; d++) { is[d] = 0; id[d] = 1; }
    if (h5io_exists(in, "/features/scaler_mean") && h5io_exists(in, "/features/scaler_std")) {
        TRY(h5io_read_rows(in, "/features/scaler_mean", H5T_NATIVE_DOUBLE, 0, KD, is, e));
        TRY(h5io_read_rows(in, "/features/scaler_std", H5T_NATIVE_DOUBLE, 0, KD, id, e));
    }
    if (memcmp(is, ms, 8 * (size_t)KD) || memcmp(id, md, 8 * (size_t)KD))
        for (int64_t i = 0; i < m->n; i++)
            for (int64_t d = 0; d < KD; d++) {
                double v = m->X[i * KD + d] * (id[d] > 0 ? id[d] : 1.0) + is[d];
                m->X[i * KD + d] = (v - ms[d]) / (md[d] > 0 ? md[d] : 1.0);
            }
    for (int64_t i = 0; i < m->n; i++) {
        double dd;
        lab[i] = nearest(m->X + i * KD, C, K, KD, &dd);
        if (segid) lab[i] = segid[lab[i]];   /* a model built with --previous: rows carry segment IDs */
    }
    char *ins[2] = {(char *)path, o->model};
    TRY(h5io_inputs_json(m->comm, ins, 2, &inputs, e));
    TRY(h5io_create(m->comm, o->out, &out, e));
    TRY(h5io_set_provenance(out, "kmeans-predict", params, inputs, ifp ? ifp : "", e));
    TRY(h5io_write_col(out, "/labels", H5T_NATIVE_INT32, lab, m->n, e));
    if (by_slots) {
        int64_t lo, hi;
        slots_range(m->rank, m->size, S, &lo, &hi);
        keys = malloc(8 * (size_t)(m->n ? m->n : 1)); klo = malloc(8 * (size_t)(m->n ? m->n : 1));
        int64_t *slot = malloc(8 * (size_t)(m->n ? m->n : 1)), *offs = malloc(8 * (size_t)(hi - lo + 1));
        int w = !keys || !klo || !slot || !offs ? PERR(e, PRECIS_EXIT_INTERNAL, "out of memory") : 0;
        w = w || h5io_read_rows(in, "/customers/customer_key", H5T_NATIVE_UINT64, m->off, m->n, keys, e) ||
            h5io_read_rows(in, "/customers/customer_key_lo", H5T_NATIVE_UINT64, m->off, m->n, klo, e);
        for (int64_t i = 0; !w && i < m->n; i++) slot[i] = slots_of(keys[i], S);
        w = w || h5io_write_col(out, "/customers/customer_key", H5T_NATIVE_UINT64, keys, m->n, e) ||
            h5io_write_col(out, "/customers/customer_key_lo", H5T_NATIVE_UINT64, klo, m->n, e) ||
            slots_offsets_local(m->comm, slot, m->n, lo, hi, offs, e) ||
            h5io_write_slot_offsets(out, "/customers", lo, hi, offs, e) || h5io_attr_set_i64(out, "/customers", "slots", S, e);
        free(slot);
        free(offs);
        if (w) goto fail;
    }
    rc = h5io_commit(out, e);
    out = NULL;
    if (rc == 0) LOG_INFO("wrote %s: %lld rows assigned to the %lld segments of %s", o->out, (long long)m->N, (long long)K, o->model);
fail:
    if (out) h5io_abort(out);
    h5io_close(mf);
    h5io_close(in);
    free(mcols); free(mtr); free(mfp); free(icols); free(itr); free(ifp); free(inputs);
    free(C); free(ms); free(md); free(is); free(id); free(lab); free(segid); free(keys); free(klo);
    return rc;
}

int kmeans_run(int argc, char **argv, MPI_Comm comm)
{
    km_opts o;
    km m;
    memset(&o, 0, sizeof o);
    memset(&m, 0, sizeof m);
    const opt_spec specs[] = {
        {"in", OPT_STR, &o.in, NULL, "FILE.h5[:/dataset] holding a 2-D matrix [dataset: /features/X]", 0, 0, NULL},
        {"out", OPT_STR, &o.out, NULL, "output segments.h5", 0, 0, NULL},
        {"k", OPT_INT, &o.k, "8", "number of segments", 1, 100000, NULL},
        {"init", OPT_STR, &o.init, "kmeans-par", "initialisation: kmeans-par (k-means||, Bahmani et al.), kmeans++, random rows, or FILE.h5:/dataset (k x D centroids)", 0, 0, NULL},
        {"n-init", OPT_INT, &o.n_init, "3", "runs from different inits; the lowest inertia wins", 1, 1000, NULL},
        {"max-iter", OPT_INT, &o.max_iter, "100", "iterations per run", 1, 100000, NULL},
        {"tol", OPT_DOUBLE, &o.tol, "1e-4", "stop when the centroid shift <= tol x mean feature variance", 0, 1, NULL},
        {"k-range", OPT_STR, &o.k_range, NULL, "a:b: fit every k in [a, b] and keep the best by sampled silhouette", 0, 0, NULL},
        {"sample-silhouette", OPT_INT, &o.sample_sil, "10000", "rows in the deterministic silhouette sample", 2, 1000000, NULL},
        {"predict", OPT_FLAG, &o.predict, NULL, "assign the rows of --in to the segments of --model", 0, 0, NULL},
        {"model", OPT_STR, &o.model, NULL, "segments.h5 to predict with (with --predict)", 0, 0, NULL},
        {"algorithm", OPT_STR, &o.algorithm, "hamerly", "hamerly (bounds skip most distances) or plain lloyd: the same labels and centroids, bit for bit", 0, 0, "lloyd|hamerly"},
        {"checkpoint-every", OPT_INT, &o.checkpoint_every, "0", "also write a checkpoint every N iterations (needs --checkpoint-dir)", 0, 1000000, NULL},
        {"previous", OPT_STR, &o.previous, NULL, "last quarter's segments.h5: keep its segment IDs (optimal matching) and write the transitions", 0, 0, NULL},
        OPTS_COMMON_SPECS(&o.c),
    };
    const opt_cmd cmd = {"precis-kmeans", "Distributed k-means (Lloyd), byte-identical at any rank count.",
                         "mpirun -np 4 precis-kmeans --in features.h5 --k 6 --out segments.h5\n"
                         "  mpirun -np 4 precis-kmeans --predict --model segments.h5 --in new_features.h5 --out labels.h5", specs,
                         (int)(sizeof specs / sizeof specs[0])};
    precis_err err, *e = &err;
    perr_clear(e);
    h5io_file *in = NULL, *out = NULL;
    char *path = NULL, *dset = NULL, *params = NULL, *inputs = NULL, *fp = NULL, *cols = NULL, *transform = NULL;
    double *C = NULL, *Cn = NULL, *best = NULL, *best_init = NULL, *init = NULL, *hist = NULL, *best_hist = NULL;
    int32_t *lab = NULL, *ids = NULL;
    double *init_given = NULL;
    hamerly hm;
    int ham = 0;
    memset(&hm, 0, sizeof hm);
    uint64_t *keys = NULL, *keys_lo = NULL;
    km_prev pv;
    memset(&pv, 0, sizeof pv);
    void *blob = NULL;
    double *ksel = NULL;  /* --k-range scores: k, inertia, silhouette, CH */
    km_state st;
    char *pj = NULL;   /* the checkpoint's parameters */
    m.comm = comm;
    MPI_Comm_rank(comm, &m.rank);
    MPI_Comm_size(comm, &m.size);
    int rc = job_start(&cmd, &o.c, argc, argv, comm, "precis-kmeans", e);
    if (rc == 1) { opts_free(&cmd); return 0; }
    if (rc < 0) goto done;
    if (!o.in || !o.out) { PERR(e, PRECIS_EXIT_USAGE, "options --in and --out are required"); goto done; }
    if (job_check_out(comm, o.out, e)) goto done;
    if ((o.checkpoint_every || o.c.resume) && !o.c.checkpoint_dir) { PERR(e, PRECIS_EXIT_USAGE, "--checkpoint-every and --resume need --checkpoint-dir"); goto done; }
    path = strdup(o.in);
    char *colon = strchr(path, ':');
    dset = strdup(colon ? colon + 1 : "/features/X");
    if (colon) *colon = '\0';
    if (job_check_not_input(comm, 1, (const char *const[]){"--out"}, (const char *const[]){o.out}, (const char *const[]){path}, 1, e)) goto done;
    m.seed = (uint64_t)o.c.seed;
    m.K = o.k;
    if (o.predict) {
        if (!o.model) { PERR(e, PRECIS_EXIT_USAGE, "--predict needs --model segments.h5"); goto done; }
        params = opts_to_json(&cmd);
        kmeans_predict(&m, &o, path, dset, params, e);
        precis_agree(comm, e);
        goto done;
    }
    int by_slots = 0;
    int64_t S = 0;
    if (h5io_open(comm, path, 1, &in, e) || read_rows(in, dset, &m, &by_slots, &S, e)) goto agree_done;
    if (m.N < m.K) PERR(e, PRECIS_EXIT_DATA, "%s%s has %lld rows: fewer than --k %lld", path, dset, (long long)m.N, (long long)m.K);
agree_done:
    if (precis_agree(comm, e)) goto done;
    if (strcmp(o.init, "kmeans-par") && strcmp(o.init, "kmeans++") && strcmp(o.init, "random")) {
        /* --init FILE.h5:/dataset: given centroids (the same for every run) */
        char *ip = strdup(o.init), *ic = ip ? strchr(ip, ':') : NULL;
        h5io_file *fi = NULL;
        int64_t r0 = 0, c0 = 0;
        if (!ic) {
            PERR(e, PRECIS_EXIT_USAGE, "option --init: '%s' is not kmeans-par, kmeans++, random or FILE.h5:/dataset", o.init);
        } else {
            *ic = '\0';
            if (h5io_open(comm, ip, 1, &fi, e) == 0) {
                if (h5io_dims(fi, ic + 1, &r0, &c0, e) == 0) {
                    if (r0 != m.K || c0 != m.D || o.k_range)
                        PERR(e, PRECIS_EXIT_DATA, "--init %s is %lld x %lld; --k %lld and the input's %lld columns need %lld x %lld%s", o.init,
                             (long long)r0, (long long)c0, (long long)m.K, (long long)m.D, (long long)m.K, (long long)m.D,
                             o.k_range ? " (and no --k-range)" : "");
                    else if (!(init_given = malloc(8 * (size_t)(m.K * m.D)))) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
                    else h5io_read_rows(fi, ic + 1, H5T_NATIVE_DOUBLE, 0, m.K, init_given, e);
                }
                h5io_close(fi);
            }
        }
        free(ip);
        if (precis_agree(comm, e)) goto done;
    }
    int64_t K = m.K, D = m.D, KA = K;
    {
        long long a, b;
        if (o.k_range && sscanf(o.k_range, "%lld:%lld", &a, &b) == 2 && b > KA && b <= 1000) KA = b;
    }
    C = malloc(8 * (size_t)(KA * D)); Cn = malloc(8 * (size_t)(KA * D)); best = malloc(8 * (size_t)(KA * D));
    best_init = malloc(8 * (size_t)(KA * D)); init = malloc(8 * (size_t)(KA * D));
    hist = calloc((size_t)(2 * o.max_iter), 8); best_hist = calloc((size_t)(2 * o.max_iter), 8);
    lab = malloc(4 * (size_t)(m.n ? m.n : 1));
    ham = !strcmp(o.algorithm, "hamerly");
    if (ham) {
        hm.l = malloc(8 * (size_t)(m.n + 1));
        hm.S = malloc(sizeof(racc) * (size_t)(KA * D));
        hm.tmp = malloc(sizeof(racc) * (size_t)(KA * D + 1));
        hm.cnt = malloc(8 * (size_t)KA);
        hm.Cprev = malloc(8 * (size_t)(KA * D));
        if (!hm.l || !hm.S || !hm.tmp || !hm.cnt || !hm.Cprev) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    }
    if (!C || !Cn || !best || !best_init || !init || !hist || !best_hist || !lab) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    /* tolerance scaled by the mean per-feature variance (exact sums, two passes) */
    double *colsum = malloc(8 * (size_t)D), *dev = malloc(8 * (size_t)(m.n * D + 1)), tolv = 0;
    if (!colsum || !dev) { free(colsum); free(dev); PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if (reduce_colsum(comm, m.X, m.n, (int)D, colsum, e) == 0) {
        for (int64_t i = 0; i < m.n; i++)
            for (int64_t d = 0; d < D; d++) {
                double t = m.X[i * D + d] - colsum[d] / (double)m.N;
                dev[i * D + d] = t * t;
            }
        if (reduce_colsum(comm, dev, m.n, (int)D, colsum, e) == 0) {
            for (int64_t d = 0; d < D; d++) tolv += colsum[d] / (double)m.N;
            tolv = o.tol * tolv / (double)D;
        }
    }
    free(colsum);
    free(dev);
    if (precis_agree(comm, e)) goto done;

    /* --k-range a:b: fit every k, score it (sampled silhouette, Calinski-Harabasz),
     * choose the highest silhouette (ties: smaller k), then fit the chosen k again */
    int64_t klo = K, khi = K;
    if (o.k_range) {
        long long a, b;
        if (sscanf(o.k_range, "%lld:%lld", &a, &b) != 2 || a < 2 || b < a || b > 1000) {
            PERR(e, PRECIS_EXIT_USAGE, "option --k-range: '%s' is not a:b with 2 <= a <= b <= 1000", o.k_range);
            goto done;
        }
        if (b > m.N) { PERR(e, PRECIS_EXIT_DATA, "--k-range %s: only %lld rows", o.k_range, (long long)m.N); goto done; }
        klo = a;
        khi = b;
        ksel = calloc((size_t)(4 * (khi - klo + 1)), 8);
        if (!ksel) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    }
    /* The sweep's position (and the --k-range scores so far) is checkpointed with
     * the state of the k being fitted, so a sweep stops and resumes like one fit. */
    km_sweep sw = {o.k_range ? 0 : 1, o.k_range ? klo : K, 0, K};
    const int64_t nk = o.k_range ? khi - klo + 1 : 0;
    /* the checkpoint must match the parameters that shape the result (not
     * the rank count, the log options or --resume itself) */
    char kdesc[160];
    if (o.k_range) snprintf(kdesc, sizeof kdesc, "\"k_range\":\"%lld:%lld\",\"sample_silhouette\":%lld", (long long)klo,
                            (long long)khi, (long long)o.sample_sil);
    else snprintf(kdesc, sizeof kdesc, "\"k\":%lld", (long long)K);
    pj = malloc(4096);
    if (!pj) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    snprintf(pj, 4096, "{\"in\":\"%s\",\"dataset\":\"%s\",%s,\"init\":\"%s\",\"n_init\":%lld,\"max_iter\":%lld,\"tol\":%.17g,\"seed\":%lld,\"rows\":%lld,\"cols\":%lld}",
             path, dset, kdesc, o.init, (long long)o.n_init, (long long)o.max_iter, o.tol, (long long)o.c.seed,
             (long long)m.N, (long long)D);
    /* checkpoint layout: sweep, k-range scores, state, centroids, init, best,
     * best init, history, best history */
#define CK_PARTS {&sw, ksel, &st, C, init, best, best_init, hist, best_hist}
#define CK_SIZES(k) {sizeof sw, 32 * (size_t)nk, sizeof st, 8 * (size_t)((k) * D), 8 * (size_t)((k) * D), 8 * (size_t)((k) * D), \
                     8 * (size_t)((k) * D), 16 * (size_t)o.max_iter, 16 * (size_t)o.max_iter}
    int resumed = 0;
    if (o.c.resume) {
        size_t len = 0;
        if (ckpt_read(comm, o.c.checkpoint_dir, "kmeans", pj, &blob, &len, e)) goto done;
        int64_t ck = -1;
        if (len >= sizeof sw) {
            memcpy(&sw, blob, sizeof sw);
            ck = sw.kk;
        }
        const size_t ck_sizes[] = CK_SIZES(ck);
        size_t want = 0;
        for (int i = 0; i < 9; i++) want += ck_sizes[i];
        if (ck < klo || ck > khi || sw.pass < 0 || sw.pass > 1 || sw.nsel < 0 || sw.nsel > nk || len != want) {
            PERR(e, PRECIS_EXIT_DATA, "--resume: the checkpoint does not match this input (%zu bytes, k %lld)", len, (long long)ck);
            goto done;
        }
        void *parts[] = CK_PARTS;
        ckpt_blob(blob, 0, parts, ck_sizes, 9);
        resumed = 1;
        if (o.k_range) LOG_INFO("resuming the k-range sweep at k=%lld (%lld of %lld scored) run %lld iteration %lld", (long long)sw.kk,
                                (long long)sw.nsel, (long long)nk, (long long)st.run, (long long)st.iter);
        else LOG_INFO("resuming run %lld at iteration %lld", (long long)st.run, (long long)st.iter);
    }
    for (;;) {
        K = m.K = sw.kk;
        if (!resumed) st = (km_state){0, 0, -1, 0, 0, INFINITY};
        const size_t ck_sizes[] = CK_SIZES(K);
        void *parts[] = CK_PARTS;
        /* a stop between two k of the sweep (PRECIS_STOP_AT=k:K), or before the
         * chosen k is fitted again (PRECIS_STOP_AT=refit), or a signal */
        if (!resumed && o.k_range && o.c.checkpoint_dir && ckpt_should_stop(comm, sw.pass ? "refit" : "k", sw.kk)) {
            if (ckpt_save(comm, o.c.checkpoint_dir, pj, parts, ck_sizes, 9, e) == 0)
                PERR(e, PRECIS_EXIT_STOPPED, "stopped before %s k=%lld of --k-range; checkpoint in %s; rerun with --resume",
                     sw.pass ? "refitting the chosen" : "fitting", (long long)sw.kk, o.c.checkpoint_dir);
            goto done;
        }
        resumed = 0;
        LOG_INFO("Lloyd: %lld x %lld rows, k=%lld; %zu bytes per rank per iteration into one allreduce (exact sums)",
                 (long long)m.N, (long long)D, (long long)K, (size_t)(K * D + 1) * sizeof(racc) + (size_t)K * 8);
        for (; st.run < o.n_init; st.run++, st.iter = 0) {
            if (st.iter == 0) {
                if (init_given) memcpy(C, init_given, 8 * (size_t)(K * D));
                else if (init_centroids(&m, o.init, st.run, C, e)) goto done;
                memcpy(init, C, 8 * (size_t)(K * D));
                memset(hist, 0, 16 * (size_t)o.max_iter);
            }
            int converged = 0;
            double inertia = 0;
            hm.valid = 0;   /* a new run, or a resume: the bounds are recomputed */
            int first_step = 1;   /* labels from before this run (or a resume) are not this run's */
            for (; st.iter < o.max_iter; st.iter++) {
                int stop = o.c.checkpoint_dir && ckpt_should_stop(comm, "iter", st.iter);
                int periodic = !stop && o.checkpoint_every && st.iter > 0 && st.iter % o.checkpoint_every == 0;
                if (stop || periodic) {
                    int w = ckpt_save(comm, o.c.checkpoint_dir, pj, parts, ck_sizes, 9, e);
                    if (w || stop) {
                        if (w == 0) PERR(e, PRECIS_EXIT_STOPPED, "stopped at k=%lld run %lld iteration %lld; checkpoint in %s; rerun with --resume",
                                         (long long)K, (long long)st.run, (long long)st.iter, o.c.checkpoint_dir);
                        goto done;
                    }
                }
                double t0 = log_now();
                int64_t moved = 0;
                if (lloyd_step(&m, C, Cn, lab, &inertia, ham ? &hm : NULL, !hm.valid && (st.iter == 0 || first_step), &moved, e)) goto done;
                first_step = 0;
                double shift = 0;
                for (int64_t j = 0; j < K * D; j++) shift += (Cn[j] - C[j]) * (Cn[j] - C[j]);
                memcpy(C, Cn, 8 * (size_t)(K * D));
                hist[2 * st.iter] = inertia;
                hist[2 * st.iter + 1] = shift;
                LOG_INFO("run %lld iteration %lld: inertia %.10g, shift %.3g, %lld points reassigned, %.3f s", (long long)st.run,
                         (long long)st.iter, inertia, shift, (long long)moved, log_now() - t0);
                if (shift <= tolv) { converged = 1; st.iter++; break; }
            }
            /* final labels and inertia for the final centroids */
            double fin = 0;
            {
                racc a;
                racc_init(&a);
                for (int64_t i = 0; i < m.n; i++) {
                    double dd;
                    lab[i] = nearest(m.X + i * D, C, K, D, &dd);
                    racc_add(&a, dd);
                }
                if (reduce_allreduce(comm, &a, 1, &fin, "inertia", e)) goto done;
            }
            LOG_INFO("run %lld: inertia %.10g after %lld iterations%s", (long long)st.run, fin, (long long)st.iter,
                     converged ? "" : " (max-iter reached)");
            if (fin < st.best_inertia) {
                st.best_inertia = fin;
                st.best_run = st.run;
                st.best_iters = st.iter;
                memcpy(best, C, 8 * (size_t)(K * D));
                memcpy(best_init, init, 8 * (size_t)(K * D));
                memcpy(best_hist, hist, 16 * (size_t)o.max_iter);
            }
        }
        if (sw.pass == 1) break;
        double sil = NAN, ch = NAN;
        if (select_metrics(&m, best, st.best_inertia, &sil, &ch, NULL, NULL, o.sample_sil, e)) goto done;
        double *r = ksel + 4 * (sw.kk - klo);
        r[0] = (double)sw.kk; r[1] = st.best_inertia; r[2] = sil; r[3] = ch;
        sw.nsel++;
        LOG_INFO("k=%lld: inertia %.10g, silhouette %.6f (sampled), Calinski-Harabasz %.6g", (long long)sw.kk, st.best_inertia, sil, ch);
        if (sw.kk < khi) { sw.kk++; continue; }
        int64_t bi = 0;
        for (int64_t j = 1; j < sw.nsel; j++)
            if (ksel[4 * j + 2] > ksel[4 * bi + 2]) bi = j;
        sw.chosen = (int64_t)ksel[4 * bi];
        LOG_INFO("chose k=%lld: the highest sampled silhouette (%.6f); the smaller k wins a tie", (long long)sw.chosen, ksel[4 * bi + 2]);
        sw.pass = 1;
        sw.kk = sw.chosen;
    }
#undef CK_PARTS
#undef CK_SIZES
    /* labels of the best model */
    int64_t *sizes = calloc((size_t)K, 8), *gsizes = calloc((size_t)K, 8);
    if (!sizes || !gsizes) { free(sizes); free(gsizes); PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    for (int64_t i = 0; i < m.n; i++) {
        double dd;
        lab[i] = nearest(m.X + i * D, best, K, D, &dd);
        sizes[lab[i]]++;
    }
    MPI_Allreduce(sizes, gsizes, (int)K, MPI_INT64_T, MPI_SUM, comm);
    free(sizes);

    /* model metadata from the input: columns, transform, scaler, keys */
    if (h5io_attr_get_str(in, dset, "columns", &cols, e)) { perr_clear(e); cols = NULL; }
    if (h5io_attr_get_str(in, dset, "transform", &transform, e)) { perr_clear(e); transform = NULL; }
    if (h5io_attr_get_str(in, "/", "key_fingerprint", &fp, e)) { perr_clear(e); fp = NULL; }
    double *smean = calloc((size_t)D, 8), *sstd = malloc(8 * (size_t)D), *orig = malloc(8 * (size_t)(K * D));
    for (int64_t d = 0; sstd && d < D; d++) sstd[d] = 1.0;
    int has_scaler = h5io_exists(in, "/features/scaler_mean") && h5io_exists(in, "/features/scaler_std");
    if (!smean || !sstd || !orig) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    else if (has_scaler && (h5io_read_rows(in, "/features/scaler_mean", H5T_NATIVE_DOUBLE, 0, D, smean, e) ||
                            h5io_read_rows(in, "/features/scaler_std", H5T_NATIVE_DOUBLE, 0, D, sstd, e))) { }
    if (by_slots && e->code == 0) {
        keys = malloc(8 * (size_t)(m.n ? m.n : 1));
        keys_lo = malloc(8 * (size_t)(m.n ? m.n : 1));
        if (!keys || !keys_lo) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        else if (h5io_read_rows(in, "/customers/customer_key", H5T_NATIVE_UINT64, m.off, m.n, keys, e) == 0)
            h5io_read_rows(in, "/customers/customer_key_lo", H5T_NATIVE_UINT64, m.off, m.n, keys_lo, e);
    }
    if (precis_agree(comm, e)) { free(smean); free(sstd); free(orig); free(gsizes); goto done; }
    /* --previous: carry last quarter's IDs over; model rows sorted by ID */
    if (o.previous) {
        int64_t *ord = malloc(8 * (size_t)K), *rowof = malloc(8 * (size_t)K);
        double *tmp = malloc(8 * (size_t)(K * D + K));
        int32_t *ti = malloc(4 * (size_t)K * 2);
        ids = malloc(4 * (size_t)(m.n + 1));
        if (!ord || !rowof || !tmp || !ti || !ids) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        else if (km_previous(&pv, comm, o.previous, K, D, cols, transform, fp, smean, sstd, best, e) == 0) {
            for (int64_t j = 0; j < K; j++) ord[j] = j;
            for (int64_t a = 1; a < K; a++)   /* insertion sort of clusters by ID */
                for (int64_t b = a; b > 0 && pv.id[ord[b - 1]] > pv.id[ord[b]]; b--) {
                    int64_t t = ord[b]; ord[b] = ord[b - 1]; ord[b - 1] = t;
                }
            for (int64_t r = 0; r < K; r++) rowof[ord[r]] = r;
            memcpy(tmp, best, 8 * (size_t)(K * D));
            for (int64_t r = 0; r < K; r++) memcpy(best + r * D, tmp + ord[r] * D, 8 * (size_t)D);
            memcpy(tmp, best_init, 8 * (size_t)(K * D));
            for (int64_t r = 0; r < K; r++) memcpy(best_init + r * D, tmp + ord[r] * D, 8 * (size_t)D);
            int64_t *gs = (int64_t *)tmp;
            memcpy(gs, gsizes, 8 * (size_t)K);
            for (int64_t r = 0; r < K; r++) gsizes[r] = gs[ord[r]];
            double *dd = tmp;
            memcpy(dd, pv.dist, 8 * (size_t)K);
            for (int64_t r = 0; r < K; r++) pv.dist[r] = dd[ord[r]];
            memcpy(ti, pv.id, 4 * (size_t)K);
            memcpy(ti + K, pv.prev_id, 4 * (size_t)K);
            for (int64_t r = 0; r < K; r++) { pv.id[r] = ti[ord[r]]; pv.prev_id[r] = ti[K + ord[r]]; }
            for (int64_t i = 0; i < m.n; i++) {
                lab[i] = (int32_t)rowof[lab[i]];
                ids[i] = pv.id[lab[i]];
            }
            for (int64_t r = 0; r < K; r++)
                LOG_INFO("segment %d: %s (distance %.4g), %lld customers", pv.id[r], pv.prev_id[r] >= 0 ? "matched to last quarter's" : "new",
                         pv.dist[r], (long long)gsizes[r]);
            km_transitions(&pv, comm, m.rank, m.size, S, by_slots ? keys : NULL, keys_lo, ids, m.n, e);
        }
        free(ord); free(rowof); free(tmp); free(ti);
        if (precis_agree(comm, e)) { free(smean); free(sstd); free(orig); free(gsizes); goto done; }
    }
    /* centroids in original units: inverse scaler, then inverse transform */
    for (int64_t k = 0; k < K; k++) {
        const char *tp = transform;
        for (int64_t d = 0; d < D; d++) {
            double v = best[k * D + d] * (sstd[d] > 0 ? sstd[d] : 1.0) + smean[d];
            int lg = tp && !strncmp(tp, "log1p", 5);
            orig[k * D + d] = lg ? expm1(v) : v;
            if (tp) { tp = strchr(tp, ','); if (tp) tp++; }
        }
    }
    params = opts_to_json(&cmd);
    char *ins[1] = {path};
    if (h5io_inputs_json(comm, ins, 1, &inputs, e) || h5io_create(comm, o.out, &out, e)) goto wfail;
    {
        const char *cn[256];
        char *cbuf = cols ? strdup(cols) : NULL;
        int nc = 0;
        for (char *tk = cbuf ? strtok(cbuf, ",") : NULL; tk && nc < 256; tk = strtok(NULL, ",")) cn[nc++] = tk;
        const char *const *names = nc == D ? cn : NULL;
        int me0 = m.rank == 0;
        int w = h5io_set_provenance(out, "kmeans", params, inputs, fp ? fp : "", e) ||
                h5io_write_mat(out, "/centroids", H5T_NATIVE_DOUBLE, best, me0 ? K : 0, (int)D, names, e) ||
                h5io_write_mat(out, "/centroids_original", H5T_NATIVE_DOUBLE, orig, me0 ? K : 0, (int)D, names, e) ||
                h5io_write_mat(out, "/init_centroids", H5T_NATIVE_DOUBLE, best_init, me0 ? K : 0, (int)D, names, e) ||
                h5io_write_col(out, "/labels", H5T_NATIVE_INT32, o.previous ? ids : lab, m.n, e) ||
                h5io_write_col(out, "/sizes", H5T_NATIVE_INT64, gsizes, me0 ? K : 0, e) ||
                h5io_write_col(out, "/inertia", H5T_NATIVE_DOUBLE, &st.best_inertia, me0 ? 1 : 0, e) ||
                h5io_write_mat(out, "/history", H5T_NATIVE_DOUBLE, best_hist, me0 ? st.best_iters : 0, 2,
                               (const char *[]){"inertia", "shift"}, e) ||
                h5io_write_col(out, "/model/scaler_mean", H5T_NATIVE_DOUBLE, smean, me0 ? D : 0, e) ||
                h5io_write_col(out, "/model/scaler_std", H5T_NATIVE_DOUBLE, sstd, me0 ? D : 0, e) ||
                h5io_attr_set_str(out, "/model", "transform", transform ? transform : "", e) ||
                h5io_attr_set_str(out, "/model", "columns", cols ? cols : "", e) ||
                h5io_attr_set_i64(out, "/", "k", K, e) || h5io_attr_set_i64(out, "/", "best_run", st.best_run, e) ||
                h5io_attr_set_i64(out, "/", "iterations", st.best_iters, e) ||
                h5io_attr_set_str(out, "/", "input_dataset", dset, e);
        free(cbuf);
        if (!w && o.previous) {
            w = h5io_write_col(out, "/segment_ids", H5T_NATIVE_INT32, pv.id, me0 ? K : 0, e) ||
                h5io_write_col(out, "/mapping_to_previous", H5T_NATIVE_INT32, pv.prev_id, me0 ? K : 0, e) ||
                h5io_write_col(out, "/mapping_distance", H5T_NATIVE_DOUBLE, pv.dist, me0 ? K : 0, e) ||
                h5io_attr_set_str(out, "/mapping_to_previous", "previous", o.previous, e);
            if (!w && pv.have_trans)
                w = h5io_write_mat(out, "/transitions", H5T_NATIVE_INT64, pv.trans, me0 ? pv.n_old_ids : 0, pv.n_new_ids, NULL, e) ||
                    h5io_attr_set_f64(out, "/transitions", "changed_share", pv.changed_share, e) ||
                    h5io_attr_set_i64(out, "/transitions", "customers_both", pv.both, e) ||
                    h5io_attr_set_i64(out, "/transitions", "customers_new", pv.only_new, e) ||
                    h5io_attr_set_i64(out, "/transitions", "customers_gone", pv.only_old, e);
        }
        if (!w) w = write_profile(&m, in, out, lab, e);
        if (!w && ksel) {
            int64_t *srows = NULL, nsr = 0;
            double sil, ch;
            w = select_metrics(&m, best, st.best_inertia, &sil, &ch, &srows, &nsr, o.sample_sil, e) ||
                h5io_write_mat(out, "/k_selection/scores", H5T_NATIVE_DOUBLE, ksel, me0 ? sw.nsel : 0, 4,
                               (const char *[]){"k", "inertia", "silhouette_sampled", "calinski_harabasz"}, e) ||
                h5io_write_col(out, "/k_selection/sample_rows", H5T_NATIVE_INT64, srows, me0 ? nsr : 0, e) ||
                h5io_attr_set_i64(out, "/k_selection", "chosen_k", sw.chosen, e);
            free(srows);
        }
        if (!w && by_slots) {
            int64_t lo, hi, *slot = malloc(8 * (size_t)(m.n ? m.n : 1)), *offs = NULL;
            slots_range(m.rank, m.size, S, &lo, &hi);
            offs = malloc(8 * (size_t)(hi - lo + 1));
            if (!slot || !offs) w = PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            for (int64_t i = 0; !w && i < m.n; i++) slot[i] = slots_of(keys[i], S);
            w = w || h5io_write_col(out, "/customers/customer_key", H5T_NATIVE_UINT64, keys, m.n, e) ||
                h5io_write_col(out, "/customers/customer_key_lo", H5T_NATIVE_UINT64, keys_lo, m.n, e) ||
                slots_offsets_local(comm, slot, m.n, lo, hi, offs, e) ||
                h5io_write_slot_offsets(out, "/customers", lo, hi, offs, e) ||
                h5io_attr_set_i64(out, "/customers", "slots", S, e);
            free(slot);
            free(offs);
        }
        if (w) goto wfail;
    }
    rc = h5io_commit(out, e);
    out = NULL;
    if (rc == 0) {
        LOG_INFO("wrote %s: k=%lld, inertia %.10g (run %lld)", o.out, (long long)K, st.best_inertia, (long long)st.best_run);
        if (o.c.checkpoint_dir) ckpt_remove(comm, o.c.checkpoint_dir, "kmeans");
    }
wfail:
    free(smean); free(sstd); free(orig); free(gsizes);
    precis_agree(comm, e);
done:
    if (out) h5io_abort(out);
    rc = job_exit(comm, e);
    h5io_close(in);
    free(path); free(dset); free(params); free(inputs); free(fp); free(cols); free(transform);
    free(pj);
    free(C); free(Cn); free(best); free(best_init); free(init); free(hist); free(best_hist); free(lab);
    free(keys); free(keys_lo); free(blob); free(m.X); free(m.offs); free(ksel); free(ids); free(init_given);
    free(hm.l); free(hm.S); free(hm.tmp); free(hm.cnt); free(hm.Cprev);
    km_prev_free(&pv);
    opts_free(&cmd);
    return rc;
}
