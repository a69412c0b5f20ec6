/* core/report/summary.c — build summary.json (schema "mergeval.summary" v1, documented in
 * docs/pipeline.md) from evaluation points: per metric the value at every point, the
 * comparison vs baseline and vs previous (paired bootstrap CI, McNemar, verdict), the items
 * that got worst, and the gates. Rendering is in render_*.c. */
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

static cJSON *comparison_json(const mv_comparison *c)
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
    } else cJSON_AddNullToObject(o, "ci95");
    if (c->has_p) {
        cJSON_AddNumberToObject(o, "p_mcnemar", c->p_mcnemar);
        cJSON_AddNumberToObject(o, "discordant_better", (double)c->n_discordant_better);
        cJSON_AddNumberToObject(o, "discordant_worse", (double)c->n_discordant_worse);
    } else cJSON_AddNullToObject(o, "p_mcnemar");
    cJSON_AddNumberToObject(o, "n_paired", (double)c->n_paired);
    cJSON_AddNumberToObject(o, "n_unpaired", (double)(c->n_only_a + c->n_only_b));
    cJSON_AddStringToObject(o, "verdict", mv_verdict_name(c->verdict));
    cJSON_AddBoolToObject(o, "significant", c->significant);
    cJSON_AddStringToObject(o, "reason", c->reason);
    return o;
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
                          int dir, size_t k)
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
        add_num(o, "final", w[i].val);
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

static cJSON *find_metric(cJSON *metrics, const char *name)
{
    for (cJSON *m = metrics->child; m; m = m->next)
        if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name) == 0) return m;
    return NULL;
}

static void fmt_g(char *b, size_t n, double v) { snprintf(b, n, "%.4g", v); }

static cJSON *evaluate_gate(const cJSON *g, cJSON *metrics, cJSON *points, int *failed)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *jm = cJSON_GetObjectItem(g, "metric"), *jvs = cJSON_GetObjectItem(g, "vs");
    const cJSON *jd = cJSON_GetObjectItem(g, "max_drop"), *jr = cJSON_GetObjectItem(g, "max_drop_rel");
    const cJSON *js = cJSON_GetObjectItem(g, "require_significance");
    const char *metric = cJSON_IsString(jm) ? jm->valuestring : "?";
    int vs_prev = cJSON_IsString(jvs) && strcmp(jvs->valuestring, "previous") == 0;
    int req_sig = cJSON_IsTrue(js);
    /* "every" (default): no evaluation point may regress beyond the bound; "final": only
     * the last point counts — the model the loop ships — while earlier points (e.g. the
     * damaged merge) still show their verdicts in the reports. */
    const cJSON *jat = cJSON_GetObjectItem(g, "at");
    int at_final = cJSON_IsString(jat) && strcmp(jat->valuestring, "final") == 0;
    char name[400];
    snprintf(name, sizeof name, "%s vs %s%s", metric, vs_prev ? "previous" : "baseline", at_final ? " (final)" : "");
    cJSON_AddStringToObject(out, "name", name);
    cJSON_AddStringToObject(out, "metric", metric);
    cJSON_AddStringToObject(out, "vs", vs_prev ? "previous" : "baseline");
    if (cJSON_IsNumber(jd)) cJSON_AddNumberToObject(out, "max_drop", jd->valuedouble);
    if (cJSON_IsNumber(jr)) cJSON_AddNumberToObject(out, "max_drop_rel", jr->valuedouble);
    cJSON_AddBoolToObject(out, "require_significance", req_sig);
    cJSON_AddStringToObject(out, "at", at_final ? "final" : "every");
    cJSON *m = find_metric(metrics, metric);
    if (!m) {
        char list[1500] = "";
        for (cJSON *x = metrics->child; x; x = x->next) {
            strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, cJSON_GetObjectItem(x, "name")->valuestring, sizeof list - strlen(list) - 1);
        }
        char msg[2000];
        snprintf(msg, sizeof msg, "metric %s was not produced by the run; available: %s", metric, list);
        cJSON_AddStringToObject(out, "status", "error");
        cJSON_AddStringToObject(out, "message", msg);
        *failed = 1;
        return out;
    }
    int dir = strcmp(cJSON_GetObjectItem(m, "direction")->valuestring, "lower") == 0 ? -1 : 1;
    cJSON *vals = cJSON_GetObjectItem(m, "values");
    cJSON *cmps = cJSON_GetObjectItem(m, vs_prev ? "vs_previous" : "vs_baseline");
    cJSON *checks = cJSON_AddArrayToObject(out, "checks");
    int n = cJSON_GetArraySize(points), any_fail = 0;
    char first_fail[700] = "", worst_msg[400] = "";
    double worst_drop = -INFINITY;
    for (int p = at_final && n > 1 ? n - 1 : 1; p < n; p++) {
        int rp = vs_prev ? p - 1 : 0;
        cJSON *jv = cJSON_GetArrayItem(vals, p), *jref = cJSON_GetArrayItem(vals, rp);
        if (!cJSON_IsNumber(jv) || !cJSON_IsNumber(jref)) continue;
        double v = jv->valuedouble, ref = jref->valuedouble;
        double drop = dir * (ref - v), drop_rel = ref != 0 ? drop / fabs(ref) : 0;
        if (fabs(drop) <= 1e-12 * fabs(ref)) drop = drop_rel = 0; /* no "-0" in messages */
        int exceeded = (cJSON_IsNumber(jd) && drop > jd->valuedouble) ||
                       (cJSON_IsNumber(jr) && drop_rel > jr->valuedouble);
        cJSON *cmp = cJSON_GetArrayItem(cmps, p);
        const cJSON *verdict = cmp ? cJSON_GetObjectItem(cmp, "verdict") : NULL;
        int sig_reg = cJSON_IsString(verdict) && strcmp(verdict->valuestring, "regressed") == 0;
        int fail = exceeded && (!req_sig || sig_reg);
        const char *label = cJSON_GetObjectItem(cJSON_GetArrayItem(points, p), "label")->valuestring;
        const char *rlabel = cJSON_GetObjectItem(cJSON_GetArrayItem(points, rp), "label")->valuestring;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "point", label);
        cJSON_AddStringToObject(c, "ref_point", rlabel);
        add_num(c, "ref", ref);
        add_num(c, "value", v);
        add_num(c, "drop", drop);
        add_num(c, "drop_rel", drop_rel);
        cJSON_AddBoolToObject(c, "bound_exceeded", exceeded);
        cJSON_AddBoolToObject(c, "significant_regression", sig_reg);
        cJSON_AddBoolToObject(c, "failed", fail);
        cJSON_AddItemToArray(checks, c);
        char a[32], b[32], dd[32];
        fmt_g(a, sizeof a, v); fmt_g(b, sizeof b, ref); fmt_g(dd, sizeof dd, drop);
        char bound[96] = "";
        if (cJSON_IsNumber(jd)) snprintf(bound, sizeof bound, "max_drop %.4g", jd->valuedouble);
        if (cJSON_IsNumber(jr)) snprintf(bound + strlen(bound), sizeof bound - strlen(bound), "%smax_drop_rel %.4g (drop_rel %.4g)",
                                         bound[0] ? ", " : "", jr->valuedouble, drop_rel);
        const cJSON *reason = cmp ? cJSON_GetObjectItem(cmp, "reason") : NULL;
        if (fail && !any_fail)
            snprintf(first_fail, sizeof first_fail, "%s at %s: %s vs %s %s, drop %s exceeds %s; %s",
                     metric, label, a, rlabel, b, dd, bound,
                     cJSON_IsString(reason) ? reason->valuestring : "");
        if (drop > worst_drop) {
            worst_drop = drop;
            if (drop > 0)
                snprintf(worst_msg, sizeof worst_msg, "largest drop %s at %s (%s vs %s %s; %s)%s", dd, label,
                         a, rlabel, b, bound, exceeded && req_sig && !sig_reg ? " — beyond the bound but not significant" : "");
            else
                snprintf(worst_msg, sizeof worst_msg, "no drop at %s (least favourable: %s vs %s %s at %s; %s)",
                         at_final ? "the final point" : "any point", a, rlabel, b, label, bound);
        }
        any_fail |= fail;
    }
    cJSON_AddStringToObject(out, "status", any_fail ? "fail" : "pass");
    cJSON_AddStringToObject(out, "message", any_fail ? first_fail :
                            worst_msg[0] ? worst_msg : "no later point to compare with");
    *failed = any_fail;
    return out;
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
    *out = NULL;
    if (np == 0) return mv_errorf(err, MV_E_NOT_FOUND, "no completed evaluation points to report on");
    if (!eval_names) {
        found = discover_evals(points[0].dir, &nf);
        eval_names = (const char *const *)found;
        n_evals = nf;
    }
    sets = calloc(np * (n_evals ? n_evals : 1), sizeof *sets);
    for (size_t p = 0; p < np; p++)
        for (size_t e = 0; e < n_evals; e++) {
            char *d = mv_path_join(points[p].dir, eval_names[e]);
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
                const char *doc = mv_metrics_metric_doc(ref, mi);
                cJSON_AddStringToObject(m, "doc", doc ? doc : "");
                cJSON_AddBoolToObject(m, "alignment", pass == 0);
                cJSON *vals = cJSON_AddArrayToObject(m, "values");
                cJSON *vb = cJSON_AddArrayToObject(m, "vs_baseline");
                cJSON *vp = cJSON_AddArrayToObject(m, "vs_previous");
                for (size_t p = 0; p < np; p++) {
                    const mv_metrics *cur = sets[p * n_evals + e];
                    double v = cur ? mv_metrics_get(cur, mn) : NAN;
                    cJSON_AddItemToArray(vals, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
                    for (int which = 0; which < 2; which++) {
                        cJSON *dst = which ? vp : vb;
                        size_t rp = which ? p - 1 : 0;
                        const mv_metrics *rs = p > 0 ? sets[rp * n_evals + e] : NULL;
                        mv_comparison c;
                        mv_error e2;
                        if (p == 0 || !rs || !cur ||
                            mv_compare_metric(rs, cur, mn, &o->stats, &c, &e2) != MV_OK) {
                            cJSON_AddItemToArray(dst, cJSON_CreateNull());
                            continue;
                        }
                        c.direction = dir;
                        cJSON_AddItemToArray(dst, comparison_json(&c));
                    }
                }
                const mv_metrics *first = sets[e], *last = sets[(np - 1) * n_evals + e];
                if (first && last && np > 1)
                    cJSON_AddItemToObject(m, "worst_items", worst_items(first, last, mn, dir, o->worst_items));
                else
                    cJSON_AddItemToObject(m, "worst_items", cJSON_CreateArray());
                cJSON_AddItemToArray(metrics, m);
            }
        }
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
    int n_failed = 0, n_passed = 0;
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        int failed = 0;
        cJSON_AddItemToArray(jg, evaluate_gate(g, metrics, jpts, &failed));
        if (failed) n_failed++; else n_passed++;
    }
    cJSON_AddNumberToObject(sum, "gates_passed", n_passed);
    cJSON_AddNumberToObject(sum, "gates_failed", n_failed);
    cJSON_AddNumberToObject(sum, "exit_code", n_failed ? 1 : 0);
    *out = sum;
    sum = NULL;
fail:
    for (size_t i = 0; sets && i < np * n_evals; i++) mv_metrics_free(sets[i]);
    free(sets);
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
    st = mv_report_build(pts, np, ne ? names : NULL, ne, cJSON_GetObjectItem(cfg, "gates"), info, o, out, err);
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
