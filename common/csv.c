/* csv.c - RFC 4180 byte-range reader with cross-rank boundary agreement. */
#define _GNU_SOURCE /* memrchr */
#include "csv.h"
#include "hugemem.h"

/* SSE2 where the compiler targets it (x86-64 always does); byte by byte
 * elsewhere (aarch64, POWER). PRECIS_CSV_PORTABLE compiles the byte-by-byte
 * code on x86 too, so that the tests run what other CPUs run. */
#if defined(__SSE2__) && !defined(PRECIS_CSV_PORTABLE)
#define PRECIS_CSV_SSE2 1
#include <emmintrin.h>
#else
#define PRECIS_CSV_SSE2 0
#endif
/* AVX2 for splitting lines, chosen at run time (GCC and Clang on x86-64) */
#if defined(__x86_64__) && defined(__GNUC__) && PRECIS_CSV_SSE2
#define PRECIS_CSV_AVX2 1
#include <immintrin.h>
#else
#define PRECIS_CSV_AVX2 0
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct csv_file {
    char *path;
    const char *d;     /* mapped bytes, NULL when size 0 */
    int64_t size;
    int64_t data;      /* first byte after BOM and header */
    int64_t data_line; /* line number of byte `data` */
    int64_t hline;     /* line number of the header (1 + blank lines before it) */
    int nh;            /* header fields */
    char **hname;
    size_t *hlen;
    int64_t b, e;      /* this rank's share [b, e) of the data region */
    int64_t start;     /* agreed first record start of this rank (>= b) */
    int64_t start_line;
    int64_t released;  /* pages below this offset were given back (madvise) */
    int64_t lead_blank; /* blank lines before the header */
    char *open_path;   /* the path opened, to read it again (NULL: a caller's descriptor) */
    int given_fd;      /* the caller's descriptor, or -1 */
    dev_t dev;         /* the file mapped, to know it again */
    ino_t ino;
} csv_file;

/* Read pages are given back in steps of this many bytes, so a rank's RSS
 * holds a window of its input, not the whole mapped range. */
#define RELEASE_STEP ((int64_t)16 << 20)

/* csv_next reads records through a window of the file filled with pread,
 * not through the mapping: the first touch of each mapped page is a fault
 * (fault-around maps 64 KiB at a time), and where faults are dear, as in a
 * virtual machine, touching 1 GB of a mapped cached file took 0.45-0.6 s
 * here against 0.07 s to pread the same bytes into one reused buffer. The
 * window starts at a record and holds WINDOW bytes; a record that runs past
 * its end is read again at the front of a new window, doubled while it
 * does, and one longer than 8 windows (a line without an end, a quote
 * without a close) is read through the mapping, as are files that cannot
 * be opened again as the file mapped. The header reads the mapping, and
 * the split agreement reads its long stretches with pread too (scan_src).
 * The environment variable PRECIS_CSV_WINDOW sets WINDOW
 * in bytes, so that tests cross window ends often. */
#define WINDOW ((int64_t)8 << 20)

struct csv_reader {
    csv_opts o;
    int nfiles;
    csv_file *f;
    int cur;           /* file being read */
    int64_t pos, line; /* next record start and its line */
    int64_t blank;
    int64_t lead_blank; /* blank lines before the files' headers: counted on rank 0 */
    int64_t local_bytes;
    const char **fv;   /* field pointers */
    size_t *fl;
    uint32_t *fq;      /* quotes per field (scan_quoted) */
    int fcap;
    char *scratch;     /* unescaped quoted fields */
    size_t scap;
    int avx2;          /* split lines with AVX2 (the CPU has it, PRECIS_CSV_NO_AVX2 unset) */
    int qfast;         /* records with quotes through scan_quoted first (PRECIS_CSV_SLOW_QUOTES unset) */
    int64_t nqfast;    /* records scan_quoted split */
    iconv_t cd;        /* --encoding to UTF-8, or (iconv_t)-1 */
    char *tbuf;        /* converted fields of the current record */
    size_t tcap;
    char *win;         /* bytes [woff, woff + wlen) of file wfile (-1: none) */
    int64_t window, wcap, woff, wlen;
    int wfile;
    int fd, fd_file, fd_own; /* descriptor read for file fd_file (-1: none yet), closed on leaving it when fd_own */
};

static const char *status_names[CSV_NSTATUS] = {
    "ok", "bad_quote", "open_quote", "field_too_long", "bad_utf8", "field_count", "nul_byte", "bad_encoding",
};

const char *csv_status_name(int s) { return s >= 0 && s < CSV_NSTATUS ? status_names[s] : "unknown"; }

void csv_opts_default(csv_opts *o)
{
    o->delim = ',';
    o->has_header = 1;
    o->max_field = CSV_MAX_FIELD_DEFAULT;
    o->split_bytes = 0;
    o->fds = NULL;
    o->names = NULL;
    o->encoding = NULL;
}

int csv_delim_option(const char *s, char *delim, precis_err *e)
{
    if (s && (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t"))) return *delim = '\t', 0;
    if (!s || strlen(s) != 1 || strchr("\"\r\n", s[0]) || isalnum((unsigned char)s[0]) || (unsigned char)s[0] >= 0x80)
        return PERR(e, PRECIS_EXIT_USAGE, "option --delimiter: '%s' is not one character (other than a quote, a line end or a letter or digit) or tab",
                    s ? s : "");
    *delim = s[0];
    return 0;
}

int csv_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c == 0xE0) { k = 2; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) k = 2;
        else if (c == 0xED) { k = 2; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) k = 2;
        else if (c == 0xF0) { k = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 3;
        else if (c == 0xF4) { k = 3; hi = 0x8F; }
        else return 0;
        if (i + k >= n) return 0; /* needs bytes i+1 .. i+k */
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}

/* End of the record that starts at s: the position after its terminating
 * '\n' (or the file size). Applies the boundary rule of csv.h. *quoted says
 * whether the record holds a quote (only then can it span lines). */
static int64_t rec_end(const char *d, int64_t n, int64_t s, size_t maxf, int *status, int *quoted)
{
    int64_t p = s;
    *status = CSV_OK;
    *quoted = 0;
    while (p < n) {
        const char *nl = memchr(d + p, '\n', (size_t)(n - p));
        int64_t nlp = nl ? nl - d : n;
        const char *q = memchr(d + p, '"', (size_t)(nlp - p));
        if (!q) return nl ? nlp + 1 : n;
        *quoted = 1;
        /* inside quotes from q */
        int64_t qs = q - d, c = qs + 1;
        for (;;) {
            const char *cq = c < n ? memchr(d + c, '"', (size_t)(n - c)) : NULL;
            if (!cq || (cq - d) - qs > (int64_t)maxf) {
                *status = cq ? CSV_FIELD_TOO_LONG : CSV_OPEN_QUOTE;
                const char *r = memchr(d + s, '\n', (size_t)(n - s));
                return r ? (r - d) + 1 : n;
            }
            c = (cq - d) + 1;
            if (c < n && d[c] == '"') { c++; continue; } /* doubled quote */
            break;
        }
        p = c;
    }
    return n;
}

/* rec_end, and in *le where the record's bytes end: before its '\n', and
 * before a '\r' ahead of it when the record is good (csv_next's rule). */
static int64_t rec_span(const char *d, int64_t n, int64_t s, size_t maxf, int *status, int *quoted, int64_t *le)
{
    int64_t end = rec_end(d, n, s, maxf, status, quoted), l = end;
    if (l > s && d[l - 1] == '\n') l--;
    if (*status == CSV_OK && l > s && d[l - 1] == '\r') l--;
    *le = l;
    return end;
}

/* A descriptor for file f: the caller's (*own 0), or its path opened again
 * (*own 1) if that still names the file mapped (device, inode, size); -1
 * otherwise. */
static int open_again(const csv_file *f, int *own)
{
    *own = 0;
    if (f->given_fd >= 0) return f->given_fd;
    int fd = f->open_path ? open(f->open_path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino || st.st_size != f->size)) {
        close(fd);
        fd = -1;
    }
    *own = fd >= 0;
    return fd;
}

/* n bytes of fd at off into buf: 0, or -1 with errno (EIO when the file
 * shrank). */
static int pread_all(int fd, char *buf, int64_t n, int64_t off)
{
    for (int64_t got = 0; got < n;) {
        ssize_t k = pread(fd, buf + got, (size_t)(n - got), off + got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return errno = k == 0 ? EIO : errno, -1;
        got += k;
    }
    return 0;
}

/* Where the split agreement reads a file's long stretches (the search for
 * the next quote, the newline count of a share): with pread, a block of
 * SCAN_BLOCK bytes at a time through buf, when fd >= 0 (first touches of
 * mapped pages are faults: see WINDOW); through the mapping otherwise, or
 * from a block that cannot be read. Short reads (a record's end, the
 * newline before a quote) use the mapping. */
#define SCAN_BLOCK ((int64_t)1 << 20)
typedef struct scan_src {
    const csv_file *f;
    int fd;
    char *buf;             /* bytes [boff, boff + blen) of the file */
    int64_t boff, blen, block; /* block: SCAN_BLOCK, or the csv_next window if smaller (tests) */
} scan_src;

/* The file's bytes from a (< its size) in the block: *n of them (at least
 * one), the block read again at a when it does not hold a; NULL when there
 * is no descriptor or the read fails. */
static const char *block_at(scan_src *x, int64_t a, int64_t *n)
{
    if (x->fd < 0 || !x->buf) return NULL;
    if (a < x->boff || a >= x->boff + x->blen) {
        int64_t len = x->f->size - a < x->block ? x->f->size - a : x->block;
        x->blen = 0;
        if (len <= 0 || pread_all(x->fd, x->buf, len, a)) return NULL;
        x->boff = a;
        x->blen = len;
    }
    *n = x->boff + x->blen - a;
    return x->buf + (a - x->boff);
}

/* The first byte c in [a, b) of the file, or b. */
static int64_t find_byte(scan_src *x, char c, int64_t a, int64_t b)
{
    int64_t n;
    for (const char *p; a < b && (p = block_at(x, a, &n)); a += n) {
        if (n > b - a) n = b - a;
        const char *q = memchr(p, c, (size_t)n);
        if (q) return a + (q - p);
    }
    const char *q = a < b ? memchr(x->f->d + a, c, (size_t)(b - a)) : NULL;
    return q ? q - x->f->d : b;
}

/* Where the records of up to 3 chains end: chain i starts at at[i] (a record
 * start guess: a line start) and follows records while they start before
 * `stop`; at[i] becomes the end of its last one (at[i] itself when at[i] >=
 * stop). Where no quote occurs, records are lines: the stretch up to the next
 * quote is skipped whole, and only quoted records are followed one by one.
 * The chains advance in turn, the one furthest behind first; two chains
 * that meet are one from there on, so a chain that enters the plain stretch
 * another is about to skip needs no scan of its own. Usually the guesses
 * meet at the first quote, and a share is scanned once, not once per guess. */
static int64_t rec_end_blocks(scan_src *x, int64_t s, size_t maxf);

static void scan_chains(scan_src *x, int64_t *at, int k, int64_t stop, size_t maxf)
{
    const csv_file *f = x->f;
    const char *d = f->d;
    int64_t n = f->size;
    int follows[3] = {-1, -1, -1}, live[3];
    /* the line holding byte stop-1 ends at e1: a chain's end if no quote comes first */
    int64_t e1 = n;
    if (stop > 0 && stop <= n) {
        const char *nl = memchr(d + stop - 1, '\n', (size_t)(n - (stop - 1)));
        e1 = nl ? (nl - d) + 1 : n;
    }
    for (int i = 0; i < k; i++) live[i] = at[i] < stop;
    for (;;) {
        int i = -1;
        for (int j = 0; j < k; j++)
            if (live[j] && (i < 0 || at[j] < at[i])) i = j;
        if (i < 0) break;
        int64_t plain = find_byte(x, '"', at[i], e1);   /* the next quote, or e1 */
        /* chain i steps through every line start up to `plain`: a chain
         * waiting at one of them joins it */
        for (int j = 0; j < k; j++)
            if (j != i && live[j] && at[j] <= plain) live[j] = 0, follows[j] = i;
        if (plain == e1) { at[i] = e1; live[i] = 0; continue; }
        const char *lnl = memrchr(d + at[i], '\n', (size_t)(plain - at[i]));
        if (lnl) at[i] = (lnl - d) + 1;
        if (at[i] < stop) at[i] = rec_end_blocks(x, at[i], maxf); /* past e1 only if it is past stop too */
        live[i] = at[i] < stop;
    }
    for (int i = 0; i < k; i++) {
        int j = i;
        while (follows[j] >= 0) j = follows[j];
        at[i] = at[j];
    }
}

/* Newlines in d[a, b): a byte lane counts the newlines it sees in up to 255
 * blocks of 16, then the lanes are summed (psadbw), with no branch per block. */
static int64_t count_nl(const char *d, int64_t a, int64_t b)
{
    int64_t k = 0;
#if PRECIS_CSV_SSE2
    const __m128i nlv = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (a + 16 <= b) {
        __m128i acc = zero;
        for (int r = 0; r < 255 && a + 16 <= b; r++, a += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + a));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nlv));
        }
        __m128i s = _mm_sad_epu8(acc, zero);
        k += _mm_cvtsi128_si64(s) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
    }
#endif
    for (; a < b; a++) k += d[a] == '\n';
    return k;
}

/* count_nl over [a, b) of the file, read as find_byte reads it */
static int64_t count_nl_src(scan_src *x, int64_t a, int64_t b)
{
    int64_t k = 0, n;
    for (const char *p; a < b && (p = block_at(x, a, &n)); a += n) {
        if (n > b - a) n = b - a;
        k += count_nl(p, 0, n);
    }
    return k + (a < b ? count_nl(x->f->d, a, b) : 0);
}

static int ensure_fields(csv_reader *r, int n)
{
    if (n <= r->fcap) return 0;
    int c = r->fcap ? r->fcap : 16;
    while (c < n) c *= 2;
    const char **fv = realloc(r->fv, sizeof(char *) * (size_t)c);
    if (!fv) return -1;
    r->fv = fv;
    size_t *fl = realloc(r->fl, sizeof(size_t) * (size_t)c);
    if (!fl) return -1;
    r->fl = fl;
    uint32_t *fq = realloc(r->fq, sizeof(uint32_t) * (size_t)c);
    if (!fq) return -1;
    r->fq = fq;
    r->fcap = c;
    return 0;
}

/* Room for len unescaped bytes and a NUL in r->scratch: 0, or -1 when out
 * of memory. */
static int ensure_scratch(csv_reader *r, size_t len)
{
    if (r->scap >= len + 1) return 0;
    size_t c = r->scap ? r->scap : 4096;
    while (c < len + 1) c *= 2;
    char *t = realloc(r->scratch, c);
    if (!t) return -1;
    r->scratch = t;
    r->scap = c;
    return 0;
}

/* Bit masks of the 32 bytes at p (bit j: byte j): delimiters, line ends,
 * quotes, bytes >= 0x80, NUL bytes. SSE2 reads them in two halves; AVX2,
 * where the CPU has it (csv_open decides), in one. */
typedef struct blockmask {
    uint32_t delim, nl, quote, high, nul;
} blockmask;
typedef blockmask (*masks_fn)(const char *p, char delim);

#if PRECIS_CSV_SSE2
static inline __attribute__((always_inline)) blockmask masks_sse2(const char *p, char delim)
{
    blockmask m = {0, 0, 0, 0, 0};
    const __m128i dv = _mm_set1_epi8(delim), lv = _mm_set1_epi8('\n'), qv = _mm_set1_epi8('"'), zv = _mm_setzero_si128();
    for (int h = 0; h < 32; h += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + h));
        m.delim |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, dv)) << h;
        m.nl |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lv)) << h;
        m.quote |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, qv)) << h;
        m.high |= (uint32_t)_mm_movemask_epi8(v) << h;
        m.nul |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zv)) << h;
    }
    return m;
}
#define masks_base masks_sse2
#else
static inline blockmask masks_bytes(const char *p, char delim)
{
    blockmask m = {0, 0, 0, 0, 0};
    for (int j = 0; j < 32; j++) {
        uint32_t b = UINT32_C(1) << j;
        m.delim |= p[j] == delim ? b : 0;
        m.nl |= p[j] == '\n' ? b : 0;
        m.quote |= p[j] == '"' ? b : 0;
        m.high |= (unsigned char)p[j] >= 0x80 ? b : 0;
        m.nul |= p[j] == '\0' ? b : 0;
    }
    return m;
}
#define masks_base masks_bytes
#endif

#if PRECIS_CSV_AVX2
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) blockmask masks_avx2(const char *p, char delim)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    blockmask m;
    m.delim = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(delim)));
    m.nl = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')));
    m.quote = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')));
    m.high = (uint32_t)_mm256_movemask_epi8(v);
    m.nul = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
    return m;
}
#endif

/* Fields of the line that starts at a: scan a[0..limit) to the first '\n'
 * (or limit), ending a field at each delimiter, 32 bytes at a time (masks:
 * NULL for byte by byte), in one pass that also looks for bytes >= 0x80
 * (*ascii: none, so valid UTF-8 without a closer look) and NUL bytes.
 * Returns where the line ends (the '\n' or limit), or -1 when a quote comes
 * first: the record is not a plain line, and the caller follows the quotes;
 * -2 when out of memory. Inlined into one function per block reader, so
 * that the reader is inlined too. */
static inline __attribute__((always_inline)) int64_t scan_line(csv_reader *r, const char *a, int64_t limit, int *nf,
                                                               int *ascii, int *nul, masks_fn masks)
{
    char delim = r->o.delim;
    int k = 0, cap = r->fcap;
    const char **fv = r->fv;
    size_t *fl = r->fl;
    int64_t start = 0, i = 0, stop = -1;
    uint32_t high = 0, zero = 0;
#define FIELD_END(at)                                                    \
    do {                                                                 \
        if (k >= cap) {                                                  \
            if (ensure_fields(r, k + 1)) return -2;                      \
            cap = r->fcap, fv = r->fv, fl = r->fl;                       \
        }                                                                \
        fv[k] = a + start;                                               \
        fl[k] = (size_t)((at) - start);                                  \
        k++;                                                             \
        start = (at) + 1;                                                \
    } while (0)
    for (; masks && i + 32 <= limit; i += 32) {
        blockmask m = masks(a + i, delim);
        uint32_t stopm = m.nl | m.quote;
        if (stopm) { /* the line ends here, or a quote comes first */
            int p = __builtin_ctz(stopm);
            if (a[i + p] == '"') return -1;
            uint32_t before = (UINT32_C(1) << p) - 1;
            m.delim &= before;
            high |= m.high & before;
            zero |= m.nul & before;
            stop = i + p;
        } else {
            high |= m.high;
            zero |= m.nul;
        }
        for (; m.delim; m.delim &= m.delim - 1) FIELD_END(i + __builtin_ctz(m.delim));
        if (stop >= 0) break;
    }
    for (; stop < 0 && i < limit; i++) {
        char ch = a[i];
        if (ch == '\n') stop = i;
        else if (ch == '"') return -1;
        else {
            high |= (unsigned char)ch & 0x80u;
            zero |= ch == '\0';
            if (ch == delim) FIELD_END(i);
        }
    }
    if (stop < 0) stop = limit;
    FIELD_END(stop);   /* the last field (empty after a trailing delimiter) */
#undef FIELD_END
    *nf = k;
    *ascii = high == 0;
    *nul = zero != 0;
    return stop;
}

/* Bit j of the result: the parity of bits 0..j of x. Applied to a block's
 * quotes, a byte is inside quotes where its bit is set (a quote itself
 * counts with the bytes after it). */
static inline uint32_t prefix_xor32(uint32_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    return x;
}

/* The masks of the block at p + i of p[0..n): 32 bytes, or the last ones
 * zero-padded, with *valid the bits of the bytes there (every mask is
 * clipped to them). */
static inline __attribute__((always_inline)) blockmask masks_at(const char *p, int64_t i, int64_t n, char delim,
                                                                uint32_t *valid, masks_fn masks)
{
    if (i + 32 <= n) {
        *valid = ~UINT32_C(0);
        return masks(p + i, delim);
    }
    char tail[32] = {0};
    memcpy(tail, p + i, (size_t)(n - i));
    uint32_t v = (UINT32_C(1) << (n - i)) - 1;
    blockmask m = masks(tail, delim);
    m.delim &= v, m.nl &= v, m.quote &= v, m.high &= v, m.nul &= v;
    *valid = v;
    return m;
}

/* A record at a that holds a quote, in one pass of 32-byte blocks (masks),
 * as rec_span and split_fields would read it when its quotes are where
 * RFC 4180 puts them. A line end or delimiter is the record's when an even
 * number of quotes comes before it in the record (a doubled quote inside
 * quotes closes and reopens them), which is where rec_end finds the end.
 * Each field is then "...", its inner quotes doubled (unescaped into the
 * scratch buffer, or pointed at in place when it has none), or holds no
 * quote. Returns the record's end (after its '\n'), with *le (rec_span's),
 * the fields, *ascii, *nul and *nls (the newlines in [0, end)); or -1 when
 * the slow path must decide: no record end in [0, limit), a record longer
 * than the field limit (which rec_end measures per quoted stretch), or a
 * quote anywhere else, which split_fields reports; -2 when out of memory. */
static inline __attribute__((always_inline)) int64_t scan_quoted(csv_reader *r, const char *a, int64_t limit, int *nf,
                                                                 int *ascii, int *nul, int64_t *le, int64_t *nls,
                                                                 masks_fn masks)
{
    char delim = r->o.delim;
    int k = 0, cap = r->fcap;
    const char **fv = r->fv;
    size_t *fl = r->fl;
    uint32_t *fq = r->fq, inq = 0, high = 0, zero = 0, quotes = 0;
    int64_t start = 0, stop = -1, nl = 0;
#define QFIELD_END(at)                                                   \
    do {                                                                 \
        if (k >= cap) {                                                  \
            if (ensure_fields(r, k + 1)) return -2;                      \
            cap = r->fcap, fv = r->fv, fl = r->fl, fq = r->fq;           \
        }                                                                \
        fv[k] = a + start;                                               \
        fl[k] = (size_t)((at) - start);                                  \
        fq[k] = quotes;                                                  \
        k++;                                                             \
        start = (at) + 1;                                                \
        quotes = 0;                                                      \
    } while (0)
    for (int64_t i = 0; stop < 0 && i < limit; i += 32) {
        uint32_t valid;
        blockmask m = masks_at(a, i, limit, delim, &valid, masks);
        uint32_t inside = prefix_xor32(m.quote) ^ inq, ends = m.nl & ~inside;
        if (ends) {
            int p = __builtin_ctz(ends);
            valid &= (UINT32_C(1) << p) - 1;   /* the bytes before the '\n' */
            stop = i + p;
            nl++;
        }
        inq = (uint32_t)-(int32_t)(inside >> 31);
        high |= m.high & valid;
        zero |= m.nul & valid;
        nl += __builtin_popcount(m.nl & valid);
        uint32_t q = m.quote & valid, done = 0;
        for (uint32_t d = m.delim & ~inside & valid; d; d &= d - 1) {
            int p = __builtin_ctz(d);
            uint32_t below = (UINT32_C(1) << p) - 1;
            quotes += (uint32_t)__builtin_popcount(q & below & ~done);
            done = below;
            QFIELD_END(i + p);
        }
        quotes += (uint32_t)__builtin_popcount(q & ~done);
    }
    if (stop < 0 || stop > (int64_t)r->o.max_field) return -1;
    int64_t l = stop > 0 && a[stop - 1] == '\r' ? stop - 1 : stop;   /* outside quotes: the '\n' is */
    QFIELD_END(l);
#undef QFIELD_END
    char *sc = NULL;
    for (int j = 0; j < k; j++) {
        const char *v = fv[j];
        size_t n = fl[j];
        if (fq[j] == 0) continue;
        if (n < 2 || v[0] != '"' || v[n - 1] != '"') return -1;
        if (fq[j] == 2) {
            fv[j] = v + 1;
            fl[j] = n - 2;
            continue;
        }
        if (!sc) {
            if (ensure_scratch(r, (size_t)l)) return -2;
            sc = r->scratch;
        }
        char *out = sc;
        for (size_t x = 1; x + 1 < n; x++) {
            if (v[x] == '"' && (x + 2 >= n || v[++x] != '"')) return -1;   /* a quote not doubled */
            *out++ = v[x];
        }
        fv[j] = sc;
        fl[j] = (size_t)(out - sc);
        sc = out;
    }
    *nf = k;
    *ascii = high == 0;
    *nul = zero != 0;
    *le = l;
    *nls = nl;
    return stop + 1;
}

static int64_t scan_plain_base(csv_reader *r, const char *a, int64_t limit, int *nf, int *ascii, int *nul)
{
#if PRECIS_CSV_SSE2
    return scan_line(r, a, limit, nf, ascii, nul, masks_sse2);
#else
    return scan_line(r, a, limit, nf, ascii, nul, NULL);   /* no block reader: its byte loop reads the line */
#endif
}

#if PRECIS_CSV_AVX2
__attribute__((target("avx2"))) static int64_t scan_plain_avx2(csv_reader *r, const char *a, int64_t limit, int *nf,
                                                               int *ascii, int *nul)
{
    return scan_line(r, a, limit, nf, ascii, nul, masks_avx2);
}
#endif

static int64_t scan_quoted_base(csv_reader *r, const char *a, int64_t limit, int *nf, int *ascii, int *nul, int64_t *le,
                                int64_t *nls)
{
    return scan_quoted(r, a, limit, nf, ascii, nul, le, nls, masks_base);
}

#if PRECIS_CSV_AVX2
__attribute__((target("avx2"))) static int64_t scan_quoted_avx2(csv_reader *r, const char *a, int64_t limit, int *nf,
                                                                int *ascii, int *nul, int64_t *le, int64_t *nls)
{
    return scan_quoted(r, a, limit, nf, ascii, nul, le, nls, masks_avx2);
}
#endif

/* scan_quoted with this reader's block reader */
static int64_t scan_quoted_any(csv_reader *r, const char *a, int64_t limit, int *nf, int *ascii, int *nul, int64_t *le,
                               int64_t *nls)
{
#if PRECIS_CSV_AVX2
    if (r->avx2) return scan_quoted_avx2(r, a, limit, nf, ascii, nul, le, nls);
#endif
    return scan_quoted_base(r, a, limit, nf, ascii, nul, le, nls);
}

/* scan_line with this reader's block reader */
static int64_t scan_plain(csv_reader *r, const char *a, int64_t limit, int *nf, int *ascii, int *nul)
{
#if PRECIS_CSV_AVX2
    if (r->avx2) return scan_plain_avx2(r, a, limit, nf, ascii, nul);
#endif
    return scan_plain_base(r, a, limit, nf, ascii, nul);
}

/* CSV_FIELD_TOO_LONG (and *bad) when one of the nf fields of a record of
 * len bytes is longer than the limit, else CSV_OK. */
static int long_field(const csv_reader *r, size_t len, int nf, int *bad)
{
    *bad = -1;
    if (len > r->o.max_field) /* only then can a field be too long */
        for (int j = 0; j < nf; j++)
            if (r->fl[j] > r->o.max_field) { *bad = j; return CSV_FIELD_TOO_LONG; }
    return CSV_OK;
}

/* s[0..n) in the reader's encoding as UTF-8 at out (4n + 4 bytes): its
 * length, or -1 where a byte sequence is not valid in the encoding. */
static long to_utf8(csv_reader *r, const char *s, size_t n, char *out)
{
    char *in = (char *)s, *o = out;
    size_t il = n, ol = 4 * n + 4;
    iconv(r->cd, NULL, NULL, NULL, NULL); /* (a fresh shift state per field) */
    if (iconv(r->cd, &in, &il, &o, &ol) == (size_t)-1 || iconv(r->cd, NULL, NULL, &o, &ol) == (size_t)-1) return -1;
    return (long)(o - out);
}

static int has_high(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 1;
    return 0;
}

/* The record's fields in UTF-8: those with non-ASCII bytes converted into
 * r->tbuf. 0, -1 out of memory; a field the encoding does not allow makes
 * the record CSV_BAD_ENCODING. */
static int convert_record(csv_reader *r, csv_record *rec)
{
    /* the fields are no longer than the raw record: 4 bytes out per byte in, and 4 for each field's end */
    size_t need = 4 * rec->raw_len + 4 * (size_t)rec->nfields, used = 0;
    if (need > r->tcap) {
        char *t = realloc(r->tbuf, need);
        if (!t) return -1;
        r->tbuf = t;
        r->tcap = need;
    }
    for (int k = 0; k < rec->nfields; k++) {
        if (!has_high(rec->f[k], rec->flen[k])) continue;
        long l = to_utf8(r, rec->f[k], rec->flen[k], r->tbuf + used);
        if (l < 0) {
            rec->status = CSV_BAD_ENCODING;
            rec->bad_field = k;
            return 0;
        }
        r->fv[k] = r->tbuf + used;
        r->fl[k] = (size_t)l;
        used += (size_t)l;
    }
    return 0;
}

/* Split [a, b) into fields. Returns the status; sets *bad to the field index. */
static int split_fields(csv_reader *r, const char *a, size_t len, int quoted, int *nf, int *bad, int *ascii, int *nul)
{
    *ascii = 0;
    if (!quoted) { /* no quote and no newline in [a, a + len) */
        if (scan_plain(r, a, (int64_t)len, nf, ascii, nul) < -1) return -1;
        return long_field(r, len, *nf, bad);
    }
    *nul = memchr(a, '\0', len) != NULL;
    char delim = r->o.delim;
    if (ensure_scratch(r, len)) return -1;
    char *sc = r->scratch;
    size_t i = 0;
    int k = 0, status = CSV_OK;
    *bad = -1;
    for (;;) {
        if (ensure_fields(r, k + 1)) return -1;
        if (i < len && a[i] == '"') {
            /* quoted: unescape into scratch */
            char *out = sc;
            i++;
            for (;;) {
                const char *q = memchr(a + i, '"', len - i);
                if (!q) { /* cannot happen after rec_end, but stay safe */
                    if (status == CSV_OK) { status = CSV_BAD_QUOTE; *bad = k; }
                    memcpy(out, a + i, len - i);
                    out += len - i;
                    i = len;
                    break;
                }
                size_t seg = (size_t)(q - (a + i));
                memcpy(out, a + i, seg);
                out += seg;
                i += seg + 1;
                if (i < len && a[i] == '"') { *out++ = '"'; i++; continue; }
                break;
            }
            r->fv[k] = sc;
            r->fl[k] = (size_t)(out - sc);
            sc = out;
            if (i < len && a[i] != delim) {
                if (status == CSV_OK) { status = CSV_BAD_QUOTE; *bad = k; }
                const char *dl = memchr(a + i, delim, len - i);
                i = dl ? (size_t)(dl - a) : len;
            }
        } else {
            /* fields are short: one byte loop beats two library calls */
            size_t end = i;
            int quote = 0;
            while (end < len && a[end] != delim) quote |= a[end++] == '"';
            r->fv[k] = a + i;
            r->fl[k] = end - i;
            if (status == CSV_OK && quote) { status = CSV_BAD_QUOTE; *bad = k; }
            i = end;
        }
        if (status == CSV_OK && r->fl[k] > r->o.max_field) { status = CSV_FIELD_TOO_LONG; *bad = k; }
        k++;
        if (i >= len) break;
        i++; /* skip delimiter */
        if (i == len) { /* trailing delimiter: one more empty field */
            if (ensure_fields(r, k + 1)) return -1;
            r->fv[k] = a + i;
            r->fl[k] = 0;
            k++;
            break;
        }
    }
    *nf = k;
    return status;
}

static int parse_header(csv_reader *r, csv_file *f, precis_err *e)
{
    int64_t p = f->data;
    if (f->size - p >= 3 && memcmp(f->d + p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    f->data = p;
    f->data_line = f->hline = 1;
    if (!r->o.has_header) return 0;
    /* blank lines before the header are skipped (and counted), as they are
     * between records: the header is the first line with something on it */
    int64_t lead = 0;
    while (p < f->size && (f->d[p] == '\n' || (f->d[p] == '\r' && (p + 1 == f->size || f->d[p + 1] == '\n')))) {
        p += f->d[p] == '\r' && p + 1 < f->size ? 2 : 1;
        lead++;
    }
    f->lead_blank = lead;
    f->hline = 1 + lead;
    if (p >= f->size) { /* nothing but blank lines: no header, no data */
        f->data = f->size;
        f->data_line = f->hline;
        return 0;
    }
    int st;
    int quoted;
    int64_t le, end = rec_span(f->d, f->size, p, r->o.max_field, &st, &quoted, &le);
    if (st != CSV_OK)
        return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header row has broken quoting (%s)", f->path, (long long)f->hline, csv_status_name(st));
    int nf = 0, bad, ascii, nul;
    int s = split_fields(r, f->d + p, (size_t)(le - p), quoted, &nf, &bad, &ascii, &nul);
    if (s < 0) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (s != CSV_OK)
        return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header field %d: %s", f->path, (long long)f->hline, bad + 1, csv_status_name(s));
    if (nul) { /* ASCII names as UTF-16 without a byte-order mark (SQL Server's bcp -w writes them), or binary */
        const unsigned char *h = (const unsigned char *)f->d + p;
        int le16 = le - p >= 4 && h[0] && !h[1] && h[2] && !h[3], be16 = le - p >= 4 && !h[0] && h[1] && !h[2] && h[3];
        if (le16 || be16)
            return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: the header reads as %s without a byte-order mark: give --encoding %s", f->path,
                        (long long)f->hline, le16 ? "UTF-16LE" : "UTF-16BE", le16 ? "UTF-16LE" : "UTF-16BE");
        return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header holds a NUL byte (a binary file? CSV input must be UTF-8, or UTF-16 or "
                    "UTF-32 with --encoding)", f->path, (long long)f->hline);
    }
    if (r->cd == (iconv_t)-1 && !csv_utf8_valid(f->d + p, (size_t)(le - p)))
        return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header is not valid UTF-8 (give --encoding for another encoding, e.g. CP1252)",
                    f->path, (long long)f->hline);
    f->nh = nf;
    f->hname = calloc((size_t)nf, sizeof(char *));
    f->hlen = calloc((size_t)nf, sizeof(size_t));
    if (!f->hname || !f->hlen) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < nf; i++) {
        const char *v = r->fv[i];
        size_t l = r->fl[i];
        while (l && (*v == ' ' || *v == '\t')) v++, l--;
        while (l && (v[l - 1] == ' ' || v[l - 1] == '\t')) l--;
        if (r->cd != (iconv_t)-1 && has_high(v, l)) {
            char *u = malloc(4 * l + 4);
            if (!u) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            long ul = to_utf8(r, v, l, u);
            if (ul < 0) {
                free(u);
                return PERR(e, PRECIS_EXIT_DATA, "%s:%lld: header field %d is not valid %s", f->path, (long long)f->hline, i + 1, r->o.encoding);
            }
            f->hname[i] = u;
            u[ul] = '\0';
            l = (size_t)ul;
        } else if (!(f->hname[i] = strndup(v, l))) {
            return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        }
        f->hlen[i] = l;
    }
    f->data_line = f->hline + count_nl(f->d, p, end);
    f->data = end;
    return 0;
}

/* rec_end of the file's record at s, found in one pass of 32-byte blocks
 * when the record ends inside the block that holds s and is no longer than
 * maxf (so none of its quoted stretches is): the first '\n' after an even
 * number of quotes from s, which is where rec_end ends it. Otherwise rec_end
 * itself, on the mapping. */
static int64_t rec_end_blocks(scan_src *x, int64_t s, size_t maxf)
{
    int64_t n;
    const char *p = block_at(x, s, &n);
    if (p) {
        if (n > (int64_t)maxf) n = (int64_t)maxf;
        uint32_t inq = 0;
        for (int64_t i = 0; i < n; i += 32) {
            uint32_t valid;
            blockmask m = masks_at(p, i, n, '\n', &valid, masks_base);
            uint32_t inside = prefix_xor32(m.quote) ^ inq, ends = m.nl & ~inside;
            if (ends) return s + i + __builtin_ctz(ends) + 1;
            inq = (uint32_t)-(int32_t)(inside >> 31);
        }
    }
    int st, quoted;
    return rec_end(x->f->d, x->f->size, s, maxf, &st, &quoted);
}

/* The first '\n' in [a, b) of the file after an even number of quotes from
 * a (*even), and the first after an odd number (*odd); -1 for none. One
 * pass of 32-byte blocks through the file's blocks, the parity from the
 * prefix XOR of the quotes: in a file that quotes every field a newline at
 * odd parity may never come, and the walk from quote to quote that looked
 * for it crossed the whole share two library calls per quote. */
static void parity_newlines(scan_src *x, int64_t a, int64_t b, int64_t *even, int64_t *odd)
{
    uint32_t inq = 0;
    *even = *odd = -1;
    while (a < b && (*even < 0 || *odd < 0)) {
        int64_t n;
        const char *p = block_at(x, a, &n);
        if (!p) { /* no descriptor, or a read failed: the mapping */
            p = x->f->d + a;
            n = b - a;
        }
        if (n > b - a) n = b - a;
        for (int64_t i = 0; i < n && (*even < 0 || *odd < 0); i += 32) {
            uint32_t valid;
            blockmask m = masks_at(p, i, n, '\n', &valid, masks_base);
            uint32_t inside = prefix_xor32(m.quote) ^ inq, nl = m.nl;
            if (*even < 0 && (nl & ~inside)) *even = a + i + __builtin_ctz(nl & ~inside);
            if (*odd < 0 && (nl & inside)) *odd = a + i + __builtin_ctz(nl & inside);
            inq = (uint32_t)-(int32_t)(inside >> 31);
        }
        a += n;
    }
}

/* This rank's guesses at its first record start in file f and where the
 * records from each guess end (local): v = {b, e, exact start, its end,
 * even-parity start, its end, odd-parity start, its end, newlines in [b, e)
 * (0 where no later rank needs them)}, -1 for a guess that does not apply. */
enum { AG_NV = 9 };
static void guess_starts(const csv_reader *r, const csv_file *f, int64_t *v)
{
    int64_t init[AG_NV] = {f->b, f->e, -1, -1, -1, -1, -1, -1, 0};
    memcpy(v, init, sizeof init);
    if (f->e <= f->b) return;
    if (f->b == f->data || f->d[f->b - 1] == '\n') v[2] = f->b;
    if (f->b == f->data && f->e == f->size) { v[3] = f->size; return; }   /* the whole file: nothing to scan */
    scan_src x = {f, -1, NULL, 0, 0, r->window < SCAN_BLOCK ? r->window : SCAN_BLOCK};
    int own = 0;
    if ((x.buf = malloc((size_t)SCAN_BLOCK))) x.fd = open_again(f, &own);
    /* the first newline at even and at odd quote parity from b (a file's
     * first record starts its data: there is nothing to guess) */
    if (f->b > f->data) {
        int64_t even, odd;
        parity_newlines(&x, f->b, f->e, &even, &odd);
        if (even >= 0) v[4] = even + 1;
        if (odd >= 0) v[6] = odd + 1;
    }
    /* A share that reaches the file's end (always so at P = 1) has no rank
     * after it in this file: every chain ends at the file's end, and no
     * rank needs its newlines (their first line numbers) */
    if (f->e == f->size) {
        for (int c = 2; c <= 6; c += 2)
            if (v[c] >= 0) v[c + 1] = f->size;
        goto done;
    }
    int64_t at[3];
    int nc = 0;
    for (int c = 2; c <= 6; c += 2)
        if (v[c] >= 0) at[nc++] = v[c];
    scan_chains(&x, at, nc, f->e, r->o.max_field);
    for (int c = 2, j = 0; c <= 6; c += 2)
        if (v[c] >= 0) v[c + 1] = at[j++];
    v[8] = count_nl_src(&x, f->b, f->e);
done:
    if (own) close(x.fd);
    free(x.buf);
}

/* Walk file f's records from its data start through the ranks' shares:
 * the true start of rank q is the end reached by rank q-1 (collective only
 * when a rank must rescan). all[q * stride] holds rank q's guesses. */
static int walk_starts(MPI_Comm comm, const csv_reader *r, csv_file *f, const int64_t *all, size_t stride,
                       int rank, int size, precis_err *e)
{
    int64_t t = f->data, lines_before = 0;
    for (int q = 0; q < size; q++) {
        const int64_t *w = all + (size_t)q * stride;
        int64_t b = w[0], en = w[1], next;
        if (q == rank) {
            f->start = t;
            f->start_line = f->data_line + lines_before + (t > b && en > b ? count_nl(f->d, b, t) : 0);
        }
        lines_before += w[8];
        if (en <= b || t >= en) { /* empty share, or no record starts in it */
            next = t;
        } else if (t == w[2] || t == w[4] || t == w[6]) {
            next = t == w[2] ? w[3] : t == w[4] ? w[5] : w[7];
        } else { /* the resolved start is none of q's guesses: q rescans */
            next = t;
            if (q == rank) {
                scan_src x = {f, -1, NULL, 0, 0, SCAN_BLOCK};   /* (rare: the mapping) */
                scan_chains(&x, &next, 1, en, r->o.max_field);
            }
            MPI_CHECK(MPI_Bcast(&next, 1, MPI_INT64_T, q, comm), e);
        }
        t = next;
    }
    return 0;
fail:
    return -1;
}

/* Agree on every rank's first record start in each file (collective). The
 * ranks scan their shares of a batch of files at once, then exchange their
 * guesses in one allgather: a rank whose share lies in the second file does
 * not wait for the ranks scanning the first. The batch keeps the exchange
 * within about 2^20 values. */
static int agree_starts(MPI_Comm comm, csv_reader *r, precis_err *e)
{
    int rank, size;
    int64_t *mine = NULL, *all = NULL;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    int batch = (int)((1 << 20) / ((int64_t)AG_NV * size));
    if (batch < 1) batch = 1;
    if (batch > r->nfiles) batch = r->nfiles > 0 ? r->nfiles : 1;
    mine = malloc(sizeof(int64_t) * AG_NV * (size_t)batch);
    all = malloc(sizeof(int64_t) * AG_NV * (size_t)batch * (size_t)size);
    CHECK(mine && all, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int f0 = 0; f0 < r->nfiles; f0 += batch) {
        int nb = r->nfiles - f0 < batch ? r->nfiles - f0 : batch;
        for (int i = 0; i < nb; i++) guess_starts(r, &r->f[f0 + i], mine + (size_t)i * AG_NV);
        MPI_CHECK(MPI_Allgather(mine, AG_NV * nb, MPI_INT64_T, all, AG_NV * nb, MPI_INT64_T, comm), e);
        for (int i = 0; i < nb; i++)
            if (walk_starts(comm, r, &r->f[f0 + i], all + (size_t)i * AG_NV, (size_t)AG_NV * (size_t)nb, rank, size, e))
                goto fail;
    }
    free(mine);
    free(all);
    return 0;
fail:
    free(mine);
    free(all);
    return -1;
}

int csv_open(MPI_Comm comm, char *const *paths, int npaths, const csv_opts *o,
             csv_reader **out, precis_err *e)
{
    int rank, size;
    csv_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto agree; }
    r->o = *o;
    r->nfiles = npaths;
    r->cd = (iconv_t)-1;
    r->wfile = r->fd_file = r->fd = -1;
    const char *w = getenv("PRECIS_CSV_WINDOW");
    r->window = w && atoll(w) > 0 ? atoll(w) : WINDOW;
    if (o->encoding && strcasecmp(o->encoding, "UTF-8") && strcasecmp(o->encoding, "UTF8")) {
        /* ASCII-compatible: the bytes CSV splits on must mean themselves */
        static const char probe[] = "Az09 ,;|\t\"\r\n";
        char got[4 * sizeof probe + 4];
        if ((r->cd = iconv_open("UTF-8", o->encoding)) == (iconv_t)-1) {
            PERR(e, PRECIS_EXIT_USAGE, "option --encoding: '%s' is not an encoding this system's iconv knows (try CP1252, LATIN1, GB18030)", o->encoding);
            goto agree;
        }
        if (to_utf8(r, probe, sizeof probe - 1, got) != (long)(sizeof probe - 1) || memcmp(got, probe, sizeof probe - 1)) {
            PERR(e, PRECIS_EXIT_USAGE, "option --encoding: '%s' is not ASCII-compatible (UTF-16 and UTF-32 are read as --encoding UTF-16, UTF-16LE, UTF-32 ...; convert others to UTF-8 first)", o->encoding);
            goto agree;
        }
    }
#if PRECIS_CSV_AVX2
    r->avx2 = __builtin_cpu_supports("avx2") && !getenv("PRECIS_CSV_NO_AVX2");
#endif
    r->qfast = !getenv("PRECIS_CSV_SLOW_QUOTES");
    r->f = calloc((size_t)(npaths ? npaths : 1), sizeof(csv_file));
    if (!r->f) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto agree; }
    for (int i = 0; i < npaths; i++) {
        csv_file *f = &r->f[i];
        if (!(f->path = strdup(o->names ? o->names[i] : paths[i]))) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto agree; }
        int given = o->fds && o->fds[i] >= 0; /* (the caller's descriptor stays open) */
        int fd = given ? o->fds[i] : open(paths[i], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            PERR(e, PRECIS_EXIT_IO, "cannot open %s: %s", f->path, strerror(errno));
            if (fd >= 0 && !given) close(fd);
            goto agree;
        }
        f->size = st.st_size;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->given_fd = given ? o->fds[i] : -1;
        if (!given && !(f->open_path = strdup(paths[i]))) {
            PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            close(fd);
            goto agree;
        }
        if (f->size > 0) {
            void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                PERR(e, PRECIS_EXIT_IO, "cannot map %s: %s", f->path, strerror(errno));
                if (!given) close(fd);
                goto agree;
            }
            madvise(m, (size_t)f->size, MADV_SEQUENTIAL);
            f->d = m;
        }
        if (!given) close(fd);
        if (parse_header(r, f, e)) goto agree;
    }
agree:
    if (precis_agree(comm, e)) goto fail;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    for (int i = 0; rank == 0 && i < npaths; i++) r->lead_blank += r->f[i].lead_blank; /* every rank read them */
    {
        /* even split of the concatenated data regions */
        int64_t total = 0;
        for (int i = 0; i < npaths; i++) total += r->f[i].size - r->f[i].data;
        int64_t gb = (int64_t)((__int128)rank * total / size), ge = (int64_t)((__int128)(rank + 1) * total / size);
        if (o->split_bytes > 0) {
            gb = rank * o->split_bytes;
            ge = rank == size - 1 ? total : (rank + 1) * o->split_bytes;
            if (gb > total) gb = total;
            if (ge > total) ge = total;
        }
        r->local_bytes = ge - gb;
        int64_t base = 0;
        for (int i = 0; i < npaths; i++) {
            csv_file *f = &r->f[i];
            int64_t len = f->size - f->data;
            int64_t lb = gb - base, le = ge - base;
            if (lb < 0) lb = 0;
            if (lb > len) lb = len;
            if (le > len) le = len;
            if (le < lb) le = lb;
            f->b = f->data + lb;
            f->e = f->data + le;
            base += len;
        }
        if (agree_starts(comm, r, e)) goto fail;
    }
    r->cur = 0;
    if (npaths > 0) {
        r->pos = r->f[0].start;
        r->line = r->f[0].start_line;
    }
    *out = r;
    return 0;
fail:
    csv_close(r);
    return -1;
}

/* The descriptor to read file i with: the caller's, or the path opened
 * again, if it still names the file mapped; -1 otherwise (then the mapping
 * is read). The previous file's own descriptor is closed. */
static int reader_fd(csv_reader *r, int i)
{
    if (r->fd_file == i) return r->fd;
    if (r->fd >= 0 && r->fd_own) close(r->fd);
    const csv_file *f = &r->f[i];
    r->fd_file = i;
    r->fd_own = 0;
    r->wfile = -1;
    return r->fd = open_again(f, &r->fd_own);
}

/* Bytes [s, s + len) of file i into the window; 0, or -1 (nothing changed
 * but the window's emptiness) when they cannot be read. */
static int fill_window(csv_reader *r, int i, int64_t s, int64_t len)
{
    int fd = reader_fd(r, i);
    if (fd < 0) return -1;
    r->wfile = -1;
    if (len > r->wcap) {
        hugemem_free(r->win);   /* (its bytes are read again) */
        if (!(r->win = hugemem_alloc((size_t)len))) return r->wcap = 0, -1;
        r->wcap = len;
    }
    if (pread_all(fd, r->win, len, s)) return -1;   /* the mapping decides */
    r->wfile = i;
    r->woff = s;
    r->wlen = len;
    return 0;
}

/* Where file i's bytes from s can be read: *a points at byte s and *n
 * bytes follow it, more than `need` unless the file ends first. From the
 * window, refilled at s when it holds too few, or from the mapping. */
static void view(csv_reader *r, int i, int64_t s, int64_t need, const char **a, int64_t *n)
{
    const csv_file *f = &r->f[i];
    int64_t rest = f->size - s;
    if (r->wfile == i && s >= r->woff && s < r->woff + r->wlen && (r->woff + r->wlen - s > need || r->woff + r->wlen == f->size)) {
        *a = r->win + (s - r->woff);
        *n = r->woff + r->wlen - s;
        return;
    }
    int64_t len = need < r->window / 2 ? r->window : 2 * need;
    if (len <= need) len = need + 1;   /* (a window of 1 byte) */
    if (len > rest) len = rest;
    if (len <= 8 * r->window && fill_window(r, i, s, len) == 0) {
        *a = r->win;
        *n = len;
        return;
    }
    *a = f->d + s;
    *n = rest;
}

int csv_next(csv_reader *r, csv_record *rec)
{
    while (r->cur < r->nfiles) {
        csv_file *f = &r->f[r->cur];
        if (r->pos >= f->e) {
            r->cur++;
            if (r->cur < r->nfiles) {
                r->pos = r->f[r->cur].start;
                r->line = r->f[r->cur].start_line;
            }
            continue;
        }
        int64_t s = r->pos;
        if (s < f->released) f->released = s;   /* a second pass (csv_rewind) */
        if (s - f->released >= RELEASE_STEP) {
            /* records before s are done with (rec->raw of the last one is
             * only valid until this call); whole pages only */
            int64_t pg = (int64_t)sysconf(_SC_PAGESIZE), a = f->released / pg * pg, b = s / pg * pg;
            if (b > a) madvise((void *)(f->d + a), (size_t)(b - a), MADV_DONTNEED);
            f->released = b;
        }
        int nf = 0, bad = -1, ascii = 0, nul = 0, s2 = CSV_OK, st, quoted, fast = 0;
        int64_t end, le, n, nls = 0; /* (from s) */
        const char *a;
        view(r, r->cur, s, 0, &a, &n);
        for (;;) {
            /* most records are lines without a quote: split in the pass that finds their end */
            int64_t stop = scan_plain(r, a, n, &nf, &ascii, &nul);
            if (stop < -1) ASSERT(!"out of memory splitting a CSV record");
            st = CSV_OK;
            quoted = stop < 0;
            fast = 0;
            /* a record with well-placed quotes: split as split_fields would */
            int64_t qend = quoted && r->qfast ? scan_quoted_any(r, a, n, &nf, &ascii, &nul, &le, &nls) : -1;
            if (qend < -1) ASSERT(!"out of memory splitting a CSV record");
            if (!quoted) {
                le = stop;
                end = le < n ? le + 1 : le;
            } else if (qend >= 0) {
                end = qend;
                fast = 1;
            } else {
                end = rec_span(a, n, 0, r->o.max_field, &st, &quoted, &le);
            }
            /* a record that reaches the end of the bytes in view, or leaves
             * a quote open there, may go on past them */
            if (s + n == f->size || (quoted ? end < n && st != CSV_OPEN_QUOTE : stop < n)) break;
            view(r, r->cur, s, n, &a, &n);
        }
        r->nqfast += fast;
        if (!quoted && le > 0 && a[le - 1] == '\r') le--, r->fl[nf - 1]--;
        int64_t line = r->line;
        r->line += fast ? nls : quoted || st != CSV_OK ? count_nl(a, 0, end) : a[end - 1] == '\n';
        r->pos = s + end;
        if (le == 0 && st == CSV_OK) { r->blank++; continue; }
        rec->file = r->cur;
        rec->line = line;
        rec->offset = s;
        rec->raw = a;
        rec->raw_len = (size_t)le;
        rec->nfields = 0;
        rec->f = NULL;
        rec->flen = NULL;
        rec->bad_field = -1;
        rec->status = st;
        if (st != CSV_OK) return 1;
        if (fast) s2 = CSV_OK;
        else if (quoted) s2 = split_fields(r, rec->raw, rec->raw_len, quoted, &nf, &bad, &ascii, &nul);
        else s2 = long_field(r, rec->raw_len, nf, &bad);
        if (s2 < 0) ASSERT(!"out of memory splitting a CSV record");
        rec->nfields = nf;
        rec->f = r->fv;
        rec->flen = r->fl;
        rec->status = s2;
        rec->bad_field = bad;
        if (s2 == CSV_OK && nul) {
            rec->status = CSV_NUL_BYTE;
            for (int k = 0; k < nf; k++)
                if (memchr(rec->f[k], '\0', rec->flen[k])) { rec->bad_field = k; break; }
        }
        if (rec->status == CSV_OK && !ascii && r->cd != (iconv_t)-1) {
            if (convert_record(r, rec)) ASSERT(!"out of memory converting a CSV record to UTF-8");
        } else if (rec->status == CSV_OK && !ascii && !csv_utf8_valid(rec->raw, rec->raw_len)) {
            rec->status = CSV_BAD_UTF8;
            for (int k = 0; k < nf; k++)
                if (!csv_utf8_valid(rec->f[k], rec->flen[k])) { rec->bad_field = k; break; }
        }
        if (rec->status == CSV_OK && r->o.has_header && nf != f->nh) {
            rec->status = CSV_FIELD_COUNT;
            rec->bad_field = nf < f->nh ? nf : f->nh;
        }
        return 1;
    }
    return 0;
}

void csv_header(const csv_reader *r, int file, int *nfields, const char *const **names,
                const size_t **lens)
{
    const csv_file *f = &r->f[file];
    *nfields = f->nh;
    if (names) *names = (const char *const *)f->hname;
    if (lens) *lens = f->hlen;
}

const char *csv_path(const csv_reader *r, int file) { return r->f[file].path; }

int64_t csv_quoted_fast(const csv_reader *r) { return r->nqfast; }

int csv_raw_read(int fd, int64_t size, int64_t s, size_t max_field, char **buf, size_t *cap, size_t *len)
{
    int64_t want = 1 << 16;
    for (;;) {
        int64_t n = size - s < want ? size - s : want;
        if (n < 0) n = 0;
        if (*cap < (size_t)n + 1) {
            char *g = realloc(*buf, (size_t)n + 1);
            if (!g) return errno = ENOMEM, -1;
            *buf = g;
            *cap = (size_t)n + 1;
        }
        if (pread_all(fd, *buf, n, s)) return -1;
        int st, quoted;
        int64_t le, end = rec_span(*buf, n, 0, max_field, &st, &quoted, &le);
        /* a record that reaches the window's end, or a quote still open
         * there, may go on past it (unless the window reaches the file's end) */
        if ((end >= n || st == CSV_OPEN_QUOTE) && s + n < size) {
            want *= 4;
            continue;
        }
        *len = (size_t)le;
        return 0;
    }
}
int csv_nfiles(const csv_reader *r) { return r->nfiles; }
int64_t csv_local_bytes(const csv_reader *r) { return r->local_bytes; }
int64_t csv_blank_lines(const csv_reader *r) { return r->blank + r->lead_blank; }
int64_t csv_header_line(const csv_reader *r, int file) { return r->f[file].hline; }

void csv_rewind(csv_reader *r)
{
    r->cur = 0;
    r->blank = 0;
    if (r->nfiles > 0) {
        r->pos = r->f[0].start;
        r->line = r->f[0].start_line;
    }
}

void csv_close(csv_reader *r)
{
    if (!r) return;
    for (int i = 0; i < r->nfiles && r->f; i++) {
        csv_file *f = &r->f[i];
        if (f->d) munmap((void *)f->d, (size_t)f->size);
        free(f->open_path);
        for (int k = 0; k < f->nh; k++) free(f->hname[k]);
        free(f->hname);
        free(f->hlen);
        free(f->path);
    }
    free(r->f);
    free(r->fv);
    free(r->fl);
    free(r->fq);
    free(r->scratch);
    free(r->tbuf);
    hugemem_free(r->win);
    if (r->fd >= 0 && r->fd_own) close(r->fd);
    if (r->cd != (iconv_t)-1) iconv_close(r->cd);
    free(r);
}
