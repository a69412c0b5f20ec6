/* tests/test_merge_kernels.c — the merge kernels against golden values from an independent
 * numpy/torch implementation (tests/golden/make_merge_goldens.py → tests/data/merge/
 * kernels.safetensors) for F32/F16/BF16: task arithmetic, TIES (sum and count), breadcrumbs,
 * linear, slerp and its colinear fallback, LoRA (plain, fan_in_fan_out), DoRA; streaming
 * selection equal to whole-array selection; DARE statistics and determinism. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"
#include "mv_merge_kernels.h"

/* Check's ck_assert records a mark point per call (a pipe write in fork mode): assert
 * element-wise conditions once, on the first element that fails. */
#define ASSERT_EACH(var, n, cond, ...) do { \
        size_t bad_ = (size_t)-1; \
        for (size_t var = 0; var < (size_t)(n); var++) if (!(cond)) { bad_ = var; break; } \
        if (bad_ != (size_t)-1) { size_t var = bad_; ck_assert_msg(cond, __VA_ARGS__); } \
    } while (0)

static mv_registry *reg;
static mv_context *ctx;
static mv_checkpoint *ck;

static void setup(void)
{
    mv_error err = { 0 };
    ck_assert_int_eq(mv_registry_new(&reg, &err), MV_OK);
    char *dir = mv_registry_builtin_dir();
    mv_registry_load_dir(reg, dir, NULL, NULL);
    mv_free(dir);
    ck_assert_int_eq(mv_context_new(&ctx, reg, &err), MV_OK);
    ck_assert_msg(mv_checkpoint_open(ctx, "tests/data/merge/kernels.safetensors", "safetensors", &ck, &err) == MV_OK,
                  "%s", err.msg);
}

static void teardown(void)
{
    mv_checkpoint_close(ck);
    mv_context_free(ctx);
    mv_registry_free(reg);
}

/* tensor as fp32 (mallocd) and its element count / dtype */
static float *get(const char *name, size_t *n, mv_dtype *dt)
{
    mv_error err = { 0 };
    long i = mv_checkpoint_find(ck, name);
    ck_assert_msg(i >= 0, "fixture tensor %s missing", name);
    size_t numel = (size_t)mv_shape_numel(ck->tensors[i].ndim, ck->tensors[i].shape, NULL);
    float *x = malloc(numel * sizeof *x);
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)i, x, &err), MV_OK);
    if (n) *n = numel;
    if (dt) *dt = ck->tensors[i].dtype;
    return x;
}

/* round got to dtype once (as a merge writes it), compare to expected within the dtype's
 * precision: F32 1e-5 relative, F16 2^-10, BF16 2^-7 (one unit in the last place) */
static void expect_close(const char *what, const float *got, const char *exp_name)
{
    size_t n;
    mv_dtype dt;
    mv_error err = { 0 };
    float *exp = get(exp_name, &n, &dt);
    void *tmp = malloc(n * 4);
    float *rt = malloc(n * 4);
    ck_assert_int_eq(mv_convert_from_f32(tmp, dt, got, n, &err), MV_OK);
    ck_assert_int_eq(mv_convert_to_f32(rt, tmp, dt, n, &err), MV_OK);
    double rel = dt == MV_DTYPE_F32 ? 1e-5 : dt == MV_DTYPE_F16 ? 1.0 / 1024 : 1.0 / 128;
    ASSERT_EACH(i, n, fabs(rt[i] - exp[i]) <= rel * fabs(exp[i]) + 1e-6, "%s [%s] element %zu: got %.8g expected %.8g",
                what, mv_dtype_name(dt), i, rt[i], exp[i]);
    free(exp); free(tmp); free(rt);
}

static const char *DTS[] = { "F32", "F16", "BF16" };
static const double W[3] = { 0.5, 0.3, 0.8 }, D[3] = { 0.5, 0.7, 0.3 };

START_TEST(task_vector_family)
{
    char nm[64];
    for (int d = 0; d < 3; d++) {
        size_t n;
        snprintf(nm, sizeof nm, "%s.base", DTS[d]);
        float *base = get(nm, &n, NULL), *m[3], *delta[3], *out = malloc(n * 4);
        for (int i = 0; i < 3; i++) {
            snprintf(nm, sizeof nm, "%s.m%d", DTS[d], i);
            m[i] = get(nm, NULL, NULL);
            delta[i] = malloc(n * 4);
        }
#define DELTAS() for (int i = 0; i < 3; i++) for (size_t e = 0; e < n; e++) delta[i][e] = m[i][e] - base[e]
        DELTAS();
        mk_task_mix(out, base, (const float *const *)delta, W, 3, n, MK_CONSENSUS_NONE, 0, 0.9);
        snprintf(nm, sizeof nm, "%s.task_arithmetic", DTS[d]); expect_close("task_arithmetic", out, nm);

        DELTAS();
        for (int i = 0; i < 3; i++) ck_assert_uint_eq(mk_sparsify_magnitude(delta[i], n, D[i]), (size_t)(D[i] * n));
        mk_task_mix(out, base, (const float *const *)delta, W, 3, n, MK_CONSENSUS_SUM, 1, 1.0);
        snprintf(nm, sizeof nm, "%s.ties_sum", DTS[d]); expect_close("ties sum", out, nm);
        mk_task_mix(out, base, (const float *const *)delta, W, 3, n, MK_CONSENSUS_COUNT, 1, 1.0);
        snprintf(nm, sizeof nm, "%s.ties_count", DTS[d]); expect_close("ties count", out, nm);

        DELTAS();
        for (int i = 0; i < 3; i++) mk_sparsify_outliers(delta[i], n, 0.6, 0.1);
        mk_task_mix(out, base, (const float *const *)delta, W, 3, n, MK_CONSENSUS_NONE, 0, 1.0);
        snprintf(nm, sizeof nm, "%s.breadcrumbs", DTS[d]); expect_close("breadcrumbs", out, nm);

        mk_linear(out, (const float *const *)m, W, 3, n, 1);
        snprintf(nm, sizeof nm, "%s.linear", DTS[d]); expect_close("linear", out, nm);

        ck_assert_int_eq(mk_slerp(out, base, m[0], n, 0.3, 0.9995), 0);
        snprintf(nm, sizeof nm, "%s.slerp", DTS[d]); expect_close("slerp", out, nm);
        snprintf(nm, sizeof nm, "%s.colinear", DTS[d]);
        float *col = get(nm, NULL, NULL);
        ck_assert_int_eq(mk_slerp(out, base, col, n, 0.3, 0.9995), 1);
        snprintf(nm, sizeof nm, "%s.slerp_colinear", DTS[d]); expect_close("slerp colinear", out, nm);
        free(col);
        for (int i = 0; i < 3; i++) { free(m[i]); free(delta[i]); }
        free(base); free(out);
    }
}
END_TEST

START_TEST(lora_and_dora)
{
    char nm[64];
    size_t n;
    float *a = get("F32.lora.a", NULL, NULL), *b = get("F32.lora.b", NULL, NULL), *mag = get("dora.mag", NULL, NULL);
    for (int d = 0; d < 3; d++) {
        snprintf(nm, sizeof nm, "%s.lora.w", DTS[d]);
        float *w = get(nm, &n, NULL);
        mk_lora_accumulate(w, 24, 16, a, b, 4, 2.0f, 0);
        snprintf(nm, sizeof nm, "%s.lora.out", DTS[d]); expect_close("lora", w, nm);
        ck_assert_int_eq(mk_dora_rescale(w, 24, 16, mag, 0), -1);
        snprintf(nm, sizeof nm, "%s.dora.out", DTS[d]); expect_close("dora", w, nm);
        free(w);
        snprintf(nm, sizeof nm, "%s.fifo.w", DTS[d]);
        w = get(nm, &n, NULL);
        mk_lora_accumulate(w, 16, 24, a, b, 4, 2.0f, 1);
        snprintf(nm, sizeof nm, "%s.fifo.out", DTS[d]); expect_close("fan_in_fan_out", w, nm);
        free(w);
        /* DoRA on the transposed layout equals DoRA on the plain one, transposed */
        snprintf(nm, sizeof nm, "%s.lora.out", DTS[d]);
        float *plain = get(nm, NULL, NULL);
        w = malloc(16 * 24 * sizeof *w);
        for (int i = 0; i < 16; i++)
            for (int o = 0; o < 24; o++) w[i * 24 + o] = plain[o * 16 + i];
        ck_assert_int_eq(mk_dora_rescale(w, 16, 24, mag, 1), -1);
        mk_dora_rescale(plain, 24, 16, mag, 0);
        ASSERT_EACH(k, 16 * 24, fabsf(w[k] - plain[(k % 24) * 16 + k / 24]) <= 1e-5f * fabsf(plain[(k % 24) * 16 + k / 24]) + 1e-6f,
                    "fifo dora [%zu,%zu]", k / 24, k % 24);
        free(plain); free(w);
    }
    free(a); free(b); free(mag);
}
END_TEST

static uint64_t lcg = 88172645463325252ull;
static float frand(void)
{
    lcg ^= lcg << 13; lcg ^= lcg >> 7; lcg ^= lcg << 17;
    return (float)((double)(lcg >> 11) / 9007199254740992.0 * 2 - 1);
}

START_TEST(streaming_selection_matches_whole)
{
    size_t n = 100003;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = frand();
    for (size_t i = 0; i < 1000; i++) x[i * 7] = 0.25f;   /* many ties at one value */
    memcpy(y, x, n * 4);
    memcpy(z, x, n * 4);
    size_t from = 1234, to = 60000;
    mk_select s;
    ck_assert_int_eq(mk_select_init(&s, n, from, to), 0);
    for (size_t o = 0; o < n; o += 37) mk_select_pass1(&s, y + o, o + 37 <= n ? 37 : n - o);
    mk_select_end1(&s);
    for (size_t o = 0; o < n; o += 37) mk_select_pass2(&s, y + o, o + 37 <= n ? 37 : n - o);
    mk_select_end2(&s);
    for (size_t o = 0; o < n; o += 37) mk_select_apply(&s, y + o, o + 37 <= n ? 37 : n - o);
    mk_select_free(&s);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) kept += y[i] != 0;
    ck_assert_uint_eq(kept, to - from);
    /* exactly the right ranks: everything kept lies between the dropped top and bottom */
    float min_kept = 10, max_kept = 0, max_low = 0, min_top = 10;
    for (size_t i = 0; i < n; i++) {
        float v = fabsf(x[i]);
        if (y[i] != 0) { if (v < min_kept) min_kept = v; if (v > max_kept) max_kept = v; }
    }
    for (size_t i = 0; i < n; i++) {
        float v = fabsf(x[i]);
        if (y[i] == 0 && v > max_kept && v < min_top) min_top = v;
        if (y[i] == 0 && v < min_kept && v > max_low) max_low = v;
    }
    ck_assert(max_low <= min_kept && max_kept <= min_top);
    /* magnitude top-k, exact count with ties */
    mk_sparsify_magnitude(z, n, 0.3);
    kept = 0;
    for (size_t i = 0; i < n; i++) kept += z[i] != 0;
    ck_assert_uint_eq(kept, (size_t)(0.3 * n));
    free(x); free(y); free(z);
}
END_TEST

/* naive reference: ranks by (|x| descending, position ascending) */
static const float *ref_x;
static int cmp_rank(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    float x = fabsf(ref_x[i]), y = fabsf(ref_x[j]);
    if (x != y) return x > y ? -1 : 1;
    return i < j ? -1 : 1;
}

START_TEST(selection_with_heavy_ties_matches_naive_reference)
{
    size_t n = 50000;
    float *x = malloc(n * 4), *y = malloc(n * 4), *r = malloc(n * 4);
    size_t *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 10) * ((i & 1) ? 0.1f : -0.1f);   /* 10 values */
    ref_x = x;
    size_t windows[][2] = { { 0, 12345 }, { 777, 30001 }, { 4999, 5000 }, { 0, 50000 }, { 20000, 45000 } };
    size_t chunks[] = { 37, 4096, 50000 };
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        size_t from = windows[w][0], to = windows[w][1];
        for (size_t i = 0; i < n; i++) idx[i] = i;
        qsort(idx, n, sizeof *idx, cmp_rank);
        memset(r, 0, n * 4);
        for (size_t k = from; k < to; k++) r[idx[k]] = x[idx[k]];
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            size_t ch = chunks[c];
            memcpy(y, x, n * 4);
            mk_select s;
            ck_assert_int_eq(mk_select_init(&s, n, from, to), 0);
            for (size_t o = 0; o < n; o += ch) mk_select_pass1(&s, y + o, o + ch <= n ? ch : n - o);
            mk_select_end1(&s);
            for (size_t o = 0; o < n; o += ch) mk_select_pass2(&s, y + o, o + ch <= n ? ch : n - o);
            mk_select_end2(&s);
            for (size_t o = 0; o < n; o += ch) mk_select_apply(&s, y + o, o + ch <= n ? ch : n - o);
            mk_select_free(&s);
            ASSERT_EACH(i, n, y[i] == r[i], "window [%zu,%zu) chunk %zu: element %zu got %g want %g", from, to, ch, i, y[i], r[i]);
        }
    }
    free(x); free(y); free(r); free(idx);
}
END_TEST

/* Select windows [from, to) of x through the streaming API in chunks of `ch`; returns what
 * end1 said (1 = a second pass was needed). */
static int select_stream(float *y, size_t n, size_t from, size_t to, size_t ch)
{
    mk_select s;
    ck_assert_int_eq(mk_select_init(&s, n, from, to), 0);
    for (size_t o = 0; o < n; o += ch) mk_select_pass1(&s, y + o, o + ch <= n ? ch : n - o);
    int two = mk_select_end1(&s);
    if (two) {
        for (size_t o = 0; o < n; o += ch) mk_select_pass2(&s, y + o, o + ch <= n ? ch : n - o);
        mk_select_end2(&s);
    }
    for (size_t o = 0; o < n; o += ch) mk_select_apply(&s, y + o, o + ch <= n ? ch : n - o);
    mk_select_free(&s);
    return two;
}

/* expected outputs of each window from tests/golden/select_reference.py (numpy) */
static float *numpy_select(const float *x, size_t n, const size_t (*win)[2], size_t m)
{
    char in[] = "/tmp/mv-select-in.XXXXXX", out[64], cmd[1200], dir[512];
    int fd = mkstemp(in);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    uint64_t hdr[2] = { n, m };
    fwrite(hdr, sizeof hdr, 1, f);
    for (size_t w = 0; w < m; w++) { uint64_t p[2] = { win[w][0], win[w][1] }; fwrite(p, sizeof p, 1, f); }
    fwrite(x, 4, n, f);
    fclose(f);
    snprintf(out, sizeof out, "%s.out", in);
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/golden/select_reference.py %s %s", dir, in, out);
    int rc = system(cmd);
    unlink(in);
    ck_assert_msg(rc == 0, "numpy reference failed (exit %d): %s", rc, cmd);
    float *r = malloc(n * m * 4);
    f = fopen(out, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(r, 4, n * m, f), n * m);
    fclose(f);
    unlink(out);
    return r;
}

/* The one-pass threshold (values whose low 16 bits are zero, as bf16 differences are, plus
 * a few that are not) and the two-pass fallback (more than MK_SELECT_ODD_MAX such values)
 * against numpy: ties at the threshold, density 0 and 1, n and chunks not multiples of any
 * vector width, no NaN made. */
START_TEST(selection_one_and_two_pass_match_numpy)
{
    for (int big = 0; big < 2; big++) {
        size_t n = big ? MK_SELECT_ODD_MAX + 4099 : 100003;
        float *x = malloc(n * 4), *y = malloc(n * 4);
        for (size_t i = 0; i < n; i++) {
            float v = frand();
            uint32_t u;
            memcpy(&u, &v, 4);
            if (!big) u = (u & 0x80000000u) | (0x3c000000u + ((u >> 16) & 0x3f) * 0x10000u);   /* 64 bf16 values */
            memcpy(&x[i], &u, 4);
        }
        for (size_t i = 0; !big && i < 500; i++) {   /* low halves set, in the bins around the median */
            uint32_t u = 0x3c1e0000u + (uint32_t)(i % 4) * 0x10000u + (uint32_t)(i % 5) * 0x1001u;
            memcpy(&x[i * 191], &u, 4);
        }
        size_t k = (size_t)(0.5 * (double)n), win[][2] = { { 0, 0 }, { 0, n }, { 0, k }, { 0, k / 3 + 1 },
                                                           { 1234, 60000 }, { 0, 1 } };
        size_t m = sizeof win / sizeof win[0];
        float *r = numpy_select(x, n, (const size_t (*)[2])win, m);
        size_t chunks[] = { 4099, 65536, n };
        for (size_t w = 0; w < m; w++)
            for (size_t c = 0; c < 3; c++) {
                memcpy(y, x, n * 4);
                int two = select_stream(y, n, win[w][0], win[w][1], chunks[c]);
                ck_assert_msg(two == big, "window %zu: pass 2 %s", w, two ? "needed" : "skipped");
                const float *e = r + w * n;
                ASSERT_EACH(i, n, memcmp(&y[i], &e[i], 4) == 0 && !isnan(y[i]),
                            "%s data, window [%zu,%zu) chunk %zu: element %zu got %g want %g",
                            big ? "f32" : "bf16", win[w][0], win[w][1], chunks[c], i, y[i], e[i]);
            }
        free(r);
        /* mergekit's density edges: 0 keeps nothing, 1 everything */
        memcpy(y, x, n * 4);
        ck_assert_uint_eq(mk_sparsify_magnitude(y, n, 1.0), n);
        ck_assert_int_eq(memcmp(x, y, n * 4), 0);
        ck_assert_uint_eq(mk_sparsify_magnitude(y, n, 0.0), 0);
        ASSERT_EACH(i, n, y[i] == 0.0f, "density 0: element %zu is %g", i, y[i]);
        free(x); free(y);
    }
}
END_TEST

START_TEST(dare_statistics_and_determinism)
{
    size_t n = 400000;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = y[i] = z[i] = 1.0f;
    uint64_t seed = mk_seed_for(42, "model.layers.0.mlp.up_proj.weight", 1);
    size_t kept = mk_sparsify_random(x, n, 0.3, 1, seed);
    double frac = (double)kept / n, mean = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= n;
    /* binomial sd of the fraction: sqrt(.3*.7/n) ~ 7e-4 -> 6 sd */
    ck_assert_msg(fabs(frac - 0.3) < 0.0045, "kept fraction %f", frac);
    ck_assert_msg(fabs(mean - 1.0) < 0.015, "rescaled mean %f", mean);   /* E = 1 with rescale */
    ASSERT_EACH(i, n, x[i] == 0.0f || fabsf(x[i] - 1 / 0.3f) < 1e-6f, "element %zu = %g", i, x[i]);
    /* same seed, chunked in even pieces: identical */
    mk_rng r;
    mk_rng_init(&r, seed);
    for (size_t o = 0; o < n; o += 1000) mk_random_apply(&r, y + o, 1000, 0.3, 1);
    ck_assert_int_eq(memcmp(x, y, n * 4), 0);
    /* another seed or another tensor name: different mask */
    mk_sparsify_random(z, n, 0.3, 1, mk_seed_for(42, "model.layers.0.mlp.up_proj.weight", 2));
    ck_assert_int_ne(memcmp(x, z, n * 4), 0);
    /* no rescale keeps the values */
    for (size_t i = 0; i < n; i++) z[i] = 2.0f;
    mk_sparsify_random(z, n, 0.5, 0, 7);
    ASSERT_EACH(i, n, z[i] == 0.0f || z[i] == 2.0f, "element %zu = %g", i, z[i]);
    free(x); free(y); free(z);
}
END_TEST

START_TEST(nonfinite_scan)
{
    float v[5] = { 1, 2, 3, 4, 5 };
    ck_assert_int_eq((int)mk_first_nonfinite(v, 5), -1);
    v[3] = INFINITY;
    ck_assert_int_eq((int)mk_first_nonfinite(v, 5), 3);
    v[1] = NAN;
    ck_assert_int_eq((int)mk_first_nonfinite(v, 5), 1);
    /* Across block boundaries of the vectorised scan, and the largest finite value. */
    size_t n = 3 * 4096 + 17;
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = (i % 2) ? 3.4028235e38f : -1e-45f;
    ck_assert_int_eq((int)mk_first_nonfinite(w, n), -1);
    const size_t at[] = { 0, 4095, 4096, 8191, 3 * 4096 + 16 };
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        w[at[k]] = k % 2 ? -INFINITY : NAN;
        ck_assert_int_eq((int)mk_first_nonfinite(w, n), (int)at[k]);
        ck_assert_int_eq((int)mk_first_nonfinite(w, at[k]), -1); /* n excludes it */
        w[at[k]] = 1.0f;
    }
    free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merge_kernels");
    TCase *tc = tcase_create("golden");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, task_vector_family);
    tcase_add_test(tc, lora_and_dora);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("kernels");
    tcase_set_timeout(tk, 30);
    tcase_add_test(tk, streaming_selection_matches_whole);
    tcase_add_test(tk, selection_with_heavy_ties_matches_naive_reference);
    tcase_add_test(tk, selection_one_and_two_pass_match_numpy);
    tcase_add_test(tk, dare_statistics_and_determinism);
    tcase_add_test(tk, nonfinite_scan);
    suite_add_tcase(s, tk);
    return mv_suite_run(s);
}
