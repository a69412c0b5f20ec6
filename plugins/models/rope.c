/* plugins/models/rope.c — rotary position embedding with HF Llama's rotate_half convention
 * (dimension i pairs with i + HS/2), applied in place; backward is the inverse rotation. */
#include "nn.h"
#include <math.h>
#include "fastmath.h"

// cos_t, sin_t (maxT, HS/2)
void nn_rope_tables(float *cos_t, float *sin_t, int maxT, int HS, float theta) {
    int h = HS / 2;
    for (int i = 0; i < h; i++) {
        double inv_freq = pow((double)theta, -2.0 * i / HS);
        for (int t = 0; t < maxT; t++) {
            // HF computes the angle in fp32 as t * inv_freq(fp32); match that rounding
            float ang = (float)t * (float)inv_freq;
            cos_t[(size_t)t * h + i] = cosf(ang);
            sin_t[(size_t)t * h + i] = sinf(ang);
        }
    }
}

/* One head's rotation: the AVX-512/AVX2 clones run it 16/8 pairs at a time. */
NN_HOT static void rotate_head(float *restrict v1, float *restrict v2, const float *restrict c,
                               const float *restrict s, int h, float sign) {
    for (int i = 0; i < h; i++) {
        float x1 = v1[i], x2 = v2[i], sn = sign * s[i];
        v1[i] = x1 * c[i] - x2 * sn;
        v2[i] = x2 * c[i] + x1 * sn;
    }
}

static void rotate(float *x, int ld, const int *pos, const float *cos_t, const float *sin_t,
                   int N, int H, int HS, float sign) {
    int h = HS / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cos_t + (size_t)pos[n] * h;
        const float *s = sin_t + (size_t)pos[n] * h;
        for (int hd = 0; hd < H; hd++) {
            float *v = x + (size_t)n * ld + (size_t)hd * HS;
            rotate_head(v, v + h, c, s, h, sign);
        }
    }
}

// x (N, H, HS) in place
void nn_rope_forward(float *x, int ld, const int *pos, const float *cos_t, const float *sin_t,
                     int N, int H, int HS) {
    rotate(x, ld, pos, cos_t, sin_t, N, H, HS, 1.0f);
}

// dx (N, H, HS) in place: R(θ)^T = R(-θ)
void nn_rope_backward(float *dx, int ld, const int *pos, const float *cos_t, const float *sin_t,
                      int N, int H, int HS) {
    rotate(dx, ld, pos, cos_t, sin_t, N, H, HS, -1.0f);
}
