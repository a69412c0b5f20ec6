/* core/report/render_html.c — report.html: one self-contained page (inline CSS and SVG, images
 * as data URIs, no scripts, nothing fetched): gates coloured, the metric table, a trend chart
 * per metric with CI bands (alignment metrics first; log axis for perplexity-like metrics), the
 * sweep's candidate ranking, and per evaluated point the items that regressed most with their
 * thumbnails. Also used for `mergeval history --html`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"
#include "mv_stats.h"
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

static const char *verdict_class(const char *v)
{
    if (strcmp(v, "regressed") == 0) return "bad";
    if (strcmp(v, "improved") == 0) return "good";
    return "neutral";
}

/* Perplexity-like metrics (exp of a mean log-loss) are positive and multiplicative: a log
 * axis shows a 10% change the same at 5 and at 500, and their bands are ratio intervals. */
static int log_scale_metric(const cJSON *m)
{
    return mv_metric_log_scale(jstr(m, "name"), strcmp(jstr(m, "transform"), "exp") == 0
                                                    ? MV_TRANSFORM_EXP : MV_TRANSFORM_NONE);
}

/* Sweeps: the candidates ranked by the gated metrics (summary.json "ranking"). */
static void ranking_table(mv_strbuf *b, const cJSON *ranking)
{
    if (cJSON_GetArraySize(ranking) == 0) return;
    const cJSON *first = cJSON_GetObjectItem(ranking->child, "values");
    mv_sb_raw(b, "<h2 id=\"ranking\">Candidates ranked by the gated metrics</h2>\n<table class=\"ranking\"><tr>"
              "<th>rank</th><th class=\"l\">candidate</th><th>gated metrics regressed</th>");
    for (const cJSON *v = first ? first->child : NULL; v; v = v->next) {
        mv_sb_raw(b, "<th><code>");
        mv_sb_xml(b, v->string);
        mv_sb_raw(b, "</code></th>");
    }
    mv_sb_raw(b, "</tr>\n");
    for (const cJSON *r = ranking->child; r; r = r->next) {
        int reg = (int)jnum(r, "gated_metrics_regressed");
        mv_sb_add(b, "<tr><td>%d</td><td class=\"l\"><a href=\"#p%d\">", (int)jnum(r, "rank"), (int)jnum(r, "point"));
        mv_sb_xml(b, jstr(r, "label"));
        mv_sb_add(b, "</a></td><td%s>%d</td>", reg > 0 ? " class=\"bad\"" : "", reg);
        const cJSON *vals = cJSON_GetObjectItem(r, "values");
        for (const cJSON *v = first ? first->child : NULL; v; v = v->next) {
            const cJSON *x = cJSON_GetObjectItem(vals, v->string);
            if (cJSON_IsNumber(x)) mv_sb_add(b, "<td>%.4g</td>", x->valuedouble);
            else mv_sb_raw(b, "<td>–</td>");
        }
        mv_sb_raw(b, "</tr>\n");
    }
    mv_sb_raw(b, "</table>\n");
}

static const char *CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#f7f7f9}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}"
    ".meta{color:#666;font-size:13px}.badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:600;color:#fff}"
    ".pass{background:#1e8e3e}.fail{background:#d93025}.error{background:#e37400}.inconclusive{background:#b06000}"
    "table{border-collapse:collapse;background:#fff;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
    "th{background:#eef1f6}td.l,th.l{text-align:left}tr.gate-pass td:first-child{border-left:5px solid #1e8e3e}"
    "tr.gate-fail td:first-child{border-left:5px solid #d93025}tr.gate-error td:first-child{border-left:5px solid #e37400}"
    "tr.gate-inconclusive td:first-child{border-left:5px solid #b06000}"
    "td.good{background:#e6f4ea}td.bad{background:#fce8e6}.grid{display:flex;flex-wrap:wrap;gap:14px}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;width:384px}"
    ".card.align{border-color:#6ea8fe}.card p{font-size:12px;margin:4px 0;color:#444}"
    "img.thumb{width:64px;height:64px;image-rendering:pixelated;border:1px solid #ccc}"
    "code{background:#eef1f6;padding:1px 4px;border-radius:3px}";

char *mv_report_html(const cJSON *summary, const cJSON *thumbs)
{
    mv_strbuf b = { 0 };
    const cJSON *run = cJSON_GetObjectItem(summary, "run");
    const cJSON *points = cJSON_GetObjectItem(summary, "points");
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    const cJSON *gates = cJSON_GetObjectItem(summary, "gates");
    const cJSON *stats = cJSON_GetObjectItem(summary, "statistics");
    int np = cJSON_GetArraySize(points);
    int nf = (int)jnum(summary, "gates_failed"), npass = (int)jnum(summary, "gates_passed");
    const char *name = *jstr(run, "name") ? jstr(run, "name") : "mergeval run";
    mv_sb_raw(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>mergeval: ");
    mv_sb_xml(&b, name);
    mv_sb_raw(&b, "</title><style>");
    mv_sb_raw(&b, CSS);
    mv_sb_raw(&b, "</style></head><body>\n<h1>mergeval report: ");
    mv_sb_xml(&b, name);
    mv_sb_raw(&b, "</h1>\n<div class=\"meta\">");
    if (*jstr(run, "kind")) { mv_sb_xml(&b, jstr(run, "kind")); mv_sb_raw(&b, " · "); }
    if (*jstr(run, "created")) { mv_sb_raw(&b, "started "); mv_sb_xml(&b, jstr(run, "created")); mv_sb_raw(&b, " · "); }
    if (isfinite(jnum(run, "elapsed_seconds"))) mv_sb_add(&b, "%.1f s · ", jnum(run, "elapsed_seconds"));
    mv_sb_add(&b, "%d evaluation points · mergeval %s</div>\n", np, jstr(summary, "mergeval_version"));
    const cJSON *fs;
    cJSON_ArrayForEach(fs, cJSON_GetObjectItem(run, "failed_stages")) {
        mv_sb_raw(&b, "<h2>Stage <code>");
        mv_sb_xml(&b, jstr(fs, "id"));
        mv_sb_raw(&b, "</code> failed</h2>\n<pre>");
        mv_sb_xml(&b, jstr(fs, "error"));
        mv_sb_raw(&b, "</pre>\n");
    }
    if (cJSON_GetArraySize(gates) > 0) {
        mv_sb_add(&b, "<p><span class=\"badge %s\">gates: %d passed, %d failed</span></p>\n",
               nf ? "fail" : "pass", npass, nf);
        mv_sb_raw(&b, "<h2>Gates</h2>\n<table><tr><th class=\"l\">gate</th><th class=\"l\">status</th><th class=\"l\">detail</th></tr>\n");
        for (const cJSON *g = gates->child; g; g = g->next) {
            const char *st = jstr(g, "status");
            mv_sb_add(&b, "<tr class=\"gate-%s\"><td class=\"l\"><code>", st);
            mv_sb_xml(&b, jstr(g, "name"));
            mv_sb_add(&b, "</code></td><td class=\"l\"><span class=\"badge %s\">%s</span></td><td class=\"l\">", st, st);
            mv_sb_xml(&b, jstr(g, "message"));
            mv_sb_raw(&b, "</td></tr>\n");
        }
        mv_sb_raw(&b, "</table>\n");
    }
    ranking_table(&b, cJSON_GetObjectItem(summary, "ranking"));
    /* The table: rows = metrics, columns = points, cells coloured by the verdict vs baseline. */
    mv_sb_raw(&b, "<h2>Metrics</h2>\n<p class=\"meta\">Cells are coloured when the change vs the baseline is "
               "significant after Holm's adjustment within the metric's family; p is raw → adjusted (final vs "
               "baseline); hover a cell for the full test.</p>\n<table><tr><th class=\"l\">metric</th><th>family</th><th>better</th>");
    for (const cJSON *p = points->child; p; p = p->next) { mv_sb_raw(&b, "<th>"); mv_sb_xml(&b, jstr(p, "label")); mv_sb_raw(&b, "</th>"); }
    mv_sb_raw(&b, "<th>p</th><th class=\"l\">final vs baseline</th></tr>\n");
    int mi = 0;
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next, mi++) {
        mv_sb_raw(&b, "<tr><td class=\"l\"><a href=\"#m");
        mv_sb_add(&b, "%d\"><code>", mi);
        mv_sb_xml(&b, jstr(m, "name"));
        mv_sb_add(&b, "</code></a></td><td>%s</td><td>%s</td>", jstr(m, "family"), jstr(m, "direction"));
        const cJSON *vals = cJSON_GetObjectItem(m, "values");
        const cJSON *vb = cJSON_GetObjectItem(m, "vs_baseline");
        for (int i = 0; i < np; i++) {
            const cJSON *v = cJSON_GetArrayItem(vals, i), *c = cJSON_GetArrayItem(vb, i);
            const char *cls = cJSON_IsObject(c) ? verdict_class(jstr(c, "verdict")) : "neutral";
            if (cJSON_IsNumber(v)) mv_sb_add(&b, "<td class=\"%s\" title=\"", cls);
            else mv_sb_raw(&b, "<td title=\"");
            if (cJSON_IsObject(c)) mv_sb_xml(&b, jstr(c, "reason"));
            if (cJSON_IsNumber(v)) mv_sb_add(&b, "\">%.4g</td>", v->valuedouble);
            else mv_sb_raw(&b, "\">–</td>");
        }
        const cJSON *c = cJSON_GetArrayItem(vb, np - 1);
        char vt[200], pt[64];
        mv_sb_raw(&b, "<td>");
        if (cJSON_IsObject(c)) mv_sb_xml(&b, mv_report_p_text(c, pt, sizeof pt));
        mv_sb_raw(&b, "</td><td class=\"l\" title=\"");
        if (cJSON_IsObject(c)) mv_sb_xml(&b, jstr(c, "reason"));
        mv_sb_raw(&b, "\">");
        if (cJSON_IsObject(c)) mv_sb_xml(&b, mv_report_verdict_text(c, 0, vt, sizeof vt));
        mv_sb_raw(&b, "</td></tr>\n");
    }
    mv_sb_raw(&b, "</table>\n");
    /* Trend charts. */
    mv_sb_raw(&b, "<h2>Trends (band: the paired interval vs baseline; of the ratio on log axes)</h2>\n<div class=\"grid\">\n");
    const char **labels = calloc((size_t)np + 1, sizeof *labels);
    double *ys = calloc((size_t)np + 1, sizeof *ys), *lo = calloc((size_t)np + 1, sizeof *lo),
           *hi = calloc((size_t)np + 1, sizeof *hi);
    const char **colors = calloc((size_t)np + 1, sizeof *colors);
    for (int i = 0; i < np; i++) labels[i] = jstr(cJSON_GetArrayItem(points, i), "label");
    mi = 0;
    for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next, mi++) {
        const cJSON *vals = cJSON_GetObjectItem(m, "values"), *vb = cJSON_GetObjectItem(m, "vs_baseline");
        int log_scale = log_scale_metric(m), ratio_bands = 0;
        for (int i = 0; i < np; i++) {
            const cJSON *v = cJSON_GetArrayItem(vals, i), *c = cJSON_GetArrayItem(vb, i);
            ys[i] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            lo[i] = hi[i] = i == 0 ? ys[i] : NAN;
            colors[i] = "#ffffff";
            if (cJSON_IsObject(c)) {
                const cJSON *ci = cJSON_GetObjectItem(c, "ci95"), *rci = cJSON_GetObjectItem(c, "ratio_ci95");
                if (log_scale && cJSON_GetArraySize(rci) == 2) {
                    /* The baseline times the ratio interval: positive, asymmetric. */
                    lo[i] = jnum(c, "ref") * cJSON_GetArrayItem(rci, 0)->valuedouble;
                    hi[i] = jnum(c, "ref") * cJSON_GetArrayItem(rci, 1)->valuedouble;
                    ratio_bands++;
                } else if (cJSON_IsArray(ci)) {
                    lo[i] = jnum(c, "ref") + cJSON_GetArrayItem(ci, 0)->valuedouble;
                    hi[i] = jnum(c, "ref") + cJSON_GetArrayItem(ci, 1)->valuedouble;
                }
                const char *cls = verdict_class(jstr(c, "verdict"));
                colors[i] = strcmp(cls, "bad") == 0 ? "#d93025" : strcmp(cls, "good") == 0 ? "#1e8e3e" : "#ffffff";
            }
        }
        char title[300];
        snprintf(title, sizeof title, "%s (%s is better)", jstr(m, "name"), jstr(m, "direction"));
        char note[120];
        double alpha = jnum(stats, "alpha");
        snprintf(note, sizeof note, "band: %.3g%% CI of %s", isfinite(alpha) ? 100 * (1 - alpha) : 95.0,
                 ratio_bands ? "the ratio to baseline (log bootstrap)" : "the change vs baseline");
        char *svg = mv_svg_chart(title, labels, ys, lo, hi, (size_t)np, colors, log_scale, note);
        int align = cJSON_IsTrue(cJSON_GetObjectItem(m, "alignment"));
        mv_sb_add(&b, "<div class=\"card%s\" id=\"m%d\">", align ? " align" : "", mi);
        if (svg) mv_sb_raw(&b, svg);
        free(svg);
        const cJSON *c = cJSON_GetArrayItem(vb, np - 1);
        mv_sb_raw(&b, "<p>");
        if (*jstr(m, "doc")) { mv_sb_xml(&b, jstr(m, "doc")); mv_sb_raw(&b, ". "); }
        if (cJSON_IsObject(c)) mv_sb_xml(&b, jstr(c, "reason"));
        mv_sb_raw(&b, "</p>");
        if (cJSON_GetArraySize(cJSON_GetObjectItem(m, "worst_items")) > 0)
            mv_sb_add(&b, "<p><a href=\"#w%d-%d\">items that got worst ↓</a></p>", mi, np - 1);
        mv_sb_raw(&b, "</div>\n");
    }
    mv_sb_raw(&b, "</div>\n");
    free(labels); free(ys); free(lo); free(hi); free(colors);
    /* Worst items: one section per evaluated point vs the baseline, so an intermediate point
     * (a damaged merge later repaired) shows its own regressions, not only the final one. */
    if (np > 1) mv_sb_raw(&b, "<h2>Per-item regressions, per evaluated point vs the baseline</h2>\n<p class=\"meta\">");
    for (int p = 1; p < np; p++) {
        mv_sb_add(&b, "<a href=\"#p%d\">", p);
        mv_sb_xml(&b, jstr(cJSON_GetArrayItem(points, p), "label"));
        mv_sb_raw(&b, p + 1 < np ? "</a> · " : "</a></p>\n");
    }
    for (int p = 1; p < np; p++) {
        const char *plabel = jstr(cJSON_GetArrayItem(points, p), "label");
        mv_sb_add(&b, "<section class=\"point-items\" id=\"p%d\" data-point=\"", p);
        mv_sb_xml(&b, plabel);
        mv_sb_raw(&b, "\"><h3 style=\"font-size:15px\">");
        mv_sb_xml(&b, plabel);
        mv_sb_raw(&b, " vs baseline</h3>\n");
        int any = 0;
        mi = 0;
        for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next, mi++) {
            const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "worst_items_by_point"), p);
            const char *vkey = "value";
            if (!cJSON_IsArray(w) && p == np - 1) { w = cJSON_GetObjectItem(m, "worst_items"); vkey = "final"; }
            if (cJSON_GetArraySize(w) == 0) continue;
            any = 1;
            const cJSON *tev = thumbs ? cJSON_GetObjectItem(thumbs, jstr(m, "evaluation")) : NULL;
            mv_sb_add(&b, "<h4 id=\"w%d-%d\" style=\"font-size:13px;margin:10px 0 4px\"><code>", mi, p);
            mv_sb_xml(&b, jstr(m, "name"));
            mv_sb_raw(&b, "</code></h4>\n<table><tr><th class=\"l\">item</th><th>image</th><th>baseline</th><th>");
            mv_sb_xml(&b, plabel);
            mv_sb_raw(&b, "</th><th>change</th></tr>\n");
            for (const cJSON *it = w->child; it; it = it->next) {
                mv_sb_raw(&b, "<tr><td class=\"l\"><code>");
                mv_sb_xml(&b, jstr(it, "id"));
                mv_sb_raw(&b, "</code>");
                const cJSON *entry = tev ? cJSON_GetObjectItem(tev, jstr(it, "id")) : NULL;
                const cJSON *uri = cJSON_IsObject(entry) ? cJSON_GetObjectItem(entry, "src") : entry;
                const cJSON *text = cJSON_IsObject(entry) ? cJSON_GetObjectItem(entry, "text") : NULL;
                if (cJSON_IsString(text)) {
                    mv_sb_raw(&b, "<br><span class=\"meta\">");
                    mv_sb_xml(&b, text->valuestring);
                    mv_sb_raw(&b, "</span>");
                }
                mv_sb_raw(&b, "</td><td>");
                if (cJSON_IsString(uri)) {
                    mv_sb_raw(&b, "<img class=\"thumb\" alt=\"\" src=\"");
                    mv_sb_raw(&b, uri->valuestring);
                    mv_sb_raw(&b, "\">");
                } else mv_sb_raw(&b, "–");
                mv_sb_add(&b, "</td><td>%.4g</td><td>%.4g</td><td class=\"bad\">%+.4g</td></tr>\n",
                          jnum(it, "baseline"), jnum(it, vkey), jnum(it, "delta"));
            }
            mv_sb_raw(&b, "</table>\n");
        }
        if (!any) mv_sb_raw(&b, "<p class=\"meta\">No item scored worse than at the baseline.</p>\n");
        mv_sb_raw(&b, "</section>\n");
    }
    /* Data coverage: items scored and loader-skipped records at the final point. */
    const cJSON *evs = cJSON_GetObjectItem(summary, "evaluations");
    if (evs && evs->child) {
        mv_sb_raw(&b, "<h2>Data</h2>\n<table><tr><th class=\"l\">evaluation</th><th>items scored</th><th>records skipped</th></tr>\n");
        for (const cJSON *e = evs->child; e; e = e->next) {
            const cJSON *last = NULL, *counts = cJSON_GetObjectItem(e, "counts");
            for (const cJSON *c = counts ? counts->child : NULL; c; c = c->next)
                if (cJSON_IsObject(c)) last = c;
            if (!last) continue;
            const cJSON *it = cJSON_GetObjectItem(last, "items"), *sk = cJSON_GetObjectItem(last, "skipped");
            double skipped = cJSON_IsNumber(sk) ? sk->valuedouble : 0;
            mv_sb_raw(&b, "<tr><td class=\"l\">");
            mv_sb_xml(&b, jstr(e, "name"));
            mv_sb_add(&b, "</td><td>%.0f</td><td%s>%.0f</td></tr>\n", cJSON_IsNumber(it) ? it->valuedouble : 0,
                      skipped > 0 ? " class=\"fail\"" : "", skipped);
        }
        mv_sb_raw(&b, "</table>\n");
    }
    mv_sb_add(&b, "<h2>Method</h2><p class=\"meta\">Every delta, interval and test uses the items matched by id "
              "on both sides; more than %.3g%% unmatched items make a comparison <b>not comparable</b>. Intervals: "
              "%.3g%% paired percentile bootstrap (%d resamples, seed %.0f; documents are resampled as units for "
              "ratio metrics such as perplexity). Tests: exact McNemar for 0/1 metrics, otherwise a t test with "
              "the bootstrap standard error. Multiplicity: Holm's step-down adjustment within each family "
              "(primary: metrics named by a gate or declared primary, %.0f comparisons; secondary: the rest, %.0f), "
              "family-wise α = %.2g; a change is <b>regressed</b>/<b>improved</b> when its adjusted p &lt; α, "
              "otherwise <b>no significant change</b> — absence of evidence, not equivalence, which only a "
              "passed non-inferiority gate (<b>non-inferior</b>, margin m) shows. Gates: pass when the interval's "
              "unfavourable bound is inside the margin, fail when the whole interval lies beyond it, otherwise "
              "inconclusive (on_inconclusive decides).</p>\n",
              100 * jnum(stats, "max_unpaired"), 100 * (1 - jnum(stats, "alpha")), (int)jnum(stats, "resamples"),
              jnum(stats, "seed"), jnum(stats, "comparisons_primary"), jnum(stats, "comparisons_secondary"),
              jnum(stats, "alpha"));
    const cJSON *plugins = cJSON_GetObjectItem(run, "plugins");
    if (cJSON_GetArraySize(plugins) > 0) {
        mv_sb_raw(&b, "<p class=\"meta\">Plugins: ");
        for (const cJSON *p = plugins->child; p; p = p->next) {
            mv_sb_xml(&b, jstr(p, "kind")); mv_sb_raw(&b, " ");
            mv_sb_xml(&b, jstr(p, "name")); mv_sb_raw(&b, " "); mv_sb_xml(&b, jstr(p, "version"));
            mv_sb_raw(&b, p->next ? ", " : "");
        }
        mv_sb_raw(&b, "</p>\n");
    }
    mv_sb_raw(&b, "</body></html>\n");
    return mv_sb_take(&b);
}
