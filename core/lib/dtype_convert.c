/* core/lib/dtype_convert.c — F16/BF16/F64 <-> F32 conversions, scalar and bulk. Rounding is
 * to nearest, ties to even, done with integer arithmetic so the FPU rounding mode and
 * FTZ/DAZ flags cannot change results. Bulk loops use F16C/AVX2 when the CPU has them (the
 * scalar functions are the reference they are tested against). Other dtypes: not here. */
#include <string.h>
#include <mergeval/tensor.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define MV_X86 1
#endif

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ------------------------------------------------------------------ scalar */
float mv_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0)
            return bits_f32(sign);
        /* Subnormal: value = mant * 2^-24; shift the leading one up to the implicit bit. */
        uint32_t e = 113;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        return bits_f32(sign | (e << 23) | ((mant & 0x3ffu) << 13));
    }
    if (exp == 31) /* Inf, or NaN made quiet with its payload kept (as F16C does) */
        return bits_f32(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0));
    return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t mv_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet, top payload bits kept (as F16C does) */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x47800000u) /* >= 65536 (or Inf): Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {
        /* Below 2^-14: an f16 subnormal (or zero). value = m * 2^(e-150); the f16 unit is
         * 2^-24, so the result is m >> (126 - e), rounded to nearest even. */
        uint32_t e = ax >> 23;
        if (e < 102) /* < 2^-25: rounds to zero (2^-25 exactly would tie to 0 too) */
            return (uint16_t)sign;
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (uint16_t)(sign | r); /* r == 0x400 is the smallest normal, bits agree */
    }
    /* Normal: rebias, round the 13 dropped bits to nearest even; a carry into the exponent
     * (including up to Inf for [65520, 65536)) is exactly right. */
    uint32_t odd = (ax >> 13) & 1u;
    ax += ((uint32_t)(15 - 127) << 23) + 0xfffu + odd;
    return (uint16_t)(sign | (ax >> 13));
}

float mv_bf16_to_f32(uint16_t b)
{
    return bits_f32((uint32_t)b << 16);
}

uint16_t mv_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u); /* NaN stays NaN, made quiet */
    x += 0x7fffu + ((x >> 16) & 1u);          /* overflow carries into Inf: correct */
    return (uint16_t)(x >> 16);
}

/* ------------------------------------------------------------------ portable bulk loops */
/* Sources may be unaligned (mmap'd tensors follow a header of any length): load with memcpy. */
static void f16_to_f32_scalar(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = mv_f16_to_f32(h);
    }
}

static void f32_to_f16_scalar(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h = mv_f32_to_f16(src[i]);
        memcpy(dst + 2 * i, &h, 2);
    }
}

static void bf16_to_f32_scalar(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = mv_bf16_to_f32(h);
    }
}

static void f32_to_bf16_scalar(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h = mv_f32_to_bf16(src[i]);
        memcpy(dst + 2 * i, &h, 2);
    }
}

/* ------------------------------------------------------------------ x86 SIMD bulk loops */
#ifdef MV_X86
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(float *dst,
                                                                 const unsigned char *src,
                                                                 size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    f16_to_f32_scalar(dst + i, src + 2 * i, n - i);
}

__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(unsigned char *dst,
                                                                 const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + 2 * i), h);
    }
    f32_to_f16_scalar(dst + 2 * i, src + i, n - i);
}

__attribute__((target("avx2"))) static void bf16_to_f32_avx2(float *dst,
                                                             const unsigned char *src,
                                                             size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_si256((__m256i *)(dst + i), w);
    }
    bf16_to_f32_scalar(dst + i, src + 2 * i, n - i);
}

__attribute__((target("avx2"))) static inline __m256i bf16_round8(__m256 v)
{
    __m256i x = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb);
    r = _mm256_srli_epi32(r, 16);
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    return _mm256_blendv_epi8(r, q, _mm256_castps_si256(nan));
}

__attribute__((target("avx2"))) static void f32_to_bf16_avx2(unsigned char *dst,
                                                             const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = bf16_round8(_mm256_loadu_ps(src + i));
        __m256i b = bf16_round8(_mm256_loadu_ps(src + i + 8));
        /* packus works per 128-bit lane: a0 b0 a1 b1 -> reorder to a0 a1 b0 b1. Values are
         * <= 0xffff so unsigned saturation never triggers. */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        _mm256_storeu_si256((__m256i *)(dst + 2 * i), p);
    }
    f32_to_bf16_scalar(dst + 2 * i, src + i, n - i);
}

static int cpu_has(int feature)
{
    /* 0 = f16c+avx, 1 = avx2; cached after the first call (threads racing on the first
     * call compute and store the same value). */
    static int cached[2] = { -1, -1 };
    int v = __atomic_load_n(&cached[feature], __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        /* F16C straight from CPUID: clang (14) has no "f16c" for __builtin_cpu_supports. */
        unsigned a, b, c, d;
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
        v = feature == 0 ? (__builtin_cpu_supports("avx") && f16c)
                         : __builtin_cpu_supports("avx2") != 0;
        __atomic_store_n(&cached[feature], v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

/* ------------------------------------------------------------------ public bulk API */
mv_status mv_convert_to_f32(float *dst, const void *src, mv_dtype src_dtype, size_t n,
                            mv_error *err)
{
    const unsigned char *s = src;
    switch (src_dtype) {
    case MV_DTYPE_F32:
        if (n)
            memcpy(dst, src, n * sizeof(float));
        return MV_OK;
    case MV_DTYPE_F16:
#ifdef MV_X86
        if (cpu_has(0)) {
            f16_to_f32_f16c(dst, s, n);
            return MV_OK;
        }
#endif
        f16_to_f32_scalar(dst, s, n);
        return MV_OK;
    case MV_DTYPE_BF16:
#ifdef MV_X86
        if (cpu_has(1)) {
            bf16_to_f32_avx2(dst, s, n);
            return MV_OK;
        }
#endif
        bf16_to_f32_scalar(dst, s, n);
        return MV_OK;
    case MV_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d; /* IEEE conversion: round to nearest even */
        }
        return MV_OK;
    case MV_DTYPE_F8_E4M3:
        for (size_t i = 0; i < n; i++) dst[i] = mv_f8e4m3_to_f32(s[i]);
        return MV_OK;
    case MV_DTYPE_F8_E5M2:
        for (size_t i = 0; i < n; i++) dst[i] = mv_f8e5m2_to_f32(s[i]);
        return MV_OK;
    default:
        return mv_errorf(err, MV_E_UNSUPPORTED,
                         "cannot convert dtype %s to F32 (only F16, BF16, F32, F64, F8_E4M3, F8_E5M2)",
                         mv_dtype_name(src_dtype));
    }
}

mv_status mv_convert_from_f32(void *dst, mv_dtype dst_dtype, const float *src, size_t n,
                              mv_error *err)
{
    unsigned char *d = dst;
    switch (dst_dtype) {
    case MV_DTYPE_F32:
        if (n)
            memcpy(dst, src, n * sizeof(float));
        return MV_OK;
    case MV_DTYPE_F16:
#ifdef MV_X86
        if (cpu_has(0)) {
            f32_to_f16_f16c(d, src, n);
            return MV_OK;
        }
#endif
        f32_to_f16_scalar(d, src, n);
        return MV_OK;
    case MV_DTYPE_BF16:
#ifdef MV_X86
        if (cpu_has(1)) {
            f32_to_bf16_avx2(d, src, n);
            return MV_OK;
        }
#endif
        f32_to_bf16_scalar(d, src, n);
        return MV_OK;
    case MV_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double v = src[i];
            memcpy(d + 8 * i, &v, 8);
        }
        return MV_OK;
    case MV_DTYPE_F8_E4M3:
        for (size_t i = 0; i < n; i++) d[i] = mv_f32_to_f8e4m3(src[i]);
        return MV_OK;
    case MV_DTYPE_F8_E5M2:
        for (size_t i = 0; i < n; i++) d[i] = mv_f32_to_f8e5m2(src[i]);
        return MV_OK;
    default:
        return mv_errorf(err, MV_E_UNSUPPORTED,
                         "cannot convert F32 to dtype %s (only F16, BF16, F32, F64, F8_E4M3, F8_E5M2)",
                         mv_dtype_name(dst_dtype));
    }
}
