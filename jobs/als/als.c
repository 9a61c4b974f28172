/* als.c - precis-als: options, the iteration loop, checkpoints and recs.h5.
 *
 * DESIGN
 * One iteration = a user half-step against the routed item factors and
 * Y'Y, then an item half-step against the routed user factors and X'X,
 * then the loss (exact sum). The state at an iteration boundary is only
 * (X, Y): the checkpoint is an HDF5 file with X in global user order and Y
 * in item-code order, so --resume reads its own rows at any rank count and
 * continues with the same bits.
 */
#include "als.h"
#include "ckpt.h"
#include "h5io.h"
#include "job.h"
#include "log.h"
#include "slots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

/* One BLAS thread per rank, and the same kernels on every rank: OpenBLAS
 * picks kernels per CPU, and other kernels round differently. */
static void blas_setup(MPI_Comm comm)
{
    openblas_set_num_threads(1);
    const char *core = openblas_get_corename();
    uint64_t h = 1469598103934665603ULL, mm[2];
    for (const char *c = core ? core : ""; *c; c++) h = (h ^ (uint64_t)(unsigned char)*c) * 1099511628211ULL;
    mm[0] = h;
    mm[1] = ~h;
    MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_UINT64_T, MPI_MAX, comm);
    LOG_INFO("BLAS: OpenBLAS %s kernels, 1 thread per rank", core ? core : "(unknown)");
    if (mm[0] != ~mm[1])
        LOG_WARN("ranks use different OpenBLAS kernels: results may differ in the last bits from a run with another "
                 "placement; export the same OPENBLAS_CORETYPE to every rank");
#if defined(__x86_64__) || defined(__i386__)   /* __builtin_cpu_supports is x86's (and "Prescott" an x86 core) */
    if (core && !strcasecmp(core, "Prescott") && __builtin_cpu_supports("avx2"))
        LOG_WARN("OpenBLAS did not recognise this CPU and uses its slowest kernels; export OPENBLAS_CORETYPE=Haswell "
                 "(or SkylakeX) to every rank, e.g. mpirun -x OPENBLAS_CORETYPE");
#endif
}

static const char *const metric_names[7] = {"precision@K", "recall@K", "ndcg@K", "map@K", "auc_sampled", "coverage", "users_evaluated"};

static int parse_holdout(const char *h, precis_err *e)
{
    char *end;
    if (!strcmp(h, "none")) return 0;
    if (!strncmp(h, "last:", 5)) {
        long long n = strtoll(h + 5, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 1000000) return 0;
    } else if (!strncmp(h, "random:", 7)) {
        double f = strtod(h + 7, &end);
        if (*end == '\0' && f > 0 && f < 1) return 0;
    }
    return PERR(e, PRECIS_EXIT_USAGE, "option --holdout: '%s' is not none, last:N (N >= 1) or random:F (0 < F < 1)", h);
}

static char *ckpt_path(const char *dir)
{
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/als.ckpt.h5", dir);
    return p;
}

/* write a float64 matrix as the run's dtype */
static int write_factors(h5io_file *f, const char *name, const double *v, int64_t n, int fdim, int as_float, precis_err *e)
{
    if (!as_float) return h5io_write_mat(f, name, H5T_NATIVE_DOUBLE, v, n, fdim, NULL, e);
    float *t = malloc(4 * (size_t)(n * fdim + 1));
    if (!t) return PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < n * fdim; i++) t[i] = (float)v[i];
    int rc = h5io_write_mat(f, name, H5T_NATIVE_FLOAT, t, n, fdim, NULL, e);
    free(t);
    return rc;
}

static int write_ckpt(als *a, const char *cparams, const char *fp, int64_t iter, const double *hist, precis_err *e)
{
    char *p = ckpt_path(a->o->c.checkpoint_dir);
    h5io_file *f = NULL;
    int64_t lo, hi;
    double *Yb = NULL;
    als_block_range(a, a->rank, &lo, &hi);
    Yb = malloc(8 * (size_t)((hi - lo + 1) * a->f));
    if (!p || !Yb) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(a->comm, e)) goto fail;
    TRY(als_items_to_blocks(a, Yb, e));
    TRY(h5io_create(a->comm, p, &f, e));
    TRY(h5io_set_provenance(f, "als-checkpoint", cparams, "[]", fp ? fp : "", e));
    TRY(h5io_attr_set_i64(f, "/", "iteration", iter, e));
    TRY(h5io_write_mat(f, "/X", H5T_NATIVE_DOUBLE, a->X, a->nu, a->f, NULL, e));
    TRY(h5io_write_mat(f, "/Y", H5T_NATIVE_DOUBLE, Yb, hi - lo, a->f, NULL, e));
    TRY(h5io_write_col(f, "/history", H5T_NATIVE_DOUBLE, hist, a->rank == 0 ? iter : 0, e));
    TRY(h5io_commit(f, e));
    f = NULL;
    free(p); free(Yb);
    return 0;
fail:
    if (f) h5io_abort(f);
    free(p); free(Yb);
    precis_agree(a->comm, e);
    return -1;
}

static int read_ckpt(als *a, const char *cparams, int64_t *iter, double *hist, precis_err *e)
{
    char *p = ckpt_path(a->o->c.checkpoint_dir), *got = NULL;
    h5io_file *f = NULL;
    int64_t lo, hi, rows, cols;
    double *Yb = NULL;
    als_block_range(a, a->rank, &lo, &hi);
    Yb = malloc(8 * (size_t)((hi - lo + 1) * a->f));
    if (!p || !Yb) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(a->comm, e)) goto fail;
    TRY(h5io_open(a->comm, p, 0, &f, e));
    TRY(h5io_attr_get_str(f, "/", "params", &got, e));
    CHECK(!strcmp(got, cparams), e, PRECIS_EXIT_DATA,
          "--resume: %s was written with other parameters or input (%s); this run has %s", p, got, cparams);
    TRY(h5io_attr_get_i64(f, "/", "iteration", iter, e));
    CHECK(*iter >= 0 && *iter <= a->o->iterations, e, PRECIS_EXIT_DATA, "--resume: %s is at iteration %lld, beyond --iterations %lld",
          p, (long long)*iter, (long long)a->o->iterations);
    TRY(h5io_dims(f, "/X", &rows, &cols, e));
    CHECK(rows == a->NU && cols == a->f, e, PRECIS_EXIT_DATA, "--resume: %s holds %lld users x %lld factors, not %lld x %d", p,
          (long long)rows, (long long)cols, (long long)a->NU, a->f);
    TRY(h5io_read_rows(f, "/X", H5T_NATIVE_DOUBLE, a->uoff, a->nu, a->X, e));
    TRY(h5io_read_rows(f, "/Y", H5T_NATIVE_DOUBLE, lo, hi - lo, Yb, e));
    TRY(h5io_read_rows(f, "/history", H5T_NATIVE_DOUBLE, 0, *iter, hist, e));
    h5io_close(f);
    f = NULL;
    TRY(als_blocks_to_items(a, Yb, e));
    free(p); free(got); free(Yb);
    return precis_agree(a->comm, e);
fail:
    if (f) h5io_close(f);
    free(p); free(got); free(Yb);
    precis_agree(a->comm, e);
    return -1;
}

static int write_output(als *a, const als_opts *o, const char *params, const char *fp, const double *Yb,
                        const als_recs *R, const double *hist, const char *timing, precis_err *e)
{
    MPI_Comm comm = a->comm;
    h5io_file *out = NULL;
    char *inputs = NULL, **ids = NULL, *idbuf = NULL;
    int64_t lo, hi, slo, shi, *offs = NULL;
    int N = (int)o->topn, f = a->f;
    als_block_range(a, a->rank, &lo, &hi);
    char *ins[] = {o->in};
    TRY(h5io_inputs_json(comm, ins, 1, &inputs, e));
    TRY(h5io_create(comm, o->out, &out, e));
    TRY(h5io_set_provenance(out, "als", params, inputs, fp ? fp : "", e));
    /* users: identity, then factors and lists in the same order */
    ids = malloc(sizeof(char *) * (size_t)(a->nu + 1));
    idbuf = malloc(33 * (size_t)(a->nu + 1));
    offs = malloc(8 * (size_t)(a->S + 2));
    CHECK(ids && idbuf && offs, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t u = 0; u < a->nu; u++) {
        if (a->generic) {
            ids[u] = a->uid + (size_t)u * a->uid_w;   /* as given */
        } else {
            ids[u] = idbuf + 33 * u;
            snprintf(ids[u], 33, "%016llx%016llx", (unsigned long long)a->ukey[u], (unsigned long long)a->ukey_lo[u]);
        }
    }
    TRY(h5io_write_strings(out, "/users/id", (const char *const *)ids, a->nu, e));
    if (!a->generic) {  /* customer identity for joins (generic ids are not customer keys) */
        TRY(h5io_write_col(out, "/users/customer_key", H5T_NATIVE_UINT64, a->ukey, a->nu, e));
        TRY(h5io_write_col(out, "/users/customer_key_lo", H5T_NATIVE_UINT64, a->ukey_lo, a->nu, e));
        slots_range(a->rank, a->size, a->S, &slo, &shi);
        TRY(slots_offsets_local(comm, a->uslot, a->nu, slo, shi, offs, e));
        TRY(h5io_write_slot_offsets(out, "/users", slo, shi, offs, e));
        TRY(h5io_attr_set_i64(out, "/users", "slots", a->S, e));
    }
    /* items in code order (block layout) */
    free(ids);
    ids = malloc(sizeof(char *) * (size_t)(hi - lo + 1));
    CHECK(ids, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t c = lo; c < hi; c++) ids[c - lo] = a->iname + (size_t)c * a->iname_w;
    TRY(h5io_write_strings(out, "/items/id", (const char *const *)ids, hi - lo, e));
    TRY(h5io_write_col(out, "/items/popularity", H5T_NATIVE_INT64, a->pop + lo, hi - lo, e));
    TRY(write_factors(out, "/user_factors", a->X, a->nu, f, a->as_float, e));
    TRY(write_factors(out, "/item_factors", Yb, hi - lo, f, a->as_float, e));
    TRY(h5io_write_mat(out, "/topn/items", H5T_NATIVE_INT32, R->items, a->nu, N, NULL, e));
    TRY(h5io_write_mat(out, "/topn/scores", H5T_NATIVE_DOUBLE, R->scores, a->nu, N, NULL, e));
    TRY(h5io_write_col(out, "/topn/cold_start", H5T_NATIVE_UINT8, R->cold, a->nu, e));
    {
        double lift[7];
        int me0 = a->rank == 0;
        for (int q = 0; q < 7; q++) lift[q] = R->metrics[1][q] > 0 ? R->metrics[0][q] / R->metrics[1][q] : NAN;
        lift[6] = 1;
        TRY(h5io_write_strings(out, "/metrics/name", metric_names, me0 ? 7 : 0, e));
        TRY(h5io_write_col(out, "/metrics/als", H5T_NATIVE_DOUBLE, R->metrics[0], me0 ? 7 : 0, e));
        TRY(h5io_write_col(out, "/metrics/popularity", H5T_NATIVE_DOUBLE, R->metrics[1], me0 ? 7 : 0, e));
        TRY(h5io_write_col(out, "/metrics/lift", H5T_NATIVE_DOUBLE, lift, me0 ? 7 : 0, e));
        TRY(h5io_attr_set_i64(out, "/metrics", "k", N, e));
        TRY(h5io_attr_set_str(out, "/metrics", "holdout", o->holdout, e));
        TRY(h5io_write_col(out, "/history/loss", H5T_NATIVE_DOUBLE, hist, me0 ? o->iterations : 0, e));
        TRY(h5io_attr_set_str(out, "/history", "timing", timing, e));
    }
    TRY(h5io_commit(out, e));
    out = NULL;
    free(inputs); free(ids); free(idbuf); free(offs);
    return 0;
fail:
    if (out) h5io_abort(out);
    free(inputs); free(ids); free(idbuf); free(offs);
    return -1;
}

int als_run(int argc, char **argv, MPI_Comm comm)
{
    als_opts o;
    als a;
    memset(&o, 0, sizeof o);
    memset(&a, 0, sizeof a);
    const opt_spec specs[] = {
        {"in", OPT_STR, &o.in, NULL, "clean.h5 from precis-clean, or a CSV file/directory/glob of (already pseudonymised) interactions", 0, 0, NULL},
        {"user-col", OPT_STR, &o.user_col, NULL, "CSV input: the user id column", 0, 0, NULL},
        {"item-col", OPT_STR, &o.item_col, NULL, "CSV input: the item id column", 0, 0, NULL},
        {"value-col", OPT_STR, &o.value_col, NULL, "CSV input: the value column (default: 1 per row)", 0, 0, NULL},
        {"na-values", OPT_STR, &o.na, NA_DEFAULT, "CSV or generic HDF5 input: user and item ids that mean missing, as an empty one does: comma-separated, exact ('' for none)", 0, 0, NULL},
        {"time-col", OPT_STR, &o.time_col, NULL, "CSV input: the time column (ISO date/time, yyyymmdd, yyyy/mm/dd or epoch), for --holdout last:N", 0, 0, NULL},
        {"out", OPT_STR, &o.out, NULL, "output recs.h5", 0, 0, NULL},
        {"spool", OPT_STR, &o.spool, NULL, "CSV input: directory for decompressed copies of compressed (gzip, zstd, xz, bzip2, lz4, zip) inputs, and transcoded ones of UTF-16 and UTF-32 inputs (with a byte-order mark), seen by every rank [default: <out dir>]", 0, 0, NULL},
        {"value", OPT_STR, &o.value, "quantity", "interaction strength per (user, item): summed quantity, row count or amount", 0, 0, "quantity|count|amount|column"},
        {"confidence", OPT_STR, &o.confidence, "linear", "c = 1 + alpha*v (linear) or 1 + alpha*log(1 + v/eps) (log)", 0, 0, "linear|log"},
        {"alpha", OPT_DOUBLE, &o.alpha, "1.0", "confidence scale alpha", 0, 1e9, NULL},
        {"eps", OPT_DOUBLE, &o.eps, "1.0", "epsilon of the log confidence", 1e-12, 1e12, NULL},
        {"factors", OPT_INT, &o.factors, "64", "latent factors f", 1, 1024, NULL},
        {"lambda", OPT_DOUBLE, &o.lambda, "0.01", "L2 regularisation lambda", 0, 1e9, NULL},
        {"iterations", OPT_INT, &o.iterations, "15", "ALS iterations (each = user half + item half)", 1, 100000, NULL},
        {"reg-scale", OPT_STR, &o.reg_scale, "none", "none: lambda*|x|^2 (Hu et al.); count: lambda*n*|x|^2 (ALS-WR)", 0, 0, "none|count"},
        {"solver", OPT_STR, &o.solver, "cg", "conjugate gradient (warm-started) or exact Cholesky", 0, 0, "cg|cholesky"},
        {"cg-steps", OPT_INT, &o.cg_steps, "3", "CG steps per solve", 1, 1000, NULL},
        {"dtype", OPT_STR, &o.dtype, "float32", "factor precision: stored, sent and written (arithmetic is float64)", 0, 0, "float32|float64"},
        {"topn", OPT_INT, &o.topn, "10", "recommendations per user (and K of the metrics)", 1, 10000, NULL},
        {"exclude-seen", OPT_FLAG, &o.exclude_seen, NULL, "never recommend an item the user interacted with in training (implied by --holdout)", 0, 0, NULL},
        {"holdout", OPT_STR, &o.holdout, "none", "none, last:N (each user's N most recent items) or random:F", 0, 0, NULL},
        {"max-replicated-mb", OPT_INT, &o.max_repl_mb, "1024", "gather all item factors for scoring while they fit; else pass blocks around a ring", 0, 1 << 30, NULL},
        {"heavy-item-users", OPT_INT, &o.heavy_users, "100000", "items with at least this many training buyers get their normal equations summed on the buyers' ranks", 1, 1e15, NULL},
        {"item-slots", OPT_INT, &o.item_slots, "4096", "hash slots that partition items over ranks (power of two)", 1, 1 << 30, NULL},
        {"checkpoint-every", OPT_INT, &o.checkpoint_every, "0", "write a checkpoint every N iterations (0: only on a stop signal)", 0, 1000000, NULL},
        OPTS_COMMON_SPECS(&o.c),
    };
    const opt_cmd cmd = {"precis-als", "Implicit-feedback ALS recommendations, byte-identical at any rank count.",
                         "mpirun -np 4 precis-als --in clean.h5 --out recs.h5 --factors 64 --holdout last:1", specs,
                         (int)(sizeof specs / sizeof specs[0])};
    precis_err err, *e = &err;
    perr_clear(e);
    char *fp = NULL, *params = NULL, *cparams = NULL, timing[512] = "{}";
    double *Gx = NULL, *Gy = NULL, *hist = NULL, *Yb = NULL;
    als_recs R;
    memset(&R, 0, sizeof R);
    a.comm = comm;
    a.o = &o;
    MPI_Comm_rank(comm, &a.rank);
    MPI_Comm_size(comm, &a.size);
    int rc = job_start(&cmd, &o.c, argc, argv, comm, "precis-als", e);
    if (rc == 1) { opts_free(&cmd); return 0; }
    if (rc < 0) goto done;
    if (!o.in || !o.out) { PERR(e, PRECIS_EXIT_USAGE, "options --in and --out are required"); goto done; }
    if (job_check_out(comm, o.out, e)) goto done;
    if (job_check_not_input(comm, 1, (const char *const[]){"--out"}, (const char *const[]){o.out}, (const char *const[]){o.in}, 1, e)) goto done;
    if (parse_holdout(o.holdout, e)) goto done;
    if (na_parse(o.na, "option --na-values", &a.na, e)) goto done;
    if (!slots_valid(o.item_slots)) { PERR(e, PRECIS_EXIT_USAGE, "option --item-slots: %lld is not a power of two", (long long)o.item_slots); goto done; }
    if ((o.c.resume || o.checkpoint_every) && !o.c.checkpoint_dir) { PERR(e, PRECIS_EXIT_USAGE, "--resume and --checkpoint-every need --checkpoint-dir"); goto done; }
    blas_setup(comm);
    a.f = (int)o.factors;
    a.as_float = !strcmp(o.dtype, "float32");
    params = opts_to_json(&cmd);
    double t_load = log_now();
    if (als_load(&a, &fp, e)) goto done;
    {
        int64_t c[6] = {a.rows_in, a.pairs, a.pairs_nonpos, a.pairs_train, a.pairs_holdout, a.cold_users};
        MPI_Allreduce(MPI_IN_PLACE, c, 6, MPI_INT64_T, MPI_SUM, comm);
        LOG_INFO("%lld users, %lld items, %lld rows -> %lld (user, item) pairs: %lld with net value <= 0 dropped, %lld training, "
                 "%lld held out; %lld users have no training pairs (cold start)",
                 (long long)a.NU, (long long)a.NI, (long long)c[0], (long long)c[1], (long long)c[2], (long long)c[3],
                 (long long)c[4], (long long)c[5]);
        if (c[3] == 0) PERR(e, PRECIS_EXIT_DATA, "%s: no training interactions with a positive value", o.in);
        if (precis_agree(comm, e)) goto done;
    }
    if (als_setup_items(&a, e)) goto done;
    LOG_INFO("loaded and routed in %.2f s; %.3g MB sent between ranks per iteration", log_now() - t_load, a.bytes_per_iter / 1e6);
    Gx = als_aalloc(8 * (size_t)(a.f * a.f));   /* aligned: BLAS takes the same path at any P */
    Gy = als_aalloc(8 * (size_t)(a.f * a.f));
    hist = calloc((size_t)o.iterations + 1, 8);
    cparams = malloc(2048);
    if (!Gx || !Gy || !hist || !cparams) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    if (precis_agree(comm, e)) goto done;
    snprintf(cparams, 2048,
             "{\"in\":\"%s\",\"users\":%lld,\"items\":%lld,\"value\":\"%s\",\"confidence\":\"%s\",\"alpha\":%.17g,\"eps\":%.17g,"
             "\"factors\":%d,\"lambda\":%.17g,\"reg_scale\":\"%s\",\"solver\":\"%s\",\"cg_steps\":%lld,\"dtype\":\"%s\","
             "\"holdout\":\"%s\",\"seed\":%lld,\"heavy_item_users\":%lld}",
             o.in, (long long)a.NU, (long long)a.NI, o.value, o.confidence, o.alpha, o.eps, a.f, o.lambda, o.reg_scale, o.solver,
             (long long)o.cg_steps, o.dtype, o.holdout, (long long)o.c.seed, (long long)o.heavy_users);
    int64_t it0 = 0;
    if (o.c.resume) {
        if (read_ckpt(&a, cparams, &it0, hist, e)) goto done;
        LOG_INFO("resuming at iteration %lld", (long long)it0);
    } else if (als_init_factors(&a)) {
        PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
    }
    if (precis_agree(comm, e)) goto done;
    if (route_move(comm, &a.ur, a.Y, a.f, a.as_float, a.Yn, e) || als_gram(&a, 0, Gy, e)) goto done;
    double tu_sum = 0, ti_sum = 0;
    for (int64_t it = it0; it < o.iterations; it++) {
        if (ckpt_should_stop(comm, "iter", it)) {
            if (o.c.checkpoint_dir) {
                if (write_ckpt(&a, cparams, fp, it, hist, e)) goto done;
                PERR(e, PRECIS_EXIT_STOPPED, "stopped before iteration %lld; checkpoint in %s; rerun with --resume", (long long)it,
                     o.c.checkpoint_dir);
            } else {
                PERR(e, PRECIS_EXIT_STOPPED, "stopped before iteration %lld (no --checkpoint-dir: a rerun starts afresh)", (long long)it);
            }
            goto done;
        }
        double t0 = log_now();
        if (als_half(&a, 1, Gy, e)) goto done;
        double t1 = log_now();
        if (route_move(comm, &a.ir, a.X, a.f, a.as_float, a.Xn, e)) goto done;
        double t1r = log_now();
        if (als_gram(&a, 1, Gx, e)) goto done;
        double t1g = log_now();
        if (als_half(&a, 0, Gx, e)) goto done;
        double t2 = log_now();
        if (route_move(comm, &a.ur, a.Y, a.f, a.as_float, a.Yn, e)) goto done;
        double t2r = log_now();
        if (als_gram(&a, 0, Gy, e)) goto done;
        double t2g = log_now();
        if (als_loss(&a, Gx, Gy, &hist[it], e)) goto done;
        LOG_DEBUG("iteration %lld phases: user solve %.3f, route X %.3f, X'X %.3f, item solve %.3f, route Y %.3f, Y'Y %.3f, loss %.3f s",
                  (long long)it + 1, t1 - t0, t1r - t1, t1g - t1r, t2 - t1g, t2r - t2, t2g - t2r, log_now() - t2g);
        tu_sum += t1 - t0;
        ti_sum += t2 - t1;
        LOG_INFO("iteration %lld: loss %.12g, user half %.3f s, item half %.3f s, loss %.3f s", (long long)it + 1, hist[it], t1 - t0,
                 t2 - t1, log_now() - t2r);
        if (o.checkpoint_every && (it + 1) % o.checkpoint_every == 0 && it + 1 < o.iterations &&
            write_ckpt(&a, cparams, fp, it + 1, hist, e))
            goto done;
    }
    {
        int64_t lo, hi;
        als_block_range(&a, a.rank, &lo, &hi);
        Yb = malloc(8 * (size_t)((hi - lo + 1) * a.f));
        if (!Yb) PERR(e, PRECIS_EXIT_INTERNAL, "out of memory");
        if (precis_agree(comm, e) || als_items_to_blocks(&a, Yb, e)) goto done;
    }
    double t3 = log_now();
    if (als_recommend(&a, Yb, &R, e)) goto done;
    LOG_INFO("top-%lld for %lld users in %.2f s", (long long)o.topn, (long long)a.NU, log_now() - t3);
    if (strcmp(o.holdout, "none")) {
        LOG_INFO("holdout %s, %lld users evaluated, K=%lld:", o.holdout, (long long)R.metrics[0][6], (long long)o.topn);
        for (int q = 0; q < 6; q++)
            LOG_INFO("  %-12s als %.5f  popularity %.5f  lift %.3f", metric_names[q], R.metrics[0][q], R.metrics[1][q],
                     R.metrics[1][q] > 0 ? R.metrics[0][q] / R.metrics[1][q] : NAN);
    }
    int64_t done_it = o.iterations - it0;
    snprintf(timing, sizeof timing, "{\"ranks\":%d,\"seconds_user_half\":%.6f,\"seconds_item_half\":%.6f,\"bytes_per_iteration\":%.0f}",
             a.size, done_it ? tu_sum / (double)done_it : 0, done_it ? ti_sum / (double)done_it : 0, a.bytes_per_iter);
    if (write_output(&a, &o, params, fp, Yb, &R, hist, timing, e)) {
        precis_agree(comm, e);
        goto done;
    }
    if (precis_agree(comm, e)) goto done;
    if (o.c.checkpoint_dir && a.rank == 0) {
        char *p = ckpt_path(o.c.checkpoint_dir);
        if (p) remove(p);
        free(p);
    }
done:
    precis_agree(comm, e);
    rc = job_exit(comm, e);
    free(fp); free(params); free(cparams); free(Gx); free(Gy); free(hist); free(Yb);
    free(R.items); free(R.scores); free(R.cold);
    free(a.uoffs); free(a.ukey); free(a.ukey_lo); free(a.uid); free(a.uslot); free(a.uptr); free(a.uitem); free(a.uval);
    free(a.hptr); free(a.hitem); free(a.ucol); free(a.X); free(a.Yn); free(a.icode); free(a.islot); free(a.iptr);
    free(a.iuser); free(a.ival); free(a.icol); free(a.Y); free(a.Xn); free(a.pop); free(a.iname);
    free(a.hcode); free(a.ihidx); free(a.uhidx); free(a.HA); free(a.Hb);
    route_free(&a.ur);
    route_free(&a.ir);
    na_free(&a.na);
    opts_free(&cmd);
    return rc;
}
