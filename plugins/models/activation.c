/* plugins/models/activation.c — elementwise activations: SwiGLU (Llama MLP) and GELU with
 * the tanh approximation (SigLIP MLP), forward/backward. */
#include "nn.h"
#include "fastmath.h"

// out (N, F) = silu(gate) ⊙ up
NN_HOT void nn_swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        float s = nn_sigmoidf(g);
        out[i] = g * s * up[i];
    }
}

NN_HOT void nn_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        float s = nn_sigmoidf(g);
        dup[i] = dout[i] * g * s;
        dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

NN_HOT void nn_gelu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float t = nn_tanhf(GELU_K * (x + 0.044715f * x * x * x));
        out[i] = 0.5f * x * (1.0f + t);
    }
}

NN_HOT void nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float inner = GELU_K * (x + 0.044715f * x * x * x);
        float t = nn_tanhf(inner);
        float sech2 = 1.0f - t * t;
        float g = 0.5f * (1.0f + t) + 0.5f * x * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = dout[i] * g;
    }
}
