/* tests/test_lmeval.c — the lm-eval evaluator on harness-format fixtures (tests/data/lmeval,
 * written by tests/golden/make_lmeval_fixtures.py): every "<metric>,<filter>" number of the
 * chosen results_*.json is imported to 1e-9 (read here independently with cJSON) and
 * recomputed from items.jsonl; binary flags, directions, groups, gzip, the old layout, the
 * timestamp choice; and the bad input: truncated/malformed/short/duplicated samples files,
 * missing samples (--log_samples), truncated .gz, unreproducible aggregates (scalar), a
 * group averaged by subtask, several models in one folder; params.command running a stand-in
 * harness (tests/stand_in_lm_eval.sh) before the import, its failure and timeout. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>
#include "mv_eval.h"
#include "mv_metrics_io.h"
#include "mv_registry_host.h"

#define D "tests/data/lmeval"
#define RUN_A_RESULTS D "/run_a/org__model-a/results_2026-12-01T10-20-30.123456.json"
#define RUN_A_OLD_DATE "2026-11-30T09-15-02.000001"
#define RUN_A_DATE "2026-12-01T10-20-30.123456"

static mv_registry *reg;
static mv_context *ctx;
static char dir[64];

static void setup(void)
{
    mv_error err = {0};
    ck_assert_int_eq(mv_registry_new(&reg, &err), MV_OK);
    char *bd = mv_registry_builtin_dir();
    mv_registry_load_dir(reg, bd, NULL, NULL);
    mv_free(bd);
    ck_assert_msg(mv_registry_find(reg, MV_KIND_EVALUATOR, "lm-eval") != NULL, "lm-eval not built");
    ck_assert_int_eq(mv_context_new(&ctx, reg, &err), MV_OK);
    mv_context_set_log_level(ctx, MV_LOG_ERROR);
    mv_context_set_progress(ctx, 0);
    snprintf(dir, sizeof dir, "/tmp/mv_test_lmeval_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    mv_error err = {0};
    mv_remove_tree(dir, &err);
    mv_context_free(ctx);
    mv_registry_free(reg);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/* Import `path` (params given as extra JSON members, may be "") into dir/<out>. */
static mv_status import(const char *path, const char *extra, const char *out, mv_metrics **res,
                        mv_error *err)
{
    char params[1024], od[256];
    snprintf(params, sizeof params, "{\"path\":\"%s\"%s%s}", path, *extra ? "," : "", extra);
    snprintf(od, sizeof od, "%s/%s", dir, out);
    mv_eval_spec spec = {.evaluator = "lm-eval", .params_json = params, .shard_count = 1, .out_dir = od};
    return mv_eval_run(ctx, &spec, res, err);
}

static cJSON *read_json(const char *path)
{
    char *text = NULL;
    size_t len;
    ck_assert_int_eq(mv_read_file(path, 0, &text, &len, NULL), MV_OK);
    cJSON *j = cJSON_Parse(text);
    mv_free(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* Every "<metric>,<filter>" number of results_file equals the imported metric
 * <task>.<metric>[.<filter>] to 1e-9; returns how many were checked. */
static int check_against(const mv_metrics *m, const char *results_file)
{
    cJSON *doc = read_json(results_file);
    int n = 0;
    for (cJSON *t = cJSON_GetObjectItem(doc, "results")->child; t; t = t->next)
        for (cJSON *kv = t->child; kv; kv = kv->next) {
            const char *comma = strchr(kv->string, ',');
            if (!comma || !cJSON_IsNumber(kv) || strstr(kv->string, "_stderr,")) continue;
            char name[256];
            int none = strcmp(comma + 1, "none") == 0;
            snprintf(name, sizeof name, "%s.%.*s%s%s", t->string, (int)(comma - kv->string),
                     kv->string, none ? "" : ".", none ? "" : comma + 1);
            double got = mv_metrics_get(m, name);
            ck_assert_msg(fabs(got - kv->valuedouble) <= 1e-9 * fmax(1, fabs(kv->valuedouble)),
                          "%s: imported %.17g, results file %.17g", name, got, kv->valuedouble);
            n++;
        }
    ck_assert_int_eq((int)mv_metrics_count(m), n);
    cJSON_Delete(doc);
    return n;
}

static long find(const mv_metrics *m, const char *name)
{
    for (size_t i = 0; i < mv_metrics_count(m); i++)
        if (!strcmp(mv_metrics_name(m, i), name)) return (long)i;
    ck_abort_msg("no metric %s", name);
    return -1;
}

START_TEST(imports_equal_the_harness_numbers)
{
    mv_metrics *m = NULL;
    mv_error err = {0};
    ck_assert_msg(import(D "/run_a", "", "a", &m, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(check_against(m, RUN_A_RESULTS), 11);
    ck_assert_uint_eq(mv_metrics_n_items(m), 40 + 2 * 30 + 10 + 8 + 11 + 14);
    /* 0/1 metrics are binary (McNemar), perplexities lower-is-better and not binary */
    ck_assert(mv_metrics_is_binary(m, (size_t)find(m, "arc_easy.acc")));
    ck_assert(mv_metrics_is_binary(m, (size_t)find(m, "gsm8k.exact_match.flexible-extract")));
    ck_assert(mv_metrics_is_binary(m, (size_t)find(m, "mmlu.acc")));
    ck_assert(!mv_metrics_is_binary(m, (size_t)find(m, "wikitext.word_perplexity")));
    ck_assert_int_eq(mv_metrics_direction(m, (size_t)find(m, "wikitext.bits_per_byte")), MV_LOWER_IS_BETTER);
    ck_assert_int_eq(mv_metrics_direction(m, (size_t)find(m, "arc_easy.acc_norm")), MV_HIGHER_IS_BETTER);
    ck_assert_int_eq(mv_metrics_count_value(m, "metrics_without_items"), 0);
    mv_metrics_free(m);
    /* what was written recomputes to the same numbers from items.jsonl alone */
    char od[256];
    snprintf(od, sizeof od, "%s/a", dir);
    ck_assert_int_eq(mv_metrics_read(&m, od, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    check_against(m, RUN_A_RESULTS);
    ck_assert_str_eq(mv_metrics_evaluator_name(m), "lm-eval");
    /* one item per document and filter: gsm8k/<doc_id>/<filter> */
    int found = 0;
    for (size_t i = 0; i < mv_metrics_n_items(m); i++)
        found += !strcmp(mv_metrics_item_id(m, i), "gsm8k/7/strict-match") ||
                 !strcmp(mv_metrics_item_id(m, i), "gsm8k/7/flexible-extract") ||
                 !strcmp(mv_metrics_item_id(m, i), "arc_easy/7");
    ck_assert_int_eq(found, 3);
    mv_metrics_free(m);
}
END_TEST

START_TEST(gzip_and_old_layout)
{
    mv_metrics *m = NULL;
    mv_error err = {0};
    ck_assert_msg(import(D "/run_b", "", "b", &m, &err) == MV_OK, "%s", err.msg);   /* gsm8k is .gz */
    check_against(m, D "/run_b/org__model-b/results_2026-12-02T08-00-00.654321.json");
    mv_metrics_free(m);
    ck_assert_msg(import(D "/old", "", "old", &m, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(check_against(m, D "/old/results.json"), 2);
    ck_assert_uint_eq(mv_metrics_n_items(m), 10);
    mv_metrics_free(m);
    /* a results file given directly */
    ck_assert_msg(import(RUN_A_RESULTS, "", "file", &m, &err) == MV_OK, "%s", err.msg);
    check_against(m, RUN_A_RESULTS);
    mv_metrics_free(m);
}
END_TEST

START_TEST(newest_results_by_default_or_the_one_asked)
{
    mv_metrics *m = NULL;
    mv_error err = {0};
    ck_assert_msg(import(D "/run_a/org__model-a", "\"timestamp\":\"" RUN_A_OLD_DATE "\"", "old", &m,
                         &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(check_against(m, D "/run_a/org__model-a/results_" RUN_A_OLD_DATE ".json"), 2);
    ck_assert_double_eq_tol(mv_metrics_get(m, "arc_easy.acc"), 1.0, 1e-12);
    mv_metrics_free(m);
    ck_assert_int_eq(import(D "/run_a", "\"timestamp\":\"2020-01-01T00-00-00.0\"", "x", NULL, &err),
                     MV_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, RUN_A_DATE));   /* lists what is there */
    /* sharding an import is refused, not silently split */
    char od[256];
    snprintf(od, sizeof od, "%s/sh", dir);
    mv_eval_spec spec = {.evaluator = "lm-eval", .params_json = "{\"path\":\"" D "/run_a\"}",
                         .shard_index = 0, .shard_count = 2, .out_dir = od};
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_UNSUPPORTED);
    spec.params_json = "{}";
    spec.shard_count = 1;
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "--output_path"));
}
END_TEST

/* A private copy of run_a to damage; returns its model folder. */
static const char *copy_run_a(void)
{
    static char md[300];
    sh("rm -rf %s/c && cp -r " D "/run_a %s/c", dir, dir);
    snprintf(md, sizeof md, "%s/c/org__model-a", dir);
    return md;
}

static void expect_error(mv_status want, const char *needle1, const char *needle2)
{
    mv_error err = {0};
    char p[300];
    snprintf(p, sizeof p, "%s/c", dir);
    mv_status st = import(p, "", "bad", NULL, &err);
    ck_assert_msg(st == want, "status %d (want %d): %s", st, want, err.msg);
    ck_assert_msg(strstr(err.msg, needle1) != NULL, "'%s' not in: %s", needle1, err.msg);
    if (needle2) ck_assert_msg(strstr(err.msg, needle2) != NULL, "'%s' not in: %s", needle2, err.msg);
    /* never a partial import */
    char mj[320];
    snprintf(mj, sizeof mj, "%s/bad/metrics.json", dir);
    ck_assert(!mv_path_exists(mj));
}

#define ARC "samples_arc_easy_" RUN_A_DATE ".jsonl"
#define GSM "samples_gsm8k_" RUN_A_DATE ".jsonl"

START_TEST(damaged_samples_are_errors_naming_file_and_line)
{
    const char *md = copy_run_a();
    /* the last line cut in half (a killed run) */
    sh("cd %s && head -c -700 " ARC " > t && mv t " ARC, md);
    expect_error(MV_E_FORMAT, ARC ":40: not valid JSON", "truncated");
    /* a bad line in the middle */
    md = copy_run_a();
    sh("cd %s && sed -i '5s/.*/{\"doc_id\": 4, oops/' " ARC, md);
    expect_error(MV_E_FORMAT, ARC ":5: not valid JSON", NULL);
    /* a whole line missing: n-samples.effective says 40 */
    md = copy_run_a();
    sh("cd %s && sed -i '$d' " ARC, md);
    expect_error(MV_E_FORMAT, "39 samples", "n-samples");
    /* a document logged twice for the same filter */
    md = copy_run_a();
    sh("cd %s && sed -n 3p " GSM " > t && sed -i '$d' " GSM " && cat t >> " GSM " && rm t", md);
    expect_error(MV_E_FORMAT, GSM ":60: doc_id of line 3 again", NULL);
    /* a sample without the value of a reported metric */
    md = copy_run_a();
    sh("cd %s && sed -i '2s/\"acc_norm\": [0-9.]*/\"acc_nrm\": 1.0/' " ARC, md);
    expect_error(MV_E_FORMAT, ARC ":2: the sample has no value for metric \"acc_norm\"", NULL);
    /* a filter the results file does not know */
    md = copy_run_a();
    sh("cd %s && sed -i '1s/strict-match/majority/' " GSM, md);
    expect_error(MV_E_FORMAT, GSM ":1: filter \"majority\"", "strict-match");
}
END_TEST

START_TEST(missing_samples_say_log_samples)
{
    const char *md = copy_run_a();
    sh("rm %s/samples_*", md);
    expect_error(MV_E_NOT_FOUND, "--log_samples", NULL);
    md = copy_run_a();
    sh("rm %s/samples_wikitext_*", md);
    expect_error(MV_E_NOT_FOUND, "no samples file for task wikitext", "samples_wikitext_" RUN_A_DATE);
    /* a truncated .gz */
    md = copy_run_a();
    sh("cd %s && gzip " GSM " && head -c 900 " GSM ".gz > t && mv t " GSM ".gz", md);
    expect_error(MV_E_FORMAT, GSM ".gz", "truncated");
    /* a results file that is not JSON */
    md = copy_run_a();
    sh("cd %s && echo '{\"results\": {' > results_" RUN_A_DATE ".json", md);
    expect_error(MV_E_FORMAT, "results_" RUN_A_DATE ".json: not valid JSON", NULL);
    /* two models' results in one --output_path folder */
    copy_run_a();
    sh("cp -r " D "/run_b/org__model-b %s/c/", dir);
    expect_error(MV_E_INPUT, "several models", "org__model-b");
    mv_error err = {0};
    ck_assert_int_eq(import("/nonexistent/lm", "", "x", NULL, &err), MV_E_NOT_FOUND);
}
END_TEST

/* Rewrite one number of the copy's results file. */
static void set_result(const char *task, const char *key, double v)
{
    char p[400];
    snprintf(p, sizeof p, "%s/c/org__model-a/results_" RUN_A_DATE ".json", dir);
    cJSON *doc = read_json(p);
    cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "results"), task);
    cJSON_ReplaceItemInObject(t, key, cJSON_CreateNumber(v));
    char *s = cJSON_Print(doc);
    mv_error err;
    ck_assert_int_eq(mv_write_text_atomic(p, s, &err), MV_OK);
    cJSON_free(s);
    cJSON_Delete(doc);
}

START_TEST(unreproducible_numbers_stay_scalar_and_groups_by_subtask)
{
    copy_run_a();
    /* no aggregation of the samples gives 0.123: imported as the harness's number */
    set_result("arc_easy", "acc_norm,none", 0.123);
    /* mmlu as the mean of its subtasks' means (aggregate_metric_list weight_by_size: false) */
    double macro = (0.5 + 6.0 / 11 + 5.0 / 14) / 3;
    set_result("mmlu", "acc,none", macro);
    mv_metrics *m = NULL;
    mv_error err = {0};
    char p[300];
    snprintf(p, sizeof p, "%s/c", dir);
    ck_assert_msg(import(p, "", "s", &m, &err) == MV_OK, "%s", err.msg);
    char rf[400];
    snprintf(rf, sizeof rf, "%s/c/org__model-a/results_" RUN_A_DATE ".json", dir);
    check_against(m, rf);
    ck_assert_int_eq(mv_metrics_count_value(m, "metrics_without_items"), 1);
    ck_assert_uint_eq(mv_metrics_metric_n_items(m, (size_t)find(m, "arc_easy.acc_norm")), 0);
    ck_assert_uint_eq(mv_metrics_metric_n_items(m, (size_t)find(m, "mmlu.acc")), 33);
    ck_assert_double_eq_tol(mv_metrics_get(m, "mmlu.acc"), macro, 1e-12);
    ck_assert(mv_metrics_is_binary(m, (size_t)find(m, "mmlu.acc")));
    mv_metrics_free(m);
}
END_TEST

/* params.command: the harness runs first (tests/stand_in_lm_eval.sh plays lm_eval), then its
 * output in {out} is imported; failures and timeouts are errors with the stderr tail. */
static mv_status run_command(const char *params, mv_metrics **res, mv_error *err)
{
    char od[256];
    snprintf(od, sizeof od, "%s/cmd", dir);
    mv_remove_tree(od, NULL);
    mv_eval_spec spec = {.evaluator = "lm-eval", .model_path = "org/model-a", .params_json = params,
                         .shard_count = 1, .seed = 7, .out_dir = od};
    return mv_eval_run(ctx, &spec, res, err);
}

START_TEST(command_runs_the_harness_then_imports)
{
    mv_metrics *m = NULL;
    mv_error err = {0};
    ck_assert_msg(run_command("{\"command\":[\"sh\",\"tests/stand_in_lm_eval.sh\",\"--model\",\"hf\","
                              "\"--model_args\",\"pretrained={model},dtype=bfloat16\",\"--tasks\","
                              "\"arc_easy,gsm8k\",\"--log_samples\",\"--output_path\",\"{out}\"]}",
                              &m, &err) == MV_OK, "%s", err.msg);
    check_against(m, RUN_A_RESULTS);
    mv_metrics_free(m);
    char p[300];
    snprintf(p, sizeof p, "%s/cmd/org__model-a/results_" RUN_A_DATE ".json", dir);
    ck_assert(mv_path_exists(p));
    snprintf(p, sizeof p, "%s/cmd/lm-eval.log", dir);
    ck_assert(mv_path_exists(p));   /* the harness's output, for a user to tail */
    /* without --log_samples the harness writes no samples: the error says so */
    ck_assert_int_eq(run_command("{\"command\":[\"sh\",\"tests/stand_in_lm_eval.sh\",\"--model_args\","
                                 "\"pretrained={model}\",\"--output_path\",\"{out}\"]}", NULL, &err),
                     MV_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "--log_samples"));
    /* a failing harness: exit status and its stderr */
    ck_assert_int_eq(run_command("{\"command\":[\"sh\",\"tests/stand_in_lm_eval.sh\",\"--bogus\"]}",
                                 NULL, &err), MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown argument --bogus"));
    /* a harness that hangs is killed at the timeout */
    ck_assert_int_eq(run_command("{\"command\":[\"sleep\",\"60\"],\"timeout\":0.3}", NULL, &err),
                     MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
    /* an unknown placeholder never reaches the command */
    ck_assert_int_eq(run_command("{\"command\":[\"true\",\"{dataset}\"]}", NULL, &err), MV_E_INPUT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lmeval");
    TCase *tc = tcase_create("import");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, imports_equal_the_harness_numbers);
    tcase_add_test(tc, gzip_and_old_layout);
    tcase_add_test(tc, newest_results_by_default_or_the_one_asked);
    tcase_add_test(tc, damaged_samples_are_errors_naming_file_and_line);
    tcase_add_test(tc, missing_samples_say_log_samples);
    tcase_add_test(tc, unreproducible_numbers_stay_scalar_and_groups_by_subtask);
    tcase_add_test(tc, command_runs_the_harness_then_imports);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
