/* na.c - placeholder values that mean "missing" (na.h). */
#include "na.h"

#include <stdlib.h>

int na_parse(const char *list, const char *where, na_set *s, precis_err *e)
{
    memset(s, 0, sizeof *s);
    if (!list || !*list) return 0;
    s->buf = strdup(list);
    if (!s->buf) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (char *p = s->buf;;) {
        char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == 0 || l > 64 || s->n == NA_MAX) {
            int n = s->n;
            na_free(s);
            if (l > 64) return PERR(e, PRECIS_EXIT_USAGE, "%s: a value over 64 bytes", where);
            if (n == NA_MAX) return PERR(e, PRECIS_EXIT_USAGE, "%s: more than %d values", where, NA_MAX);
            return PERR(e, PRECIS_EXIT_USAGE, "%s: an empty value in '%s' (empty fields are missing anyway; give '' for no values)", where, list);
        }
        s->v[s->n] = p;
        s->len[s->n++] = l;
        if (l > s->maxlen) s->maxlen = l;
        s->first[(unsigned char)p[0]] = 1;
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return 0;
}

void na_free(na_set *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}
