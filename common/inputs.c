/* inputs.c - file, directory and glob expansion into a sorted file list. */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push(inputs_list *l, const char *p)
{
    char **nv = realloc(l->path, sizeof(char *) * (size_t)(l->n + 1));
    if (!nv) return -1;
    l->path = nv;
    if (!(l->path[l->n] = strdup(p))) return -1;
    l->n++;
    return 0;
}

int inputs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int expand_dir(const char *dir, const char *pattern, int depth, inputs_list *out, precis_err *e);

/* fnmatch of name against each '|'-separated alternative of pattern */
static int matches(const char *pattern, const char *name)
{
    if (!pattern) pattern = "*";
    for (;;) {
        const char *bar = strchr(pattern, '|');
        char alt[256];
        size_t l = bar ? (size_t)(bar - pattern) : strlen(pattern);
        if (l >= sizeof alt) l = sizeof alt - 1;
        memcpy(alt, pattern, l);
        alt[l] = '\0';
        if (fnmatch(alt, name, FNM_PERIOD | FNM_CASEFOLD) == 0) return 1; /* (Transactions.CSV, as Windows names exports) */
        if (!bar) return 0;
        pattern = bar + 1;
    }
}

static int ends_with(const char *s, const char *t)
{
    size_t a = strlen(s), b = strlen(t);
    return a >= b && strcasecmp(s + a - b, t) == 0;
}

/* Why a path that is neither a regular file nor a directory cannot be an
 * input: every rank reads its own byte ranges of each file (and a pipe's
 * bytes can be read once, by one reader). Never skipped: data named like
 * an input is not left out without a word. */
static int not_a_file(const char *path, mode_t mode, precis_err *e)
{
    const char *kind = S_ISFIFO(mode) ? "a named pipe (FIFO)" : S_ISCHR(mode) ? "a character device"
                     : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
    return PERR(e, PRECIS_EXIT_IO, "input %s is %s: the ranks read each input by byte ranges, so it must be a regular file "
                "(write the data to one first; compressed files are read as they are)", path, kind);
}

/* A matched path: a regular file is an input; a directory named *.csv
 * (Spark writes a table as such a directory of part files) gives its *.csv
 * and compressed *.csv.gz, .zst, .xz, .bz2 and .lz4, one level down; another directory is not an input; a pipe,
 * device or socket is an error (not_a_file). A path that cannot be stat'ed
 * (a broken link, a name too long) is an error, never skipped. */
static int add_path(const char *path, int depth, inputs_list *out, precis_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) { /* (the end of a long path: the message has room for the reason) */
        size_t l = strlen(path);
        return PERR(e, PRECIS_EXIT_IO, "input %s%s: %s", l > 300 ? "..." : "", path + (l > 300 ? l - 300 : 0), strerror(errno));
    }
    if (S_ISREG(st.st_mode)) return push(out, path) ? PERR(e, PRECIS_EXIT_INTERNAL, "out of memory") : 0;
    if (S_ISDIR(st.st_mode) && depth == 0 && ends_with(path, ".csv")) {
        char pat[INPUTS_PATTERN_CAP];
        inputs_csv_pattern(pat, sizeof pat, "");
        return expand_dir(path, pat, depth + 1, out, e);
    }
    if (S_ISDIR(st.st_mode)) return 0;
    return not_a_file(path, st.st_mode, e);
}

static int expand_dir(const char *dir, const char *pattern, int depth, inputs_list *out, precis_err *e)
{
    DIR *d = opendir(dir);
    if (!d) return PERR(e, PRECIS_EXIT_IO, "cannot open directory %s: %s", dir, strerror(errno));
    size_t dl = strlen(dir);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        /* hidden names are not matched, as in the shell (a copy from macOS
         * leaves ._part-00000.csv beside each part file) */
        if (!matches(pattern, de->d_name)) continue;
        size_t l = dl + 1 + strlen(de->d_name) + 1;
        char *path = malloc(l);
        if (!path) {
            closedir(d);
            return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        }
        snprintf(path, l, "%s/%s", dir, de->d_name);
        int rc = add_path(path, depth, out, e);
        free(path);
        if (rc) {
            closedir(d);
            return -1;
        }
        errno = 0;
    }
    int err = errno;
    closedir(d);
    if (err) return PERR(e, PRECIS_EXIT_IO, "cannot list directory %s: %s", dir, strerror(err));
    return 0;
}

typedef struct fid {
    dev_t dev;
    ino_t ino;
    int i;
} fid;

static int cmp_fid(const void *a, const void *b)
{
    const fid *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return x->i - y->i;
}

/* The compressed forms of a CSV file's name that a directory is read for
 * (a zip archive as <name>.zip too, as Windows names one). */
static const char *const zsuffix[] = {".gz", ".zst", ".xz", ".bz2", ".lz4", ".zip"};
#define NZSUFFIX (int)(sizeof zsuffix / sizeof zsuffix[0])

void inputs_csv_pattern(char *buf, size_t cap, const char *prefix)
{
    int at = snprintf(buf, cap, "%s*.csv", prefix);
    for (int k = 0; k < NZSUFFIX && at >= 0 && (size_t)at < cap; k++)
        at += snprintf(buf + at, cap - (size_t)at, "|%s*%s%s", prefix, strcmp(zsuffix[k], ".zip") ? ".csv" : "", zsuffix[k]);
}

/* A path's name without a compression suffix and ".csv": its length. */
typedef struct stem {
    const char *p;
    size_t len;
    int i, z; /* z: the name has a compression suffix */
} stem;

static int cmp_stem(const void *a, const void *b)
{
    const stem *x = a, *y = b;
    int c = strncasecmp(x->p, y->p, x->len < y->len ? x->len : y->len); /* (names match in any case) */
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->i - y->i;
}

/* A file the list holds twice (two names linked to one file), or a file
 * and its compressed copy under the same name plus ".gz", ".zst", ".xz",
 * ".bz2" or ".lz4" (what `gzip -k`, zstd, `xz -k` and lz4 leave) or in x.zip, or two such
 * copies, would have its rows read twice: an error naming both. l is
 * sorted. */
static int check_twice(const inputs_list *l, precis_err *e)
{
    if (l->n < 2) return 0;
    stem *sm = malloc(sizeof(stem) * (size_t)l->n);
    if (!sm) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    int nz = 0;
    for (int i = 0; i < l->n; i++) {
        size_t n = strlen(l->path[i]);
        sm[i] = (stem){l->path[i], n, i, 0};
        for (int k = 0; k < NZSUFFIX; k++)
            if (ends_with(l->path[i], zsuffix[k])) sm[i].len = n - strlen(zsuffix[k]), sm[i].z = 1, nz++;
        if (sm[i].len > 4 && !strncasecmp(l->path[i] + sm[i].len - 4, ".csv", 4)) sm[i].len -= 4; /* (x.zip holds x.csv) */
    }
    if (nz) qsort(sm, (size_t)l->n, sizeof(stem), cmp_stem);
    for (int i = 0; nz && i + 1 < l->n; i++)
        if ((sm[i].z || sm[i + 1].z) && sm[i].len == sm[i + 1].len && !strncasecmp(sm[i].p, sm[i + 1].p, sm[i].len)) {
            const char *a = sm[i].p, *b = sm[i + 1].p;
            int plain = !sm[i].z || !sm[i + 1].z;
            if (sm[i].z && !sm[i + 1].z) { /* the plain one first */
                const char *t = a;
                a = b, b = t;
            }
            free(sm);
            return PERR(e, PRECIS_EXIT_IO, "inputs %s and %s: %s (as gzip -k, zstd and xz -k leave them), so its rows would be "
                        "read twice; remove one, or give the one to read by name", a, b,
                        plain ? "the second is the first compressed" : "they are one file compressed twice");
        }
    free(sm);
    fid *f = malloc(sizeof(fid) * (size_t)l->n);
    if (!f) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < l->n; i++) {
        struct stat st;
        if (stat(l->path[i], &st) != 0) {
            int err = errno;
            free(f);
            return PERR(e, PRECIS_EXIT_IO, "input %s: %s", l->path[i], strerror(err));
        }
        f[i] = (fid){st.st_dev, st.st_ino, i};
    }
    qsort(f, (size_t)l->n, sizeof(fid), cmp_fid);
    for (int i = 0; i + 1 < l->n; i++)
        if (f[i].dev == f[i + 1].dev && f[i].ino == f[i + 1].ino) {
            int a = f[i].i, b = f[i + 1].i;
            free(f);
            return PERR(e, PRECIS_EXIT_IO, "inputs %s and %s are one file (a link to it), so its rows would be read twice; "
                        "give it once", l->path[a], l->path[b]);
        }
    free(f);
    return 0;
}

int inputs_expand(const char *spec, const char *pattern, int allow_empty,
                  inputs_list *out, precis_err *e)
{
    struct stat st;
    out->n = 0;
    out->path = NULL;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (expand_dir(spec, pattern, 0, out, e)) goto fail;
    } else if (strpbrk(spec, "*?[")) {
        glob_t g;
        int rc = glob(spec, 0, NULL, &g);
        if (rc != 0 && rc != GLOB_NOMATCH) {
            globfree(&g);
            PERR(e, rc == GLOB_NOSPACE ? PRECIS_EXIT_INTERNAL : PRECIS_EXIT_IO, "input %s: %s", spec,
                 rc == GLOB_NOSPACE ? "out of memory" : "a directory on the way cannot be read");
            goto fail;
        }
        for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
            if (add_path(g.gl_pathv[i], 0, out, e)) {
                globfree(&g);
                goto fail;
            }
        globfree(&g);
    } else if (add_path(spec, 0, out, e)) { /* one file (a directory took the first branch) */
        goto fail;
    }
    if (out->n == 0 && !allow_empty)
        return PERR(e, PRECIS_EXIT_IO, "input %s matches no files%s%s", spec,
                    pattern ? " named " : "", pattern ? pattern : "");
    if (out->n > 1) qsort(out->path, (size_t)out->n, sizeof(char *), cmp_str); /* path is NULL when n is 0 */
    if (check_twice(out, e)) goto fail;
    return 0;
fail:
    inputs_free(out);
    return -1;
}

void inputs_free(inputs_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->path[i]);
    free(l->path);
    l->path = NULL;
    l->n = 0;
}
