/* spool.c - gzip, zstd, xz and bzip2 inputs decompressed (zlib, libzstd, liblzma,
 * libbz2) into unlinked spool files. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <bzlib.h>
#include <lzma.h>
#include <zip.h>
#include <zlib.h>
#include <zstd.h>

enum { K_PLAIN, K_GZIP, K_ZSTD, K_XZ, K_BZIP2, K_ZIP };
static const char *const kind_name[] = {"", "gzip", "zstd", "xz", "bzip2", "zip"};

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
    if (n >= 4 && (!memcmp(b, "PK\3\4", 4) || !memcmp(b, "PK\5\6", 4))) return K_ZIP; /* (or an empty archive) */
    return K_PLAIN;
}

/* Kind and size of path; a file that cannot be read is K_PLAIN (the CSV
 * reader reports it). */
static void probe(const char *path, int64_t *kind, int64_t *size)
{
    unsigned char b[16];
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0) return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        ssize_t got = read(fd, b, sizeof b);
        *kind = got > 0 ? kind_of(b, (size_t)got) : K_PLAIN;
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

/* Append n bytes of src's decompressed text to out (the spool file dst);
 * 0, or -1 with code 4. */
static int put(int out, const unsigned char *p, size_t n, const char *dst, const char *src, precis_err *e)
{
    if (write_all(out, p, n) == 0) return 0;
    return PERR(e, PRECIS_EXIT_IO, "cannot write %s, the decompressed copy of %s: %s (give --spool DIR on a file system with room)",
                dst, src, strerror(errno ? errno : ENOSPC));
}

/* Whether a stop signal ends the decompression of src at this chunk (the
 * test hook PRECIS_STOP_AT=spool:<chunk>): 1 with code 75. */
static int stopped(const char *src, int64_t chunk, precis_err *e)
{
    if (!ckpt_stop_here("spool", chunk)) return 0;
    PERR(e, PRECIS_EXIT_STOPPED, "stopped by a signal while decompressing %s; rerun to start afresh", src);
    return 1;
}

/* Close the spool file *out (set to -1) once src's text is in it: close
 * reports a delayed write error on some file systems. 0, or -1 with code 4. */
static int finish(int *out, const char *dst, const char *src, precis_err *e)
{
    int rc = close(*out);
    *out = -1;
    return rc == 0 ? 0 : PERR(e, PRECIS_EXIT_IO, "cannot write %s, the decompressed copy of %s: %s", dst, src, strerror(errno));
}

/* A decoder of one of the kinds the spool reads, the library's state for
 * each kind. */
typedef struct dec {
    int kind;
    z_stream z;
    ZSTD_DStream *zs;
    lzma_stream lz;
    bz_stream bz;
    int live; /* the library's state is made: its end is due */
} dec;

static const char *const dec_lib[] = {"", "zlib", "zstd", "liblzma", "libbz2", ""};

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
 * stream or bzip2 stream). 0, or -1 when the library cannot start. */
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
    d->live = 0;
}

/* Decode from *in (*avail bytes, both advanced past what was taken) into
 * out (cap bytes), *made bytes made. 1 at the end of a member, 0 to go on,
 * -1 for damaged data with *why set. */
static int dec_step(dec *d, const unsigned char **in, size_t *avail, unsigned char *out, size_t cap, size_t *made,
                    const char **why)
{
    int end = 0;
    size_t left = *avail, room = cap;
    switch (d->kind) {
    case K_GZIP: {
        d->z.next_in = (Bytef *)(uintptr_t)*in, d->z.avail_in = (uInt)left;
        d->z.next_out = out, d->z.avail_out = (uInt)cap;
        int r = inflate(&d->z, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
            *why = d->z.msg ? d->z.msg : zError(r);
            return -1;
        }
        end = r == Z_STREAM_END, left = d->z.avail_in, room = d->z.avail_out;
        break;
    }
    case K_ZSTD: {
        ZSTD_inBuffer ib = {*in, left, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
        if (ZSTD_isError(r)) {
            *why = ZSTD_getErrorName(r);
            return -1;
        }
        end = r == 0, left -= ib.pos, room -= ob.pos; /* (0: the frame is decoded and flushed) */
        break;
    }
    case K_XZ: {
        d->lz.next_in = *in, d->lz.avail_in = left;
        d->lz.next_out = out, d->lz.avail_out = cap;
        lzma_ret r = lzma_code(&d->lz, LZMA_RUN);
        if (r != LZMA_OK && r != LZMA_STREAM_END && r != LZMA_BUF_ERROR) {
            *why = lzma_why(r);
            return -1;
        }
        end = r == LZMA_STREAM_END, left = d->lz.avail_in, room = d->lz.avail_out;
        break;
    }
    case K_BZIP2: {
        d->bz.next_in = (char *)(uintptr_t)*in, d->bz.avail_in = (unsigned)left;
        d->bz.next_out = (char *)out, d->bz.avail_out = (unsigned)cap;
        int r = BZ2_bzDecompress(&d->bz);
        if (r != BZ_OK && r != BZ_STREAM_END) {
            *why = bz_why(r);
            return -1;
        }
        end = r == BZ_STREAM_END, left = d->bz.avail_in, room = d->bz.avail_out;
        break;
    }
    default: *why = "unknown kind"; return -1;
    }
    *in += *avail - left;
    *avail = left;
    *made = cap - room;
    return end;
}

/* Whether byte b can start a member of the kind: gzip's and xz's magic,
 * a zstd frame's (or a skippable frame's, 0x184D2A5?), bzip2's "B". */
static int member_start(int kind, unsigned char b)
{
    return kind == K_GZIP ? b == 0x1f : kind == K_ZSTD ? b == 0x28 || (b & 0xf0) == 0x50 : kind == K_XZ ? b == 0xfd : b == 'B';
}

/* Decompress src, of the given kind, into the open file out (named dst). */
static int decompress(int kind, const char *src, int out, const char *dst, precis_err *e)
{
    dec d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    unsigned char *ib = malloc(CHUNK), *ob = malloc(CHUNK);
    const unsigned char *next = ib;
    size_t avail = 0;
    int in = -1, rc = -1;
    int64_t read_total = 0, chunks = 0;
    int member = 0; /* inside a member */
    int full = 0;   /* the last step filled ob: the decoder may hold more without input */
    if (!ib || !ob) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if ((in = open(src, O_RDONLY)) < 0) { PERR(e, PRECIS_EXIT_IO, "cannot open %s: %s", src, strerror(errno)); goto done; }
    for (;;) {
        if (avail == 0 && !full) {
            ssize_t got = read(in, ib, CHUNK);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) { PERR(e, PRECIS_EXIT_IO, "cannot read %s: %s", src, strerror(errno)); goto done; }
            if (got == 0) break;
            next = ib;
            avail = (size_t)got;
            read_total += got;
        }
        if (stopped(src, chunks++, e)) goto done;
        if (!member) { /* between members: zero padding (gzip, xz), or the next member's magic */
            if (kind == K_GZIP || kind == K_XZ)
                while (avail && *next == 0) next++, avail--;
            if (avail == 0) continue;
            if (!member_start(kind, *next)) {
                PERR(e, PRECIS_EXIT_DATA, "%s: data that is not %s follows the compressed stream, at compressed byte %lld; "
                     "no rows of the file were read", src, kind_name[kind], (long long)(read_total - (int64_t)avail));
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
                 src, kind_name[kind], (long long)(read_total - (int64_t)avail), dec_lib[kind], why);
            goto done;
        }
        if (put(out, ob, made, dst, src, e)) goto done;
        full = made == CHUNK;
        if (r == 1) member = full = 0;
    }
    if (member) {
        PERR(e, PRECIS_EXIT_DATA, "%s: the %s data ends early, after %lld compressed bytes (a copy cut short?); no rows of the file were read",
             src, kind_name[kind], (long long)read_total);
        goto done;
    }
    if (finish(&out, dst, src, e)) goto done;
    rc = 0;
done:
    if (out >= 0) close(out);
    if (in >= 0) close(in);
    dec_end(&d);
    free(ib);
    free(ob);
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

/* Decompress the one file of the zip archive src into the open file out
 * (named dst). An archive of no file or of several is refused (exit 3):
 * which of them is the table is not ours to guess. */
static int unzip_one(const char *src, int out, const char *dst, precis_err *e)
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
        if (put(out, buf, (size_t)got, dst, src, e)) goto done;
    }
    if (finish(&out, dst, src, e)) goto done;
    log_all(LOG_DEBUG, "%s: read its file %s", src, names);
    rc = 0;
done:
    if (out >= 0) close(out);
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

int spool_inputs(MPI_Comm comm, char *const *paths, int n, const char *dir, const char *out, spool *s, precis_err *e)
{
    static int calls; /* one name space per call (a job spools each table) */
    static int swept; /* the directory was swept (at a job's first call) */
    int rank, size, rc = -1, call = 0;
    maker self, *makers = NULL;
    int64_t *info = NULL, *load = NULL;
    int *owner = NULL, *gz = NULL;
    char *made = NULL;
    char path[4200], odir[4096];
    int64_t zbytes = 0, bytes = 0;
    double t0 = MPI_Wtime();
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
    for (int i = rank; info && i < n; i += size) probe(paths[i], &info[i], &info[n + i]);
    if (precis_agree(comm, e)) goto fail;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, info, 2 * n, MPI_INT64_T, MPI_MAX, comm), e);
    int ngz = 0, nkind[K_ZIP + 1] = {0};
    for (int i = 0; i < n; i++) {
        if (info[i] != K_PLAIN) gz[ngz++] = i, nkind[info[i]]++;
    }
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
            PERR(e, PRECIS_EXIT_IO, "cannot create %s to decompress %s into: %s (give --spool DIR)", path, paths[i], strerror(errno));
            break;
        }
        made[i] = 1;
        if (info[i] == K_ZIP) unzip_one(paths[i], out, path, e); /* closes out */
        else decompress((int)info[i], paths[i], out, path, e);
    }
    if (precis_agree(comm, e)) goto fail;
    for (int a = 0; a < ngz && !e->code; a++) {
        int i = gz[a];
        struct stat st;
        spool_path(path, sizeof path, dir, &makers[owner[i]], call, i);
        if ((s->fd[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(s->fd[i], &st) != 0)
            PERR(e, PRECIS_EXIT_IO, "cannot open %s, the decompressed copy of %s: %s (every rank must see the spool directory: "
                 "give --spool DIR on a shared file system)", path, paths[i], strerror(errno));
        else s->size[i] = st.st_size;
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
    char kinds[128] = "";
    for (int k = K_GZIP, at = 0; k <= K_ZIP; k++)
        if (nkind[k]) at += snprintf(kinds + at, sizeof kinds - (size_t)at, "%s%d %s", at ? ", " : "", nkind[k], kind_name[k]);
    LOG_INFO("decompressed %d input%s (%s; %.1f MB to %.1f MB) in %.2f s", ngz, ngz == 1 ? "" : "s", kinds, (double)zbytes / 1e6,
             (double)bytes / 1e6, MPI_Wtime() - t0);
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
