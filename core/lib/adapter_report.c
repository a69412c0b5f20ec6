/* core/lib/adapter_report.c — rendering an adapter/base match: the JSON report for
 * `mergeval match --json` and the one-line "target modules not found" diagnosis with the
 * key_map that fixes it. The matching itself is in adapter_match.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>

static cJSON *shape_json(const mv_tensor_info *t)
{
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; t && d < t->ndim; d++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->shape[d]));
    return a;
}

char *mv_adapter_match_json(const mv_adapter *a, const mv_adapter_match *m,
                            const mv_tensor_info *base, size_t n_base)
{
    cJSON *root = cJSON_CreateObject(), *mods = cJSON_CreateArray(), *unm = cJSON_CreateArray();
    cJSON *saved = cJSON_CreateArray();
    (void)n_base;
    cJSON_AddStringToObject(root, "adapter", a->path ? a->path : "");
    cJSON_AddBoolToObject(root, "all_mapped", m->all_mapped);
    cJSON_AddNumberToObject(root, "n_modules", (double)a->n_modules);
    cJSON_AddNumberToObject(root, "n_unmatched", (double)m->n_unmatched);
    cJSON_AddNumberToObject(root, "n_bad_shape", (double)m->n_bad_shape);
    cJSON_AddNumberToObject(root, "n_untargeted", (double)m->n_untargeted);
    cJSON_AddNumberToObject(root, "config_targets_in_base", (double)m->n_config_targets_in_base);
    for (size_t i = 0; i < m->n_bindings; i++) {
        const mv_adapter_binding *b = &m->bindings[i];
        const mv_lora_module *lm = &a->modules[b->module];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "module", lm->name);
        cJSON_AddStringToObject(o, "target", b->target);
        cJSON_AddStringToObject(o, "tensor", b->tensor);
        cJSON_AddStringToObject(o, "kind", lm->kind == MV_LORA_EMBEDDING ? "embedding" : "linear");
        cJSON_AddNumberToObject(o, "rank", lm->r);
        cJSON_AddNumberToObject(o, "alpha", lm->alpha);
        cJSON_AddNumberToObject(o, "scaling", lm->scaling);
        cJSON_AddBoolToObject(o, "dora", lm->magnitude != NULL);
        cJSON_AddItemToObject(o, "a_shape", shape_json(lm->a));
        cJSON_AddItemToObject(o, "b_shape", shape_json(lm->b));
        cJSON_AddItemToObject(o, "base_shape", b->base_index >= 0 ? shape_json(&base[b->base_index]) : cJSON_CreateNull());
        cJSON_AddBoolToObject(o, "targeted", b->targeted);
        cJSON_AddStringToObject(o, "status", !b->targeted ? "untargeted" : b->base_index < 0 ? "not_found"
                                : b->shape_ok ? "ok" : "shape_mismatch");
        if (b->problem && b->targeted) cJSON_AddStringToObject(o, "problem", b->problem);
        if (lm->b_bias) cJSON_AddBoolToObject(o, "lora_bias", 1);
        cJSON_AddItemToArray(mods, o);
        if (b->base_index < 0 && b->targeted) {
            cJSON *u = cJSON_CreateObject(), *near = cJSON_CreateArray();
            cJSON_AddStringToObject(u, "module", lm->name);
            cJSON_AddStringToObject(u, "looked_for", b->tensor);
            for (int k = 0; k < 3; k++)
                if (b->nearest[k]) cJSON_AddItemToArray(near, cJSON_CreateString(b->nearest[k]));
            cJSON_AddItemToObject(u, "nearest", near);
            cJSON_AddItemToArray(unm, u);
        }
    }
    for (size_t i = 0; i < m->n_saved; i++) {
        const mv_adapter_saved_binding *s = &m->saved[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tensor", a->tensors[s->tensor].name);
        cJSON_AddStringToObject(o, "target", s->target);
        cJSON_AddItemToObject(o, "shape", shape_json(a->tensors[s->tensor].info));
        cJSON_AddStringToObject(o, "status", s->base_index < 0 ? "not_found" : s->shape_ok ? "ok" : "shape_mismatch");
        cJSON_AddItemToArray(saved, o);
    }
    cJSON_AddItemToObject(root, "modules", mods);
    cJSON_AddItemToObject(root, "modules_to_save", saved);
    cJSON_AddItemToObject(root, "unmatched", unm);
    if (m->suggested_key_map_json) {
        cJSON *km = cJSON_Parse(m->suggested_key_map_json);
        cJSON_AddItemToObject(root, "suggested_key_map", km ? km : cJSON_CreateNull());
        cJSON_AddStringToObject(root, "suggested_flags", m->suggested_key_map_flags ? m->suggested_key_map_flags : "");
        cJSON_AddNumberToObject(root, "suggestion_fixes", (double)m->suggestion_fixes);
    } else {
        cJSON_AddItemToObject(root, "suggested_key_map", cJSON_CreateNull());
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = txt ? mv_strdup(txt) : NULL;
    free(txt);
    return out;
}

char *mv_adapter_match_untargeted_summary(const mv_adapter *a, const mv_adapter_match *m)
{
    if (!m->n_untargeted) return NULL;
    char buf[1024];
    size_t used = 0, shown = 0;
#define ADD(...) do { if (used < sizeof buf) used += (size_t)snprintf(buf + used, sizeof buf - used, __VA_ARGS__); } while (0)
    ADD("adapter %s: %zu of %zu LoRA module(s) in the weights file are not selected by its "
        "target_modules (after exclude_modules / layers_to_transform); PEFT ignores them, so "
        "they are not merged:", a->path, m->n_untargeted, m->n_bindings);
    for (size_t i = 0; i < m->n_bindings && shown < 3; i++)
        if (!m->bindings[i].targeted) ADD("%s %s", shown++ ? "," : "", a->modules[m->bindings[i].module].name);
    if (m->n_untargeted > shown) ADD(" (+%zu more)", m->n_untargeted - shown);
#undef ADD
    return mv_strdup(buf);
}

mv_status mv_adapter_match_error(const mv_adapter *a, const mv_adapter_match *m,
                                 const mv_tensor_info *base, size_t n_base, mv_error *err)
{
    char buf[MV_ERROR_MAX];
    size_t used = 0;
    (void)base; (void)n_base;
    if (m->all_mapped) return MV_OK;
#define ADD(...) do { if (used < sizeof buf) used += (size_t)snprintf(buf + used, sizeof buf - used, __VA_ARGS__); } while (0)
    size_t total = a->n_modules + a->n_tensors;
    if (total == 0) {
        ADD("adapter %s has no LoRA tensors (lora_A/lora_B) and no modules_to_save tensors", a->path);
    } else if (!m->n_unmatched && !m->n_bad_shape && m->n_untargeted == m->n_bindings &&
               !a->n_tensors) {
        ADD("adapter %s: its target_modules select none of its %zu LoRA modules, so PEFT would "
            "merge nothing; check target_modules / exclude_modules / layers_to_transform in "
            "adapter_config.json", a->path, m->n_bindings);
    } else if (m->n_unmatched) {
        ADD("adapter %s: %zu of %zu target modules not found in the base model", a->path, m->n_unmatched, total);
        if (m->n_config_targets_in_base == 0 && (a->config.target_regex || a->config.n_targets))
            ADD(" (its target_modules %s selects no module of the base model)",
                a->config.target_regex ? "regex" : "list");
        int shown = 0;
        for (size_t i = 0; i < m->n_bindings && shown < 2; i++) {
            const mv_adapter_binding *b = &m->bindings[i];
            if (b->base_index >= 0 || (!b->targeted && m->n_untargeted < m->n_bindings)) continue;
            ADD("%s %s", shown ? ";" : ": e.g.", a->modules[b->module].name);
            if (strcmp(b->target, a->modules[b->module].name)) ADD(" (mapped to %s)", b->target);
            if (b->nearest[0]) {
                ADD(", nearest base names: %s", b->nearest[0]);
                for (int k = 1; k < 3 && b->nearest[k]; k++) ADD(", %s", b->nearest[k]);
            }
            shown++;
        }
        if (!shown)
            for (size_t i = 0; i < m->n_saved; i++)
                if (m->saved[i].base_index < 0) { ADD(": e.g. modules_to_save tensor %s", m->saved[i].target); break; }
        if (m->suggested_key_map_json && !strcmp(m->suggested_key_map_json, "{}"))
            ADD(". The adapter's own module names match the base model (%zu of %zu): remove the "
                "key_map", m->suggestion_fixes, total);
        else if (m->suggested_key_map_json)
            ADD(". The names differ by a systematic prefix: add \"key_map\": %s to the adapter "
                "(CLI: %s), which maps %zu of %zu", m->suggested_key_map_json,
                m->suggested_key_map_flags, m->suggestion_fixes, total);
        else
            ADD(". No systematic prefix difference found; run `mergeval match ADAPTER BASE --json` "
                "to see every module and its nearest base names");
    } else {
        size_t shown = 0;
        ADD("adapter %s: %zu module(s) do not fit the base model's shapes", a->path, m->n_bad_shape);
        for (size_t i = 0; i < m->n_bindings && shown < 2; i++)
            if (m->bindings[i].problem && m->bindings[i].targeted) { ADD("%s%s", shown ? "; " : ": ", m->bindings[i].problem); shown++; }
        for (size_t i = 0; i < m->n_saved && shown < 2; i++)
            if (m->saved[i].base_index >= 0 && !m->saved[i].shape_ok) {
                ADD("%smodules_to_save tensor %s has a different shape than the base's", shown ? "; " : ": ", m->saved[i].target);
                shown++;
            }
        ADD(" (was the adapter trained on a different model?)");
    }
#undef ADD
    return mv_errorf(err, MV_E_INPUT, "%s", buf);
}
