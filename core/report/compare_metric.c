/* core/report/compare_metric.c — compare one metric between two metric sets item by item:
 * items matched by id; the delta, its paired bootstrap interval (through
 * mv_metrics_value_weighted, so ratio metrics such as perplexity resample whole documents),
 * the p-value and the detectable effect all over the same matched items; for perplexity-like
 * metrics also the interval of the ratio B / A, bootstrapped on the log scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mv_metrics_io.h"
#include "mv_stats.h"

long mv_metrics_find(const mv_metrics *m, const char *name)
{
    size_t n = mv_metrics_count(m);
    for (size_t i = 0; i < n; i++)
        if (strcmp(mv_metrics_name(m, i), name) == 0) return (long)i;
    return -1;
}

/* The matched pairs' terms, laid out so a resample's two values are two passes over arrays:
 * pair k's terms in A (pairs are in A's item order) and, through ob, B's terms in B's item
 * order. Each side is summed in its own item order with weight = draws, exactly as
 * mv_metrics_value_weighted sums it, so the numbers are the same to the bit. */
typedef struct pair_ctx {
    size_t n;
    const double *na, *da; /* A's num/den of pair k */
    const size_t *ob;      /* pairs in B's item order */
    const double *nb, *db; /* B's num/den in that order */
    mv_transform ta, tb;
} pair_ctx;

static double side_value(const uint32_t *counts, size_t n, const size_t *order,
                         const double *num, const double *den, mv_transform t)
{
    double sn = 0, sd = 0;
    size_t cnt = 0;
    /* No branch on undrawn items (a third of them: it mispredicts): one adds 0 * x = +-0,
     * which leaves the sum as it was, since metric terms are finite (mv_metrics_add_item
     * refuses others) and a sum that starts at +0 is never -0. */
    for (size_t j = 0; j < n; j++) {
        uint32_t w = counts[order ? order[j] : j];
        sn += w * num[j];
        sd += w * den[j];
        cnt += w != 0;
    }
    return (cnt && sd != 0) ? mv_transform_apply(t, sn / sd) : NAN;
}

/* Both sides' values over one resample of the matched items (counts[k] draws of pair k). */
static void pair_values(const pair_ctx *p, const uint32_t *counts, double *a, double *b)
{
    *a = side_value(counts, p->n, NULL, p->na, p->da, p->ta);
    *b = side_value(counts, p->n, p->ob, p->nb, p->db, p->tb);
}

/* out[0] = B - A. */
static void pair_delta(void *user, const uint32_t *counts, size_t n, double *out)
{
    (void)n;
    double a, b;
    pair_values(user, counts, &a, &b);
    out[0] = b - a;
}

/* out[0] = B - A; out[1] = log(B / A) (for a perplexity, exp of the mean NLL, the change in
 * mean NLL), NAN unless both are positive. */
static void pair_delta_log_ratio(void *user, const uint32_t *counts, size_t n, double *out)
{
    (void)n;
    double a, b;
    pair_values(user, counts, &a, &b);
    out[0] = b - a;
    out[1] = a > 0 && b > 0 ? log(b) - log(a) : NAN;
}

int mv_metric_log_scale(const char *name, mv_transform t)
{
    size_t n = strlen(name), k = strlen("perplexity");
    return t == MV_TRANSFORM_EXP || (n >= k && strcmp(name + n - k, "perplexity") == 0);
}

static const mv_metrics *g_sort_m; /* qsort has no user pointer; comparisons are serial */
static int cmp_by_id(const void *x, const void *y)
{
    return strcmp(mv_metrics_item_id(g_sort_m, *(const size_t *)x),
                  mv_metrics_item_id(g_sort_m, *(const size_t *)y));
}

/* The paired bootstrap of delta (and of log B / A for log-scale metrics) over the n matched
 * pairs, whose terms are in p. */
static mv_status paired_intervals(const pair_ctx *p, const char *name, int log_scale,
                                  const mv_stats_options *o, mv_comparison *c, mv_error *err)
{
    mv_bootstrap_out out[2];
    mv_status st = mv_bootstrap_multi(p->n, log_scale ? 2 : 1,
                                      log_scale ? pair_delta_log_ratio : pair_delta, (void *)p,
                                      o->resamples, o->seed, 1.0 - o->alpha, o->resampler,
                                      out, err);
    if (st == MV_OK && !mv_bootstrap_usable(&out[0], o->resamples))
        st = mv_errorf(err, MV_E_NUMERIC, "bootstrap: %zu of %d resamples were not finite",
                       (size_t)o->resamples - out[0].n_finite, o->resamples);
    if (st != MV_OK) { mv_error_prefix(err, "metric %s", name); return st; }
    c->has_ci = 1;
    c->ci_lo = out[0].lo;
    c->ci_hi = out[0].hi;
    c->se = out[0].se;
    /* Positive, multiplicative metrics: the interval of B / A from the same resamples on the
     * log scale, so it is positive and asymmetric; too many non-positive resamples only leave
     * the ratio interval out. */
    if (log_scale && mv_bootstrap_usable(&out[1], o->resamples)) {
        c->has_ratio_ci = 1;
        c->ratio_lo = exp(out[1].lo);
        c->ratio_hi = exp(out[1].hi);
    }
    return MV_OK;
}

mv_status mv_compare_metric(const mv_metrics *A, const mv_metrics *B, const char *name,
                            const mv_stats_options *o, mv_comparison *c, mv_error *err)
{
    mv_status st = MV_OK;
    size_t *order = NULL, *ib = NULL, *ob = NULL;
    double *terms = NULL;
    memset(c, 0, sizeof *c);
    long la = mv_metrics_find(A, name), lb = mv_metrics_find(B, name);
    if (la < 0 || lb < 0)
        return mv_errorf(err, MV_E_NOT_FOUND, "metric %s is missing from the %s side", name,
                         la < 0 ? "reference" : "candidate");
    size_t ma = (size_t)la, mb = (size_t)lb;
    c->a = mv_metrics_value(A, ma);
    c->b = mv_metrics_value(B, mb);
    c->delta = c->b - c->a;
    c->direction = mv_metrics_direction(A, ma) == MV_LOWER_IS_BETTER ? -1 : 1;
    size_t na = mv_metrics_n_items(A), nb = mv_metrics_n_items(B);
    size_t cap = na < nb ? na : nb;

    order = malloc((nb ? nb : 1) * sizeof *order);
    ib = malloc((cap ? cap : 1) * sizeof *ib);
    ob = malloc((cap ? cap : 1) * sizeof *ob);
    terms = malloc(4 * (cap ? cap : 1) * sizeof *terms);
    if (!order || !ib || !ob || !terms) { st = mv_errorf(err, MV_E_NOMEM, "compare: out of memory"); goto fail; }
    double *tna = terms, *tda = terms + cap, *tnb = terms + 2 * cap, *tdb = terms + 3 * cap;
    /* B's items with a value for the metric, sorted by id for binary search. */
    size_t nbv = 0;
    for (size_t j = 0; j < nb; j++) {
        double nu, de;
        if (mv_metrics_item_terms(B, mb, j, &nu, &de)) order[nbv++] = j;
    }
    g_sort_m = B;
    qsort(order, nbv, sizeof *order, cmp_by_id);
    size_t n = 0, nav = 0;
    int binary = mv_metrics_is_binary(A, ma) && mv_metrics_is_binary(B, mb);
    for (size_t i = 0; i < na; i++) {
        double nu, de;
        if (!mv_metrics_item_terms(A, ma, i, &nu, &de)) continue;
        nav++;
        const char *id = mv_metrics_item_id(A, i);
        size_t lo = 0, hi = nbv;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int r = strcmp(mv_metrics_item_id(B, order[mid]), id);
            if (r == 0) { lo = mid; hi = mid + 1; break; }
            if (r < 0) lo = mid + 1; else hi = mid;
        }
        if (lo < nbv && strcmp(mv_metrics_item_id(B, order[lo]), id) == 0) {
            tna[n] = nu; tda[n] = de; ib[n] = order[lo]; n++;
            if (binary) {
                double nb2, db2;
                mv_metrics_item_terms(B, mb, order[lo], &nb2, &db2);
                double ha = de != 0 ? nu / de : nu, hb = db2 != 0 ? nb2 / db2 : nb2;
                int ga = c->direction > 0 ? ha > 0.5 : ha < 0.5;
                int gb = c->direction > 0 ? hb > 0.5 : hb < 0.5;
                if (gb && !ga) c->n_discordant_better++;
                if (ga && !gb) c->n_discordant_worse++;
            }
        }
    }
    c->n_paired = n;
    c->n_only_a = nav - n;
    c->n_only_b = nbv - n;
    size_t total = nav + nbv - n;
    c->comparable = total == 0 || (double)(c->n_only_a + c->n_only_b) <= o->max_unpaired * (double)total;
    /* B's side in B's item order: order[] is free again, reused as B item -> pair. */
    for (size_t j = 0; j < nb; j++) order[j] = SIZE_MAX;
    for (size_t k = 0; k < n; k++) order[ib[k]] = k;
    for (size_t j = 0, q = 0; j < nb; j++) {
        if (order[j] == SIZE_MAX) continue;
        ob[q] = order[j];
        mv_metrics_item_terms(B, mb, j, &tnb[q], &tdb[q]);
        q++;
    }
    pair_ctx p = { n, tna, tda, ob, tnb, tdb, mv_metrics_transform(A, ma), mv_metrics_transform(B, mb) };
    if (n > 0) {
        /* The paired delta: both sides over exactly the matched items (one draw each). */
        uint32_t *ones = malloc(n * sizeof *ones);
        if (!ones) { st = mv_errorf(err, MV_E_NOMEM, "compare: out of memory"); goto fail; }
        for (size_t i = 0; i < n; i++) ones[i] = 1;
        double a, b;
        pair_values(&p, ones, &a, &b);
        c->delta = b - a;
        free(ones);
    }
    if (binary && n > 0) {
        c->has_p = 1;
        c->p_mcnemar = mv_mcnemar_exact_p(c->n_discordant_better, c->n_discordant_worse);
        c->has_p_value = 1;
        c->p_value = c->p_mcnemar;
        c->test = "McNemar exact";
        c->mde = mv_mde_mcnemar((double)(c->n_discordant_better + c->n_discordant_worse) / (double)n,
                                n, o->alpha, 0.80);
    }
    if (n >= 2) {
        int log_scale = mv_metric_log_scale(name, mv_metrics_transform(A, ma)) && c->a > 0 && c->b > 0;
        if ((st = paired_intervals(&p, name, log_scale, o, c, err)) != MV_OK) goto fail;
        if (!binary) {
            /* A t test with the bootstrap standard error: unlike a Monte Carlo p-value from
             * B resamples (floored near 1/B), it resolves the small p that Holm needs for
             * many comparisons. The bootstrap SE of a mean is the plug-in sd / sqrt(n), low
             * by sqrt((n - 1) / n); corrected, with Student's t on n - 1 degrees of freedom,
             * it is the paired t test for plain means and stays calibrated at small n. */
            double se_u = c->se * sqrt((double)n / (double)(n - 1));
            c->has_p_value = 1;
            c->test = "paired bootstrap t";
            c->p_value = se_u > 0 ? mv_t_two_sided_p(c->delta / se_u, (double)(n - 1))
                                  : c->delta == 0 ? 1.0 : 0.0;
            c->mde = mv_mde(c->se, o->alpha, 0.80);
        }
    }
    c->p_adjusted = c->p_value;
    mv_comparison_decide(c, o);
fail:
    free(order); free(ib); free(ob); free(terms);
    return st;
}
