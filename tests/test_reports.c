/* tests/test_reports.c — summary.json, junit.xml, report.md and report.html built from stub
 * metrics (report_fixture.h): values, verdicts, gates (pass / fail with numbers / error for
 * a missing metric), JUnit structure (element nesting and the attributes the common JUnit
 * XSD requires), a self-contained HTML page, compare and history. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mv_report.h"
#include "report_fixture.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mv-reports-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    ck_assert_int_eq(fx_make_run(g_dir), 0);
}

static void teardown(void) { mv_remove_tree(g_dir, NULL); }

static cJSON *build(void)
{
    mv_report_options o;
    mv_report_options_default(&o);
    o.stats.resamples = 1000;
    cJSON *s = NULL;
    mv_error err;
    mv_status st = mv_report_build_run(g_dir, &o, &s, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    return s;
}

static cJSON *metric(cJSON *s, const char *name)
{
    for (cJSON *m = cJSON_GetObjectItem(s, "metrics")->child; m; m = m->next)
        if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name) == 0) return m;
    ck_abort_msg("metric %s missing", name);
    return NULL;
}

START_TEST(test_summary_values_and_verdicts)
{
    cJSON *s = build();
    ck_assert_str_eq(cJSON_GetObjectItem(s, "schema")->valuestring, "mergeval.summary");
    ck_assert_int_eq(cJSON_GetObjectItem(s, "schema_version")->valueint, 1);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, "points")), 3);
    /* Alignment metrics come first. */
    cJSON *first = cJSON_GetObjectItem(s, "metrics")->child;
    ck_assert(strncmp(cJSON_GetObjectItem(first, "name")->valuestring, "alignment.", 10) == 0);
    cJSON *r1 = metric(s, "alignment.i2t_r1");
    cJSON *vals = cJSON_GetObjectItem(r1, "values");
    /* Baseline: 96/120 hits; merged: hits only among i >= 48 → 96 - (48 - 10) = 58. */
    ck_assert_double_eq_tol(cJSON_GetArrayItem(vals, 0)->valuedouble, 96.0 / 120, 1e-12);
    ck_assert_double_eq_tol(cJSON_GetArrayItem(vals, 1)->valuedouble, 58.0 / 120, 1e-12);
    cJSON *c1 = cJSON_GetArrayItem(cJSON_GetObjectItem(r1, "vs_baseline"), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(c1, "verdict")->valuestring, "regressed");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(c1, "p_mcnemar")->valuedouble, mv_mcnemar_exact_p(0, 38), 1e-15);
    ck_assert_int_eq(cJSON_GetObjectItem(c1, "discordant_worse")->valueint, 38);
    cJSON *ci = cJSON_GetObjectItem(c1, "ci95");
    ck_assert(cJSON_GetArrayItem(ci, 0)->valuedouble < -38.0 / 120 && cJSON_GetArrayItem(ci, 1)->valuedouble > -38.0 / 120);
    ck_assert(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(r1, "vs_baseline"), 0)));
    /* Retrain vs merged ("previous"): 12 hits back (i < 48, i % 4 == 1), McNemar p = 2/2^12. */
    cJSON *c2 = cJSON_GetArrayItem(cJSON_GetObjectItem(r1, "vs_previous"), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(c2, "verdict")->valuestring, "improved");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(c2, "p_mcnemar")->valuedouble, 2.0 / 4096, 1e-12);
    /* Worst items: the 38 lost hits, each -1. */
    cJSON *w = cJSON_GetObjectItem(r1, "worst_items");
    ck_assert_int_eq(cJSON_GetArraySize(w), 5);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(w->child, "delta")->valuedouble, -1.0, 1e-12);
    cJSON *ppl = metric(s, "clinical.perplexity");
    ck_assert_str_eq(cJSON_GetObjectItem(ppl, "direction")->valuestring, "lower");
    cJSON *pc = cJSON_GetArrayItem(cJSON_GetObjectItem(ppl, "vs_baseline"), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(pc, "verdict")->valuestring, "improved");
    cJSON *pp = cJSON_GetArrayItem(cJSON_GetObjectItem(ppl, "vs_previous"), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(pp, "verdict")->valuestring, "no significant change");
    /* Families: the gated alignment metrics are primary, i2t_mrr (no gate) secondary; the
     * verdict uses the Holm-adjusted p, never smaller than the raw one. */
    ck_assert_str_eq(cJSON_GetObjectItem(r1, "family")->valuestring, "primary");
    ck_assert_str_eq(cJSON_GetObjectItem(metric(s, "alignment.i2t_mrr"), "family")->valuestring, "secondary");
    ck_assert_str_eq(cJSON_GetObjectItem(c1, "test")->valuestring, "McNemar exact");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(c1, "p_value")->valuedouble, mv_mcnemar_exact_p(0, 38), 1e-15);
    ck_assert(cJSON_GetObjectItem(c1, "p_adjusted")->valuedouble >= cJSON_GetObjectItem(c1, "p_value")->valuedouble);
    cJSON *mrr = cJSON_GetArrayItem(cJSON_GetObjectItem(metric(s, "alignment.i2t_mrr"), "vs_baseline"), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(mrr, "test")->valuestring, "paired bootstrap t");
    ck_assert(cJSON_GetObjectItem(mrr, "mde80")->valuedouble > 0);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(mrr, "comparable")));
    /* Holm by hand over the primary family: 3 gated metrics (i2t_r1, t2i_r1 absent from the
     * fixture, perplexity) x 2 points x 2 references = 8 testable comparisons. */
    cJSON *st = cJSON_GetObjectItem(s, "statistics");
    ck_assert_int_eq(cJSON_GetObjectItem(st, "comparisons_primary")->valueint, 8);
    ck_assert_int_eq(cJSON_GetObjectItem(st, "comparisons_secondary")->valueint, 4);
    ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(st, "multiplicity")->valuestring, "Holm"));
    cJSON_Delete(s);
}
END_TEST

START_TEST(test_gates)
{
    cJSON *s = build();
    cJSON *g = cJSON_GetObjectItem(s, "gates");
    ck_assert_int_eq(cJSON_GetArraySize(g), 3);
    cJSON *g0 = cJSON_GetArrayItem(g, 0), *g1 = cJSON_GetArrayItem(g, 1), *g2 = cJSON_GetArrayItem(g, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(g0, "status")->valuestring, "fail");
    const char *msg = cJSON_GetObjectItem(g0, "message")->valuestring;
    ck_assert_msg(strstr(msg, "alignment.i2t_r1 at iter 1 merged: 0.4833 vs baseline 0.8") &&
                  strstr(msg, "significant drop beyond the margin 0.02"), "%s", msg);
    /* require_significance is accepted but deprecated, and says so. */
    ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(g0, "deprecated")->valuestring, "require_significance"));
    ck_assert_str_eq(cJSON_GetObjectItem(g0, "on_inconclusive")->valuestring, "fail");
    ck_assert_str_eq(cJSON_GetObjectItem(g1, "status")->valuestring, "pass");
    ck_assert_str_eq(cJSON_GetObjectItem(g2, "status")->valuestring, "error");
    ck_assert(strstr(cJSON_GetObjectItem(g2, "message")->valuestring, "not produced") != NULL);
    ck_assert_int_eq(cJSON_GetObjectItem(s, "gates_failed")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(s, "exit_code")->valueint, 1);
    cJSON_Delete(s);
}
END_TEST

START_TEST(test_gate_significance_and_relative)
{
    /* A drop beyond the bound that is not significant passes when significance is required. */
    const char *gates = "[{\"metric\":\"alignment.i2t_r1\",\"vs\":\"previous\",\"max_drop\":0.0,\"require_significance\":true},"
                        "{\"metric\":\"alignment.i2t_r1\",\"vs\":\"baseline\",\"max_drop_rel\":0.5}]";
    mv_report_point pts[2] = { { "a", NULL, NULL, 0 }, { "b", NULL, NULL, 0 } };
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", g_dir, FX_POINTS[1]);
    snprintf(b, sizeof b, "%s/%s", g_dir, FX_POINTS[0]);   /* reversed: b is "better" */
    pts[0].dir = a; pts[1].dir = b;
    cJSON *gj = cJSON_Parse(gates);
    mv_report_options o;
    mv_report_options_default(&o);
    cJSON *s = NULL;
    mv_error err;
    ck_assert_int_eq(mv_report_build(pts, 2, NULL, 0, gj, NULL, &o, &s, &err), MV_OK);
    cJSON *g = cJSON_GetObjectItem(s, "gates");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "status")->valuestring, "pass");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "status")->valuestring, "pass");
    cJSON_Delete(s);
    /* Relative bound: 0.8 → 0.483 is a 39.6% drop; 0.3 fails, 0.5 passes. */
    snprintf(a, sizeof a, "%s/%s", g_dir, FX_POINTS[0]);
    snprintf(b, sizeof b, "%s/%s", g_dir, FX_POINTS[1]);
    cJSON_Delete(gj);
    /* Margins 0.15, 0.3 and 0.7 of the reference 0.8 (0.12, 0.24, 0.56) against the drop's
     * interval (about [0.23, 0.40]): beyond it, straddled, and clear of it. */
    gj = cJSON_Parse("[{\"metric\":\"alignment.i2t_r1\",\"max_drop_rel\":0.15},{\"metric\":\"alignment.i2t_r1\",\"max_drop_rel\":0.7},"
                     "{\"metric\":\"alignment.i2t_r1\",\"max_drop_rel\":0.3},"
                     "{\"metric\":\"alignment.i2t_r1\",\"max_drop_rel\":0.3,\"on_inconclusive\":\"warn\"},"
                     "{\"metric\":\"alignment.i2t_r1\",\"max_drop_rel\":0.3,\"on_inconclusive\":\"pass\"}]");
    ck_assert_int_eq(mv_report_build(pts, 2, NULL, 0, gj, NULL, &o, &s, &err), MV_OK);
    g = cJSON_GetObjectItem(s, "gates");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "status")->valuestring, "fail");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "status")->valuestring, "pass");
    const char *m1 = cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "message")->valuestring;
    ck_assert_msg(strstr(m1, "non-inferior (margin 0.56)"), "%s", m1);
    for (int k = 2; k < 5; k++)
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, k), "status")->valuestring, "inconclusive");
    /* Only the default (fail) blocks; inconclusive reports what would settle it. */
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 2), "blocking")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 3), "blocking")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 4), "blocking")));
    const char *m2 = cJSON_GetObjectItem(cJSON_GetArrayItem(g, 2), "message")->valuestring;
    ck_assert_msg(strstr(m2, "inconclusive") && strstr(m2, "paired items (now 120) would settle it") &&
                  strstr(m2, "on_inconclusive: fail"), "%s", m2);
    ck_assert_int_eq(cJSON_GetObjectItem(s, "gates_failed")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(s, "gates_inconclusive")->valueint, 3);
    /* JUnit: the blocking inconclusive gate is a failure, the warning one a skipped case. */
    char *x = mv_report_junit(s);
    ck_assert_msg(strstr(x, "failures=\"2\"") && strstr(x, "skipped=\"1\"") && strstr(x, "<skipped message=") &&
                  strstr(x, "type=\"GateInconclusive\""), "%s", x);
    free(x);
    cJSON *chk = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "checks"), 0);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(chk, "drop_rel")->valuedouble, 38.0 / 96, 1e-9);
    cJSON_Delete(s);
    cJSON_Delete(gj);
}
END_TEST

/* "at": "final" judges only the last point: a dip in the middle (the damaged merge) fails
 * an "every" gate but not a "final" one once the last point is back at the baseline. */
START_TEST(test_gate_at_final)
{
    char d0[512], d1[512];
    snprintf(d0, sizeof d0, "%s/%s", g_dir, FX_POINTS[0]);
    snprintf(d1, sizeof d1, "%s/%s", g_dir, FX_POINTS[1]);
    mv_report_point pts[3] = { { "baseline", d0, NULL, 0 }, { "merged", d1, NULL, 0 }, { "retrained", d0, NULL, 0 } };
    cJSON *gj = cJSON_Parse("[{\"metric\":\"alignment.i2t_r1\",\"max_drop\":0.02},"
                            "{\"metric\":\"alignment.i2t_r1\",\"max_drop\":0.02,\"at\":\"final\"},"
                            "{\"metric\":\"alignment.i2t_r1\",\"max_drop\":0.02,\"at\":\"final\",\"vs\":\"previous\"}]");
    mv_report_options o;
    mv_report_options_default(&o);
    o.stats.resamples = 1000;
    cJSON *s = NULL;
    mv_error err;
    ck_assert_int_eq(mv_report_build(pts, 3, NULL, 0, gj, NULL, &o, &s, &err), MV_OK);
    cJSON *g = cJSON_GetObjectItem(s, "gates");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 0), "status")->valuestring, "fail");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "status")->valuestring, "pass");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "at")->valuestring, "final");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 1), "checks")), 1);
    /* Final vs previous compares retrained with merged: an improvement, so it passes. */
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(g, 2), "status")->valuestring, "pass");
    ck_assert_int_eq((int)cJSON_GetObjectItem(s, "gates_failed")->valuedouble, 1);
    cJSON_Delete(s);
    cJSON_Delete(gj);
}
END_TEST

/* Minimal XML walker: checks nesting, and records elements with their parent. */
typedef struct xml_check { int depth; char stack[16][32]; int testcases, failures, errors; int ok; char why[200]; } xml_check;

static void xml_walk(const char *x, xml_check *c)
{
    c->ok = 1;
    const char *p = x;
    if (strncmp(p, "<?xml", 5) == 0) p = strstr(p, "?>") + 2;
    while ((p = strchr(p, '<')) != NULL) {
        if (p[1] == '/') {
            char name[32];
            sscanf(p + 2, "%31[^>]", name);
            if (c->depth == 0 || strcmp(c->stack[c->depth - 1], name) != 0) {
                c->ok = 0;
                snprintf(c->why, sizeof c->why, "unbalanced </%s>", name);
                return;
            }
            c->depth--;
            p++;
            continue;
        }
        char name[32];
        sscanf(p + 1, "%31[^ />]", name);
        const char *end = strchr(p, '>');
        const char *parent = c->depth ? c->stack[c->depth - 1] : "";
        /* Allowed parents as in the JUnit XSD. */
        struct { const char *el, *parent; } rules[] = {
            { "testsuites", "" }, { "testsuite", "testsuites" }, { "properties", "testsuite" },
            { "property", "properties" }, { "testcase", "testsuite" }, { "failure", "testcase" },
            { "error", "testcase" }, { "skipped", "testcase" }, { "system-out", "testsuite" }, { "system-err", "testsuite" } };
        int known = 0;
        for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
            if (strcmp(rules[i].el, name) == 0) { known = 1; if (strcmp(rules[i].parent, parent) != 0) { c->ok = 0; snprintf(c->why, sizeof c->why, "<%s> inside <%s>", name, parent); return; } }
        if (!known) { c->ok = 0; snprintf(c->why, sizeof c->why, "unexpected <%s>", name); return; }
        if (strcmp(name, "testcase") == 0) c->testcases++;
        if (strcmp(name, "failure") == 0) c->failures++;
        if (strcmp(name, "error") == 0) c->errors++;
        if (end[-1] != '/') snprintf(c->stack[c->depth++], 32, "%s", name);
        p = end;
    }
    if (c->depth != 0) { c->ok = 0; snprintf(c->why, sizeof c->why, "unclosed <%s>", c->stack[c->depth - 1]); }
}

START_TEST(test_junit_structure)
{
    cJSON *s = build();
    char *x = mv_report_junit(s);
    xml_check c;
    memset(&c, 0, sizeof c);
    xml_walk(x, &c);
    ck_assert_msg(c.ok, "%s\n%s", c.why, x);
    ck_assert_int_eq(c.testcases, 3);
    ck_assert_int_eq(c.failures, 1);
    ck_assert_int_eq(c.errors, 1);
    const char *attrs[] = { "package=\"mergeval\"", "id=\"0\"", "tests=\"3\"", "failures=\"1\"", "errors=\"1\"",
                            "timestamp=\"", "hostname=\"", "classname=\"mergeval.gates\"", "type=\"GateFailed\"",
                            "<system-out>", "<system-err/>", "<properties>" };
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++)
        ck_assert_msg(strstr(x, attrs[i]) != NULL, "junit lacks %s:\n%s", attrs[i], x);
    /* The failure message carries the numbers. */
    ck_assert(strstr(x, "message=\"alignment.i2t_r1 at iter 1 merged: 0.4833 vs baseline 0.8") != NULL);
    /* If xmllint is available, the document must at least be well-formed XML. */
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char path[512], cmd[700];
        snprintf(path, sizeof path, "%s/j.xml", g_dir);
        mv_write_text_atomic(path, x, NULL);
        snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
        ck_assert_int_eq(system(cmd), 0);
    }
    free(x);
    cJSON_Delete(s);
}
END_TEST

static char *thumb(void *user, const char *ev, const char *id)
{
    unsigned char rgb[8 * 8 * 3];
    for (int i = 0; i < 64; i++) { rgb[i * 3] = (unsigned char)(i * 4); rgb[i * 3 + 1] = 50; rgb[i * 3 + 2] = 200; }
    return strcmp(ev, "alignment") == 0 ? mv_png_data_uri(rgb, 8, 8, 2) : NULL;
}

START_TEST(test_markdown_html_and_files)
{
    mv_report_options o;
    mv_report_options_default(&o);
    o.thumb = thumb;
    int gf = -1;
    mv_error err;
    ck_assert_int_eq(mv_report_run(g_dir, &o, &gf, &err), MV_OK);
    ck_assert_int_eq(gf, 2);
    char p[600];
    char *t = NULL;
    size_t n;
    snprintf(p, sizeof p, "%s/report.md", g_dir);
    ck_assert_int_eq(mv_read_file(p, 0, &t, &n, &err), MV_OK);
    ck_assert(strstr(t, "| Gate | Status | Detail |") && strstr(t, "❌ fail") && strstr(t, "## Biggest changes"));
    ck_assert(strstr(t, "| `alignment.i2t_r1` | primary | higher | 0.8 | 0.4833 🔻 | 0.5833 🔻 |") != NULL);
    /* raw → adjusted p, and the method stated */
    ck_assert_msg(strstr(t, " → ") && strstr(t, "Holm step-down adjustment within each family"), "%s", t);
    ck_assert(strstr(t, "within noise") == NULL && strstr(t, "recovered") == NULL);
    /* Skipped records are visible, per evaluation. */
    ck_assert_msg(strstr(t, "| `clinical` | 80 | 3 ⚠️ |") != NULL, "%s", strstr(t, "## Data") ? strstr(t, "## Data") : t);
    ck_assert(strstr(t, "| `alignment` | ") != NULL);
    mv_free(t);
    snprintf(p, sizeof p, "%s/report.html", g_dir);
    ck_assert_int_eq(mv_read_file(p, 0, &t, &n, &err), MV_OK);
    ck_assert(strstr(t, "<svg") && strstr(t, "<polygon") && strstr(t, "data:image/png;base64,iVBORw0KGgo"));
    ck_assert(strstr(t, "<script") == NULL);
    /* Self-contained: the only URL is the SVG namespace. */
    for (const char *q = strstr(t, "http"); q; q = strstr(q + 1, "http"))
        ck_assert_msg(strncmp(q, "http://www.w3.org/2000/svg", 26) == 0, "external reference: %.60s", q);
    /* Alignment charts before the others. */
    ck_assert(strstr(t, "alignment.i2t_r1 (higher") < strstr(t, "clinical.perplexity (lower"));
    mv_free(t);
    snprintf(p, sizeof p, "%s/summary.json", g_dir);
    ck_assert(mv_path_exists(p));
    snprintf(p, sizeof p, "%s/junit.xml", g_dir);
    ck_assert(mv_path_exists(p));
}
END_TEST

START_TEST(test_history)
{
    const char *dirs[2] = { g_dir, g_dir };
    cJSON *h = NULL;
    mv_error err;
    ck_assert_int_eq(mv_report_history(dirs, 2, &h, &err), MV_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(h, "points")), 2);
    cJSON *m = cJSON_GetObjectItem(h, "metrics")->child;
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "vs_previous"), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(c, "verdict")->valuestring, "no significant change");
    char *html = mv_report_history_html(h);
    ck_assert(strstr(html, "<svg") != NULL);
    free(html);
    cJSON_Delete(h);
    const char *bad[1] = { "/nonexistent-run" };
    ck_assert_int_eq(mv_report_history(bad, 1, &h, &err), MV_E_NOT_FOUND);
    ck_assert(strstr(err.msg, "not a run directory") != NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reports");
    TCase *tc = tcase_create("reports");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_summary_values_and_verdicts);
    tcase_add_test(tc, test_gates);
    tcase_add_test(tc, test_gate_significance_and_relative);
    tcase_add_test(tc, test_gate_at_final);
    tcase_add_test(tc, test_junit_structure);
    tcase_add_test(tc, test_markdown_html_and_files);
    tcase_add_test(tc, test_history);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
