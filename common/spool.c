/* spool.c - gzip, zstd, xz, bzip2, lz4 and zip inputs decompressed (zlib,
 * libzstd, liblzma, libbz2, liblz4, libzip), and UTF-16 and UTF-32 ones
 * transcoded (iconv),
 * into unlinked spool files. */
#include "spool.h"

#include "ckpt.h"
#include "job.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bzlib.h>
#include <iconv.h>
#include <stdint.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zip.h>
#include <zlib.h>
#include <zstd.h>

/* K_TEXT: a plain file copied to be transcoded (UTF-16 or UTF-32) */
enum { K_PLAIN, K_GZIP, K_ZSTD, K_XZ, K_BZIP2, K_LZ4, K_ZIP, K_TEXT };
static const char *const kind_name[] = {"", "gzip", "zstd", "xz", "bzip2", "lz4", "zip", "text"};
static const unsigned char lz4_legacy[4] = {0x02, 0x21, 0x4c, 0x18}; /* `lz4 -l`'s format, which liblz4's frame decoder does not read */

#define CHUNK ((size_t)1 << 20)

/* The kind of data that starts with b[0..n). */
static int kind_of(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return K_GZIP;
    if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)) return K_ZSTD;
    if (n >= 4 && (b[0] & 0xf0) == 0x50 && !memcmp(b + 1, "\x2a\x4d\x18", 3)) return K_ZSTD; /* (a skippable frame first) */
    if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6)) return K_XZ;
    /* "BZh", the block size digit, then the first block's magic (pi's digits) */
    if (n >= 10 && !memcmp(b, "BZh", 3) && b[3] >= '1' && b[3] <= '9' && !memcmp(b + 4, "1AY&SY", 6)) return K_BZIP2;
    /* (or, for an empty file compressed, the end-of-stream magic: sqrt(pi)'s) */
    if (n >= 10 && !memcmp(b, "BZh", 3) && b[3] >= '1' && b[3] <= '9' && !memcmp(b + 4, "\x17\x72\x45\x38\x50\x90", 6)) return K_BZIP2;
    if (n >= 4 && (!memcmp(b, "\x04\x22\x4d\x18", 4) || !memcmp(b, lz4_legacy, 4))) return K_LZ4;
    if (n >= 4 && (!memcmp(b, "PK\3\4", 4) || !memcmp(b, "PK\5\6", 4))) return K_ZIP; /* (or an empty archive) */
    return K_PLAIN;
}

/* text encodings the spool transcodes to UTF-8 (U_NONE: none) */
enum { U_NONE, U_16LE, U_16BE, U_32LE, U_32BE };
static const char *const u_name[] = {"UTF-8", "UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"};
static int bom_of(const unsigned char *h, size_t n, size_t *len);

/* Kind and size of path; a file that cannot be read is K_PLAIN (the CSV
 * reader reports it). A plain regular file is K_TEXT when it starts with a
 * UTF-16 or UTF-32 byte-order mark, or when all_text (every input is
 * transcoded). */
static void probe(const char *path, int all_text, int64_t *kind, int64_t *size)
{
    unsigned char b[16];
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0) return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        ssize_t got = read(fd, b, sizeof b);
        size_t len;
        *kind = got > 0 ? kind_of(b, (size_t)got) : K_PLAIN;
        if (*kind == K_PLAIN && (all_text || (got > 0 && bom_of(b, (size_t)got, &len) != U_NONE))) *kind = K_TEXT;
        *size = st.st_size;
    }
    close(fd);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Where an input's text goes: its spool file, through a transcoder when
 * the text is UTF-16 or UTF-32. The first bytes are held until the
 * encoding is decided (sink_decide); then they and the rest are written as
 * they are, or transcoded to UTF-8 with iconv. A code unit that is not
 * UTF-16 (a lone surrogate, an odd last byte) or UTF-32 becomes the byte
 * 0xff, which is never UTF-8: the CSV reader then quarantines its row as
 * bad_utf8, with its line, so that no row goes silently. */
enum { S_HEAD, S_PASS, S_CONV };
/* what --encoding asks: the UTF-8 default, an ASCII-compatible other (the
 * CSV reader's), or UTF-16 or UTF-32 in a given byte order or in the one
 * the text shows */
enum { W_UTF8, W_OTHER, W_16, W_32 };
typedef struct want {
    int kind;  /* W_* */
    int order; /* W_16, W_32: U_* of the order given, or U_NONE (from the byte-order mark, or guessed) */
    const char *name;
} want;

typedef struct sink {
    int fd;
    const char *dst, *src;
    const want *w;
    int state;               /* S_* */
    int from;                /* U_*: the text's encoding, when S_CONV */
    unsigned char head[4];   /* S_HEAD: the first bytes */
    size_t nhead;
    iconv_t cd;
    unsigned char *stage;    /* S_CONV: an incomplete code unit and the next bytes */
    size_t ncarry;
    unsigned char *ob;       /* S_CONV: UTF-8 made, not yet written */
    int64_t given;           /* bytes of the input's text given to put */
    int64_t taken, made;     /* bytes of it the transcoder has taken, and bytes written */
    int64_t bad, first_bad;  /* code units that are not the encoding, and the text's byte of the first */
    int64_t in_read, in_size; /* the input's bytes read so far, of in_size (0: not known), for the progress line */
    double t0, next, every;  /* when the sink was made, when progress is next said, and how often */
} sink;
#define PROGRESS_S 10.0      /* a long decompression says how far it is this often (PRECIS_PROGRESS_S: the tests') */
#define OB_CAP (2 * CHUNK + 64)   /* a CHUNK of UTF-16 is at most 1.5 CHUNK of UTF-8 */

static void sink_init(sink *k, int fd, const char *dst, const char *src, const want *w)
{
    memset(k, 0, sizeof *k);
    k->fd = fd, k->dst = dst, k->src = src, k->w = w;
    k->cd = (iconv_t)-1;
    k->first_bad = -1;
    const char *every = getenv("PRECIS_PROGRESS_S");
    k->every = every ? atof(every) : PROGRESS_S;
    k->t0 = log_now();
    k->next = k->t0 + k->every;
}

static void sink_free(sink *k)
{
    if (k->fd >= 0) close(k->fd);
    k->fd = -1;
    if (k->cd != (iconv_t)-1) iconv_close(k->cd);
    k->cd = (iconv_t)-1;
    free(k->stage);
    free(k->ob);
    k->stage = k->ob = NULL;
}

/* Append n bytes to the spool file; 0, or -1 with code 4. */
static int put_raw(sink *k, const unsigned char *p, size_t n, precis_err *e)
{
    k->made += (int64_t)n;
    if (write_all(k->fd, p, n) == 0) return 0;
    return PERR(e, PRECIS_EXIT_IO, "cannot write %s, the spool copy of %s: %s (give --spool DIR on a file system with room)",
                k->dst, k->src, strerror(errno ? errno : ENOSPC));
}

/* The byte-order mark that h[0..n) starts with: U_*, or U_NONE; *len its
 * bytes. A UTF-8 mark is U_NONE with *len 3. */
static int bom_of(const unsigned char *h, size_t n, size_t *len)
{
    *len = 0;
    if (n >= 4 && !memcmp(h, "\xff\xfe\0\0", 4)) return *len = 4, U_32LE;
    if (n >= 4 && !memcmp(h, "\0\0\xfe\xff", 4)) return *len = 4, U_32BE;
    if (n >= 2 && !memcmp(h, "\xff\xfe", 2)) return *len = 2, U_16LE;
    if (n >= 2 && !memcmp(h, "\xfe\xff", 2)) return *len = 2, U_16BE;
    if (n >= 3 && !memcmp(h, "\xef\xbb\xbf", 3)) *len = 3;
    return U_NONE;
}

/* Decide k's encoding from its first bytes (all of them when fewer than
 * 4), and write them: 0, or -1 with code 3 when they contradict
 * --encoding. */
static int sink_conv(sink *k, const unsigned char *p, size_t n, precis_err *e);
static int sink_decide(sink *k, precis_err *e)
{
    const unsigned char *h = k->head;
    size_t n = k->nhead, len = 0;
    int bom = bom_of(h, n, &len), from = U_NONE;
    const want *w = k->w;
    switch (w->kind) {
    case W_UTF8: from = bom; break; /* a UTF-16 or UTF-32 mark is read; none: UTF-8, as asked */
    case W_OTHER:
        if (bom != U_NONE)
            return PERR(e, PRECIS_EXIT_DATA, "%s starts with a %s byte-order mark, but --encoding %s was given: give --encoding %s "
                        "(or none) for this input; no rows of it were read", k->src, u_name[bom], w->name, u_name[bom]);
        break;
    case W_16:
    case W_32: {
        int wide = w->kind == W_32;
        if (bom == U_32LE && !wide) bom = U_16LE, len = 2; /* (UTF-16's mark, then U+0000) */
        if (len == 3 || (bom != U_NONE && (bom >= U_32LE) != wide) || (bom != U_NONE && w->order != U_NONE && bom != w->order))
            return PERR(e, PRECIS_EXIT_DATA, "%s starts with a %s byte-order mark, but --encoding %s was given; no rows of it were read",
                        k->src, len == 3 ? "UTF-8" : u_name[bom], w->name);
        from = bom != U_NONE ? bom : w->order;
        if (from == U_NONE) { /* no mark: the order in which a header's ASCII shows, else little-endian (Windows') */
            if (!wide) from = n >= 2 && h[0] == 0 && h[1] != 0 ? U_16BE : U_16LE;
            else from = n >= 4 && !h[0] && !h[1] && !h[2] && h[3] ? U_32BE : U_32LE;
        }
        break;
    }
    }
    if (from == U_NONE) {
        k->state = S_PASS;
        return put_raw(k, h, n, e);
    }
    k->from = from;
    k->state = S_CONV;
    k->stage = malloc(CHUNK + 8);
    k->ob = malloc(OB_CAP);
    if (!k->stage || !k->ob) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if ((k->cd = iconv_open("UTF-8", u_name[from])) == (iconv_t)-1)
        return PERR(e, PRECIS_EXIT_INTERNAL, "this system's iconv cannot convert %s to UTF-8", u_name[from]);
    k->taken = (int64_t)len;
    return sink_conv(k, h + len, n - len, e);
}

/* Transcode n bytes (at most CHUNK) of S_CONV text into the spool file. */
static int sink_conv(sink *k, const unsigned char *p, size_t n, precis_err *e)
{
    const size_t unit = k->from >= U_32LE ? 4 : 2;
    char *in = (char *)(uintptr_t)p, *op = (char *)k->ob;
    size_t il = n, ol = OB_CAP;
    int64_t at = k->taken - (int64_t)k->ncarry; /* the text's byte of in[0] */
    if (k->ncarry) { /* the incomplete unit left from the last bytes, then these */
        memcpy(k->stage + k->ncarry, p, n);
        in = (char *)k->stage, il = k->ncarry + n;
        k->ncarry = 0;
    }
    k->taken += (int64_t)n;
    while (il > 0) {
        char *i0 = in;
        size_t r = iconv(k->cd, &in, &il, &op, &ol);
        int err = r == (size_t)-1 ? errno : 0;
        at += in - i0;
        if (!err) break;
        if (err == E2BIG || ol < 16) { /* (0xff below needs room too) */
            if (put_raw(k, k->ob, (size_t)(op - (char *)k->ob), e)) return -1;
            op = (char *)k->ob, ol = OB_CAP;
            if (err == E2BIG) continue;
        }
        if (err == EILSEQ && il >= unit) { /* a unit that is not the encoding: a byte that is not UTF-8 */
            *op++ = (char)0xff, ol--;
            if (k->bad++ == 0) k->first_bad = at;
            in += unit, il -= unit, at += (int64_t)unit;
        } else if (err == EINVAL || err == EILSEQ) { /* the unit goes on in the next bytes */
            memmove(k->stage, in, il);
            k->ncarry = il;
            break;
        } else {
            return PERR(e, PRECIS_EXIT_INTERNAL, "iconv from %s: %s", u_name[k->from], strerror(err));
        }
    }
    return put_raw(k, k->ob, (size_t)(op - (char *)k->ob), e);
}

/* Append n bytes of src's text (n at most CHUNK); 0, or -1 with the code
 * set. */
static int put(sink *k, const unsigned char *p, size_t n, precis_err *e)
{
    double now = log_now();
    k->given += (int64_t)n;
    if (now >= k->next) { /* one rank works while the others wait: say how far it is */
        char of[64] = "";
        if (k->in_size > 0)
            snprintf(of, sizeof of, ", %.0f%% of the file read", 100.0 * (double)k->in_read / (double)k->in_size);
        log_all(LOG_INFO, "%s: %.1f MB of its text so far%s (%.0f s)", k->src, (double)k->given / 1e6, of, now - k->t0);
        k->next = now + k->every;
    }
    if (k->state == S_HEAD) {
        size_t t = n < sizeof k->head - k->nhead ? n : sizeof k->head - k->nhead;
        memcpy(k->head + k->nhead, p, t);
        k->nhead += t, p += t, n -= t;
        if (k->nhead < sizeof k->head) return 0;
        if (sink_decide(k, e)) return -1;
    }
    if (n == 0) return 0;
    return k->state == S_PASS ? put_raw(k, p, n, e) : sink_conv(k, p, n, e);
}

/* Whether a stop signal ends the decompression of src at this chunk (the
 * test hook PRECIS_STOP_AT=spool:<chunk>): 1 with code 75. */
static int stopped(const char *src, int64_t chunk, precis_err *e)
{
    if (!ckpt_stop_here("spool", chunk)) return 0;
    PERR(e, PRECIS_EXIT_STOPPED, "stopped by a signal while decompressing %s; rerun to start afresh", src);
    return 1;
}

/* Close the spool file once src's text is in it (close reports a delayed
 * write error on some file systems): 0, or -1 with the code set. Then the
 * transcoder's count of code units that were not its encoding, if any, is
 * a warning; their rows are quarantined when read. */
static int finish(sink *k, precis_err *e)
{
    if (k->state == S_HEAD && sink_decide(k, e)) return -1;
    if (k->state == S_CONV && k->ncarry) { /* the text ends inside a unit */
        static const unsigned char ff = 0xff;
        if (k->bad++ == 0) k->first_bad = k->taken - (int64_t)k->ncarry;
        k->ncarry = 0;
        if (put_raw(k, &ff, 1, e)) return -1;
    }
    int rc = close(k->fd);
    k->fd = -1;
    if (rc != 0) return PERR(e, PRECIS_EXIT_IO, "cannot write %s, the spool copy of %s: %s", k->dst, k->src, strerror(errno));
    if (k->bad)
        log_all(LOG_WARN, "%s: %lld code unit%s not %s (a lone surrogate, or a cut last character), the first at byte %lld of "
                "its text; each is read as a byte that is not UTF-8, so its row is quarantined as bad_utf8",
                k->src, (long long)k->bad, k->bad == 1 ? " is" : "s are", u_name[k->from], (long long)k->first_bad);
    return 0;
}

/* A decoder of one of the kinds the spool reads, the library's state for
 * each kind. */
typedef struct dec {
    int kind;
    z_stream z;
    ZSTD_DStream *zs;
    lzma_stream lz;
    bz_stream bz;
    LZ4F_dctx *lz4;
    int live; /* the library's state is made: its end is due */
} dec;

static const char *const dec_lib[] = {"", "zlib", "zstd", "liblzma", "libbz2", "liblz4", ""};

static const char *lzma_why(lzma_ret r)
{
    switch (r) {
    case LZMA_FORMAT_ERROR: return "not xz data";
    case LZMA_OPTIONS_ERROR: return "options this liblzma cannot read";
    case LZMA_DATA_ERROR: return "damaged data";
    case LZMA_BUF_ERROR: return "the data ends early";
    case LZMA_MEMLIMIT_ERROR: case LZMA_MEM_ERROR: return "out of memory";
    default: return "error";
    }
}

static const char *bz_why(int r)
{
    switch (r) {
    case BZ_DATA_ERROR: return "damaged data (a block's CRC does not match)";
    case BZ_DATA_ERROR_MAGIC: return "not bzip2 data";
    case BZ_MEM_ERROR: return "out of memory";
    default: return "error";
    }
}

/* (Re)start d's state for the next member (a gzip member, zstd frame, xz
 * stream, bzip2 stream or lz4 frame). 0, or -1 when the library cannot
 * start. */
static int dec_start(dec *d)
{
    switch (d->kind) {
    case K_GZIP:
        if (d->live) return inflateReset(&d->z) == Z_OK ? 0 : -1;
        if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) return -1;
        break;
    case K_ZSTD:
        if (d->live) return ZSTD_isError(ZSTD_DCtx_reset(d->zs, ZSTD_reset_session_only)) ? -1 : 0;
        if (!(d->zs = ZSTD_createDStream())) return -1;
        /* the largest window a frame may ask for, as `zstd -d --long=31`
         * reads what `zstd --long=31` wrote (a window over 128 MiB is
         * otherwise refused); the memory is the decompressing rank's, for
         * the file's length at most, and freed before any row is read */
        if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, ZSTD_dParam_getBounds(ZSTD_d_windowLogMax).upperBound))) {
            ZSTD_freeDStream(d->zs);
            return -1;
        }
        break;
    case K_XZ: /* (a stream decoder is made again in place; concatenation is ours, as for the others) */
        if (lzma_stream_decoder(&d->lz, UINT64_MAX, 0) != LZMA_OK) return -1;
        break;
    case K_BZIP2:
        if (d->live) BZ2_bzDecompressEnd(&d->bz);
        d->live = 0;
        memset(&d->bz, 0, sizeof d->bz);
        if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) return -1;
        break;
    case K_LZ4:
        if (d->live) return LZ4F_resetDecompressionContext(d->lz4), 0;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&d->lz4, LZ4F_VERSION))) return -1;
        break;
    default: return -1;
    }
    d->live = 1;
    return 0;
}

static void dec_end(dec *d)
{
    if (!d->live) return;
    if (d->kind == K_GZIP) inflateEnd(&d->z);
    if (d->kind == K_ZSTD) ZSTD_freeDStream(d->zs);
    if (d->kind == K_XZ) lzma_end(&d->lz);
    if (d->kind == K_BZIP2) BZ2_bzDecompressEnd(&d->bz);
    if (d->kind == K_LZ4) LZ4F_freeDecompressionContext(d->lz4);
    d->live = 0;
}

/* Decode from *in (*avail bytes, both advanced past what was taken, damaged
 * data included) into out (cap bytes), *made bytes made. 1 at the end of a
 * member, 0 to go on, -1 for damaged data with *why set; then *in is just
 * past where the damage was found (zlib, liblzma, libbz2), or past the
 * whole step's input (libzstd and liblz4 report none of a failed step's
 * input taken: the damage is in it), so the byte a message names is never
 * before the damage. */
static int dec_step(dec *d, const unsigned char **in, size_t *avail, unsigned char *out, size_t cap, size_t *made,
                    const char **why)
{
    int end = 0, bad = 0;
    size_t left = *avail, room = cap;
    switch (d->kind) {
    case K_GZIP: {
        d->z.next_in = (Bytef *)(uintptr_t)*in, d->z.avail_in = (uInt)left;
        d->z.next_out = out, d->z.avail_out = (uInt)cap;
        int r = inflate(&d->z, Z_NO_FLUSH);
        if ((bad = r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)) *why = d->z.msg ? d->z.msg : zError(r);
        end = r == Z_STREAM_END, left = d->z.avail_in, room = d->z.avail_out;
        break;
    }
    case K_ZSTD: {
        ZSTD_inBuffer ib = {*in, left, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
        if ((bad = ZSTD_isError(r))) *why = ZSTD_getErrorName(r), ib.pos = left, ob.pos = 0;
        end = r == 0, left -= ib.pos, room -= ob.pos; /* (0: the frame is decoded and flushed) */
        break;
    }
    case K_XZ: {
        d->lz.next_in = *in, d->lz.avail_in = left;
        d->lz.next_out = out, d->lz.avail_out = cap;
        lzma_ret r = lzma_code(&d->lz, LZMA_RUN);
        if ((bad = r != LZMA_OK && r != LZMA_STREAM_END && r != LZMA_BUF_ERROR)) *why = lzma_why(r);
        end = r == LZMA_STREAM_END, left = d->lz.avail_in, room = d->lz.avail_out;
        break;
    }
    case K_BZIP2: {
        d->bz.next_in = (char *)(uintptr_t)*in, d->bz.avail_in = (unsigned)left;
        d->bz.next_out = (char *)out, d->bz.avail_out = (unsigned)cap;
        int r = BZ2_bzDecompress(&d->bz);
        if ((bad = r != BZ_OK && r != BZ_STREAM_END)) *why = bz_why(r);
        end = r == BZ_STREAM_END, left = d->bz.avail_in, room = d->bz.avail_out;
        break;
    }
    case K_LZ4: {
        size_t made = cap, took = left;
        size_t r = LZ4F_decompress(d->lz4, out, &made, *in, &took, NULL);
        if ((bad = LZ4F_isError(r))) *why = LZ4F_getErrorName(r), made = 0, took = left;
        end = r == 0, left -= took, room -= made; /* (0: the frame is decoded, its checksum checked, all of it given) */
        break;
    }
    default: *why = "unknown kind"; return -1;
    }
    *in += *avail - left;
    *avail = left;
    *made = cap - room;
    return bad ? -1 : end;
}

/* Whether byte b can start a member of the kind: gzip's and xz's magic,
 * a zstd or lz4 frame's (or a skippable frame's, 0x184D2A5?, which both
 * formats have), bzip2's "B". */
static int member_start(int kind, unsigned char b)
{
    return kind == K_GZIP ? b == 0x1f : kind == K_ZSTD ? b == 0x28 || (b & 0xf0) == 0x50 : kind == K_XZ ? b == 0xfd
         : kind == K_LZ4 ? b == 0x04 || (b & 0xf0) == 0x50 : b == 'B';
}

/* Open the input src for k, whose progress line gives the share of its
 * size read: the descriptor, or -1 with code 4. */
static int open_input(const char *src, sink *k, precis_err *e)
{
    struct stat st;
    int in = open(src, O_RDONLY);
    if (in < 0) return PERR(e, PRECIS_EXIT_IO, "cannot open %s: %s", src, strerror(errno));
    k->in_size = fstat(in, &st) == 0 ? (int64_t)st.st_size : 0;
    return in;
}

/* Read up to CHUNK bytes of the input in (src) into buf, counted in
 * k->in_read: the bytes read (0 at its end), or -1 with code 4. */
static ssize_t read_input(int in, unsigned char *buf, const char *src, sink *k, precis_err *e)
{
    ssize_t got;
    while ((got = read(in, buf, CHUNK)) < 0 && errno == EINTR) {}
    if (got < 0) return PERR(e, PRECIS_EXIT_IO, "cannot read %s: %s", src, strerror(errno));
    k->in_read += got;
    return got;
}

/* Decompress src, of the given kind, into k. */
static int decompress(int kind, const char *src, sink *k, precis_err *e)
{
    dec d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    unsigned char *ib = malloc(CHUNK), *ob = malloc(CHUNK);
    const unsigned char *next = ib;
    size_t avail = 0;
    int in = -1, rc = -1;
    int64_t chunks = 0;
    int member = 0; /* inside a member */
    int full = 0;   /* the last step filled ob: the decoder may hold more without input */
    if (!ib || !ob) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if ((in = open_input(src, k, e)) < 0) goto done;
    for (;;) {
        if (avail == 0 && !full) {
            ssize_t got = read_input(in, ib, src, k, e);
            if (got < 0) goto done;
            if (got == 0) break;
            next = ib;
            avail = (size_t)got;
        }
        if (stopped(src, chunks++, e)) goto done;
        if (!member) { /* between members: zero padding (gzip, xz), or the next member's magic */
            if (kind == K_GZIP || kind == K_XZ)
                while (avail && *next == 0) next++, avail--;
            if (avail == 0) continue;
            if (kind == K_LZ4 && avail >= 4 && !memcmp(next, lz4_legacy, 4)) {
                PERR(e, PRECIS_EXIT_DATA, "%s: lz4's legacy format (as `lz4 -l` writes it), at compressed byte %lld, which liblz4 does "
                     "not read: compress the file again without -l (lz4's frame format); no rows of the file were read",
                     src, (long long)(k->in_read - (int64_t)avail));
                goto done;
            }
            if (!member_start(kind, *next)) {
                PERR(e, PRECIS_EXIT_DATA, "%s: data that is not %s follows the compressed stream, at compressed byte %lld; "
                     "no rows of the file were read", src, kind_name[kind], (long long)(k->in_read - (int64_t)avail));
                goto done;
            }
            if (dec_start(&d)) { PERR(e, PRECIS_EXIT_INTERNAL, "%s: cannot start decompressing", dec_lib[kind]); goto done; }
            member = 1;
        }
        size_t made = 0;
        const char *why = NULL;
        int r = dec_step(&d, &next, &avail, ob, CHUNK, &made, &why);
        if (r < 0) {
            PERR(e, PRECIS_EXIT_DATA, "%s: the %s data is damaged (found by compressed byte %lld; %s: %s); no rows of the file were read",
                 src, kind_name[kind], (long long)(k->in_read - (int64_t)avail), dec_lib[kind], why);
            goto done;
        }
        if (put(k, ob, made, e)) goto done;
        full = made == CHUNK;
        if (r == 1) member = full = 0;
    }
    if (member) {
        PERR(e, PRECIS_EXIT_DATA, "%s: the %s data ends early, after %lld compressed bytes (a copy cut short?); no rows of the file were read",
             src, kind_name[kind], (long long)k->in_read);
        goto done;
    }
    if (finish(k, e)) goto done;
    rc = 0;
done:
    if (in >= 0) close(in);
    dec_end(&d);
    free(ib);
    free(ob);
    return rc;
}

/* Copy the plain file src into k (which transcodes it). */
static int copy_text(const char *src, sink *k, precis_err *e)
{
    unsigned char *buf = malloc(CHUNK);
    int in = -1, rc = -1;
    if (!buf) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if ((in = open_input(src, k, e)) < 0) goto done;
    for (int64_t chunks = 0;; chunks++) {
        if (stopped(src, chunks, e)) goto done;
        ssize_t got = read_input(in, buf, src, k, e);
        if (got < 0) goto done;
        if (got == 0) break;
        if (put(k, buf, (size_t)got, e)) goto done;
    }
    if (finish(k, e)) goto done;
    rc = 0;
done:
    if (in >= 0) close(in);
    free(buf);
    return rc;
}

/* Whether a zip member's name is no data: a directory, or what macOS's
 * archiver adds (__MACOSX/, ._name, .DS_Store). */
static int zip_skip(const char *name)
{
    const char *base = strrchr(name, '/');
    size_t l = strlen(name);
    base = base ? base + 1 : name;
    return l == 0 || name[l - 1] == '/' || !strncmp(name, "__MACOSX/", 9) || !strncmp(base, "._", 2) || !strcmp(base, ".DS_Store");
}

/* Decompress the one file of the zip archive src into k. An archive of no file or of several is refused (exit 3):
 * which of them is the table is not ours to guess. */
static int unzip_one(const char *src, sink *k, precis_err *e)
{
    int zerr = 0, rc = -1, found = -1, nfiles = 0;
    char names[256] = "";
    zip_t *za = zip_open(src, ZIP_RDONLY, &zerr);
    zip_file_t *zf = NULL;
    unsigned char *buf = malloc(CHUNK);
    if (!buf) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        PERR(e, zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? PRECIS_EXIT_IO : PRECIS_EXIT_DATA,
             "%s: the zip archive cannot be read (libzip: %s); no rows of the file were read", src, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto done;
    }
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!nm || zip_skip(nm)) continue;
        if (nfiles++ == 0) found = (int)i;
        size_t at = strlen(names);
        if (nfiles <= 3) snprintf(names + at, sizeof names - at, "%s%.60s", at ? ", " : "", nm);
    }
    if (nfiles != 1) {
        PERR(e, PRECIS_EXIT_DATA, "%s: a zip archive of %d files%s%s%s; Precis reads an archive of one CSV file: extract it, "
             "or give one archive per file", src, nfiles, nfiles ? " (" : "", names, nfiles > 3 ? ", ...)" : nfiles ? ")" : "");
        goto done;
    }
    zip_stat_t zs;
    if (zip_stat_index(za, (zip_uint64_t)found, 0, &zs) == 0 && (zs.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
        zs.encryption_method != ZIP_EM_NONE) {
        PERR(e, PRECIS_EXIT_DATA, "%s: its file %s is encrypted (a password-protected archive), which Precis does not read: "
             "extract it, or give the export unencrypted; no rows of the file were read", src, names);
        goto done;
    }
    if (!(zf = zip_fopen_index(za, (zip_uint64_t)found, 0))) {
        PERR(e, PRECIS_EXIT_DATA, "%s: cannot read its file %s (libzip: %s); no rows of the file were read", src, names,
             zip_strerror(za));
        goto done;
    }
    for (int64_t chunks = 0;; chunks++) {
        if (stopped(src, chunks, e)) goto done;
        zip_int64_t got = zip_fread(zf, buf, CHUNK);
        if (got < 0) { /* (a CRC that does not match shows here, at the end) */
            PERR(e, PRECIS_EXIT_DATA, "%s: the zip data of %s is damaged (libzip: %s); no rows of the file were read", src,
                 names, zip_file_strerror(zf));
            goto done;
        }
        if (got == 0) break;
        if (put(k, buf, (size_t)got, e)) goto done;
    }
    if (finish(k, e)) goto done;
    log_all(LOG_DEBUG, "%s: read its file %s", src, names);
    rc = 0;
done:
    if (zf) zip_fclose(zf);
    if (za) zip_discard(za);
    free(buf);
    return rc;
}

/* The process that makes a spool file: its host and pid are in the name,
 * so that a later run on that host can tell a copy whose maker was killed. */
typedef struct maker {
    int pid;
    char host[64];
} maker;

static void maker_self(maker *m)
{
    memset(m, 0, sizeof *m);
    m->pid = (int)getpid();
    if (gethostname(m->host, sizeof m->host - 1) != 0 || !m->host[0]) snprintf(m->host, sizeof m->host, "localhost");
    for (char *p = m->host; *p; p++)
        if (*p == '/' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 127) *p = '_';
}

/* The name of input i's spool file, made by m in spool call `call`. */
static void spool_path(char *buf, size_t cap, const char *dir, const maker *m, int call, int i)
{
    snprintf(buf, cap, "%.4000s/.precis-spool.%s.%d.%d.%d", dir, m->host, m->pid, call, i);
}

/* Remove the spool files in dir that a process of this host made and that
 * no longer runs (a run killed while decompressing): they hold raw inputs.
 * Files of other hosts, and of processes that still run (or that this user
 * may not signal), are left alone. */
static void sweep(const char *dir, const maker *self)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    static const char pre[] = ".precis-spool.";
    if (!d) return;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (strncmp(nm, pre, sizeof pre - 1)) continue;
        /* host.pid.call.i: the host may hold dots, so the numbers are read from the right */
        const char *p[3], *end = nm + strlen(nm);
        int k = 0;
        for (const char *q = end; q > nm + sizeof pre - 1 && k < 3; q--)
            if (q[-1] == '.') p[k++] = q;
        if (k < 3) continue;
        size_t hl = (size_t)(p[2] - 1 - (nm + sizeof pre - 1));
        long pid = strtol(p[2], NULL, 10);
        if (hl != strlen(self->host) || strncmp(nm + sizeof pre - 1, self->host, hl) || pid <= 0 || pid == self->pid) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[4400];
        snprintf(path, sizeof path, "%.4000s/%s", dir, nm);
        if (unlink(path) == 0)
            log_all(LOG_WARN, "removed %s: a decompressed input left by a run that was killed (process %ld of this host is gone)", path, pid);
    }
    closedir(d);
}

/* What --encoding enc asks of the spool. Names are compared without case,
 * '-' or '_'; UCS-2 and UCS-4 are read as UTF-16 and UTF-32. */
static void want_of(const char *enc, want *w)
{
    static const struct { const char *name; int kind, order; } known[] = {
        {"UTF16", W_16, U_NONE}, {"UTF16LE", W_16, U_16LE}, {"UTF16BE", W_16, U_16BE},
        {"UCS2", W_16, U_NONE}, {"UCS2LE", W_16, U_16LE}, {"UCS2BE", W_16, U_16BE},
        {"UTF32", W_32, U_NONE}, {"UTF32LE", W_32, U_32LE}, {"UTF32BE", W_32, U_32BE},
        {"UCS4", W_32, U_NONE}, {"UCS4LE", W_32, U_32LE}, {"UCS4BE", W_32, U_32BE},
        {"UTF8", W_UTF8, U_NONE}};
    char bare[32];
    size_t m = 0;
    for (const char *p = enc ? enc : "UTF-8"; *p && m < sizeof bare - 1; p++)
        if (*p != '-' && *p != '_') bare[m++] = *p;
    bare[m] = '\0';
    w->name = enc ? enc : "UTF-8";
    w->kind = W_OTHER;
    w->order = U_NONE;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcasecmp(bare, known[i].name)) w->kind = known[i].kind, w->order = known[i].order;
}

int spool_is_unicode(const char *encoding)
{
    want w;
    want_of(encoding, &w);
    return w.kind == W_16 || w.kind == W_32;
}

int spool_inputs(MPI_Comm comm, char *const *paths, int n, const char *dir, const char *out, const char **encoding, spool *s,
                 precis_err *e)
{
    static int calls; /* one name space per call (a job spools each table) */
    static int swept; /* the directory was swept (at a job's first call) */
    int rank, size, rc = -1, call = 0;
    maker self, *makers = NULL;
    int64_t *info = NULL, *load = NULL;
    int *owner = NULL, *gz = NULL;
    char *made = NULL;
    char path[4200], odir[4096];
    enum { C_IN = U_32BE + 1, C_OUT, C_N };
    int64_t zbytes = 0, bytes = 0, conv[C_N] = {0}; /* inputs transcoded from each U_*, then their bytes in and out */
    double t0 = MPI_Wtime();
    want w;
    want_of(*encoding, &w);
    if (!dir) {
        job_dir_of(out, odir, sizeof odir);
        dir = odir;
    }
    memset(s, 0, sizeof *s);
    s->n = n;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    s->fd = malloc(sizeof(int) * (size_t)(n ? n : 1));
    s->size = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    info = calloc(2 * (size_t)(n ? n : 1), sizeof(int64_t)); /* kind[n], then size[n] */
    owner = malloc(sizeof(int) * (size_t)(n ? n : 1));
    gz = malloc(sizeof(int) * (size_t)(n ? n : 1));
    made = calloc((size_t)(n ? n : 1), 1);
    load = calloc((size_t)size, sizeof(int64_t));
    makers = calloc((size_t)size, sizeof(maker));
    if (!s->fd || !s->size || !info || !owner || !gz || !made || !load || !makers) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < n && s->fd && s->size; i++) s->fd[i] = -1, s->size[i] = -1;
    const int all_text = w.kind == W_16 || w.kind == W_32;
    for (int i = rank; info && i < n; i += size) probe(paths[i], all_text, &info[i], &info[n + i]);
    if (precis_agree(comm, e)) goto fail;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, info, 2 * n, MPI_INT64_T, MPI_MAX, comm), e);
    if (all_text) *encoding = NULL; /* the CSV reader reads the spool files' UTF-8 */
    int ngz = 0, nkind[K_TEXT + 1] = {0};
    for (int i = 0; i < n; i++)
        if (info[i] != K_PLAIN) gz[ngz++] = i, nkind[info[i]]++;
    /* a killed run's copies go whether or not this run decompresses: they
     * hold raw inputs, and the next run into that directory may be plain */
    maker_self(&self);
    if (!swept) sweep(dir, &self);
    swept = 1;
    if (ngz == 0) { /* nothing to decompress: only the frees below */
        rc = 0;
        goto fail;
    }
    /* largest first, each to the least loaded rank: the same on every rank */
    for (int a = 1; a < ngz; a++) /* (insertion sort: a few thousand part files at most) */
        for (int b = a; b > 0 && (info[n + gz[b]] > info[n + gz[b - 1]] ||
                                  (info[n + gz[b]] == info[n + gz[b - 1]] && gz[b] < gz[b - 1])); b--) {
            int t = gz[b]; gz[b] = gz[b - 1]; gz[b - 1] = t;
        }
    for (int a = 0; a < ngz; a++) {
        int best = 0;
        for (int q = 1; q < size; q++)
            if (load[q] < load[best]) best = q;
        owner[gz[a]] = best;
        load[best] += info[n + gz[a]] + 1;
    }
    if (rank == 0) call = calls;
    calls++;
    MPI_CHECK(MPI_Bcast(&call, 1, MPI_INT, 0, comm), e);
    MPI_CHECK(MPI_Allgather(&self, (int)sizeof self, MPI_BYTE, makers, (int)sizeof self, MPI_BYTE, comm), e);
    for (int a = 0; a < ngz && !e->code; a++) {
        int i = gz[a];
        if (owner[i] != rank) continue;
        spool_path(path, sizeof path, dir, &self, call, i);
        int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0) {
            PERR(e, PRECIS_EXIT_IO, "cannot create %s to decompress or transcode %s into: %s (give --spool DIR)", path, paths[i], strerror(errno));
            break;
        }
        made[i] = 1;
        sink k;
        sink_init(&k, out, path, paths[i], &w);
        if (info[i] == K_ZIP) unzip_one(paths[i], &k, e);
        else if (info[i] == K_TEXT) copy_text(paths[i], &k, e);
        else decompress((int)info[i], paths[i], &k, e);
        if (k.state == S_CONV) conv[k.from]++, conv[C_IN] += k.given, conv[C_OUT] += k.made;
        sink_free(&k);
    }
    if (precis_agree(comm, e)) goto fail;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, conv, C_N, MPI_INT64_T, MPI_SUM, comm), e);
    for (int a = 0; a < ngz && !e->code; a++) {
        int i = gz[a];
        struct stat st;
        spool_path(path, sizeof path, dir, &makers[owner[i]], call, i);
        if ((s->fd[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(s->fd[i], &st) != 0)
            PERR(e, PRECIS_EXIT_IO, "cannot open %s, the spool copy of %s: %s (every rank must see the spool directory: "
                 "give --spool DIR on a shared file system)", path, paths[i], strerror(errno));
        else s->size[i] = st.st_size;
        if (info[i] == K_TEXT) continue; /* (transcoded, not decompressed) */
        zbytes += info[n + i];
        bytes += s->size[i] > 0 ? s->size[i] : 0;
    }
    if (precis_agree(comm, e)) goto fail; /* every rank has opened every spool file */
    for (int i = 0; i < n; i++)
        if (made[i]) {
            spool_path(path, sizeof path, dir, &self, call, i);
            if (unlink(path) != 0) log_all(LOG_WARN, "cannot remove %s (a decompressed input: delete it): %s", path, strerror(errno));
            made[i] = 0;
        }
    char kinds[128] = "", encs[128] = "";
    int nconv = 0;
    for (int k = K_GZIP, at = 0; k <= K_ZIP; k++)
        if (nkind[k]) at += snprintf(kinds + at, sizeof kinds - (size_t)at, "%s%d %s", at ? ", " : "", nkind[k], kind_name[k]);
    for (int u = U_16LE, at = 0; u <= U_32BE; u++)
        if (conv[u]) at += snprintf(encs + at, sizeof encs - (size_t)at, "%s%lld %s", at ? ", " : "", (long long)conv[u], u_name[u]),
                      nconv += (int)conv[u];
    if (ngz > nkind[K_TEXT])
        LOG_INFO("decompressed %d input%s (%s; %.1f MB to %.1f MB) in %.2f s", ngz - nkind[K_TEXT], ngz - nkind[K_TEXT] == 1 ? "" : "s",
                 kinds, (double)zbytes / 1e6, (double)bytes / 1e6, MPI_Wtime() - t0);
    if (nconv)
        LOG_INFO("transcoded %d input%s to UTF-8 (%s; %.1f MB to %.1f MB) in %.2f s", nconv, nconv == 1 ? "" : "s", encs,
                 (double)conv[C_IN] / 1e6, (double)conv[C_OUT] / 1e6, MPI_Wtime() - t0);
    rc = 0;
fail:
    for (int i = 0; made && i < n; i++)
        if (made[i]) {
            spool_path(path, sizeof path, dir, &self, call, i);
            unlink(path);
        }
    free(info); free(owner); free(gz); free(made); free(load); free(makers);
    if (rc) spool_close(s);
    return rc;
}

void spool_close(spool *s)
{
    for (int i = 0; s->fd && i < s->n; i++)
        if (s->fd[i] >= 0) close(s->fd[i]);
    free(s->fd);
    free(s->size);
    memset(s, 0, sizeof *s);
}
