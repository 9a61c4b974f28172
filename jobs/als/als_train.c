/* als_train.c - item layout, routes, Gram matrices, the two half-steps, loss.
 *
 * DESIGN
 * A half-step solves, for each entity e with neighbours k (items of a user,
 * or buyers of an item) and confidences c_k = 1 + alpha*v_k (or the log
 * form), (G + sum_k (c_k - 1) y_k y_k' + lam_e I) x_e = sum_k c_k y_k, where
 * G is the other side's Gram matrix. Cholesky forms the matrix (dsyrk over
 * fixed blocks of neighbours) and calls LAPACKE_dposv; CG runs --cg-steps
 * steps warm-started from the previous x_e and never forms it. Neighbours
 * are visited in ascending global order, so an entity's arithmetic never
 * depends on P. G itself is summed per slot with BLAS (a fixed partition),
 * then across slots exactly with common/reduce.
 */
#include "als.h"
#include "log.h"
#include "reduce.h"
#include "rng.h"
#include "shuffle.h"
#include "slots.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#define NB_BLOCK 256      /* neighbours per dsyrk block */

int64_t als_item_slot(int64_t code, int64_t SI)
{
    return (int64_t)(rng_mix64((uint64_t)code) & (uint64_t)(SI - 1));
}

static int item_owner(const als *a, int64_t code)
{
    return slots_owner(als_item_slot(code, a->SI), a->SI, a->size);
}

static int64_t item_lidx(int64_t code, const void *ctx)
{
    const als *a = ctx;
    int64_t s = als_item_slot(code, a->SI), lo = 0, hi = a->ni;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (a->islot[m] < s || (a->islot[m] == s && a->icode[m] < code)) lo = m + 1;
        else hi = m;
    }
    return lo < a->ni && a->icode[lo] == code ? lo : -1;
}

static int64_t user_lidx(int64_t gid, const void *ctx)
{
    const als *a = ctx;
    return gid >= a->uoff && gid < a->uoff + a->nu ? gid - a->uoff : -1;
}

static int user_owner(const als *a, int64_t gid)
{
    int lo = 0, hi = a->size - 1;
    while (lo < hi) {   /* last rank r with uoffs[r] <= gid and a non-empty range */
        int m = (lo + hi + 1) / 2;
        if (a->uoffs[m] <= gid) lo = m;
        else hi = m - 1;
    }
    while (lo > 0 && a->uoffs[lo + 1] == a->uoffs[lo]) lo--;
    return lo;
}

void als_block_range(const als *a, int rank, int64_t *lo, int64_t *hi)
{
    int64_t NC = (a->NI + ALS_CHUNK - 1) / ALS_CHUNK;
    int64_t c0 = NC * rank / a->size, c1 = NC * (rank + 1) / a->size;
    *lo = c0 * ALS_CHUNK < a->NI ? c0 * ALS_CHUNK : a->NI;
    *hi = c1 * ALS_CHUNK < a->NI ? c1 * ALS_CHUNK : a->NI;
}

static int block_owner(const als *a, int64_t code)
{
    /* the last rank whose first chunk is <= the code's chunk */
    int64_t NC = (a->NI + ALS_CHUNK - 1) / ALS_CHUNK, c = code / ALS_CHUNK;
    int lo = 0, hi = a->size - 1;
    while (lo < hi) {
        int m = (lo + hi + 1) / 2;
        if (NC * m / a->size <= c) lo = m;
        else hi = m - 1;
    }
    return lo;
}

static int64_t block_lidx(int64_t code, const void *ctx)
{
    const als *a = ctx;
    int64_t l, h;
    als_block_range(a, a->rank, &l, &h);
    return code >= l && code < h ? code - l : -1;
}

/* index of an item in the heavy list, or -1 */
static int32_t heavy_index(const als *a, int64_t code)
{
    int64_t lo = 0, hi = a->nh;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (a->hcode[m] < code) lo = m + 1;
        else hi = m;
    }
    return lo < a->nh && a->hcode[lo] == code ? (int32_t)lo : -1;
}

typedef struct irec {
    int32_t code, pad;
    int64_t gid;
    double v;
} irec;

static int cmp_irec(const void *x, const void *y)
{
    const irec *p = x, *q = y;
    if (p->pad != q->pad) return p->pad < q->pad ? -1 : 1;   /* pad holds the local item index */
    return (p->gid > q->gid) - (p->gid < q->gid);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
    return (p > q) - (p < q);
}

static int64_t lower_i64(const int64_t *v, int64_t n, int64_t x)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (v[m] < x) lo = m + 1;
        else hi = m;
    }
    return lo;
}

/* distinct sorted values of v[0..n) */
static int64_t *distinct(const int64_t *v, int64_t n, int64_t *nd)
{
    int64_t *d = malloc(8 * (size_t)(n ? n : 1));
    if (!d) return NULL;
    memcpy(d, v, 8 * (size_t)n);
    qsort(d, (size_t)n, 8, cmp_i64);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || d[m - 1] != d[i]) d[m++] = d[i];
    *nd = m;
    return d;
}

int als_setup_items(als *a, precis_err *e)
{
    MPI_Comm comm = a->comm;
    irec *send = NULL, *recv = NULL;
    int *dest = NULL, *own = NULL;
    int64_t *tmp = NULL, *need = NULL, nrecv = 0, nneed = 0, nt = a->uptr[a->nu];
    a->SI = a->o->item_slots;
    /* this rank's items, sorted by (item slot, code) */
    a->ni = 0;
    for (int64_t c = 0; c < a->NI; c++) a->ni += item_owner(a, c) == a->rank;
    a->icode = malloc(4 * (size_t)(a->ni + 1));
    a->islot = malloc(8 * (size_t)(a->ni + 1));
    tmp = malloc(8 * (size_t)(a->ni + 1));
    CHECK(a->icode && a->islot && tmp, e, PRECIS_EXIT_INTERNAL, "out of memory");
    int64_t m = 0;
    for (int64_t c = 0; c < a->NI; c++)
        if (item_owner(a, c) == a->rank) tmp[m++] = (als_item_slot(c, a->SI) << 32) | c;
    qsort(tmp, (size_t)m, 8, cmp_i64);
    for (int64_t i = 0; i < m; i++) {
        a->islot[i] = tmp[i] >> 32;
        a->icode[i] = (int32_t)(tmp[i] & 0xffffffff);
    }
    free(tmp);
    tmp = NULL;
    /* training pairs to the items' owners */
    send = malloc(sizeof(irec) * (size_t)(nt ? nt : 1));
    dest = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    CHECK(send && dest, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t u = 0; u < a->nu; u++)
        for (int64_t k = a->uptr[u]; k < a->uptr[u + 1]; k++) {
            send[k] = (irec){a->uitem[k], 0, a->uoff + u, a->uval[k]};
            dest[k] = item_owner(a, a->uitem[k]);
        }
fail:
    if (precis_agree(comm, e)) goto out;
    if (shuffle_exchange(comm, send, nt, sizeof(irec), dest, 0, (void **)&recv, &nrecv, e)) goto out;
    free(send); free(dest);
    send = NULL; dest = NULL;
    for (int64_t k = 0; k < nrecv; k++) {
        int64_t l = item_lidx(recv[k].code, a);
        if (l < 0) { PERR(e, PRECIS_EXIT_INTERNAL, "item %d sent to the wrong rank", recv[k].code); break; }
        recv[k].pad = (int32_t)l;
    }
    if (!e->code) qsort(recv, (size_t)nrecv, sizeof(irec), cmp_irec);
    a->iptr = calloc((size_t)a->ni + 1, 8);
    a->iuser = malloc(8 * (size_t)(nrecv ? nrecv : 1));
    a->ival = malloc(8 * (size_t)(nrecv ? nrecv : 1));
    a->pop = calloc((size_t)(a->NI ? a->NI : 1), 8);
    if (!e->code && (!a->iptr || !a->iuser || !a->ival || !a->pop)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(comm, e)) goto out;
    /* popularity (training buyers per item) first: it decides the heavy items */
    for (int64_t k = 0; k < nrecv; k++) a->pop[a->icode[recv[k].pad]]++;
    if (MPI_Allreduce(MPI_IN_PLACE, a->pop, (int)a->NI, MPI_INT64_T, MPI_SUM, comm) != MPI_SUCCESS)
        PERR(e, PRECIS_EXIT_INTERNAL, "MPI_Allreduce of item popularity failed");
    if (precis_agree(comm, e)) goto out;
    /* heavy items: their normal equations are summed where their buyers live
     * (als_heavy_normal), so their pairs stay out of the item side */
    a->nh = 0;
    for (int64_t c = 0; c < a->NI; c++) a->nh += a->pop[c] >= a->o->heavy_users;
    a->hcode = malloc(4 * (size_t)(a->nh + 1));
    a->ihidx = malloc(4 * (size_t)(a->ni + 1));
    a->uhidx = malloc(4 * (size_t)(nt + 1));
    if (!a->hcode || !a->ihidx || !a->uhidx) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(comm, e)) goto out;
    for (int64_t c = 0, h = 0; c < a->NI; c++)
        if (a->pop[c] >= a->o->heavy_users) a->hcode[h++] = (int32_t)c;
    for (int64_t i = 0; i < a->ni; i++) a->ihidx[i] = heavy_index(a, a->icode[i]);
    for (int64_t k = 0; k < nt; k++) a->uhidx[k] = heavy_index(a, a->uitem[k]);
    if (a->nh) {
        int64_t hp = 0;
        for (int64_t h = 0; h < a->nh; h++) hp += a->pop[a->hcode[h]];
        LOG_INFO("%lld heavy items (>= %lld training buyers, %lld pairs): their normal equations are summed on the buyers' ranks",
                 (long long)a->nh, (long long)a->o->heavy_users, (long long)hp);
    }
    int64_t kept = 0;
    for (int64_t k = 0; k < nrecv; k++) {
        if (a->ihidx[recv[k].pad] >= 0) continue;
        a->iptr[recv[k].pad + 1]++;
        a->iuser[kept] = recv[k].gid;
        a->ival[kept++] = recv[k].v;
    }
    for (int64_t i = 0; i < a->ni; i++) a->iptr[i + 1] += a->iptr[i];
    free(recv);
    recv = NULL;

    /* route: item factors to the ranks of their buyers */
    {
        int64_t *codes = malloc(8 * (size_t)(nt ? nt : 1));
        if (codes)
            for (int64_t k = 0; k < nt; k++) codes[k] = a->uitem[k];
        need = codes ? distinct(codes, nt, &nneed) : NULL;
        free(codes);
        own = malloc(sizeof(int) * (size_t)(nneed + 1));
        a->ucol = malloc(8 * (size_t)(nt ? nt : 1));
        if (!need || !own || !a->ucol) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        else {
            for (int64_t k = 0; k < nneed; k++) own[k] = item_owner(a, need[k]);
            for (int64_t k = 0; k < nt; k++) a->ucol[k] = lower_i64(need, nneed, a->uitem[k]);
        }
        if (precis_agree(comm, e) || route_build(comm, need, own, nneed, item_lidx, a, &a->ur, e)) goto out;
        a->Yn = malloc(8 * (size_t)a->f * (size_t)(nneed + 1));
        free(need); free(own);
        need = NULL; own = NULL;
    }
    /* route: user factors to the owners of the items they bought */
    {
        int64_t ntot = a->iptr[a->ni];
        need = distinct(a->iuser, ntot, &nneed);
        own = malloc(sizeof(int) * (size_t)(nneed + 1));
        a->icol = malloc(8 * (size_t)(ntot ? ntot : 1));
        if (!need || !own || !a->icol) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        else {
            for (int64_t k = 0; k < nneed; k++) own[k] = user_owner(a, need[k]);
            for (int64_t k = 0; k < ntot; k++) a->icol[k] = lower_i64(need, nneed, a->iuser[k]);
        }
        if (precis_agree(comm, e) || route_build(comm, need, own, nneed, user_lidx, a, &a->ir, e)) goto out;
        a->Xn = malloc(8 * (size_t)a->f * (size_t)(nneed + 1));
    }
    a->X = calloc((size_t)(a->nu + 1) * (size_t)a->f, 8);
    a->Y = calloc((size_t)(a->ni + 1) * (size_t)a->f, 8);
    if (!a->Yn || !a->Xn || !a->X || !a->Y) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for factors");
    a->bytes_per_iter = (double)(a->ur.remote_rows + a->ir.remote_rows) * a->f * (a->as_float ? 4 : 8);
    MPI_Allreduce(MPI_IN_PLACE, &a->bytes_per_iter, 1, MPI_DOUBLE, MPI_SUM, comm);
out:
    free(send); free(dest); free(recv); free(need); free(own); free(tmp);
    return precis_agree(comm, e);
}

void als_round_float(double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = (double)(float)v[i];
}

/* G = F'F over this side's factors: one dsyrk per slot (the same rows and
 * shapes at any P), the slots' upper triangles summed in the fixed slot tree
 * of common/reduce (plain additions, the same bits at any P). */
int als_gram(als *a, int users, double *G, precis_err *e)
{
    int f = a->f, nt = f * (f + 1) / 2;
    int64_t n = users ? a->nu : a->ni, S = users ? a->S : a->SI, slo, shi;
    const int64_t *slot = users ? a->uslot : a->islot;
    const double *F = users ? a->X : a->Y;
    slots_range(a->rank, a->size, S, &slo, &shi);
    stree *t = stree_new(nt, S, slo, shi);
    double *blk = als_aalloc(8 * (size_t)NB_BLOCK * (size_t)f);
    double *part = als_aalloc(8 * (size_t)f * (size_t)f);
    double *out = malloc(8 * (size_t)nt);
    int rc = -1;
    if (!t || !blk || !part || !out) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for the Gram matrix");
    if (precis_agree(a->comm, e)) goto done;
    for (int64_t g0 = 0; g0 < n;) {
        int64_t g1 = g0;
        while (g1 < n && slot[g1] == slot[g0]) g1++;
        memset(part, 0, 8 * (size_t)f * (size_t)f);
        for (int64_t b = g0; b < g1; b += NB_BLOCK) {
            int nb = (int)(g1 - b < NB_BLOCK ? g1 - b : NB_BLOCK);
            memcpy(blk, F + b * f, 8 * (size_t)nb * (size_t)f);
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, f, nb, 1.0, blk, f, 1.0, part, f);
        }
        double *leaf = stree_leaf(t, slot[g0]);
        if (!leaf) break;   /* out of memory: reported by stree_allreduce */
        for (int i = 0, k = 0; i < f; i++) {   /* row i of the upper triangle */
            memcpy(leaf + k, part + i * f + i, 8 * (size_t)(f - i));
            k += f - i;
        }
        g0 = g1;
    }
    if (stree_allreduce(a->comm, t, out, e)) goto done;
    for (int i = 0, k = 0; i < f; i++)
        for (int j = i; j < f; j++, k++) G[i * f + j] = G[j * f + i] = out[k];
    rc = 0;
done:
    stree_free(t); free(blk); free(part); free(out);
    return rc;
}

static inline double confidence(const als_opts *o, double v)
{
    if (o->confidence[1] == 'o') return 1.0 + o->alpha * log1p(v / o->eps);   /* "log" */
    return 1.0 + o->alpha * v;
}

/* x.y in a fixed order with eight independent partial sums (one serial
 * chain of f dependent additions would be latency-bound). */
static inline double dot(const double *x, const double *y, int f)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int j = 0;
    for (; j + 8 <= f; j += 8)
        for (int k = 0; k < 8; k++) s[k] += x[j + k] * y[j + k];
    double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; j < f; j++) t += x[j] * y[j];
    return t;
}

#define GATHER_MAX 4096   /* neighbour rows gathered at once; larger degrees go in fixed blocks */

/* Per-entity scratch: the neighbours' factor rows gathered contiguously (so
 * BLAS sees the same shapes and aligned buffers at any P), their weights. */
typedef struct solve_ws {
    int f;
    double *Yg;    /* GATHER_MAX x f */
    double *w;     /* c - 1 per neighbour */
    double *c;     /* c per neighbour */
    double *t;     /* GATHER_MAX */
    double *A, *b, *r, *p, *Ap, *x;
} solve_ws;

static int ws_init(solve_ws *w, int f, int64_t maxdeg)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    size_t ff = 8 * (size_t)f * (size_t)f, fv = 8 * (size_t)((f + 7) / 8 * 8), nd = 8 * (size_t)(maxdeg + 8);
    w->Yg = als_aalloc(8 * (size_t)GATHER_MAX * (size_t)f);
    w->t = als_aalloc(8 * (size_t)GATHER_MAX);
    w->w = malloc(nd);
    w->c = malloc(nd);
    w->A = als_aalloc(ff);
    w->b = als_aalloc(fv); w->r = als_aalloc(fv); w->p = als_aalloc(fv);
    w->Ap = als_aalloc(fv); w->x = als_aalloc(fv);
    return w->Yg && w->t && w->w && w->c && w->A && w->b && w->r && w->p && w->Ap && w->x ? 0 : -1;
}

static void ws_free(solve_ws *w)
{
    free(w->Yg); free(w->t); free(w->w); free(w->c); free(w->A); free(w->b); free(w->r); free(w->p); free(w->Ap); free(w->x);
}

static void gather(int f, const double *nb, const int64_t *col, int64_t n, double *Yg)
{
    for (int64_t k = 0; k < n; k++) memcpy(Yg + k * f, nb + col[k] * f, 8 * (size_t)f);
}

/* out = (G + lam I) p + sum_k w_k (y_k . p) y_k, neighbours in fixed blocks of GATHER_MAX */
static void apply_A(solve_ws *ws, const double *G, double lam, const int64_t *col, int64_t deg, const double *nb,
                    int gathered, const double *p, double *out)
{
    int f = ws->f;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, f, f, 1.0, G, f, p, 1, 0.0, out, 1);
    for (int j = 0; j < f; j++) out[j] += lam * p[j];
    for (int64_t s = 0; s < deg; s += GATHER_MAX) {
        int m = (int)(deg - s < GATHER_MAX ? deg - s : GATHER_MAX);
        if (!gathered) gather(f, nb, col + s, m, ws->Yg);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, m, f, 1.0, ws->Yg, f, p, 1, 0.0, ws->t, 1);
        for (int k = 0; k < m; k++) ws->t[k] *= ws->w[s + k];
        cblas_dgemv(CblasRowMajor, CblasTrans, m, f, 1.0, ws->Yg, f, ws->t, 1, 1.0, out, 1);
    }
}

/* The matrix of one solve: explicit (heavy items), or G + lam I plus the
 * entity's gathered neighbours (apply_A). */
typedef struct cg_op {
    const double *A;
    const double *G, *nb;
    double lam;
    const int64_t *col;
    int64_t deg;
    int gathered;
} cg_op;

static void op_apply(solve_ws *ws, const cg_op *op, const double *p, double *out)
{
    if (op->A) cblas_dgemv(CblasRowMajor, CblasNoTrans, ws->f, ws->f, 1.0, op->A, ws->f, p, 1, 0.0, out, 1);
    else apply_A(ws, op->G, op->lam, op->col, op->deg, op->nb, op->gathered, p, out);
}

/* `steps` conjugate-gradient steps on op x = b, warm-started from x. */
static void cg_solve(solve_ws *ws, const cg_op *op, int64_t steps, const double *b, double *x)
{
    int f = ws->f;
    double *r = ws->r, *p = ws->p, *Ap = ws->Ap;
    op_apply(ws, op, x, Ap);
    for (int j = 0; j < f; j++) p[j] = r[j] = b[j] - Ap[j];
    double rs = dot(r, r, f);
    for (int64_t s = 0; s < steps && rs >= 1e-20; s++) {
        op_apply(ws, op, p, Ap);
        double alpha = rs / dot(p, Ap, f);
        for (int j = 0; j < f; j++) {
            x[j] += alpha * p[j];
            r[j] -= alpha * Ap[j];
        }
        double rn = dot(r, r, f);
        for (int j = 0; j < f; j++) p[j] = r[j] + (rn / rs) * p[j];
        rs = rn;
    }
}

/* The heavy items' normal equations, summed where their buyers live: per
 * user slot (a partition that does not depend on P), sum_u (c-1) x x' and
 * sum_u c x in double in user order, then the slot partials are added
 * exactly (common/reduce) and allreduced. */
int als_heavy_normal(als *a, precis_err *e)
{
    int f = a->f;
    int64_t nh = a->nh, nt1 = (int64_t)f * (f + 1) / 2 + f;
    racc *acc = malloc(sizeof(racc) * (size_t)(nh * nt1));
    double *PA = calloc((size_t)(nh * f * f), 8), *Pb = calloc((size_t)(nh * f), 8), *out = malloc(8 * (size_t)(nh * nt1));
    char *touched = calloc((size_t)nh, 1);
    int32_t *tl = malloc(4 * (size_t)nh);
    int rc = -1;
    if (!acc || !PA || !Pb || !out || !touched || !tl || (!a->HA && !(a->HA = malloc(8 * (size_t)(nh * f * f)))) ||
        (!a->Hb && !(a->Hb = malloc(8 * (size_t)(nh * f)))))
        PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for %lld heavy items (%.0f MB per rank)", (long long)nh,
             (double)(nh * nt1) * sizeof(racc) / 1e6);
    if (precis_agree(a->comm, e)) goto done;
    for (int64_t t = 0; t < nh * nt1; t++) racc_init(&acc[t]);
    for (int64_t g0 = 0; g0 < a->nu;) {
        int64_t g1 = g0, ntl = 0;
        while (g1 < a->nu && a->uslot[g1] == a->uslot[g0]) g1++;
        for (int64_t u = g0; u < g1; u++) {
            const double *x = a->X + u * f;
            for (int64_t k = a->uptr[u]; k < a->uptr[u + 1]; k++) {
                int32_t h = a->uhidx[k];
                if (h < 0) continue;
                double c = confidence(a->o, a->uval[k]), w = c - 1.0;
                double *A = PA + (int64_t)h * f * f, *b = Pb + (int64_t)h * f;
                for (int i = 0; i < f; i++) {
                    double wx = w * x[i];
                    for (int j = i; j < f; j++) A[i * f + j] += wx * x[j];
                    b[i] += c * x[i];
                }
                if (!touched[h]) { touched[h] = 1; tl[ntl++] = h; }
            }
        }
        for (int64_t q = 0; q < ntl; q++) {
            int32_t h = tl[q];
            double *A = PA + (int64_t)h * f * f, *b = Pb + (int64_t)h * f;
            racc *r = acc + (int64_t)h * nt1;
            for (int i = 0, t = 0; i < f; i++)
                for (int j = i; j < f; j++) racc_add(&r[t++], A[i * f + j]);
            for (int i = 0; i < f; i++) racc_add(&r[nt1 - f + i], b[i]);
            memset(A, 0, 8 * (size_t)f * (size_t)f);
            memset(b, 0, 8 * (size_t)f);
            touched[h] = 0;
        }
        g0 = g1;
    }
    if (reduce_allreduce(a->comm, acc, nh * nt1, out, "heavy-item normal equations", e)) goto done;
    for (int64_t h = 0; h < nh; h++) {
        const double *o = out + h * nt1;
        double *A = a->HA + h * f * f;
        for (int i = 0, t = 0; i < f; i++)
            for (int j = i; j < f; j++, t++) A[i * f + j] = A[j * f + i] = o[t];
        memcpy(a->Hb + h * f, o + nt1 - f, 8 * (size_t)f);
    }
    rc = 0;
done:
    free(acc); free(PA); free(Pb); free(out); free(touched); free(tl);
    return rc;
}

int als_half(als *a, int users, const double *G, precis_err *e)
{
    int f = a->f, chol = a->o->solver[1] == 'h';
    int64_t n = users ? a->nu : a->ni, maxdeg = 0;
    const int64_t *ptr = users ? a->uptr : a->iptr, *col = users ? a->ucol : a->icol;
    const double *val = users ? a->uval : a->ival, *nb = users ? a->Yn : a->Xn;
    double *F = users ? a->X : a->Y;
    solve_ws ws;
    int rc = -1;
    int64_t bad = -1;
    for (int64_t i = 0; i < n; i++)
        if (ptr[i + 1] - ptr[i] > maxdeg) maxdeg = ptr[i + 1] - ptr[i];
    if (ws_init(&ws, f, maxdeg)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory in the solver");
    if (precis_agree(a->comm, e)) goto done;
    double *A = ws.A, *b = ws.b, *x = ws.x;
    if (!users && a->nh && als_heavy_normal(a, e)) goto done;
    for (int64_t i = 0; i < n && bad < 0; i++) {
        int64_t k0 = ptr[i], deg = ptr[i + 1] - k0;
        int32_t h = users ? -1 : a->ihidx[i];
        if (h >= 0) {   /* a heavy item: its matrix was summed on the buyers' ranks */
            double lam = a->o->lambda * (a->o->reg_scale[0] == 'c' ? (double)a->pop[a->icode[i]] : 1.0);
            for (int j = 0; j < f * f; j++) A[j] = G[j] + a->HA[(int64_t)h * f * f + j];
            for (int j = 0; j < f; j++) A[j * f + j] += lam;
            memcpy(b, a->Hb + (int64_t)h * f, 8 * (size_t)f);
            if (chol) {
                if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', f, 1, A, f, b, 1) != 0) { bad = i; break; }
                memcpy(x, b, 8 * (size_t)f);
            } else {
                memcpy(x, F + i * f, 8 * (size_t)f);
                cg_op op = {A, NULL, NULL, 0, NULL, 0, 0};
                cg_solve(&ws, &op, a->o->cg_steps, b, x);
            }
            memcpy(F + i * f, x, 8 * (size_t)f);
            if (a->as_float) als_round_float(F + i * f, f);
            continue;
        }
        if (deg == 0) { memset(F + i * f, 0, 8 * (size_t)f); continue; }
        double lam = a->o->lambda * (a->o->reg_scale[0] == 'c' ? (double)deg : 1.0);
        for (int64_t k = 0; k < deg; k++) {
            ws.c[k] = confidence(a->o, val[k0 + k]);
            ws.w[k] = ws.c[k] - 1.0;
        }
        int gathered = deg <= GATHER_MAX;
        /* b = sum_k c_k y_k */
        memset(b, 0, 8 * (size_t)f);
        for (int64_t s = 0; s < deg; s += GATHER_MAX) {
            int m = (int)(deg - s < GATHER_MAX ? deg - s : GATHER_MAX);
            gather(f, nb, col + k0 + s, m, ws.Yg);
            cblas_dgemv(CblasRowMajor, CblasTrans, m, f, 1.0, ws.Yg, f, ws.c + s, 1, 1.0, b, 1);
        }
        if (chol) {
            memcpy(A, G, 8 * (size_t)f * (size_t)f);
            for (int j = 0; j < f; j++) A[j * f + j] += lam;
            for (int64_t s = 0; s < deg; s += GATHER_MAX) {
                int m = (int)(deg - s < GATHER_MAX ? deg - s : GATHER_MAX);
                for (int q = 0; q < m; q++) {
                    const double *y = nb + col[k0 + s + q] * f;
                    double sw = sqrt(ws.w[s + q]);
                    for (int j = 0; j < f; j++) ws.Yg[q * f + j] = sw * y[j];
                }
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, f, m, 1.0, ws.Yg, f, 1.0, A, f);
            }
            lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', f, 1, A, f, b, 1);
            if (info != 0) { bad = i; break; }
            memcpy(x, b, 8 * (size_t)f);
        } else {
            memcpy(x, F + i * f, 8 * (size_t)f);
            cg_op op = {NULL, G, nb, lam, col + k0, deg, gathered};
            cg_solve(&ws, &op, a->o->cg_steps, b, x);
        }
        memcpy(F + i * f, x, 8 * (size_t)f);
        if (a->as_float) als_round_float(F + i * f, f);
    }
    if (bad >= 0)
        PERR(e, PRECIS_EXIT_DATA, "the normal equations of %s %lld are not positive definite (try --lambda > 0)",
             users ? "user" : "item", (long long)(users ? a->uoff + bad : a->icode[bad]));
    rc = precis_agree(a->comm, e);
done:
    ws_free(&ws);
    return rc;
}

/* The objective: sum over all (u, i) of c_ui (p_ui - x_u.y_i)^2 plus the
 * regularisation. The all-pairs part sum_u x_u' (Y'Y) x_u is the Frobenius
 * product <X'X, Y'Y> of the two Gram matrices (already the same bits at any
 * P); the observed pairs add c (1 - s)^2 - s^2 with s = x_u.y_i. Exact sums. */
int als_loss(als *a, const double *Gx, const double *Gy, double *loss, precis_err *e)
{
    int f = a->f;
    racc acc;
    racc_init(&acc);
    if (a->rank == 0) {
        double q = 0;
        for (int i = 0; i < f; i++) {
            double r = Gx[i * f + i] * Gy[i * f + i];
            for (int j = i + 1; j < f; j++) r += 2.0 * Gx[i * f + j] * Gy[i * f + j];
            q += r;
        }
        racc_add(&acc, q);
    }
    int count = a->o->reg_scale[0] == 'c';
    for (int64_t u = 0; u < a->nu; u++) {
        int64_t k0 = a->uptr[u], deg = a->uptr[u + 1] - k0;
        const double *x = a->X + u * f;
        double l = a->o->lambda * (count ? (double)deg : 1.0) * dot(x, x, f);
        for (int64_t k = k0; k < k0 + deg; k++) {
            double sc = dot(x, a->Yn + a->ucol[k] * f, f), c = confidence(a->o, a->uval[k]);
            l += c * (1.0 - sc) * (1.0 - sc) - sc * sc;
        }
        racc_add(&acc, l);
    }
    for (int64_t i = 0; i < a->ni; i++) {
        const double *y = a->Y + i * f;
        int64_t deg = a->pop[a->icode[i]];   /* heavy items have no pairs on the item side */
        racc_add(&acc, a->o->lambda * (count ? (double)deg : 1.0) * dot(y, y, f));
    }
    return reduce_allreduce(a->comm, &acc, 1, loss, "loss", e);
}

int als_items_to_blocks(als *a, double *Yb, precis_err *e)
{
    int64_t lo, hi;
    route rt;
    als_block_range(a, a->rank, &lo, &hi);
    int64_t *need = malloc(8 * (size_t)(hi - lo + 1));
    int *own = malloc(sizeof(int) * (size_t)(hi - lo + 1));
    if (!need || !own) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    else
        for (int64_t c = lo; c < hi; c++) {
            need[c - lo] = c;
            own[c - lo] = item_owner(a, c);
        }
    int rc = precis_agree(a->comm, e) || route_build(a->comm, need, own, hi - lo, item_lidx, a, &rt, e);
    free(need); free(own);
    if (rc) return -1;
    rc = route_move(a->comm, &rt, a->Y, a->f, 0, Yb, e);
    route_free(&rt);
    return rc;
}

int als_blocks_to_items(als *a, const double *Yb, precis_err *e)
{
    route rt;
    int64_t *need = malloc(8 * (size_t)(a->ni + 1));
    int *own = malloc(sizeof(int) * (size_t)(a->ni + 1));
    if (!need || !own) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    else
        for (int64_t i = 0; i < a->ni; i++) {
            need[i] = a->icode[i];
            own[i] = block_owner(a, a->icode[i]);
        }
    int rc = precis_agree(a->comm, e) || route_build(a->comm, need, own, a->ni, block_lidx, a, &rt, e);
    free(need); free(own);
    if (rc) return -1;
    rc = route_move(a->comm, &rt, Yb, a->f, 0, a->Y, e);
    route_free(&rt);
    return rc;
}
