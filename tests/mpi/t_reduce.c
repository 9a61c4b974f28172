/* t_reduce.c - reproducible allreduce over ranks (nsize 1-4).
 * Each rank takes an interleaved share of adversarial values (which share
 * depends on P), sums them with reduce_sum, and rank 0 prints the result in
 * %a. With an argument, rank 0 also writes the values as raw doubles so
 * Python's math.fsum can give the correctly rounded reference. */
#include "reduce.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    enum { N = 100003 };
    double *x = malloc(sizeof(double) * N), *mine = malloc(sizeof(double) * N);
    gsl_rng *r = rng_new(11, 0, 1);
    for (int i = 0; i < N; i++) {
        double m = gsl_rng_uniform(r) - 0.5;
        x[i] = ldexp(m, (int)(gsl_rng_uniform(r) * 120) - 60);
        if (i % 1000 == 0) x[i] = 1e16;
        if (i % 1000 == 500) x[i] = -1e16;
        if (i % 7 == 0) x[i] = 1e-300 * (double)(i % 13);
    }
    x[N - 1] = 1.0;
    gsl_rng_free(r);
    int n = 0;
    /* a rank-count dependent, order-scrambling share: stride by size, reversed */
    for (int i = N - 1 - rank; i >= 0; i -= size) mine[n++] = x[i];
    double s = 0, cs[3];
    precis_err e;
    perr_clear(&e);
    int rc = reduce_sum(MPI_COMM_WORLD, mine, n, &s, &e);
    /* column sums of an (n/3) x 3 matrix */
    int rows = n / 3;
    if (rc == 0) rc = reduce_colsum(MPI_COMM_WORLD, mine, rows, 3, cs, &e);
    if (rank == 0) {
        if (rc) fprintf(stderr, "%s\n", e.msg);
        printf("%a\n", s);
        if (argc > 1) {
            FILE *f = fopen(argv[1], "wb");
            fwrite(x, sizeof(double), N, f);
            fclose(f);
        }
    }
    /* NaN on one rank: every rank gets the error, none hangs */
    if (rank == size - 1) mine[0] = NAN;
    perr_clear(&e);
    int rc2 = reduce_sum(MPI_COMM_WORLD, mine, n, &s, &e);
    if (rank == 0 && rc2 == 0) { fprintf(stderr, "NaN was not reported\n"); rc = 1; }
    if (rank == 0 && rc2 != 0) fprintf(stderr, "expected error: %s\n", e.msg);
    free(x); free(mine);
    MPI_Finalize();
    return rc ? 1 : 0;
}
