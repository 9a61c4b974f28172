/* inputs.h - turn an input spec (a file, a directory or a glob) into files.
 *
 * DESIGN
 * A spec that names a directory expands to the regular files in it that
 * match `pattern` (fnmatch, with '|' between alternatives: "*.csv|*.csv.gz",
 * as inputs_csv_pattern makes; without regard to case, so Transactions.CSV
 * as Windows names exports is matched;
 * hidden names, starting with '.', are not matched, as in the shell); a
 * spec with glob characters expands with glob(3); anything else must be an
 * existing regular file. A matched directory whose name ends in .csv (Spark
 * writes a table as such a directory of part files) gives its *.csv files,
 * plain or compressed (.csv.gz, .csv.zst, .csv.xz, .csv.bz2), one level
 * down. A matched
 * name that cannot be stat'ed (a broken link, a path too long) is an error,
 * not skipped. A list that would read a file twice (two names linked to
 * one file, "x.csv" beside "x.csv.gz" or "x.csv.zst", or two compressed
 * copies "x.csv.gz" and "x.csv.xz") is an error naming both. The
 * list is sorted bytewise so every rank and every run sees
 * the same order. Not collective: every rank expands the same spec the
 * same way.
 */
#ifndef PRECIS_INPUTS_H
#define PRECIS_INPUTS_H

#include "check.h"
#include <stddef.h>

typedef struct inputs_list {
    int n;
    char **path;
} inputs_list;

/* Expand spec. Returns 0, or -1 with code 4 when nothing matches, a path
 * can't be read or a file would be read twice. An empty list is an error
 * unless allow_empty is set. */
int inputs_expand(const char *spec, const char *pattern, int allow_empty,
                  inputs_list *out, precis_err *e);

/* The pattern of CSV files, plain or compressed, whose names start with
 * prefix ("" for any): "<prefix>*.csv|<prefix>*.csv.gz|..." in buf (cap
 * bytes: INPUTS_PATTERN_CAP holds it for a prefix of up to 24 bytes, as
 * the table names are; a longer one would be cut short). Can't fail. */
#define INPUTS_PATTERN_CAP 256
void inputs_csv_pattern(char *buf, size_t cap, const char *prefix);

/* Can't fail. */
void inputs_free(inputs_list *l);

/* 1 when path names a directory (through links), else 0. Can't fail. */
int inputs_is_dir(const char *path);

#endif
