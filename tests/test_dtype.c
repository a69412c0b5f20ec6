/* tests/test_dtype.c — dtype names/sizes/parsing, shape arithmetic, mv_tensor, and the
 * F16/BF16 <-> F32 conversions: exhaustive over all 2^16 half values, edge values, ties, and
 * the SIMD bulk paths against the scalar ones. The rounding reference here is independent
 * of the library: a nearest-neighbour search over a sorted table of representable values. */
#include <check.h>
#include "suite_run.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Independent decoders. */
static double ref_f16_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Reference rounding of a finite double x to a format whose positive finite values (as
 * doubles, increasing) are table[0..n) with bit patterns 0..n-1; inf_bits = pattern of Inf,
 * `overflow` = the halfway point between the max finite value and the next binade step. */
static uint16_t ref_round(double x, const double *table, uint32_t n, uint16_t inf_bits,
                          uint16_t sign_bit, double overflow)
{
    uint16_t sign = signbit(x) ? sign_bit : 0;
    double a = fabs(x);
    if (a >= overflow)
        return sign | inf_bits;
    uint32_t lo = 0, hi = n - 1; /* largest table[i] <= a */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (table[mid] <= a) lo = mid; else hi = mid - 1;
    }
    uint32_t best = lo;
    if (lo + 1 < n) {
        double dl = a - table[lo], dh = table[lo + 1] - a;
        if (dh < dl || (dh == dl && (lo & 1)))
            best = lo + 1;
    } else if (a > table[lo]) {
        /* between max finite and the overflow point: rounds to max finite */
    }
    return (uint16_t)(sign | best);
}

static double F16_TABLE[0x7c00];
static double BF16_TABLE[0x7f80];
static void build_tables(void)
{
    for (uint32_t i = 0; i < 0x7c00; i++)
        F16_TABLE[i] = ref_f16_value((uint16_t)i);
    for (uint32_t i = 0; i < 0x7f80; i++)
        BF16_TABLE[i] = (double)bitsf(i << 16);
}

/* 65504 + half an ulp (16) = 65520; bf16 max 0x7f7f = (2 - 2^-7) * 2^127, half ulp 2^119. */
#define F16_OVERFLOW 65520.0
#define BF16_OVERFLOW (ldexp(2.0 - ldexp(1, -7), 127) + ldexp(1, 119))

static uint16_t ref_to_f16(float f)
{
    return ref_round(f, F16_TABLE, 0x7c00, 0x7c00, 0x8000, F16_OVERFLOW);
}
static uint16_t ref_to_bf16(float f)
{
    return ref_round(f, BF16_TABLE, 0x7f80, 0x7f80, 0x8000, BF16_OVERFLOW);
}

/* ------------------------------------------------------------------ names, shapes */
START_TEST(test_names_sizes)
{
    static const struct { mv_dtype d; const char *n; size_t s; } T[] = {
        { MV_DTYPE_BOOL, "BOOL", 1 }, { MV_DTYPE_U8, "U8", 1 }, { MV_DTYPE_I8, "I8", 1 },
        { MV_DTYPE_I16, "I16", 2 }, { MV_DTYPE_U16, "U16", 2 }, { MV_DTYPE_I32, "I32", 4 },
        { MV_DTYPE_U32, "U32", 4 }, { MV_DTYPE_I64, "I64", 8 }, { MV_DTYPE_U64, "U64", 8 },
        { MV_DTYPE_F8_E4M3, "F8_E4M3", 1 }, { MV_DTYPE_F8_E5M2, "F8_E5M2", 1 },
        { MV_DTYPE_F16, "F16", 2 }, { MV_DTYPE_BF16, "BF16", 2 }, { MV_DTYPE_F32, "F32", 4 },
        { MV_DTYPE_F64, "F64", 8 },
    };
    ck_assert_int_eq(sizeof T / sizeof T[0], MV_DTYPE_COUNT - 1);
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        ck_assert_str_eq(mv_dtype_name(T[i].d), T[i].n);
        ck_assert_uint_eq(mv_dtype_size(T[i].d), T[i].s);
        ck_assert_int_eq(mv_dtype_parse(T[i].n, 0), T[i].d);
    }
    ck_assert_str_eq(mv_dtype_name(MV_DTYPE_INVALID), "INVALID");
    ck_assert_str_eq(mv_dtype_name((mv_dtype)99), "INVALID");
    ck_assert_uint_eq(mv_dtype_size(MV_DTYPE_INVALID), 0);
    ck_assert_uint_eq(mv_dtype_size((mv_dtype)-3), 0);
    ck_assert_int_eq(mv_dtype_parse("f32", 0), MV_DTYPE_INVALID); /* case-sensitive */
    ck_assert_int_eq(mv_dtype_parse("float32", 0), MV_DTYPE_INVALID);
    ck_assert_int_eq(mv_dtype_parse("float32", 1), MV_DTYPE_F32);
    ck_assert_int_eq(mv_dtype_parse("bfloat16", 1), MV_DTYPE_BF16);
    ck_assert_int_eq(mv_dtype_parse("float16", 1), MV_DTYPE_F16);
    ck_assert_int_eq(mv_dtype_parse("F8_E4M3FN", 1), MV_DTYPE_INVALID);
    ck_assert_int_eq(mv_dtype_parse(NULL, 1), MV_DTYPE_INVALID);
    ck_assert(mv_dtype_is_float_math(MV_DTYPE_BF16));
    ck_assert(mv_dtype_is_float_math(MV_DTYPE_F64));
    ck_assert(!mv_dtype_is_float_math(MV_DTYPE_F8_E4M3));
    ck_assert(!mv_dtype_is_float_math(MV_DTYPE_I32));
}
END_TEST

START_TEST(test_shapes)
{
    int of = 7;
    int64_t s1[] = { 4096, 4096 };
    ck_assert_uint_eq(mv_shape_numel(2, s1, &of), 4096u * 4096u);
    ck_assert_int_eq(of, 0);
    ck_assert_uint_eq(mv_shape_numel(0, NULL, &of), 1); /* scalar */
    ck_assert_int_eq(of, 0);
    int64_t s0[] = { 3, 0, 5 };
    ck_assert_uint_eq(mv_shape_numel(3, s0, &of), 0);
    ck_assert_int_eq(of, 0);
    int64_t big[] = { (int64_t)1 << 32, (int64_t)1 << 32 };
    ck_assert_uint_eq(mv_shape_numel(2, big, &of), 0);
    ck_assert_int_eq(of, 1);
    int64_t edge[] = { (int64_t)1 << 31, (int64_t)1 << 31 }; /* 2^62: fits */
    ck_assert_uint_eq(mv_shape_numel(2, edge, &of), (uint64_t)1 << 62);
    ck_assert_int_eq(of, 0);
    int64_t neg[] = { 2, -1 };
    mv_shape_numel(2, neg, &of);
    ck_assert_int_eq(of, 1);

    mv_error err;
    mv_tensor_info ti = { .name = "w", .dtype = MV_DTYPE_BF16, .ndim = 2, .shape = { 3, 5 } };
    ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti, &err), MV_OK);
    ck_assert_uint_eq(ti.nbytes, 30);
    ti.shape[0] = (int64_t)1 << 62; /* 2^62 * 5 * 2 overflows 2^63 */
    ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflow"));
    ti.shape[0] = -2;
    ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "negative"));
    ti.shape[0] = 2;
    ti.dtype = MV_DTYPE_INVALID;
    ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti, &err), MV_E_FORMAT);

    char buf[64];
    ck_assert_str_eq(mv_shape_str(2, s1, buf, sizeof buf), "[4096, 4096]");
    ck_assert_str_eq(mv_shape_str(0, NULL, buf, sizeof buf), "[]");
    char tiny[6];
    mv_shape_str(2, s1, tiny, sizeof tiny);
    ck_assert_uint_eq(strlen(tiny), 5); /* truncated, terminated */
}
END_TEST

START_TEST(test_tensor_new)
{
    mv_tensor *t = NULL;
    mv_error err;
    int64_t sh[] = { 3, 7 };
    ck_assert_int_eq(mv_tensor_new(&t, "a.b", MV_DTYPE_F16, 2, sh, &err), MV_OK);
    ck_assert_str_eq(t->info.name, "a.b");
    ck_assert_uint_eq(t->info.nbytes, 42);
    ck_assert_uint_eq((uintptr_t)t->data % 64, 0);
    for (size_t i = 0; i < 42; i++)
        ck_assert_uint_eq(((unsigned char *)t->data)[i], 0);
    mv_tensor_free(t);
    ck_assert_int_eq(mv_tensor_new(&t, "s", MV_DTYPE_F32, 0, NULL, &err), MV_OK);
    ck_assert_uint_eq(t->info.nbytes, 4);
    mv_tensor_free(t);
    int64_t bad[] = { -1 };
    ck_assert_int_eq(mv_tensor_new(&t, "x", MV_DTYPE_F32, 1, bad, &err), MV_E_INPUT);
    ck_assert_ptr_null(t);
    mv_tensor_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ f16 */
START_TEST(test_f16_exhaustive)
{
    build_tables();
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mv_f16_to_f32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m) {
            ck_assert(isnan(f));
            ck_assert(fbits(f) & 0x400000); /* quiet */
            ck_assert_int_eq(!!signbit(f), !!(h & 0x8000));
            uint16_t back = mv_f32_to_f16(f);
            ck_assert_uint_eq(back & 0x7c00, 0x7c00);
            ck_assert(back & 0x200); /* still NaN, quiet */
            ck_assert_uint_eq(back & 0x8000, h & 0x8000);
            continue;
        }
        if (e == 31)
            ck_assert(isinf(f));
        else
            ck_assert_msg((double)f == ref_f16_value((uint16_t)h), "h=%04x", h);
        ck_assert_msg(mv_f32_to_f16(f) == h, "round trip h=%04x -> %04x", h, mv_f32_to_f16(f));
        ck_assert_int_eq(!!signbit(f), !!(h & 0x8000));
    }
}
END_TEST

START_TEST(test_f16_edges)
{
    build_tables();
    ck_assert_uint_eq(mv_f32_to_f16(0.0f), 0x0000);
    ck_assert_uint_eq(mv_f32_to_f16(-0.0f), 0x8000);
    ck_assert_uint_eq(mv_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(mv_f32_to_f16(65504.0f), 0x7bff);       /* max finite */
    ck_assert_uint_eq(mv_f32_to_f16(65519.996f), 0x7bff);     /* just below the tie */
    ck_assert_uint_eq(mv_f32_to_f16(65520.0f), 0x7c00);       /* tie rounds to even: Inf */
    ck_assert_uint_eq(mv_f32_to_f16(-1e6f), 0xfc00);
    ck_assert_uint_eq(mv_f32_to_f16(INFINITY), 0x7c00);
    ck_assert_uint_eq(mv_f32_to_f16(-INFINITY), 0xfc00);
    ck_assert_uint_eq(mv_f32_to_f16(FLT_MAX), 0x7c00);
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(1, -24)), 0x0001);  /* min subnormal */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(1, -25)), 0x0000);  /* tie -> even (0) */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(3, -26)), 0x0001);  /* 0.75 ulp -> 1 */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(3, -25)), 0x0002);  /* 1.5 ulp tie -> 2 (even) */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(5, -25)), 0x0002);  /* 2.5 ulp tie -> 2 (even) */
    ck_assert_uint_eq(mv_f32_to_f16(-ldexpf(1, -26)), 0x8000); /* underflow keeps sign */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(1023, -24)), 0x03ff); /* max subnormal */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(2047, -25)), 0x0400); /* tie into min normal */
    ck_assert_uint_eq(mv_f32_to_f16(ldexpf(1, -14)), 0x0400);
    ck_assert_uint_eq(mv_f32_to_f16(FLT_MIN), 0x0000);
    ck_assert_uint_eq(mv_f32_to_f16(bitsf(1)), 0x0000);          /* f32 subnormal */
    ck_assert_uint_eq(mv_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00); /* tie -> even */
    ck_assert_uint_eq(mv_f32_to_f16(1.0f + ldexpf(3, -11)), 0x3c02); /* tie -> even (up) */
    ck_assert_uint_eq(mv_f32_to_f16(NAN) & 0x7e00, 0x7e00);
    ck_assert_uint_eq(mv_f32_to_f16(bitsf(0x7f800001)) & 0x7e00, 0x7e00); /* sNaN -> qNaN */
    ck_assert_uint_eq(mv_f32_to_f16(bitsf(0xff800001)) & 0xfe00, 0xfe00);
    ck_assert(isnan(mv_f16_to_f32(0x7c01)));
    ck_assert(isinf(mv_f16_to_f32(0xfc00)) && mv_f16_to_f32(0xfc00) < 0);
    ck_assert(mv_f16_to_f32(0x0001) == ldexpf(1, -24));
    ck_assert(mv_f16_to_f32(0x8000) == 0 && signbit(mv_f16_to_f32(0x8000)));

    /* Every tie point between consecutive f16 values, and one f32 ulp either side. */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        double mid = (F16_TABLE[h] + F16_TABLE[h + 1]) / 2;
        float fm = (float)mid;
        ck_assert((double)fm == mid); /* exactly representable */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        ck_assert_msg(mv_f32_to_f16(fm) == even, "tie after %04x", h);
        ck_assert_uint_eq(mv_f32_to_f16(-fm), even | 0x8000);
        ck_assert_uint_eq(mv_f32_to_f16(nextafterf(fm, 0)), h);
        ck_assert_uint_eq(mv_f32_to_f16(nextafterf(fm, INFINITY)), h + 1);
    }
}
END_TEST

START_TEST(test_f16_against_reference)
{
    build_tables();
    /* A stride over the whole f32 space (odd stride: every exponent, many mantissas). */
    for (uint64_t u = 0; u < ((uint64_t)1 << 32); u += 7919) {
        float f = bitsf((uint32_t)u);
        if (isnan(f))
            continue;
        uint16_t got = mv_f32_to_f16(f), want = ref_to_f16(f);
        ck_assert_msg(got == want, "f32 %08x: got %04x want %04x", (uint32_t)u, got, want);
    }
}
END_TEST

/* ------------------------------------------------------------------ bf16 */
START_TEST(test_bf16_exhaustive)
{
    for (uint32_t b = 0; b < 65536; b++) {
        float f = mv_bf16_to_f32((uint16_t)b);
        ck_assert_uint_eq(fbits(f), b << 16);
        uint16_t back = mv_f32_to_bf16(f);
        if (isnan(f)) {
            ck_assert_uint_eq(back & 0x7f80, 0x7f80);
            ck_assert(back & 0x40); /* quiet */
            ck_assert_uint_eq(back & 0x8000, b & 0x8000);
        } else {
            ck_assert_msg(back == b, "bf16 %04x -> %04x", b, back);
        }
    }
}
END_TEST

START_TEST(test_bf16_edges)
{
    build_tables();
    ck_assert_uint_eq(mv_f32_to_bf16(1.0f), 0x3f80);
    ck_assert_uint_eq(mv_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80); /* tie -> even */
    ck_assert_uint_eq(mv_f32_to_bf16(1.0f + ldexpf(3, -8)), 0x3f82); /* tie -> even (up) */
    ck_assert_uint_eq(mv_f32_to_bf16(1.0f + ldexpf(1, -8) + ldexpf(1, -23)), 0x3f81);
    ck_assert_uint_eq(mv_f32_to_bf16(FLT_MAX), 0x7f80);            /* overflow -> Inf */
    ck_assert_uint_eq(mv_f32_to_bf16(-FLT_MAX), 0xff80);
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0x7f7f7fff)), 0x7f7f);  /* largest below tie */
    ck_assert_uint_eq(mv_f32_to_bf16(INFINITY), 0x7f80);
    ck_assert_uint_eq(mv_f32_to_bf16(-0.0f), 0x8000);
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0x00018000)), 0x0002);  /* subnormal tie -> even */
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0x00008000)), 0x0000);  /* subnormal tie -> 0 */
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0x00008001)), 0x0001);
    ck_assert_uint_eq(mv_f32_to_bf16(NAN) & 0x7fc0, 0x7fc0);
    /* sNaN whose payload lives only in the low bits must not become Inf */
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0x7f800001)), 0x7fc0);
    ck_assert_uint_eq(mv_f32_to_bf16(bitsf(0xff800001)), 0xffc0);
    for (uint64_t u = 0; u < ((uint64_t)1 << 32); u += 7919) {
        float f = bitsf((uint32_t)u);
        if (isnan(f))
            continue;
        uint16_t got = mv_f32_to_bf16(f), want = ref_to_bf16(f);
        ck_assert_msg(got == want, "f32 %08x: got %04x want %04x", (uint32_t)u, got, want);
    }
}
END_TEST

/* ------------------------------------------------------------------ bulk */
static float *special_floats(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof *v);
    srand(seed);
    static const uint32_t specials[] = {
        0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345,
        0x7f7fffff, 0x477fe000, 0x477ff000, 0x33800000, 0x33000000, 0x387fc000, 0x00000001,
        0x3f808000, 0x3f818000, 0x3f800001,
    };
    size_t ns = sizeof specials / sizeof specials[0];
    for (size_t i = 0; i < n; i++) {
        if (i % 5 == 0)
            v[i] = bitsf(specials[(i / 5) % ns]);
        else if (i % 5 == 1)
            v[i] = bitsf(((uint32_t)rand() << 16) ^ (uint32_t)rand());
        else
            v[i] = ((float)rand() / RAND_MAX - 0.5f) * ldexpf(1, (int)(i % 40) - 20);
    }
    return v;
}

START_TEST(test_bulk_matches_scalar)
{
    mv_error err;
    for (size_t n = 0; n < 70; n += 1 + n / 3) {
        size_t len = n * 37 + (n % 9);
        float *src = special_floats(len ? len : 1, (unsigned)n + 1);
        /* +1: unaligned destinations/sources, as mmapped tensors can be */
        unsigned char *half = malloc(2 * len + 1), *h = half + 1;
        float *back = malloc((len ? len : 1) * sizeof *back);
        static const mv_dtype D[] = { MV_DTYPE_F16, MV_DTYPE_BF16 };
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(mv_convert_from_f32(h, D[k], src, len, &err), MV_OK);
            for (size_t i = 0; i < len; i++) {
                uint16_t got, want = D[k] == MV_DTYPE_F16 ? mv_f32_to_f16(src[i])
                                                          : mv_f32_to_bf16(src[i]);
                memcpy(&got, h + 2 * i, 2);
                ck_assert_msg(got == want, "%s i=%zu src=%08x got %04x want %04x",
                              mv_dtype_name(D[k]), i, fbits(src[i]), got, want);
            }
            ck_assert_int_eq(mv_convert_to_f32(back, h, D[k], len, &err), MV_OK);
            for (size_t i = 0; i < len; i++) {
                uint16_t v;
                memcpy(&v, h + 2 * i, 2);
                float want = D[k] == MV_DTYPE_F16 ? mv_f16_to_f32(v) : mv_bf16_to_f32(v);
                ck_assert_msg(fbits(back[i]) == fbits(want), "%s back i=%zu %04x",
                              mv_dtype_name(D[k]), i, v);
            }
        }
        free(src);
        free(half);
        free(back);
    }
}
END_TEST

START_TEST(test_bulk_f32_f64_and_errors)
{
    mv_error err;
    float src[5] = { 1.5f, -0.0f, INFINITY, 3.1415927f, ldexpf(1, -140) };
    double d[5];
    float back[5];
    ck_assert_int_eq(mv_convert_from_f32(d, MV_DTYPE_F64, src, 5, &err), MV_OK);
    ck_assert(d[0] == 1.5 && signbit(d[1]) && isinf(d[2]) && d[3] == (double)3.1415927f);
    ck_assert_int_eq(mv_convert_to_f32(back, d, MV_DTYPE_F64, 5, &err), MV_OK);
    ck_assert(memcmp(back, src, sizeof src) == 0);
    double big[3] = { 1e300, 1.0 + ldexp(1, -24), 1.0 + ldexp(3, -24) };
    ck_assert_int_eq(mv_convert_to_f32(back, big, MV_DTYPE_F64, 3, &err), MV_OK);
    ck_assert(isinf(back[0]));
    ck_assert(back[1] == 1.0f);                      /* tie -> even */
    ck_assert(back[2] == 1.0f + ldexpf(1, -22));     /* tie -> even (up) */
    ck_assert_int_eq(mv_convert_to_f32(back, src, MV_DTYPE_F32, 5, &err), MV_OK);
    ck_assert(memcmp(back, src, sizeof src) == 0);
    ck_assert_int_eq(mv_convert_to_f32(back, src, MV_DTYPE_I32, 5, &err), MV_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "I32"));
    ck_assert_int_eq(mv_convert_from_f32(d, MV_DTYPE_BOOL, src, 5, &err), MV_E_UNSUPPORTED);
    ck_assert_int_eq(mv_convert_to_f32(back, src, MV_DTYPE_F16, 0, &err), MV_OK);
}
END_TEST

/* float8: every bf16 bit pattern and 65536 LCG float32 patterns encoded, hashed, compared with
 * the encodings tests/golden/make_fp8_golden.py derives from the format definitions. */
static float *fp8_inputs(size_t *n)
{
    float *x = malloc(131072 * sizeof *x);
    uint64_t s = 1;
    for (uint32_t i = 0; i < 65536; i++) {
        uint32_t u = i << 16;
        memcpy(&x[i], &u, 4);
    }
    for (uint32_t i = 0; i < 65536; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(s >> 32);
        memcpy(&x[65536 + i], &u, 4);
    }
    *n = 131072;
    return x;
}

START_TEST(test_fp8_against_definition)
{
    size_t n;
    float *x = fp8_inputs(&n);
    unsigned char *b = malloc(n);
    char hex[65];
    mv_error err;
    ck_assert_int_eq(mv_convert_from_f32(b, MV_DTYPE_F8_E4M3, x, n, &err), MV_OK);
    mv_sha256(b, n, hex);
    ck_assert_str_eq(hex, "70d4261f45a75b898cedd4bdbf5068c33c7153dd2f3d718b78d4cecba257573c");
    ck_assert_int_eq(mv_convert_from_f32(b, MV_DTYPE_F8_E5M2, x, n, &err), MV_OK);
    mv_sha256(b, n, hex);
    ck_assert_str_eq(hex, "517909eefb0dfe0662c0cebafac4211771ade4407cb1714685a57c64a4afdfe3");
    free(b);
    free(x);
}
END_TEST

START_TEST(test_fp8_edges_and_roundtrip)
{
    /* known answers: E4M3FN max 448, 464 ties to 448, >= 480 is NaN, min subnormal 2^-9 */
    ck_assert_int_eq(mv_f32_to_f8e4m3(448.0f), 0x7e);
    ck_assert_int_eq(mv_f32_to_f8e4m3(464.0f), 0x7e);
    ck_assert_int_eq(mv_f32_to_f8e4m3(470.0f), 0x7f);
    ck_assert_int_eq(mv_f32_to_f8e4m3(-480.0f), 0xff);
    ck_assert_int_eq(mv_f32_to_f8e4m3(INFINITY), 0x7f);
    ck_assert_int_eq(mv_f32_to_f8e4m3(ldexpf(1, -9)), 0x01);
    ck_assert_int_eq(mv_f32_to_f8e4m3(ldexpf(1, -10)), 0x00);   /* tie to even (0) */
    ck_assert_int_eq(mv_f32_to_f8e4m3(-0.0f), 0x80);
    ck_assert_int_eq(mv_f32_to_f8e5m2(57344.0f), 0x7b);
    ck_assert_int_eq(mv_f32_to_f8e5m2(65536.0f), 0x7c);
    ck_assert_int_eq(mv_f32_to_f8e5m2(-INFINITY), 0xfc);
    ck_assert(isnan(mv_f8e4m3_to_f32(0x7f)) && isnan(mv_f8e4m3_to_f32(0xff)));
    ck_assert(isinf(mv_f8e5m2_to_f32(0x7c)));
    ck_assert(mv_f8e4m3_to_f32(0x7e) == 448.0f && mv_f8e4m3_to_f32(0x01) == ldexpf(1, -9));
    /* every non-NaN code decodes and re-encodes to itself */
    for (int c = 0; c < 256; c++) {
        float v = mv_f8e4m3_to_f32((uint8_t)c), w = mv_f8e5m2_to_f32((uint8_t)c);
        if (!isnan(v)) ck_assert_int_eq(mv_f32_to_f8e4m3(v), c);
        if (!isnan(w)) ck_assert_int_eq(mv_f32_to_f8e5m2(w), c);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtype");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_names_sizes);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_tensor_new);
    tcase_add_test(tc, test_f16_exhaustive);
    tcase_add_test(tc, test_f16_edges);
    tcase_add_test(tc, test_f16_against_reference);
    tcase_add_test(tc, test_bf16_exhaustive);
    tcase_add_test(tc, test_bf16_edges);
    tcase_add_test(tc, test_bulk_matches_scalar);
    tcase_add_test(tc, test_bulk_f32_f64_and_errors);
    tcase_add_test(tc, test_fp8_against_definition);
    tcase_add_test(tc, test_fp8_edges_and_roundtrip);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
