/* h5io.c - parallel HDF5 columns, matrices, attributes and atomic commit. */
#define _GNU_SOURCE /* sync_file_range */
#include "h5io.h"
#include "h5so.h"
#include "log.h"
#include "opts.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <libdeflate.h>
#include <zlib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PIECE_BYTES ((int64_t)128 << 20)
#define COMPRESS_MIN 4096

/* zlib's compress2, served by libdeflate. HDF5's deflate filter compresses
 * each chunk with one compress2 call into a buffer the chunk's own size; a
 * program that links h5io defines compress2 itself, so the dynamic linker
 * binds HDF5's call here instead of to zlib (HDF5 refuses to re-register
 * its predefined filters, the other way in). The result is a zlib stream
 * like zlib's, read by any HDF5, h5py or h5dump; libdeflate makes it in
 * about half zlib's time at level 1, and smaller. Same contract as zlib:
 * Z_OK and *dest_len set, or Z_BUF_ERROR when the stream does not fit
 * (the filter then fails and HDF5, as deflate is optional, stores the chunk
 * as is). Level 0 (store) and anything libdeflate cannot do go to zlib.
 * One compressor per level, made on first use (HDF5 calls filters from one
 * thread: this build of it is not thread-safe). */
int compress2(Bytef *dest, uLongf *dest_len, const Bytef *src, uLong src_len, int level)
{
    static struct libdeflate_compressor *c[10];
    if (level == Z_DEFAULT_COMPRESSION) level = 6;
    if (level >= 1 && level <= 9 && !c[level]) c[level] = libdeflate_alloc_compressor(level);
    if (level < 1 || level > 9 || !c[level]) {
        int (*zlib_compress2)(Bytef *, uLongf *, const Bytef *, uLong, int) =
            (int (*)(Bytef *, uLongf *, const Bytef *, uLong, int))dlsym(RTLD_NEXT, "compress2");
        return zlib_compress2 ? zlib_compress2(dest, dest_len, src, src_len, level) : Z_STREAM_ERROR;
    }
    size_t n = libdeflate_zlib_compress(c[level], src, src_len, dest, *dest_len);
    if (n == 0) return Z_BUF_ERROR;
    *dest_len = (uLongf)n;
    return Z_OK;
}

/* Before any file is made or opened: HDF5 prints no error stack (h5io
 * reports errors itself), and the faster scale-offset filter is in place. */
static void setup_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5so_install();
}

/* Writes checked under the MPI-IO layer. Open MPI's collective writes can
 * lose a failed write: on a file system that filled up, at np=3, its
 * fcoll component dynamic_gen2 returned success from every H5Dwrite and
 * the job renamed a clean.h5 full of holes into place with exit 0, and
 * vulcan (the default) reported the failure only some calls later, from
 * one rank, once the others had gone on to the next collective call. So
 * this program defines pwrite, pwritev and write itself (the dynamic
 * linker binds Open MPI's and HDF5's calls here, as for compress2; the
 * build exports pwritev, which no library linked at build time names):
 * each calls libc's and, when the call failed or wrote less than it was
 * asked and its descriptor is a file h5io is writing (the same device and
 * inode), keeps the first such failure of that file. agree() counts a kept
 * failure as its rank's, so the job stops at the collective call where it
 * happened, on every rank, naming the file and the write. (Open MPI's
 * asynchronous writes, aio_write, are not watched: no write path it takes
 * by default uses them.) */
#define WATCH_N 8
static struct watched {
    int used, failed, err;
    dev_t dev;
    ino_t ino;
    long long off, want, got;
} watched[WATCH_N];

static void note_write(int fd, ssize_t got, size_t want, long long off, int err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    for (int i = 0; i < WATCH_N; i++) {
        struct watched *w = &watched[i];
        if (!w->used || w->dev != st.st_dev || w->ino != st.st_ino) continue;
        if (!w->failed) *w = (struct watched){1, 1, got < 0 ? err : 0, st.st_dev, st.st_ino, off, (long long)want, (long long)got};
        return;
    }
}

/* r, what a write of n bytes at off (-1: the descriptor's position)
 * returned, noted when it is short or failed; errno kept */
static ssize_t noted(int fd, ssize_t r, size_t n, long long off)
{
    if (r != (ssize_t)n) {
        int err = errno;
        note_write(fd, r, n, off, err);
        errno = err;
    }
    return r;
}

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static pwrite_fn real;
    if (!real) real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
    if (!real) return errno = ENOSYS, -1;
    return noted(fd, real(fd, buf, n, off), n, (long long)off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    static pwritev_fn real;
    if (!real) real = (pwritev_fn)dlsym(RTLD_NEXT, "pwritev");
    if (!real) return errno = ENOSYS, -1;
    size_t n = 0;
    for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
    return noted(fd, real(fd, iov, cnt, off), n, (long long)off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static write_fn real;
    if (!real) real = (write_fn)dlsym(RTLD_NEXT, "write");
    if (!real) return errno = ENOSYS, -1;
    return noted(fd, real(fd, buf, n), n, -1);
}

/* Start checking the writes to f->tmp (just created). */
static void watch_file(h5io_file *f)
{
    struct stat st;
    f->watch = -1;
    if (stat(f->tmp, &st) != 0) return;
    for (int i = 0; i < WATCH_N; i++)
        if (!watched[i].used) {
            watched[i] = (struct watched){1, 0, 0, st.st_dev, st.st_ino, 0, 0, 0};
            f->watch = i;
            return;
        }
}

/* 1, with the message in e, when a write to f's file failed under HDF5
 * (see above); what names what was being written, or NULL */
static int write_failed(h5io_file *f, const char *what, precis_err *e)
{
    if (f->watch < 0 || !watched[f->watch].failed) return 0;
    const struct watched *w = &watched[f->watch];
    char at[64] = "", how[128], room[128];
    if (w->off >= 0) snprintf(at, sizeof at, " at byte %lld", w->off);
    if (w->got < 0) snprintf(how, sizeof how, "%s", strerror(w->err));
    else snprintf(how, sizeof how, "only %lld bytes written", w->got);
    PERR(e, PRECIS_EXIT_IO, "writing %s%s%.200s failed: a write of %lld bytes%s: %s%s", what ? what : "", what ? " to " : "",
         f->tmp ? f->tmp : f->path, w->want, at, how, precis_space_left(f->tmp, room, sizeof room));
    return 1;
}

static int new_file(MPI_Comm comm, const char *path, h5io_file **out, precis_err *e)
{
    h5io_file *f = calloc(1, sizeof *f);
    if (!f) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    f->fid = H5I_INVALID_HID;
    f->wb_fd = -1;
    f->watch = -1;
    f->comm = comm;
    MPI_Comm_rank(comm, &f->rank);
    MPI_Comm_size(comm, &f->size);
    f->path = strdup(path);
    *out = f;
    return f->path ? 0 : PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
}

static void free_file(h5io_file *f)
{
    if (!f) return;
    if (f->watch >= 0) watched[f->watch].used = 0;
    if (f->wb_fd >= 0) close(f->wb_fd);
    free(f->path);
    free(f->tmp);
    free(f);
}

static hid_t mpio_fapl(MPI_Comm comm)
{
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    if (p < 0) return p;
    if (H5Pset_fapl_mpio(p, comm, MPI_INFO_NULL) < 0 ||
        H5Pset_all_coll_metadata_ops(p, 1) < 0 || H5Pset_coll_metadata_write(p, 1) < 0) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

int h5io_create(MPI_Comm comm, const char *path, h5io_file **out, precis_err *e)
{
    hid_t fapl = H5I_INVALID_HID;
    h5io_file *f = NULL;
    setup_hdf5();
    *out = NULL;
    if (new_file(comm, path, &f, e)) goto fail;
    size_t l = strlen(path) + 5;
    f->tmp = malloc(l);
    CHECK(f->tmp, e, PRECIS_EXIT_INTERNAL, "out of memory");
    snprintf(f->tmp, l, "%s.tmp", path);
    H5_CHECK_ID(fapl, mpio_fapl(comm), e);
    /* The 1.8 file format at least: its objects keep attributes larger than
     * 64 KiB (in dense storage), as `inputs` is for thousands of part files;
     * HDF5 1.8 and later (h5py, h5dump, pandas via h5py) read it */
    H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), e);
    f->fid = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f->fid < 0) {
        char s[512];
        PERR(e, PRECIS_EXIT_IO, "cannot create %s: %s (does the directory exist and is it writable?)",
             f->tmp, precis_h5_errmsg(s, sizeof s));
        goto fail;
    }
    H5Pclose(fapl);
    watch_file(f);
    /* the file again, to start writing back each dataset as it is written:
     * the sync before the rename then has less left to wait for */
    f->wb_fd = open(f->tmp, O_RDONLY);
    *out = f;
    return 0;
fail:
    if (fapl >= 0) H5Pclose(fapl);
    free_file(f);
    return -1;
}

int h5io_open(MPI_Comm comm, const char *path, int generic_ok, h5io_file **out, precis_err *e)
{
    hid_t fapl = H5I_INVALID_HID;
    h5io_file *f = NULL;
    char *fmt = NULL;
    setup_hdf5();
    *out = NULL;
    if (new_file(comm, path, &f, e)) goto fail;
    if (access(path, R_OK) != 0) {
        PERR(e, PRECIS_EXIT_IO, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    H5_CHECK_ID(fapl, mpio_fapl(comm), e);
    f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f->fid < 0) {
        char s[512];
        PERR(e, PRECIS_EXIT_DATA, "%s is not a readable HDF5 file: %s", path, precis_h5_errmsg(s, sizeof s));
        goto fail;
    }
    H5Pclose(fapl);
    fapl = H5I_INVALID_HID;
    if (H5Aexists_by_name(f->fid, "/", "format", H5P_DEFAULT) > 0) {
        precis_err tmp;
        perr_clear(&tmp);
        if (h5io_attr_get_str(f, "/", "format", &fmt, e)) goto fail;
        CHECK(strcmp(fmt, H5IO_FORMAT) == 0, e, PRECIS_EXIT_DATA,
              "%s has format '%s'; this Precis reads '%s'", path, fmt, H5IO_FORMAT);
        int64_t complete = 0;
        if (H5Aexists_by_name(f->fid, "/", "complete", H5P_DEFAULT) <= 0 ||
            h5io_attr_get_i64(f, "/", "complete", &complete, &tmp) || complete != 1) {
            PERR(e, PRECIS_EXIT_DATA, "%s is incomplete (no complete=1): its writer did not finish; rerun the job that makes it", path);
            goto fail;
        }
    } else {
        CHECK(generic_ok, e, PRECIS_EXIT_DATA, "%s is not a Precis file (no 'format' attribute)", path);
        LOG_WARN("%s is not a Precis file (no 'format' attribute); reading it as generic input", path);
    }
    free(fmt);
    *out = f;
    return 0;
fail:
    free(fmt);
    if (fapl >= 0) H5Pclose(fapl);
    if (f && f->fid >= 0) H5Fclose(f->fid);
    free_file(f);
    return -1;
}

void h5io_close(h5io_file *f)
{
    if (!f) return;
    if (f->fid >= 0) H5Fclose(f->fid);
    free_file(f);
}

int h5io_exists(h5io_file *f, const char *path)
{
    /* check each prefix, as H5Lexists fails on missing parents */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (H5Lexists(f->fid, buf, H5P_DEFAULT) <= 0) return 0;
            *p = c;
            if (c == '\0') break;
        }
    }
    return 1;
}

void h5io_even_block(int64_t n, int rank, int size, int64_t *off, int64_t *count)
{
    *off = (int64_t)((__int128)n * rank / size);
    *count = (int64_t)((__int128)n * (rank + 1) / size) - *off;
}

static char abort_also[4200]; /* h5io_remove_on_abort's file, or "" */

void h5io_remove_on_abort(const char *path)
{
    snprintf(abort_also, sizeof abort_also, "%s", path ? path : "");
}

/* How long a rank whose write failed waits for the others to agree. */
#define AGREE_WAIT_S 10.0

/* The outcome of a collective step on every rank, ok being this rank's.
 * HDF5's collective I/O writes through aggregator ranks, so a full disk or
 * an I/O error can fail a call on one rank while it succeeds on the
 * others, which would go on to the next collective call and wait there
 * for ever; or, worse, the call returns on the rank that failed while the
 * others stay inside it waiting for that rank. So a rank that failed
 * waits AGREE_WAIT_S for the others; when they do not come it prints its
 * message, removes the file being written and stops the job with
 * MPI_Abort (exit PRECIS_EXIT_IO): never a hang. Otherwise, after a
 * failure, every rank holds the message of the lowest rank that failed
 * (rank 0 prints it) and returns -1. */
static int agree(h5io_file *f, int ok, precis_err *e)
{
    if (ok && write_failed(f, NULL, e)) ok = 0;
    int me = ok ? f->size : f->rank, first = f->size, done = 0;
    MPI_Request rq;
    MPI_Iallreduce(&me, &first, 1, MPI_INT, MPI_MIN, f->comm, &rq);
    if (ok) {
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
    } else {
        double t0 = log_now();
        for (;;) {
            MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
            if (done) break;
            if (log_now() - t0 > AGREE_WAIT_S) {
                log_all(LOG_ERROR, "%s", e->msg);
                log_all(LOG_ERROR, "[rank %d] the other ranks did not return from the HDF5 call that failed here; "
                        "stopping every rank (exit %d)", f->rank, PRECIS_EXIT_IO);
                if (f->tmp) unlink(f->tmp);
                if (abort_also[0]) unlink(abort_also);
                MPI_Abort(MPI_COMM_WORLD, PRECIS_EXIT_IO);
            }
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    if (first == f->size) return 0;
    MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, first, f->comm);
    e->msg[sizeof e->msg - 1] = '\0';
    e->code = PRECIS_EXIT_IO;
    return -1;
}

/* Create dataset dset for this rank's nlocal rows of ncols elements (2-D
 * when rank2) into c, placed at the MPI_Exscan of the row counts.
 * Collective; the outcome is agreed on, so every rank returns 0, or every
 * rank returns -1 with the message of the lowest rank that failed. */
static int slab_begin(h5io_file *f, const char *dset, hid_t type, int64_t nlocal, int64_t ncols, int rank2,
                      h5io_col *c, precis_err *e)
{
    hid_t dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    memset(c, 0, sizeof *c);
    c->f = f;
    c->d = c->space = c->xfer = H5I_INVALID_HID;
    c->type = type;
    c->nlocal = nlocal;
    c->ncols = ncols;
    c->rank2 = rank2;
    snprintf(c->name, sizeof c->name, "%s", dset);
    MPI_CHECK(MPI_Exscan(&nlocal, &c->off, 1, MPI_INT64_T, MPI_SUM, f->comm), e);
    if (f->rank == 0) c->off = 0;
    MPI_CHECK(MPI_Allreduce(&nlocal, &c->total, 1, MPI_INT64_T, MPI_SUM, f->comm), e);
    hsize_t dims[2] = {(hsize_t)c->total, (hsize_t)ncols};
    H5_CHECK_ID(c->space, H5Screate_simple(rank2 ? 2 : 1, dims, NULL), e);
    H5_CHECK_ID(dcpl, H5Pcreate(H5P_DATASET_CREATE), e);
    if ((hsize_t)c->total * (hsize_t)ncols >= COMPRESS_MIN && f->filter != H5IO_RAW && !getenv("PRECIS_H5_NOCOMPRESS")) {
        hsize_t rows = H5IO_CHUNK_ELEMS / (hsize_t)ncols;
        if (rows < 1) rows = 1;
        if (rows > (hsize_t)c->total) rows = (hsize_t)c->total;
        hsize_t cd[2] = {rows, (hsize_t)ncols};
        H5_CHECK(H5Pset_chunk(dcpl, rank2 ? 2 : 1, cd), e);
        if (f->filter == H5IO_SCALEOFFSET && H5Tget_class(type) == H5T_INTEGER) {
            H5_CHECK(H5Pset_scaleoffset(dcpl, H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT), e);
        } else {
            if (f->filter != H5IO_DEFLATE) H5_CHECK(H5Pset_shuffle(dcpl), e);
            H5_CHECK(H5Pset_deflate(dcpl, 1), e);
        }
    }
    H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), e);
    H5_CHECK_ID(lcpl, H5Pcreate(H5P_LINK_CREATE), e);
    H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), e);
    H5_CHECK_ID(c->d, H5Dcreate2(f->fid, dset, type, c->space, lcpl, dcpl, H5P_DEFAULT), e);
    H5_CHECK_ID(c->xfer, H5Pcreate(H5P_DATASET_XFER), e);
    H5_CHECK(H5Pset_dxpl_mpio(c->xfer, H5FD_MPIO_COLLECTIVE), e);
    H5Pclose(lcpl); H5Pclose(dcpl);
    if (agree(f, !write_failed(f, dset, e), e) == 0) return 0; /* (HDF5 may write metadata here) */
    h5io_col_end(c);
    return -1;
fail:
    if (lcpl >= 0) H5Pclose(lcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    h5io_col_end(c);
    {
        char prev[sizeof e->msg], room[128];
        memcpy(prev, e->msg, sizeof prev);
        snprintf(e->msg, sizeof e->msg, "%.700s (writing %s to %.200s%s)", prev, dset, f->tmp ? f->tmp : f->path,
                 precis_space_left(f->tmp, room, sizeof room));
    }
    (void)agree(f, 0, e);
    return -1;
}

int h5io_col_begin(h5io_file *f, const char *dset, hid_t type, int64_t nlocal, h5io_col *c, precis_err *e)
{
    return slab_begin(f, dset, type, nlocal, 1, 0, c, e);
}

int h5io_col_put(h5io_col *c, const void *buf, int nr, const int64_t *from, const int64_t *count, precis_err *e)
{
    h5io_file *f = c->f;
    hid_t mspace = H5I_INVALID_HID;
    int64_t n = 0;
    if (c->total == 0) return 0; /* (on every rank: nothing to write, and HDF5 refuses a write to no rows) */
    for (int i = 0; i < nr; i++) n += count[i];
    hsize_t mdims[2] = {(hsize_t)(n ? n : 1), (hsize_t)c->ncols};
    herr_t wrc = -1;
    if ((mspace = H5Screate_simple(c->rank2 ? 2 : 1, mdims, NULL)) >= 0) {
        wrc = 0;
        if (n == 0) {
            if (H5Sselect_none(c->space) < 0 || H5Sselect_none(mspace) < 0) wrc = -1;
        } else {
            int first = 1;
            for (int i = 0; wrc >= 0 && i < nr; i++) {
                if (!count[i]) continue;
                hsize_t start[2] = {(hsize_t)(c->off + from[i]), 0}, cnt[2] = {(hsize_t)count[i], (hsize_t)c->ncols};
                wrc = H5Sselect_hyperslab(c->space, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, NULL, cnt, NULL);
                first = 0;
            }
        }
        if (wrc >= 0) wrc = H5Dwrite(c->d, c->type, mspace, c->space, c->xfer, buf);
    }
    if (wrc < 0) {
        char h5[512], room[128];
        PERR(e, PRECIS_EXIT_IO, "H5Dwrite failed: %s (writing %s to %.200s%s)", precis_h5_errmsg(h5, sizeof h5), c->name,
             f->tmp ? f->tmp : f->path, precis_space_left(f->tmp, room, sizeof room));
    }
    if (mspace >= 0) H5Sclose(mspace);
    if (wrc >= 0 && write_failed(f, c->name, e)) wrc = -1;
    if (agree(f, wrc >= 0, e)) return -1;
    if (f->wb_fd >= 0) sync_file_range(f->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return 0;
}

void h5io_col_end(h5io_col *c)
{
    if (c->xfer >= 0) H5Pclose(c->xfer);
    if (c->d >= 0) H5Dclose(c->d);
    if (c->space >= 0) H5Sclose(c->space);
    c->xfer = c->d = c->space = H5I_INVALID_HID;
}

int h5io_col_bands(const h5io_col *c, int64_t rows, h5io_bands *b, precis_err *e)
{
    const int64_t ch = (int64_t)H5IO_CHUNK_ELEMS, n = c->nlocal;
    b->rows = rows < 1 ? ch : (rows + ch - 1) / ch * ch;
    b->head = (ch - c->off % ch) % ch;
    b->tail = (c->off + n) / ch * ch - c->off;
    if (b->head > n) b->head = n;
    if (b->tail < b->head) b->tail = b->head;
    int64_t mine = (b->tail - b->head + b->rows - 1) / b->rows;
    MPI_CHECK(MPI_Allreduce(&mine, &b->n, 1, MPI_INT64_T, MPI_MAX, c->f->comm), e);
    return 0;
fail:
    return -1;
}

int h5io_band_ranges(const h5io_bands *b, int64_t nlocal, int64_t j, int64_t from[2], int64_t count[2])
{
    if (j < 0) {
        from[0] = 0, count[0] = b->head;
        from[1] = b->tail, count[1] = nlocal - b->tail;
        return 2;
    }
    from[0] = b->head + j * b->rows;
    count[0] = b->tail - from[0] < b->rows ? b->tail - from[0] : b->rows;
    if (count[0] < 0) from[0] = b->tail, count[0] = 0;
    return 1;
}

/* Collective slab write of nlocal rows (row size = ncols elements), in
 * pieces of at most PIECE_BYTES per rank. */
static int write_slab(h5io_file *f, const char *dset, hid_t type, const void *buf,
                      int64_t nlocal, int64_t ncols, int rank2, precis_err *e)
{
    h5io_col c;
    if (slab_begin(f, dset, type, nlocal, ncols, rank2, &c, e)) return -1;
    int64_t rowbytes = (int64_t)H5Tget_size(type) * ncols;
    int64_t piece = PIECE_BYTES / (rowbytes ? rowbytes : 1);
    if (piece < 1) piece = 1;
    int64_t mine = (nlocal + piece - 1) / piece, pieces = 0;
    MPI_CHECK(MPI_Allreduce(&mine, &pieces, 1, MPI_INT64_T, MPI_MAX, f->comm), e);
    for (int64_t p = 0; c.total > 0 && p < pieces; p++) {
        int64_t a = p * piece, n = nlocal - a;
        if (n < 0) n = 0;
        if (n > piece) n = piece;
        if (h5io_col_put(&c, n > 0 ? (const char *)buf + (size_t)(a * rowbytes) : buf, 1, &a, &n, e)) goto fail;
    }
    h5io_col_end(&c);
    return 0;
fail:
    h5io_col_end(&c);
    return -1;
}

int h5io_write_col(h5io_file *f, const char *dset, hid_t type, const void *buf,
                   int64_t nlocal, precis_err *e)
{
    return write_slab(f, dset, type, buf, nlocal, 1, 0, e);
}

int h5io_write_mat(h5io_file *f, const char *dset, hid_t type, const void *buf,
                   int64_t nlocal, int ncols, const char *const *colnames, precis_err *e)
{
    if (write_slab(f, dset, type, buf, nlocal, ncols, 1, e)) return -1;
    if (!colnames) return 0;
    size_t l = 1;
    for (int j = 0; j < ncols; j++) l += strlen(colnames[j]) + 1;
    char *s = calloc(1, l);
    if (!s) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int j = 0; j < ncols; j++) {
        if (j) strcat(s, ",");
        strcat(s, colnames[j]);
    }
    int rc = h5io_attr_set_str(f, dset, "columns", s, e);
    free(s);
    return rc;
}

int h5io_write_strings(h5io_file *f, const char *dset, const char *const *s,
                       int64_t nlocal, precis_err *e)
{
    int64_t w = 1, gw = 1;
    for (int64_t i = 0; i < nlocal; i++) {
        int64_t l = (int64_t)strlen(s[i]);
        if (l > w) w = l;
    }
    hid_t t = H5I_INVALID_HID;
    char *buf = NULL;
    MPI_CHECK(MPI_Allreduce(&w, &gw, 1, MPI_INT64_T, MPI_MAX, f->comm), e);
    buf = calloc((size_t)(nlocal > 0 ? nlocal : 1), (size_t)(gw > 0 ? gw : 1));
    CHECK(buf, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < nlocal; i++) memcpy(buf + i * gw, s[i], strlen(s[i]));
    H5_CHECK_ID(t, H5Tcopy(H5T_C_S1), e);
    H5_CHECK(H5Tset_size(t, (size_t)gw), e);
    H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD), e);
    if (write_slab(f, dset, t, buf, nlocal, 1, 0, e)) goto fail;
    H5Tclose(t);
    free(buf);
    return 0;
fail:
    if (t >= 0) H5Tclose(t);
    free(buf);
    return -1;
}

int h5io_dims(h5io_file *f, const char *dset, int64_t *rows, int64_t *cols, precis_err *e)
{
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 1};
    if (!h5io_exists(f, dset)) return PERR(e, PRECIS_EXIT_DATA, "%s has no dataset %s", f->path, dset);
    H5_CHECK_ID(d, H5Dopen2(f->fid, dset, H5P_DEFAULT), e);
    H5_CHECK_ID(s, H5Dget_space(d), e);
    int nd = H5Sget_simple_extent_ndims(s);
    CHECK(nd == 1 || nd == 2, e, PRECIS_EXIT_DATA, "%s:%s has %d dimensions; 1 or 2 expected", f->path, dset, nd);
    H5_CHECK(H5Sget_simple_extent_dims(s, dims, NULL), e);
    *rows = (int64_t)dims[0];
    *cols = nd == 2 ? (int64_t)dims[1] : 1;
    H5Sclose(s);
    H5Dclose(d);
    return 0;
fail:
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    return -1;
}

static int read_slab(h5io_file *f, const char *dset, hid_t memtype, int64_t off,
                     int64_t count, void *buf, precis_err *e)
{
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID, m = H5I_INVALID_HID, x = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 1};
    CHECK(h5io_exists(f, dset), e, PRECIS_EXIT_DATA, "%s has no dataset %s", f->path, dset);
    H5_CHECK_ID(d, H5Dopen2(f->fid, dset, H5P_DEFAULT), e);
    H5_CHECK_ID(s, H5Dget_space(d), e);
    int nd = H5Sget_simple_extent_ndims(s);
    H5_CHECK(H5Sget_simple_extent_dims(s, dims, NULL), e);
    CHECK(off >= 0 && count >= 0 && (hsize_t)(off + count) <= dims[0], e, PRECIS_EXIT_DATA,
          "%s:%s: rows [%lld, %lld) are outside its %llu rows", f->path, dset, (long long)off,
          (long long)(off + count), (unsigned long long)dims[0]);
    H5_CHECK_ID(x, H5Pcreate(H5P_DATASET_XFER), e);
    H5_CHECK(H5Pset_dxpl_mpio(x, H5FD_MPIO_COLLECTIVE), e);
    size_t esz = H5Tget_size(memtype);
    int64_t ncols = nd == 2 ? (int64_t)dims[1] : 1;
    int64_t rowbytes = (int64_t)esz * ncols;
    int64_t piece = PIECE_BYTES / (rowbytes ? rowbytes : 1), pieces = 0;
    if (piece < 1) piece = 1;
    int64_t mine = (count + piece - 1) / piece;
    MPI_CHECK(MPI_Allreduce(&mine, &pieces, 1, MPI_INT64_T, MPI_MAX, f->comm), e);
    for (int64_t p = 0; dims[0] > 0 && (p < pieces || p == 0); p++) {
        int64_t a = p * piece, n = count - a;
        if (n < 0) n = 0;
        if (n > piece) n = piece;
        hsize_t start[2] = {(hsize_t)(off + a), 0}, cnt[2] = {(hsize_t)n, (hsize_t)ncols};
        hsize_t md[2] = {(hsize_t)(n ? n : 1), (hsize_t)ncols};
        H5_CHECK_ID(m, H5Screate_simple(nd, md, NULL), e);
        if (n > 0) {
            H5_CHECK(H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, cnt, NULL), e);
        } else {
            H5_CHECK(H5Sselect_none(s), e);
            H5_CHECK(H5Sselect_none(m), e);
        }
        char dummy[64];
        void *dst = n > 0 ? (char *)buf + (size_t)(a * rowbytes) : (buf ? buf : dummy);
        H5_CHECK(H5Dread(d, memtype, m, s, x, dst), e);
        H5Sclose(m);
        m = H5I_INVALID_HID;
        if (pieces == 0) break;
    }
    H5Pclose(x); H5Sclose(s); H5Dclose(d);
    return 0;
fail:
    if (m >= 0) H5Sclose(m);
    if (x >= 0) H5Pclose(x);
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    return -1;
}

int h5io_read_rows(h5io_file *f, const char *dset, hid_t memtype, int64_t off,
                   int64_t count, void *buf, precis_err *e)
{
    return read_slab(f, dset, memtype, off, count, buf, e);
}

int h5io_read_strings(h5io_file *f, const char *dset, int64_t off, int64_t count,
                      char **buf, size_t *width, precis_err *e)
{
    hid_t d = H5I_INVALID_HID, ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    *buf = NULL;
    CHECK(h5io_exists(f, dset), e, PRECIS_EXIT_DATA, "%s has no dataset %s", f->path, dset);
    H5_CHECK_ID(d, H5Dopen2(f->fid, dset, H5P_DEFAULT), e);
    H5_CHECK_ID(ft, H5Dget_type(d), e);
    CHECK(H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft), e, PRECIS_EXIT_DATA,
          "%s:%s is not a fixed-length string dataset", f->path, dset);
    *width = H5Tget_size(ft);
    H5_CHECK_ID(mt, H5Tcopy(H5T_C_S1), e);
    H5_CHECK(H5Tset_size(mt, *width), e);
    H5_CHECK(H5Tset_strpad(mt, H5T_STR_NULLPAD), e);
    /* a string that fills the stored width has no NUL: give every string one more byte */
    *buf = calloc((size_t)(count ? count : 1), *width + 1);
    CHECK(*buf, e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (read_slab(f, dset, mt, off, count, *buf, e)) goto fail;
    for (int64_t i = count - 1; i > 0; i--) memmove(*buf + i * (*width + 1), *buf + i * *width, *width);
    for (int64_t i = 0; i < count; i++) (*buf)[i * (*width + 1) + *width] = '\0';
    *width += 1;
    H5Tclose(mt); H5Tclose(ft); H5Dclose(d);
    return 0;
fail:
    free(*buf);
    *buf = NULL;
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return -1;
}

static int attr_write(h5io_file *f, const char *obj, const char *name, hid_t type,
                      const void *v, precis_err *e)
{
    hid_t s = H5I_INVALID_HID, a = H5I_INVALID_HID;
    H5_CHECK_ID(s, H5Screate(H5S_SCALAR), e);
    if (H5Aexists_by_name(f->fid, obj, name, H5P_DEFAULT) > 0)
        H5_CHECK(H5Adelete_by_name(f->fid, obj, name, H5P_DEFAULT), e);
    H5_CHECK_ID(a, H5Acreate_by_name(f->fid, obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), e);
    H5_CHECK(H5Awrite(a, type, v), e);
    H5Aclose(a);
    H5Sclose(s);
    return 0;
fail:
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    return -1;
}

int h5io_attr_set_str(h5io_file *f, const char *obj, const char *name, const char *v, precis_err *e)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return PERR(e, PRECIS_EXIT_IO, "H5Tcopy failed");
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = attr_write(f, obj, name, t, v, e);
    H5Tclose(t);
    return rc;
}

int h5io_attr_set_i64(h5io_file *f, const char *obj, const char *name, int64_t v, precis_err *e)
{
    return attr_write(f, obj, name, H5T_NATIVE_INT64, &v, e);
}

int h5io_attr_set_f64(h5io_file *f, const char *obj, const char *name, double v, precis_err *e)
{
    return attr_write(f, obj, name, H5T_NATIVE_DOUBLE, &v, e);
}

int h5io_attr_get_str(h5io_file *f, const char *obj, const char *name, char **out, precis_err *e)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    *out = NULL;
    CHECK(H5Aexists_by_name(f->fid, obj, name, H5P_DEFAULT) > 0, e, PRECIS_EXIT_DATA,
          "%s: %s has no attribute '%s'", f->path, obj, name);
    H5_CHECK_ID(a, H5Aopen_by_name(f->fid, obj, name, H5P_DEFAULT, H5P_DEFAULT), e);
    H5_CHECK_ID(t, H5Aget_type(a), e);
    CHECK(H5Tget_class(t) == H5T_STRING, e, PRECIS_EXIT_DATA, "%s: attribute %s is not a string", f->path, name);
    if (H5Tis_variable_str(t)) {
        char *v = NULL;
        H5_CHECK_ID(mt, H5Tcopy(H5T_C_S1), e);
        H5_CHECK(H5Tset_size(mt, H5T_VARIABLE), e);
        H5_CHECK(H5Tset_cset(mt, H5Tget_cset(t)), e);
        H5_CHECK(H5Aread(a, mt, &v), e);
        *out = strdup(v ? v : "");
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(t);
        *out = calloc(1, n + 1);
        CHECK(*out, e, PRECIS_EXIT_INTERNAL, "out of memory");
        H5_CHECK_ID(mt, H5Tcopy(H5T_C_S1), e);
        H5_CHECK(H5Tset_size(mt, n + 1), e);
        H5_CHECK(H5Tset_cset(mt, H5Tget_cset(t)), e);
        H5_CHECK(H5Aread(a, mt, *out), e);
    }
    H5Tclose(mt); H5Tclose(t); H5Aclose(a);
    return 0;
fail:
    free(*out);
    *out = NULL;
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return -1;
}

int h5io_attr_get_i64(h5io_file *f, const char *obj, const char *name, int64_t *out, precis_err *e)
{
    hid_t a = H5I_INVALID_HID;
    CHECK(H5Aexists_by_name(f->fid, obj, name, H5P_DEFAULT) > 0, e, PRECIS_EXIT_DATA,
          "%s: %s has no attribute '%s'", f->path, obj, name);
    H5_CHECK_ID(a, H5Aopen_by_name(f->fid, obj, name, H5P_DEFAULT, H5P_DEFAULT), e);
    H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, out), e);
    H5Aclose(a);
    return 0;
fail:
    if (a >= 0) H5Aclose(a);
    return -1;
}

int h5io_run_id(const char *job, const char *params_json, const char *inputs_json, char run_id[33], precis_err *e)
{
    unsigned char h[32];
    unsigned int hl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, job, strlen(job) + 1) == 1 &&
             EVP_DigestUpdate(c, PRECIS_VERSION, strlen(PRECIS_VERSION) + 1) == 1 &&
             EVP_DigestUpdate(c, params_json, strlen(params_json) + 1) == 1 &&
             EVP_DigestUpdate(c, inputs_json, strlen(inputs_json) + 1) == 1 &&
             EVP_DigestFinal_ex(c, h, &hl) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) return PERR(e, PRECIS_EXIT_INTERNAL, "libcrypto SHA-256 failed");
    for (int i = 0; i < 16; i++) snprintf(run_id + 2 * i, 3, "%02x", h[i]);
    return 0;
}

int h5io_set_provenance(h5io_file *f, const char *job, const char *params_json,
                        const char *inputs_json, const char *key_fp, precis_err *e)
{
    char run_id[33];
    if (h5io_run_id(job, params_json, inputs_json, run_id, e)) return -1;
    if (h5io_attr_set_str(f, "/", "format", H5IO_FORMAT, e) ||
        h5io_attr_set_str(f, "/", "job", job, e) ||
        h5io_attr_set_str(f, "/", "version", PRECIS_VERSION, e) ||
        h5io_attr_set_str(f, "/", "params", params_json, e) ||
        h5io_attr_set_str(f, "/", "inputs", inputs_json, e) ||
        h5io_attr_set_str(f, "/", "key_fingerprint", key_fp ? key_fp : "", e) ||
        h5io_attr_set_str(f, "/", "run_id", run_id, e))
        return -1;
    return 0;
}

int h5io_commit(h5io_file *f, precis_err *e)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* every rank must agree on created_utc: take rank 0's */
    MPI_Bcast(ts, (int)sizeof ts, MPI_CHAR, 0, f->comm);
    if (agree(f, !h5io_attr_set_str(f, "/", "created_utc", ts, e) && !h5io_attr_set_i64(f, "/", "complete", 1, e), e))
        goto fail;
    char room[128], h5[512];
    herr_t rc = H5Fflush(f->fid, H5F_SCOPE_GLOBAL);
    if (rc < 0)
        PERR(e, PRECIS_EXIT_IO, "flushing %.300s failed: %s%s", f->tmp, precis_h5_errmsg(h5, sizeof h5), precis_space_left(f->tmp, room, sizeof room));
    if (agree(f, rc >= 0, e)) goto fail;
    rc = H5Fclose(f->fid);
    f->fid = H5I_INVALID_HID;
    if (rc < 0)
        PERR(e, PRECIS_EXIT_IO, "closing %.300s failed: %s%s", f->tmp, precis_h5_errmsg(h5, sizeof h5), precis_space_left(f->tmp, room, sizeof room));
    if (agree(f, rc >= 0, e)) goto fail;
    int ok = 1;
    if (f->rank == 0 && rename(f->tmp, f->path) != 0) {
        ok = 0;
        PERR(e, PRECIS_EXIT_IO, "cannot rename %s to %s: %s", f->tmp, f->path, strerror(errno));
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, f->comm);
    if (!ok) {
        if (f->rank != 0) PERR(e, PRECIS_EXIT_IO, "cannot rename %s to %s", f->tmp, f->path);
        goto fail;
    }
    free_file(f);
    return 0;
fail:
    h5io_abort(f);
    return -1;
}

void h5io_abort(h5io_file *f)
{
    if (!f) return;
    if (f->fid >= 0 && f->tmp) {
        /* The file is dropped: give its space back first. HDF5's close
         * flushes metadata collectively, and on a full file system a flush
         * that fails part way leaves the ranks in different collective
         * calls (a hang) and HDF5 unable to shut down (a crash in
         * MPI_Finalize). Truncated, the file takes the flush's few blocks. */
        if (f->rank == 0) {
            int fd = open(f->tmp, O_WRONLY);
            if (fd >= 0) {
                if (ftruncate(fd, 0) != 0) { /* nothing better to do: the close may fail as it would have */ }
                close(fd);
            }
        }
        MPI_Barrier(f->comm);
    }
    if (f->fid >= 0) H5Fclose(f->fid);
    f->fid = H5I_INVALID_HID;
    MPI_Barrier(f->comm);
    if (f->rank == 0 && f->tmp) unlink(f->tmp);
    free_file(f);
}

/* hex SHA-256 of up to 1 MiB at `off` of fd, appended into ctx */
static int hash_piece(int fd, off_t off, size_t len, EVP_MD_CTX *c)
{
    char *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    ssize_t n = pread(fd, buf, len, off);
    int rc = n >= 0 && EVP_DigestUpdate(c, buf, (size_t)n) == 1 ? 0 : -1;
    free(buf);
    return rc;
}

static json_t *describe_input(const char *path)
{
    struct stat st;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    if (stat(path, &st) != 0) {
        json_object_set_new(o, "error", json_string(strerror(errno)));
        return o;
    }
    json_object_set_new(o, "size", json_integer((json_int_t)st.st_size));
    json_object_set_new(o, "mtime", json_integer((json_int_t)st.st_mtime));
    if (S_ISREG(st.st_mode)) {
        const size_t MiB = 1 << 20;
        int fd = open(path, O_RDONLY);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned char h[32];
        unsigned int hl = 0;
        if (fd >= 0 && c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
            off_t sz = st.st_size;
            int ok = hash_piece(fd, 0, (size_t)(sz < (off_t)MiB ? sz : (off_t)MiB), c) == 0;
            if (sz > (off_t)MiB) {
                off_t mid = sz / 2 - (off_t)MiB / 2;
                ok = ok && hash_piece(fd, mid < 0 ? 0 : mid, MiB, c) == 0;
                ok = ok && hash_piece(fd, sz - (off_t)MiB, MiB, c) == 0;
            }
            if (ok && EVP_DigestFinal_ex(c, h, &hl) == 1) {
                char hex[65];
                for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
                json_object_set_new(o, "sha256_first_mid_last_mib", json_string(hex));
            }
        }
        EVP_MD_CTX_free(c);
        if (fd >= 0) {
            unsigned char sig[8];
            if (pread(fd, sig, 8, 0) == 8 && memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0) {
                hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
                if (fid >= 0) {
                    if (H5Aexists_by_name(fid, "/", "run_id", H5P_DEFAULT) > 0) {
                        h5io_file tmp = {.fid = fid, .path = (char *)path};
                        char *rid = NULL;
                        precis_err e;
                        perr_clear(&e);
                        if (h5io_attr_get_str(&tmp, "/", "run_id", &rid, &e) == 0)
                            json_object_set_new(o, "run_id", json_string(rid));
                        free(rid);
                    }
                    H5Fclose(fid);
                }
            }
            close(fd);
        }
    }
    return o;
}

int h5io_inputs_json(MPI_Comm comm, char *const *paths, int n, char **json, precis_err *e)
{
    /* each rank describes (stats and hashes) an even block of the inputs, so
     * thousands of part files are not read through one rank; rank 0 joins
     * the blocks in order into the array json_dumps would make of them all */
    int rank, size;
    int64_t off, cnt, len = 0;
    size_t mine = 0, cap = 0;
    char *part = NULL, *s = NULL;
    int *lens = NULL, *displs = NULL;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    h5io_even_block(n, rank, size, &off, &cnt);
    for (int64_t i = off; i < off + cnt && e->code == 0; i++) {
        json_t *o = describe_input(paths[i]);
        char *d = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        size_t l = d ? strlen(d) : 0;
        if (d && mine + l + 1 > cap) {
            size_t c = 2 * (mine + l + 1);
            char *g = realloc(part, c);
            if (g) part = g, cap = c;
        }
        if (!d || mine + l + 1 > cap)
            PERR(e, PRECIS_EXIT_INTERNAL, "cannot describe the input %s (out of memory)", paths[i]);
        else {
            if (mine) part[mine++] = ',';
            memcpy(part + mine, d, l);
            mine += l;
        }
        free(d);
    }
    int64_t m = (int64_t)mine, tot = 0;
    MPI_CHECK(MPI_Allreduce(&m, &tot, 1, MPI_INT64_T, MPI_SUM, comm), e);
    if (precis_agree(comm, e)) goto fail;
    CHECK(tot + size + 2 < INT_MAX, e, PRECIS_EXIT_DATA, "the inputs' description (%lld bytes) exceeds 2 GiB: too many input files",
          (long long)tot);
    int mi = (int)mine;
    if (rank == 0) {
        lens = malloc(sizeof(int) * (size_t)size);
        displs = malloc(sizeof(int) * (size_t)size);
        s = malloc((size_t)tot + (size_t)size + 2);
    }
    int ok = rank != 0 || (lens && displs && s);
    MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, comm), e);
    CHECK(ok, e, PRECIS_EXIT_INTERNAL, "out of memory describing the inputs");
    MPI_CHECK(MPI_Gather(&mi, 1, MPI_INT, lens, 1, MPI_INT, 0, comm), e);
    if (rank == 0) /* one byte before each block, for the '[' or the ',' that joins it */
        for (int q = 0, at = 0; q < size; q++) displs[q] = at + 1, at += lens[q] + 1;
    MPI_CHECK(MPI_Gatherv(part, mi, MPI_CHAR, s, lens, displs, MPI_CHAR, 0, comm), e);
    if (rank == 0) {
        size_t w = 0;
        s[w++] = '[';
        for (int q = 0; q < size; q++)
            if (lens[q] > 0) {
                if (w > 1) s[w++] = ',';
                memmove(s + w, s + displs[q], (size_t)lens[q]);
                w += (size_t)lens[q];
            }
        s[w++] = ']';
        s[w++] = '\0';
        len = (int64_t)w;
    }
    MPI_CHECK(MPI_Bcast(&len, 1, MPI_INT64_T, 0, comm), e);
    if (rank != 0) s = malloc((size_t)len);
    ok = s != NULL;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, comm), e);
    CHECK(ok, e, PRECIS_EXIT_INTERNAL, "out of memory describing the inputs");
    MPI_CHECK(MPI_Bcast(s, (int)len, MPI_CHAR, 0, comm), e);
    *json = s;
    free(part); free(lens); free(displs);
    return 0;
fail:
    free(part); free(lens); free(displs); free(s);
    return -1;
}

int h5io_write_slot_offsets(h5io_file *f, const char *table, int64_t lo, int64_t hi,
                            const int64_t *local, precis_err *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/slot_offsets", table);
    int64_t n = hi - lo + (f->rank == f->size - 1 ? 1 : 0);
    return h5io_write_col(f, path, H5T_NATIVE_INT64, local, n, e);
}

int h5io_slot_rows(h5io_file *f, const char *table, int64_t lo, int64_t hi,
                   int64_t *off, int64_t *count, precis_err *e)
{
    char path[512];
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(hi - lo + 1));
    if (!v) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    snprintf(path, sizeof path, "%s/slot_offsets", table);
    int rc = h5io_read_rows(f, path, H5T_NATIVE_INT64, lo, hi - lo + 1, v, e);
    if (rc == 0) {
        *off = v[0];
        *count = v[hi - lo] - v[0];
    }
    free(v);
    return rc;
}
