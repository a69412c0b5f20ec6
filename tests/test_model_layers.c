/* tests/test_model_layers.c — every layer of the reference models (plugins/models/nn.h)
 * checked against central finite differences, then whole llama and tinyvlm models (tiny
 * configs) including LoRA, frozen parameters and gradient checkpointing. The loss of each
 * check is L = Σ w ⊙ f(x) with fixed random w, accumulated in double. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../plugins/models/mdl.h"

mv_status mdl_create(const char *config_json, uint64_t seed, int is_vlm, mv_model **out,
                     mv_error *err);

/* ------------------------------------------------------------------ helpers */
static uint64_t rng_state = 1;
static float frand(void) { /* uniform [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0) - 1.0);
}
/* every test buffer is remembered and freed by the fixture's teardown */
static void *g_allocs[512];
static int g_nallocs;
static float *track(float *p) {
    ck_assert_int_lt(g_nallocs, 512);
    g_allocs[g_nallocs++] = p;
    return p;
}
static void free_all(void) {
    while (g_nallocs > 0) free(g_allocs[--g_nallocs]);
}
static float *zeros(size_t n) { return track(calloc(n, sizeof(float))); }
static float *rnd(size_t n, float s) {
    float *p = zeros(n);
    for (size_t i = 0; i < n; i++) p[i] = s * frand();
    return p;
}
static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Compare analytic grad g of x against central differences at up to 40 entries. Returns
 * the worst relative error |a - n| / max(|a|, |n|, floor). */
static double fd_check(loss_fn f, void *ctx, float *x, const float *g, size_t n, float eps,
                       double floor_) {
    double worst = 0;
    size_t step = n > 40 ? n / 40 : 1;
    for (size_t i = (size_t)(rng_state % step); i < n; i += step) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = f(ctx);
        x[i] = keep - eps;
        double lm = f(ctx);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * (double)eps);
        double den = fmax(fmax(fabs(num), fabs((double)g[i])), floor_);
        double e = fabs(num - (double)g[i]) / den;
        if (e > worst) worst = e;
    }
    return worst;
}

#define TOL 2e-2
#define EPS 1e-2f

/* ------------------------------------------------------------------ linear + LoRA */
typedef struct { int N, IC, OC, R; float *x, *w, *b, *A, *B, *wout, *out, *u, *xd; float scale, p; } lin_ctx;
static double lin_loss(void *c_) {
    lin_ctx *c = c_;
    nn_linear_forward(c->out, c->x, c->w, c->b, c->N, c->IC, c->OC);
    if (c->A) nn_lora_forward(c->out, c->u, c->xd, c->x, c->A, c->B, c->N, c->IC, c->OC, c->OC, c->R, c->scale, c->p, 42);
    return dot(c->out, c->wout, (size_t)c->N * c->OC);
}

static void check_linear(int lora, float p) {
    lin_ctx c = {.N = 5, .IC = 7, .OC = 6, .R = 3};
    c.x = rnd(35, 1); c.w = rnd(42, 0.5f); c.b = rnd(6, 0.5f); c.wout = rnd(30, 1);
    c.out = zeros(30); c.u = zeros(15); c.xd = zeros(35); c.scale = 1.7f; c.p = p;
    if (lora) { c.A = rnd(21, 0.5f); c.B = rnd(18, 0.5f); }
    float *dx = zeros(35), *dw = zeros(42), *db = zeros(6), *dA = zeros(21), *dB = zeros(18), *du = zeros(15);
    lin_loss(&c);
    nn_linear_backward(dx, dw, db, c.wout, c.x, c.w, c.N, c.IC, c.OC);
    if (lora) nn_lora_backward(dx, dA, dB, du, c.xd, c.wout, c.u, c.x, c.A, c.B, c.N, c.IC, c.OC, c.OC, c.R, c.scale, c.p, 42);
    ck_assert_double_le(fd_check(lin_loss, &c, c.x, dx, 35, EPS, 1e-2), TOL);
    ck_assert_double_le(fd_check(lin_loss, &c, c.w, dw, 42, EPS, 1e-2), TOL);
    ck_assert_double_le(fd_check(lin_loss, &c, c.b, db, 6, EPS, 1e-2), TOL);
    if (lora) {
        ck_assert_double_le(fd_check(lin_loss, &c, c.A, dA, 21, EPS, 1e-2), TOL);
        ck_assert_double_le(fd_check(lin_loss, &c, c.B, dB, 18, EPS, 1e-2), TOL);
    }
}

START_TEST(test_linear) { check_linear(0, 0); }
END_TEST
START_TEST(test_linear_lora) { check_linear(1, 0); }
END_TEST
START_TEST(test_linear_lora_dropout) { check_linear(1, 0.3f); }
END_TEST

START_TEST(test_dropout_rate) {
    int kept = 0;
    for (int i = 0; i < 100000; i++) kept += nn_dropout_keep(7, (uint64_t)i, 0.25f);
    ck_assert_int_gt(kept, 74000);
    ck_assert_int_lt(kept, 76000);
    ck_assert_int_eq(nn_dropout_keep(7, 123, 0.25f), nn_dropout_keep(7, 123, 0.25f));
}
END_TEST

/* ------------------------------------------------------------------ norms */
typedef struct { int N, C, ln; float *x, *w, *b, *out, *s1, *s2, *wout; } norm_ctx;
static double norm_loss(void *c_) {
    norm_ctx *c = c_;
    if (c->ln) nn_layernorm_forward(c->out, c->s1, c->s2, c->x, c->w, c->b, c->N, c->C, 1e-5f);
    else nn_rmsnorm_forward(c->out, c->s1, c->x, c->w, c->N, c->C, 1e-5f);
    return dot(c->out, c->wout, (size_t)c->N * c->C);
}
static void check_norm(int ln) {
    norm_ctx c = {.N = 4, .C = 9, .ln = ln};
    c.x = rnd(36, 2); c.w = rnd(9, 1); c.b = rnd(9, 1); c.out = zeros(36); c.s1 = zeros(4);
    c.s2 = zeros(4); c.wout = rnd(36, 1);
    float *dx = zeros(36), *dw = zeros(9), *db = zeros(9);
    norm_loss(&c);
    if (ln) nn_layernorm_backward(dx, dw, db, c.wout, c.x, c.w, c.s1, c.s2, c.N, c.C);
    else nn_rmsnorm_backward(dx, dw, c.wout, c.x, c.w, c.s1, c.N, c.C);
    ck_assert_double_le(fd_check(norm_loss, &c, c.x, dx, 36, 1e-2f, 1e-2), TOL);
    ck_assert_double_le(fd_check(norm_loss, &c, c.w, dw, 9, 1e-2f, 1e-2), TOL);
    if (ln) ck_assert_double_le(fd_check(norm_loss, &c, c.b, db, 9, 1e-2f, 1e-2), TOL);
}
START_TEST(test_rmsnorm) { check_norm(0); }
END_TEST
START_TEST(test_layernorm) { check_norm(1); }
END_TEST

/* ------------------------------------------------------------------ RoPE */
typedef struct { int N, H, HS; float *x, *y, *wout, *cs, *sn; int *pos; } rope_ctx;
static double rope_loss(void *c_) {
    rope_ctx *c = c_;
    size_t n = (size_t)c->N * c->H * c->HS;
    memcpy(c->y, c->x, n * sizeof(float));
    nn_rope_forward(c->y, c->H * c->HS, c->pos, c->cs, c->sn, c->N, c->H, c->HS);
    return dot(c->y, c->wout, n);
}
START_TEST(test_rope) {
    rope_ctx c = {.N = 5, .H = 2, .HS = 8};
    size_t n = 80;
    int pos[5] = {0, 1, 2, 7, 3};
    c.pos = pos; c.x = rnd(n, 1); c.y = zeros(n); c.wout = rnd(n, 1);
    c.cs = zeros(16 * 4); c.sn = zeros(16 * 4);
    nn_rope_tables(c.cs, c.sn, 16, 8, 10000.0f);
    float *dx = zeros(n);
    memcpy(dx, c.wout, n * sizeof(float));
    nn_rope_backward(dx, c.H * c.HS, c.pos, c.cs, c.sn, c.N, c.H, c.HS);
    ck_assert_double_le(fd_check(rope_loss, &c, c.x, dx, n, 1e-2f, 1e-2), TOL);
    /* position 0 is the identity; rotate_half pairs i with i + HS/2 */
    rope_loss(&c);
    for (int i = 0; i < 16; i++) ck_assert_float_eq_tol(c.y[i], c.x[i], 1e-6);
    float ang = 1.0f * powf(10000.0f, -2.0f * 1 / 8);
    float x1 = c.x[16 + 1], x2 = c.x[16 + 1 + 4];
    ck_assert_float_eq_tol(c.y[16 + 1], x1 * cosf(ang) - x2 * sinf(ang), 1e-5);
    ck_assert_float_eq_tol(c.y[16 + 5], x2 * cosf(ang) + x1 * sinf(ang), 1e-5);
}
END_TEST

/* ------------------------------------------------------------------ attention */
typedef struct { int Tq, Tk, NH, NKV, HS, causal; float *q, *k, *v, *out, *att, *wout; } att_ctx;
static double att_loss(void *c_) {
    att_ctx *c = c_;
    nn_attention_forward(c->out, c->att, c->q, c->k, c->v, c->Tq, c->Tk, c->NH, c->NKV, c->HS,
                         c->NH * c->HS, c->NKV * c->HS, c->NH * c->HS, c->causal);
    return dot(c->out, c->wout, (size_t)c->Tq * c->NH * c->HS);
}
static void check_attention(int Tq, int Tk, int NH, int NKV, int causal, int overwrite) {
    att_ctx c = {.Tq = Tq, .Tk = Tk, .NH = NH, .NKV = NKV, .HS = 4, .causal = causal};
    size_t nq = (size_t)Tq * NH * 4, nk = (size_t)Tk * NKV * 4;
    c.q = rnd(nq, 1); c.k = rnd(nk, 1); c.v = rnd(nk, 1); c.out = zeros(nq);
    c.att = zeros((size_t)NH * Tq * Tk); c.wout = rnd(nq, 1);
    float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), *scr = zeros((size_t)Tq * Tk);
    att_loss(&c);
    nn_attention_backward(dq, dk, dv, scr, c.wout, c.att, c.q, c.k, c.v, Tq, Tk, NH, NKV, 4,
                          NH * 4, NKV * 4, NH * 4, overwrite);
    if (overwrite) { /* overwrite mode must not depend on what was in the buffers */
        float *dq2 = rnd(nq, 9), *dk2 = rnd(nk, 9), *dv2 = rnd(nk, 9);
        nn_attention_backward(dq2, dk2, dv2, scr, c.wout, c.att, c.q, c.k, c.v, Tq, Tk, NH, NKV, 4,
                              NH * 4, NKV * 4, NH * 4, 1);
        for (size_t i = 0; i < nq; i++) ck_assert_float_eq(dq[i], dq2[i]);
        for (size_t i = 0; i < nk; i++) ck_assert_float_eq(dk[i], dk2[i]);
        for (size_t i = 0; i < nk; i++) ck_assert_float_eq(dv[i], dv2[i]);
    }
    ck_assert_double_le(fd_check(att_loss, &c, c.q, dq, nq, EPS, 1e-2), TOL);
    ck_assert_double_le(fd_check(att_loss, &c, c.k, dk, nk, EPS, 1e-2), TOL);
    ck_assert_double_le(fd_check(att_loss, &c, c.v, dv, nk, EPS, 1e-2), TOL);
    if (causal) { /* query 0 sees only key 0: changing the last key must not move row 0 */
        float before = c.out[0];
        c.k[nk - 1] += 5.0f;
        c.v[nk - 1] += 5.0f;
        att_loss(&c);
        ck_assert_float_eq(before, c.out[0]);
    }
}
START_TEST(test_attention_gqa_causal) { check_attention(6, 6, 4, 2, 1, 0); }
END_TEST
START_TEST(test_attention_gqa_overwrite) { check_attention(6, 6, 4, 2, 1, 1); }
END_TEST
START_TEST(test_attention_mha) { check_attention(5, 5, 2, 2, 0, 0); }
END_TEST
START_TEST(test_attention_cross) { check_attention(3, 7, 2, 2, 0, 0); } /* resampler shape */
END_TEST

/* ------------------------------------------------------------------ activations */
typedef struct { size_t n; int kind; float *a, *b, *out, *wout; } act_ctx;
static double act_loss(void *c_) {
    act_ctx *c = c_;
    if (c->kind) nn_gelu_forward(c->out, c->a, c->n);
    else nn_swiglu_forward(c->out, c->a, c->b, c->n);
    return dot(c->out, c->wout, c->n);
}
START_TEST(test_swiglu) {
    act_ctx c = {30, 0, rnd(30, 3), rnd(30, 2), zeros(30), rnd(30, 1)};
    float *da = zeros(30), *db = zeros(30);
    nn_swiglu_backward(da, db, c.wout, c.a, c.b, 30);
    ck_assert_double_le(fd_check(act_loss, &c, c.a, da, 30, 1e-2f, 1e-2), TOL);
    ck_assert_double_le(fd_check(act_loss, &c, c.b, db, 30, 1e-2f, 1e-2), TOL);
}
END_TEST
START_TEST(test_gelu) {
    act_ctx c = {30, 1, rnd(30, 3), NULL, zeros(30), rnd(30, 1)};
    float *da = zeros(30);
    nn_gelu_backward(da, c.wout, c.a, 30);
    ck_assert_double_le(fd_check(act_loss, &c, c.a, da, 30, 1e-2f, 1e-2), TOL);
}
END_TEST

/* ------------------------------------------------------------------ embedding, xent */
typedef struct { float *wte, *out, *wout; int32_t tok[5]; } emb_ctx;
static double emb_loss(void *c_) {
    emb_ctx *c = c_;
    nn_embedding_forward(c->out, c->tok, c->wte, 5, 4);
    return dot(c->out, c->wout, 20);
}
START_TEST(test_embedding) {
    emb_ctx c = {rnd(28, 1), zeros(20), rnd(20, 1), {3, 0, 6, 3, 1}};
    float *dw = zeros(28);
    nn_embedding_backward(dw, c.wout, c.tok, 5, 4);
    ck_assert_double_le(fd_check(emb_loss, &c, c.wte, dw, 28, 1e-2f, 1e-2), TOL);
}
END_TEST

typedef struct { float *logits; int32_t tgt[4]; } xent_ctx;
static double xent_loss(void *c_) {
    xent_ctx *c = c_;
    return nn_xent_forward_backward(NULL, NULL, c->logits, c->tgt, 4, 9, 1.0f);
}
START_TEST(test_xent) {
    xent_ctx c = {rnd(36, 3), {0, 8, 4, 4}};
    float *d = zeros(36), lp[4];
    double l = nn_xent_forward_backward(d, lp, c.logits, c.tgt, 4, 9, 1.0f);
    ck_assert_double_le(fd_check(xent_loss, &c, c.logits, d, 36, 1e-2f, 1e-2), TOL);
    ck_assert_double_eq_tol(l, -(lp[0] + lp[1] + lp[2] + lp[3]), 1e-4);
}
END_TEST

/* ------------------------------------------------------------------ whole models */
static const char *LLAMA_TINY = "{\"hidden_size\": 16, \"num_hidden_layers\": 2, "
    "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"intermediate_size\": 24, "
    "\"max_position_embeddings\": 32}";
static const char *VLM_TINY = "{\"architectures\": [\"TinyVLM\"], \"hidden_size\": 16, "
    "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
    "\"intermediate_size\": 24, \"max_position_embeddings\": 32, \"query_num\": 3, "
    "\"resampler_num_heads\": 2, \"image_size\": 8, \"patch_size\": 4, "
    "\"vision_config\": {\"hidden_size\": 8, \"intermediate_size\": 12, "
    "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"layer_norm_eps\": 1e-6}}";

typedef struct {
    mv_model *m;
    mv_sequence seq[3];
    int32_t toks[3][6];
    uint8_t px[2][8 * 8 * 3];
    mv_image img[2];
} model_ctx;

/* Sum of NLL through score() (no dropout), with raw images encoded inside. */
static double model_loss(void *c_) {
    model_ctx *c = c_;
    float lp[3][6], *out[3] = {lp[0], lp[1], lp[2]};
    mv_error err;
    mv_sequence s[3];
    memcpy(s, c->seq, sizeof s);
    ck_assert_int_eq(c->m->ops->score(c->m, s, 3, out, &err), MV_OK);
    double L = 0;
    for (int b = 0; b < 3; b++)
        for (int j = 0; j < s[b].n_tokens - s[b].n_context; j++) L -= lp[b][j];
    return L;
}

static const char *LLAMA_TINY_TIED = "{\"hidden_size\": 16, \"num_hidden_layers\": 2, "
    "\"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"intermediate_size\": 20, "
    "\"max_position_embeddings\": 32, \"tie_word_embeddings\": true, \"rope_theta\": 500000.0}";
static int g_tied; /* model_setup: use the tied-head llama config */

static void model_setup(model_ctx *c, int vlm) {
    mv_error err;
    memset(c, 0, sizeof *c);
    const char *cfg = vlm ? VLM_TINY : g_tied ? LLAMA_TINY_TIED : LLAMA_TINY;
    ck_assert_int_eq(mdl_create(cfg, 5, vlm, &c->m, &err), MV_OK);
    /* larger weights than the 0.02 init so gradients are well above float noise */
    for (size_t i = 0; i < c->m->ops->n_params(c->m); i++) {
        mv_param_ref *p = c->m->ops->param(c->m, i);
        for (size_t k = 0; k < p->numel; k++) p->data[k] += 0.3f * frand();
    }
    for (int b = 0; b < 3; b++) {
        for (int j = 0; j < 6; j++) c->toks[b][j] = (int32_t)((b * 31 + j * 17) % 258);
        c->seq[b].tokens = c->toks[b];
        c->seq[b].n_tokens = 6 - b;
        c->seq[b].n_context = b;
    }
    if (vlm) {
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < 8 * 8 * 3; k++) c->px[i][k] = (uint8_t)((k * (i + 3) * 37) % 256);
            c->img[i].width = c->img[i].height = 8;
            c->img[i].rgb = c->px[i];
        }
        c->seq[0].raw_image = &c->img[0];
        c->seq[2].raw_image = &c->img[1];
    }
}

static void zero_grads(mv_model *m) {
    for (size_t i = 0; i < m->ops->n_params(m); i++) {
        mv_param_ref *p = m->ops->param(m, i);
        memset(p->grad, 0, p->numel * sizeof(float));
    }
}

/* Gradient of every trainable parameter tensor vs central differences; frozen ones stay 0. */
static void check_model(int vlm, int ckpt, int lora, int freeze_vision) {
    model_ctx c;
    mv_error err;
    model_setup(&c, vlm);
    mv_model *m = c.m;
    if (lora) {
        mv_lora_spec spec = {vlm ? "llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)"
                                 : ".*(q_proj|v_proj|down_proj)", 2, 4.0, 0.0, 0, 9};
        int nm = 0;
        ck_assert_int_eq(m->ops->add_lora(m, &spec, &nm, &err), MV_OK);
        ck_assert_int_eq(nm, 6);
        for (size_t i = 0; i < m->ops->n_params(m); i++) {
            mv_param_ref *p = m->ops->param(m, i);
            p->trainable = p->is_lora;
            if (p->is_lora) /* B = 0 initially: give it values so A's grad is non-zero */
                for (size_t k = 0; k < p->numel; k++) p->data[k] = 0.3f * frand();
        }
    }
    if (freeze_vision)
        for (size_t i = 0; i < m->ops->n_params(m); i++) {
            mv_param_ref *p = m->ops->param(m, i);
            if (!strncmp(p->name, "vpm.", 4)) p->trainable = 0;
        }
    zero_grads(m);
    mv_train_options opt = {ckpt, 1.0f, 0};
    double loss = 0;
    int64_t ntok = 0;
    ck_assert_int_eq(m->ops->forward_backward(m, c.seq, 3, &opt, &loss, &ntok, &err), MV_OK);
    ck_assert_int_eq(ntok, 6 + 4 + 2);
    ck_assert_double_eq_tol(loss, model_loss(&c), 1e-3 * fabs(loss));
    double worst = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < m->ops->n_params(m); i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable) {
            for (size_t k = 0; k < p->numel; k++) ck_assert_float_eq(p->grad[k], 0.0f);
            continue;
        }
        double e = fd_check(model_loss, &c, p->data, p->grad, p->numel, 2e-3f, 3e-2);
        if (e > worst) { worst = e; worst_name = p->name; }
    }
    fprintf(stderr, "grad check %s%s%s%s: worst relative error %.2e (%s)\n", vlm ? "tinyvlm" : "llama",
            ckpt ? " +ckpt" : "", lora ? " +lora(frozen base)" : "", freeze_vision ? " +frozen vpm" : "",
            worst, worst_name);
    ck_assert_msg(worst <= 8e-2, "worst relative gradient error %g at %s", worst, worst_name);
    m->ops->free(m);
}

START_TEST(test_llama_grad) { check_model(0, 0, 0, 0); }
END_TEST
START_TEST(test_llama_grad_ckpt) { check_model(0, 1, 0, 0); }
END_TEST
START_TEST(test_llama_grad_tied_mqa) { /* tied head (grads from head + embedding), 1 kv head */
    g_tied = 1;
    check_model(0, 0, 0, 0);
    g_tied = 0;
}
END_TEST
START_TEST(test_llama_grad_lora_frozen) { check_model(0, 0, 1, 0); }
END_TEST
START_TEST(test_vlm_grad) { check_model(1, 0, 0, 0); }
END_TEST
START_TEST(test_vlm_grad_ckpt) { check_model(1, 1, 0, 0); }
END_TEST
START_TEST(test_vlm_grad_lora_frozen) { check_model(1, 1, 1, 0); }
END_TEST
START_TEST(test_vlm_grad_frozen_vision) { check_model(1, 0, 0, 1); }
END_TEST

/* Checkpointing: the same loss and bit-identical grads, fewer activation bytes. */
START_TEST(test_checkpointing_same_grads) {
    for (int variant = 0; variant < 3; variant++) {
        int vlm = variant == 1;
        model_ctx c;
        mv_error err;
        model_setup(&c, vlm);
        mv_model *m = c.m;
        if (variant == 2) { /* LoRA with dropout: the recomputed mask must be the same */
            mv_lora_spec spec = {".*(q_proj|v_proj|up_proj)", 2, 4.0, 0.3, 0, 9};
            int nm;
            ck_assert_int_eq(m->ops->add_lora(m, &spec, &nm, &err), MV_OK);
            for (size_t i = 0; i < m->ops->n_params(m); i++) {
                mv_param_ref *p = m->ops->param(m, i);
                if (p->is_lora)
                    for (size_t k = 0; k < p->numel; k++) p->data[k] = 0.3f * frand();
            }
        }
        size_t np = m->ops->n_params(m), total = 0;
        for (size_t i = 0; i < np; i++) total += m->ops->param(m, i)->numel;
        float *g0 = malloc(total * sizeof(float));
        double l[2];
        size_t bytes[2];
        for (int ck = 0; ck < 2; ck++) {
            zero_grads(m);
            mv_train_options opt = {ck, 1.0f, 3};
            int64_t nt;
            ck_assert_int_eq(m->ops->forward_backward(m, c.seq, 3, &opt, &l[ck], &nt, &err), MV_OK);
            bytes[ck] = ((mdl *)m)->last_act_bytes;
            size_t off = 0;
            for (size_t i = 0; i < np; i++) {
                mv_param_ref *p = m->ops->param(m, i);
                if (ck == 0) memcpy(g0 + off, p->grad, p->numel * sizeof(float));
                else ck_assert_msg(memcmp(g0 + off, p->grad, p->numel * sizeof(float)) == 0,
                                   "checkpointed grads of %s differ", p->name);
                off += p->numel;
            }
        }
        ck_assert(l[0] == l[1]);
        ck_assert_uint_lt(bytes[1], bytes[0]);
        free(g0);
        m->ops->free(m);
    }
}
END_TEST

/* Same seed, same inputs: bit-identical models and losses. */
START_TEST(test_determinism) {
    model_ctx a, b;
    mv_error err;
    mv_train_options opt = {0, 1.0f, 11};
    double la, lb;
    int64_t n;
    /* model_setup perturbs with the test rng: re-seed both the same way */
    rng_state = 99;
    model_setup(&a, 1);
    rng_state = 99;
    model_setup(&b, 1);
    zero_grads(a.m);
    zero_grads(b.m);
    ck_assert_int_eq(a.m->ops->forward_backward(a.m, a.seq, 3, &opt, &la, &n, &err), MV_OK);
    ck_assert_int_eq(b.m->ops->forward_backward(b.m, b.seq, 3, &opt, &lb, &n, &err), MV_OK);
    ck_assert(la == lb);
    for (size_t i = 0; i < a.m->ops->n_params(a.m); i++)
        ck_assert(memcmp(a.m->ops->param(a.m, i)->grad, b.m->ops->param(b.m, i)->grad,
                         a.m->ops->param(a.m, i)->numel * sizeof(float)) == 0);
    a.m->ops->free(a.m);
    b.m->ops->free(b.m);
}
END_TEST

/* Data-parallel workers: 1 and 3 workers give the same loss/grads up to float rounding. */
START_TEST(test_workers_agree) {
    model_ctx c;
    mv_error err;
    model_setup(&c, 1);
    mv_model *m = c.m;
    size_t np = m->ops->n_params(m), total = 0;
    for (size_t i = 0; i < np; i++) total += m->ops->param(m, i)->numel;
    float *g1 = malloc(total * sizeof(float));
    double l[2];
    const char *nw[2] = {"1", "3"};
    for (int k = 0; k < 2; k++) {
        setenv("MERGEVAL_MODEL_THREADS", nw[k], 1);
        zero_grads(m);
        mv_train_options opt = {k, 1.0f, 3};
        int64_t nt;
        ck_assert_int_eq(m->ops->forward_backward(m, c.seq, 3, &opt, &l[k], &nt, &err), MV_OK);
        size_t off = 0;
        for (size_t i = 0; i < np; i++) {
            mv_param_ref *p = m->ops->param(m, i);
            for (size_t j = 0; j < p->numel; j++) {
                if (k == 0) g1[off + j] = p->grad[j];
                else ck_assert_msg(fabsf(g1[off + j] - p->grad[j]) <= 1e-4f * (1.0f + fabsf(g1[off + j])),
                                   "%s[%zu]: %g with 1 worker, %g with 3", p->name, j, g1[off + j], p->grad[j]);
            }
            off += p->numel;
        }
    }
    unsetenv("MERGEVAL_MODEL_THREADS");
    ck_assert_double_eq_tol(l[0], l[1], 1e-4 * fabs(l[0]));
    free(g1);
    m->ops->free(m);
}
END_TEST

/* score() of one packed batch equals scoring each sequence alone; encoded images reused. */
START_TEST(test_score_packing_and_embeds) {
    model_ctx c;
    mv_error err;
    model_setup(&c, 1);
    mv_model *m = c.m;
    float lp[3][6], *out[3] = {lp[0], lp[1], lp[2]};
    ck_assert_int_eq(m->ops->score(m, c.seq, 3, out, &err), MV_OK);
    mv_image_embeds *e = NULL;
    ck_assert_int_eq(m->ops->encode_images(m, c.img, 2, &e, &err), MV_OK);
    for (int b = 0; b < 3; b++) {
        mv_sequence s = c.seq[b];
        if (s.raw_image) {
            s.image = e;
            s.image_index = s.raw_image == &c.img[0] ? 0 : 1;
            s.raw_image = NULL;
        }
        float one[6], *o1[1] = {one};
        ck_assert_int_eq(m->ops->score(m, &s, 1, o1, &err), MV_OK);
        for (int j = 0; j < s.n_tokens - s.n_context; j++)
            ck_assert_float_eq_tol(one[j], lp[b][j], 1e-5);
    }
    m->ops->free_image_embeds(m, e);
    /* errors name the problem */
    mv_sequence bad = c.seq[1];
    int32_t t[2] = {5, 999};
    bad.tokens = t; bad.n_tokens = 2; bad.n_context = 0;
    ck_assert_int_eq(m->ops->score(m, &bad, 1, out, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "999"));
    m->ops->free(m);
}
END_TEST

/* Sequences with the same encoded image share its prefix rows inside score() (batch.c):
 * each sequence's log-probabilities equal scoring it alone, to the bit — adjacent and
 * non-adjacent sharers, a prompt (n_context > 0), a text-only sequence in between, and a
 * sequence whose first scored token is predicted from the shared prefix's last row. */
START_TEST(test_score_prefix_sharing) {
    model_ctx c;
    mv_error err;
    model_setup(&c, 1);
    mv_model *m = c.m;
    mv_image_embeds *e = NULL;
    ck_assert_int_eq(m->ops->encode_images(m, c.img, 2, &e, &err), MV_OK);
    int32_t t[6][5] = {{3, 9, 4, 1, 7}, {8, 2, 2, 5, 0}, {1, 1, 6}, {4, 3, 2, 1}, {9, 8}, {6, 5, 4, 3, 2}};
    int nt[6] = {5, 5, 3, 4, 2, 5}, nc[6] = {0, 0, 2, 0, 0, 1};
    int img[6] = {0, 0, 0, -1, 1, 0}; /* -1: text only */
    mv_sequence seq[6];
    for (int b = 0; b < 6; b++) {
        memset(&seq[b], 0, sizeof seq[b]);
        seq[b].image = img[b] >= 0 ? e : NULL;
        seq[b].image_index = img[b] >= 0 ? (size_t)img[b] : 0;
        seq[b].tokens = t[b];
        seq[b].n_tokens = nt[b];
        seq[b].n_context = nc[b];
    }
    float lp[6][5], *out[6];
    for (int b = 0; b < 6; b++) out[b] = lp[b];
    setenv("MERGEVAL_MODEL_THREADS", "1", 1); /* one batch: the sharing happens in it */
    ck_assert_int_eq(m->ops->score(m, seq, 6, out, &err), MV_OK);
    unsetenv("MERGEVAL_MODEL_THREADS");
    for (int b = 0; b < 6; b++) {
        float one[5], *o1[1] = {one};
        ck_assert_int_eq(m->ops->score(m, &seq[b], 1, o1, &err), MV_OK);
        ck_assert_msg(memcmp(one, lp[b], (size_t)(nt[b] - nc[b]) * sizeof(float)) == 0,
                      "sequence %d: shared-prefix score differs from scoring it alone (%g vs %g)",
                      b, (double)lp[b][0], (double)one[0]);
    }
    m->ops->free_image_embeds(m, e);
    m->ops->free(m);
}
END_TEST

START_TEST(test_lora_regex_errors) {
    model_ctx c;
    mv_error err;
    model_setup(&c, 0);
    mv_lora_spec spec = {"nothing\\.matches", 2, 4.0, 0.0, 0, 1};
    int nm;
    ck_assert_int_eq(c.m->ops->add_lora(c.m, &spec, &nm, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.layers.0.self_attn.q_proj"));
    /* whole-name match: "q_proj" alone matches nothing */
    spec.target_regex = "q_proj";
    ck_assert_int_eq(c.m->ops->add_lora(c.m, &spec, &nm, &err), MV_E_INPUT);
    spec.target_regex = "model\\.layers\\.\\d+\\.self_attn\\.q_proj";
    ck_assert_int_eq(c.m->ops->add_lora(c.m, &spec, &nm, &err), MV_OK);
    ck_assert_int_eq(nm, 2);
    int found = 0;
    for (size_t i = 0; i < c.m->ops->n_params(c.m); i++) {
        mv_param_ref *p = c.m->ops->param(c.m, i);
        if (!strcmp(p->name, "model.layers.1.self_attn.q_proj.lora_A.weight")) {
            found++;
            ck_assert_int_eq(p->shape[0], 2);
            ck_assert_int_eq(p->shape[1], 16);
            ck_assert(p->is_lora);
        }
        if (!strcmp(p->name, "model.layers.1.self_attn.q_proj.lora_B.weight")) {
            found++;
            ck_assert_int_eq(p->shape[0], 16);
            for (size_t k = 0; k < p->numel; k++) ck_assert_float_eq(p->data[k], 0.0f);
        }
    }
    ck_assert_int_eq(found, 2);
    c.m->ops->free(c.m);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("model_layers");
    TCase *t = tcase_create("layers");
    tcase_add_checked_fixture(t, NULL, free_all);
    tcase_add_test(t, test_linear);
    tcase_add_test(t, test_linear_lora);
    tcase_add_test(t, test_linear_lora_dropout);
    tcase_add_test(t, test_dropout_rate);
    tcase_add_test(t, test_rmsnorm);
    tcase_add_test(t, test_layernorm);
    tcase_add_test(t, test_rope);
    tcase_add_test(t, test_attention_gqa_causal);
    tcase_add_test(t, test_attention_gqa_overwrite);
    tcase_add_test(t, test_attention_mha);
    tcase_add_test(t, test_attention_cross);
    tcase_add_test(t, test_swiglu);
    tcase_add_test(t, test_gelu);
    tcase_add_test(t, test_embedding);
    tcase_add_test(t, test_xent);
    suite_add_tcase(s, t);
    TCase *mt = tcase_create("models");
    tcase_set_timeout(mt, 60);
    tcase_add_test(mt, test_llama_grad);
    tcase_add_test(mt, test_llama_grad_ckpt);
    tcase_add_test(mt, test_llama_grad_tied_mqa);
    tcase_add_test(mt, test_llama_grad_lora_frozen);
    tcase_add_test(mt, test_vlm_grad);
    tcase_add_test(mt, test_vlm_grad_ckpt);
    tcase_add_test(mt, test_vlm_grad_lora_frozen);
    tcase_add_test(mt, test_vlm_grad_frozen_vision);
    tcase_add_test(mt, test_checkpointing_same_grads);
    tcase_add_test(mt, test_determinism);
    tcase_add_test(mt, test_workers_agree);
    tcase_add_test(mt, test_score_packing_and_embeds);
    tcase_add_test(mt, test_score_prefix_sharing);
    tcase_add_test(mt, test_lora_regex_errors);
    suite_add_tcase(s, mt);
    return s;
}

int main(void) {
    return mv_suite_run(suite());
}
