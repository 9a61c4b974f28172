/* t_quantile.c - exact global quantiles (nsize 1-4).
 * argv[1] holds raw doubles (written by tests/mpi/run.sh: heavy ties, signed
 * zeros, negatives, subnormals, wide exponents). Each rank takes a
 * P-dependent share (rank 0 none when P > 1, so one rank is empty), then
 * prints in %a: numpy-'linear' quantiles at argv[2..] through one
 * quantile_set, every order statistic listed in T_QUANTILE_KS through
 * quantile_select_many (more than one batch), and the same quantiles through
 * the one-at-a-time quantile_linear. The caller compares with numpy. The
 * same quantiles must also come from the set again (a selection reorders
 * its keys) and from a set that adopted a copy of the values (keys made in
 * place). */
#include "quantile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size, rc = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); MPI_Abort(MPI_COMM_WORLD, 1); }
    fseek(f, 0, SEEK_END);
    int64_t N = ftell(f) / 8, n = 0;
    rewind(f);
    double *x = malloc(sizeof(double) * (size_t)N), *mine = malloc(sizeof(double) * (size_t)N);
    if (fread(x, 8, (size_t)N, f) != (size_t)N) MPI_Abort(MPI_COMM_WORLD, 1);
    fclose(f);
    int workers = size > 1 ? size - 1 : 1, me = size > 1 ? rank - 1 : 0;
    for (int64_t i = N - 1; me >= 0 && i >= 0; i--)
        if (i % workers == me) mine[n++] = x[i];
    int nq = argc - 2;
    double *qs = malloc(sizeof(double) * (size_t)(nq + 1)), *a = malloc(sizeof(double) * (size_t)(nq + 1));
    for (int j = 0; j < nq; j++) qs[j] = strtod(argv[2 + j], NULL);
    precis_err e;
    perr_clear(&e);
    quantile_set s;
    rc = quantile_set_build(MPI_COMM_WORLD, mine, n, &s, &e) || quantile_set_linear(&s, nq, qs, a, &e);
    if (rank == 0 && !rc) {
        printf("linear");
        for (int j = 0; j < nq; j++) printf(" %a", a[j]);
        printf("\n");
    }
    /* again from the reordered set, and from an adopted copy */
    double *b = malloc(sizeof(double) * (size_t)(nq + 1)), *c = malloc(sizeof(double) * (size_t)(nq + 1));
    double *copy = malloc(sizeof(double) * (size_t)(n + 1));
    memcpy(copy, mine, sizeof(double) * (size_t)n);
    quantile_set s2 = {0};
    if (!rc) rc = quantile_set_linear(&s, nq, qs, b, &e);
    if (!rc) rc = quantile_set_adopt(MPI_COMM_WORLD, copy, n, &s2, &e) || quantile_set_linear(&s2, nq, qs, c, &e);
    if (!rc && s2.N != N) rc = 1, fprintf(stderr, "adopted set counts %lld values, not %lld\n", (long long)s2.N, (long long)N);
    for (int j = 0; !rc && j < nq; j++)
        if (memcmp(&b[j], &a[j], 8) || memcmp(&c[j], &a[j], 8)) {
            fprintf(stderr, "quantile %g: %a first, %a again, %a adopted\n", qs[j], a[j], b[j], c[j]);
            rc = 1;
        }
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    quantile_set_free(&s2);
    free(copy); free(b); free(c);
    /* order statistics: the list from the environment */
    int64_t ks[64];
    int nk = 0;
    char *list = getenv("T_QUANTILE_KS");
    for (char *p = list; p && *p && nk < 64;) {
        ks[nk++] = strtoll(p, &p, 10);
        while (*p == ' ') p++;
    }
    double sel[64];
    if (!rc) rc = quantile_select_many(MPI_COMM_WORLD, mine, n, nk, ks, sel, &e);
    if (rank == 0 && !rc) {
        printf("select");
        for (int j = 0; j < nk; j++) printf(" %a", sel[j]);
        printf("\n");
    }
    for (int j = 0; !rc && j < nq; j++) {
        int64_t tot = 0;
        double one;
        rc = quantile_linear(MPI_COMM_WORLD, mine, n, qs[j], &one, &tot, &e);
        if (!rc && rank == 0 && (memcmp(&one, &a[j], 8) != 0 || tot != N)) {
            fprintf(stderr, "quantile_linear(%g) = %a differs from the set's %a\n", qs[j], one, a[j]);
            rc = 1;
        }
        MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD); /* rank 0 compares: all stop, none hangs */
    }
    /* a rank beyond the data is an error on every rank, not a hang */
    int64_t bad = N;
    if (!rc) {
        precis_err e2;
        perr_clear(&e2);
        if (quantile_select_many(MPI_COMM_WORLD, mine, n, 1, &bad, sel, &e2) == 0) {
            fprintf(stderr, "rank %d: k = N was not reported\n", rank);
            rc = 1;
        }
    }
    if (rc && e.code) fprintf(stderr, "%s\n", e.msg);
    quantile_set_free(&s);
    free(x); free(mine); free(qs); free(a);
    MPI_Finalize();
    return rc ? 1 : 0;
}
