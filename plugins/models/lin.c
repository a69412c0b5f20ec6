/* plugins/models/lin.c — a linear layer of the parameter table with its optional LoRA side
 * path: gathers weights/gradients (NULL when frozen) and calls the nn.h kernels. */
#include "mdl.h"
#include <string.h>

static uint64_t lora_seed(const mdl_lin *l, uint64_t seed) {
    return mdl_mix64(seed ^ ((uint64_t)(l->iA + 1) * 0x9E3779B97F4A7C15ull));
}

void mdl_lin_forward(const mdl *m, const mdl_lin *l, float *out, float *u, float *xd,
                     const float *inp, int N, int train, uint64_t seed) {
    nn_linear_forward(out, inp, PW(m, l->iw), l->ib >= 0 ? PW(m, l->ib) : NULL, N, l->in, l->out);
    if (l->iA >= 0)
        nn_lora_forward(out, u, xd, inp, PW(m, l->iA), PW(m, l->iB), N, l->in, l->out, l->out, l->r,
                        l->scale, train ? l->dropout : 0.0f, lora_seed(l, seed));
}

void mdl_lin_backward(const mdl *m, const mdl_lin *l, float *dinp, float *du, float *xd,
                      const float *dout, const float *u, const float *inp, int N, int train,
                      uint64_t seed) {
    mdl_lin_backward_ex(m, l, dinp, 0, du, xd, dout, u, inp, N, train, seed);
}

void mdl_lin_backward_ex(const mdl *m, const mdl_lin *l, float *dinp, int overwrite, float *du,
                         float *xd, const float *dout, const float *u, const float *inp, int N,
                         int train, uint64_t seed) {
    nn_linear_backward_ex(dinp, overwrite, mdl_grad(m, l->iw), mdl_grad(m, l->ib), dout, inp,
                          PW(m, l->iw), N, l->in, l->out);
    if (l->iA >= 0)
        nn_lora_backward(dinp, mdl_grad(m, l->iA), mdl_grad(m, l->iB), du, xd, dout, u, inp,
                         PW(m, l->iA), PW(m, l->iB), N, l->in, l->out, l->out, l->r, l->scale,
                         train ? l->dropout : 0.0f, lora_seed(l, seed));
}

/* Weights (and, when wanted, gradients) of the group laid out back to back, no biases:
 * the group can then run as one sgemm over the concatenated (ΣOC, IC) matrix. */
static int group_fused(const mdl *m, const mdl_lin *ls, int n, int grads) {
    size_t off = 0;
    float *g0 = grads ? mdl_grad(m, ls[0].iw) : NULL;
    if (grads && !g0) return 0;
    for (int i = 0; i < n; i++) {
        if (ls[i].ib >= 0 || ls[i].in != ls[0].in) return 0;
        if (PW(m, ls[i].iw) != PW(m, ls[0].iw) + off) return 0;
        if (grads && mdl_grad(m, ls[i].iw) != g0 + off) return 0;
        off += (size_t)ls[i].out * ls[i].in;
    }
    return 1;
}

void mdl_lin_group_forward(const mdl *m, const mdl_lin *ls, int n, float *out, float *const *u,
                           float *xd, const float *inp, int N, int train, uint64_t seed) {
    int IC = ls[0].in, total = 0;
    for (int i = 0; i < n; i++) total += ls[i].out;
    if (N == 0) return;
    if (group_fused(m, ls, n, 0)) {
        // out (N, ΣOC) = inp (N, IC) · [W_0; W_1; ...]^T
        nn_linear_forward(out, inp, PW(m, ls[0].iw), NULL, N, IC, total);
    } else {
        for (int i = 0, off = 0; i < n; off += ls[i].out, i++) {
            const float *b = ls[i].ib >= 0 ? PW(m, ls[i].ib) : NULL;
            if (b)
                for (int r = 0; r < N; r++) memcpy(out + (size_t)r * total + off, b, sizeof(float) * ls[i].out);
            nn_gemm(0, 1, N, ls[i].out, IC, 1.0f, inp, IC,
                        PW(m, ls[i].iw), IC, b ? 1.0f : 0.0f, out + off, total);
        }
    }
    for (int i = 0, off = 0; i < n; off += ls[i].out, i++)
        if (ls[i].iA >= 0)
            nn_lora_forward(out + off, u[i], xd, inp, PW(m, ls[i].iA), PW(m, ls[i].iB), N, IC,
                            ls[i].out, total, ls[i].r, ls[i].scale, train ? ls[i].dropout : 0.0f,
                            lora_seed(&ls[i], seed));
}

void mdl_lin_group_forward_rows(const mdl *m, const mdl_lin *ls, int n, float *out,
                                float *const *u, float *xd, const float *inp, int N, int train,
                                uint64_t seed, nn_rows_fn done, void *ctx) {
    int total = 0, lora = 0;
    for (int i = 0; i < n; i++) total += ls[i].out, lora |= ls[i].iA >= 0;
    if (N > 0 && !lora && group_fused(m, ls, n, 0)) {
        nn_gemm_rows(0, 1, N, total, ls[0].in, 1.0f, inp, ls[0].in, PW(m, ls[0].iw), ls[0].in,
                     0.0f, out, total, done, ctx);
        return;
    }
    /* biases or LoRA terms are added after the product: rows are final only at the end */
    mdl_lin_group_forward(m, ls, n, out, u, xd, inp, N, train, seed);
    if (N > 0) done(ctx, 0, N);
}

void mdl_lin_group_backward(const mdl *m, const mdl_lin *ls, int n, float *dinp, int overwrite,
                            float *du, float *xd, const float *dout, float *const *u,
                            const float *inp, int N, int train, uint64_t seed) {
    int IC = ls[0].in, total = 0;
    for (int i = 0; i < n; i++) total += ls[i].out;
    if (N == 0) return;
    if (dinp) {
        if (group_fused(m, ls, n, 0)) {
            // dinp (N, IC) (+)= dout (N, ΣOC) · [W_0; W_1; ...] (ΣOC, IC)
            nn_gemm(0, 0, N, IC, total, 1.0f, dout, total,
                        PW(m, ls[0].iw), IC, overwrite ? 0.0f : 1.0f, dinp, IC);
        } else {
            for (int i = 0, off = 0; i < n; off += ls[i].out, i++)
                nn_gemm(0, 0, N, IC, ls[i].out, 1.0f,
                            dout + off, total, PW(m, ls[i].iw), IC,
                            overwrite && i == 0 ? 0.0f : 1.0f, dinp, IC);
        }
    }
    if (group_fused(m, ls, n, 1)) {
        int all = 1;
        for (int i = 0; i < n; i++) all = all && mdl_grad(m, ls[i].iw);
        if (all) // dW (ΣOC, IC) += dout^T · inp
            nn_gemm(1, 0, total, IC, N, 1.0f, dout, total,
                        inp, IC, 1.0f, mdl_grad(m, ls[0].iw), IC);
    } else {
        for (int i = 0, off = 0; i < n; off += ls[i].out, i++) {
            float *dw = mdl_grad(m, ls[i].iw), *db = mdl_grad(m, ls[i].ib);
            if (dw)
                nn_gemm(1, 0, ls[i].out, IC, N, 1.0f,
                            dout + off, total, inp, IC, 1.0f, dw, IC);
            if (db)
                for (int r = 0; r < N; r++)
                    for (int o = 0; o < ls[i].out; o++) db[o] += dout[(size_t)r * total + off + o];
        }
    }
    for (int i = 0, off = 0; i < n; off += ls[i].out, i++)
        if (ls[i].iA >= 0)
            nn_lora_backward(dinp, mdl_grad(m, ls[i].iA), mdl_grad(m, ls[i].iB), du, xd, dout + off,
                             u[i], inp, PW(m, ls[i].iA), PW(m, ls[i].iB), N, IC, ls[i].out, total,
                             ls[i].r, ls[i].scale, train ? ls[i].dropout : 0.0f,
                             lora_seed(&ls[i], seed));
}

float *bump_take(bump *b, size_t n) {
    /* keep every buffer 64-byte aligned (16 floats) for the BLAS kernels */
    size_t start = (b->used + 15) & ~(size_t)15;
    b->used = start + n;
    return b->base ? b->base + start : NULL;
}
