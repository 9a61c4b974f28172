/* t_rng.c - draws per entity do not depend on which rank draws them (nsize 1-4).
 * Rank r draws for entities r, r+P, r+2P, ...; rank 0 prints
 * "entity hash" lines for all 1000 entities, sorted by entity. */
#include <mpi.h>

#include "rng.h"

#include <gsl/gsl_randist.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    enum { N = 1000 };
    uint64_t h[N] = {0}, all[N];
    gsl_rng *r = gsl_rng_alloc(rng_philox);
    for (int i = rank; i < N; i += size) {
        rng_key(r, 0x123456789abcdefULL, (uint64_t)i, 42);
        uint64_t v = rng_u64(r);
        double g = gsl_ran_gaussian(r, 1.0);
        h[i] = v ^ (uint64_t)(g * 1e12);
    }
    gsl_rng_free(r);
    MPI_Reduce(h, all, N, MPI_UINT64_T, MPI_BXOR, 0, MPI_COMM_WORLD);
    if (rank == 0)
        for (int i = 0; i < N; i++) printf("%d %016llx\n", i, (unsigned long long)all[i]);
    MPI_Finalize();
    return 0;
}
