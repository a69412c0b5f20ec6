/* tests/test_params.c — parameter validation: types, ranges, enums, required, unknown keys,
 * defaults, and the JSON-path messages users see. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <string.h>
#include <mergeval/mergeval.h>

static const mv_param_spec specs[] = {
    {"lr", MV_PARAM_FLOAT, "1e-4", "learning rate", NULL, 0, 1, 0},
    {"steps", MV_PARAM_INT, "200", "optimizer steps", NULL, 1, 1e9, 0},
    {"use_lora", MV_PARAM_BOOL, "false", "train LoRA", NULL, 0, -1, 0},
    {"scheduler", MV_PARAM_ENUM, "\"cosine\"", "lr schedule", "cosine|linear|constant", 0, -1, 0},
    {"name", MV_PARAM_STRING, NULL, "optional name", NULL, 0, -1, 0},
    {"mix", MV_PARAM_JSON, "{\"a\":1}", "mixing ratios", NULL, 0, -1, 0},
    {"out", MV_PARAM_STRING, NULL, "output dir", NULL, 0, -1, 1},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};

static mv_status parse(const char *json, mv_params **p, mv_error *err)
{
    return mv_params_parse(p, specs, json, "$.train.params", err);
}

START_TEST(defaults_and_values)
{
    mv_params *p = NULL;
    mv_error err = {0};
    ck_assert_int_eq(parse("{\"out\":\"x\",\"lr\":0.5,\"use_lora\":true}", &p, &err), MV_OK);
    ck_assert_double_eq_tol(mv_params_float(p, "lr"), 0.5, 1e-15);
    ck_assert_int_eq(mv_params_int(p, "steps"), 200);
    ck_assert_double_eq_tol(mv_params_float(p, "steps"), 200.0, 1e-12); /* ints read as float */
    ck_assert_int_eq(mv_params_bool(p, "use_lora"), 1);
    ck_assert_str_eq(mv_params_string(p, "scheduler"), "cosine");
    ck_assert_ptr_null(mv_params_string(p, "name"));
    ck_assert_str_eq(mv_params_json(p, "mix"), "{\"a\":1}");
    ck_assert_int_eq(mv_params_given(p, "lr"), 1);
    ck_assert_int_eq(mv_params_given(p, "steps"), 0);
    mv_params *q = mv_params_dup(p);
    ck_assert_double_eq_tol(mv_params_float(q, "lr"), 0.5, 1e-15);
    ck_assert_ptr_nonnull(strstr(mv_params_to_json(q), "\"steps\":200"));
    mv_params_free(p);
    mv_params_free(q);
}
END_TEST

typedef struct { const char *json; const char *msg; } bad_case;
static const bad_case bad[] = {
    {"{\"out\":\"x\",\"lr\":\"1e-4\"}", "$.train.params.lr: expected number, got string \"1e-4\""},
    {"{\"out\":\"x\",\"steps\":2.5}", "$.train.params.steps: expected integer, got number 2.5"},
    {"{\"out\":\"x\",\"steps\":0}", "$.train.params.steps: 0 is out of range [1, 1000000000]"},
    {"{\"out\":\"x\",\"lr\":2}", "$.train.params.lr: 2 is out of range [0, 1]"},
    {"{\"out\":\"x\",\"use_lora\":1}", "$.train.params.use_lora: expected boolean, got number 1"},
    {"{\"out\":\"x\",\"scheduler\":\"step\"}", "$.train.params.scheduler: expected one of cosine|linear|constant, got string \"step\""},
    {"{\"out\":\"x\",\"lr_rate\":0.1}", "$.train.params.lr_rate: unknown parameter (known: lr, steps, use_lora, scheduler, name, mix, out)"},
    {"{}", "$.train.params.out: required parameter missing (output dir)"},
    {"[1,2]", "$.train.params: expected an object of parameters, got an array"},
    {"{\"out\":", "$.train.params: parameters are not valid JSON"},
    {"{\"out\":\"x\",\"name\":null}", "$.train.params.name: expected string, got null"},
};

START_TEST(bad_values_named_by_path)
{
    mv_params *p = NULL;
    mv_error err = {0};
    ck_assert_int_eq(parse(bad[_i].json, &p, &err), MV_E_INPUT);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.msg, bad[_i].msg);
}
END_TEST

START_TEST(all_problems_reported_at_once)
{
    mv_params *p = NULL;
    mv_error err = {0};
    ck_assert_int_eq(parse("{\"lr\":\"fast\",\"stepz\":3,\"use_lora\":1}", &p, &err), MV_E_INPUT);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.msg,
                     "$.train.params.lr: expected number, got string \"fast\"; "
                     "$.train.params.stepz: unknown parameter (did you mean \"steps\"?) (known: lr, steps, use_lora, scheduler, name, mix, out); "
                     "$.train.params.use_lora: expected boolean, got number 1; "
                     "$.train.params.out: required parameter missing (output dir)");
    /* An invalid value for a required parameter is reported once, not also as missing. */
    ck_assert_int_eq(parse("{\"out\":5}", &p, &err), MV_E_INPUT);
    ck_assert_str_eq(err.msg, "$.train.params.out: expected string, got number 5");
}
END_TEST

START_TEST(no_specs_accepts_only_empty)
{
    mv_params *p = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_params_parse(&p, NULL, NULL, "$.x", &err), MV_OK);
    mv_params_free(p);
    ck_assert_int_eq(mv_params_parse(&p, NULL, "{\"a\":1}", "$.x", &err), MV_E_INPUT);
    ck_assert_str_eq(err.msg, "$.x.a: unknown parameter (known: none)");
}
END_TEST

START_TEST(error_helpers)
{
    mv_error err = {0};
    ck_assert_int_eq(mv_errorf(&err, MV_E_FORMAT, "tensor %s: bad\nline", "w"), MV_E_FORMAT);
    ck_assert_str_eq(err.msg, "tensor w: bad line");
    mv_error_prefix(&err, "file %s", "a.safetensors");
    ck_assert_str_eq(err.msg, "file a.safetensors: tensor w: bad line");
    ck_assert_int_eq(err.code, MV_E_FORMAT);
    ck_assert_int_eq(mv_status_exit_code(MV_E_FORMAT), 2);
    ck_assert_int_eq(mv_status_exit_code(MV_E_IO), 3);
    ck_assert_int_eq(mv_status_exit_code(MV_OK), 0);
    /* A prefix on a message that fills the buffer truncates instead of overflowing. */
    memset(err.msg, 'x', sizeof err.msg - 1);
    err.msg[sizeof err.msg - 1] = 0;
    mv_error_prefix(&err, "ctx");
    ck_assert_int_eq((int)strlen(err.msg), MV_ERROR_MAX - 1);
    ck_assert(strncmp(err.msg, "ctx: xxx", 8) == 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults_and_values);
    tcase_add_loop_test(tc, bad_values_named_by_path, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, all_problems_reported_at_once);
    tcase_add_test(tc, no_specs_accepts_only_empty);
    tcase_add_test(tc, error_helpers);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
