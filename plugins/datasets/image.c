/* plugins/datasets/image.c — image files for the loaders: path resolution inside the dataset's
 * folder, stb_image decoding (PNG incl. RGBA/palette/16-bit, JPEG, BMP, GIF first frame, TGA)
 * with alpha composited on a background, and small file/text helpers. No resizing here
 * (that is mv_image_to_tensor in the core). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include <stb/stb_image.h>
#include "ds_internal.h"

mv_status ds_check_image(const char *path, mv_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mv_errorf(err, MV_E_NOT_FOUND, "image %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return mv_errorf(err, MV_E_FORMAT, "image %s: not a regular file", path);
    if (st.st_size == 0) return mv_errorf(err, MV_E_FORMAT, "image %s: empty file (0 bytes)", path);
    int w, h, n;
    if (!stbi_info(path, &w, &h, &n))
        return mv_errorf(err, MV_E_FORMAT, "image %s: not a readable image (%s); supported: PNG, "
                         "JPEG, BMP, GIF, TGA", path, stbi_failure_reason());
    return MV_OK;
}

mv_status ds_decode_image(const char *path, const uint8_t bg[3], uint8_t **rgb, int *w, int *h,
                          mv_error *err)
{
    *rgb = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mv_errorf(err, MV_E_NOT_FOUND, "image %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mv_errorf(err, MV_E_FORMAT, "image %s: not a regular file", path);
    if (sb.st_size == 0) return mv_errorf(err, MV_E_FORMAT, "image %s: empty file (0 bytes)", path);
    int n = 0;
    /* Native channel count: stb expands palettes, reduces 16-bit to 8-bit and gives the first
     * GIF frame; grey and alpha are handled below (alpha composited on bg). */
    unsigned char *px = stbi_load(path, w, h, &n, 0);
    if (!px)
        return mv_errorf(err, MV_E_FORMAT, "image %s: cannot decode (%s; truncated, corrupt or not "
                         "an image? supported: PNG, JPEG, BMP, GIF, TGA)", path, stbi_failure_reason());
    if (*w <= 0 || *h <= 0 || n < 1 || n > 4 || (size_t)*w * (size_t)*h > (size_t)1 << 28) {
        stbi_image_free(px);
        return mv_errorf(err, MV_E_FORMAT, "image %s: unreasonable size %dx%d", path, *w, *h);
    }
    size_t np = (size_t)*w * *h;
    uint8_t *out = malloc(np * 3);
    if (!out) {
        stbi_image_free(px);
        return mv_errorf(err, MV_E_NOMEM, "image %s: out of memory", path);
    }
    if (n == 3) {
        memcpy(out, px, np * 3);
    } else if (n == 1) {
        for (size_t i = 0; i < np; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = px[i];
    } else {
        for (size_t i = 0; i < np; i++) {
            const unsigned char *p = px + (size_t)n * i;
            unsigned a = p[n - 1];
            for (int c = 0; c < 3; c++) {
                unsigned v = n == 2 ? p[0] : p[c];
                out[3 * i + c] = (uint8_t)((v * a + bg[c] * (255 - a) + 127) / 255);
            }
        }
    }
    stbi_image_free(px);
    *rgb = out;
    return MV_OK;
}

char *ds_dirname(const char *path)
{
    char *real = realpath(path, NULL);
    const char *p = real ? real : path;
    const char *slash = strrchr(p, '/');
    char *d;
    if (!slash) d = strdup(".");
    else if (slash == p) d = strdup("/");
    else d = strndup(p, (size_t)(slash - p));
    free(real);
    return d;
}

static int has_dotdot(const char *ref)
{
    const char *p = ref;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 2 && p[0] == '.' && p[1] == '.') return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

mv_status ds_resolve_path(const char *root, const char *ref, int allow_outside, char **out,
                          mv_error *err)
{
    *out = NULL;
    if (!ref || !*ref) return mv_errorf(err, MV_E_FORMAT, "empty image path");
    if (!allow_outside && ref[0] == '/')
        return mv_errorf(err, MV_E_INPUT, "image path \"%s\" is absolute; paths must be relative "
                         "to the dataset file's folder (or set allow_outside_root: true)", ref);
    if (!allow_outside && has_dotdot(ref))
        return mv_errorf(err, MV_E_INPUT, "image path \"%s\" contains \"..\" and may leave the "
                         "dataset folder (set allow_outside_root: true to permit it)", ref);
    char *joined;
    if (ref[0] == '/') joined = strdup(ref);
    else {
        size_t l = strlen(root) + strlen(ref) + 2;
        joined = malloc(l);
        if (joined) snprintf(joined, l, "%s/%s", root, ref);
    }
    if (!joined) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (!allow_outside) {
        /* a symlink inside the folder may still point outside it */
        char *real = realpath(joined, NULL);
        char *rroot = realpath(root, NULL);
        if (real && rroot) {
            size_t lr = strlen(rroot);
            int inside = strncmp(real, rroot, lr) == 0 && (real[lr] == '/' || lr == 1);
            if (!inside) {
                mv_status st = mv_errorf(err, MV_E_INPUT, "image path \"%s\" resolves to %s, "
                                         "outside the dataset folder %s (set allow_outside_root: "
                                         "true to permit it)", ref, real, rroot);
                free(real); free(rroot); free(joined);
                return st;
            }
        }
        free(real);
        free(rroot);
    }
    *out = joined;
    return MV_OK;
}

int ds_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        int k;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0 && c >= 0xC2) k = 1;
        else if ((c & 0xF0) == 0xE0) k = 2;
        else if ((c & 0xF8) == 0xF0 && c <= 0xF4) k = 3;
        else return 0;
        for (int j = 1; j <= k; j++)
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

mv_status ds_parse_background(const char *json, uint8_t bg[3], mv_error *err)
{
    bg[0] = bg[1] = bg[2] = 255;
    if (!json) return MV_OK;
    cJSON *v = cJSON_Parse(json);
    mv_status st = MV_OK;
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3) {
        for (int c = 0; c < 3; c++) {
            cJSON *e = cJSON_GetArrayItem(v, c);
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 255) {
                st = mv_errorf(err, MV_E_INPUT, "$.params.background[%d]: expected 0..255", c);
                goto out;
            }
            bg[c] = (uint8_t)e->valuedouble;
        }
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strcmp(s, "white") == 0) { bg[0] = bg[1] = bg[2] = 255; }
        else if (strcmp(s, "black") == 0) { bg[0] = bg[1] = bg[2] = 0; }
        else if (s[0] == '#' && strlen(s) == 7) {
            for (int c = 0; c < 3; c++) {
                int hi = hexval(s[1 + 2 * c]), lo = hexval(s[2 + 2 * c]);
                if (hi < 0 || lo < 0) goto bad;
                bg[c] = (uint8_t)(hi * 16 + lo);
            }
        } else goto bad;
    } else goto bad;
out:
    cJSON_Delete(v);
    return st;
bad:
    st = mv_errorf(err, MV_E_INPUT, "$.params.background: expected [r,g,b], \"#rrggbb\", "
                   "\"white\" or \"black\", got %.60s", json);
    goto out;
}

mv_status ds_read_all(const char *path, char **out, size_t *len, mv_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "dataset %s: %s",
                             path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", path);
    if (bad) { free(buf); return mv_errorf(err, MV_E_IO, "dataset %s: read error", path); }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return MV_OK;
}

long ds_peek(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t r = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[r] = 0;
    return (long)r;
}
