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
    /* An inconclusive gate is a failure when it blocks (on_inconclusive "fail"), a skipped
     * test case when it only warns (visible on every CI dashboard without failing the
     * build), and a pass with a line in system-out when on_inconclusive is "pass". */
    int n = cJSON_GetArraySize(gates), failures = 0, errors = 0, skipped = 0;
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        const char *st = jstr(g, "status");
        int blocking = cJSON_IsTrue(cJSON_GetObjectItem(g, "blocking"));
        if (strcmp(st, "fail") == 0 || (strcmp(st, "inconclusive") == 0 && blocking)) failures++;
        if (strcmp(st, "error") == 0) errors++;
        if (strcmp(st, "inconclusive") == 0 && strcmp(jstr(g, "on_inconclusive"), "warn") == 0) skipped++;
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
    mv_sb_add(&b, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n", n, failures,
              errors, skipped, isfinite(secs) ? secs : 0.0);
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
        int inconclusive = strcmp(status, "inconclusive") == 0;
        int blocking = cJSON_IsTrue(cJSON_GetObjectItem(g, "blocking"));
        if (strcmp(status, "pass") == 0 || (inconclusive && !blocking &&
                                            strcmp(jstr(g, "on_inconclusive"), "warn") != 0)) {
            mv_sb_add(&b, "/>\n");
            continue;
        }
        if (inconclusive && !blocking) {
            mv_sb_add(&b, ">\n      <skipped message=\"");
            mv_sb_xml(&b, jstr(g, "message"));
            mv_sb_add(&b, "\"/>\n    </testcase>\n");
            continue;
        }
        const char *tag = strcmp(status, "error") == 0 ? "error" : "failure";
        mv_sb_add(&b, ">\n      <%s message=\"", tag);
        mv_sb_xml(&b, jstr(g, "message"));
        mv_sb_add(&b, "\" type=\"%s\">", strcmp(status, "error") == 0 ? "GateError" :
                  inconclusive ? "GateInconclusive" : "GateFailed");
        const cJSON *checks = cJSON_GetObjectItem(g, "checks");
        for (const cJSON *c = checks ? checks->child : NULL; c; c = c->next) {
            char line[512];
            snprintf(line, sizeof line, "%s: value %.6g, %s %.6g, drop %.6g (rel %.4g), margin %.4g, drop CI "
                     "[%.4g, %.4g]: %s\n", jstr(c, "point"), jnum(c, "value"), jstr(c, "ref_point"),
                     jnum(c, "ref"), jnum(c, "drop"), jnum(c, "drop_rel"), jnum(c, "margin"),
                     jnum(c, "drop_ci_lo"), jnum(c, "drop_ci_hi"), jstr(c, "decision"));
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

static const char *gate_badge(const cJSON *g)
{
    const char *st = jstr(g, "status");
    if (strcmp(st, "pass") == 0) return "✅ pass";
    if (strcmp(st, "fail") == 0) return "❌ fail";
    if (strcmp(st, "inconclusive") == 0)
        return cJSON_IsTrue(cJSON_GetObjectItem(g, "blocking")) ? "❌ inconclusive (blocks)" :
               strcmp(jstr(g, "on_inconclusive"), "warn") == 0 ? "⚠️ inconclusive (warning)" : "➖ inconclusive (passes)";
    return "⚠️ error";
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
            mv_sb_add(&b, "| `%s` | %s | %s |\n", jstr(g, "name"), gate_badge(g), jstr(g, "message"));
        }
        mv_sb_add(&b, "\n");
    }
    const cJSON *ranking = cJSON_GetObjectItem(summary, "ranking");   /* sweeps: candidates ranked */
    if (cJSON_GetArraySize(ranking) > 0) {
        mv_sb_add(&b, "## Candidates ranked by the gated metrics\n\n| Rank | Candidate | gated metrics regressed | values |\n|---:|---|---:|---|\n");
        for (const cJSON *r = ranking->child; r; r = r->next) {
            mv_sb_add(&b, "| %d | %s | %d |", (int)jnum(r, "rank"), jstr(r, "label"), (int)jnum(r, "gated_metrics_regressed"));
            for (const cJSON *v = cJSON_GetObjectItem(r, "values") ? cJSON_GetObjectItem(r, "values")->child : NULL; v; v = v->next) {
                char val[32];
                fmt_val(val, sizeof val, v);
                mv_sb_add(&b, " `%s` %s", v->string, val);
            }
            mv_sb_add(&b, " |\n");
        }
        mv_sb_add(&b, "\n");
    }
    mv_sb_add(&b, "## Metrics\n\n🟢 / 🔻 after a value: significantly better / worse than the baseline "
           "after Holm's adjustment within the metric's family (primary: gated or declared metrics; "
           "secondary: the rest). p: raw → Holm-adjusted, final vs baseline.\n\n| Metric | family | better |");
    for (const cJSON *p = points->child; p; p = p->next) mv_sb_add(&b, " %s |", jstr(p, "label"));
    mv_sb_add(&b, " Δ vs baseline | p | final vs baseline |\n|---|---|---|");
    for (int i = 0; i < np; i++) mv_sb_add(&b, "---:|");
    mv_sb_add(&b, "---:|---|---|\n");
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        mv_sb_add(&b, "| `%s` | %s | %s |", jstr(m, "name"), jstr(m, "family"), jstr(m, "direction"));
        const cJSON *vals = cJSON_GetObjectItem(m, "values");
        for (int i = 0; i < np; i++) {
            char v[32];
            fmt_val(v, sizeof v, cJSON_GetArrayItem(vals, i));
            mv_sb_add(&b, " %s%s |", v, mark(m, i, 1));
        }
        const cJSON *c = final_cmp(m, np);
        char vt[200], pt[64];
        if (c) mv_sb_add(&b, " %+.4g | %s | %s |\n", jnum(c, "delta"), mv_report_p_text(c, pt, sizeof pt),
                         mv_report_verdict_text(c, 1, vt, sizeof vt));
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
    const cJSON *stats = cJSON_GetObjectItem(summary, "statistics");
    mv_sb_add(&b, "\nStatistics: every delta, interval and test over the items matched by id on both sides "
              "(more than %.3g%% unmatched: not comparable); %.3g%% paired percentile bootstrap intervals "
              "(%d resamples); exact McNemar test for 0/1 metrics, otherwise a t test with the bootstrap "
              "standard error; Holm step-down adjustment within each family (%.0f primary, %.0f secondary "
              "comparisons), family-wise α = %.2g. \"No significant change\" is absence of evidence, not "
              "equivalence; gates are non-inferiority tests (pass only when the interval's unfavourable "
              "bound is inside the margin).\n", 100 * jnum(stats, "max_unpaired"), 100 * (1 - jnum(stats, "alpha")),
              (int)jnum(stats, "resamples"), jnum(stats, "comparisons_primary"), jnum(stats, "comparisons_secondary"),
              jnum(stats, "alpha"));
    return mv_sb_take(&b);
}

void mv_report_print(FILE *f, const cJSON *summary)
{
    const cJSON *points = cJSON_GetObjectItem(summary, "points");
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    const cJSON *gates = cJSON_GetObjectItem(summary, "gates");
    int np = cJSON_GetArraySize(points);
    int w = 32;   /* as wide as the longest name, up to 64 (imported names are long) */
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        int l = (int)strlen(jstr(m, "name"));
        if (l > w) w = l > 64 ? 64 : l;
    }
    fprintf(f, "%-*s", w, "metric");
    for (const cJSON *p = points->child; p; p = p->next) fprintf(f, " %16.16s", jstr(p, "label"));
    fprintf(f, "  %-10s %s\n", "Δ(final)", "verdict (final vs baseline)");
    fprintf(f, "(+ / - after a value: significantly better / worse than the baseline, Holm-adjusted)\n");
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
        fprintf(f, "%-*.*s", w, w, jstr(m, "name"));
        const cJSON *vals = cJSON_GetObjectItem(m, "values");
        for (int i = 0; i < np; i++) {
            char v[48];
            fmt_val(v, sizeof v, cJSON_GetArrayItem(vals, i));
            strcat(v, mark(m, i, 0));
            fprintf(f, " %16s", v);
        }
        const cJSON *c = final_cmp(m, np);
        if (c) {
            char vt[200];
            fprintf(f, "  %+-10.4g %s\n", jnum(c, "delta"), mv_report_verdict_text(c, 0, vt, sizeof vt));
        } else fprintf(f, "\n");
    }
    for (const cJSON *g = gates ? gates->child : NULL; g; g = g->next) {
        const char *st = jstr(g, "status");
        fprintf(f, "gate %-40s %s  %s\n", jstr(g, "name"), strcmp(st, "pass") == 0 ? "PASS" :
                strcmp(st, "fail") == 0 ? "FAIL" : strcmp(st, "error") == 0 ? "ERROR" :
                cJSON_IsTrue(cJSON_GetObjectItem(g, "blocking")) ? "INCONCLUSIVE (fails)" : "INCONCLUSIVE",
                jstr(g, "message"));
    }
}
