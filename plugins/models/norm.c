/* plugins/models/norm.c — RMSNorm (Llama) and LayerNorm (ViT, resampler) forward/backward
 * pairs over rows of a (N, C) matrix. Statistics are saved per row for backward. */
#include "nn.h"
#include <math.h>
#include "fastmath.h"

// out (N, C), rstd (N) <- inp (N, C), w (C)
NN_HOT void nn_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                        int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float ss = nn_dot(x, x, C);
        float r = 1.0f / sqrtf(ss / C + eps);
        for (int i = 0; i < C; i++) o[i] = x[i] * r * w[i];
        rstd[n] = r;
    }
}

NN_HOT void nn_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float r = rstd[n];
        if (dw)
            for (int i = 0; i < C; i++) dw[i] += dy[i] * x[i] * r;
        if (!dinp) continue;
        // y = w x r, r = (mean(x²)+eps)^(-1/2): dx = r (w dy) - x r³/C Σ(w dy x)
        float dot = 0.0f;
        for (int i = 0; i < C; i++) dot += w[i] * dy[i] * x[i];
        float k = dot * r * r * r / C;
        float *dx = dinp + (size_t)n * C;
        for (int i = 0; i < C; i++) dx[i] += r * w[i] * dy[i] - k * x[i];
    }
}

// out (N, C), mean/rstd (N) <- inp (N, C), w, b (C)
NN_HOT void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *w, const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = nn_sum(x, C) / C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= C;
        float r = 1.0f / sqrtf(v + eps);
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * r * w[i] + b[i];
        mean[n] = m;
        rstd[n] = r;
    }
}

NN_HOT void nn_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, const float *mean,
                           const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float m = mean[n], r = rstd[n];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * r;
            float dnorm = w[i] * dy[i];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
            if (dw) dw[i] += norm * dy[i];
            if (db) db[i] += dy[i];
        }
        if (!dinp) continue;
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        float *dx = dinp + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * r;
            float dnorm = w[i] * dy[i];
            dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r;
        }
    }
}
