/* rfm.c - precis-rfm: clean.h5 -> one row per customer (RFM, CLV summary,
 * behaviour, scaled feature matrix) in features.h5.
 *
 * DESIGN
 * Each rank reads exactly the transactions of its slot range (slot_offsets);
 * a customer's rows are contiguous and in (ts, source) order, so every
 * per-customer value is computed locally in a fixed order. Global values -
 * the last purchase day (as_of), category totals for the top-C choice, the
 * scaler's mean and std - come from integer reductions or exact sums
 * (common/reduce), and RFM scores from exact global ranks (common/ntile).
 * So every byte of the output is the same at any P. Collective throughout.
 */
#include "rfm.h"
#include "check.h"
#include "datefmt.h"
#include "h5io.h"
#include "job.h"
#include "log.h"
#include "ntile.h"
#include "opts.h"
#include "reduce.h"
#include "slots.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FL_REFUND 4
#define NSEG 11

static const char *const seg_names[NSEG] = {
    "About to Sleep", "At Risk", "Can't Lose Them", "Champions", "Hibernating", "Lost",
    "Loyal", "Need Attention", "New", "Potential Loyalist", "Promising"};
enum { S_ABOUT, S_ATRISK, S_CANTLOSE, S_CHAMP, S_HIB, S_LOST, S_LOYAL, S_NEED, S_NEW, S_POT, S_PROM };
/* segment[R-1][F-1] */
static const int seg_map[5][5] = {
    {S_LOST, S_HIB, S_ATRISK, S_ATRISK, S_CANTLOSE},
    {S_HIB, S_HIB, S_ATRISK, S_ATRISK, S_CANTLOSE},
    {S_ABOUT, S_ABOUT, S_NEED, S_LOYAL, S_LOYAL},
    {S_PROM, S_POT, S_POT, S_LOYAL, S_LOYAL},
    {S_NEW, S_POT, S_POT, S_CHAMP, S_CHAMP},
};

static const char *const base_names[] = {"recency_days", "frequency", "monetary_total", "monetary_avg",
                                         "tenure_days", "avg_gap_days", "distinct_items"};
enum { NBASE = 7 };

typedef struct rfm_opts {
    char *in, *out, *as_of, *cal_end, *features;
    int64_t window, topc;
    opt_common c;
} rfm_opts;

typedef struct tx {
    uint64_t *key, *lo, *order;
    int64_t *ts;
    double *amount;
    uint8_t *flags;
    int32_t *cat, *chan, *item;
    int64_t n;
} tx;

static void tx_free(tx *t)
{
    free(t->key); free(t->lo); free(t->order); free(t->ts); free(t->amount);
    free(t->flags); free(t->cat); free(t->chan); free(t->item);
}

static int read_col(h5io_file *f, const char *name, hid_t type, size_t esz, int64_t off, int64_t n, void **out, precis_err *e)
{
    *out = malloc(esz * (size_t)(n ? n : 1));
    if (!*out) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory reading %s", name);
    return h5io_read_rows(f, name, type, off, n, *out, e);
}

static int parse_day(const char *s, const tz_zone *tz, int64_t *day)
{
    int64_t ts;
    if (datefmt_parse(DF_ISO, s, strlen(s), tz, &ts) < 0) return -1;
    *day = tz_local_day(tz, ts);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* a feature spec: base index and transform */
typedef struct feat {
    int base, log1p;
    char name[64];
} feat;

static int parse_features(const char *list, feat *fs, int *nf, precis_err *e)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    *nf = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        int lg = 0;
        char inner[64];
        if (!strncmp(tok, "log1p(", 6) && tok[strlen(tok) - 1] == ')') {
            lg = 1;
            snprintf(inner, sizeof inner, "%.*s", (int)strlen(tok) - 7, tok + 6);
        } else {
            snprintf(inner, sizeof inner, "%s", tok);
        }
        int b = -1;
        for (int i = 0; i < NBASE; i++)
            if (!strcmp(inner, base_names[i])) b = i;
        if (b < 0 || *nf >= 16)
            return PERR(e, PRECIS_EXIT_USAGE, "option --features: unknown feature '%s' (known: recency_days, frequency, monetary_total, monetary_avg, tenure_days, avg_gap_days, distinct_items, each optionally as log1p(name))", tok);
        fs[*nf].base = b;
        fs[*nf].log1p = lg;
        snprintf(fs[*nf].name, sizeof fs[*nf].name, "%s", tok);
        (*nf)++;
    }
    if (*nf == 0) return PERR(e, PRECIS_EXIT_USAGE, "option --features: empty list");
    return 0;
}

int rfm_run(int argc, char **argv, MPI_Comm comm)
{
    rfm_opts o;
    memset(&o, 0, sizeof o);
    const opt_spec specs[] = {
        {"in", OPT_STR, &o.in, NULL, "clean.h5 from precis-clean", 0, 0, NULL},
        {"out", OPT_STR, &o.out, NULL, "output features.h5", 0, 0, NULL},
        {"as-of", OPT_STR, &o.as_of, NULL, "reference day YYYY-MM-DD [default: last purchase day + 1]", 0, 0, NULL},
        {"calibration-end", OPT_STR, &o.cal_end, NULL, "end (exclusive day) of the CLV calibration period [default: as-of]", 0, 0, NULL},
        {"window-days", OPT_INT, &o.window, "0", "keep transactions with day >= as_of - N (0: all)", 0, 1e6, NULL},
        {"features", OPT_STR, &o.features, "recency_days,log1p(frequency),log1p(monetary_total)", "columns of /features/X", 0, 0, NULL},
        {"top-categories", OPT_INT, &o.topc, "8", "categories in the spend-share columns", 0, 1000, NULL},
        OPTS_COMMON_SPECS(&o.c),
    };
    const opt_cmd cmd = {"precis-rfm", "Per-customer RFM, CLV summaries, behaviour and a scaled feature matrix from clean.h5.",
                         "mpirun -np 4 precis-rfm --in clean.h5 --out features.h5", specs, (int)(sizeof specs / sizeof specs[0])};
    precis_err err, *e = &err;
    perr_clear(e);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    h5io_file *in = NULL, *out = NULL;
    tx t;
    memset(&t, 0, sizeof t);
    tz_zone tz;
    memset(&tz, 0, sizeof tz);
    char *tzs = NULL, *fp = NULL, *cat_names = NULL, *chan_names = NULL, *params = NULL, *inputs = NULL;
    size_t cat_w = 0, chan_w = 0;
    feat fs[16];
    int nfeat = 0;
    /* per-customer outputs */
    uint64_t *ck = NULL, *cl = NULL;
    double *rec = NULL, *freq = NULL, *mtot = NULL, *mavg = NULL, *ten = NULL, *gap = NULL, *ditems = NULL;
    int64_t *first_ts = NULL, *last_ts = NULL, *slot = NULL;
    double *cf = NULL, *cr = NULL, *cT = NULL, *cm = NULL, *ch = NULL, *cshare = NULL, *hshare = NULL, *X = NULL;
    int32_t *sr = NULL, *sf = NULL, *sm = NULL, *seg = NULL, *topcat = NULL;
    uint64_t *obuf = NULL;
    int32_t *ibuf = NULL;
    racc *catacc = NULL;
    int rc = job_start(&cmd, &o.c, argc, argv, comm, "precis-rfm", e);
    if (rc == 1) { opts_free(&cmd); return 0; }
    if (rc < 0) goto done;
    if (!o.in || !o.out) { PERR(e, PRECIS_EXIT_USAGE, "options --in and --out are required"); goto done; }
    if (job_check_out(comm, o.out, e)) goto done;
    if (job_check_not_input(comm, 1, (const char *const[]){"--out"}, (const char *const[]){o.out}, (const char *const[]){o.in}, 1, e)) goto done;
    if (parse_features(o.features, fs, &nfeat, e)) goto done;
    if (h5io_open(comm, o.in, 0, &in, e)) goto done;
    int64_t S = 0, lo, hi, off, cnt;
    if (h5io_attr_get_i64(in, "/", "slots", &S, e) || h5io_attr_get_str(in, "/", "tz", &tzs, e) ||
        h5io_attr_get_str(in, "/", "key_fingerprint", &fp, e))
        goto done;
    if (!slots_valid(S)) { PERR(e, PRECIS_EXIT_DATA, "%s: bad slots attribute", o.in); goto done; }
    {
        char what[300];
        snprintf(what, sizeof what, "%.250s: tz attribute", o.in);
        if (tz_open_comm(comm, what, tzs, &tz, e)) { e->code = PRECIS_EXIT_DATA; goto done; }
    }
    if (tz.named) { /* days are counted in this machine's copy of the zone */
        precis_err e2 = {0};
        char *v = NULL;
        if (h5io_attr_get_str(in, "/", "tzdata", &v, &e2) == 0 && strcmp(v, tz.version))
            LOG_WARN("%s was cleaned with time zone database %s, and this machine has %s: days in %s may differ where its rules changed",
                     o.in, v, tz.version, tzs);
        free(v);
    }
    if (!h5io_exists(in, "/transactions/slot_offsets")) { PERR(e, PRECIS_EXIT_DATA, "%s has no /transactions table", o.in); goto done; }
    slots_range(rank, size, S, &lo, &hi);
    if (h5io_slot_rows(in, "/transactions", lo, hi, &off, &cnt, e)) goto done;
    t.n = cnt;
    int has_order = h5io_exists(in, "/transactions/order_key");
    if (read_col(in, "/transactions/customer_key", H5T_NATIVE_UINT64, 8, off, cnt, (void **)&t.key, e) ||
        read_col(in, "/transactions/customer_key_lo", H5T_NATIVE_UINT64, 8, off, cnt, (void **)&t.lo, e) ||
        read_col(in, "/transactions/ts", H5T_NATIVE_INT64, 8, off, cnt, (void **)&t.ts, e) ||
        read_col(in, "/transactions/amount", H5T_NATIVE_DOUBLE, 8, off, cnt, (void **)&t.amount, e) ||
        read_col(in, "/transactions/flags", H5T_NATIVE_UINT8, 1, off, cnt, (void **)&t.flags, e) ||
        read_col(in, "/transactions/category", H5T_NATIVE_INT32, 4, off, cnt, (void **)&t.cat, e) ||
        read_col(in, "/transactions/channel", H5T_NATIVE_INT32, 4, off, cnt, (void **)&t.chan, e) ||
        read_col(in, "/transactions/item", H5T_NATIVE_INT32, 4, off, cnt, (void **)&t.item, e))
        goto done;
    if (has_order && read_col(in, "/transactions/order_key", H5T_NATIVE_UINT64, 8, off, cnt, (void **)&t.order, e)) goto done;
    int64_t ncat = 0, nchan = 0, one;
    if (h5io_exists(in, "/dict/category") && h5io_dims(in, "/dict/category", &ncat, &one, e)) goto done;
    if (h5io_exists(in, "/dict/channel") && h5io_dims(in, "/dict/channel", &nchan, &one, e)) goto done;
    if (ncat && h5io_read_strings(in, "/dict/category", 0, ncat, &cat_names, &cat_w, e)) goto done;
    if (nchan && h5io_read_strings(in, "/dict/channel", 0, nchan, &chan_names, &chan_w, e)) goto done;

    /* as_of and calibration end (days) */
    int64_t last = INT64_MIN, glast, as_of, cal_end;
    for (int64_t i = 0; i < t.n; i++)
        if (!(t.flags[i] & FL_REFUND) && tz_local_day(&tz, t.ts[i]) > last) last = tz_local_day(&tz, t.ts[i]);
    MPI_CHECK(MPI_Allreduce(&last, &glast, 1, MPI_INT64_T, MPI_MAX, comm), e);
    if (o.as_of) {
        if (parse_day(o.as_of, &tz, &as_of)) { PERR(e, PRECIS_EXIT_USAGE, "option --as-of: '%s' is not YYYY-MM-DD", o.as_of); goto done; }
    } else {
        if (glast == INT64_MIN) { PERR(e, PRECIS_EXIT_DATA, "%s has no purchases (only refunds or no rows)", o.in); goto done; }
        as_of = glast + 1;
    }
    cal_end = as_of;
    if (o.cal_end && parse_day(o.cal_end, &tz, &cal_end)) { PERR(e, PRECIS_EXIT_USAGE, "option --calibration-end: '%s' is not YYYY-MM-DD", o.cal_end); goto done; }
    int64_t from_day = o.window > 0 ? as_of - o.window : INT64_MIN;
    #define IN_WINDOW(i) (tz_local_day(&tz, t.ts[i]) >= from_day && tz_local_day(&tz, t.ts[i]) < as_of)

    /* top-C categories by global purchase spend (exact sums), ties by code */
    int C = (int)(o.topc < ncat ? o.topc : ncat);
    catacc = calloc((size_t)(ncat ? ncat : 1), sizeof(racc));
    double *cattot = malloc(sizeof(double) * (size_t)(ncat ? ncat : 1));
    topcat = malloc(sizeof(int32_t) * (size_t)(ncat ? ncat : 1));
    if (!catacc || !cattot || !topcat) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); free(cattot); goto done; }
    for (int64_t i = 0; i < t.n; i++)
        if (!(t.flags[i] & FL_REFUND) && IN_WINDOW(i)) racc_add(&catacc[t.cat[i]], t.amount[i]);
    if (reduce_allreduce(comm, catacc, ncat, cattot, "category spend", e)) { free(cattot); goto done; }
    for (int32_t k = 0; k < ncat; k++) topcat[k] = k;
    for (int a = 0; a < C; a++) /* selection of the top C: ties by code */
        for (int32_t b = a + 1; b < ncat; b++)
            if (cattot[topcat[b]] > cattot[topcat[a]] || (cattot[topcat[b]] == cattot[topcat[a]] && topcat[b] < topcat[a])) {
                int32_t x = topcat[a]; topcat[a] = topcat[b]; topcat[b] = x;
            }
    free(cattot);

    /* per customer */
    int64_t ncust = 0, refund_only = 0;
    for (int64_t i = 0; i < t.n; i++)
        if (i == 0 || t.key[i] != t.key[i - 1] || t.lo[i] != t.lo[i - 1]) ncust++;
    size_t N1 = (size_t)(ncust ? ncust : 1);
    ck = malloc(8 * N1); cl = malloc(8 * N1); rec = malloc(8 * N1); freq = malloc(8 * N1); mtot = malloc(8 * N1);
    mavg = malloc(8 * N1); ten = malloc(8 * N1); gap = malloc(8 * N1); ditems = malloc(8 * N1);
    first_ts = malloc(8 * N1); last_ts = malloc(8 * N1); slot = malloc(8 * N1);
    cf = malloc(8 * N1); cr = malloc(8 * N1); cT = malloc(8 * N1); cm = malloc(8 * N1); ch = malloc(8 * N1);
    cshare = calloc(N1 * (size_t)(C ? C : 1), 8); hshare = calloc(N1 * (size_t)(nchan ? nchan : 1), 8);
    obuf = malloc(8 * (size_t)(t.n ? t.n : 1)); ibuf = malloc(4 * (size_t)(t.n ? t.n : 1));
    if (!ck || !cl || !rec || !freq || !mtot || !mavg || !ten || !gap || !ditems || !first_ts || !last_ts || !slot ||
        !cf || !cr || !cT || !cm || !ch || !cshare || !hshare || !obuf || !ibuf) {
        PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    int64_t m = 0;
    for (int64_t a = 0, b; a < t.n; a = b) {
        for (b = a + 1; b < t.n && t.key[b] == t.key[a] && t.lo[b] == t.lo[a]; b++) {}
        double total = 0, purch = 0;
        int64_t norders = 0, nrows = 0, fday = INT64_MIN, lday = INT64_MIN, fts = 0, lts = 0, ndays = 0, prev_day = INT64_MIN;
        int64_t cal_days = 0, cal_first = INT64_MIN, cal_last = INT64_MIN, hold_days = 0, prev_cal = INT64_MIN, prev_hold = INT64_MIN;
        double day_sum = 0, repeat_sum = 0;
        int64_t ni = 0;
        double *cs = cshare + (size_t)m * (size_t)C, *hs = hshare + (size_t)m * (size_t)nchan;
        for (int64_t i = a; i < b; i++) {
            if (!IN_WINDOW(i)) continue;
            total += t.amount[i];
            if (t.flags[i] & FL_REFUND) continue;
            int64_t d = tz_local_day(&tz, t.ts[i]);
            nrows++;
            purch += t.amount[i];
            if (has_order) obuf[norders++] = t.order[i];
            ibuf[ni++] = t.item[i];
            if (fday == INT64_MIN) { fday = d; fts = t.ts[i]; }
            lday = d;
            lts = t.ts[i];
            if (d != prev_day) ndays++;
            prev_day = d;
            for (int k = 0; k < C; k++)
                if (t.cat[i] == topcat[k]) cs[k] += t.amount[i];
            if (nchan) hs[t.chan[i]] += t.amount[i];
            /* CLV summary: purchase days before calibration_end, holdout after */
            if (d < cal_end) {
                if (d != prev_cal) {
                    if (prev_cal != INT64_MIN && cal_days >= 2) repeat_sum += day_sum;
                    cal_days++;
                    day_sum = 0;
                    if (cal_first == INT64_MIN) cal_first = d;
                }
                cal_last = d;
                prev_cal = d;
                day_sum += t.amount[i];
            } else if (d != prev_hold) {
                hold_days++;
                prev_hold = d;
            }
        }
        if (cal_days >= 2) repeat_sum += day_sum;
        if (nrows == 0) { refund_only++; continue; } /* no purchase: left out */
        if (has_order) {
            qsort(obuf, (size_t)norders, 8, cmp_u64);
            int64_t u = 0;
            for (int64_t k = 0; k < norders; k++)
                if (k == 0 || obuf[k] != obuf[k - 1]) u++;
            norders = u;
        } else {
            norders = nrows;
        }
        qsort(ibuf, (size_t)ni, 4, cmp_i32);
        int64_t uitems = 0;
        for (int64_t k = 0; k < ni; k++)
            if (k == 0 || ibuf[k] != ibuf[k - 1]) uitems++;
        ck[m] = t.key[a];
        cl[m] = t.lo[a];
        slot[m] = slots_of(t.key[a], S);
        rec[m] = (double)(as_of - lday);
        freq[m] = (double)norders;
        mtot[m] = total;
        mavg[m] = total / (double)norders;
        ten[m] = (double)(as_of - fday);
        first_ts[m] = fts;
        last_ts[m] = lts;
        gap[m] = ndays >= 2 ? (double)(lday - fday) / (double)(ndays - 1) : 0.0;
        ditems[m] = (double)uitems;
        for (int k = 0; k < C; k++) cs[k] = purch != 0 ? cs[k] / purch : 0.0;
        for (int k = 0; k < nchan; k++) hs[k] = purch != 0 ? hs[k] / purch : 0.0;
        if (cal_days > 0) {
            cf[m] = (double)(cal_days - 1);
            cr[m] = (double)(cal_last - cal_first);
            cT[m] = (double)(cal_end - cal_first);
            cm[m] = cal_days >= 2 ? repeat_sum / (double)(cal_days - 1) : 0.0;
        } else {
            cf[m] = cr[m] = cT[m] = cm[m] = NAN;
        }
        ch[m] = (double)hold_days;
        m++;
    }
    ncust = m;
    /* RFM scores: NTILE(5) on exact global ranks */
    sr = malloc(4 * N1); sf = malloc(4 * N1); sm = malloc(4 * N1); seg = malloc(4 * N1);
    double *neg = malloc(8 * N1);
    if (!sr || !sf || !sm || !seg || !neg) { free(neg); PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    for (int64_t i = 0; i < ncust; i++) neg[i] = -rec[i];
    int bad = ntile_scores(comm, neg, ck, cl, ncust, 5, sr, e) || ntile_scores(comm, freq, ck, cl, ncust, 5, sf, e) ||
              ntile_scores(comm, mtot, ck, cl, ncust, 5, sm, e);
    free(neg);
    if (bad) goto done;
    for (int64_t i = 0; i < ncust; i++) seg[i] = seg_map[sr[i] - 1][sf[i] - 1];

    /* features: transform, then z-score with exact global mean and population std */
    X = malloc(8 * N1 * (size_t)nfeat);
    double smean[16], sstd[16];
    if (!X) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    const double *base[NBASE] = {rec, freq, mtot, mavg, ten, gap, ditems};
    for (int j = 0; j < nfeat; j++)
        for (int64_t i = 0; i < ncust; i++) {
            double v = base[fs[j].base][i];
            X[i * nfeat + j] = fs[j].log1p ? log1p(v > 0 ? v : 0) : v;
        }
    if (reduce_colsum(comm, X, ncust, nfeat, smean, e)) goto done;
    int64_t gN = 0;
    MPI_CHECK(MPI_Allreduce(&ncust, &gN, 1, MPI_INT64_T, MPI_SUM, comm), e);
    for (int j = 0; j < nfeat; j++) smean[j] = gN ? smean[j] / (double)gN : 0;
    {
        double *dev = malloc(8 * N1 * (size_t)nfeat);
        if (!dev) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
        for (int64_t i = 0; i < ncust; i++)
            for (int j = 0; j < nfeat; j++) {
                double d = X[i * nfeat + j] - smean[j];
                dev[i * nfeat + j] = d * d;
            }
        int r2 = reduce_colsum(comm, dev, ncust, nfeat, sstd, e);
        free(dev);
        if (r2) goto done;
    }
    for (int j = 0; j < nfeat; j++) sstd[j] = gN ? sqrt(sstd[j] / (double)gN) : 0;
    for (int64_t i = 0; i < ncust; i++)
        for (int j = 0; j < nfeat; j++)
            X[i * nfeat + j] = (X[i * nfeat + j] - smean[j]) / (sstd[j] > 0 ? sstd[j] : 1.0);

    /* customers of /customers without a purchase in the window */
    int64_t cust_rows = 0, without = 0;
    if (h5io_exists(in, "/customers/slot_offsets")) {
        int64_t coff, ccnt;
        if (h5io_slot_rows(in, "/customers", lo, hi, &coff, &ccnt, e)) goto done;
        cust_rows = ccnt;
        uint64_t *k2 = NULL, *l2 = NULL;
        if (read_col(in, "/customers/customer_key", H5T_NATIVE_UINT64, 8, coff, ccnt, (void **)&k2, e) ||
            read_col(in, "/customers/customer_key_lo", H5T_NATIVE_UINT64, 8, coff, ccnt, (void **)&l2, e)) {
            free(k2); free(l2);
            goto done;
        }
        /* both sorted by (slot, key, lo): merge */
        int64_t p = 0;
        for (int64_t i = 0; i < ccnt; i++) {
            int64_t si = slots_of(k2[i], S);
            while (p < ncust && (slot[p] < si || (slot[p] == si && (ck[p] < k2[i] || (ck[p] == k2[i] && cl[p] < l2[i]))))) p++;
            if (!(p < ncust && ck[p] == k2[i] && cl[p] == l2[i])) without++;
        }
        free(k2); free(l2);
    }
    int64_t lc[3] = {refund_only, without, cust_rows}, gc[3];
    MPI_CHECK(MPI_Allreduce(lc, gc, 3, MPI_INT64_T, MPI_SUM, comm), e);
    if (precis_agree(comm, e)) goto done;
    LOG_INFO("%lld customers with a purchase; left out: %lld with refunds only, %lld of %lld customers rows without a purchase in the window",
             (long long)gN, (long long)gc[0], (long long)gc[1], (long long)gc[2]);

    /* write */
    params = opts_to_json(&cmd);
    if (h5io_inputs_json(comm, &o.in, 1, &inputs, e)) goto done;
    if (h5io_create(comm, o.out, &out, e)) goto done;
    {
        int64_t *offs = malloc(8 * (size_t)(hi - lo + 1));
        char colbuf[4096];
        const char *cn[64];
        char cnb[64][80];
#define W(path, type, buf) TRY(h5io_write_col(out, path, type, buf, ncust, e))
        CHECK(offs, e, PRECIS_EXIT_INTERNAL, "out of memory");
        TRY(h5io_set_provenance(out, "rfm", params, inputs, fp, e));
        W("/customers/customer_key", H5T_NATIVE_UINT64, ck);
        W("/customers/customer_key_lo", H5T_NATIVE_UINT64, cl);
        TRY(slots_offsets_local(comm, slot, ncust, lo, hi, offs, e));
        TRY(h5io_write_slot_offsets(out, "/customers", lo, hi, offs, e));
        free(offs);
        TRY(h5io_attr_set_i64(out, "/customers", "slots", S, e));
        W("/rfm/recency_days", H5T_NATIVE_DOUBLE, rec);
        W("/rfm/frequency", H5T_NATIVE_DOUBLE, freq);
        W("/rfm/monetary_total", H5T_NATIVE_DOUBLE, mtot);
        W("/rfm/monetary_avg", H5T_NATIVE_DOUBLE, mavg);
        W("/rfm/tenure_days", H5T_NATIVE_DOUBLE, ten);
        W("/rfm/first_ts", H5T_NATIVE_INT64, first_ts);
        W("/rfm/last_ts", H5T_NATIVE_INT64, last_ts);
        W("/rfm/score_r", H5T_NATIVE_INT32, sr);
        W("/rfm/score_f", H5T_NATIVE_INT32, sf);
        W("/rfm/score_m", H5T_NATIVE_INT32, sm);
        W("/rfm/segment", H5T_NATIVE_INT32, seg);
        W("/clv_summary/frequency", H5T_NATIVE_DOUBLE, cf);
        W("/clv_summary/recency", H5T_NATIVE_DOUBLE, cr);
        W("/clv_summary/T", H5T_NATIVE_DOUBLE, cT);
        W("/clv_summary/monetary_value", H5T_NATIVE_DOUBLE, cm);
        if (cal_end < as_of) W("/clv_summary/holdout_frequency", H5T_NATIVE_DOUBLE, ch);
        W("/behaviour/avg_gap_days", H5T_NATIVE_DOUBLE, gap);
        W("/behaviour/distinct_items", H5T_NATIVE_DOUBLE, ditems);
        for (int k = 0; k < C && k < 64; k++) {
            snprintf(cnb[k], sizeof cnb[k], "%.*s", (int)cat_w, cat_names + (size_t)topcat[k] * cat_w);
            cn[k] = cnb[k];
        }
        TRY(h5io_write_mat(out, "/behaviour/category_share", H5T_NATIVE_DOUBLE, cshare, ncust, C, C <= 64 ? cn : NULL, e));
        for (int k = 0; k < nchan && k < 64; k++) {
            snprintf(cnb[k], sizeof cnb[k], "%.*s", (int)chan_w, chan_names + (size_t)k * chan_w);
            cn[k] = cnb[k];
        }
        TRY(h5io_write_mat(out, "/behaviour/channel_share", H5T_NATIVE_DOUBLE, hshare, ncust, (int)nchan, nchan <= 64 ? cn : NULL, e));
        const char *fn[16];
        colbuf[0] = '\0';
        for (int j = 0; j < nfeat; j++) {
            fn[j] = fs[j].name;
            strcat(colbuf, j ? "," : "");
            strcat(colbuf, fs[j].log1p ? "log1p" : "none");
        }
        TRY(h5io_write_mat(out, "/features/X", H5T_NATIVE_DOUBLE, X, ncust, nfeat, fn, e));
        TRY(h5io_attr_set_str(out, "/features/X", "transform", colbuf, e));
        TRY(h5io_attr_set_str(out, "/features/X", "row_keys", "/customers", e));
        TRY(h5io_write_col(out, "/features/scaler_mean", H5T_NATIVE_DOUBLE, smean, rank == 0 ? nfeat : 0, e));
        TRY(h5io_write_col(out, "/features/scaler_std", H5T_NATIVE_DOUBLE, sstd, rank == 0 ? nfeat : 0, e));
        TRY(h5io_write_strings(out, "/dict/segment", seg_names, rank == 0 ? NSEG : 0, e));
        TRY(h5io_attr_set_i64(out, "/", "as_of_day", as_of, e));
        TRY(h5io_attr_set_i64(out, "/", "calibration_end_day", cal_end, e));
        TRY(h5io_attr_set_i64(out, "/", "window_days", o.window, e));
        TRY(h5io_attr_set_str(out, "/", "tz", tzs, e));
        TRY(h5io_attr_set_i64(out, "/", "slots", S, e));
        TRY(h5io_attr_set_i64(out, "/", "customers_refund_only", gc[0], e));
        TRY(h5io_attr_set_i64(out, "/", "customers_without_purchase", gc[1], e));
#undef W
    }
    rc = h5io_commit(out, e);
    out = NULL;
    if (rc == 0) LOG_INFO("wrote %s (%lld customers)", o.out, (long long)gN);
    precis_agree(comm, e);
    goto done;
fail:
    precis_agree(comm, e);
done:
    if (out) h5io_abort(out);
    rc = job_exit(comm, e);
    h5io_close(in);
    tx_free(&t);
    tz_close(&tz);
    free(tzs); free(fp); free(cat_names); free(chan_names); free(params); free(inputs);
    free(ck); free(cl); free(rec); free(freq); free(mtot); free(mavg); free(ten); free(gap); free(ditems);
    free(first_ts); free(last_ts); free(slot);
    free(cf); free(cr); free(cT); free(cm); free(ch); free(cshare); free(hshare); free(X);
    free(sr); free(sf); free(sm); free(seg); free(topcat); free(obuf); free(ibuf); free(catacc);
    opts_free(&cmd);
    return rc;
}
