/* core/include/mv_stats.h — paired regression statistics used by comparisons and gates:
 * a seeded paired bootstrap over matched items, the exact McNemar test for 0/1 metrics, and
 * the verdict that combines them. Pure computation; it knows nothing of files or runs. */
#ifndef MV_STATS_H
#define MV_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

/* A small deterministic generator (splitmix64 seeding xoshiro256**), so a comparison gives
 * the same interval on every machine for the same seed. */
typedef struct mv_rng { uint64_t s[4]; } mv_rng;
void mv_rng_seed(mv_rng *r, uint64_t seed);
uint64_t mv_rng_next(mv_rng *r);
/* Uniform integer in [0, n) without modulo bias. */
uint64_t mv_rng_below(mv_rng *r, uint64_t n);

/* Exact two-sided McNemar p-value for b discordant pairs one way and c the other:
 * 2 * P(X <= min(b,c)) for X ~ Binomial(b+c, 1/2), capped at 1. b = c = 0 gives 1. */
double mv_mcnemar_exact_p(uint64_t b, uint64_t c);

/* The statistic recomputed on one bootstrap resample: counts[i] = how many times matched
 * pair i was drawn (the counts sum to n). Returns e.g. value_B - value_A. */
typedef double (*mv_bootstrap_fn)(void *user, const uint32_t *counts, size_t n);

/* Paired percentile bootstrap: `resamples` draws of n pairs with replacement (seeded);
 * [*lo, *hi] is the central `level` interval (0.95) of the statistic. *se (may be NULL)
 * gets the bootstrap standard deviation. Non-finite resample values are skipped; if more
 * than half are non-finite the result is MV_E_NUMERIC. n must be >= 1. */
mv_status mv_bootstrap_ci(size_t n, mv_bootstrap_fn fn, void *user, int resamples,
                          uint64_t seed, double level, double *lo, double *hi, double *se,
                          mv_error *err);

/* Several statistics recomputed on the same resample: writes exactly out[0..k-1]. */
typedef void (*mv_bootstrap_multi_fn)(void *user, const uint32_t *counts, size_t n, double *out);

/* One statistic's result: the central interval, the bootstrap standard deviation and how many
 * resample values were finite (lo/hi/se are over those). */
typedef struct mv_bootstrap_out { double lo, hi, se; size_t n_finite; } mv_bootstrap_out;
/* The rule mv_bootstrap_ci applies: at least half of the resample values finite. */
static inline int mv_bootstrap_usable(const mv_bootstrap_out *o, int resamples)
{
    return o->n_finite * 2 >= (size_t)resamples;
}

/* Keeps the draws of one (n, resamples, seed) so bootstraps over as many items reuse them:
 * a report compares every metric of an evaluation over the same items and seed, and drawing
 * was most of its time. Same numbers as without it. Not thread-safe; one per thread. */
typedef struct mv_resampler mv_resampler;
mv_resampler *mv_resampler_new(void); /* NULL when out of memory (then pass NULL: no reuse) */
void mv_resampler_free(mv_resampler *rs);

/* mv_bootstrap_ci for k statistics over the same resamples (the same draws as k separate
 * calls with this seed), out[j] for statistic j; a statistic with too few finite values is
 * reported through n_finite, not as an error. rs (may be NULL) reuses kept draws. */
mv_status mv_bootstrap_multi(size_t n, size_t k, mv_bootstrap_multi_fn fn, void *user,
                             int resamples, uint64_t seed, double level, mv_resampler *rs,
                             mv_bootstrap_out *out, mv_error *err);

typedef enum mv_verdict {
    MV_VERDICT_NOISE = 0,     /* "no significant change" (absence of evidence, not equivalence) */
    MV_VERDICT_IMPROVED = 1,
    MV_VERDICT_REGRESSED = 2,
    MV_VERDICT_UNTESTED = 3,  /* no per-item data to test (scalar metrics) */
    MV_VERDICT_NOT_COMPARABLE = 4 /* too many items present on one side only */
} mv_verdict;
/* "no significant change", "improved", "regressed", "untested", "not comparable". */
const char *mv_verdict_name(mv_verdict v);

/* Multiplicity families: metrics named by a gate or declared "primary" in the pipeline are
 * one family, all other metrics another; p-values are Holm-adjusted within a family. */
typedef enum mv_family { MV_FAMILY_SECONDARY = 0, MV_FAMILY_PRIMARY = 1 } mv_family;

/* One metric compared between a reference A and a candidate B. Every statistic except the
 * two values a and b is computed over the same items: those present on both sides. */
typedef struct mv_comparison {
    double a, b;              /* metric values, each over all of its side's items */
    double delta;             /* paired: value over matched items of B - of A */
    double ci_lo, ci_hi;      /* (1 - alpha) paired bootstrap interval of delta (has_ci) */
    int has_ci;
    double se;                /* bootstrap standard error of delta (has_ci) */
    double ratio_lo, ratio_hi; /* log-scale metrics (mv_metric_log_scale): the (1 - alpha)
                                 interval of B / A, exp of the paired bootstrap percentiles of
                                 log B - log A over the same resamples as ci (has_ratio_ci) */
    int has_ratio_ci;
    double p_mcnemar;         /* exact McNemar p (has_p: binary metric) */
    int has_p;
    double p_value;           /* the test's raw two-sided p (has_p_value): McNemar for 0/1
                                 metrics, else a t test on delta with the paired bootstrap
                                 standard error, small-sample corrected: t = delta /
                                 (se sqrt(n / (n - 1))), n - 1 degrees of freedom */
    int has_p_value;
    double p_adjusted;        /* Holm-adjusted within the family (= p_value until adjusted) */
    const char *test;         /* "McNemar exact" / "paired bootstrap t" (static string) */
    double mde;               /* minimum detectable |delta| at 80% power, two-sided alpha */
    uint64_t n_discordant_better, n_discordant_worse; /* binary only, in the metric's sense */
    size_t n_paired;          /* items present in both (matched by id) */
    size_t n_only_a, n_only_b;
    int comparable;           /* unmatched share <= max_unpaired */
    int direction;            /* +1 higher is better, -1 lower is better */
    int significant;          /* the change is significant at alpha after adjustment */
    mv_verdict verdict;
    char reason[400];
} mv_comparison;

/* Perplexity-like metrics (transform exp, or a name ending in "perplexity"): positive and
 * multiplicative, so compared as ratios and drawn on a log axis. */
int mv_metric_log_scale(const char *name, mv_transform t);

typedef struct mv_stats_options {
    int resamples;   /* >= 1000 recommended; default 2000 */
    uint64_t seed;
    double alpha;    /* 0.05: family-wise, two-sided; the intervals are (1 - alpha) */
    double max_unpaired; /* largest share of unmatched items still compared (0.01) */
    mv_resampler *resampler; /* optional (NULL by default): reuse draws across comparisons */
} mv_stats_options;
void mv_stats_options_default(mv_stats_options *o);

/* Fill the verdict fields of c (significant, verdict, reason) from the values, interval and
 * p_adjusted already in it: significant when p_adjusted < alpha; the sign of delta in the
 * metric's good direction says "improved" or "regressed". Not comparable when the share of
 * unmatched items exceeds max_unpaired. */
void mv_comparison_decide(mv_comparison *c, const mv_stats_options *o);

/* Holm's step-down adjustment of n p-values in place (Holm 1979): with p sorted ascending,
 * adj_(i) = max_{j<=i} min(1, (n - j + 1) p_(j)). Controls the family-wise error rate under
 * any dependence. Returns 0, or -1 when out of memory (p unchanged). */
int mv_holm_adjust(double *p, size_t n);

/* Standard normal distribution function and its inverse (0 < q < 1). */
double mv_norm_cdf(double x);
double mv_norm_quantile(double q);
/* Two-sided p-value of Student's t statistic with df degrees of freedom: P(|T| >= |t|). */
double mv_t_two_sided_p(double t, double df);

/* Minimum detectable effect at `power` for a two-sided test at alpha: (z_{1-alpha/2} +
 * z_power) * se. For a 0/1 metric pass the discordant share r = (b + c) / n and n: the
 * McNemar version, max((z) sqrt(r / n), z^2 / n) (a drop of d needs at least d discordant). */
double mv_mde(double se, double alpha, double power);
double mv_mde_mcnemar(double discordance, size_t n, double alpha, double power);

/* Items needed to detect a drop d with `power` (two-sided alpha). Paired 0/1 metric with
 * discordant share r (Connor 1987): n = ((z_a sqrt(r) + z_b sqrt(r - d^2)) / d)^2, r >= d.
 * Continuous metric with per-item sd of the paired difference s: n = ((z_a + z_b) s / d)^2.
 * Returns 0 for impossible inputs (d <= 0, r < d). */
double mv_items_mcnemar(double d, double discordance, double alpha, double power);
double mv_items_paired(double d, double sd, double alpha, double power);

/* Non-inferiority decision of a gate with margin m >= 0 (the largest acceptable drop), from
 * the (1 - alpha) interval [glo, ghi] of the change expressed in the metric's good direction
 * (positive = better): PASS when glo > -m (the unfavourable bound is inside the margin);
 * FAIL when ghi < -m (the whole interval lies beyond the margin: the drop beyond it is
 * significant); otherwise INCONCLUSIVE. */
typedef enum mv_ni_result { MV_NI_PASS = 0, MV_NI_FAIL = 1, MV_NI_INCONCLUSIVE = 2 } mv_ni_result;
mv_ni_result mv_noninferiority(double glo, double ghi, double margin);
const char *mv_ni_name(mv_ni_result r); /* "pass", "fail", "inconclusive" */

/* Items that would settle an inconclusive non-inferiority check with 80% power if the
 * observed change `good` (good direction) were the true one: n * ((z_a + z_b) se / |good +
 * m|)^2, z_a one-sided at alpha/2 as the interval. INFINITY when good == -m. */
double mv_ni_items_to_settle(double good, double se, size_t n, double margin, double alpha);

/* Compare metric `name` between two metric sets (items matched by id; documents resampled
 * as units through mv_metrics_value_weighted). MV_E_NOT_FOUND if either lacks the metric. */
mv_status mv_compare_metric(const mv_metrics *A, const mv_metrics *B, const char *name,
                            const mv_stats_options *o, mv_comparison *out, mv_error *err);

/* Index of metric `name` in m, or -1. */
long mv_metrics_find(const mv_metrics *m, const char *name);

#endif
