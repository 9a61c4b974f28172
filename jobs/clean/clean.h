/* clean.h - precis-clean: parallel ingest, cleaning, tokenisation, quality report. */
#ifndef PRECIS_CLEAN_H
#define PRECIS_CLEAN_H

#include <mpi.h>

/* Run precis-clean with argv on comm. Returns the exit code. Collective. */
int clean_run(int argc, char **argv, MPI_Comm comm);

#endif
