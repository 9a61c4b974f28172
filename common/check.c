/* check.c - error capture and collective failure agreement. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

void perr_clear(precis_err *e)
{
    e->code = 0;
    e->msg[0] = '\0';
}

int precis_world_rank(void)
{
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int perr_set(precis_err *e, int code, const char *file, int line,
             const char *fmt, ...)
{
    if (e == NULL) return -1;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    int n = snprintf(e->msg, sizeof e->msg, "[rank %d] %s:%d: ",
                     precis_world_rank(), base, line);
    if (n < 0 || (size_t)n >= sizeof e->msg) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
    va_end(ap);
    e->code = code ? code : PRECIS_EXIT_INTERNAL;
    return -1;
}

typedef struct {
    char *buf;
    size_t len;
} h5_walk_ctx;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *err, void *data)
{
    h5_walk_ctx *c = data;
    if (n == 0) /* innermost frame: the most specific message */
        snprintf(c->buf, c->len, "%s (in %s)", err->desc ? err->desc : "?",
                 err->func_name ? err->func_name : "?");
    return 0;
}

const char *precis_h5_errmsg(char *buf, size_t len)
{
    h5_walk_ctx c = {buf, len};
    snprintf(buf, len, "unknown HDF5 error");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk_cb, &c);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

int precis_agree(MPI_Comm comm, precis_err *e)
{
    int failed = e->code != 0, any = 0;
    if (MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_LOR, comm) != MPI_SUCCESS) {
        if (!failed) PERR(e, PRECIS_EXIT_INTERNAL, "MPI_Allreduce failed while agreeing on errors");
        return -1;
    }
    if (!any) return 0;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    struct { int v; int r; } in = {failed ? rank : size, rank}, out;
    MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MINLOC, comm);
    int root = out.v;
    precis_err first = *e;
    MPI_Bcast(&first.code, 1, MPI_INT, root, comm);
    MPI_Bcast(first.msg, (int)sizeof first.msg, MPI_CHAR, root, comm);
    *e = first;
    return -1;
}

void precis_assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "[rank %d] %s:%d: internal error: assertion '%s' failed\n",
            precis_world_rank(), file, line, what);
    fflush(stderr);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Abort(MPI_COMM_WORLD, PRECIS_EXIT_INTERNAL);
    exit(PRECIS_EXIT_INTERNAL);
}

const char *precis_space_left(const char *path, char *out, size_t n)
{
    struct statvfs v;
    out[0] = '\0';
    if (path && statvfs(path, &v) == 0) {
        double avail = (double)v.f_bavail * (double)v.f_frsize;
        if (avail < 64.0 * 1024 * 1024) snprintf(out, n, "; its file system has %.0f KiB free", avail / 1024);
    }
    return out;
}
