/* plugins/models/gemm.c — single-threaded sgemm for the reference models' small matrices,
 * with AVX-512 and AVX2 kernels picked from the CPU at run time.
 * Why not OpenBLAS: its kernels are chosen by OPENBLAS_CORETYPE, which the environment may
 * pin to an older core (Haswell = AVX2 on an AVX-512 host halves the FMA width), and for
 * the tiny models' shapes (K = 32..1536, N = 32..384) its per-call packing, buffer set-up
 * and thread hand-off cost as much as the arithmetic. The data-parallel workers (run.c)
 * already use both cores, so one thread per call is right here.
 * Determinism: every C element is one FMA chain over k in order (per KC block), whatever M,
 * the row's position or the tile it falls in, so a sequence's result does not depend on
 * which other sequences share its batch. */
#include "nn.h"
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_GEMM_X86 1
#endif

#define KC 256   /* k-block: a packed B panel (KC x NR) stays in L1 */
#define NC 1024  /* n-block: the packed B block (KC x NC) stays in L2 */

/* op(A) element (i, k) lives at A[i*rs + k*cs]; op(B) (k, j) at B[k*bk + j*bj]. */
typedef struct gemm_args {
    int M, N, K;
    float alpha, beta;
    const float *A;
    size_t rs, cs;
    const float *B;
    size_t bk, bj;
    float *C;
    int ldc;
    int tri;   /* NN_TRI_OUT / NN_TRI_A: causal shortcuts (nn.h), 0 = none */
    int diag;  /* ... with row i's last needed column / nonzero k at i + diag */
    nn_rows_fn done; /* nn_gemm_rows: told each strip of final rows (tri = 0 only) */
    void *ctx;
} gemm_args;

/* ------------------------------------------------------------ per-thread pack buffer */
static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static void pack_key_make(void) { pthread_key_create(&pack_key, free); }

typedef struct pack_buf {
    size_t floats;
    float data[];
} pack_buf;

/* A 64-byte aligned per-thread scratch of at least n floats (freed at thread exit). */
static float *pack_scratch(size_t n) {
    pthread_once(&pack_once, pack_key_make);
    pack_buf *b = pthread_getspecific(pack_key);
    if (!b || b->floats < n) {
        free(b);
        size_t bytes = (sizeof(pack_buf) + (n + 16) * sizeof(float) + 63) & ~(size_t)63;
        b = aligned_alloc(64, bytes);
        if (!b) {
            pthread_setspecific(pack_key, NULL);
            return NULL;
        }
        b->floats = n;
        pthread_setspecific(pack_key, b);
    }
    return (float *)(((uintptr_t)b->data + 63) & ~(uintptr_t)63);
}

#ifdef NN_GEMM_X86
/* dst[k*ld + j] = src[j*sld + k] for an 8 x 8 block: the in-register transpose (24 shuffles
 * for 64 floats) instead of 64 scalar moves with strided stores. */
__attribute__((target("avx2"))) static void transpose8(float *dst, size_t ld, const float *src,
                                                       size_t sld) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (size_t)i * sld);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            r[i + h] = _mm256_shuffle_ps(t[i + h], t[i + h + 2], 0x44);
            r[i + h + 2] = _mm256_shuffle_ps(t[i + h], t[i + h + 2], 0xEE);
        }
    /* r[0] = (00 10 20 30 | 04 14 24 34), r[2] = (01 11 21 31 | 05 ...), r[1] = (02 ...),
     * r[3] = (03 ...); same for rows 4-7 in r[4..7] */
    static const int order[4] = {0, 2, 1, 3};
    for (int c = 0; c < 4; c++) {
        __m256 lo = r[order[c]], hi = r[4 + order[c]];
        _mm256_storeu_ps(dst + (size_t)c * ld, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(dst + (size_t)(c + 4) * ld, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
}
#endif

/* Pack op(B)[k0..k0+kc, j0..j0+nc) into panels of NR columns (zero-padded), each panel
 * kc rows of NR contiguous floats: the kernel then reads B with unit stride. */
static void pack_b(float *dst, const gemm_args *g, int k0, int kc, int j0, int nc, int NR) {
    for (int jp = 0; jp < nc; jp += NR) {
        int nr = nc - jp < NR ? nc - jp : NR;
        if (g->bj == 1) {           /* op(B) rows contiguous: copy row by row */
            for (int k = 0; k < kc; k++) {
                float *d = dst + (size_t)k * NR;
                const float *src = g->B + (size_t)(k0 + k) * g->bk + j0 + jp;
                if (nr == NR) {
                    for (int j = 0; j < NR; j++) d[j] = src[j];
                } else {
                    for (int j = 0; j < nr; j++) d[j] = src[j];
                    for (int j = nr; j < NR; j++) d[j] = 0.0f;
                }
            }
        } else {                    /* transposed (weights W^T): read each W row once */
            const float *src = g->B + (size_t)(j0 + jp) * g->bj + (size_t)k0 * g->bk;
            int j = 0, k8 = 0;
#ifdef NN_GEMM_X86
            if (g->bk == 1) {       /* 8 x 8 blocks in registers; the kernels imply AVX2 */
                k8 = kc & ~7;
                for (; j + 8 <= nr; j += 8)
                    for (int k = 0; k < k8; k += 8)
                        transpose8(dst + (size_t)k * NR + j, (size_t)NR, src + (size_t)j * g->bj + k, g->bj);
            }
#endif
            for (int jj = 0; jj < nr; jj++) {   /* what the blocks did not cover */
                const float *s = src + (size_t)jj * g->bj;
                for (int k = jj < j ? k8 : 0; k < kc; k++) dst[(size_t)k * NR + jj] = s[(size_t)k * g->bk];
            }
            for (int k = 0; k < kc; k++)
                for (int jj = nr; jj < NR; jj++) dst[(size_t)k * NR + jj] = 0.0f;
        }
        dst += (size_t)kc * NR;
    }
}

/* Copy a tail of mr < MR rows of op(A) (kc columns) into MR zero-padded rows: the kernel
 * then always computes MR rows and the caller stores only mr of them. */
static void pack_a_tail(float *dst, const gemm_args *g, int i0, int mr, int k0, int kc, int MR) {
    for (int r = 0; r < MR; r++)
        for (int k = 0; k < kc; k++)
            dst[(size_t)r * kc + k] = r < mr ? g->A[(size_t)(i0 + r) * g->rs + (size_t)(k0 + k) * g->cs] : 0.0f;
}

/* ------------------------------------------------------------ AVX-512: 12 x 32 tiles */
#ifdef NN_GEMM_X86
#define MR16 12
#define NR16 32

__attribute__((target("avx512f"))) static inline void store16(float *c, __m512 v, __mmask16 m,
                                                               float beta) {
    if (beta == 0.0f) {
        _mm512_mask_storeu_ps(c, m, v);
    } else {
        __m512 old = _mm512_maskz_loadu_ps(m, c);
        v = beta == 1.0f ? _mm512_add_ps(v, old) : _mm512_fmadd_ps(_mm512_set1_ps(beta), old, v);
        _mm512_mask_storeu_ps(c, m, v);
    }
}

/* C[0..mr, 0..nr) = alpha · a (MR x kc, rows at rs, k at cs) · b (kc x 32 packed) + beta · C */
__attribute__((target("avx512f"))) static void kern16(int kc, const float *a, size_t rs, size_t cs,
                                                      const float *b, float *c, int ldc, int mr,
                                                      int nr, float alpha, float beta) {
    __m512 acc[MR16][2];
    for (int r = 0; r < MR16; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + (size_t)k * NR16);
        __m512 b1 = _mm512_load_ps(b + (size_t)k * NR16 + 16);
        const float *ak = a + (size_t)k * cs;
#define ROW(r)                                                              \
        {                                                                   \
            __m512 av = _mm512_set1_ps(ak[(size_t)(r) * rs]);               \
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                 \
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                 \
        }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8) ROW(9) ROW(10) ROW(11)
#undef ROW
    }
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    __m512 al = _mm512_set1_ps(alpha);
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        store16(cr, _mm512_mul_ps(acc[r][0], al), m0, beta);
        if (m1) store16(cr + 16, _mm512_mul_ps(acc[r][1], al), m1, beta);
    }
}

/* ------------------------------------------------------------ AVX2: 6 x 16 tiles */
#define MR8 6
#define NR8 16

__attribute__((target("avx2,fma"))) static inline __m256i mask8(int n) {
    /* lanes 0..n-1 set, n in [0, 8] */
    const int32_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_loadu_si256((const __m256i *)idx));
}

__attribute__((target("avx2,fma"))) static inline void store8(float *c, __m256 v, int n,
                                                              float beta) {
    if (n >= 8) {
        if (beta != 0.0f) {
            __m256 old = _mm256_loadu_ps(c);
            v = beta == 1.0f ? _mm256_add_ps(v, old) : _mm256_fmadd_ps(_mm256_set1_ps(beta), old, v);
        }
        _mm256_storeu_ps(c, v);
    } else if (n > 0) {
        __m256i m = mask8(n);
        if (beta != 0.0f) {
            __m256 old = _mm256_maskload_ps(c, m);
            v = beta == 1.0f ? _mm256_add_ps(v, old) : _mm256_fmadd_ps(_mm256_set1_ps(beta), old, v);
        }
        _mm256_maskstore_ps(c, m, v);
    }
}

__attribute__((target("avx2,fma"))) static void kern8(int kc, const float *a, size_t rs, size_t cs,
                                                      const float *b, float *c, int ldc, int mr,
                                                      int nr, float alpha, float beta) {
    __m256 acc[MR8][2];
    for (int r = 0; r < MR8; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b + (size_t)k * NR8);
        __m256 b1 = _mm256_load_ps(b + (size_t)k * NR8 + 8);
        const float *ak = a + (size_t)k * cs;
#define ROW(r)                                                              \
        {                                                                   \
            __m256 av = _mm256_broadcast_ss(ak + (size_t)(r) * rs);         \
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);                 \
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);                 \
        }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
    __m256 al = _mm256_set1_ps(alpha);
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        store8(cr, _mm256_mul_ps(acc[r][0], al), nr, beta);
        store8(cr + 8, _mm256_mul_ps(acc[r][1], al), nr - 8, beta);
    }
}
#endif /* NN_GEMM_X86 */

typedef void (*kern_fn)(int kc, const float *a, size_t rs, size_t cs, const float *b, float *c,
                        int ldc, int mr, int nr, float alpha, float beta);

/* The blocked loop shared by both kernels: B packed per (KC x NC) block, A read in place
 * (MR-row tails packed), C updated tile by tile. Returns 0 when scratch is unavailable. */
static int gemm_blocked(const gemm_args *g, kern_fn kern, int MR, int NR) {
    int ncb = g->N < NC ? g->N : NC;
    size_t bfloats = (size_t)KC * (size_t)((ncb + NR - 1) / NR) * NR;
    float *bp = pack_scratch(bfloats + (size_t)MR * KC);
    if (!bp) return 0;
    float *atail = bp + bfloats;
    for (int j0 = 0; j0 < g->N; j0 += NC) {
        int nc = g->N - j0 < NC ? g->N - j0 : NC;
        for (int k0 = 0; k0 < g->K; k0 += KC) {
            int kc = g->K - k0 < KC ? g->K - k0 : KC;
            /* the first k-block applies beta; later ones accumulate onto it */
            float beta = k0 == 0 ? g->beta : 1.0f;
            pack_b(bp, g, k0, kc, j0, nc, NR);
            for (int i0 = 0; i0 < g->M; i0 += MR) {
                int mr = g->M - i0 < MR ? g->M - i0 : MR;
                const float *a = g->A + (size_t)i0 * g->rs + (size_t)k0 * g->cs;
                size_t rs = g->rs, cs = g->cs;
                if (mr < MR) {
                    pack_a_tail(atail, g, i0, mr, k0, kc, MR);
                    a = atail, rs = (size_t)kc, cs = 1;
                }
                int kuse = kc;
                if (g->tri == NN_TRI_A) {      /* op(A)[i][k] = 0 for k > i: stop at the last row */
                    kuse = i0 + mr + g->diag - k0 < kc ? i0 + mr + g->diag - k0 : kc;
                    if (kuse <= 0) continue;   /* only zeros left; beta was applied at k0 = 0 */
                }
                for (int jp = 0; jp < nc; jp += NR) {
                    if (g->tri == NN_TRI_OUT && j0 + jp > i0 + mr - 1 + g->diag) break;  /* above it */
                    int nr = nc - jp < NR ? nc - jp : NR;
                    kern(kuse, a, rs, cs, bp + (size_t)(jp / NR) * kc * NR,
                         g->C + (size_t)i0 * g->ldc + j0 + jp, g->ldc, mr, nr, g->alpha, beta);
                }
                /* the last block's strip: these rows are final and still in cache */
                if (g->done && j0 + nc == g->N && k0 + kc == g->K) g->done(g->ctx, i0, mr);
            }
        }
    }
    return 1;
}

/* 2 = AVX-512, 1 = AVX2+FMA, 0 = OpenBLAS; -1 = not chosen yet. Written once before the
 * workers start (first call or nn_gemm_select), read-only afterwards. */
static int gemm_level = -1;

static int cpu_level(void) {
#ifdef NN_GEMM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

int nn_gemm_select(const char *path) {
    int best = cpu_level(), want = best;
    if (!path) path = getenv("MERGEVAL_GEMM");
    if (path && strcmp(path, "blas") == 0) want = 0;
    else if (path && strcmp(path, "avx2") == 0) want = 1;
    else if (path && strcmp(path, "avx512") == 0) want = 2;
    if (want > best) return 0;
    gemm_level = want;
    return 1;
}

static pthread_once_t auto_once = PTHREAD_ONCE_INIT;
static void auto_select(void) {
    if (gemm_level < 0) nn_gemm_select(NULL);
}

static kern_fn pick_kernel(int *MR, int *NR) {
    pthread_once(&auto_once, auto_select);
#ifdef NN_GEMM_X86
    if (gemm_level == 2) { *MR = MR16; *NR = NR16; return kern16; }
    if (gemm_level == 1) { *MR = MR8; *NR = NR8; return kern8; }
#endif
    (void)MR; (void)NR;
    return NULL;
}

const char *nn_gemm_kernel(void) {
    int MR, NR;
    kern_fn k = pick_kernel(&MR, &NR);
    return !k ? "OpenBLAS" : NR == 32 ? "avx512 12x32" : "avx2 6x16";
}

static void gemm_run(int tri, int diag, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc, nn_rows_fn done, void *ctx) {
    if (M <= 0) return;
    if (N <= 0) {
        if (done) done(ctx, 0, M);
        return;
    }
    int MR = 0, NR = 0;
    kern_fn kern = pick_kernel(&MR, &NR);
    if (K <= 0 || alpha == 0.0f) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = C + (size_t)i * ldc + j;
                *c = beta == 0.0f ? 0.0f : beta * *c;
            }
        if (done) done(ctx, 0, M);
        return;
    }
    gemm_args g = {M, N, K, alpha, beta, A, ta ? 1 : (size_t)lda, ta ? (size_t)lda : 1,
                   B, tb ? 1 : (size_t)ldb, tb ? (size_t)ldb : 1, C, ldc, tri, diag, done, ctx};
    if (kern && gemm_blocked(&g, kern, MR, NR)) return;
    /* OpenBLAS computes everything; the shortcuts only skip work, never change results */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (done) done(ctx, 0, M);
}

void nn_gemm_tri(int tri, int diag, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(tri, diag, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, NULL);
}

void nn_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(0, 0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, NULL);
}

void nn_gemm_rows(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc, nn_rows_fn done,
                  void *ctx) {
    gemm_run(0, 0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, done, ctx);
}
