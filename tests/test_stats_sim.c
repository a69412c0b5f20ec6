/* tests/test_stats_sim.c — the statistics judged by simulation with fixed seeds, through the
 * real comparison code (mv_compare_metric on metric sets): family-wise false alarms of 200
 * null reports with 19 metrics with and without Holm, non-inferiority gates under a true
 * drop of twice the margin and under no change, the power formulas, and every number
 * checked against an independent Python/numpy reimplementation (tests/golden/stats_reference.py). */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mv_stats.h"

static double unif(mv_rng *r) { return ((double)(mv_rng_next(r) >> 11) + 0.5) / 9007199254740992.0; }

static double gauss(mv_rng *r)
{
    double u1 = unif(r), u2 = unif(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#define N_METRICS 19
#define N_BINARY 10

/* One side of a report: N_METRICS metrics over n items, metric k in column "c<k>" (0/1 for
 * k < N_BINARY). Values come from the caller's arrays. */
static mv_metrics *make_side(size_t n, double (*vals)[N_METRICS])
{
    mv_metrics *m = NULL;
    mv_error err;
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    char names[N_METRICS][16], cols[N_METRICS][16];
    const char *cp[N_METRICS];
    for (int k = 0; k < N_METRICS; k++) {
        snprintf(names[k], sizeof names[k], "m%02d", k);
        snprintf(cols[k], sizeof cols[k], "c%02d", k);
        cp[k] = cols[k];
        ck_assert_int_eq(mv_metrics_define(m, names[k], MV_HIGHER_IS_BETTER, cols[k], NULL,
                                           MV_TRANSFORM_NONE, k < N_BINARY, "synthetic", &err), MV_OK);
    }
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "item-%05zu", i);
        ck_assert_int_eq(mv_metrics_add_item(m, id, N_METRICS, cp, vals[i], NULL, &err), MV_OK);
    }
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    return m;
}

/* 200 synthetic reports where nothing changed: A and B are two independent draws of every
 * item from the same item-level distribution (0/1 with per-item difficulty, or a shared
 * item effect plus noise). A report "false-alarms" when any of its 19 metrics is flagged. */
START_TEST(test_family_wise_null)
{
    enum { REPORTS = 200, N = 120 };
    double (*va)[N_METRICS] = malloc(N * sizeof *va), (*vb)[N_METRICS] = malloc(N * sizeof *vb);
    mv_stats_options o;
    mv_stats_options_default(&o);
    o.resamples = 1000;
    int raw_alarms = 0, holm_alarms = 0;
    mv_rng r;
    mv_rng_seed(&r, 20261207);
    for (int rep = 0; rep < REPORTS; rep++) {
        for (size_t i = 0; i < N; i++)
            for (int k = 0; k < N_METRICS; k++) {
                if (k < N_BINARY) {
                    double p = 0.2 + 0.7 * unif(&r);
                    va[i][k] = unif(&r) < p;
                    vb[i][k] = unif(&r) < p;
                } else {
                    double base = gauss(&r);
                    va[i][k] = base + 0.5 * gauss(&r);
                    vb[i][k] = base + 0.5 * gauss(&r);
                }
            }
        mv_metrics *A = make_side(N, va), *B = make_side(N, vb);
        double p[N_METRICS];
        int any_raw = 0, any_holm = 0;
        o.seed = 1000 + (uint64_t)rep;
        for (int k = 0; k < N_METRICS; k++) {
            char name[16];
            snprintf(name, sizeof name, "m%02d", k);
            mv_comparison c;
            mv_error err;
            ck_assert_int_eq(mv_compare_metric(A, B, name, &o, &c, &err), MV_OK);
            ck_assert(c.has_p_value && c.comparable);
            p[k] = c.p_value;
            any_raw |= p[k] < o.alpha;
        }
        ck_assert_int_eq(mv_holm_adjust(p, N_METRICS), 0);
        for (int k = 0; k < N_METRICS; k++) any_holm |= p[k] < o.alpha;
        raw_alarms += any_raw;
        holm_alarms += any_holm;
        mv_metrics_free(A);
        mv_metrics_free(B);
    }
    free(va);
    free(vb);
    printf("family-wise false alarms over %d null reports x %d metrics: uncorrected %d (%.1f%%), "
           "Holm %d (%.1f%%)\n", REPORTS, N_METRICS, raw_alarms, 100.0 * raw_alarms / REPORTS,
           holm_alarms, 100.0 * holm_alarms / REPORTS);
    ck_assert_msg(holm_alarms <= REPORTS / 20, "Holm: %d of %d null reports flagged", holm_alarms, REPORTS);
    ck_assert_msg(raw_alarms >= REPORTS / 4, "uncorrected: only %d of %d", raw_alarms, REPORTS);
}
END_TEST

/* Paired 0/1 data for one metric: a share `disc` of items changes between A and B, and the
 * changes are lopsided so that the expected delta B - A is -drop. */
static void paired_binary(mv_rng *r, size_t n, double disc, double drop, double (*va)[N_METRICS],
                          double (*vb)[N_METRICS])
{
    double worse = (disc + drop) / 2;   /* P(A hit, B miss); P(A miss, B hit) = disc - worse */
    for (size_t i = 0; i < n; i++) {
        double u = unif(r);
        int a, b;
        if (u < worse) { a = 1; b = 0; }
        else if (u < disc) { a = 0; b = 1; }
        else { a = b = unif(r) < 0.6; }
        for (int k = 0; k < N_METRICS; k++) { va[i][k] = a; vb[i][k] = b; }
    }
}

/* Share of 200 simulated gates (margin 0.05 on a 0/1 metric, discordance 15%) that pass. */
static double ni_pass_rate(size_t n, double drop, uint64_t seed)
{
    enum { SIMS = 200 };
    double (*va)[N_METRICS] = malloc(n * sizeof *va), (*vb)[N_METRICS] = malloc(n * sizeof *vb);
    mv_stats_options o;
    mv_stats_options_default(&o);
    o.resamples = 1000;
    mv_rng r;
    mv_rng_seed(&r, seed);
    int pass = 0;
    for (int s = 0; s < SIMS; s++) {
        paired_binary(&r, n, 0.15, drop, va, vb);
        mv_metrics *A = make_side(n, va), *B = make_side(n, vb);
        mv_comparison c;
        mv_error err;
        o.seed = seed + (uint64_t)s;
        ck_assert_int_eq(mv_compare_metric(A, B, "m00", &o, &c, &err), MV_OK);
        pass += mv_noninferiority(c.ci_lo, c.ci_hi, 0.05) == MV_NI_PASS;
        mv_metrics_free(A);
        mv_metrics_free(B);
    }
    free(va);
    free(vb);
    return (double)pass / SIMS;
}

START_TEST(test_noninferiority_simulation)
{
    /* A true drop of twice the margin must almost never pass (one-sided 2.5% by design). */
    double p_bad = ni_pass_rate(300, 0.10, 77);
    /* No change with enough items (se 0.012 < margin / 3.24) must pass nearly always. */
    double p_same = ni_pass_rate(1000, 0.0, 78);
    printf("non-inferiority, margin 0.05: true drop 0.10 on 300 items passes %.1f%%; no change "
           "on 1000 items passes %.1f%%\n", 100 * p_bad, 100 * p_same);
    ck_assert_msg(p_bad <= 0.05, "drop 2x margin passed %.3f", p_bad);
    ck_assert_msg(p_same >= 0.90, "no change passed only %.3f", p_same);
    /* The decision rule itself, by hand. */
    ck_assert_int_eq(mv_noninferiority(-0.04, 0.02, 0.05), MV_NI_PASS);
    ck_assert_int_eq(mv_noninferiority(-0.09, -0.06, 0.05), MV_NI_FAIL);
    ck_assert_int_eq(mv_noninferiority(-0.08, -0.01, 0.05), MV_NI_INCONCLUSIVE);
}
END_TEST

START_TEST(test_power_formulas)
{
    ck_assert_double_eq_tol(mv_norm_quantile(0.975), 1.959963984540054, 1e-12);
    ck_assert_double_eq_tol(mv_norm_quantile(0.8), 0.8416212335729143, 1e-12);
    ck_assert_double_eq_tol(mv_norm_quantile(1e-10), -6.361340902404056, 1e-9);
    ck_assert_double_eq_tol(mv_norm_cdf(-1.959963984540054), 0.025, 1e-15);
    /* Student's t, two-sided values by numerical integration of the density: 2*P(T > 2 | 10), 2*P(T > 3.5 | 119), Cauchy. */
    ck_assert_double_eq_tol(mv_t_two_sided_p(2.0, 10), 0.07338803477074327, 1e-12);
    ck_assert_double_eq_tol(mv_t_two_sided_p(-3.5, 119), 0.0006555648705802, 1e-11);
    ck_assert_double_eq_tol(mv_t_two_sided_p(1.0, 1), 0.5, 1e-12);
    /* Connor (1987): d = 0.03, r = 0.15, alpha 0.05, power 0.9:
     * ((1.959964 sqrt(.15) + 1.281552 sqrt(.15 - .0009)) / .03)^2 = 1747.08 -> 1748. */
    ck_assert_double_eq(mv_items_mcnemar(0.03, 0.15, 0.05, 0.90), 1748);
    ck_assert_double_eq(mv_items_mcnemar(0.2, 0.1, 0.05, 0.9), 0); /* r < d: impossible */
    /* Paired means: ((1.959964 + 0.841621) * 2 / 0.5)^2 = 125.6 -> 126. */
    ck_assert_double_eq(mv_items_paired(0.5, 2.0, 0.05, 0.8), 126);
    ck_assert_double_eq_tol(mv_mde(0.01, 0.05, 0.8), 0.02801585, 1e-8);
    ck_assert_double_eq_tol(mv_mde_mcnemar(0.15, 1000, 0.05, 0.8), 2.801585 * sqrt(0.15 / 1000), 1e-6);
    /* Settling an inconclusive check: observed change -0.02 against margin 0.05, se 0.02 on
     * 300 items: 300 * (2.801585 * 0.02 / 0.03)^2 = 1046.5 -> 1047. */
    ck_assert_double_eq(mv_ni_items_to_settle(-0.02, 0.02, 300, 0.05, 0.05), 1047);
    ck_assert(isinf(mv_ni_items_to_settle(-0.05, 0.02, 300, 0.05, 0.05)));
    /* Holm by hand: p = .01 .04 .03 .005 -> sorted .005 x4, .01 x3, .03 x2, .04 x1 (monotone). */
    double p[4] = { 0.01, 0.04, 0.03, 0.005 };
    ck_assert_int_eq(mv_holm_adjust(p, 4), 0);
    ck_assert_double_eq_tol(p[0], 0.03, 1e-15);
    ck_assert_double_eq_tol(p[1], 0.06, 1e-15);
    ck_assert_double_eq_tol(p[2], 0.06, 1e-15);
    ck_assert_double_eq_tol(p[3], 0.02, 1e-15);
}
END_TEST

/* ------------------------------------------------ independent reference (numpy) */
typedef struct two { size_t n; const double *a, *b; } two;
static double mean_diff(void *user, const uint32_t *counts, size_t n)
{
    const two *t = user;
    double s = 0, w = 0;
    for (size_t i = 0; i < n; i++) { s += counts[i] * (t->b[i] - t->a[i]); w += counts[i]; }
    return s / w;
}

/* Writes inputs and the C results to a JSON file, runs the Python reference over it, which
 * exits 0 only when every number agrees (and prints what it compared). */
START_TEST(test_against_numpy_reference)
{
    char path[] = "/tmp/mv-stats-ref-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"mcnemar\": [");
    uint64_t tables[][2] = { {2, 8}, {0, 5}, {17, 3}, {40, 61}, {100, 400}, {250, 251}, {0, 0} };
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        fprintf(f, "%s[%llu, %llu, %.17g]", i ? ", " : "", (unsigned long long)tables[i][0],
                (unsigned long long)tables[i][1], mv_mcnemar_exact_p(tables[i][0], tables[i][1]));
    fprintf(f, "],\n \"holm\": [");
    mv_rng r;
    mv_rng_seed(&r, 99);
    for (int set = 0; set < 5; set++) {
        double p[23], q[23];
        int n = 3 + 5 * set;
        for (int i = 0; i < n; i++) q[i] = p[i] = pow(unif(&r), 3);  /* many small p */
        if (set == 4) q[1] = p[1] = p[0];                              /* a tie */
        mv_holm_adjust(q, (size_t)n);
        fprintf(f, "%s{\"p\": [", set ? ", " : "");
        for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", p[i]);
        fprintf(f, "], \"adjusted\": [");
        for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", q[i]);
        fprintf(f, "]}");
    }
    fprintf(f, "],\n \"bootstrap\": [");
    for (int set = 0; set < 3; set++) {
        size_t n = 20 + 15 * set;
        double a[80], b[80];
        for (size_t i = 0; i < n; i++) { a[i] = gauss(&r); b[i] = a[i] + 0.1 + 0.5 * gauss(&r); }
        two t = { n, a, b };
        double lo, hi, se;
        int resamples = 500 + 250 * set;
        uint64_t seed = 4242 + (uint64_t)set;
        ck_assert_int_eq(mv_bootstrap_ci(n, mean_diff, &t, resamples, seed, 0.95, &lo, &hi, &se, NULL), MV_OK);
        fprintf(f, "%s{\"seed\": %llu, \"resamples\": %d, \"a\": [", set ? ", " : "",
                (unsigned long long)seed, resamples);
        for (size_t i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", a[i]);
        fprintf(f, "], \"b\": [");
        for (size_t i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", b[i]);
        fprintf(f, "], \"lo\": %.17g, \"hi\": %.17g, \"se\": %.17g}", lo, hi, se);
    }
    fprintf(f, "],\n \"power\": {\"items_mcnemar\": %.17g, \"items_paired\": %.17g, \"mde\": %.17g, "
            "\"quantile\": %.17g}}\n", mv_items_mcnemar(0.03, 0.12, 0.05, 0.9),
            mv_items_paired(0.02, 0.3, 0.01, 0.8), mv_mde(0.013, 0.05, 0.8), mv_norm_quantile(0.995));
    fclose(f);
    /* the script sits beside this file: tests/golden/ */
    char cmd[1024], dir[512];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/golden/stats_reference.py %s", dir, path);
    int rc = system(cmd);
    unlink(path);
    ck_assert_msg(rc == 0, "numpy reference disagrees (exit %d): %s", rc, cmd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 900);   /* simulations: generous under sanitizers and load */
    tcase_add_test(tc, test_power_formulas);
    tcase_add_test(tc, test_against_numpy_reference);
    tcase_add_test(tc, test_noninferiority_simulation);
    tcase_add_test(tc, test_family_wise_null);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
