/* clean.c - precis-clean: raw CSV exports -> clean.h5, quarantine, quality report.
 *
 * DESIGN
 * Phases (every rank, collective agreement before each):
 *  1. per table: expand inputs, open them with common/csv (byte ranges), map
 *     headers to canonical columns (--map), vote on each date column's format
 *     over all ranks (pass 1), then parse every record into a fixed-size
 *     `crow` (pass 2): ids become HMAC keys/tokens, categories local string
 *     ids, numbers doubles. A bad record gets a reject reason and a
 *     quarantine line (source, line, offset, reason, keyed line hash, the
 *     parseable fields with identifiers tokenised) - never its raw text.
 *  2. categorical dictionaries are made global (sorted union: P-independent
 *     codes) and local ids remapped.
 *  3. keyed tables are shuffled to the owners of their hash slots and sorted
 *     by (slot, customer_key, customer_key_lo, ts, source position); spend is
 *     gathered and sorted by (week_start, channel, campaign).
 *  4. duplicates (order id per customer, exact canonical rows, one customers
 *     row per key), order-id conflicts across customers (second shuffle on the
 *     order key), orphans, outliers (exact global quantiles), imputation.
 *  5. quarantine CSVs, quality.json and, when the reject rate is within
 *     --max-reject-rate, clean.h5 (written to .tmp and renamed).
 * Source position = (file index << 40) | byte offset: the same at any P, so
 * every tie-break and therefore every output byte is P-invariant.
 */
#include "clean.h"
#include "check.h"
#include "ckpt.h"
#include "csv.h"
#include "datefmt.h"
#include "h5io.h"
#include "hugemem.h"
#include "inputs.h"
#include "job.h"
#include "log.h"
#include "numparse.h"
#include "opts.h"
#include "na.h"
#include "pii.h"
#include "quantile.h"
#include "reduce.h"
#include "rsort.h"
#include "shuffle.h"
#include "slots.h"
#include "spool.h"
#include "strdict.h"
#include "textout.h"
#include "timeutil.h"

#include <errno.h>
#include <iconv.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------ schema */

typedef enum { F_ID, F_PHONE, F_EMAIL, F_DROP, F_TS, F_BIRTH, F_NUM, F_CAT, F_ORDER } ftype;
enum { D_ITEM, D_CATEGORY, D_CHANNEL, D_CAMPAIGN, D_GENDER, D_CITY, D_EVENT, D_GROUP, D_N };
static const char *const dict_names[D_N] = {"item", "category", "channel", "campaign", "gender", "city", "event", "group"};
enum { T_CUST, T_TRANS, T_TOUCH, T_SPEND, T_EXP, T_N };

typedef struct fdef {
    const char *name; /* canonical input column */
    ftype type;
    int req;
    int idx;          /* slot in num[] / cat[] / tok[] / date index */
    int dict;         /* for F_CAT */
    const char *out;  /* output column name */
} fdef;

typedef struct tdef {
    const char *name;
    int keyed, nf;
    fdef f[10];
} tdef;

static const tdef TD[T_N] = {
    [T_CUST] = {"customers", 1, 8, {
        {"customer_id", F_ID, 1, 0, -1, "customer_key"}, {"name", F_DROP, 0, 0, -1, NULL},
        {"phone", F_PHONE, 0, 0, -1, "phone_token"}, {"email", F_EMAIL, 0, 1, -1, "email_token"},
        {"gender", F_CAT, 0, 0, D_GENDER, "gender"}, {"birth_date", F_BIRTH, 0, 1, -1, "birth_year"},
        {"city", F_CAT, 0, 1, D_CITY, "city"}, {"signup_ts", F_TS, 0, 0, -1, "signup_ts"}}},
    [T_TRANS] = {"transactions", 1, 10, {
        {"order_id", F_ORDER, 0, 0, -1, "order_key"}, {"customer_id", F_ID, 1, 0, -1, "customer_key"},
        {"item_id", F_CAT, 0, 0, D_ITEM, "item"}, {"category", F_CAT, 0, 1, D_CATEGORY, "category"},
        {"quantity", F_NUM, 0, 0, -1, "quantity"}, {"unit_price", F_NUM, 0, 1, -1, "unit_price"},
        {"amount", F_NUM, 1, 2, -1, "amount"}, {"ts", F_TS, 1, 0, -1, "ts"},
        {"channel", F_CAT, 0, 2, D_CHANNEL, "channel"}, {"campaign_id", F_CAT, 0, 3, D_CAMPAIGN, "campaign"}}},
    [T_TOUCH] = {"touchpoints", 1, 6, {
        {"customer_id", F_ID, 1, 0, -1, "customer_key"}, {"ts", F_TS, 1, 0, -1, "ts"},
        {"channel", F_CAT, 0, 0, D_CHANNEL, "channel"}, {"campaign_id", F_CAT, 0, 1, D_CAMPAIGN, "campaign"},
        {"event", F_CAT, 0, 2, D_EVENT, "event"}, {"cost", F_NUM, 0, 0, -1, "cost"}}},
    [T_SPEND] = {"spend", 0, 4, {
        {"week_start", F_TS, 1, 0, -1, "week_start"}, {"channel", F_CAT, 1, 0, D_CHANNEL, "channel"},
        {"campaign_id", F_CAT, 0, 1, D_CAMPAIGN, "campaign"}, {"spend", F_NUM, 1, 0, -1, "spend"}}},
    [T_EXP] = {"experiments", 1, 3, {
        {"customer_id", F_ID, 1, 0, -1, "customer_key"}, {"campaign_id", F_CAT, 1, 0, D_CAMPAIGN, "campaign"},
        {"group", F_CAT, 1, 1, D_GROUP, "group"}}},
};

enum {
    R_OK = 0, R_FIELD_COUNT, R_BAD_QUOTE, R_OPEN_QUOTE, R_FIELD_TOO_LONG, R_BAD_UTF8, R_NUL_BYTE, R_MISSING_REQUIRED,
    R_INVALID_NUMBER, R_NAN_INF, R_OUT_OF_RANGE, R_INVALID_DATE, R_DATE_RANGE, R_BAD_VALUE, R_REFUND,
    R_ORDER_CONFLICT, R_BAD_ENCODING, R_N
};
static const char *const reason_names[R_N] = {
    "ok", "field_count", "bad_quote", "open_quote", "field_too_long", "bad_utf8", "nul_byte", "missing_required",
    "invalid_number", "nan_inf", "out_of_range", "invalid_date", "date_range", "bad_value", "refund",
    "order_conflict", "bad_encoding"};

enum { FL_IMPUTED = 1, FL_OUTLIER = 2, FL_REFUND = 4 };
enum { ST_KEEP = 0, ST_DUP, ST_REPEAT, ST_DROPPED, ST_REJECTED };

#define TS_MISSING INT64_MIN
#define TS_MIN (-2208988800LL) /* 1900-01-01 */
#define TS_MAX (4102444800LL)  /* 2100-01-01 */
#define AMOUNT_MAX 1e12
#define SRC(file, off) (((int64_t)(file) << 40) | (int64_t)(off)) /* < 2^23 files of < 1 TiB (find_inputs) */
#define SRC_FILE(src) ((int)((src) >> 40))
#define SRC_OFF(src) ((src) & ((INT64_C(1) << 40) - 1))

/* One parsed row, 88 bytes (every phase streams the rows, so their width
 * is what most phases cost). The canonical part (up to `missing`) is
 * compared bytewise for exact duplicates, so rows are zeroed before filling.
 * A table has either numbers (transactions, touchpoints, spend) or tokens
 * (customers), so the two share their slots; customers' birth_year takes a
 * code slot they leave free (BIRTH_CAT). What only parsing needs (the
 * fields parsed, the raw record's length) is not kept: a row rejected
 * later finds its raw record again from `src`. The line number takes 40
 * bits (line_hi, line_lo): a record's line is at most its byte offset + 1,
 * and offsets are below 2^40 (find_inputs refuses larger files). */
typedef struct crow {
    uint64_t key, key_lo, order_key;
    union {
        double num[3];
        uint64_t tok[3];
    };
    int64_t ts;
    int32_t cat[4];
    /* not canonical: */
    uint16_t missing; /* bit per canonical field: value was missing (or invalid) */
    uint8_t flags : 4, state : 4;   /* FL_* bits; ST_* */
    uint8_t line_hi;
    uint32_t line_lo;
    int64_t src;      /* file << 40 | byte offset of the raw record */
} crow;
#define CANON_BYTES offsetof(crow, missing)
#define BIRTH_CAT 3   /* cat[] slot of customers' birth_year (0 = missing) */
_Static_assert(sizeof(crow) == 88, "crow is meant to stay 88 bytes");
static inline int64_t row_line(const crow *r) { return (int64_t)r->line_hi << 32 | (int64_t)r->line_lo; }
static inline void set_row_line(crow *r, int64_t line)
{
    r->line_hi = (uint8_t)(line >> 32);
    r->line_lo = (uint32_t)line;
}
#define ALL_PARSED 0xffffu

typedef struct colstat {
    int64_t missing, invalid, imputed, outliers;
    int64_t tz_gap, tz_fold;   /* local times clocks skipped, or repeated (tz.h) */
} colstat;

typedef struct table {
    int present, has_order;
    inputs_list files;
    spool sp;             /* decompressed copies of its compressed inputs */
    int fmt[2];           /* chosen date format per date index */
    int have_col[10];     /* column present in the input */
    crow *rows;           /* after the shuffle: this rank's rows */
    int64_t n, cap;
    crow **bk;            /* before: parsed rows per destination rank */
    int64_t *bn, *bcap;
    int64_t rows_in, rejected[R_N], dups, dups_differ, repeats, dropped, orphans, refunds;
    int64_t blank;        /* input lines with nothing on them (not rows) */
    colstat col[10];
    double lo_bound[3], hi_bound[3], impute_value[3];
    int has_bounds[3];
    textbuf quar;         /* quarantine lines, input order */
    textbuf late;         /* late quarantine lines (conflicts), "src\tline" */
} table;

typedef struct clean_opts {
    char *in, *out, *key, *quarantine, *tz, *region, *refunds, *outliers, *impute, *delimiter, *decimal, *thousands, *encoding, *spool, *na;
    char *customers_keep;
    char *path[T_N];
    char delim, dec, thou;   /* --delimiter, --decimal and --thousands (0: none), read */
    double max_reject;
    int64_t slots;
    int dedup_exact;
    opt_list map, date_format, na_for, enc_for;
    opt_common c;
} clean_opts;

/* Recently seen customer ids and their keys (direct-mapped, in memory
 * only): an export repeats each customer's id on every order, and the HMAC
 * is the costliest step of parsing. The table is looked up only for an id
 * that differs from the row before's. It has 2^IDC_BITS entries of 64 bytes
 * (256 KiB), small enough to stay in a core's L2 cache: with a 4 MiB table,
 * an export ordered by date (ids in no order) missed the cache on nearly
 * every look-up, ~115 ns each, more than the HMAC a hit saves, and parsed
 * half again as slowly. In an export grouped by customer the id that
 * differs is new, so the look-up misses; a rank keeps score over windows of
 * IDC_WINDOW look-ups, and a window with fewer than 1 hit in 64 sends the
 * next IDC_SKIP windows straight to the HMAC (the last id kept in idc_one),
 * then a window looks again. The keys are the same either way. */
#define IDC_BITS 12
#define IDC_LEN 47
#define IDC_WINDOW 4096
#define IDC_SKIP 15
typedef struct idc_entry {
    uint64_t key, key_lo;
    uint8_t len;   /* 0: empty */
    char id[IDC_LEN];
} idc_entry;

typedef struct ctx {
    MPI_Comm comm;
    int rank, size;
    clean_opts o;
    na_set na;      /* --na-values */
    na_set na_col[T_N][10];       /* --na-values-for table.column=LIST */
    const char *enc_of[T_N];      /* per table: --encoding-for's encoding, or --encoding */
    const na_set *na_of[T_N][10]; /* the list each column reads: its own, else na */
    pii_key key;
    char fp[17];
    tz_zone tz;
    int dfmt[T_N][2];     /* per table and date index: -1 (vote), a DF_ format, or DF_CUSTOM (dspec) */
    datefmt_spec dspec[T_N][2];
    char date_hint[T_N][2][640]; /* per table and date index: the vote's warning of values no format parses, or "" */
    strdict dict[D_N];
    int32_t *dmap[D_N];
    table t[T_N];
    idc_entry *idc;   /* 2^IDC_BITS entries, or NULL */
    idc_entry *idc_last; /* the entry of the last id looked up, or NULL */
    idc_entry idc_one;   /* the last id, while the table is skipped */
    int64_t idc_n, idc_hits;   /* look-ups and hits in this window */
    int idc_skip;        /* windows left that skip the table */
    FILE *late_fp;        /* the input file of the last late reject, open (NULL when a spool file) */
    int late_fd;          /* its descriptor */
    int64_t late_size;
    int late_file;        /* its index, -1 for none */
    char *late_buf;       /* the record read again (raw: wiped when freed) */
    size_t late_cap;
    /* order ids of kept rows wait here for one AES call per OB_N
     * (pii_order_finish), with where their rows went */
    unsigned char (*ob_blk)[16];
    int32_t *ob_dest;
    int64_t *ob_idx;
    uint64_t *ob_tok;
    int ob_n, ob_pending; /* ob_pending: the row just parsed has its id in ob_blk[ob_n] */
} ctx;
#define OB_N 1024

static void late_close(ctx *c)
{
    if (c->late_fp) fclose(c->late_fp);
    c->late_fp = NULL;
    c->late_fd = -1;
    c->late_size = 0;
    c->late_file = -1;
    if (c->late_buf) explicit_bzero(c->late_buf, c->late_cap);
}

static int customer_key_cached(ctx *c, const char *v, size_t l, uint64_t *key, uint64_t *key_lo)
{
    idc_entry *en = c->idc_last;
    if (en && en->len == l && memcmp(en->id, v, l) == 0) { /* the row before's customer (exports group by customer) */
        *key = en->key;
        *key_lo = en->key_lo;
        return 0;
    }
    en = NULL;
    if (c->idc && l > 0 && l <= IDC_LEN) {
        if (++c->idc_n == IDC_WINDOW) {
            if (c->idc_skip > 0) c->idc_skip--;
            else if (c->idc_hits < IDC_WINDOW / 64) c->idc_skip = IDC_SKIP;
            c->idc_n = c->idc_hits = 0;
        }
        if (c->idc_skip) {
            en = &c->idc_one;
        } else {
            en = &c->idc[strdict_hash(v, l) >> (64 - IDC_BITS)];
            if (en->len == l && memcmp(en->id, v, l) == 0) {
                *key = en->key;
                *key_lo = en->key_lo;
                c->idc_last = en;
                c->idc_hits++;
                return 0;
            }
        }
    }
    if (pii_customer_key(&c->key, v, l, key, key_lo)) return -1;
    if (en) {
        en->len = (uint8_t)l;
        memcpy(en->id, v, l);
        en->key = *key;
        en->key_lo = *key_lo;
    }
    c->idc_last = en;
    return 0;
}

/* ------------------------------------------------------------ parsing */

/* Parsed rows wait in one array per destination rank (the slot owner), so
 * the shuffle can give back each array's pages as it sends them. */
static int push_row(table *t, const crow *r, int dest)
{
    if (t->bn[dest] == t->bcap[dest]) {
        int64_t c = t->bcap[dest] ? t->bcap[dest] * 2 : 4096;
        crow *nr = hugemem_realloc(t->bk[dest], sizeof(crow) * (size_t)c);
        if (!nr) return -1;
        t->bk[dest] = nr;
        t->bcap[dest] = c;
    }
    t->bk[dest][t->bn[dest]++] = *r;
    t->n++;
    return 0;
}

static void free_buckets(table *t, int size)
{
    for (int q = 0; t->bk && q < size; q++) hugemem_free(t->bk[q]);
    free(t->bk); free(t->bn); free(t->bcap);
    t->bk = NULL;
    t->bn = t->bcap = NULL;
}

static inline int blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Spaces and tabs around a field. Most fields have none: one look at each
 * end decides. */
static inline void trim(const char **v, size_t *l)
{
    const char *s = *v;
    size_t n = *l;
    if (n == 0 || ((unsigned char)s[0] > ' ' && (unsigned char)s[n - 1] > ' ')) return;
    while (n && blank(*s)) s++, n--;
    while (n && blank(s[n - 1])) n--;
    *v = s;
    *l = n;
}

/* A number field (common/numparse), as a reason code. */
static inline int parse_num(const char *v, size_t l, char dec, char thou, double *out)
{
    static const int reason[] = {[NUM_OK] = R_OK, [NUM_INVALID] = R_INVALID_NUMBER, [NUM_NAN_INF] = R_NAN_INF,
                                 [NUM_OUT_OF_RANGE] = R_OUT_OF_RANGE};
    return reason[num_parse(v, l, dec, thou, AMOUNT_MAX, out)];
}

static int status_reason(int st)
{
    switch (st) {
    case CSV_FIELD_COUNT: return R_FIELD_COUNT;
    case CSV_BAD_QUOTE: return R_BAD_QUOTE;
    case CSV_OPEN_QUOTE: return R_OPEN_QUOTE;
    case CSV_FIELD_TOO_LONG: return R_FIELD_TOO_LONG;
    case CSV_BAD_UTF8: return R_BAD_UTF8;
    case CSV_NUL_BYTE: return R_NUL_BYTE;
    case CSV_BAD_ENCODING: return R_BAD_ENCODING;
    default: return R_OK;
    }
}

static void quar_header(int ti, textbuf *b)
{
    textbuf_printf(b, "source_file,line,byte_offset,reason,field,line_hash");
    for (int k = 0; k < TD[ti].nf; k++) {
        const fdef *f = &TD[ti].f[k];
        if (f->type == F_DROP) continue;
        if (f->type == F_ID) textbuf_printf(b, ",customer_key,customer_key_lo");
        else textbuf_printf(b, ",%s", f->out);
    }
    textbuf_put(b, "\n", 1);
}

/* One quarantine line. parsed: bit per canonical field to print (0: none,
 * ALL_PARSED for a row rejected after parsing); global: cat holds global
 * codes (else local ids). Raw values are never printed. */
static int quar_line(ctx *c, int ti, textbuf *b, const char *path, const crow *r, int64_t off, uint64_t line_hash,
                     int reason, int field, unsigned parsed, int global)
{
    const tdef *td = &TD[ti];
    int rc = textbuf_csv_field(b, path, strlen(path), 1);
    rc |= textbuf_printf(b, ",%lld,%lld,%s,%s,%016llx", (long long)row_line(r), (long long)off, reason_names[reason],
                         field >= 0 ? td->f[field].name : "", (unsigned long long)line_hash);
    for (int k = 0; k < td->nf; k++) {
        const fdef *f = &td->f[k];
        int has = (parsed & (1u << k)) && !(r->missing & (1u << k)) && c->t[ti].have_col[k];
        switch (f->type) {
        case F_DROP: continue;
        case F_ID:
            if (has && r->key) rc |= textbuf_printf(b, ",%llu,%llu", (unsigned long long)r->key, (unsigned long long)r->key_lo);
            else rc |= textbuf_put(b, ",,", 2);
            break;
        case F_ORDER: rc |= has && r->order_key ? textbuf_printf(b, ",%llu", (unsigned long long)r->order_key) : textbuf_put(b, ",", 1); break;
        case F_PHONE:
        case F_EMAIL: rc |= has && r->tok[f->idx] ? textbuf_printf(b, ",%llu", (unsigned long long)r->tok[f->idx]) : textbuf_put(b, ",", 1); break;
        case F_TS: rc |= has && r->ts != TS_MISSING ? textbuf_printf(b, ",%lld", (long long)r->ts) : textbuf_put(b, ",", 1); break;
        case F_BIRTH: rc |= has && r->cat[BIRTH_CAT] ? textbuf_printf(b, ",%d", r->cat[BIRTH_CAT]) : textbuf_put(b, ",", 1); break;
        case F_NUM: rc |= has ? textbuf_printf(b, ",%.17g", r->num[f->idx]) : textbuf_put(b, ",", 1); break;
        case F_CAT:
            if (has && r->cat[f->idx] >= 0) {
                const strdict *d = &c->dict[f->dict];
                const char *s = global ? d->global[r->cat[f->idx]] : d->s[r->cat[f->idx]];
                rc |= textbuf_csv_field(b, s, strlen(s), 0);
            } else {
                rc |= textbuf_put(b, ",", 1);
            }
            break;
        }
    }
    rc |= textbuf_put(b, "\n", 1);
    return rc ? -1 : 0;
}

/* canonical field k of table ti -> column index in file fi's header, or -1 */
typedef struct colmap {
    int idx[10];
} colmap;

/* What follows "<table ti>.<column k>=" in s (an option's value), or NULL. */
static const char *column_value(const char *s, int ti, int k)
{
    size_t tl = strlen(TD[ti].name), cl = strlen(TD[ti].f[k].name);
    if (!strncmp(s, TD[ti].name, tl) && s[tl] == '.' && !strncmp(s + tl + 1, TD[ti].f[k].name, cl) && s[tl + 1 + cl] == '=')
        return s + tl + 2 + cl;
    return NULL;
}

/* What follows "<table ti>=" in s (an option's value), or NULL. */
static const char *table_value(const char *s, int ti)
{
    size_t tl = strlen(TD[ti].name);
    return !strncmp(s, TD[ti].name, tl) && s[tl] == '=' ? s + tl + 1 : NULL;
}

/* The one table.column s begins with ("<table>.<column>=...", as --map,
 * --date-format and --na-values-for give them): its value, with *ti and
 * *k set, or NULL when s names no known column. */
static const char *column_spec(const char *s, int *ti, int *k)
{
    for (*ti = 0; *ti < T_N; ++*ti)
        for (*k = 0; *k < TD[*ti].nf; ++*k) {
            const char *v = column_value(s, *ti, *k);
            if (v) return v;
        }
    return NULL;
}

/* The source column --map gives for table ti's column k, or NULL */
static const char *mapped_name(ctx *c, int ti, int k)
{
    for (int i = 0; i < c->o.map.n; i++) {
        const char *v = column_value(c->o.map.v[i], ti, k);
        if (v) return v;
    }
    return NULL;
}

static const char *source_name(ctx *c, int ti, int k)
{
    const char *v = mapped_name(c, ti, k);
    return v ? v : TD[ti].f[k].name;
}

/* Every --map names a known table and column and a source; one column
 * mapped twice must be mapped to one source. */
static int check_maps(ctx *c, precis_err *e)
{
    for (int i = 0; i < c->o.map.n; i++) {
        const char *m = c->o.map.v[i], *first;
        int ti, k;
        const char *v = column_spec(m, &ti, &k);
        if (!v || !*v)
            return PERR(e, PRECIS_EXIT_USAGE, "option --map: '%s' is not table.column=SourceColumn with a known table and column", m);
        if (strcmp(first = mapped_name(c, ti, k), v) != 0)
            return PERR(e, PRECIS_EXIT_USAGE, "option --map: %s.%s is mapped twice, to '%s' and to '%s'; give one",
                        TD[ti].name, TD[ti].f[k].name, first, v);
    }
    return 0;
}

static int map_headers(ctx *c, int ti, csv_reader *r, colmap *cm, precis_err *e)
{
    table *t = &c->t[ti];
    memset(t->have_col, 0, sizeof t->have_col);
    for (int fi = 0; fi < csv_nfiles(r); fi++) {
        int nh;
        const char *const *h;
        csv_header(r, fi, &nh, &h, NULL);
        if (nh == 0)
            return PERR(e, PRECIS_EXIT_DATA, "%s: the file is empty or holds only blank lines (no header row); give a CSV with a header",
                        csv_path(r, fi));
        long long hl = (long long)csv_header_line(r, fi);
        for (int k = 0; k < TD[ti].nf; k++) {
            /* names match without regard to case; of several that match,
             * the one spelled exactly as wanted, and no guess otherwise */
            const char *want = source_name(c, ti, k);
            int first = -1, second = -1, exact = -1, nexact = 0;
            for (int j = 0; j < nh; j++)
                if (strcasecmp(h[j], want) == 0) {
                    if (first < 0) first = j;
                    else if (second < 0) second = j;
                    if (strcmp(h[j], want) == 0) exact = j, nexact++;
                }
            if (second >= 0 && nexact != 1)
                return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header fields %d and %d are both named '%s', so which is %s.%s is ambiguous "
                            "(rename one in the export; where they differ in case, --map %s.%s=<exact name> picks one)",
                            csv_path(r, fi), hl, first + 1, second + 1, want, TD[ti].name, TD[ti].f[k].name, TD[ti].name, TD[ti].f[k].name);
            cm[fi].idx[k] = second >= 0 ? exact : first;
            if (cm[fi].idx[k] < 0 && TD[ti].f[k].req) {
                /* a header read as one field that holds another delimiter
                 * is most likely a file delimited by it */
                const char *other = nh == 1 ? strpbrk(h[0], ",;\t|") : NULL;
                char hint[128] = "";
                if (other && *other == '\t')
                    snprintf(hint, sizeof hint, "; the header is one field holding '\\t': give --delimiter tab");
                else if (other)
                    snprintf(hint, sizeof hint, "; the header is one field holding '%c': give --delimiter '%c'", *other, *other);
                return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: required column '%s' of %s is missing (rename it with --map %s.%s=<column>)%s",
                            csv_path(r, fi), hl, want, TD[ti].name, TD[ti].name, TD[ti].f[k].name, hint);
            }
            if (cm[fi].idx[k] < 0 && mapped_name(c, ti, k))
                return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: column '%s', which --map %s.%s=%s names, is not in the header",
                            csv_path(r, fi), hl, want, TD[ti].name, TD[ti].f[k].name, want);
            for (int q = 0; q < k; q++)
                if (cm[fi].idx[q] >= 0 && cm[fi].idx[q] == cm[fi].idx[k])
                    return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header field %d ('%s') would be read as both %s.%s and %s.%s; "
                                "--map one of them to another column", csv_path(r, fi), hl, cm[fi].idx[k] + 1, h[cm[fi].idx[k]],
                                TD[ti].name, TD[ti].f[q].name, TD[ti].name, TD[ti].f[k].name);
            if (cm[fi].idx[k] >= 0) t->have_col[k] = 1;
        }
    }
    t->has_order = ti == T_TRANS && t->have_col[0];
    return 0;
}

static int date_index(const fdef *f) { return f->type == F_TS ? 0 : f->type == F_BIRTH ? 1 : -1; }

/* A value of table ti's date column of index di, in format fmt (a format
 * the user gave is read as datefmt_parse_given reads it). */
static int parse_date(const ctx *c, int ti, int di, int fmt, const char *v, size_t l, int64_t *ts)
{
    if (fmt == DF_CUSTOM) return datefmt_parse_spec(&c->dspec[ti][di], v, l, &c->tz, ts);
    return c->dfmt[ti][di] >= 0 ? datefmt_parse_given(fmt, v, l, &c->tz, ts) : datefmt_parse(fmt, v, l, &c->tz, ts);
}

/* Date formats are exclusive (datefmt.h): a value parses in one format at
 * most. Without --date-format, every date value is parsed in the format it
 * has, and the counts per format are the vote. Where each date column's
 * values all have the winning format (or none), that pass is exactly a
 * pass in the winning format; otherwise the table is parsed again in it. */
typedef struct datehit {
    int fmt;      /* -1: empty, or no format parses it */
    int kind;     /* TZ_EXACT, TZ_GAP or TZ_FOLD */
    int64_t ts;
} datehit;

/* Past a date column's votes (votes[di][0..DF_N)), the shapes of its
 * values that no automatic format parses, counted for a hint that names a
 * --date-format pattern: numbers with the year last (day and month in
 * either order, told apart by a first or second number over 12), their
 * separator and time, and month names. */
enum {
    SH_UNPARSED = DF_N, SH_NUM4, SH_NUM2, SH_FIRST13, SH_SECOND13, SH_SLASH, SH_DOT, SH_DASH,
    SH_HM, SH_HMS, SH_AMPM, SH_NAMED, SH_COMPACT12, SH_COMPACT14, VOTE_N
};

/* Whether v[0..l), read as epoch milliseconds, is rather a compact local
 * date-time yyyymmddHHMM[SS] of 1900-2099: 12 or 14 digits whose parts
 * are a month, day, hour, minute (and second). */
static int compact_datetime(const char *v, size_t l)
{
    if (l != 12 && l != 14) return 0;
    int d[14];
    for (size_t i = 0; i < l; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        d[i] = v[i] - '0';
    }
    int cent = d[0] * 10 + d[1], mon = d[4] * 10 + d[5], day = d[6] * 10 + d[7], hh = d[8] * 10 + d[9], mi = d[10] * 10 + d[11];
    int ss = l == 14 ? d[12] * 10 + d[13] : 0;
    return (cent == 19 || cent == 20) && mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh < 24 && mi < 60 && ss < 60;
}

/* Count the shape of v[0..l), a value no automatic format parses, in s. */
static void date_shape(const char *v, size_t l, int64_t *s)
{
    size_t i = 0;
    int n[3] = {0, 0, 0};
    unsigned num[2] = {0, 0};
    char sep = 0;
    s[SH_UNPARSED]++;
    for (int part = 0; part < 3; part++) {
        while (i < l && v[i] >= '0' && v[i] <= '9' && n[part] < 5) {
            if (part < 2) num[part] = num[part] * 10 + (unsigned)(v[i] - '0');
            i++, n[part]++;
        }
        if (part == 2) break;
        if (n[part] < 1 || n[part] > 2 || i >= l || (part == 0 ? !strchr("/.-", v[i]) : v[i] != sep)) {
            n[2] = 0;
            break;
        }
        sep = v[i++];
    }
    if ((n[2] == 4 || n[2] == 2) && (i == l || v[i] == ' ' || v[i] == 'T')) {
        s[n[2] == 4 ? SH_NUM4 : SH_NUM2]++;
        s[SH_FIRST13] += num[0] > 12;
        s[SH_SECOND13] += num[1] > 12;
        s[sep == '/' ? SH_SLASH : sep == '.' ? SH_DOT : SH_DASH]++;
        int colons = 0;
        for (size_t j = i; j < l; j++) colons += v[j] == ':';
        if (colons) s[colons == 1 ? SH_HM : SH_HMS]++;
        if (l - i >= 2 && (v[l - 1] == 'M' || v[l - 1] == 'm') && strchr("AaPp", v[l - 2])) s[SH_AMPM]++;
        return;
    }
    s[SH_NAMED] += datefmt_names_month(v, l);
}

/* dk[0..nd): the table's date fields, dix[q] the date index of dk[q]. A
 * column with a --date-format is parsed in it and does not vote. */
static void detect_dates(ctx *c, int ti, const int *dk, const int *dix, int nd, const csv_record *rec, const colmap *cm,
                         datehit *hit, int64_t votes[2][VOTE_N], int hint[2])
{
    for (int q = 0; q < nd; q++) {
        int k = dk[q], di = dix[q], col = cm[rec->file].idx[k];
        hit[k].fmt = -1;
        hit[k].ts = 0;
        if (col < 0 || col >= rec->nfields) continue;
        const char *v = rec->f[col];
        size_t l = rec->flen[col];
        trim(&v, &l);
        if (na_is(c->na_of[ti][k], v, l)) l = 0; /* NULL ...: missing, no vote */
        if (c->dfmt[ti][di] >= 0) {
            if (l && (hit[k].kind = parse_date(c, ti, di, c->dfmt[ti][di], v, l, &hit[k].ts)) >= 0) hit[k].fmt = c->dfmt[ti][di];
            continue;
        }
        for (int j = -1; l && j < DF_N; j++) { /* the column's last format first */
            int f = j < 0 ? hint[di] : j;
            if (j == hint[di] || (hit[k].kind = datefmt_parse(f, v, l, &c->tz, &hit[k].ts)) < 0) continue;
            hit[k].fmt = hint[di] = f;
            votes[di][f]++;
            if (f == DF_EPOCH_MS && compact_datetime(v, l)) votes[di][l == 12 ? SH_COMPACT12 : SH_COMPACT14]++;
            break;
        }
        if (l && hit[k].fmt < 0) date_shape(v, l, votes[di]);
    }
}

/* A date column most of whose values parse in no automatic format: the
 * warning, with the --date-format its values' shapes point to, goes into
 * c->date_hint[ti][di] on every rank (quality.json gives it), and rank 0
 * prints it. */
static void date_hint(ctx *c, int ti, int di, const int64_t *g)
{
    char *msg = c->date_hint[ti][di];
    const size_t cap = sizeof c->date_hint[ti][di];
    msg[0] = '\0';
    int64_t voted = 0;
    for (int f = 0; f < DF_N; f++) voted += g[f];
    const char *col = "?";
    for (int k = 0; k < TD[ti].nf; k++)
        if (date_index(&TD[ti].f[k]) == di) col = TD[ti].f[k].name;
    int64_t compact = g[SH_COMPACT12] + g[SH_COMPACT14];
    if (compact && 2 * compact >= voted + g[SH_UNPARSED]) {
        snprintf(msg, cap, "%s.%s: %lld of %lld values are %d digits that read as epoch milliseconds but look like compact local "
                 "date-times (yyyymmddHHMM%s of 1900-2099); if they are, give --date-format %s.%s='%s'", TD[ti].name, col,
                 (long long)compact, (long long)(voted + g[SH_UNPARSED]), g[SH_COMPACT14] >= g[SH_COMPACT12] ? 14 : 12,
                 g[SH_COMPACT14] >= g[SH_COMPACT12] ? "SS" : "", TD[ti].name, col,
                 g[SH_COMPACT14] >= g[SH_COMPACT12] ? "%Y%m%d%H%M%S" : "%Y%m%d%H%M");
        if (c->rank == 0) LOG_WARN("%s", msg);
        return;
    }
    if (g[SH_UNPARSED] == 0 || g[SH_UNPARSED] < voted) return;
    char hint[400] = "";
    int64_t num = g[SH_NUM4] + g[SH_NUM2];
    if (2 * num >= g[SH_UNPARSED]) {
        char sp = g[SH_DOT] >= g[SH_SLASH] && g[SH_DOT] >= g[SH_DASH] ? '.' : g[SH_DASH] > g[SH_SLASH] ? '-' : '/';
        char y = g[SH_NUM4] >= g[SH_NUM2] ? 'Y' : 'y';
        const char *tm = 2 * g[SH_AMPM] >= num ? (g[SH_HMS] > g[SH_HM] ? " %I:%M:%S %p" : " %I:%M %p")
                       : 2 * (g[SH_HM] + g[SH_HMS]) >= num ? (g[SH_HMS] > g[SH_HM] ? " %H:%M:%S" : " %H:%M") : "";
        char md[40], dm[40];
        snprintf(md, sizeof md, "%%m%c%%d%c%%%c%s", sp, sp, y, tm);
        snprintf(dm, sizeof dm, "%%d%c%%m%c%%%c%s", sp, sp, y, tm);
        /* the order with the evidence (a number over 12 where only a day
         * can be), when the other has at most a twentieth of it: a few
         * junk values do not hide the export's format */
        int64_t f13 = g[SH_FIRST13], s13 = g[SH_SECOND13];
        char few[120] = "";
        if (f13 && s13) {
            int64_t m = f13 < s13 ? f13 : s13;
            snprintf(few, sizeof few, "; %lld %s a number over 12 in the other place, and will not parse", (long long)m,
                     m == 1 ? "value has" : "values have");
        }
        if (f13 && s13 <= f13 / 20)
            snprintf(hint, sizeof hint, "; they look like day%cmonth%cyear (%lld values with a first number over 12%s): "
                     "give --date-format %s.%s='%s'", sp, sp, (long long)f13, few, TD[ti].name, col, dm);
        else if (s13 && f13 <= s13 / 20)
            snprintf(hint, sizeof hint, "; they look like month%cday%cyear (%lld values with a second number over 12%s): "
                     "give --date-format %s.%s='%s'", sp, sp, (long long)s13, few, TD[ti].name, col, md);
        else if (!f13 && !s13)
            snprintf(hint, sizeof hint, "; they look like month%cday%cyear or day%cmonth%cyear, and no number over 12 tells which: "
                     "give --date-format %s.%s='%s' or '%s'", sp, sp, sp, sp, TD[ti].name, col, md, dm);
        else
            snprintf(hint, sizeof hint, "; they look like two numbers and a year, but %lld have a first and %lld a second number "
                     "over 12: no one order fits them all", (long long)f13, (long long)s13);
    } else if (2 * g[SH_NAMED] >= g[SH_UNPARSED]) {
        snprintf(hint, sizeof hint, "; they hold month names: give --date-format %s.%s= with a pattern that has %%b, such as "
                 "'%%d %%b %%Y' or '%%b %%d, %%Y'", TD[ti].name, col);
    }
    snprintf(msg, cap, "%s.%s: %lld of %lld values parse in no automatic date format (ISO 8601, yyyymmdd, yyyy/mm/dd, epoch "
             "seconds or milliseconds)%.400s", TD[ti].name, col, (long long)g[SH_UNPARSED], (long long)(g[SH_UNPARSED] + voted), hint);
    if (c->rank == 0) LOG_WARN("%s", msg);
}

/* Collective: the format that parses most values of each date column (ties
 * in datefmt order); *mixed when any value of a column has another one. */
static int choose_formats(ctx *c, int ti, int64_t votes[2][VOTE_N], int *mixed, precis_err *e)
{
    int64_t g[2][VOTE_N];
    MPI_CHECK(MPI_Allreduce(votes, g, 2 * VOTE_N, MPI_INT64_T, MPI_SUM, c->comm), e);
    *mixed = 0;
    for (int di = 0; di < 2; di++) {
        int best = 0;
        for (int f = 1; f < DF_N; f++)
            if (g[di][f] > g[di][best]) best = f;
        for (int f = 0; f < DF_N; f++) *mixed |= f != best && g[di][f] > 0;
        c->t[ti].fmt[di] = c->dfmt[ti][di] >= 0 ? c->dfmt[ti][di] : best; /* a given format: no votes */
        if (c->dfmt[ti][di] < 0) date_hint(c, ti, di, g[di]);
    }
    return 0;
fail:
    return -1;
}

/* Parse one good CSV record into r. Returns the reject reason (R_OK to keep)
 * and the canonical field it concerns in *field. hit: its dates, already
 * parsed (detect_dates), or NULL to parse them in the table's formats. */
static int parse_record(ctx *c, int ti, const csv_record *rec, const colmap *cm, const datehit *hit, crow *r,
                        unsigned *parsed, int *field, precis_err *e)
{
    table *t = &c->t[ti];
    char norm[1024];
    *field = -1;
    /* in locals: the stores into the row below would otherwise make the
     * compiler load these again for every field */
    const int *idx = cm[rec->file].idx, nf = TD[ti].nf;
    const char *const *fv = rec->f;
    const size_t *fl = rec->flen;
    for (int k = 0; k < nf; k++) {
        const fdef *f = &TD[ti].f[k];
        if (f->type == F_DROP) continue;
        int col = idx[k];
        const char *v = "";
        size_t l = 0;
        if (col >= 0) {
            v = fv[col];
            l = fl[col];
            trim(&v, &l);
        }
        int empty = l == 0 || na_is(c->na_of[ti][k], v, l); /* "", or NULL, \N ... (--na-values) */
        if (empty && f->req) { *field = k; return R_MISSING_REQUIRED; }
        if (empty) {
            *parsed |= 1u << k;
            r->missing |= (uint16_t)(1u << k);
            if (col >= 0) t->col[k].missing++;
            if (f->type == F_CAT) {
                int32_t id = strdict_intern(&c->dict[f->dict], "unknown", 7);
                if (id < 0) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"), R_OK;
                r->cat[f->idx] = id;
                if (col >= 0) {
                    r->flags |= FL_IMPUTED;
                    t->col[k].imputed++;
                }
            }
            if (f->type == F_TS) r->ts = TS_MISSING;
            continue;
        }
        switch (f->type) {
        case F_ID:
            if (customer_key_cached(c, v, l, &r->key, &r->key_lo)) { *field = k; return R_MISSING_REQUIRED; }
            break;
        case F_ORDER: /* an id of one AES block waits in c->ob_blk[c->ob_n] (parse_pass) */
            if (c->ob_blk && pii_order_block(&c->key, v, l, c->ob_blk[c->ob_n])) c->ob_pending = 1;
            else if (pii_token(&c->key, PII_TOKEN_ORDER, v, l, &r->order_key))
                return PERR(e, PRECIS_EXIT_INTERNAL, "CMAC failed"), R_OK;
            break;
        case F_PHONE:
        case F_EMAIL: {
            int n = f->type == F_PHONE ? pii_norm_phone(v, l, c->o.region, norm, sizeof norm)
                                       : pii_norm_email(v, l, norm, sizeof norm);
            if (n <= 0) {
                t->col[k].invalid++;
                r->missing |= (uint16_t)(1u << k);
            } else if (pii_token(&c->key, f->type == F_PHONE ? PII_TOKEN_PHONE : PII_TOKEN_EMAIL, norm, (size_t)n, &r->tok[f->idx])) {
                return PERR(e, PRECIS_EXIT_INTERNAL, "HMAC failed"), R_OK;
            }
            break;
        }
        case F_TS:
        case F_BIRTH: {
            int64_t ts = 0;
            int kind = hit ? (ts = hit[k].ts, hit[k].fmt >= 0 ? hit[k].kind : -1)
                           : parse_date(c, ti, date_index(f), t->fmt[date_index(f)], v, l, &ts);
            int ok = kind >= 0, inrange = ok && ts >= TS_MIN && ts < TS_MAX;
            if (!inrange) {
                if (f->req) { *field = k; return ok ? R_DATE_RANGE : R_INVALID_DATE; }
                t->col[k].invalid++;
                r->missing |= (uint16_t)(1u << k);
                if (f->type == F_TS) r->ts = TS_MISSING;
                break;
            }
            if (kind == TZ_GAP) t->col[k].tz_gap++;
            else if (kind == TZ_FOLD) t->col[k].tz_fold++;
            if (f->type == F_TS) r->ts = ts;
            else {
                int64_t y;
                int m, d;
                tu_civil_from_days(tz_local_day(&c->tz, ts), &y, &m, &d);
                r->cat[BIRTH_CAT] = (int32_t)y;
            }
            break;
        }
        case F_NUM: {
            int pr = parse_num(v, l, c->o.dec, c->o.thou, &r->num[f->idx]);
            if (pr == R_NAN_INF || pr == R_OUT_OF_RANGE || (pr && f->req)) { *field = k; return pr; }
            if (pr) { /* unparseable optional number: counted, then imputed */
                t->col[k].invalid++;
                r->missing |= (uint16_t)(1u << k);
            }
            break;
        }
        case F_CAT: {
            if (f->dict == D_GROUP && !(l == 9 && !strncasecmp(v, "treatment", 9)) && !(l == 7 && !strncasecmp(v, "control", 7))) {
                *field = k;
                return R_BAD_VALUE;
            }
            char low[16];
            if (f->dict == D_GROUP) { /* canonical case */
                for (size_t i = 0; i < l; i++) low[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
                v = low;
            }
            int32_t id = strdict_intern(&c->dict[f->dict], v, l);
            if (id < 0) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"), R_OK;
            r->cat[f->idx] = id;
            break;
        }
        case F_DROP:
            break;
        }
        *parsed |= 1u << k;
    }
    if (ti == T_TRANS && ((!(r->missing & (1u << 4)) && r->num[0] < 0) || r->num[2] < 0)) {
        r->flags |= FL_REFUND;
        if (!strcmp(c->o.refunds, "reject")) { *field = r->num[2] < 0 ? 6 : 4; return R_REFUND; }
    }
    return R_OK;
}

/* The waiting order ids' tokens, into their rows. */
static int order_flush(ctx *c, table *t, precis_err *e)
{
    if (c->ob_n == 0) return 0;
    if (pii_order_finish(&c->key, c->ob_blk, (size_t)c->ob_n, c->ob_tok))
        return PERR(e, PRECIS_EXIT_INTERNAL, "CMAC failed");
    for (int i = 0; i < c->ob_n; i++) t->bk[c->ob_dest[i]][c->ob_idx[i]].order_key = c->ob_tok[i];
    c->ob_n = 0;
    return 0;
}

/* One pass over the table's records: parsed rows to the buckets of their
 * slot owners, rejected ones to the quarantine. votes: NULL to parse dates
 * in the table's formats, else where detect_dates counts them. */
static int parse_pass(ctx *c, int ti, csv_reader *r, const colmap *cm, int64_t votes[2][VOTE_N], precis_err *e)
{
    table *t = &c->t[ti];
    csv_record rec;
    log_progress p;
    int hint[2] = {0, 0}, dk[2], dix[2], nd = 0; /* the date fields and their date indexes */
    for (int k = 0; k < TD[ti].nf && nd < 2; k++)
        if (date_index(&TD[ti].f[k]) >= 0) dk[nd] = k, dix[nd++] = date_index(&TD[ti].f[k]);
    log_progress_start(&p, TD[ti].name, 0);
    while (csv_next(r, &rec)) {
        crow row;
        datehit hit[10];
        memset(&row, 0, sizeof row);
        row.src = SRC(rec.file, rec.offset);
        set_row_line(&row, rec.line);
        row.ts = TS_MISSING;
        t->rows_in++;
        unsigned parsed = 0;
        int field = -1, reason = status_reason(rec.status);
        if (reason == R_OK && votes) detect_dates(c, ti, dk, dix, nd, &rec, cm, hit, votes, hint);
        c->ob_pending = 0;
        if (reason == R_OK) reason = parse_record(c, ti, &rec, cm, votes ? hit : NULL, &row, &parsed, &field, e);
        if (e->code) break;
        if (c->ob_pending && reason != R_OK && /* a rejected row's token is wanted now, for the quarantine */
            pii_order_finish(&c->key, &c->ob_blk[c->ob_n], 1, &row.order_key)) {
            PERR(e, PRECIS_EXIT_INTERNAL, "CMAC failed");
            break;
        }
        if (reason == R_OK && (row.flags & FL_REFUND)) t->refunds++;
        if (reason != R_OK) {
            uint64_t line_hash = 0;
            pii_token(&c->key, PII_TOKEN_LINE, rec.raw, rec.raw_len, &line_hash);
            t->rejected[reason]++;
            if (status_reason(rec.status) != R_OK) /* name the canonical field of the bad column */
                for (int k = 0; k < TD[ti].nf; k++)
                    if (rec.bad_field >= 0 && cm[rec.file].idx[k] == rec.bad_field) field = k;
            LOG_DEBUG("%s:%lld: %s row rejected: %s%s%s", csv_path(r, rec.file), (long long)rec.line, TD[ti].name,
                      reason_names[reason], field >= 0 ? " in field " : "", field >= 0 ? TD[ti].f[field].name : "");
            if (quar_line(c, ti, &t->quar, csv_path(r, rec.file), &row, rec.offset, line_hash, reason, field,
                          status_reason(rec.status) == R_OK ? parsed : 0, 0)) {
                PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
                break;
            }
            continue;
        }
        int dest = TD[ti].keyed ? slots_owner(slots_of(row.key, c->o.slots), c->o.slots, c->size) : 0;
        if (push_row(t, &row, dest)) {
            PERR(e, PRECIS_EXIT_INTERNAL, "out of memory after %lld rows of %s", (long long)t->n, TD[ti].name);
            break;
        }
        if (c->ob_pending) {
            c->ob_dest[c->ob_n] = dest;
            c->ob_idx[c->ob_n] = t->bn[dest] - 1;
            if (++c->ob_n == OB_N && order_flush(c, t, e)) break;
        }
        if ((t->rows_in & 65535) == 0) log_progress_update(&p, t->rows_in);
    }
    if (!e->code) order_flush(c, t, e);
    c->ob_n = 0;
    return precis_agree(c->comm, e);
}

static int load_table(ctx *c, int ti, precis_err *e)
{
    table *t = &c->t[ti];
    csv_reader *r = NULL;
    colmap *cm = NULL;
    csv_opts co;
    csv_opts_default(&co);
    co.delim = c->o.delim;
    co.encoding = c->enc_of[ti];
    if (spool_inputs(c->comm, t->files.path, t->files.n, c->o.spool, c->o.out, &co.encoding, &t->sp, e)) return -1;
    for (int i = 0; i < t->files.n; i++) /* (the size a row's source position can address: see find_inputs) */
        if (t->sp.size[i] >= INT64_C(1) << 40)
            return PERR(e, PRECIS_EXIT_DATA, "%s: %lld bytes decompressed, more than the 1 TiB a row's source position can address; split the file",
                        t->files.path[i], (long long)t->sp.size[i]);
    co.fds = t->sp.fd;
    co.names = t->files.path;
    if (csv_open(c->comm, t->files.path, t->files.n, &co, &r, e)) return -1;
    cm = calloc((size_t)(t->files.n ? t->files.n : 1), sizeof *cm);
    t->bk = calloc((size_t)c->size, sizeof(crow *));
    t->bn = calloc((size_t)c->size, sizeof(int64_t));
    t->bcap = calloc((size_t)c->size, sizeof(int64_t));
    if (!cm || !t->bk || !t->bn || !t->bcap) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    else map_headers(c, ti, r, cm, e);
    if (precis_agree(c->comm, e)) goto fail;
    if (c->rank == 0) quar_header(ti, &t->quar);
    int32_t dict_n0[D_N];
    size_t quar0 = t->quar.n;
    for (int d = 0; d < D_N; d++) dict_n0[d] = c->dict[d].n;
    int voted = 0;   /* a date column without a --date-format */
    for (int k = 0; k < TD[ti].nf; k++)
        if (date_index(&TD[ti].f[k]) >= 0) voted |= c->dfmt[ti][date_index(&TD[ti].f[k])] < 0;
    if (!voted) {
        t->fmt[0] = c->dfmt[ti][0];
        t->fmt[1] = c->dfmt[ti][1];
        if (parse_pass(c, ti, r, cm, NULL, e)) goto fail;
    } else {
        int64_t votes[2][VOTE_N] = {{0}};
        int mixed = 0;
        if (parse_pass(c, ti, r, cm, votes, e) || choose_formats(c, ti, votes, &mixed, e)) goto fail;
        if (mixed) { /* forget the pass, then parse in the chosen formats */
            LOG_INFO("%s: a date column holds more than one format; parsing it again in the most common one", TD[ti].name);
            t->n = t->rows_in = t->refunds = 0;
            for (int q = 0; q < c->size; q++) t->bn[q] = 0;
            memset(t->rejected, 0, sizeof t->rejected);
            memset(t->col, 0, sizeof t->col);
            t->quar.n = quar0;
            for (int d = 0; d < D_N; d++) strdict_truncate(&c->dict[d], dict_n0[d]);
            csv_rewind(r);
            if (parse_pass(c, ti, r, cm, NULL, e)) goto fail;
        }
    }
    t->blank = csv_blank_lines(r); /* of the last pass: a rewind starts the count again */
    free(cm);
    csv_close(r);
    return 0;
fail:
    free(cm);
    csv_close(r);
    return -1;
}

/* ------------------------------------------------- dictionaries, shuffle */

static int globalise(ctx *c, precis_err *e)
{
    for (int d = 0; d < D_N; d++)
        if (strdict_globalise(c->comm, &c->dict[d], &c->dmap[d], e)) return -1;
    for (int ti = 0; ti < T_N; ti++) {
        table *t = &c->t[ti];
        int nc = 0, idx[4];
        const int32_t *map[4];
        for (int k = 0; k < TD[ti].nf; k++)
            if (TD[ti].f[k].type == F_CAT) idx[nc] = TD[ti].f[k].idx, map[nc++] = c->dmap[TD[ti].f[k].dict];
        for (int q = 0; t->bk && q < c->size; q++)
            for (int64_t i = 0; i < t->bn[q]; i++)
                for (int j = 0; j < nc; j++) {
                    int32_t *v = &t->bk[q][i].cat[idx[j]];
                    *v = map[j][*v];
                }
    }
    return 0;
}

static int64_t g_slots;

static int cmp_keyed(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    int64_t sx = slots_of(x->key, g_slots), sy = slots_of(y->key, g_slots);
    if (sx != sy) return sx < sy ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->key_lo != y->key_lo) return x->key_lo < y->key_lo ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* radix keys: (slot, customer_key) as one integer (the slot is the key's low
 * bits: rotate them to the top); ts with the sign bit flipped */
static uint64_t rkey_keyed(const void *a, const void *ctx)
{
    const crow *x = a;
    int b = *(const int *)ctx;
    return b ? (x->key >> b) | (x->key << (64 - b)) : x->key;
}

static uint64_t rkey_ts(const void *a, const void *ctx)
{
    (void)ctx;
    return (uint64_t)((const crow *)a)->ts ^ (UINT64_C(1) << 63);
}

/* The sort orders: keyed tables by (slot, customer_key, customer_key_lo,
 * ts, source), as cmp_keyed; spend by (week_start, channel, campaign,
 * source). rsort orders by the radix keys above and asks a comparator only
 * about rows whose radix keys are equal (one customer_key, hence one slot;
 * or one ts), so these compare the rest. */
static int cmp_keyed_tie(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->key_lo != y->key_lo) return x->key_lo < y->key_lo ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

static int cmp_spend_tie(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->cat[0] != y->cat[0]) return x->cat[0] < y->cat[0] ? -1 : 1;
    if (x->cat[1] != y->cat[1]) return x->cat[1] < y->cat[1] ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

static int shuffle_table(ctx *c, int ti, precis_err *e)
{
    table *t = &c->t[ti];
    void *out = NULL;
    int64_t nout = 0;
    int rc = shuffle_buckets(c->comm, (void **)t->bk, t->bn, sizeof(crow), 0, &out, &nout, e);
    free_buckets(t, c->size);
    if (rc) return -1;
    hugemem_free(t->rows);
    t->rows = out;
    t->n = t->cap = nout;
    int bits = 0;
    while ((INT64_C(1) << bits) < c->o.slots) bits++;
    if (rsort_records(t->rows, t->n, sizeof(crow), TD[ti].keyed ? rkey_keyed : rkey_ts, &bits,
                      TD[ti].keyed ? cmp_keyed_tie : cmp_spend_tie))
        return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory sorting %lld rows of %s", (long long)t->n, TD[ti].name);
    return 0;
}

/* ------------------------------------------------------- duplicates */

static int cmp_canon_src(const void *a, const void *b)
{
    const crow *x = *(crow *const *)a, *y = *(crow *const *)b;
    int m = memcmp(x, y, CANON_BYTES);
    if (m) return m;
    return x->src < y->src ? -1 : x->src > y->src;
}

static int cmp_order_ts_src(const void *a, const void *b)
{
    const crow *x = *(crow *const *)a, *y = *(crow *const *)b;
    if (x->order_key != y->order_key) return x->order_key < y->order_key ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* Groups up to this size are judged by comparing each row with the ones
 * before it (no sort, no index). */
#define DEDUP_SMALL 48

/* Within each group of rows of one customer (or, for spend, everything):
 *  customers: one row per key, the first by source position;
 *  transactions with order ids: one row per order key, the first by (ts, source);
 *  transactions without: identical rows are repeats, kept unless --dedup-exact;
 *  other tables: identical canonical rows are duplicates.
 * A keyed group is sorted by (ts, source), and identical rows share ts, so
 * "first by (ts, source)" and "first of identical rows by source" are both
 * "some row before it in the group matches": small groups check exactly
 * that, large ones sort an index. */
static int dedup_table(ctx *c, int ti, precis_err *e)
{
    table *t = &c->t[ti];
    crow **idx = NULL;
    int64_t icap = 0, a = 0;
    const int by_order = ti == T_TRANS && t->has_order;
    const uint8_t same = (ti == T_TRANS && !c->o.dedup_exact) ? ST_REPEAT : ST_DUP;
    const int keep_last = !strcmp(c->o.customers_keep, "last");
    while (a < t->n) {
        int64_t b = a + 1;
        if (TD[ti].keyed)
            while (b < t->n && t->rows[b].key == t->rows[a].key && t->rows[b].key_lo == t->rows[a].key_lo) b++;
        else
            b = t->n;
        int64_t m = b - a;
        crow *g = &t->rows[a];
        if (ti == T_CUST) { /* `first`: the row kept, the first (or with --customers-keep last, the last) in the input */
            crow *first = g;
            for (int64_t i = 1; i < m; i++)
                if (keep_last ? g[i].src > first->src : g[i].src < first->src) first = &g[i];
            for (int64_t i = 0; i < m; i++)
                if (&g[i] != first) {
                    g[i].state = ST_DUP;
                    t->dups_differ += memcmp(&g[i], first, CANON_BYTES) != 0;
                }
        } else if (m <= DEDUP_SMALL && TD[ti].keyed) {
            for (int64_t i = 1; i < m; i++)
                for (int64_t j = 0; j < i; j++)
                    if (by_order ? g[i].order_key && g[i].order_key == g[j].order_key
                                 : !memcmp(&g[i], &g[j], CANON_BYTES)) {
                        /* g[j], the first of its order, is the one kept */
                        g[i].state = by_order ? ST_DUP : same;
                        t->dups_differ += by_order && memcmp(&g[i], &g[j], CANON_BYTES) != 0;
                        break;
                    }
        } else {
            if (m > icap) {
                crow **ni = realloc(idx, sizeof(crow *) * (size_t)m);
                if (!ni) {
                    free(idx);
                    return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
                }
                idx = ni;
                icap = m;
            }
            for (int64_t i = 0; i < m; i++) idx[i] = &g[i];
            if (by_order) {
                qsort(idx, (size_t)m, sizeof(crow *), cmp_order_ts_src);
                for (int64_t i = 1, kept = 0; i < m; i++)
                    if (idx[i]->order_key && idx[i]->order_key == idx[i - 1]->order_key) {
                        idx[i]->state = ST_DUP;
                        t->dups_differ += memcmp(idx[i], idx[kept], CANON_BYTES) != 0;
                    } else {
                        kept = i;
                    }
            } else {
                qsort(idx, (size_t)m, sizeof(crow *), cmp_canon_src);
                for (int64_t i = 1; i < m; i++)
                    if (!memcmp(idx[i], idx[i - 1], CANON_BYTES)) idx[i]->state = same;
            }
        }
        for (int64_t i = 0; i < m; i++) { /* counted while the group is in cache */
            t->dups += g[i].state == ST_DUP;
            t->repeats += g[i].state == ST_REPEAT;
        }
        a = b;
    }
    free(idx);
    return 0;
}

/* Keyed hash of a row's raw record (late rejects): the file is opened again
 * (the last one stays open for the next row; a gzip input's spool file is
 * open already) and the record read at its offset, its end found by the CSV
 * boundary rule, as when it was read. Read, not mapped: a rank touches only
 * the pages of its rejected records, not the whole file's. */
static int late_line_hash(ctx *c, const table *t, const char *path, const crow *r, uint64_t *line_hash, precis_err *e)
{
    int file = SRC_FILE(r->src);
    int64_t off = SRC_OFF(r->src);
    if (c->late_file != file) {
        late_close(c);
        int sfd = t->sp.fd ? t->sp.fd[file] : -1; /* a decompressed copy, unlinked but open */
        FILE *fp = sfd >= 0 ? NULL : fopen(path, "rb"); /* (unistd.h's R_OK would clash with the reasons) */
        int fd = sfd >= 0 ? sfd : fp ? fileno(fp) : -1;
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0) c->late_fp = fp, c->late_fd = fd, c->late_size = st.st_size, c->late_file = file;
        else if (fp) fclose(fp);
    }
    size_t len = 0;
    int ok = c->late_file == file && off < c->late_size &&
             csv_raw_read(c->late_fd, c->late_size, off, CSV_MAX_FIELD_DEFAULT, &c->late_buf, &c->late_cap, &len) == 0;
    if (ok && pii_token(&c->key, PII_TOKEN_LINE, c->late_buf, len, line_hash))
        return PERR(e, PRECIS_EXIT_INTERNAL, "HMAC failed");
    return ok ? 0 : PERR(e, PRECIS_EXIT_IO, "cannot read %s again to hash a rejected row: %s", path,
                         c->late_file == file && off < c->late_size ? strerror(errno) : "it changed since it was read");
}

typedef struct okey_rec {
    uint64_t order_key, key, key_lo;
    int64_t ts, src;
} okey_rec;

/* An order key under two customers is a conflict: the first row by (ts,
 * source) keeps it, and the other customers' rows are quarantined
 * (order_conflict). Dedup has left each customer at most one row per order
 * key, so a key still kept on two rows is under two customers. Two rounds,
 * each to the rank that groups the key (okey_owner):
 *  1. every kept row's order key alone (8 bytes a row); the grouper finds
 *     the keys that came more than once and sends each back to the ranks
 *     that sent it;
 *  2. the rows of those keys (okey_rec); the grouper keeps each key's first
 *     row and sends the others back to their slot owners, which quarantine
 *     them.
 * Conflicts are rare, so round 2 is small: the rows are scanned twice, and
 * 8 bytes a row cross the network. */

/* The rank that groups an order key: its low 32 bits scaled to [0, size)
 * (a multiply, not a division per row). */
static inline int okey_owner(uint64_t k, int size) { return (int)(((k & 0xffffffffu) * (uint64_t)size) >> 32); }

/* A set of order keys: open addressing with linear probing over cap (a
 * power of two) keys, 0 empty (an order key is never 0: 0 means none). The
 * key is already a keyed hash, so a multiply spreads its bits. */
static int64_t kset_home(uint64_t k, int64_t cap) { return (int64_t)((k * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1); }

/* the slot that holds k, or the empty one where it belongs */
static int64_t kset_find(const uint64_t *slot, int64_t cap, uint64_t k)
{
    int64_t h = kset_home(k, cap);
    while (slot[h] && slot[h] != k) h = (h + 1) & (cap - 1);
    return h;
}

/* slots for n keys, at most a quarter full: most look-ups are of keys not
 * in the set (every row's key against the few repeated ones), and a miss
 * probes until an empty slot, about 4 slots at 2/3 full and 1.4 at 1/4.
 * The sets are small (repeated keys; parts of ~2^13 keys that stay in
 * cache). */
static int64_t kset_cap(int64_t n)
{
    int64_t cap = 16;
    while (cap < 4 * n) cap *= 2;
    return cap;
}

/* The set of k[0..n) (calloc'd, *cap slots), or NULL when out of memory. */
static uint64_t *kset_of(const uint64_t *k, int64_t n, int64_t *cap)
{
    *cap = kset_cap(n);
    uint64_t *set = calloc((size_t)*cap, sizeof(uint64_t));
    for (int64_t i = 0; set && i < n; i++) set[kset_find(set, *cap, k[i])] = k[i];
    return set;
}

static inline int kept_order(const crow *r) { return r->state == ST_KEEP && r->order_key; }

/* Room for record n in a growing array of records (size bytes each) and
 * their destination ranks, *cap of each. 0, or -1 when out of memory (both
 * arrays stay valid). */
static int grow_dest(void **rec, size_t size, int **dest, int64_t n, int64_t *cap)
{
    if (n < *cap) return 0;
    int64_t c = *cap ? 2 * *cap : 1024;
    void *nr = realloc(*rec, size * (size_t)c);
    if (!nr) return -1;
    *rec = nr;
    int *nd = realloc(*dest, sizeof(int) * (size_t)c);
    if (!nd) return -1;
    *dest = nd;
    *cap = c;
    return 0;
}

/* The keys that come more than once in k[0..n), as a set (*set, calloc'd,
 * *cap slots). The keys are first distributed by their top bits into
 * parts of about 2^13, each then counted in a table that stays in cache:
 * one table for all of them would miss the cache on nearly every key. */
static int repeats_of(const uint64_t *k, int64_t n, uint64_t **set, int64_t *cap, precis_err *e)
{
    int bits = 0;
    while (bits < 16 && (n >> bits) > ((int64_t)1 << 13)) bits++;
    const int64_t parts = (int64_t)1 << bits;
    const int sh = 64 - bits;
    int64_t *at = calloc((size_t)parts + 1, sizeof(int64_t)), *fill = malloc(sizeof(int64_t) * (size_t)parts);
    uint64_t *part = hugemem_alloc(sizeof(uint64_t) * (size_t)(n ? n : 1)), *tab = NULL, *rep = NULL;
    int64_t nrep = 0, rcap = 0, tcap = 0;
    int rc = -1;
    *set = NULL;
    CHECK(at && fill && part, e, PRECIS_EXIT_INTERNAL, "out of memory");
#define PART_OF(x) (bits ? (int64_t)((x) >> sh) : 0)
    for (int64_t i = 0; i < n; i++) at[PART_OF(k[i]) + 1]++;
    for (int64_t p = 0; p < parts; p++) at[p + 1] += at[p], fill[p] = at[p];
    for (int64_t i = 0; i < n; i++) part[fill[PART_OF(k[i])]++] = k[i];
#undef PART_OF
    for (int64_t p = 0; p < parts; p++) {
        int64_t m = at[p + 1] - at[p], c = kset_cap(m);
        if (c > tcap) {
            free(tab);
            tab = malloc(sizeof(uint64_t) * (size_t)c);
            CHECK(tab, e, PRECIS_EXIT_INTERNAL, "out of memory");
            tcap = c;
        }
        memset(tab, 0, sizeof(uint64_t) * (size_t)c);
        for (int64_t i = at[p]; i < at[p + 1]; i++) {
            int64_t h = kset_find(tab, c, part[i]);
            if (!tab[h]) { tab[h] = part[i]; continue; }
            if (nrep == rcap) {
                rcap = rcap ? 2 * rcap : 256;
                uint64_t *nr = realloc(rep, sizeof(uint64_t) * (size_t)rcap);
                CHECK(nr, e, PRECIS_EXIT_INTERNAL, "out of memory");
                rep = nr;
            }
            rep[nrep++] = part[i];   /* again for a third row: the set takes it once */
        }
    }
    *set = kset_of(rep, nrep, cap);
    CHECK(*set, e, PRECIS_EXIT_INTERNAL, "out of memory");
    rc = 0;
fail:
    free(at); free(fill); free(tab); free(rep);
    hugemem_free(part);
    return rc;
}

/* Round 1. *rep: the order keys of this rank's kept rows that are kept on
 * more than one row over all ranks (malloc'd; a key may come twice). */
static int repeated_order_keys(ctx *c, uint64_t **rep, int64_t *nrep, precis_err *e)
{
    table *t = &c->t[T_TRANS];
    const int P = c->size;
    uint64_t **bk = calloc((size_t)P, sizeof(uint64_t *)), *o = NULL, *slot = NULL, *back = NULL;
    int64_t *bn = calloc((size_t)P, sizeof(int64_t)), *rn = calloc((size_t)P, sizeof(int64_t));
    int64_t *room = calloc((size_t)P, sizeof(int64_t)), no = 0, nb = 0, bcap = 0, cap = 0;
    int *bdest = NULL, rc = -1;
    int ok = bk && bn && rn && room;
    /* the rows are scanned once, not counted first: each bucket starts at
     * its even share and grows (hugemem: in place, without a copy) */
    for (int q = 0; ok && q < P; q++)
        if (!(bk[q] = hugemem_alloc(sizeof(uint64_t) * (size_t)(room[q] = t->n / P + t->n / (4 * P) + 1024)))) ok = 0;
    for (int64_t i = 0; ok && i < t->n; i++) {
        const crow *r = &t->rows[i];
        if (!kept_order(r)) continue;
        int q = okey_owner(r->order_key, P);
        if (bn[q] == room[q]) {
            uint64_t *g = hugemem_realloc(bk[q], sizeof(uint64_t) * (size_t)(2 * room[q]));
            if (!g) {
                ok = 0;
                break;
            }
            bk[q] = g;
            room[q] *= 2;
        }
        bk[q][bn[q]++] = r->order_key;
    }
    if (!ok) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    /* every local failure is agreed on before each exchange, so no rank
     * waits in one that another has left */
    TRY(precis_agree(c->comm, e));
    MPI_CHECK(MPI_Alltoall(bn, 1, MPI_INT64_T, rn, 1, MPI_INT64_T, c->comm), e);
    TRY(shuffle_buckets(c->comm, (void **)bk, bn, sizeof(uint64_t), 0, (void **)&o, &no, e));
    repeats_of(o, no, &slot, &cap, e);
    TRY(precis_agree(c->comm, e));
    /* o holds this rank's own keys first, then each other rank's in rank
     * order (shuffle_buckets): a repeated key goes back to its sender */
    for (int64_t i = 0, k = 0, left = rn[c->rank], from = c->rank; i < no; i++, left--) {
        while (left == 0) { /* the next sender */
            from = k == c->rank ? k + 1 : k;
            k = from + 1;
            left = rn[from];
        }
        if (!slot[kset_find(slot, cap, o[i])]) continue;
        if (grow_dest((void **)&back, sizeof *back, &bdest, nb, &bcap)) {
            PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            break;
        }
        back[nb] = o[i];
        bdest[nb++] = (int)from;
    }
    hugemem_free(o);
    o = NULL;
    TRY(precis_agree(c->comm, e));
    TRY(shuffle_exchange(c->comm, back, nb, sizeof(uint64_t), bdest, 0, (void **)rep, nrep, e));
    rc = 0;
fail:
    for (int q = 0; bk && q < P; q++) hugemem_free(bk[q]);
    free(bk); free(bn); free(rn); free(room); free(back); free(bdest); free(slot);
    hugemem_free(o);
    return rc;
}

static int cmp_okey_first(const void *a, const void *b)
{
    const okey_rec *x = a, *y = b;
    if (x->order_key != y->order_key) return x->order_key < y->order_key ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* Round 2, and the quarantine of what it finds. */
static int order_conflicts(ctx *c, precis_err *e)
{
    table *t = &c->t[T_TRANS];
    uint64_t *rep = NULL, *set = NULL;
    int64_t nrep = 0, cap = 0, nc = 0, ccap = 0, ng = 0, nb = 0, nback = 0;
    okey_rec *cand = NULL, *got = NULL, *back = NULL, *ret = NULL;
    int *cdest = NULL, *bdest = NULL, rc = -1;
    TRY(repeated_order_keys(c, &rep, &nrep, e));
    /* this rank's rows of the repeated keys, to their groupers */
    if (nrep > 0) {
        set = kset_of(rep, nrep, &cap);
        int ok = set != NULL;
        for (int64_t i = 0; ok && i < t->n; i++) {
            const crow *r = &t->rows[i];
            if (!kept_order(r) || !set[kset_find(set, cap, r->order_key)]) continue;
            if (grow_dest((void **)&cand, sizeof *cand, &cdest, nc, &ccap)) {
                ok = 0;
                break;
            }
            cand[nc] = (okey_rec){r->order_key, r->key, r->key_lo, r->ts, r->src};
            cdest[nc++] = okey_owner(r->order_key, c->size);
        }
        if (!ok) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    free(rep); free(set);
    rep = set = NULL;
    TRY(precis_agree(c->comm, e));
    TRY(shuffle_exchange(c->comm, cand, nc, sizeof(okey_rec), cdest, 0, (void **)&got, &ng, e));
    /* per key, the rows of customers other than the first row's go back to
     * their slot owners */
    if (ng > 1) qsort(got, (size_t)ng, sizeof(okey_rec), cmp_okey_first);
    back = malloc(sizeof(okey_rec) * (size_t)(ng ? ng : 1));
    bdest = malloc(sizeof(int) * (size_t)(ng ? ng : 1));
    if (!back || !bdest) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    TRY(precis_agree(c->comm, e));
    for (int64_t a = 0, b; a < ng; a = b) {
        const okey_rec *f0 = &got[a];
        for (b = a + 1; b < ng && got[b].order_key == f0->order_key; b++) {
            if (got[b].key == f0->key && got[b].key_lo == f0->key_lo) continue;
            back[nb] = got[b];
            bdest[nb++] = slots_owner(slots_of(got[b].key, c->o.slots), c->o.slots, c->size);
        }
    }
    TRY(shuffle_exchange(c->comm, back, nb, sizeof(okey_rec), bdest, 0, (void **)&ret, &nback, e));
    /* each returned row is found by its sort key: rows are sorted by
     * (slot, customer_key, customer_key_lo, ts, src) and src is unique */
    for (int64_t i = 0; i < nback; i++) {
        crow probe;
        probe.key = ret[i].key;
        probe.key_lo = ret[i].key_lo;
        probe.ts = ret[i].ts;
        probe.src = ret[i].src;
        crow *r = bsearch(&probe, t->rows, (size_t)t->n, sizeof(crow), cmp_keyed);
        CHECK(r && r->state == ST_KEEP, e, PRECIS_EXIT_INTERNAL, "order conflict: a returned row is not on its slot owner");
        r->state = ST_REJECTED;
        t->rejected[R_ORDER_CONFLICT]++;
        textbuf_printf(&t->late, "%lld\t", (long long)r->src);
        const char *path = t->files.path[SRC_FILE(r->src)];
        uint64_t line_hash = 0;
        if (late_line_hash(c, t, path, r, &line_hash, e) ||
            quar_line(c, T_TRANS, &t->late, path, r, SRC_OFF(r->src), line_hash, R_ORDER_CONFLICT, 0, ALL_PARSED, 1))
            goto fail;
    }
    rc = 0;
fail:
    free(rep); free(set); free(cand); free(cdest); free(got); free(back); free(bdest); free(ret);
    late_close(c);
    return rc;
}

typedef struct ckey {
    uint64_t key, key_lo;
} ckey;

static int cmp_ckey(const void *a, const void *b)
{
    const ckey *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->key_lo < y->key_lo ? -1 : x->key_lo > y->key_lo;
}

/* rows of customers absent from the customers table (same rank: same slot) */
static int count_orphans(ctx *c, precis_err *e)
{
    table *cu = &c->t[T_CUST];
    if (!cu->present) return 0;
    ckey *k = malloc(sizeof(ckey) * (size_t)(cu->n ? cu->n : 1));
    if (!k) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    int64_t n = 0;
    for (int64_t i = 0; i < cu->n; i++)
        if (cu->rows[i].state == ST_KEEP) k[n++] = (ckey){cu->rows[i].key, cu->rows[i].key_lo};
    qsort(k, (size_t)n, sizeof(ckey), cmp_ckey);
    for (int ti = T_TRANS; ti < T_N; ti++) {
        table *t = &c->t[ti];
        if (!TD[ti].keyed || !t->present) continue;
        for (int64_t i = 0; i < t->n; i++) {
            crow *r = &t->rows[i];
            ckey q = {r->key, r->key_lo};
            if ((r->state == ST_KEEP || r->state == ST_REPEAT) && !bsearch(&q, k, (size_t)n, sizeof(ckey), cmp_ckey))
                t->orphans++;
        }
    }
    free(k);
    return 0;
}

static int is_clean(const crow *r) { return r->state == ST_KEEP || r->state == ST_REPEAT; }

/* Row r's value of column k goes into the column's quantiles and mean. */
static int has_value(const crow *r, int k) { return is_clean(r) && !(r->missing & (1u << k)); }

/* Impute column k of row r, or flag, winsorise or drop it as an outlier. */
static void apply_col(ctx *c, table *t, int k, int s, int outl, double fill, crow *r)
{
    if (!is_clean(r)) return;
    if (r->missing & (1u << k)) {
        if (!isnan(fill)) {
            r->num[s] = fill;
            r->flags |= FL_IMPUTED;
            t->col[k].imputed++;
        } else {
            r->num[s] = NAN; /* --impute none: NaN marks the missing value */
        }
        return;
    }
    if (outl && t->has_bounds[s] && (r->num[s] < t->lo_bound[s] || r->num[s] > t->hi_bound[s])) {
        t->col[k].outliers++;
        if (!strcmp(c->o.outliers, "flag")) r->flags |= FL_OUTLIER;
        else if (!strcmp(c->o.outliers, "winsorize")) {
            r->flags |= FL_OUTLIER;
            r->num[s] = r->num[s] < t->lo_bound[s] ? t->lo_bound[s] : t->hi_bound[s];
        } else {
            r->state = ST_DROPPED;
            t->dropped++;
        }
    }
}

/* The outlier rule is for transactions' quantity (num[0]) and amount (num[2]). */
static int has_outlier_rule(int ti, int s) { return ti == T_TRANS && (s == 0 || s == 2); }

/* Column k's rule from its values v[0..n) on this rank (the clean rows with
 * a value), which it takes: its bounds (amount and quantity of
 * transactions) and its fill value (median or mean; NaN for none) into t.
 * v becomes the quantile keys. */
static int column_rule(ctx *c, int ti, int k, double *v, int64_t n, precis_err *e)
{
    table *t = &c->t[ti];
    int s = TD[ti].f[k].idx;
    int outl = has_outlier_rule(ti, s), median = !strcmp(c->o.impute, "median");
    double *fill = &t->impute_value[s];
    *fill = NAN;
    if (!strcmp(c->o.impute, "mean")) {
        double sum;
        int64_t N = 0;
        MPI_CHECK(MPI_Allreduce(&n, &N, 1, MPI_INT64_T, MPI_SUM, c->comm), e);
        if (reduce_sum(c->comm, v, n, &sum, e)) return -1;
        *fill = N ? sum / (double)N : NAN;
    }
    if (outl || median) { /* Q1, Q3 and the median in one selection */
        const double qs[3] = {0.25, 0.75, 0.5};
        double qv[3];
        quantile_set qset;
        if (quantile_set_adopt(c->comm, v, n, &qset, e)) return -1;
        int qrc = outl ? quantile_set_linear(&qset, median ? 3 : 2, qs, qv, e)
                       : quantile_set_linear(&qset, 1, qs + 2, qv + 2, e);
        int64_t N = qset.N;
        quantile_set_free(&qset);
        if (qrc) return -1;
        if (outl && N > 0) {
            double iqr = qv[1] - qv[0];
            t->lo_bound[s] = qv[0] - 3.0 * iqr;
            t->hi_bound[s] = qv[1] + 3.0 * iqr;
            t->has_bounds[s] = 1;
        }
        if (median) *fill = qv[2];
    }
    return 0;
fail:
    return -1;
}

/* Outliers (amount, quantity) and imputation (numeric optional fields):
 * quantiles over the clean rows with a value, then imputation and
 * outliers.
 * - Flagged or winsorised outliers leave every row where it was, so one
 *   scan collects every column's values and one more applies every
 *   column's rule: two scans of the rows for any number of columns.
 * - Dropped ones take their rows out of the next column's values, so the
 *   columns go one by one in field order; a column's scan that applies its
 *   rule also collects the next column's values (after this column's rows
 *   are dropped, as a scan of its own would see them): k + 1 scans. */
static int outliers_and_impute(ctx *c, int ti, precis_err *e)
{
    table *t = &c->t[ti];
    int ks[10], sk[10], nk = 0, rc = -1;
    for (int k = 0; k < TD[ti].nf; k++)
        if (TD[ti].f[k].type == F_NUM && t->have_col[k]) sk[nk] = TD[ti].f[k].idx, ks[nk++] = k;
    if (nk == 0) return 0;
    int together = strcmp(c->o.outliers, "drop") != 0 || nk == 1;
    double *v[10] = {0};
    int64_t n[10] = {0};
    int ok = 1;
    for (int j = 0; j < (together ? nk : 1); j++)
        if (!(v[j] = hugemem_alloc(sizeof(double) * (size_t)(t->n ? t->n : 1)))) ok = 0;
    if (!ok) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory for the values of %s", TD[ti].name);
    if (precis_agree(c->comm, e)) goto fail;   /* before the quantiles' collectives */
    for (int64_t i = 0; i < t->n; i++)
        for (int j = 0; j < (together ? nk : 1); j++)
            if (has_value(&t->rows[i], ks[j])) v[j][n[j]++] = t->rows[i].num[sk[j]];
    if (together) {
        for (int j = 0; j < nk; j++) {
            TRY(column_rule(c, ti, ks[j], v[j], n[j], e));
            hugemem_free(v[j]);   /* its pages go to the next column's selection */
            v[j] = NULL;
        }
        for (int64_t i = 0; i < t->n; i++)
            for (int j = 0; j < nk; j++) apply_col(c, t, ks[j], sk[j], has_outlier_rule(ti, sk[j]), t->impute_value[sk[j]], &t->rows[i]);
    } else {
        for (int j = 0; j < nk; j++) {
            TRY(column_rule(c, ti, ks[j], v[0], n[0], e));
            int next = j + 1 < nk ? ks[j + 1] : -1;
            n[0] = 0;
            for (int64_t i = 0; i < t->n; i++) {
                crow *r = &t->rows[i];
                apply_col(c, t, ks[j], sk[j], has_outlier_rule(ti, sk[j]), t->impute_value[sk[j]], r);
                if (next >= 0 && has_value(r, next)) v[0][n[0]++] = r->num[sk[j + 1]];
            }
        }
    }
    rc = 0;
fail:
    for (int j = 0; j < nk; j++) hugemem_free(v[j]);
    return rc;
}

/* ------------------------------------------------------- statistics */

enum { NC = 10, NS = 4 + R_N + 7 + NC * 6 };

/* Everything the report needs from a table's clean rows, from one scan of
 * them (the rows are wide: each scan costs as much as the work in it), then
 * reduced over ranks. */
typedef struct tstats {
    int64_t g[NS];          /* counters (table_counts layout), summed */
    int64_t latest;         /* max ts, INT64_MIN when none */
    int64_t ids;            /* distinct customer keys */
    int64_t n[NC];          /* numeric, date columns: values */
    double mn[NC], mx[NC], sum[NC], sum2[NC];
    int64_t distinct[NC];   /* categorical columns */
} tstats;

static double stat_value(const fdef *f, const crow *r, int *ok)
{
    double x = f->type == F_NUM ? r->num[f->idx] : f->type == F_TS ? (double)r->ts : (double)r->cat[BIRTH_CAT];
    *ok = !((f->type == F_TS && r->ts == TS_MISSING) || (f->type == F_BIRTH && !r->cat[BIRTH_CAT]) || isnan(x));
    return x;
}

static int table_stats(ctx *c, int ti, tstats *st, precis_err *e)
{
    table *t = &c->t[ti];
    const tdef *td = &TD[ti];
    int64_t l[NS] = {0}, clean = 0, rej = 0, latest = INT64_MIN, ids = 0, n[NC] = {0};
    double mn[NC], mx[NC];
    racc *acc = calloc(2 * NC, sizeof(racc));
    rlanes *lanes = malloc(2 * NC * sizeof(rlanes));   /* sums of x and x^2 per column, staged */
    unsigned char *seen[NC] = {0}, *gseen = NULL;
    int isnum[NC] = {0}, iscat[NC] = {0}, rc = -1;
    int32_t maxd = 1;
    CHECK(acc && lanes, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int k = 0; k < td->nf; k++) {
        const fdef *f = &td->f[k];
        if (!t->have_col[k]) continue;
        isnum[k] = f->type == F_NUM || f->type == F_TS || f->type == F_BIRTH;
        iscat[k] = f->type == F_CAT;
        mn[k] = INFINITY;
        mx[k] = -INFINITY;
        racc_init(&acc[2 * k]);
        racc_init(&acc[2 * k + 1]);
        rlanes_init(&lanes[2 * k], &acc[2 * k]);
        rlanes_init(&lanes[2 * k + 1], &acc[2 * k + 1]);
        if (iscat[k]) {
            int32_t nd = c->dict[f->dict].nglobal;
            if (nd > maxd) maxd = nd;
            seen[k] = calloc((size_t)(nd ? nd : 1), 1);
            CHECK(seen[k], e, PRECIS_EXIT_INTERNAL, "out of memory");
        }
    }
    for (int64_t i = 0, last = -1; i < t->n; i++) {
        const crow *r = &t->rows[i];
        if (!is_clean(r)) continue;
        clean++;
        if (r->ts > latest) latest = r->ts;
        if (last < 0 || r->key != t->rows[last].key || r->key_lo != t->rows[last].key_lo) ids++;
        last = i;
        for (int k = 0; k < td->nf; k++) {
            if (iscat[k]) seen[k][r->cat[td->f[k].idx]] = 1;
            if (!isnum[k]) continue;
            int ok;
            double x = stat_value(&td->f[k], r, &ok);
            if (!ok) continue;
            rlanes_add(&lanes[2 * k], x);
            rlanes_add(&lanes[2 * k + 1], x * x);
            mn[k] = x < mn[k] ? x : mn[k];
            mx[k] = x > mx[k] ? x : mx[k];
            n[k]++;
        }
    }
    for (int k = 0; k < td->nf; k++) {
        if (!isnum[k]) continue;
        rlanes_flush(&lanes[2 * k]);
        rlanes_flush(&lanes[2 * k + 1]);
    }
    for (int r = 1; r < R_N; r++) rej += t->rejected[r];
    l[0] = t->rows_in; l[1] = clean; l[2] = rej; l[3] = t->dups;
    for (int r = 0; r < R_N; r++) l[4 + r] = t->rejected[r];
    int o = 4 + R_N;
    l[o] = t->repeats; l[o + 1] = t->dropped; l[o + 2] = t->orphans; l[o + 3] = t->refunds; l[o + 4] = t->blank;
    l[o + 5] = t->dups_differ;
    for (int k = 0; k < NC; k++) {
        l[o + 7 + 6 * k] = t->col[k].missing;
        l[o + 8 + 6 * k] = t->col[k].invalid;
        l[o + 9 + 6 * k] = t->col[k].imputed;
        l[o + 10 + 6 * k] = t->col[k].outliers;
        l[o + 11 + 6 * k] = t->col[k].tz_gap;
        l[o + 12 + 6 * k] = t->col[k].tz_fold;
    }
    MPI_CHECK(MPI_Allreduce(l, st->g, NS, MPI_INT64_T, MPI_SUM, c->comm), e);
    MPI_CHECK(MPI_Allreduce(&latest, &st->latest, 1, MPI_INT64_T, MPI_MAX, c->comm), e);
    MPI_CHECK(MPI_Allreduce(&ids, &st->ids, 1, MPI_INT64_T, MPI_SUM, c->comm), e);
    gseen = calloc((size_t)maxd, 1);
    CHECK(gseen, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int k = 0; k < td->nf; k++) {
        if (isnum[k]) {
            double sums[2];
            MPI_CHECK(MPI_Allreduce(&mn[k], &st->mn[k], 1, MPI_DOUBLE, MPI_MIN, c->comm), e);
            MPI_CHECK(MPI_Allreduce(&mx[k], &st->mx[k], 1, MPI_DOUBLE, MPI_MAX, c->comm), e);
            MPI_CHECK(MPI_Allreduce(&n[k], &st->n[k], 1, MPI_INT64_T, MPI_SUM, c->comm), e);
            if (reduce_allreduce(c->comm, &acc[2 * k], 2, sums, td->f[k].name, e)) goto fail;
            st->sum[k] = sums[0];
            st->sum2[k] = sums[1];
        }
        if (iscat[k]) {
            int32_t nd = c->dict[td->f[k].dict].nglobal;
            MPI_CHECK(MPI_Allreduce(seen[k], gseen, nd, MPI_UNSIGNED_CHAR, MPI_MAX, c->comm), e);
            st->distinct[k] = 0;
            for (int32_t i = 0; i < nd; i++) st->distinct[k] += gseen[i];
        }
    }
    rc = 0;
fail:
    for (int k = 0; k < NC; k++) free(seen[k]);
    free(gseen);
    free(acc);
    free(lanes);
    return rc;
}

/* min, max, mean, std (exact sums) of numeric or date column k */
static void put_num_stats(const tstats *st, int k, json_t *col)
{
    if (st->n[k] <= 0) return;
    double N = (double)st->n[k], mean = st->sum[k] / N, var = st->sum2[k] / N - mean * mean;
    json_object_set_new(col, "min", json_real(st->mn[k]));
    json_object_set_new(col, "max", json_real(st->mx[k]));
    json_object_set_new(col, "mean", json_real(mean));
    json_object_set_new(col, "std", json_real(sqrt(var > 0 ? var : 0)));
}

static int build_quality(ctx *c, json_t *root, int64_t *tot_in, int64_t *tot_rej, precis_err *e)
{
    json_t *tabs = json_object();
    json_object_set_new(root, "tables", tabs);
    *tot_in = *tot_rej = 0;
    for (int ti = 0; ti < T_N; ti++) {
        table *t = &c->t[ti];
        if (!t->present) continue;
        tstats *st = malloc(sizeof *st);
        if (!st) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        if (table_stats(c, ti, st, e)) { free(st); return -1; }
        const int64_t *g = st->g;
        int o = 4 + R_N;
        *tot_in += g[0];
        *tot_rej += g[2];
        json_t *tj = json_object(), *rj = json_object(), *cols = json_object(), *files = json_array();
        for (int i = 0; i < t->files.n; i++) json_array_append_new(files, json_string(t->files.path[i]));
        json_object_set_new(tj, "files", files);
        json_object_set_new(tj, "rows_in", json_integer(g[0]));
        json_object_set_new(tj, "rows_clean", json_integer(g[1]));
        json_object_set_new(tj, "rows_rejected", json_integer(g[2]));
        json_object_set_new(tj, "rows_duplicate", json_integer(g[3]));
        json_object_set_new(tj, "rows_duplicate_differing", json_integer(g[o + 5]));
        json_object_set_new(tj, "rows_dropped_outlier", json_integer(g[o + 1]));
        json_object_set_new(tj, "rows_identical_kept", json_integer(g[o]));
        json_object_set_new(tj, "orphans", json_integer(g[o + 2]));
        json_object_set_new(tj, "refunds", json_integer(g[o + 3]));
        json_object_set_new(tj, "blank_lines", json_integer(g[o + 4]));
        json_object_set_new(tj, "conserved", json_boolean(g[0] == g[1] + g[2] + g[3] + g[o + 1]));
        for (int r = 1; r < R_N; r++)
            if (g[4 + r]) json_object_set_new(rj, reason_names[r], json_integer(g[4 + r]));
        json_object_set_new(tj, "rejected_by_reason", rj);
        if (st->latest != INT64_MIN) json_object_set_new(tj, "latest_ts", json_integer(st->latest));
        for (int k = 0; k < TD[ti].nf; k++) {
            const fdef *f = &TD[ti].f[k];
            if (f->type == F_DROP || !t->have_col[k]) continue;
            json_t *cj = json_object();
            int64_t in = g[0] ? g[0] : 1;
            json_object_set_new(cj, "missing", json_integer(g[o + 7 + 6 * k]));
            json_object_set_new(cj, "missing_rate", json_real((double)g[o + 7 + 6 * k] / (double)in));
            json_object_set_new(cj, "invalid", json_integer(g[o + 8 + 6 * k]));
            json_object_set_new(cj, "invalid_rate", json_real((double)g[o + 8 + 6 * k] / (double)in));
            json_object_set_new(cj, "imputed", json_integer(g[o + 9 + 6 * k]));
            if (f->type == F_NUM || f->type == F_TS || f->type == F_BIRTH) put_num_stats(st, k, cj);
            if (f->type == F_NUM && t->has_bounds[f->idx]) {
                json_object_set_new(cj, "outliers", json_integer(g[o + 10 + 6 * k]));
                json_object_set_new(cj, "outlier_rate", json_real((double)g[o + 10 + 6 * k] / (double)(g[1] ? g[1] : 1)));
                json_object_set_new(cj, "outlier_bounds", json_pack("[f, f]", t->lo_bound[f->idx], t->hi_bound[f->idx]));
            }
            if (f->type == F_NUM && !isnan(t->impute_value[f->idx]) && strcmp(c->o.impute, "none"))
                json_object_set_new(cj, "imputed_with", json_real(t->impute_value[f->idx]));
            if (f->type == F_TS || f->type == F_BIRTH) {
                int df = t->fmt[date_index(f)];
                json_object_set_new(cj, "date_format", json_string(df == DF_CUSTOM ? c->dspec[ti][date_index(f)].text : datefmt_names[df]));
                if (c->date_hint[ti][date_index(f)][0]) json_object_set_new(cj, "date_hint", json_string(c->date_hint[ti][date_index(f)]));
                json_object_set_new(cj, "tz_nonexistent", json_integer(g[o + 11 + 6 * k]));
                json_object_set_new(cj, "tz_ambiguous", json_integer(g[o + 12 + 6 * k]));
                if (g[o + 11 + 6 * k] || g[o + 12 + 6 * k])
                    LOG_WARN("%s.%s: %lld local times fall where %s's clocks skip forward (read with the offset in force before the change) and %lld where they repeat (the earlier instant taken)",
                             TD[ti].name, f->name, (long long)g[o + 11 + 6 * k], c->o.tz, (long long)g[o + 12 + 6 * k]);
            }
            if (f->type == F_CAT) json_object_set_new(cj, "distinct", json_integer(st->distinct[k]));
            if (f->type == F_ID) json_object_set_new(cj, "distinct", json_integer(st->ids));
            json_object_set_new(cols, f->name, cj);
        }
        free(st);
        json_object_set_new(tj, "columns", cols);
        json_object_set_new(tabs, TD[ti].name, tj);
    }
    double rate = *tot_in ? (double)*tot_rej / (double)*tot_in : 0.0;
    json_object_set_new(root, "rows_in", json_integer(*tot_in));
    json_object_set_new(root, "rows_rejected", json_integer(*tot_rej));
    json_object_set_new(root, "reject_rate", json_real(rate));
    json_object_set_new(root, "max_reject_rate", json_real(c->o.max_reject));
    json_object_set_new(root, "tz", json_string(c->o.tz));
    if (c->tz.named) json_object_set_new(root, "tzdata", json_string(c->tz.version));
    json_object_set_new(root, "key_fingerprint", json_string(c->fp));
    return 0;
}

static void print_quality(ctx *c, json_t *q)
{
    if (c->rank != 0) return;
    fprintf(stderr, "%-13s %10s %10s %9s %9s %8s %8s  %s\n", "table", "rows_in", "clean", "rejected", "dupes",
            "orphans", "refunds", "latest (lag)");
    const char *name;
    json_t *tj;
    time_t now = time(NULL);
    json_object_foreach(json_object_get(q, "tables"), name, tj) {
        char when[64] = "-";
        json_t *lt = json_object_get(tj, "latest_ts");
        if (lt) {
            char d[32];
            tu_format_datetime(json_integer_value(lt), d, sizeof d);
            snprintf(when, sizeof when, "%s (%.0f d)", d, difftime(now, (time_t)json_integer_value(lt)) / 86400.0);
        }
        fprintf(stderr, "%-13s %10lld %10lld %9lld %9lld %8lld %8lld  %s\n", name,
                (long long)json_integer_value(json_object_get(tj, "rows_in")),
                (long long)json_integer_value(json_object_get(tj, "rows_clean")),
                (long long)json_integer_value(json_object_get(tj, "rows_rejected")),
                (long long)json_integer_value(json_object_get(tj, "rows_duplicate")),
                (long long)json_integer_value(json_object_get(tj, "orphans")),
                (long long)json_integer_value(json_object_get(tj, "refunds")), when);
        const char *rn;
        json_t *rv;
        json_object_foreach(json_object_get(tj, "rejected_by_reason"), rn, rv)
            fprintf(stderr, "%13s   rejected %-16s %lld\n", "", rn, (long long)json_integer_value(rv));
        long long differ = (long long)json_integer_value(json_object_get(tj, "rows_duplicate_differing"));
        if (differ > 0) fprintf(stderr, "%13s   %-25s %lld (unlike the row kept)\n", "", "differing dupes", differ);
        json_object_foreach(json_object_get(tj, "columns"), rn, rv) {
            long long bad = (long long)json_integer_value(json_object_get(rv, "invalid"));
            if (bad > 0) fprintf(stderr, "%13s   invalid  %-16s %lld (row kept, value as missing)\n", "", rn, bad);
        }
    }
    fprintf(stderr, "reject rate %.4f (limit %.4f)\n", json_real_value(json_object_get(q, "reject_rate")), c->o.max_reject);
}

/* ------------------------------------------------------------ output */

static int cmp_late(const void *a, const void *b)
{
    long long x = atoll(*(char *const *)a), y = atoll(*(char *const *)b);
    return x < y ? -1 : x > y;
}

/* quarantine/<table>.csv: parse-time rejects in input order (rank order),
 * then late rejects (conflicts) gathered on the last rank, by source. */
static int write_quarantine(ctx *c, int ti, const char *dir, precis_err *e)
{
    table *t = &c->t[ti];
    int *lens = NULL, *displs = NULL, n = (int)t->late.n, rc = -1;
    char *all = NULL, **lines = NULL;
    int root = c->size - 1;
    if (c->rank == root) {
        lens = calloc((size_t)c->size, sizeof(int));
        displs = calloc((size_t)c->size, sizeof(int));
        CHECK(lens && displs, e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    MPI_CHECK(MPI_Gather(&n, 1, MPI_INT, lens, 1, MPI_INT, root, c->comm), e);
    int64_t tot = 0;
    if (c->rank == root) {
        for (int q = 0; q < c->size; q++) displs[q] = (int)tot, tot += lens[q];
        all = malloc((size_t)tot + 1);
        CHECK(all, e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    MPI_CHECK(MPI_Gatherv(t->late.p ? t->late.p : "", n, MPI_CHAR, all, lens, displs, MPI_CHAR, root, c->comm), e);
    if (c->rank == root && tot > 0) {
        all[tot] = '\0';
        int64_t nl = 0;
        for (int64_t i = 0; i < tot; i++) nl += all[i] == '\n';
        lines = malloc(sizeof(char *) * (size_t)nl);
        CHECK(lines, e, PRECIS_EXIT_INTERNAL, "out of memory");
        int64_t k = 0;
        for (char *p = all; *p; ) {
            char *q = strchr(p, '\n');
            *q = '\0';
            lines[k++] = p;
            p = q + 1;
        }
        qsort(lines, (size_t)nl, sizeof(char *), cmp_late);
        for (int64_t i = 0; i < nl; i++) {
            char *tab = strchr(lines[i], '\t');
            textbuf_printf(&t->quar, "%s\n", tab + 1);
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/%s.csv", dir, TD[ti].name);
    rc = textout_write(c->comm, path, &t->quar, e);
fail:
    free(lens); free(displs); free(all); free(lines);
    return rc;
}

/* One output column of a table: what it holds, how wide and how stored. */
enum { W_KEY, W_KEY_LO, W_ORDER, W_TOK, W_CAT, W_NUM, W_TS, W_BIRTH, W_FLAGS };
typedef struct wcol {
    const char *name;
    hid_t type;
    size_t width;
    int filter, what, idx;
} wcol;

/* the columns of table ti, in schema order */
static int table_columns(const ctx *c, int ti, wcol *w)
{
    const tdef *td = &TD[ti];
    int n = 0;
    if (td->keyed) { /* customers: one row per key, nothing to compress; the
                      * others repeat a customer's key on its rows: runs of whole values */
        int fk = ti == T_CUST ? H5IO_RAW : H5IO_DEFLATE;
        w[n++] = (wcol){"customer_key", H5T_NATIVE_UINT64, 8, fk, W_KEY, 0};
        w[n++] = (wcol){"customer_key_lo", H5T_NATIVE_UINT64, 8, fk, W_KEY_LO, 0};
    }
    for (int k = 0; k < td->nf; k++) {
        const fdef *fd = &td->f[k];
        int s = fd->idx;
        switch (fd->type) {
        case F_ORDER:   /* keyed hashes, one per order: deflate would not shrink them */
            if (c->t[ti].has_order) w[n++] = (wcol){fd->out, H5T_NATIVE_UINT64, 8, H5IO_RAW, W_ORDER, 0};
            break;
        case F_PHONE:
        case F_EMAIL: w[n++] = (wcol){fd->out, H5T_NATIVE_UINT64, 8, H5IO_SHUFFLE_DEFLATE, W_TOK, s}; break;
        /* codes and timestamps: scale-offset packs them as tightly as
         * shuffle+deflate does, 3-4x faster */
        case F_CAT: w[n++] = (wcol){fd->out, H5T_NATIVE_INT32, 4, H5IO_SCALEOFFSET, W_CAT, s}; break;
        case F_NUM: /* prices and amounts deflate only ~1.6x for 40% of the deflate time: stored raw;
                     * quantities are a few whole values, which deflate alone finds (6 MB of 93,
                     * against 5 MB in 1.6x the time with shuffle first) */
            w[n++] = (wcol){fd->out, H5T_NATIVE_DOUBLE, 8, ti != T_TRANS ? H5IO_SHUFFLE_DEFLATE : s != 0 ? H5IO_RAW : H5IO_DEFLATE, W_NUM, s};
            break;
        case F_TS: w[n++] = (wcol){fd->out, H5T_NATIVE_INT64, 8, H5IO_SCALEOFFSET, W_TS, 0}; break;
        case F_BIRTH: w[n++] = (wcol){fd->out, H5T_NATIVE_INT32, 4, H5IO_SCALEOFFSET, W_BIRTH, 0}; break;
        default: break;
        }
    }
    if (ti == T_TRANS || ti == T_CUST) w[n++] = (wcol){"flags", H5T_NATIVE_UINT8, 1, H5IO_SHUFFLE_DEFLATE, W_FLAGS, 0};
    return n;
}

/* Column w of the rows r[keep[0..m)] into dst: one loop per kind of column. */
static void pack_column(const crow *r, const int32_t *keep, int64_t m, const wcol *w, char *dst)
{
/* (dst need not be aligned for T: memcpy, which compiles to one store) */
#define PACK(T, expr)                                          \
    do {                                                       \
        for (int64_t j = 0; j < m; j++) {                      \
            const crow *x = &r[keep[j]];                       \
            T val = (expr);                                    \
            memcpy(dst + sizeof(T) * (size_t)j, &val, sizeof(T)); \
        }                                                      \
    } while (0)
    switch (w->what) {
    case W_KEY: PACK(uint64_t, x->key); break;
    case W_KEY_LO: PACK(uint64_t, x->key_lo); break;
    case W_ORDER: PACK(uint64_t, x->order_key); break;
    case W_TOK: PACK(uint64_t, x->tok[w->idx]); break;
    case W_CAT: PACK(int32_t, x->cat[w->idx]); break;
    case W_NUM: PACK(double, x->num[w->idx]); break;
    case W_TS: PACK(int64_t, x->ts); break;
    case W_BIRTH: PACK(int32_t, x->cat[BIRTH_CAT]); break;
    case W_FLAGS: PACK(uint8_t, x->flags); break;
    }
#undef PACK
}

#define WB 4096   /* rows per block of the write's packing */

/* Rows per band of a table's write: 2^20, or PRECIS_WRITE_BAND_ROWS (the
 * tests' hook for many bands on small data; h5io rounds it up to whole
 * chunks). */
static int64_t band_rows(void)
{
    const char *v = getenv("PRECIS_WRITE_BAND_ROWS");
    return v && atoll(v) > 0 ? atoll(v) : (int64_t)1 << 20;
}

/* Column w of the packed rows [from, from + count) into dst; the rows of
 * block b are at[b] .. at[b + 1], packed at its start, the column `before`
 * bytes per row in. Returns the end of what it wrote. */
static char *gather_rows(const crow *rows, const int64_t *at, int64_t nb, const wcol *w, size_t before, int64_t from,
                         int64_t count, char *dst)
{
    int64_t lo = 0, hi = nb; /* the block of row `from`: the first whose end is past it */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (at[mid + 1] > from) hi = mid;
        else lo = mid + 1;
    }
    for (int64_t b = lo; count > 0 && b < nb; b++) {
        int64_t mb = at[b + 1] - at[b], i0 = from - at[b], take = mb - i0 < count ? mb - i0 : count;
        memcpy(dst, (const char *)(rows + b * WB) + before * (size_t)mb + w->width * (size_t)i0, w->width * (size_t)take);
        dst += w->width * (size_t)take;
        from += take;
        count -= take;
    }
    return dst;
}

/* The table's last use. Its rows are rewritten in place, one block of WB
 * rows at a time, as the columns of the block's clean rows (a block's
 * columns take less room than its rows). Then the columns are written a
 * band of rows at a time, each gathered from the blocks by copying one
 * contiguous run per block; and the blocks a band used up go back to the
 * kernel at once, so that the page cache the file's bytes need takes the
 * pages just freed. Pages the kernel has had free for a while may have gone
 * back to the hypervisor, and on this VM the first touch of those costs
 * several times a copy: written column after column from the whole table,
 * the uncompressed amount column alone took 0.21-0.22 s at 1 GB, at np=1
 * and at np=2 alike (ranks writing one file wait on each other for its
 * page cache), against 0.03 s in pages freed just before.
 * Bands end on whole chunks (H5IO_CHUNK_ELEMS rows, counted in the file):
 * the rank's first and last partial chunks, shared with its neighbours,
 * go first, in one call on every rank, then its whole chunks band by band
 * (every rank makes as many calls as the rank with the most bands). So no
 * compressed chunk is written twice. */
static int write_table(ctx *c, h5io_file *f, int ti, precis_err *e)
{
    table *t = &c->t[ti];
    const tdef *td = &TD[ti];
    wcol w[16];
    h5io_col col[16];
    int nc = table_columns(c, ti, w), nopen = 0;
    size_t rowbytes = 0, before[16];
    for (int k = 0; k < nc; k++) before[k] = rowbytes, rowbytes += w[k].width;
    int64_t nb = (t->n + WB - 1) / WB, n = 0, lo = 0, hi = 0;
    int64_t *at = malloc(sizeof(int64_t) * (size_t)(nb + 1)), *offs = NULL, *cnt = NULL;
    crow *tmp = malloc(sizeof(crow) * WB);
    int32_t keep[WB];
    char *buf = NULL, path[256];
    CHECK(rowbytes <= sizeof(crow), e, PRECIS_EXIT_INTERNAL, "internal: %s has %zu bytes of columns per row", td->name, rowbytes);
    CHECK(at && tmp, e, PRECIS_EXIT_INTERNAL, "out of memory");
    at[0] = 0;
    for (int64_t b = 0; b < nb; b++) {
        crow *blk = t->rows + b * WB;
        int64_t len = t->n - b * WB < WB ? t->n - b * WB : WB, m = 0;
        memcpy(tmp, blk, sizeof(crow) * (size_t)len);
        for (int64_t i = 0; i < len; i++)
            if (is_clean(&tmp[i])) keep[m++] = (int32_t)i;
        for (int k = 0; k < nc; k++) pack_column(tmp, keep, m, &w[k], (char *)blk + before[k] * (size_t)m);
        at[b + 1] = at[b] + m;
    }
    n = at[nb];
    free(tmp);
    tmp = NULL;
    /* a call's rows: a band, or two partial chunks (h5io_col_bands) */
    const int64_t room = n < band_rows() + 2 * (int64_t)H5IO_CHUNK_ELEMS ? n : band_rows() + 2 * (int64_t)H5IO_CHUNK_ELEMS;
    buf = hugemem_alloc(8 * (size_t)(room ? room : 1));
    if (td->keyed) {
        slots_range(c->rank, c->size, c->o.slots, &lo, &hi);
        offs = malloc(sizeof(int64_t) * (size_t)(hi - lo + 1));
        cnt = calloc((size_t)(hi - lo + 1), sizeof(int64_t));
        if (!offs || !cnt) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    if (!buf) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    TRY(precis_agree(c->comm, e));   /* (no rank leaves the collective calls below on its own) */
    /* No hugemem_alloc is left in this table's write: the blocks hugemem
     * keeps for reuse go back to the kernel now, for the file's page cache
     * too. */
    hugemem_release();
    for (int k = 0; k < nc; k++) {
        snprintf(path, sizeof path, "/%s/%s", td->name, w[k].name);
        h5io_set_filter(f, w[k].filter);
        if (h5io_col_begin(f, path, w[k].type, n, &col[k], e)) goto fail;
        nopen++;
    }
    h5io_set_filter(f, H5IO_SHUFFLE_DEFLATE);
    h5io_bands plan;
    TRY(h5io_col_bands(&col[0], band_rows(), &plan, e));
    int64_t stray = 0;   /* key-column rows outside this rank's slots: none, or a bug */
    for (int64_t j = -1; j < plan.n; j++) {
        int64_t from[2], count[2];
        int nr = h5io_band_ranges(&plan, n, j, from, count);
        for (int k = 0; k < nc; k++) {
            char *d = buf;
            for (int r = 0; r < nr; r++) d = gather_rows(t->rows, at, nb, &w[k], before[k], from[r], count[r], d);
            if (k == 0 && td->keyed) { /* the key column: its rows per slot, for slot_offsets */
                int64_t rows = (d - buf) / 8;
                for (int64_t i = 0; i < rows; i++) {
                    uint64_t key;
                    memcpy(&key, buf + 8 * (size_t)i, 8);
                    int64_t s = slots_of(key, c->o.slots);
                    if (s >= lo && s < hi) cnt[s - lo]++;
                    else stray++;
                }
            }
            if (h5io_col_put(&col[k], buf, nr, from, count, e)) goto fail;
        }
        if (j >= 0 && count[0] > 0) { /* the blocks whose rows are all written now */
            int64_t done = from[0] + count[0], b = 0;
            while (b < nb && at[b + 1] <= done) b++;
            hugemem_discard(t->rows, 0, sizeof(crow) * WB * (size_t)b);
        }
    }
    for (int k = 0; k < nc; k++) h5io_col_end(&col[k]);
    nopen = 0;
    snprintf(path, sizeof path, "/%s", td->name);
    if (stray) PERR(e, PRECIS_EXIT_INTERNAL, "internal: %lld %s rows on rank %d are not of its slots %lld-%lld", (long long)stray,
                    td->name, c->rank, (long long)lo, (long long)hi - 1);
    TRY(precis_agree(c->comm, e));
    if (td->keyed) {
        offs[0] = col[0].off;
        for (int64_t s = lo; s < hi; s++) offs[s - lo + 1] = offs[s - lo] + cnt[s - lo];
        TRY(h5io_write_slot_offsets(f, path, lo, hi, offs, e));
        TRY(h5io_attr_set_i64(f, path, "slots", c->o.slots, e));
    }
    TRY(h5io_attr_set_i64(f, path, "rows", col[0].total, e));
    TRY(h5io_attr_set_str(f, path, "sort", td->keyed ? "slot,customer_key,customer_key_lo,ts,source" : "week_start,channel,campaign,source", e));
    hugemem_free(buf); free(offs); free(cnt); free(at);
    t->n = 0;   /* the rows are columns now */
    return 0;
fail:
    for (int k = 0; k < nopen; k++) h5io_col_end(&col[k]);
    hugemem_free(buf); free(offs); free(cnt); free(at); free(tmp);
    t->n = 0;
    return -1;
}

static int write_clean(ctx *c, const char *params, const char *inputs, const char *report, precis_err *e)
{
    h5io_file *f = NULL;
    TRY(h5io_create(c->comm, c->o.out, &f, e));
    TRY(h5io_set_provenance(f, "clean", params, inputs, c->fp, e));
    TRY(h5io_attr_set_str(f, "/", "tz", c->o.tz, e));
    if (c->tz.named) TRY(h5io_attr_set_str(f, "/", "tzdata", c->tz.version, e));
    TRY(h5io_attr_set_i64(f, "/", "slots", c->o.slots, e));
    for (int ti = 0; ti < T_N; ti++)
        if (c->t[ti].present) TRY(write_table(c, f, ti, e));
    for (int d = 0; d < D_N; d++) {
        char path[64];
        snprintf(path, sizeof path, "/dict/%s", dict_names[d]);
        if (c->dict[d].nglobal > 0)
            TRY(h5io_write_strings(f, path, (const char *const *)c->dict[d].global, c->rank == 0 ? c->dict[d].nglobal : 0, e));
    }
    const char *rep[1] = {report};
    TRY(h5io_write_strings(f, "/quality/report", rep, c->rank == 0 ? 1 : 0, e));
    TRY(h5io_attr_set_str(f, "/quality", "format", "JSON, as quality.json", e));
    int rc = h5io_commit(f, e);
    f = NULL;
    return rc;
fail:
    if (f) h5io_abort(f);
    return -1;
}

/* One --date-format value v (auto, a format's name or a pattern) for table
 * ti's date index di. */
static int set_date_format(ctx *c, int ti, int di, const char *v, const char *given, precis_err *e)
{
    char msg[400];
    if (!strcmp(v, "auto")) c->dfmt[ti][di] = -1;
    else if ((c->dfmt[ti][di] = datefmt_from_name(v)) >= 0) (void)0;
    else if (!strchr(v, '%'))
        return PERR(e, PRECIS_EXIT_USAGE, "option --date-format: '%s' is not auto, iso, yyyymmdd, yyyy/mm/dd, epoch, epoch_ms, a pattern "
                                          "with %%Y, %%m, %%d ..., or table.column=one of those", given);
    else if (datefmt_compile(v, &c->dspec[ti][di], msg, sizeof msg))
        return PERR(e, PRECIS_EXIT_USAGE, "option --date-format: %s", msg);
    else c->dfmt[ti][di] = DF_CUSTOM;
    return 0;
}

/* --na-values-for table.column=LIST: that column reads LIST (na_parse's
 * syntax; '' for none) instead of --na-values; one list per column. */
static int na_for_option(ctx *c, precis_err *e)
{
    for (int ti = 0; ti < T_N; ti++)
        for (int k = 0; k < 10; k++) c->na_of[ti][k] = &c->na;
    for (int i = 0; i < c->o.na_for.n; i++) {
        const char *v = c->o.na_for.v[i], *list;
        int ti, k;
        if (!(list = column_spec(v, &ti, &k)))
            return PERR(e, PRECIS_EXIT_USAGE, "option --na-values-for: '%s' is not table.column=LIST with a known table and column", v);
        if (c->na_of[ti][k] != &c->na)
            return PERR(e, PRECIS_EXIT_USAGE, "option --na-values-for: %s.%s is given twice", TD[ti].name, TD[ti].f[k].name);
        char where[160];
        snprintf(where, sizeof where, "option --na-values-for %s.%s", TD[ti].name, TD[ti].f[k].name);
        if (na_parse(list, where, &c->na_col[ti][k], e)) return -1;
        c->na_of[ti][k] = &c->na_col[ti][k];
    }
    return 0;
}

/* --encoding-for table=ENCODING: that table's files are read in ENCODING
 * instead of --encoding (an export of SQL Server's bcp -w, UTF-16LE
 * without a byte-order mark, beside UTF-8 ones); one per table. */
static int encoding_for_option(ctx *c, precis_err *e)
{
    for (int ti = 0; ti < T_N; ti++) c->enc_of[ti] = c->o.encoding;
    for (int i = 0; i < c->o.enc_for.n; i++) {
        const char *v = c->o.enc_for.v[i], *enc = NULL;
        int ti = 0;
        while (ti < T_N && !(enc = table_value(v, ti))) ti++;
        if (!enc || !enc[0])
            return PERR(e, PRECIS_EXIT_USAGE, "option --encoding-for: '%s' is not table=ENCODING with a table of transactions, "
                        "customers, touchpoints, spend or experiments", v);
        if (c->enc_of[ti] != c->o.encoding)
            return PERR(e, PRECIS_EXIT_USAGE, "option --encoding-for: %s is given twice", TD[ti].name);
        if (!spool_is_unicode(enc)) { /* (the CSV reader checks that it is ASCII-compatible) */
            iconv_t cd = iconv_open("UTF-8", enc);
            if (cd == (iconv_t)-1)
                return PERR(e, PRECIS_EXIT_USAGE, "option --encoding-for %s: '%s' is not an encoding this system's iconv knows",
                            TD[ti].name, enc);
            iconv_close(cd);
        }
        c->enc_of[ti] = enc;
    }
    return 0;
}

/* --date-format, repeatable: FORMAT for every date column, and
 * table.column=FORMAT for one (which wins, in whatever order they come) */
static int date_format_option(ctx *c, precis_err *e)
{
    const opt_list *l = &c->o.date_format;
    int global = -1;
    for (int ti = 0; ti < T_N; ti++) c->dfmt[ti][0] = c->dfmt[ti][1] = -1;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < l->n; i++) {
            const char *v = l->v[i], *eq = strchr(v, '=');
            int col = eq && !memchr(v, '%', (size_t)(eq - v));   /* table.column=... */
            if (col != pass) continue;
            if (!col) {
                if (global >= 0)
                    return PERR(e, PRECIS_EXIT_USAGE, "option --date-format: '%s' and '%s' both name the format of every date column "
                                                      "(give table.column=FORMAT for one column)", l->v[global], v);
                global = i;
                for (int ti = 0; ti < T_N; ti++)
                    for (int di = 0; di < 2; di++) TRY(set_date_format(c, ti, di, v, v, e));
                continue;
            }
            int ti, k;
            if (column_spec(v, &ti, &k) && date_index(&TD[ti].f[k]) >= 0)
                TRY(set_date_format(c, ti, date_index(&TD[ti].f[k]), eq + 1, v, e));
            else
                return PERR(e, PRECIS_EXIT_USAGE, "option --date-format: '%.*s' is not a date column (transactions.ts, customers.birth_date, "
                                                  "customers.signup_ts, touchpoints.ts, spend.week_start)", (int)(eq - v), v);
        }
    return 0;
fail:
    return -1;
}

/* ------------------------------------------------------------ driver */

/* The files of table ti in directory dir: its <table>*.csv, plain or
 * compressed (<table>*.csv.gz, .zst, .xz, .bz2, .lz4), or else, when the directory
 * is the table's own (given for the table, or dir/<table> of --in, as Spark
 * writes one directory of part-*.csv per table), its *.csv, plain or
 * compressed. */
static int table_dir_files(int ti, const char *dir, int own, inputs_list *l, precis_err *e)
{
    char pat[INPUTS_PATTERN_CAP], any[INPUTS_PATTERN_CAP];
    inputs_csv_pattern(pat, sizeof pat, TD[ti].name);
    inputs_csv_pattern(any, sizeof any, "");
    if (inputs_expand(dir, pat, 1, l, e)) return -1;
    if (l->n == 0 && own && inputs_expand(dir, any, 1, l, e)) return -1;
    if (l->n == 0 && !own) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%.4000s/%s", dir, TD[ti].name);
        if (inputs_is_dir(sub)) return table_dir_files(ti, sub, 1, l, e);
    }
    return 0;
}

/* No output may replace an input, nor be read as one by the next run:
 * --out, the quality.json beside it and each quarantine file must be no
 * input file, and the quarantine directory no input's directory (its
 * <table>.csv would be found by a later --in, or replace an input of that
 * name). Exit 2 naming both. Collective. */
static int check_not_inputs(ctx *c, const char *qdir, precis_err *e)
{
    int n = 0;
    for (int ti = 0; ti < T_N; ti++) n += c->t[ti].present ? c->t[ti].files.n : 0;
    const char **p = malloc(sizeof(char *) * (size_t)(n + 1));
    if (!p) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(c->comm, e)) return -1;
    n = 0;
    for (int ti = 0; ti < T_N; ti++)
        for (int i = 0; c->t[ti].present && i < c->t[ti].files.n; i++) p[n++] = c->t[ti].files.path[i];
    /* --out, quality.json beside it, and quarantine/<table>.csv per table */
    char path[2 + T_N][4200], d[4096], prev[4096] = "";
    const char *outs[2 + T_N], *what[2 + T_N];
    job_dir_of(c->o.out, d, sizeof d);
    snprintf(path[1], sizeof path[1], "%.4000s/quality.json", d);
    outs[0] = c->o.out, what[0] = "--out";
    outs[1] = path[1], what[1] = "quality.json beside --out:";
    for (int ti = 0; ti < T_N; ti++) {
        snprintf(path[2 + ti], sizeof path[2 + ti], "%.4000s/%s.csv", qdir, TD[ti].name);
        outs[2 + ti] = path[2 + ti], what[2 + ti] = "the quarantine file";
    }
    int rc = job_check_not_input(c->comm, 2 + T_N, what, outs, p, n, e);
    struct stat qs, ds;
    if (!rc && stat(qdir, &qs) == 0) {
        if (c->o.in && stat(c->o.in, &ds) == 0 && ds.st_dev == qs.st_dev && ds.st_ino == qs.st_ino)
            PERR(e, PRECIS_EXIT_USAGE, "--quarantine %s is the --in directory: a later run would read its <table>.csv files as "
                 "inputs; give another directory", qdir);
        for (int i = 0; i < n && e->code == 0; i++) {
            job_dir_of(p[i], d, sizeof d);
            if (!strcmp(d, prev)) continue; /* part files share their directory: one stat for it */
            snprintf(prev, sizeof prev, "%s", d);
            if (stat(d, &ds) == 0 && ds.st_dev == qs.st_dev && ds.st_ino == qs.st_ino)
                PERR(e, PRECIS_EXIT_USAGE, "--quarantine %s is the directory of the input %s: its <table>.csv files would "
                     "replace inputs of those names or be read as inputs by a later run; give another directory", qdir, p[i]);
        }
        rc = precis_agree(c->comm, e);
    }
    free(p);
    return rc ? -1 : 0;
}

static int find_inputs(ctx *c, precis_err *e)
{
    if (c->o.in && !inputs_is_dir(c->o.in))
        return PERR(e, PRECIS_EXIT_IO, "--in %s: not a directory (give a file, directory or glob per table with --transactions ...)", c->o.in);
    for (int ti = 0; ti < T_N; ti++) {
        table *t = &c->t[ti];
        const char *spec = c->o.path[ti];
        if (spec && inputs_is_dir(spec)) {
            if (table_dir_files(ti, spec, 1, &t->files, e)) return -1;
            if (t->files.n == 0) { /* part files compressed otherwise are a common reason */
                inputs_list z;
                int nz = inputs_expand(spec, "*.csv.*", 1, &z, e) == 0 ? z.n : 0;
                char first[300];
                snprintf(first, sizeof first, "%s", nz ? strrchr(z.path[0], '/') + 1 : "");
                inputs_free(&z);
                return PERR(e, PRECIS_EXIT_IO, "input %s holds no %s*.csv and no *.csv (plain or .gz, .zst, .xz, .bz2, .lz4, or a .zip)%s%s%s",
                            spec, TD[ti].name, nz ? " (it holds " : "", first,
                            nz ? ": precis-clean reads plain CSV, CSV compressed with gzip, zstd, xz, bzip2 or lz4, or a zip archive of one, "
                                 "so decompress it first)" : "");
            }
        } else if (spec) {
            if (inputs_expand(spec, NULL, 0, &t->files, e)) return -1; /* a file or a glob */
        } else if (c->o.in) {
            if (table_dir_files(ti, c->o.in, 0, &t->files, e)) return -1;
        }
        t->present = t->files.n > 0;
        /* a row's source position holds its file's index and byte offset
         * (SRC): beyond these limits two rows would share one */
        if (t->files.n >= 1 << 23)
            return PERR(e, PRECIS_EXIT_DATA, "%s: %d input files, more than the %d one run can tell apart; merge some",
                        TD[ti].name, t->files.n, (1 << 23) - 1);
        for (int i = 0; i < t->files.n; i++) {
            struct stat st;
            if (stat(t->files.path[i], &st) == 0 && (int64_t)st.st_size >= INT64_C(1) << 40)
                return PERR(e, PRECIS_EXIT_DATA, "%s: %lld bytes, more than the 1 TiB a row's source position can address; split the file",
                            t->files.path[i], (long long)st.st_size);
        }
    }
    if (!c->t[T_TRANS].present) {
        /* an export saved as text (Excel's "Unicode text" is transactions.txt, tab-separated) is not
         * taken from --in DIR by guess, but named */
        inputs_list z = {0, NULL};
        char found[600] = "";
        if (c->o.in && inputs_expand(c->o.in, "transactions*.txt|transactions*.tsv", 1, &z, e) == 0 && z.n)
            snprintf(found, sizeof found, " (%s holds %.300s%s: give it with --transactions, and --delimiter tab if it is "
                     "tab-separated)", c->o.in, z.path[0], z.n > 1 ? " and more" : "");
        inputs_free(&z);
        perr_clear(e);
        return PERR(e, PRECIS_EXIT_USAGE, "no transactions input: give --transactions PATH, or --in DIR holding transactions*.csv%s", found);
    }
    return 0;
}

int clean_run(int argc, char **argv, MPI_Comm comm)
{
    ctx *c = calloc(1, sizeof *c);
    precis_err err, *e = &err;
    perr_clear(e);
    if (!c) return PRECIS_EXIT_INTERNAL;
    clean_opts *o = &c->o;
    const opt_spec specs[] = {
        {"in", OPT_STR, &o->in, NULL, "directory holding transactions*.csv, customers*.csv, ...", 0, 0, NULL},
        {"transactions", OPT_STR, &o->path[T_TRANS], NULL, "transactions: file, directory or glob", 0, 0, NULL},
        {"customers", OPT_STR, &o->path[T_CUST], NULL, "customers: file, directory or glob", 0, 0, NULL},
        {"touchpoints", OPT_STR, &o->path[T_TOUCH], NULL, "touchpoints: file, directory or glob", 0, 0, NULL},
        {"spend", OPT_STR, &o->path[T_SPEND], NULL, "weekly channel spend: file, directory or glob", 0, 0, NULL},
        {"experiments", OPT_STR, &o->path[T_EXP], NULL, "experiment groups: file, directory or glob", 0, 0, NULL},
        {"out", OPT_STR, &o->out, NULL, "output clean.h5 (quality.json is written beside it)", 0, 0, NULL},
        {"pii-key", OPT_STR, &o->key, NULL, "PII key file (mode 0600, >= 32 bytes)", 0, 0, NULL},
        {"quarantine", OPT_STR, &o->quarantine, NULL, "directory for rejected rows [default: <out dir>/quarantine]", 0, 0, NULL},
        {"max-reject-rate", OPT_DOUBLE, &o->max_reject, "0.01", "stop with exit 3 above this share of rejected rows", 0, 1, NULL},
        {"map", OPT_LIST, &o->map, NULL, "table.column=SourceColumn: rename an input column", 0, 0, NULL},
        {"na-values-for", OPT_LIST, &o->na_for, NULL, "table.column=LIST: the values that mean missing in one column, instead of --na-values ('' for none)", 0, 0, NULL},
        {"date-format", OPT_LIST, &o->date_format, NULL, "date format (default auto): auto, iso, yyyymmdd, yyyy/mm/dd, epoch, epoch_ms or a pattern such as '%m/%d/%Y %I:%M %p'; table.column=FORMAT for one column", 0, 0, NULL},
        {"tz", OPT_STR, &o->tz, "UTC", "time zone of dates without an offset: UTC, +HH:MM or a zone name (Europe/Berlin)", 0, 0, NULL},
        {"slots", OPT_INT, &o->slots, "16384", "hash slots S (a power of two, >= 50 x ranks)", 1, 1 << 30, NULL},
        {"phone-region", OPT_STR, &o->region, "CN", "country of phone numbers written without a country code (phones are normalised to E.164)", 0, 0, PII_PHONE_REGIONS},
        {"refunds", OPT_STR, &o->refunds, "net", "negative amount or quantity: keep with a refund flag, or reject", 0, 0, "net|reject"},
        {"dedup-exact", OPT_FLAG, &o->dedup_exact, NULL, "drop identical rows of order tables without order ids", 0, 0, NULL},
        {"customers-keep", OPT_STR, &o->customers_keep, "first", "of a customer's rows, keep the first or the last in the input (files in name order)", 0, 0, "first|last"},
        {"outliers", OPT_STR, &o->outliers, "flag", "amount/quantity outside [Q1-3IQR, Q3+3IQR]", 0, 0, "flag|winsorize|drop"},
        {"impute", OPT_STR, &o->impute, "median", "fill missing optional numbers", 0, 0, "median|mean|none"},
        {"delimiter", OPT_STR, &o->delimiter, ",", "field delimiter of the input files: one character, or tab", 0, 0, NULL},
        {"encoding", OPT_STR, &o->encoding, "UTF-8", "character encoding of the input files (CP1252, LATIN1, GB18030, UTF-16LE ...; a UTF-16 or UTF-32 byte-order mark is read without it); values are stored in UTF-8", 0, 0, NULL},
        {"encoding-for", OPT_LIST, &o->enc_for, NULL, "table=ENCODING: one table's character encoding, instead of --encoding (transactions=UTF-16LE for SQL Server's bcp -w beside UTF-8 exports)", 0, 0, NULL},
        {"decimal", OPT_STR, &o->decimal, ".", "decimal mark of the input's numbers (',' as in 12,50)", 0, 0, ".|,"},
        {"thousands", OPT_STR, &o->thousands, "none", "thousands mark of the input's numbers (',' as in 1,234.50; 'space' for 1 234,50, no-break spaces too)", 0, 0, "none|,|.|'|space"},
        {"spool", OPT_STR, &o->spool, NULL, "directory for decompressed (or UTF-16 transcoded) copies of inputs, seen by every rank [default: <out dir>]", 0, 0, NULL},
        {"na-values", OPT_STR, &o->na, NA_DEFAULT, "values that mean missing, as an empty field does: comma-separated, exact ('' for none)", 0, 0, NULL},
        OPTS_COMMON_SPECS(&o->c),
    };
    const opt_cmd cmd = {"precis-clean", "Ingest, validate, tokenise, deduplicate and shard raw CSV exports into clean.h5.",
                         "mpirun -np 4 precis-clean --in exports/ --pii-key pii.key --out clean.h5 --max-reject-rate 0.05",
                         specs, (int)(sizeof specs / sizeof specs[0])};
    char *params = NULL, *inputs = NULL, *report = NULL;
    char qpath[4200], qtmp[4200];
    int qmade = 0; /* rank 0 wrote quality.json.tmp and has not renamed it */
    json_t *q = NULL;
    int rc = job_start(&cmd, &o->c, argc, argv, comm, "precis-clean", e);
    if (rc == 1) { opts_free(&cmd); free(c); return 0; }
    c->comm = comm;
    MPI_Comm_rank(comm, &c->rank);
    MPI_Comm_size(comm, &c->size);
    for (int d = 0; d < D_N; d++) strdict_init(&c->dict[d]);
    /* optional: NULL only costs speed. 4 MiB: huge pages, not a thousand faults */
    c->idc = hugemem_alloc(sizeof(idc_entry) << IDC_BITS);
    c->ob_blk = malloc(16 * OB_N);   /* optional too: without it, one id at a time */
    c->ob_dest = malloc(sizeof(int32_t) * OB_N);
    c->ob_idx = malloc(sizeof(int64_t) * OB_N);
    c->ob_tok = malloc(sizeof(uint64_t) * OB_N);
    if (!c->ob_blk || !c->ob_dest || !c->ob_idx || !c->ob_tok) { /* freed again at the end: no dangling pointer */
        free(c->ob_blk); free(c->ob_dest); free(c->ob_idx); free(c->ob_tok);
        c->ob_blk = NULL;
        c->ob_dest = NULL;
        c->ob_idx = NULL;
        c->ob_tok = NULL;
    }
    c->late_file = c->late_fd = -1;
    if (rc < 0) goto done;
    if (!o->out) PERR(e, PRECIS_EXIT_USAGE, "option --out FILE is required");
    else if (job_check_out(comm, o->out, e)) (void)0;
    else if (!slots_valid(o->slots)) PERR(e, PRECIS_EXIT_USAGE, "option --slots: %lld is not a power of two", (long long)o->slots);
    else if (tz_open_comm(comm, "option --tz", o->tz, &c->tz, e)) (void)0;
    else if (csv_delim_option(o->delimiter, &o->delim, e) == 0 && (o->dec = o->decimal[0]) == o->delim)
        PERR(e, PRECIS_EXIT_USAGE, "option --decimal: '%s' is also the delimiter (give --delimiter ';' for files whose numbers read 12,50)", o->decimal);
    else if (e->code == 0 && /* (the delimiter's message stands) */
             (o->thou = !strcmp(o->thousands, "none") ? 0 : !strcmp(o->thousands, "space") ? ' ' : o->thousands[0]) == o->dec)
        PERR(e, PRECIS_EXIT_USAGE, "option --thousands: '%s' is also the decimal mark (give --decimal , for numbers that read 1.234,50)", o->thousands);
    else if (e->code == 0 && date_format_option(c, e)) (void)0;
    else if (e->code == 0 && na_parse(o->na, "option --na-values", &c->na, e)) (void)0;
    else if (e->code == 0 && na_for_option(c, e)) (void)0;
    else if (e->code == 0 && encoding_for_option(c, e)) (void)0;
    else if (e->code == 0 && check_maps(c, e) == 0) {
        if (o->slots < 50 * (int64_t)c->size)
            LOG_WARN("--slots %lld is below 50 x %d ranks: ranks will be unevenly loaded", (long long)o->slots, c->size);
        if (pii_key_load(o->key, &c->key, e) == 0 && pii_fingerprint(&c->key, c->fp) == 0) find_inputs(c, e);
    }
    if (precis_agree(comm, e)) goto done;
    g_slots = o->slots;
    char qdir[4096];
    if (o->quarantine) snprintf(qdir, sizeof qdir, "%.4000s", o->quarantine);
    else {
        char d[4000];
        job_dir_of(o->out, d, sizeof d);
        snprintf(qdir, sizeof qdir, "%.3900s/quarantine", d);
    }
    if (c->rank == 0 && mkdir(qdir, 0755) != 0 && errno != EEXIST)
        PERR(e, PRECIS_EXIT_IO, "cannot create quarantine directory %s: %s", qdir, strerror(errno));
    if (precis_agree(comm, e) || check_not_inputs(c, qdir, e)) goto done;

    /* 1. parse */
    double tph[8];
    tph[0] = log_now();
    for (int ti = 0; ti < T_N; ti++) {
        if (!c->t[ti].present) continue;
        if (load_table(c, ti, e)) goto done;
        if (ckpt_should_stop(comm, "parse", ti)) { PERR(e, PRECIS_EXIT_STOPPED, "stopped by a signal after parsing %s; rerun to start afresh", TD[ti].name); goto done; }
    }
    /* 2. global dictionaries */
    tph[1] = log_now();
    globalise(c, e);
    if (precis_agree(comm, e)) goto done;
    /* 3-4. shard, sort, dedup, conflicts, orphans, outliers, imputation */
    tph[2] = log_now();
    for (int ti = 0; ti < T_N && e->code == 0; ti++) {
        if (!c->t[ti].present) continue;
        if (shuffle_table(c, ti, e) || dedup_table(c, ti, e)) break;
    }
    if (precis_agree(comm, e)) goto done;
    tph[3] = log_now();
    if (c->t[T_TRANS].has_order) order_conflicts(c, e);
    if (precis_agree(comm, e)) goto done;
    tph[4] = log_now();
    if (count_orphans(c, e) == 0)
        for (int ti = 0; ti < T_N; ti++)
            if (c->t[ti].present && outliers_and_impute(c, ti, e)) break;
    if (precis_agree(comm, e)) goto done;
    if (ckpt_should_stop(comm, "clean", 0)) { PERR(e, PRECIS_EXIT_STOPPED, "stopped by a signal before writing; rerun to start afresh"); goto done; }
    /* 5. outputs */
    tph[5] = log_now();
    for (int ti = 0; ti < T_N; ti++)
        if (c->t[ti].present && write_quarantine(c, ti, qdir, e)) goto done;
    q = json_object();
    int64_t tin, trej;
    if (build_quality(c, q, &tin, &trej, e)) goto done;
    json_object_set_new(q, "quarantine_dir", json_string(qdir));
    double rate = tin ? (double)trej / (double)tin : 0.0;
    int stop = rate > o->max_reject;
    /* provenance before the report, which names the run_id of the clean.h5
     * it describes and whether this run wrote it: a report beside an older
     * clean.h5 (this run stopped) says so */
    params = opts_to_json(&cmd);
    {
        int nin = 0, all = 0;
        for (int ti = 0; ti < T_N; ti++) all += c->t[ti].files.n;
        char **paths = malloc(sizeof(char *) * (size_t)(all ? all : 1));
        if (!paths) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        for (int ti = 0; paths && ti < T_N; ti++)
            for (int i = 0; i < c->t[ti].files.n; i++) paths[nin++] = c->t[ti].files.path[i];
        if (precis_agree(comm, e)) { free(paths); goto done; }
        h5io_inputs_json(comm, paths, nin, &inputs, e);
        free(paths);
    }
    if (precis_agree(comm, e)) goto done;
    char run_id[33];
    if (h5io_run_id("clean", params, inputs, run_id, e)) goto done; /* (the same on every rank) */
    json_object_set_new(q, "run_id", json_string(run_id));
    json_object_set_new(q, "clean_h5_written", json_boolean(!stop));
    {
        const char *name;
        json_t *tj;
        json_object_foreach(json_object_get(q, "tables"), name, tj)
            if (!json_is_true(json_object_get(tj, "conserved")))
                PERR(e, PRECIS_EXIT_INTERNAL, "row conservation failed for %s (a bug: please report)", name);
        report = json_dumps(q, JSON_INDENT(2) | JSON_SORT_KEYS);
        /* written as quality.json.tmp, renamed when the run ends as it
         * should: after clean.h5 is in place, or at once when the reject
         * rate stops the run. A run that fails leaves no report of a
         * clean.h5 that is not there. */
        char d[4000];
        job_dir_of(o->out, d, sizeof d);
        snprintf(qpath, sizeof qpath, "%.4000s/quality.json", d);
        snprintf(qtmp, sizeof qtmp, "%.4000s/quality.json.tmp", d);
        h5io_remove_on_abort(qtmp);
        if (c->rank == 0 && report) {
            FILE *fq = fopen(qtmp, "w"); /* (a full disk shows at fclose, when the buffer is written) */
            int bad = !fq || fputs(report, fq) < 0 || fputc('\n', fq) < 0, err = errno;
            if (fq && fclose(fq) != 0 && !bad) bad = 1, err = errno;
            qmade = fq != NULL; /* (removed at the end unless renamed: not half a report) */
            if (bad) PERR(e, PRECIS_EXIT_IO, "cannot write %s: %s", qpath, strerror(err));
        }
    }
    print_quality(c, q);
    if (precis_agree(comm, e)) goto done;
    if (stop) {
        if (c->rank == 0 && rename(qtmp, qpath) != 0) PERR(e, PRECIS_EXIT_IO, "cannot rename %s to %s: %s", qtmp, qpath, strerror(errno));
        else if (c->rank == 0) qmade = 0;
        if (precis_agree(comm, e)) goto done;
        struct stat old;
        PERR(e, PRECIS_EXIT_DATA, "%lld of %lld rows rejected (%.4f > --max-reject-rate %.4f); see %s and quality.json; no %s written%s",
             (long long)trej, (long long)tin, rate, o->max_reject, qdir, o->out,
             stat(o->out, &old) == 0 ? " (the file of that name is an earlier run's, left as it was)" : "");
        goto done;
    }
    tph[6] = log_now();
    if (write_clean(c, params, inputs, report, e) == 0) {
        tph[7] = log_now();
        if (c->rank == 0 && rename(qtmp, qpath) != 0)
            PERR(e, PRECIS_EXIT_IO, "wrote %s, but cannot rename %s to %s: %s", o->out, qtmp, qpath, strerror(errno));
        else if (c->rank == 0) qmade = 0;
        if (!e->code) LOG_INFO("wrote %s", o->out);
        LOG_INFO("seconds: parse %.2f, dictionaries %.2f, shard+sort+dedup %.2f, order conflicts %.2f, orphans+outliers+imputation %.2f, "
                 "quarantine+quality %.2f, write %.2f", tph[1] - tph[0], tph[2] - tph[1], tph[3] - tph[2], tph[4] - tph[3],
                 tph[5] - tph[4], tph[6] - tph[5], tph[7] - tph[6]);
    }
    precis_agree(comm, e);
done:
    if (qmade) remove(qtmp); /* (this run's report, of a clean.h5 it did not write) */
    h5io_remove_on_abort(NULL);
    rc = job_exit(comm, e);
    for (int ti = 0; ti < T_N; ti++) {
        hugemem_free(c->t[ti].rows);
        free_buckets(&c->t[ti], c->size);
        inputs_free(&c->t[ti].files);
        spool_close(&c->t[ti].sp);
        textbuf_free(&c->t[ti].quar);
        textbuf_free(&c->t[ti].late);
    }
    for (int d = 0; d < D_N; d++) {
        strdict_free(&c->dict[d]);
        free(c->dmap[d]);
    }
    pii_key_wipe(&c->key);
    tz_close(&c->tz);
    na_free(&c->na);
    for (int ti = 0; ti < T_N; ti++)
        for (int k = 0; k < 10; k++) na_free(&c->na_col[ti][k]);
    if (c->idc) explicit_bzero(c->idc, sizeof(idc_entry) << IDC_BITS);   /* raw ids */
    explicit_bzero(&c->idc_one, sizeof c->idc_one);
    hugemem_free(c->idc);
    if (c->ob_blk) explicit_bzero(c->ob_blk, 16 * OB_N);   /* blocks of raw order ids */
    free(c->ob_blk); free(c->ob_dest); free(c->ob_idx); free(c->ob_tok);
    late_close(c);
    free(c->late_buf);
    json_decref(q);
    free(params); free(inputs); free(report);
    opts_free(&cmd);
#ifdef __SANITIZE_ADDRESS__
    /* LeakSanitizer does not see mappings: a hugemem block still live here
     * (every one is freed above) is a leak, and fails the run as
     * LeakSanitizer's own reports do */
    if (hugemem_live() != 0) {
        fprintf(stderr, "precis-clean: [rank %d] %ld hugemem blocks not freed\n", c->rank, hugemem_live());
        rc = 86;
    }
#endif
    free(c);
    return rc;
}
