/* core/gen/gen_util.c — small helpers the generators share: a growable text buffer with
 * JSON string escaping and plain file writes into the temporary output directory (which is
 * then published atomically as a whole). No generation logic here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_gen.h"

static int reserve(mv_gen_buf *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->len + extra + 1) c *= 2;
    char *d = realloc(b->data, c);
    if (!d) { b->failed = 1; return -1; }
    b->data = d;
    b->cap = c;
    return 0;
}

void mv_gen_buf_printf(mv_gen_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n)) { b->failed = 1; return; }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mv_gen_buf_json_string(mv_gen_buf *b, const char *s)
{
    if (reserve(b, strlen(s) * 6 + 2)) return;
    char *o = b->data + b->len;
    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
        else if (c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (c < 0x20) o += sprintf(o, "\\u%04x", c);
        else *o++ = (char)c;
    }
    *o++ = '"';
    *o = 0;
    b->len = (size_t)(o - b->data);
}

void mv_gen_buf_free(mv_gen_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

mv_status mv_gen_write(const char *dir, const char *name, const void *data, size_t len,
                       mv_error *err)
{
    char *path = mv_path_join(dir, name);
    if (!path) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    FILE *f = fopen(path, "wb");
    mv_status st = MV_OK;
    if (!f) st = mv_errorf(err, MV_E_IO, "cannot create %s: %s", path, strerror(errno));
    else {
        if (len && fwrite(data, 1, len, f) != len)
            st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", path, strerror(errno));
        if (fclose(f) != 0 && st == MV_OK)
            st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    mv_free(path);
    return st;
}
