/* tokenize.h - precis-tokenize: keys and tokens for a CRM's own list. */
#ifndef PRECIS_TOKENIZE_H
#define PRECIS_TOKENIZE_H

#include <mpi.h>

/* Run precis-tokenize with argv on comm. Returns the exit code. Collective. */
int tokenize_run(int argc, char **argv, MPI_Comm comm);

#endif
