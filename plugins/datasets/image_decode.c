/* plugins/datasets/image_decode.c — image files to 8-bit RGB for the loaders: the file is
 * read whole (regular files only, size-capped), its header checked against max_pixels /
 * max_image_side and for animation, then decoded — PNG by libpng, JPEG by libjpeg-turbo
 * (both fuzzed upstream), GIF/BMP/TGA by the trimmed stb_image — and alpha composited on
 * the background. No resizing here (mv_image_to_tensor in the core does that). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>
#include "ds_internal.h"
#include "image_codecs.h"

/* Compressed image files larger than this are refused before reading them. */
#define DS_IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)
/* Progressive JPEGs with more scans than this are refused (each scan re-walks the image:
 * a few KB of crafted scans can otherwise take minutes; libjpeg-turbo's own advice). */
#define DS_JPEG_MAX_SCANS 500

/* Decoded pixels: 8-bit, n channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
typedef struct pixels { uint8_t *px; int w, h, n; int from_stb; } pixels;

/* ------------------------------------------------------------------ libpng */
typedef struct png_src { const uint8_t *d; size_t n, off; char msg[200]; } png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t k)
{
    png_src *s = png_get_io_ptr(png);
    if (k > s->n - s->off) png_error(png, "file truncated");
    memcpy(out, s->d + s->off, k);
    s->off += k;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static mv_status decode_png(const uint8_t *d, size_t n, const ds_image_header *hd,
                            pixels *out, mv_error *err)
{
    png_src src = { d, n, 0, "" };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(px);
        return mv_errorf(err, MV_E_FORMAT, "cannot decode PNG (%s; truncated or corrupt?)", src.msg);
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, hd->width, hd->height);     /* what the header check allowed */
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);   /* text/iCCP bombs */
    png_read_info(png, info);
    png_set_expand(png);          /* palette -> RGB, grey < 8 bit -> 8 bit, tRNS -> alpha */
    png_set_strip_16(png);        /* 16 -> 8 bit by the high byte, as stb did */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || rowbytes != (size_t)w * ch || (uint32_t)w != hd->width || (uint32_t)h != hd->height)
        png_error(png, "unexpected layout after expansion");
    px = malloc((size_t)h * rowbytes + 1);
    rows = malloc(sizeof *rows * (size_t)h);
    if (!px || !rows) png_error(png, "out of memory");
    for (int y = 0; y < h; y++) rows[y] = px + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *out = (pixels){ px, w, h, ch, 0 };
    return MV_OK;
}

/* ------------------------------------------------------------------ libjpeg-turbo */
typedef struct jpeg_fail { struct jpeg_error_mgr pub; jmp_buf jb; char msg[JMSG_LENGTH_MAX]; } jpeg_fail;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_fail *f = (jpeg_fail *)c->err;
    c->err->format_message(c, f->msg);
    longjmp(f->jb, 1);
}

/* Warnings are silent, except a premature end of data: libjpeg would pad the image with
 * grey, and a truncated file must be found as corrupt like the other formats. */
static void jpeg_on_message(j_common_ptr c, int level)
{
    if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(c);
}

static void jpeg_on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->progressive_mode && d->input_scan_number > DS_JPEG_MAX_SCANS) {
        c->err->msg_code = JERR_UNKNOWN_MARKER;   /* any code: the message below is ours */
        jpeg_fail *f = (jpeg_fail *)c->err;
        snprintf(f->msg, sizeof f->msg, "more than %d progressive scans", DS_JPEG_MAX_SCANS);
        longjmp(f->jb, 1);
    }
}

static mv_status decode_jpeg(const uint8_t *d, size_t n, const ds_image_header *hd,
                             pixels *out, mv_error *err)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_progress_mgr prog = { .progress_monitor = jpeg_on_progress };
    jpeg_fail fail;
    uint8_t *volatile px = NULL;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&fail.pub);
    fail.pub.error_exit = jpeg_on_error;
    fail.pub.emit_message = jpeg_on_message;
    fail.msg[0] = 0;
    if (setjmp(fail.jb)) {
        jpeg_destroy_decompress(&ci);
        free(px);
        return mv_errorf(err, MV_E_FORMAT, "cannot decode JPEG (%s; truncated or corrupt?)", fail.msg);
    }
    jpeg_create_decompress(&ci);
    ci.progress = &prog;
    ci.mem->max_memory_to_use = (long)1 << 30;
    jpeg_mem_src(&ci, d, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    if (ci.image_width != hd->width || ci.image_height != hd->height) {
        snprintf(fail.msg, sizeof fail.msg, "frame header %ux%u disagrees with %ux%u",
                 ci.image_width, ci.image_height, hd->width, hd->height);
        longjmp(fail.jb, 1);
    }
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    ci.out_color_space = cmyk ? JCS_CMYK : ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    int ch = ci.output_components, w = (int)ci.output_width, h = (int)ci.output_height;
    px = malloc((size_t)w * h * ch + 1);
    if (!px) { snprintf(fail.msg, sizeof fail.msg, "out of memory"); longjmp(fail.jb, 1); }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = px + (size_t)ci.output_scanline * w * ch;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    int adobe = ci.saw_Adobe_marker;
    jpeg_destroy_decompress(&ci);
    if (cmyk) {
        /* CMYK as stb and PIL show it: Adobe files store inverted ink (R = C*K/255) */
        uint8_t *p = px;
        for (size_t i = 0; i < (size_t)w * h; i++, p += 4) {
            unsigned k = adobe ? p[3] : 255u - p[3];
            for (int c = 0; c < 3; c++) {
                unsigned v = adobe ? p[c] : 255u - p[c];
                p[c] = (uint8_t)((v * k + 127) / 255);
            }
            p[3] = 255;
        }
    }
    *out = (pixels){ px, w, h, ch, 0 };
    return MV_OK;
}

/* ------------------------------------------------------------------ the loader side */
/* The header against the limits: size first (before any decoder allocates), then frames. */
static mv_status check_header(const uint8_t *d, size_t n, const ds_image_limits *lim,
                              ds_image_header *hd, mv_error *err)
{
    mv_status st = ds_image_read_header(d, n, hd, err);
    if (st) return st;
    const char *fmt = ds_image_format_name(hd->format);
    uint64_t side = lim->max_side < DS_IMAGE_MAX_SIDE_CAP ? lim->max_side : DS_IMAGE_MAX_SIDE_CAP;
    if (hd->width > side || hd->height > side || (uint64_t)hd->width * hd->height > lim->max_pixels)
        return mv_errorf(err, MV_E_FORMAT, "%s of %ux%u = %llu pixels exceeds the limits "
                         "(max_pixels %llu, max_image_side %llu); raise them in the loader "
                         "params if the image is genuine", fmt, hd->width, hd->height,
                         (unsigned long long)hd->width * hd->height,
                         (unsigned long long)lim->max_pixels, (unsigned long long)side);
    if (hd->frames > 1)
        return mv_errorf(err, MV_E_FORMAT, "animated %s (%s%u frames) is not supported; extract "
                         "one frame as a still image", hd->format == DS_IMG_PNG ? "PNG (APNG)"
                         : fmt, hd->format == DS_IMG_PNG ? "acTL: " : "", hd->frames);
    return MV_OK;
}

static mv_status read_image_file(const char *path, char **buf, size_t *len, mv_error *err)
{
    mv_status st = mv_read_file(path, DS_IMAGE_MAX_FILE_BYTES, buf, len, err);
    if (st) return mv_error_prefix(err, "image");
    if (*len == 0) {
        mv_free(*buf);
        *buf = NULL;
        return mv_errorf(err, MV_E_FORMAT, "image %s: empty file (0 bytes)", path);
    }
    return MV_OK;
}

mv_status ds_check_image(const char *path, const ds_image_limits *lim, mv_error *err)
{
    char *buf = NULL;
    size_t len;
    ds_image_header hd;
    mv_status st = read_image_file(path, &buf, &len, err);
    if (st) return st;
    st = check_header((const uint8_t *)buf, len, lim, &hd, err);
    mv_free(buf);
    return st ? mv_error_prefix(err, "image %s", path) : MV_OK;
}

mv_status ds_decode_image_data(const uint8_t *data, size_t len, const ds_image_limits *lim,
                               const uint8_t bg[3], uint8_t **rgb, int *w, int *h, mv_error *err)
{
    ds_image_header hd;
    pixels p = { 0 };
    *rgb = NULL;
    mv_status st = check_header(data, len, lim, &hd, err);
    if (st) return st;
    if (hd.format == DS_IMG_PNG) st = decode_png(data, len, &hd, &p, err);
    else if (hd.format == DS_IMG_JPEG) st = decode_jpeg(data, len, &hd, &p, err);
    else {
        const char *why = "unknown";
        p.px = ds_stb_decode(data, len, &p.w, &p.h, &p.n, &why);
        p.from_stb = 1;
        if (!p.px)
            st = mv_errorf(err, MV_E_FORMAT, "cannot decode %s (%s; truncated or corrupt?)",
                           ds_image_format_name(hd.format), why);
        else if ((uint32_t)p.w != hd.width || (uint32_t)p.h != hd.height || p.n < 1 || p.n > 4)
            st = mv_errorf(err, MV_E_FORMAT, "decoded %dx%d image disagrees with its %ux%u header",
                           p.w, p.h, hd.width, hd.height);
    }
    uint8_t *o = NULL;
    size_t np = (size_t)p.w * (size_t)p.h;
    if (!st && !(o = malloc(np * 3 + 1))) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (!st) {
        const int n = p.n;
        if (n == 3) {
            memcpy(o, p.px, np * 3);
        } else if (n == 1) {
            for (size_t i = 0; i < np; i++) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = p.px[i];
        } else {
            for (size_t i = 0; i < np; i++) {   /* alpha composited on bg, in 8-bit sRGB */
                const uint8_t *q = p.px + (size_t)n * i;
                unsigned a = q[n - 1];
                for (int c = 0; c < 3; c++) {
                    unsigned v = n == 2 ? q[0] : q[c];
                    o[3 * i + c] = (uint8_t)((v * a + bg[c] * (255 - a) + 127) / 255);
                }
            }
        }
    }
    if (p.from_stb) ds_stb_free(p.px);
    else free(p.px);
    if (st) return st;
    *rgb = o;
    *w = p.w;
    *h = p.h;
    return MV_OK;
}

mv_status ds_decode_image(const char *path, const ds_image_limits *lim, const uint8_t bg[3],
                          uint8_t **rgb, int *w, int *h, mv_error *err)
{
    char *buf = NULL;
    size_t len;
    *rgb = NULL;
    mv_status st = read_image_file(path, &buf, &len, err);
    if (st) return st;
    st = ds_decode_image_data((const uint8_t *)buf, len, lim, bg, rgb, w, h, err);
    mv_free(buf);
    return st ? mv_error_prefix(err, "image %s", path) : MV_OK;
}
