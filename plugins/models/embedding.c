/* plugins/models/embedding.c — token embedding lookup, softmax cross-entropy over the
 * vocabulary, and the patch unfolding of the ViT's Conv2d(stride = kernel) stem. */
#include "nn.h"
#include <math.h>
#include "fastmath.h"
#include <string.h>

// out (N, C) <- wte (V, C), tokens (N)
void nn_embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, wte + (size_t)tokens[n] * C, sizeof(float) * C);
}

void nn_embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *d = dwte + (size_t)tokens[n] * C;
        const float *g = dout + (size_t)n * C;
        for (int i = 0; i < C; i++) d[i] += g[i];
    }
}

// logits (M, V), targets (M) -> logprob (M), dlogits (M, V)
NN_HOT double nn_xent_forward_backward(float *dlogits, float *logprob, const float *logits,
                                const int32_t *targets, int M, int V, float scale) {
    double total = 0.0;
    for (int m = 0; m < M; m++) {
        const float *l = logits + (size_t)m * V;
        float mx = nn_max(l, V);
        float acc[16] = {0}, sum = 0.0f;
        int i = 0;
        for (; i + 16 <= V; i += 16)
            for (int k = 0; k < 16; k++) acc[k] += nn_expf(l[i + k] - mx);
        for (int k = 0; k < 16; k++) sum += acc[k];
        for (; i < V; i++) sum += nn_expf(l[i] - mx);
        double lse = mx + log((double)sum);
        double lp = l[targets[m]] - lse;
        if (logprob) logprob[m] = (float)lp;
        total -= lp;
        if (dlogits) {
            float *d = dlogits + (size_t)m * V;
            float flse = (float)lse;
            for (int j = 0; j < V; j++) d[j] = nn_expf(l[j] - flse) * scale;
            d[targets[m]] -= scale;
        }
    }
    return total;
}

// out (B·P, 3·ps·ps) <- img (B, 3, S, S)
void nn_patchify(float *out, const float *img, int B, int S, int ps) {
    int g = S / ps, K = 3 * ps * ps;
    for (int b = 0; b < B; b++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++) {
                float *o = out + ((size_t)(b * g + py) * g + px) * K;
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < ps; y++)
                        for (int x = 0; x < ps; x++)
                            *o++ = img[(((size_t)b * 3 + c) * S + py * ps + y) * S + px * ps + x];
            }
}
