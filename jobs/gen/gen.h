/* gen.h - precis-gen: synthetic marketing exports with planted truth. */
#ifndef PRECIS_GEN_H
#define PRECIS_GEN_H

#include <mpi.h>

/* Run precis-gen with argv on comm. Returns the process exit code. Collective. */
int gen_run(int argc, char **argv, MPI_Comm comm);

/* Defect kinds, as recorded in truth.h5 /defects and datasets/README.md. */
enum gen_defect {
    GD_NONE = 0,
    GD_FIELD_COUNT,    /* a field dropped or added           -> rejected (field_count) */
    GD_BAD_QUOTE,      /* text after a closing quote         -> rejected (bad_quote) */
    GD_BAD_UTF8,       /* invalid UTF-8 bytes in a text field -> rejected (bad_utf8) */
    GD_DUP_EXACT,      /* the row written twice              -> one duplicate */
    GD_DUP_ORDER,      /* a second row with the same order id, later ts -> one duplicate */
    GD_CONFLICT_ORDER, /* the order id of another customer's order -> one quarantined conflict */
    GD_MISSING_OPT,    /* one optional field empty           -> one imputed value */
    GD_MISSING_REQ,    /* one required field empty           -> rejected (missing_required) */
    GD_OUTLIER,        /* amount and unit price x1000        -> outlier flag */
    GD_NAN_INF,        /* NaN or Inf in a numeric field      -> rejected (nan_inf) */
    GD_NEG_QTY,        /* negative quantity and amount       -> kept, refund flag */
    GD_DATE_RANGE,     /* year 1899 or 2199                  -> rejected (date_range) */
    GD_BAD_VALUE,      /* a categorical outside its domain   -> rejected (bad_value) */
    GD_PHONE_FORMAT,   /* the phone in another written format -> same token, kept */
    GD_PHONE_INVALID,  /* a phone that is no possible number -> kept, token 0, counted invalid */
    GD_EMAIL_INVALID,  /* an email that is no address        -> kept, token 0, counted invalid */
    GD_DUP_CHANGED,    /* the row written again with another city -> one duplicate, differing */
    GD_NKINDS
};

extern const char *const gen_defect_names[GD_NKINDS];

enum gen_table { GT_CUSTOMERS, GT_TRANSACTIONS, GT_TOUCHPOINTS, GT_SPEND, GT_EXPERIMENTS, GT_NTABLES };
extern const char *const gen_table_names[GT_NTABLES];

#endif
