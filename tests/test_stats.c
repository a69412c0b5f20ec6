/* tests/test_stats.c — known answers for the regression statistics: exact McNemar p-values
 * on hand-computed tables, bootstrap interval coverage on synthetic paired data, and the
 * verdict rule (a clear regression is detected, pure noise is not). */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "mv_stats.h"

START_TEST(test_mcnemar_known)
{
    /* n = 10, k = 2: P(X<=2) = (1 + 10 + 45) / 1024. */
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(2, 8), 2.0 * 56.0 / 1024.0, 1e-12);
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(8, 2), 2.0 * 56.0 / 1024.0, 1e-12);
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(0, 5), 2.0 / 32.0, 1e-12);
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(1, 9), 2.0 * 11.0 / 1024.0, 1e-12);
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(5, 5), 1.0, 1e-12);
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(0, 0), 1.0, 1e-12);
    /* n = 20, k = 3: (1 + 20 + 190 + 1140) / 2^20. */
    ck_assert_double_eq_tol(mv_mcnemar_exact_p(3, 17), 2.0 * 1351.0 / 1048576.0, 1e-12);
    /* Large n stays finite and tiny for a lopsided table. */
    double p = mv_mcnemar_exact_p(100, 400);
    ck_assert(p > 0 && p < 1e-30);
}
END_TEST

START_TEST(test_rng_deterministic)
{
    mv_rng a, b;
    mv_rng_seed(&a, 42);
    mv_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(mv_rng_next(&a), mv_rng_next(&b));
    mv_rng_seed(&a, 7);
    size_t hist[10] = {0};
    for (int i = 0; i < 100000; i++) hist[mv_rng_below(&a, 10)]++;
    for (int i = 0; i < 10; i++) ck_assert(hist[i] > 9500 && hist[i] < 10500);
}
END_TEST

/* Synthetic paired data: per item a reference score and a candidate score. */
typedef struct synth { size_t n; double *a, *b; } synth;

static double mean_delta(void *user, const uint32_t *counts, size_t n)
{
    synth *s = user;
    double sa = 0, sb = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        sa += counts[i] * s->a[i];
        sb += counts[i] * s->b[i];
        w += counts[i];
    }
    return (sb - sa) / w;
}

static double gauss(mv_rng *r)
{
    double u1 = ((double)(mv_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(mv_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void make_synth(synth *s, size_t n, double true_delta, double noise, uint64_t seed)
{
    mv_rng r;
    mv_rng_seed(&r, seed);
    s->n = n;
    s->a = malloc(n * sizeof *s->a);
    s->b = malloc(n * sizeof *s->b);
    for (size_t i = 0; i < n; i++) {
        s->a[i] = 1.0 + 0.5 * gauss(&r);            /* item difficulty, shared by the pair */
        s->b[i] = s->a[i] + true_delta + noise * gauss(&r);
    }
}

static void free_synth(synth *s) { free(s->a); free(s->b); }

START_TEST(test_bootstrap_covers_true_delta)
{
    /* 40 independent synthetic data sets with true delta 0.1: the 95% interval must cover
     * it in most of them (expected 38; allow sampling variation) and be reasonably tight. */
    int covered = 0;
    for (uint64_t k = 0; k < 40; k++) {
        synth s;
        make_synth(&s, 200, 0.1, 0.3, 1000 + k);
        double lo, hi, se;
        mv_error err;
        ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, 1000, k, 0.95, &lo, &hi, &se, &err), MV_OK);
        if (lo <= 0.1 && 0.1 <= hi) covered++;
        ck_assert(hi - lo < 0.2);
        ck_assert(se > 0.0 && se < 0.05);
        free_synth(&s);
    }
    ck_assert_msg(covered >= 34, "covered %d of 40", covered);
}
END_TEST

START_TEST(test_bootstrap_seeded)
{
    synth s;
    make_synth(&s, 50, 0.0, 0.2, 5);
    double lo1, hi1, lo2, hi2;
    ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, 1000, 99, 0.95, &lo1, &hi1, NULL, NULL), MV_OK);
    ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, 1000, 99, 0.95, &lo2, &hi2, NULL, NULL), MV_OK);
    ck_assert(lo1 == lo2 && hi1 == hi2);
    ck_assert_int_eq(mv_bootstrap_ci(0, mean_delta, &s, 1000, 99, 0.95, &lo2, &hi2, NULL, NULL), MV_E_INPUT);
    free_synth(&s);
}
END_TEST

static mv_comparison decide_synth(double true_delta, double noise, uint64_t seed, int direction)
{
    synth s;
    make_synth(&s, 150, true_delta, noise, seed);
    mv_stats_options o;
    mv_stats_options_default(&o);
    o.seed = seed;
    mv_comparison c;
    memset(&c, 0, sizeof c);
    c.direction = direction;
    double sa = 0, sb = 0;
    for (size_t i = 0; i < s.n; i++) { sa += s.a[i]; sb += s.b[i]; }
    c.a = sa / s.n; c.b = sb / s.n; c.delta = c.b - c.a; c.n_paired = s.n;
    ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, o.resamples, o.seed, 0.95,
                                     &c.ci_lo, &c.ci_hi, NULL, NULL), MV_OK);
    c.has_ci = 1;
    c.comparable = 1;
    /* the p-value as compare_metric computes it for a continuous metric */
    double lo2, hi2;
    ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, o.resamples, o.seed, 0.95, &lo2, &hi2,
                                     &c.se, NULL), MV_OK);
    c.has_p_value = 1;
    c.p_value = c.p_adjusted = mv_t_two_sided_p(c.delta / (c.se * sqrt(s.n / (s.n - 1.0))), s.n - 1.0);
    c.test = "paired bootstrap t";
    mv_comparison_decide(&c, &o);
    free_synth(&s);
    return c;
}

START_TEST(test_verdicts)
{
    mv_comparison c = decide_synth(-0.2, 0.1, 3, +1);
    ck_assert_int_eq(c.verdict, MV_VERDICT_REGRESSED);
    ck_assert_msg(strstr(c.reason, "regressed: delta") && strstr(c.reason, "95% CI"), "%s", c.reason);
    c = decide_synth(-0.2, 0.1, 3, -1);     /* lower is better: the same drop is a gain */
    ck_assert_int_eq(c.verdict, MV_VERDICT_IMPROVED);
    c = decide_synth(0.2, 0.1, 4, +1);
    ck_assert_int_eq(c.verdict, MV_VERDICT_IMPROVED);
    int noise = 0;
    for (uint64_t k = 0; k < 20; k++) {
        c = decide_synth(0.0, 0.3, 100 + k, +1);
        if (c.verdict == MV_VERDICT_NOISE) {
            noise++;
            ck_assert_msg(strstr(c.reason, "no significant change") && strstr(c.reason, "detectable"), "%s", c.reason);
        }
    }
    ck_assert_msg(noise >= 17, "only %d of 20 null data sets judged within noise", noise);
}
END_TEST

START_TEST(test_binary_needs_mcnemar)
{
    mv_stats_options o;
    mv_stats_options_default(&o);
    mv_comparison c;
    memset(&c, 0, sizeof c);
    c.direction = 1; c.a = 0.5; c.b = 0.4; c.delta = -0.1;
    c.has_ci = 1; c.ci_lo = -0.19; c.ci_hi = -0.01; c.comparable = 1;
    c.has_p = 1; c.n_discordant_better = 2; c.n_discordant_worse = 8; c.n_paired = 100;
    c.p_mcnemar = mv_mcnemar_exact_p(2, 8);   /* 0.109: not significant */
    c.has_p_value = 1; c.p_value = c.p_adjusted = c.p_mcnemar; c.test = "McNemar exact";
    mv_comparison_decide(&c, &o);
    ck_assert_int_eq(c.verdict, MV_VERDICT_NOISE);
    ck_assert(strstr(c.reason, "McNemar") != NULL);
    c.n_discordant_better = 1; c.n_discordant_worse = 12;
    c.p_mcnemar = c.p_value = c.p_adjusted = mv_mcnemar_exact_p(1, 12);
    mv_comparison_decide(&c, &o);
    ck_assert_int_eq(c.verdict, MV_VERDICT_REGRESSED);
    /* The same p after a Holm adjustment above alpha: no longer a regression. */
    c.p_adjusted = 0.2;
    mv_comparison_decide(&c, &o);
    ck_assert_int_eq(c.verdict, MV_VERDICT_NOISE);
    ck_assert_msg(strstr(c.reason, "Holm-adjusted p=0.2"), "%s", c.reason);
    /* Too many unmatched items: not comparable, whatever the p-value. */
    c.p_adjusted = c.p_value;
    c.comparable = 0; c.n_only_a = 5;
    mv_comparison_decide(&c, &o);
    ck_assert_int_eq(c.verdict, MV_VERDICT_NOT_COMPARABLE);
    ck_assert_msg(strstr(c.reason, "not comparable: 5 of 105 items"), "%s", c.reason);
    /* No items: untested, not silently "within noise". */
    memset(&c, 0, sizeof c);
    c.direction = 1; c.delta = 0.3; c.comparable = 1;
    mv_comparison_decide(&c, &o);
    ck_assert_int_eq(c.verdict, MV_VERDICT_UNTESTED);
}
END_TEST


/* Real metric sets (metrics.h): items matched by id even when stored in another order. */
static mv_metrics *make_set(int variant)
{
    mv_metrics *m = NULL;
    mv_error err;
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "r1", MV_HIGHER_IS_BETTER, "hit", NULL,
                                       MV_TRANSFORM_NONE, 1, "recall@1", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "perplexity", MV_LOWER_IS_BETTER, "nll", "tokens",
                                       MV_TRANSFORM_EXP, 0, "ppl", &err), MV_OK);
    for (int k = 0; k < 100; k++) {
        int i = variant ? 99 - k : k;            /* B stores items in reverse order */
        char id[32];
        snprintf(id, sizeof id, "item-%03d", i);
        double hit = (i % 3) != 0;               /* reference: 2/3 hits */
        double nll = 20.0 + (i % 7), tokens = 10.0 + (i % 5);
        if (variant) {
            if (i < 45 && hit == 1.0 && i % 2 == 0) hit = 0; /* 15 hits lost */
            else if (i >= 91 && hit == 0.0) hit = 1;         /* 3 gained */
            nll += 0.02 * tokens;                /* tiny uniform change */
        }
        const char *cols[] = { "hit", "nll", "tokens" };
        double vals[] = { hit, nll, tokens };
        ck_assert_int_eq(mv_metrics_add_item(m, id, 3, cols, vals, NULL, &err), MV_OK);
    }
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    return m;
}

START_TEST(test_compare_metric_sets)
{
    mv_metrics *A = make_set(0), *B = make_set(1);
    mv_stats_options o;
    mv_stats_options_default(&o);
    mv_comparison c;
    mv_error err;
    ck_assert_int_eq(mv_compare_metric(A, B, "r1", &o, &c, &err), MV_OK);
    ck_assert_uint_eq(c.n_paired, 100);
    ck_assert_uint_eq(c.n_discordant_worse, 15);
    ck_assert_uint_eq(c.n_discordant_better, 3);
    ck_assert_double_eq_tol(c.delta, -12.0 / 100.0, 1e-12);
    ck_assert(c.has_p);
    ck_assert_double_eq_tol(c.p_mcnemar, mv_mcnemar_exact_p(3, 15), 1e-12);
    ck_assert_int_eq(c.verdict, MV_VERDICT_REGRESSED);
    ck_assert(c.ci_lo < -0.12 && c.ci_hi > -0.12 && c.ci_hi < 0);
    /* Perplexity rises by exactly exp(0.02) in every document: a consistent regression
     * with a tiny interval around the true delta. */
    ck_assert_int_eq(mv_compare_metric(A, B, "perplexity", &o, &c, &err), MV_OK);
    ck_assert_double_eq_tol(c.b / c.a, exp(0.02), 1e-9);
    ck_assert(!c.has_p);
    ck_assert_int_eq(c.verdict, MV_VERDICT_REGRESSED);
    ck_assert(c.ci_lo <= c.delta + 1e-9 && c.delta - 1e-9 <= c.ci_hi);
    /* Identical sets: no change, zero-width interval. */
    ck_assert_int_eq(mv_compare_metric(A, A, "r1", &o, &c, &err), MV_OK);
    ck_assert_int_eq(c.verdict, MV_VERDICT_NOISE);
    ck_assert_int_eq(mv_compare_metric(A, B, "nope", &o, &c, &err), MV_E_NOT_FOUND);
    mv_metrics_free(A);
    mv_metrics_free(B);
}
END_TEST

/* The definition compare_metric's fast path must equal to the bit: each side's value over a
 * resample through mv_metrics_value_weighted (every item of the side, weight = draws of its
 * pair), as the comparison was first written. */
typedef struct ref_ctx {
    const mv_metrics *A, *B;
    size_t ma, mb, n;
    const size_t *ia, *ib;
    int log_ratio;
} ref_ctx;

static double ref_stat(void *user, const uint32_t *counts, size_t n)
{
    ref_ctx *r = user;
    uint32_t *wa = calloc(mv_metrics_n_items(r->A), sizeof *wa);
    uint32_t *wb = calloc(mv_metrics_n_items(r->B), sizeof *wb);
    for (size_t k = 0; k < n; k++) { wa[r->ia[k]] = counts[k]; wb[r->ib[k]] = counts[k]; }
    double a = mv_metrics_value_weighted(r->A, r->ma, wa), b = mv_metrics_value_weighted(r->B, r->mb, wb);
    free(wa); free(wb);
    if (r->log_ratio) return a > 0 && b > 0 ? log(b) - log(a) : NAN;
    return b - a;
}

static void check_against_reference(const mv_metrics *A, const mv_metrics *B, const char *name)
{
    size_t ma = (size_t)mv_metrics_find(A, name), mb = (size_t)mv_metrics_find(B, name);
    size_t na = mv_metrics_n_items(A), nb = mv_metrics_n_items(B), n = 0;
    size_t *ia = malloc(na * sizeof *ia), *ib = malloc(na * sizeof *ib);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(mv_metrics_item_id(A, i), mv_metrics_item_id(B, j)) == 0 &&
                mv_metrics_item_terms(A, ma, i, NULL, NULL) && mv_metrics_item_terms(B, mb, j, NULL, NULL)) {
                ia[n] = i; ib[n] = j; n++;
            }
    mv_stats_options o;
    mv_stats_options_default(&o);
    ref_ctx r = { A, B, ma, mb, n, ia, ib, 0 };
    double lo, hi, se, llo, lhi;
    mv_error err;
    ck_assert_int_eq(mv_bootstrap_ci(n, ref_stat, &r, o.resamples, o.seed, 1 - o.alpha, &lo, &hi, &se, &err), MV_OK);
    r.log_ratio = 1;
    int has_ratio = mv_bootstrap_ci(n, ref_stat, &r, o.resamples, o.seed, 1 - o.alpha, &llo, &lhi, NULL, NULL) == MV_OK;
    for (int cached = 0; cached < 2; cached++) {
        o.resampler = cached ? mv_resampler_new() : NULL;
        for (int again = 0; again < 2; again++) {  /* the second time from the kept draws */
            mv_comparison c;
            ck_assert_int_eq(mv_compare_metric(A, B, name, &o, &c, &err), MV_OK);
            ck_assert_uint_eq(c.n_paired, n);
            ck_assert_msg(c.ci_lo == lo && c.ci_hi == hi && c.se == se,
                          "%s: [%.17g, %.17g] se %.17g vs reference [%.17g, %.17g] se %.17g",
                          name, c.ci_lo, c.ci_hi, c.se, lo, hi, se);
            if (mv_metric_log_scale(name, mv_metrics_transform(A, ma)) && c.a > 0 && c.b > 0) {
                ck_assert_int_eq(c.has_ratio_ci, has_ratio);
                if (has_ratio) ck_assert(c.ratio_lo == exp(llo) && c.ratio_hi == exp(lhi));
            }
        }
        mv_resampler_free(o.resampler);
    }
    free(ia); free(ib);
}

/* Two sets with items added in different orders and items missing on either side. */
static mv_metrics *make_ragged(int variant)
{
    mv_metrics *m = NULL;
    mv_error err;
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "score", MV_HIGHER_IS_BETTER, "s", NULL, MV_TRANSFORM_NONE, 0, "s", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "perplexity", MV_LOWER_IS_BETTER, "nll", "tokens", MV_TRANSFORM_EXP, 0, "p", &err), MV_OK);
    mv_rng g;
    mv_rng_seed(&g, 11 + (uint64_t)variant);
    for (int k = 0; k < 300; k++) {
        int i = variant ? (k * 7) % 300 : k;      /* another order (7 is prime to 300) */
        if ((variant && i % 97 == 5) || (!variant && i % 89 == 3)) continue;
        char id[32];
        snprintf(id, sizeof id, "doc-%03d", i);
        double u = (double)(mv_rng_next(&g) >> 11) / 9007199254740992.0;
        double s = 0.1 * (i % 13) + u, tokens = 5.0 + (i % 11), nll = tokens * (1.0 + u);
        const char *cols[] = { "s", "nll", "tokens" };
        double vals[] = { s, nll, tokens };
        ck_assert_int_eq(mv_metrics_add_item(m, id, 3, cols, vals, NULL, &err), MV_OK);
    }
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    return m;
}

START_TEST(test_compare_equals_weighted_definition)
{
    mv_metrics *A = make_ragged(0), *B = make_ragged(1);
    check_against_reference(A, B, "perplexity");
    check_against_reference(A, B, "score");
    mv_metrics_free(A);
    mv_metrics_free(B);
    A = make_set(0); B = make_set(1);
    check_against_reference(A, B, "r1");
    check_against_reference(A, B, "perplexity");
    mv_metrics_free(A);
    mv_metrics_free(B);
}
END_TEST

/* Several statistics over one set of draws equal one bootstrap each with the same seed, with
 * or without kept draws, and past the keeping limit too. */
static void two_means(void *user, const uint32_t *counts, size_t n, double *out)
{
    out[0] = mean_delta(user, counts, n);
    out[1] = -2.0 * out[0];
}

static double minus_two_delta(void *user, const uint32_t *counts, size_t n)
{
    return -2.0 * mean_delta(user, counts, n);
}

START_TEST(test_bootstrap_multi_same_draws)
{
    size_t sizes[] = { 1, 37, 20000 };   /* 20000 x 1000 draws exceed what is kept */
    for (size_t t = 0; t < 3; t++) {
        synth s;
        make_synth(&s, sizes[t], 0.1, 0.3, 8);
        double lo0, hi0, se0, lo1, hi1, se1;
        ck_assert_int_eq(mv_bootstrap_ci(s.n, mean_delta, &s, 1000, 5, 0.9, &lo0, &hi0, &se0, NULL), MV_OK);
        ck_assert_int_eq(mv_bootstrap_ci(s.n, minus_two_delta, &s, 1000, 5, 0.9, &lo1, &hi1, &se1, NULL), MV_OK);
        mv_resampler *rs = mv_resampler_new();
        for (int pass = 0; pass < 3; pass++) {
            mv_bootstrap_out o[2];
            ck_assert_int_eq(mv_bootstrap_multi(s.n, 2, two_means, &s, 1000, 5, 0.9,
                                                pass ? rs : NULL, o, NULL), MV_OK);
            ck_assert(o[0].lo == lo0 && o[0].hi == hi0 && o[0].se == se0);
            ck_assert(o[1].lo == lo1 && o[1].hi == hi1 && o[1].se == se1);
            ck_assert_uint_eq(o[0].n_finite, 1000);
        }
        mv_resampler_free(rs);
        free_synth(&s);
    }
}
END_TEST

/* A copy of set `variant` without the items whose number is below `drop`. */
static mv_metrics *make_partial(int variant, int drop)
{
    mv_metrics *full = make_set(variant), *m = NULL;
    mv_error err;
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "r1", MV_HIGHER_IS_BETTER, "hit", NULL, MV_TRANSFORM_NONE, 1, "r", &err), MV_OK);
    for (size_t i = 0; i < mv_metrics_n_items(full); i++) {
        const char *id = mv_metrics_item_id(full, i);
        if (atoi(id + 5) < drop) continue;
        double nu, de;
        mv_metrics_item_terms(full, 0, i, &nu, &de);
        const char *cols[] = { "hit" };
        ck_assert_int_eq(mv_metrics_add_item(m, id, 1, cols, &nu, NULL, &err), MV_OK);
    }
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    mv_metrics_free(full);
    return m;
}

/* Unmatched items: the delta is over the matched items only (never all of A vs all of B),
 * counted in the verdict line, and beyond 1% the comparison is not comparable. */
START_TEST(test_unmatched_items)
{
    mv_metrics *A = make_set(0), *B = make_partial(1, 30);  /* B lacks item-000..029 */
    mv_stats_options o;
    mv_stats_options_default(&o);
    mv_comparison c;
    mv_error err;
    ck_assert_int_eq(mv_compare_metric(A, B, "r1", &o, &c, &err), MV_OK);
    ck_assert_uint_eq(c.n_paired, 70);
    ck_assert_uint_eq(c.n_only_a, 30);
    ck_assert(!c.comparable);
    ck_assert_int_eq(c.verdict, MV_VERDICT_NOT_COMPARABLE);
    /* Matched items 30..99: A hits where i % 3 != 0; B loses the even ones below 45 (30..44:
     * 32, 34, 38, 40, 44 → 5) and gains i >= 91 with i % 3 == 0 (93, 96, 99 → 3): -2 / 70. */
    ck_assert_double_eq_tol(c.delta, -2.0 / 70.0, 1e-12);
    ck_assert_uint_eq(c.n_discordant_worse, 5);
    ck_assert_uint_eq(c.n_discordant_better, 3);
    ck_assert_msg(strstr(c.reason, "not comparable: 30 of 100 items"), "%s", c.reason);
    mv_metrics_free(B);
    /* One unmatched item of 100 is within the 1% default: compared, and counted. */
    B = make_partial(1, 1);
    ck_assert_int_eq(mv_compare_metric(A, B, "r1", &o, &c, &err), MV_OK);
    ck_assert(c.comparable);
    ck_assert_msg(strstr(c.reason, "99 paired items, 1 unmatched"), "%s", c.reason);
    o.max_unpaired = 0;
    ck_assert_int_eq(mv_compare_metric(A, B, "r1", &o, &c, &err), MV_OK);
    ck_assert(!c.comparable);
    mv_metrics_free(A);
    mv_metrics_free(B);
}
END_TEST

static void add_metrics_cases(TCase *tc)
{
    tcase_add_test(tc, test_compare_metric_sets);
    tcase_add_test(tc, test_unmatched_items);
    tcase_add_test(tc, test_compare_equals_weighted_definition);
    tcase_add_test(tc, test_bootstrap_multi_same_draws);
}

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mcnemar_known);
    tcase_add_test(tc, test_rng_deterministic);
    tcase_add_test(tc, test_bootstrap_covers_true_delta);
    tcase_add_test(tc, test_bootstrap_seeded);
    tcase_add_test(tc, test_verdicts);
    tcase_add_test(tc, test_binary_needs_mcnemar);
    add_metrics_cases(tc);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
