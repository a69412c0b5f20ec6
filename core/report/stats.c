/* core/report/stats.c — the seeded generator, exact McNemar test and verdicts (mv_stats.h);
 * the bootstrap is in bootstrap.c. Only arithmetic on numbers it is given; matching items by
 * id is in compare_metric.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_stats.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void mv_rng_seed(mv_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mv_rng_next(mv_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t mv_rng_below(mv_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* Rejection sampling: drop the top partial block so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t x;
    do x = mv_rng_next(r); while (x >= limit);
    return x % n;
}

double mv_mcnemar_exact_p(uint64_t b, uint64_t c)
{
    uint64_t n = b + c, k = b < c ? b : c;
    if (n == 0) return 1.0;
    /* P(X <= k) for Binomial(n, 1/2), summed in log space so large n does not underflow
     * term by term before the sum is formed. */
    double lnorm = -(double)n * log(2.0), sum = 0.0;
    double lgn = lgamma((double)n + 1.0);
    for (uint64_t i = 0; i <= k; i++) {
        double lt = lgn - lgamma((double)i + 1.0) - lgamma((double)(n - i) + 1.0) + lnorm;
        sum += exp(lt);
    }
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

const char *mv_verdict_name(mv_verdict v)
{
    switch (v) {
    case MV_VERDICT_IMPROVED: return "improved";
    case MV_VERDICT_REGRESSED: return "regressed";
    case MV_VERDICT_UNTESTED: return "untested";
    case MV_VERDICT_NOT_COMPARABLE: return "not comparable";
    default: return "no significant change";
    }
}

void mv_stats_options_default(mv_stats_options *o)
{
    o->resamples = 2000;
    o->seed = 20240601;
    o->alpha = 0.05;
    o->max_unpaired = 0.01;
    o->resampler = NULL;
}

void mv_comparison_decide(mv_comparison *c, const mv_stats_options *o)
{
    int dir = c->direction >= 0 ? 1 : -1;
    double good = dir * c->delta;
    size_t unmatched = c->n_only_a + c->n_only_b, total = c->n_paired + unmatched;
    double level = 100.0 * (1.0 - o->alpha);
    char ci[96] = "", test[200] = "", tail[160] = "";
    if (c->has_ci) snprintf(ci, sizeof ci, " (%.3g%% CI [%+.4g, %+.4g])", level, c->ci_lo, c->ci_hi);
    if (c->has_p_value) {
        int n = snprintf(test, sizeof test, "; %s p=%.3g", c->test ? c->test : "test", c->p_value);
        if (c->p_adjusted != c->p_value && n > 0 && (size_t)n < sizeof test)
            snprintf(test + n, sizeof test - (size_t)n, ", Holm-adjusted p=%.3g", c->p_adjusted);
    }
    if (c->has_p)
        snprintf(tail, sizeof tail, "; %llu better, %llu worse", (unsigned long long)c->n_discordant_better,
                 (unsigned long long)c->n_discordant_worse);
    size_t tl = strlen(tail);
    snprintf(tail + tl, sizeof tail - tl, "; %zu paired items", c->n_paired);
    tl = strlen(tail);
    if (unmatched) snprintf(tail + tl, sizeof tail - tl, ", %zu unmatched", unmatched);
    c->significant = 0;
    if (!c->comparable) {
        c->verdict = MV_VERDICT_NOT_COMPARABLE;
        snprintf(c->reason, sizeof c->reason, "not comparable: %zu of %zu items (%.1f%%) are present on "
                 "one side only (limit %.3g%%); paired delta over the %zu matched items %+.4g%s",
                 unmatched, total, total ? 100.0 * (double)unmatched / (double)total : 0.0,
                 100.0 * o->max_unpaired, c->n_paired, c->delta, ci);
        return;
    }
    if (!c->has_ci && !c->has_p_value) {
        c->verdict = c->delta == 0 ? MV_VERDICT_NOISE : MV_VERDICT_UNTESTED;
        snprintf(c->reason, sizeof c->reason, "%s: delta %+.4g with no per-item data to test%s",
                 c->delta == 0 ? "no change" : "untested", c->delta, tail);
        return;
    }
    c->significant = c->has_p_value && c->p_adjusted < o->alpha && good != 0;
    if (c->significant) {
        c->verdict = good > 0 ? MV_VERDICT_IMPROVED : MV_VERDICT_REGRESSED;
        snprintf(c->reason, sizeof c->reason, "%s: delta %+.4g%s%s%s", mv_verdict_name(c->verdict),
                 c->delta, ci, test, tail);
    } else {
        c->verdict = MV_VERDICT_NOISE;
        snprintf(c->reason, sizeof c->reason, "no significant change: delta %+.4g%s%s; detectable "
                 "at 80%% power: %.3g%s", c->delta, ci, test, c->mde, tail);
    }
}
