/* textout.h - one text file from per-rank buffers, in rank order, atomically.
 *
 * DESIGN
 * Each rank holds the bytes of its part. textout_write() places them at the
 * MPI_Exscan of the part sizes with MPI-IO into <path>.tmp (pieces of at
 * most 1 GiB), closes, and rank 0 renames it to <path>. Collective.
 */
#ifndef PRECIS_TEXTOUT_H
#define PRECIS_TEXTOUT_H

#include "check.h"
#include <stddef.h>

typedef struct textbuf {
    char *p;
    size_t n, cap;
} textbuf;

/* Append n bytes. Returns 0 or -1 (out of memory). */
int textbuf_put(textbuf *b, const char *s, size_t n);
/* Append a printf-formatted string. Returns 0 or -1. */
int textbuf_printf(textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one CSV field (quoted when needed), preceded by a comma unless first. */
int textbuf_csv_field(textbuf *b, const char *s, size_t n, int first);
/* Can't fail. */
void textbuf_free(textbuf *b);

/* Collective. Write every rank's buffer, in rank order, to path. Returns 0,
 * or -1 on every rank (code 4). */
int textout_write(MPI_Comm comm, const char *path, const textbuf *b, precis_err *e);

#endif
