/* core/report/compare_metric.c — compare one metric between two metric sets item by item:
 * items matched by id; the delta, its paired bootstrap interval (through
 * mv_metrics_value_weighted, so ratio metrics such as perplexity resample whole documents),
 * the p-value and the detectable effect all over the same matched items; for perplexity-like
 * metrics also the interval of the ratio B / A, bootstrapped on the log scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mv_stats.h"

long mv_metrics_find(const mv_metrics *m, const char *name)
{
    size_t n = mv_metrics_count(m);
    for (size_t i = 0; i < n; i++)
        if (strcmp(mv_metrics_name(m, i), name) == 0) return (long)i;
    return -1;
}

typedef struct pair_ctx {
    const mv_metrics *A, *B;
    size_t ma, mb;
    const size_t *ia, *ib;  /* matched item indices */
    uint32_t *wa, *wb;      /* per-item weights, sized n_items of A / B */
    size_t na, nb;
} pair_ctx;

/* Both sides' values over one resample of the matched items (counts[i] draws of pair i). */
static void pair_values(pair_ctx *p, const uint32_t *counts, size_t n, double *a, double *b)
{
    memset(p->wa, 0, p->na * sizeof *p->wa);
    memset(p->wb, 0, p->nb * sizeof *p->wb);
    for (size_t i = 0; i < n; i++) {
        p->wa[p->ia[i]] = counts[i];
        p->wb[p->ib[i]] = counts[i];
    }
    *a = mv_metrics_value_weighted(p->A, p->ma, p->wa);
    *b = mv_metrics_value_weighted(p->B, p->mb, p->wb);
}

static double pair_delta(void *user, const uint32_t *counts, size_t n)
{
    double a, b;
    pair_values(user, counts, n, &a, &b);
    return b - a;
}

/* log(B / A): for a perplexity, exp of the mean NLL, this is the change in mean NLL. */
static double pair_log_ratio(void *user, const uint32_t *counts, size_t n)
{
    double a, b;
    pair_values(user, counts, n, &a, &b);
    return a > 0 && b > 0 ? log(b) - log(a) : NAN;
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

mv_status mv_compare_metric(const mv_metrics *A, const mv_metrics *B, const char *name,
                            const mv_stats_options *o, mv_comparison *c, mv_error *err)
{
    mv_status st = MV_OK;
    size_t *order = NULL, *ia = NULL, *ib = NULL;
    uint32_t *wa = NULL, *wb = NULL;
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

    order = malloc((nb ? nb : 1) * sizeof *order);
    ia = malloc((na ? na : 1) * sizeof *ia);
    ib = malloc((na ? na : 1) * sizeof *ib);
    wa = calloc(na ? na : 1, sizeof *wa);
    wb = calloc(nb ? nb : 1, sizeof *wb);
    if (!order || !ia || !ib || !wa || !wb) { st = mv_errorf(err, MV_E_NOMEM, "compare: out of memory"); goto fail; }
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
            ia[n] = i; ib[n] = order[lo]; n++;
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
    pair_ctx p = { A, B, ma, mb, ia, ib, wa, wb, na, nb };
    if (n > 0) {
        /* The paired delta: both sides over exactly the matched items (weight 1 each). */
        uint32_t *ones = malloc(n * sizeof *ones);
        if (!ones) { st = mv_errorf(err, MV_E_NOMEM, "compare: out of memory"); goto fail; }
        for (size_t i = 0; i < n; i++) ones[i] = 1;
        c->delta = pair_delta(&p, ones, n);
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
        st = mv_bootstrap_ci(n, pair_delta, &p, o->resamples, o->seed, 1.0 - o->alpha,
                             &c->ci_lo, &c->ci_hi, &c->se, err);
        if (st != MV_OK) { mv_error_prefix(err, "metric %s", name); goto fail; }
        c->has_ci = 1;
        if (mv_metric_log_scale(name, mv_metrics_transform(A, ma)) && c->a > 0 && c->b > 0) {
            /* Positive, multiplicative metrics: the interval of B / A from the same resamples
             * (same seed) on the log scale, so it is positive and asymmetric; a failure here
             * (too many non-positive resamples) only leaves the ratio interval out. */
            double llo, lhi;
            if (mv_bootstrap_ci(n, pair_log_ratio, &p, o->resamples, o->seed, 1.0 - o->alpha,
                                &llo, &lhi, NULL, NULL) == MV_OK) {
                c->has_ratio_ci = 1;
                c->ratio_lo = exp(llo);
                c->ratio_hi = exp(lhi);
            }
        }
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
    free(order); free(ia); free(ib); free(wa); free(wb);
    return st;
}
