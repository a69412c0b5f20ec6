/* tests/test_report_html.c — open report.html in headless Chromium (Debian `chromium`,
 * installed by `make check`), fail on any console message (the page has no scripts, so any
 * message is an error: a blocked resource, a parse error), and check the screenshot exists
 * and is not blank. A page that logs an error proves the check can fail.
 * Set MV_KEEP_SCREENSHOT=FILE to keep the screenshot for a look. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stb/stb_image.h>
#include "mv_report.h"
#include "report_fixture.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mv-html-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}
static void teardown(void) { mv_remove_tree(g_dir, NULL); }

static const char *chromium(void)
{
    static const char *cands[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" };
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (access(cands[i], X_OK) == 0) return cands[i];
    return NULL;
}

/* Screenshot `html` into png; returns the console lines (malloc'd, "" when none). */
static char *render(const char *html, const char *png)
{
    const char *bin = chromium();
    ck_assert_msg(bin != NULL, "chromium is not installed: run `make check` (installs the Debian "
                  "package) or `apt-get install chromium`");
    char profile[300], log[300], cmd[2400];
    snprintf(profile, sizeof profile, "%s/profile", g_dir);
    snprintf(log, sizeof log, "%s/chromium.log", g_dir);
    mv_mkdirs(profile, NULL);
    snprintf(cmd, sizeof cmd,
             "timeout 90 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--user-data-dir=%s --window-size=1280,1800 --hide-scrollbars --screenshot=%s "
             "--enable-logging=stderr --v=0 file://%s >%s 2>&1",
             bin, profile, png, html, log);
    int rc = system(cmd);
    char *text = NULL;
    size_t n;
    ck_assert_int_eq(mv_read_file(log, 0, &text, &n, NULL), MV_OK);
    ck_assert_msg(rc == 0, "chromium failed (%d):\n%s", rc, text);
    /* Keep only console lines. */
    char *out = calloc(1, n + 1);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, ":CONSOLE") || strstr(line, "Uncaught") || strstr(line, "Not allowed to load")) {
            strcat(out, line);
            strcat(out, "\n");
        }
    mv_free(text);
    return out;
}

/* The fixture run (tests/report_fixture.h) with its reports written into g_dir/run. */
static void report_fixture_run(char *run, size_t cap)
{
    snprintf(run, cap, "%s/run", g_dir);
    ck_assert_int_eq(fx_make_run(run), 0);
    mv_report_options o;
    mv_report_options_default(&o);
    mv_error err;
    int gf;
    ck_assert_int_eq(mv_report_run(run, &o, &gf, &err), MV_OK);
}

START_TEST(test_report_renders_clean)
{
    char run[300], html[400], png[400];
    report_fixture_run(run, sizeof run);
    snprintf(html, sizeof html, "%s/report.html", run);
    snprintf(png, sizeof png, "%s/shot.png", g_dir);
    char *console = render(html, png);
    ck_assert_msg(console[0] == 0, "console messages:\n%s", console);
    free(console);
    int w, h, c;
    unsigned char *px = stbi_load(png, &w, &h, &c, 3);
    ck_assert_msg(px != NULL, "no screenshot at %s", png);
    ck_assert_int_eq(w, 1280);
    /* Non-trivial: many distinct colours (charts, coloured cells, text), not a blank page. */
    int hist[4096] = { 0 }, distinct = 0, nonwhite = 0;
    for (int i = 0; i < w * h; i++) {
        const unsigned char *p = px + 3 * i;
        int k = (p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4);
        if (!hist[k]++) distinct++;
        if (p[0] < 240 || p[1] < 240 || p[2] < 240) nonwhite++;
    }
    ck_assert_msg(distinct > 40, "only %d colours", distinct);
    ck_assert_msg(nonwhite > w * h / 50, "page is nearly blank (%d non-white pixels)", nonwhite);
    /* Red (failed gate badge / regressed points) is visible. */
    int red = 0;
    for (int i = 0; i < w * h; i++) {
        const unsigned char *p = px + 3 * i;
        if (p[0] > 200 && p[1] < 80 && p[2] < 80) red++;
    }
    ck_assert_msg(red > 50, "no failed-gate colour in the screenshot");
    stbi_image_free(px);
    const char *keep = getenv("MV_KEEP_SCREENSHOT");
    if (keep) {
        char cmd[900];
        snprintf(cmd, sizeof cmd, "cp %s %s", png, keep);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

/* What a real run's summary gives the dashboard: the metric's transform (a log axis for the
 * exp-transformed perplexity) and worst items per evaluated point, each with its section. */
START_TEST(test_summary_feeds_per_point_items)
{
    char run[300];
    report_fixture_run(run, sizeof run);
    char path[400], *text = NULL, *html = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/summary.json", run);
    ck_assert_int_eq(mv_read_file(path, 0, &text, &n, NULL), MV_OK);
    cJSON *s = cJSON_Parse(text);
    ck_assert_ptr_nonnull(s);
    int np = cJSON_GetArraySize(cJSON_GetObjectItem(s, "points")), perplexity = 0;
    ck_assert_int_eq(np, 3);
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(s, "metrics")) {
        const cJSON *bp = cJSON_GetObjectItem(m, "worst_items_by_point");
        ck_assert_int_eq(cJSON_GetArraySize(bp), np);
        ck_assert(cJSON_IsNull(cJSON_GetArrayItem(bp, 0)));
        for (int p = 1; p < np; p++) ck_assert(cJSON_IsArray(cJSON_GetArrayItem(bp, p)));
        /* The final point's list is the long-standing worst_items, values renamed. */
        const cJSON *last = cJSON_GetArrayItem(bp, np - 1), *w = cJSON_GetObjectItem(m, "worst_items");
        ck_assert_int_eq(cJSON_GetArraySize(last), cJSON_GetArraySize(w));
        if (cJSON_GetArraySize(w) > 0)
            ck_assert_double_eq(cJSON_GetObjectItem(last->child, "value")->valuedouble,
                                cJSON_GetObjectItem(w->child, "final")->valuedouble);
        const char *name = cJSON_GetObjectItem(m, "name")->valuestring;
        if (strstr(name, "perplexity")) {
            perplexity = 1;
            ck_assert_str_eq(cJSON_GetObjectItem(m, "transform")->valuestring, "exp");
        }
    }
    ck_assert(perplexity);
    snprintf(path, sizeof path, "%s/report.html", run);
    ck_assert_int_eq(mv_read_file(path, 0, &html, &n, NULL), MV_OK);
    ck_assert_ptr_nonnull(strstr(html, "data-scale=\"log\""));
    ck_assert_ptr_nonnull(strstr(html, "id=\"p1\""));
    ck_assert_ptr_nonnull(strstr(html, "id=\"p2\""));
    ck_assert_ptr_null(strstr(html, "id=\"p3\""));
    cJSON_Delete(s);
    mv_free(text);
    mv_free(html);
}
END_TEST

START_TEST(test_console_errors_are_caught)
{
    char html[300], png[300];
    snprintf(html, sizeof html, "%s/bad.html", g_dir);
    snprintf(png, sizeof png, "%s/bad.png", g_dir);
    ck_assert_int_eq(mv_write_text_atomic(html, "<!DOCTYPE html><html><body><p>x</p>"
                                          "<script>console.error('boom'); undefinedFn();</script></body></html>", NULL), MV_OK);
    char *console = render(html, png);
    ck_assert_msg(strstr(console, "boom") != NULL, "console error not detected");
    free(console);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("chromium");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_report_renders_clean);
    tcase_add_test(tc, test_console_errors_are_caught);
    tcase_add_test(tc, test_summary_feeds_per_point_items);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
