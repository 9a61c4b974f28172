/* t_stree.c - slot-tree sums (nsize 1-4).
 * S = 1000 slots (not a power of two), 5 values per slot drawn from a stream
 * keyed by the slot (so they do not depend on P), every 7th slot empty, wild
 * magnitudes. Each rank pushes its own slots_range; rank 0 prints the five
 * sums in %a. With an argument, rank 0 also writes every slot's values (empty
 * slots as NaN) for tests/mpi/stree_ref.py, which sums the same fixed tree
 * independently and compares with math.fsum. */
#include "reduce.h"
#include "rng.h"
#include "slots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S = 1000, N = 5 };

static int slot_empty(int64_t s) { return s % 7 == 3; }

static void slot_values(int64_t s, double *v)
{
    gsl_rng *r = rng_new(23, (uint64_t)s, 1);
    for (int j = 0; j < N; j++) {
        double m = gsl_rng_uniform(r) - 0.5;
        v[j] = ldexp(m, (int)(gsl_rng_uniform(r) * 80) - 40);
        if (s % 97 == 5) v[j] = j % 2 ? 1e15 : -1e15;
    }
    gsl_rng_free(r);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size, rc = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int64_t lo, hi;
    slots_range(rank, size, S, &lo, &hi);
    stree *t = stree_new(N, S, lo, hi);
    double out[N];
    precis_err e;
    perr_clear(&e);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {   /* the second pass checks the reset */
        for (int64_t s = lo; s < hi; s++) {
            if (slot_empty(s)) continue;
            double *v = stree_leaf(t, s);
            if (!v) { fprintf(stderr, "stree_leaf(%lld) failed\n", (long long)s); rc = 1; break; }
            slot_values(s, v);
        }
        if (stree_allreduce(MPI_COMM_WORLD, t, out, &e)) { fprintf(stderr, "%s\n", e.msg); rc = 1; }
        if (rank == 0 && rc == 0) {
            for (int j = 0; j < N; j++) printf("%a%c", out[j], j + 1 < N ? ' ' : '\n');
        }
    }
    /* every rank got rank 0's bits */
    double mine[N], r0[N];
    for (int j = 0; j < N; j++) mine[j] = r0[j] = out[j];
    MPI_Bcast(r0, N, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    for (int j = 0; j < N; j++)
        if (memcmp(&mine[j], &r0[j], sizeof(double))) { fprintf(stderr, "rank %d differs from rank 0\n", rank); rc = 1; }
    if (rank == 0 && argc > 1) {
        FILE *f = fopen(argv[1], "wb");
        for (int64_t s = 0; s < S; s++) {
            double v[N];
            if (slot_empty(s)) for (int j = 0; j < N; j++) v[j] = NAN;
            else slot_values(s, v);
            fwrite(v, sizeof(double), N, f);
        }
        fclose(f);
    }
    stree_free(t);
    int any = 0;
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
