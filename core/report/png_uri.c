/* core/report/png_uri.c — RGB pixels to a "data:image/png;base64,..." URI for thumbnails
 * inlined in report.html (stb_image_write; its implementation comes from -lstb). */
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>
#include "mv_report.h"

typedef struct buf { unsigned char *p; size_t n, cap; } buf;

static void png_sink(void *ctx, void *data, int size)
{
    buf *b = ctx;
    if (b->n + (size_t)size > b->cap) {
        size_t cap = (b->n + (size_t)size) * 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) return;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

char *mv_png_data_uri(const unsigned char *rgb, int w, int h, int scale)
{
    if (!rgb || w <= 0 || h <= 0) return NULL;
    if (scale < 1) scale = 1;
    int W = w * scale, H = h * scale;
    unsigned char *big = malloc((size_t)W * H * 3);
    if (!big) return NULL;
    /* Nearest-neighbour upscale: tiny images stay crisp in the page. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(big + ((size_t)y * W + x) * 3, rgb + ((size_t)(y / scale) * w + x / scale) * 3, 3);
    buf b = { 0 };
    int ok = stbi_write_png_to_func(png_sink, &b, W, H, 3, big, W * 3);
    free(big);
    if (!ok || !b.n) { free(b.p); return NULL; }
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *prefix = "data:image/png;base64,";
    size_t plen = strlen(prefix), olen = plen + 4 * ((b.n + 2) / 3) + 1;
    char *out = mv_malloc(olen);
    if (!out) { free(b.p); return NULL; }
    memcpy(out, prefix, plen);
    char *o = out + plen;
    for (size_t i = 0; i < b.n; i += 3) {
        unsigned v = (unsigned)b.p[i] << 16;
        if (i + 1 < b.n) v |= (unsigned)b.p[i + 1] << 8;
        if (i + 2 < b.n) v |= b.p[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < b.n ? tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < b.n ? tab[v & 63] : '=';
    }
    *o = 0;
    free(b.p);
    return out;
}
