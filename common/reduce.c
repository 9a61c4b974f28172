/* reduce.c - exact long accumulator and its reproducible MPI allreduce. */
#include "reduce.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIN_BITS RACC_BIN_BITS
#define EMIN RACC_EMIN

void racc_init(racc *a) { memset(a, 0, sizeof *a); }

/* Bring every bin but the top into [0, 2^32); the top keeps the sign. */
void racc_normalise(racc *a)
{
    for (int i = 0; i < RACC_BINS - 1; i++) {
        __int128 carry = a->bin[i] >> BIN_BITS; /* arithmetic: floor division */
        a->bin[i] -= carry * ((__int128)1 << BIN_BITS);
        a->bin[i + 1] += carry;
    }
    a->nadd = 0;
}

void rlanes_init(rlanes *l, racc *acc)
{
    memset(l, 0, sizeof *l);
    l->acc = acc;
}

void rlanes_flush(rlanes *l)
{
    racc *a = l->acc;
    for (int w = 0; w < 32; w++) {
        for (uint64_t bits = l->touched[w]; bits; bits &= bits - 1) {
            unsigned be = (unsigned)(w * 64 + __builtin_ctzll(bits));
            int64_t v = l->lane[be]; /* mantissas of scale be (racc_split), |v| < 2^63 */
            l->lane[be] = 0;
            if (v) racc_put(a, v, be);
        }
        l->touched[w] = 0;
    }
    /* each value added counts as one addition towards the bins' headroom,
     * as with racc_add: a lane's sum is bounded by its values' */
    a->nadd += l->n;
    l->n = 0;
    if (a->nadd >= RACC_NORMALISE_EVERY) racc_normalise(a);
}

void racc_merge(racc *dst, const racc *src)
{
    racc t;
    memcpy(&t, src, sizeof t);
    racc_normalise(&t);
    racc_normalise(dst);
    for (int i = 0; i < RACC_BINS; i++) dst->bin[i] += t.bin[i];
    dst->bad |= t.bad;
    racc_normalise(dst);
}

static int bitlen128(unsigned __int128 v)
{
    int n = 0;
    while (v) { n++; v >>= 1; }
    return n;
}

/* Correctly rounded conversion of a non-negative normalised accumulator. */
static double racc_to_double_pos(const racc *a)
{
    int h = RACC_BINS - 1;
    while (h >= 0 && a->bin[h] == 0) h--;
    if (h < 0) return 0.0;
    if (a->bin[h] >= ((__int128)1 << 90)) return INFINITY; /* far beyond DBL_MAX */
    /* the top bin is not bounded by normalisation: then take one bin less */
    int lo = a->bin[h] >= ((__int128)1 << BIN_BITS) ? h - 1 : h - 2;
    if (lo < 0) lo = 0;
    unsigned __int128 v = 0;
    for (int i = h; i >= lo; i--) v = (v << BIN_BITS) | (unsigned __int128)a->bin[i];
    int sticky = 0;
    for (int i = lo - 1; i >= 0; i--) if (a->bin[i]) { sticky = 1; break; }
    int L = bitlen128(v), shift = 0;
    if (L > 53) {
        shift = L - 53;
        unsigned __int128 q = v >> shift, rem = v & ((((unsigned __int128)1) << shift) - 1);
        unsigned __int128 half = ((unsigned __int128)1) << (shift - 1);
        if (rem > half || (rem == half && (sticky || (q & 1)))) q++;
        v = q;
    }
    return ldexp((double)(uint64_t)v, shift + lo * BIN_BITS + EMIN);
}

int racc_value(const racc *a, double *out, const char *what, precis_err *e)
{
    if (a->bad)
        return PERR(e, PRECIS_EXIT_DATA, "%s: sum over %s values", what ? what : "sum",
                    (a->bad & 1) ? "NaN" : "infinite");
    racc t;
    memcpy(&t, a, sizeof t);
    racc_normalise(&t);
    int neg = t.bin[RACC_BINS - 1] < 0;
    if (neg) {
        for (int i = 0; i < RACC_BINS; i++) t.bin[i] = -t.bin[i];
        racc_normalise(&t);
    }
    double v = racc_to_double_pos(&t);
    if (!isfinite(v))
        return PERR(e, PRECIS_EXIT_DATA, "%s: sum overflows a double (beyond %g)", what ? what : "sum", DBL_MAX);
    *out = neg ? -v : v;
    return 0;
}

/* MPI user op: element-wise exact sum of racc arrays. Buffers may be unaligned. */
static void racc_op(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    racc a, b;
    for (int i = 0; i < *len; i++) {
        memcpy(&a, (char *)in + (size_t)i * sizeof(racc), sizeof a);
        memcpy(&b, (char *)inout + (size_t)i * sizeof(racc), sizeof b);
        racc_merge(&b, &a);
        memcpy((char *)inout + (size_t)i * sizeof(racc), &b, sizeof b);
    }
}

int reduce_allreduce(MPI_Comm comm, racc *acc, int64_t n, double *out,
                     const char *what, precis_err *e)
{
    MPI_Datatype t = MPI_DATATYPE_NULL;
    MPI_Op op = MPI_OP_NULL;
    racc *tmp = NULL;
    int rc = -1;
    for (int64_t i = 0; i < n; i++) racc_normalise(&acc[i]);
    MPI_CHECK(MPI_Type_contiguous((int)sizeof(racc), MPI_BYTE, &t), e);
    MPI_CHECK(MPI_Type_commit(&t), e);
    MPI_CHECK(MPI_Op_create(racc_op, 1, &op), e);
    /* chunk so that each call's count fits in an int and buffers stay small */
    const int64_t chunk = 4096;
    tmp = malloc(sizeof(racc) * (size_t)(n < chunk ? (n ? n : 1) : chunk));
    CHECK(tmp, e, PRECIS_EXIT_INTERNAL, "out of memory in reduce_allreduce");
    for (int64_t off = 0; off < n; off += chunk) {
        int c = (int)(n - off < chunk ? n - off : chunk);
        MPI_CHECK(MPI_Allreduce(acc + off, tmp, c, t, op, comm), e);
        memcpy(acc + off, tmp, sizeof(racc) * (size_t)c);
    }
    rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++)
        if (racc_value(&acc[i], &out[i], what, e)) rc = -1;
fail:
    free(tmp);
    if (op != MPI_OP_NULL) MPI_Op_free(&op);
    if (t != MPI_DATATYPE_NULL) MPI_Type_free(&t);
    return rc;
}

int reduce_sum(MPI_Comm comm, const double *x, int64_t n, double *out, precis_err *e)
{
    racc a;
    racc_init(&a);
    for (int64_t i = 0; i < n; i++) racc_add(&a, x[i]);
    return reduce_allreduce(comm, &a, 1, out, "sum", e);
}

int reduce_colsum(MPI_Comm comm, const double *x, int64_t nrows, int ncols,
                  double *out, precis_err *e)
{
    racc *a = malloc(sizeof(racc) * (size_t)(ncols > 0 ? ncols : 1));
    if (!a) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory in reduce_colsum");
    for (int j = 0; j < ncols; j++) racc_init(&a[j]);
    for (int64_t i = 0; i < nrows; i++)
        for (int j = 0; j < ncols; j++) racc_add(&a[j], x[i * ncols + j]);
    int rc = reduce_allreduce(comm, a, ncols, out, "column sum", e);
    free(a);
    return rc;
}

/* ---- slot-tree sums ---- */

#define STREE_DEPTH 130   /* 2 * 63 levels + the pending leaf and slack */

typedef struct stnode {
    int64_t level, idx;   /* the node covers slots [idx << level, (idx + 1) << level) */
    int64_t empty;
    double *v;
} stnode;

struct stree {
    int64_t n, S, lo, hi, next;   /* next: the first slot not yet pushed */
    int top;                      /* entries on the stack */
    stnode st[STREE_DEPTH];
    double *pool[STREE_DEPTH + 1];   /* free vectors (allocated on demand) */
    int npool;
    int leaf_open;                /* stree_leaf handed out st[top] */
    int oom;
};

static double *st_vec(stree *t)
{
    if (t->npool) return t->pool[--t->npool];
    double *v = malloc(8 * (size_t)(t->n ? t->n : 1));
    if (!v) t->oom = 1;
    return v;
}

static void st_release(stree *t, double *v)
{
    if (!v) return;
    if (t->npool < STREE_DEPTH + 1) t->pool[t->npool++] = v;
    else free(v);
}

stree *stree_new(int64_t n, int64_t S, int64_t lo, int64_t hi)
{
    stree *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n = n; t->S = S; t->lo = lo; t->hi = hi; t->next = lo;
    return t;
}

void stree_free(stree *t)
{
    if (!t) return;
    for (int i = 0; i < t->top; i++) free(t->st[i].v);
    if (t->leaf_open) free(t->st[t->top].v);
    for (int i = 0; i < t->npool; i++) free(t->pool[i]);
    free(t);
}

/* Push node b (its vector owned by the stack from now on) and merge it with
 * its left sibling while that is the top: the canonical combination rule. */
static void st_push(stree *t, stnode b)
{
    while (t->top > 0) {
        stnode *a = &t->st[t->top - 1];
        if (a->level != b.level || (a->idx & 1) || a->idx + 1 != b.idx) break;
        if (a->empty) {
            st_release(t, a->v);
            a->v = b.v; a->empty = b.empty;
        } else if (!b.empty) {
            for (int64_t j = 0; j < t->n; j++) a->v[j] += b.v[j];
            st_release(t, b.v);
        } else {
            st_release(t, b.v);
        }
        a->level++;
        a->idx >>= 1;
        b = *a;
        t->top--;
    }
    t->st[t->top++] = b;
}

/* The empty leaves of slots [next, s). */
static void st_skip_to(stree *t, int64_t s)
{
    for (; t->next < s; t->next++) st_push(t, (stnode){0, t->next, 1, NULL});
}

static void st_close_leaf(stree *t)
{
    if (!t->leaf_open) return;
    stnode b = t->st[t->top];
    t->leaf_open = 0;
    st_push(t, b);
}

double *stree_leaf(stree *t, int64_t s)
{
    st_close_leaf(t);
    if (s < t->next || s >= t->hi) return NULL;
    st_skip_to(t, s);
    double *v = st_vec(t);
    if (!v) return NULL;
    memset(v, 0, 8 * (size_t)t->n);
    t->st[t->top] = (stnode){0, s, 0, v};
    t->leaf_open = 1;
    t->next = s + 1;
    return v;
}

int stree_allreduce(MPI_Comm comm, stree *t, double *out, precis_err *e)
{
    int rank, size, rc = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    st_close_leaf(t);
    st_skip_to(t, t->hi);
    int64_t n = t->n;
    int64_t *meta = malloc(8 * 3 * STREE_DEPTH);
    double *buf = malloc(8 * (size_t)(n ? n : 1) * STREE_DEPTH);
    if (!meta || !buf || t->oom) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for a slot-tree sum");
    if (precis_agree(comm, e)) { rc = -1; goto done; }
    /* binomial tree over ranks: rank r + d's slots follow rank r's */
    for (int d = 1; d < size; d *= 2) {
        if (rank % (2 * d) == d) {
            int m = t->top, nv = 0;
            for (int i = 0; i < m; i++) {
                meta[3 * i] = t->st[i].level; meta[3 * i + 1] = t->st[i].idx; meta[3 * i + 2] = t->st[i].empty;
                if (!t->st[i].empty) memcpy(buf + (size_t)nv++ * (size_t)n, t->st[i].v, 8 * (size_t)n);
            }
            MPI_CHECK(MPI_Send(meta, 3 * m, MPI_INT64_T, rank - d, 71, comm), e);
            MPI_CHECK(MPI_Send(buf, (int)(nv * n), MPI_DOUBLE, rank - d, 72, comm), e);
            break;
        }
        if (rank % (2 * d) == 0 && rank + d < size) {
            MPI_Status stt;
            int cnt = 0, nv = 0;
            MPI_CHECK(MPI_Recv(meta, 3 * STREE_DEPTH, MPI_INT64_T, rank + d, 71, comm, &stt), e);
            MPI_Get_count(&stt, MPI_INT64_T, &cnt);
            MPI_CHECK(MPI_Recv(buf, (int)(n * STREE_DEPTH), MPI_DOUBLE, rank + d, 72, comm, MPI_STATUS_IGNORE), e);
            for (int i = 0; i < cnt / 3; i++) {
                stnode b = {meta[3 * i], meta[3 * i + 1], meta[3 * i + 2], NULL};
                if (!b.empty) {
                    if (!(b.v = st_vec(t))) break;
                    memcpy(b.v, buf + (size_t)nv++ * (size_t)n, 8 * (size_t)n);
                }
                st_push(t, b);
            }
        }
    }
    if (t->oom) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for a slot-tree sum");
    if (precis_agree(comm, e)) { rc = -1; goto done; }
    if (rank == 0) {
        /* [0, S) as maximal aligned blocks, largest first: fold from the right */
        memset(out, 0, 8 * (size_t)n);
        int have = 0;
        for (int i = t->top - 1; i >= 0; i--) {
            if (t->st[i].empty) continue;
            if (!have) memcpy(out, t->st[i].v, 8 * (size_t)n);
            else for (int64_t j = 0; j < n; j++) out[j] = t->st[i].v[j] + out[j];
            have = 1;
        }
    }
    MPI_CHECK(MPI_Bcast(out, (int)n, MPI_DOUBLE, 0, comm), e);
    goto done;
fail:
    rc = -1;
done:
    for (int i = 0; i < t->top; i++) st_release(t, t->st[i].v);
    t->top = 0;
    t->oom = 0;
    t->next = t->lo;
    free(meta); free(buf);
    return rc;
}
