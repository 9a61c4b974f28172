/* spool.c - gzip inputs decompressed by zlib into unlinked spool files. */
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
#include <zlib.h>

enum { K_PLAIN, K_GZIP, K_ZSTD, K_XZ, K_BZIP2, K_ZIP };
static const char *const kind_name[] = {"", "gzip", "zstd", "xz", "bzip2", "zip"};
static const char *const kind_tool[] = {"", "", "zstd -d", "xz -d", "bunzip2", "unzip"};

#define CHUNK ((size_t)1 << 20)

/* The kind of data that starts with b[0..n). */
static int kind_of(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return K_GZIP;
    if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)) return K_ZSTD;
    if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6)) return K_XZ;
    /* "BZh", the block size digit, then the first block's magic (pi's digits) */
    if (n >= 10 && !memcmp(b, "BZh", 3) && b[3] >= '1' && b[3] <= '9' && !memcmp(b + 4, "1AY&SY", 6)) return K_BZIP2;
    if (n >= 4 && !memcmp(b, "PK\3\4", 4)) return K_ZIP;
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

/* Decompress the gzip file src into the open file out (named dst). */
static int gunzip(const char *src, int out, const char *dst, precis_err *e)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    unsigned char *ib = malloc(CHUNK), *ob = malloc(CHUNK);
    int in = -1, zok = 0, rc = -1;
    int64_t read_total = 0, chunks = 0;
    int member = 0; /* inside a gzip member */
    if (!ib || !ob) { PERR(e, PRECIS_EXIT_INTERNAL, "out of memory"); goto done; }
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) { PERR(e, PRECIS_EXIT_INTERNAL, "zlib: cannot start inflating"); goto done; }
    zok = 1;
    if ((in = open(src, O_RDONLY)) < 0) { PERR(e, PRECIS_EXIT_IO, "cannot open %s: %s", src, strerror(errno)); goto done; }
    for (;;) {
        if (z.avail_in == 0) {
            ssize_t got = read(in, ib, CHUNK);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) { PERR(e, PRECIS_EXIT_IO, "cannot read %s: %s", src, strerror(errno)); goto done; }
            if (got == 0) break;
            z.next_in = ib;
            z.avail_in = (uInt)got;
            read_total += got;
        }
        if (ckpt_stop_here("spool", chunks++)) { /* (test hook: PRECIS_STOP_AT=spool:<chunk>) */
            PERR(e, PRECIS_EXIT_STOPPED, "stopped by a signal while decompressing %s; rerun to start afresh", src);
            goto done;
        }
        if (!member) { /* between members: zero padding, or the next member's magic */
            while (z.avail_in && *z.next_in == 0) z.next_in++, z.avail_in--;
            if (z.avail_in == 0) continue;
            if (*z.next_in != 0x1f) {
                PERR(e, PRECIS_EXIT_DATA, "%s: data that is not gzip follows the compressed stream, at compressed byte %lld; "
                     "no rows of the file were read", src, (long long)(read_total - z.avail_in));
                goto done;
            }
            member = 1;
        }
        z.next_out = ob;
        z.avail_out = (uInt)CHUNK;
        int zr = inflate(&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            PERR(e, PRECIS_EXIT_DATA, "%s: the gzip data is damaged at compressed byte %lld (zlib: %s); no rows of the file were read",
                 src, (long long)(read_total - z.avail_in), z.msg ? z.msg : zError(zr));
            goto done;
        }
        if (write_all(out, ob, CHUNK - z.avail_out)) {
            PERR(e, PRECIS_EXIT_IO, "cannot write %s, the decompressed copy of %s: %s (give --spool DIR on a file system with room)",
                 dst, src, strerror(errno ? errno : ENOSPC));
            goto done;
        }
        if (zr == Z_STREAM_END) {
            member = 0;
            if (inflateReset(&z) != Z_OK) { PERR(e, PRECIS_EXIT_INTERNAL, "zlib: cannot reset"); goto done; }
        }
    }
    if (member) {
        PERR(e, PRECIS_EXIT_DATA, "%s: the gzip data ends early, after %lld compressed bytes (a copy cut short?); no rows of the file were read",
             src, (long long)read_total);
        goto done;
    }
    if (close(out) != 0) { /* (close reports a delayed write error on some file systems) */
        out = -1;
        PERR(e, PRECIS_EXIT_IO, "cannot write %s, the decompressed copy of %s: %s", dst, src, strerror(errno));
        goto done;
    }
    out = -1;
    rc = 0;
done:
    if (out >= 0) close(out);
    if (in >= 0) close(in);
    if (zok) inflateEnd(&z);
    free(ib);
    free(ob);
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
    int ngz = 0;
    for (int i = 0; i < n; i++) {
        if (info[i] > K_GZIP) {
            PERR(e, PRECIS_EXIT_DATA, "%s holds %s-compressed data; Precis reads plain or gzip-compressed CSV, so decompress it first (%s)",
                 paths[i], kind_name[info[i]], kind_tool[info[i]]);
            goto fail; /* every rank sees the same kinds: no agreement needed */
        }
        if (info[i] == K_GZIP) gz[ngz++] = i;
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
        gunzip(paths[i], out, path, e); /* closes out */
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
    LOG_INFO("decompressed %d gzip input%s (%.1f MB to %.1f MB) in %.2f s", ngz, ngz == 1 ? "" : "s", (double)zbytes / 1e6,
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
