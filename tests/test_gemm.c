/* tests/test_gemm.c — nn_gemm (plugins/models/gemm.c) on every path this CPU has (AVX-512,
 * AVX2, OpenBLAS) against a double-precision triple loop: all four transpose cases, odd
 * sizes around the tile edges (M, N not multiples of the tile, K across the k-block),
 * leading dimensions wider than the matrix, alpha/beta variants, beta = 0 on a NaN-filled
 * C (must not be read), and the property the evaluators rely on: a row's result does not
 * depend on how many rows share the call or where it sits among them. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../plugins/models/nn.h"

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 8388608.0) - 1.0);
}
static float *rnd(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static const char *paths[] = {"avx512", "avx2", "blas"};

/* max |C - ref| / (|alpha| * sum_k |a||b| + |beta| |C0| + tiny) over the matrix */
static double check_case(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    float *A = rnd((size_t)(ta ? K : M) * lda), *B = rnd((size_t)(tb ? N : K) * ldb);
    float *C = rnd((size_t)M * ldc), *C0 = malloc((size_t)M * ldc * sizeof(float));
    if (beta == 0.0f)
        for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = NAN;
    memcpy(C0, C, (size_t)M * ldc * sizeof(float));
    nn_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double c0 = beta == 0.0f ? 0.0 : C0[(size_t)i * ldc + j];
            double ref = alpha * s + beta * c0;
            double err = fabs(C[(size_t)i * ldc + j] - ref) /
                         (fabs(alpha) * mag + fabs(beta * c0) + 1e-30);
            if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
        }
        /* the padding columns between rows are not touched */
        for (int j = N; j < ldc; j++)
            ck_assert_msg(memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float)) == 0,
                          "column %d (padding) of row %d written", j, i);
    }
    free(A); free(B); free(C); free(C0);
    return worst;
}

START_TEST(test_against_double)
{
    static const int sizes[][3] = {
        {1, 1, 1}, {1, 5, 3}, {7, 3, 2}, {12, 32, 16}, {13, 33, 17}, {25, 47, 130},
        {6, 16, 256}, {5, 15, 257}, {50, 344, 128}, {37, 128, 344}, {64, 258, 128},
        {3, 1100, 20}, {40, 40, 600},
    };
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (!nn_gemm_select(paths[p])) continue;
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int t = 0; t < 4; t++)
                for (int v = 0; v < 3; v++) {
                    float alpha = v == 2 ? -0.5f : 1.0f, beta = v == 0 ? 0.0f : v == 1 ? 1.0f : 0.25f;
                    int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
                    double e = check_case(t & 1, t >> 1, M, N, K, alpha, beta, (int)(s % 3) * 5);
                    /* fp32 accumulation over K terms: a few ulps per term at most */
                    ck_assert_msg(e < 2e-6 * (1 + sqrt((double)K)),
                                  "%s: %dx%dx%d ta=%d tb=%d alpha=%g beta=%g: rel err %g",
                                  paths[p], M, N, K, t & 1, t >> 1, alpha, beta, e);
                }
    }
    nn_gemm_select(NULL);
}
END_TEST

/* Row r of the product computed inside a 1-row call and inside a 29-row call at another
 * offset: bit-identical on the vector paths (one FMA chain per element, fixed order). */
START_TEST(test_row_independent_of_batch)
{
    int N = 344, K = 300, M = 29;
    for (size_t p = 0; p < 2; p++) {
        if (!nn_gemm_select(paths[p])) continue;
        for (int tb = 0; tb < 2; tb++) {
            float *A = rnd((size_t)M * K), *B = rnd((size_t)N * K);
            float *Cbig = malloc((size_t)M * N * sizeof(float)), *C1 = malloc((size_t)N * sizeof(float));
            nn_gemm(0, tb, M, N, K, 1.0f, A, K, B, tb ? K : N, 0.0f, Cbig, N);
            for (int r = 0; r < M; r++) {
                nn_gemm(0, tb, 1, N, K, 1.0f, A + (size_t)r * K, K, B, tb ? K : N, 0.0f, C1, N);
                ck_assert_msg(memcmp(C1, Cbig + (size_t)r * N, (size_t)N * sizeof(float)) == 0,
                              "%s tb=%d: row %d differs between a 1-row and a %d-row call",
                              paths[p], tb, r, M);
            }
            free(A); free(B); free(Cbig); free(C1);
        }
    }
    nn_gemm_select(NULL);
}
END_TEST

/* The causal shortcuts: NN_TRI_OUT gives the full product's values on and below the
 * diagonal; NN_TRI_A with a lower-triangular A gives the full product everywhere. */
START_TEST(test_causal_shortcuts)
{
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (!nn_gemm_select(paths[p])) continue;
        for (int T = 1; T <= 70; T += 23) {
            int HS = 32;
            float *q = rnd((size_t)T * HS), *k = rnd((size_t)T * HS), *full = rnd((size_t)T * T);
            float *tri = rnd((size_t)T * T);
            nn_gemm(0, 1, T, T, HS, 0.5f, q, HS, k, HS, 0.0f, full, T);
            nn_gemm_tri(NN_TRI_OUT, 0, 0, 1, T, T, HS, 0.5f, q, HS, k, HS, 0.0f, tri, T);
            for (int i = 0; i < T; i++)
                ck_assert_msg(memcmp(full + (size_t)i * T, tri + (size_t)i * T, (size_t)(i + 1) * sizeof(float)) == 0,
                              "%s T=%d: NN_TRI_OUT row %d differs on or below the diagonal", paths[p], T, i);
            for (int i = 0; i < T; i++)
                for (int j = i + 1; j < T; j++) full[(size_t)i * T + j] = 0.0f;  /* causal probabilities */
            float *o1 = rnd((size_t)T * HS), *o2 = rnd((size_t)T * HS);
            nn_gemm(0, 0, T, HS, T, 1.0f, full, T, k, HS, 0.0f, o1, HS);
            nn_gemm_tri(NN_TRI_A, 0, 0, 0, T, HS, T, 1.0f, full, T, k, HS, 0.0f, o2, HS);
            ck_assert_msg(memcmp(o1, o2, (size_t)T * HS * sizeof(float)) == 0 || p == 2,
                          "%s T=%d: NN_TRI_A differs from the full product", paths[p], T);
            free(q); free(k); free(full); free(tri); free(o1); free(o2);
        }
    }
    nn_gemm_select(NULL);
}
END_TEST

/* nn_gemm_rows: every row reported exactly once, in order, and already final when reported
 * (equal to plain nn_gemm's result then), across several k- and n-blocks and on every path. */
typedef struct rows_seen { const float *C, *ref; int N, ldc, next, bad; } rows_seen;

static void rows_cb(void *ctx, int i0, int rows)
{
    rows_seen *r = ctx;
    if (i0 != r->next || rows <= 0) r->bad = 1;
    for (int i = i0; i < i0 + rows; i++)
        if (memcmp(r->C + (size_t)i * r->ldc, r->ref + (size_t)i * r->ldc, (size_t)r->N * sizeof(float)))
            r->bad = 1;
    r->next = i0 + rows;
}

START_TEST(test_rows_callback)
{
    int shapes[][3] = {{37, 688, 128}, {25, 1100, 300}, {12, 40, 7}, {5, 0, 3}, {3, 4, 0}};
    for (int p = 0; p < 3; p++) {
        if (!nn_gemm_select(paths[p])) continue;
        for (int c = 0; c < 5; c++) {
            int M = shapes[c][0], N = shapes[c][1], K = shapes[c][2], ldc = N + 3;
            float *A = rnd((size_t)M * (K ? K : 1)), *B = rnd((size_t)(N ? N : 1) * (K ? K : 1));
            float *C = rnd((size_t)M * ldc), *ref = malloc((size_t)M * ldc * sizeof(float));
            memcpy(ref, C, (size_t)M * ldc * sizeof(float));
            nn_gemm(0, 1, M, N, K, 1.0f, A, K ? K : 1, B, K ? K : 1, 0.0f, ref, ldc);
            rows_seen r = {C, ref, N, ldc, 0, 0};
            nn_gemm_rows(0, 1, M, N, K, 1.0f, A, K ? K : 1, B, K ? K : 1, 0.0f, C, ldc, rows_cb, &r);
            ck_assert_msg(!r.bad && r.next == M, "%s %dx%dx%d: rows reported wrongly (next %d)",
                          paths[p], M, N, K, r.next);
            free(A); free(B); free(C); free(ref);
        }
    }
    nn_gemm_select(NULL);
}
END_TEST

START_TEST(test_degenerate)
{
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    nn_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3);   /* K = 0: C = beta C */
    ck_assert(C[0] == 0.5f && C[5] == 3.0f);
    nn_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3);   /* beta 0: zeros */
    for (int i = 0; i < 6; i++) ck_assert(C[i] == 0.0f);
    nn_gemm(0, 0, 0, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 3);   /* M = 0: nothing */
    ck_assert(nn_gemm_select("no-such-path") == 1);         /* unknown name: the best path */
    ck_assert_ptr_nonnull(nn_gemm_kernel());
}
END_TEST

int main(void) {
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_against_double);
    tcase_add_test(tc, test_row_independent_of_batch);
    tcase_add_test(tc, test_causal_shortcuts);
    tcase_add_test(tc, test_rows_callback);
    tcase_add_test(tc, test_degenerate);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
