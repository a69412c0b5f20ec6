/* plugins/sft/freeze.c — which parameters train, exactly as MiniCPM-V's finetune.py decides
 * (tune_vision=false freezes vpm.*, tune_llm=false freezes llm.*, the resampler trains unless
 * tune_resampler=false, use_lora freezes the LLM and trains only the LoRA matrices), and
 * `init`: copying weights by name from another checkpoint into a freshly created model. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "sft.h"

const char *sft_default_lora_target(const mv_model *m)
{
    if (m->has_vision)
        return "llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)";
    return ".*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)";
}

mv_status sft_check_flags(const sft_config *c, mv_error *err)
{
    if (c->use_lora && c->tune_llm)
        /* finetune.py: raise ValueError("The model cannot simultaneously adjust LLM
         * parameters and apply LoRA.") — the merged adapter would not describe the model */
        return mv_errorf(err, MV_E_INPUT,
                         "params: use_lora=true with tune_llm=true: the model cannot "
                         "simultaneously adjust LLM parameters and apply LoRA (MiniCPM-V's "
                         "finetune rule: LoRA trains low-rank updates of a frozen LLM); set "
                         "tune_llm=false to train a LoRA, or use_lora=false for full tuning");
    if (c->use_lora && c->lora_r <= 0)
        return mv_errorf(err, MV_E_INPUT, "params.lora_r: must be >= 1 when use_lora is true");
    return MV_OK;
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

mv_status sft_apply_freeze(mv_model *m, const sft_config *c, size_t *n_trainable, mv_error *err)
{
    size_t np = m->ops->n_params(m), total = 0;
    size_t n_vpm = 0, n_res = 0, n_llm = 0, n_lora = 0;
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        int train;
        if (p->is_lora) {
            train = c->use_lora;
            n_lora++;
        } else if (has_prefix(p->name, "vpm.")) {
            train = c->tune_vision;
            n_vpm++;
        } else if (has_prefix(p->name, "resampler.")) {
            train = c->tune_resampler;
            n_res++;
        } else {
            /* llm.* in a VLM; every parameter of a plain decoder is "the LLM" */
            train = c->tune_llm && !c->use_lora;
            n_llm++;
        }
        p->trainable = train;
        if (train)
            total += p->numel;
    }
    *n_trainable = total;
    if (total == 0)
        return mv_errorf(err, MV_E_INPUT,
                         "nothing to train: %s%s%s (%zu vision, %zu resampler, %zu LLM, %zu "
                         "LoRA tensors); set tune_llm=true (full tuning) or use_lora=true%s",
                         c->tune_llm ? "" : "tune_llm=false (the MiniCPM-V default) freezes the LLM",
                         m->has_vision ? (c->tune_vision ? "" : ", tune_vision=false") : "",
                         m->has_vision ? (c->tune_resampler ? "" : ", tune_resampler=false") : "",
                         n_vpm, n_res, n_llm, n_lora,
                         m->has_vision ? " or tune_vision=true" : "");
    return MV_OK;
}

/* Rewrite `name` with the first key_map prefix that matches (ordered, like the merge's
 * key_map); returns a malloc'd string. */
static char *map_name(const cJSON *key_map, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, key_map) {
        if (cJSON_IsString(e) && has_prefix(name, e->string)) {
            size_t a = strlen(e->valuestring), b = strlen(name) - strlen(e->string);
            char *out = malloc(a + b + 1);
            if (out) {
                memcpy(out, e->valuestring, a);
                memcpy(out + a, name + strlen(e->string), b + 1);
            }
            return out;
        }
    }
    return strdup(name);
}

mv_status sft_apply_init(mv_context *ctx, mv_model *m, const char *init_json, size_t *n_copied,
                         mv_error *err)
{
    mv_status st = MV_OK;
    mv_checkpoint *ck = NULL;
    cJSON *root = cJSON_Parse(init_json);
    *n_copied = 0;
    if (!cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_INPUT, "params.init: expected an object {\"path\": ..., "
                       "\"key_map\": {...}}");
        goto fail;
    }
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(root, "path");
    const cJSON *key_map = cJSON_GetObjectItemCaseSensitive(root, "key_map");
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "path") != 0 && strcmp(e->string, "key_map") != 0) {
            st = mv_errorf(err, MV_E_INPUT, "params.init.%s: unknown key (known: path, key_map)",
                           e->string);
            goto fail;
        }
    }
    if (!cJSON_IsString(path)) {
        st = mv_errorf(err, MV_E_INPUT, "params.init.path: expected a string (checkpoint path)");
        goto fail;
    }
    if (key_map && !cJSON_IsObject(key_map)) {
        st = mv_errorf(err, MV_E_INPUT, "params.init.key_map: expected an object of prefix "
                       "rewrites, e.g. {\"model.\": \"llm.model.\"}");
        goto fail;
    }
    st = mv_checkpoint_open(ctx, path->valuestring, NULL, &ck, err);
    if (st != MV_OK) {
        mv_error_prefix(err, "params.init.path");
        goto fail;
    }
    size_t np = m->ops->n_params(m), skipped = 0;
    for (size_t t = 0; t < ck->n_tensors; t++) {
        char *name = map_name(key_map, ck->tensors[t].name);
        if (!name) {
            st = mv_errorf(err, MV_E_NOMEM, "init: out of memory");
            goto fail;
        }
        mv_param_ref *dst = NULL;
        for (size_t i = 0; i < np && !dst; i++) {
            mv_param_ref *p = m->ops->param(m, i);
            if (strcmp(p->name, name) == 0)
                dst = p;
        }
        if (!dst) {
            skipped++;
            free(name);
            continue;
        }
        int ov = 0;
        uint64_t numel = mv_shape_numel(ck->tensors[t].ndim, ck->tensors[t].shape, &ov);
        int same = numel == dst->numel && ck->tensors[t].ndim == dst->ndim;
        for (int d = 0; same && d < dst->ndim; d++)
            same = ck->tensors[t].shape[d] == dst->shape[d];
        if (!same) {
            char a[96], b[96];
            st = mv_errorf(err, MV_E_INPUT, "params.init: tensor %s of %s has shape %s but "
                           "parameter %s has shape %s", ck->tensors[t].name, path->valuestring,
                           mv_shape_str(ck->tensors[t].ndim, ck->tensors[t].shape, a, sizeof a),
                           name, mv_shape_str(dst->ndim, dst->shape, b, sizeof b));
            free(name);
            goto fail;
        }
        free(name);
        st = mv_checkpoint_read_f32(ck, t, dst->data, err);
        if (st != MV_OK)
            goto fail;
        mv_checkpoint_release(ck, t);
        (*n_copied)++;
    }
    if (*n_copied == 0) {
        st = mv_errorf(err, MV_E_INPUT, "params.init: none of the %zu tensors of %s matches a "
                       "parameter of the model (first: %s, model's first: %s); add a key_map "
                       "such as {\"model.\": \"llm.model.\", \"lm_head.\": \"llm.lm_head.\"}",
                       ck->n_tensors, path->valuestring,
                       ck->n_tensors ? ck->tensors[0].name : "-",
                       np ? m->ops->param(m, 0)->name : "-");
        goto fail;
    }
    mv_log(ctx, MV_LOG_INFO, "init: copied %zu tensors from %s (%zu without a matching "
           "parameter)", *n_copied, path->valuestring, skipped);
fail:
    mv_checkpoint_close(ck);
    cJSON_Delete(root);
    return st;
}
