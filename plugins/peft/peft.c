/* plugins/peft/peft.c — the "peft" adapter loader: a directory with adapter_config.json
 * and adapter_model.safetensors (tensors read through the safetensors checkpoint loader).
 * Produces an mv_adapter (adapter.h); config semantics live in libmergeval. No merging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <mergeval/mergeval.h>

#define PREFIX "base_model.model."

static int probe(const char *path)
{
    char *cfg = mv_path_join(path, "adapter_config.json");
    int s = cfg && mv_is_dir(path) && mv_path_exists(cfg) ? 90 : 0;
    mv_free(cfg);
    return s;
}

static void adapter_close(mv_adapter *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n_modules; i++) mv_free(a->modules[i].name);
    mv_free(a->modules);
    for (size_t i = 0; i < a->n_tensors; i++) mv_free(a->tensors[i].name);
    mv_free(a->tensors);
    mv_lora_config_free(&a->config);
    mv_checkpoint_close(a->weights);
    mv_free(a->path);
    mv_free(a);
}

typedef enum part { P_NONE, P_A, P_B, P_EA, P_EB, P_MAG, P_BIAS, P_A_BIAS } part;

/* Split "<module>.lora_A[.<adapter>].weight" etc. into module + part. *mod is mv_malloc'd. */
static part classify(const char *key, char **mod)
{
    static const struct { const char *tag; part p; } tags[] = {
        { ".lora_A.", P_A }, { ".lora_B.", P_B }, { ".lora_embedding_A", P_EA },
        { ".lora_embedding_B", P_EB }, { ".lora_magnitude_vector", P_MAG },
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        const char *hit = strstr(key, tags[i].tag);
        if (hit) {
            *mod = strndup(key, (size_t)(hit - key));
            /* PEFT >= 0.14 lora_bias: "<module>.lora_B.bias" next to "lora_B.weight" */
            size_t kl = strlen(key);
            int bias = kl > 5 && !strcmp(key + kl - 5, ".bias");
            if (bias && tags[i].p == P_B) return P_BIAS;
            if (bias && tags[i].p == P_A) return P_A_BIAS;
            return tags[i].p;
        }
    }
    *mod = NULL;
    return P_NONE;
}

static int cmp_module(const void *x, const void *y)
{
    return strcmp(((const mv_lora_module *)x)->name, ((const mv_lora_module *)y)->name);
}

static int cmp_tensor(const void *x, const void *y)
{
    return strcmp(((const mv_adapter_tensor *)x)->name, ((const mv_adapter_tensor *)y)->name);
}

static mv_lora_module *module_for(mv_adapter *a, const char *name, size_t cap)
{
    for (size_t i = 0; i < a->n_modules; i++)
        if (!strcmp(a->modules[i].name, name)) return &a->modules[i];
    if (a->n_modules >= cap) return NULL;
    mv_lora_module *m = &a->modules[a->n_modules++];
    memset(m, 0, sizeof *m);
    m->name = mv_strdup(name);
    return m;
}

static mv_status open_adapter(mv_context *ctx, const char *path, const mv_params *params,
                              void **out, mv_error *err)
{
    mv_status st;
    char *cfg_path = mv_path_join(path, "adapter_config.json");
    char *w_path = mv_path_join(path, "adapter_model.safetensors");
    char *text = NULL;
    size_t len = 0;
    mv_adapter *a = mv_calloc(1, sizeof *a);
    *out = NULL;
    (void)params;
    if (!a || !cfg_path || !w_path) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    a->close = adapter_close;
    a->format = "peft";
    a->path = mv_strdup(path);
    if (!mv_path_exists(cfg_path)) {
        st = mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no adapter_config.json (a PEFT adapter "
                       "directory holds adapter_config.json and adapter_model.safetensors)", path);
        goto fail;
    }
    if ((st = mv_read_file(cfg_path, 16u << 20, &text, &len, err))) goto fail;
    if ((st = mv_lora_config_parse(text, cfg_path, &a->config, err))) goto fail;
    if (!mv_path_exists(w_path)) {
        char *bin = mv_path_join(path, "adapter_model.bin");
        int has_bin = bin && mv_path_exists(bin);
        mv_free(bin);
        st = mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no adapter_model.safetensors%s", path,
                       has_bin ? " (adapter_model.bin is a pickle, which mergeval does not read; "
                                 "convert it with safetensors' convert script)" : "");
        goto fail;
    }
    if ((st = mv_checkpoint_open(ctx, w_path, "safetensors", &a->weights, err))) goto fail;

    mv_checkpoint *ck = a->weights;
    a->modules = mv_calloc(ck->n_tensors + 1, sizeof *a->modules);
    a->tensors = mv_calloc(ck->n_tensors + 1, sizeof *a->tensors);
    if (!a->modules || !a->tensors) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const mv_tensor_info *ti = &ck->tensors[i];
        const char *key = ti->name;
        if (!strncmp(key, PREFIX, strlen(PREFIX))) key += strlen(PREFIX);
        char *mod = NULL;
        part p = classify(key, &mod);
        if (p != P_NONE && !mod) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        if (!mv_dtype_is_float_math(ti->dtype)) {
            free(mod);
            st = mv_errorf(err, MV_E_FORMAT, "adapter %s: tensor %s has dtype %s; adapter tensors "
                           "must be F32, F16, BF16 or F64", w_path, ti->name, mv_dtype_name(ti->dtype));
            goto fail;
        }
        const void *data = mv_checkpoint_data(ck, i, err);
        if (!data) { free(mod); st = err->code ? err->code : MV_E_IO; goto fail; }
        if (p == P_NONE) {
            /* modules_to_save: "<module>.modules_to_save.<adapter>.<param>" in old files,
             * "<module>.<param>" after PEFT strips the wrapper */
            char *name = mv_strdup(key), *w = strstr(name ? name : "", ".modules_to_save.");
            if (!name) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
            if (w) {
                char *after = strchr(w + strlen(".modules_to_save."), '.');
                if (after) memmove(w, after, strlen(after) + 1);
            }
            mv_adapter_tensor *t = &a->tensors[a->n_tensors++];
            t->name = name;
            t->info = ti;
            t->data = data;
            continue;
        }
        mv_lora_module *m = module_for(a, mod, ck->n_tensors);
        free(mod);
        if (!m || !m->name) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        switch (p) {
        case P_A: m->a = ti; m->a_data = data; m->kind = MV_LORA_LINEAR; break;
        case P_B: m->b = ti; m->b_data = data; break;
        case P_EA: m->a = ti; m->a_data = data; m->kind = MV_LORA_EMBEDDING; break;
        case P_EB: m->b = ti; m->b_data = data; m->kind = MV_LORA_EMBEDDING; break;
        case P_MAG: m->magnitude = ti; m->magnitude_data = data; break;
        case P_BIAS:
            if (!a->config.lora_bias) {
                st = mv_errorf(err, MV_E_FORMAT, "adapter %s: tensor %s is a lora_B bias but "
                               "adapter_config.json does not set \"lora_bias\": true (PEFT would "
                               "not load it); fix the config or remove the tensor", w_path, ti->name);
                goto fail;
            }
            m->b_bias = ti; m->b_bias_data = data;
            break;
        case P_A_BIAS:
            st = mv_errorf(err, MV_E_FORMAT, "adapter %s: tensor %s: PEFT's lora_A never has a "
                           "bias (lora_bias adds one to lora_B only)", w_path, ti->name);
            goto fail;
        default: break;
        }
    }
    qsort(a->modules, a->n_modules, sizeof *a->modules, cmp_module);
    qsort(a->tensors, a->n_tensors, sizeof *a->tensors, cmp_tensor);
    for (size_t i = 0; i < a->n_modules; i++) {
        mv_lora_module *m = &a->modules[i];
        if (!m->a || !m->b) {
            st = mv_errorf(err, MV_E_FORMAT, "adapter %s: module %s has %s but no %s", w_path, m->name,
                           m->a ? "lora_A" : "lora_B", m->a ? "lora_B" : "lora_A");
            goto fail;
        }
        if (!m->kind) m->kind = MV_LORA_LINEAR;
        if (m->b_bias && m->kind != MV_LORA_LINEAR) {
            st = mv_errorf(err, MV_E_FORMAT, "adapter %s: module %s: lora_bias is only defined for "
                           "linear LoRA layers", w_path, m->name);
            goto fail;
        }
        if ((st = mv_lora_config_module_scaling(&a->config, m->name, &m->r, &m->alpha, &m->scaling, err)))
            goto fail;
        if (m->a->ndim != 2 || m->a->shape[0] != m->r) {
            char s[64];
            mv_shape_str(m->a->ndim, m->a->shape, s, sizeof s);
            st = mv_errorf(err, MV_E_FORMAT, "adapter %s: module %s: the config gives rank %d (r / "
                           "rank_pattern) but lora_A is %s", w_path, m->name, m->r, s);
            goto fail;
        }
        m->fan_in_fan_out = m->kind == MV_LORA_LINEAR ? a->config.fan_in_fan_out : 0;
    }
    for (size_t i = 0; i < a->n_tensors; i++) {
        int listed = 0;
        for (size_t k = 0; k < a->config.n_modules_to_save && !listed; k++) {
            const char *ms = a->config.modules_to_save[k];
            size_t ml = strlen(ms);
            const char *n = a->tensors[i].name;
            for (const char *p = n; (p = strstr(p, ms)); p++)
                if ((p == n || p[-1] == '.') && p[ml] == '.') { listed = 1; break; }
        }
        if (!listed)
            mv_log(ctx, MV_LOG_WARN, "adapter %s: tensor %s is neither a LoRA tensor nor under "
                   "modules_to_save; it will replace the base's tensor of that name", path, a->tensors[i].name);
    }
    mv_free(text);
    mv_free(cfg_path);
    mv_free(w_path);
    *out = a;
    return MV_OK;
fail:
    mv_free(text);
    mv_free(cfg_path);
    mv_free(w_path);
    adapter_close(a);
    return st;
}

static const mv_loader_vtable vtable = {
    .size = sizeof(mv_loader_vtable),
    .target = MV_LOADS_ADAPTER,
    .probe = probe,
    .open_adapter = open_adapter,
};

static const mv_component component = MV_COMPONENT_INIT(
    MV_KIND_LOADER, "peft", "1.0.0",
    "PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors (LoRA, DoRA, "
    "lora_embedding, modules_to_save)", NULL, &vtable);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i == 0 ? &component : NULL;
}
