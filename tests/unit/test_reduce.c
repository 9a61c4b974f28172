/* test_reduce.c - exact, order- and split-independent sums (serial; nsize 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reduce.h"
#include "rng.h"

static double value_of(const racc *a)
{
    double v = NAN;
    precis_err e;
    perr_clear(&e);
    assert_int_equal(racc_value(a, &v, "test", &e), 0);
    return v;
}

/* sum x[0..n) split into P contiguous parts, merged in a given order */
static double split_sum(const double *x, int n, int P, int reverse_merge)
{
    racc part[4], tot;
    for (int p = 0; p < P; p++) {
        racc_init(&part[p]);
        for (int i = n * p / P; i < n * (p + 1) / P; i++) racc_add(&part[p], x[i]);
    }
    racc_init(&tot);
    for (int q = 0; q < P; q++) racc_merge(&tot, &part[reverse_merge ? P - 1 - q : q]);
    return value_of(&tot);
}

static void test_cancellation(void **st)
{
    (void)st;
    double x[] = {1e16, 1.0, -1e16};
    racc a;
    racc_init(&a);
    for (int i = 0; i < 3; i++) racc_add(&a, x[i]);
    assert_true(value_of(&a) == 1.0); /* naive left-to-right summation gives 0 */
    double y[] = {1e308, 1e308, -1e308, -1e308, 0x1p-1074};
    racc_init(&a);
    for (int i = 0; i < 5; i++) racc_add(&a, y[i]);
    assert_true(value_of(&a) == 0x1p-1074);
}

static void test_tiny_values(void **st)
{
    (void)st;
    racc a;
    racc_init(&a);
    for (int i = 0; i < 1000000; i++) racc_add(&a, 1e-10);
    /* exact sum of 10^6 copies of double(1e-10), rounded once */
    double one = 1e-10;
    long double ref = (long double)one * 1000000.0L;
    assert_true(fabs(value_of(&a) - (double)ref) <= 1e-20);
    racc_init(&a);
    racc_add(&a, 1.0);
    for (int i = 0; i < 1000; i++) racc_add(&a, 0x1p-60);
    assert_true(value_of(&a) == 1.0 + 1000 * 0x1p-60);
}

static void test_order_and_split_invariance(void **st)
{
    (void)st;
    enum { N = 20000 };
    static double x[N], y[N];
    gsl_rng *r = rng_new(42, 0, 7);
    for (int i = 0; i < N; i++) {
        double m = gsl_rng_uniform(r) - 0.5;
        int ex = (int)(gsl_rng_uniform(r) * 80) - 40;
        x[i] = ldexp(m, ex);
        if (i % 97 == 0) x[i] = 1e16;
        if (i % 97 == 1) x[i] = -1e16;
    }
    /* a shuffled copy */
    memcpy(y, x, sizeof x);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)gsl_rng_uniform_int(r, (unsigned long)i + 1);
        double t = y[i]; y[i] = y[j]; y[j] = t;
    }
    gsl_rng_free(r);
    double ref = split_sum(x, N, 1, 0);
    for (int P = 1; P <= 4; P++)
        for (int rev = 0; rev < 2; rev++) {
            double a = split_sum(x, N, P, rev), b = split_sum(y, N, P, rev);
            assert_memory_equal(&a, &ref, sizeof a);
            assert_memory_equal(&b, &ref, sizeof b);
        }
}

static void test_rounding(void **st)
{
    (void)st;
    /* 1 + 2^-53 is a tie: rounds to even (1.0); plus a sticky bit rounds up */
    racc a;
    racc_init(&a);
    racc_add(&a, 1.0);
    racc_add(&a, 0x1p-53);
    assert_true(value_of(&a) == 1.0);
    racc_add(&a, 0x1p-200);
    assert_true(value_of(&a) == 1.0 + 0x1p-52);
    racc_init(&a);
    racc_add(&a, -3.5);
    racc_add(&a, 1.25);
    assert_true(value_of(&a) == -2.25);
}

static void test_bad_values(void **st)
{
    (void)st;
    racc a;
    double v;
    precis_err e;
    racc_init(&a);
    racc_add(&a, 1.0);
    racc_add(&a, NAN);
    perr_clear(&e);
    assert_int_equal(racc_value(&a, &v, "spend", &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_DATA);
    assert_non_null(strstr(e.msg, "NaN"));
    racc_init(&a);
    racc_add(&a, INFINITY);
    perr_clear(&e);
    assert_int_equal(racc_value(&a, &v, "spend", &e), -1);
    racc_init(&a);
    racc_add(&a, 1.7e308);
    racc_add(&a, 1.7e308);
    perr_clear(&e);
    assert_int_equal(racc_value(&a, &v, "spend", &e), -1);
    assert_non_null(strstr(e.msg, "overflow"));
}

/* the same values through rlanes and through racc_add: the same integer
 * in the bins (compared once both are normalised), the same double, the
 * same non-finite marks */
static void same_as_racc(const double *x, int n)
{
    racc a, b;
    rlanes l;
    racc_init(&a);
    racc_init(&b);
    rlanes_init(&l, &b);
    for (int i = 0; i < n; i++) {
        racc_add(&a, x[i]);
        rlanes_add(&l, x[i]);
    }
    rlanes_flush(&l);
    racc_normalise(&a);
    racc_normalise(&b);
    assert_memory_equal(a.bin, b.bin, sizeof a.bin);
    assert_int_equal(a.bad, b.bad);
    if (!a.bad) assert_true(value_of(&a) == value_of(&b));
}

static void test_rlanes(void **st)
{
    (void)st;
    enum { N = 100000 };
    static double x[N];
    gsl_rng *r = rng_new(7, 0, 3);
    /* every exponent, subnormals (lanes 0 and 1 share a scale), zeros, both signs */
    for (int i = 0; i < N; i++) {
        double m = gsl_rng_uniform(r) * 2 - 1;
        int k = (int)gsl_rng_uniform_int(r, 2100) - 1100;
        x[i] = i % 97 == 0 ? 0.0 : i % 89 == 0 ? m * 0x1p-1060 : ldexp(m, k > 1020 ? 1020 : k);
    }
    same_as_racc(x, N);
    /* prices and their squares, as precis-clean sums them */
    for (int i = 0; i < N; i++) {
        double p = floor(gsl_rng_uniform(r) * 100000) / 100;
        x[i] = i % 2 ? p : p * p;
    }
    same_as_racc(x, N);
    /* the largest mantissas of one exponent, all of one sign: a lane holds a
     * batch of them only because a batch is at most 512 */
    for (int i = 0; i < N; i++) x[i] = 0x1.fffffffffffffp+40;
    same_as_racc(x, N);
    for (int i = 0; i < N; i++) x[i] = -0x1.fffffffffffffp-1022;
    same_as_racc(x, N);
    /* non-finite values mark the sum */
    double bad[] = {1.0, NAN, 2.0, INFINITY, -INFINITY};
    same_as_racc(bad, 5);
    same_as_racc(bad + 3, 1);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_tiny_values),
        cmocka_unit_test(test_order_and_split_invariance),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_rlanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
