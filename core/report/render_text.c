/* core/report/render_text.c — text renderings of a summary: junit.xml (one testcase per
 * gate; valid against the common "windyroad" JUnit XSD: properties, system-out and
 * system-err present, package/id on testsuite), report.md for CI step summaries, and the
 * terminal table. HTML is in render_html.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mv_report.h"
#include "mv_strbuf.h"



static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

char *mv_report_junit(const cJSON *summary)
{
    mv_strbuf b = { 0 };
    const cJSON *gates = cJSON_GetObjectItem(summary, "gates");
    const cJSON *run = cJSON_GetObjectItem(summary, "run");
    int n = cJSON_GetArraySize(gates), failures = 0, errors = 0;
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        if (strcmp(jstr(g, "status"), "fail") == 0) failures++;
        if (strcmp(jstr(g, "status"), "error") == 0) errors++;
    }
    char ts[32], host[256] = "localhost";
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    gethostname(host, sizeof host - 1);
    double secs = jnum(run, "elapsed_seconds");
    mv_sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    mv_sb_add(&b, "  <testsuite package=\"mergeval\" id=\"0\" name=\"");
    mv_sb_xml(&b, *jstr(run, "name") ? jstr(run, "name") : "mergeval");
    mv_sb_add(&b, ".gates\" timestamp=\"%s\" hostname=\"", ts);
    mv_sb_xml(&b, host);
    mv_sb_add(&b, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.3f\">\n", n, failures, errors,
           isfinite(secs) ? secs : 0.0);
    mv_sb_add(&b, "    <properties>\n");
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    const cJSON *points = cJSON_GetObjectItem(summary, "points");
    int np = cJSON_GetArraySize(points);
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "values"), np - 1);
        mv_sb_add(&b, "      <property name=\"");
        mv_sb_xml(&b, jstr(m, "name"));
        if (cJSON_IsNumber(v)) mv_sb_add(&b, "\" value=\"%.6g\"/>\n", v->valuedouble);
        else mv_sb_add(&b, "\" value=\"\"/>\n");
    }
    mv_sb_add(&b, "    </properties>\n");
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        const char *status = jstr(g, "status");
        mv_sb_add(&b, "    <testcase name=\"");
        mv_sb_xml(&b, jstr(g, "name"));
        mv_sb_add(&b, "\" classname=\"mergeval.gates\" time=\"0\"");
        if (strcmp(status, "pass") == 0) { mv_sb_add(&b, "/>\n"); continue; }
        const char *tag = strcmp(status, "error") == 0 ? "error" : "failure";
        mv_sb_add(&b, ">\n      <%s message=\"", tag);
        mv_sb_xml(&b, jstr(g, "message"));
        mv_sb_add(&b, "\" type=\"%s\">", strcmp(status, "error") == 0 ? "GateError" : "GateFailed");
        const cJSON *checks = cJSON_GetObjectItem(g, "checks");
        for (const cJSON *c = checks ? checks->child : NULL; c; c = c->next) {
            char line[512];
            snprintf(line, sizeof line, "%s: value %.6g, %s %.6g, drop %.6g (rel %.4g)%s%s\n",
                     jstr(c, "point"), jnum(c, "value"), jstr(c, "ref_point"), jnum(c, "ref"),
                     jnum(c, "drop"), jnum(c, "drop_rel"),
                     cJSON_IsTrue(cJSON_GetObjectItem(c, "significant_regression")) ? ", significant" : "",
                     cJSON_IsTrue(cJSON_GetObjectItem(c, "failed")) ? " FAILED" : "");
            mv_sb_xml(&b, line);
        }
        mv_sb_add(&b, "</%s>\n    </testcase>\n", tag);
    }
    mv_sb_add(&b, "    <system-out>");
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        mv_sb_xml(&b, jstr(g, "name"));
        mv_sb_add(&b, ": %s — ", jstr(g, "status"));
        mv_sb_xml(&b, jstr(g, "message"));
        mv_sb_add(&b, "\n");
    }
    mv_sb_add(&b, "</system-out>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
    return mv_sb_take(&b);
}

static void fmt_val(char *buf, size_t n, const cJSON *v)
{
    if (cJSON_IsNumber(v)) snprintf(buf, n, "%.4g", v->valuedouble);
    else snprintf(buf, n, "–");
}

/* Final-vs-baseline comparison of a metric, or NULL. */
static const cJSON *final_cmp(const cJSON *m, int np)
{
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "vs_baseline"), np - 1);
    return cJSON_IsObject(c) ? c : NULL;
}

/* A value's verdict vs baseline as a suffix: markdown icons, or "+"/"-" on a terminal
 * (nothing for within noise and for the baseline itself). */
static const char *mark(const cJSON *m, int point, int md)
{
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "vs_baseline"), point);
    const char *v = cJSON_IsObject(c) ? jstr(c, "verdict") : "";
    if (strcmp(v, "regressed") == 0) return md ? " 🔻" : " -";
    if (strcmp(v, "improved") == 0) return md ? " 🟢" : " +";
    return md ? "" : "  ";
}

static void fmt_ci(char *buf, size_t n, const cJSON *c)
{
    const cJSON *ci = c ? cJSON_GetObjectItem(c, "ci95") : NULL;
    if (cJSON_IsArray(ci))
        snprintf(buf, n, "[%+.3g, %+.3g]", cJSON_GetArrayItem(ci, 0)->valuedouble,
                 cJSON_GetArrayItem(ci, 1)->valuedouble);
    else snprintf(buf, n, "–");
}

static const char *verdict_icon(const char *v)
{
    if (strcmp(v, "regressed") == 0) return "🔻 regressed";
    if (strcmp(v, "improved") == 0) return "🟢 improved";
    if (strcmp(v, "untested") == 0) return "untested";
    return "within noise";
}

char *mv_report_markdown(const cJSON *summary)
{
    mv_strbuf b = { 0 };
    const cJSON *run = cJSON_GetObjectItem(summary, "run");
    const cJSON *gates = cJSON_GetObjectItem(summary, "gates");
    const cJSON *points = cJSON_GetObjectItem(summary, "points");
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    int np = cJSON_GetArraySize(points);
    int nf = (int)jnum(summary, "gates_failed"), npass = (int)jnum(summary, "gates_passed");
    mv_sb_add(&b, "# mergeval report: %s\n\n", *jstr(run, "name") ? jstr(run, "name") : "run");
    const cJSON *fs = cJSON_GetObjectItem(run, "failed_stages");
    mv_sb_add(&b, "**Gates: %d passed, %d failed** — %s\n\n", npass, nf,
           cJSON_GetArraySize(fs) ? "❌ the run failed" : nf ? "❌ exit code 1" : "✅ exit code 0");
    cJSON_ArrayForEach(fs, cJSON_GetObjectItem(run, "failed_stages"))
        mv_sb_add(&b, "## ⚠️ Stage `%s` failed\n\n```\n%s\n```\n\n", jstr(fs, "id"), jstr(fs, "error"));
    if (cJSON_GetArraySize(gates) > 0) {
        mv_sb_add(&b, "| Gate | Status | Detail |\n|---|---|---|\n");
        for (const cJSON *g = gates->child; g; g = g->next) {
            const char *st = jstr(g, "status");
            mv_sb_add(&b, "| `%s` | %s | %s |\n", jstr(g, "name"),
                   strcmp(st, "pass") == 0 ? "✅ pass" : strcmp(st, "fail") == 0 ? "❌ fail" : "⚠️ error",
                   jstr(g, "message"));
        }
        mv_sb_add(&b, "\n");
    }
    mv_sb_add(&b, "## Metrics\n\n🟢 / 🔻 after a value: significantly better / worse than the baseline "
           "(paired bootstrap 95%% CI; McNemar for 0/1 metrics).\n\n| Metric | better |");
    for (const cJSON *p = points->child; p; p = p->next) mv_sb_add(&b, " %s |", jstr(p, "label"));
    mv_sb_add(&b, " Δ vs baseline | 95%% CI | verdict |\n|---|---|");
    for (int i = 0; i < np; i++) mv_sb_add(&b, "---:|");
    mv_sb_add(&b, "---:|---|---|\n");
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        mv_sb_add(&b, "| `%s` | %s |", jstr(m, "name"), jstr(m, "direction"));
        const cJSON *vals = cJSON_GetObjectItem(m, "values");
        for (int i = 0; i < np; i++) {
            char v[32];
            fmt_val(v, sizeof v, cJSON_GetArrayItem(vals, i));
            mv_sb_add(&b, " %s%s |", v, mark(m, i, 1));
        }
        const cJSON *c = final_cmp(m, np);
        char ci[64];
        fmt_ci(ci, sizeof ci, c);
        if (c) mv_sb_add(&b, " %+.4g | %s | %s |\n", jnum(c, "delta"), ci, verdict_icon(jstr(c, "verdict")));
        else mv_sb_add(&b, " – | – | – |\n");
    }
    /* Biggest changes: final vs baseline by relative size. */
    double rel[256];
    const cJSON *which[256];
    int k = 0;
    for (const cJSON *m = metrics ? metrics->child : NULL; m && k < 256; m = m->next) {
        const cJSON *c = final_cmp(m, np);
        if (!c || !isfinite(jnum(c, "delta_rel"))) continue;
        rel[k] = jnum(c, "delta_rel");
        which[k++] = m;
    }
    if (k) {
        /* Sort indices by |rel| (small n: selection sort keeps the pairing simple). */
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++)
                if (fabs(rel[j]) > fabs(rel[i])) {
                    double t = rel[i]; rel[i] = rel[j]; rel[j] = t;
                    const cJSON *w = which[i]; which[i] = which[j]; which[j] = w;
                }
        mv_sb_add(&b, "\n## Biggest changes (final vs baseline)\n\n");
        for (int i = 0; i < k && i < 6; i++) {
            const cJSON *c = final_cmp(which[i], np);
            mv_sb_add(&b, "- `%s`: %.4g → %.4g (%+.1f%%) — %s\n", jstr(which[i], "name"), jnum(c, "ref"),
                   jnum(c, "value"), 100.0 * rel[i], jstr(c, "reason"));
        }
    }
    /* Data coverage: items scored and records skipped per evaluation (final point). */
    const cJSON *evs = cJSON_GetObjectItem(summary, "evaluations");
    if (evs && evs->child) {
        mv_sb_add(&b, "\n## Data\n\n| Evaluation | items scored | records skipped |\n|---|---:|---:|\n");
        for (const cJSON *e = evs->child; e; e = e->next) {
            const cJSON *counts = cJSON_GetObjectItem(e, "counts");
            const cJSON *last = NULL;
            for (const cJSON *c = counts ? counts->child : NULL; c; c = c->next)
                if (cJSON_IsObject(c)) last = c;
            if (!last) continue;
            double skipped = jnum(last, "skipped");
            mv_sb_add(&b, "| `%s` | %.0f | %.0f%s |\n", jstr(e, "name"), jnum(last, "items"), skipped,
                      skipped > 0 ? " ⚠️" : "");
        }
    }
    mv_sb_add(&b, "\nStatistics: paired bootstrap (%d resamples) over items matched by id; exact McNemar test "
           "for 0/1 metrics; α = %.2g.\n", (int)jnum(cJSON_GetObjectItem(summary, "statistics"), "resamples"),
           jnum(cJSON_GetObjectItem(summary, "statistics"), "alpha"));
    return mv_sb_take(&b);
}

void mv_report_print(FILE *f, const cJSON *summary)
{
    const cJSON *points = cJSON_GetObjectItem(summary, "points");
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    const cJSON *gates = cJSON_GetObjectItem(summary, "gates");
    int np = cJSON_GetArraySize(points);
    fprintf(f, "%-32s", "metric");
    for (const cJSON *p = points->child; p; p = p->next) fprintf(f, " %16.16s", jstr(p, "label"));
    fprintf(f, "  %-10s %s\n", "Δ(final)", "verdict (final vs baseline)");
    fprintf(f, "(+ / - after a value: significantly better / worse than the baseline)\n");
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        fprintf(f, "%-32.32s", jstr(m, "name"));
        const cJSON *vals = cJSON_GetObjectItem(m, "values");
        for (int i = 0; i < np; i++) {
            char v[48];
            fmt_val(v, sizeof v, cJSON_GetArrayItem(vals, i));
            strcat(v, mark(m, i, 0));
            fprintf(f, " %16s", v);
        }
        const cJSON *c = final_cmp(m, np);
        if (c) {
            char ci[64];
            fmt_ci(ci, sizeof ci, c);
            fprintf(f, "  %+-10.4g %s %s\n", jnum(c, "delta"), jstr(c, "verdict"), ci);
        } else fprintf(f, "\n");
    }
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next)
        fprintf(f, "gate %-40s %s  %s\n", jstr(g, "name"), strcmp(jstr(g, "status"), "pass") == 0 ? "PASS" :
                strcmp(jstr(g, "status"), "fail") == 0 ? "FAIL" : "ERROR", jstr(g, "message"));
}
