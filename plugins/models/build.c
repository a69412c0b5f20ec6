/* plugins/models/build.c — registers every parameter of the configured architecture under
 * its HF name (Llama decoder, SigLIP ViT `vpm.*`, MiniCPM-V resampler `resampler.*`) and
 * fills the layer tables with their indices. No math here. */
#include "mdl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add1(mdl *m, const char *name, int64_t a) { return mdl_param_add(m, name, 1, &a); }
static int add2(mdl *m, const char *name, int64_t a, int64_t b) {
    int64_t s[2] = {a, b};
    return mdl_param_add(m, name, 2, s);
}

/* "<module>.weight" (out, in) and optionally "<module>.bias" (out) */
static int add_lin(mdl *m, mdl_lin *l, const char *module, int in, int out, int bias) {
    char name[256];
    memset(l, 0, sizeof *l);
    l->in = in;
    l->out = out;
    l->iA = l->iB = l->ib = -1;
    l->loraable = 1;
    snprintf(name, sizeof name, "%.200s.weight", module);
    if ((l->iw = add2(m, name, out, in)) < 0) return -1;
    if (bias) {
        snprintf(name, sizeof name, "%.200s.bias", module);
        if ((l->ib = add1(m, name, out)) < 0) return -1;
    }
    return 0;
}

static int build_decoder(mdl *m, const char *pre) {
    decoder *d = &m->dec;
    dec_cfg *c = &d->c;
    char name[256], mod[256];
    snprintf(name, sizeof name, "%smodel.embed_tokens.weight", pre);
    if ((d->iembed = add2(m, name, c->V, c->C)) < 0) return -1;
    d->layers = calloc((size_t)c->L, sizeof *d->layers);
    if (!d->layers) return -1;
    static const char *const names[DEC_NLIN] = {"self_attn.q_proj", "self_attn.k_proj",
        "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    int qd = c->NH * c->HS, kvd = c->NKV * c->HS;
    const int ins[DEC_NLIN] = {c->C, c->C, c->C, qd, c->C, c->C, c->F};
    const int outs[DEC_NLIN] = {qd, kvd, kvd, c->C, c->F, c->F, c->C};
    for (int l = 0; l < c->L; l++) {
        dec_layer *L = &d->layers[l];
        for (int i = 0; i < DEC_NLIN; i++) {
            snprintf(mod, sizeof mod, "%smodel.layers.%d.%s", pre, l, names[i]);
            if (add_lin(m, &L->lin[i], mod, ins[i], outs[i], 0)) return -1;
        }
        snprintf(name, sizeof name, "%smodel.layers.%d.input_layernorm.weight", pre, l);
        if ((L->iln1 = add1(m, name, c->C)) < 0) return -1;
        snprintf(name, sizeof name, "%smodel.layers.%d.post_attention_layernorm.weight", pre, l);
        if ((L->iln2 = add1(m, name, c->C)) < 0) return -1;
    }
    snprintf(name, sizeof name, "%smodel.norm.weight", pre);
    if ((d->inorm = add1(m, name, c->C)) < 0) return -1;
    if (c->tied) {
        memset(&d->head, 0, sizeof d->head);
        d->head.iw = d->iembed;
        d->head.ib = d->head.iA = d->head.iB = -1;
        d->head.in = c->C;
        d->head.out = c->V;
        d->head.loraable = 0; /* the weight is the embedding: PEFT would not target it */
    } else {
        snprintf(mod, sizeof mod, "%slm_head", pre);
        if (add_lin(m, &d->head, mod, c->C, c->V, 0)) return -1;
    }
    d->cos_t = malloc(sizeof(float) * (size_t)c->maxpos * (c->HS / 2));
    d->sin_t = malloc(sizeof(float) * (size_t)c->maxpos * (c->HS / 2));
    if (!d->cos_t || !d->sin_t) return -1;
    nn_rope_tables(d->cos_t, d->sin_t, c->maxpos, c->HS, c->theta);
    return 0;
}

static int build_vision(mdl *m) {
    vit *v = &m->vit;
    vit_cfg *c = &v->c;
    char name[256], mod[256];
    if (add_lin(m, &v->patch, "vpm.embeddings.patch_embedding", 3 * c->ps * c->ps, c->D, 1))
        return -1;
    /* the conv weight is stored 4-D (D, 3, ps, ps) like HF's Conv2d */
    mv_param_ref *pw = &m->P[v->patch.iw];
    pw->ndim = 4;
    pw->shape[0] = c->D; pw->shape[1] = 3; pw->shape[2] = c->ps; pw->shape[3] = c->ps;
    v->patch.loraable = 0;
    if ((v->ipos = add2(m, "vpm.embeddings.position_embedding.weight", c->P, c->D)) < 0) return -1;
    v->layers = calloc((size_t)c->L, sizeof *v->layers);
    if (!v->layers) return -1;
    static const char *const names[VIT_NLIN] = {"self_attn.q_proj", "self_attn.k_proj",
        "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"};
    const int ins[VIT_NLIN] = {c->D, c->D, c->D, c->D, c->D, c->F};
    const int outs[VIT_NLIN] = {c->D, c->D, c->D, c->D, c->F, c->D};
    for (int l = 0; l < c->L; l++) {
        vit_layer *L = &v->layers[l];
        snprintf(name, sizeof name, "vpm.encoder.layers.%d.layer_norm1.weight", l);
        if ((L->iln1w = add1(m, name, c->D)) < 0) return -1;
        snprintf(name, sizeof name, "vpm.encoder.layers.%d.layer_norm1.bias", l);
        if ((L->iln1b = add1(m, name, c->D)) < 0) return -1;
        for (int i = 0; i < VIT_NLIN; i++) {
            snprintf(mod, sizeof mod, "vpm.encoder.layers.%d.%s", l, names[i]);
            if (add_lin(m, &L->lin[i], mod, ins[i], outs[i], 1)) return -1;
        }
        snprintf(name, sizeof name, "vpm.encoder.layers.%d.layer_norm2.weight", l);
        if ((L->iln2w = add1(m, name, c->D)) < 0) return -1;
        snprintf(name, sizeof name, "vpm.encoder.layers.%d.layer_norm2.bias", l);
        if ((L->iln2b = add1(m, name, c->D)) < 0) return -1;
    }
    if ((v->ipostw = add1(m, "vpm.post_layernorm.weight", c->D)) < 0) return -1;
    if ((v->ipostb = add1(m, "vpm.post_layernorm.bias", c->D)) < 0) return -1;

    resampler *r = &m->rs;
    if ((r->iquery = add2(m, "resampler.query", r->Q, r->D)) < 0) return -1;
    if (add_lin(m, &r->kv, "resampler.kv_proj", r->Dv, r->D, 0)) return -1;
    if ((r->iinw = add2(m, "resampler.attn.in_proj_weight", 3 * r->D, r->D)) < 0) return -1;
    if ((r->iinb = add1(m, "resampler.attn.in_proj_bias", 3 * r->D)) < 0) return -1;
    if (add_lin(m, &r->out, "resampler.attn.out_proj", r->D, r->D, 1)) return -1;
    if ((r->ilnqw = add1(m, "resampler.ln_q.weight", r->D)) < 0) return -1;
    if ((r->ilnqb = add1(m, "resampler.ln_q.bias", r->D)) < 0) return -1;
    if ((r->ilnkvw = add1(m, "resampler.ln_kv.weight", r->D)) < 0) return -1;
    if ((r->ilnkvb = add1(m, "resampler.ln_kv.bias", r->D)) < 0) return -1;
    if ((r->ilnpw = add1(m, "resampler.ln_post.weight", r->D)) < 0) return -1;
    if ((r->ilnpb = add1(m, "resampler.ln_post.bias", r->D)) < 0) return -1;
    if ((r->iproj = add2(m, "resampler.proj", r->D, r->D)) < 0) return -1;
    return 0;
}

mv_status mdl_build(mdl *m, mv_error *err) {
    m->prefix = m->is_vlm ? "llm." : "";
    if (m->is_vlm && build_vision(m))
        return mv_errorf(err, MV_E_NOMEM, "model: out of memory building the vision tower");
    if (build_decoder(m, m->prefix))
        return mv_errorf(err, MV_E_NOMEM, "model: out of memory building the decoder");
    mv_status st = mdl_params_alloc(m, err);
    if (st) return st;
    const dec_cfg *c = &m->dec.c;
    m->pub.ops = m->is_vlm ? &mdl_ops : &mdl_ops_text;
    m->pub.impl = m;
    m->pub.arch = m->is_vlm ? "tinyvlm" : "llama";
    m->pub.vocab_size = c->V;
    m->pub.bos_id = 256;
    m->pub.eos_id = 257;
    m->pub.has_vision = m->is_vlm;
    m->pub.image_size = m->is_vlm ? m->vit.c.S : 0;
    m->pub.n_image_tokens = m->is_vlm ? m->rs.Q : 0;
    m->pub.max_seq = c->maxpos - 1 - (m->is_vlm ? m->rs.Q : 0);
    m->pub.config_json = mdl_config_json(m);
    if (!m->pub.config_json) return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
    return MV_OK;
}
