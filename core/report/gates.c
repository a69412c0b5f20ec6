/* core/report/gates.c — a gate as a statistical decision: with a margin (max_drop, or
 * max_drop_rel times the reference value) every check is a non-inferiority test on the
 * paired interval of the change: pass when its unfavourable bound lies inside the margin,
 * fail when the whole interval lies beyond it, inconclusive otherwise (then on_inconclusive
 * decides). Reads the comparisons already in the summary; writes the gate's JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static cJSON *find_metric(cJSON *metrics, const char *name)
{
    for (cJSON *m = metrics->child; m; m = m->next)
        if (strcmp(str(m, "name"), name) == 0) return m;
    return NULL;
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* Severity order for the gate's overall status: the worst check decides. */
enum { CK_PASS, CK_INCONCLUSIVE, CK_FAIL };

/* One check of the gate at one point; returns CK_*, writes the check object and a line. */
static int check_point(const cJSON *cmp, int dir, double max_drop, double max_drop_rel,
                       const mv_stats_options *o, cJSON *c, char *line, size_t ln)
{
    double ref = num(cmp, "ref"), delta = num(cmp, "delta");
    double margin = INFINITY;
    if (isfinite(max_drop)) margin = max_drop;
    if (isfinite(max_drop_rel) && isfinite(ref) && max_drop_rel * fabs(ref) < margin)
        margin = max_drop_rel * fabs(ref);      /* both given: the stricter bound holds */
    double good = dir * delta, drop = -good;
    if (fabs(drop) <= 1e-12 * fabs(ref)) drop = 0, good = 0;   /* no "-0" in messages */
    add_num(c, "drop", drop);
    add_num(c, "drop_rel", isfinite(ref) && ref != 0 ? drop / fabs(ref) : NAN);
    add_num(c, "margin", margin);
    double level = 100.0 * (1.0 - o->alpha);
    const cJSON *ci = cJSON_GetObjectItem(cmp, "ci95");
    if (strcmp(str(cmp, "verdict"), "not comparable") == 0) {
        cJSON_AddStringToObject(c, "decision", "not comparable");
        snprintf(line, ln, "%s", str(cmp, "reason"));
        return CK_FAIL;
    }
    if (!cJSON_IsArray(ci)) {
        cJSON_AddStringToObject(c, "decision", "inconclusive");
        snprintf(line, ln, "drop %.4g but no per-item data to test it against the margin %.4g", drop, margin);
        return CK_INCONCLUSIVE;
    }
    double lo = cJSON_GetArrayItem(ci, 0)->valuedouble, hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    double glo = dir > 0 ? lo : -hi, ghi = dir > 0 ? hi : -lo;
    mv_ni_result r = mv_noninferiority(glo, ghi, margin);
    /* The interval as a drop: [least, largest] plausible drop. */
    double dlo = -ghi, dhi = -glo;
    add_num(c, "drop_ci_lo", dlo);
    add_num(c, "drop_ci_hi", dhi);
    cJSON_AddStringToObject(c, "decision", r == MV_NI_PASS ? "non-inferior" : mv_ni_name(r));
    if (r == MV_NI_PASS) {
        /* The comparison may now be called non-inferior in the reports (vs baseline or vs
         * previous, whichever this gate tests). */
        if (!cJSON_GetObjectItem(cmp, "noninferior_margin"))
            cJSON_AddNumberToObject((cJSON *)cmp, "noninferior_margin", margin);
        snprintf(line, ln, "non-inferior (margin %.4g): drop %.4g, %.3g%% CI [%.4g, %.4g] stays below the margin",
                 margin, drop, level, dlo, dhi);
        return CK_PASS;
    }
    if (r == MV_NI_FAIL) {
        snprintf(line, ln, "significant drop beyond the margin %.4g: drop %.4g, %.3g%% CI [%.4g, %.4g] lies "
                 "entirely beyond it", margin, drop, level, dlo, dhi);
        return CK_FAIL;
    }
    double se = num(cmp, "se"), mde = num(cmp, "mde80");
    size_t n = (size_t)num(cmp, "n_paired");
    double need = mv_ni_items_to_settle(good, se, n, margin, o->alpha);
    add_num(c, "mde80", mde);
    add_num(c, "items_to_settle", need);
    char settle[120];
    if (isfinite(need)) snprintf(settle, sizeof settle, "about %.0f paired items (now %zu) would settle it", need, n);
    else snprintf(settle, sizeof settle, "the observed drop equals the margin: no sample size settles it");
    snprintf(line, ln, "inconclusive: drop %.4g, %.3g%% CI [%.4g, %.4g] straddles the margin %.4g; "
             "detectable at 80%% power: %.3g; %s (80%% power, if the observed change is the true one)",
             drop, level, dlo, dhi, margin, mde, settle);
    return CK_INCONCLUSIVE;
}

cJSON *mv_report_gate(const cJSON *g, cJSON *metrics, cJSON *points, const mv_stats_options *o,
                      int *blocking, int *inconclusive)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *jm = cJSON_GetObjectItem(g, "metric"), *jvs = cJSON_GetObjectItem(g, "vs");
    const cJSON *jd = cJSON_GetObjectItem(g, "max_drop"), *jr = cJSON_GetObjectItem(g, "max_drop_rel");
    const cJSON *js = cJSON_GetObjectItem(g, "require_significance");
    const cJSON *joi = cJSON_GetObjectItem(g, "on_inconclusive");
    const char *metric = cJSON_IsString(jm) ? jm->valuestring : "?";
    int vs_prev = cJSON_IsString(jvs) && strcmp(jvs->valuestring, "previous") == 0;
    /* Inconclusive fails by default: a gate certifies "no drop beyond the margin", and data
     * too thin to show that must not ship the change (a 6-point drop passed a 5-point gate
     * a third of the time when gates judged the point estimate). */
    const char *on_inc = cJSON_IsString(joi) ? joi->valuestring : "fail";
    if (strcmp(on_inc, "warn") != 0 && strcmp(on_inc, "pass") != 0) on_inc = "fail";
    /* "every" (default): every evaluation point is checked; "final": only the last point —
     * the model the loop ships — while earlier points still show their verdicts. */
    const cJSON *jat = cJSON_GetObjectItem(g, "at");
    int at_final = cJSON_IsString(jat) && strcmp(jat->valuestring, "final") == 0;
    char name[400];
    snprintf(name, sizeof name, "%s vs %s%s", metric, vs_prev ? "previous" : "baseline", at_final ? " (final)" : "");
    cJSON_AddStringToObject(out, "name", name);
    cJSON_AddStringToObject(out, "metric", metric);
    cJSON_AddStringToObject(out, "vs", vs_prev ? "previous" : "baseline");
    cJSON_AddStringToObject(out, "test", "non-inferiority on the paired interval of the change");
    if (cJSON_IsNumber(jd)) cJSON_AddNumberToObject(out, "max_drop", jd->valuedouble);
    if (cJSON_IsNumber(jr)) cJSON_AddNumberToObject(out, "max_drop_rel", jr->valuedouble);
    cJSON_AddStringToObject(out, "on_inconclusive", on_inc);
    cJSON_AddStringToObject(out, "at", at_final ? "final" : "every");
    if (js)
        cJSON_AddStringToObject(out, "deprecated", "require_significance is ignored: every gate is a "
                                "non-inferiority test that fails only on a significant drop beyond its "
                                "margin; remove the key");
    *blocking = 0;
    *inconclusive = 0;
    cJSON *m = find_metric(metrics, metric);
    if (!m) {
        char list[1500] = "";
        for (cJSON *x = metrics->child; x; x = x->next) {
            strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, str(x, "name"), sizeof list - strlen(list) - 1);
        }
        char msg[2000];
        snprintf(msg, sizeof msg, "metric %s was not produced by the run; available: %s", metric, list);
        cJSON_AddStringToObject(out, "status", "error");
        cJSON_AddStringToObject(out, "message", msg);
        cJSON_AddBoolToObject(out, "blocking", 1);
        *blocking = 1;
        return out;
    }
    int dir = strcmp(str(m, "direction"), "lower") == 0 ? -1 : 1;
    cJSON *cmps = cJSON_GetObjectItem(m, vs_prev ? "vs_previous" : "vs_baseline");
    cJSON *checks = cJSON_AddArrayToObject(out, "checks");
    int n = cJSON_GetArraySize(points), worst = CK_PASS, n_checks = 0;
    char msg[1200] = "", line[700];
    for (int p = at_final && n > 1 ? n - 1 : 1; p < n; p++) {
        int rp = vs_prev ? p - 1 : 0;
        cJSON *cmp = cJSON_GetArrayItem(cmps, p);
        if (!cJSON_IsObject(cmp)) continue;
        const char *label = str(cJSON_GetArrayItem(points, p), "label");
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "point", label);
        cJSON_AddStringToObject(c, "ref_point", str(cJSON_GetArrayItem(points, rp), "label"));
        add_num(c, "ref", num(cmp, "ref"));
        add_num(c, "value", num(cmp, "value"));
        int r = check_point(cmp, dir, cJSON_IsNumber(jd) ? jd->valuedouble : NAN,
                            cJSON_IsNumber(jr) ? jr->valuedouble : NAN, o, c, line, sizeof line);
        cJSON_AddBoolToObject(c, "significant_regression", strcmp(str(cmp, "verdict"), "regressed") == 0);
        cJSON_AddItemToArray(checks, c);
        n_checks++;
        /* The message names the worst check (first of equals), with its point. */
        if (r > worst || n_checks == 1) {
            snprintf(msg, sizeof msg, "%s at %s: %.4g vs %s %.4g: %s", metric, label, num(cmp, "value"),
                     str(cJSON_GetArrayItem(points, rp), "label"), num(cmp, "ref"), line);
            if (r > worst) worst = r;
        }
    }
    const char *status = worst == CK_FAIL ? "fail" : worst == CK_INCONCLUSIVE ? "inconclusive" : "pass";
    if (n_checks == 0) snprintf(msg, sizeof msg, "no later point to compare with");
    *blocking = worst == CK_FAIL || (worst == CK_INCONCLUSIVE && strcmp(on_inc, "fail") == 0);
    *inconclusive = worst == CK_INCONCLUSIVE;
    if (worst == CK_INCONCLUSIVE) {
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, " — on_inconclusive: %s", on_inc);
    }
    cJSON_AddStringToObject(out, "status", status);
    cJSON_AddBoolToObject(out, "blocking", *blocking);
    cJSON_AddStringToObject(out, "message", msg);
    return out;
}
