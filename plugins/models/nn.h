/* plugins/models/nn.h — the layers of the reference models as forward/backward pairs (the
 * llm.c way), shared by the llama and tinyvlm components. Pure math on float arrays: no
 * allocation (except nn_gemm's per-thread packing buffer), no mergeval types, so tests
 * compile these files in and check them alone.
 *
 * Dimension letters used in every shape comment:
 *   N   rows: the tokens of all sequences of a batch packed one after another
 *   C   channels (model width), IC/OC input/output channels of a linear layer
 *   NH  query heads, NKV key/value heads (GQA: NH % NKV == 0), HS head size
 *   F   feed-forward width, V vocabulary, R LoRA rank
 *   Tq/Tk query/key length of one attention call (one sequence or one image)
 * Conventions: forward(out, caches..., inputs..., params..., sizes);
 * backward(dinputs..., dparams..., dout, caches..., inputs..., params..., sizes).
 * Backward ACCUMULATES (+=) into every gradient it is given; a NULL gradient pointer means
 * "not needed" and its computation is skipped. */
#ifndef MV_MODELS_NN_H
#define MV_MODELS_NN_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- matrix product */
/* C (M, N) = alpha · op(A) (M, K) · op(B) (K, N) + beta · C, row-major, op = transpose when
 * ta / tb: cblas_sgemm's contract on one thread, with AVX-512/AVX2 kernels chosen from the
 * CPU (not from OPENBLAS_CORETYPE); OpenBLAS only on CPUs without AVX2. beta = 0 never
 * reads C. Keeps a per-thread packing buffer (freed at thread exit). gemm.c says why. */
void nn_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
/* Causal attention shortcuts (row i = query i, which sees keys 0..i + diag): NN_TRI_OUT —
 * only C[i][j] for j <= i + diag is needed (tiles entirely beyond are skipped and left as
 * they were); NN_TRI_A — op(A)[i][k] is zero for k > i + diag (those terms are skipped:
 * same result, as adding 0·b changes nothing for finite b). */
enum { NN_TRI_OUT = 1, NN_TRI_A = 2 };
void nn_gemm_tri(int tri, int diag, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* nn_gemm that calls done(ctx, i0, rows) as soon as rows [i0, i0 + rows) of C are final, in
 * row order and covering every row once: whoever consumes C row by row (an activation) then
 * reads rows still in cache instead of the whole C again from memory. */
typedef void (*nn_rows_fn)(void *ctx, int i0, int rows);
void nn_gemm_rows(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc, nn_rows_fn done,
                  void *ctx);
/* Which kernel nn_gemm uses here ("avx512 12x32", "avx2 6x16" or "OpenBLAS"). */
const char *nn_gemm_kernel(void);
/* Choose the path: "avx512", "avx2", "blas", or NULL = the best this CPU has unless the
 * environment's MERGEVAL_GEMM names a narrower one (A/B measurements). Returns 0 (and
 * changes nothing) when the CPU lacks it. Call before any worker runs. */
int nn_gemm_select(const char *path);

/* ---------------------------------------------------------------- linear (+LoRA) */
/* out (N, OC) = inp (N, IC) · w^T (OC, IC) + b (OC); b may be NULL. Overwrites out. */
void nn_linear_forward(float *out, const float *inp, const float *w, const float *b, int N,
                       int IC, int OC);
void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC);
/* The same, but dinp is overwritten (not accumulated) when overwrite_dinp: saves zeroing it. */
void nn_linear_backward_ex(float *dinp, int overwrite_dinp, float *dw, float *db,
                           const float *dout, const float *inp, const float *w, int N, int IC,
                           int OC);

/* LoRA path (PEFT): out (N, OC) += scale · (drop(inp) · A^T) · B^T with A (R, IC), B (OC, R);
 * out / dout rows are ldo floats apart (ldo >= OC: a column slice of a fused output).
 * u (N, R) = drop(inp) · A^T is saved for backward. Dropout (probability p, inverted
 * scaling) uses a counter-based hash of (seed, element index), so backward and
 * recomputation regenerate the identical mask without storing it. xd is scratch (N, IC),
 * used only when p > 0. */
void nn_lora_forward(float *out, float *u, float *xd, const float *inp, const float *A,
                     const float *B, int N, int IC, int OC, int ldo, int R, float scale, float p,
                     uint64_t seed);
/* du is scratch (N, R); xd scratch (N, IC) when p > 0. */
void nn_lora_backward(float *dinp, float *dA, float *dB, float *du, float *xd,
                      const float *dout, const float *u, const float *inp, const float *A,
                      const float *B, int N, int IC, int OC, int ldo, int R, float scale, float p,
                      uint64_t seed);
/* The dropout keep-decision for element i (exposed for tests). */
int nn_dropout_keep(uint64_t seed, uint64_t i, float p);

/* ---------------------------------------------------------------- norms */
/* RMSNorm (HF Llama): out = w ⊙ x / sqrt(mean(x²) + eps). rstd (N) saved. */
void nn_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                        int C, float eps);
void nn_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int N, int C);
/* LayerNorm: out = (x - mean) · rstd ⊙ w + b. mean, rstd (N) saved. */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *w, const float *b, int N, int C, float eps);
void nn_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, const float *mean,
                           const float *rstd, int N, int C);

/* ---------------------------------------------------------------- RoPE */
/* Tables cos/sin (maxT, HS/2): angle = pos · theta^(-2i/HS). */
void nn_rope_tables(float *cos_t, float *sin_t, int maxT, int HS, float theta);
/* In place on x (N, H, HS), rows ld floats apart, with HF's rotate_half convention (first
 * half pairs with second half): x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin. pos (N) is
 * each row's position. */
void nn_rope_forward(float *x, int ld, const int *pos, const float *cos_t, const float *sin_t,
                     int N, int H, int HS);
/* In place on dx (N, H, HS): the transposed rotation. */
void nn_rope_backward(float *dx, int ld, const int *pos, const float *cos_t, const float *sin_t,
                      int N, int H, int HS);

/* ---------------------------------------------------------------- attention */
/* One attention call over Tq queries and Tk keys (one sequence or one image).
 * q (Tq, NH·HS) with row stride qs, out (Tq, NH·HS) with row stride os; k, v (Tk, NKV·HS)
 * with row stride kvs; att
 * (NH, Tq, Tk) saved probabilities. Query head h reads key/value head h / (NH/NKV).
 * causal: query i sees keys j <= i + Tk - Tq (the queries are the last Tq of the Tk rows;
 * backward requires Tq == Tk). Scale 1/sqrt(HS). */
void nn_attention_forward(float *out, float *att, const float *q, const float *k,
                          const float *v, int Tq, int Tk, int NH, int NKV, int HS, int qs,
                          int kvs, int os, int causal);
/* dq (stride qs), dk, dv (stride kvs) may each be NULL; dout has stride os. scratch: Tq·Tk
 * floats. overwrite: write dq/dk/dv of this
 * call's rows instead of accumulating (saves zeroing them first). */
void nn_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, const float *k, const float *v,
                           int Tq, int Tk, int NH, int NKV, int HS, int qs, int kvs, int os,
                           int overwrite);

/* ---------------------------------------------------------------- activations */
/* SwiGLU: out (N, F) = silu(gate) ⊙ up. The two activation backwards OVERWRITE their
 * input gradients (they always start fresh buffers), unlike the rest of this file. */
void nn_swiglu_forward(float *out, const float *gate, const float *up, size_t n);
void nn_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n);
/* GELU, tanh approximation (SigLIP's gelu_pytorch_tanh). */
void nn_gelu_forward(float *out, const float *inp, size_t n);
void nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* ---------------------------------------------------------------- embedding, loss */
/* out (N, C) rows = wte (V, C) rows of tokens (N). */
void nn_embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int C);
void nn_embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int N, int C);
/* Row-wise log-softmax + NLL of targets (M). logits (M, V). logprob (M) gets log p(target).
 * When dlogits is non-NULL it gets (softmax - onehot) · scale (overwritten). Returns the
 * summed NLL in double. */
double nn_xent_forward_backward(float *dlogits, float *logprob, const float *logits,
                                const int32_t *targets, int M, int V, float scale);

/* ---------------------------------------------------------------- patches */
/* Unfold images (B, 3, S, S) into patches (B·P, 3·ps·ps) in (channel, y, x) order, P =
 * (S/ps)², patch index row-major — the layout of a Conv2d(stride = kernel = ps) weight. */
void nn_patchify(float *out, const float *img, int B, int S, int ps);

#endif
