/* core/merge/kernels.c — merge math on fp32 arrays (see kernels.h). Selection is a
 * two-level radix histogram over the IEEE bits of |x| (monotonic for non-negative
 * floats): three linear passes instead of the sort PyTorch/mergekit use for top-k. */
/* O3 for this file only: its loops are written to be vectorised (the build default is -O2,
 * whose cheap cost model leaves them scalar); no-trapping-math lets float compares become
 * vector selects — results are unchanged, we never rely on FP exception flags. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "mv_merge_kernels.h"

void mk_lora_accumulate(float *w, int64_t rows, int64_t cols, const float *a, const float *b,
                        int64_t r, float scale, int transpose)
{
    if (!transpose)   /* (out,in) += s · B(out,r) · A(r,in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)cols, (int)r,
                    scale, b, (int)r, a, (int)cols, 1.0f, w, (int)cols);
    else              /* (in,out) += s · A^T(in,r) · B^T(r,out) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)rows, (int)cols, (int)r,
                    scale, a, (int)rows, b, (int)r, 1.0f, w, (int)cols);
}

void mk_lora_accumulate_rows(float *w, int64_t r0, int64_t nrow, int64_t rows, int64_t cols,
                             const float *a, const float *b, int64_t r, float scale, int transpose)
{
    if (!transpose)   /* rows r0.. of B select output features */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nrow, (int)cols, (int)r,
                    scale, b + r0 * r, (int)r, a, (int)cols, 1.0f, w, (int)cols);
    else              /* rows r0.. of the (in,out) weight are columns r0.. of A */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)nrow, (int)cols, (int)r,
                    scale, a + r0, (int)rows, b, (int)r, 1.0f, w, (int)cols);
}

int64_t mk_dora_rescale(float *w, int64_t rows, int64_t cols, const float *mag, int transpose)
{
    int64_t zero = -1;
    if (!transpose) {
        for (int64_t i = 0; i < rows; i++) {
            float *row = w + i * cols;
            double s = 0;
            for (int64_t j = 0; j < cols; j++) s += (double)row[j] * row[j];
            double nrm = sqrt(s);
            if (nrm == 0) { if (zero < 0) zero = i; continue; }
            float f = (float)(mag[i] / nrm);
            for (int64_t j = 0; j < cols; j++) row[j] *= f;
        }
        return zero;
    }
    /* output features are the columns: accumulate all column norms in one row-major pass */
    double *s = calloc((size_t)cols, sizeof *s);
    if (!s) return -2;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) s[j] += (double)w[i * cols + j] * w[i * cols + j];
    float *f = malloc((size_t)cols * sizeof *f);
    if (!f) { free(s); return -2; }
    for (int64_t j = 0; j < cols; j++) {
        double nrm = sqrt(s[j]);
        if (nrm == 0 && zero < 0) zero = j;
        f[j] = nrm == 0 ? 1.0f : (float)(mag[j] / nrm);
    }
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) w[i * cols + j] *= f[j];
    free(s);
    free(f);
    return zero;
}

static inline uint32_t abs_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return u & 0x7fffffffu;
}

int mk_select_init(mk_select *s, size_t n, size_t keep_from, size_t keep_to)
{
    memset(s, 0, sizeof *s);
    s->n = n; s->keep_from = keep_from; s->keep_to = keep_to;
    s->hist_hi = calloc(65536, sizeof *s->hist_hi);
    s->hist_lo1 = calloc(65536, sizeof *s->hist_lo1);
    s->hist_lo0 = calloc(65536, sizeof *s->hist_lo0);
    s->bin1 = s->bin0 = -1;
    return s->hist_hi && s->hist_lo1 && s->hist_lo0 ? 0 : -1;
}

void mk_select_free(mk_select *s)
{
    free(s->hist_hi); free(s->hist_lo1); free(s->hist_lo0); free(s->odd);
    memset(s, 0, sizeof *s);
}

/* keep one more value with a nonzero low half (cold: rare for bf16-derived data) */
__attribute__((noinline, cold)) static void odd_push(mk_select *s, uint32_t b)
{
    if (s->odd_overflow) return;
    if (s->n_odd == s->cap_odd) {
        size_t cap = s->cap_odd ? 2 * s->cap_odd : 4096;
        uint32_t *p = cap <= MK_SELECT_ODD_MAX ? realloc(s->odd, cap * sizeof *p) : NULL;
        if (!p) {   /* too many (or no memory): pass 2 will histogram the low halves */
            s->odd_overflow = 1;
            free(s->odd);
            s->odd = NULL;
            s->n_odd = s->cap_odd = 0;
            return;
        }
        s->odd = p;
        s->cap_odd = cap;
    }
    s->odd[s->n_odd++] = b;
}

void mk_select_pass1(mk_select *s, const float *x, size_t len)
{
    uint32_t *h = s->hist_hi;
    for (size_t i = 0; i < len; i++) {
        uint32_t b = abs_bits(x[i]);
        h[b >> 16]++;
        if (__builtin_expect((b & 0xffffu) != 0, 0)) odd_push(s, b);
    }
}

/* The high bin holding the k-th largest, and how many lie in higher bins. */
static int pick_bin(const uint32_t *h, size_t k, size_t *acc)
{
    int b;
    *acc = 0;
    for (b = 65535; b > 0; b--) {
        if (*acc + h[b] >= k) break;
        *acc += h[b];
    }
    return b;
}

/* the low-half histogram of high bin `bin` from the kept odd values: the rest of the bin
 * has a zero low half */
static void low_hist_from_odd(const mk_select *s, int bin, uint32_t *lo)
{
    size_t in_bin = 0;
    for (size_t i = 0; i < s->n_odd; i++)
        if ((s->odd[i] >> 16) == (uint32_t)bin) { lo[s->odd[i] & 0xffffu]++; in_bin++; }
    lo[0] += s->hist_hi[bin] - (uint32_t)in_bin;
}

int mk_select_end1(mk_select *s)
{
    if (s->keep_to > 0) s->bin1 = pick_bin(s->hist_hi, s->keep_to, &s->acc1);
    if (s->keep_from > 0) s->bin0 = pick_bin(s->hist_hi, s->keep_from, &s->acc0);
    if (s->odd_overflow) return 1;
    if (s->bin1 >= 0) low_hist_from_odd(s, s->bin1, s->hist_lo1);
    if (s->bin0 >= 0) low_hist_from_odd(s, s->bin0, s->hist_lo0);
    mk_select_end2(s);
    s->resolved = 1;
    free(s->odd);
    s->odd = NULL;
    s->n_odd = s->cap_odd = 0;
    return 0;
}

void mk_select_pass2(mk_select *s, const float *x, size_t len)
{
    if (s->resolved) return;
    uint32_t b1 = (uint32_t)s->bin1, b0 = (uint32_t)s->bin0;   /* -1 never matches */
    for (size_t i = 0; i < len; i++) {
        uint32_t b = abs_bits(x[i]), hi = b >> 16;
        if (__builtin_expect(hi == b1 || hi == b0, 0)) {
            if (hi == b1) s->hist_lo1[b & 0xffffu]++;
            if (hi == b0) s->hist_lo0[b & 0xffffu]++;
        }
    }
}

void mk_select_end2(mk_select *s)
{
    size_t acc;
    if (s->resolved) return;
    if (s->bin1 >= 0) {
        int lo = pick_bin(s->hist_lo1, s->keep_to - s->acc1, &acc);
        s->t1 = ((uint32_t)s->bin1 << 16) | (uint32_t)lo;
        s->quota1 = s->keep_to - s->acc1 - acc;
    }
    if (s->bin0 >= 0) {
        int lo = pick_bin(s->hist_lo0, s->keep_from - s->acc0, &acc);
        s->t0 = ((uint32_t)s->bin0 << 16) | (uint32_t)lo;
        s->quota0 = s->keep_from - s->acc0 - acc;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void apply_fast(uint32_t t1, uint32_t t0, float *restrict x, size_t len, size_t *eq1, size_t *eq0)
{
    /* keep b > t1 and not b > t0; elements equal to a threshold are left as they are and
     * counted, for the tie rules below */
    size_t c1 = 0, c0 = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t b;
        memcpy(&b, &x[i], 4);
        b &= 0x7fffffffu;
        int tie = (b == t1) | (b == t0);
        int keep = (b > t1) & !(b > t0);
        c1 += b == t1;
        c0 += b == t0;
        x[i] = keep | tie ? x[i] : 0.0f;
    }
    *eq1 = c1;
    *eq0 = c0;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void zero_equal(float *restrict x, size_t len, uint32_t t)
{
    for (size_t i = 0; i < len; i++) {
        uint32_t b;
        memcpy(&b, &x[i], 4);
        x[i] = (b & 0x7fffffffu) == t ? 0.0f : x[i];
    }
}

void mk_select_apply(mk_select *s, float *x, size_t len)
{
    uint32_t t1 = s->bin1 >= 0 ? s->t1 : 0xffffffffu, t0 = s->bin0 >= 0 ? s->t0 : 0xffffffffu;
    size_t eq1, eq0;
    apply_fast(t1, t0, x, len, &eq1, &eq0);
    if (!eq1 && !eq0) return;
    /* When each threshold's ties in this chunk fall wholly on one side of its quota, no
     * ordering is needed: ties at t1 (lower edge of the kept window) are kept while
     * ties1 < quota1; ties at t0 belong to the dropped top while ties0 < quota0. Decide
     * first, change state after, so the ordered pass below always starts clean. */
    int all_keep1 = s->ties1 + eq1 <= s->quota1, all_drop1 = s->ties1 >= s->quota1;
    int all_drop0 = s->ties0 + eq0 <= s->quota0, all_keep0 = s->ties0 >= s->quota0;
    if (t1 != t0 && (!eq1 || all_keep1 || all_drop1) && (!eq0 || all_drop0 || all_keep0)) {
        if (eq1) {
            if (all_drop1) zero_equal(x, len, t1);
            else s->ties1 += eq1;
        }
        if (eq0 && all_drop0) {
            zero_equal(x, len, t0);
            s->ties0 += eq0;
        }
        return;
    }
    /* ordered resolution (position order across chunks) */
    for (size_t i = 0; i < len; i++) {
        uint32_t b = abs_bits(x[i]);
        int is1 = s->bin1 >= 0 && b == s->t1, is0 = s->bin0 >= 0 && b == s->t0;
        if (!is1 && !is0) continue;
        int in1 = 0, in0 = 0;
        if (s->bin1 >= 0) {
            if (b > s->t1) in1 = 1;
            else if (is1 && s->ties1 < s->quota1) { in1 = 1; s->ties1++; }
        }
        if (s->bin0 >= 0) {
            if (b > s->t0) in0 = 1;
            else if (is0 && s->ties0 < s->quota0) { in0 = 1; s->ties0++; }
        }
        if (!in1 || in0) x[i] = 0.0f;
    }
}

static void select_whole(float *x, size_t n, size_t keep_from, size_t keep_to)
{
    mk_select s;
    if (mk_select_init(&s, n, keep_from, keep_to)) { mk_select_free(&s); return; }
    mk_select_pass1(&s, x, n);
    if (mk_select_end1(&s)) {
        mk_select_pass2(&s, x, n);
        mk_select_end2(&s);
    }
    mk_select_apply(&s, x, n);
    mk_select_free(&s);
}

size_t mk_sparsify_magnitude(float *x, size_t n, double density)
{
    if (density >= 1 || n == 0) return n;
    size_t k = (size_t)(density * (double)n);
    if (k == 0) { memset(x, 0, n * sizeof *x); return 0; }
    select_whole(x, n, 0, k);
    return k;
}

/* breadcrumbs' ranks: keep [n_top, n - n_bot) by descending |x| */
void mk_outlier_bounds(size_t n, double density, double gamma, size_t *keep_from, size_t *keep_to)
{
    int64_t target = (int64_t)(density * (double)n), n_top = (int64_t)(gamma * (double)n);
    int64_t n_bot = (int64_t)n - target - n_top;
    if (n_bot < 0) { n_top += n_bot; n_bot = 0; }
    if (n_top < 0) n_top = 0;
    *keep_from = (size_t)n_top;
    *keep_to = (size_t)((int64_t)n - n_bot);
}

size_t mk_sparsify_outliers(float *x, size_t n, double density, double gamma)
{
    if (density >= 1 || n == 0) return n;
    size_t from, to;
    mk_outlier_bounds(n, density, gamma, &from, &to);
    select_whole(x, n, from, to);
    return to - from;
}

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t mk_seed_for(uint64_t seed, const char *tensor, size_t input)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a of the name */
    for (const unsigned char *p = (const unsigned char *)tensor; p && *p; p++) h = (h ^ *p) * 1099511628211ull;
    uint64_t s = seed ^ h ^ ((uint64_t)input * 0xd1b54a32d192ed03ull);
    return splitmix64(&s);
}

static inline uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

void mk_rng_init(mk_rng *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&sm);
}

size_t mk_random_apply(mk_rng *rng, float *x, size_t n, double density, int rescale)
{
    if (density >= 1) return n;
    uint64_t *s = rng->s;
    /* keep when a 24-bit uniform integer is below density * 2^24 (two draws per 64 bits) */
    uint32_t thr = (uint32_t)(density <= 0 ? 0 : density * 16777216.0);
    float inv = rescale && density > 0 ? (float)(1.0 / density) : 1.0f;
    size_t kept = 0;
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;   /* xoshiro256** */
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
        uint32_t u0 = (uint32_t)(r >> 40), u1 = (uint32_t)(r >> 8) & 0xffffffu;
        if (u0 < thr) { x[i] *= inv; kept++; } else x[i] = 0.0f;
        if (i + 1 < n) {
            if (u1 < thr) { x[i + 1] *= inv; kept++; } else x[i + 1] = 0.0f;
        }
    }
    return kept;
}

size_t mk_sparsify_random(float *x, size_t n, double density, int rescale, uint64_t seed)
{
    mk_rng r;
    mk_rng_init(&r, seed);
    return mk_random_apply(&r, x, n, density, rescale);
}

/* Blocked so every inner loop runs over contiguous floats without branches, in helpers
 * whose restrict pointers let the compiler vectorise without alias checks (target_clones
 * picks AVX-512/AVX2 at load time). */
#define MIX_BLOCK 2048
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

CLONES static void axpy_acc(float *restrict acc, const float *restrict d, float w, size_t n)
{
    for (size_t e = 0; e < n; e++) acc[e] += w * d[e];
}

CLONES static void sign_acc(float *restrict acc, const float *restrict d, float w, size_t n)
{
    for (size_t e = 0; e < n; e++) {
        float wd = w * d[e];
        acc[e] += (wd > 0 ? 1.0f : 0.0f) - (wd < 0 ? 1.0f : 0.0f);
    }
}

CLONES static void keep_acc(float *restrict mix, float *restrict div, const float *restrict d,
                            const float *restrict sw, float w, size_t n)
{
    for (size_t e = 0; e < n; e++) {
        float wd = w * d[e];
        float keep = wd * sw[e] > 0 ? 1.0f : 0.0f;   /* same sign as elected; zeros never */
        mix[e] += keep * wd;
        div[e] += keep * w;
    }
}

CLONES static void finish_mix(float *restrict o, const float *restrict b, const float *restrict mix,
                              const float *restrict div, float lam, int normalize, size_t n)
{
    if (normalize)
        for (size_t e = 0; e < n; e++) o[e] = b[e] + lam * (mix[e] / div[e]);
    else
        for (size_t e = 0; e < n; e++) o[e] = b[e] + lam * mix[e];
}

void mk_task_mix(float *out, const float *base, const float *const *deltas,
                 const double *weights, size_t m, size_t n, mk_consensus consensus,
                 int normalize, double lambda)
{
    float lam = (float)lambda;
    float mix[MIX_BLOCK], div[MIX_BLOCK], sw[MIX_BLOCK], res[MIX_BLOCK];
    for (size_t e0 = 0; e0 < n; e0 += MIX_BLOCK) {
        size_t len = n - e0 < MIX_BLOCK ? n - e0 : MIX_BLOCK;
        memset(mix, 0, len * sizeof *mix);
        if (consensus == MK_CONSENSUS_NONE) {
            float ws = 0;
            for (size_t i = 0; i < m; i++) {
                axpy_acc(mix, deltas[i] + e0, (float)weights[i], len);
                ws += (float)weights[i];
            }
            if (fabsf(ws) < 1e-8f) ws = 1;
            for (size_t e = 0; e < len; e++) div[e] = ws;
        } else {
            memset(sw, 0, len * sizeof *sw);
            memset(div, 0, len * sizeof *div);
            for (size_t i = 0; i < m; i++) {
                if (consensus == MK_CONSENSUS_SUM) axpy_acc(sw, deltas[i] + e0, (float)weights[i], len);
                else sign_acc(sw, deltas[i] + e0, (float)weights[i], len);
            }
            for (size_t e = 0; e < len; e++) sw[e] = sw[e] >= 0 ? 1.0f : -1.0f;   /* elected sign */
            for (size_t i = 0; i < m; i++) keep_acc(mix, div, deltas[i] + e0, sw, (float)weights[i], len);
            for (size_t e = 0; e < len; e++) div[e] = div[e] == 0 ? 1.0f : div[e];
        }
        /* into res first: out may alias base */
        finish_mix(res, base + e0, mix, div, lam, normalize, len);
        memcpy(out + e0, res, len * sizeof *res);
    }
}

void mk_linear(float *out, const float *const *xs, const double *weights, size_t m, size_t n,
               int normalize)
{
    double ws = 0;
    for (size_t i = 0; i < m; i++) ws += weights[i];
    float inv = normalize && fabs(ws) >= 1e-8 ? (float)(1.0 / ws) : 1.0f;
    for (size_t e = 0; e < n; e++) {
        float acc = 0;
        for (size_t i = 0; i < m; i++) acc += (float)weights[i] * xs[i][e];
        out[e] = acc * inv;
    }
}

int mk_slerp_coeffs(double dot, double n0sq, double n1sq, double t, double thr, float *c0, float *c1)
{
    double n0 = sqrt(n0sq), n1 = sqrt(n1sq);
    /* mergekit normalises only vectors with norm > eps (1e-8) */
    double d = dot / ((n0 > 1e-8 ? n0 : 1) * (n1 > 1e-8 ? n1 : 1));
    if (fabs(d) > thr) {
        *c0 = (float)(1 - t);
        *c1 = (float)t;
        return 1;
    }
    double theta0 = acos(d), s0 = sin(theta0), theta_t = theta0 * t;
    *c0 = (float)(sin(theta0 - theta_t) / s0);
    *c1 = (float)(sin(theta_t) / s0);
    return 0;
}

int mk_slerp(float *out, const float *v0, const float *v1, size_t n, double t, double thr)
{
    double n0 = 0, n1 = 0, dot = 0;
    for (size_t i = 0; i < n; i++) {
        n0 += (double)v0[i] * v0[i];
        n1 += (double)v1[i] * v1[i];
        dot += (double)v0[i] * v1[i];
    }
    float c0, c1;
    int fell = mk_slerp_coeffs(dot, n0, n1, t, thr, &c0, &c1);
    for (size_t i = 0; i < n; i++) out[i] = c0 * v0[i] + c1 * v1[i];
    return fell;
}

int64_t mk_first_nonfinite(const float *x, size_t n)
{
    /* Runs over every merged element (PEFT's safe_merge), so it must be cheap: an early-exit
     * loop does not vectorise, so test each block branch-free on the exponent bits and
     * rescan only a block that holds a NaN/Inf for its index. */
    enum { BLOCK = 4096 };
    for (size_t s = 0; s < n; s += BLOCK) {
        size_t e = n - s < BLOCK ? n - s : BLOCK;
        uint32_t any = 0;
        for (size_t i = 0; i < e; i++) {
            uint32_t u;
            memcpy(&u, x + s + i, sizeof u);
            any |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        if (any)
            for (size_t i = 0; i < e; i++)
                if (!isfinite(x[s + i])) return (int64_t)(s + i);
    }
    return -1;
}

/* ---- DELLA (mergekit's della_magprune) ---- */
static inline uint32_t rng_u24(mk_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;   /* xoshiro256** */
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return (uint32_t)(r >> 40);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void mk_della_row(float *x, size_t cols, double density, double epsilon, mk_rng *rng, int inv_p, uint64_t *keys)
{
    /* rank by ascending |x| (ties by position), p = density - eps + 2 eps * rank / (cols - 1) */
    for (size_t i = 0; i < cols; i++) keys[i] = ((uint64_t)abs_bits(x[i]) << 32) | (uint64_t)i;
    qsort(keys, cols, sizeof *keys, cmp_u64);
    for (size_t r = 0; r < cols; r++) {
        size_t i = (size_t)(keys[r] & 0xffffffffu);
        double p = density - epsilon + (cols > 1 ? 2.0 * epsilon * (double)r / (double)(cols - 1) : 0.0);
        uint32_t thr = (uint32_t)(p <= 0 ? 0 : p >= 1 ? 16777216.0 : p * 16777216.0);
        if (rng_u24(rng) < thr) { if (inv_p) x[i] = (float)(x[i] / p); }
        else x[i] = 0.0f;
    }
}

double mk_l1(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)x[i]);
    return s;
}

int mk_nuslerp_coeffs(double dot, double n0sq, double n1sq, double t, float *c0, float *c1)
{
    double a = sqrt(n0sq), b = sqrt(n1sq);
    if (a < 1e-7) a = 1e-7;
    if (b < 1e-7) b = 1e-7;
    double cs = dot / (a * b);
    if (cs > 1) cs = 1;
    if (cs < -1) cs = -1;
    double th = acos(cs), st = sin(th);
    if (fabs(st) < 1e-8) { *c0 = (float)(1 - t); *c1 = (float)t; return 1; }
    *c0 = (float)(sin((1 - t) * th) / st);
    *c1 = (float)(sin(t * th) / st);
    return 0;
}
