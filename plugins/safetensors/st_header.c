/* plugins/safetensors/st_header.c — strict validation of one safetensors file's header
 * against its size (the rules of the reference implementation, plus duplicate names and
 * NUL bytes), and a small JSON text buffer used by the writer. No I/O here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "st_internal.h"

/* ------------------------------------------------------------------ text buffer */
int st_buf_put(st_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = mv_realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int st_buf_printf(st_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp)
        return -1; /* only used for numbers and short fragments */
    return st_buf_put(b, tmp, (size_t)k);
}

int st_buf_json_string(st_buf *b, const char *s)
{
    if (st_buf_put(b, "\"", 1))
        return -1;
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        const char *e = NULL;
        switch (*p) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                e = esc;
            }
        }
        if (e) {
            if (st_buf_put(b, run, (size_t)((const char *)p - run)) || st_buf_put(b, e, strlen(e)))
                return -1;
            run = (const char *)p + 1;
        }
    }
    if (st_buf_put(b, run, strlen(run)))
        return -1;
    return st_buf_put(b, "\"", 1);
}

/* ------------------------------------------------------------------ validation */
void st_header_free(st_header *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        mv_free(h->entries[i].name);
    mv_free(h->entries);
    for (size_t i = 0; i < h->n_meta; i++) {
        mv_free(h->meta_keys[i]);
        mv_free(h->meta_values[i]);
    }
    mv_free(h->meta_keys);
    mv_free(h->meta_values);
    memset(h, 0, sizeof *h);
}

static uint64_t read_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Offset of the first invalid UTF-8 sequence (or NUL byte), or len if all valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; }
        else return i;
        if (i + k >= len)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        /* overlong, surrogate or out of range */
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return i;
        i += k + 1;
    }
    return len;
}

/* A JSON number that is an exact non-negative integer below 2^53 (beyond that a double no
 * longer holds every integer, so the offset could not be trusted). */
static int json_u53(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d >= 9007199254740992.0 || floor(d) != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "object";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    return "invalid";
}

static int cmp_name(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static const char KNOWN_DTYPES[] =
    "BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F8_E4M3, F8_E5M2, F16, BF16, F32, F64";

/* Parse one tensor entry (value v of key name). */
static mv_status parse_entry(const char *file, const char *name, const cJSON *v, st_entry *e,
                             uint64_t data_len, mv_error *err)
{
    char sbuf[160];
    if (!cJSON_IsObject(v))
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: entry must be an object with "
                         "dtype, shape and data_offsets, got %s", file, name, json_type_name(v));
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(v, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(v, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(v, "data_offsets");
    if (!cJSON_IsString(jd))
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: \"dtype\" %s", file, name,
                         jd ? "must be a string" : "is missing");
    e->dtype = mv_dtype_parse(jd->valuestring, 0);
    if (e->dtype == MV_DTYPE_INVALID)
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: unknown dtype \"%.40s\" "
                         "(known: %s)", file, name, jd->valuestring, KNOWN_DTYPES);
    if (!cJSON_IsArray(js))
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: \"shape\" %s", file, name,
                         js ? "must be an array of non-negative integers" : "is missing");
    int nd = cJSON_GetArraySize(js);
    if (nd > MV_MAX_DIMS)
        return mv_errorf(err, MV_E_UNSUPPORTED, "file %s: tensor %s: %d dimensions; mergeval "
                         "supports at most %d", file, name, nd, MV_MAX_DIMS);
    e->ndim = nd;
    int d = 0;
    for (const cJSON *it = js->child; it; it = it->next, d++) {
        uint64_t dim;
        if (cJSON_IsNumber(it) && it->valuedouble < 0)
            return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: shape[%d] is negative (%g)",
                             file, name, d, it->valuedouble);
        if (!json_u53(it, &dim))
            return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: shape[%d] must be a "
                             "non-negative integer below 2^53", file, name, d);
        e->shape[d] = (int64_t)dim;
    }
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: \"data_offsets\" %s", file,
                         name, jo ? "must be an array [begin, end] of two integers" : "is missing");
    for (int k = 0; k < 2; k++) {
        const cJSON *it = cJSON_GetArrayItem(jo, k);
        uint64_t off;
        if (cJSON_IsNumber(it) && it->valuedouble < 0)
            return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets[%d] is "
                             "negative (%g)", file, name, k, it->valuedouble);
        if (!json_u53(it, &off))
            return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets[%d] is not "
                             "a valid byte offset (must be an integer in [0, 2^53))", file,
                             name, k);
        if (k == 0)
            e->begin = off;
        else
            e->end = off;
    }
    if (e->end < e->begin)
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets end %llu is "
                         "before begin %llu", file, name, (unsigned long long)e->end,
                         (unsigned long long)e->begin);
    if (e->end > data_len)
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets [%llu, %llu] "
                         "out of bounds: the data buffer has %llu bytes (file truncated?)",
                         file, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                         (unsigned long long)data_len);
    mv_tensor_info ti = { .name = name, .dtype = e->dtype, .ndim = e->ndim };
    memcpy(ti.shape, e->shape, sizeof ti.shape);
    mv_error sub;
    if (mv_tensor_info_compute_nbytes(&ti, &sub) != MV_OK)
        return mv_errorf(err, MV_E_FORMAT, "file %s: %s", file, sub.msg);
    if (ti.nbytes != e->end - e->begin)
        return mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets [%llu, %llu] "
                         "span %llu bytes but shape %s of %s needs %llu (shape x dtype "
                         "mismatch)", file, name, (unsigned long long)e->begin,
                         (unsigned long long)e->end,
                         (unsigned long long)(e->end - e->begin),
                         mv_shape_str(e->ndim, e->shape, sbuf, sizeof sbuf),
                         mv_dtype_name(e->dtype), (unsigned long long)ti.nbytes);
    return MV_OK;
}

static mv_status parse_metadata(const char *file, const cJSON *v, st_header *h, mv_error *err)
{
    if (!cJSON_IsObject(v))
        return mv_errorf(err, MV_E_FORMAT, "file %s: __metadata__ must be an object of "
                         "string values, got %s", file, json_type_name(v));
    size_t n = 0;
    for (const cJSON *it = v->child; it; it = it->next)
        n++;
    h->meta_keys = mv_calloc(n ? n : 1, sizeof(char *));
    h->meta_values = mv_calloc(n ? n : 1, sizeof(char *));
    if (!h->meta_keys || !h->meta_values)
        return mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", file);
    for (const cJSON *it = v->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return mv_errorf(err, MV_E_FORMAT, "file %s: __metadata__.%s: value must be a "
                             "string, got %s (metadata is string to string only)", file,
                             it->string, json_type_name(it));
        for (size_t i = 0; i < h->n_meta; i++)
            if (strcmp(h->meta_keys[i], it->string) == 0)
                return mv_errorf(err, MV_E_FORMAT, "file %s: __metadata__: duplicate key "
                                 "\"%s\"", file, it->string);
        h->meta_keys[h->n_meta] = mv_strdup(it->string);
        h->meta_values[h->n_meta] = mv_strdup(it->valuestring);
        h->n_meta++;
        if (!h->meta_keys[h->n_meta - 1] || !h->meta_values[h->n_meta - 1])
            return mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", file);
    }
    return MV_OK;
}

mv_status st_parse(const char *file, const unsigned char *buf, uint64_t size, st_header *out,
                   mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *root = NULL;
    st_entry **by_name = NULL;
    memset(out, 0, sizeof *out);

    if (size < 8)
        return mv_errorf(err, MV_E_FORMAT, "file %s: truncated: %llu bytes, but a safetensors "
                         "file starts with an 8-byte header length", file,
                         (unsigned long long)size);
    uint64_t n = read_le64(buf);
    if (n > ST_MAX_HEADER)
        return mv_errorf(err, MV_E_FORMAT, "file %s: header length %llu exceeds the cap of "
                         "%llu bytes (not a safetensors file, or corrupted)", file,
                         (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
    if (n > size - 8)
        return mv_errorf(err, MV_E_FORMAT, "file %s: header length %llu is larger than the "
                         "file (%llu bytes after the length): truncated or not safetensors",
                         file, (unsigned long long)n, (unsigned long long)(size - 8));
    const char *hdr = (const char *)buf + 8;
    size_t bad = utf8_invalid_at((const unsigned char *)hdr, (size_t)n);
    if (bad < n)
        return mv_errorf(err, MV_E_FORMAT, "file %s: header is not valid UTF-8 text (byte %zu "
                         "of the header%s)", file, bad, hdr[bad] ? "" : " is NUL");
    if (n == 0 || hdr[0] != '{')
        return mv_errorf(err, MV_E_FORMAT, "file %s: header is not a JSON object (it must "
                         "start with '{')", file);
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr ? (size_t)(end - hdr) : 0;
        st = mv_errorf(err, MV_E_FORMAT, "file %s: header is not valid JSON (error near byte "
                       "%zu of the header)", file, at);
        goto fail;
    }
    /* Only whitespace (the writer's padding) may follow the JSON object. */
    for (const char *p = end; p < hdr + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            st = mv_errorf(err, MV_E_FORMAT, "file %s: header has trailing characters after "
                           "the JSON object (byte %zu of the header)", file, (size_t)(p - hdr));
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_FORMAT, "file %s: header is not a JSON object (got %s)", file,
                       json_type_name(root));
        goto fail;
    }
    out->header_len = n;
    out->data_len = size - 8 - n;

    size_t count = 0;
    for (cJSON *it = root->child; it; it = it->next)
        count++;
    out->entries = mv_calloc(count ? count : 1, sizeof(st_entry));
    if (!out->entries) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", file);
        goto fail;
    }
    int seen_meta = 0;
    for (cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (seen_meta++) {
                st = mv_errorf(err, MV_E_FORMAT, "file %s: __metadata__ appears twice", file);
                goto fail;
            }
            if ((st = parse_metadata(file, it, out, err)) != MV_OK)
                goto fail;
            continue;
        }
        st_entry *e = &out->entries[out->n];
        if ((st = parse_entry(file, it->string, it, e, out->data_len, err)) != MV_OK)
            goto fail;
        e->name = mv_strdup(it->string);
        if (!e->name) {
            st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", file);
            goto fail;
        }
        out->n++;
    }

    /* Duplicate names: JSON allows them syntactically, a checkpoint cannot. */
    by_name = mv_calloc(out->n ? out->n : 1, sizeof *by_name);
    if (!by_name) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", file);
        goto fail;
    }
    for (size_t i = 0; i < out->n; i++)
        by_name[i] = &out->entries[i];
    qsort(by_name, out->n, sizeof *by_name, cmp_name);
    for (size_t i = 1; i < out->n; i++)
        if (strcmp(by_name[i - 1]->name, by_name[i]->name) == 0) {
            st = mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: duplicate tensor name in "
                           "the header", file, by_name[i]->name);
            goto fail;
        }

    /* The data buffer must be tiled exactly: sorted by offset, each tensor starts where the
     * previous one ended, the first at 0 and the last ends at the end of the file. */
    qsort(out->entries, out->n, sizeof *out->entries, cmp_offset);
    uint64_t pos = 0;
    for (size_t i = 0; i < out->n; i++) {
        const st_entry *e = &out->entries[i];
        if (e->begin < pos) {
            st = mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: data_offsets [%llu, %llu] "
                           "overlap tensor %s (which ends at %llu)", file, e->name,
                           (unsigned long long)e->begin, (unsigned long long)e->end,
                           out->entries[i - 1].name, (unsigned long long)pos);
            goto fail;
        }
        if (e->begin > pos) {
            st = mv_errorf(err, MV_E_FORMAT, "file %s: tensor %s: gap of %llu bytes before it "
                           "(data_offsets begin %llu, previous tensor ends at %llu): the data "
                           "must be contiguous", file, e->name,
                           (unsigned long long)(e->begin - pos), (unsigned long long)e->begin,
                           (unsigned long long)pos);
            goto fail;
        }
        pos = e->end;
    }
    if (pos != out->data_len) {
        st = mv_errorf(err, MV_E_FORMAT, "file %s: %llu trailing bytes after the last tensor "
                       "(the data buffer has %llu bytes, tensors cover %llu): the buffer must "
                       "be fully covered", file, (unsigned long long)(out->data_len - pos),
                       (unsigned long long)out->data_len, (unsigned long long)pos);
        goto fail;
    }
    mv_free(by_name);
    cJSON_Delete(root);
    return MV_OK;
fail:
    mv_free(by_name);
    cJSON_Delete(root);
    st_header_free(out);
    return st;
}
