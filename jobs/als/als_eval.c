/* als_eval.c - top-N for every user, the popularity baseline, holdout metrics.
 *
 * DESIGN
 * Item factors are laid out in code order in fixed chunks of ALS_CHUNK items
 * (the block layout). If all of them fit --max-replicated-mb they are
 * gathered on every rank; otherwise each rank's block passes around a ring
 * and every rank scores its users against each block in turn. Scores are
 * one dgemm per (fixed sub-batch of a user slot) x (chunk): shapes that do
 * not depend on P, so each score has the same bits at any rank count. The
 * top-N keeps (score desc, item code asc), a total order, so the order in
 * which blocks arrive does not matter. Users without training interactions
 * (cold start) get the popularity list (training buyers per item), flagged.
 * Metrics are per-user values summed exactly (common/reduce).
 */
#define _GNU_SOURCE /* qsort_r */
#include "als.h"
#include "log.h"
#include "reduce.h"
#include "rng.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define USER_BATCH 512

typedef struct topn_state {
    int N;
    double *s;
    int32_t *it;
    int *cnt;
} topn_state;

static inline int better(double s1, int32_t c1, double s2, int32_t c2)
{
    return s1 > s2 || (s1 == s2 && c1 < c2);
}

static void topn_insert(topn_state *t, int64_t u, double s, int32_t c)
{
    int N = t->N, n = t->cnt[u];
    double *S = t->s + u * N;
    int32_t *IT = t->it + u * N;
    if (n == N && !better(s, c, S[N - 1], IT[N - 1])) return;
    int k = n < N ? n++ : N - 1;
    while (k > 0 && better(s, c, S[k - 1], IT[k - 1])) {
        S[k] = S[k - 1];
        IT[k] = IT[k - 1];
        k--;
    }
    S[k] = s;
    IT[k] = c;
    t->cnt[u] = n;
}

static int has_item(const int32_t *v, int64_t n, int32_t c)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (v[m] < c) lo = m + 1;
        else hi = m;
    }
    return lo < n && v[lo] == c;
}

typedef struct scorer {
    als *a;
    topn_state t;
    int excl;
    double *hs, *ns;     /* scores of held-out items and their sampled negatives */
    int32_t *neg;
    double *U, *Yc, *S;  /* scratch */
} scorer;

/* score users against items [lo, hi) whose factors are rows of Yb */
static void score_block(scorer *sc, const double *Yb, int64_t lo, int64_t hi)
{
    int N = sc->t.N;
    als *a = sc->a;
    int f = a->f;
    for (int64_t c0 = lo; c0 < hi; c0 += ALS_CHUNK) {
        int nc = (int)(hi - c0 < ALS_CHUNK ? hi - c0 : ALS_CHUNK);
        memcpy(sc->Yc, Yb + (c0 - lo) * f, 8 * (size_t)nc * (size_t)f);
        for (int64_t g0 = 0; g0 < a->nu;) {
            int64_t g1 = g0;
            while (g1 < a->nu && a->uslot[g1] == a->uslot[g0]) g1++;
            /* warm users of the slot, in fixed batches */
            int64_t u = g0;
            while (u < g1) {
                int64_t idx[USER_BATCH];
                int nb = 0;
                for (; u < g1 && nb < USER_BATCH; u++)
                    if (a->uptr[u + 1] > a->uptr[u]) {
                        memcpy(sc->U + nb * f, a->X + u * f, 8 * (size_t)f);
                        idx[nb++] = u;
                    }
                if (nb == 0) continue;
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nc, f, 1.0, sc->U, f, sc->Yc, f, 0.0, sc->S, nc);
                for (int q = 0; q < nb; q++) {
                    int64_t v = idx[q];
                    const double *srow = sc->S + (int64_t)q * nc;
                    const int32_t *seen = a->uitem + a->uptr[v];
                    int64_t ns = a->uptr[v + 1] - a->uptr[v], sp = 0;
                    while (sp < ns && seen[sp] < c0) sp++;
                    int full = sc->t.cnt[v] == N;
                    double thr = full ? sc->t.s[v * N + N - 1] : -INFINITY;
                    for (int j = 0; j < nc; j++) {
                        if (srow[j] < thr) continue;   /* cannot enter the list: most items stop here */
                        int32_t code = (int32_t)(c0 + j);
                        if (sc->excl) {
                            while (sp < ns && seen[sp] < code) sp++;
                            if (sp < ns && seen[sp] == code) continue;
                        }
                        topn_insert(&sc->t, v, srow[j], code);
                        if (sc->t.cnt[v] == N) thr = sc->t.s[v * N + N - 1];
                    }
                    for (int64_t k = a->hptr[v]; k < a->hptr[v + 1]; k++) {
                        if (a->hitem[k] >= c0 && a->hitem[k] < c0 + nc) sc->hs[k] = srow[a->hitem[k] - c0];
                        if (sc->neg[k] >= c0 && sc->neg[k] < c0 + nc) sc->ns[k] = srow[sc->neg[k] - c0];
                    }
                }
            }
            g0 = g1;
        }
    }
}

static int cmp_pop(const void *x, const void *y, void *ctx)
{
    const int64_t *pop = ctx;
    int32_t p = *(const int32_t *)x, q = *(const int32_t *)y;
    if (pop[p] != pop[q]) return pop[p] > pop[q] ? -1 : 1;
    return (p > q) - (p < q);
}

/* the user's metric values for a list R of n items: precision, recall, ndcg, ap */
static void list_metrics(const int32_t *R, int n, int N, const int32_t *held, int64_t nh, double *m)
{
    double hits = 0, dcg = 0, idcg = 0, ap = 0;
    for (int i = 0; i < n; i++)
        if (R[i] >= 0 && has_item(held, nh, R[i])) {
            hits += 1;
            dcg += 1.0 / log2(i + 2.0);
            ap += hits / (i + 1.0);
        }
    int64_t ideal = nh < N ? nh : N;
    for (int64_t i = 0; i < ideal; i++) idcg += 1.0 / log2((double)i + 2.0);
    m[0] = hits / N;
    m[1] = hits / (double)nh;
    m[2] = idcg > 0 ? dcg / idcg : 0;
    m[3] = ideal > 0 ? ap / (double)ideal : 0;
}

int als_recommend(als *a, const double *Yb, als_recs *R, precis_err *e)
{
    MPI_Comm comm = a->comm;
    int f = a->f, N = (int)a->o->topn;
    scorer sc;
    memset(&sc, 0, sizeof sc);
    sc.a = a;
    sc.t.N = N;
    sc.excl = a->o->exclude_seen || strcmp(a->o->holdout, "none");
    int64_t nh = a->hptr[a->nu], NI = a->NI;
    int32_t *order = malloc(4 * (size_t)(NI + 1));
    uint8_t *cov = calloc(2 * (size_t)(NI + 1), 1);
    double *full = NULL, *ring = NULL, *next = NULL;
    int32_t *plist = malloc(4 * (size_t)N);
    gsl_rng *r = rng_new(0, 0, 0);
    int64_t mylo, myhi, maxrows = 0;
    racc acc[2][6];
    int rc = -1;
    als_block_range(a, a->rank, &mylo, &myhi);
    for (int p = 0; p < a->size; p++) {
        int64_t l, h;
        als_block_range(a, p, &l, &h);
        if (h - l > maxrows) maxrows = h - l;
    }
    size_t nu1 = (size_t)(a->nu + 1);
    sc.t.s = malloc(8 * nu1 * (size_t)N);
    sc.t.it = malloc(4 * nu1 * (size_t)N);
    sc.t.cnt = calloc(nu1, sizeof(int));
    sc.hs = malloc(8 * (size_t)(nh + 1));
    sc.ns = malloc(8 * (size_t)(nh + 1));
    sc.neg = malloc(4 * (size_t)(nh + 1));
    sc.U = als_aalloc(8 * (size_t)USER_BATCH * (size_t)f);
    sc.Yc = als_aalloc(8 * (size_t)ALS_CHUNK * (size_t)f);
    sc.S = als_aalloc(8 * (size_t)USER_BATCH * ALS_CHUNK);
    R->items = malloc(4 * nu1 * (size_t)N);
    R->scores = malloc(8 * nu1 * (size_t)N);
    R->cold = calloc(nu1, 1);
    int gather = (double)NI * f * 8 <= (double)a->o->max_repl_mb * 1048576.0;
    if (gather) full = als_aalloc(8 * (size_t)(NI + 1) * (size_t)f);
    else {
        ring = als_aalloc(8 * (size_t)(maxrows + 1) * (size_t)f);
        next = als_aalloc(8 * (size_t)(maxrows + 1) * (size_t)f);
    }
    if (!order || !cov || !plist || !r || !sc.t.s || !sc.t.it || !sc.t.cnt || !sc.hs || !sc.ns || !sc.neg || !sc.U ||
        !sc.Yc || !sc.S || !R->items || !R->scores || !R->cold || (gather ? !full : (!ring || !next)))
        PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for scoring");
    if (precis_agree(comm, e)) goto done;
    for (int64_t i = 0; i < NI; i++) order[i] = (int32_t)i;
    qsort_r(order, (size_t)NI, 4, cmp_pop, a->pop);
    /* sampled negatives for the AUC: uniform items the user never touched */
    for (int64_t u = 0; u < a->nu; u++) {
        if (a->hptr[u + 1] == a->hptr[u]) continue;
        rng_key(r, (uint64_t)a->o->c.seed, a->ukey ? a->ukey[u] ^ (a->ukey_lo[u] * 0x9e3779b97f4a7c15ULL) : (uint64_t)(a->uoff + u),
                rng_purpose("als-auc"));
        const int32_t *tr = a->uitem + a->uptr[u], *ho = a->hitem + a->hptr[u];
        int64_t nt = a->uptr[u + 1] - a->uptr[u], nho = a->hptr[u + 1] - a->hptr[u];
        for (int64_t k = a->hptr[u]; k < a->hptr[u + 1]; k++) {
            sc.neg[k] = -1;
            sc.hs[k] = sc.ns[k] = 0;
            for (int tries = 0; tries < 100; tries++) {
                int32_t c = (int32_t)gsl_rng_uniform_int(r, (unsigned long)NI);
                if (!has_item(tr, nt, c) && !has_item(ho, nho, c)) { sc.neg[k] = c; break; }
            }
        }
    }
    /* score every warm user against every item */
    if (gather) {
        int *cnt = malloc(sizeof(int) * (size_t)a->size), *dsp = malloc(sizeof(int) * (size_t)a->size);
        MPI_Datatype row;
        if (!cnt || !dsp) { free(cnt); free(dsp); PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto agree; }
        for (int p = 0; p < a->size; p++) {
            int64_t l, h;
            als_block_range(a, p, &l, &h);
            cnt[p] = (int)(h - l);
            dsp[p] = (int)l;
        }
        MPI_Type_contiguous(f, MPI_DOUBLE, &row);
        MPI_Type_commit(&row);
        int m = MPI_Allgatherv(Yb, (int)(myhi - mylo), row, full, cnt, dsp, row, comm);
        MPI_Type_free(&row);
        free(cnt); free(dsp);
        if (m != MPI_SUCCESS) { PERR(e, PRECIS_EXIT_INTERNAL, "MPI_Allgatherv of item factors failed"); goto agree; }
        score_block(&sc, full, 0, NI);
    } else {
        memcpy(ring, Yb, 8 * (size_t)(myhi - mylo) * (size_t)f);
        int to = (a->rank + 1) % a->size, from = (a->rank + a->size - 1) % a->size;
        for (int s = 0; s < a->size; s++) {
            int holder = (a->rank - s + a->size) % a->size, incoming = (holder - 1 + a->size) % a->size;
            int64_t l, h, l2, h2;
            als_block_range(a, holder, &l, &h);
            als_block_range(a, incoming, &l2, &h2);
            score_block(&sc, ring, l, h);
            if (s + 1 < a->size) {
                if (MPI_Sendrecv(ring, (int)((h - l) * f), MPI_DOUBLE, to, 7, next, (int)((h2 - l2) * f), MPI_DOUBLE, from, 7,
                                 comm, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
                    PERR(e, PRECIS_EXIT_INTERNAL, "ring pass of item factors failed");
                    break;
                }
                double *t = ring;
                ring = next;
                next = t;
            }
        }
    }
agree:
    if (precis_agree(comm, e)) goto done;
    /* lists, metrics and coverage */
    for (int m = 0; m < 2; m++)
        for (int q = 0; q < 6; q++) racc_init(&acc[m][q]);
    int64_t neval = 0;
    for (int64_t u = 0; u < a->nu; u++) {
        const int32_t *tr = a->uitem + a->uptr[u];
        int64_t nt = a->uptr[u + 1] - a->uptr[u];
        int np = 0;
        for (int64_t i = 0; i < NI && np < N; i++)
            if (!(sc.excl && has_item(tr, nt, order[i]))) plist[np++] = order[i];
        for (int q = np; q < N; q++) plist[q] = -1;
        int32_t *it = R->items + u * N;
        double *sv = R->scores + u * N;
        if (nt == 0) {
            R->cold[u] = 1;
            for (int q = 0; q < N; q++) {
                it[q] = plist[q];
                sv[q] = plist[q] >= 0 ? (double)a->pop[plist[q]] : 0;
            }
        } else {
            int c = sc.t.cnt[u];
            for (int q = 0; q < N; q++) {
                it[q] = q < c ? sc.t.it[u * N + q] : -1;
                sv[q] = q < c ? sc.t.s[u * N + q] : 0;
            }
        }
        for (int q = 0; q < N; q++) {
            if (it[q] >= 0) cov[it[q]] = 1;
            if (plist[q] >= 0) cov[NI + plist[q]] = 1;
        }
        int64_t h0 = a->hptr[u], nho = a->hptr[u + 1] - h0;
        if (nho == 0) continue;
        neval++;
        double mv[4];
        list_metrics(it, N, N, a->hitem + h0, nho, mv);
        for (int q = 0; q < 4; q++) racc_add(&acc[0][q], mv[q]);
        list_metrics(plist, N, N, a->hitem + h0, nho, mv);
        for (int q = 0; q < 4; q++) racc_add(&acc[1][q], mv[q]);
        /* sampled AUC: one negative per held-out item */
        double auc[2] = {0, 0}, pairs = 0;
        for (int64_t k = h0; k < h0 + nho; k++) {
            if (sc.neg[k] < 0) continue;
            pairs++;
            if (nt > 0) auc[0] += sc.hs[k] > sc.ns[k] ? 1 : sc.hs[k] == sc.ns[k] ? 0.5 : 0;
            int64_t ph = a->pop[a->hitem[k]], pn = a->pop[sc.neg[k]];
            double pa = ph > pn ? 1 : ph == pn ? 0.5 : 0;
            auc[1] += pa;
            if (nt == 0) auc[0] += pa;
        }
        if (pairs > 0) {
            racc_add(&acc[0][4], auc[0] / pairs);
            racc_add(&acc[1][4], auc[1] / pairs);
            racc_add(&acc[0][5], 1);
        }
    }
    {
        double sums[12];
        int64_t tot = neval;
        if (reduce_allreduce(comm, &acc[0][0], 12, sums, "holdout metrics", e)) goto done;
        if (MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_INT64_T, MPI_SUM, comm) != MPI_SUCCESS ||
            MPI_Allreduce(MPI_IN_PLACE, cov, (int)(2 * NI), MPI_UNSIGNED_CHAR, MPI_MAX, comm) != MPI_SUCCESS) {
            PERR(e, PRECIS_EXIT_INTERNAL, "MPI_Allreduce of metrics failed");
            goto done;
        }
        double auc_users = sums[5];
        for (int m = 0; m < 2; m++) {
            for (int q = 0; q < 4; q++) R->metrics[m][q] = tot ? sums[m * 6 + q] / (double)tot : NAN;
            R->metrics[m][4] = auc_users > 0 ? sums[m * 6 + 4] / auc_users : NAN;
            int64_t ncov = 0;
            for (int64_t i = 0; i < NI; i++) ncov += cov[m * NI + i];
            R->metrics[m][5] = NI ? (double)ncov / (double)NI : 0;
            R->metrics[m][6] = (double)tot;
        }
    }
    rc = 0;
done:
    free(order); free(cov); free(full); free(ring); free(next); free(plist);
    if (r) gsl_rng_free(r);
    free(sc.t.s); free(sc.t.it); free(sc.t.cnt); free(sc.hs); free(sc.ns); free(sc.neg);
    free(sc.U); free(sc.Yc); free(sc.S);
    return rc;
}
