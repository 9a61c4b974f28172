/* fuzz_csv.c - libFuzzer target for common/csv: any bytes as a one-file CSV.
 *
 * The first two bytes choose the options (delimiter, header, a small
 * max_field, CP1252 as the encoding); the rest is the file. It is read four
 * ways: the default (AVX2 where the CPU has it, quote masks), SSE2 only
 * (byte by byte in the portable build, build/fuzz-portable),
 * every quoted record by the rule itself (PRECIS_CSV_SLOW_QUOTES), and with
 * a window of a few bytes, so that records cross window ends. All four must
 * return the same records, field for field, and every record must pass
 * checks that do not trust the reader:
 *  - its raw bytes are the file's bytes at its offset, and its line is one
 *    more than the newlines before that offset;
 *  - records come in file order and do not overlap, and every byte of the
 *    file is in one, a line end, the BOM or the header: nothing is lost;
 *  - an OK record's fields are what an independent splitter (below, written
 *    from csv.h's rules alone) makes of its raw bytes, and a record that
 *    splitter finds well quoted is not called CSV_BAD_QUOTE.
 * Any difference aborts, and so does anything the sanitizers catch. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "fuzz.h"

static char g_path[64];

/* a growing byte buffer: the records of one read, serialised */
typedef struct sbuf {
    unsigned char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const void *x, size_t n)
{
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n) c *= 2;
        b->p = realloc(b->p, c);
        EXPECT(b->p);
        b->cap = c;
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

/* The fields of an unbroken record by csv.h's rules: 1 and the fields, or 0
 * when its quoting is broken. Fields go to out as (length, bytes). */
static int ref_split(const char *s, size_t n, char delim, sbuf *out, int *nf)
{
    size_t i = 0;
    char *v = malloc(n + 1);
    EXPECT(v);
    *nf = 0;
    for (;;) {
        size_t l = 0;
        if (i < n && s[i] == '"') { /* quoted: to the closing quote, "" is one quote */
            i++;
            for (;;) {
                if (i >= n) { free(v); return 0; }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') { v[l++] = '"'; i += 2; continue; }
                    i++;
                    break;
                }
                v[l++] = s[i++];
            }
            if (i < n && s[i] != delim) { free(v); return 0; }
        } else {
            while (i < n && s[i] != delim) {
                if (s[i] == '"') { free(v); return 0; }
                v[l++] = s[i++];
            }
        }
        size_t L = l;
        PUT(out, L);
        put(out, v, l);
        (*nf)++;
        if (i >= n) break;
        i++; /* the delimiter: another field follows, perhaps empty */
    }
    free(v);
    return 1;
}

/* Read the file one way into b; checks each record against the file. */
static void read_way(const uint8_t *file, size_t size, const csv_opts *o, sbuf *b)
{
    char *paths[1] = {g_path};
    csv_reader *r = NULL;
    precis_err e;
    perr_clear(&e);
    int rc = csv_open(MPI_COMM_SELF, paths, 1, o, &r, &e);
    PUT(b, rc);
    if (rc) {
        put(b, e.msg, strlen(e.msg));
        return;
    }
    csv_record rec;
    int64_t end = 0, first = -1;
    char *cover = calloc(size + 1, 1);
    EXPECT(cover);
    while (csv_next(r, &rec) == 1) {
        PUT(b, rec.status);
        PUT(b, rec.bad_field);
        PUT(b, rec.line);
        PUT(b, rec.offset);
        PUT(b, rec.raw_len);
        PUT(b, rec.nfields);
        /* the record is the file's bytes, after the one before */
        EXPECT(rec.offset >= end && (size_t)rec.offset + rec.raw_len <= size);
        EXPECT(memcmp(file + rec.offset, rec.raw, rec.raw_len) == 0);
        int64_t line = 1;
        for (int64_t k = 0; k < rec.offset; k++) line += file[k] == '\n';
        EXPECT(rec.line == line);
        end = rec.offset + (int64_t)rec.raw_len;
        size_t fields_at = b->n;   /* this record's fields, as ref_split writes them */
        for (int k = 0; k < rec.nfields; k++) {
            size_t l = rec.flen[k];
            PUT(b, l);
            put(b, rec.f[k], l);
        }
        sbuf ref = {0};
        int nf = 0, ok = ref_split(rec.raw, rec.raw_len, o->delim, &ref, &nf);
        if (rec.status == CSV_OK && !o->encoding) /* (converted fields are not the raw bytes) */
            EXPECT(ok && nf == rec.nfields && b->n - fields_at == ref.n && memcmp(b->p + fields_at, ref.p, ref.n) == 0);
        EXPECT(rec.status != CSV_BAD_QUOTE || !ok || o->encoding);
        free(ref.p);
        if (first < 0) first = rec.offset;
        memset(cover + rec.offset, 1, rec.raw_len);
    }
    csv_close(r);
    /* nothing is lost: every byte not in a record is a line end, the BOM,
     * or (with a header) before the first record */
    size_t from = size >= 3 && !memcmp(file, "\xEF\xBB\xBF", 3) ? 3 : 0;
    if (o->has_header) from = first >= 0 ? (size_t)first : size;
    for (size_t k = from; k < size; k++) {
        if (!cover[k] && file[k] != '\n' && file[k] != '\r') {
            fprintf(stderr, "fuzz_csv: byte %zu (0x%02x) is in no record\n", k, file[k]);
            abort();
        }
    }
    free(cover);
}

static void remove_file(void) { unlink(g_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    snprintf(g_path, sizeof g_path, "/tmp/precis-fuzz-csv-%d.csv", (int)getpid());
    atexit(remove_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    static const char delims[4] = {',', ';', '\t', '|'};
    csv_opts o;
    csv_opts_default(&o);
    o.delim = delims[data[0] & 3];
    o.has_header = (data[0] >> 2) & 1;
    if (data[0] & 8) o.max_field = 1 + data[1] % 48;
    if (data[0] & 16) o.encoding = "CP1252";
    const uint8_t *file = data + 2;
    size = size - 2;
    FILE *f = fopen(g_path, "wb");
    EXPECT(f && fwrite(file, 1, size, f) == size && fclose(f) == 0);

    static const char *const env[4] = {NULL, "PRECIS_CSV_NO_AVX2", "PRECIS_CSV_SLOW_QUOTES", "PRECIS_CSV_WINDOW"};
    sbuf b[4] = {{0}};
    for (int w = 0; w < 4; w++) {
        if (env[w]) setenv(env[w], w == 3 ? "7" : "1", 1);
        read_way(file, size, &o, &b[w]);
        if (env[w]) unsetenv(env[w]);
    }
    for (int w = 1; w < 4; w++)
        if (b[w].n != b[0].n || memcmp(b[w].p, b[0].p, b[0].n)) {
            fprintf(stderr, "fuzz_csv: read %d differs from the default read\n", w);
            abort();
        }
    for (int w = 0; w < 4; w++) free(b[w].p);
    return 0;
}
