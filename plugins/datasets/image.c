/* plugins/datasets/image.c — small helpers of the loaders: image path resolution inside the
 * dataset's folder (confinement), the background parameter, UTF-8 checks and file reads.
 * Decoding itself is in image_decode.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include <unistd.h>
#include "ds_internal.h"

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

/* Append component c (length n) to the absolute path in buf (cap bytes), handling "." and
 * "..". 0 when it does not fit. */
static int push_component(char *buf, size_t cap, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.')) return 1;
    size_t l = strlen(buf);
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        char *slash = strrchr(buf, '/');
        if (slash == buf) buf[1] = 0;
        else if (slash) *slash = 0;
        return 1;
    }
    if (l + n + 2 > cap) return 0;
    if (l > 1) buf[l++] = '/';
    memcpy(buf + l, c, n);
    buf[l + n] = 0;
    return 1;
}

/* realpath() that does not give up on a missing file: follows every symlink it meets
 * (also a dangling one, through its target text), and appends components that do not
 * exist lexically. So "img -> /etc/nothing" resolves to "/etc/nothing", which the
 * confinement check then refuses. malloc'd; NULL on overflow, a loop or no memory. */
static char *resolve_links(const char *path)
{
    char todo[2 * PATH_MAX], done[PATH_MAX], link[PATH_MAX];
    int hops = 0;
    if (path[0] != '/') {
        if (!getcwd(done, sizeof done)) return NULL;
    } else {
        strcpy(done, "/");
    }
    if (snprintf(todo, sizeof todo, "%s", path) >= (int)sizeof todo) return NULL;
    char *p = todo;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char saved[PATH_MAX];
        snprintf(saved, sizeof saved, "%s", done);
        if (!push_component(done, sizeof done, p, n)) return NULL;
        p += n;
        ssize_t k = readlink(done, link, sizeof link - 1);
        if (k < 0) continue;                       /* not a link, or missing: keep it */
        if (++hops > 40) return NULL;
        link[k] = 0;
        /* splice the link text in front of what is left */
        char rest[2 * PATH_MAX];
        if (snprintf(rest, sizeof rest, "%s/%s", link, p) >= (int)sizeof rest) return NULL;
        snprintf(todo, sizeof todo, "%s", rest);
        p = todo;
        if (link[0] == '/') strcpy(done, "/");
        else snprintf(done, sizeof done, "%s", saved);
    }
    return strdup(done);
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
        /* a symlink inside the folder may still point outside it, even when its target
         * does not exist (yet): resolve links as far as they go, the rest lexically */
        char *real = resolve_links(joined);
        char *rroot = realpath(root, NULL);
        if (!real || !rroot) {
            free(real); free(rroot); free(joined);
            return mv_errorf(err, MV_E_NOMEM, "image path \"%s\": cannot resolve", ref);
        }
        size_t lr = strlen(rroot);
        int inside = strncmp(real, rroot, lr) == 0 && (real[lr] == '/' || lr == 1);
        if (!inside) {
            mv_status st = mv_errorf(err, MV_E_INPUT, "image path \"%s\" resolves to %s, "
                                     "outside the dataset folder %s (set allow_outside_root: "
                                     "true to permit it)", ref, real, rroot);
            free(real); free(rroot); free(joined);
            return st;
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
            int64_t v8;
            if (!cJSON_IsNumber(e) || !mv_json_int(e->valuedouble, 0, 255, &v8)) {
                st = mv_errorf(err, MV_E_INPUT, "$.params.background[%d]: expected an integer 0..255", c);
                goto out;
            }
            bg[c] = (uint8_t)v8;
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
    /* mv_read_file refuses FIFOs/devices before reading and caps the size (1 GiB) */
    mv_status st = mv_read_file(path, 0, out, len, err);
    return st ? mv_error_prefix(err, "dataset") : MV_OK;
}

long ds_peek(const char *path, char *buf, size_t n)
{
    int fd;
    if (mv_open_regular(path, &fd, NULL)) return -1;   /* a FIFO must not block a probe */
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0) return -1;
    buf[r] = 0;
    return (long)r;
}
