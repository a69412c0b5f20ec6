/* core/report/summary.c — build summary.json (schema "mergeval.summary" v1, documented in
 * docs/pipeline.md) from evaluation points: per metric the value at every point, the
 * comparison vs baseline and vs previous (paired bootstrap CI, p-value, Holm-adjusted within
 * the metric's family, verdict), the items that got worst, and the gates (gates.c).
 * Rendering is in render_*.c. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"
#include "mv_metrics_io.h"

void mv_report_options_default(mv_report_options *o)
{
    memset(o, 0, sizeof *o);
    mv_stats_options_default(&o->stats);
    o->worst_items = 5;
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static cJSON *comparison_json(const mv_comparison *c, int family)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "ref", c->a);
    add_num(o, "value", c->b);
    add_num(o, "delta", c->delta);
    add_num(o, "delta_rel", c->a != 0 ? c->delta / fabs(c->a) : NAN);
    if (c->has_ci) {
        cJSON *ci = cJSON_AddArrayToObject(o, "ci95");
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(c->ci_lo));
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(c->ci_hi));
        add_num(o, "se", c->se);
    } else cJSON_AddNullToObject(o, "ci95");
    if (c->has_ratio_ci) {
        cJSON *r = cJSON_AddArrayToObject(o, "ratio_ci95");
        cJSON_AddItemToArray(r, cJSON_CreateNumber(c->ratio_lo));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(c->ratio_hi));
    }
    if (c->has_p_value) {
        cJSON_AddStringToObject(o, "test", c->test);
        add_num(o, "p_value", c->p_value);
        add_num(o, "p_adjusted", c->p_adjusted);
        add_num(o, "mde80", c->mde);
    } else {
        cJSON_AddNullToObject(o, "p_value");
        cJSON_AddNullToObject(o, "p_adjusted");
    }
    cJSON_AddStringToObject(o, "family", family == MV_FAMILY_PRIMARY ? "primary" : "secondary");
    if (c->has_p) {
        cJSON_AddNumberToObject(o, "p_mcnemar", c->p_mcnemar);
        cJSON_AddNumberToObject(o, "discordant_better", (double)c->n_discordant_better);
        cJSON_AddNumberToObject(o, "discordant_worse", (double)c->n_discordant_worse);
    } else cJSON_AddNullToObject(o, "p_mcnemar");
    cJSON_AddNumberToObject(o, "n_paired", (double)c->n_paired);
    cJSON_AddNumberToObject(o, "n_unpaired", (double)(c->n_only_a + c->n_only_b));
    cJSON_AddNumberToObject(o, "n_only_ref", (double)c->n_only_a);
    cJSON_AddNumberToObject(o, "n_only_value", (double)c->n_only_b);
    cJSON_AddBoolToObject(o, "comparable", c->comparable);
    cJSON_AddStringToObject(o, "verdict", mv_verdict_name(c->verdict));
    cJSON_AddBoolToObject(o, "significant", c->significant);
    cJSON_AddStringToObject(o, "reason", c->reason);
    return o;
}

/* A comparison waiting for its family's Holm adjustment, and where its JSON goes. */
typedef struct pending { mv_comparison c; cJSON *arr; int index; int family; } pending;

static int is_primary(const char *full, const cJSON *gates, const cJSON *declared)
{
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        const cJSON *m = cJSON_GetObjectItem(g, "metric");
        if (cJSON_IsString(m) && strcmp(m->valuestring, full) == 0) return 1;
    }
    for (const cJSON *d = declared ? declared->child : NULL; d; d = d->next)
        if (cJSON_IsString(d) && strcmp(d->valuestring, full) == 0) return 1;
    return 0;
}

/* Holm within each family over every testable comparison, then the verdicts and the JSON.
 * Returns the number of comparisons per family in counts[2]. */
static mv_status settle_families(pending *pd, size_t n, const mv_stats_options *o, size_t counts[2],
                                 mv_error *err)
{
    double *p = malloc((n ? n : 1) * sizeof *p);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!p || !idx) { free(p); free(idx); return mv_errorf(err, MV_E_NOMEM, "report: out of memory"); }
    for (int fam = 0; fam < 2; fam++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (pd[i].family == fam && pd[i].c.has_p_value && pd[i].c.comparable) {
                idx[k] = i;
                p[k++] = pd[i].c.p_value;
            }
        if (mv_holm_adjust(p, k) != 0) {
            free(p); free(idx);
            return mv_errorf(err, MV_E_NOMEM, "report: out of memory");
        }
        for (size_t j = 0; j < k; j++) pd[idx[j]].c.p_adjusted = p[j];
        counts[fam] = k;
    }
    for (size_t i = 0; i < n; i++) {
        mv_comparison_decide(&pd[i].c, o);
        cJSON_ReplaceItemInArray(pd[i].arr, pd[i].index, comparison_json(&pd[i].c, pd[i].family));
    }
    free(p);
    free(idx);
    return MV_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Evaluation names = subdirectories of dir that hold metrics.json, sorted. */
static char **discover_evals(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *sub = mv_path_join(dir, e->d_name), *mj = mv_path_join(sub, "metrics.json");
        if (mv_path_exists(mj)) {
            if (cnt == cap) { cap = cap ? cap * 2 : 8; v = realloc(v, cap * sizeof *v); }
            v[cnt++] = strdup(e->d_name);
        }
        mv_free(sub);
        mv_free(mj);
    }
    if (d) closedir(d);
    if (cnt) qsort(v, cnt, sizeof *v, cmp_str);
    *n = cnt;
    return v;
}

typedef struct worst { const char *id; double ref, val, change; } worst;
static int cmp_worst(const void *a, const void *b)
{
    double x = ((const worst *)a)->change, y = ((const worst *)b)->change;
    return (x > y) - (x < y);
}

/* Items whose score changed most in the bad direction between A (baseline) and B. */
static cJSON *worst_items(const mv_metrics *A, const mv_metrics *B, const char *metric,
                          int dir, size_t k, const char *value_key)
{
    cJSON *arr = cJSON_CreateArray();
    long ma = mv_metrics_find(A, metric), mb = mv_metrics_find(B, metric);
    if (ma < 0 || mb < 0 || k == 0) return arr;
    size_t na = mv_metrics_n_items(A), nb = mv_metrics_n_items(B);
    worst *w = calloc(nb ? nb : 1, sizeof *w);
    size_t nw = 0;
    /* A's ids sorted (id first in the struct, so cmp_str works) for binary search. */
    typedef struct { const char *id; size_t i; } idx;
    idx *ix = malloc((na ? na : 1) * sizeof *ix);
    for (size_t i = 0; i < na; i++) { ix[i].id = mv_metrics_item_id(A, i); ix[i].i = i; }
    qsort(ix, na, sizeof *ix, cmp_str);
    for (size_t j = 0; j < nb; j++) {
        double nu, de, nu0, de0;
        if (!mv_metrics_item_terms(B, (size_t)mb, j, &nu, &de)) continue;
        const char *id = mv_metrics_item_id(B, j);
        size_t lo = 0, hi = na;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int r = strcmp(ix[mid].id, id);
            if (r == 0) { lo = mid; break; }
            if (r < 0) lo = mid + 1; else hi = mid;
        }
        if (lo >= na || strcmp(ix[lo].id, id) != 0) continue;
        if (!mv_metrics_item_terms(A, (size_t)ma, ix[lo].i, &nu0, &de0)) continue;
        double v = de != 0 ? nu / de : nu, v0 = de0 != 0 ? nu0 / de0 : nu0;
        double change = dir * (v - v0);
        if (!(change < 0)) continue;
        w[nw].id = id; w[nw].ref = v0; w[nw].val = v; w[nw].change = change;
        nw++;
    }
    qsort(w, nw, sizeof *w, cmp_worst);
    for (size_t i = 0; i < nw && i < k; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", w[i].id);
        add_num(o, "baseline", w[i].ref);
        add_num(o, value_key, w[i].val);
        add_num(o, "delta", w[i].val - w[i].ref);
        cJSON_AddItemToArray(arr, o);
    }
    free(w); free(ix);
    return arr;
}

static int is_alignment(const char *eval_name, const mv_metrics *m)
{
    const char *ev = m ? mv_metrics_evaluator_name(m) : NULL;
    return strstr(eval_name, "align") != NULL || (ev && strstr(ev, "align") != NULL);
}

mv_status mv_report_build(const mv_report_point *points, size_t np,
                          const char *const *eval_names, size_t n_evals, const cJSON *gates,
                          const cJSON *run_info, const mv_report_options *o, cJSON **out,
                          mv_error *err)
{
    mv_status st = MV_OK;
    char **found = NULL;
    size_t nf = 0;
    mv_metrics **sets = NULL;
    cJSON *sum = NULL;
    pending *pend = NULL;
    size_t np_pending = 0, cap_pending = 0;
    *out = NULL;
    if (np == 0) return mv_errorf(err, MV_E_NOT_FOUND, "no completed evaluation points to report on");
    /* Every metric of an evaluation is compared over the same items with the same seed: the
     * resampler draws the resamples once for all of them (NULL if short of memory: drawn each
     * time, same numbers). */
    mv_stats_options so = o->stats;
    so.resampler = mv_resampler_new();
    if (!eval_names) {
        found = discover_evals(points[0].dir, &nf);
        eval_names = (const char *const *)found;
        n_evals = nf;
    }
    sets = calloc(np * (n_evals ? n_evals : 1), sizeof *sets);
    for (size_t p = 0; p < np; p++)
        for (size_t e = 0; e < n_evals; e++) {
            char *d = mv_path_join(points[p].dir, points[p].is_evaluation ? "." : eval_names[e]);
            char *mj = mv_path_join(d, "metrics.json");
            if (mv_path_exists(mj)) {
                st = mv_metrics_read(&sets[p * n_evals + e], d, err);
                if (st != MV_OK) { mv_error_prefix(err, "reading %s", d); mv_free(d); mv_free(mj); goto fail; }
            }
            mv_free(d);
            mv_free(mj);
        }
    sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "schema", MV_SUMMARY_SCHEMA);
    cJSON_AddNumberToObject(sum, "schema_version", MV_SUMMARY_VERSION);
    cJSON_AddStringToObject(sum, "mergeval_version", mv_version());
    cJSON_AddItemToObject(sum, "run", run_info ? cJSON_Duplicate(run_info, 1) : cJSON_CreateObject());
    cJSON *stats = cJSON_AddObjectToObject(sum, "statistics");
    cJSON_AddStringToObject(stats, "interval", "paired percentile bootstrap over items matched by id");
    cJSON_AddNumberToObject(stats, "resamples", o->stats.resamples);
    cJSON_AddNumberToObject(stats, "seed", (double)o->stats.seed);
    cJSON_AddNumberToObject(stats, "alpha", o->stats.alpha);
    cJSON_AddNumberToObject(stats, "max_unpaired", o->stats.max_unpaired);
    cJSON_AddStringToObject(stats, "tests", "exact McNemar for 0/1 metrics; otherwise a z test with the "
                            "paired bootstrap standard error");
    cJSON_AddStringToObject(stats, "multiplicity", "Holm step-down within each family (primary: metrics "
                            "named by a gate or declared primary; secondary: the rest) over all vs-baseline "
                            "and vs-previous comparisons; verdicts use the adjusted p");
    cJSON_AddStringToObject(stats, "gates", "non-inferiority: pass when the interval's unfavourable bound "
                            "is inside the margin, fail when the interval lies beyond it, else inconclusive");
    cJSON *jpts = cJSON_AddArrayToObject(sum, "points");
    for (size_t p = 0; p < np; p++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "index", (double)p);
        cJSON_AddStringToObject(x, "label", points[p].label);
        cJSON_AddStringToObject(x, "dir", points[p].dir);
        if (points[p].run) cJSON_AddStringToObject(x, "run", points[p].run);
        cJSON_AddItemToArray(jpts, x);
    }
    cJSON *metrics = cJSON_AddArrayToObject(sum, "metrics");
    /* Alignment evaluations first (the question the tool exists to answer), then the rest
     * in pipeline order. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t e = 0; e < n_evals; e++) {
            const mv_metrics *ref = NULL;
            for (size_t p = 0; p < np && !ref; p++) ref = sets[p * n_evals + e];
            if (!ref) continue;
            if (is_alignment(eval_names[e], ref) != (pass == 0)) continue;
            for (size_t mi = 0; mi < mv_metrics_count(ref); mi++) {
                const char *mn = mv_metrics_name(ref, mi);
                cJSON *m = cJSON_CreateObject();
                char full[400];
                snprintf(full, sizeof full, "%s.%s", eval_names[e], mn);
                cJSON_AddStringToObject(m, "name", full);
                cJSON_AddStringToObject(m, "evaluation", eval_names[e]);
                cJSON_AddStringToObject(m, "metric", mn);
                const char *ev = mv_metrics_evaluator_name(ref);
                cJSON_AddStringToObject(m, "evaluator", ev ? ev : "");
                int dir = mv_metrics_direction(ref, mi) == MV_LOWER_IS_BETTER ? -1 : 1;
                cJSON_AddStringToObject(m, "direction", dir > 0 ? "higher" : "lower");
                cJSON_AddBoolToObject(m, "binary", mv_metrics_is_binary(ref, mi));
                {
                    mv_transform t = mv_metrics_transform(ref, mi);
                    cJSON_AddStringToObject(m, "transform", t == MV_TRANSFORM_EXP ? "exp" : t == MV_TRANSFORM_BITS ? "bits" : "none");
                }
                const char *doc = mv_metrics_metric_doc(ref, mi);
                cJSON_AddStringToObject(m, "doc", doc ? doc : "");
                cJSON_AddBoolToObject(m, "alignment", pass == 0);
                int primary = is_primary(full, gates, o->primary);
                cJSON_AddStringToObject(m, "family", primary ? "primary" : "secondary");
                cJSON *vals = cJSON_AddArrayToObject(m, "values");
                cJSON *vb = cJSON_AddArrayToObject(m, "vs_baseline");
                cJSON *vp = cJSON_AddArrayToObject(m, "vs_previous");
                for (size_t p = 0; p < np; p++) {
                    const mv_metrics *cur = sets[p * n_evals + e];
                    double v = cur ? mv_metrics_get(cur, mn) : NAN;
                    cJSON_AddItemToArray(vals, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
                    mv_comparison c;
                    int have = 0; /* c holds this point vs its reference from the last pass */
                    for (int which = 0; which < 2; which++) {
                        cJSON *dst = which ? vp : vb;
                        size_t rp = which ? p - 1 : 0;
                        const mv_metrics *rs = p > 0 ? sets[rp * n_evals + e] : NULL;
                        mv_error e2;
                        /* At point 1 the previous point is the baseline: same comparison,
                         * computed once (it still counts in both lists for Holm). */
                        if (!(have && rp == 0))
                            have = p > 0 && rs && cur &&
                                   mv_compare_metric(rs, cur, mn, &so, &c, &e2) == MV_OK;
                        if (!have) {
                            cJSON_AddItemToArray(dst, cJSON_CreateNull());
                            continue;
                        }
                        c.direction = dir;
                        if (np_pending == cap_pending) {
                            cap_pending = cap_pending ? 2 * cap_pending : 64;
                            pending *grown = realloc(pend, cap_pending * sizeof *pend);
                            if (!grown) { st = mv_errorf(err, MV_E_NOMEM, "report: out of memory"); goto fail; }
                            pend = grown;
                        }
                        pend[np_pending].c = c;
                        pend[np_pending].arr = dst;
                        pend[np_pending].index = cJSON_GetArraySize(dst);
                        pend[np_pending].family = primary ? MV_FAMILY_PRIMARY : MV_FAMILY_SECONDARY;
                        np_pending++;
                        cJSON_AddItemToArray(dst, cJSON_CreateNull());
                    }
                }
                const mv_metrics *first = sets[e], *last = sets[(np - 1) * n_evals + e];
                if (first && last && np > 1)
                    cJSON_AddItemToObject(m, "worst_items", worst_items(first, last, mn, dir, o->worst_items, "final"));
                else
                    cJSON_AddItemToObject(m, "worst_items", cJSON_CreateArray());
                /* The same per evaluated point (null at the baseline), so an intermediate point
                 * (e.g. a damaged merge later repaired by retraining) shows its own items. */
                cJSON *wp = cJSON_AddArrayToObject(m, "worst_items_by_point");
                for (size_t p = 0; p < np; p++) {
                    const mv_metrics *cur = sets[p * n_evals + e];
                    cJSON_AddItemToArray(wp, p > 0 && first && cur ? worst_items(first, cur, mn, dir, o->worst_items, "value")
                                                                  : cJSON_CreateNull());
                }
                cJSON_AddItemToArray(metrics, m);
            }
        }
    size_t fam_counts[2] = { 0, 0 };
    if ((st = settle_families(pend, np_pending, &o->stats, fam_counts, err)) != MV_OK) goto fail;
    cJSON_AddNumberToObject(stats, "comparisons_primary", (double)fam_counts[MV_FAMILY_PRIMARY]);
    cJSON_AddNumberToObject(stats, "comparisons_secondary", (double)fam_counts[MV_FAMILY_SECONDARY]);
    /* Per evaluation and point: how many items were scored and how many records the
     * dataset loader skipped (on_error: "skip"), so dropped data is never invisible. */
    cJSON *jev = cJSON_AddArrayToObject(sum, "evaluations");
    for (size_t e = 0; e < n_evals; e++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", eval_names[e]);
        cJSON *pc = cJSON_AddArrayToObject(x, "counts");
        for (size_t p = 0; p < np; p++) {
            const mv_metrics *cur = sets[p * n_evals + e];
            if (!cur) { cJSON_AddItemToArray(pc, cJSON_CreateNull()); continue; }
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "items", (double)mv_metrics_n_items(cur));
            cJSON_AddNumberToObject(c, "skipped", (double)mv_metrics_count_value(cur, "skipped"));
            for (size_t k = 0; k < mv_metrics_n_counts(cur); k++) {
                const char *cn = mv_metrics_count_name(cur, k);
                if (strcmp(cn, "skipped") != 0 && strcmp(cn, "items") != 0)
                    cJSON_AddNumberToObject(c, cn, (double)mv_metrics_count_value(cur, cn));
            }
            cJSON_AddItemToArray(pc, c);
        }
        cJSON_AddItemToArray(jev, x);
    }
    cJSON *jg = cJSON_AddArrayToObject(sum, "gates");
    int n_failed = 0, n_passed = 0, n_inconclusive = 0;
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        int blocking = 0, inconclusive = 0;
        cJSON_AddItemToArray(jg, mv_report_gate(g, metrics, jpts, &o->stats, &blocking, &inconclusive));
        if (blocking) n_failed++; else n_passed++;
        n_inconclusive += inconclusive;
    }
    /* gates_failed counts blocking gates (fail, error, inconclusive with on_inconclusive
     * "fail"); gates_inconclusive counts every inconclusive one, blocking or not. */
    cJSON_AddNumberToObject(sum, "gates_passed", n_passed);
    cJSON_AddNumberToObject(sum, "gates_failed", n_failed);
    cJSON_AddNumberToObject(sum, "gates_inconclusive", n_inconclusive);
    cJSON_AddNumberToObject(sum, "exit_code", n_failed ? 1 : 0);
    *out = sum;
    sum = NULL;
fail:
    for (size_t i = 0; sets && i < np * n_evals; i++) mv_metrics_free(sets[i]);
    free(sets);
    free(pend);
    mv_resampler_free(so.resampler);
    for (size_t i = 0; i < nf; i++) free(found[i]);
    free(found);
    cJSON_Delete(sum);
    return st;
}

mv_status mv_report_build_run(const char *run_dir, const mv_report_options *o, cJSON **out,
                              mv_error *err)
{
    char *rj = mv_path_join(run_dir, "run.json"), *text = NULL;
    size_t len;
    cJSON *state = NULL;
    mv_report_point *pts = NULL;
    char **dirs = NULL;
    const char **names = NULL;
    size_t np = 0, ne = 0;
    *out = NULL;
    mv_status st = mv_read_file(rj, 0, &text, &len, err);
    if (st != MV_OK) { mv_error_prefix(err, "%s is not a run directory", run_dir); goto fail; }
    state = cJSON_Parse(text);
    if (!state) { st = mv_errorf(err, MV_E_FORMAT, "%s: not valid JSON", rj); goto fail; }
    cJSON *jp = cJSON_GetObjectItem(state, "points");
    np = (size_t)cJSON_GetArraySize(jp);
    pts = calloc(np + 1, sizeof *pts);
    dirs = calloc(np + 1, sizeof *dirs);
    size_t i = 0;
    for (cJSON *p = jp ? jp->child : NULL; p; p = p->next, i++) {
        dirs[i] = mv_path_join(run_dir, cJSON_GetObjectItem(p, "dir")->valuestring);
        pts[i].label = cJSON_GetObjectItem(p, "label")->valuestring;
        pts[i].dir = dirs[i];
        pts[i].run = run_dir;
    }
    cJSON *cfg = cJSON_GetObjectItem(state, "config");
    cJSON *ev = cJSON_GetObjectItem(cfg, "evaluate");
    ne = (size_t)cJSON_GetArraySize(ev);
    names = calloc(ne + 1, sizeof *names);
    i = 0;
    for (cJSON *e = ev ? ev->child : NULL; e; e = e->next, i++) {
        cJSON *n = cJSON_GetObjectItem(e, "name");
        if (!cJSON_IsString(n)) n = cJSON_GetObjectItem(e, "plugin");
        names[i] = cJSON_IsString(n) ? n->valuestring : "?";
    }
    cJSON *info = cJSON_CreateObject();
    const char *keys[] = { "name", "status", "created", "finished", "mergeval_version", "config_sha256",
                           "pipeline_file", "elapsed_seconds", "resumes", "seed" };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        cJSON *v = cJSON_GetObjectItem(state, keys[k]);
        if (v) cJSON_AddItemToObject(info, keys[k], cJSON_Duplicate(v, 1));
    }
    cJSON_AddStringToObject(info, "dir", run_dir);
    /* A failed run's reports say which stage failed and why (for a scheduler job: its id and
     * the end of its log), beside the points that did complete. */
    cJSON *so, *failed = NULL;
    cJSON_ArrayForEach(so, cJSON_GetObjectItem(state, "stages")) {
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(so, "status"));
        if (!status || strcmp(status, "failed") != 0) continue;
        if (!failed) failed = cJSON_AddArrayToObject(info, "failed_stages");
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "id", so->string);
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(so, "error"));
        cJSON_AddStringToObject(f, "error", e ? e : "");
        cJSON_AddItemToArray(failed, f);
    }
    cJSON *plugins = cJSON_GetObjectItem(state, "plugins");
    if (plugins) cJSON_AddItemToObject(info, "plugins", cJSON_Duplicate(plugins, 1));
    mv_report_options ro = *o;
    if (!ro.primary) ro.primary = cJSON_GetObjectItem(cfg, "primary");
    st = mv_report_build(pts, np, ne ? names : NULL, ne, cJSON_GetObjectItem(cfg, "gates"), info, &ro, out, err);
    cJSON_Delete(info);
fail:
    for (size_t k = 0; dirs && k < np; k++) mv_free(dirs[k]);
    free(dirs);
    free(pts);
    free(names);
    cJSON_Delete(state);
    mv_free(text);
    mv_free(rj);
    return st;
}

void mv_report_stats_from_run(const char *run_dir, mv_stats_options *o)
{
    char *rj = mv_path_join(run_dir, "run.json"), *text = NULL;
    size_t len;
    if (rj && mv_read_file(rj, 0, &text, &len, NULL) == MV_OK) {
        cJSON *s = cJSON_Parse(text);
        cJSON *cfg = s ? cJSON_GetObjectItem(s, "config") : NULL;
        cJSON *r = cfg ? cJSON_GetObjectItem(cfg, "bootstrap_resamples") : NULL;
        cJSON *seed = cfg ? cJSON_GetObjectItem(cfg, "seed") : NULL;
        /* Range-checked: run.json is a file a user can edit. */
        int64_t iv = 0;
        if (cJSON_IsNumber(r) && mv_json_int(r->valuedouble, 1000, 1000000, &iv)) o->resamples = (int)iv;
        /* The runner's derivation (runner.c): an absent seed is 0. */
        iv = 0;
        if (cJSON_IsNumber(seed)) mv_json_int(seed->valuedouble, 0, MV_JSON_INT_MAX, &iv);
        if (cfg) o->seed = (uint64_t)iv * 31 + 7;
        cJSON_Delete(s);
    }
    mv_free(text);
    mv_free(rj);
}
