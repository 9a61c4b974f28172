/* opts.c - option table parsing with getopt_long and config files. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int choice_ok(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, v, l) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Store text value `v` for spec s. `where` names its origin for messages. */
static int set_value(const opt_spec *s, const char *v, const char *where, precis_err *e)
{
    char *end = NULL;
    switch (s->type) {
    case OPT_FLAG: {
        int b;
        if (v == NULL || !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) b = 1;
        else if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) b = 0;
        else return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s takes true or false, not '%s'", where, s->name, v);
        *(int *)s->dest = b;
        return 0;
    }
    case OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 0);
        if (errno || end == v || *end != '\0')
            return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s needs an integer, not '%s'", where, s->name, v);
        if (s->min < s->max && ((double)x < s->min || (double)x > s->max))
            return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s must be in [%.17g, %.17g], not %lld", where, s->name, s->min, s->max, x);
        *(int64_t *)s->dest = (int64_t)x;
        return 0;
    }
    case OPT_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end != '\0' || !isfinite(x))
            return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s needs a finite number, not '%s'", where, s->name, v);
        if (s->min < s->max && (x < s->min || x > s->max))
            return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s must be in [%g, %g], not %g", where, s->name, s->min, s->max, x);
        *(double *)s->dest = x;
        return 0;
    }
    case OPT_STR: {
        if (s->choices && !choice_ok(s->choices, v))
            return PERR(e, PRECIS_EXIT_USAGE, "%s: option --%s must be one of %s, not '%s'", where, s->name, s->choices, v);
        char *c = strdup(v);
        if (!c) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        free(*(char **)s->dest);
        *(char **)s->dest = c;
        return 0;
    }
    case OPT_LIST: {
        opt_list *l = s->dest;
        char **nv = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
        if (!nv) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        l->v = nv;
        if (!(l->v[l->n] = strdup(v))) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        l->n++;
        return 0;
    }
    }
    return PERR(e, PRECIS_EXIT_INTERNAL, "bad option type");
}

static const opt_spec *find_spec(const opt_cmd *cmd, const char *name)
{
    for (int i = 0; i < cmd->nspecs; i++)
        if (strcmp(cmd->specs[i].name, name) == 0) return &cmd->specs[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *t = s + strlen(s);
    while (t > s && isspace((unsigned char)t[-1])) *--t = '\0';
    return s;
}

static int load_config(const opt_cmd *cmd, const char *path, precis_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return PERR(e, PRECIS_EXIT_USAGE, "--config %s: cannot open: %s", path, strerror(errno));
    char line[8192], where[600];
    int lineno = 0, rc = 0;
    int *seen = calloc((size_t)cmd->nspecs + 1, sizeof(int)); /* the line that set each option, 0 for none */
    if (!seen) {
        fclose(f);
        return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) { rc = PERR(e, PRECIS_EXIT_USAGE, "%s: expected 'key = value'", where); break; }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        while (*key == '-') key++;
        const opt_spec *sp = find_spec(cmd, key);
        if (!sp) { rc = PERR(e, PRECIS_EXIT_USAGE, "%s: unknown option '%s'", where, key); break; }
        /* a key given twice in one file is a mistake to name, not a value
         * to pick (a repeatable option adds each line, as on the command line) */
        int at = (int)(sp - cmd->specs);
        if (sp->type != OPT_LIST && seen[at]) {
            rc = PERR(e, PRECIS_EXIT_USAGE, "%s: '%s' is given again (first on line %d); give it once", where, key, seen[at]);
            break;
        }
        seen[at] = lineno;
        if (set_value(sp, val, where, e)) { rc = -1; break; }
    }
    fclose(f);
    free(seen);
    return rc;
}

static void print_help(const opt_cmd *cmd)
{
    printf("Usage: %s [options]\n%s\n\nOptions:\n", cmd->prog, cmd->summary);
    for (int i = 0; i < cmd->nspecs; i++) {
        const opt_spec *s = &cmd->specs[i];
        const char *arg = s->type == OPT_FLAG ? "" : s->type == OPT_INT ? " N" : s->type == OPT_DOUBLE ? " X" : " VALUE";
        char left[80];
        snprintf(left, sizeof left, "--%s%s", s->name, arg);
        printf("  %-28s %s", left, s->help);
        if (s->choices) printf(" (%s)", s->choices);
        if (s->type == OPT_LIST) printf(" [repeatable]");
        if (s->def) printf(" [default: %s]", s->def);
        else if (s->type == OPT_FLAG) printf(" [default: off]");
        printf("\n");
    }
    printf("  %-28s %s\n", "--config FILE", "read 'key = value' lines, each key once (a repeatable one on each of its lines); the command line wins");
    printf("  %-28s %s\n", "--help", "print this help and exit");
    printf("  %-28s %s\n", "--version", "print the version and exit");
    printf("\nExit codes: 0 ok, 2 usage, 3 bad input data, 4 I/O, 5 internal, 75 stopped (rerun with --resume)\n");
    printf("\nExample:\n  %s\n", cmd->example);
}

int opts_parse(const opt_cmd *cmd, int argc, char **argv, int rank, precis_err *e)
{
    int n = cmd->nspecs;
    struct option *lo = calloc((size_t)n + 4, sizeof *lo);
    if (!lo) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < n; i++) {
        lo[i].name = cmd->specs[i].name;
        lo[i].has_arg = cmd->specs[i].type == OPT_FLAG ? no_argument : required_argument;
        lo[i].val = 256 + i;
    }
    lo[n] = (struct option){"config", required_argument, NULL, 1000};
    lo[n + 1] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n + 2] = (struct option){"version", no_argument, NULL, 1001};

    /* 1. defaults */
    for (int i = 0; i < n; i++) {
        const opt_spec *s = &cmd->specs[i];
        if (s->type == OPT_FLAG) *(int *)s->dest = 0;
        if (s->def && set_value(s, s->def, "default", e)) goto fail;
    }
    /* 2. find --config (and --help/--version) first; 3. then the command line */
    for (int pass = 0; pass < 2; pass++) {
        optind = 0; /* GNU: full re-initialisation, so _run() can be called repeatedly */
        opterr = 0;
        int c, idx;
        while ((c = getopt_long(argc, argv, ":h", lo, &idx)) != -1) {
            const char *bad = argv[optind - 1];
            if (c == '?') {
                PERR(e, PRECIS_EXIT_USAGE, "unknown option '%s' (see --help)", bad);
                goto fail;
            }
            if (c == ':') {
                PERR(e, PRECIS_EXIT_USAGE, "option '%s' needs a value", bad);
                goto fail;
            }
            if (pass == 0) {
                if (c == 'h') { if (rank == 0) print_help(cmd); free(lo); return 1; }
                if (c == 1001) { if (rank == 0) printf("%s %s\n", cmd->prog, PRECIS_VERSION); free(lo); return 1; }
                if (c == 1000 && load_config(cmd, optarg, e)) goto fail;
                continue;
            }
            if (c >= 256 && c < 256 + n) {
                char where[64];
                snprintf(where, sizeof where, "command line");
                if (set_value(&cmd->specs[c - 256], optarg, where, e)) goto fail;
            }
        }
        if (optind < argc) {
            PERR(e, PRECIS_EXIT_USAGE, "unexpected argument '%s' (options start with --; see --help)", argv[optind]);
            goto fail;
        }
    }
    free(lo);
    return 0;
fail:
    free(lo);
    return -1;
}

void opts_free(const opt_cmd *cmd)
{
    for (int i = 0; i < cmd->nspecs; i++) {
        const opt_spec *s = &cmd->specs[i];
        if (s->type == OPT_STR) {
            free(*(char **)s->dest);
            *(char **)s->dest = NULL;
        } else if (s->type == OPT_LIST) {
            opt_list *l = s->dest;
            for (int j = 0; j < l->n; j++) free(l->v[j]);
            free(l->v);
            l->v = NULL;
            l->n = 0;
        }
    }
}

char *opts_to_json(const opt_cmd *cmd)
{
    json_t *o = json_object();
    if (!o) return NULL;
    for (int i = 0; i < cmd->nspecs; i++) {
        const opt_spec *s = &cmd->specs[i];
        json_t *v = NULL;
        switch (s->type) {
        case OPT_FLAG: v = json_boolean(*(int *)s->dest); break;
        case OPT_INT: v = json_integer((json_int_t) * (int64_t *)s->dest); break;
        case OPT_DOUBLE: v = json_real(*(double *)s->dest); break;
        case OPT_STR: v = *(char **)s->dest ? json_string(*(char **)s->dest) : json_null(); break;
        case OPT_LIST: {
            opt_list *l = s->dest;
            v = json_array();
            for (int j = 0; j < l->n; j++) json_array_append_new(v, json_string(l->v[j]));
            break;
        }
        }
        json_object_set_new(o, s->name, v ? v : json_null());
    }
    char *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return out;
}
