/* tests/test_mergekit_config.c — the mergekit YAML reader (core/lib/mergekit_config.c,
 * yaml_tree.c) and the engine's parameter evaluation (core/merge/engine.c mg_param_at):
 * what a config becomes, every problem reported with its path and line, settings evaluated
 * as mergekit's evaluate_setting (gradients at t, filter lists, fall-through). */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "mv_mergekit.h"
#include "mv_merge_engine.h"

static cJSON *convert(const char *yaml, mv_diag *d)
{
    cJSON *out = NULL;
    mv_error err;
    mv_mergekit_to_json(yaml, strlen(yaml), NULL, 0, &out, d, &err);
    return out;
}

static int has(const mv_diag *d, const char *s)
{
    for (size_t i = 0; i < d->n; i++) if (strstr(d->msgs[i], s)) return 1;
    return 0;
}

START_TEST(test_models_form)
{
    /* "." and "/" exist: the base among the models is dropped; global density folds in */
    const char *y = "merge_method: ties\nbase_model: /\nmodels:\n  - model: /\n  - model: .\n"
                    "    parameters:\n      weight:\n        - filter: mlp\n          value: [0, 1]\n"
                    "parameters:\n  density: 0.5\n  normalize: false\n  weight: 0.25\ndtype: bf16\n";
    mv_diag d = { 0 };
    cJSON *o = convert(y, &d);
    ck_assert_msg(o != NULL, "%s", d.n ? d.msgs[0] : "");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "method")->valuestring, "ties");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "out_dtype")->valuestring, "bfloat16");
    cJSON *models = cJSON_GetObjectItem(o, "models");
    ck_assert_int_eq(cJSON_GetArraySize(models), 1);
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(models, 0), "parameters");
    char *w = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "weight"));
    ck_assert_str_eq(w, "[{\"filter\":\"mlp\",\"value\":[0,1]},{\"value\":0.25}]");
    ck_assert_double_eq(cJSON_GetObjectItem(p, "density")->valuedouble, 0.5);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "parameters"), "normalize")));
    /* the engine evaluates it as mergekit would */
    double v;
    mv_error err;
    ck_assert_int_eq(mg_param_at(w, "w", "model.layers.3.mlp.up_proj.weight", 0.75, 1.0, &v, &err), MV_OK);
    ck_assert_double_eq_tol(v, 0.75, 1e-12);
    ck_assert_int_eq(mg_param_at(w, "w", "model.layers.3.self_attn.q_proj.weight", 0.75, 1.0, &v, &err), MV_OK);
    ck_assert_double_eq(v, 0.25);
    ck_assert_int_eq(mg_param_at("[{\"filter\":\"mlp\",\"value\":2}]", "w", "lm_head.weight", 0, 7.0, &v, &err), MV_OK);
    ck_assert_double_eq(v, 7.0);                       /* nothing matched: the default */
    ck_assert_int_eq(mg_param_at("[1, 0.7, 0.1]", "d", "x", 0.25, 1.0, &v, &err), MV_OK);
    ck_assert_double_eq_tol(v, 0.85, 1e-12);
    ck_assert_int_eq(mg_param_at("[1, \"a\"]", "d", "x", 0.5, 1.0, &v, &err), MV_E_INPUT);
    free(w);
    cJSON_Delete(o);
    mv_diag_free(&d);
}
END_TEST

START_TEST(test_t_positions)
{
    /* mergekit's plan: layer i of n at i/(n-1) per stack, 1 when n == 1, 0 outside layers */
    mg_job job;
    mg_out out[5];
    memset(&job, 0, sizeof job);
    memset(out, 0, sizeof out);
    const char *names[5] = { "model.embed_tokens.weight", "model.layers.0.a.weight", "model.layers.2.a.weight",
                             "vpm.encoder.layers.0.b.weight", "lm_head.weight" };
    for (int i = 0; i < 5; i++) out[i].info.name = names[i];
    job.out = out;
    job.n_out = 5;
    mg_assign_t(&job);
    ck_assert_double_eq(out[0].t, 0);
    ck_assert_double_eq(out[1].t, 0);
    ck_assert_double_eq(out[2].t, 1);
    ck_assert_double_eq(out[3].t, 1);   /* a stack with one layer */
    ck_assert_double_eq(out[4].t, 0);
}
END_TEST

START_TEST(test_slices_and_problems)
{
    const char *y = "slices:\n  - sources:\n    - model: .\n      layer_range: [0, 24]\n"
                    "  - sources:\n    - model: /\n      layer_range: [20, 40]\nmerge_method: passthrough\n";
    mv_diag d = { 0 };
    cJSON *o = convert(y, &d);
    ck_assert_msg(o != NULL, "%s", d.n ? d.msgs[0] : "");
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "slices"));
    ck_assert_str_eq(s, "[{\"sources\":[{\"input\":0,\"layer_range\":[0,24]}]},{\"sources\":[{\"input\":1,\"layer_range\":[20,40]}]}]");
    free(s);
    cJSON_Delete(o);
    mv_diag_free(&d);

    /* every problem at once, each with its path and line */
    const char *bad = "merge_method: dare_ties\nmodels:\n  - model: org/name\n    parameters: {density: abc}\n"
                      "  - model: .\n    wieght: 1\nparameters:\n  t: 0.5\nslices: []\ndtype: float8\nextra: 1\n";
    o = convert(bad, &d);
    ck_assert_ptr_null(o);
    ck_assert(has(&d, "models[0].model (line 3") && has(&d, "huggingface-cli download org/name"));
    ck_assert(has(&d, "models[0].parameters.density (line 4"));
    ck_assert(has(&d, "unknown key \"wieght\""));
    ck_assert(has(&d, "parameters.t (line 8"));
    ck_assert(has(&d, "base_model: missing"));
    ck_assert(has(&d, "dtype (line 10"));
    ck_assert(has(&d, "extra (line 11"));
    ck_assert(has(&d, "exactly one of models or slices"));
    ck_assert_uint_ge(d.n, 8);
    mv_diag_free(&d);

    /* not YAML, not a mapping, unknown method, alias bombs: problems, never a crash */
    const char *worse[] = { "merge_method: [\n", "- a\n- b\n", "merge_method: sce\nmodels: [{model: .}]\n", "",
                            "a: &a [*a, *a]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: &d [*c, *c, *c, *c]\n"
                            "e: &e [*d, *d, *d, *d]\nf: &f [*e, *e, *e, *e]\ng: &g [*f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g]\n" };
    for (size_t i = 0; i < sizeof worse / sizeof *worse; i++) {
        o = convert(worse[i], &d);
        ck_assert_ptr_null(o);
        ck_assert_uint_ge(d.n, 1);
        mv_diag_free(&d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mergekit_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_models_form);
    tcase_add_test(tc, test_t_positions);
    tcase_add_test(tc, test_slices_and_problems);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
