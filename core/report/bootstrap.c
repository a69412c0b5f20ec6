/* core/report/bootstrap.c — the paired percentile bootstrap (mv_stats.h): several statistics
 * over the same seeded resamples, and a resampler that keeps those draws so every comparison
 * over the same number of items reuses them instead of drawing them again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mv_stats.h"

/* Draws kept only while they fit here: 2000 resamples of 8k items. Beyond, each bootstrap
 * draws its own (same numbers, more time). */
#define RESAMPLER_MAX_BYTES ((size_t)64 << 20)

struct mv_resampler {
    size_t n;
    int resamples;
    uint64_t seed;
    uint32_t *counts; /* resamples rows of n counts; NULL: nothing kept */
};

mv_resampler *mv_resampler_new(void) { return calloc(1, sizeof(mv_resampler)); }

void mv_resampler_free(mv_resampler *rs)
{
    if (!rs) return;
    free(rs->counts);
    free(rs);
}

/* One resample: counts[i] = how many of n draws with replacement chose item i. The draw is
 * mv_rng_below's rejection sampling with its bound computed once (this loop is the hot one). */
static void draw_counts(mv_rng *rng, size_t n, uint32_t *counts)
{
    memset(counts, 0, n * sizeof *counts);
    if (n == 1) { counts[0] = 1; return; }
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        do x = mv_rng_next(rng); while (x >= limit);
        counts[x % n]++;
    }
}

/* The kept draws for (n, resamples, seed), drawn now if another key was kept; NULL when they
 * do not fit or memory is short (the caller then draws as it goes). */
static const uint32_t *resampler_rows(mv_resampler *rs, size_t n, int resamples, uint64_t seed)
{
    if (!rs || n > RESAMPLER_MAX_BYTES / sizeof(uint32_t) / (size_t)resamples) return NULL;
    if (rs->counts && rs->n == n && rs->resamples == resamples && rs->seed == seed)
        return rs->counts;
    free(rs->counts);
    rs->counts = malloc(n * (size_t)resamples * sizeof *rs->counts);
    if (!rs->counts) return NULL;
    rs->n = n; rs->resamples = resamples; rs->seed = seed;
    mv_rng rng;
    mv_rng_seed(&rng, seed);
    for (int r = 0; r < resamples; r++) draw_counts(&rng, n, rs->counts + (size_t)r * n);
    return rs->counts;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (type 7, numpy's default). */
static double quantile_sorted(const double *v, size_t n, double q)
{
    if (n == 1) return v[0];
    double h = q * (double)(n - 1);
    size_t i = (size_t)floor(h);
    if (i >= n - 1) return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* Interval and spread of one statistic's finite resample values (sorted in place). */
static void summarize(double *vals, size_t m, double level, mv_bootstrap_out *o)
{
    o->n_finite = m;
    o->lo = o->hi = o->se = NAN;
    if (m == 0) return;
    qsort(vals, m, sizeof *vals, cmp_double);
    double a = (1.0 - level) / 2.0;
    o->lo = quantile_sorted(vals, m, a);
    o->hi = quantile_sorted(vals, m, 1.0 - a);
    double mean = 0, ss = 0;
    for (size_t i = 0; i < m; i++) mean += vals[i];
    mean /= (double)m;
    for (size_t i = 0; i < m; i++) ss += (vals[i] - mean) * (vals[i] - mean);
    o->se = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
}

mv_status mv_bootstrap_multi(size_t n, size_t k, mv_bootstrap_multi_fn fn, void *user,
                             int resamples, uint64_t seed, double level, mv_resampler *rs,
                             mv_bootstrap_out *out, mv_error *err)
{
    mv_status st = MV_OK;
    uint32_t *counts = NULL;
    double *vals = NULL, *v = NULL;
    size_t *m = NULL;
    if (n == 0 || k == 0 || resamples < 2 || !(level > 0 && level < 1))
        return mv_errorf(err, MV_E_INPUT, "bootstrap: need n >= 1 (got %zu), resamples >= 2 "
                         "(got %d) and 0 < level < 1 (got %g)", n, resamples, level);
    const uint32_t *rows = resampler_rows(rs, n, resamples, seed);
    if (!rows) counts = malloc(n * sizeof *counts);
    vals = malloc(k * (size_t)resamples * sizeof *vals);
    v = malloc(k * sizeof *v);
    m = calloc(k, sizeof *m);
    if ((!rows && !counts) || !vals || !v || !m) {
        st = mv_errorf(err, MV_E_NOMEM, "bootstrap: out of memory");
        goto fail;
    }
    mv_rng rng;
    mv_rng_seed(&rng, seed);
    for (int r = 0; r < resamples; r++) {
        const uint32_t *c = rows ? rows + (size_t)r * n : counts;
        if (!rows) draw_counts(&rng, n, counts);
        fn(user, c, n, v);
        for (size_t j = 0; j < k; j++)
            if (isfinite(v[j])) vals[j * (size_t)resamples + m[j]++] = v[j];
    }
    for (size_t j = 0; j < k; j++) summarize(vals + j * (size_t)resamples, m[j], level, &out[j]);
fail:
    free(counts); free(vals); free(v); free(m);
    return st;
}

typedef struct single_ctx { mv_bootstrap_fn fn; void *user; } single_ctx;

static void single_stat(void *user, const uint32_t *counts, size_t n, double *out)
{
    single_ctx *s = user;
    out[0] = s->fn(s->user, counts, n);
}

mv_status mv_bootstrap_ci(size_t n, mv_bootstrap_fn fn, void *user, int resamples,
                          uint64_t seed, double level, double *lo, double *hi, double *se,
                          mv_error *err)
{
    single_ctx s = { fn, user };
    mv_bootstrap_out o;
    mv_status st = mv_bootstrap_multi(n, 1, single_stat, &s, resamples, seed, level, NULL, &o, err);
    if (st != MV_OK) return st;
    if (!mv_bootstrap_usable(&o, resamples))
        return mv_errorf(err, MV_E_NUMERIC, "bootstrap: %zu of %d resamples were not finite",
                         (size_t)resamples - o.n_finite, resamples);
    *lo = o.lo;
    *hi = o.hi;
    if (se) *se = o.se;
    return MV_OK;
}
