/* t_csv.c - print every record of a CSV read at the current rank count.
 * Usage: t_csv FILE...  (nsize 1-4). Records are gathered to rank 0 in rank
 * order and printed one per line as line<TAB>status<TAB>fields joined by
 * 0x1f, with \n inside fields escaped as \\n, so the output can be compared
 * with Python's csv module and across rank counts.
 * T_CSV_SPLIT=B starts rank r at data byte r*B. T_CSV_SWEEP=N reads the
 * files again with every B in 1..N and prints how many of the N reads differ
 * from the even split's (exit 1 if any): the split agreement is tried at
 * every byte, inside and outside quoted fields. T_CSV_NOHEADER=1 reads
 * files without a header row. */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(char **b, size_t *n, size_t *cap, const char *s, size_t l)
{
    while (*n + l + 1 > *cap) {
        *cap = *cap ? *cap * 2 : 65536;
        *b = realloc(*b, *cap);
    }
    memcpy(*b + *n, s, l);
    *n += l;
}

/* All records of the files, read with this split (0: even), gathered to
 * rank 0 in rank order. *out and *outn on rank 0. Returns 0 or -1. */
static int read_all(char **files, int nfiles, int64_t split, char **out, int *outn)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    csv_opts o;
    csv_opts_default(&o);
    o.split_bytes = split;
    if (getenv("T_CSV_NOHEADER")) o.has_header = 0;
    csv_reader *r = NULL;
    precis_err e;
    perr_clear(&e);
    if (csv_open(MPI_COMM_WORLD, files, nfiles, &o, &r, &e)) {
        if (rank == 0) fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    char *b = NULL, num[64];
    size_t n = 0, cap = 0;
    csv_record rec;
    while (csv_next(r, &rec)) {
        snprintf(num, sizeof num, "%d:%lld\t%s\t", rec.file, (long long)rec.line, csv_status_name(rec.status));
        put(&b, &n, &cap, num, strlen(num));
        for (int k = 0; rec.status == CSV_OK && k < rec.nfields; k++) {
            if (k) put(&b, &n, &cap, "\x1f", 1);
            for (size_t i = 0; i < rec.flen[k]; i++) {
                if (rec.f[k][i] == '\n') put(&b, &n, &cap, "\\n", 2);
                else if (rec.f[k][i] == '\r') put(&b, &n, &cap, "\\r", 2);
                else put(&b, &n, &cap, rec.f[k] + i, 1);
            }
        }
        put(&b, &n, &cap, "\n", 1);
    }
    int len = (int)n, *lens = NULL, *displs = NULL;
    char *all = NULL;
    if (rank == 0) lens = calloc((size_t)size, sizeof(int)), displs = calloc((size_t)size, sizeof(int));
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    int tot = 0;
    if (rank == 0) {
        for (int q = 0; q < size; q++) displs[q] = tot, tot += lens[q];
        all = malloc((size_t)tot + 1);
    }
    MPI_Gatherv(b, len, MPI_CHAR, all, lens, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    free(lens); free(displs); free(b);
    csv_close(r);
    *out = all;
    *outn = tot;
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *sb = getenv("T_CSV_SPLIT"), *sw = getenv("T_CSV_SWEEP");
    char *all = NULL;
    int tot = 0, rc = 0;
    if (read_all(argv + 1, argc - 1, sb ? atoll(sb) : 0, &all, &tot)) {
        MPI_Finalize();
        return 1;
    }
    if (sw) {
        int nsw = atoi(sw), differ = 0;
        for (int b = 1; b <= nsw; b++) {
            char *other = NULL;
            int on = 0;
            if (read_all(argv + 1, argc - 1, b, &other, &on)) { differ = nsw; break; }
            if (rank == 0 && (on != tot || memcmp(other, all, (size_t)tot) != 0)) {
                if (differ == 0) fprintf(stderr, "split_bytes=%d: the records differ\n", b);
                differ++;
            }
            free(other);
        }
        if (rank == 0) printf("sweep: %d of %d splits differ\n", differ, nsw);
        rc = differ != 0;
    } else if (rank == 0) {
        fwrite(all, 1, (size_t)tot, stdout);
    }
    free(all);
    MPI_Finalize();
    return rc;
}
