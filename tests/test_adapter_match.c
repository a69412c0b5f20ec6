/* tests/test_adapter_match.c — PEFT config parsing, regex translation, target-module
 * semantics (PEFT's own test table), key_map, rank/alpha patterns, and the match +
 * diagnosis of an adapter against a base model (the seed: model.* vs llm.model.*),
 * both on hand-built adapters and on the committed PEFT fixtures through the registry. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"

static int targets(const char *cfg_json, const char *key)
{
    mv_lora_config c;
    mv_error err = { 0 };
    int t = -1;
    ck_assert_int_eq(mv_lora_config_parse(cfg_json, "t", &c, &err), MV_OK);
    ck_assert_msg(mv_lora_config_targets(&c, key, &t, &err) == MV_OK, "%s", err.msg);
    mv_lora_config_free(&c);
    return t;
}

START_TEST(regex_translation)
{
    int m = 0;
    mv_error err = { 0 };
    ck_assert_int_eq(mv_regex_fullmatch("(?:a|b)[\\d_]+?", "a1_2", &m, &err), MV_OK); ck_assert_int_eq(m, 1);
    /* lookahead (configs that exclude the vision tower) works now */
    ck_assert_int_eq(targets("{\"target_modules\": \"^(?!.*vpm).*\\\\.(q_proj|v_proj)$\"}",
                             "llm.model.layers.0.self_attn.q_proj"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \"^(?!.*vpm).*\\\\.(q_proj|v_proj)$\"}",
                             "vpm.encoder.layers.0.self_attn.q_proj"), 0);
    ck_assert_int_eq(mv_regex_fullmatch("(", "q", &m, &err), MV_E_FORMAT);
}
END_TEST

/* Integers from adapter_config.json are range-checked (a huge r used to wrap to
 * -2147483648): the error names the file and the key. */
START_TEST(config_integers_range_checked)
{
    mv_lora_config c;
    mv_error err = { 0 };
    const char *bad[][2] = {
        { "{\"r\": 1e10}", "cfg.json: \"r\": expected an integer from 1 to 1000000, got 10000000000" },
        { "{\"r\": 4294967296}", "\"r\"" },
        { "{\"r\": 2.5}", "\"r\"" },
        { "{\"r\": 0}", "\"r\"" },
        { "{\"rank_pattern\": {\"q_proj\": 3e9}}", "\"rank_pattern\".\"q_proj\"" },
        { "{\"layers_to_transform\": 1e300}", "\"layers_to_transform\"" },
        { "{\"layers_to_transform\": [0, -1]}", "\"layers_to_transform\"[1]" },
        { "{\"layers_to_transform\": [0, 3e9]}", "\"layers_to_transform\"[1]" },
        { "{\"lora_alpha\": 1e999}", "\"lora_alpha\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mv_status st = mv_lora_config_parse(bad[i][0], "cfg.json", &c, &err);
        ck_assert_msg(st == MV_E_FORMAT, "%s accepted", bad[i][0]);
        ck_assert_msg(strstr(err.msg, bad[i][1]) && strstr(err.msg, "cfg.json"), "%s: %s", bad[i][0], err.msg);
    }
    ck_assert_int_eq(mv_lora_config_parse("{\"r\": 16, \"layers_to_transform\": [0, 7]}", "cfg.json", &c, &err), MV_OK);
    ck_assert_int_eq(c.r, 16);
    ck_assert_int_eq(c.layers_to_transform[1], 7);
    mv_lora_config_free(&c);
    /* the helper itself */
    int64_t v = 42;
    ck_assert_int_eq(mv_json_int(1e300, 0, INT64_MAX, &v), 0);
    ck_assert_int_eq(mv_json_int(9007199254740994.0, 0, INT64_MAX, &v), 0);   /* above 2^53 */
    ck_assert_int_eq(mv_json_int(NAN, 0, 10, &v), 0);
    ck_assert_int_eq(mv_json_int(-3, -5, 5, &v), 1);
    ck_assert_int_eq(v, -3);
}
END_TEST

/* PEFT's test_tuners_utils TEST_CASES (key, target_modules, layers_to_transform,
 * layers_pattern, expected), rewritten as JSON configs. */
START_TEST(peft_target_table)
{
    ck_assert_int_eq(targets("{\"target_modules\": []}", ""), 1 /* empty list = not given */);
    ck_assert_int_eq(targets("{\"target_modules\": [\"foo\"]}", "foo"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": [\"bar\"]}", "foo"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"foo\", \"bar\"]}", "foo"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \"foo\"}", "foo"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \".*oo\"}", "foo"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \"fo.*\"}", "foo"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \".*bar.*\"}", "foo"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": \".*oba.*\"}", "foobar"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \"oo\"}", "foo"), 0);   /* whole name */
    /* list: equal or ends with "." + entry, never a bare suffix */
    ck_assert_int_eq(targets("{\"target_modules\": [\"q_proj\"]}", "model.layers.0.self_attn.q_proj"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": [\"proj\"]}", "model.layers.0.self_attn.q_proj"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"self_attn.q_proj\"]}", "model.layers.0.self_attn.q_proj"), 1);
    /* layers_to_transform / layers_pattern */
    const char *c1 = "{\"target_modules\": [\"baz\"], \"layers_to_transform\": [1], \"layers_pattern\": [\"bar\"]}";
    ck_assert_int_eq(targets(c1, "foo.bar.1.baz"), 1);
    ck_assert_int_eq(targets(c1, "foo.bar.2.baz"), 0);
    ck_assert_int_eq(targets(c1, "foo.bar.1.baz.qux"), 0);
    const char *c2 = "{\"target_modules\": [\"baz\"], \"layers_to_transform\": 1, \"layers_pattern\": \"bar\"}";
    ck_assert_int_eq(targets(c2, "foo.bar.1.baz"), 1);
    ck_assert_int_eq(targets(c2, "foo.bar.0.baz"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"baz\"], \"layers_to_transform\": [0, 1]}", "foo.bar.1.baz"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": [\"baz\"], \"layers_to_transform\": [0]}", "foo.bar.1.baz"), 0);
    /* no pattern: the FIRST numbered segment is the layer (lazy match), not an expert index */
    const char *c3 = "{\"target_modules\": [\"w1\"], \"layers_to_transform\": [1]}";
    ck_assert_int_eq(targets(c3, "model.layers.1.experts.0.w1"), 1);
    ck_assert_int_eq(targets(c3, "model.layers.0.experts.1.w1"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"baz\"], \"layers_to_transform\": [1], \"layers_pattern\": [\"h\", \"bar\"]}",
                             "foo.bar.1.baz"), 1);
    /* layer filters apply to the list form only */
    ck_assert_int_eq(targets("{\"target_modules\": \".*baz\", \"layers_to_transform\": [0]}", "foo.bar.1.baz"), 1);
    /* exclude_modules first, both forms; modules_to_save are never targets */
    ck_assert_int_eq(targets("{\"target_modules\": [\"q_proj\"], \"exclude_modules\": [\"layers.0.self_attn.q_proj\"]}",
                             "model.layers.0.self_attn.q_proj"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"q_proj\"], \"exclude_modules\": \".*\\\\.0\\\\..*\"}",
                             "model.layers.0.self_attn.q_proj"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": [\"q_proj\"], \"exclude_modules\": \".*\\\\.0\\\\..*\"}",
                             "model.layers.1.self_attn.q_proj"), 1);
    ck_assert_int_eq(targets("{\"target_modules\": \".*\", \"modules_to_save\": [\"lm_head\"]}", "lm_head"), 0);
    ck_assert_int_eq(targets("{\"target_modules\": \"all-linear\"}", "anything"), 1);
}
END_TEST

START_TEST(config_defaults_and_errors)
{
    mv_lora_config c;
    mv_error err = { 0 };
    ck_assert_int_eq(mv_lora_config_parse("{}", "a.json", &c, &err), MV_OK);
    ck_assert_int_eq(c.r, 8);
    ck_assert(fabs(c.lora_alpha - 8) < 1e-12);
    ck_assert_int_eq(c.use_rslora + c.fan_in_fan_out + c.use_dora, 0);
    mv_lora_config_free(&c);
    ck_assert_int_eq(mv_lora_config_parse("{\"peft_type\": \"IA3\"}", "a.json", &c, &err), MV_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "IA3"));
    ck_assert_ptr_nonnull(strstr(err.msg, "LORA"));
    ck_assert_int_eq(mv_lora_config_parse("{\"r\": \"8\"}", "a.json", &c, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "\"r\""));
    ck_assert_int_eq(mv_lora_config_parse("{\"target_modules\": 3}", "a.json", &c, &err), MV_E_FORMAT);
    ck_assert_int_eq(mv_lora_config_parse("not json", "a.json", &c, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "a.json"));
}
END_TEST

START_TEST(rank_alpha_patterns)
{
    mv_lora_config c;
    mv_error err = { 0 };
    int r;
    double alpha, s;
    ck_assert_int_eq(mv_lora_config_parse(
        "{\"r\": 4, \"lora_alpha\": 8, \"use_rslora\": true, \"rank_pattern\": {\"down_proj\": 2, "
        "\"layers\\\\.1\\\\..*q_proj\": 16}, \"alpha_pattern\": {\"model.layers.1.self_attn.q_proj\": 3}}",
        "t", &c, &err), MV_OK);
    ck_assert_int_eq(mv_lora_config_module_scaling(&c, "model.layers.0.mlp.down_proj", &r, &alpha, &s, &err), MV_OK);
    ck_assert_int_eq(r, 2);
    ck_assert(fabs(s - 8 / sqrt(2.0)) < 1e-12);
    ck_assert_int_eq(mv_lora_config_module_scaling(&c, "model.layers.1.self_attn.q_proj", &r, &alpha, &s, &err), MV_OK);
    ck_assert_int_eq(r, 16);
    ck_assert(fabs(alpha - 3) < 1e-12 && fabs(s - 3 / 4.0) < 1e-12);
    ck_assert_int_eq(mv_lora_config_module_scaling(&c, "model.layers.0.self_attn.q_proj", &r, &alpha, &s, &err), MV_OK);
    ck_assert_int_eq(r, 4);
    ck_assert(fabs(s - 8 / 2.0) < 1e-12);
    /* "down_proj" must not match "xdown_proj" (needs a dot boundary) */
    ck_assert_int_eq(mv_lora_config_module_scaling(&c, "model.xdown_proj", &r, &alpha, &s, &err), MV_OK);
    ck_assert_int_eq(r, 4);
    mv_lora_config_free(&c);
}
END_TEST

START_TEST(key_map_rules)
{
    mv_key_map *m = NULL;
    mv_error err = { 0 };
    ck_assert_int_eq(mv_key_map_parse("{\"model.layers.0.\": \"x.\", \"model.\": \"llm.model.\"}", "km", &m, &err), MV_OK);
    ck_assert_int_eq((int)mv_key_map_count(m), 2);
    char *s = mv_key_map_apply(m, "model.layers.0.q");
    ck_assert_str_eq(s, "x.q"); mv_free(s);            /* first match wins, applied once */
    s = mv_key_map_apply(m, "model.layers.1.q");
    ck_assert_str_eq(s, "llm.model.layers.1.q"); mv_free(s);
    s = mv_key_map_apply(m, "lm_head");
    ck_assert_str_eq(s, "lm_head"); mv_free(s);
    s = mv_key_map_unapply(m, "llm.model.norm");
    ck_assert_str_eq(s, "model.norm"); mv_free(s);
    mv_key_map_free(m);
    ck_assert_int_eq(mv_key_map_parse("[1]", "$.merge.adapters[0].key_map", &m, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "$.merge.adapters[0].key_map"));
    ck_assert_int_eq(mv_key_map_parse("{\"a\": 1}", "km", &m, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_key_map_parse(NULL, "km", &m, &err), MV_OK);
    ck_assert_int_eq((int)mv_key_map_count(m), 0);
    mv_key_map_free(m);
}
END_TEST

/* ---------------------------------------------------------------- hand-built adapter */
#define NL 3
static const char *projs[] = { "self_attn.q_proj", "self_attn.k_proj", "mlp.down_proj" };
static mv_tensor_info a_infos[NL * 3], b_infos[NL * 3], base_infos[64];
static char names[64][96];
static mv_lora_module mods[NL * 3];
static mv_adapter fake;
static size_t n_base;

static void add_base(const char *name, int64_t r, int64_t c)
{
    snprintf(names[n_base], sizeof names[0], "%s", name);
    mv_tensor_info *t = &base_infos[n_base++];
    t->name = names[n_base - 1];
    t->dtype = MV_DTYPE_BF16;
    t->ndim = c ? 2 : 1;
    t->shape[0] = r;
    t->shape[1] = c;
}

static int cmp_mod(const void *x, const void *y)
{
    return strcmp(((const mv_lora_module *)x)->name, ((const mv_lora_module *)y)->name);
}

/* adapter modules "model.layers.N.<proj>"; base with prefix (e.g. "llm.") plus vision tensors */
static void build(const char *base_prefix)
{
    char buf[128];
    n_base = 0;
    memset(&fake, 0, sizeof fake);
    fake.path = "fake-adapter";
    mv_error err = { 0 };
    ck_assert_int_eq(mv_lora_config_parse("{\"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\", \"k_proj\", \"down_proj\"]}",
                                          "t", &fake.config, &err), MV_OK);
    for (int l = 0; l < NL; l++)
        for (int p = 0; p < 3; p++) {
            int i = l * 3 + p;
            int64_t out = p == 1 ? 4 : 8, in = p == 2 ? 16 : 8;
            snprintf(buf, sizeof buf, "model.layers.%d.%s", l, projs[p]);
            mods[i].name = strdup(buf);
            mods[i].kind = MV_LORA_LINEAR;
            a_infos[i] = (mv_tensor_info){ .name = "A", .dtype = MV_DTYPE_F32, .ndim = 2, .shape = { 2, in } };
            b_infos[i] = (mv_tensor_info){ .name = "B", .dtype = MV_DTYPE_F32, .ndim = 2, .shape = { out, 2 } };
            mods[i].a = &a_infos[i];
            mods[i].b = &b_infos[i];
            mods[i].r = 2; mods[i].alpha = 4; mods[i].scaling = 2;
            snprintf(buf, sizeof buf, "%smodel.layers.%d.%s.weight", base_prefix, l, projs[p]);
            add_base(buf, out, in);
            snprintf(buf, sizeof buf, "vpm.encoder.layers.%d.%s.weight", l, projs[p]);
            add_base(buf, out, in);
        }
    snprintf(buf, sizeof buf, "%smodel.norm.weight", base_prefix);
    add_base(buf, 8, 0);
    qsort(mods, NL * 3, sizeof mods[0], cmp_mod);
    fake.modules = mods;
    fake.n_modules = NL * 3;
}

static void unbuild(void)
{
    for (int i = 0; i < NL * 3; i++) free(mods[i].name);
    mv_lora_config_free(&fake.config);
}

START_TEST(seed_diagnosis_and_fix)
{
    mv_adapter_match *m = NULL;
    mv_error err = { 0 };
    build("llm.");
    ck_assert_int_eq(mv_adapter_match_base(&fake, base_infos, n_base, NULL, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 0);
    ck_assert_int_eq((int)m->n_unmatched, NL * 3);
    ck_assert_str_eq(m->suggested_key_map_json, "{\"model.\":\"llm.model.\"}");
    ck_assert_str_eq(m->suggested_key_map_flags, "--key-map model.=llm.model.");
    ck_assert_int_eq((int)m->suggestion_fixes, NL * 3);
    ck_assert_str_eq(m->bindings[0].nearest[0], "llm.model.layers.0.mlp.down_proj");
    ck_assert_int_eq(mv_adapter_match_error(&fake, m, base_infos, n_base, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not found in the base model"));
    ck_assert_ptr_nonnull(strstr(err.msg, "\"key_map\": {\"model.\":\"llm.model.\"}"));
    ck_assert_ptr_nonnull(strstr(err.msg, "--key-map model.=llm.model."));
    char *js = mv_adapter_match_json(&fake, m, base_infos, n_base);
    ck_assert_ptr_nonnull(strstr(js, "\"suggested_key_map\":"));
    mv_free(js);
    mv_adapter_match_free(m);

    mv_key_map *km = NULL;
    ck_assert_int_eq(mv_key_map_parse("{\"model.\": \"llm.model.\"}", "km", &km, &err), MV_OK);
    ck_assert_int_eq(mv_adapter_match_base(&fake, base_infos, n_base, km, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 1);
    ck_assert_int_eq((int)m->n_unmatched, 0);
    ck_assert_int_eq((int)m->n_untargeted, 0);
    /* a list target matches by suffix, so PEFT would also select vpm.*'s q/k/down_proj */
    ck_assert_int_eq((int)m->n_config_targets_in_base, 2 * NL * 3);
    ck_assert_str_eq(m->bindings[0].tensor, "llm.model.layers.0.mlp.down_proj.weight");
    ck_assert_int_eq(mv_adapter_match_error(&fake, m, base_infos, n_base, &err), MV_OK);
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    unbuild();
}
END_TEST

START_TEST(breaking_key_map_is_diagnosed)
{
    /* names already match; a wrong key_map breaks them: the fix is to drop it */
    mv_adapter_match *m = NULL;
    mv_key_map *km = NULL;
    mv_error err = { 0 };
    build("");
    ck_assert_int_eq(mv_key_map_parse("{\"model.\": \"llm.model.\"}", "km", &km, &err), MV_OK);
    ck_assert_int_eq(mv_adapter_match_base(&fake, base_infos, n_base, km, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 0);
    ck_assert_str_eq(m->suggested_key_map_json, "{}");
    ck_assert_int_eq(mv_adapter_match_error(&fake, m, base_infos, n_base, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "remove the key_map"));
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    unbuild();
}
END_TEST

START_TEST(reverse_prefix_and_shapes)
{
    /* adapter model.layers.* against a base without "model." (e.g. "layers.*") */
    mv_adapter_match *m = NULL;
    mv_error err = { 0 };
    build("x.");
    ck_assert_int_eq(mv_adapter_match_base(&fake, base_infos, n_base, NULL, &m, &err), MV_OK);
    ck_assert_str_eq(m->suggested_key_map_json, "{\"model.\":\"x.model.\"}");
    mv_adapter_match_free(m);
    /* a shape mismatch names both shapes and the module */
    mv_key_map *km = NULL;
    ck_assert_int_eq(mv_key_map_parse("{\"model.\": \"x.model.\"}", "km", &km, &err), MV_OK);
    ((mv_tensor_info *)mods[0].b)->shape[0] = 99;   /* wrong out features */
    ck_assert_int_eq(mv_adapter_match_base(&fake, base_infos, n_base, km, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 0);
    ck_assert_int_eq((int)m->n_bad_shape, 1);
    ck_assert_int_eq(mv_adapter_match_error(&fake, m, base_infos, n_base, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "[99, 2]"));
    ck_assert_ptr_nonnull(strstr(err.msg, mods[0].name));
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    unbuild();
}
END_TEST

/* ---------------------------------------------------------------- real fixtures via plugins */
static mv_registry *reg;
static mv_context *ctx;

static void plugins_up(void)
{
    mv_error err = { 0 };
    ck_assert_int_eq(mv_registry_new(&reg, &err), MV_OK);
    char *dir = mv_registry_builtin_dir();
    mv_registry_load_dir(reg, dir, stderr, NULL);
    mv_free(dir);
    ck_assert_int_eq(mv_context_new(&ctx, reg, &err), MV_OK);
}

static void plugins_down(void)
{
    mv_context_free(ctx);
    mv_registry_free(reg);
}

START_TEST(fixture_seed_via_peft_loader)
{
    mv_error err = { 0 };
    mv_adapter *a = NULL;
    mv_checkpoint *ck = NULL;
    mv_adapter_match *m = NULL;
    plugins_up();
    ck_assert_msg(mv_adapter_open(ctx, "tests/data/merge/peft/seed/adapter", NULL, &a, &err) == MV_OK, "%s", err.msg);
    ck_assert_str_eq(a->format, "peft");
    ck_assert_int_eq((int)a->n_modules, 2 * 7);
    ck_assert_msg(mv_checkpoint_open(ctx, "tests/data/merge/peft/seed/base", NULL, &ck, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(mv_adapter_match_base(a, ck->tensors, ck->n_tensors, NULL, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 0);
    ck_assert_str_eq(m->suggested_key_map_json, "{\"model.\":\"llm.model.\"}");
    mv_adapter_match_free(m);
    mv_adapter_close(a);
    mv_checkpoint_close(ck);

    /* a regex requiring llm\. (adapter trained on the VLM) against a plain Llama */
    ck_assert_msg(mv_adapter_open(ctx, "tests/data/merge/peft/regex_llm/adapter", "peft", &a, &err) == MV_OK, "%s", err.msg);
    ck_assert_msg(mv_checkpoint_open(ctx, "tests/data/merge/peft/basic_bf16/base", NULL, &ck, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(mv_adapter_match_base(a, ck->tensors, ck->n_tensors, NULL, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 0);
    ck_assert_int_eq((int)m->n_config_targets_in_base, 0);
    ck_assert_str_eq(m->suggested_key_map_json, "{\"llm.model.\":\"model.\"}");
    ck_assert_int_eq(mv_adapter_match_error(a, m, ck->tensors, ck->n_tensors, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "regex"));
    mv_adapter_match_free(m);
    mv_key_map *km = NULL;
    ck_assert_int_eq(mv_key_map_parse("{\"llm.model.\": \"model.\"}", "km", &km, &err), MV_OK);
    ck_assert_int_eq(mv_adapter_match_base(a, ck->tensors, ck->n_tensors, km, &m, &err), MV_OK);
    ck_assert_int_eq(m->all_mapped, 1);
    ck_assert_int_eq((int)m->n_config_targets_in_base, 4);   /* q/v of 2 layers */
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    mv_adapter_close(a);
    mv_checkpoint_close(ck);
    plugins_down();
}
END_TEST

START_TEST(fixture_patterns_and_saved)
{
    mv_error err = { 0 };
    mv_adapter *a = NULL;
    plugins_up();
    ck_assert_msg(mv_adapter_open(ctx, "tests/data/merge/peft/basic_f32/adapter", NULL, &a, &err) == MV_OK, "%s", err.msg);
    long i = mv_adapter_find_module(a, "model.layers.1.mlp.down_proj");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(a->modules[i].r, 2);
    ck_assert(fabs(a->modules[i].scaling - 8 / sqrt(2.0)) < 1e-9);
    i = mv_adapter_find_module(a, "model.layers.1.self_attn.q_proj");
    ck_assert(fabs(a->modules[i].scaling - 3 / 2.0) < 1e-9);
    ck_assert_int_eq((int)a->n_tensors, 1);
    ck_assert_str_eq(a->tensors[0].name, "lm_head.weight");
    mv_adapter_close(a);
    ck_assert_int_eq(mv_adapter_open(ctx, "tests/data/merge/nonexistent", NULL, &a, &err), MV_E_NOT_FOUND);
    ck_assert_int_eq(mv_adapter_open(ctx, "tests/data/merge/peft/seed/base", NULL, &a, &err), MV_E_NOT_FOUND);
    plugins_down();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adapter_match");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, regex_translation);
    tcase_add_test(tc, config_integers_range_checked);
    tcase_add_test(tc, peft_target_table);
    tcase_add_test(tc, config_defaults_and_errors);
    tcase_add_test(tc, rank_alpha_patterns);
    tcase_add_test(tc, key_map_rules);
    tcase_add_test(tc, seed_diagnosis_and_fix);
    tcase_add_test(tc, breaking_key_map_is_diagnosed);
    tcase_add_test(tc, reverse_prefix_and_shapes);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("fixtures");
    tcase_set_timeout(tp, 30);
    tcase_add_test(tp, fixture_seed_via_peft_loader);
    tcase_add_test(tp, fixture_patterns_and_saved);
    suite_add_tcase(s, tp);
    return mv_suite_run(s);
}
