/* plugins/datasets/image_header.c — image headers read before any decoding, so that size
 * and frame limits are enforced in microseconds on the raw bytes: a 16000x16000 PNG or a
 * 70-byte GIF claiming a 65535x65535 screen is refused before a decoder allocates. Pure
 * bounds-checked byte walking; no allocation. */
#include <string.h>
#include "image_codecs.h"

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le32(const uint8_t *p) { return le16(p + 2) << 16 | le16(p); }

const char *ds_image_format_name(ds_image_format f)
{
    switch (f) {
    case DS_IMG_PNG: return "PNG";
    case DS_IMG_JPEG: return "JPEG";
    case DS_IMG_GIF: return "GIF";
    case DS_IMG_BMP: return "BMP";
    case DS_IMG_TGA: return "TGA";
    }
    return "?";
}

static mv_status bad(mv_error *err, const char *fmt, const char *what)
{
    return mv_errorf(err, MV_E_FORMAT, "%s header %s", fmt, what);
}

/* PNG: IHDR must come first; an acTL chunk before the first IDAT makes it an APNG. */
static mv_status png_header(const uint8_t *d, size_t n, ds_image_header *h, mv_error *err)
{
    if (n < 33 || be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
        return bad(err, "PNG", "truncated or without IHDR");
    h->width = be32(d + 16);
    h->height = be32(d + 20);
    h->frames = 1;
    size_t off = 33;   /* after IHDR's CRC */
    while (off + 12 <= n) {
        uint32_t clen = be32(d + off);
        const uint8_t *type = d + off + 4;
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0) break;
        if (memcmp(type, "acTL", 4) == 0 && clen >= 8 && off + 16 <= n) {
            h->frames = be32(d + off + 8);
            if (h->frames < 2) h->frames = 2;   /* animated whatever num_frames claims */
            break;
        }
        if (clen > n - off - 12) break;         /* truncated: the decoder will say so */
        off += 12 + (size_t)clen;
    }
    return MV_OK;
}

/* JPEG: walk the marker segments to the first SOFn (frame header). */
static mv_status jpeg_header(const uint8_t *d, size_t n, ds_image_header *h, mv_error *err)
{
    size_t off = 2;
    h->frames = 1;
    while (off + 4 <= n) {
        if (d[off] != 0xFF) return bad(err, "JPEG", "has a corrupt marker before the frame header");
        uint8_t m = d[off + 1];
        if (m == 0xFF) { off++; continue; }                       /* fill byte */
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) { off += 2; continue; }
        if (m == 0xD9 || m == 0xDA) break;                        /* EOI / SOS before SOF */
        uint32_t seg = be16(d + off + 2);
        if (seg < 2) break;
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (off + 9 > n) break;
            h->height = be16(d + off + 5);
            h->width = be16(d + off + 7);
            return MV_OK;
        }
        off += 2 + seg;
    }
    return bad(err, "JPEG", "has no frame header (SOF) before the image data");
}

/* Skip GIF data sub-blocks starting at *off; 0 when the data runs out. */
static int gif_skip_blocks(const uint8_t *d, size_t n, size_t *off)
{
    while (*off < n) {
        uint8_t k = d[*off];
        *off += 1 + (size_t)k;
        if (k == 0) return 1;
    }
    return 0;
}

/* GIF: the logical screen bounds what stb allocates; count image descriptors (frames). */
static mv_status gif_header(const uint8_t *d, size_t n, ds_image_header *h, mv_error *err)
{
    if (n < 13) return bad(err, "GIF", "truncated");
    h->width = le16(d + 6);
    h->height = le16(d + 8);
    h->frames = 0;
    size_t off = 13;
    if (d[10] & 0x80) off += 3u << ((d[10] & 7) + 1);
    while (off < n) {
        uint8_t b = d[off];
        if (b == 0x3B) break;                                     /* trailer */
        if (b == 0x21) {                                          /* extension */
            off += 2;
            if (!gif_skip_blocks(d, n, &off)) break;
        } else if (b == 0x2C) {                                   /* image descriptor */
            if (off + 10 > n) break;
            uint8_t fl = d[off + 9];
            h->frames++;
            off += 10;
            if (fl & 0x80) off += 3u << ((fl & 7) + 1);
            off += 1;                                             /* LZW minimum code size */
            if (!gif_skip_blocks(d, n, &off)) break;
        } else {
            break;                                                /* corrupt: stb decides */
        }
    }
    if (h->frames == 0) h->frames = 1;                            /* stb reports the error */
    return MV_OK;
}

static mv_status bmp_header(const uint8_t *d, size_t n, ds_image_header *h, mv_error *err)
{
    if (n < 26) return bad(err, "BMP", "truncated");
    uint32_t hs = le32(d + 14);
    int64_t w, hh;
    if (hs == 12) {
        w = le16(d + 18);
        hh = le16(d + 20);
    } else {
        w = (int32_t)le32(d + 18);
        hh = (int32_t)le32(d + 22);
        if (hh < 0) hh = -hh;                                     /* top-down rows */
    }
    if (w <= 0 || hh <= 0 || w > UINT32_MAX || hh > UINT32_MAX)
        return bad(err, "BMP", "has a non-positive width or height");
    h->width = (uint32_t)w;
    h->height = (uint32_t)hh;
    h->frames = 1;
    return MV_OK;
}

/* TGA has no magic: accept the header fields stb's TGA reader accepts. */
static int tga_plausible(const uint8_t *d, size_t n)
{
    if (n < 18) return 0;
    uint8_t cmap = d[1], type = d[2], bpp = d[16];
    if (cmap > 1) return 0;
    if (!(type == 1 || type == 2 || type == 3 || type == 9 || type == 10 || type == 11)) return 0;
    if ((type == 1 || type == 9) != (cmap == 1)) return 0;
    return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

mv_status ds_image_read_header(const uint8_t *d, size_t n, ds_image_header *h, mv_error *err)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    memset(h, 0, sizeof *h);
    mv_status st;
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) { h->format = DS_IMG_PNG; st = png_header(d, n, h, err); }
    else if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) { h->format = DS_IMG_JPEG; st = jpeg_header(d, n, h, err); }
    else if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) { h->format = DS_IMG_GIF; st = gif_header(d, n, h, err); }
    else if (n >= 2 && d[0] == 'B' && d[1] == 'M') { h->format = DS_IMG_BMP; st = bmp_header(d, n, h, err); }
    else if (tga_plausible(d, n)) {
        h->format = DS_IMG_TGA;
        h->width = le16(d + 12);
        h->height = le16(d + 14);
        h->frames = 1;
        st = MV_OK;
    } else {
        return mv_errorf(err, MV_E_FORMAT, "not a supported image (PNG, JPEG, GIF, BMP, TGA)");
    }
    if (st) return st;
    if (h->width == 0 || h->height == 0)
        return mv_errorf(err, MV_E_FORMAT, "%s header gives a %ux%u image",
                         ds_image_format_name(h->format), h->width, h->height);
    return MV_OK;
}
