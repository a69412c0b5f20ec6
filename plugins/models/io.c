/* plugins/models/io.c — creating, loading and saving llama/tinyvlm models: probe of a
 * config.json, fresh deterministic initialisation, strict load from an mv_checkpoint
 * (missing, extra or mis-shaped tensors name the tensor) and save as F32 safetensors +
 * config.json, optionally with LoRA merged in. */
#include "mdl.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mdl_all_lins(mdl *m, mdl_lin **out, size_t cap);

static int arch_is(const cJSON *o, const char *name) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "architectures"), *e;
    cJSON_ArrayForEach(e, a) if (cJSON_IsString(e) && strcmp(e->valuestring, name) == 0) return 1;
    return 0;
}

static int model_type_is(const cJSON *o, const char *name) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "model_type");
    return cJSON_IsString(t) && strcmp(t->valuestring, name) == 0;
}

int mdl_probe(const char *config_json, int is_vlm) {
    cJSON *o = cJSON_Parse(config_json ? config_json : "");
    int score = 0;
    if (cJSON_IsObject(o)) {
        if (is_vlm) {
            if (arch_is(o, "TinyVLM")) score = 100;
            else if (model_type_is(o, "minicpmv") && cJSON_GetObjectItem(o, "vision_config")) score = 40;
        } else {
            if (arch_is(o, "LlamaForCausalLM")) score = 100;
            else if (model_type_is(o, "llama")) score = 80;
        }
    }
    cJSON_Delete(o);
    return score;
}

static mv_status new_model(const char *config_json, int is_vlm, mdl **out, mv_error *err) {
    *out = NULL;
    mdl *m = calloc(1, sizeof *m);
    if (!m) return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
    m->is_vlm = is_vlm;
    mv_status st = mdl_config_parse(m, config_json, is_vlm, err);
    if (!st) st = mdl_build(m, err);
    if (st) {
        mdl_free(m);
        return st;
    }
    *out = m;
    return MV_OK;
}

mv_status mdl_create(const char *config_json, uint64_t seed, int is_vlm, mv_model **out,
                     mv_error *err) {
    mdl *m;
    mv_status st = new_model(config_json, is_vlm, &m, err);
    if (st) return st;
    mdl_params_init(m, seed);
    *out = &m->pub;
    return MV_OK;
}

mv_status mdl_load(mv_checkpoint *ck, int is_vlm, mv_model **out, mv_error *err) {
    const char *arch = is_vlm ? "tinyvlm" : "llama";
    *out = NULL;
    if (!ck->config_json)
        return mv_errorf(err, MV_E_FORMAT, "%s: no config.json beside the weights; a %s model "
                         "needs its HF-style config.json", ck->path, arch);
    mdl *m;
    mv_status st = new_model(ck->config_json, is_vlm, &m, err);
    if (st) return mv_error_prefix(err, "%s", ck->path);
    char *used = calloc(ck->n_tensors + 1, 1);
    if (!used) {
        st = mv_errorf(err, MV_E_NOMEM, "model: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->nP; i++) {
        mv_param_ref *p = &m->P[i];
        long k = mv_checkpoint_find(ck, p->name);
        if (k < 0) {
            st = mv_errorf(err, MV_E_FORMAT, "%s: tensor %s is missing (a %s model with this "
                           "config.json needs it)", ck->path, p->name, arch);
            goto fail;
        }
        const mv_tensor_info *t = &ck->tensors[k];
        int ok = t->ndim == p->ndim;
        for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == p->shape[d];
        if (!ok) {
            char a[96], b[96];
            st = mv_errorf(err, MV_E_FORMAT, "%s: tensor %s has shape %s, but config.json "
                           "implies %s", ck->path, p->name, mv_shape_str(t->ndim, t->shape, a, sizeof a),
                           mv_shape_str(p->ndim, p->shape, b, sizeof b));
            goto fail;
        }
        if ((st = mv_checkpoint_read_f32(ck, (size_t)k, p->data, err))) {
            mv_error_prefix(err, "%s: tensor %s", ck->path, p->name);
            goto fail;
        }
        mv_checkpoint_release(ck, (size_t)k);
        used[k] = 1;
    }
    char headname[128];
    snprintf(headname, sizeof headname, "%slm_head.weight", m->prefix);
    for (size_t k = 0; k < ck->n_tensors; k++) {
        if (used[k]) continue;
        /* HF sometimes stores the tied head explicitly; it is the embedding, so ignore it */
        if (m->dec.c.tied && strcmp(ck->tensors[k].name, headname) == 0) continue;
        st = mv_errorf(err, MV_E_FORMAT, "%s: unexpected tensor %s (not part of a %s model with "
                       "this config.json; wrong architecture, or an unmerged adapter?)", ck->path,
                       ck->tensors[k].name, arch);
        goto fail;
    }
    free(used);
    *out = &m->pub;
    return MV_OK;
fail:
    free(used);
    mdl_free(m);
    return st;
}

static const mdl_lin *lin_of_weight(mdl_lin **lins, size_t n, int iw) {
    for (size_t i = 0; i < n; i++)
        if (lins[i]->iw == iw) return lins[i];
    return NULL;
}

mv_status mdl_save(mv_model *pm, mv_context *ctx, const char *dir, int merge_lora,
                   mv_error *err) {
    mdl *m = (mdl *)pm;
    mv_status st = MV_OK;
    mv_tensor_info *infos = calloc(m->nP + 1, sizeof *infos);
    int *idx = calloc(m->nP + 1, sizeof *idx);
    float *tmp = NULL;
    mv_checkpoint_writer *w = NULL;
    size_t n = 0, nl = mdl_all_lins(m, NULL, 0);
    mdl_lin **lins = calloc(nl + 1, sizeof *lins);
    if (!infos || !idx || !lins) {
        st = mv_errorf(err, MV_E_NOMEM, "model: out of memory");
        goto done;
    }
    size_t maxnumel = 0;
    for (size_t i = 0; i < m->nP; i++) {
        const mv_param_ref *p = &m->P[i];
        if (p->is_lora) continue;
        mv_tensor_info *t = &infos[n];
        t->name = p->name;
        t->dtype = MV_DTYPE_F32;
        t->ndim = p->ndim;
        memcpy(t->shape, p->shape, sizeof t->shape);
        t->nbytes = p->numel * sizeof(float);
        idx[n++] = (int)i;
        maxnumel = p->numel > maxnumel ? p->numel : maxnumel;
    }
    mdl_all_lins(m, lins, nl);
    mv_writer_options opts;
    memset(&opts, 0, sizeof opts);
    opts.config_json = m->pub.config_json;
    if ((st = mv_checkpoint_create(ctx, dir, "safetensors", infos, n, &opts, &w, err))) goto done;
    tmp = malloc(maxnumel * sizeof(float) + 1);
    if (!tmp) {
        st = mv_errorf(err, MV_E_NOMEM, "model: out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        const mv_param_ref *p = &m->P[idx[j]];
        const float *src = p->data;
        const mdl_lin *l = merge_lora ? lin_of_weight(lins, nl, idx[j]) : NULL;
        if (l && l->iA >= 0) {
            /* W' = W + scale · B (OC, R) · A (R, IC), computed in fp32 */
            memcpy(tmp, p->data, p->numel * sizeof(float));
            const float *A = PW(m, l->iA), *B = PW(m, l->iB);
            for (int o = 0; o < l->out; o++)
                for (int r = 0; r < l->r; r++) {
                    float b = l->scale * B[(size_t)o * l->r + r];
                    if (b == 0.0f) continue;
                    const float *a = A + (size_t)r * l->in;
                    float *d = tmp + (size_t)o * l->in;
                    for (int i = 0; i < l->in; i++) d[i] += b * a[i];
                }
            src = tmp;
        }
        if ((st = mv_writer_write_tensor(w, j, src, infos[j].nbytes, err))) goto done;
    }
    st = mv_writer_finish(w, err);
    w = NULL;
done:
    if (w) mv_writer_abort(w);
    free(tmp);
    free(infos);
    free(idx);
    free(lins);
    return st;
}
