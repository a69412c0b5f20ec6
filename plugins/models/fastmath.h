/* plugins/models/fastmath.h — exp/tanh/sigmoid written so loops that use them vectorise
 * (libm's expf/tanhf are opaque calls): Cephes' exp2f polynomial (relative error ~2e-7)
 * with the exponent built from bits. Deterministic: same input, same output, everywhere. */
#ifndef MV_MODELS_FASTMATH_H
#define MV_MODELS_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float nn_expf(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;
    float n = __builtin_floorf(t + 0.5f);
    float f = t - n;                       /* [-0.5, 0.5] */
    float p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;  /* 2^n for n in [-125, 127] */
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

static inline float nn_sigmoidf(float x) { return 1.0f / (1.0f + nn_expf(-x)); }

static inline float nn_tanhf(float x) {
    /* 1 - 2/(e^{2x}+1): exact limits ±1, absolute error ~1e-7 */
    return 1.0f - 2.0f / (nn_expf(2.0f * x) + 1.0f);
}

/* Reductions with 16 fixed partial sums: vectorisable without -ffast-math (which would
 * let the compiler reorder freely) and deterministic (the order is fixed here). */
static inline float nn_dot(const float *a, const float *b, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += a[i + k] * b[i + k];
    float s = 0.0f;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline float nn_sum(const float *a, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += a[i + k];
    float s = 0.0f;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; i < n; i++) s += a[i];
    return s;
}

static inline float nn_max(const float *a, int n) {
    float acc[16];
    int i = 0;
    float m = -3.402823466e38f;
    for (int k = 0; k < 16; k++) acc[k] = m;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] = a[i + k] > acc[k] ? a[i + k] : acc[k];
    for (int k = 0; k < 16; k++) m = acc[k] > m ? acc[k] : m;
    for (; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}

/* Functions whose loops are worth AVX-512/AVX2 copies; the loader picks one at run time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NN_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_HOT
#endif

#endif
