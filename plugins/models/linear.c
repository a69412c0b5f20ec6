/* plugins/models/linear.c — linear layer and its LoRA side path (PEFT semantics: dropout on
 * the LoRA input, scale alpha/r or alpha/sqrt(r) applied by the caller's `scale`), forward
 * and backward on OpenBLAS sgemm. No parameter bookkeeping here (see model code). */
#include "nn.h"
#include "fastmath.h"
#include <string.h>

// out (N, OC) = inp (N, IC) · w^T + b
void nn_linear_forward(float *out, const float *inp, const float *w, const float *b, int N,
                       int IC, int OC) {
    if (N == 0) return;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, sizeof(float) * OC);
    }
    nn_gemm(0, 1, N, OC, IC, 1.0f, inp, IC, w, IC,
                b ? 1.0f : 0.0f, out, OC);
}

void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC) {
    nn_linear_backward_ex(dinp, 0, dw, db, dout, inp, w, N, IC, OC);
}

void nn_linear_backward_ex(float *dinp, int overwrite_dinp, float *dw, float *db,
                           const float *dout, const float *inp, const float *w, int N, int IC,
                           int OC) {
    if (N == 0) return;
    // dinp (N, IC) (+)= dout (N, OC) · w (OC, IC)
    if (dinp)
        nn_gemm(0, 0, N, IC, OC, 1.0f, dout, OC, w, IC,
                    overwrite_dinp ? 0.0f : 1.0f, dinp, IC);
    // dw (OC, IC) += dout^T (OC, N) · inp (N, IC)
    if (dw)
        nn_gemm(1, 0, OC, IC, N, 1.0f, dout, OC, inp, IC,
                    1.0f, dw, IC);
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            for (int o = 0; o < OC; o++) db[o] += d[o];
        }
    }
}

/* Dropout mask bit for element i: a 32-bit finaliser (murmur3 fmix32) of i and the seed —
 * cheap and vectorisable, so regenerating the mask in backward costs little. */
static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t seed32(uint64_t seed) { return (uint32_t)(seed ^ (seed >> 32)); }

static inline uint32_t drop_threshold(float p) {
    double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)t;
}

int nn_dropout_keep(uint64_t seed, uint64_t i, float p) {
    return fmix32((uint32_t)i * 0x9E3779B1u ^ seed32(seed)) >= drop_threshold(p);
}

NN_HOT static void dropout_mask_apply(float *dst, const float *src, size_t n, float p,
                                      uint64_t seed, int accumulate) {
    uint32_t s = seed32(seed), thr = drop_threshold(p);
    float keep_scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        float v = fmix32((uint32_t)i * 0x9E3779B1u ^ s) >= thr ? src[i] * keep_scale : 0.0f;
        dst[i] = accumulate ? dst[i] + v : v;
    }
}

static const float *dropout_apply(float *xd, const float *inp, size_t n, float p,
                                  uint64_t seed) {
    if (p <= 0.0f) return inp;
    dropout_mask_apply(xd, inp, n, p, seed, 0);
    return xd;
}

void nn_lora_forward(float *out, float *u, float *xd, const float *inp, const float *A,
                     const float *B, int N, int IC, int OC, int ldo, int R, float scale, float p,
                     uint64_t seed) {
    if (N == 0) return;
    const float *x = dropout_apply(xd, inp, (size_t)N * IC, p, seed);
    // u (N, R) = x (N, IC) · A^T (IC, R)
    nn_gemm(0, 1, N, R, IC, 1.0f, x, IC, A, IC, 0.0f, u, R);
    // out (N, OC) += scale · u (N, R) · B^T (R, OC)
    nn_gemm(0, 1, N, OC, R, scale, u, R, B, R, 1.0f, out, ldo);
}

void nn_lora_backward(float *dinp, float *dA, float *dB, float *du, float *xd,
                      const float *dout, const float *u, const float *inp, const float *A,
                      const float *B, int N, int IC, int OC, int ldo, int R, float scale, float p,
                      uint64_t seed) {
    if (N == 0) return;
    // dB (OC, R) += scale · dout^T (OC, N) · u (N, R)
    if (dB)
        nn_gemm(1, 0, OC, R, N, scale, dout, ldo, u, R,
                    1.0f, dB, R);
    if (!dA && !dinp) return;
    // du (N, R) = scale · dout (N, OC) · B (OC, R)
    nn_gemm(0, 0, N, R, OC, scale, dout, ldo, B, R, 0.0f,
                du, R);
    if (dA) {
        const float *x = dropout_apply(xd, inp, (size_t)N * IC, p, seed);
        // dA (R, IC) += du^T (R, N) · x (N, IC)
        nn_gemm(1, 0, R, IC, N, 1.0f, du, R, x, IC, 1.0f,
                    dA, IC);
    }
    if (dinp) {
        if (p <= 0.0f) {
            // dinp (N, IC) += du (N, R) · A (R, IC)
            nn_gemm(0, 0, N, IC, R, 1.0f, du, R, A, IC,
                        1.0f, dinp, IC);
        } else {
            // through the mask: dx = mask/(1-p) ⊙ (du · A)
            nn_gemm(0, 0, N, IC, R, 1.0f, du, R, A, IC,
                        0.0f, xd, IC);
            dropout_mask_apply(dinp, xd, (size_t)N * IC, p, seed, 1);
        }
    }
}
