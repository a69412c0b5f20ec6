/* plugins/models/lin.c — a linear layer of the parameter table with its optional LoRA side
 * path: gathers weights/gradients (NULL when frozen) and calls the nn.h kernels. */
#include "mdl.h"

static uint64_t lora_seed(const mdl_lin *l, uint64_t seed) {
    return mdl_mix64(seed ^ ((uint64_t)(l->iA + 1) * 0x9E3779B97F4A7C15ull));
}

void mdl_lin_forward(const mdl *m, const mdl_lin *l, float *out, float *u, float *xd,
                     const float *inp, int N, int train, uint64_t seed) {
    nn_linear_forward(out, inp, PW(m, l->iw), l->ib >= 0 ? PW(m, l->ib) : NULL, N, l->in, l->out);
    if (l->iA >= 0)
        nn_lora_forward(out, u, xd, inp, PW(m, l->iA), PW(m, l->iB), N, l->in, l->out, l->r,
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
                         PW(m, l->iA), PW(m, l->iB), N, l->in, l->out, l->r, l->scale,
                         train ? l->dropout : 0.0f, lora_seed(l, seed));
}

float *bump_take(bump *b, size_t n) {
    /* keep every buffer 64-byte aligned (16 floats) for the BLAS kernels */
    size_t start = (b->used + 15) & ~(size_t)15;
    b->used = start + n;
    return b->base ? b->base + start : NULL;
}
