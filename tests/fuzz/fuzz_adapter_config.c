/* tests/fuzz/fuzz_adapter_config.c — adapter_config.json (PEFT LoraConfig) text through the
 * parser, then PEFT's target-module test and the rank/alpha patterns for a fixed list of
 * Llama module names, then the match + diagnosis of an adapter with those modules against
 * a fixed VLM base (llm.model.* names, so the key_map suggestion path runs), using the
 * config's own "key_map" object when it has one. Everything is in libmergeval; no files.
 *
 * Known limit, worked around here (see docs/fuzzing.md): glibc regcomp takes seconds and
 * gigabytes on patterns like ((a{255}){255}){255} or q+++…+ (issue 12 item 4, the move to
 * PCRE2 with limits). Inputs with a counted repetition or many quantifiers are skipped so
 * the campaign keeps finding other things; drop this filter once regexes are bounded. */
#include <stdint.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "fuzz_util.h"

static const char *const MODULES[] = {
    "model.embed_tokens", "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
    "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj",
    "model.layers.0.mlp.gate_proj", "model.layers.1.mlp.down_proj",
    "model.layers.1.self_attn.q_proj", "model.layers.12.experts.3.w1", "lm_head",
};
#define N_MODULES (sizeof MODULES / sizeof MODULES[0])
#define HIDDEN 8
#define FFN 16
static const char *const BASE[] = {
    "llm.model.embed_tokens.weight", "llm.model.layers.0.self_attn.q_proj.weight",
    "llm.model.layers.0.self_attn.k_proj.weight", "llm.model.layers.0.self_attn.v_proj.weight",
    "llm.model.layers.0.self_attn.o_proj.weight", "llm.model.layers.0.mlp.gate_proj.weight",
    "llm.model.layers.1.mlp.down_proj.weight", "llm.model.layers.1.self_attn.q_proj.weight",
    "llm.lm_head.weight", "vpm.encoder.layers.0.self_attn.q_proj.weight", "resampler.query",
};
#define N_BASE (sizeof BASE / sizeof BASE[0])

static int regex_too_costly(const uint8_t *d, size_t n)
{
    int quantifiers = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '{' && i + 1 < n && (d[i + 1] == ',' || (d[i + 1] >= '0' && d[i + 1] <= '9')))
            return 1;
        if (d[i] == '*' || d[i] == '+' || d[i] == '?') quantifiers++;
    }
    return quantifiers > 12;
}

/* The base: (out, in) weights; down_proj is (HIDDEN, FFN), gate (FFN, HIDDEN). */
static mv_tensor_info base_info[N_BASE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    for (size_t i = 0; i < N_BASE; i++) {
        mv_tensor_info *t = &base_info[i];
        t->name = BASE[i];
        t->dtype = MV_DTYPE_F32;
        t->ndim = 2;
        t->shape[0] = strstr(BASE[i], "gate_proj") ? FFN : HIDDEN;
        t->shape[1] = strstr(BASE[i], "down_proj") ? FFN : HIDDEN;
        t->nbytes = (uint64_t)(t->shape[0] * t->shape[1]) * 4;
    }
    return 0;
}

static void make_info(mv_tensor_info *t, const char *name, int64_t d0, int64_t d1)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = MV_DTYPE_F32;
    t->ndim = 2;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->nbytes = (uint64_t)(d0 * d1) * 4;
}

static void match_adapter(mv_lora_config *cfg, const char *json)
{
    mv_error err = { 0 };
    mv_adapter a = { 0 };
    mv_lora_module mods[N_MODULES];
    mv_tensor_info infos[2 * N_MODULES];
    char names[2 * N_MODULES][96];
    size_t n = 0;
    /* Modules sorted by name, as the loader provides them (MODULES is not sorted). */
    const char *sorted[N_MODULES];
    memcpy(sorted, MODULES, sizeof sorted);
    for (size_t i = 1; i < N_MODULES; i++)
        for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t;
        }
    for (size_t i = 0; i < N_MODULES; i++) {
        int r; double alpha, scaling;
        if (mv_lora_config_module_scaling(cfg, sorted[i], &r, &alpha, &scaling, &err) != MV_OK)
            continue;
        if (r > 64) r = 64;   /* shapes only; no data is read */
        mv_lora_module *m = &mods[n];
        memset(m, 0, sizeof *m);
        m->name = (char *)sorted[i];
        int emb = strstr(sorted[i], "embed") != NULL;
        m->kind = emb ? MV_LORA_EMBEDDING : MV_LORA_LINEAR;
        snprintf(names[2 * n], sizeof names[0], "%s.lora_A", sorted[i]);
        snprintf(names[2 * n + 1], sizeof names[0], "%s.lora_B", sorted[i]);
        int64_t in = strstr(sorted[i], "down_proj") ? FFN : HIDDEN;
        int64_t out = strstr(sorted[i], "gate_proj") ? FFN : HIDDEN;
        make_info(&infos[2 * n], names[2 * n], r, in);
        make_info(&infos[2 * n + 1], names[2 * n + 1], out, r);
        m->a = &infos[2 * n];
        m->b = &infos[2 * n + 1];
        m->r = r;
        m->alpha = alpha;
        m->scaling = scaling;
        m->fan_in_fan_out = cfg->fan_in_fan_out;
        n++;
    }
    a.path = "fuzz-adapter";
    a.format = "peft";
    a.config = *cfg;
    a.n_modules = n;
    a.modules = mods;

    mv_key_map *km = NULL;
    cJSON *root = cJSON_Parse(json);
    cJSON *kmj = cJSON_GetObjectItemCaseSensitive(root, "key_map");
    char *kmtext = kmj ? cJSON_PrintUnformatted(kmj) : NULL;
    if (mv_key_map_parse(kmtext, "key_map", &km, &err) == MV_OK) {
        for (size_t i = 0; i < N_MODULES; i++) {
            char *to = mv_key_map_apply(km, MODULES[i]);
            char *back = to ? mv_key_map_unapply(km, to) : NULL;
            mv_free(to);
            mv_free(back);
        }
        mv_adapter_match *match = NULL;
        if (mv_adapter_match_base(&a, base_info, N_BASE, km, &match, &err) == MV_OK) {
            mv_free(mv_adapter_match_json(&a, match, base_info, N_BASE));
            mv_error merr = { 0 };
            mv_adapter_match_error(&a, match, base_info, N_BASE, &merr);
            mv_adapter_match_free(match);
        }
        mv_key_map_free(km);
    }
    free(kmtext);
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192 || regex_too_costly(data, size)) return 0;
    char *json = fz_text(data, size);
    mv_lora_config cfg;
    mv_error err = { 0 };
    if (mv_lora_config_parse(json, "adapter_config.json", &cfg, &err) == MV_OK) {
        for (size_t i = 0; i < N_MODULES; i++) {
            int targeted = 0, r = 0;
            double alpha = 0, scaling = 0;
            mv_lora_config_targets(&cfg, MODULES[i], &targeted, &err);
            mv_lora_config_module_scaling(&cfg, MODULES[i], &r, &alpha, &scaling, &err);
        }
        match_adapter(&cfg, json);
        mv_lora_config_free(&cfg);
    }
    mv_free(json);
    return 0;
}
