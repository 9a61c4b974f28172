/* inputs.c - file, directory and glob expansion into a sorted file list. */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int inputs_expand(const char *spec, const char *pattern, int allow_empty,
                  inputs_list *out, precis_err *e)
{
    struct stat st;
    out->n = 0;
    out->path = NULL;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(spec);
        if (!d) return PERR(e, PRECIS_EXIT_IO, "cannot open directory %s: %s", spec, strerror(errno));
        struct dirent *de;
        char buf[4096];
        while ((de = readdir(d))) {
            if (fnmatch(pattern ? pattern : "*", de->d_name, 0) != 0) continue;
            snprintf(buf, sizeof buf, "%s/%s", spec, de->d_name);
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && push(out, buf)) {
                closedir(d);
                return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
            }
        }
        closedir(d);
    } else if (strpbrk(spec, "*?[")) {
        glob_t g;
        int rc = glob(spec, 0, NULL, &g);
        if (rc == 0)
            for (size_t i = 0; i < g.gl_pathc; i++)
                if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode) && push(out, g.gl_pathv[i])) {
                    globfree(&g);
                    return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
                }
        if (rc == 0 || rc == GLOB_NOMATCH) globfree(&g);
    } else {
        if (stat(spec, &st) != 0) return PERR(e, PRECIS_EXIT_IO, "input %s: %s", spec, strerror(errno));
        if (!S_ISREG(st.st_mode)) return PERR(e, PRECIS_EXIT_IO, "input %s is not a regular file", spec);
        if (push(out, spec)) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    if (out->n == 0 && !allow_empty)
        return PERR(e, PRECIS_EXIT_IO, "input %s matches no files%s%s", spec,
                    pattern ? " named " : "", pattern ? pattern : "");
    if (out->n > 1) qsort(out->path, (size_t)out->n, sizeof(char *), cmp_str); /* path is NULL when n is 0 */
    return 0;
}

void inputs_free(inputs_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->path[i]);
    free(l->path);
    l->path = NULL;
    l->n = 0;
}
