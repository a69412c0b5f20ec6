/* plugins/models/config.c — HF-style config.json for llama and tinyvlm: defaults, parsing
 * with range checks (errors name the key), and writing the complete config back out. */
#include "mdl.h"
#include "defaults.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mdl_llama_default_config = MDL_LLAMA_DEFAULTS;
const char *const mdl_tinyvlm_default_config = MDL_TINYVLM_DEFAULTS;

/* Read a number: user value if present, else default. Errors name the key. */
static mv_status get_num(const cJSON *u, const cJSON *d, const char *key, const char *where,
                         double lo, double hi, int integer, double *out, mv_error *err) {
    const cJSON *v = u ? cJSON_GetObjectItemCaseSensitive(u, key) : NULL;
    if (!v) v = d ? cJSON_GetObjectItemCaseSensitive(d, key) : NULL;
    if (!v || !cJSON_IsNumber(v))
        return mv_errorf(err, MV_E_INPUT, "config.json: %s%s: expected a number", where, key);
    double x = v->valuedouble;
    if (integer && x != floor(x))
        return mv_errorf(err, MV_E_INPUT, "config.json: %s%s: expected an integer, got %g", where, key, x);
    if (x < lo || x > hi)
        return mv_errorf(err, MV_E_INPUT, "config.json: %s%s: %g is out of range [%g, %g]", where,
                         key, x, lo, hi);
    *out = x;
    return MV_OK;
}

#define GETI(u, d, key, where, lo, hi, dst) do { double t_ = 0; \
    if ((st = get_num(u, d, key, where, lo, hi, 1, &t_, err)) != MV_OK) goto fail; \
    dst = (int)t_; } while (0)
#define GETF(u, d, key, where, lo, hi, dst) do { double t_ = 0; \
    if ((st = get_num(u, d, key, where, lo, hi, 0, &t_, err)) != MV_OK) goto fail; \
    dst = (float)t_; } while (0)

static mv_status get_vec3(const cJSON *u, const cJSON *d, const char *key, float out[3],
                          mv_error *err) {
    const cJSON *v = u ? cJSON_GetObjectItemCaseSensitive(u, key) : NULL;
    if (!v) v = cJSON_GetObjectItemCaseSensitive(d, key);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
        return mv_errorf(err, MV_E_INPUT, "config.json: $.%s: expected an array of 3 numbers", key);
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsNumber(e))
            return mv_errorf(err, MV_E_INPUT, "config.json: $.%s[%d]: expected a number", key, i);
        out[i] = (float)e->valuedouble;
    }
    return MV_OK;
}

mv_status mdl_config_parse(mdl *m, const char *json, int is_vlm, mv_error *err) {
    mv_status st = MV_OK;
    cJSON *u = NULL, *d = cJSON_Parse(is_vlm ? mdl_tinyvlm_default_config : mdl_llama_default_config);
    if (json && *json) {
        u = cJSON_Parse(json);
        if (!cJSON_IsObject(u)) {
            st = mv_errorf(err, MV_E_INPUT, "config.json: not a JSON object");
            goto fail;
        }
    }
    dec_cfg *c = &m->dec.c;
    GETI(u, d, "hidden_size", "$.", 2, 1 << 16, c->C);
    GETI(u, d, "num_hidden_layers", "$.", 1, 1024, c->L);
    GETI(u, d, "num_attention_heads", "$.", 1, 1024, c->NH);
    {
        /* HF: a missing num_key_value_heads means plain multi-head attention */
        const cJSON *kv = u ? cJSON_GetObjectItemCaseSensitive(u, "num_key_value_heads") : NULL;
        if (u && !kv) c->NKV = c->NH;
        else GETI(u, d, "num_key_value_heads", "$.", 1, 1024, c->NKV);
    }
    GETI(u, d, "intermediate_size", "$.", 1, 1 << 20, c->F);
    GETI(u, d, "vocab_size", "$.", 258, 1 << 22, c->V);
    GETI(u, d, "max_position_embeddings", "$.", 8, 1 << 20, c->maxpos);
    GETF(u, d, "rms_norm_eps", "$.", 0, 1, c->eps);
    GETF(u, d, "rope_theta", "$.", 1, 1e12, c->theta);
    {
        const cJSON *t = u ? cJSON_GetObjectItemCaseSensitive(u, "tie_word_embeddings") : NULL;
        if (!t) t = cJSON_GetObjectItemCaseSensitive(d, "tie_word_embeddings");
        c->tied = cJSON_IsTrue(t);
    }
    if (c->C % c->NH || c->NH % c->NKV || (c->C / c->NH) % 2) {
        st = mv_errorf(err, MV_E_INPUT, "config.json: hidden_size %d, num_attention_heads %d, "
                       "num_key_value_heads %d: need hidden_size divisible by heads, heads by kv "
                       "heads, and an even head size", c->C, c->NH, c->NKV);
        goto fail;
    }
    c->HS = c->C / c->NH;
    if (u) { /* HF Llama options this implementation does not have: refuse, don't ignore */
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(u, "rope_scaling");
        const cJSON *ab = cJSON_GetObjectItemCaseSensitive(u, "attention_bias");
        const cJSON *mb = cJSON_GetObjectItemCaseSensitive(u, "mlp_bias");
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(u, "hidden_act");
        const char *what = rs && !cJSON_IsNull(rs) ? "rope_scaling" : cJSON_IsTrue(ab) ? "attention_bias"
                         : cJSON_IsTrue(mb) ? "mlp_bias"
                         : act && !(cJSON_IsString(act) && strcmp(act->valuestring, "silu") == 0) ? "hidden_act"
                         : NULL;
        if (what) {
            st = mv_errorf(err, MV_E_UNSUPPORTED, "config.json: $.%s: not supported by the "
                           "reference llama (plain RoPE, no attention/MLP biases, SiLU only)", what);
            goto fail;
        }
    }
    if (is_vlm) {
        const cJSON *uv = u ? cJSON_GetObjectItemCaseSensitive(u, "vision_config") : NULL;
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(d, "vision_config");
        if (uv && !cJSON_IsObject(uv)) {
            st = mv_errorf(err, MV_E_INPUT, "config.json: $.vision_config: expected an object");
            goto fail;
        }
        vit_cfg *v = &m->vit.c;
        GETI(uv, dv, "hidden_size", "$.vision_config.", 2, 1 << 16, v->D);
        GETI(uv, dv, "intermediate_size", "$.vision_config.", 1, 1 << 20, v->F);
        GETI(uv, dv, "num_hidden_layers", "$.vision_config.", 1, 1024, v->L);
        GETI(uv, dv, "num_attention_heads", "$.vision_config.", 1, 1024, v->NH);
        GETF(uv, dv, "layer_norm_eps", "$.vision_config.", 0, 1, v->eps);
        GETI(u, d, "image_size", "$.", 1, 4096, v->S);
        GETI(u, d, "patch_size", "$.", 1, 4096, v->ps);
        if (v->S % v->ps || v->D % v->NH) {
            st = mv_errorf(err, MV_E_INPUT, "config.json: image_size %d must be a multiple of "
                           "patch_size %d and vision hidden_size %d of its heads %d", v->S, v->ps,
                           v->D, v->NH);
            goto fail;
        }
        v->P = (v->S / v->ps) * (v->S / v->ps);
        resampler *r = &m->rs;
        GETI(u, d, "query_num", "$.", 1, 4096, r->Q);
        GETI(u, d, "resampler_num_heads", "$.", 1, 1024, r->NH);
        if (c->C % r->NH) {
            st = mv_errorf(err, MV_E_INPUT, "config.json: hidden_size %d is not divisible by "
                           "resampler_num_heads %d", c->C, r->NH);
            goto fail;
        }
        r->D = c->C;
        r->Dv = v->D;
        r->eps = 1e-6f;
        if ((st = get_vec3(u, d, "image_mean", m->img_mean, err)) != MV_OK) goto fail;
        if ((st = get_vec3(u, d, "image_std", m->img_std, err)) != MV_OK) goto fail;
        for (int i = 0; i < 3; i++)
            if (m->img_std[i] <= 0) {
                st = mv_errorf(err, MV_E_INPUT, "config.json: $.image_std[%d] must be > 0", i);
                goto fail;
            }
        if (c->maxpos < 2 + r->Q) {
            st = mv_errorf(err, MV_E_INPUT, "config.json: max_position_embeddings %d leaves no "
                           "room for text after BOS and %d visual tokens", c->maxpos, r->Q);
            goto fail;
        }
    }
fail:
    cJSON_Delete(u);
    cJSON_Delete(d);
    return st;
}

char *mdl_config_json(const mdl *m) {
    const dec_cfg *c = &m->dec.c;
    cJSON *o = cJSON_CreateObject();
    const char *arch = m->is_vlm ? "TinyVLM" : "LlamaForCausalLM";
    cJSON_AddItemToObject(o, "architectures", cJSON_CreateStringArray(&arch, 1));
    cJSON_AddStringToObject(o, "model_type", m->is_vlm ? "minicpmv" : "llama");
    cJSON_AddNumberToObject(o, "hidden_size", c->C);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->L);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->NH);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->NKV);
    cJSON_AddNumberToObject(o, "intermediate_size", c->F);
    cJSON_AddNumberToObject(o, "vocab_size", c->V);
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->maxpos);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->eps);
    cJSON_AddNumberToObject(o, "rope_theta", c->theta);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tied);
    cJSON_AddNumberToObject(o, "bos_token_id", 256);
    cJSON_AddNumberToObject(o, "eos_token_id", 257);
    cJSON_AddStringToObject(o, "hidden_act", "silu");
    if (m->is_vlm) {
        const vit_cfg *v = &m->vit.c;
        cJSON_AddNumberToObject(o, "query_num", m->rs.Q);
        cJSON_AddNumberToObject(o, "resampler_num_heads", m->rs.NH);
        cJSON_AddNumberToObject(o, "image_size", v->S);
        cJSON_AddNumberToObject(o, "patch_size", v->ps);
        cJSON_AddItemToObject(o, "image_mean", cJSON_CreateFloatArray(m->img_mean, 3));
        cJSON_AddItemToObject(o, "image_std", cJSON_CreateFloatArray(m->img_std, 3));
        cJSON *vc = cJSON_AddObjectToObject(o, "vision_config");
        cJSON_AddStringToObject(vc, "model_type", "siglip_vision_model");
        cJSON_AddNumberToObject(vc, "hidden_size", v->D);
        cJSON_AddNumberToObject(vc, "intermediate_size", v->F);
        cJSON_AddNumberToObject(vc, "num_hidden_layers", v->L);
        cJSON_AddNumberToObject(vc, "num_attention_heads", v->NH);
        cJSON_AddNumberToObject(vc, "image_size", v->S);
        cJSON_AddNumberToObject(vc, "patch_size", v->ps);
        cJSON_AddNumberToObject(vc, "layer_norm_eps", v->eps);
        cJSON_AddStringToObject(vc, "hidden_act", "gelu_pytorch_tanh");
    }
    cJSON_AddStringToObject(o, "torch_dtype", "float32");
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s; /* cJSON uses malloc by default */
}
