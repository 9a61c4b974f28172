/* textout.c - rank-ordered MPI-IO text output with atomic rename. */
#include "textout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int textbuf_put(textbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 1 << 16;
        while (c < b->n + n + 1) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) return -1;
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int textbuf_printf(textbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof tmp) return textbuf_put(b, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = textbuf_put(b, big, (size_t)n);
    free(big);
    return rc;
}

int textbuf_csv_field(textbuf *b, const char *s, size_t n, int first)
{
    if (!first && textbuf_put(b, ",", 1)) return -1;
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n))
        return textbuf_put(b, s, n);
    if (textbuf_put(b, "\"", 1)) return -1;
    for (size_t i = 0; i < n; i++)
        if (textbuf_put(b, s + i, 1) || (s[i] == '"' && textbuf_put(b, "\"", 1))) return -1;
    return textbuf_put(b, "\"", 1);
}

void textbuf_free(textbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

int textout_write(MPI_Comm comm, const char *path, const textbuf *b, precis_err *e)
{
    int rank;
    MPI_File fh = MPI_FILE_NULL;
    char tmp[4096];
    MPI_Comm_rank(comm, &rank);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (rank == 0) unlink(tmp);
    MPI_Barrier(comm);
    int64_t n = (int64_t)b->n, off = 0;
    MPI_CHECK(MPI_Exscan(&n, &off, 1, MPI_INT64_T, MPI_SUM, comm), e);
    if (rank == 0) off = 0;
    if (MPI_File_open(comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh) != MPI_SUCCESS) {
        PERR(e, PRECIS_EXIT_IO, "cannot create %s (does the directory exist?)", tmp);
        fh = MPI_FILE_NULL;
        goto fail;
    }
    for (int64_t p = 0; p < n;) {
        /* MPI-IO may report success for a short write (a full file system:
         * Open MPI prints the errno and returns MPI_SUCCESS), so the count
         * written is checked; a short one is tried again from where it
         * stopped, and one that writes nothing is the error */
        int c = (int)(n - p < (1 << 30) ? n - p : (1 << 30)), got = 0;
        MPI_Status st;
        MPI_CHECK(MPI_File_write_at(fh, off + p, b->p + p, c, MPI_CHAR, &st), e);
        if (MPI_Get_count(&st, MPI_CHAR, &got) != MPI_SUCCESS || got == MPI_UNDEFINED) got = 0;
        if (got <= 0) {
            char room[96];
            PERR(e, PRECIS_EXIT_IO, "writing %s failed after %lld of this rank's %lld bytes%s", tmp, (long long)p, (long long)n,
                 precis_space_left(tmp, room, sizeof room));
            goto fail;
        }
        p += got;
    }
    MPI_CHECK(MPI_File_close(&fh), e);
    if (rank == 0 && rename(tmp, path) != 0)
        PERR(e, PRECIS_EXIT_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    return precis_agree(comm, e);
fail:
    if (fh != MPI_FILE_NULL) MPI_File_close(&fh);
    precis_agree(comm, e);
    if (rank == 0) unlink(tmp);
    return -1;
}
