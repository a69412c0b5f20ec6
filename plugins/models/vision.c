/* plugins/models/vision.c — tinyvlm's vision side: the SigLIP-style ViT (`vpm.*`: patch
 * embedding, position embedding, pre-norm blocks with GELU MLP, post LayerNorm) and the
 * MiniCPM-V resampler (`resampler.*`: learned queries cross-attending to the ViT tokens,
 * projected to the LLM width), forward and backward, with gradient checkpointing. */
#include "mdl.h"
#include <string.h>

static int lin_r(const mdl_lin *l) { return l->iA >= 0 ? l->r : 0; }

static int max_r(const mdl *m) {
    int r = 0;
    for (int l = 0; l < m->vit.c.L; l++)
        for (int i = 0; i < VIT_NLIN; i++) r = lin_r(&m->vit.layers[l].lin[i]) > r ? lin_r(&m->vit.layers[l].lin[i]) : r;
    r = lin_r(&m->rs.kv) > r ? lin_r(&m->rs.kv) : r;
    r = lin_r(&m->rs.out) > r ? lin_r(&m->rs.out) : r;
    return r;
}

void vis_layout(const mdl *m, int NI, run_mode mode, vis_ws *ws, bump *b) {
    const vit_cfg *c = &m->vit.c;
    const resampler *r = &m->rs;
    size_t P = c->P, NP = (size_t)NI * P, Dv = c->D, F = c->F, D = r->D, Q = r->Q, NQ = (size_t)NI * Q;
    ws->NI = NI;
    ws->NP = (int)NP;
    ws->pix = bump_take(b, (size_t)NI * 3 * c->S * c->S);
    ws->patches = bump_take(b, NP * 3 * c->ps * c->ps);
    int nb = mode == RUN_TRAIN ? c->L : 1;
    for (int l = 0; l <= c->L; l++) ws->xs[l] = bump_take(b, NP * Dv);
    for (int l = 0; l < nb; l++) {
        vit_acts *a = &ws->blk[l];
        a->ln1 = bump_take(b, NP * Dv);
        a->mean1 = bump_take(b, NP);
        a->rstd1 = bump_take(b, NP);
        a->q = bump_take(b, NP * Dv);
        a->k = bump_take(b, NP * Dv);
        a->v = bump_take(b, NP * Dv);
        a->att = bump_take(b, (size_t)NI * c->NH * P * P);
        a->atty = bump_take(b, NP * Dv);
        a->xmid = bump_take(b, NP * Dv);
        a->ln2 = bump_take(b, NP * Dv);
        a->mean2 = bump_take(b, NP);
        a->rstd2 = bump_take(b, NP);
        a->fc1 = bump_take(b, NP * F);
        a->gelu = bump_take(b, NP * F);
        for (int i = 0; i < VIT_NLIN; i++) {
            int rr = mode == RUN_TRAIN ? lin_r(&m->vit.layers[l].lin[i]) : max_r(m);
            a->u[i] = rr ? bump_take(b, NP * rr) : NULL;
        }
    }
    ws->post = bump_take(b, NP * Dv);
    ws->pmean = bump_take(b, NP);
    ws->prstd = bump_take(b, NP);
    ws->kv = bump_take(b, NP * D);
    ws->kvn = bump_take(b, NP * D);
    ws->kvmean = bump_take(b, NP);
    ws->kvrstd = bump_take(b, NP);
    ws->qn = bump_take(b, Q * D);
    ws->qmean = bump_take(b, Q);
    ws->qrstd = bump_take(b, Q);
    ws->qp = bump_take(b, Q * D);
    ws->kp = bump_take(b, NP * D);
    ws->vp = bump_take(b, NP * D);
    ws->ratt = bump_take(b, (size_t)NI * r->NH * Q * P);
    ws->ratty = bump_take(b, NQ * D);
    ws->ro = bump_take(b, NQ * D);
    ws->rpost = bump_take(b, NQ * D);
    ws->rpmean = bump_take(b, NQ);
    ws->rprstd = bump_take(b, NQ);
    ws->u_kv = lin_r(&r->kv) ? bump_take(b, NP * lin_r(&r->kv)) : NULL;
    ws->u_out = lin_r(&r->out) ? bump_take(b, NQ * lin_r(&r->out)) : NULL;
    ws->out = bump_take(b, NQ * D);
    size_t widest = Dv > F ? Dv : F;
    widest = widest > D ? widest : D;
    widest = widest > (size_t)(3 * c->ps * c->ps) ? widest : (size_t)(3 * c->ps * c->ps);
    if (mode == RUN_INFER) {
        ws->xd = NULL;
        return;
    }
    ws->dvis = bump_take(b, NQ * D);
    ws->drpost = bump_take(b, NQ * D);
    ws->dro = bump_take(b, NQ * D);
    ws->dratty = bump_take(b, NQ * D);
    ws->dqp = bump_take(b, Q * D);
    ws->dqn = bump_take(b, Q * D);
    ws->dkp = bump_take(b, NP * D);
    ws->dvp = bump_take(b, NP * D);
    ws->dkvn = bump_take(b, NP * D);
    ws->dkv = bump_take(b, NP * D);
    ws->dpost = bump_take(b, NP * Dv);
    ws->dres = bump_take(b, NP * Dv);
    ws->dln = bump_take(b, NP * Dv);
    ws->dq = bump_take(b, NP * Dv);
    ws->dk = bump_take(b, NP * Dv);
    ws->dv = bump_take(b, NP * Dv);
    ws->datty = bump_take(b, NP * Dv);
    ws->dfc1 = bump_take(b, NP * F);
    ws->dgelu = bump_take(b, NP * F);
    ws->attscr = bump_take(b, P * (P > Q ? P : Q));
    ws->xd = bump_take(b, (NP > NQ ? NP : NQ) * widest);
    int R = max_r(m);
    ws->du = bump_take(b, (NP > NQ ? NP : NQ) * (size_t)(R ? R : 1));
}

static void block_forward(const mdl *m, int l, const vis_ws *ws, vit_acts *a, const float *x,
                          float *y, float *xd, int train, uint64_t seed) {
    const vit_cfg *c = &m->vit.c;
    const vit_layer *L = &m->vit.layers[l];
    int NP = ws->NP, D = c->D, P = c->P, HS = c->D / c->NH;
    nn_layernorm_forward(a->ln1, a->mean1, a->rstd1, x, PW(m, L->iln1w), PW(m, L->iln1b), NP, D, c->eps);
    mdl_lin_forward(m, &L->lin[VQ], a->q, a->u[VQ], xd, a->ln1, NP, train, seed);
    mdl_lin_forward(m, &L->lin[VK], a->k, a->u[VK], xd, a->ln1, NP, train, seed);
    mdl_lin_forward(m, &L->lin[VV], a->v, a->u[VV], xd, a->ln1, NP, train, seed);
    for (int i = 0; i < ws->NI; i++) {
        size_t o = (size_t)i * P * D;
        nn_attention_forward(a->atty + o, a->att + (size_t)i * c->NH * P * P, a->q + o, a->k + o,
                             a->v + o, P, P, c->NH, c->NH, HS, D, D, D, 0);
    }
    mdl_lin_forward(m, &L->lin[VO], a->xmid, a->u[VO], xd, a->atty, NP, train, seed);
    size_t nd = (size_t)NP * D;
    for (size_t i = 0; i < nd; i++) a->xmid[i] += x[i];
    nn_layernorm_forward(a->ln2, a->mean2, a->rstd2, a->xmid, PW(m, L->iln2w), PW(m, L->iln2b), NP, D, c->eps);
    mdl_lin_forward(m, &L->lin[VFC1], a->fc1, a->u[VFC1], xd, a->ln2, NP, train, seed);
    nn_gelu_forward(a->gelu, a->fc1, (size_t)NP * c->F);
    mdl_lin_forward(m, &L->lin[VFC2], y, a->u[VFC2], xd, a->gelu, NP, train, seed);
    for (size_t i = 0; i < nd; i++) y[i] += a->xmid[i];
}

/* ws->dres: dL/dy on entry, dL/dx on exit */
static void block_backward(const mdl *m, int l, vis_ws *ws, const vit_acts *a, const float *x,
                           uint64_t seed) {
    const vit_cfg *c = &m->vit.c;
    const vit_layer *L = &m->vit.layers[l];
    int NP = ws->NP, D = c->D, P = c->P, HS = c->D / c->NH;
    size_t nf = (size_t)NP * c->F;
    mdl_lin_backward_ex(m, &L->lin[VFC2], ws->dgelu, 1, ws->du, ws->xd, ws->dres, a->u[VFC2], a->gelu, NP, 1, seed);
    nn_gelu_backward(ws->dfc1, ws->dgelu, a->fc1, nf);
    mdl_lin_backward_ex(m, &L->lin[VFC1], ws->dln, 1, ws->du, ws->xd, ws->dfc1, a->u[VFC1], a->ln2, NP, 1, seed);
    nn_layernorm_backward(ws->dres, mdl_grad(m, L->iln2w), mdl_grad(m, L->iln2b), ws->dln, a->xmid,
                          PW(m, L->iln2w), a->mean2, a->rstd2, NP, D);
    mdl_lin_backward_ex(m, &L->lin[VO], ws->datty, 1, ws->du, ws->xd, ws->dres, a->u[VO], a->atty, NP, 1, seed);
    for (int i = 0; i < ws->NI; i++) {
        size_t o = (size_t)i * P * D;
        nn_attention_backward(ws->dq + o, ws->dk + o, ws->dv + o, ws->attscr, ws->datty + o,
                              a->att + (size_t)i * c->NH * P * P, a->q + o, a->k + o, a->v + o,
                              P, P, c->NH, c->NH, HS, D, D, D, 1);
    }
    mdl_lin_backward_ex(m, &L->lin[VQ], ws->dln, 1, ws->du, ws->xd, ws->dq, a->u[VQ], a->ln1, NP, 1, seed);
    mdl_lin_backward(m, &L->lin[VK], ws->dln, ws->du, ws->xd, ws->dk, a->u[VK], a->ln1, NP, 1, seed);
    mdl_lin_backward(m, &L->lin[VV], ws->dln, ws->du, ws->xd, ws->dv, a->u[VV], a->ln1, NP, 1, seed);
    nn_layernorm_backward(ws->dres, mdl_grad(m, L->iln1w), mdl_grad(m, L->iln1b), ws->dln, x,
                          PW(m, L->iln1w), a->mean1, a->rstd1, NP, D);
}

// ws->pix (NI, 3, S, S) filled by the caller -> ws->out (NI·Q, D)
void vis_forward(const mdl *m, run_mode mode, vis_ws *ws, uint64_t seed) {
    const vit *v = &m->vit;
    const vit_cfg *c = &v->c;
    const resampler *r = &m->rs;
    int NI = ws->NI, NP = ws->NP, P = c->P, Dv = c->D, D = r->D, Q = r->Q, NQ = NI * Q;
    int train = mode != RUN_INFER;
    nn_patchify(ws->patches, ws->pix, NI, c->S, c->ps);
    mdl_lin_forward(m, &v->patch, ws->xs[0], NULL, NULL, ws->patches, NP, 0, seed);
    const float *pos = PW(m, v->ipos);
    for (int i = 0; i < NI; i++)
        for (size_t j = 0; j < (size_t)P * Dv; j++) ws->xs[0][(size_t)i * P * Dv + j] += pos[j];
    for (int l = 0; l < c->L; l++)
        block_forward(m, l, ws, &ws->blk[mode == RUN_TRAIN ? l : 0], ws->xs[l], ws->xs[l + 1],
                      ws->xd, train, seed);
    nn_layernorm_forward(ws->post, ws->pmean, ws->prstd, ws->xs[c->L], PW(m, v->ipostw),
                         PW(m, v->ipostb), NP, Dv, c->eps);
    // resampler: keys/values from the ViT tokens, queries learned
    mdl_lin_forward(m, &r->kv, ws->kv, ws->u_kv, ws->xd, ws->post, NP, train, seed);
    nn_layernorm_forward(ws->kvn, ws->kvmean, ws->kvrstd, ws->kv, PW(m, r->ilnkvw), PW(m, r->ilnkvb), NP, D, r->eps);
    nn_layernorm_forward(ws->qn, ws->qmean, ws->qrstd, PW(m, r->iquery), PW(m, r->ilnqw), PW(m, r->ilnqb), Q, D, r->eps);
    const float *W = PW(m, r->iinw), *Bi = PW(m, r->iinb);
    size_t DD = (size_t)D * D;
    nn_linear_forward(ws->qp, ws->qn, W, Bi, Q, D, D);
    nn_linear_forward(ws->kp, ws->kvn, W + DD, Bi + D, NP, D, D);
    nn_linear_forward(ws->vp, ws->kvn, W + 2 * DD, Bi + 2 * D, NP, D, D);
    int HS = D / r->NH;
    for (int i = 0; i < NI; i++)
        nn_attention_forward(ws->ratty + (size_t)i * Q * D, ws->ratt + (size_t)i * r->NH * Q * P,
                             ws->qp, ws->kp + (size_t)i * P * D, ws->vp + (size_t)i * P * D, Q, P,
                             r->NH, r->NH, HS, D, D, D, 0);
    mdl_lin_forward(m, &r->out, ws->ro, ws->u_out, ws->xd, ws->ratty, NQ, train, seed);
    nn_layernorm_forward(ws->rpost, ws->rpmean, ws->rprstd, ws->ro, PW(m, r->ilnpw), PW(m, r->ilnpb), NQ, D, r->eps);
    // out (NQ, D) = rpost (NQ, D) · proj (D, D)
    nn_gemm(0, 0, NQ, D, D, 1.0f, ws->rpost, D,
                PW(m, r->iproj), D, 0.0f, ws->out, D);
}

static int vit_trainable(const mdl *m) {
    for (size_t i = 0; i < m->nP; i++)
        if (m->P[i].trainable && strncmp(m->P[i].name, "vpm.", 4) == 0) return 1;
    return 0;
}

// ws->dvis (NQ, D) holds dL/d(visual tokens)
void vis_backward(const mdl *m, run_mode mode, vis_ws *ws, uint64_t seed) {
    const vit *v = &m->vit;
    const vit_cfg *c = &v->c;
    const resampler *r = &m->rs;
    int NI = ws->NI, NP = ws->NP, P = c->P, Dv = c->D, D = r->D, Q = r->Q, NQ = NI * Q;
    size_t DD = (size_t)D * D;
    // out = rpost · proj
    nn_gemm(0, 1, NQ, D, D, 1.0f, ws->dvis, D,
                PW(m, r->iproj), D, 0.0f, ws->drpost, D);
    if (mdl_grad(m, r->iproj))
        nn_gemm(1, 0, D, D, NQ, 1.0f, ws->rpost, D,
                    ws->dvis, D, 1.0f, mdl_grad(m, r->iproj), D);
    memset(ws->dro, 0, (size_t)NQ * D * sizeof(float));
    nn_layernorm_backward(ws->dro, mdl_grad(m, r->ilnpw), mdl_grad(m, r->ilnpb), ws->drpost, ws->ro,
                          PW(m, r->ilnpw), ws->rpmean, ws->rprstd, NQ, D);
    mdl_lin_backward_ex(m, &r->out, ws->dratty, 1, ws->du, ws->xd, ws->dro, ws->u_out, ws->ratty, NQ, 1, seed);
    memset(ws->dqp, 0, (size_t)Q * D * sizeof(float));
    memset(ws->dkp, 0, (size_t)NP * D * sizeof(float));
    memset(ws->dvp, 0, (size_t)NP * D * sizeof(float));
    int HS = D / r->NH;
    for (int i = 0; i < NI; i++)
        nn_attention_backward(ws->dqp, ws->dkp + (size_t)i * P * D, ws->dvp + (size_t)i * P * D,
                              ws->attscr, ws->dratty + (size_t)i * Q * D,
                              ws->ratt + (size_t)i * r->NH * Q * P, ws->qp,
                              ws->kp + (size_t)i * P * D, ws->vp + (size_t)i * P * D, Q, P,
                              r->NH, r->NH, HS, D, D, D, 0);
    const float *W = PW(m, r->iinw);
    float *gW = mdl_grad(m, r->iinw), *gB = mdl_grad(m, r->iinb);
    memset(ws->dqn, 0, (size_t)Q * D * sizeof(float));
    nn_linear_backward(ws->dqn, gW, gB, ws->dqp, ws->qn, W, Q, D, D);
    memset(ws->dkvn, 0, (size_t)NP * D * sizeof(float));
    nn_linear_backward(ws->dkvn, gW ? gW + DD : NULL, gB ? gB + D : NULL, ws->dkp, ws->kvn, W + DD, NP, D, D);
    nn_linear_backward(ws->dkvn, gW ? gW + 2 * DD : NULL, gB ? gB + 2 * D : NULL, ws->dvp, ws->kvn, W + 2 * DD, NP, D, D);
    nn_layernorm_backward(mdl_grad(m, r->iquery), mdl_grad(m, r->ilnqw), mdl_grad(m, r->ilnqb), ws->dqn,
                          PW(m, r->iquery), PW(m, r->ilnqw), ws->qmean, ws->qrstd, Q, D);
    memset(ws->dkv, 0, (size_t)NP * D * sizeof(float));
    nn_layernorm_backward(ws->dkv, mdl_grad(m, r->ilnkvw), mdl_grad(m, r->ilnkvb), ws->dkvn, ws->kv,
                          PW(m, r->ilnkvw), ws->kvmean, ws->kvrstd, NP, D);
    int need_vit = vit_trainable(m);
    mdl_lin_backward_ex(m, &r->kv, need_vit ? ws->dpost : NULL, 1, ws->du, ws->xd, ws->dkv, ws->u_kv,
                     ws->post, NP, 1, seed);
    if (!need_vit) return; // nothing below the resampler learns: skip the ViT backward
    memset(ws->dres, 0, (size_t)NP * Dv * sizeof(float));
    nn_layernorm_backward(ws->dres, mdl_grad(m, v->ipostw), mdl_grad(m, v->ipostb), ws->dpost,
                          ws->xs[c->L], PW(m, v->ipostw), ws->pmean, ws->prstd, NP, Dv);
    for (int l = c->L - 1; l >= 0; l--) {
        vit_acts *a = &ws->blk[mode == RUN_TRAIN ? l : 0];
        if (mode == RUN_TRAIN_CKPT)
            block_forward(m, l, ws, a, ws->xs[l], ws->xs[l + 1], ws->xd, 1, seed);
        block_backward(m, l, ws, a, ws->xs[l], seed);
    }
    float *gpos = mdl_grad(m, v->ipos);
    if (gpos)
        for (int i = 0; i < NI; i++)
            for (size_t j = 0; j < (size_t)P * Dv; j++) gpos[j] += ws->dres[(size_t)i * P * Dv + j];
    mdl_lin_backward(m, &v->patch, NULL, NULL, NULL, ws->dres, NULL, ws->patches, NP, 0, seed);
}
