/* core/lib/dtype_fp8.c — float8 <-> float32 as safetensors' F8_E4M3 (OCP E4M3FN: no
 * infinities, 0x7F/0xFF NaN, max 448) and F8_E5M2 (IEEE-like, with inf). Encoding rounds to
 * nearest, ties to even, with PyTorch's overflow rules (c10 Float8_e4m3fn.h /
 * Float8_e5m2.h): E4M3FN |x| >= 480 (and inf, NaN) -> NaN; E5M2 |x| >= 65536 -> inf, NaN -> NaN. */
#include <string.h>
#include <mergeval/tensor.h>

static inline uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float mv_f8e4m3_to_f32(uint8_t b)
{
    uint32_t sign = (uint32_t)(b & 0x80) << 24, e = (b >> 3) & 0xf, m = b & 7;
    if ((b & 0x7f) == 0x7f) return float_of(sign | 0x7fc00000u);
    if (e == 0) {   /* subnormal: m/8 * 2^-6 */
        float v = (float)m * (1.0f / 512.0f);
        return sign ? -v : v;
    }
    return float_of(sign | ((e + 120) << 23) | (m << 20));
}

float mv_f8e5m2_to_f32(uint8_t b)
{
    return mv_f16_to_f32((uint16_t)((uint16_t)b << 8));   /* E5M2 is the top byte of IEEE half */
}

uint8_t mv_f32_to_f8e4m3(float f)
{
    uint32_t u = bits_of(f), sign = u & 0x80000000u, a = u ^ sign;
    uint8_t r;
    if (a >= (1087u << 20)) {            /* >= 480, inf, NaN */
        r = 0x7f;
    } else if (a < (121u << 23)) {       /* below 2^-6: the float adder rounds into the subnormals */
        r = (uint8_t)(bits_of(float_of(a) + float_of(141u << 23)) - (141u << 23));
    } else {
        uint32_t odd = (a >> 20) & 1;
        a += ((uint32_t)(7 - 127) << 23) + 0x7ffff + odd;
        r = (uint8_t)(a >> 20);
    }
    return (uint8_t)(r | (sign >> 24));
}

uint8_t mv_f32_to_f8e5m2(float f)
{
    uint32_t u = bits_of(f), sign = u & 0x80000000u, a = u ^ sign;
    uint8_t r;
    if (a >= (143u << 23)) {             /* >= 65536: inf, NaN stays NaN */
        r = a > (255u << 23) ? 0x7f : 0x7c;
    } else if (a < (113u << 23)) {       /* below 2^-14: subnormals */
        r = (uint8_t)(bits_of(float_of(a) + float_of(134u << 23)) - (134u << 23));
    } else {
        uint32_t odd = (a >> 21) & 1;
        a += ((uint32_t)(15 - 127) << 23) + 0xfffff + odd;
        r = (uint8_t)(a >> 21);
    }
    return (uint8_t)(r | (sign >> 24));
}
