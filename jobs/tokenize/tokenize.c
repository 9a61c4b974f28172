/* tokenize.c - precis-tokenize: replace identifiers in a CSV by Precis keys.
 *
 * DESIGN
 * Reads a CSV (file, directory or glob) in parallel byte ranges with
 * common/csv, and writes one CSV in input order: only the columns named by
 * --keep are copied (never a column that may hold PII by default); the id column becomes customer_key and
 * customer_key_lo (decimal uint64), the phone column phone_token and the
 * email column email_token, computed exactly as precis-clean does (common/pii).
 * Two leading columns, source_file and source_line, let the owner of the
 * list join the result back to its own records; a trailing `status` column
 * says "ok" or why a row has no key (bad_utf8, missing_id, ...), so no row is
 * dropped silently. Raw identifiers are never written or logged.
 * Output is assembled per rank and written in rank order with
 * common/textout (MPI-IO into <out>.tmp, then renamed). Collective.
 */
#include "tokenize.h"
#include "check.h"
#include "csv.h"
#include "inputs.h"
#include "job.h"
#include "log.h"
#include "opts.h"
#include "na.h"
#include "pii.h"
#include "spool.h"
#include "textout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The field named want: its index; -1 when want is NULL, -2 when no field
 * has that name, -3 when more than one has (dup[0] and dup[1]: the first
 * two, 0-based). */
static int find_col(int nh, const char *const *names, const char *want, int dup[2])
{
    if (!want) return -1;
    int at = -2;
    for (int i = 0; i < nh; i++)
        if (strcmp(names[i], want) == 0) {
            if (at >= 0) return dup[0] = at, dup[1] = i, -3;
            at = i;
        }
    return at;
}

typedef struct tk_opts {
    char *in, *out, *key, *id_col, *phone_col, *email_col, *region, *delimiter, *encoding, *spool, *na;
    opt_list keep;
    opt_common c;
} tk_opts;

int tokenize_run(int argc, char **argv, MPI_Comm comm)
{
    tk_opts o;
    memset(&o, 0, sizeof o);
    const opt_spec specs[] = {
        {"in", OPT_STR, &o.in, NULL, "input CSV, plain or compressed (gzip, zstd, xz, bzip2, lz4, or a zip archive of one file): a file, a directory of *.csv and *.csv.gz, .zst, .xz, .bz2, .lz4 and *.zip, or a glob", 0, 0, NULL},
        {"out", OPT_STR, &o.out, NULL, "output CSV", 0, 0, NULL},
        {"pii-key", OPT_STR, &o.key, NULL, "PII key file (mode 0600, >= 32 bytes); the one precis-clean used", 0, 0, NULL},
        {"id-column", OPT_STR, &o.id_col, NULL, "column holding raw customer ids", 0, 0, NULL},
        {"phone-column", OPT_STR, &o.phone_col, NULL, "column holding phone numbers", 0, 0, NULL},
        {"email-column", OPT_STR, &o.email_col, NULL, "column holding email addresses", 0, 0, NULL},
        {"keep", OPT_LIST, &o.keep, NULL, "copy this non-identifier column to the output", 0, 0, NULL},
        {"phone-region", OPT_STR, &o.region, "CN", "country of phone numbers written without a country code (phones are normalised to E.164)", 0, 0, PII_PHONE_REGIONS},
        {"delimiter", OPT_STR, &o.delimiter, ",", "field delimiter of the input: one character, or tab (the output is comma-separated)", 0, 0, NULL},
        {"encoding", OPT_STR, &o.encoding, "UTF-8", "character encoding of the input (CP1252, LATIN1, GB18030, UTF-16LE ...; a UTF-16 or UTF-32 byte-order mark is read without it); the output is UTF-8", 0, 0, NULL},
        {"spool", OPT_STR, &o.spool, NULL, "directory for decompressed (or UTF-16 transcoded) copies of inputs, seen by every rank [default: <out dir>]", 0, 0, NULL},
        {"na-values", OPT_STR, &o.na, NA_DEFAULT, "ids that mean missing, as an empty field does: comma-separated, exact ('' for none)", 0, 0, NULL},
        OPTS_COMMON_SPECS(&o.c),
    };
    const opt_cmd cmd = {"precis-tokenize",
                         "Replace raw ids, phones and emails in a CSV by Precis keys and tokens.",
                         "precis-tokenize --in crm.csv --id-column customer_id --keep crm_row --pii-key pii.key --out crm_keys.csv",
                         specs, (int)(sizeof specs / sizeof specs[0])};
    precis_err err, *e = &err;
    perr_clear(e);
    pii_key key;
    memset(&key, 0, sizeof key);
    na_set na;
    memset(&na, 0, sizeof na);
    inputs_list in = {0, NULL};
    spool sp = {0};
    csv_reader *r = NULL;
    textbuf out = {NULL, 0, 0};
    char *keep = NULL;
    int rank;
    MPI_Comm_rank(comm, &rank);
    int rc = job_start(&cmd, &o.c, argc, argv, comm, "precis-tokenize", e);
    if (rc == 1) { opts_free(&cmd); return 0; }
    if (rc < 0) goto done;
    if (!o.in || !o.out) { PERR(e, PRECIS_EXIT_USAGE, "options --in and --out are required"); goto done; }
    if (job_check_out(comm, o.out, e)) goto done;
    if (!o.id_col && !o.phone_col && !o.email_col) {
        PERR(e, PRECIS_EXIT_USAGE, "give at least one of --id-column, --phone-column, --email-column");
        goto done;
    }
    csv_opts co;
    csv_opts_default(&co);
    co.encoding = o.encoding;
    if (csv_delim_option(o.delimiter, &co.delim, e) == 0 && na_parse(o.na, "option --na-values", &na, e) == 0 &&
        pii_key_load(o.key, &key, e) == 0) {
        char pat[INPUTS_PATTERN_CAP];
        inputs_csv_pattern(pat, sizeof pat, "");
        inputs_expand(o.in, pat, 0, &in, e);
    }
    if (precis_agree(comm, e)) goto done;
    if (job_check_not_input(comm, 1, (const char *const[]){"--out"}, (const char *const[]){o.out}, (const char *const *)in.path, in.n, e)) goto done;
    if (spool_inputs(comm, in.path, in.n, o.spool, o.out, &co.encoding, &sp, e)) goto done;
    co.fds = sp.fd;
    co.names = in.path;
    if (csv_open(comm, in.path, in.n, &co, &r, e)) goto done;
    /* every file must have the named columns */
    int nh0 = 0;
    const char *const *h0 = NULL;
    /* the identifier columns: id, phone, email (-1: not asked for) */
    const char *const want[3] = {o.id_col, o.phone_col, o.email_col}, *const opt[3] = {"--id-column", "--phone-column", "--email-column"};
    int idc[3] = {-1, -1, -1};
    for (int f = 0; f < csv_nfiles(r) && e->code == 0; f++) {
        int nh, col[3], dup[3][2] = {{0, 0}, {0, 0}, {0, 0}}, amb = -1, missing = -1;
        const char *const *h;
        csv_header(r, f, &nh, &h, NULL);
        for (int j = 2; j >= 0; j--) { /* the first of them decides the message */
            col[j] = find_col(nh, h, want[j], dup[j]);
            if (col[j] == -3) amb = j;
            if (col[j] == -2) missing = j;
        }
        long long hl = (long long)csv_header_line(r, f);
        if (amb >= 0) /* two fields of that name: which holds the identifier is not for us to guess */
            PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header fields %d and %d are both named '%s', so which is %s is ambiguous; rename one",
                 csv_path(r, f), hl, dup[amb][0] + 1, dup[amb][1] + 1, want[amb], opt[amb]);
        else if (nh == 0) PERR(e, PRECIS_EXIT_DATA, "%s: empty file or only blank lines (no header row)", csv_path(r, f));
        else if (missing >= 0) PERR(e, PRECIS_EXIT_DATA, "%s:%lld: no column '%s' (%s)", csv_path(r, f), hl, want[missing], opt[missing]);
        else if (f > 0 && (nh != nh0 || memcmp(col, idc, sizeof col) != 0))
            PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header differs from %s's", csv_path(r, f), hl, csv_path(r, 0));
        if (f == 0) { nh0 = nh; h0 = h; memcpy(idc, col, sizeof col); }
    }
    const int ci = idc[0], cp = idc[1], cm = idc[2];
    keep = calloc((size_t)(nh0 > 0 ? nh0 : 1), 1);
    if (!keep) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int j = 0; keep && j < o.keep.n; j++) {
        int d[2] = {0, 0}, k = find_col(nh0, h0, o.keep.v[j], d);
        if (k == -3) PERR(e, PRECIS_EXIT_USAGE, "option --keep: %s has two columns named '%s' (field %d is the second)", csv_path(r, 0), o.keep.v[j], d[1] + 1);
        else if (k < 0) PERR(e, PRECIS_EXIT_USAGE, "option --keep: %s has no column '%s'", csv_path(r, 0), o.keep.v[j]);
        else if (k == ci || k == cp || k == cm) PERR(e, PRECIS_EXIT_USAGE, "option --keep: '%s' is an identifier column", o.keep.v[j]);
        else keep[k] = 1;
    }
    if (precis_agree(comm, e)) goto done;
    if (rank == 0) { /* header */
        textbuf_csv_field(&out, "source_file", 11, 1);
        textbuf_csv_field(&out, "source_line", 11, 0);
        for (int k = 0; k < nh0; k++) {
            if (k == ci) { textbuf_put(&out, ",customer_key,customer_key_lo", 29); continue; }
            if (k == cp) { textbuf_put(&out, ",phone_token", 12); continue; }
            if (k == cm) { textbuf_put(&out, ",email_token", 12); continue; }
            if (keep[k]) textbuf_csv_field(&out, h0[k], strlen(h0[k]), 0);
        }
        textbuf_put(&out, ",status\n", 8);
    }
    csv_record rec;
    int64_t nrows = 0, nbad = 0;
    char num[64], norm[512];
    while (csv_next(r, &rec)) {
        nrows++;
        const char *st = rec.status == CSV_OK ? "ok" : csv_status_name(rec.status);
        const char *path = csv_path(r, rec.file);
        int fail = textbuf_csv_field(&out, path, strlen(path), 1);
        snprintf(num, sizeof num, ",%lld", (long long)rec.line);
        fail |= textbuf_put(&out, num, strlen(num));
        for (int k = 0; k < nh0 && !fail; k++) {
            const char *v = k < rec.nfields ? rec.f[k] : "";
            size_t l = k < rec.nfields ? rec.flen[k] : 0;
            if (rec.status != CSV_OK) { /* never copy fields of a broken record */
                if (k == ci) fail |= textbuf_put(&out, ",,", 2);
                else if (k == cp || k == cm || keep[k]) fail |= textbuf_put(&out, ",", 1);
                continue;
            }
            if (k == ci) {
                uint64_t hi, lo;
                const char *t = v;
                size_t tl = pii_trim(&t, l);
                if (!na_is(&na, t, tl) && pii_customer_key(&key, t, tl, &hi, &lo) == 0)
                    snprintf(num, sizeof num, ",%llu,%llu", (unsigned long long)hi, (unsigned long long)lo);
                else {
                    snprintf(num, sizeof num, ",,");
                    st = "missing_id";
                }
                fail |= textbuf_put(&out, num, strlen(num));
            } else if (k == cp || k == cm) {
                int n = k == cp ? pii_norm_phone(v, l, o.region, norm, sizeof norm)
                                : pii_norm_email(v, l, norm, sizeof norm);
                uint64_t t = 0;
                if (n > 0) pii_token(&key, k == cp ? PII_TOKEN_PHONE : PII_TOKEN_EMAIL, norm, (size_t)n, &t);
                snprintf(num, sizeof num, ",%llu", (unsigned long long)t);
                fail |= textbuf_put(&out, num, strlen(num));
            } else if (keep[k]) {
                fail |= textbuf_csv_field(&out, v, l, 0);
            }
        }
        fail |= textbuf_put(&out, ",", 1) || textbuf_put(&out, st, strlen(st)) || textbuf_put(&out, "\n", 1);
        if (strcmp(st, "ok") != 0) {
            nbad++;
            LOG_DEBUG("%s:%lld: no key (%s)", path, (long long)rec.line, st);
        }
        if (fail) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); break; }
    }
    if (precis_agree(comm, e)) goto done;
    {
        int64_t tot[2] = {nrows, nbad}, gtot[2];
        MPI_CHECK(MPI_Allreduce(tot, gtot, 2, MPI_INT64_T, MPI_SUM, comm), e);
        if (textout_write(comm, o.out, &out, e) == 0)
            LOG_INFO("tokenised %lld rows into %s (%lld without a key, see the status column)",
                     (long long)gtot[0], o.out, (long long)gtot[1]);
        goto done;
    }
fail:
    precis_agree(comm, e);
done:
    rc = job_exit(comm, e);
    csv_close(r);
    spool_close(&sp);
    inputs_free(&in);
    pii_key_wipe(&key);
    na_free(&na);
    textbuf_free(&out);
    free(keep);
    opts_free(&cmd);
    return rc;
}
