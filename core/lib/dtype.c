/* core/lib/dtype.c — dtype names and sizes, shape arithmetic (with overflow checks) and the
 * owned in-memory tensor (mv_tensor). Float conversions live in dtype_convert.c; file
 * formats live in loader plugins. */
#include <stdio.h>
#include <string.h>
#include <mergeval/tensor.h>
#include <mergeval/context.h>

typedef struct dtype_desc {
    const char *name;  /* safetensors spelling */
    size_t size;
} dtype_desc;

/* Indexed by mv_dtype. */
static const dtype_desc DTYPES[MV_DTYPE_COUNT] = {
    [MV_DTYPE_INVALID] = { "INVALID", 0 },
    [MV_DTYPE_BOOL] = { "BOOL", 1 },
    [MV_DTYPE_U8] = { "U8", 1 },
    [MV_DTYPE_I8] = { "I8", 1 },
    [MV_DTYPE_I16] = { "I16", 2 },
    [MV_DTYPE_U16] = { "U16", 2 },
    [MV_DTYPE_I32] = { "I32", 4 },
    [MV_DTYPE_U32] = { "U32", 4 },
    [MV_DTYPE_I64] = { "I64", 8 },
    [MV_DTYPE_U64] = { "U64", 8 },
    [MV_DTYPE_F8_E4M3] = { "F8_E4M3", 1 },
    [MV_DTYPE_F8_E5M2] = { "F8_E5M2", 1 },
    [MV_DTYPE_F16] = { "F16", 2 },
    [MV_DTYPE_BF16] = { "BF16", 2 },
    [MV_DTYPE_F32] = { "F32", 4 },
    [MV_DTYPE_F64] = { "F64", 8 },
};

size_t mv_dtype_size(mv_dtype d)
{
    if ((int)d <= MV_DTYPE_INVALID || (int)d >= MV_DTYPE_COUNT)
        return 0;
    return DTYPES[d].size;
}

const char *mv_dtype_name(mv_dtype d)
{
    if ((int)d <= MV_DTYPE_INVALID || (int)d >= MV_DTYPE_COUNT)
        return "INVALID";
    return DTYPES[d].name;
}

mv_dtype mv_dtype_parse(const char *name, int allow_alias)
{
    if (!name)
        return MV_DTYPE_INVALID;
    for (int d = MV_DTYPE_INVALID + 1; d < MV_DTYPE_COUNT; d++)
        if (strcmp(name, DTYPES[d].name) == 0)
            return (mv_dtype)d;
    if (allow_alias) {
        /* People write configs with torch's spellings; the file format never does. */
        static const struct { const char *alias; mv_dtype d; } ALIASES[] = {
            { "float32", MV_DTYPE_F32 }, { "fp32", MV_DTYPE_F32 },
            { "float16", MV_DTYPE_F16 }, { "fp16", MV_DTYPE_F16 }, { "half", MV_DTYPE_F16 },
            { "bfloat16", MV_DTYPE_BF16 }, { "bf16", MV_DTYPE_BF16 },
            { "float64", MV_DTYPE_F64 }, { "fp64", MV_DTYPE_F64 },
        };
        for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
            if (strcmp(name, ALIASES[i].alias) == 0)
                return ALIASES[i].d;
    }
    return MV_DTYPE_INVALID;
}

int mv_dtype_is_float_math(mv_dtype d)
{
    return d == MV_DTYPE_F16 || d == MV_DTYPE_BF16 || d == MV_DTYPE_F32 || d == MV_DTYPE_F64;
}

uint64_t mv_shape_numel(int ndim, const int64_t *shape, int *overflow)
{
    uint64_t n = 1;
    int bad = 0;
    if (ndim < 0 || (ndim > 0 && !shape))
        bad = 1;
    for (int i = 0; !bad && i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(n, (uint64_t)shape[i], &n) ||
            n > (uint64_t)INT64_MAX)
            bad = 1;
    }
    if (overflow)
        *overflow = bad;
    return bad ? 0 : n;
}

mv_status mv_tensor_info_compute_nbytes(mv_tensor_info *info, mv_error *err)
{
    const char *name = info->name ? info->name : "(unnamed)";
    if (info->ndim < 0 || info->ndim > MV_MAX_DIMS)
        return mv_errorf(err, MV_E_FORMAT, "tensor %s: %d dimensions (supported: 0 to %d)",
                         name, info->ndim, MV_MAX_DIMS);
    size_t es = mv_dtype_size(info->dtype);
    if (es == 0)
        return mv_errorf(err, MV_E_FORMAT, "tensor %s: invalid dtype", name);
    for (int i = 0; i < info->ndim; i++)
        if (info->shape[i] < 0)
            return mv_errorf(err, MV_E_FORMAT, "tensor %s: negative dimension %lld at axis %d",
                             name, (long long)info->shape[i], i);
    int of = 0;
    uint64_t numel = mv_shape_numel(info->ndim, info->shape, &of);
    uint64_t nbytes;
    if (of || __builtin_mul_overflow(numel, (uint64_t)es, &nbytes) || nbytes > (uint64_t)INT64_MAX)
        return mv_errorf(err, MV_E_FORMAT, "tensor %s: shape overflows (product of the "
                         "dimensions times %zu bytes exceeds 2^63)", name, es);
    info->nbytes = nbytes;
    return MV_OK;
}

char *mv_shape_str(int ndim, const int64_t *shape, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return buf;
    size_t used = 0;
    buf[0] = '\0';
#define MV_APPEND(...)                                                          \
    do {                                                                        \
        if (used < buflen) {                                                    \
            int k_ = snprintf(buf + used, buflen - used, __VA_ARGS__);          \
            used = k_ < 0 ? buflen : used + (size_t)k_;                         \
        }                                                                       \
    } while (0)
    MV_APPEND("[");
    for (int i = 0; i < ndim && shape; i++)
        MV_APPEND(i ? ", %lld" : "%lld", (long long)shape[i]);
    MV_APPEND("]");
#undef MV_APPEND
    buf[buflen - 1] = '\0';
    return buf;
}

mv_status mv_tensor_new(mv_tensor **out, const char *name, mv_dtype dtype, int ndim,
                        const int64_t *shape, mv_error *err)
{
    *out = NULL;
    mv_status st = MV_E_NOMEM;
    mv_tensor *t = mv_calloc(1, sizeof *t);
    if (!t)
        return mv_errorf(err, MV_E_NOMEM, "out of memory creating tensor %s", name ? name : "");
    t->name_storage = mv_strdup(name ? name : "");
    if (!t->name_storage)
        goto nomem;
    t->info.name = t->name_storage;
    t->info.dtype = dtype;
    t->info.ndim = ndim;
    if (ndim < 0 || ndim > MV_MAX_DIMS) {
        st = mv_errorf(err, MV_E_INPUT, "tensor %s: %d dimensions (supported: 0 to %d)",
                       t->name_storage, ndim, MV_MAX_DIMS);
        goto fail;
    }
    for (int i = 0; i < ndim; i++)
        t->info.shape[i] = shape[i];
    if (mv_tensor_info_compute_nbytes(&t->info, err) != MV_OK) {
        st = MV_E_INPUT; /* the caller's shape, not a file, was wrong */
        if (err)
            err->code = st;
        goto fail;
    }
    if (t->info.nbytes > SIZE_MAX - 64) {
        st = mv_errorf(err, MV_E_NOMEM, "tensor %s: %llu bytes do not fit in memory",
                       t->name_storage, (unsigned long long)t->info.nbytes);
        goto fail;
    }
    /* Always allocate at least one cache line so data is never NULL (empty tensors). */
    size_t n = t->info.nbytes ? (size_t)t->info.nbytes : 64;
    t->data = mv_aligned_alloc(n);
    if (!t->data)
        goto nomem;
    memset(t->data, 0, n);
    *out = t;
    return MV_OK;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "out of memory creating tensor %s", name ? name : "");
fail:
    mv_tensor_free(t);
    return st;
}

void mv_tensor_free(mv_tensor *t)
{
    if (!t)
        return;
    mv_free(t->data);
    mv_free(t->name_storage);
    mv_free(t);
}
