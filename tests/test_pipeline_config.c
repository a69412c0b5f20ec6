/* tests/test_pipeline_config.c — pipeline validation: many broken configs, each must fail
 * with the JSON path, what was expected and what was found; all problems are collected;
 * --set overrides; sweeps validate every grid point. The last case loads the built plugins
 * (build/lib/mergeval/plugins, found next to this binary) and checks plugin names and
 * declared parameters; the others pass no registry, so only structure is checked. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_pipeline.h"
#include "mv_registry_host.h"

#define GOOD \
    "{\"name\":\"t\",\"base\":{\"loader\":\"safetensors\",\"path\":\"m\"}," \
    "\"datasets\":{\"pairs\":{\"loader\":\"imagetext\",\"path\":\"p.jsonl\"}," \
    "\"clin\":{\"loader\":\"text\",\"path\":\"c.jsonl\"}}," \
    "\"iterations\":2," \
    "\"merge\":{\"strategy\":\"lora\",\"adapters\":[{\"path\":\"a\",\"key_map\":{\"model.\":\"llm.model.\"}}]}," \
    "\"train\":{\"trainer\":\"sft\",\"mix\":{\"pairs\":0.7,\"clin\":0.3},\"params\":{\"lr\":0.001}}," \
    "\"evaluate\":[{\"name\":\"alignment\",\"plugin\":\"alignment\",\"dataset\":\"pairs\"}]," \
    "\"gates\":[{\"metric\":\"alignment.i2t_r1\",\"vs\":\"baseline\",\"max_drop\":0.02}]}"

/* Parse `json` with `set` overrides; return the collected messages joined by '\n'. */
static char *errors_of(const char *json, const char *const *sets, size_t n_sets, size_t *count)
{
    mv_pipeline *p = NULL;
    mv_diag d = { 0 };
    mv_error err;
    mv_status st = mv_pipeline_parse(json, sets, n_sets, NULL, 0, &p, &d, &err);
    size_t len = 1;
    for (size_t i = 0; i < d.n; i++) len += strlen(d.msgs[i]) + 1;
    char *out = calloc(len, 1);
    for (size_t i = 0; i < d.n; i++) { strcat(out, d.msgs[i]); strcat(out, "\n"); }
    if (count) *count = d.n;
    if (st == MV_OK) ck_assert_uint_eq(d.n, 0);
    else ck_assert_int_eq(st, MV_E_INPUT);
    mv_diag_free(&d);
    mv_pipeline_free(p);
    return out;
}

static void expect_error(const char *json, const char *needle)
{
    char *e = errors_of(json, NULL, 0, NULL);
    ck_assert_msg(strstr(e, needle) != NULL, "expected \"%s\" in:\n%s", needle, e);
    free(e);
}

/* GOOD with one substring replaced. */
static char *variant(const char *from, const char *to)
{
    const char *g = GOOD;
    const char *at = strstr(g, from);
    ck_assert_msg(at != NULL, "fixture lacks %s", from);
    char *out = malloc(strlen(g) + strlen(to) + 1);
    memcpy(out, g, (size_t)(at - g));
    strcpy(out + (at - g), to);
    strcat(out, at + strlen(from));
    return out;
}

static void expect_variant(const char *from, const char *to, const char *needle)
{
    char *j = variant(from, to);
    expect_error(j, needle);
    free(j);
}

START_TEST(test_good_config)
{
    mv_pipeline *p = NULL;
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(GOOD, NULL, 0, NULL, 0, &p, NULL, &err), MV_OK);
    ck_assert_str_eq(p->name, "t");
    ck_assert_int_eq(p->iterations, 2);
    ck_assert_uint_eq(p->n_datasets, 2);
    ck_assert_str_eq(p->adapters[0].key_map_json, "{\"model.\":\"llm.model.\"}");
    ck_assert_int_eq(p->merge_every, 0);
    ck_assert_uint_eq(p->n_mix, 2);
    ck_assert_double_eq_tol(p->mix[1].weight, 0.3, 1e-12);
    ck_assert_str_eq(p->adapter_merge, "lora");
    ck_assert_uint_eq(p->n_gates, 1);
    ck_assert(p->gates[0].has_max_drop && !p->gates[0].vs_previous);
    ck_assert_uint_eq(strlen(p->config_sha256), 64);
    mv_pipeline_free(p);
}
END_TEST

START_TEST(test_type_errors)
{
    expect_variant("\"iterations\":2", "\"iterations\":\"2\"",
                   "$.iterations: expected an integer from 0 to 1000, got string \"2\"");
    expect_variant("\"iterations\":2", "\"iterations\":1.5",
                   "$.iterations: expected an integer from 0 to 1000, got number 1.5");
    expect_variant("\"mix\":{\"pairs\":0.7", "\"mix\":{\"pairs\":\"0.7\"",
                   "$.train.mix.pairs: expected a positive number (mixing weight), got string \"0.7\"");
    expect_variant("\"max_drop\":0.02", "\"max_drop\":-1",
                   "$.gates[0].max_drop: expected a number >= 0, got number -1");
    expect_variant("\"path\":\"a\",\"key_map\":{\"model.\":\"llm.model.\"}",
                   "\"path\":\"a\",\"key_map\":{\"model.\":3}",
                   "$.merge.adapters[0].key_map.model.: expected a string (the replacement prefix), got number 3");
    expect_variant("\"base\":{\"loader\":\"safetensors\",\"path\":\"m\"}", "\"base\":[1]",
                   "$.base: expected an object {\"loader\", \"path\"} or a path string, got an array");
    expect_variant("\"vs\":\"baseline\"", "\"vs\":\"main\"",
                   "$.gates[0].vs: expected \"baseline\" or \"previous\", got string \"main\"");
    expect_variant("\"adapters\":[", "\"at\":\"sometimes\",\"adapters\":[",
                   "$.merge.at: expected \"first\" or \"every\", got string \"sometimes\"");
    expect_variant("\"max_drop\":0.02", "\"max_drop\":0.02,\"require_significance\":\"yes\"",
                   "$.gates[0].require_significance: expected true or false, got string \"yes\"");
    expect_variant("\"max_drop\":0.02", "\"max_drop\":0.02,\"at\":\"last\"",
                   "$.gates[0].at: expected \"every\" (every evaluation point) or \"final\" (the last one), got string \"last\"");
    expect_variant("\"params\":{\"lr\":0.001}", "\"params\":[]",
                   "$.train.params: expected an object, got an array");
    expect_variant("\"max_drop\":0.02", "\"max_drop\":0.02,\"on_inconclusive\":\"ignore\"",
                   "$.gates[0].on_inconclusive: expected \"fail\" (default), \"warn\" or \"pass\", got string \"ignore\"");
    expect_variant("\"iterations\":2", "\"iterations\":2,\"primary\":\"alignment.i2t_r1\"",
                   "$.primary: expected an array of \"<evaluate name>.<metric>\" strings, got string");
    expect_variant("\"iterations\":2", "\"iterations\":2,\"primary\":[\"i2t_r1\"]",
                   "$.primary[0]: expected \"<evaluate name>.<metric>\" (e.g. \"alignment.i2t_r1\"), got string \"i2t_r1\"");
    /* valid: warn / pass, and a declared primary list */
    char *j = variant("\"max_drop\":0.02", "\"max_drop\":0.02,\"on_inconclusive\":\"warn\"");
    char *k = variant("\"iterations\":2", "\"iterations\":2,\"primary\":[\"alignment.t2i_r1\"]");
    mv_pipeline *p = NULL;
    mv_error err;
    ck_assert_msg(mv_pipeline_parse(j, NULL, 0, NULL, 0, &p, NULL, &err) == MV_OK, "%s", err.msg);
    mv_pipeline_free(p);
    ck_assert_msg(mv_pipeline_parse(k, NULL, 0, NULL, 0, &p, NULL, &err) == MV_OK, "%s", err.msg);
    mv_pipeline_free(p);
    free(j);
    free(k);
}
END_TEST

START_TEST(test_unknown_and_missing_keys)
{
    expect_variant("\"iterations\":2", "\"iterations\":2,\"iteratons\":3",
                   "$.iteratons: unknown key (did you mean \"iterations\"?); valid keys here: name, description, base, datasets, iterations");
    expect_variant("\"strategy\":\"lora\"", "\"strategy\":\"lora\",\"weights\":1",
                   "$.merge.weights: unknown key; valid keys here: strategy, method, adapters, models, config, params, parameters, at, out_dtype");
    expect_variant("\"metric\":\"alignment.i2t_r1\"", "\"metric\":\"alignment.i2t_r1\",\"max\":1",
                   "$.gates[0].max: unknown key; valid keys here: metric, vs, max_drop");
    expect_variant("\"base\":{\"loader\":\"safetensors\",\"path\":\"m\"}", "\"base\":{\"loader\":\"safetensors\"}",
                   "$.base.path: required key is missing");
    expect_variant("\"plugin\":\"alignment\",", "",
                   "$.evaluate[0].plugin: required key is missing");
    expect_variant("\"iterations\":2", "\"iterations\":2,\"iterations\":3", "$.iterations: duplicate key");
    expect_variant(",\"max_drop\":0.02", "",
                   "$.gates[0]: needs \"max_drop\" (absolute) or \"max_drop_rel\"");
    expect_error("{}", "$.base: required key is missing");
    expect_error("[]", "$: expected a JSON object (the pipeline), got an array");
}
END_TEST

START_TEST(test_references)
{
    expect_variant("\"mix\":{\"pairs\":0.7", "\"mix\":{\"pairz\":0.7",
                   "$.train.mix.pairz: no dataset named \"pairz\" in $.datasets (defined: pairs, clin)");
    expect_variant("\"dataset\":\"pairs\"", "\"dataset\":\"nope\"",
                   "$.evaluate[0].dataset: no dataset named \"nope\" in $.datasets");
    expect_variant("\"metric\":\"alignment.i2t_r1\"", "\"metric\":\"align.i2t_r1\"",
                   "$.gates[0].metric: \"align\" is not the name of an entry in $.evaluate");
    expect_variant("\"metric\":\"alignment.i2t_r1\"", "\"metric\":\"i2t_r1\"",
                   "$.gates[0].metric: expected \"<evaluate name>.<metric>\"");
    expect_variant("\"name\":\"alignment\"", "\"name\":\"Align ment\"",
                   "$.evaluate[0].name: \"Align ment\" must use only a-z");
    expect_variant("\"dataset\":\"pairs\"}]", "\"dataset\":\"pairs\"},{\"name\":\"alignment\",\"plugin\":\"x\"}]",
                   "$.evaluate[1].name: duplicate evaluation name \"alignment\"");
}
END_TEST

START_TEST(test_collects_all_errors)
{
    const char *bad = "{\"base\":{\"path\":3},\"datasets\":{},\"iterations\":-1,"
                      "\"evaluate\":[],\"gates\":{},\"seed\":\"x\",\"stage_timeout\":-5,\"bogus\":1}";
    size_t n = 0;
    char *e = errors_of(bad, NULL, 0, &n);
    ck_assert_msg(n >= 8, "only %zu errors:\n%s", n, e);
    const char *needles[] = { "$.base.path: expected a non-empty string, got number 3",
                              "$.datasets: expected at least one dataset",
                              "$.iterations: expected an integer from 0 to 1000, got number -1",
                              "$.evaluate: expected a non-empty array",
                              "$.gates: expected an array",
                              "$.seed: expected an integer >= 0, got string \"x\"",
                              "$.stage_timeout: expected a number of seconds >= 0",
                              "$.bogus: unknown key" };
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        ck_assert_msg(strstr(e, needles[i]) != NULL, "missing \"%s\" in:\n%s", needles[i], e);
    free(e);
    /* err carries the first message and how many more. */
    mv_pipeline *p = NULL;
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(bad, NULL, 0, NULL, 0, &p, NULL, &err), MV_E_INPUT);
    ck_assert(strstr(err.msg, "more problems") != NULL);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_syntax_error)
{
    expect_error("{\n  \"base\": {\"path\": \"m\"},\n  \"iterations\": 2,,\n}",
                 "$: not valid JSON: syntax error at line 3");
}
END_TEST

START_TEST(test_set_overrides)
{
    const char *sets[] = { "train.params.lr=3e-4", "$.iterations=3", "evaluate[0].params.k=8",
                           "merge.at=every", "name=hello" };
    mv_pipeline *p = NULL;
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets, 5, NULL, 0, &p, NULL, &err), MV_OK);
    ck_assert_int_eq(p->iterations, 3);
    ck_assert_int_eq(p->merge_every, 1);
    ck_assert_str_eq(p->name, "hello");
    ck_assert(strstr(p->train_params_json, "0.0003") != NULL);
    ck_assert(strstr(p->evals[0].params_json, "\"k\":8") != NULL);
    char sha[65];
    strcpy(sha, p->config_sha256);
    mv_pipeline_free(p);
    ck_assert_int_eq(mv_pipeline_parse(GOOD, NULL, 0, NULL, 0, &p, NULL, &err), MV_OK);
    ck_assert_str_ne(sha, p->config_sha256);   /* overrides change the config hash */
    mv_pipeline_free(p);
    const char *bad[] = { "iterations=\"x\"" };
    char *e = errors_of(GOOD, bad, 1, NULL);
    ck_assert(strstr(e, "$.iterations: expected an integer from 0 to 1000, got string \"x\"") != NULL);
    free(e);
    const char *bad2[] = { "noequals" };
    e = errors_of(GOOD, bad2, 1, NULL);
    ck_assert(strstr(e, "--set noequals: expected PATH=VALUE") != NULL);
    free(e);
    const char *bad3[] = { "evaluate[5].plugin=x" };
    e = errors_of(GOOD, bad3, 1, NULL);
    ck_assert(strstr(e, "index [5] does not exist") != NULL);
    free(e);
}
END_TEST

/* "launcher" at pipeline level and per stage, "shards": values checked by the launcher's
 * kind, resolved per stage; where stages run is left out of the run identity (run_sha256). */
START_TEST(test_launchers)
{
    expect_variant("\"iterations\":2", "\"iterations\":2,\"launcher\":{\"kind\":\"pbs\"}",
                   "$.launcher.kind: unknown launcher \"pbs\"; available: local, slurm");
    expect_variant("\"iterations\":2", "\"iterations\":2,\"launcher\":\"slurm\"",
                   "$.launcher: expected an object {\"kind\": one of local, slurm, ...}");
    expect_variant("\"iterations\":2", "\"iterations\":2,\"launcher\":{\"partition\":\"gpu\"}",
                   "$.launcher.kind: required key is missing (expected one of local, slurm)");
    expect_variant("\"params\":{\"lr\":0.001}", "\"params\":{\"lr\":0.001},\"launcher\":{\"kind\":\"slurm\",\"cpus_per_task\":0}",
                   "$.train.launcher.cpus_per_task: expected an integer >= 1");
    expect_variant("\"dataset\":\"pairs\"}", "\"dataset\":\"pairs\",\"launcher\":{\"kind\":\"slurm\",\"gpus\":1}}",
                   "$.evaluate[0].launcher.gpus: unknown key; valid keys here: kind, partition, gres, time");
    expect_variant("\"dataset\":\"pairs\"}", "\"dataset\":\"pairs\",\"launcher\":{\"kind\":\"slurm\",\"partition\":\"a\\n#SBATCH --x\"}}",
                   "$.evaluate[0].launcher.partition: expected a non-empty one-line string");
    expect_variant("\"dataset\":\"pairs\"}", "\"dataset\":\"pairs\",\"launcher\":{\"kind\":\"slurm\",\"extra_args\":[\"qos=x\"]}}",
                   "$.evaluate[0].launcher.extra_args: expected an array of sbatch options");
    expect_variant("\"dataset\":\"pairs\"}", "\"dataset\":\"pairs\",\"launcher\":{\"kind\":\"local\",\"partition\":\"x\"}}",
                   "$.evaluate[0].launcher.partition: unknown key; the local launcher takes only \"kind\"");
    expect_variant("\"dataset\":\"pairs\"}", "\"dataset\":\"pairs\",\"shards\":0}",
                   "$.evaluate[0].shards: expected an integer from 1 to 1000 (tasks whose outputs are combined), got number 0");
    const char *sets[] = { "launcher={\"kind\":\"slurm\",\"partition\":\"cpu\",\"time\":30}",
                           "train.launcher={\"kind\":\"slurm\",\"gres\":\"gpu:1\",\"time\":\"4:00:00\"}",
                           "evaluate[0].shards=4" };
    mv_pipeline *p = NULL, *q = NULL;
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets, 3, NULL, 0, &p, NULL, &err), MV_OK);
    ck_assert_int_eq(mv_pipeline_parse(GOOD, NULL, 0, NULL, 0, &q, NULL, &err), MV_OK);
    ck_assert(strstr(p->launcher_json, "\"partition\":\"cpu\"") != NULL);
    ck_assert(strstr(p->train_launcher_json, "gpu:1") != NULL);
    ck_assert_ptr_null(p->merge_launcher_json);
    ck_assert_uint_eq(p->evals[0].shards, 4);
    ck_assert_uint_eq(q->evals[0].shards, 1);
    ck_assert_str_ne(p->config_sha256, q->config_sha256);
    ck_assert_str_eq(p->run_sha256, q->run_sha256);
    mv_pipeline_free(p);
    mv_pipeline_free(q);
}
END_TEST

START_TEST(test_sweep)
{
    char *j = variant("\"iterations\":2", "\"iterations\":2,\"sweep\":{\"train.params.lr\":[0.001,0.003],\"iterations\":[1,\"x\"]}");
    char *e = errors_of(j, NULL, 0, NULL);
    ck_assert_msg(strstr(e, "sweep point 2 (train.params.lr=0.001, iterations=\"x\"): $.iterations: expected an integer") != NULL, "%s", e);
    ck_assert(strstr(e, "sweep point 0") == NULL);
    free(e);
    free(j);
    j = variant("\"iterations\":2", "\"iterations\":2,\"sweep\":{\"train.params.lr\":[0.001,0.003]}");
    mv_pipeline *p = NULL;
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(j, NULL, 0, NULL, 0, &p, NULL, &err), MV_OK);
    ck_assert_ptr_nonnull(p->sweep_json);
    mv_pipeline_free(p);
    free(j);
    expect_variant("\"iterations\":2", "\"iterations\":2,\"sweep\":{\"train.params.lr\":3}",
                   "$.sweep[\"train.params.lr\"]: expected a non-empty array of values, got number 3");
}
END_TEST

START_TEST(test_paths_checked)
{
    mv_pipeline *p = NULL;
    mv_diag d = { 0 };
    mv_error err;
    ck_assert_int_eq(mv_pipeline_parse(GOOD, NULL, 0, NULL, 1, &p, &d, &err), MV_E_INPUT);
    int found_base = 0, found_ds = 0, found_ad = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (strstr(d.msgs[i], "$.base.path: \"m\" does not exist")) found_base = 1;
        if (strstr(d.msgs[i], "$.datasets.pairs.path: \"p.jsonl\" does not exist")) found_ds = 1;
        if (strstr(d.msgs[i], "$.merge.adapters[0].path: \"a\" does not exist")) found_ad = 1;
    }
    ck_assert(found_base && found_ds && found_ad);
    mv_diag_free(&d);
}
END_TEST

START_TEST(test_plugins_checked)
{
    mv_registry *reg = NULL;
    mv_error err;
    ck_assert_int_eq(mv_registry_new(&reg, &err), MV_OK);
    mv_registry_discover(reg, NULL, 0, stderr, NULL);
    ck_assert_msg(mv_registry_find(reg, MV_KIND_MERGE, "lora") && mv_registry_find(reg, MV_KIND_TRAINER, "sft") &&
                  mv_registry_find(reg, MV_KIND_EVALUATOR, "alignment"),
                  "the built plugins (lora, sft, alignment) were not found next to the test binary; build them first (make all-tests)");
    mv_pipeline *p = NULL;
    ck_assert_int_eq(mv_pipeline_parse(GOOD, NULL, 0, reg, 0, &p, NULL, &err), MV_OK);
    mv_pipeline_free(p);
    const char *sets[] = { "merge.strategy=lorra", "train.params.lr=\"1e-4\"", "evaluate[0].params.distractor=3",
                           "evaluate[0].plugin=perplexityy", "train.trainer=sft", "datasets.pairs.loader=safetensors",
                           "merge.params.bogus=1" };
    mv_diag d = { 0 };
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets, 4, reg, 0, &p, &d, &err), MV_E_INPUT);
    const char *needles[] = {
        "$.merge.strategy: unknown merge strategy \"lorra\" (did you mean \"lora\"?); available: lora,",
        "$.train.params.lr: expected number, got string \"1e-4\"",
        "$.evaluate[0].plugin: unknown evaluator \"perplexityy\" (did you mean \"perplexity\"?); available: ",
    };
    size_t len = 1;
    for (size_t i = 0; i < d.n; i++) len += strlen(d.msgs[i]) + 1;
    char *all = calloc(len, 1);
    for (size_t i = 0; i < d.n; i++) { strcat(all, d.msgs[i]); strcat(all, "\n"); }
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        ck_assert_msg(strstr(all, needles[i]) != NULL, "missing \"%s\" in:\n%s", needles[i], all);
    free(all);
    mv_diag_free(&d);
    /* Evaluator parameters against the evaluator's declared specs. */
    const char *sets2[] = { "evaluate[0].params.distractor=3" };
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets2, 1, reg, 0, &p, &d, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.evaluate[0].params.distractor") && strstr(err.msg, "distractors"), "%s", err.msg);
    mv_diag_free(&d);
    /* A checkpoint loader is not a dataset loader; a merge strategy's own params are checked. */
    const char *sets3[] = { "datasets.pairs.loader=safetensors", "merge.params.bogus=1" };
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets3, 2, reg, 0, &p, &d, &err), MV_E_INPUT);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_msg(strstr(d.msgs[0], "$.datasets.pairs.loader: unknown dataset loader \"safetensors\"; available: ") != NULL, "%s", d.msgs[0]);
    ck_assert_msg(strstr(d.msgs[1], "$.merge.params.bogus") != NULL, "%s", d.msgs[1]);
    mv_diag_free(&d);
    /* Checked before anything runs: a gate metric its evaluator never defines, and a merge
     * output dtype no merge writes. */
    const char *sets4[] = { "gates[0].metric=\"alignment.i2t_r11\"", "merge.out_dtype=\"bf32\"" };
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets4, 2, reg, 0, &p, &d, &err), MV_E_INPUT);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_msg(strstr(d.msgs[0], "$.merge.out_dtype: \"bf32\" is not a dtype merges write") != NULL, "%s", d.msgs[0]);
    ck_assert_msg(strstr(d.msgs[1], "$.gates[0].metric: evaluator \"alignment\" (evaluate \"alignment\") "
                                    "defines no metric \"i2t_r11\" (did you mean \"i2t_r1\"?)") != NULL, "%s", d.msgs[1]);
    mv_diag_free(&d);
    const char *sets5[] = { "gates[0].metric=\"alignment.t2i_margin\"", "merge.out_dtype=\"bf16\"" };
    ck_assert_int_eq(mv_pipeline_parse(GOOD, sets5, 2, reg, 0, &p, &d, &err), MV_OK);
    mv_pipeline_free(p);
    mv_diag_free(&d);
    (void)sets;
    mv_registry_free(reg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_good_config);
    tcase_add_test(tc, test_type_errors);
    tcase_add_test(tc, test_unknown_and_missing_keys);
    tcase_add_test(tc, test_references);
    tcase_add_test(tc, test_collects_all_errors);
    tcase_add_test(tc, test_syntax_error);
    tcase_add_test(tc, test_set_overrides);
    tcase_add_test(tc, test_launchers);
    tcase_add_test(tc, test_sweep);
    tcase_add_test(tc, test_paths_checked);
    tcase_add_test(tc, test_plugins_checked);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
