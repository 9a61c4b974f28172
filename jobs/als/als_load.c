/* als_load.c - read interactions into the user side of precis-als.
 *
 * DESIGN
 * From clean.h5 each rank reads exactly the transaction rows of its slots
 * (they are sorted by customer), so a user's rows are contiguous and never
 * shared with another rank. Rows are aggregated per (user, item): values
 * summed (refunds are negative and net out), the latest timestamp kept.
 * A pair whose net value is <= 0 carries no preference and is dropped
 * (counted). The holdout then takes, per user, the N most recent pairs
 * (last:N, only from users with more than N pairs, so each keeps one) or
 * each pair with probability F from a stream keyed by the user (random:F).
 *
 * A generic CSV (--user-col/--item-col) is read in byte ranges; a user's
 * identity is SHA-256 of its id (the input is assumed pseudonymised), which
 * gives the same (slot, key) order as clean.h5; rows are shuffled to the
 * slot owners and fully sorted, and item ids become codes of a global sorted
 * dictionary. Ids are written back as given.
 */
#include "als.h"
#include "csv.h"
#include "datefmt.h"
#include "h5io.h"
#include "inputs.h"
#include "log.h"
#include "rng.h"
#include "shuffle.h"
#include "slots.h"
#include "spool.h"
#include "strdict.h"

#include <openssl/evp.h>

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct pair {
    int32_t item;
    int32_t pad;
    double v;
    int64_t ts;
} pair;

typedef struct csr_build {
    int64_t n, cap;      /* entries */
    int32_t *item;
    double *v;
    int64_t hn, hcap;    /* held-out entries */
    int32_t *hitem;
} csr_build;

static int grow(void **p, int64_t *cap, int64_t need, size_t esz)
{
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, esz * (size_t)c);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int cmp_pair_item(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    if (a->item != b->item) return a->item < b->item ? -1 : 1;
    return (a->ts > b->ts) - (a->ts < b->ts);
}

/* most recent first; ties by item code */
static int cmp_pair_recent(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    if (a->ts != b->ts) return a->ts > b->ts ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* Aggregate one user's rows p[0..n) (any order) and append them to the CSR.
 * ukey identifies the user's random holdout stream. */
static int finish_user(als *a, pair *p, int64_t n, uint64_t ukey, gsl_rng *r, csr_build *b)
{
    qsort(p, (size_t)n, sizeof *p, cmp_pair_item);
    int64_t m = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        double v = 0;
        int64_t ts = p[i].ts;
        for (; j < n && p[j].item == p[i].item; j++) {
            v += p[j].v;
            if (p[j].ts > ts) ts = p[j].ts;
        }
        a->pairs++;
        if (v > 0) p[m++] = (pair){p[i].item, 0, v, ts};
        else a->pairs_nonpos++;
        i = j;
    }
    /* mark held-out pairs with pad = 1 */
    const char *h = a->o->holdout;
    if (!strncmp(h, "last:", 5)) {
        int64_t N = atoll(h + 5);
        if (m > N) {
            qsort(p, (size_t)m, sizeof *p, cmp_pair_recent);
            for (int64_t k = 0; k < N; k++) p[k].pad = 1;
            qsort(p, (size_t)m, sizeof *p, cmp_pair_item);
        }
    } else if (!strncmp(h, "random:", 7)) {
        double F = atof(h + 7);
        rng_key(r, (uint64_t)a->o->c.seed, rng_mix64(ukey), rng_purpose("als-holdout"));
        for (int64_t k = 0; k < m; k++) p[k].pad = gsl_rng_uniform(r) < F;
    }
    int64_t nt = 0;
    for (int64_t k = 0; k < m; k++) nt += !p[k].pad;
    if (grow((void **)&b->item, &b->cap, b->n + nt, sizeof(int32_t)) ||
        grow((void **)&b->hitem, &b->hcap, b->hn + (m - nt), sizeof(int32_t)))
        return -1;
    if (b->cap > 0) {
        double *nv = realloc(b->v, sizeof(double) * (size_t)b->cap);
        if (!nv) return -1;
        b->v = nv;
    }
    for (int64_t k = 0; k < m; k++) {
        if (p[k].pad) {
            b->hitem[b->hn++] = p[k].item;
        } else {
            b->item[b->n] = p[k].item;
            b->v[b->n++] = p[k].v;
        }
    }
    a->pairs_train += nt;
    a->pairs_holdout += m - nt;
    if (nt == 0) a->cold_users++;
    return 0;
}


static int alloc_users(als *a, int64_t nus)
{
    a->ukey = malloc(8 * (size_t)(nus ? nus : 1));
    a->ukey_lo = malloc(8 * (size_t)(nus ? nus : 1));
    a->uslot = malloc(8 * (size_t)(nus ? nus : 1));
    a->uptr = malloc(8 * (size_t)(nus + 1));
    a->hptr = malloc(8 * (size_t)(nus + 1));
    if (!a->ukey || !a->ukey_lo || !a->uslot || !a->uptr || !a->hptr) return -1;
    a->nu = 0;
    a->uptr[0] = a->hptr[0] = 0;
    return 0;
}

/* hand the built arrays to a (never NULL) */
static int take_csr(als *a, csr_build *b)
{
    a->uitem = b->item ? b->item : malloc(4);
    a->uval = b->v ? b->v : malloc(8);
    a->hitem = b->hitem ? b->hitem : malloc(4);
    memset(b, 0, sizeof *b);
    return a->uitem && a->uval && a->hitem ? 0 : -1;
}

#define UID_MAX 64   /* generic user ids: at most 63 bytes */

typedef struct grec {
    uint64_t k, kl;
    int32_t item, pad;
    double v;
    int64_t ts;
    char uid[UID_MAX];
} grec;

static int cmp_grec(const void *x, const void *y)
{
    const grec *p = x, *q = y;
    if (p->pad != q->pad) return p->pad < q->pad ? -1 : 1;   /* pad = slot (fits: S <= 2^30) */
    if (p->k != q->k) return p->k < q->k ? -1 : 1;
    if (p->kl != q->kl) return p->kl < q->kl ? -1 : 1;
    int c = strcmp(p->uid, q->uid);
    if (c) return c;
    if (p->item != q->item) return p->item < q->item ? -1 : 1;
    if (p->ts != q->ts) return p->ts < q->ts ? -1 : 1;
    return (p->v > q->v) - (p->v < q->v);
}

static int cmp_grec_user(const grec *p, const grec *q)
{
    return p->pad != q->pad || p->k != q->k || p->kl != q->kl || strcmp(p->uid, q->uid);
}

static int find_col(const csv_reader *r, int file, const char *name)
{
    int nf;
    const char *const *names;
    const size_t *lens;
    csv_header(r, file, &nf, &names, &lens);
    for (int i = 0; i < nf; i++)
        if (strlen(name) == lens[i] && !memcmp(names[i], name, lens[i])) return i;
    return -1;
}

static int parse_ts(const char *s, size_t n, int64_t *ts)
{
    for (int f = 0; f < DF_N; f++)
        if (datefmt_parse(f, s, n, 0, ts) == 0) return 0;
    return -1;
}


/* Why a generic row's user id (u, ul bytes) or item id (it, il) is unusable,
 * or NULL; *field: 0 user, 1 item. The same rule for CSV and HDF5 rows. */
static const char *id_problem(const als *a, const char *u, size_t ul, const char *it, size_t il, int *field)
{
    *field = 0;
    if (ul == 0) return "empty user id";
    if (ul >= UID_MAX) return "user id longer than 63 bytes";
    if (na_is(&a->na, u, ul)) return "user id is a placeholder (--na-values)";
    *field = 1;
    if (il == 0) return "empty item id";
    if (na_is(&a->na, it, il)) return "item id is a placeholder (--na-values)";
    return NULL;
}

static int add_grec(grec **rec, int64_t *n, int64_t *cap, strdict *d, const char *uid, size_t ul, const char *item, size_t il,
                    double v, int64_t ts)
{
    if (*n == *cap) {
        int64_t c = *cap ? 2 * *cap : 4096;
        grec *t = realloc(*rec, sizeof(grec) * (size_t)c);
        if (!t) return -1;
        *rec = t;
        *cap = c;
    }
    grec *g = &(*rec)[(*n)++];
    memset(g, 0, sizeof *g);
    memcpy(g->uid, uid, ul);
    unsigned char md[32];
    EVP_Digest(g->uid, ul, md, NULL, EVP_sha256(), NULL);
    for (int b = 0; b < 8; b++) {
        g->k = (g->k << 8) | md[b];
        g->kl = (g->kl << 8) | md[8 + b];
    }
    g->item = strdict_intern(d, item, il);
    g->v = v;
    g->ts = ts;
    return g->item >= 0 ? 0 : -1;
}

/* One column of a generic HDF5 group as strings (integers in decimal), rows [off, off+cnt). */
static int h5_col_strings(h5io_file *f, const char *dset, int64_t off, int64_t cnt, char **buf, size_t *w, precis_err *e)
{
    hid_t d = H5Dopen2(f->fid, dset, H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : -1;
    H5T_class_t cl = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    if (cl == H5T_STRING) return h5io_read_strings(f, dset, off, cnt, buf, w, e);
    if (cl != H5T_INTEGER) return PERR(e, PRECIS_EXIT_DATA, "%s:%s is neither an integer nor a fixed-length string column", f->path, dset);
    int64_t *v = malloc(8 * (size_t)(cnt + 1));
    *w = 24;
    *buf = calloc((size_t)(cnt + 1), *w);
    if (!v || !*buf) { free(v); return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); }
    if (h5io_read_rows(f, dset, H5T_NATIVE_INT64, off, cnt, v, e)) { free(v); return -1; }
    for (int64_t i = 0; i < cnt; i++) snprintf(*buf + (size_t)i * *w, *w, "%lld", (long long)v[i]);
    free(v);
    return 0;
}

/* --in FILE.h5:/group: columns --user-col (user), --item-col (item), optional
 * --value-col (numbers) and --time-col (integer epoch seconds); each rank
 * reads an even block of rows. */
static int read_h5group(als *a, const char *spec, const char *const *want, grec **rec, int64_t *n, int64_t *cap, strdict *d,
                        int64_t *rejected, char *first_bad, size_t fbl, precis_err *e)
{
    char *file = strdup(spec), *grp = file ? strchr(file, ':') : NULL, dset[4][512];
    char *ub = NULL, *ib = NULL;
    size_t uw = 0, iw = 0;
    double *v = NULL;
    int64_t *ts = NULL, rows = 0, one, off, cnt;
    h5io_file *f = NULL;
    int rc = -1;
    if (!grp) { PERR(e, PRECIS_EXIT_USAGE, "--in %s: expected FILE.h5:/group", spec); goto out; }
    *grp++ = '\0';
    if (h5io_open(a->comm, file, 1, &f, e)) goto out;
    for (int c = 0; c < 4; c++) {
        snprintf(dset[c], sizeof dset[c], "%s/%s", grp, want[c] ? want[c] : "");
        if (want[c] && !h5io_exists(f, dset[c])) { PERR(e, PRECIS_EXIT_DATA, "%s: no dataset %s", file, dset[c]); goto out; }
    }
    if (h5io_dims(f, dset[0], &rows, &one, e)) goto out;
    h5io_even_block(rows, a->rank, a->size, &off, &cnt);
    v = malloc(8 * (size_t)(cnt + 1));
    ts = calloc((size_t)(cnt + 1), 8);
    if (!v || !ts) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto out; }
    for (int64_t i = 0; i < cnt; i++) v[i] = 1.0;
    if (h5_col_strings(f, dset[0], off, cnt, &ub, &uw, e) || h5_col_strings(f, dset[1], off, cnt, &ib, &iw, e)) goto out;
    if (want[2] && strcmp(a->o->value, "count") && h5io_read_rows(f, dset[2], H5T_NATIVE_DOUBLE, off, cnt, v, e)) goto out;
    if (want[3] && h5io_read_rows(f, dset[3], H5T_NATIVE_INT64, off, cnt, ts, e)) goto out;
    for (int64_t i = 0; i < cnt; i++) {
        const char *u = ub + (size_t)i * uw, *it = ib + (size_t)i * iw, *why = NULL;
        int bad = 0;
        size_t ul = strlen(u), il = strlen(it);
        why = id_problem(a, u, ul, it, il, &bad);
        if (!why && !isfinite(v[i])) { why = "value is not finite"; bad = 2; }
        if (why) {
            if ((*rejected)++ == 0) snprintf(first_bad, fbl, "%s:%s row %lld field %s: %s", file, grp, (long long)(off + i), want[bad], why);
            continue;
        }
        if (add_grec(rec, n, cap, d, u, ul, it, il, v[i], ts[i])) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto out; }
    }
    rc = 0;
out:
    if (f) h5io_close(f);
    free(file); free(ub); free(ib); free(v); free(ts);
    return rc;
}

/* --in FILE.csv (or a directory / glob of part files) with --user-col, --item-col */
static int load_csv(als *a, precis_err *e)
{
    const als_opts *o = a->o;
    inputs_list in = {0, NULL};
    csv_reader *r = NULL;
    strdict d;
    grec *rec = NULL, *recv = NULL;
    int *dest = NULL, *cols = NULL;
    int32_t *map = NULL;
    int64_t n = 0, cap = 0, nrecv = 0, rejected = 0;
    char first_bad[512] = "";
    csv_opts co;
    spool sp = {0};
    strdict_init(&d);
    csv_opts_default(&co);
    a->generic = 1;
    a->S = SLOTS_DEFAULT;
    const char *colon = strstr(o->in, ".h5:");
    const char *want[4] = {o->user_col, o->item_col, o->value_col, o->time_col};
    if (colon) {   /* a generic HDF5 group: default column names */
        if (!want[0]) want[0] = "user";
        if (!want[1]) want[1] = "item";
    }
    CHECK(want[0] && want[1], e, PRECIS_EXIT_USAGE, "a CSV --in needs --user-col and --item-col");
    CHECK(strcmp(o->value, "column") || o->value_col, e, PRECIS_EXIT_USAGE, "--value column needs --value-col");
    CHECK(!strcmp(o->value, "column") || !strcmp(o->value, "count") || !strcmp(o->value, "quantity"), e, PRECIS_EXIT_USAGE,
          "--value %s: a CSV input takes its value from --value-col (or counts rows with --value count)", o->value);
    CHECK(strncmp(o->holdout, "last:", 5) || o->time_col, e, PRECIS_EXIT_USAGE, "--holdout last:N needs --time-col for a CSV input");
    if (colon) {
        read_h5group(a, o->in, want, &rec, &n, &cap, &d, &rejected, first_bad, sizeof first_bad, e);
        goto fail;
    }
    char pat[INPUTS_PATTERN_CAP];
    inputs_csv_pattern(pat, sizeof pat, "");
    TRY(inputs_expand(o->in, pat, 0, &in, e));
    TRY(precis_agree(a->comm, e)); /* (spool_inputs is collective) */
    TRY(spool_inputs(a->comm, in.path, in.n, o->spool, o->out, &co.encoding, &sp, e)); /* compressed (or UTF-16) files, decompressed once */
    co.fds = sp.fd;
    co.names = in.path;
    TRY(csv_open(a->comm, in.path, in.n, &co, &r, e));
    cols = malloc(sizeof(int) * 4 * (size_t)in.n);
    CHECK(cols, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int fi = 0; fi < in.n; fi++)
        for (int c = 0; c < 4; c++) {
            cols[fi * 4 + c] = want[c] ? find_col(r, fi, want[c]) : -1;
            CHECK(!want[c] || cols[fi * 4 + c] >= 0, e, PRECIS_EXIT_DATA, "%s: no column '%s' in the header", in.path[fi], want[c]);
        }
    csv_record cr;
    const char *field_name[4] = {"user", "item", "value", "time"};
    while (csv_next(r, &cr)) {
        const char *why = NULL;
        int bad = -1;
        const int *cc = cols + cr.file * 4;
        double v = 1.0;
        int64_t ts = 0;
        if (cr.status != CSV_OK) {
            why = csv_status_name(cr.status);
        } else {
            size_t ul = cr.flen[cc[0]], il = cr.flen[cc[1]];
            why = id_problem(a, cr.f[cc[0]], ul, cr.f[cc[1]], il, &bad);
            if (!why && cc[2] >= 0 && strcmp(o->value, "count")) {
                char buf[64], *end;
                size_t l = cr.flen[cc[2]];
                if (l == 0 || l >= sizeof buf) { why = "value is not a number"; bad = 2; }
                else {
                    memcpy(buf, cr.f[cc[2]], l);
                    buf[l] = '\0';
                    v = strtod(buf, &end);
                    if (*end || !isfinite(v)) { why = "value is not a finite number"; bad = 2; }
                }
            }
            if (!why && cc[3] >= 0 && parse_ts(cr.f[cc[3]], cr.flen[cc[3]], &ts)) { why = "unparseable time"; bad = 3; }
        }
        if (why) {
            if (rejected++ == 0)
                snprintf(first_bad, sizeof first_bad, "%s:%lld%s%s: %s", csv_path(r, cr.file), (long long)cr.line,
                         bad >= 0 ? " field " : "", bad >= 0 ? want[bad] ? want[bad] : field_name[bad] : "", why);
            continue;
        }
        CHECK(add_grec(&rec, &n, &cap, &d, cr.f[cc[0]], cr.flen[cc[0]], cr.f[cc[1]], cr.flen[cc[1]], v, ts) == 0, e,
              PRECIS_EXIT_INTERNAL, "out of memory reading %s", in.path[cr.file]);
    }
fail:
    if (precis_agree(a->comm, e)) goto out;
    {
        int64_t tot[2] = {n, rejected};
        MPI_Allreduce(MPI_IN_PLACE, tot, 2, MPI_INT64_T, MPI_SUM, a->comm);
        if (rejected) log_all(LOG_WARN, "%lld rows rejected here; the first: %s", (long long)rejected, first_bad);
        if (tot[1]) LOG_WARN("%lld of %lld rows rejected in all (not used; see the messages above)", (long long)tot[1], (long long)(tot[0] + tot[1]));
        if (tot[0] == 0) PERR(e, PRECIS_EXIT_DATA, "%s: no usable rows", o->in);
        if (precis_agree(a->comm, e)) goto out;
        a->rows_in = n;
    }
    if (strdict_globalise(a->comm, &d, &map, e)) goto out;
    a->NI = d.nglobal;
    a->iname_w = 1;
    for (int32_t i = 0; i < d.nglobal; i++)
        if (strlen(d.global[i]) + 1 > a->iname_w) a->iname_w = strlen(d.global[i]) + 1;
    a->iname = calloc((size_t)(a->NI ? a->NI : 1), a->iname_w);
    dest = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!a->iname || !dest) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(a->comm, e)) goto out;
    for (int32_t i = 0; i < d.nglobal; i++) memcpy(a->iname + (size_t)i * a->iname_w, d.global[i], strlen(d.global[i]));
    for (int64_t i = 0; i < n; i++) {
        rec[i].item = map[rec[i].item];
        rec[i].pad = (int32_t)slots_of(rec[i].k, a->S);
        dest[i] = slots_owner(rec[i].pad, a->S, a->size);
    }
    if (shuffle_exchange(a->comm, rec, n, sizeof(grec), dest, 0, (void **)&recv, &nrecv, e)) goto out;
    qsort(recv, (size_t)nrecv, sizeof(grec), cmp_grec);
    {
        int64_t nus = 0;
        for (int64_t i = 0; i < nrecv; i++)
            if (i == 0 || cmp_grec_user(&recv[i], &recv[i - 1])) nus++;
        if (alloc_users(a, nus)) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto out; }
        a->uid = calloc((size_t)(nus ? nus : 1), UID_MAX);
        a->uid_w = UID_MAX;
        pair *p = malloc(sizeof(pair) * (size_t)(nrecv ? nrecv : 1));
        gsl_rng *rg = rng_new(0, 0, 0);
        csr_build b;
        memset(&b, 0, sizeof b);
        if (!a->uid || !p || !rg) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int64_t i = 0; !e->code && i < nrecv;) {
            int64_t j = i;
            for (; j < nrecv && !cmp_grec_user(&recv[j], &recv[i]); j++) p[j - i] = (pair){recv[j].item, 0, recv[j].v, recv[j].ts};
            int64_t u = a->nu++;
            a->ukey[u] = recv[i].k;
            a->ukey_lo[u] = recv[i].kl;
            a->uslot[u] = recv[i].pad;
            memcpy(a->uid + u * UID_MAX, recv[i].uid, UID_MAX);
            if (finish_user(a, p, j - i, recv[i].k ^ rng_mix64(recv[i].kl), rg, &b)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            a->uptr[u + 1] = b.n;
            a->hptr[u + 1] = b.hn;
            i = j;
        }
        free(p);
        if (rg) gsl_rng_free(rg);
        if (take_csr(a, &b)) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
out:
    if (r) csv_close(r);
    spool_close(&sp);
    inputs_free(&in);
    strdict_free(&d);
    free(rec); free(recv); free(dest); free(cols); free(map);
    return precis_agree(a->comm, e);
}


/* value of one transaction row under --value */
static double row_value(const char *how, double qty, double amount, uint8_t flags)
{
    if (!strcmp(how, "amount")) return amount;
    if (!strcmp(how, "count")) return (flags & 4) ? -1.0 : 1.0;
    return qty;
}

static int load_clean(als *a, char **key_fp, precis_err *e)
{
    const als_opts *o = a->o;
    h5io_file *in = NULL;
    uint64_t *k = NULL, *kl = NULL;
    int32_t *item = NULL;
    double *qty = NULL, *amt = NULL;
    int64_t *ts = NULL;
    uint8_t *flags = NULL;
    pair *p = NULL;
    gsl_rng *r = NULL;
    csr_build b;
    memset(&b, 0, sizeof b);
    int64_t S = 0, lo, hi, off, cnt, one;
    TRY(h5io_open(a->comm, o->in, 0, &in, e));
    TRY(h5io_attr_get_i64(in, "/", "slots", &S, e));
    TRY(h5io_attr_get_str(in, "/", "key_fingerprint", key_fp, e));
    CHECK(h5io_exists(in, "/transactions/item") && h5io_exists(in, "/dict/item"), e, PRECIS_EXIT_DATA,
          "%s: no /transactions/item or /dict/item: is it a precis-clean output with an item_id column?", o->in);
    CHECK(strcmp(o->value, "column"), e, PRECIS_EXIT_USAGE, "--value column needs a CSV or HDF5 group input with --value-col");
    TRY(h5io_dims(in, "/dict/item", &a->NI, &one, e));
    if (a->NI > 0) TRY(h5io_read_strings(in, "/dict/item", 0, a->NI, &a->iname, &a->iname_w, e));
    a->S = S;
    slots_range(a->rank, a->size, S, &lo, &hi);
    TRY(h5io_slot_rows(in, "/transactions", lo, hi, &off, &cnt, e));
    size_t n1 = (size_t)(cnt ? cnt : 1);
    k = malloc(8 * n1); kl = malloc(8 * n1); item = malloc(4 * n1); qty = malloc(8 * n1);
    amt = malloc(8 * n1); ts = malloc(8 * n1); flags = malloc(n1); p = malloc(sizeof(pair) * n1);
    r = rng_new(0, 0, 0);
    CHECK(k && kl && item && qty && amt && ts && flags && p && r, e, PRECIS_EXIT_INTERNAL, "out of memory reading %lld rows", (long long)cnt);
    TRY(h5io_read_rows(in, "/transactions/customer_key", H5T_NATIVE_UINT64, off, cnt, k, e));
    TRY(h5io_read_rows(in, "/transactions/customer_key_lo", H5T_NATIVE_UINT64, off, cnt, kl, e));
    TRY(h5io_read_rows(in, "/transactions/item", H5T_NATIVE_INT32, off, cnt, item, e));
    TRY(h5io_read_rows(in, "/transactions/quantity", H5T_NATIVE_DOUBLE, off, cnt, qty, e));
    TRY(h5io_read_rows(in, "/transactions/amount", H5T_NATIVE_DOUBLE, off, cnt, amt, e));
    TRY(h5io_read_rows(in, "/transactions/ts", H5T_NATIVE_INT64, off, cnt, ts, e));
    TRY(h5io_read_rows(in, "/transactions/flags", H5T_NATIVE_UINT8, off, cnt, flags, e));
    h5io_close(in);
    in = NULL;
    a->rows_in = cnt;
    /* users: runs of equal (key, key_lo) */
    int64_t nus = 0;
    for (int64_t i = 0; i < cnt; i++)
        if (i == 0 || k[i] != k[i - 1] || kl[i] != kl[i - 1]) nus++;
    CHECK(alloc_users(a, nus) == 0, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < cnt;) {
        int64_t j = i;
        for (; j < cnt && k[j] == k[i] && kl[j] == kl[i]; j++) {
            if (item[j] < 0 || item[j] >= a->NI)
                CHECK(0, e, PRECIS_EXIT_DATA, "%s: /transactions/item row %lld: code %d outside /dict/item (%lld items)",
                      o->in, (long long)(off + j), item[j], (long long)a->NI);
            double v = row_value(o->value, qty[j], amt[j], flags[j]);
            CHECK(isfinite(v), e, PRECIS_EXIT_DATA, "%s: /transactions row %lld: %s is not finite", o->in,
                  (long long)(off + j), o->value);
            p[j - i] = (pair){item[j], 0, v, ts[j]};
        }
        int64_t u = a->nu++;
        a->ukey[u] = k[i];
        a->ukey_lo[u] = kl[i];
        a->uslot[u] = slots_of(k[i], S);
        CHECK(finish_user(a, p, j - i, k[i] ^ rng_mix64(kl[i]), r, &b) == 0, e, PRECIS_EXIT_INTERNAL, "out of memory");
        a->uptr[u + 1] = b.n;
        a->hptr[u + 1] = b.hn;
        i = j;
    }
    CHECK(take_csr(a, &b) == 0, e, PRECIS_EXIT_INTERNAL, "out of memory");
    free(k); free(kl); free(item); free(qty); free(amt); free(ts); free(flags); free(p);
    gsl_rng_free(r);
    return 0;
fail:
    if (in) h5io_close(in);
    free(k); free(kl); free(item); free(qty); free(amt); free(ts); free(flags); free(p);
    if (r) gsl_rng_free(r);
    free(b.item); free(b.v); free(b.hitem);
    return -1;
}

/* Initial factors: N(0, 0.01/f) from streams keyed by (seed, entity). */
int als_init_factors(als *a)
{
    gsl_rng *r = rng_new(0, 0, 0);
    if (!r) return -1;
    uint64_t seed = (uint64_t)a->o->c.seed;
    for (int64_t u = 0; u < a->nu; u++) {
        rng_key(r, seed, a->ukey ? a->ukey[u] ^ rng_mix64(a->ukey_lo[u]) : (uint64_t)(a->uoff + u), rng_purpose("als-user-init"));
        for (int j = 0; j < a->f; j++) a->X[u * a->f + j] = 0.1 * gsl_ran_gaussian(r, 1.0) / sqrt((double)a->f);
    }
    for (int64_t i = 0; i < a->ni; i++) {
        rng_key(r, seed, (uint64_t)a->icode[i], rng_purpose("als-item-init"));
        for (int j = 0; j < a->f; j++) a->Y[i * a->f + j] = 0.1 * gsl_ran_gaussian(r, 1.0) / sqrt((double)a->f);
    }
    if (a->as_float) {
        als_round_float(a->X, a->nu * a->f);
        als_round_float(a->Y, a->ni * a->f);
    }
    gsl_rng_free(r);
    return 0;
}


int als_load(als *a, char **key_fp, precis_err *e)
{
    size_t L = strlen(a->o->in);
    int csv = a->o->user_col || (L > 4 && !strcasecmp(a->o->in + L - 4, ".csv")) || strstr(a->o->in, ".h5:");
    if (csv ? load_csv(a, e) : load_clean(a, key_fp, e)) {
        precis_agree(a->comm, e);
        return -1;
    }
    if (precis_agree(a->comm, e)) return -1;
    /* global user offsets */
    a->uoffs = calloc((size_t)a->size + 1, sizeof(int64_t));
    if (!a->uoffs) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(a->comm, e)) return -1;
    MPI_CHECK(MPI_Allgather(&a->nu, 1, MPI_INT64_T, a->uoffs + 1, 1, MPI_INT64_T, a->comm), e);
    for (int r = 0; r < a->size; r++) a->uoffs[r + 1] += a->uoffs[r];
    a->NU = a->uoffs[a->size];
    a->uoff = a->uoffs[a->rank];
    return 0;
fail:
    return -1;
}
