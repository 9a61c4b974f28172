/* test_csv.c - the CSV reader's record rules on one rank (nsize 1, MPI_COMM_SELF). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

static char g_path[256];

static csv_reader *open_text(const char *text, size_t len, const csv_opts *o)
{
    snprintf(g_path, sizeof g_path, "/tmp/precis-csv-%d.csv", (int)getpid());
    FILE *f = fopen(g_path, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
    csv_opts d;
    csv_opts_default(&d);
    char *paths[1] = {g_path};
    csv_reader *r = NULL;
    precis_err e;
    perr_clear(&e);
    assert_int_equal(csv_open(MPI_COMM_SELF, paths, 1, o ? o : &d, &r, &e), 0);
    return r;
}

static void expect(csv_reader *r, int status, int64_t line, int nf, const char *const *fields)
{
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, status);
    assert_int_equal(rec.line, line);
    if (status == CSV_OK || nf >= 0) {
        assert_int_equal(rec.nfields, nf);
        for (int i = 0; fields && i < nf; i++) {
            assert_int_equal(rec.flen[i], strlen(fields[i]));
            assert_memory_equal(rec.f[i], fields[i], rec.flen[i]);
        }
    }
}

static void test_rfc4180(void **st)
{
    (void)st;
    const char t[] = "\xEF\xBB\xBF" "a,b,c\r\n"
                     "1,\"x,y\",3\r\n"
                     "\"he said \"\"hi\"\"\",,\"multi\nline\"\r\n"
                     "\n"
                     "4,5,6";
    csv_reader *r = open_text(t, sizeof t - 1, NULL);
    int nh;
    const char *const *h;
    csv_header(r, 0, &nh, &h, NULL);
    assert_int_equal(nh, 3);
    assert_string_equal(h[0], "a");
    expect(r, CSV_OK, 2, 3, (const char *[]){"1", "x,y", "3"});
    expect(r, CSV_OK, 3, 3, (const char *[]){"he said \"hi\"", "", "multi\nline"});
    expect(r, CSV_OK, 6, 3, (const char *[]){"4", "5", "6"});
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 0);
    assert_int_equal(csv_blank_lines(r), 1);
    csv_close(r);
}

static void test_bad_records(void **st)
{
    (void)st;
    const char t[] = "a,b\n"
                     "1,\"x\"y\n"        /* text after a closing quote */
                     "1,2,3\n"           /* field count */
                     "1,ab\"c\"\n"       /* quote inside an unquoted field */
                     "\xC3\x28,2\n"      /* invalid UTF-8 */
                     "ok,1\n"
                     "2,\"never closed\n"
                     "3,4\n";
    csv_reader *r = open_text(t, sizeof t - 1, NULL);
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_BAD_QUOTE);
    assert_int_equal(rec.bad_field, 1);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_FIELD_COUNT);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_BAD_QUOTE);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_BAD_UTF8);
    assert_int_equal(rec.bad_field, 0);
    expect(r, CSV_OK, 6, 2, (const char *[]){"ok", "1"});
    /* open quote at EOF: the record is bad, reading resumes after its first newline */
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_OPEN_QUOTE);
    assert_int_equal(rec.line, 7);
    expect(r, CSV_OK, 8, 2, (const char *[]){"3", "4"});
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
}

/* With an encoding named, fields are converted to UTF-8, and a byte that
 * encoding leaves undefined (0x81 in CP1252) is CSV_BAD_ENCODING, not
 * CSV_BAD_UTF8, naming its field; the raw record stays as read. */
static void test_encoding(void **st)
{
    (void)st;
    const char t[] = "id,city\n"
                     "a1,Z\xfcrich\n"
                     "a2,\x81x\n"
                     "\"a\x80" "3\",ok\n";
    csv_opts o;
    csv_opts_default(&o);
    o.encoding = "CP1252";
    csv_reader *r = open_text(t, sizeof t - 1, &o);
    expect(r, CSV_OK, 2, 2, (const char *[]){"a1", "Z\xc3\xbcrich"});
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_BAD_ENCODING);
    assert_int_equal(rec.bad_field, 1);
    assert_int_equal(rec.raw_len, 5);
    assert_memory_equal(rec.raw, "a2,\x81x", 5);
    assert_string_equal(csv_status_name(rec.status), "bad_encoding");
    expect(r, CSV_OK, 4, 2, (const char *[]){"a\xe2\x82\xac" "3", "ok"});
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
}

/* The unquoted fast path looks for bytes >= 0x80 16 at a time and in the
 * tail: a bad byte is caught wherever it sits, and valid UTF-8 passes. */
static void test_utf8_positions(void **st)
{
    (void)st;
    const char t[] = "a,b,c\n"
                     "\xFF" "23456789abcdef,x,y\n"                        /* byte 0: first 32-byte block */
                     "0123456789abcdef0123456789abcdef0123,\xC3\x28,y\n" /* byte 37: second block */
                     "0123456789abcdef0123456789abcde,x,z\xE4\n"          /* truncated at the line's end */
                     "ab,c,\xFE\n"                                       /* short record, near the file's end */
                     "h\xC3\xA9llo w\xC3\xB6rld 0123456789,\xE4\xB8\xAD,\xF0\x9F\x98\x80\n"
                     "plain,ascii,row\n";
    csv_reader *r = open_text(t, sizeof t - 1, NULL);
    csv_record rec;
    const int bad[4] = {0, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(csv_next(r, &rec), 1);
        assert_int_equal(rec.status, CSV_BAD_UTF8);
        assert_int_equal(rec.bad_field, bad[i]);
    }
    expect(r, CSV_OK, 6, 3, (const char *[]){"h\xC3\xA9llo w\xC3\xB6rld 0123456789", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"});
    expect(r, CSV_OK, 7, 3, (const char *[]){"plain", "ascii", "row"});
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
}

/* The byte a line's feature sits at, against the 32-byte blocks the
 * splitter reads (and the bytes left over at the end of the file, read one
 * by one): for every position 0..99 of a line, a delimiter, the line's end,
 * a quoted field, a valid and an invalid UTF-8 byte and a NUL byte. The
 * fields expected are cut by hand here, byte by byte. */
enum { EDGE_LEN = 100 };

/* Line i of kind `kind` into buf: EDGE_LEN bytes of letters (or i for kind
 * 1, the line's length), with the kind's feature at byte i. */
static size_t edge_line(int kind, int i, char *buf)
{
    size_t n = kind == 1 ? (size_t)i : EDGE_LEN;
    for (size_t j = 0; j < n; j++) buf[j] = j % 9 == 8 ? ',' : (char)('a' + j % 26);
    switch (kind) {
    case 0: buf[i] = ','; break;
    case 2: /* a quoted field "q,q" from byte i */
        if (i + 5 <= EDGE_LEN) {
            if (i > 0) buf[i - 1] = ',';
            memcpy(buf + i, "\"q,q\"", 5);
            if (i + 5 < EDGE_LEN) buf[i + 5] = ',';
        }
        break;
    case 3: if (i + 1 < EDGE_LEN) buf[i] = (char)0xC3, buf[i + 1] = (char)0xA9; break;
    case 4: buf[i] = (char)0xFF; break;
    case 5: buf[i] = '\0'; break;
    }
    buf[n] = '\n';
    return n + 1;
}

static void check_edges(void)
{
    static char text[6 * EDGE_LEN * (EDGE_LEN + 1)];
    size_t len = 0;
    for (int kind = 0; kind < 6; kind++)
        for (int i = 0; i < EDGE_LEN; i++) len += edge_line(kind, i, text + len);
    len--; /* the last line has no newline: it ends the file, inside a block */
    csv_opts o;
    csv_opts_default(&o);
    o.has_header = 0;
    csv_reader *r = open_text(text, len, &o);
    for (int kind = 0; kind < 6; kind++)
        for (int i = 0; i < EDGE_LEN; i++) {
            char line[EDGE_LEN + 1];
            size_t n = edge_line(kind, i, line) - 1;
            csv_record rec;
            if (kind == 1 && n == 0) continue; /* a blank line: skipped */
            assert_int_equal(csv_next(r, &rec), 1);
            /* the field lengths by hand: cut at commas outside the quoted
             * field, whose quotes are not part of it */
            int nf = 0, bad = -1;
            size_t fl[EDGE_LEN + 1], k = 0;
            for (size_t j = 0; j <= n; j++) {
                int quoted = kind == 2 && i + 5 <= EDGE_LEN && j >= (size_t)i && j < (size_t)i + 5;
                if (j == n || (line[j] == ',' && !quoted)) { fl[nf++] = k; k = 0; continue; }
                if (quoted && (j == (size_t)i || j == (size_t)i + 4)) continue;
                if (j == (size_t)i && kind >= 4) bad = nf;
                k++;
            }
            int status = kind == 4 ? CSV_BAD_UTF8 : kind == 5 ? CSV_NUL_BYTE : CSV_OK;
            assert_int_equal(rec.status, status);
            assert_int_equal(rec.bad_field, bad);
            assert_int_equal(rec.nfields, nf);
            for (int f = 0; f < nf; f++) assert_int_equal(rec.flen[f], fl[f]);
            if (kind == 2 && i + 5 <= EDGE_LEN) {
                int f = 0;
                for (int j = 0; j < i; j++) f += line[j] == ',';
                assert_int_equal(rec.flen[f], 3);
                assert_memory_equal(rec.f[f], "q,q", 3);
            }
        }
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
}

/* Once with the block reader csv_open picks, and once with SSE2's (or byte
 * by byte without SSE2): PRECIS_CSV_NO_AVX2 is read by csv_open. */
static void test_block_edges(void **st)
{
    (void)st;
    check_edges();
    setenv("PRECIS_CSV_NO_AVX2", "1", 1);
    check_edges();
    unsetenv("PRECIS_CSV_NO_AVX2");
}

/* Every record of g_path, as text: status, bad field, line, offset, raw
 * length and each field's bytes. */
static char *records_of(const csv_opts *o, size_t *len, int64_t *nfast)
{
    char *paths[1] = {g_path}, *out = NULL;
    csv_reader *r = NULL;
    precis_err e;
    perr_clear(&e);
    assert_int_equal(csv_open(MPI_COMM_SELF, paths, 1, o, &r, &e), 0);
    FILE *m = open_memstream(&out, len);
    csv_record rec;
    while (csv_next(r, &rec)) {
        fprintf(m, "%d %d %lld %lld %zu %d:", rec.status, rec.bad_field, (long long)rec.line, (long long)rec.offset,
                rec.raw_len, rec.nfields);
        for (int k = 0; k < rec.nfields; k++) {
            fprintf(m, " %zu=", rec.flen[k]);
            fwrite(rec.f[k], 1, rec.flen[k], m);
        }
        fputc('\n', m);
    }
    *nfast = csv_quoted_fast(r);
    csv_close(r);
    fclose(m);
    return out;
}

/* Records with quotes are split in one pass of 32-byte blocks (scan_quoted)
 * when their quotes are well placed, and by the boundary rule and
 * split_fields otherwise. 400 seeded files of random fields, quotes well
 * and badly placed, quoted line ends, CR LF, UTF-8, bad bytes and NUL, read
 * both ways (PRECIS_CSV_SLOW_QUOTES), each way through AVX2 and SSE2
 * blocks, with windows of 8 MiB and of 61 bytes, and with the field limit
 * at its default and at 24 bytes: the records must be the same, and the
 * fast way must have split a good share of them (csv_quoted_fast), the
 * slow way none. */
static void test_quoted_paths(void **st)
{
    (void)st;
    static const char *const tok[] = {"ab", "xyz", ",", ",", "\"", "\"\"", "\n", "\r\n", "\"p,q\"", "\"r\"\"s\"",
                                      "\"t\nu\"", "\"\"", "\xc3\xa9", "\xff", "\0", " ", "\"v\",w", "0123456789"};
    const int ntok = (int)(sizeof tok / sizeof tok[0]);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    snprintf(g_path, sizeof g_path, "/tmp/precis-csv-%d.csv", (int)getpid());
    int64_t total = 0;
    for (int it = 0; it < 400; it++) {
        FILE *f = fopen(g_path, "wb");
        fputs("a,b,c\n", f);
        int nrec = 1 + it % 40;
        for (int rr = 0; rr < nrec; rr++) {
            int mode = (int)((x >> 40) % 4);
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            for (int c = 0; c < 3; c++) { /* mostly well-formed quoted fields, sometimes anything */
                if (c) fputc(',', f);
                if (mode != 0) {
                    fputc('"', f);
                    int len = (int)((x >> 33) % 12);
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    for (int j = 0; j < len; j++) {
                        const char *t = tok[(x >> 35) % (uint64_t)ntok];
                        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                        if (t[0] == '"' || t[0] == '\0') t = t[0] == '"' && mode == 1 ? t : "k";
                        fwrite(t, 1, t[0] ? strlen(t) : 1, f);
                    }
                    fputc('"', f);
                } else {
                    int len = (int)((x >> 33) % 6);
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    for (int j = 0; j < len; j++) {
                        const char *t = tok[(x >> 35) % (uint64_t)ntok];
                        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                        fwrite(t, 1, t[0] ? strlen(t) : 1, f);
                    }
                }
            }
            fputs((x >> 20) % 5 == 0 ? "\r\n" : "\n", f);
        }
        if (it % 7 == 0) fputs("\"open", f); /* an open quote at the end */
        fclose(f);
        for (int v = 0; v < 8; v++) {
            csv_opts o;
            csv_opts_default(&o);
            if (v & 1) o.max_field = 24;
            if (v & 2) setenv("PRECIS_CSV_NO_AVX2", "1", 1);
            if (v & 4) setenv("PRECIS_CSV_WINDOW", "61", 1);
            size_t la, lb;
            int64_t na, nb;
            char *fast = records_of(&o, &la, &na);
            setenv("PRECIS_CSV_SLOW_QUOTES", "1", 1);
            char *slow = records_of(&o, &lb, &nb);
            unsetenv("PRECIS_CSV_SLOW_QUOTES");
            unsetenv("PRECIS_CSV_NO_AVX2");
            unsetenv("PRECIS_CSV_WINDOW");
            if (la != lb || memcmp(fast, slow, la) != 0) fprintf(stderr, "file %d, variant %d:\n%s---\n%s", it, v, fast, slow);
            assert_int_equal(la, lb);
            assert_memory_equal(fast, slow, la);
            assert_int_equal(nb, 0);
            total += na;
            free(fast);
            free(slow);
        }
    }
    assert_true(total > 1000);
}

static void test_field_limit_and_delimiter(void **st)
{
    (void)st;
    csv_opts o;
    csv_opts_default(&o);
    o.max_field = 8;
    o.delim = ';';
    const char t[] = "a;b\n"
                     "123456789;x\n"       /* unquoted field over the limit */
                     "\"a\nbcdefghij\";y\n" /* quoted region over the limit: resync at line 4 */
                     "bcdefghij\";y\n"      /* line 5: its quote reaches line 5's: too long again */
                     "k;v\n";
    csv_reader *r = open_text(t, sizeof t - 1, &o);
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_FIELD_TOO_LONG);
    assert_int_equal(rec.bad_field, 0);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.status, CSV_FIELD_TOO_LONG);
    assert_int_equal(rec.line, 3);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 4);
    assert_int_equal(rec.status, CSV_FIELD_TOO_LONG);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 5);
    assert_int_equal(rec.status, CSV_OPEN_QUOTE); /* no closing quote before EOF */
    expect(r, CSV_OK, 6, 2, (const char *[]){"k", "v"});
    csv_close(r);
}

static void test_utf8(void **st)
{
    (void)st;
    assert_true(csv_utf8_valid("h\xC3\xA9llo \xE4\xB8\xAD\xF0\x9F\x98\x80", 14));
    assert_false(csv_utf8_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(csv_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(csv_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(csv_utf8_valid("abc\xE4\xB8", 5));      /* truncated */
}

static void test_empty_and_header_only(void **st)
{
    (void)st;
    csv_reader *r = open_text("", 0, NULL);
    int nh;
    csv_header(r, 0, &nh, NULL, NULL);
    assert_int_equal(nh, 0);
    csv_record rec;
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
    r = open_text("a,b\r\n", 5, NULL);
    csv_header(r, 0, &nh, NULL, NULL);
    assert_int_equal(nh, 2);
    assert_int_equal(csv_header_line(r, 0), 1);
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
    /* only blank lines: no header, no records, every blank line counted */
    r = open_text("\n\r\n\n\r", 5, NULL);
    csv_header(r, 0, &nh, NULL, NULL);
    assert_int_equal(nh, 0);
    assert_int_equal(csv_next(r, &rec), 0);
    assert_int_equal(csv_blank_lines(r), 4);
    csv_close(r);
}

/* Blank lines before the header (after a BOM) are skipped and counted: the
 * header is the first line with something on it, and the lines after it
 * keep their true numbers, in records and after a rewind. */
/* csv_raw_read gives each record's raw bytes as csv_next did, from its
 * offset alone: records of every kind (CRLF, quoted line ends, quoted fields
 * longer than the 64 KiB first window, bad quoting, a quote open at the end,
 * no final line end), with the default field limit and a small one. */
static void test_raw_read(void **st)
{
    (void)st;
    size_t cap = 1 << 22, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    n += (size_t)sprintf(t + n, "id,note\n");
    unsigned x = 12345;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        if (i % 97 == 5) { /* a quoted field longer than the first window, line ends inside */
            n += (size_t)sprintf(t + n, "%d,\"", i);
            for (int k = 0; k < 70000 + i; k++) t[n++] = k % 997 ? (char)('a' + k % 26) : '\n';
            n += (size_t)sprintf(t + n, "\"\n");
            continue;
        }
        switch ((x >> 16) % 8) {
        case 0: n += (size_t)sprintf(t + n, "%d,plain\r\n", i); break;
        case 1: n += (size_t)sprintf(t + n, "%d,\"two\nlines, \"\"quoted\"\"\"\n", i); break;
        case 2: n += (size_t)sprintf(t + n, "%d,bad\"quote\n", i); break;
        case 3: n += (size_t)sprintf(t + n, "%d,\"q\"x\n", i); break;
        default: n += (size_t)sprintf(t + n, "%d,%*d\n", i, (int)(x % 200), i); break;
        }
        assert_true(n < cap - 100000);
    }
    n += (size_t)sprintf(t + n, "last,\"open quote\nto the end");
    const size_t limits[2] = {CSV_MAX_FIELD_DEFAULT, 4096};
    for (int v = 0; v < 2; v++) {
        csv_opts o;
        csv_opts_default(&o);
        o.max_field = limits[v];
        csv_reader *r = open_text(t, n, &o);
        FILE *f = fopen(g_path, "rb");
        assert_non_null(f);
        char *buf = NULL;
        size_t bcap = 0, len = 0;
        int recs = 0, long_recs = 0;
        csv_record rec;
        while (csv_next(r, &rec)) {
            assert_int_equal(csv_raw_read(fileno(f), (int64_t)n, rec.offset, limits[v], &buf, &bcap, &len), 0);
            assert_int_equal(len, rec.raw_len);
            assert_memory_equal(buf, rec.raw, len);
            recs++;
            long_recs += len > 65536;
        }
        /* (an odd quote joins lines into one record: fewer records than lines) */
        assert_true(recs > 3000);
        if (v == 0) assert_true(long_recs >= 20); /* with 4096, the long fields end at their first line end */
        free(buf);
        fclose(f);
        csv_close(r);
    }
    free(t);
}

static void test_blank_lines_before_header(void **st)
{
    (void)st;
    const char t[] = "\xEF\xBB\xBF\n\r\n\na,b\n1,2\n\n3,4";
    csv_reader *r = open_text(t, sizeof t - 1, NULL);
    int nh;
    const char *const *h;
    csv_header(r, 0, &nh, &h, NULL);
    assert_int_equal(nh, 2);
    assert_string_equal(h[0], "a");
    assert_int_equal(csv_header_line(r, 0), 4);
    for (int pass = 0; pass < 2; pass++) {
        expect(r, CSV_OK, 5, 2, (const char *[]){"1", "2"});
        expect(r, CSV_OK, 7, 2, (const char *[]){"3", "4"});
        csv_record rec;
        assert_int_equal(csv_next(r, &rec), 0);
        assert_int_equal(csv_blank_lines(r), 4);
        csv_rewind(r);
    }
    csv_close(r);
}

static int teardown(void **st)
{
    (void)st;
    unlink(g_path);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rfc4180, teardown),
        cmocka_unit_test_teardown(test_bad_records, teardown),
        cmocka_unit_test_teardown(test_field_limit_and_delimiter, teardown),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_positions),
        cmocka_unit_test_teardown(test_encoding, teardown),
        cmocka_unit_test_teardown(test_block_edges, teardown),
        cmocka_unit_test_teardown(test_quoted_paths, teardown),
        cmocka_unit_test_teardown(test_empty_and_header_only, teardown),
        cmocka_unit_test_teardown(test_blank_lines_before_header, teardown),
        cmocka_unit_test_teardown(test_raw_read, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
