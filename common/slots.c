/* slots.c - hash slot arithmetic and slot_offsets. */
#include "slots.h"

int slots_valid(int64_t S)
{
    return S >= 1 && S <= (INT64_C(1) << 30) && (S & (S - 1)) == 0;
}

void slots_range(int rank, int size, int64_t S, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)((__int128)rank * S / size);
    *hi = (int64_t)((__int128)(rank + 1) * S / size);
}

int slots_offsets_local(MPI_Comm comm, const int64_t *slot_of_row, int64_t nrows,
                        int64_t lo, int64_t hi, int64_t *out, precis_err *e)
{
    int64_t base = 0, n = nrows;
    int rank;
    MPI_CHECK(MPI_Comm_rank(comm, &rank), e);
    MPI_CHECK(MPI_Exscan(&n, &base, 1, MPI_INT64_T, MPI_SUM, comm), e);
    if (rank == 0) base = 0;
    int64_t i = 0;
    for (int64_t s = lo; s <= hi; s++) {
        while (i < nrows && slot_of_row[i] < s) i++;
        out[s - lo] = base + i;
    }
    return 0;
fail:
    return -1;
}
