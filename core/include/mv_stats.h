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

typedef enum mv_verdict {
    MV_VERDICT_NOISE = 0,     /* "within noise" */
    MV_VERDICT_IMPROVED = 1,
    MV_VERDICT_REGRESSED = 2,
    MV_VERDICT_UNTESTED = 3   /* no per-item data to test (scalar metrics) */
} mv_verdict;
const char *mv_verdict_name(mv_verdict v); /* "within noise", "improved", ... */

/* One metric compared between a reference A and a candidate B. */
typedef struct mv_comparison {
    double a, b;              /* metric values */
    double delta;             /* b - a */
    double ci_lo, ci_hi;      /* 95% paired bootstrap interval of delta (has_ci) */
    int has_ci;
    double p_mcnemar;         /* exact McNemar p (has_p: binary metric) */
    int has_p;
    uint64_t n_discordant_better, n_discordant_worse; /* binary only, in the metric's sense */
    size_t n_paired;          /* items present in both (matched by id) */
    size_t n_only_a, n_only_b;
    int direction;            /* +1 higher is better, -1 lower is better */
    int significant;          /* the change is significant at alpha */
    mv_verdict verdict;
    char reason[320];
} mv_comparison;

typedef struct mv_stats_options {
    int resamples;   /* >= 1000 recommended; default 2000 */
    uint64_t seed;
    double alpha;    /* 0.05 */
} mv_stats_options;
void mv_stats_options_default(mv_stats_options *o);

/* Fill the verdict fields of c (significant, verdict, reason) from a, b, delta, the interval
 * and p-value already in it. Rule: with items, a change is significant when the 95%
 * interval excludes 0 and, for binary metrics, McNemar's p < alpha as well; a significant
 * change in the metric's good direction is "improved", in the bad one "regressed". */
void mv_comparison_decide(mv_comparison *c, const mv_stats_options *o);

/* Compare metric `name` between two metric sets (items matched by id; documents resampled
 * as units through mv_metrics_value_weighted). MV_E_NOT_FOUND if either lacks the metric. */
mv_status mv_compare_metric(const mv_metrics *A, const mv_metrics *B, const char *name,
                            const mv_stats_options *o, mv_comparison *out, mv_error *err);

/* Index of metric `name` in m, or -1. */
long mv_metrics_find(const mv_metrics *m, const char *name);

#endif
