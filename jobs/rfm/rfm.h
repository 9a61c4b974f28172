/* rfm.h - precis-rfm: per-customer RFM, behaviour and CLV summaries. */
#ifndef PRECIS_RFM_H
#define PRECIS_RFM_H

#include <mpi.h>

/* Run precis-rfm with argv on comm. Returns the exit code. Collective. */
int rfm_run(int argc, char **argv, MPI_Comm comm);

#endif
