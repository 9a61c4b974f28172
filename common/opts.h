/* opts.h - one option table per job: getopt_long, --help, --version, config files.
 *
 * DESIGN
 * A job describes its options once, as an array of opt_spec. opts_parse()
 * applies the defaults, then the `key = value` lines of --config FILE, then
 * the command line, so the command line wins. --help prints every option with
 * its default and the job's example; --version prints the version. Unknown
 * options, missing arguments, stray positional arguments and bad values fail
 * with exit code 2 and a message naming the option (and the config file and
 * line when it came from there). Not collective: every rank parses the same
 * argv and reaches the same verdict; only rank 0 prints.
 */
#ifndef PRECIS_OPTS_H
#define PRECIS_OPTS_H

#include "check.h"
#include <stdint.h>

#define PRECIS_VERSION "0.1.0"

typedef enum { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STR, OPT_LIST } opt_type;

/* A repeatable option's values, in the order given (config first). */
typedef struct opt_list {
    int n;
    char **v;
} opt_list;

typedef struct opt_spec {
    const char *name;    /* long name, without "--" */
    opt_type type;
    void *dest;          /* int* (FLAG), int64_t* (INT), double*, char** (STR), opt_list* */
    const char *def;     /* default, as text; NULL for none */
    const char *help;
    double min, max;     /* inclusive numeric bounds, used when min < max */
    const char *choices; /* "a|b|c": allowed values of a STR option, or NULL */
} opt_spec;

typedef struct opt_cmd {
    const char *prog;    /* e.g. "precis-gen" */
    const char *summary; /* one line */
    const char *example; /* one or more example command lines */
    const opt_spec *specs;
    int nspecs;
} opt_cmd;

/* Options every job takes (DESIGN.md "Command line"). */
typedef struct opt_common {
    char *config;
    char *log_level;
    int log_json;
    int64_t seed;
    char *checkpoint_dir;
    int resume;
} opt_common;

#define OPTS_COMMON_SPECS(c)                                                             \
    {"log-level", OPT_STR, &(c)->log_level, "info", "log level", 0, 0, "debug|info|warn|error"}, \
    {"log-json", OPT_FLAG, &(c)->log_json, NULL, "print logs as one JSON object per line", 0, 0, NULL}, \
    {"seed", OPT_INT, &(c)->seed, "1", "random seed (any 64-bit value)", 0, 0, NULL},    \
    {"checkpoint-dir", OPT_STR, &(c)->checkpoint_dir, NULL, "directory for checkpoints", 0, 0, NULL}, \
    {"resume", OPT_FLAG, &(c)->resume, NULL, "resume from the checkpoint in --checkpoint-dir", 0, 0, NULL}

/* Parse argv against cmd (plus the built-in --config, --help, --version).
 * Returns 0 to run, 1 when --help or --version was printed (exit 0), or -1
 * with `e` set to exit code 2. Only `rank` 0 prints. Strings are owned by the
 * table's destinations until opts_free(). */
int opts_parse(const opt_cmd *cmd, int argc, char **argv, int rank, precis_err *e);

/* Free strings and lists that opts_parse stored. This function can't fail. */
void opts_free(const opt_cmd *cmd);

/* Serialise the parsed values as a JSON object (the `params` attribute).
 * Returns a malloc'd string, or NULL on allocation failure. */
char *opts_to_json(const opt_cmd *cmd);

#endif
