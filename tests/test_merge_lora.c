/* tests/test_merge_lora.c — the "lora" merge end to end against goldens from the
 * independent PyTorch implementation (tests/golden/make_merge_goldens.py): F32/F16/BF16
 * with rslora + rank/alpha patterns + modules_to_save, two weighted adapters,
 * fan_in_fan_out, DoRA + lora_embedding, the seed case (fails with the diagnosis, passes
 * with the key_map), delta-only, out_dtype, sharding, metadata and the non-finite check. */
#include <limits.h>
#include <unistd.h>
#include "merge_test_util.h"
#include "suite_run.h"

#define P "tests/data/merge/peft/"

static void run_case(const char *dir, const char *key_map, const char *expected)
{
    char base[256], ad[256], exp[256];
    mv_error err = { 0 };
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(ad, sizeof ad, "%s/adapter", dir);
    snprintf(exp, sizeof exp, "%s/%s", dir, expected);
    char *out = t_tmpdir();
    mv_merge_input in = { ad, NULL, key_map };
    mv_merge_request req = { .base_path = base, .inputs = &in, .n_inputs = 1, .out_dir = out };
    ck_assert_msg(t_merge("lora", &req, NULL, &err) == MV_OK, "%s: %s", dir, err.msg);
    t_compare(out, exp, base);
    t_rmrf(out);
    free(out);
}

START_TEST(basic_all_dtypes)
{
    t_up();
    run_case(P "basic_f32", NULL, "expected.safetensors");
    run_case(P "basic_f16", NULL, "expected.safetensors");
    run_case(P "basic_bf16", NULL, "expected.safetensors");
    t_down();
}
END_TEST

START_TEST(fan_in_fan_out_and_dora)
{
    t_up();
    run_case(P "fifo", NULL, "expected.safetensors");
    run_case(P "dora", NULL, "expected.safetensors");
    t_down();
}
END_TEST

START_TEST(two_weighted_adapters)
{
    mv_error err = { 0 };
    t_up();
    char *out = t_tmpdir();
    mv_merge_input in[2] = { { P "basic_bf16/adapter", "{\"weight\": 0.7}", NULL },
                             { P "basic_bf16/adapter2", "{\"weight\": 0.3}", NULL } };
    mv_merge_request req = { .base_path = P "basic_bf16/base", .inputs = in, .n_inputs = 2, .out_dir = out };
    ck_assert_msg(t_merge("lora", &req, NULL, &err) == MV_OK, "%s", err.msg);
    t_compare(out, P "basic_bf16/expected_multi.safetensors", P "basic_bf16/base");
    t_rmrf(out);
    free(out);
    t_down();
}
END_TEST

START_TEST(seed_case_diagnosis_then_key_map)
{
    mv_error err = { 0 };
    t_up();
    char *out = t_tmpdir();
    t_rmrf(out);
    mv_merge_input in = { P "seed/adapter", NULL, NULL };
    mv_merge_request req = { .base_path = P "seed/base", .inputs = &in, .n_inputs = 1, .out_dir = out };
    ck_assert_int_eq(t_merge("lora", &req, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not found in the base model"));
    ck_assert_ptr_nonnull(strstr(err.msg, "{\"model.\":\"llm.model.\"}"));
    ck_assert_ptr_nonnull(strstr(err.msg, "--key-map model.=llm.model."));
    ck_assert_msg(!mv_path_exists(out), "a failed merge must not leave output behind");
    /* allow_partial does not help when nothing maps */
    ck_assert_int_eq(t_merge("lora", &req, "{\"allow_partial\": true}", &err), MV_E_INPUT);
    free(out);
    run_case(P "seed", "{\"model.\": \"llm.model.\"}", "expected.safetensors");
    t_down();
}
END_TEST

START_TEST(delta_only_out_dtype_shards_metadata)
{
    mv_error err = { 0 };
    t_up();
    char *out = t_tmpdir();
    mv_merge_input in = { P "basic_bf16/adapter", NULL, NULL };
    mv_merge_request req = { .base_path = P "basic_bf16/base", .inputs = &in, .n_inputs = 1, .out_dir = out,
                             .delta_only = 1, .out_dtype = "float32" };
    ck_assert_msg(t_merge("lora", &req, NULL, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *got = t_open(out), *exp = t_open(P "basic_bf16/expected.safetensors"), *base = t_open(P "basic_bf16/base");
    /* q,v of 2 layers + down_proj of 2 layers + lm_head */
    ck_assert_uint_eq(got->n_tensors, 7);
    ck_assert_str_eq(mv_checkpoint_metadata(got, "mergeval_method"), "lora");
    ck_assert_str_eq(mv_checkpoint_metadata(got, "mergeval_delta_only"), "true");
    ck_assert_ptr_nonnull(strstr(mv_checkpoint_metadata(got, "mergeval_inputs"), "basic_bf16/adapter"));
    ck_assert_ptr_nonnull(got->config_json);
    for (size_t i = 0; i < got->n_tensors; i++) {
        ck_assert_int_eq(got->tensors[i].dtype, MV_DTYPE_F32);
        long ei = mv_checkpoint_find(exp, got->tensors[i].name), bi = mv_checkpoint_find(base, got->tensors[i].name);
        ck_assert(ei >= 0 && bi >= 0);
        float *d = t_f32(got, i), *e = t_f32(exp, (size_t)ei), *b = t_f32(base, (size_t)bi);
        size_t n = (size_t)(got->tensors[i].nbytes / 4);
        /* bf16 expected: tolerance of one bf16 step */
        ASSERT_EACH(k, n, fabsf(b[k] + d[k] - e[k]) <= fabsf(e[k]) / 128 + 1e-5f, "%s[%zu]", got->tensors[i].name, k);
        free(d); free(e); free(b);
    }
    mv_checkpoint_close(got); mv_checkpoint_close(exp); mv_checkpoint_close(base);
    t_rmrf(out);
    /* sharding by size: several shards plus an index, same content */
    mv_merge_request r2 = { .base_path = P "basic_bf16/base", .inputs = &in, .n_inputs = 1, .out_dir = out, .shard_size = 4000 };
    ck_assert_msg(t_merge("lora", &r2, NULL, &err) == MV_OK, "%s", err.msg);
    got = t_open(out);
    ck_assert_int_gt(got->n_shards, 1);
    mv_checkpoint_close(got);
    t_compare(out, P "basic_bf16/expected.safetensors", P "basic_bf16/base");
    /* a sharded base is mirrored (shard size = its largest shard) when no size is given */
    char *out2 = t_tmpdir();
    mv_merge_input in2 = { P "basic_bf16/adapter2", NULL, NULL };
    mv_merge_request r3 = { .base_path = out, .inputs = &in2, .n_inputs = 1, .out_dir = out2 };
    ck_assert_msg(t_merge("lora", &r3, NULL, &err) == MV_OK, "%s", err.msg);
    got = t_open(out2);
    ck_assert_int_gt(got->n_shards, 1);
    ck_assert_ptr_nonnull(got->config_json);
    mv_checkpoint_close(got);
    t_rmrf(out2);
    free(out2);
    t_rmrf(out);
    free(out);
    t_down();
}
END_TEST

START_TEST(non_finite_is_an_error)
{
    mv_error err = { 0 };
    t_up();
    char *out = t_tmpdir();
    t_rmrf(out);
    mv_merge_input in = { P "basic_f32/adapter", "{\"weight\": 1e38}", NULL };
    mv_merge_request req = { .base_path = P "basic_f32/base", .inputs = &in, .n_inputs = 1, .out_dir = out };
    ck_assert_int_eq(t_merge("lora", &req, NULL, &err), MV_E_NUMERIC);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.layers."));
    ck_assert_ptr_nonnull(strstr(err.msg, "not finite"));
    ck_assert(!mv_path_exists(out));
    /* a bad per-adapter parameter names its JSON path */
    mv_merge_input bad = { P "basic_f32/adapter", "{\"wieght\": 1}", NULL };
    req.inputs = &bad;
    ck_assert_int_eq(t_merge("lora", &req, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "$.adapters[0]"));
    free(out);
    t_down();
}
END_TEST

/* PEFT >= 0.14 lora_bias + a file holding LoRA pairs the config does not target (layer 0,
 * the excluded v_proj, o_proj): only layer 1 q/k are merged, weights and biases; every
 * other tensor must come out bit for bit (t_compare checks untouched tensors that way). */
START_TEST(lora_bias_and_untargeted_pairs)
{
    mv_error err = { 0 };
    t_up();
    run_case(P "lora_bias", NULL, "expected.safetensors");
    /* the same adapter on a base without q/k/v biases: refused like PEFT, naming the tensor */
    char *out = t_tmpdir();
    mv_merge_input in = { P "lora_bias/adapter", NULL, NULL };
    mv_merge_request req = { .base_path = P "lora_bias/base_nobias", .inputs = &in, .n_inputs = 1, .out_dir = out };
    ck_assert_int_eq(t_merge("lora", &req, NULL, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "lora_B.bias") && strstr(err.msg, "no tensor model.layers.1.self_attn.") &&
                  strstr(err.msg, ".bias"), "%s", err.msg);
    ck_assert(!mv_path_exists(out) || mv_is_dir(out));
    t_rmrf(out);
    free(out);
    /* lora_B.bias in the file but lora_bias not set in the config: a clear format error */
    char dir[] = "/tmp/mv-lorabias-XXXXXX", path[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *cfg = NULL;
    size_t len;
    ck_assert_int_eq(mv_read_file(P "lora_bias/adapter/adapter_config.json", 0, &cfg, &len, &err), MV_OK);
    char *hit = strstr(cfg, "\"lora_bias\": true");
    ck_assert_ptr_nonnull(hit);
    memcpy(hit, "\"lora_bias\":false", 17);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    ck_assert_int_eq(mv_write_text_atomic(path, cfg, &err), MV_OK);
    mv_free(cfg);
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(P "lora_bias/adapter/adapter_model.safetensors", real));
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    ck_assert_int_eq(symlink(real, path), 0);
    mv_adapter *a = NULL;
    ck_assert_int_eq(mv_adapter_open(T_ctx, dir, NULL, &a, &err), MV_E_FORMAT);
    ck_assert_msg(strstr(err.msg, "lora_B.bias") && strstr(err.msg, "\"lora_bias\": true"), "%s", err.msg);
    t_rmrf(dir);
    t_down();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merge_lora");
    TCase *tc = tcase_create("lora");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, basic_all_dtypes);
    tcase_add_test(tc, fan_in_fan_out_and_dora);
    tcase_add_test(tc, two_weighted_adapters);
    tcase_add_test(tc, seed_case_diagnosis_then_key_map);
    tcase_add_test(tc, delta_only_out_dtype_shards_metadata);
    tcase_add_test(tc, non_finite_is_an_error);
    tcase_add_test(tc, lora_bias_and_untargeted_pairs);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
