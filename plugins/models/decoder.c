/* plugins/models/decoder.c — the Llama decoder over a packed batch: embedding rows, blocks
 * (RMSNorm → GQA attention with RoPE → residual → RMSNorm → SwiGLU MLP → residual), final
 * norm and LM head on the scored rows only, with the backward pass, frozen-branch skipping
 * and gradient checkpointing (recompute a block from its saved input). */
#include "mdl.h"
#include <string.h>

static int max_r(const mdl *m, int i) {
    int r = 0;
    for (int l = 0; l < m->dec.c.L; l++)
        if (m->dec.layers[l].lin[i].r > r) r = m->dec.layers[l].lin[i].r;
    return r;
}

void dec_layout(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, bump *b) {
    const dec_cfg *c = &m->dec.c;
    size_t N = (size_t)bt->N, M = (size_t)bt->M, C = c->C, F = c->F;
    size_t qd = (size_t)c->NH * c->HS, kvd = (size_t)c->NKV * c->HS;
    int nb = mode == RUN_TRAIN ? c->L : 1;
    for (int l = 0; l <= c->L; l++) ws->xs[l] = bump_take(b, N * C);
    for (int l = 0; l < nb; l++) {
        dec_acts *a = &ws->blk[l];
        a->ln1 = bump_take(b, N * C);
        a->rstd1 = bump_take(b, N);
        a->qkv = bump_take(b, N * (qd + 2 * kvd));
        a->att = bump_take(b, bt->att_floats);
        a->atty = bump_take(b, N * qd);
        a->xmid = bump_take(b, N * C);
        a->ln2 = bump_take(b, N * C);
        a->rstd2 = bump_take(b, N);
        a->gu = bump_take(b, N * 2 * F);
        a->hact = bump_take(b, N * F);
        for (int i = 0; i < DEC_NLIN; i++) {
            int r = mode == RUN_TRAIN ? m->dec.layers[l].lin[i].r : max_r(m, i);
            a->u[i] = r ? bump_take(b, N * r) : NULL;
        }
    }
    ws->hf = bump_take(b, N * C);
    ws->rstdf = bump_take(b, N);
    ws->hsel = bump_take(b, M * C);
    ws->logits = bump_take(b, M * c->V);
    ws->logprob = bump_take(b, M);
    ws->kvscr = bump_take(b, (size_t)bt->maxT * (qd + 2 * kvd));
    if (mode == RUN_INFER) return;
    size_t widest = C > F ? C : F;
    widest = widest > qd ? widest : qd;
    int R = 0;
    for (int i = 0; i < DEC_NLIN; i++) R = max_r(m, i) > R ? max_r(m, i) : R;
    ws->dres = bump_take(b, N * C);
    ws->dln = bump_take(b, N * C);
    ws->dqkv = bump_take(b, N * (qd + 2 * kvd));
    ws->datty = bump_take(b, N * qd);
    ws->dgu = bump_take(b, N * 2 * F);
    ws->dh = bump_take(b, N * F);
    ws->attscr = bump_take(b, (size_t)bt->maxT * bt->maxT);
    ws->xd = bump_take(b, N * widest);
    ws->du = bump_take(b, N * (size_t)(R ? R : 1));
    ws->dlogits = bump_take(b, M * c->V);
    ws->dhsel = bump_take(b, M * C);
}

// x0 (N, C): BOS/text rows from the embedding table, visual rows from bt->vis
void dec_embed(const mdl *m, const batch *bt, float *x0) {
    size_t C = m->dec.c.C;
    const float *wte = PW(m, m->dec.iembed);
    for (int b = 0; b < bt->B; b++)
        for (int t = 0; t < bt->len[b]; t++) {
            int row = bt->off[b] + t, pos = bt->skip[b] + t;
            float *dst = x0 + (size_t)row * C;
            if (bt->tok[row] >= 0) memcpy(dst, wte + (size_t)bt->tok[row] * C, C * sizeof(float));
            else memcpy(dst, bt->vis[b] + (size_t)(pos - 1) * C, C * sizeof(float));
        }
}

/* SwiGLU over rows of the gate/up product while they are in cache (nn_gemm_rows): reading
 * them back after the whole product was ~6% of scoring time, all of it waiting on memory. */
typedef struct swiglu_rows { float *hact; const float *gu; int F; } swiglu_rows;

static void swiglu_strip(void *ctx, int i0, int rows) {
    const swiglu_rows *s = ctx;
    for (int n = i0; n < i0 + rows; n++)
        nn_swiglu_forward(s->hact + (size_t)n * s->F, s->gu + (size_t)n * 2 * s->F,
                          s->gu + (size_t)n * 2 * s->F + s->F, (size_t)s->F);
}

static void block_forward(const mdl *m, int l, const batch *bt, dec_acts *a, const float *x,
                          float *y, float *xd, float *scr, int train, uint64_t seed) {
    const dec_cfg *c = &m->dec.c;
    const dec_layer *L = &m->dec.layers[l];
    int N = bt->N, C = c->C, F = c->F, qd = c->NH * c->HS, kvd = c->NKV * c->HS;
    int QKV = qd + 2 * kvd;
    nn_rmsnorm_forward(a->ln1, a->rstd1, x, PW(m, L->iln1), N, C, c->eps);
    // qkv (N, QKV) = ln1 · [Wq; Wk; Wv]^T, then RoPE on the q and k columns
    mdl_lin_group_forward(m, &L->lin[LQ], 3, a->qkv, &a->u[LQ], xd, a->ln1, N, train, seed);
    nn_rope_forward(a->qkv, QKV, bt->pos, m->dec.cos_t, m->dec.sin_t, N, c->NH, c->HS);
    nn_rope_forward(a->qkv + qd, QKV, bt->pos, m->dec.cos_t, m->dec.sin_t, N, c->NKV, c->HS);
    for (int b = 0; b < bt->B; b++) {
        const float *qkv = a->qkv + (size_t)bt->off[b] * QKV;
        int sk = bt->skip[b], T = sk + bt->len[b];
        if (sk) {   /* the owner's prefix rows, then this sequence's rows, back to back */
            memcpy(scr, a->qkv + (size_t)bt->off[bt->owner[b]] * QKV, (size_t)sk * QKV * sizeof(float));
            memcpy(scr + (size_t)sk * QKV, qkv, (size_t)bt->len[b] * QKV * sizeof(float));
            qkv = scr;
        }
        nn_attention_forward(a->atty + (size_t)bt->off[b] * qd, a->att + bt->att_off[b],
                             qkv + (size_t)sk * QKV, qkv + qd, qkv + qd + kvd, bt->len[b], T,
                             c->NH, c->NKV, c->HS, QKV, QKV, qd, 1);
    }
    mdl_lin_forward(m, &L->lin[LO], a->xmid, a->u[LO], xd, a->atty, N, train, seed);
    size_t nc = (size_t)N * C;
    for (size_t i = 0; i < nc; i++) a->xmid[i] += x[i];
    nn_rmsnorm_forward(a->ln2, a->rstd2, a->xmid, PW(m, L->iln2), N, C, c->eps);
    // gu (N, 2F) = ln2 · [Wgate; Wup]^T; hact = silu(gate) ⊙ up, row strips as they finish
    swiglu_rows sw = {a->hact, a->gu, F};
    mdl_lin_group_forward_rows(m, &L->lin[LGATE], 2, a->gu, &a->u[LGATE], xd, a->ln2, N, train,
                               seed, swiglu_strip, &sw);
    mdl_lin_forward(m, &L->lin[LDOWN], y, a->u[LDOWN], xd, a->hact, N, train, seed);
    for (size_t i = 0; i < nc; i++) y[i] += a->xmid[i];
}

/* On entry ws->dres holds dL/dy; on exit dL/dx when need_dinp. */
static void block_backward(const mdl *m, int l, const batch *bt, const dec_acts *a,
                           const float *x, dec_ws *ws, int need_dinp, uint64_t seed) {
    const dec_cfg *c = &m->dec.c;
    const dec_layer *L = &m->dec.layers[l];
    int N = bt->N, C = c->C, F = c->F, qd = c->NH * c->HS, kvd = c->NKV * c->HS;
    int QKV = qd + 2 * kvd;
    // MLP branch: y = xmid + down(silu(gate(ln2)) ⊙ up(ln2))
    mdl_lin_backward_ex(m, &L->lin[LDOWN], ws->dh, 1, ws->du, ws->xd, ws->dres, a->u[LDOWN], a->hact, N, 1, seed);
    for (int n = 0; n < N; n++) {
        size_t g = (size_t)n * 2 * F;
        nn_swiglu_backward(ws->dgu + g, ws->dgu + g + F, ws->dh + (size_t)n * F, a->gu + g,
                           a->gu + g + F, (size_t)F);
    }
    mdl_lin_group_backward(m, &L->lin[LGATE], 2, ws->dln, 1, ws->du, ws->xd, ws->dgu, &a->u[LGATE], a->ln2, N, 1, seed);
    nn_rmsnorm_backward(ws->dres, mdl_grad(m, L->iln2), ws->dln, a->xmid, PW(m, L->iln2), a->rstd2, N, C);
    // attention branch: xmid = x + o(attention(rope(q(ln1)), rope(k(ln1)), v(ln1)))
    mdl_lin_backward_ex(m, &L->lin[LO], ws->datty, 1, ws->du, ws->xd, ws->dres, a->u[LO], a->atty, N, 1, seed);
    for (int b = 0; b < bt->B; b++) {
        size_t o = (size_t)bt->off[b] * QKV;
        float *dqkv = ws->dqkv + o;
        const float *qkv = a->qkv + o;
        nn_attention_backward(dqkv, dqkv + qd, dqkv + qd + kvd, ws->attscr,
                              ws->datty + (size_t)bt->off[b] * qd, a->att + bt->att_off[b], qkv,
                              qkv + qd, qkv + qd + kvd, bt->len[b], bt->len[b], c->NH, c->NKV,
                              c->HS, QKV, QKV, qd, 1);
    }
    nn_rope_backward(ws->dqkv, QKV, bt->pos, m->dec.cos_t, m->dec.sin_t, N, c->NH, c->HS);
    nn_rope_backward(ws->dqkv + qd, QKV, bt->pos, m->dec.cos_t, m->dec.sin_t, N, c->NKV, c->HS);
    float *dln1 = need_dinp || mdl_grad(m, L->iln1) ? ws->dln : NULL;
    mdl_lin_group_backward(m, &L->lin[LQ], 3, dln1, 1, ws->du, ws->xd, ws->dqkv, &a->u[LQ], a->ln1, N, 1, seed);
    if (dln1)
        nn_rmsnorm_backward(need_dinp ? ws->dres : NULL, mdl_grad(m, L->iln1), dln1, x,
                            PW(m, L->iln1), a->rstd1, N, C);
}

void dec_forward(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, uint64_t seed) {
    const dec_cfg *c = &m->dec.c;
    int train = mode != RUN_INFER;
    for (int l = 0; l < c->L; l++) {
        dec_acts *a = &ws->blk[mode == RUN_TRAIN ? l : 0];
        block_forward(m, l, bt, a, ws->xs[l], ws->xs[l + 1], ws->xd, ws->kvscr, train, seed);
    }
    int C = c->C;
    nn_rmsnorm_forward(ws->hf, ws->rstdf, ws->xs[c->L], PW(m, m->dec.inorm), bt->N, C, c->eps);
    for (int i = 0; i < bt->M; i++)
        memcpy(ws->hsel + (size_t)i * C, ws->hf + (size_t)bt->lrow[i] * C, C * sizeof(float));
    nn_linear_forward(ws->logits, ws->hsel, PW(m, m->dec.head.iw), NULL, bt->M, C, c->V);
}

static int layer_trainable(const mdl *m, int l) {
    const dec_layer *L = &m->dec.layers[l];
    if (mdl_grad(m, L->iln1) || mdl_grad(m, L->iln2)) return 1;
    for (int i = 0; i < DEC_NLIN; i++) {
        const mdl_lin *q = &L->lin[i];
        if (mdl_grad(m, q->iw) || mdl_grad(m, q->ib) || mdl_grad(m, q->iA) || mdl_grad(m, q->iB))
            return 1;
    }
    return 0;
}

void dec_backward(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, uint64_t seed,
                  int need_dx0, float *dvis) {
    const dec_cfg *c = &m->dec.c;
    int N = bt->N, C = c->C, M = bt->M;
    size_t nc = (size_t)N * C;
    // head: logits (M, V) = hsel (M, C) · W^T
    memset(ws->dhsel, 0, (size_t)M * C * sizeof(float));
    nn_linear_backward(ws->dhsel, mdl_grad(m, m->dec.head.iw), NULL, ws->dlogits, ws->hsel,
                       PW(m, m->dec.head.iw), M, C, c->V);
    int lo = 0;
    if (!need_dx0) {
        lo = c->L;
        for (int l = 0; l < c->L; l++)
            if (layer_trainable(m, l)) { lo = l; break; }
        if (lo == c->L && !mdl_grad(m, m->dec.inorm)) return;
    }
    memset(ws->dln, 0, nc * sizeof(float));
    for (int i = 0; i < M; i++) {
        float *d = ws->dln + (size_t)bt->lrow[i] * C;
        const float *s = ws->dhsel + (size_t)i * C;
        for (int j = 0; j < C; j++) d[j] += s[j];
    }
    memset(ws->dres, 0, nc * sizeof(float));
    nn_rmsnorm_backward(ws->dres, mdl_grad(m, m->dec.inorm), ws->dln, ws->xs[c->L],
                        PW(m, m->dec.inorm), ws->rstdf, N, C);
    for (int l = c->L - 1; l >= lo; l--) {
        dec_acts *a = &ws->blk[mode == RUN_TRAIN ? l : 0];
        if (mode == RUN_TRAIN_CKPT) // recompute this block's activations from its saved input
            block_forward(m, l, bt, a, ws->xs[l], ws->xs[l + 1], ws->xd, ws->kvscr, 1, seed);
        block_backward(m, l, bt, a, ws->xs[l], ws, l > lo || need_dx0, seed);
    }
    if (!need_dx0) return;
    float *dwte = mdl_grad(m, m->dec.iembed);
    for (int b = 0; b < bt->B; b++)
        for (int t = 0; t < bt->len[b]; t++) {
            int row = bt->off[b] + t;
            const float *g = ws->dres + (size_t)row * C;
            float *d = NULL;
            if (bt->tok[row] >= 0) d = dwte ? dwte + (size_t)bt->tok[row] * C : NULL;
            else if (dvis && bt->vis_slot[b] >= 0)
                d = dvis + ((size_t)bt->vis_slot[b] * m->rs.Q + (t - 1)) * C;
            if (d)
                for (int j = 0; j < C; j++) d[j] += g[j];
        }
}
