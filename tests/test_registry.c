/* tests/test_registry.c — plugin loading: the good fixture loads with both components, and
 * every broken fixture is rejected with its specific one-line reason while loading goes on. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_registry_host.h"

static const char *fixture_dir(void)
{
    const char *b = getenv("BUILD");
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/tests/fixtures", b && *b ? b : "build");
    return buf;
}

/* Load one fixture into a fresh registry; return the diagnostics text (static buffer). */
static const char *load_one(const char *name, size_t *accepted, size_t *rejected, mv_registry **keep)
{
    static char diag_text[8192];
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fixture_dir(), name);
    mv_registry *r = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_registry_new(&r, &err), MV_OK);
    FILE *diag = fmemopen(diag_text, sizeof diag_text, "w");
    *rejected = 0;
    *accepted = mv_registry_load_file(r, path, diag, rejected);
    fclose(diag);
    if (keep) *keep = r;
    else mv_registry_free(r);
    return diag_text;
}

START_TEST(good_plugin_loads)
{
    size_t ok, bad;
    mv_registry *r;
    const char *d = load_one("good.so", &ok, &bad, &r);
    ck_assert_msg(ok == 2 && bad == 0, "accepted %zu rejected %zu: %s", ok, bad, d);
    const mv_component *c = mv_registry_find(r, MV_KIND_EVALUATOR, "fixture-good");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->version, "1.0.0");
    ck_assert_ptr_null(mv_registry_find(r, MV_KIND_LOADER, "fixture-good"));
    ck_assert_ptr_nonnull(strstr(mv_registry_file(r, 0), "good.so"));
    /* The component is usable through its vtable. */
    mv_metrics *m = NULL;
    mv_error err = {0};
    if (mv_metrics_new(&m, &err) == MV_OK) {
        const mv_evaluator_vtable *vt = c->vtable;
        ck_assert_int_eq(vt->run(NULL, NULL, NULL, m, &err), MV_OK);
        mv_metrics_free(m);
    }
    mv_registry_free(r);
}
END_TEST

typedef struct { const char *file; size_t ok; const char *needle; } reject_case;
static const reject_case cases[] = {
    {"not-a-library.so", 0, "cannot open:"},
    {"no-entry.so", 0, "no entry point"},
    /* the fixtures are built with major + 1 and minor + 7 of the current ABI (1.2) */
    {"abi-major.so", 1, "ABI mismatch: built for plugin ABI 2.2, this mergeval implements 1.2"},
    {"abi-minor.so", 1, "ABI too new: built for plugin ABI 1.9"},
    {"signature.so", 1, "build signature mismatch: plugin 'ptr4-size4-int4-blasint8-f32ieee-le'"},
    {"small-size.so", 1, "descriptor size 8 is smaller"},
    {"init-fail.so", 1, "init failed: license file /nonexistent/key not found"},
    {"bad-name.so", 1, "invalid component name 'Bad Name!'"},
    {"dup-in-file.so", 1, "duplicate name, already provided by"},
    {"endless.so", 1, "enumeration did not end"},
    {"missing-op.so", 0, "lacks required operation 'run'"},
    {"bad-params.so", 1, "enum parameter 'mode' declares no choices"},
};

START_TEST(broken_plugin_rejected)
{
    const reject_case *c = &cases[_i];
    size_t ok, bad;
    const char *d = load_one(c->file, &ok, &bad, NULL);
    ck_assert_msg(bad >= 1, "%s: expected a rejection, got none (diag: %s)", c->file, d);
    ck_assert_msg(ok == c->ok, "%s: expected %zu accepted components, got %zu", c->file, c->ok, ok);
    ck_assert_msg(strstr(d, c->needle) != NULL, "%s: diagnostics lack '%s': %.300s", c->file, c->needle, d);
    ck_assert_msg(strstr(d, c->file) != NULL, "%s: diagnostics must name the file: %.300s", c->file, d);
    ck_assert_msg(bad <= 2, "%s: %zu problem lines for one broken file: %.300s", c->file, bad, d);
    /* One line per problem: every line starts with the standard prefix. */
    for (const char *line = d; *line; ) {
        ck_assert_msg(strncmp(line, "mergeval: plugin ", 17) == 0, "bad line: %.200s", line);
        const char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        line = nl + 1;
    }
}
END_TEST

START_TEST(directory_load_continues_past_broken)
{
    mv_registry *r = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_registry_new(&r, &err), MV_OK);
    char diag_text[16384] = "";
    FILE *diag = fmemopen(diag_text, sizeof diag_text, "w");
    size_t rejected = 0;
    size_t ok = mv_registry_load_dir(r, fixture_dir(), diag, &rejected);
    fclose(diag);
    /* dup-across.so sorts before good.so, so good.so's components are the duplicates. */
    ck_assert_ptr_nonnull(mv_registry_find(r, MV_KIND_EVALUATOR, "fixture-good"));
    ck_assert_msg(strstr(diag_text, "good.so: component 'fixture-good' rejected: duplicate name") != NULL, "%.500s", diag_text);
    ck_assert_msg(strstr(diag_text, "not-a-library.so: cannot open") != NULL, "%.500s", diag_text);
    ck_assert_msg(ok >= 8, "only %zu components accepted", ok);
    ck_assert_uint_ge(rejected, 12);
    mv_registry_free(r);
}
END_TEST

START_TEST(component_check_direct)
{
    static const mv_evaluator_vtable vt = {sizeof vt, 0, 0, NULL, NULL};
    mv_component c = MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "x", "1", "s", NULL, &vt);
    mv_error err = {0};
    ck_assert_int_eq(mv_component_check(&c, &err), MV_E_ABI);
    ck_assert_ptr_nonnull(strstr(err.msg, "'run'"));
    c.kind = (mv_kind)42;
    ck_assert_int_eq(mv_component_check(&c, &err), MV_E_ABI);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown kind 42"));
}
END_TEST

START_TEST(discover_uses_env_path)
{
    mv_registry *r = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_registry_new(&r, &err), MV_OK);
    setenv("MERGEVAL_PLUGIN_PATH", "/nonexistent-dir:", 1);
    const char *extra[] = {fixture_dir()};
    FILE *devnull = fopen("/dev/null", "w");
    mv_registry_discover(r, extra, 1, devnull, NULL);
    fclose(devnull);
    ck_assert_ptr_nonnull(mv_registry_find(r, MV_KIND_EVALUATOR, "fixture-good"));
    mv_registry_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, good_plugin_loads);
    tcase_add_loop_test(tc, broken_plugin_rejected, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, directory_load_continues_past_broken);
    tcase_add_test(tc, component_check_direct);
    tcase_add_test(tc, discover_uses_env_path);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
