/* core/lib/dataset.c — opening datasets through the registry (an MV_LOADS_DATASET loader
 * chosen by name or by highest probe, its parameters validated here) and the image
 * preprocessing every vision model shares (mv_image_to_tensor). File formats are plugins'. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

static const mv_loader_vtable *dataset_loader(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_LOADER || !c->vtable) return NULL;
    const mv_loader_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_loader_vtable, open_dataset) + sizeof vt->open_dataset) return NULL;
    if (vt->target != MV_LOADS_DATASET || !vt->open_dataset) return NULL;
    return vt;
}

mv_status mv_dataset_open(mv_context *ctx, const char *path, const char *format,
                          const char *params_json, mv_dataset **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    const mv_component *best = NULL;
    mv_params *params = NULL;
    mv_status st;
    *out = NULL;
    if (!path || !*path) return mv_errorf(err, MV_E_INPUT, "dataset path is empty");
    if (!mv_path_exists(path))
        return mv_errorf(err, MV_E_NOT_FOUND, "dataset %s: no such file or directory", path);
    if (!reg)
        return mv_errorf(err, MV_E_NOT_FOUND, "dataset %s: no plugin registry to find a dataset "
                         "loader", path);
    if (format && *format) {
        best = mv_registry_find(reg, MV_KIND_LOADER, format);
        if (!dataset_loader(best)) {
            /* list the dataset loaders that do exist */
            char names[512] = "";
            for (size_t i = 0; i < mv_registry_count(reg); i++) {
                const mv_component *c = mv_registry_get(reg, i);
                if (!dataset_loader(c)) continue;
                size_t l = strlen(names);
                snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", c->name);
            }
            return mv_errorf(err, MV_E_NOT_FOUND, "dataset %s: no dataset loader named \"%s\" "
                             "(available: %s)", path, format, *names ? names : "none loaded");
        }
    } else {
        int best_score = 0;
        for (size_t i = 0; i < mv_registry_count(reg); i++) {
            const mv_component *c = mv_registry_get(reg, i);
            const mv_loader_vtable *vt = dataset_loader(c);
            if (!vt || !vt->probe) continue;
            int s = vt->probe(path);
            if (s > best_score) { best_score = s; best = c; }
        }
        if (!best)
            return mv_errorf(err, MV_E_NOT_FOUND, "dataset %s: no dataset loader recognises it; "
                             "name one (e.g. loader \"imagetext\" for image-text JSONL or "
                             "MiniCPM-V JSON, \"text\" for JSONL/plain text)", path);
    }
    st = mv_params_parse(&params, best->params, params_json, "$.params", err);
    if (st != MV_OK) {
        mv_error_prefix(err, "dataset %s (loader %s)", path, best->name);
        return st;
    }
    mv_dataset *ds = NULL;
    st = dataset_loader(best)->open_dataset(ctx, path, params, &ds, err);
    mv_params_free(params);
    if (st != MV_OK) return st;
    if (!ds) return mv_errorf(err, MV_E_RUNTIME, "dataset %s: loader %s returned no dataset",
                              path, best->name);
    if (!ds->format) ds->format = best->name;
    *out = ds;
    return MV_OK;
}

mv_status mv_dataset_get(mv_dataset *ds, size_t i, mv_item *out, mv_error *err)
{
    if (i >= ds->n_items)
        return mv_errorf(err, MV_E_INPUT, "dataset %s: item index %zu out of range (%zu items)",
                         ds->path ? ds->path : "?", i, ds->n_items);
    memset(out, 0, sizeof *out);  /* fields a loader does not know (image_path) stay NULL */
    return ds->ops->get(ds, i, out, err);
}

void mv_dataset_close(mv_dataset *ds)
{
    if (ds && ds->ops && ds->ops->close) ds->ops->close(ds);
}

/* ------------------------------------------------------------------ resizing */

/* One output sample along an axis: taps [first, first+n) with weights summing to 1. */
typedef struct tap_set {
    int first, n;
    float w[64];
} tap_set;

/* Area filter when shrinking (each output pixel averages the input pixels it covers,
 * partial pixels weighted by coverage) and bilinear with half-pixel centres when enlarging
 * (what PIL/torchvision do), so both directions are alias-free and deterministic. */
static void axis_taps(int in, int out, tap_set *t)
{
    double scale = (double)in / out;
    for (int o = 0; o < out; o++) {
        tap_set *s = &t[o];
        if (in > out) {
            double a = o * scale, b = (o + 1) * scale;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > in) i1 = in;
            if (i1 - i0 > 64) i1 = i0 + 64; /* scale > 63: caller pre-shrinks */
            s->first = i0;
            s->n = i1 - i0;
            double sum = 0;
            for (int i = i0; i < i1; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                s->w[i - i0] = (float)(hi - lo);
                sum += hi - lo;
            }
            for (int k = 0; k < s->n; k++) s->w[k] = (float)(s->w[k] / sum);
        } else {
            double x = (o + 0.5) * scale - 0.5;
            if (x < 0) x = 0;
            int i0 = (int)floor(x);
            if (i0 > in - 1) i0 = in - 1;
            double f = x - i0;
            s->first = i0;
            if (i0 + 1 < in && f > 0) {
                s->n = 2;
                s->w[0] = (float)(1 - f);
                s->w[1] = (float)f;
            } else {
                s->n = 1;
                s->w[0] = 1;
            }
        }
    }
}

/* Halve by 2x2 box averaging until the reduction factor fits the tap window. Returns a
 * malloc'd float image (h × w × 3). */
static float *to_float(const mv_image *img, int *w, int *h)
{
    int W = img->width, H = img->height;
    float *f = malloc((size_t)W * H * 3 * sizeof(float));
    if (!f) return NULL;
    for (size_t i = 0; i < (size_t)W * H * 3; i++) f[i] = img->rgb[i];
    *w = W;
    *h = H;
    return f;
}

static float *halve(float *src, int *w, int *h)
{
    int W = *w, H = *h, w2 = W / 2 > 0 ? W / 2 : 1, h2 = H / 2 > 0 ? H / 2 : 1;
    float *d = malloc((size_t)w2 * h2 * 3 * sizeof(float));
    if (!d) return NULL;
    for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++)
            for (int c = 0; c < 3; c++) {
                int y0 = 2 * y < H ? 2 * y : H - 1, y1 = 2 * y + 1 < H ? 2 * y + 1 : y0;
                int x0 = 2 * x < W ? 2 * x : W - 1, x1 = 2 * x + 1 < W ? 2 * x + 1 : x0;
                d[((size_t)y * w2 + x) * 3 + c] =
                    0.25f * (src[((size_t)y0 * W + x0) * 3 + c] + src[((size_t)y0 * W + x1) * 3 + c] +
                             src[((size_t)y1 * W + x0) * 3 + c] + src[((size_t)y1 * W + x1) * 3 + c]);
            }
    free(src);
    *w = w2;
    *h = h2;
    return d;
}

/* Horizontal pass (rows × W × 3 → rows × size × 3) from bytes or floats. */
#define HPASS(SRC)                                                                           \
    for (int y = 0; y < H; y++)                                                              \
        for (int o = 0; o < size; o++) {                                                     \
            const tap_set *t = &tx[o];                                                       \
            float acc0 = 0, acc1 = 0, acc2 = 0;                                              \
            for (int k = 0; k < t->n; k++) {                                                 \
                size_t at = ((size_t)y * W + t->first + k) * 3;                              \
                acc0 += t->w[k] * SRC[at];                                                   \
                acc1 += t->w[k] * SRC[at + 1];                                               \
                acc2 += t->w[k] * SRC[at + 2];                                               \
            }                                                                                \
            float *q = &tmp[((size_t)y * size + o) * 3];                                     \
            q[0] = acc0; q[1] = acc1; q[2] = acc2;                                           \
        }

void mv_image_to_tensor(const mv_image *img, int size, const float mean[3], const float std[3],
                        float *dst)
{
    int W = img->width, H = img->height;
    float *src = NULL;
    tap_set *tx = malloc((size_t)size * sizeof *tx), *ty = malloc((size_t)size * sizeof *ty);
    float *tmp = NULL;
    if (!tx || !ty) goto fallback;
    /* extreme reductions: halve first (in floats) so the area filter's taps stay bounded */
    if (W > 60 * size || H > 60 * size) {
        if (!(src = to_float(img, &W, &H))) goto fallback;
        while (W > 60 * size || H > 60 * size) {
            float *s2 = halve(src, &W, &H);
            if (!s2) { src = NULL; goto fallback; }
            src = s2;
        }
    }
    axis_taps(W, size, tx);
    axis_taps(H, size, ty);
    tmp = malloc((size_t)H * size * 3 * sizeof(float));
    if (!tmp) goto fallback;
    if (src) { HPASS(src) }
    else { const uint8_t *px = img->rgb; HPASS(px) }
    /* vertical pass + normalisation, written channel-major */
    size_t plane = (size_t)size * size;
    float scale[3], shift[3];
    for (int c = 0; c < 3; c++) {
        scale[c] = 1.0f / (255.0f * std[c]);
        shift[c] = mean[c] / std[c];
    }
    for (int o = 0; o < size; o++) {
        const tap_set *t = &ty[o];
        for (int x = 0; x < size; x++) {
            float acc[3] = {0, 0, 0};
            for (int k = 0; k < t->n; k++) {
                const float *p = &tmp[((size_t)(t->first + k) * size + x) * 3];
                acc[0] += t->w[k] * p[0];
                acc[1] += t->w[k] * p[1];
                acc[2] += t->w[k] * p[2];
            }
            for (int c = 0; c < 3; c++)
                dst[c * plane + (size_t)o * size + x] = acc[c] * scale[c] - shift[c];
        }
    }
    free(src); free(tx); free(ty); free(tmp);
    return;
fallback:
    /* out of memory: nearest neighbour straight from the source (no allocation) */
    free(src); free(tx); free(ty); free(tmp);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            int sy = (int)((y + 0.5) * img->height / size), sx = (int)((x + 0.5) * img->width / size);
            const uint8_t *p = &img->rgb[((size_t)sy * img->width + sx) * 3];
            for (int c = 0; c < 3; c++)
                dst[(size_t)c * size * size + (size_t)y * size + x] = (p[c] / 255.0f - mean[c]) / std[c];
        }
}
