/* plugins/models/attention.c — scaled dot-product attention for one sequence/image with
 * grouped-query heads and an optional causal mask; products on sgemm, softmax in C.
 * Packing of many sequences and the projections live in the model code. */
#include "nn.h"
#include <math.h>
#include "fastmath.h"

// out (Tq, NH·HS) stride os, att (NH, Tq, Tk) <- q (Tq, ·) stride qs, k/v (Tk, ·) stride kvs
NN_HOT void nn_attention_forward(float *out, float *att, const float *q, const float *k,
                          const float *v, int Tq, int Tk, int NH, int NKV, int HS, int qs,
                          int kvs, int os, int causal) {
    float scale = 1.0f / sqrtf((float)HS);
    int group = NH / NKV;
    for (int h = 0; h < NH; h++) {
        int kh = h / group;
        float *a = att + (size_t)h * Tq * Tk;
        // a (Tq, Tk) = scale · q_h (Tq, HS) · k_h^T (HS, Tk)
        nn_gemm_tri(causal ? NN_TRI_OUT : 0, Tk - Tq, 0, 1, Tq, Tk, HS, scale, q + h * HS, qs,
                    k + kh * HS, kvs, 0.0f, a, Tk);
        for (int i = 0; i < Tq; i++) {
            float *row = a + (size_t)i * Tk;
            int nvis = causal ? i + 1 + Tk - Tq : Tk;
            float mx = nn_max(row, nvis);
            for (int j = 0; j < nvis; j++) row[j] = nn_expf(row[j] - mx);
            float inv = 1.0f / nn_sum(row, nvis);
            for (int j = 0; j < nvis; j++) row[j] *= inv;
            for (int j = nvis; j < Tk; j++) row[j] = 0.0f;
        }
        // out_h (Tq, HS) = a (Tq, Tk) · v_h (Tk, HS)
        nn_gemm_tri(causal ? NN_TRI_A : 0, Tk - Tq, 0, 0, Tq, HS, Tk, 1.0f, a, Tk,
                    v + kh * HS, kvs, 0.0f, out + h * HS, os);
    }
}

NN_HOT void nn_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, const float *k, const float *v,
                           int Tq, int Tk, int NH, int NKV, int HS, int qs, int kvs, int os,
                           int overwrite) {
    float scale = 1.0f / sqrtf((float)HS);
    int group = NH / NKV;
    for (int h = 0; h < NH; h++) {
        int kh = h / group;
        /* the first query head of a group writes its kv head's gradient, the rest add */
        float bkv = overwrite && h % group == 0 ? 0.0f : 1.0f, bq = overwrite ? 0.0f : 1.0f;
        const float *a = att + (size_t)h * Tq * Tk;
        const float *dout_h = dout + h * HS;
        // dv_h (Tk, HS) += a^T (Tk, Tq) · dout_h (Tq, HS)
        if (dv)
            nn_gemm(1, 0, Tk, HS, Tq, 1.0f, a, Tk, dout_h,
                        os, bkv, dv + kh * HS, kvs);
        if (!dq && !dk) continue;
        // da (Tq, Tk) = dout_h (Tq, HS) · v_h^T (HS, Tk)
        float *ds = scratch;
        nn_gemm(0, 1, Tq, Tk, HS, 1.0f, dout_h, os,
                    v + kh * HS, kvs, 0.0f, ds, Tk);
        // softmax backward: ds = a ⊙ (da - Σ_j da·a) · scale (masked entries have a = 0)
        for (int i = 0; i < Tq; i++) {
            const float *ar = a + (size_t)i * Tk;
            float *dr = ds + (size_t)i * Tk;
            float dot = nn_dot(ar, dr, Tk);
            for (int j = 0; j < Tk; j++) dr[j] = ar[j] * (dr[j] - dot) * scale;
        }
        // dq_h (Tq, HS) += ds (Tq, Tk) · k_h (Tk, HS)
        if (dq)
            nn_gemm(0, 0, Tq, HS, Tk, 1.0f, ds, Tk,
                        k + kh * HS, kvs, bq, dq + h * HS, qs);
        // dk_h (Tk, HS) += ds^T (Tk, Tq) · q_h (Tq, HS)
        if (dk)
            nn_gemm(1, 0, Tk, HS, Tq, 1.0f, ds, Tk,
                        q + h * HS, qs, bkv, dk + kh * HS, kvs);
    }
}
