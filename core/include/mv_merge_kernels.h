/* core/include/mv_merge_kernels.h — the merge math as pure functions on fp32 arrays (no files,
 * no dtypes, no threads): LoRA delta via sgemm, DoRA rescale, the task-vector family
 * (magnitude / outlier / random sparsification, sign consensus, mixing), slerp, linear.
 * Internal (core/merge/kernels.c); unit-tested directly by tests/test_merge_kernels.c. */
#ifndef MK_KERNELS_H
#define MK_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* w (rows, cols) += scale * (B·A) with A (r, cols), B (rows, r) — a linear LoRA on a
 * (out, in) weight. With transpose: w (rows=in, cols=out) += scale * (B·A)^T with
 * A (r, in=rows), B (out=cols, r) — fan_in_fan_out weights and embeddings. One sgemm with
 * beta = 1 into w, no temporary. */
void mk_lora_accumulate(float *w, int64_t rows, int64_t cols, const float *a, const float *b,
                        int64_t r, float scale, int transpose);

/* The same for a block of rows [r0, r0 + nrow) of a (rows, cols) weight stored at w
 * (w points at the block's first row): lets a big weight be merged in row chunks. */
void mk_lora_accumulate_rows(float *w, int64_t r0, int64_t nrow, int64_t rows, int64_t cols,
                             const float *a, const float *b, int64_t r, float scale, int transpose);

/* DoRA: w <- w * (magnitude / ||w||) per output feature, the norm taken over the input
 * dimension (rows of w, or columns when transpose). w must already hold W + s·B·A.
 * Returns the index of the first zero-norm output feature (left unscaled), or -1. */
int64_t mk_dora_rescale(float *w, int64_t rows, int64_t cols, const float *magnitude,
                        int transpose);

/* Keep the k = floor(density * n) largest |x| (exactly k: ties at the threshold are kept
 * in index order), zero the rest. Selection by radix histogram over the bits of |x|
 * (three passes, no sort, no copy). density >= 1: unchanged. Returns k kept. */
size_t mk_sparsify_magnitude(float *x, size_t n, double density);

/* Model breadcrumbs: drop the n_top = floor(gamma*n) largest |x| and the smallest, keeping
 * target = floor(density*n) (n_top shrinks when they do not fit). density >= 1: unchanged. */
size_t mk_sparsify_outliers(float *x, size_t n, double density, double gamma);

/* The rank window breadcrumbs keeps, as [keep_from, keep_to) by descending |x|. */
void mk_outlier_bounds(size_t n, double density, double gamma, size_t *keep_from, size_t *keep_to);

/* DARE: keep each element with probability density (deterministic stream from seed),
 * divide kept ones by density when rescale. density >= 1: unchanged. Returns kept count. */
size_t mk_sparsify_random(float *x, size_t n, double density, int rescale, uint64_t seed);

/* A per-tensor seed: splitmix of seed, the tensor name and the input index, so results do
 * not depend on thread scheduling or tensor order. */
uint64_t mk_seed_for(uint64_t seed, const char *tensor, size_t input);

typedef enum mk_consensus { MK_CONSENSUS_NONE = 0, MK_CONSENSUS_SUM, MK_CONSENSUS_COUNT } mk_consensus;

/* The task-vector mix (mergekit's generalized task arithmetic, after sparsification):
 * deltas[i] (n floats each) are the task vectors (already sparsified, NOT yet weighted);
 * out = base + lambda * mix where mix = Σ_i w_i·d_i·mask_i, divided elementwise by
 * Σ_i w_i·mask_i when normalize (divisor 0 -> 1 with consensus; |divisor| < 1e-8 -> 1
 * without), mask_i = [sign(w_i d_i) == majority sign] with consensus (sum: sign of Σ w_i d_i,
 * count: sign of Σ sign(w_i d_i); >= 0 counts as +), else 1. out may alias base. */
void mk_task_mix(float *out, const float *base, const float *const *deltas,
                 const double *weights, size_t m, size_t n, mk_consensus consensus,
                 int normalize, double lambda);

/* out = Σ w_i x_i, divided by Σ w_i when normalize (|Σ w| < 1e-8 -> not divided). */
void mk_linear(float *out, const float *const *xs, const double *weights, size_t m, size_t n,
               int normalize);

/* Spherical interpolation of the flattened tensors (mergekit's slerp): v0 at t=0, v1 at t=1,
 * falling back to linear interpolation when |cos| > dot_threshold (0.9995). Returns 1 when
 * it fell back to lerp. out may alias v0 or v1. */
int mk_slerp(float *out, const float *v0, const float *v1, size_t n, double t,
             double dot_threshold);

/* ---- streaming forms (a tensor processed chunk by chunk, in order) ---- */

/* Exact rank selection over a stream: keep the elements whose rank by descending |x| is in
 * [keep_from, keep_to), ties broken by position. Feed every chunk to pass1, call end1;
 * when end1 returns 1, every chunk again to pass2, then end2 (both are no-ops after end1
 * returned 0); then apply to each chunk in order (it zeroes the dropped elements).
 * Magnitude top-k is keep_from = 0. Pass 1 histograms the high 16 bits of |x| and keeps
 * the (few) values whose low 16 bits are not zero — differences of bf16 weights rarely have
 * any — so the threshold is usually exact after one pass; pass 2 is needed only when more
 * than MK_SELECT_ODD_MAX such values came by. */
#define MK_SELECT_ODD_MAX ((size_t)1 << 20)
typedef struct mk_select {
    size_t n, keep_from, keep_to;
    uint32_t *hist_hi, *hist_lo1, *hist_lo0;   /* 65536 bins each */
    int bin1, bin0;
    size_t acc1, acc0;                         /* counts above the chosen high bins */
    uint32_t t1, t0;                           /* threshold bits */
    size_t quota1, quota0, ties1, ties0;
    uint32_t *odd;                             /* (n_odd) |x| bits with nonzero low half */
    size_t n_odd, cap_odd;
    int odd_overflow, resolved;                /* resolved: thresholds known, no pass 2 */
} mk_select;
int mk_select_init(mk_select *s, size_t n, size_t keep_from, size_t keep_to); /* 0 = ok */
void mk_select_pass1(mk_select *s, const float *x, size_t len);
int mk_select_end1(mk_select *s);   /* 1 = pass 2 needed */
void mk_select_pass2(mk_select *s, const float *x, size_t len);
void mk_select_end2(mk_select *s);
void mk_select_apply(mk_select *s, float *x, size_t len);
void mk_select_free(mk_select *s);

/* DARE's stream: the same keep/drop sequence whatever the chunking, as long as every
 * chunk but the last has an even length. */
typedef struct mk_rng { uint64_t s[4]; } mk_rng;
void mk_rng_init(mk_rng *r, uint64_t seed);
size_t mk_random_apply(mk_rng *r, float *x, size_t len, double density, int rescale);

/* slerp's coefficients from the dot product and squared norms (so a tensor can be reduced
 * chunk by chunk first): out = c0*v0 + c1*v1. Returns 1 when it fell back to lerp. */
int mk_slerp_coeffs(double dot, double n0sq, double n1sq, double t, double dot_threshold,
                    float *c0, float *c1);

/* DELLA's MagPrune on one row of cols values: keep each with probability
 * p = density - epsilon + 2 epsilon * rank / (cols - 1) (rank by ascending |x|, ties by
 * position), drawn from rng; kept values divided by p when inv_p. keys: cols scratch. */
void mk_della_row(float *x, size_t cols, double density, double epsilon, mk_rng *rng, int inv_p, uint64_t *keys);

/* Σ|x| in double. */
double mk_l1(const float *x, size_t n);

/* nuslerp's coefficients (mergekit nuslerp with flatten): vectors normalised with a 1e-7
 * floor, lerp when |sin θ| < 1e-8. out = c0*v0 + c1*v1. Returns 1 when it fell back. */
int mk_nuslerp_coeffs(double dot, double n0sq, double n1sq, double t, float *c0, float *c1);

/* Index of the first non-finite value, or -1. */
int64_t mk_first_nonfinite(const float *x, size_t n);

#endif
