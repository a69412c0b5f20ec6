/* mergeval/tensor.h — dtypes, tensor descriptions and dtype conversion.
 * Every safetensors dtype is carried through unchanged; F32/F16/BF16 are the dtypes merge
 * math reads and writes (F64 too, converted through double). No file formats here. */
#ifndef MERGEVAL_TENSOR_H
#define MERGEVAL_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mv_dtype {
    MV_DTYPE_INVALID = 0,
    MV_DTYPE_BOOL, MV_DTYPE_U8, MV_DTYPE_I8, MV_DTYPE_I16, MV_DTYPE_U16,
    MV_DTYPE_I32, MV_DTYPE_U32, MV_DTYPE_I64, MV_DTYPE_U64,
    MV_DTYPE_F8_E4M3, MV_DTYPE_F8_E5M2,
    MV_DTYPE_F16, MV_DTYPE_BF16, MV_DTYPE_F32, MV_DTYPE_F64,
    MV_DTYPE_COUNT
} mv_dtype;

#define MV_MAX_DIMS 8

/* Description of one tensor (no data). name is owned by whoever owns the struct. */
typedef struct mv_tensor_info {
    const char *name;
    mv_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    int64_t shape[MV_MAX_DIMS];
    uint64_t nbytes;             /* product(shape) * mv_dtype_size(dtype) */
} mv_tensor_info;

/* Size in bytes of one element; 0 for MV_DTYPE_INVALID. */
size_t mv_dtype_size(mv_dtype d);
/* safetensors spelling ("F32", "BF16", "F8_E4M3", ...); "INVALID" for bad values. */
const char *mv_dtype_name(mv_dtype d);
/* Parse a safetensors spelling (case-sensitive, as the format requires); MV_DTYPE_INVALID
 * if unknown. Also accepts lower-case aliases "float32", "float16", "bfloat16" when
 * allow_alias is non-zero (for config files written by people). */
mv_dtype mv_dtype_parse(const char *name, int allow_alias);
/* Non-zero for F16, BF16, F32, F64: the dtypes merges compute on. */
int mv_dtype_is_float_math(mv_dtype d);

/* Number of elements = product of shape (1 for a scalar). Returns 0 and fails (returns
 * non-zero via *overflow) if the product overflows 2^63. */
uint64_t mv_shape_numel(int ndim, const int64_t *shape, int *overflow);
/* Fill info->nbytes from dtype and shape; MV_E_FORMAT on overflow or a negative dim. */
mv_status mv_tensor_info_compute_nbytes(mv_tensor_info *info, mv_error *err);
/* Human-readable "[4096, 4096]" into buf (always NUL-terminated). Returns buf. */
char *mv_shape_str(int ndim, const int64_t *shape, char *buf, size_t buflen);

/* Scalar conversions. Float -> half formats round to nearest, ties to even; NaN stays NaN
 * (quiet), overflow becomes ±Inf, subnormals are handled exactly. */
float mv_f16_to_f32(uint16_t h);
uint16_t mv_f32_to_f16(float f);
float mv_bf16_to_f32(uint16_t b);
uint16_t mv_f32_to_bf16(float f);

/* float8 as safetensors names them: F8_E4M3 (E4M3FN: no inf, NaN 0x7F, max 448) and
 * F8_E5M2. Encoding rounds to nearest even with PyTorch's overflow rules: E4M3FN values
 * >= 480 in magnitude, inf and NaN become NaN; E5M2 >= 65536 becomes inf. */
float mv_f8e4m3_to_f32(uint8_t b);
float mv_f8e5m2_to_f32(uint8_t b);
uint8_t mv_f32_to_f8e4m3(float f);
uint8_t mv_f32_to_f8e5m2(float f);

/* Convert n elements of a math dtype (F16/BF16/F32/F64, F8_E4M3/F8_E5M2) to F32, and back. src and dst must
 * not overlap. MV_E_UNSUPPORTED for other dtypes. Safe to call from several threads. */
mv_status mv_convert_to_f32(float *dst, const void *src, mv_dtype src_dtype, size_t n,
                            mv_error *err);
mv_status mv_convert_from_f32(void *dst, mv_dtype dst_dtype, const float *src, size_t n,
                              mv_error *err);

/* An owned, in-memory tensor: the simplest container for plugins that build tensors. */
typedef struct mv_tensor {
    mv_tensor_info info;   /* info.name points at name_storage */
    void *data;            /* info.nbytes bytes, 64-byte aligned, owned */
    char *name_storage;
} mv_tensor;

/* Allocate a zero-filled tensor. Free with mv_tensor_free. */
mv_status mv_tensor_new(mv_tensor **out, const char *name, mv_dtype dtype, int ndim,
                        const int64_t *shape, mv_error *err);
void mv_tensor_free(mv_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
