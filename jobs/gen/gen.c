/* gen.c - precis-gen: synthetic marketing exports with planted truth.
 *
 * DESIGN
 * Customer i's rows come only from Philox streams keyed by (seed, i,
 * purpose), so the same seed gives the same set of rows at any rank count:
 * rank r generates customers [r*N/P, (r+1)*N/P) and writes its own part files
 * DIR/<table>-part-<r>.csv. Global truth (segment profiles, item factors,
 * channel response curves, weekly spend, experiment lifts) is drawn from
 * streams keyed by the entity (segment, item, channel, week), identically on
 * every rank. Defects (--dirty) are decided per row from a stream keyed by
 * (table, customer, row number), so any rank can tell whether a given row is
 * clean; a conflicting order id always copies a clean row's id. truth.h5 is
 * written collectively in customer order; counts and realised revenues are
 * reduced exactly (integers, reproducible sums), so it is P-invariant too.
 */
#include "gen.h"
#include "check.h"
#include "h5io.h"
#include "job.h"
#include "log.h"
#include "opts.h"
#include "reduce.h"
#include "rng.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const gen_defect_names[GD_NKINDS] = {
    "none", "field_count", "bad_quote", "bad_utf8", "dup_exact", "dup_order", "conflict_order",
    "missing_optional", "missing_required", "outlier", "nan_inf", "negative_quantity",
    "date_range", "bad_value", "phone_format", "phone_invalid", "email_invalid", "dup_changed",
};
const char *const gen_table_names[GT_NTABLES] = {"customers", "transactions", "touchpoints", "spend", "experiments"};

#define LATENT 4
#define MAXF 12
#define WEEK 604800
#define DAY 86400

/* defect mix per table: weights by kind (0 = never) */
static const int defect_mix[GT_NTABLES][GD_NKINDS] = {
    [GT_CUSTOMERS] = {[GD_FIELD_COUNT] = 10, [GD_BAD_QUOTE] = 5, [GD_BAD_UTF8] = 10, [GD_DUP_EXACT] = 10,
                      [GD_MISSING_OPT] = 25, [GD_MISSING_REQ] = 10, [GD_PHONE_FORMAT] = 30,
                      [GD_PHONE_INVALID] = 10, [GD_EMAIL_INVALID] = 10, [GD_DUP_CHANGED] = 10},
    [GT_TRANSACTIONS] = {[GD_FIELD_COUNT] = 10, [GD_BAD_QUOTE] = 6, [GD_BAD_UTF8] = 6, [GD_DUP_EXACT] = 12,
                         [GD_DUP_ORDER] = 8, [GD_CONFLICT_ORDER] = 4, [GD_MISSING_OPT] = 14,
                         [GD_MISSING_REQ] = 10, [GD_OUTLIER] = 8, [GD_NAN_INF] = 6, [GD_NEG_QTY] = 8,
                         [GD_DATE_RANGE] = 8},
    [GT_TOUCHPOINTS] = {[GD_FIELD_COUNT] = 15, [GD_BAD_UTF8] = 10, [GD_DUP_EXACT] = 20, [GD_MISSING_OPT] = 20,
                        [GD_MISSING_REQ] = 15, [GD_NAN_INF] = 10, [GD_DATE_RANGE] = 10},
    [GT_SPEND] = {0},
    [GT_EXPERIMENTS] = {[GD_FIELD_COUNT] = 25, [GD_DUP_EXACT] = 35, [GD_MISSING_REQ] = 20, [GD_BAD_VALUE] = 20},
};

/* which fields a MISSING_OPT / MISSING_REQ defect may blank, per table */
static const int opt_fields[GT_NTABLES][6] = {
    [GT_CUSTOMERS] = {2, 3, 4, 5, 6, -1},     /* phone email gender birth_date city */
    [GT_TRANSACTIONS] = {2, 3, 4, 5, 8, 9},   /* item category quantity unit_price channel campaign */
    [GT_TOUCHPOINTS] = {5, -1},               /* cost */
    [GT_SPEND] = {-1},
    [GT_EXPERIMENTS] = {-1},
};
static const int req_fields[GT_NTABLES][3] = {
    [GT_CUSTOMERS] = {0, -1, -1},
    [GT_TRANSACTIONS] = {1, 6, 7},            /* customer_id amount ts */
    [GT_TOUCHPOINTS] = {1, -1, -1},           /* ts */
    [GT_SPEND] = {-1, -1, -1},
    [GT_EXPERIMENTS] = {0, -1, -1},
};

static const char *const table_header[GT_NTABLES] = {
    "customer_id,name,phone,email,gender,birth_date,city,signup_ts",
    "order_id,customer_id,item_id,category,quantity,unit_price,amount,ts,channel,campaign_id",
    "customer_id,ts,channel,campaign_id,event,cost",
    "week_start,channel,campaign_id,spend",
    "customer_id,campaign_id,group",
};

typedef struct seg_profile {
    const char *name;
    double weight, orders_per_year, price_mult, churn_prob, late_signup;
} seg_profile;

static const seg_profile seg_table[8] = {
    {"champions", 0.15, 24, 1.6, 0.00, 0},
    {"loyal", 0.25, 10, 1.0, 0.05, 0},
    {"big_spenders", 0.10, 4, 4.0, 0.05, 0},
    {"at_risk", 0.20, 8, 0.9, 1.00, 0},
    {"new", 0.15, 6, 1.0, 0.00, 1},
    {"hibernating", 0.15, 2, 0.6, 0.50, 0},
    {"bargain_hunters", 0.15, 14, 0.4, 0.10, 0},
    {"occasional", 0.15, 1.5, 0.8, 0.20, 0},
};

/* --separated-segments: far apart in frequency and spend (x4 orders, x6.5
 * price per step), no churn, so RFM features can recover them */
static const seg_profile sep_table[4] = {
    {"rare_small", 0.25, 12, 0.15, 0.00, 0},
    {"regular_mid", 0.25, 48, 1.0, 0.00, 0},
    {"frequent_big", 0.25, 192, 6.5, 0.00, 0},
    {"constant_top", 0.25, 768, 42.0, 0.00, 0},
};

static const char *const channel_names[8] = {"email", "sms", "search", "social", "display", "app", "affiliate", "tv"};
static const char *const channel_events[8] = {"open", "open", "click", "impression", "impression", "visit", "click", "impression"};
static const double channel_touch_cost[8] = {0.002, 0.01, 0.45, 0.05, 0.004, 0.0, 0.2, 0.03};
static const char *const categories[12] = {"books", "electronics", "home", "beauty", "toys", "sports",
                                           "grocery", "fashion", "garden", "auto", "health", "pets"};
static const char *const cities[12] = {"Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Chengdu", "Hangzhou",
                                       "Wuhan", "Xi'an", "Nanjing", "Tianjin", "Suzhou", "Chongqing"};
static const char *const surnames[16] = {"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao",
                                         "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo"};
static const char *const given[16] = {"Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan",
                                      "Jun", "Hua", "Ping", "Gang", "Xin", "Tao", "Ming", "Li"};
static const double exp_lift[4] = {0.25, 0.10, 0.0, 0.15};

typedef struct gen_opts {
    int64_t customers, items, channels, weeks, segments, experiments;
    double dirty, affinity;
    int separated;
    char *out, *start;
    opt_common c;
} gen_opts;

typedef struct tw {
    FILE *f;
    int64_t rows; /* data rows written (duplicates included) */
} tw;

typedef struct gen {
    gen_opts o;
    const seg_profile *segs;   /* the segment table in use */
    MPI_Comm comm;
    int rank, size;
    uint64_t seed;
    int64_t t0, horizon; /* start ts and length in seconds */
    int K, C, W, E;
    double seg_u[8][LATENT];
    double *item_v, *item_price;
    int *item_cat;
    double theta[8], hillK[8], hillS[8], beta[8], eff[8], pref[8];
    double *spend, *resp;   /* C x W */
    double *media_cum;      /* cumulative over C*W of expected media orders */
    double media_total, aov;
    gsl_rng *r, *rd;        /* customer stream, defect stream */
    tw t[GT_NTABLES];
    int64_t defects[GT_NTABLES][GD_NKINDS][MAXF + 1]; /* by field (+1: whole row) */
    racc *media_rev;        /* C x W realised media revenue */
    int64_t exp_n[4][2], exp_conv[4][2];
    double *cum_item;       /* per-customer item CDF scratch */
} gen;

typedef struct cust {
    int64_t i;
    int seg, guest, churned;
    int64_t active_from, active_to; /* ts */
    int64_t n_orders;
    double u[LATENT];
} cust;

enum { P_WORLD = 1, P_CUST, P_ORDERS, P_MEDIA, P_TOUCH, P_EXP, P_DEFECT, P_SPEND, P_KEY };

/* ---------------------------------------------------------------- world */

static double lognormal_mean(gsl_rng *r, double mean, double sigma)
{
    return mean * exp(gsl_ran_gaussian(r, sigma) - 0.5 * sigma * sigma);
}

static double hill(double a, double K, double S) { return a <= 0 ? 0 : pow(a, S) / (pow(K, S) + pow(a, S)); }

static void cust_profile(gen *g, int64_t i, cust *c);

/* the log-weight of item j for a customer with taste u, given s = u.v_j */
static double affinity_score(const gen *g, const double *u, int64_t j, double s)
{
    if (g->o.affinity <= 0) return s;
    double nu = 0, nv = 0;
    for (int d = 0; d < LATENT; d++) {
        nu += u[d] * u[d];
        nv += g->item_v[j * LATENT + d] * g->item_v[j * LATENT + d];
    }
    return nu > 0 && nv > 0 ? g->o.affinity * s / sqrt(nu * nv) : 0;
}

static int world_init(gen *g, precis_err *e)
{
    int K = g->K, C = g->C, W = g->W, I = (int)g->o.items;
    double N = (double)g->o.customers;
    gsl_rng *r = g->r;
    for (int k = 0; k < K; k++) {
        rng_key(r, g->seed, (uint64_t)k, P_WORLD * 100 + 1);
        for (int d = 0; d < LATENT; d++) g->seg_u[k][d] = 1.2 * gsl_ran_gaussian(r, 1.0);
    }
    g->item_v = malloc(sizeof(double) * (size_t)I * LATENT);
    g->item_price = malloc(sizeof(double) * (size_t)I);
    g->item_cat = malloc(sizeof(int) * (size_t)I);
    g->spend = calloc((size_t)C * W, sizeof(double));
    g->resp = calloc((size_t)C * W, sizeof(double));
    g->media_cum = calloc((size_t)C * W, sizeof(double));
    g->media_rev = calloc((size_t)C * W, sizeof(racc));
    g->cum_item = malloc(sizeof(double) * (size_t)I);
    if (!g->item_v || !g->item_price || !g->item_cat || !g->spend || !g->resp || !g->media_cum ||
        !g->media_rev || !g->cum_item)
        return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    double price_sum = 0;
    for (int j = 0; j < I; j++) {
        rng_key(r, g->seed, (uint64_t)j, P_WORLD * 100 + 2);
        for (int d = 0; d < LATENT; d++) g->item_v[j * LATENT + d] = gsl_ran_gaussian(r, 1.0);
        g->item_cat[j] = j % 12;
        g->item_price[j] = round(100.0 * lognormal_mean(r, 10.0 + 8.0 * (j % 12), 0.5)) / 100.0;
        if (g->item_price[j] < 0.5) g->item_price[j] = 0.5;
        price_sum += g->item_price[j];
    }
    (void)price_sum;
    for (int c = 0; c < C; c++) {
        rng_key(r, g->seed, (uint64_t)c, P_WORLD * 100 + 3);
        g->theta[c] = 0.1 + 0.6 * gsl_rng_uniform(r);
        g->hillS[c] = 0.8 + 1.7 * gsl_rng_uniform(r);
        double base = N * (0.5 + 2.5 * gsl_rng_uniform(r)); /* weekly spend scale */
        g->hillK[c] = base * (1.0 + 2.0 * gsl_rng_uniform(r)) / (1.0 - g->theta[c]);
        g->beta[c] = N * (1.0 + 2.0 * gsl_rng_uniform(r));
        g->eff[c] = 0.02 + 0.13 * gsl_rng_uniform(r);
        g->pref[c] = 0.5 + gsl_rng_uniform(r);
        double phase = 2 * M_PI * gsl_rng_uniform(r), a = 0;
        for (int t = 0; t < W; t++) {
            rng_key(r, g->seed, (uint64_t)(c * 100000 + t), P_SPEND);
            double x = base * (1.0 + 0.5 * sin(2 * M_PI * t / 52.0 + phase)) * lognormal_mean(r, 1.0, 0.3);
            x = round(x * 100.0) / 100.0;
            g->spend[c * W + t] = x;
            a = x + g->theta[c] * a;
            g->resp[c * W + t] = g->beta[c] * hill(a, g->hillK[c], g->hillS[c]);
        }
    }
    /* expected order amount, over a fixed sample of customers (any rank gets
     * the same sample): E[quantity] * price multiplier * preference-weighted price */
    double aov_sum = 0;
    int nsample = 400;
    for (int k = 0; k < nsample; k++) {
        cust cs;
        cust_profile(g, (int64_t)((double)k * N / nsample), &cs);
        double z = 0, zp = 0;
        for (int j = 0; j < I; j++) {
            double s = 0;
            for (int d = 0; d < LATENT; d++) s += cs.u[d] * g->item_v[j * LATENT + d];
            s = affinity_score(g, cs.u, j, s);
            double w = exp(s > 30 ? 30 : s);
            z += w;
            zp += w * g->item_price[j];
        }
        aov_sum += 1.5 * g->segs[cs.seg].price_mult * zp / z;
    }
    g->aov = aov_sum / nsample;
    double cum = 0;
    for (int k = 0; k < C * W; k++) {
        cum += g->resp[k] / g->aov;
        g->media_cum[k] = cum;
    }
    g->media_total = cum;
    return 0;
}

static int pick_cum(const double *cum, int n, double u)
{
    double x = u * cum[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static void cust_profile(gen *g, int64_t i, cust *c)
{
    gsl_rng *r = g->r;
    rng_key(r, g->seed, (uint64_t)i, P_CUST);
    c->i = i;
    double w[8], tot = 0;
    for (int k = 0; k < g->K; k++) tot += (w[k] = g->segs[k].weight);
    double u = gsl_rng_uniform(r) * tot;
    c->seg = 0;
    for (int k = 0; k < g->K; k++) {
        if (u < w[k]) { c->seg = k; break; }
        u -= w[k];
        c->seg = k;
    }
    const seg_profile *p = &g->segs[c->seg];
    c->guest = gsl_rng_uniform(r) < 0.02;
    double start_frac = p->late_signup ? 0.75 + 0.2 * gsl_rng_uniform(r) : -0.5 + gsl_rng_uniform(r) * 0.9;
    c->churned = gsl_rng_uniform(r) < p->churn_prob;
    double end_frac = c->churned ? 0.3 + 0.2 * gsl_rng_uniform(r) : 1.0;
    if (end_frac <= start_frac + 0.05) end_frac = start_frac + 0.05 > 1.0 ? 1.0 : start_frac + 0.05;
    c->active_from = g->t0 + (int64_t)(start_frac * (double)g->horizon);
    c->active_to = g->t0 + (int64_t)(end_frac * (double)g->horizon);
    int64_t from = c->active_from > g->t0 ? c->active_from : g->t0;
    double weeks = (double)(c->active_to - from) / WEEK;
    if (weeks < 0) weeks = 0;
    c->n_orders = gsl_ran_poisson(r, p->orders_per_year * weeks / 52.0);
    for (int d = 0; d < LATENT; d++) c->u[d] = g->seg_u[c->seg][d] + 0.5 * gsl_ran_gaussian(r, 1.0);
}

/* ------------------------------------------------------------- defects */

typedef struct defect {
    int kind, field, variant;
} defect;

static defect defect_of(gen *g, int table, int64_t i, int64_t seq)
{
    defect d = {GD_NONE, -1, 0};
    if (g->o.dirty <= 0) return d;
    rng_key(g->rd, g->seed, ((uint64_t)i << 20) | (uint64_t)seq, P_DEFECT * 100 + (uint64_t)table);
    if (gsl_rng_uniform(g->rd) >= g->o.dirty) return d;
    int tot = 0;
    for (int k = 0; k < GD_NKINDS; k++) tot += defect_mix[table][k];
    if (tot == 0) return d;
    int x = (int)(gsl_rng_uniform(g->rd) * tot);
    for (int k = 0; k < GD_NKINDS; k++) {
        if (x < defect_mix[table][k]) { d.kind = k; break; }
        x -= defect_mix[table][k];
    }
    d.variant = (int)(gsl_rng_uniform(g->rd) * 1000);
    if (d.kind == GD_MISSING_OPT) {
        int n = 0;
        while (n < 6 && opt_fields[table][n] >= 0) n++;
        d.field = opt_fields[table][d.variant % n];
    } else if (d.kind == GD_MISSING_REQ) {
        int n = 0;
        while (n < 3 && req_fields[table][n] >= 0) n++;
        d.field = req_fields[table][d.variant % n];
    }
    return d;
}

/* ---------------------------------------------------------------- rows */

typedef struct row {
    char f[MAXF][160];
    int nf;
} row;

static void put_field(FILE *f, const char *s, char delim_after)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"') fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    if (delim_after) fputc(delim_after, f);
}

static void write_row(tw *t, const row *rw)
{
    for (int k = 0; k < rw->nf; k++) put_field(t->f, rw->f[k], k + 1 < rw->nf ? ',' : '\n');
    t->rows++;
}

/* Write a row after applying its defect (decided from (table, i, seq)). */
static void emit(gen *g, int table, int64_t i, int64_t seq, row *rw)
{
    defect d = defect_of(g, table, i, seq);
    tw *t = &g->t[table];
    int fld = d.field >= 0 ? d.field : MAXF;
    switch (d.kind) {
    case GD_NONE:
        write_row(t, rw);
        return;
    case GD_FIELD_COUNT:
        if (d.variant % 2) rw->nf--;
        else snprintf(rw->f[rw->nf++], 160, "extra");
        break;
    case GD_BAD_QUOTE: {
        /* "value"x : an even number of quotes, so exactly one bad record */
        int k = table == GT_CUSTOMERS ? 1 : 3;
        for (int j = 0; j < rw->nf; j++) {
            if (j == k) fprintf(t->f, "\"%s\"x", rw->f[j]);
            else put_field(t->f, rw->f[j], 0);
            fputc(j + 1 < rw->nf ? ',' : '\n', t->f);
        }
        t->rows++;
        g->defects[table][d.kind][MAXF]++;
        return;
    }
    case GD_BAD_UTF8: {
        int k = table == GT_CUSTOMERS ? 1 : table == GT_TRANSACTIONS ? 3 : 3;
        size_t l = strlen(rw->f[k]);
        if (l + 3 < 160) memcpy(rw->f[k] + l, "\xC3\x28", 3);
        fld = k;
        break;
    }
    case GD_DUP_EXACT:
        write_row(t, rw);
        break;
    case GD_DUP_CHANGED: { /* customers: a later export of the customer, moved to the next city */
        write_row(t, rw);
        int ci = 0;
        while (ci < 11 && strcmp(cities[ci], rw->f[6]) != 0) ci++;
        snprintf(rw->f[6], 160, "%s", cities[(ci + 1) % 12]);
        fld = 6;
        break;
    }
    case GD_MISSING_OPT:
    case GD_MISSING_REQ: { /* empty, or a placeholder exports write for a missing value (--na-values) */
        static const char *const blank[6] = {"", "", "NULL", "\\N", "N/A", "#N/A"};
        snprintf(rw->f[d.field], 160, "%s", blank[d.variant / 6 % 6]);
        break;
    }
    case GD_OUTLIER: {
        double q = atof(rw->f[4]), up = atof(rw->f[5]) * 1000.0;
        snprintf(rw->f[5], 160, "%.2f", up);
        snprintf(rw->f[6], 160, "%.2f", q * up);
        fld = 6;
        break;
    }
    case GD_NAN_INF: {
        int k = table == GT_TRANSACTIONS ? 6 : 5;
        snprintf(rw->f[k], 160, "%s", d.variant % 3 == 0 ? "NaN" : d.variant % 3 == 1 ? "inf" : "-Infinity");
        fld = k;
        break;
    }
    case GD_NEG_QTY:
        for (int k = 4; k <= 6; k += 2) {
            memmove(rw->f[k] + 1, rw->f[k], strnlen(rw->f[k], 158) + 1);
            rw->f[k][0] = '-';
        }
        fld = 4;
        break;
    case GD_DATE_RANGE: {
        int k = table == GT_TRANSACTIONS ? 7 : 1;
        memcpy(rw->f[k], d.variant % 2 ? "1899" : "2199", 4);
        fld = k;
        break;
    }
    case GD_BAD_VALUE:
        snprintf(rw->f[2], 160, "maybe");
        fld = 2;
        break;
    case GD_PHONE_FORMAT: {
        const char *p = rw->f[2];
        if (strlen(p) != 11) { write_row(t, rw); return; } /* phone missing: no defect */
        char buf[64];
        switch (d.variant % 3) {
        case 0: snprintf(buf, sizeof buf, "+86 %.3s-%.4s-%.4s", p, p + 3, p + 7); break;
        case 1: snprintf(buf, sizeof buf, "0086 %.11s", p); break;
        default: snprintf(buf, sizeof buf, "(86) %.3s %.4s %.4s", p, p + 3, p + 7); break;
        }
        snprintf(rw->f[2], 160, "%s", buf);
        fld = 2;
        break;
    }
    case GD_PHONE_INVALID: { /* too short (3 or 5 digits; CN dials 5 only locally), too long, or no digits */
        const char *p = rw->f[2];
        if (strlen(p) != 11) { write_row(t, rw); return; }
        char buf[64];
        switch (d.variant % 4) {
        case 0: snprintf(buf, sizeof buf, "%.5s", p); break;
        case 1: snprintf(buf, sizeof buf, "+86 %.11s99", p); break;
        case 2: snprintf(buf, sizeof buf, "ask at desk"); break;
        default: snprintf(buf, sizeof buf, "%.3s", p); break;
        }
        snprintf(rw->f[2], 160, "%s", buf);
        fld = 2;
        break;
    }
    case GD_EMAIL_INVALID: { /* no '@', a one-label domain, two '@', no domain */
        char *e = rw->f[3], *at = strchr(e, '@');
        if (!at) { write_row(t, rw); return; }
        char loc[160], buf[200];
        snprintf(loc, sizeof loc, "%.*s", (int)(at - e), e);
        switch (d.variant % 4) {
        case 0: snprintf(buf, sizeof buf, "%s at %s", loc, at + 1); break;
        case 1: snprintf(buf, sizeof buf, "%s@localhost", loc); break;
        case 2: snprintf(buf, sizeof buf, "%s@%s", loc, at); break;
        default: snprintf(buf, sizeof buf, "%s@", loc); break;
        }
        size_t n = strnlen(buf, 159); /* the generator's addresses are far shorter */
        memcpy(e, buf, n);
        e[n] = '\0';
        fld = 3;
        break;
    }
    default: /* DUP_ORDER and CONFLICT_ORDER are applied by the caller */
        break;
    }
    g->defects[table][d.kind][fld]++;
    write_row(t, rw);
}

static void fmt_money(char *out, double v) { snprintf(out, 160, "%.2f", v); }

static void campaign_of(char *out, int c, int64_t ts, int64_t t0)
{
    int q = (int)((ts - t0) / (13 * (int64_t)WEEK)) + 1;
    if (q < 1) q = 1;
    char up[16];
    size_t k = 0;
    for (const char *p = channel_names[c]; *p && k < sizeof up - 1; p++) up[k++] = (char)(*p - 32);
    up[k] = '\0';
    snprintf(out, 160, "%s-Q%d", up, q);
}

static int64_t draw_ts(gsl_rng *r, int64_t from, int64_t to)
{
    if (to <= from) return from;
    return from + (int64_t)(gsl_rng_uniform(r) * (double)(to - from));
}

/* one transaction row; returns its amount */
static double order_row(gen *g, const cust *c, int64_t j, int64_t ts, int ch, const char *campaign, row *rw)
{
    gsl_rng *r = g->r;
    int item = pick_cum(g->cum_item, (int)g->o.items, gsl_rng_uniform(r));
    int64_t q = 1 + gsl_ran_poisson(r, 0.5);
    double up = round(100.0 * g->item_price[item] * g->segs[c->seg].price_mult * (0.95 + 0.1 * gsl_rng_uniform(r))) / 100.0;
    if (up < 0.01) up = 0.01;
    double amount = round(100.0 * (double)q * up) / 100.0;
    rw->nf = 10;
    snprintf(rw->f[0], 160, "ORD-%lld-%lld", (long long)c->i, (long long)j);
    snprintf(rw->f[1], 160, "CU%08lld", (long long)c->i);
    snprintf(rw->f[2], 160, "SKU%05d", item);
    snprintf(rw->f[3], 160, "%s", categories[g->item_cat[item]]);
    snprintf(rw->f[4], 160, "%lld", (long long)q);
    fmt_money(rw->f[5], up);
    fmt_money(rw->f[6], amount);
    tu_format_datetime(ts, rw->f[7], 160);
    snprintf(rw->f[8], 160, "%s", channel_names[ch]);
    snprintf(rw->f[9], 160, "%s", campaign);
    return amount;
}

static void emit_order(gen *g, const cust *c, int64_t *seq, row *rw)
{
    int64_t s = (*seq)++;
    defect d = defect_of(g, GT_TRANSACTIONS, c->i, s);
    if (d.kind == GD_DUP_ORDER) {
        write_row(&g->t[GT_TRANSACTIONS], rw);
        /* same order id and customer, another item, one hour later */
        row r2 = *rw;
        int64_t ts;
        char tsbuf[160];
        snprintf(tsbuf, sizeof tsbuf, "%s", rw->f[7]);
        int64_t y;
        int mo, dd, hh, mi, ss;
        long long yy;
        if (sscanf(tsbuf, "%lld-%d-%d %d:%d:%d", &yy, &mo, &dd, &hh, &mi, &ss) == 6) {
            y = yy;
            ts = tu_days_from_civil(y, mo, dd) * DAY + hh * 3600 + mi * 60 + ss + 3600;
            tu_format_datetime(ts, r2.f[7], 160);
        }
        snprintf(r2.f[2], 160, "SKU%05d", (atoi(rw->f[2] + 3) + 1) % (int)g->o.items);
        write_row(&g->t[GT_TRANSACTIONS], &r2);
        g->defects[GT_TRANSACTIONS][GD_DUP_ORDER][MAXF]++;
        return;
    }
    if (d.kind == GD_CONFLICT_ORDER) {
        /* copy the id of the next customer's first order, if that row exists and is clean */
        cust nx;
        int64_t ni = (c->i + 1) % g->o.customers;
        gsl_rng *save = g->r;
        g->r = gsl_rng_alloc(rng_philox);
        cust_profile(g, ni, &nx);
        gsl_rng_free(g->r);
        g->r = save;
        if (ni != c->i && nx.n_orders >= 1 && defect_of(g, GT_TRANSACTIONS, ni, 0).kind == GD_NONE) {
            snprintf(rw->f[0], 160, "ORD-%lld-0", (long long)ni);
            g->defects[GT_TRANSACTIONS][GD_CONFLICT_ORDER][0]++;
        }
        write_row(&g->t[GT_TRANSACTIONS], rw);
        return;
    }
    emit(g, GT_TRANSACTIONS, c->i, s, rw);
}

static void gen_customer(gen *g, int64_t i)
{
    cust c;
    row rw;
    cust_profile(g, i, &c);
    gsl_rng *r = g->r;
    /* customers row (guests have none) */
    if (!c.guest) {
        rng_key(r, g->seed, (uint64_t)i, P_CUST * 100 + 1);
        const char *sn = surnames[gsl_rng_uniform_int(r, 16)], *gn = given[gsl_rng_uniform_int(r, 16)];
        rw.nf = 8;
        snprintf(rw.f[0], 160, "CU%08lld", (long long)i);
        if (gsl_rng_uniform(r) < 0.1) snprintf(rw.f[1], 160, "%s, %s", sn, gn);
        else snprintf(rw.f[1], 160, "%s %s", gn, sn);
        static const char pfx[] = "35789";
        snprintf(rw.f[2], 160, "1%c%09llu", pfx[gsl_rng_uniform_int(r, 5)], (unsigned long long)(i * 7919 % 1000000000));
        snprintf(rw.f[3], 160, "%s.%s%lld@%s", gn, sn, (long long)i, gsl_rng_uniform(r) < 0.5 ? "Example.com" : "mail.example.cn");
        if (gsl_rng_uniform(r) < 0.5)
            for (char *p = rw.f[3]; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        double gu = gsl_rng_uniform(r);
        snprintf(rw.f[4], 160, "%s", gu < 0.48 ? "F" : gu < 0.96 ? "M" : "X");
        int64_t by = 1950 + (int64_t)gsl_rng_uniform_int(r, 56);
        tu_format_date(tu_days_from_civil(by, 1 + (int)gsl_rng_uniform_int(r, 12), 1 + (int)gsl_rng_uniform_int(r, 28)) * DAY,
                       rw.f[5], 160);
        snprintf(rw.f[6], 160, "%s", cities[gsl_rng_uniform_int(r, 12)]);
        char dt[32];
        tu_format_datetime(c.active_from, dt, sizeof dt);
        dt[10] = 'T';
        snprintf(rw.f[7], 160, "%sZ", dt);
        emit(g, GT_CUSTOMERS, i, 0, &rw);
    }
    /* item preferences: CDF of exp(u . v) */
    double cum = 0;
    for (int j = 0; j < g->o.items; j++) {
        double s = 0;
        for (int d = 0; d < LATENT; d++) s += c.u[d] * g->item_v[j * LATENT + d];
        s = affinity_score(g, c.u, j, s);
        cum += exp(s > 30 ? 30 : s);
        g->cum_item[j] = cum;
    }
    int64_t from = c.active_from > g->t0 ? c.active_from : g->t0;
    int64_t seq = 0;
    /* organic orders */
    rng_key(r, g->seed, (uint64_t)i, P_ORDERS);
    double pw[8], pc = 0;
    for (int k = 0; k < g->C; k++) pw[k] = (pc += g->pref[k]);
    for (int64_t j = 0; j < c.n_orders; j++) {
        int64_t ts = draw_ts(r, from, c.active_to);
        int ch = pick_cum(pw, g->C, gsl_rng_uniform(r));
        char camp[160];
        campaign_of(camp, ch, ts, g->t0);
        order_row(g, &c, j, ts, ch, camp, &rw);
        emit_order(g, &c, &seq, &rw);
    }
    int64_t j = c.n_orders;
    /* media-driven orders: Poisson split of the expected media orders */
    rng_key(r, g->seed, (uint64_t)i, P_MEDIA);
    int64_t nm = gsl_ran_poisson(r, g->media_total / (double)g->o.customers);
    for (int64_t m = 0; m < nm; m++, j++) {
        int k = pick_cum(g->media_cum, g->C * g->W, gsl_rng_uniform(r));
        int ch = k / g->W, wk = k % g->W;
        int64_t ts = g->t0 + (int64_t)wk * WEEK + (int64_t)(gsl_rng_uniform(r) * WEEK);
        char camp[160];
        campaign_of(camp, ch, ts, g->t0);
        double amt = order_row(g, &c, j, ts, ch, camp, &rw);
        racc_add(&g->media_rev[k], amt);
        emit_order(g, &c, &seq, &rw);
    }
    /* touchpoint paths and their conversions */
    rng_key(r, g->seed, (uint64_t)i, P_TOUCH);
    int64_t npath = gsl_ran_poisson(r, 2.0), tseq = 0;
    for (int64_t pth = 0; pth < npath; pth++) {
        int len = 1 + (int)gsl_ran_poisson(r, 0.8);
        if (len > 5) len = 5;
        int64_t ts = draw_ts(r, from, c.active_to);
        double noconv = 1.0 - 0.01;
        int last = 0;
        char camp[160];
        for (int k = 0; k < len; k++) {
            int ch = pick_cum(pw, g->C, gsl_rng_uniform(r));
            ts += (int64_t)(gsl_ran_exponential(r, 1.0) * DAY);
            noconv *= 1.0 - g->eff[ch];
            last = ch;
            campaign_of(camp, ch, ts, g->t0);
            rw.nf = 6;
            snprintf(rw.f[0], 160, "CU%08lld", (long long)i);
            tu_format_datetime(ts, rw.f[1], 160);
            snprintf(rw.f[2], 160, "%s", channel_names[ch]);
            snprintf(rw.f[3], 160, "%s", camp);
            snprintf(rw.f[4], 160, "%s", channel_events[ch]);
            snprintf(rw.f[5], 160, "%.4f", channel_touch_cost[ch] * (0.8 + 0.4 * gsl_rng_uniform(r)));
            emit(g, GT_TOUCHPOINTS, i, tseq++, &rw);
        }
        if (gsl_rng_uniform(r) < 1.0 - noconv) {
            int64_t cts = ts + (int64_t)(gsl_ran_exponential(r, 0.25) * DAY);
            campaign_of(camp, last, cts, g->t0);
            order_row(g, &c, j++, cts, last, camp, &rw);
            emit_order(g, &c, &seq, &rw);
        }
    }
    /* experiments */
    rng_key(r, g->seed, (uint64_t)i, P_EXP);
    int64_t eseq = 0;
    for (int x = 0; x < g->E; x++) {
        if (gsl_rng_uniform(r) >= 0.3) continue;
        int treat = gsl_rng_uniform(r) < 0.5;
        double p = 0.08 * (treat ? 1.0 + exp_lift[x % 4] : 1.0);
        int conv = gsl_rng_uniform(r) < p;
        g->exp_n[x][treat]++;
        g->exp_conv[x][treat] += conv;
        rw.nf = 3;
        snprintf(rw.f[0], 160, "CU%08lld", (long long)i);
        snprintf(rw.f[1], 160, "EXP-%d", x + 1);
        snprintf(rw.f[2], 160, "%s", treat ? "treatment" : "control");
        emit(g, GT_EXPERIMENTS, i, eseq++, &rw);
        if (conv) {
            int64_t ws = g->t0 + (int64_t)(g->W / 2) * WEEK;
            int64_t cts = draw_ts(r, ws, ws + 4 * (int64_t)WEEK);
            char camp[160];
            snprintf(camp, sizeof camp, "EXP-%d", x + 1);
            order_row(g, &c, j++, cts, 0, camp, &rw);
            emit_order(g, &c, &seq, &rw);
        }
    }
}

static void gen_spend_rows(gen *g)
{
    int64_t off, cnt;
    h5io_even_block(g->W, g->rank, g->size, &off, &cnt);
    row rw;
    for (int64_t t = off; t < off + cnt; t++)
        for (int c = 0; c < g->C; c++) {
            int64_t ws = g->t0 + t * WEEK;
            rw.nf = 4;
            tu_format_date(ws, rw.f[0], 160);
            snprintf(rw.f[1], 160, "%s", channel_names[c]);
            campaign_of(rw.f[2], c, ws, g->t0);
            fmt_money(rw.f[3], g->spend[c * g->W + t]);
            write_row(&g->t[GT_SPEND], &rw);
        }
}

/* ----------------------------------------------------------- files, truth */

static int clean_old_parts(gen *g, precis_err *e)
{
    if (g->rank == 0) {
        DIR *d = opendir(g->o.out);
        if (!d) return PERR(e, PRECIS_EXIT_IO, "cannot open %s: %s", g->o.out, strerror(errno));
        struct dirent *de;
        char p[4096];
        while ((de = readdir(d)))
            if (fnmatch("*-part-*.csv", de->d_name, 0) == 0) {
                snprintf(p, sizeof p, "%s/%s", g->o.out, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    return 0;
}

static int open_tables(gen *g, precis_err *e)
{
    char p[4096];
    for (int t = 0; t < GT_NTABLES; t++) {
        snprintf(p, sizeof p, "%s/%s-part-%05d.csv", g->o.out, gen_table_names[t], g->rank);
        g->t[t].f = fopen(p, "w");
        if (!g->t[t].f) return PERR(e, PRECIS_EXIT_IO, "cannot write %s: %s", p, strerror(errno));
        setvbuf(g->t[t].f, NULL, _IOFBF, 1 << 20);
        fprintf(g->t[t].f, "%s\n", table_header[t]);
    }
    return 0;
}

static int close_tables(gen *g, precis_err *e)
{
    int rc = 0;
    for (int t = 0; t < GT_NTABLES; t++)
        if (g->t[t].f) {
            if (fclose(g->t[t].f) != 0 && rc == 0)
                rc = PERR(e, PRECIS_EXIT_IO, "writing %s part file failed: %s", gen_table_names[t], strerror(errno));
            g->t[t].f = NULL;
        }
    return rc;
}

static int write_key(gen *g, precis_err *e)
{
    if (g->rank != 0) return 0;
    char p[4096];
    snprintf(p, sizeof p, "%s/pii.key", g->o.out);
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return PERR(e, PRECIS_EXIT_IO, "cannot create %s: %s", p, strerror(errno));
    gsl_rng *r = rng_new(g->seed, 0, P_KEY);
    char hex[66];
    for (int k = 0; k < 4; k++) snprintf(hex + 16 * k, 17, "%016llx", (unsigned long long)rng_u64(r));
    hex[64] = '\n';
    gsl_rng_free(r);
    int ok = write(fd, hex, 65) == 65;
    ok = (close(fd) == 0) && ok;
    return ok ? 0 : PERR(e, PRECIS_EXIT_IO, "cannot write %s", p);
}

static int write_truth(gen *g, const opt_cmd *cmd, precis_err *e)
{
    char path[4096], *params = NULL;
    h5io_file *f = NULL;
    int64_t off, cnt;
    int C = g->C, W = g->W;
    snprintf(path, sizeof path, "%s/truth.h5", g->o.out);
    h5io_even_block(g->o.customers, g->rank, g->size, &off, &cnt);
    char **ids = malloc(sizeof(char *) * (size_t)(cnt ? cnt : 1));
    int32_t *seg = malloc(sizeof(int32_t) * (size_t)(cnt ? cnt : 1));
    int8_t *guest = malloc((size_t)(cnt ? cnt : 1));
    double *u = malloc(sizeof(double) * LATENT * (size_t)(cnt ? cnt : 1));
    double *mrev = malloc(sizeof(double) * (size_t)C * W);
    CHECK(ids && seg && guest && u && mrev, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t k = 0; k < cnt; k++) {
        cust c;
        cust_profile(g, off + k, &c);
        ids[k] = malloc(16);
        CHECK(ids[k], e, PRECIS_EXIT_INTERNAL, "out of memory");
        snprintf(ids[k], 16, "CU%08lld", (long long)(off + k));
        seg[k] = c.seg;
        guest[k] = (int8_t)c.guest;
        memcpy(u + k * LATENT, c.u, sizeof c.u);
    }
    if (reduce_allreduce(g->comm, g->media_rev, (int64_t)C * W, mrev,
                         "realised media revenue", e))
        goto fail;
    int64_t defects[GT_NTABLES][GD_NKINDS][MAXF + 1];
    MPI_CHECK(MPI_Allreduce(g->defects, defects, GT_NTABLES * GD_NKINDS * (MAXF + 1), MPI_INT64_T, MPI_SUM, g->comm), e);
    int64_t expn[4][2], expc[4][2], rows[GT_NTABLES], myrows[GT_NTABLES];
    MPI_CHECK(MPI_Allreduce(g->exp_n, expn, 8, MPI_INT64_T, MPI_SUM, g->comm), e);
    MPI_CHECK(MPI_Allreduce(g->exp_conv, expc, 8, MPI_INT64_T, MPI_SUM, g->comm), e);
    for (int t = 0; t < GT_NTABLES; t++) myrows[t] = g->t[t].rows;
    MPI_CHECK(MPI_Allreduce(myrows, rows, GT_NTABLES, MPI_INT64_T, MPI_SUM, g->comm), e);

    TRY(h5io_create(g->comm, path, &f, e));
    params = opts_to_json(cmd);
    CHECK(params, e, PRECIS_EXIT_INTERNAL, "out of memory");
    TRY(h5io_set_provenance(f, "gen", params, "[]", "", e));
    TRY(h5io_write_strings(f, "/customers/customer_id", (const char *const *)ids, cnt, e));
    TRY(h5io_write_col(f, "/customers/segment", H5T_NATIVE_INT32, seg, cnt, e));
    TRY(h5io_write_col(f, "/customers/guest", H5T_NATIVE_INT8, guest, cnt, e));
    const char *ucols[LATENT] = {"u0", "u1", "u2", "u3"};
    TRY(h5io_write_mat(f, "/customers/latent", H5T_NATIVE_DOUBLE, u, cnt, LATENT, ucols, e));
    int me0 = g->rank == 0;
    const char *segnames[8];
    double segv[8][4];
    for (int k = 0; k < g->K; k++) {
        segnames[k] = g->segs[k].name;
        segv[k][0] = g->segs[k].weight;
        segv[k][1] = g->segs[k].orders_per_year;
        segv[k][2] = g->segs[k].price_mult;
        segv[k][3] = g->segs[k].churn_prob;
    }
    const char *scols[4] = {"weight", "orders_per_year", "price_mult", "churn_prob"};
    TRY(h5io_write_strings(f, "/segments/name", segnames, me0 ? g->K : 0, e));
    TRY(h5io_write_mat(f, "/segments/profile", H5T_NATIVE_DOUBLE, segv, me0 ? g->K : 0, 4, scols, e));
    TRY(h5io_write_mat(f, "/segments/center", H5T_NATIVE_DOUBLE, g->seg_u, me0 ? g->K : 0, LATENT, ucols, e));
    TRY(h5io_write_mat(f, "/items/latent", H5T_NATIVE_DOUBLE, g->item_v, me0 ? g->o.items : 0, LATENT, ucols, e));
    TRY(h5io_write_col(f, "/items/price", H5T_NATIVE_DOUBLE, g->item_price, me0 ? g->o.items : 0, e));
    TRY(h5io_write_col(f, "/items/category", H5T_NATIVE_INT32, g->item_cat, me0 ? g->o.items : 0, e));
    const char *cn[8];
    double chv[8][6];
    for (int c = 0; c < C; c++) {
        cn[c] = channel_names[c];
        chv[c][0] = g->theta[c];
        chv[c][1] = g->hillK[c];
        chv[c][2] = g->hillS[c];
        chv[c][3] = g->beta[c];
        chv[c][4] = g->eff[c];
        chv[c][5] = g->pref[c];
    }
    const char *ccols[6] = {"adstock_theta", "hill_K", "hill_S", "beta", "conversion_effect", "organic_preference"};
    TRY(h5io_write_strings(f, "/channels/name", cn, me0 ? C : 0, e));
    TRY(h5io_write_mat(f, "/channels/params", H5T_NATIVE_DOUBLE, chv, me0 ? C : 0, 6, ccols, e));
    TRY(h5io_write_mat(f, "/media/spend", H5T_NATIVE_DOUBLE, g->spend, me0 ? C : 0, W, NULL, e));
    TRY(h5io_write_mat(f, "/media/expected_revenue", H5T_NATIVE_DOUBLE, g->resp, me0 ? C : 0, W, NULL, e));
    TRY(h5io_write_mat(f, "/media/realised_revenue", H5T_NATIVE_DOUBLE, mrev, me0 ? C : 0, W, NULL, e));
    {
        const char *en[4];
        char enb[4][16];
        double ev[4][5];
        for (int x = 0; x < g->E; x++) {
            snprintf(enb[x], 16, "EXP-%d", x + 1);
            en[x] = enb[x];
            ev[x][0] = exp_lift[x % 4];
            ev[x][1] = (double)expn[x][1];
            ev[x][2] = (double)expn[x][0];
            ev[x][3] = (double)expc[x][1];
            ev[x][4] = (double)expc[x][0];
        }
        const char *ecols[5] = {"true_lift", "n_treatment", "n_control", "conv_treatment", "conv_control"};
        TRY(h5io_write_strings(f, "/experiments/campaign", en, me0 ? g->E : 0, e));
        TRY(h5io_write_mat(f, "/experiments/stats", H5T_NATIVE_DOUBLE, ev, me0 ? g->E : 0, 5, ecols, e));
    }
    {
        /* defect records: one row per (table, kind, field) with a nonzero count */
        int n = 0;
        const char *dt[GT_NTABLES * GD_NKINDS * (MAXF + 1)], *dk[GT_NTABLES * GD_NKINDS * (MAXF + 1)];
        int32_t dfld[GT_NTABLES * GD_NKINDS * (MAXF + 1)];
        int64_t dc[GT_NTABLES * GD_NKINDS * (MAXF + 1)];
        for (int t = 0; t < GT_NTABLES; t++)
            for (int k = 1; k < GD_NKINDS; k++)
                for (int x = 0; x <= MAXF; x++)
                    if (defects[t][k][x]) {
                        dt[n] = gen_table_names[t];
                        dk[n] = gen_defect_names[k];
                        dfld[n] = x == MAXF ? -1 : x;
                        dc[n++] = defects[t][k][x];
                    }
        TRY(h5io_write_strings(f, "/defects/table", dt, me0 ? n : 0, e));
        TRY(h5io_write_strings(f, "/defects/kind", dk, me0 ? n : 0, e));
        TRY(h5io_write_col(f, "/defects/field", H5T_NATIVE_INT32, dfld, me0 ? n : 0, e));
        TRY(h5io_write_col(f, "/defects/count", H5T_NATIVE_INT64, dc, me0 ? n : 0, e));
        const char *tn[GT_NTABLES];
        for (int t = 0; t < GT_NTABLES; t++) tn[t] = gen_table_names[t];
        TRY(h5io_write_strings(f, "/tables/name", tn, me0 ? GT_NTABLES : 0, e));
        TRY(h5io_write_col(f, "/tables/rows", H5T_NATIVE_INT64, rows, me0 ? GT_NTABLES : 0, e));
        for (int t = 0; t < GT_NTABLES; t++) {
            int64_t tot = 0;
            for (int k = 1; k < GD_NKINDS; k++)
                for (int x = 0; x <= MAXF; x++) tot += defects[t][k][x];
            LOG_INFO("%-12s %10lld rows, %8lld with a planted defect", gen_table_names[t], (long long)rows[t], (long long)tot);
        }
    }
    TRY(h5io_attr_set_i64(f, "/", "t0", g->t0, e));
    TRY(h5io_attr_set_i64(f, "/", "weeks", W, e));
    TRY(h5io_attr_set_f64(f, "/", "dirty", g->o.dirty, e));
    int rc = h5io_commit(f, e);
    f = NULL;
    if (rc) goto fail;
    for (int64_t k = 0; k < cnt; k++) free(ids[k]);
    free(ids); free(seg); free(guest); free(u); free(mrev); free(params);
    return 0;
fail:
    if (f) h5io_abort(f);
    if (ids) for (int64_t k = 0; k < cnt; k++) free(ids[k]);
    free(ids); free(seg); free(guest); free(u); free(mrev); free(params);
    return -1;
}

static int parse_start(const char *s, int64_t *t0)
{
    long long y;
    int m, d;
    if (sscanf(s, "%lld-%d-%d", &y, &m, &d) != 3 || !tu_valid_date(y, m, d)) return -1;
    *t0 = tu_days_from_civil(y, m, d) * DAY;
    return 0;
}

int gen_run(int argc, char **argv, MPI_Comm comm)
{
    gen *g = calloc(1, sizeof *g);
    precis_err err, *e = &err;
    perr_clear(e);
    if (!g) return PRECIS_EXIT_INTERNAL;
    gen_opts *o = &g->o;
    const opt_spec specs[] = {
        {"out", OPT_STR, &o->out, NULL, "output directory (created if missing)", 0, 0, NULL},
        {"customers", OPT_INT, &o->customers, "5000", "number of customers", 1, 4e12, NULL},
        {"items", OPT_INT, &o->items, "500", "number of items", 1, 1e7, NULL},
        {"item-affinity", OPT_DOUBLE, &o->affinity, "0", "> 0: sharp personal item preferences, P(item) ~ exp(A cos(u, v)); 0: P(item) ~ exp(u.v)", 0, 100, NULL},
        {"channels", OPT_INT, &o->channels, "6", "number of marketing channels", 1, 8, NULL},
        {"weeks", OPT_INT, &o->weeks, "52", "weeks of history", 8, 520, NULL},
        {"segments", OPT_INT, &o->segments, "5", "behaviour segments planted", 2, 8, NULL},
        {"separated-segments", OPT_FLAG, &o->separated, NULL, "plant up to 4 segments far apart in RFM space (x4 orders and x2.5 spend per step, no churn)", 0, 0, NULL},
        {"experiments", OPT_INT, &o->experiments, "3", "A/B experiments planted", 0, 4, NULL},
        {"dirty", OPT_DOUBLE, &o->dirty, "0", "probability that a row gets one defect", 0, 0.5, NULL},
        {"start", OPT_STR, &o->start, "2025-01-06", "first week (YYYY-MM-DD, UTC)", 0, 0, NULL},
        OPTS_COMMON_SPECS(&o->c),
    };
    const opt_cmd cmd = {"precis-gen", "Write synthetic marketing exports with planted truth (CSV part files, truth.h5, pii.key).",
                         "mpirun -np 4 precis-gen --customers 20000 --seed 7 --dirty 0.02 --out data/",
                         specs, (int)(sizeof specs / sizeof specs[0])};
    int rc = job_start(&cmd, &o->c, argc, argv, comm, "precis-gen", e);
    if (rc == 1) { opts_free(&cmd); free(g); return 0; }
    if (rc < 0) goto done;
    g->comm = comm;
    MPI_Comm_rank(comm, &g->rank);
    MPI_Comm_size(comm, &g->size);
    if (!o->out) { PERR(e, PRECIS_EXIT_USAGE, "option --out DIR is required"); goto done; }
    if (parse_start(o->start, &g->t0)) { PERR(e, PRECIS_EXIT_USAGE, "option --start: '%s' is not a YYYY-MM-DD date", o->start); goto done; }
    g->seed = (uint64_t)o->c.seed;
    g->K = (int)o->segments;
    g->segs = o->separated ? sep_table : seg_table;
    if (o->separated && g->K > 4) {
        PERR(e, PRECIS_EXIT_USAGE, "--separated-segments plants at most 4 segments (--segments %d)", g->K);
        goto done;
    }
    g->C = (int)o->channels;
    g->W = (int)o->weeks;
    g->E = (int)o->experiments;
    g->horizon = (int64_t)g->W * WEEK;
    if (g->rank == 0 && mkdir(o->out, 0755) != 0 && errno != EEXIST)
        PERR(e, PRECIS_EXIT_IO, "cannot create %s: %s", o->out, strerror(errno));
    if (precis_agree(comm, e)) goto done;
    g->r = gsl_rng_alloc(rng_philox);
    g->rd = gsl_rng_alloc(rng_philox);
    if (!g->r || !g->rd) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    else if (world_init(g, e) == 0 && clean_old_parts(g, e) == 0 && write_key(g, e) == 0) { }
    if (precis_agree(comm, e)) goto done;
    for (int k = 0; k < g->C * g->W; k++) racc_init(&g->media_rev[k]);
    if (open_tables(g, e) == 0) {
        int64_t off, cnt;
        h5io_even_block(o->customers, g->rank, g->size, &off, &cnt);
        log_progress p;
        log_progress_start(&p, "generate customers", cnt);
        for (int64_t k = 0; k < cnt; k++) {
            gen_customer(g, off + k);
            if ((k & 4095) == 0) log_progress_update(&p, k);
        }
        log_progress_end(&p, cnt);
        gen_spend_rows(g);
    }
    close_tables(g, e);
    if (precis_agree(comm, e)) goto done;
    if (write_truth(g, &cmd, e) == 0)
        LOG_INFO("wrote %lld customers to %s (seed %lld, dirty %.3f)", (long long)o->customers, o->out,
                 (long long)o->c.seed, o->dirty);
    precis_agree(comm, e);
done:
    rc = job_exit(comm, e);
    if (g->r) gsl_rng_free(g->r);
    if (g->rd) gsl_rng_free(g->rd);
    free(g->item_v); free(g->item_price); free(g->item_cat); free(g->spend); free(g->resp);
    free(g->media_cum); free(g->media_rev); free(g->cum_item);
    opts_free(&cmd);
    free(g);
    return rc;
}
