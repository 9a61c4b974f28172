/* als.h - precis-als: distributed implicit-feedback ALS (Hu, Koren & Volinsky).
 *
 * DESIGN
 * Users live on the rank that owns their hash slot, in the input's global
 * order (slot, customer_key, customer_key_lo); items live on the rank that
 * owns hash(item code) mod SI "item slots". Each half-iteration moves each
 * factor row only to the ranks that need it (common/route, precomputed
 * once), solves every entity's normal equations locally, and never
 * replicates the other side. Every sum that crosses an entity (the Gram
 * matrices Y'Y and X'X, the loss, the metrics) is formed per slot in a fixed
 * order and then summed exactly (common/reduce), so factors, scores and
 * recommendations are the same bytes at any rank count.
 */
#ifndef PRECIS_ALS_H
#define PRECIS_ALS_H
#include "check.h"
#include "na.h"
#include "opts.h"
#include "route.h"
#include <stdint.h>

int als_run(int argc, char **argv, MPI_Comm comm);

#include <stdlib.h>
/* 64-byte aligned allocation (size rounded up, as C11 requires): BLAS sees
 * the same alignment, hence the same code path, on every rank. */
static inline void *als_aalloc(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64 + 64);
}

#define ALS_CHUNK 256   /* items per scoring chunk: the unit of the block (code-order) layout */

typedef struct als_opts {
    char *in, *out, *user_col, *item_col, *value_col, *time_col, *value, *confidence, *reg_scale, *solver,
        *dtype, *holdout, *na, *spool;
    double alpha, lambda, eps;
    int64_t factors, iterations, cg_steps, topn, max_repl_mb, checkpoint_every, item_slots, slots, heavy_users;
    int exclude_seen;
    opt_common c;
} als_opts;

typedef struct als {
    MPI_Comm comm;
    int rank, size;
    const als_opts *o;
    na_set na;                 /* --na-values: ids that mean missing (generic input) */
    int f, as_float;
    int64_t S;                 /* user slots */
    /* ---- users (this rank's slots, global order) ---- */
    int64_t nu, NU, uoff, *uoffs;  /* local, global, first global row, per-rank offsets (size+1) */
    uint64_t *ukey, *ukey_lo;      /* identity (clean.h5 input) */
    int generic;                   /* generic input: ids are strings, keys are SHA-256 of them */
    char *uid; size_t uid_w;       /* identity strings (generic input), nu x uid_w */
    int64_t *uslot;                /* slot of each user */
    int64_t *uptr; int32_t *uitem; double *uval;  /* training interactions, items ascending */
    int64_t *hptr; int32_t *hitem;                /* held-out items, ascending */
    int64_t *ucol;                 /* position of uitem[k] in need_items */
    double *X;                     /* nu x f */
    double *Yn;                    /* routed item factors, one row per needed item */
    route ur;                      /* item owners -> users' ranks */
    /* ---- items (this rank's item slots) ---- */
    int64_t NI, SI, ni;
    int32_t *icode; int64_t *islot;            /* local items sorted by (islot, code) */
    int64_t *iptr, *iuser; double *ival;       /* buyers (global user rows), ascending */
    int64_t *icol;                             /* position of iuser[k] in need_users */
    double *Y;                                 /* ni x f */
    double *Xn;                                /* routed user factors */
    route ir;                                  /* users' ranks -> item owners */
    int64_t *pop;                              /* NI: training buyers per item (global) */
    int64_t nh; int32_t *hcode;                /* heavy items (>= --heavy-item-users buyers), codes ascending */
    int32_t *ihidx;                            /* per local item: heavy index or -1 */
    int32_t *uhidx;                            /* per training pair of a local user: heavy index or -1 */
    double *HA, *Hb;                           /* nh x f x f and nh x f: summed normal equations of heavy items */
    char *iname; size_t iname_w;               /* NI item ids (every rank) */
    /* ---- counters for the report ---- */
    int64_t rows_in, pairs, pairs_nonpos, pairs_train, pairs_holdout, cold_users;
    double bytes_per_iter;
} als;

/* als_load.c: fill the user side (identity, training and held-out CSR) and
 * the item names from --in. Collective. */
int als_load(als *a, char **key_fp, precis_err *e);
/* als_train.c */
int als_setup_items(als *a, precis_err *e);
int als_init_factors(als *a);
void als_round_float(double *v, int64_t n);
int als_gram(als *a, int users, double *G, precis_err *e);
int als_half(als *a, int users, const double *G, precis_err *e);
int als_heavy_normal(als *a, precis_err *e);
int als_loss(als *a, const double *Gx, const double *Gy, double *loss, precis_err *e);
/* gather the item factors into code order: rows [code_lo, code_hi) of the
 * block layout on this rank */
void als_block_range(const als *a, int rank, int64_t *lo, int64_t *hi);
int als_items_to_blocks(als *a, double *Yb, precis_err *e);
int als_blocks_to_items(als *a, const double *Yb, precis_err *e);
/* als_eval.c: top-N for every user and the holdout metrics. */
typedef struct als_recs {
    int32_t *items;   /* nu x N, -1 = none */
    double *scores;   /* nu x N */
    uint8_t *cold;    /* nu */
    double metrics[2][7]; /* [als, popularity][precision, recall, ndcg, map, auc, coverage, users] */
} als_recs;
int als_recommend(als *a, const double *Yb, als_recs *r, precis_err *e);
int64_t als_item_slot(int64_t code, int64_t SI);
#endif
